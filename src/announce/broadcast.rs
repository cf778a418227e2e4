//! Broadcasts: the life cycle draft › submitted › approved › scheduled › sending › sent /
//! partly failed / cancelled, who may move a broadcast along it, its targets and its first
//! send time. [`decide`], [`targets`] and [`first_send_time`] are pure; [`create`] and [`act`]
//! load what they need, decide, and apply the decision in one audited transaction (scheduling
//! writes the outbox rows in that same transaction).

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Days, NaiveTime, TimeZone as _, Utc};

use super::access::{UnitTree, in_scope};
use crate::domain::TZ;
use crate::store::announce::{
    Attachment, Audience, Broadcast, BroadcastState, ChatGroup, GroupState, NewBroadcast, Role,
    Schedule, StaffUser, Transition,
};
use crate::store::{Store, StoreError};

/// The longest text a broadcast may have: Telegram's limit for one message.
pub const MAX_TEXT_CHARS: usize = 4096;

/// The longest caption under a Telegram photo or document; a longer text goes as a message
/// of its own after the file.
pub const CAPTION_CHARS: usize = 1024;

/// Each channel's limit on one message's text, for the preview: Telegram's message (a
/// caption, with an attachment, allows 1,024), and Zalo's.
pub const CHANNEL_LIMITS: [(&str, usize); 3] = [
    ("Telegram", MAX_TEXT_CHARS),
    ("Telegram (chú thích tệp / caption)", CAPTION_CHARS),
    ("Zalo", 2000),
];

/// The text a Zalo resident reads: the broadcast's text, then the link to a document (when
/// gopy has a public address) and how to start the campaign dialog (Zalo has no buttons).
pub fn zalo_text(
    text: &str,
    attachment: Option<&Attachment>,
    public_url: Option<&str>,
    button: Option<&crate::store::announce::DeepLink>,
) -> String {
    let mut out = text.to_owned();
    if let (Some(a), Some(base)) = (attachment, public_url)
        && !a.is_image()
    {
        let link = crate::announce::attachment::link(base, &a.token);
        out.push_str(&format!(
            "\n\nTệp đính kèm / attachment: {} {link}",
            a.file_name
        ));
    }
    if let Some(b) = button {
        out.push_str(&format!("\n\nGóp ý: nhắn /start {} cho bot", b.payload()));
    }
    out
}

/// What a staff user asks to do with a broadcast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send it for approval.
    Submit,
    /// Approve it (a different staff user with the approver role).
    Approve,
    /// Replace its text; an approved broadcast goes back for approval.
    Edit(String),
    /// Replace its attachment (checked by [`super::attachment::check`]); like a new text, an
    /// approved broadcast goes back for approval.
    Attach(Box<Attachment>),
    /// Put it in the outbox with this schedule.
    Schedule(Schedule),
    /// Stop it; what is not sent yet is never sent.
    Cancel,
}

impl Action {
    /// The audit action name.
    fn audit(&self) -> &'static str {
        match self {
            Action::Submit => "broadcast.submit",
            Action::Approve => "broadcast.approve",
            Action::Edit(_) => "broadcast.edit",
            Action::Attach(_) => "broadcast.attach",
            Action::Schedule(_) => "broadcast.schedule",
            Action::Cancel => "broadcast.cancel",
        }
    }
}

/// Why a broadcast action is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BroadcastRefusal {
    /// Not possible in the broadcast's present state.
    #[error(
        "không thực hiện được khi thông báo ở trạng thái {0:?} / not possible while the broadcast is {0:?}"
    )]
    WrongState(BroadcastState),
    /// None of the user's roles allows it.
    #[error("vai trò của Quý vị không cho phép việc này / your roles do not allow this")]
    Role,
    /// The audience is outside the user's unit scope.
    #[error(
        "đối tượng nhận nằm ngoài địa bàn Quý vị phụ trách / the audience is outside your unit scope"
    )]
    Scope,
    /// The author may not approve their own broadcast.
    #[error(
        "người soạn không được tự phê duyệt thông báo của mình / the author may not approve their own broadcast"
    )]
    SelfApproval,
    /// The text changed after the approval.
    #[error(
        "nội dung đã thay đổi sau khi phê duyệt; cần phê duyệt lại / the text changed after approval; it needs approving again"
    )]
    NotApproved,
    /// Empty text, or longer than one message.
    #[error(
        "nội dung phải có 1–{MAX_TEXT_CHARS} ký tự / the text must be 1–{MAX_TEXT_CHARS} characters"
    )]
    BadText,
}

/// What went wrong with a broadcast action.
#[derive(Debug, thiserror::Error)]
pub enum BroadcastError {
    /// No staff user has this name.
    #[error("không có cán bộ tên `{0}` / no staff user named `{0}`")]
    UnknownStaff(String),
    /// No broadcast has this id.
    #[error("không có thông báo số {0} / no broadcast {0}")]
    UnknownBroadcast(i64),
    /// A unit in the audience does not exist.
    #[error("không có địa bàn mang mã `{0}` / no unit with code `{0}`")]
    UnknownUnit(String),
    /// A button was asked for without a campaign, or without one unit to lead to.
    #[error(
        "nút «Góp ý ngay» cần một đợt lấy ý kiến và một địa bàn (nêu rõ địa bàn khi đối tượng nhận có nhiều địa bàn) / the “Góp ý ngay” button needs a campaign and one unit (name the unit when the audience has several)"
    )]
    ButtonWithoutTarget,
    /// Refused by the rules.
    #[error(transparent)]
    Refused(#[from] BroadcastRefusal),
    /// Someone else changed the broadcast meanwhile.
    #[error(
        "thông báo vừa được người khác thay đổi; hãy xem lại / the broadcast changed meanwhile; look again"
    )]
    Changed,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Every unit an audience reaches (its units and the units of its chosen groups); `None`
/// stands for a chosen group bound to no unit.
pub fn audience_units(audience: &Audience, groups: &[ChatGroup]) -> Vec<Option<String>> {
    let mut units: Vec<Option<String>> = audience.units.iter().cloned().map(Some).collect();
    for id in &audience.groups {
        units.push(
            groups
                .iter()
                .find(|g| g.id == *id)
                .and_then(|g| g.unit.clone()),
        );
    }
    units
}

/// Whether every unit the audience reaches lies in the user's scope.
fn covers(by: &StaffUser, units: &[Option<String>], tree: &UnitTree) -> bool {
    units.iter().all(|u| match u {
        Some(u) => in_scope(by, u, tree),
        None => by.unit.is_none(),
    })
}

/// Checks a text against the limits.
pub fn check_text(text: &str) -> Result<(), BroadcastRefusal> {
    let n = text.trim().chars().count();
    if n == 0 || n > MAX_TEXT_CHARS {
        Err(BroadcastRefusal::BadText)
    } else {
        Ok(())
    }
}

/// Decides whether `by` may take `action` on `b` and the state it leads to. `units` are the
/// units the audience reaches (see [`audience_units`]).
pub fn decide(
    b: &Broadcast,
    action: &Action,
    by: &StaffUser,
    units: &[Option<String>],
    tree: &UnitTree,
) -> Result<BroadcastState, BroadcastRefusal> {
    use BroadcastState as S;
    let author = by.id == b.created_by;
    let composer = author || by.has(Role::Official) || by.has(Role::Admin);
    let state = b.state;
    let to = match action {
        Action::Submit if state == S::Draft => S::Submitted,
        Action::Approve if state == S::Submitted => {
            if !by.has(Role::Approver) {
                return Err(BroadcastRefusal::Role);
            }
            if author {
                return Err(BroadcastRefusal::SelfApproval);
            }
            S::Approved
        }
        Action::Edit(text) if matches!(state, S::Draft | S::Submitted | S::Approved) => {
            check_text(text)?;
            if state == S::Draft {
                S::Draft
            } else {
                S::Submitted
            }
        }
        Action::Attach(_) if matches!(state, S::Draft | S::Submitted | S::Approved) => {
            if state == S::Draft {
                S::Draft
            } else {
                S::Submitted
            }
        }
        Action::Schedule(_) if state == S::Approved => {
            if b.approved_revision != Some(b.revision) {
                return Err(BroadcastRefusal::NotApproved);
            }
            S::Scheduled
        }
        Action::Cancel
            if matches!(
                state,
                S::Draft | S::Submitted | S::Approved | S::Scheduled | S::Sending
            ) =>
        {
            S::Cancelled
        }
        _ => return Err(BroadcastRefusal::WrongState(state)),
    };
    let allowed = match action {
        Action::Approve => true,
        Action::Cancel => composer || by.has(Role::Approver),
        _ => composer,
    };
    if !allowed {
        return Err(BroadcastRefusal::Role);
    }
    if !covers(by, units, tree) {
        return Err(BroadcastRefusal::Scope);
    }
    Ok(to)
}

/// The groups a broadcast goes to: bound groups of its units (with their sub-units when
/// asked) and the chosen groups that are not inactive, each once, by id.
pub fn targets(audience: &Audience, groups: &[ChatGroup], tree: &UnitTree) -> Vec<i64> {
    let mut units: BTreeSet<String> = BTreeSet::new();
    for u in &audience.units {
        if audience.subunits {
            units.extend(tree.subtree(u));
        } else {
            units.insert(u.clone());
        }
    }
    let mut ids: BTreeSet<i64> = groups
        .iter()
        .filter(|g| g.state == GroupState::Bound)
        .filter(|g| g.unit.as_ref().is_some_and(|u| units.contains(u)))
        .map(|g| g.id)
        .collect();
    ids.extend(
        groups
            .iter()
            .filter(|g| audience.groups.contains(&g.id) && g.state != GroupState::Inactive)
            .map(|g| g.id),
    );
    ids.into_iter().collect()
}

/// The units whose subscribed residents a broadcast reaches: its units (with their
/// sub-units when asked), or `None` (every subscribed resident) when it names no unit.
pub fn resident_units(audience: &Audience, tree: &UnitTree) -> Option<Vec<String>> {
    if audience.units.is_empty() {
        return None;
    }
    let mut units: BTreeSet<String> = BTreeSet::new();
    for u in &audience.units {
        if audience.subunits {
            units.extend(tree.subtree(u));
        } else {
            units.insert(u.clone());
        }
    }
    Some(units.into_iter().collect())
}

/// When the first delivery of a schedule may go: now, the given time (never in the past), or
/// now if inside a daily window, else the next window's opening (Vietnam time).
pub fn first_send_time(schedule: &Schedule, now: DateTime<Utc>) -> DateTime<Utc> {
    match schedule {
        Schedule::Now => now,
        Schedule::At { at } => (*at).max(now),
        Schedule::Windows { windows } => next_window(windows, now).unwrap_or(now),
    }
}

/// `now` if it lies in one of the windows, else the next opening; `None` without windows.
fn next_window(windows: &[(NaiveTime, NaiveTime)], now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let local = now.with_timezone(&TZ);
    let time = local.time();
    if windows.iter().any(|(s, e)| *s <= time && time < *e) {
        return Some(now);
    }
    let today = local.date_naive();
    (0..=1u64)
        .flat_map(|d| {
            windows.iter().filter_map(move |(s, _)| {
                today
                    .checked_add_days(Days::new(d))
                    .map(|day| day.and_time(*s))
            })
        })
        .filter_map(|naive| TZ.from_local_datetime(&naive).single())
        .map(|t| t.with_timezone(&Utc))
        .filter(|t| *t > now)
        .min()
}

/// Parses a Vietnam time written `2026-11-22 07:00` (or with a `T`).
pub fn parse_local(s: &str) -> Option<DateTime<Utc>> {
    ["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|f| chrono::NaiveDateTime::parse_from_str(s.trim(), f).ok())
        .and_then(|naive| TZ.from_local_datetime(&naive).single())
        .map(|t| t.with_timezone(&Utc))
}

/// Parses a window written `07:00-09:00`.
pub fn parse_window(s: &str) -> Option<(NaiveTime, NaiveTime)> {
    let (a, b) = s.split_once(['-', '–'])?;
    let a = NaiveTime::parse_from_str(a.trim(), "%H:%M").ok()?;
    let b = NaiveTime::parse_from_str(b.trim(), "%H:%M").ok()?;
    (a < b).then_some((a, b))
}

/// Loads a staff user by name.
async fn staff(store: &Arc<dyn Store>, name: &str) -> Result<StaffUser, BroadcastError> {
    store
        .staff_by_name(name)
        .await?
        .ok_or_else(|| BroadcastError::UnknownStaff(name.to_owned()))
}

/// Creates a draft written by the staff user `by`.
pub async fn create(
    store: &Arc<dyn Store>,
    by: &str,
    text: &str,
    audience: Audience,
    campaign_id: Option<i64>,
    now: DateTime<Utc>,
) -> Result<Broadcast, BroadcastError> {
    create_with(
        store,
        by,
        text,
        audience,
        campaign_id,
        Extras::default(),
        now,
    )
    .await
}

/// What a draft may carry besides its text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extras {
    /// A checked file (see [`super::attachment::check`]).
    pub attachment: Option<Attachment>,
    /// The "Góp ý ngay" button: `Some(None)` leads to the audience's one unit,
    /// `Some(Some(code))` to that unit.
    pub button: Option<Option<String>>,
}

/// Creates a draft written by the staff user `by`, with an attachment and a button.
pub async fn create_with(
    store: &Arc<dyn Store>,
    by: &str,
    text: &str,
    audience: Audience,
    campaign_id: Option<i64>,
    extras: Extras,
    now: DateTime<Utc>,
) -> Result<Broadcast, BroadcastError> {
    let author = staff(store, by).await?;
    check_text(text)?;
    let tree = UnitTree::new(store.unit_nodes().await?);
    let mut audience = audience;
    for u in &mut audience.units {
        match tree.find(u) {
            Some(code) => *u = code.to_owned(),
            None => return Err(BroadcastError::UnknownUnit(u.clone())),
        }
    }
    if !(author.has(Role::Official) || author.has(Role::Admin)) {
        return Err(BroadcastRefusal::Role.into());
    }
    let groups = store.groups().await?;
    if !covers(&author, &audience_units(&audience, &groups), &tree) {
        return Err(BroadcastRefusal::Scope.into());
    }
    let button_unit = match extras.button {
        None => None,
        Some(_) if campaign_id.is_none() => return Err(BroadcastError::ButtonWithoutTarget),
        Some(Some(u)) => Some(
            tree.find(&u)
                .ok_or(BroadcastError::UnknownUnit(u.clone()))?
                .to_owned(),
        ),
        Some(None) => match audience.units.as_slice() {
            [one] => Some(one.clone()),
            _ => return Err(BroadcastError::ButtonWithoutTarget),
        },
    };
    let new = NewBroadcast {
        campaign_id,
        text: text.trim().to_owned(),
        audience,
        created_by: author.id,
        attachment: extras.attachment,
        button_unit,
    };
    Ok(store.create_broadcast(&new, &author.name, now).await?)
}

/// Takes an action on a broadcast as the staff user `by`, and returns it as it is after.
pub async fn act(
    store: &Arc<dyn Store>,
    id: i64,
    by: &str,
    action: Action,
    now: DateTime<Utc>,
) -> Result<Broadcast, BroadcastError> {
    let user = staff(store, by).await?;
    let b = store
        .broadcast(id)
        .await?
        .ok_or(BroadcastError::UnknownBroadcast(id))?;
    let tree = UnitTree::new(store.unit_nodes().await?);
    let groups = store.groups().await?;
    let to = decide(
        &b,
        &action,
        &user,
        &audience_units(&b.audience, &groups),
        &tree,
    )?;
    let mut t = Transition {
        broadcast: id,
        from: (b.state, b.revision),
        to,
        text: None,
        schedule: None,
        submitted_by: None,
        approved_by: None,
        deliveries: Vec::new(),
        resident_deliveries: Vec::new(),
        attachment: None,
        action: action.audit(),
        actor: user.name.clone(),
    };
    match action {
        Action::Submit => t.submitted_by = Some(user.id),
        Action::Approve => t.approved_by = Some(user.id),
        Action::Edit(text) => t.text = Some(text.trim().to_owned()),
        Action::Attach(a) => t.attachment = Some(*a),
        Action::Schedule(schedule) => {
            let at = first_send_time(&schedule, now);
            t.deliveries = targets(&b.audience, &groups, &tree)
                .into_iter()
                .map(|g| (g, at))
                .collect();
            if b.audience.residents {
                let units = resident_units(&b.audience, &tree);
                t.resident_deliveries = store
                    .notice_subscribers(units.as_deref())
                    .await?
                    .into_iter()
                    .map(|c| (c, at))
                    .collect();
            }
            t.schedule = Some(schedule);
        }
        Action::Cancel => {}
    }
    if !store.transition(&t, now).await? {
        return Err(BroadcastError::Changed);
    }
    store
        .broadcast(id)
        .await?
        .ok_or(BroadcastError::UnknownBroadcast(id))
}

#[cfg(test)]
mod tests {
    use chrono::Timelike as _;

    use super::*;
    use crate::store::announce::UnitNode;

    fn tree() -> UnitTree {
        let n = |code: &str, parent: Option<&str>| UnitNode {
            code: code.to_owned(),
            name: code.to_owned(),
            parent: parent.map(str::to_owned),
        };
        UnitTree::new(vec![n("P", None), n("T1", Some("P")), n("T2", Some("P"))])
    }

    fn user(id: i64, roles: &[Role], unit: Option<&str>) -> StaffUser {
        StaffUser {
            id,
            name: format!("u{id}"),
            roles: roles.to_vec(),
            unit: unit.map(str::to_owned),
            telegram_user_id: None,
            linked_at: None,
            zalo_user_id: None,
            created_at: Utc::now(),
        }
    }

    fn broadcast(state: BroadcastState) -> Broadcast {
        Broadcast {
            id: 1,
            campaign_id: None,
            text: "Kính mời".to_owned(),
            audience: Audience {
                units: vec!["T1".to_owned()],
                subunits: false,
                groups: vec![],
                residents: false,
            },
            schedule: Schedule::Now,
            state,
            revision: 1,
            created_by: 1,
            submitted_by: None,
            approved_by: None,
            approved_revision: None,
            button_unit: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    fn units() -> Vec<Option<String>> {
        vec![Some("T1".to_owned())]
    }

    #[test]
    fn zalo_gets_the_document_link_and_the_start_line_under_the_text() {
        use crate::store::announce::DeepLink;
        let doc = Attachment {
            token: "ab".repeat(16),
            file_name: "du-thao.pdf".into(),
            media_type: "application/pdf".into(),
            sha256: String::new(),
            bytes: vec![1],
        };
        let button = DeepLink {
            campaign: "bk-2026".into(),
            unit: "TDP-1".into(),
        };
        assert_eq!(
            zalo_text(
                "Mời góp ý.",
                Some(&doc),
                Some("https://g.vn"),
                Some(&button)
            ),
            format!(
                "Mời góp ý.\n\nTệp đính kèm / attachment: du-thao.pdf https://g.vn/tep/{}\n\nGóp ý: nhắn /start bk-2026_TDP-1 cho bot",
                "ab".repeat(16)
            )
        );
        assert_eq!(
            zalo_text("Mời góp ý.", Some(&doc), None, None),
            "Mời góp ý."
        );
    }

    #[test]
    fn nobody_approves_their_own_broadcast_and_only_approvers_approve() {
        let t = tree();
        let b = broadcast(BroadcastState::Submitted);
        let author_approver = user(1, &[Role::Official, Role::Approver], None);
        assert_eq!(
            decide(&b, &Action::Approve, &author_approver, &units(), &t),
            Err(BroadcastRefusal::SelfApproval)
        );
        let official = user(2, &[Role::Official, Role::Admin], None);
        assert_eq!(
            decide(&b, &Action::Approve, &official, &units(), &t),
            Err(BroadcastRefusal::Role)
        );
        let approver = user(3, &[Role::Approver], None);
        assert_eq!(
            decide(&b, &Action::Approve, &approver, &units(), &t),
            Ok(BroadcastState::Approved)
        );
    }

    #[test]
    fn approval_is_limited_to_the_approvers_unit_scope() {
        let t = tree();
        let b = broadcast(BroadcastState::Submitted);
        let other_unit = user(3, &[Role::Approver], Some("T2"));
        assert_eq!(
            decide(&b, &Action::Approve, &other_unit, &units(), &t),
            Err(BroadcastRefusal::Scope)
        );
        let above = user(4, &[Role::Approver], Some("P"));
        assert!(decide(&b, &Action::Approve, &above, &units(), &t).is_ok());
    }

    #[test]
    fn an_edit_after_approval_needs_approval_again_before_scheduling() {
        let t = tree();
        let author = user(1, &[Role::Official], None);
        let mut b = broadcast(BroadcastState::Approved);
        b.approved_revision = Some(1);
        let edit = Action::Edit("Kính mời bà con".to_owned());
        assert_eq!(
            decide(&b, &edit, &author, &units(), &t),
            Ok(BroadcastState::Submitted)
        );
        assert_eq!(
            decide(&b, &Action::Schedule(Schedule::Now), &author, &units(), &t),
            Ok(BroadcastState::Scheduled)
        );
        // After the edit the revision moved on; a stale approval does not count.
        b.revision = 2;
        assert_eq!(
            decide(&b, &Action::Schedule(Schedule::Now), &author, &units(), &t),
            Err(BroadcastRefusal::NotApproved)
        );
        assert_eq!(
            decide(
                &broadcast(BroadcastState::Draft),
                &Action::Schedule(Schedule::Now),
                &author,
                &units(),
                &t
            ),
            Err(BroadcastRefusal::WrongState(BroadcastState::Draft))
        );
        assert_eq!(
            decide(&b, &Action::Edit(String::new()), &author, &units(), &t),
            Err(BroadcastRefusal::BadText)
        );
    }

    #[test]
    fn finished_broadcasts_cannot_be_cancelled_or_edited() {
        let t = tree();
        let author = user(1, &[Role::Official], None);
        for s in [
            BroadcastState::Sent,
            BroadcastState::PartlyFailed,
            BroadcastState::Cancelled,
        ] {
            assert_eq!(
                decide(&broadcast(s), &Action::Cancel, &author, &units(), &t),
                Err(BroadcastRefusal::WrongState(s))
            );
            assert!(
                decide(
                    &broadcast(s),
                    &Action::Edit("x".into()),
                    &author,
                    &units(),
                    &t
                )
                .is_err()
            );
        }
        assert_eq!(
            decide(
                &broadcast(BroadcastState::Sending),
                &Action::Cancel,
                &author,
                &units(),
                &t
            ),
            Ok(BroadcastState::Cancelled)
        );
        let moderator = user(9, &[Role::Moderator], None);
        assert_eq!(
            decide(
                &broadcast(BroadcastState::Draft),
                &Action::Cancel,
                &moderator,
                &units(),
                &t
            ),
            Err(BroadcastRefusal::Role)
        );
    }

    fn group(id: i64, state: GroupState, unit: Option<&str>) -> ChatGroup {
        ChatGroup {
            id,
            channel: crate::domain::Channel::Telegram,
            external_id: format!("-{id}"),
            kind: crate::store::announce::GroupKind::Group,
            title: String::new(),
            state,
            unit: unit.map(str::to_owned),
            bot_status: crate::store::announce::BotStatus::Member,
            can_delete: false,
            can_restrict: false,
            migrated_to: None,
            migrated_from: None,
            posting: crate::store::announce::Posting::Direct,
            lead: None,
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn targets_are_bound_groups_of_the_units_and_chosen_live_groups_once() {
        let t = tree();
        let groups = [
            group(1, GroupState::Bound, Some("T1")),
            group(2, GroupState::Bound, Some("T2")),
            group(3, GroupState::Bound, Some("P")),
            group(4, GroupState::Inactive, Some("T1")),
            group(5, GroupState::Pending, None),
            group(6, GroupState::Inactive, None),
        ];
        let mut a = Audience {
            units: vec!["P".to_owned()],
            subunits: false,
            groups: vec![1, 5, 6],
            residents: false,
        };
        assert_eq!(targets(&a, &groups, &t), vec![1, 3, 5]);
        a.subunits = true;
        assert_eq!(targets(&a, &groups, &t), vec![1, 2, 3, 5]);
    }

    #[test]
    fn windows_open_later_today_tomorrow_or_now() {
        let w = vec![
            parse_window("07:00-09:00").unwrap(),
            parse_window("19:00–21:00").unwrap(),
        ];
        let s = Schedule::Windows { windows: w };
        let vn = |d: u32, h: u32, m: u32| {
            TZ.with_ymd_and_hms(2026, 11, d, h, m, 0)
                .single()
                .unwrap()
                .with_timezone(&Utc)
        };
        assert_eq!(first_send_time(&s, vn(21, 8, 30)), vn(21, 8, 30));
        assert_eq!(first_send_time(&s, vn(21, 10, 0)), vn(21, 19, 0));
        assert_eq!(first_send_time(&s, vn(21, 22, 0)), vn(22, 7, 0));
        assert_eq!(
            first_send_time(&s, vn(21, 5, 0)).with_timezone(&TZ).hour(),
            7
        );
        let past = Schedule::At { at: vn(20, 7, 0) };
        assert_eq!(first_send_time(&past, vn(21, 5, 0)), vn(21, 5, 0));
        assert_eq!(parse_window("09:00-07:00"), None);
        assert_eq!(parse_window("7h"), None);
    }
}
