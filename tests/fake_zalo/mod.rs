//! A fake Zalo Bot API server (axum) that behaves as the platform notes say Zalo does:
//! `<url>/bot<TOKEN>/<method>` by GET or POST; errors in the body with HTTP 200; `getUpdates`
//! hands out ONE update per call (no offset, no `update_id`) and answers 408 when nothing
//! came during its long poll; it refuses to work while a webhook is set; `sendMessage` takes
//! 1–2,000 characters (after NFC) and answers with an opaque id and a date in milliseconds;
//! `sendPhoto` takes the photo by an http(s) URL only (no upload).
//! Tests queue events (duplicates too), inject 429/401/403/5xx, and read back every call and
//! every message sent; the dialog benchmark streams the messages sent as they arrive instead.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Value, json};
use tokio::sync::Notify;
use unicode_normalization::UnicodeNormalization as _;

/// The token the fake accepts.
pub const TOKEN: &str = "1234567890:abc-XYZ";

/// An injected failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `{"ok":false,"error_code":N}` with HTTP 200, as Zalo does.
    Code(i64),
    /// This HTTP status with a body that is not JSON (a proxy in front of Zalo).
    Http(u16),
}

/// One call gopy made.
#[derive(Debug, Clone)]
pub struct Call {
    /// The method, as written in the URL.
    pub method: String,
    /// The JSON body (or the query, for GET).
    pub body: Value,
    /// The error code answered, 0 for success.
    pub code: i64,
    /// When it was answered.
    pub at: Instant,
}

/// One message the bot sent.
#[derive(Debug, Clone)]
pub struct Sent {
    /// `chat_id`.
    pub chat: String,
    /// `text`.
    pub text: String,
    /// The id the fake gave it.
    pub message_id: String,
    /// When the fake accepted it.
    pub at: Instant,
}

/// A Zalo user.
#[derive(Debug, Clone)]
pub struct Resident {
    /// Their opaque Zalo id (also their private chat's id).
    pub id: String,
    /// Their display name.
    pub name: String,
}

impl Resident {
    /// A resident with an id like Zalo's (20 hex digits).
    pub fn new(n: u64, name: &str) -> Self {
        Self {
            id: format!("{n:020x}"),
            name: name.to_owned(),
        }
    }
}

/// The fake's state.
#[derive(Default)]
struct World {
    /// Updates waiting for `getUpdates`.
    queue: VecDeque<Value>,
    /// `(url, secret)` once `setWebhook` was called.
    webhook: Option<(String, String)>,
    /// The code `getUpdates` answers while a webhook is set (400 or 409).
    webhook_conflict: i64,
    /// Every call.
    calls: Vec<Call>,
    /// Every message sent.
    sent: Vec<Sent>,
    /// Faults to inject: (method, how many more times, fault).
    faults: Vec<(String, usize, Fault)>,
    /// Storms: (method, until when, fault).
    storms: Vec<(String, Instant, Fault)>,
    /// Long polls waiting now.
    polls_waiting: usize,
    /// Ids handed out.
    next_id: u64,
    /// What `getMe` says about groups.
    can_join_groups: bool,
    /// Every photo sent (`sendPhoto`).
    photos: Vec<Photo>,
    /// Told of every message the bot sends, as it arrives (see [`FakeZalo::subscribe_sent`]).
    sent_tx: Option<tokio::sync::mpsc::UnboundedSender<Sent>>,
    /// Lean (benchmarks): calls and sent messages are not kept (see [`FakeZalo::set_lean`]).
    lean: bool,
    /// Whether a private message reaches only people who wrote to the bot (see
    /// [`FakeZalo::set_private_only_after_chat`]).
    private_only_after_chat: bool,
    /// Who wrote to the bot in private (their updates were handed out).
    chatted: std::collections::HashSet<String>,
    /// Group ids the bot heard from.
    groups: std::collections::HashSet<String>,
    /// Files served under `/files/<name>`: (bytes, content type).
    files: std::collections::HashMap<String, (Vec<u8>, String)>,
}

/// A photo the bot sent: Zalo takes it by URL only.
#[derive(Debug, Clone)]
pub struct Photo {
    /// `chat_id`.
    pub chat: String,
    /// `photo`: the image's URL.
    pub url: String,
    /// `caption`, if any.
    pub caption: Option<String>,
    /// The id the fake gave it.
    pub message_id: String,
}

/// The fake server.
pub struct FakeZalo {
    /// Where it listens.
    addr: SocketAddr,
    /// Its state.
    world: Arc<Mutex<World>>,
    /// Woken when something changes.
    changed: Arc<Notify>,
    /// The longest a long poll waits before its 408 (short, so that idle polls happen).
    poll_cap: Duration,
}

/// The router's state.
#[derive(Clone)]
struct Shared {
    world: Arc<Mutex<World>>,
    changed: Arc<Notify>,
    poll_cap: Duration,
}

impl FakeZalo {
    /// Starts the fake on a free local port.
    pub async fn start() -> Self {
        let world = Arc::new(Mutex::new(World {
            webhook_conflict: 400,
            next_id: 0x1000,
            ..World::default()
        }));
        let changed = Arc::new(Notify::new());
        let poll_cap = Duration::from_secs(2);
        let shared = Shared {
            world: world.clone(),
            changed: changed.clone(),
            poll_cap,
        };
        let app = Router::new()
            .route("/files/{name}", axum::routing::get(serve_file))
            .route("/{bot}/{method}", any(handle))
            .with_state(shared);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake Zalo");
        let addr = listener.local_addr().expect("address");
        tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("the fake Zalo serves");
        });
        Self {
            addr,
            world,
            changed,
            poll_cap,
        }
    }

    /// The API URL to give gopy (`ZALO_BOT_API_URL`).
    pub fn api_url(&self) -> url::Url {
        url::Url::parse(&format!("http://{}", self.addr)).expect("url")
    }

    fn world(&self) -> std::sync::MutexGuard<'_, World> {
        self.world.lock().expect("the fake's lock")
    }

    /// A fresh opaque id.
    pub fn fresh_id(&self) -> String {
        let mut w = self.world();
        w.next_id += 1;
        format!("{:020x}", w.next_id * 0x9e37_79b9)
    }

    /// A flat `message.<kind>.received` event from `who`, with `extra` fields in its message.
    pub fn event(&self, who: &Resident, kind: &str, extra: Value) -> Value {
        let ms = chrono::Utc::now().timestamp_millis();
        let mut message = json!({
            "message_id": self.fresh_id(),
            "date": ms,
            "from": {"id": who.id, "display_name": who.name, "is_bot": false},
            "chat": {"id": who.id, "chat_type": "PRIVATE"},
        });
        for (k, v) in extra.as_object().expect("an object") {
            message[k] = v.clone();
        }
        json!({"event_name": format!("message.{kind}.received"), "message": message})
    }

    /// Makes `sendMessage` to a private chat refuse (`400`) anyone who never wrote to the bot,
    /// as Zalo lets a bot write only to people who chatted with it.
    pub fn set_private_only_after_chat(&self, on: bool) {
        self.world().private_only_after_chat = on;
    }

    /// Serves `bytes` as `content_type` at a link on the fake (`<api>/files/<name>`), as Zalo
    /// serves a photo or file a user sent; returns the link.
    pub fn host_file(&self, name: &str, bytes: Vec<u8>, content_type: &str) -> String {
        self.world()
            .files
            .insert(name.to_owned(), (bytes, content_type.to_owned()));
        format!("http://{}/files/{name}", self.addr)
    }

    /// A message `who` posts in a group replying to `reply_to` (gopy's post or another
    /// message), in one of the shapes clients report: `shape` is `reply_to_message`
    /// (an object with `message_id`), `quote` (an object with `msg_id`) or
    /// `reply_to_message_id` (the id alone). `extra` adds fields (a photo, a caption).
    pub fn group_reply_event(
        &self,
        who: &Resident,
        group: &str,
        kind: &str,
        reply_to: &str,
        shape: &str,
        extra: Value,
    ) -> Value {
        let mut fields = json!({"chat": {"id": group, "chat_type": "GROUP"}});
        fields[shape] = match shape {
            "reply_to_message" => json!({"message_id": reply_to, "from": {"id": "bot"}}),
            "quote" => json!({"msg_id": reply_to, "text": "…"}),
            _ => json!(reply_to),
        };
        for (k, v) in extra.as_object().expect("an object") {
            fields[k] = v.clone();
        }
        self.event(who, kind, fields)
    }

    /// Every message sent to a chat, with its id, in order.
    pub fn sent_to(&self, chat: &str) -> Vec<Sent> {
        self.world()
            .sent
            .iter()
            .filter(|s| s.chat == chat)
            .cloned()
            .collect()
    }

    /// Makes `getMe` say the bot may join groups (the limited rollout).
    pub fn set_can_join_groups(&self, can: bool) {
        self.world().can_join_groups = can;
    }

    /// A text `who` posts in a group, mentioning the bot (in a group the bot receives only
    /// mentions and replies to it); the group id is `chat.id`, `chat_type` is `GROUP`.
    pub fn group_text_event(&self, who: &Resident, group: &str, text: &str) -> Value {
        self.event(
            who,
            "text",
            json!({"text": text, "chat": {"id": group, "chat_type": "GROUP"}}),
        )
    }

    /// A text event.
    pub fn text_event(&self, who: &Resident, text: &str) -> Value {
        self.event(who, "text", json!({"text": text}))
    }

    /// Queues an event for `getUpdates`.
    pub fn push(&self, event: Value) {
        self.world().queue.push_back(event);
        self.changed.notify_waiters();
    }

    /// Queues a text event; returns its message id.
    pub fn send_text(&self, who: &Resident, text: &str) -> String {
        let ev = self.text_event(who, text);
        let id = ev["message"]["message_id"].as_str().expect("id").to_owned();
        self.push(ev);
        id
    }

    /// Makes the next `n` calls of `method` fail with `fault`.
    pub fn fail_next(&self, method: &str, n: usize, fault: Fault) {
        self.world().faults.push((method.to_owned(), n, fault));
    }

    /// A storm: every call of `method` fails with `fault` for `lasting` from now.
    pub fn storm(&self, method: &str, lasting: Duration, fault: Fault) {
        self.world()
            .storms
            .push((method.to_owned(), Instant::now() + lasting, fault));
    }

    /// Sets a webhook as if someone had called `setWebhook`; `getUpdates` then answers
    /// `conflict` (400 or 409).
    pub fn set_webhook(&self, url: &str, secret: &str, conflict: i64) {
        let mut w = self.world();
        w.webhook = Some((url.to_owned(), secret.to_owned()));
        w.webhook_conflict = conflict;
    }

    /// The webhook set, if any.
    pub fn webhook(&self) -> Option<(String, String)> {
        self.world().webhook.clone()
    }

    /// Streams every message the bot sends from now on, with the instant the fake accepted it
    /// (for benchmarks; a second subscription replaces the first).
    pub fn subscribe_sent(&self) -> tokio::sync::mpsc::UnboundedReceiver<Sent> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        self.world().sent_tx = Some(tx);
        rx
    }

    /// For long benchmark runs: stops keeping calls and sent messages (a subscriber still gets
    /// every message), so memory stays bounded.
    pub fn set_lean(&self) {
        let mut w = self.world();
        w.lean = true;
        w.calls.clear();
        w.sent.clear();
    }

    /// Every call of `method`.
    pub fn calls_to(&self, method: &str) -> Vec<Call> {
        self.world()
            .calls
            .iter()
            .filter(|c| c.method == method)
            .cloned()
            .collect()
    }

    /// Every photo sent, in order.
    pub fn photos(&self) -> Vec<Photo> {
        self.world().photos.clone()
    }

    /// Every message sent, in order.
    pub fn sent(&self) -> Vec<Sent> {
        self.world().sent.clone()
    }

    /// The texts sent to a chat, in order.
    pub fn texts_to(&self, chat: &str) -> Vec<String> {
        self.world()
            .sent
            .iter()
            .filter(|s| s.chat == chat)
            .map(|s| s.text.clone())
            .collect()
    }

    /// Updates still queued.
    pub fn queued(&self) -> usize {
        self.world().queue.len()
    }

    /// Waits (at most 20 s) until `f` gives something.
    pub async fn wait_for<T>(&self, what: &str, mut f: impl FnMut(&Self) -> Option<T>) -> T {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let notified = self.changed.notified();
            if let Some(t) = f(self) {
                return t;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "timed out waiting for {what}");
            let _ = tokio::time::timeout(left.min(Duration::from_millis(100)), notified).await;
        }
    }

    /// Waits until every queued update was handed out and gopy is back on a long poll —
    /// which it starts only once the last update is committed and answered.
    pub async fn wait_idle(&self) {
        self.wait_for("gopy to be idle on a long poll", |f| {
            let w = f.world();
            (w.queue.is_empty() && w.polls_waiting > 0).then_some(())
        })
        .await;
    }

    /// Waits until a chat has at least `n` messages; returns them.
    pub async fn wait_messages(&self, chat: &str, n: usize) -> Vec<String> {
        self.wait_for(&format!("{n} messages to {chat}"), |f| {
            let t = f.texts_to(chat);
            (t.len() >= n).then_some(t)
        })
        .await
    }
}

/// Wraps a result in Zalo's envelope.
fn ok(result: Value) -> Response {
    axum::Json(json!({"ok": true, "result": result})).into_response()
}

/// An error in Zalo's envelope, with HTTP 200.
fn error(code: i64, description: &str) -> Response {
    axum::Json(json!({"ok": false, "error_code": code, "description": description})).into_response()
}

/// Every call.
async fn handle(
    State(s): State<Shared>,
    Path((bot, method)): Path<(String, String)>,
    Query(query): Query<serde_json::Map<String, Value>>,
    body: Bytes,
) -> Response {
    let body: Value = if body.is_empty() {
        Value::Object(query)
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(_) => return record(&s, &method, Value::Null, 400, error(400, "Bad Request")),
        }
    };
    if bot != format!("bot{TOKEN}") {
        return record(&s, &method, body, 401, error(401, "Unauthorized"));
    }
    let fault = {
        let mut w = s.world.lock().expect("lock");
        let hit = w
            .faults
            .iter_mut()
            .find(|(m, n, _)| *m == method && *n > 0)
            .map(|(_, n, f)| {
                *n -= 1;
                *f
            });
        w.faults.retain(|(_, n, _)| *n > 0);
        let now = Instant::now();
        w.storms.retain(|(_, until, _)| now < *until);
        hit.or_else(|| {
            w.storms
                .iter()
                .find(|(m, _, _)| *m == method)
                .map(|(_, _, f)| *f)
        })
    };
    match fault {
        Some(Fault::Code(code)) => {
            let d = match code {
                429 => "Quota exceeded",
                401 => "Unauthorized",
                403 => "Internal server error",
                _ => "Error",
            };
            return record(&s, &method, body, code, error(code, d));
        }
        Some(Fault::Http(status)) => {
            let status = StatusCode::from_u16(status).expect("status");
            return record(
                &s,
                &method,
                body,
                i64::from(status.as_u16()),
                (status, "<html>upstream error</html>").into_response(),
            );
        }
        None => {}
    }
    match method.as_str() {
        "getMe" => record(
            &s,
            &method,
            body,
            0,
            ok(
                json!({"id": "1459232241454765289", "account_name": "bot.GopyTest",
                      "account_type": "BASIC",
                      "can_join_groups": s.world.lock().expect("lock").can_join_groups}),
            ),
        ),
        "getWebhookInfo" => {
            let url = s
                .world
                .lock()
                .expect("lock")
                .webhook
                .clone()
                .map(|(u, _)| u);
            record(
                &s,
                &method,
                body,
                0,
                ok(json!({"url": url.unwrap_or_default(), "updated_at": 1_750_000_000_000_i64})),
            )
        }
        "setWebhook" => {
            let url = body["url"].as_str().unwrap_or_default().to_owned();
            let secret = body["secret_token"].as_str().unwrap_or_default().to_owned();
            if !url.starts_with("https://") || !(8..=256).contains(&secret.chars().count()) {
                return record(&s, &method, body, 400, error(400, "Bad Request"));
            }
            s.world.lock().expect("lock").webhook = Some((url.clone(), secret));
            record(&s, &method, body, 0, ok(json!({"url": url})))
        }
        "deleteWebhook" => {
            s.world.lock().expect("lock").webhook = None;
            record(&s, &method, body, 0, ok(json!({})))
        }
        "sendMessage" => send_message(&s, body),
        "sendPhoto" => send_photo(&s, body),
        "getUpdates" => get_updates(&s, body).await,
        _ => record(&s, &method, body, 400, error(400, "Unknown method")),
    }
}

/// `sendMessage {chat_id, text}`.
fn send_message(s: &Shared, body: Value) -> Response {
    let chat = match &body["chat_id"] {
        Value::String(c) if !c.is_empty() => c.clone(),
        Value::Number(n) => n.to_string(),
        _ => {
            return record(
                s,
                "sendMessage",
                body,
                400,
                error(400, "chat_id is required"),
            );
        }
    };
    {
        let w = s.world.lock().expect("lock");
        if w.private_only_after_chat && !w.chatted.contains(&chat) && !w.groups.contains(&chat) {
            drop(w);
            return record(
                s,
                "sendMessage",
                body,
                400,
                error(400, "The user has not interacted with the bot"),
            );
        }
    }
    let text = body["text"].as_str().unwrap_or_default();
    let len = text.nfc().count();
    if !(1..=2000).contains(&len) {
        return record(
            s,
            "sendMessage",
            body.clone(),
            400,
            error(400, "text must be 1-2000 characters"),
        );
    }
    let message_id = {
        let mut w = s.world.lock().expect("lock");
        w.next_id += 1;
        let id = format!("{:020x}", w.next_id * 0x85eb_ca6b);
        let sent = Sent {
            chat,
            text: text.to_owned(),
            message_id: id.clone(),
            at: Instant::now(),
        };
        if let Some(tx) = &w.sent_tx {
            let _ = tx.send(sent.clone());
        }
        if !w.lean {
            w.sent.push(sent);
        }
        id
    };
    let date = chrono::Utc::now().timestamp_millis();
    record(
        s,
        "sendMessage",
        body,
        0,
        ok(json!({"message_id": message_id, "date": date})),
    )
}

/// `sendPhoto {chat_id, photo, caption?}`: the photo by an http(s) URL only (no upload).
fn send_photo(s: &Shared, body: Value) -> Response {
    let chat = match &body["chat_id"] {
        Value::String(c) if !c.is_empty() => c.clone(),
        Value::Number(n) => n.to_string(),
        _ => return record(s, "sendPhoto", body, 400, error(400, "chat_id is required")),
    };
    let url = body["photo"].as_str().unwrap_or_default().to_owned();
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return record(s, "sendPhoto", body, 400, error(400, "photo must be a URL"));
    }
    let caption = body["caption"].as_str().map(str::to_owned);
    if caption.as_ref().is_some_and(|c| c.nfc().count() > 2000) {
        return record(s, "sendPhoto", body, 400, error(400, "caption is too long"));
    }
    let message_id = {
        let mut w = s.world.lock().expect("lock");
        w.next_id += 1;
        let id = format!("{:020x}", w.next_id * 0x85eb_ca6b);
        w.photos.push(Photo {
            chat,
            url,
            caption,
            message_id: id.clone(),
        });
        id
    };
    let date = chrono::Utc::now().timestamp_millis();
    record(
        s,
        "sendPhoto",
        body,
        0,
        ok(json!({"message_id": message_id, "date": date})),
    )
}

/// `getUpdates {timeout}`: one update, or a 408 after the (capped) timeout.
async fn get_updates(s: &Shared, body: Value) -> Response {
    let asked = body["timeout"]
        .as_str()
        .and_then(|t| t.parse::<u64>().ok())
        .or_else(|| body["timeout"].as_u64())
        .unwrap_or(30);
    let deadline = Instant::now() + Duration::from_secs(asked).min(s.poll_cap);
    {
        let w = s.world.lock().expect("lock");
        if w.webhook.is_some() {
            let code = w.webhook_conflict;
            drop(w);
            return record(s, "getUpdates", body, code, error(code, "Webhook is set"));
        }
    }
    /// Counts a waiting poll, and uncounts it however the wait ends (the client may go).
    struct Waiting<'a>(&'a Shared, bool);
    impl Drop for Waiting<'_> {
        fn drop(&mut self) {
            if self.1 {
                self.0.world.lock().expect("lock").polls_waiting -= 1;
                self.0.changed.notify_waiters();
            }
        }
    }
    s.world.lock().expect("lock").polls_waiting += 1;
    let mut waiting = Waiting(s, true);
    s.changed.notify_waiters();
    loop {
        let notified = s.changed.notified();
        {
            let mut w = s.world.lock().expect("lock");
            if let Some(update) = w.queue.pop_front() {
                let chat = &update["message"]["chat"];
                let id = chat["id"].as_str().map(str::to_owned).unwrap_or_default();
                if chat["chat_type"].as_str() == Some("GROUP") {
                    w.groups.insert(id);
                } else {
                    w.chatted.insert(id);
                }
                // Handed out and uncounted in one step: a test that sees the queue empty
                // and a poll waiting knows this update was finished.
                w.polls_waiting -= 1;
                waiting.1 = false;
                drop(w);
                return record(s, "getUpdates", body, 0, ok(update));
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return record(s, "getUpdates", body, 408, error(408, "Request timeout"));
        }
        let _ = tokio::time::timeout(left, notified).await;
    }
}

/// `GET /files/<name>`: a file hosted with [`FakeZalo::host_file`].
async fn serve_file(State(s): State<Shared>, Path(name): Path<String>) -> Response {
    let file = s.world.lock().expect("lock").files.get(&name).cloned();
    match file {
        Some((bytes, content_type)) => {
            ([(axum::http::header::CONTENT_TYPE, content_type)], bytes).into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Records a call and passes its answer through.
fn record(s: &Shared, method: &str, body: Value, code: i64, answer: Response) -> Response {
    {
        let mut w = s.world.lock().expect("lock");
        if !w.lean {
            w.calls.push(Call {
                method: method.to_owned(),
                body,
                code,
                at: Instant::now(),
            });
        }
    }
    s.changed.notify_waiters();
    answer
}
