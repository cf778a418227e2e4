//! Telegram in webhook mode (`TELEGRAM_WEBHOOK_URL`). Start-up calls `setWebhook` with the
//! URL, the secret token, `allowed_updates` (the same explicit list as polling, with
//! `my_chat_member` and `chat_member`) and `max_connections`. Our own axum route, mounted on
//! gopy's HTTP server at the URL's path, answers each call:
//!
//! - the `X-Telegram-Bot-Api-Secret-Token` header is compared with the secret in constant
//!   time: missing → 401, wrong → 403, before the body is looked at;
//! - the body is read as a Telegram `Update`: not one → 400 (never a panic);
//! - the update is handed to the process's group-commit writer
//!   ([`crate::store::inbox::InboxWriter`]), which commits it to the shared inbox
//!   (`webhook_inbox`) under (`telegram:<bot id>`, `update_id`) together with every delivery
//!   that arrived meanwhile — a redelivery is a no-op — and only then is the answer 200; when
//!   the database cannot take it in time the answer is 503 (at once when the writer already
//!   has more waiting than the database commits in about a second), and Telegram delivers
//!   it again later.
//!
//! The inbox's processor ([`crate::channels::inbox`]) then claims batches of updates — one
//! resident's in `update_id` order, never two of theirs at once, on any replica — and runs
//! each batch through exactly what the polling loop runs for a batch
//! ([`super::polling::Poller::process_updates`]: the dialog steps committed together, the
//! rest one by one).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac as _};
use sha2::Sha256;
use subtle::ConstantTimeEq as _;
use teloxide::types::Update;

use super::Handler;
use super::polling::{Outage, Outcome, Poller};
use crate::channels::inbox::Deliver;
use crate::config::TelegramWebhookSettings;
use crate::store::inbox::{Delivery, Hand, InboxOutcome, InboxWriter, NewDelivery};

/// The header Telegram sends the secret token in.
const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// The most time the inbox write may take before the answer is a 503 (Telegram waits longer,
/// but a slow answer holds one of its few connections).
const STORE_WITHIN: Duration = Duration::from_secs(5);

/// Tries of one update before it is given up (each try already waits out a database outage
/// within itself; this bounds a delivery that keeps failing for another reason).
const MAX_ATTEMPTS: i64 = 10;

/// Webhook mode, as the bot is built with it.
pub(super) struct WebhookMode {
    /// The URL given to `setWebhook`.
    pub url: url::Url,
    /// The secret token (given or derived); never logged.
    pub secret: String,
    /// `max_connections` for `setWebhook`.
    pub max_connections: u8,
    /// The inbox source: `telegram:<bot id>`.
    pub source: String,
    /// This replica's processor's hand-over: what its route keeps goes there (and wakes it).
    pub hand: Arc<Hand>,
}

impl WebhookMode {
    /// Webhook mode for the bot with `token`.
    pub(super) fn new(settings: &TelegramWebhookSettings, token: &str) -> Self {
        Self {
            url: settings.url.clone(),
            secret: settings
                .secret
                .clone()
                .unwrap_or_else(|| derived_secret(token)),
            max_connections: settings.max_connections,
            source: source(token),
            hand: Hand::new(),
        }
    }
}

/// The inbox source of the bot with `token`: `telegram:` and the bot's numeric id (the part
/// of the token before `:`, which is not secret); the whole token never goes in.
pub fn source(token: &str) -> String {
    let id = token
        .split_once(':')
        .map(|(id, _)| id)
        .filter(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or("bot");
    format!("telegram:{id}")
}

/// The secret token used when `TELEGRAM_WEBHOOK_SECRET` is not set: HMAC-SHA256 of a fixed
/// label keyed with the bot token, in hex (64 characters of `0-9 a-f`, which Telegram
/// accepts). Every replica with the same token derives the same secret, and nobody without
/// the token can.
pub fn derived_secret(token: &str) -> String {
    match <Hmac<Sha256> as KeyInit>::new_from_slice(token.as_bytes()) {
        Ok(mut mac) => {
            mac.update(b"gopy telegram webhook secret v1");
            hex::encode(mac.finalize().into_bytes())
        }
        // HMAC takes keys of any length; this is not reached.
        Err(_) => hex::encode(token.as_bytes())
            .chars()
            .rev()
            .take(64)
            .collect(),
    }
}

/// The route's state.
struct Route {
    /// The secret, as bytes.
    secret: Vec<u8>,
    /// The inbox source.
    source: String,
    /// The clock.
    handler: Arc<dyn Handler>,
    /// The group-commit writer (none without a store).
    writer: Option<InboxWriter>,
    /// The processor's hand-over (and wake-up call).
    hand: Arc<Hand>,
}

/// The route `POST <path of TELEGRAM_WEBHOOK_URL>`, to merge into gopy's HTTP router (a
/// handler without a store answers 503: it has nowhere to keep updates).
pub(super) fn router(mode: &WebhookMode, handler: Arc<dyn Handler>) -> Router {
    let state = Arc::new(Route {
        secret: mode.secret.as_bytes().to_vec(),
        source: mode.source.clone(),
        writer: handler.inbox_writer(),
        handler,
        hand: mode.hand.clone(),
    });
    Router::new()
        .route(mode.url.path(), post(receive))
        .with_state(state)
}

/// An answer with a short JSON body, counted by outcome.
fn answer(status: StatusCode, what: &'static str) -> Response {
    metrics::counter!("gopy_telegram_webhook_total", "outcome" => what).increment(1);
    (
        status,
        [("content-type", "application/json")],
        format!(r#"{{"status":"{what}"}}"#),
    )
        .into_response()
}

/// The resident or chat an update belongs to: its chat, or for an update without one (an
/// inline button press) its sender. In a private chat the chat id is the resident's id, so a
/// resident's messages and button presses share one key.
pub(super) fn chat_key(update: &Update) -> String {
    if let Some(chat) = update.chat() {
        return chat.id.0.to_string();
    }
    match update.from() {
        Some(user) => user.id.0.to_string(),
        None => "-".to_owned(),
    }
}

/// `POST` of one update by Telegram.
async fn receive(State(r): State<Arc<Route>>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(given) = headers.get(SECRET_HEADER) else {
        tracing::warn!("a Telegram webhook call without the secret token was refused");
        return answer(StatusCode::UNAUTHORIZED, "unsigned");
    };
    if !bool::from(given.as_bytes().ct_eq(&r.secret)) {
        tracing::warn!("a Telegram webhook call with a wrong secret token was refused");
        return answer(StatusCode::FORBIDDEN, "bad_secret");
    }
    let update = match serde_json::from_slice::<Update>(&body) {
        Ok(u) => u,
        Err(e) => {
            tracing::warn!(error = %e, bytes = body.len(), "a Telegram webhook body is not an update");
            return answer(StatusCode::BAD_REQUEST, "malformed");
        }
    };
    let id = i64::from(update.id.0);
    let delivery = NewDelivery {
        source: r.source.clone(),
        event_key: id.to_string(),
        chat_key: chat_key(&update),
        seq: id,
        kind: String::new(),
        body: String::from_utf8_lossy(&body).into_owned(),
        received_at: r.handler.now(),
    };
    let Some(writer) = &r.writer else {
        return answer(StatusCode::SERVICE_UNAVAILABLE, "no_store");
    };
    let (taken, label) = writer
        .keep_for(delivery, Some(&r.hand), STORE_WITHIN)
        .await
        .settle(&r.hand, "a Telegram update", "Telegram");
    let status = if taken {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    answer(status, label)
}

/// Processes claimed updates with the polling loop's own handling.
pub(super) struct Processor {
    /// The loop's state, whose `process_update` runs one update (it is never `run`).
    pub poller: Poller,
    /// Logs a database outage once.
    pub outage: Outage,
}

#[async_trait]
impl Deliver for Processor {
    async fn deliver(&self, delivery: &Delivery) -> InboxOutcome {
        let Some(body) = &delivery.body else {
            return InboxOutcome::Failed("no body".to_owned());
        };
        let update = match serde_json::from_str::<Update>(body) {
            Ok(u) => u,
            Err(e) => return InboxOutcome::Failed(e.to_string()),
        };
        match self.poller.process_update(&update, &self.outage).await {
            Outcome::Done => InboxOutcome::Done,
            // Shutdown came while the database was down: the update stays pending, and the
            // resident's later ones wait behind it.
            Outcome::Unfinished if delivery.attempts >= MAX_ATTEMPTS => {
                InboxOutcome::Failed("not stored after many tries".to_owned())
            }
            Outcome::Unfinished => {
                InboxOutcome::Retry(self.now(), "not stored before shutdown".to_owned())
            }
        }
    }

    async fn deliver_batch(&self, deliveries: &[Delivery]) -> Vec<InboxOutcome> {
        let mut outcomes: Vec<Option<InboxOutcome>> = vec![None; deliveries.len()];
        let mut updates = Vec::with_capacity(deliveries.len());
        let mut ids = Vec::with_capacity(deliveries.len());
        for (i, d) in deliveries.iter().enumerate() {
            match d.body.as_deref().map(serde_json::from_str::<Update>) {
                Some(Ok(u)) => {
                    ids.push((i, i64::from(u.id.0)));
                    updates.push(u);
                }
                Some(Err(e)) => outcomes[i] = Some(InboxOutcome::Failed(e.to_string())),
                None => outcomes[i] = Some(InboxOutcome::Failed("no body".to_owned())),
            }
        }
        // A panic in a handler: the batch's updates run one by one, each panic caught and
        // its update skipped, as in the polling loop (a step the batch committed is
        // recognised and not run twice).
        let run = std::panic::AssertUnwindSafe(self.poller.process_updates(updates, &self.outage));
        let unfinished = match futures::FutureExt::catch_unwind(run).await {
            Ok(unfinished) => unfinished,
            Err(_) => {
                tracing::error!(
                    "handling a batch of Telegram updates panicked; they run one by one"
                );
                let alone = ids.iter().map(|(i, _)| self.deliver(&deliveries[*i]));
                let alone = futures::future::join_all(alone).await;
                for ((i, _), outcome) in ids.iter().zip(alone) {
                    outcomes[*i] = Some(outcome);
                }
                return outcomes
                    .into_iter()
                    .map(|o| {
                        o.unwrap_or_else(|| InboxOutcome::Retry(self.now(), "not run".to_owned()))
                    })
                    .collect();
            }
        };
        for (i, id) in ids {
            outcomes[i] = Some(if !unfinished.contains(&id) {
                InboxOutcome::Done
            } else if deliveries[i].attempts >= MAX_ATTEMPTS {
                InboxOutcome::Failed("not stored after many tries".to_owned())
            } else {
                InboxOutcome::Retry(self.now(), "not stored before shutdown".to_owned())
            });
        }
        outcomes
            .into_iter()
            .map(|o| o.unwrap_or_else(|| InboxOutcome::Retry(self.now(), "not run".to_owned())))
            .collect()
    }

    fn now(&self) -> DateTime<Utc> {
        self.poller.handler.now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_derived_secret_is_stable_secret_and_acceptable_to_telegram() {
        let a = derived_secret("123456:AAE-secret");
        assert_eq!(a, derived_secret("123456:AAE-secret"));
        assert_ne!(a, derived_secret("123456:AAE-other"));
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(!a.contains("AAE"));
    }

    #[test]
    fn the_source_names_the_bot_by_its_id_and_never_carries_the_token() {
        assert_eq!(source("123456:AAE-secret"), "telegram:123456");
        assert_eq!(source("no-colon-secret"), "telegram:bot");
    }

    #[test]
    fn a_resident_s_messages_and_button_presses_share_one_chat_key() {
        // Read from text, as the route reads the body.
        let msg: Update = serde_json::from_str(
            r#"{"update_id": 1, "message": {"message_id": 5, "date": 1700000000,
            "text": "chào", "chat": {"id": 42, "type": "private", "first_name": "Lan"},
            "from": {"id": 42, "is_bot": false, "first_name": "Lan"}}}"#,
        )
        .expect("a message");
        let press: Update = serde_json::from_str(
            r#"{"update_id": 2, "callback_query": {"id": "9", "chat_instance": "-1",
            "data": "1:a", "from": {"id": 42, "is_bot": false, "first_name": "Lan"},
            "message": {"message_id": 6, "date": 1700000000, "text": "?",
            "chat": {"id": 42, "type": "private", "first_name": "Lan"}}}}"#,
        )
        .expect("a button press");
        assert_eq!(chat_key(&msg), "42", "{:?}", msg.kind);
        assert_eq!(chat_key(&press), "42");
    }
}
