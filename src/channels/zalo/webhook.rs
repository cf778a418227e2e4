//! The webhook route, `POST /zalo/webhook`, and the processing of what it keeps. Zalo sends
//! each event with the secret given to `setWebhook` in `X-Bot-Api-Secret-Token`: it is
//! compared in constant time, a missing one answered 401 and a wrong one 403, before the
//! body is read. The body (wrapped or flat) that is not an event gets a 400; an event we
//! ignore a 200. A resident's message (and a message whose content Zalo withheld) is handed
//! to the group-commit writer ([`crate::store::inbox::InboxWriter`]), which commits it to
//! the shared inbox (`webhook_inbox`, source `zalo:<bot id>`, key `message_id`, chat key the
//! chat, order the time Zalo gives) together with every other delivery that arrived
//! meanwhile; the answer is 200 once that commit is done — a redelivery of a kept message is
//! recognised by its key and answered 200 — and 503 when it could not be kept in
//! [`STORE_WITHIN`] (the database is down or slow) or at once when the writer already has
//! more waiting than the database commits in about a second (back-pressure): Zalo then sends
//! it again.
//!
//! [`Processor`] is the inbox's channel for Zalo: the inbox processor
//! ([`crate::channels::inbox`]) claims a batch of deliveries, each the oldest pending one of
//! a different chat with none of that chat's in flight on any replica, and hands the batch
//! here: the plain dialog steps of the batch are committed together
//! ([`crate::service::Dialogs::handle_batch`]), the rest (group messages, staff commands,
//! files, appeals) and any step the batch could not commit run one by one; then every
//! chat's replies go out, and only then is its delivery done — so one chat's messages are
//! stepped and answered one at a time, in Zalo's order, across replicas.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::{DateTime, Utc};
use serde_json::Value;
use subtle::ConstantTimeEq as _;

use super::Core;
use super::inbound::{DialogEvent, Route, route};
use crate::channels::inbox::Deliver;
use crate::dialog::Input;
use crate::service::Inbound;
use crate::store::inbox::{Delivery, Hand, InboxOutcome, InboxWriter, NewDelivery};

/// The path Zalo posts to.
pub(super) const PATH: &str = "/zalo/webhook";

/// The header carrying the secret.
const SECRET_HEADER: &str = "x-bot-api-secret-token";

/// The most time keeping a delivery may take before the answer is a 503 (Zalo's limit is
/// 2 s).
const STORE_WITHIN: Duration = Duration::from_millis(1500);

/// Tries of one delivery before it is given up.
const MAX_ATTEMPTS: i64 = 10;

/// The inbox source of the bot with `token`: `zalo:` and the bot's id (the part of the token
/// before `:`, which is not secret); the whole token never goes in.
pub(super) fn source(token: &str) -> String {
    let id = token
        .split_once(':')
        .map(|(id, _)| id)
        .filter(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or("bot");
    format!("zalo:{id}")
}

/// The route's state.
pub(super) struct Webhook {
    /// `ZALO_WEBHOOK_SECRET`.
    secret: Vec<u8>,
    /// The inbox source.
    pub(super) source: String,
    /// The process's group-commit writer.
    writer: InboxWriter,
    /// Wakes this replica's processor when a delivery is kept.
    pub(super) hand: Arc<Hand>,
    /// The clock.
    core: Arc<Core>,
}

/// The route, to merge into gopy's HTTP router.
pub(super) fn router(state: Arc<Webhook>) -> Router {
    Router::new().route(PATH, post(receive)).with_state(state)
}

impl Webhook {
    /// The state for `core`, checking `secret`, keeping deliveries under `source`.
    pub(super) fn new(core: Arc<Core>, secret: &str, source: String) -> Self {
        Self {
            secret: secret.as_bytes().to_vec(),
            source,
            writer: core.dialogs.inbox_writer(),
            hand: Hand::new(),
            core,
        }
    }

    /// Whether the request carries our secret: 401 when it carries none, 403 when another.
    fn check(&self, headers: &HeaderMap) -> Result<(), StatusCode> {
        let Some(given) = headers.get(SECRET_HEADER) else {
            return Err(StatusCode::UNAUTHORIZED);
        };
        if bool::from(given.as_bytes().ct_eq(&self.secret)) {
            Ok(())
        } else {
            Err(StatusCode::FORBIDDEN)
        }
    }
}

/// The key, chat and order of an event to keep; `None` for one to ignore.
fn keys(route: &Route, body: &[u8], now: DateTime<Utc>) -> Option<(String, String, i64)> {
    let (key, chat, date) = match route {
        Route::Ignore(_) => return None,
        Route::Dialog(ev) => (ev.message_id.clone(), ev.chat.clone(), ev.date),
        Route::Unsupported { chat, message_id } => {
            // Without an id, the body itself tells a redelivery.
            let key = message_id.clone().unwrap_or_else(|| {
                use sha2::Digest as _;
                format!("body:{}", hex::encode(sha2::Sha256::digest(body)))
            });
            (key, chat.clone(), None)
        }
    };
    Some((key, chat, date.unwrap_or(now).timestamp_millis()))
}

/// `POST /zalo/webhook`.
async fn receive(State(w): State<Arc<Webhook>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(status) = w.check(&headers) {
        metrics::counter!("gopy_zalo_webhook_rejected_total", "status" => status.as_str().to_owned())
            .increment(1);
        tracing::warn!(
            status = status.as_u16(),
            "a Zalo webhook call without the right secret was refused"
        );
        return (status, "forbidden").into_response();
    }
    let parsed = serde_json::from_slice::<Value>(&body)
        .map_err(|e| e.to_string())
        .and_then(|v| {
            let (kind, r) = route(&v).map_err(|e| e.to_string())?;
            let name = super::inbound::unwrap_event(&v)
                .get("event_name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            Ok((kind, r, name))
        });
    let (kind, route, name) = match parsed {
        Ok(r) => r,
        Err(e) => {
            metrics::counter!("gopy_zalo_updates_total", "kind" => "malformed").increment(1);
            tracing::warn!(error = %e, bytes = body.len(), "a Zalo webhook body is not an event");
            return (StatusCode::BAD_REQUEST, "malformed event").into_response();
        }
    };
    metrics::counter!("gopy_zalo_updates_total", "kind" => kind).increment(1);
    let now = w.core.dialogs.now();
    let Some((event_key, chat_key, seq)) = keys(&route, &body, now) else {
        if let Route::Ignore(why) = route {
            tracing::info!(kind, "Zalo event ignored: {why}");
        }
        return ok("ignored");
    };
    let delivery = NewDelivery {
        source: w.source.clone(),
        event_key,
        chat_key,
        seq,
        kind: name,
        body: String::from_utf8_lossy(&body).into_owned(),
        received_at: now,
    };
    let (taken, label) = w
        .writer
        .keep_for(delivery, Some(&w.hand), STORE_WITHIN)
        .await
        .settle(&w.hand, "a Zalo event", "Zalo");
    if taken { ok(label) } else { refuse(label) }
}

/// The answer to an event that was kept (or deliberately ignored).
fn ok(what: &'static str) -> Response {
    metrics::counter!("gopy_zalo_webhook_total", "outcome" => what).increment(1);
    (
        StatusCode::OK,
        [("content-type", "application/json")],
        r#"{"ok":true}"#,
    )
        .into_response()
}

/// The answer to an event that was not kept: Zalo sends it again.
fn refuse(what: &'static str) -> Response {
    metrics::counter!("gopy_zalo_webhook_total", "outcome" => what).increment(1);
    (StatusCode::SERVICE_UNAVAILABLE, "not stored; try again").into_response()
}

/// The pause before a delivery that could not be processed is tried again.
fn retry_after(attempts: i64) -> chrono::Duration {
    let exp = u32::try_from(attempts.clamp(0, 5)).unwrap_or(5);
    chrono::Duration::milliseconds(500 << exp)
}

/// Processes the Zalo deliveries the inbox hands over.
pub(super) struct Processor {
    /// What both modes share.
    pub core: Arc<Core>,
}

/// A delivery read back.
enum Read {
    /// A plain dialog step, to commit with the batch.
    Plain(Box<DialogEvent>, Inbound),
    /// Anything else, run on its own.
    Other(Route),
    /// Not readable: given up.
    Broken(String),
}

impl Processor {
    /// Reads a delivery's body back.
    fn read(delivery: &Delivery) -> Read {
        let Some(body) = &delivery.body else {
            return Read::Broken("no body".to_owned());
        };
        let route = match serde_json::from_str::<Value>(body)
            .map_err(|e| e.to_string())
            .and_then(|v| route(&v).map(|(_, r)| r).map_err(|e| e.to_string()))
        {
            Ok(r) => r,
            Err(e) => return Read::Broken(e),
        };
        match route {
            Route::Dialog(ev) if plain(&ev) => {
                let inbound = Core::inbound(&ev);
                Read::Plain(ev, inbound)
            }
            other => Read::Other(other),
        }
    }

    /// The outcome of a step that failed with `e`.
    async fn failed(
        &self,
        delivery: &Delivery,
        ev: &DialogEvent,
        e: crate::service::ServiceError,
    ) -> InboxOutcome {
        if e.is_transient() {
            tracing::warn!(error = %e, "cannot store a Zalo event's step right now; it stays in the inbox");
            if delivery.attempts >= MAX_ATTEMPTS {
                return InboxOutcome::Failed(e.to_string());
            }
            return InboxOutcome::Retry(self.now() + retry_after(delivery.attempts), e.to_string());
        }
        // Trying again would fail the same way: tell the resident.
        tracing::error!(error = %e, "cannot handle a Zalo event; it is skipped");
        self.core.apologise(&ev.chat).await;
        InboxOutcome::Failed(e.to_string())
    }

    /// Runs one route to its outcome, its replies sent.
    async fn run(&self, delivery: &Delivery, route: Route) -> InboxOutcome {
        let started = Instant::now();
        match route {
            Route::Ignore(_) => InboxOutcome::Done,
            Route::Unsupported { chat, message_id } => {
                self.core
                    .answer_unsupported(&chat, message_id.as_deref())
                    .await;
                InboxOutcome::Done
            }
            Route::Dialog(ev) => match self.core.step(&ev).await {
                Ok(replies) => {
                    self.core.deliver(&ev.chat, &replies, started).await;
                    InboxOutcome::Done
                }
                Err(e) => self.failed(delivery, &ev, e).await,
            },
        }
    }
}

/// Whether a message is a plain step of the private dialog (what [`Core::step`] would hand
/// straight to the dialog shell), which the batch may commit with others.
fn plain(ev: &DialogEvent) -> bool {
    ev.group.is_none()
        && ev.posted.is_none()
        && ev.link.is_none()
        && ev.appeal.is_none()
        && ev.file.is_none()
        && !matches!(&ev.input, Input::Text(t) if super::replies::typed_choice(t).is_some())
}

#[async_trait]
impl Deliver for Processor {
    async fn deliver(&self, delivery: &Delivery) -> InboxOutcome {
        match Self::read(delivery) {
            Read::Broken(why) => InboxOutcome::Failed(why),
            Read::Plain(ev, _) => self.run(delivery, Route::Dialog(ev)).await,
            Read::Other(route) => self.run(delivery, route).await,
        }
    }

    async fn deliver_batch(&self, deliveries: &[Delivery]) -> Vec<InboxOutcome> {
        let started = Instant::now();
        let mut plain = Vec::new();
        let mut inbounds = Vec::new();
        let mut others = Vec::new();
        let mut outcomes: Vec<Option<InboxOutcome>> = vec![None; deliveries.len()];
        for (i, d) in deliveries.iter().enumerate() {
            match Self::read(d) {
                Read::Broken(why) => outcomes[i] = Some(InboxOutcome::Failed(why)),
                Read::Plain(ev, inbound) => {
                    plain.push((i, ev));
                    inbounds.push(inbound);
                }
                Read::Other(route) => others.push((i, route)),
            }
        }
        // The plain steps are committed together while the others run on their own.
        let stepped = async {
            if inbounds.is_empty() {
                Vec::new()
            } else {
                self.core.dialogs.handle_batch(&inbounds).await
            }
        };
        let alone = futures::future::join_all(
            others
                .into_iter()
                .map(|(i, route)| async move { (i, self.run(&deliveries[i], route).await) }),
        );
        let (stepped, alone) = tokio::join!(stepped, alone);
        for (i, outcome) in alone {
            outcomes[i] = Some(outcome);
        }
        // Each committed step's replies go out (chats side by side); a step the batch could
        // not commit runs on its own.
        let sent = futures::future::join_all(plain.into_iter().zip(stepped).map(
            |((i, ev), replies)| async move {
                let outcome = match replies {
                    Some(replies) => {
                        self.core.deliver(&ev.chat, &replies, started).await;
                        InboxOutcome::Done
                    }
                    None => self.run(&deliveries[i], Route::Dialog(ev)).await,
                };
                (i, outcome)
            },
        ))
        .await;
        for (i, outcome) in sent {
            outcomes[i] = Some(outcome);
        }
        outcomes
            .into_iter()
            .map(|o| o.unwrap_or_else(|| InboxOutcome::Retry(self.now(), "not run".to_owned())))
            .collect()
    }

    fn now(&self) -> DateTime<Utc> {
        self.core.dialogs.now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_source_names_the_bot_by_its_id_and_never_carries_the_token() {
        assert_eq!(source("1234567890:abc-XYZ"), "zalo:1234567890");
        assert_eq!(source("no-colon-secret"), "zalo:bot");
        assert_eq!(source(":secret"), "zalo:bot");
    }
}
