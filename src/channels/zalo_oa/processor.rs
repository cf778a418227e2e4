//! The OA's channel of the shared webhook inbox ([`crate::channels::inbox`], source
//! [`INBOX_SOURCE`]): the inbox processor claims events — for each OA user only their oldest
//! pending one, and none of theirs while one is in flight on any replica (a lease that runs
//! out — its process died — lets another take the event again) — and [`OaInbox`] runs each
//! to the end — a resident's message through the dialog and its replies out, a follow or
//! unfollow recorded, a GMF group made known. One user's events run one at a time in Zalo's
//! order, different users side by side. A database outage leaves the event pending and
//! tries again later; an event that keeps failing is given up after [`MAX_ATTEMPTS`] tries.
//! A redelivered message (same `msg_id`) is stepped once (`processed_updates`), so an event
//! processed again after a crash stores nothing twice. While the OA has no usable token the
//! processor waits ([`crate::channels::inbox::Deliver::paused`]): no reply could go out.

use std::time::Instant;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::inbound::{self, DialogEvent, Route};
use super::outbound::{Outbound, contact_id};
use crate::channels::inbox::Deliver;
use crate::dialog::Reply;
use crate::domain::{Channel, ContactKey, Identity, Locale};
use crate::service::{Dialogs, Inbound, ServiceError};
use crate::store::inbox::{Delivery, InboxOutcome};

/// Tries of one event before it is given up.
pub const MAX_ATTEMPTS: i64 = 10;

/// The OA's source in the shared inbox (one OA per gopy).
pub const INBOX_SOURCE: &str = "zalo_oa";

/// How the processor behaves: the shared inbox's settings.
pub type ProcessorSettings = crate::channels::inbox::InboxSettings;

/// What processing needs.
pub struct Core {
    /// The dialog shell.
    pub dialogs: Dialogs,
    /// Sending.
    pub out: Outbound,
}

impl Core {
    /// Runs a resident's message to a committed step: `/appeal` goes to moderation (the
    /// author's newest hidden item back to the queue), everything else to the dialog.
    async fn step(&self, ev: &DialogEvent) -> Result<Vec<Reply>, ServiceError> {
        let key = ContactKey {
            channel: Channel::Zalo,
            external_id: contact_id(&ev.user),
        };
        let Some(text) = &ev.appeal else {
            return self
                .dialogs
                .handle(&Inbound {
                    update_key: Some(format!("oa:{}", ev.msg_id)),
                    contact: key,
                    identity: Identity::default(),
                    locale_hint: None,
                    input: ev.input.clone(),
                    has_buttons: false,
                })
                .await;
        };
        let store = self.dialogs.store();
        let locale = store
            .find_contact(&key)
            .await?
            .map(|c| c.locale)
            .unwrap_or_default();
        let appealed =
            crate::moderation::appeal_latest(store.as_ref(), &key, text, self.dialogs.now())
                .await?;
        Ok(vec![crate::moderation::notice::appeal_answer(
            locale,
            appealed.is_some(),
        )])
    }
}

/// The pause before an event that could not be processed is tried again.
fn retry_after(attempts: i64) -> chrono::Duration {
    let exp = u32::try_from(attempts.clamp(0, 8)).unwrap_or(8);
    chrono::Duration::seconds(1 << exp)
}

/// Processes one event to its outcome.
async fn process(core: &Core, row: &Delivery) -> InboxOutcome {
    let started = Instant::now();
    let now = core.dialogs.now();
    let Some(body) = &row.body else {
        return InboxOutcome::Failed("no body".to_owned());
    };
    let route = match serde_json::from_str::<Value>(body)
        .map_err(|e| e.to_string())
        .and_then(|v| inbound::route(&v).map_err(|e| e.to_string()))
    {
        Ok(r) => r,
        Err(e) => return InboxOutcome::Failed(e),
    };
    let retry = |why: String| {
        if row.attempts >= MAX_ATTEMPTS {
            InboxOutcome::Failed(why)
        } else {
            InboxOutcome::Retry(now + retry_after(row.attempts), why)
        }
    };
    let store = core.dialogs.store();
    match route {
        Route::Ignore(why) => {
            tracing::debug!(event = %row.kind, "OA event ignored: {why}");
            InboxOutcome::Done
        }
        Route::Group { group } => match known_group(store.as_ref(), &group, now).await {
            Ok(()) => InboxOutcome::Done,
            Err(e) => retry(e.to_string()),
        },
        Route::Follow {
            user,
            following,
            at,
        } => {
            let at = at.unwrap_or(row.received_at);
            let recorded = async {
                store.oa_user_follow(&user, following, at, now).await?;
                if following {
                    store.oa_user_interaction(&user, at, now).await
                } else {
                    // Zalo answers -213 to messages for a user who does not follow: their
                    // announcements stop, as after a block.
                    store
                        .oa_user_unreachable(&user, &contact_id(&user), -213, now)
                        .await
                }
            };
            match recorded.await {
                Ok(()) => {
                    metrics::counter!("gopy_zalo_oa_events_total", "kind" => if following { "follow" } else { "unfollow" }).increment(1);
                    InboxOutcome::Done
                }
                Err(e) => retry(e.to_string()),
            }
        }
        Route::Dialog(ev) => {
            let at = ev.at.unwrap_or(row.received_at);
            if let Err(e) = store.oa_user_interaction(&ev.user, at, now).await {
                return retry(e.to_string());
            }
            let kind = if matches!(ev.input, crate::dialog::Input::Media(_)) {
                "media"
            } else {
                "text"
            };
            metrics::counter!("gopy_zalo_oa_events_total", "kind" => kind).increment(1);
            match core.step(&ev).await {
                Ok(replies) => {
                    core.out.send_replies(&ev.user, &replies).await;
                    metrics::histogram!("gopy_dialog_step_seconds", "channel" => "zalo_oa")
                        .record(started.elapsed().as_secs_f64());
                    InboxOutcome::Done
                }
                Err(e) if e.is_transient() => {
                    tracing::warn!(error = %e, "cannot store an OA event's step right now; it stays in the inbox");
                    retry(e.to_string())
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot handle an OA event; it is given up");
                    core.out
                        .send_notice(&ev.user, Locale::Vi, "zalo-error")
                        .await;
                    InboxOutcome::Failed(e.to_string())
                }
            }
        }
    }
}

/// Makes a GMF group known: a group seen for the first time is stored as pending (channel
/// Zalo, id `oa:<group id>`, apart from Bot API chats), for an official to bind to a unit.
async fn known_group(
    store: &dyn crate::store::Store,
    group: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> crate::store::StoreResult<()> {
    use crate::store::announce::{BotMembership, BotStatus, GroupKind};
    let external_id = format!("oa:{group}");
    if store
        .group_by_external(Channel::Zalo, &external_id)
        .await?
        .is_some()
    {
        return Ok(());
    }
    let membership = BotMembership {
        channel: Channel::Zalo,
        external_id: external_id.clone(),
        kind: GroupKind::Group,
        title: format!("Zalo OA GMF {group}"),
        status: BotStatus::Member,
        can_delete: false,
        can_restrict: false,
    };
    store.record_membership(&membership, None, now).await?;
    tracing::info!(
        group = %external_id,
        "a GMF group of the Zalo OA is known now (pending): bind it to a unit with `gopy groups bind`"
    );
    Ok(())
}

/// The OA's channel of the shared inbox.
pub struct OaInbox {
    /// What processing needs.
    pub core: std::sync::Arc<Core>,
}

#[async_trait]
impl Deliver for OaInbox {
    async fn deliver(&self, delivery: &Delivery) -> InboxOutcome {
        process(&self.core, delivery).await
    }

    /// Without a usable refresh token no reply could go out: events wait in the inbox until
    /// an administrator re-authorises the OA (`gopy zalo-oa reset-token`).
    async fn paused(&self) -> bool {
        self.core.out.api.tokens().waits_for_reauthorisation().await
    }

    fn now(&self) -> DateTime<Utc> {
        self.core.dialogs.now()
    }
}
