//! Announcements from Telegram, for staff: an official writes the text to the bot, then
//! replies to that message with `/trinh UNIT…` (`/submit`) to create the broadcast and submit
//! it; every approver linked on Telegram who may approve it (another staff user, the role,
//! the unit scope) is sent the text with an approve button, once per revision, by one
//! process; the author is told when it is approved, with a button to send it now. Every step
//! goes through [`crate::announce::broadcast`], so the rules and the audit are the CLI's and
//! the console's.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use teloxide::types::{CallbackQueryId, ChatId};
use tokio_util::sync::CancellationToken;

use crate::announce::access::UnitTree;
use crate::announce::broadcast::{Action, BroadcastError, act, audience_units, create, decide};
use crate::dialog::Msg;
use crate::domain::Locale;
use crate::i18n::Markup;
use crate::store::announce::{Audience, Broadcast, Role, Schedule, StaffUser};
use crate::store::{Store, StoreResult};

use super::outbound::{Outbound, keyboard};

/// The callback data prefix of the approve button: `bc:ok:<id>:<revision>`.
const APPROVE: &str = "bc:ok:";

/// The callback data prefix of the author's "send now" button: `bc:go:<id>`.
const SEND_NOW: &str = "bc:go:";

/// How often approvers' messages are looked for.
const LOOK_EVERY: Duration = Duration::from_secs(3);

/// A staff action on broadcasts from a private chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum StaffBroadcast {
    /// `/trinh UNIT…` replying to the staff user's own message holding the text.
    Submit {
        /// The Telegram user.
        user: u64,
        /// Their private chat.
        chat: ChatId,
        /// The text of the message replied to, if the command was a reply to their own text.
        text: Option<String>,
        /// The unit codes typed after the command.
        units: Vec<String>,
    },
    /// A press of an approve or send-now button.
    Press {
        /// The Telegram user.
        user: u64,
        /// Their private chat.
        chat: ChatId,
        /// The button's data.
        data: String,
        /// The press, answered once handled.
        callback: CallbackQueryId,
    },
}

/// Whether callback data belongs to these buttons.
pub(super) fn is_ours(data: &str) -> bool {
    data.starts_with(APPROVE) || data.starts_with(SEND_NOW)
}

/// Renders a message as Telegram HTML (arguments are escaped).
fn html(out: &Outbound, msg: &Msg) -> String {
    out.l10n.msg(Locale::Vi, msg, Markup::TelegramHtml)
}

/// The staff user speaking as this Telegram user.
async fn staff_of(store: &Arc<dyn Store>, user: u64) -> StoreResult<Option<StaffUser>> {
    match i64::try_from(user) {
        Ok(id) => store.staff_by_telegram(id).await,
        Err(_) => Ok(None),
    }
}

/// Handles one staff action; answers in the chat (and the button press).
pub(super) async fn handle(
    out: &Outbound,
    store: &Arc<dyn Store>,
    ev: &StaffBroadcast,
) -> StoreResult<()> {
    match ev {
        StaffBroadcast::Submit {
            user,
            chat,
            text,
            units,
        } => {
            let msg = submit(store, *user, text.as_deref(), units).await?;
            out.send(*chat, html(out, &msg), None, None).await;
        }
        StaffBroadcast::Press {
            user,
            chat,
            data,
            callback,
        } => {
            out.answer_callback(callback.clone()).await;
            press(out, store, *user, *chat, data).await?;
        }
    }
    Ok(())
}

/// `/trinh`: creates the broadcast from the replied-to text and submits it.
async fn submit(
    store: &Arc<dyn Store>,
    user: u64,
    text: Option<&str>,
    units: &[String],
) -> StoreResult<Msg> {
    let Some(staff) = staff_of(store, user).await? else {
        return Ok(Msg::new("announce-not-staff"));
    };
    let units: Vec<String> = if units.is_empty() {
        staff.unit.clone().into_iter().collect()
    } else {
        units.to_vec()
    };
    let (Some(text), false) = (text, units.is_empty()) else {
        return Ok(Msg::new("approval-submit-usage"));
    };
    let audience = Audience {
        units,
        subunits: true,
        groups: vec![],
        residents: false,
    };
    let now = Utc::now();
    let created = match create(store, &staff.name, text, audience, None, now).await {
        Ok(b) => b,
        Err(e) => return refused(e),
    };
    match act(store, created.id, &staff.name, Action::Submit, now).await {
        Ok(b) => Ok(Msg::new("approval-submitted").num("id", b.id).num(
            "chars",
            i64::try_from(b.text.chars().count()).unwrap_or(i64::MAX),
        )),
        Err(e) => refused(e),
    }
}

/// A refusal as a message (storage errors go up).
fn refused(e: BroadcastError) -> StoreResult<Msg> {
    match e {
        BroadcastError::Store(e) => Err(e),
        e => Ok(Msg::new("approval-refused").text("reason", e.to_string())),
    }
}

/// An approve or send-now button.
async fn press(
    out: &Outbound,
    store: &Arc<dyn Store>,
    user: u64,
    chat: ChatId,
    data: &str,
) -> StoreResult<()> {
    let Some(staff) = staff_of(store, user).await? else {
        out.send(chat, html(out, &Msg::new("announce-not-staff")), None, None)
            .await;
        return Ok(());
    };
    let now = Utc::now();
    if let Some(rest) = data.strip_prefix(APPROVE) {
        let mut parts = rest.split(':').map(str::parse::<i64>);
        let (Some(Ok(id)), Some(Ok(revision))) = (parts.next(), parts.next()) else {
            return Ok(());
        };
        let current = store.broadcast(id).await?;
        if current.as_ref().is_none_or(|b| b.revision != revision) {
            let msg = Msg::new("approval-stale").num("id", id);
            out.send(chat, html(out, &msg), None, None).await;
            return Ok(());
        }
        let msg = match act(store, id, &staff.name, Action::Approve, now).await {
            Ok(b) => {
                tell_author(out, store, &b, &staff).await?;
                Msg::new("approval-approved").num("id", id)
            }
            Err(e) => refused(e)?,
        };
        out.send(chat, html(out, &msg), None, None).await;
    } else if let Some(id) = data.strip_prefix(SEND_NOW).and_then(|s| s.parse().ok()) {
        let msg = match act(store, id, &staff.name, Action::Schedule(Schedule::Now), now).await {
            Ok(b) => {
                let counts = store.delivery_counts(b.id).await?;
                Msg::new("approval-scheduled")
                    .num("id", id)
                    .num("targets", counts.pending + counts.sent)
            }
            Err(e) => refused(e)?,
        };
        out.send(chat, html(out, &msg), None, None).await;
    }
    Ok(())
}

/// Tells the author (if linked on Telegram) that their broadcast was approved, with a button
/// to send it now.
async fn tell_author(
    out: &Outbound,
    store: &Arc<dyn Store>,
    b: &Broadcast,
    approver: &StaffUser,
) -> StoreResult<()> {
    let author = store
        .staff()
        .await?
        .into_iter()
        .find(|s| s.id == b.created_by);
    let Some(chat) = author.and_then(|a| a.telegram_user_id) else {
        return Ok(());
    };
    let msg = Msg::new("approval-approved-author")
        .num("id", b.id)
        .text("approver", approver.name.clone());
    let button = (
        format!("{SEND_NOW}{}", b.id),
        out.l10n
            .msg(Locale::Vi, &Msg::new("approval-button-send"), Markup::Plain),
    );
    out.send(ChatId(chat), html(out, &msg), keyboard(&[button]), None)
        .await;
    Ok(())
}

/// The staff users linked on Telegram who may approve `b`.
async fn approvers(store: &Arc<dyn Store>, b: &Broadcast) -> StoreResult<Vec<StaffUser>> {
    let tree = UnitTree::new(store.unit_nodes().await?);
    let units = audience_units(&b.audience, &store.groups().await?);
    Ok(store
        .staff()
        .await?
        .into_iter()
        .filter(|s| s.telegram_user_id.is_some() && s.has(Role::Approver))
        .filter(|s| decide(b, &Action::Approve, s, &units, &tree).is_ok())
        .collect())
}

/// Sends each submitted revision to its approvers once (one process sends it), until
/// shutdown.
pub(super) async fn run(out: Outbound, store: Arc<dyn Store>, shutdown: CancellationToken) {
    let mut failing = false;
    loop {
        match tell_approvers(&out, &store).await {
            Ok(()) => failing = false,
            Err(e) => {
                if !failing {
                    tracing::warn!(error = %e, "cannot send broadcasts to approvers right now; retrying");
                }
                failing = true;
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(LOOK_EVERY) => {}
        }
    }
}

/// One look: every submitted revision not yet sent goes to its approvers.
async fn tell_approvers(out: &Outbound, store: &Arc<dyn Store>) -> StoreResult<()> {
    for b in store.broadcasts_for_approvers().await? {
        if !store.approvers_told(b.id, b.revision).await? {
            continue;
        }
        let author = store
            .staff()
            .await?
            .into_iter()
            .find(|s| s.id == b.created_by)
            .map_or_else(|| "?".to_owned(), |s| s.name);
        let audience = if b.audience.units.is_empty() {
            "-".to_owned()
        } else {
            b.audience.units.join(", ")
        };
        let msg = Msg::new("approval-request")
            .num("id", b.id)
            .text("author", author)
            .text("audience", audience)
            .text("text", b.text.clone());
        let button = (
            format!("{APPROVE}{}:{}", b.id, b.revision),
            out.l10n.msg(
                Locale::Vi,
                &Msg::new("approval-button-approve"),
                Markup::Plain,
            ),
        );
        for a in approvers(store, &b).await? {
            if let Some(chat) = a.telegram_user_id {
                out.send(
                    ChatId(chat),
                    html(out, &msg),
                    keyboard(std::slice::from_ref(&button)),
                    None,
                )
                .await;
            }
        }
    }
    Ok(())
}
