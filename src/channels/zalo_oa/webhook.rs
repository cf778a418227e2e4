//! The OA webhook route, `POST /zalo-oa/webhook`. Zalo wants a 200 within 2 seconds, so the
//! route only checks and keeps: the `X-ZEvent-Signature` is verified over the raw body
//! (missing: 401; wrong: 403), the body parsed (not an event: 400), echoes of our own
//! messages and events gopy does not act on answered 200 and dropped, and every other event
//! committed to the shared inbox (`webhook_inbox`, source [`super::processor::INBOX_SOURCE`],
//! key the `msg_id`/`message_id`, chat key the OA user, order the event's `timestamp`) by the
//! process's group-commit writer ([`crate::store::inbox::InboxWriter`]) before the 200 — a
//! redelivery (same key) is answered 200 and dropped, and so is an event more than
//! [`STALE_AFTER`] old (its key may be forgotten: a replay). The inbox processor takes it
//! from there ([`super::processor::OaInbox`]). When the event cannot be kept in time the
//! answer is 503, at once when the writer already has more waiting than the database
//! commits in about a second, and Zalo sends the event again later.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::Value;

use super::inbound::{Admit, admit};
use super::signature::{SignatureError, Verifier};
use crate::service::Clock;
use crate::store::inbox::{Hand, InboxWriter, NewDelivery};

/// The path Zalo posts to.
pub const PATH: &str = "/zalo-oa/webhook";

/// The header carrying the signature.
const SIGNATURE_HEADER: &str = "x-zevent-signature";

/// Events older than this are dropped as replays: the inbox keeps the keys of processed
/// events longer ([`crate::channels::inbox::KEEP_DONE`]), so a signed event replayed after its key
/// is forgotten is always older than this. Zalo's own retries end after about two hours.
pub const STALE_AFTER: chrono::Duration = chrono::Duration::days(10);

/// The most time the inbox write may take before the answer is a 503 (Zalo's limit is 2 s).
const STORE_WITHIN: Duration = Duration::from_millis(1500);

/// The route's state.
pub struct Webhook {
    /// Checks signatures.
    verifier: Verifier,
    /// The process's group-commit writer into the inbox.
    writer: InboxWriter,
    /// The processor's hand-over (and wake-up call).
    hand: Arc<Hand>,
    /// The clock.
    clock: Clock,
    /// Signature variants already logged at info level (once each per process).
    logged: Mutex<HashSet<&'static str>>,
}

/// The route, to merge into gopy's HTTP router.
pub fn router(state: Arc<Webhook>) -> Router {
    Router::new().route(PATH, post(receive)).with_state(state)
}

impl Webhook {
    /// The state of the route.
    pub(super) fn new(
        verifier: Verifier,
        writer: InboxWriter,
        hand: Arc<Hand>,
        clock: Clock,
    ) -> Self {
        Self {
            verifier,
            writer,
            hand,
            clock,
            logged: Mutex::new(HashSet::new()),
        }
    }

    /// Logs which signature variant matched: at info the first time, then at debug.
    fn note_variant(&self, label: &'static str) {
        metrics::counter!("gopy_zalo_oa_signature_total", "variant" => label).increment(1);
        let first = self
            .logged
            .lock()
            .map(|mut l| l.insert(label))
            .unwrap_or(false);
        if first {
            tracing::info!(variant = label, "Zalo OA webhook signature verified");
        } else {
            tracing::debug!(variant = label, "Zalo OA webhook signature verified");
        }
    }
}

/// An answer with a short JSON body.
fn answer(status: StatusCode, what: &'static str) -> Response {
    metrics::counter!("gopy_zalo_oa_webhook_total", "outcome" => what).increment(1);
    (
        status,
        [("content-type", "application/json")],
        format!(r#"{{"status":"{what}"}}"#),
    )
        .into_response()
}

/// `POST /zalo-oa/webhook`.
async fn receive(State(w): State<Arc<Webhook>>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(signature) = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok()) else {
        tracing::warn!("a Zalo OA webhook call without X-ZEvent-Signature was refused");
        return answer(StatusCode::UNAUTHORIZED, "unsigned");
    };
    let Ok(value) = serde_json::from_slice::<Value>(&body) else {
        tracing::warn!(bytes = body.len(), "a Zalo OA webhook body is not JSON");
        return answer(StatusCode::BAD_REQUEST, "malformed");
    };
    match w.verifier.verify(signature, &body, &value) {
        Ok(m) => w.note_variant(m.label()),
        Err(SignatureError::NoTimestamp) => {
            tracing::warn!("a Zalo OA webhook body has no timestamp to check its signature");
            return answer(StatusCode::BAD_REQUEST, "malformed");
        }
        Err(e) => {
            tracing::warn!(error = %e, "a Zalo OA webhook call with a bad signature was refused");
            return answer(StatusCode::FORBIDDEN, "bad_signature");
        }
    }
    let (key, name, user) = match admit(&value) {
        Ok(Admit::Keep { key, name, user }) => (key, name, user),
        Ok(Admit::Drop(why)) => {
            let name = value
                .get("event_name")
                .and_then(Value::as_str)
                .unwrap_or("?");
            tracing::debug!(event = name, "Zalo OA event dropped: {why}");
            return answer(StatusCode::OK, "dropped");
        }
        Err(e) => {
            tracing::warn!(error = %e, "a Zalo OA webhook body is not an event");
            return answer(StatusCode::BAD_REQUEST, "malformed");
        }
    };
    let sent_at = value.get("timestamp").and_then(super::inbound::timestamp);
    if sent_at.is_some_and(|t| (w.clock)() - t > STALE_AFTER) {
        tracing::warn!("a signed Zalo OA event more than 10 days old was dropped (a replay?)");
        return answer(StatusCode::OK, "stale");
    }
    let now = (w.clock)();
    let delivery = NewDelivery {
        source: super::processor::INBOX_SOURCE.to_owned(),
        chat_key: user.unwrap_or_else(|| key.clone()),
        event_key: key,
        seq: sent_at.unwrap_or(now).timestamp_millis(),
        kind: name,
        body: String::from_utf8_lossy(&body).into_owned(),
        received_at: now,
    };
    let (taken, label) = w
        .writer
        .keep_for(delivery, Some(&w.hand), STORE_WITHIN)
        .await
        .settle(&w.hand, "a Zalo OA event", "Zalo");
    let status = if taken {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    answer(status, label)
}
