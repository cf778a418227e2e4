//! Group actions a staff user takes from a chat: bind the group to a unit, unbind it, link
//! their chat account. Each is checked (linked staff, role, unit scope) and audited under the
//! staff user's name; the command line binds as `cli:<os user>` without these checks (whoever
//! runs it can reach the database already).

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::access::{Refusal, UnitTree, may_manage_group, normalise_code};
use crate::domain::Channel;
use crate::store::announce::{ChatGroup, LinkOutcome};
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
    /// The sender's platform user id.
    pub user: i64,
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
    let Some(staff) = store.staff_by_telegram(cmd.user).await? else {
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

/// Runs `/link CODE` from a private chat; `None` for a redelivery.
pub async fn link(
    store: &Arc<dyn Store>,
    typed_code: &str,
    user: i64,
    update: Option<&str>,
    now: DateTime<Utc>,
) -> StoreResult<Option<LinkOutcome>> {
    let code = normalise_code(typed_code);
    if code.is_empty() {
        return Ok(Some(LinkOutcome::Unknown));
    }
    store.link_telegram(&code, user, update, now).await
}
