//! Storage for announcements: staff users and their roles, the chats (groups) the bot is in
//! and the units they are bound to. [`AnnounceStore`] is implemented by both backends from one
//! set of SQL statements (`sql.rs`, a macro expanded once per backend); every change an
//! official makes is written to `audit_log` in the same transaction as the change itself.
//!
//! Layout:
//! - `mod.rs`: the trait and the types it speaks in.
//! - `sql.rs`: the statements, as `announce_store!`, shared by both backends.
//! - `sqlite.rs`, `postgres.rs`: the macro expanded for [`super::SqliteStore`] and
//!   [`super::PgStore`].

#[macro_use]
mod sql;
mod postgres;
mod sqlite;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{StoreError, StoreResult};
use crate::domain::Channel;

/// What a staff user may do. A user has one or more roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Quản trị: users, roles, units, channel credentials; everything an official may do.
    Admin,
    /// Cán bộ: composes announcements, binds groups.
    Official,
    /// Lãnh đạo: approves announcements written by someone else.
    Approver,
    /// Trưởng thôn / tổ trưởng: manages the groups of their own unit.
    UnitLead,
    /// Người kiểm duyệt: deals with flagged posts.
    Moderator,
}

impl Role {
    /// Every role, in the order they are listed.
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::Official,
        Role::Approver,
        Role::UnitLead,
        Role::Moderator,
    ];

    /// The name used on the command line and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Official => "official",
            Role::Approver => "approver",
            Role::UnitLead => "unit_lead",
            Role::Moderator => "moderator",
        }
    }

    /// Parses a name (`unit-lead` is accepted for `unit_lead`).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().to_ascii_lowercase().replace('-', "_");
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// A staff user as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaffUser {
    /// Database id.
    pub id: i64,
    /// Unique name (a login for the console later; shown in the audit log).
    pub name: String,
    /// Roles, sorted, never empty.
    pub roles: Vec<Role>,
    /// The unit this user acts for, with its sub-units; `None` is the whole tree.
    pub unit: Option<String>,
    /// The Telegram user this staff user speaks as, once linked.
    pub telegram_user_id: Option<i64>,
    /// When the Telegram account was linked.
    pub linked_at: Option<DateTime<Utc>>,
    /// The Zalo Bot API user this staff user speaks as, once linked (`/link CODE` to the Zalo
    /// bot).
    pub zalo_user_id: Option<String>,
    /// When the user was created.
    pub created_at: DateTime<Utc>,
}

impl StaffUser {
    /// Whether the user has this role.
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// A staff user to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStaff {
    /// Unique name.
    pub name: String,
    /// Roles (at least one).
    pub roles: Vec<Role>,
    /// Unit scope; `None` is the whole tree.
    pub unit: Option<String>,
}

/// A one-time code with which a staff user links a chat account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkCode {
    /// The code the user types after `/link`.
    pub code: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// What `/link CODE` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkOutcome {
    /// Linked (or linked again) to this staff user; the code is used up.
    Linked(StaffUser),
    /// No staff user has this code (wrong, or used already).
    Unknown,
    /// The code expired; an official must issue a new one.
    Expired,
}

/// What kind of chat a group is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupKind {
    /// A basic group.
    Group,
    /// A supergroup (a group becomes one when it grows or gets some settings).
    Supergroup,
    /// A channel (posts only).
    Channel,
}

impl GroupKind {
    /// The database name.
    pub fn as_str(self) -> &'static str {
        match self {
            GroupKind::Group => "group",
            GroupKind::Supergroup => "supergroup",
            GroupKind::Channel => "channel",
        }
    }

    /// Parses the database name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "group" => Some(GroupKind::Group),
            "supergroup" => Some(GroupKind::Supergroup),
            "channel" => Some(GroupKind::Channel),
            _ => None,
        }
    }
}

/// Where a group stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupState {
    /// The bot is there; no official has bound it to a unit yet. Nothing is sent to it.
    Pending,
    /// Bound to a unit: announcements for that unit go here.
    Bound,
    /// The bot was removed (or the group is gone): nothing is sent.
    Inactive,
}

impl GroupState {
    /// The database name.
    pub fn as_str(self) -> &'static str {
        match self {
            GroupState::Pending => "pending",
            GroupState::Bound => "bound",
            GroupState::Inactive => "inactive",
        }
    }

    /// Parses the database name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(GroupState::Pending),
            "bound" => Some(GroupState::Bound),
            "inactive" => Some(GroupState::Inactive),
            _ => None,
        }
    }
}

/// The bot's membership in a chat, as the platform reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BotStatus {
    /// An ordinary member.
    Member,
    /// An administrator (see the rights).
    Administrator,
    /// A member with restrictions.
    Restricted,
    /// Left, or removed by an admin.
    Left,
    /// Banned from the chat.
    Kicked,
}

impl BotStatus {
    /// The database name.
    pub fn as_str(self) -> &'static str {
        match self {
            BotStatus::Member => "member",
            BotStatus::Administrator => "administrator",
            BotStatus::Restricted => "restricted",
            BotStatus::Left => "left",
            BotStatus::Kicked => "kicked",
        }
    }

    /// Parses the database name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "member" => Some(BotStatus::Member),
            "administrator" => Some(BotStatus::Administrator),
            "restricted" => Some(BotStatus::Restricted),
            "left" => Some(BotStatus::Left),
            "kicked" => Some(BotStatus::Kicked),
            _ => None,
        }
    }

    /// Whether the bot is in the chat (and may be able to post).
    pub fn is_present(self) -> bool {
        matches!(
            self,
            BotStatus::Member | BotStatus::Administrator | BotStatus::Restricted
        )
    }
}

/// A chat the bot is (or was) in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChatGroup {
    /// Database id (stable across a migration to a supergroup).
    pub id: i64,
    /// The platform.
    pub channel: Channel,
    /// The platform's chat id (the new one after a migration).
    pub external_id: String,
    /// Group, supergroup or channel.
    pub kind: GroupKind,
    /// Its title, kept up to date.
    pub title: String,
    /// Pending, bound or inactive.
    pub state: GroupState,
    /// The unit it is bound to.
    pub unit: Option<String>,
    /// The bot's membership.
    pub bot_status: BotStatus,
    /// Whether the bot may delete messages there.
    pub can_delete: bool,
    /// Whether the bot may restrict members there.
    pub can_restrict: bool,
    /// The chat id it moved to, when this row was left behind by a migration.
    pub migrated_to: Option<String>,
    /// The chat id it had before a migration.
    pub migrated_from: Option<String>,
    /// How gopy posts there: the bot itself, or through the group's lead.
    pub posting: Posting,
    /// The staff user who posts for gopy in an assisted group.
    pub lead: Option<i64>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// How gopy posts in a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Posting {
    /// The bot is a member and sends.
    Direct,
    /// A group a resident made with a personal account, where no bot can post: gopy prepares
    /// each post and sends it to the group's lead in private, who posts it and confirms.
    Assisted,
}

impl Posting {
    /// The database name.
    pub fn as_str(self) -> &'static str {
        match self {
            Posting::Direct => "direct",
            Posting::Assisted => "assisted",
        }
    }

    /// Parses the database name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "direct" => Some(Posting::Direct),
            "assisted" => Some(Posting::Assisted),
            _ => None,
        }
    }
}

/// A group no bot can post in, registered by an official.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAssistedGroup {
    /// The platform the group lives on (Zalo for a village's own group).
    pub channel: Channel,
    /// Its name, as the lead knows it.
    pub title: String,
    /// The unit it is bound to.
    pub unit: String,
    /// The staff user who posts there.
    pub lead: i64,
}

/// What confirming an assisted post came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfirmOutcome {
    /// Recorded now: (group title).
    Confirmed(String),
    /// Confirmed before (a double tap): (group title).
    Already(String),
    /// No such assisted delivery, or it has not been sent to the lead yet.
    Unknown,
    /// The delivery belongs to another lead's group.
    NotYours,
}

/// What the platform says about the bot in a chat (`my_chat_member` on Telegram).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotMembership {
    /// The platform.
    pub channel: Channel,
    /// The chat id.
    pub external_id: String,
    /// Group, supergroup or channel.
    pub kind: GroupKind,
    /// The chat's title.
    pub title: String,
    /// The bot's new status.
    pub status: BotStatus,
    /// Whether the bot may delete messages.
    pub can_delete: bool,
    /// Whether the bot may restrict members.
    pub can_restrict: bool,
}

/// One node of the administrative tree, for scope checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitNode {
    /// Unit code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Parent code.
    pub parent: Option<String>,
}

/// Where a broadcast is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BroadcastState {
    /// Being written.
    Draft,
    /// Waiting for an approver.
    Submitted,
    /// Approved (for its current revision); may be scheduled.
    Approved,
    /// Its deliveries are in the outbox, waiting for their time.
    Scheduled,
    /// Deliveries are going out.
    Sending,
    /// Every target got it.
    Sent,
    /// Done, with some targets failed.
    PartlyFailed,
    /// Cancelled; nothing more is sent.
    Cancelled,
}

impl BroadcastState {
    /// Every state.
    pub const ALL: [BroadcastState; 8] = [
        BroadcastState::Draft,
        BroadcastState::Submitted,
        BroadcastState::Approved,
        BroadcastState::Scheduled,
        BroadcastState::Sending,
        BroadcastState::Sent,
        BroadcastState::PartlyFailed,
        BroadcastState::Cancelled,
    ];

    /// The database name.
    pub fn as_str(self) -> &'static str {
        match self {
            BroadcastState::Draft => "draft",
            BroadcastState::Submitted => "submitted",
            BroadcastState::Approved => "approved",
            BroadcastState::Scheduled => "scheduled",
            BroadcastState::Sending => "sending",
            BroadcastState::Sent => "sent",
            BroadcastState::PartlyFailed => "partly_failed",
            BroadcastState::Cancelled => "cancelled",
        }
    }

    /// Parses the database name.
    pub fn parse(s: &str) -> Option<Self> {
        BroadcastState::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// Who a broadcast goes to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Audience {
    /// Units whose bound groups get it.
    #[serde(default)]
    pub units: Vec<String>,
    /// Whether the groups of their sub-units get it too.
    #[serde(default)]
    pub subunits: bool,
    /// Groups chosen one by one (database ids).
    #[serde(default)]
    pub groups: Vec<i64>,
    /// Whether residents who asked for notices (`/notices on`) get it in private chat too:
    /// those of the units above (with sub-units when asked), or every one if no unit is named.
    #[serde(default)]
    pub residents: bool,
}

/// When a broadcast goes out. Times of day are Vietnam time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Schedule {
    /// As soon as it is scheduled.
    Now,
    /// At a time.
    At {
        /// When.
        at: DateTime<Utc>,
    },
    /// Only inside daily windows, from the first window that opens after scheduling.
    Windows {
        /// `(start, end)` times of day, e.g. 07:00–09:00 and 19:00–21:00.
        windows: Vec<(chrono::NaiveTime, chrono::NaiveTime)>,
    },
}

/// A broadcast as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Broadcast {
    /// Database id.
    pub id: i64,
    /// The campaign it belongs to.
    pub campaign_id: Option<i64>,
    /// The text (plain; escaped per channel when sent).
    pub text: String,
    /// Who it goes to.
    pub audience: Audience,
    /// When it goes out.
    pub schedule: Schedule,
    /// Where it is.
    pub state: BroadcastState,
    /// Grows with every edit; an approval holds for one revision.
    pub revision: i64,
    /// The staff user who wrote it.
    pub created_by: i64,
    /// Who submitted it.
    pub submitted_by: Option<i64>,
    /// Who approved it.
    pub approved_by: Option<i64>,
    /// The revision that was approved.
    pub approved_revision: Option<i64>,
    /// The unit of its "Góp ý ngay" button, if it has one.
    pub button_unit: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A broadcast to create (as a draft).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBroadcast {
    /// The campaign it belongs to.
    pub campaign_id: Option<i64>,
    /// The text.
    pub text: String,
    /// Who it goes to.
    pub audience: Audience,
    /// The staff user writing it.
    pub created_by: i64,
    /// The file that goes with it, checked (see [`crate::announce::attachment`]).
    pub attachment: Option<Attachment>,
    /// The unit whose campaign dialog the "Góp ý ngay" button opens; `None`: no button.
    pub button_unit: Option<String>,
}

/// A broadcast's attachment as stored: the bytes with what gopy checked about them.
#[derive(Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The 128-bit random token of its link (`/tep/<token>`), 32 hex digits.
    pub token: String,
    /// The file name shown to residents.
    pub file_name: String,
    /// The media type, read from the bytes (PDF, DOCX, JPEG or PNG).
    pub media_type: String,
    /// The SHA-256 of the bytes, hex.
    pub sha256: String,
    /// The bytes.
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for Attachment {
    /// Without the bytes (up to 10 MB) and the token (the key to the file's link).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attachment")
            .field("file_name", &self.file_name)
            .field("media_type", &self.media_type)
            .field("sha256", &self.sha256)
            .field("size", &self.bytes.len())
            .finish_non_exhaustive()
    }
}

impl Attachment {
    /// Whether it is an image (sent as a photo).
    pub fn is_image(&self) -> bool {
        self.media_type.starts_with("image/")
    }
}

/// Where a broadcast's "Góp ý ngay" button leads: the campaign's dialog for a unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeepLink {
    /// The campaign's slug.
    pub campaign: String,
    /// The unit's code.
    pub unit: String,
}

impl DeepLink {
    /// The `/start` payload the dialog reads: `<slug>_<unit>`.
    pub fn payload(&self) -> String {
        format!("{}_{}", self.campaign, self.unit)
    }
}

/// A change of a broadcast's state, applied only if it is still where the caller saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// The broadcast.
    pub broadcast: i64,
    /// The state and revision the caller decided on.
    pub from: (BroadcastState, i64),
    /// The new state.
    pub to: BroadcastState,
    /// New text (an edit: the revision grows).
    pub text: Option<String>,
    /// New schedule.
    pub schedule: Option<Schedule>,
    /// Set `submitted_by`.
    pub submitted_by: Option<i64>,
    /// Set `approved_by` and `approved_revision` (the current revision).
    pub approved_by: Option<i64>,
    /// Outbox rows to write in the same transaction: (group id, not before).
    pub deliveries: Vec<(i64, DateTime<Utc>)>,
    /// Outbox rows for residents' private chats: (contact id, not before).
    pub resident_deliveries: Vec<(i64, DateTime<Utc>)>,
    /// A new attachment (an edit: the revision grows, like a new text).
    pub attachment: Option<Attachment>,
    /// The audit action, e.g. `broadcast.approve`.
    pub action: &'static str,
    /// Who, for the audit log.
    pub actor: String,
}

/// Who a reminder goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReminderKind {
    /// The bound groups of the campaign's units.
    Groups,
    /// Residents who started (consented) but submitted nothing.
    Residents,
}

impl ReminderKind {
    /// The database name.
    pub fn as_str(self) -> &'static str {
        match self {
            ReminderKind::Groups => "groups",
            ReminderKind::Residents => "residents",
        }
    }
}

/// A reminder to schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReminder {
    /// The campaign.
    pub campaign_id: i64,
    /// Hours before the close of collection it is for.
    pub hours_before: i64,
    /// Who it goes to.
    pub kind: ReminderKind,
    /// The text.
    pub text: String,
    /// When it may go (never at night).
    pub schedule: Schedule,
    /// When its first delivery may go.
    pub not_before: DateTime<Utc>,
}

/// A delivery a worker claimed: what to send where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedDelivery {
    /// The delivery.
    pub id: i64,
    /// Its broadcast.
    pub broadcast_id: i64,
    /// The group, for a delivery to a group.
    pub group_id: Option<i64>,
    /// The resident, for a delivery to a resident's private chat.
    pub contact_id: Option<i64>,
    /// The platform chat id (the group's, or the resident's private chat).
    pub chat: String,
    /// The text.
    pub text: String,
    /// Tries so far, this one included.
    pub attempts: i64,
    /// The broadcast's schedule (a delivery due outside its daily windows waits).
    pub schedule: Schedule,
    /// For an assisted group: the post goes to its lead (`chat` is the lead's private chat),
    /// with what the lead needs to post it and confirm.
    pub assisted: Option<AssistedPost>,
    /// The broadcast's attachment (shared by its deliveries claimed together).
    pub attachment: Option<std::sync::Arc<Attachment>>,
    /// The "Góp ý ngay" button, when the broadcast has one and belongs to a campaign.
    pub button: Option<DeepLink>,
    /// Claimed under the shared rate budget: sent no earlier than this, when the slot it
    /// takes frees ([`AnnounceStore::claim_deliveries`]).
    pub send_from: Option<DateTime<Utc>>,
}

/// What the lead of an assisted group is sent with the post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssistedPost {
    /// The group's title, so the lead knows where to post.
    pub group_title: String,
    /// Whether this is a reminder (the lead did not confirm the first time).
    pub reminder: bool,
}

/// The window over which [`AnnounceStore::claim_deliveries`] counts the messages sent against
/// the shared rate: a second from the platform's answer, and 20 ms for the clocks of several
/// hosts (the limiter's guard at paid rates, [`crate::announce::limiter::FAST_GUARD`]).
pub const RATE_WINDOW: chrono::TimeDelta = chrono::TimeDelta::milliseconds(1020);

/// How far ahead [`AnnounceStore::claim_deliveries`] claims under a rate budget: a slot that
/// frees within it (a send leaving the window) is claimed now, its delivery to go when the slot
/// frees ([`ClaimedDelivery::send_from`]), so it is used then, not after the next claim's round
/// trips.
pub const BUDGET_AHEAD: chrono::TimeDelta = chrono::TimeDelta::milliseconds(40);

/// How a claimed delivery ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryResult {
    /// The platform accepted it with this message id, answering at `at`: the delivery's
    /// `sent_at`, from which the shared rate budget counts the message for a second. The
    /// platform counted it before it answered, so a slot freed a second after the answer is
    /// free for the platform too, however long requests took; the later commit of the result
    /// does not hold the slot longer.
    Sent {
        /// The platform's message id.
        message: String,
        /// When the platform's answer came.
        at: DateTime<Utc>,
    },
    /// Try again at this time (the lease is released).
    Retry(DateTime<Utc>, String),
    /// Failed for good with this reason; `deactivate` marks the group inactive.
    Failed {
        /// Why.
        reason: String,
        /// Whether the group is gone for the bot (kicked, not found).
        deactivate: bool,
    },
}

/// Counts of a broadcast's deliveries by state, and the reasons of failures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DeliveryCounts {
    /// Waiting or in flight.
    pub pending: i64,
    /// Accepted by the platform.
    pub sent: i64,
    /// Failed for good.
    pub failed: i64,
    /// Cancelled before they went.
    pub cancelled: i64,
    /// Of the sent: assisted posts whose lead has not confirmed posting yet (not delivered).
    pub awaiting_confirmation: i64,
    /// (reason, how many), most frequent first.
    pub reasons: Vec<(String, i64)>,
}

/// Storage of staff users and groups. Every method that changes something an official
/// answers for writes its audit entry in the same transaction. Methods fed by platform
/// updates take the update's key and do nothing (returning `None`) for a redelivery.
#[async_trait]
pub trait AnnounceStore: Send + Sync {
    /// Every unit known (from every imported campaign).
    async fn unit_nodes(&self) -> StoreResult<Vec<UnitNode>>;

    /// Creates a staff user with a link code. A name that exists is a
    /// [`StoreError::Conflict`].
    async fn add_staff(
        &self,
        new: &NewStaff,
        link: &LinkCode,
        actor: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<StaffUser>;

    /// Every staff user, by name.
    async fn staff(&self) -> StoreResult<Vec<StaffUser>>;

    /// The staff user with this name.
    async fn staff_by_name(&self, name: &str) -> StoreResult<Option<StaffUser>>;

    /// The staff user linked to this Telegram user.
    async fn staff_by_telegram(&self, user_id: i64) -> StoreResult<Option<StaffUser>>;

    /// The staff user linked to this Zalo user.
    async fn staff_by_zalo(&self, user_id: &str) -> StoreResult<Option<StaffUser>>;

    /// Links the Zalo user to the staff user holding `code`, like [`Self::link_telegram`].
    async fn link_zalo(
        &self,
        code: &str,
        user_id: &str,
        update: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<LinkOutcome>>;

    /// Registers a group no bot can post in, bound to its unit with its lead, audited as
    /// `actor`.
    async fn add_assisted_group(
        &self,
        new: &NewAssistedGroup,
        actor: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<ChatGroup>;

    /// Records that the lead posted an assisted delivery in their group. `staff` is who
    /// confirms (the group's lead from chat; `None` from the command line or the console,
    /// where `actor` answers for it).
    async fn confirm_assisted(
        &self,
        delivery: i64,
        staff: Option<i64>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<ConfirmOutcome>;

    /// Sends again, once, each assisted post its lead has not confirmed since before
    /// `sent_before` (the delivery goes back to the outbox marked as a reminder). Returns how
    /// many.
    async fn remind_unconfirmed(
        &self,
        sent_before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<u64>;

    /// Gives a staff user a new link code (replacing any unused one); `false` if no such user.
    async fn set_link_code(
        &self,
        staff: i64,
        link: &LinkCode,
        actor: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// Links the Telegram user to the staff user holding `code` and uses the code up. A
    /// Telegram user linked to another staff user before is unlinked from them.
    async fn link_telegram(
        &self,
        code: &str,
        user_id: i64,
        update: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<LinkOutcome>>;

    /// Records the bot's membership in a chat: a chat seen for the first time is pending; the
    /// bot removed makes it inactive; the bot added again makes it pending again.
    async fn record_membership(
        &self,
        m: &BotMembership,
        update: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<ChatGroup>>;

    /// Records a chat's new title; `None` for an unknown chat or a redelivery.
    async fn record_title(
        &self,
        channel: Channel,
        external_id: &str,
        title: &str,
        update: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<ChatGroup>>;

    /// Follows a group that became a supergroup with a new id: its row takes the new id (or,
    /// when the new chat was seen already, passes its binding and its pending deliveries to
    /// it). Idempotent; `None` when neither chat is known.
    async fn record_migration(
        &self,
        channel: Channel,
        from: &str,
        to: &str,
        update: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<ChatGroup>>;

    /// Every group, by id.
    async fn groups(&self) -> StoreResult<Vec<ChatGroup>>;

    /// The group with this database id.
    async fn group(&self, id: i64) -> StoreResult<Option<ChatGroup>>;

    /// The group with this platform chat id (also found by its id before a migration).
    async fn group_by_external(
        &self,
        channel: Channel,
        external_id: &str,
    ) -> StoreResult<Option<ChatGroup>>;

    /// Binds a group to a unit (`Some`) or unbinds it (`None`, back to pending), audited as
    /// `actor`. An inactive group stays inactive but keeps the unit. `None` for a
    /// redelivery or an unknown group.
    async fn bind_group(
        &self,
        group: i64,
        unit: Option<&str>,
        actor: &str,
        update: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<ChatGroup>>;
    /// Creates a draft broadcast, audited as `actor`.
    async fn create_broadcast(
        &self,
        new: &NewBroadcast,
        actor: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Broadcast>;

    /// The broadcast with this id.
    async fn broadcast(&self, id: i64) -> StoreResult<Option<Broadcast>>;

    /// A broadcast's attachment, if it has one.
    async fn broadcast_attachment(&self, broadcast: i64) -> StoreResult<Option<Attachment>>;

    /// The attachment whose link token is `token`.
    async fn attachment_by_token(&self, token: &str) -> StoreResult<Option<Attachment>>;

    /// Applies a transition in one transaction with its audit entry and its outbox rows
    /// (scheduling), or cancels the pending deliveries (cancelling). `false` when the
    /// broadcast is no longer in the state and revision the caller saw.
    async fn transition(&self, t: &Transition, now: DateTime<Utc>) -> StoreResult<bool>;

    /// Claims up to `limit` due deliveries of `route` (see [`crate::announce::outbox::Route`])
    /// for `worker` until `lease_until`: pending, due,
    /// and not leased by a live worker (Postgres skips rows other workers are claiming).
    /// Their broadcasts move to `sending`. With `per_second`, fewer are claimed so that the
    /// deliveries in flight (leased, not finished) and those sent within [`RATE_WINDOW`], by
    /// every process together, stay within it: the shared rate limit of the bot account.
    /// Slots that free within [`BUDGET_AHEAD`] are claimed too: each delivery claimed under a
    /// budget says when it may go ([`ClaimedDelivery::send_from`]), and the caller sends none
    /// before then.
    async fn claim_deliveries(
        &self,
        route: &str,
        worker: &str,
        limit: i64,
        per_second: Option<i64>,
        lease_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<ClaimedDelivery>>;

    /// Moves to `lease_until` the leases `worker` still holds on `deliveries`: a worker whose
    /// claimed rows wait longer than a lease for their send slot says it is alive, so no one
    /// else claims them and sends them a second time. Only rows still claimed by `worker`
    /// (pending, with a lease) move; one finished, put back for a retry, cancelled, or
    /// claimed by another worker since is left as it is. Returns how many moved.
    async fn extend_deliveries(
        &self,
        worker: &str,
        deliveries: &[i64],
        lease_until: DateTime<Utc>,
    ) -> StoreResult<u64>;

    /// Records how a claimed delivery ended; a broadcast with nothing pending left becomes
    /// sent or partly failed.
    async fn finish_delivery(
        &self,
        delivery: i64,
        result: &DeliveryResult,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.finish_deliveries(&[(delivery, result.clone())], now)
            .await
    }

    /// Records how several claimed deliveries ended, all in one transaction (the outbox
    /// records what its sends in flight returned together: one commit for many messages),
    /// then moves the broadcasts they belong to that have nothing pending left to sent or
    /// partly failed.
    async fn finish_deliveries(
        &self,
        results: &[(i64, DeliveryResult)],
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// The residents (contact ids) who asked for notices: those whose unit is one of `units`,
    /// or every one when `units` is `None`.
    async fn notice_subscribers(&self, units: Option<&[String]>) -> StoreResult<Vec<i64>>;

    /// The hours before the close of collection at which `campaign` reminds; `None` when no
    /// official has set them (the default applies).
    async fn reminder_hours(&self, campaign: i64) -> StoreResult<Option<Vec<i64>>>;

    /// Sets them (audited as `reminder.settings` by `actor`).
    async fn set_reminder_hours(
        &self,
        campaign: i64,
        hours: &[i64],
        actor: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Schedules one reminder as a broadcast written by gopy itself, in one transaction that
    /// also records it as sent, so it goes at most once: to the campaign's bound groups, or to
    /// the residents who consented but have submitted nothing and have not turned notices
    /// off. Returns the broadcast's id, or `None` if this reminder was scheduled before.
    async fn schedule_reminder(
        &self,
        reminder: &NewReminder,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<i64>>;

    /// Counts of a broadcast's deliveries.
    async fn delivery_counts(&self, broadcast: i64) -> StoreResult<DeliveryCounts>;

    /// A broadcast's deliveries per unit of their group: (unit code or `-`, state, count),
    /// by unit then state.
    async fn delivery_report(&self, broadcast: i64) -> StoreResult<Vec<(String, String, i64)>>;

    /// Submitted broadcasts whose current revision approvers have not been sent yet.
    async fn broadcasts_for_approvers(&self) -> StoreResult<Vec<Broadcast>>;

    /// Records that approvers were sent `revision` of the broadcast; `false` if another
    /// process recorded it first (it sends them, this one does not).
    async fn approvers_told(&self, broadcast: i64, revision: i64) -> StoreResult<bool>;
}

/// A `staff_users` row as both backends read it.
#[derive(Debug, sqlx::FromRow)]
struct StaffRow {
    id: i64,
    name: String,
    roles: String,
    unit_code: Option<String>,
    telegram_user_id: Option<i64>,
    linked_at: Option<DateTime<Utc>>,
    zalo_user_id: Option<String>,
    created_at: DateTime<Utc>,
}

impl TryFrom<StaffRow> for StaffUser {
    type Error = StoreError;

    fn try_from(r: StaffRow) -> StoreResult<Self> {
        Ok(StaffUser {
            id: r.id,
            name: r.name,
            roles: parse_roles(&r.roles)?,
            unit: r.unit_code,
            telegram_user_id: r.telegram_user_id,
            linked_at: r.linked_at,
            zalo_user_id: r.zalo_user_id,
            created_at: r.created_at,
        })
    }
}

/// Roles as stored: sorted names joined by commas.
fn roles_text(roles: &[Role]) -> String {
    let mut roles = roles.to_vec();
    roles.sort();
    roles.dedup();
    roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// Reads stored roles back.
fn parse_roles(s: &str) -> StoreResult<Vec<Role>> {
    s.split(',')
        .filter(|r| !r.is_empty())
        .map(|r| Role::parse(r).ok_or_else(|| StoreError::Corrupt(format!("role {r}"))))
        .collect()
}

/// A `chat_groups` row as both backends read it.
#[derive(Debug, sqlx::FromRow)]
struct GroupRow {
    id: i64,
    channel: String,
    external_id: String,
    kind: String,
    title: String,
    state: String,
    unit_code: Option<String>,
    bot_status: String,
    can_delete: bool,
    can_restrict: bool,
    migrated_to: Option<String>,
    migrated_from: Option<String>,
    posting: String,
    lead_staff_id: Option<i64>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<GroupRow> for ChatGroup {
    type Error = StoreError;

    fn try_from(r: GroupRow) -> StoreResult<Self> {
        let corrupt = |what: &str, v: &str| StoreError::Corrupt(format!("{what} {v}"));
        Ok(ChatGroup {
            id: r.id,
            channel: Channel::parse(&r.channel).ok_or_else(|| corrupt("channel", &r.channel))?,
            external_id: r.external_id,
            kind: GroupKind::parse(&r.kind).ok_or_else(|| corrupt("group kind", &r.kind))?,
            title: r.title,
            state: GroupState::parse(&r.state).ok_or_else(|| corrupt("group state", &r.state))?,
            unit: r.unit_code,
            bot_status: BotStatus::parse(&r.bot_status)
                .ok_or_else(|| corrupt("bot status", &r.bot_status))?,
            can_delete: r.can_delete,
            can_restrict: r.can_restrict,
            migrated_to: r.migrated_to,
            migrated_from: r.migrated_from,
            posting: Posting::parse(&r.posting).ok_or_else(|| corrupt("posting", &r.posting))?,
            lead: r.lead_staff_id,
            updated_at: r.updated_at,
        })
    }
}

/// A claimed delivery as both backends read it.
#[derive(Debug, sqlx::FromRow)]
struct ClaimRow {
    id: i64,
    broadcast_id: i64,
    chat_group_id: Option<i64>,
    contact_id: Option<i64>,
    chat: Option<String>,
    text: String,
    attempts: i64,
    schedule: sqlx::types::Json<Schedule>,
    posting: Option<String>,
    title: Option<String>,
    reminded_at: Option<DateTime<Utc>>,
    slug: Option<String>,
    button_unit: Option<String>,
    /// The broadcast's state when the claim read it.
    broadcast_state: String,
    /// How many attachments the broadcast has (0 or 1).
    attachments: i64,
    /// Why the target can no longer be reached, if it cannot.
    gone: Option<String>,
}

impl ClaimRow {
    /// The delivery to send; `None` when its target has no chat any more (an erased resident).
    fn into_claimed(self) -> Option<ClaimedDelivery> {
        let assisted =
            (self.posting.as_deref() == Some(Posting::Assisted.as_str())).then(|| AssistedPost {
                group_title: self.title.unwrap_or_default(),
                reminder: self.reminded_at.is_some(),
            });
        Some(ClaimedDelivery {
            id: self.id,
            broadcast_id: self.broadcast_id,
            group_id: self.chat_group_id,
            contact_id: self.contact_id,
            chat: self.chat?,
            text: self.text,
            attempts: self.attempts,
            schedule: self.schedule.0,
            assisted,
            attachment: None,
            button: self
                .slug
                .zip(self.button_unit)
                .map(|(campaign, unit)| DeepLink { campaign, unit }),
            send_from: None,
        })
    }
}

/// A `broadcasts` row as both backends read it.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct BroadcastRow {
    id: i64,
    campaign_id: Option<i64>,
    text: String,
    audience: sqlx::types::Json<Audience>,
    schedule: sqlx::types::Json<Schedule>,
    state: String,
    revision: i64,
    created_by: i64,
    submitted_by: Option<i64>,
    approved_by: Option<i64>,
    approved_revision: Option<i64>,
    /// Absent from queries that list broadcasts without it (the console's recent list).
    #[sqlx(default)]
    button_unit: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<BroadcastRow> for Broadcast {
    type Error = StoreError;

    fn try_from(r: BroadcastRow) -> StoreResult<Self> {
        Ok(Broadcast {
            id: r.id,
            campaign_id: r.campaign_id,
            text: r.text,
            audience: r.audience.0,
            schedule: r.schedule.0,
            state: BroadcastState::parse(&r.state)
                .ok_or_else(|| StoreError::Corrupt(format!("broadcast state {}", r.state)))?,
            revision: r.revision,
            created_by: r.created_by,
            submitted_by: r.submitted_by,
            approved_by: r.approved_by,
            approved_revision: r.approved_revision,
            button_unit: r.button_unit,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// An attachment row as both backends read it.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct AttachmentRow {
    token: String,
    file_name: String,
    media_type: String,
    sha256: String,
    bytes: Vec<u8>,
}

impl From<AttachmentRow> for Attachment {
    fn from(r: AttachmentRow) -> Self {
        Attachment {
            token: r.token,
            file_name: r.file_name,
            media_type: r.media_type,
            sha256: r.sha256,
            bytes: r.bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_stored_sorted_without_repeats_and_read_back() {
        let text = roles_text(&[Role::Approver, Role::Admin, Role::Approver]);
        assert_eq!(text, "admin,approver");
        assert_eq!(
            parse_roles(&text).expect("roles"),
            vec![Role::Admin, Role::Approver]
        );
        assert!(parse_roles("admin,king").is_err());
    }

    #[test]
    fn role_names_accept_a_hyphen_and_any_case() {
        assert_eq!(Role::parse("Unit-Lead"), Some(Role::UnitLead));
        assert_eq!(Role::parse("boss"), None);
    }
}
