//! The webhook route, `POST /zalo/webhook`. Zalo sends each event with the secret given to
//! `setWebhook` in `X-Bot-Api-Secret-Token`: it is compared in constant time, a missing one
//! answered 401 and a wrong one 403, before the body is read. The body (wrapped or flat) that
//! is not an event gets a 400; an event we ignore a 200. A resident's message is stepped and
//! committed before the answer: 200 once it is stored (its replies then go out in the
//! background, in order per chat), 503 when it could not be stored (the database is down) so
//! that Zalo may deliver it again — a redelivery of a stored message is recognised by its
//! `message_id` and processed once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use subtle::ConstantTimeEq as _;
use tokio_util::task::TaskTracker;

use super::Core;
use super::inbound::{Route, route};

/// The path Zalo posts to.
pub(super) const PATH: &str = "/zalo/webhook";

/// The header carrying the secret.
const SECRET_HEADER: &str = "x-bot-api-secret-token";

/// Above this many chats in the lock table, the unused locks are dropped.
const PRUNE_LOCKS_ABOVE: usize = 1024;

/// The route's state.
pub(super) struct Webhook {
    /// What both modes share.
    core: Arc<Core>,
    /// `ZALO_WEBHOOK_SECRET`.
    secret: Vec<u8>,
    /// One lock per chat, held from the step to the last reply sent, so that one resident's
    /// steps and replies keep their order.
    chats: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Replies being sent after their 200, waited for at shutdown.
    sending: TaskTracker,
}

/// The route, to merge into gopy's HTTP router.
pub(super) fn router(state: Arc<Webhook>) -> Router {
    Router::new().route(PATH, post(receive)).with_state(state)
}

impl Webhook {
    /// The state for `core`, checking `secret`.
    pub(super) fn new(core: Arc<Core>, secret: &str) -> Self {
        Self {
            core,
            secret: secret.as_bytes().to_vec(),
            chats: Mutex::new(HashMap::new()),
            sending: TaskTracker::new(),
        }
    }

    /// Waits for the replies still being sent (at shutdown).
    pub(super) async fn finish(&self) {
        self.sending.close();
        self.sending.wait().await;
    }

    /// The lock of one chat.
    fn chat_lock(&self, chat: &str) -> Arc<tokio::sync::Mutex<()>> {
        let Ok(mut chats) = self.chats.lock() else {
            // A poisoned table: serve without ordering rather than not at all.
            return Arc::new(tokio::sync::Mutex::new(()));
        };
        if chats.len() > PRUNE_LOCKS_ABOVE {
            chats.retain(|_, l| Arc::strong_count(l) > 1);
        }
        chats.entry(chat.to_owned()).or_default().clone()
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

/// `POST /zalo/webhook`.
async fn receive(State(w): State<Arc<Webhook>>, headers: HeaderMap, body: Bytes) -> Response {
    let started = Instant::now();
    if let Err(status) = w.check(&headers) {
        metrics::counter!("gopy_zalo_webhook_rejected_total", "status" => status.as_str().to_owned())
            .increment(1);
        tracing::warn!(
            status = status.as_u16(),
            "a Zalo webhook call without the right secret was refused"
        );
        return (status, "forbidden").into_response();
    }
    let parsed = serde_json::from_slice::<serde_json::Value>(&body)
        .map_err(|e| e.to_string())
        .and_then(|v| route(&v).map_err(|e| e.to_string()));
    let (kind, route) = match parsed {
        Ok(r) => r,
        Err(e) => {
            metrics::counter!("gopy_zalo_updates_total", "kind" => "malformed").increment(1);
            tracing::warn!(error = %e, bytes = body.len(), "a Zalo webhook body is not an event");
            return (StatusCode::BAD_REQUEST, "malformed event").into_response();
        }
    };
    metrics::counter!("gopy_zalo_updates_total", "kind" => kind).increment(1);
    match route {
        Route::Ignore(why) => {
            tracing::info!(kind, "Zalo event ignored: {why}");
            ok()
        }
        Route::Unsupported { chat, message_id } => {
            let core = w.core.clone();
            w.sending.spawn(async move {
                core.answer_unsupported(&chat, message_id.as_deref()).await;
            });
            ok()
        }
        Route::Dialog(ev) => {
            let guard = w.chat_lock(&ev.chat).lock_owned().await;
            match w.core.step(&ev).await {
                Ok(replies) => {
                    let core = w.core.clone();
                    w.sending.spawn(async move {
                        core.deliver(&ev.chat, &replies, started).await;
                        drop(guard);
                    });
                    ok()
                }
                Err(e) if e.is_transient() => {
                    tracing::warn!(error = %e, "cannot store a Zalo event right now; answering 503 so that Zalo may send it again");
                    (StatusCode::SERVICE_UNAVAILABLE, "not stored; try again").into_response()
                }
                Err(e) => {
                    // Sending it again would fail the same way: tell the resident, and Zalo
                    // that it was received.
                    tracing::error!(error = %e, "cannot handle a Zalo event; it is skipped");
                    let core = w.core.clone();
                    w.sending.spawn(async move {
                        core.apologise(&ev.chat).await;
                        drop(guard);
                    });
                    ok()
                }
            }
        }
    }
}

/// The answer to an event that was handled (or deliberately ignored).
fn ok() -> Response {
    (
        StatusCode::OK,
        [("content-type", "application/json")],
        r#"{"ok":true}"#,
    )
        .into_response()
}
