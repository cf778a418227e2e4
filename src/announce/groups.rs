//! Group actions a staff user takes from a chat: bind the group to a unit, unbind it, link
//! their chat account. Each is checked (linked staff, role, unit scope) and audited under the
//! staff user's name; the command line binds as `cli:<os user>` without these checks (whoever
//! runs it can reach the database already).

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::access::{Refusal, UnitTree, may_manage_group, normalise_code};
use crate::dialog::Msg;
use crate::domain::Channel;
use crate::store::announce::{AssistedPost, ChatGroup, ConfirmOutcome, LinkOutcome, StaffUser};
use crate::store::{Store, StoreResult};

/// What a `/bind` or `/unbind` from a chat came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupCommandOutcome {
    /// Bound to this unit (code, name).
    Bound(ChatGroup, String, String),
    /// Unbound (back to pending).
    Unbound(ChatGroup),
    /// The sender is not a linked staff user.
    NotStaff,
    /// The sender may not do this.
    Refused(Refusal),
    /// No unit has this code.
    UnknownUnit(String),
    /// `/bind` without a unit code.
    MissingUnit,
    /// The bot has no record of this chat (it was never told it was added).
    UnknownGroup,
    /// The update was handled before.
    Redelivered,
}

/// A staff command in a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupCommand {
    /// The platform.
    pub channel: Channel,
    /// The group's chat id.
    pub chat: String,
    /// The sender's platform user id (a number on Telegram, an opaque string on Zalo).
    pub user: String,
    /// `Some(code)` for `/bind CODE` (an empty code is `Some("")`), `None` for `/unbind`.
    pub unit: Option<String>,
    /// The update's key (idempotency).
    pub update: Option<String>,
}

/// Runs `/bind CODE` or `/unbind` from a group.
pub async fn group_command(
    store: &Arc<dyn Store>,
    cmd: &GroupCommand,
    now: DateTime<Utc>,
) -> StoreResult<GroupCommandOutcome> {
    let Some(staff) = staff_by_chat(store, cmd.channel, &cmd.user).await? else {
        return Ok(GroupCommandOutcome::NotStaff);
    };
    let Some(group) = store.group_by_external(cmd.channel, &cmd.chat).await? else {
        return Ok(GroupCommandOutcome::UnknownGroup);
    };
    let tree = UnitTree::new(store.unit_nodes().await?);
    let unit = match cmd.unit.as_deref().map(str::trim) {
        Some("") => return Ok(GroupCommandOutcome::MissingUnit),
        Some(typed) => match tree.find(typed) {
            Some(code) => Some(code.to_owned()),
            None => return Ok(GroupCommandOutcome::UnknownUnit(typed.to_owned())),
        },
        None => None,
    };
    // Unbinding needs the right over the unit the group is bound to now.
    let checked = unit.as_deref().or(group.unit.as_deref());
    if let Err(r) = may_manage_group(&staff, checked, &tree) {
        return Ok(GroupCommandOutcome::Refused(r));
    }
    let done = store
        .bind_group(
            group.id,
            unit.as_deref(),
            &staff.name,
            cmd.update.as_deref(),
            now,
        )
        .await?;
    Ok(match (done, unit) {
        (None, _) => GroupCommandOutcome::Redelivered,
        (Some(g), Some(code)) => {
            let name = tree.name(&code).unwrap_or(&code).to_owned();
            GroupCommandOutcome::Bound(g, code, name)
        }
        (Some(g), None) => GroupCommandOutcome::Unbound(g),
    })
}

/// What the group is told after `/bind` or `/unbind` (the same on every platform); `None`
/// for a redelivery, which was answered the first time.
pub fn command_answer(outcome: GroupCommandOutcome) -> Option<Msg> {
    Some(match outcome {
        GroupCommandOutcome::Redelivered => return None,
        GroupCommandOutcome::Bound(_, code, name) => Msg::new("announce-bind-done")
            .text("unit", name)
            .text("code", code),
        GroupCommandOutcome::Unbound(_) => Msg::new("announce-unbind-done"),
        GroupCommandOutcome::NotStaff => Msg::new("announce-not-staff"),
        GroupCommandOutcome::Refused(Refusal::Role) => Msg::new("announce-refused-role"),
        GroupCommandOutcome::Refused(Refusal::Scope) => Msg::new("announce-refused-scope"),
        GroupCommandOutcome::UnknownUnit(code) => {
            Msg::new("announce-unknown-unit").text("code", code)
        }
        GroupCommandOutcome::MissingUnit => Msg::new("announce-bind-usage"),
        GroupCommandOutcome::UnknownGroup => Msg::new("announce-unknown-group"),
    })
}

/// What a lead is told after confirming an assisted post (on any channel).
pub fn posted_answer(outcome: Option<ConfirmOutcome>, delivery: i64) -> Msg {
    match outcome {
        None => Msg::new("announce-not-staff"),
        Some(ConfirmOutcome::Confirmed(group)) => {
            Msg::new("assisted-confirmed").text("group", group)
        }
        Some(ConfirmOutcome::Already(group)) => Msg::new("assisted-already").text("group", group),
        Some(ConfirmOutcome::Unknown) => Msg::new("assisted-unknown").num("number", delivery),
        Some(ConfirmOutcome::NotYours) => Msg::new("assisted-not-yours"),
    }
}

/// What the lead of an assisted group is told above the post: where to post it (again, for a
/// reminder). The same on every platform; only how to confirm differs.
pub fn assisted_intro(a: &AssistedPost) -> Msg {
    let key = if a.reminder {
        "assisted-reminder-intro"
    } else {
        "assisted-intro"
    };
    Msg::new(key).text("group", a.group_title.clone())
}

/// The staff user who speaks as this chat account, if any.
pub async fn staff_by_chat(
    store: &Arc<dyn Store>,
    channel: Channel,
    user: &str,
) -> StoreResult<Option<StaffUser>> {
    match channel {
        Channel::Telegram => match user.parse::<i64>() {
            Ok(id) => store.staff_by_telegram(id).await,
            Err(_) => Ok(None),
        },
        Channel::Zalo => store.staff_by_zalo(user).await,
        _ => Ok(None),
    }
}

/// Runs `/link CODE` from a private chat on `channel`; `None` for a redelivery.
pub async fn link(
    store: &Arc<dyn Store>,
    channel: Channel,
    typed_code: &str,
    user: &str,
    update: Option<&str>,
    now: DateTime<Utc>,
) -> StoreResult<Option<LinkOutcome>> {
    let code = normalise_code(typed_code);
    if code.is_empty() {
        return Ok(Some(LinkOutcome::Unknown));
    }
    match channel {
        Channel::Telegram => match user.parse::<i64>() {
            Ok(id) => store.link_telegram(&code, id, update, now).await,
            Err(_) => Ok(Some(LinkOutcome::Unknown)),
        },
        _ => store.link_zalo(&code, user, update, now).await,
    }
}

/// A lead says they posted an assisted delivery (a button on Telegram, `ĐÃ ĐĂNG <số>` on
/// Zalo): recorded under their name if the group is theirs. `None` when the sender is not a
/// linked staff user.
pub async fn confirm_posted(
    store: &Arc<dyn Store>,
    channel: Channel,
    user: &str,
    delivery: i64,
    now: DateTime<Utc>,
) -> StoreResult<Option<ConfirmOutcome>> {
    let Some(staff) = staff_by_chat(store, channel, user).await? else {
        return Ok(None);
    };
    store
        .confirm_assisted(delivery, Some(staff.id), &staff.name, now)
        .await
        .map(Some)
}

/// The delivery number in a lead's confirmation typed as text: `ĐÃ ĐĂNG 12`, `da dang 12`,
/// `/posted 12`, `/dadang 12` (any case, with or without accents).
pub fn posted_reply(text: &str) -> Option<i64> {
    use unicode_normalization::UnicodeNormalization as _;
    let plain: String = text
        .nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .map(|c| match c {
            'đ' | 'Đ' => 'd',
            c => c.to_ascii_lowercase(),
        })
        .collect();
    let plain = plain.trim();
    let rest = ["/posted", "/dadang", "da dang", "dadang"]
        .iter()
        .find_map(|p| plain.strip_prefix(p))?;
    let number = rest.trim().trim_start_matches('#').trim();
    number.parse().ok().filter(|n: &i64| *n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_posted_confirmation_is_read_with_or_without_accents() {
        assert_eq!(posted_reply("ĐÃ ĐĂNG 12"), Some(12));
        assert_eq!(posted_reply("đã đăng #7"), Some(7));
        assert_eq!(posted_reply("da dang 3"), Some(3));
        assert_eq!(posted_reply("/posted 44"), Some(44));
        assert_eq!(posted_reply("/dadang 5"), Some(5));
        assert_eq!(posted_reply("đã đăng"), None);
        assert_eq!(posted_reply("đã đăng ký 3"), None);
        assert_eq!(posted_reply("tôi đã đăng 3"), None);
    }
}
