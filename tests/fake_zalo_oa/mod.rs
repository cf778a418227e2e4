//! A fake Zalo Official Account API and OAuth server (axum), faithful to the platform notes:
//! the envelope `{"data":…,"error":0,"message":"Success"}` with errors in the body and HTTP
//! 200; `access_token` in a header (not Bearer); `POST /v4/oa/access_token` form-encoded with
//! the app secret in `secret_key`, single-use refresh tokens (an old one is refused),
//! `expires_in` as a string; `-216` for an unknown or expired access token; `/v3.0/oa/message/cs`
//! within 7 days of the user's last interaction, else `-230`; text of 1–2,000 characters
//! after NFC; GMF group messages to the groups the OA owns (`-403` otherwise, `-237` for a
//! disabled one); injected faults (`-32` rate limit, …). It also posts signed webhook events
//! to gopy, as Zalo does (and records the interaction, which opens the window).
//! Attachments: `POST /v2.0/oa/upload/image` (JPEG or PNG by their bytes, ≤ 1 MB) and
//! `/v2.0/oa/upload/file` (PDF, DOC or DOCX, ≤ 5 MB), also under `/v3.0/`, multipart with the
//! field `file`, answer an `attachment_id` or a `token` (`-210` too large, `-201` otherwise
//! wrong, in HTTP 200 bodies); a message is a text, a media template (one image by an
//! uploaded `attachment_id` or an http(s) `url`, optional text), a file (an uploaded `token`,
//! no text) or a text with 1–5 buttons (`oa.open.url` with an http(s) url, `oa.query.show` /
//! `oa.query.hide` with a text payload); GMF groups take no buttons. Every upload and every
//! attachment sent is recorded.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use unicode_normalization::UnicodeNormalization as _;

/// The app id the fake knows.
pub const APP_ID: &str = "360846524940903967";
/// The app secret (OAuth `secret_key` header).
pub const APP_SECRET: &str = "app-secret-Xy9";
/// The OA secret key that signs webhook calls.
pub const OA_SECRET: &str = "oa-secret-key-Zq7";
/// The OA's id.
pub const OA_ID: &str = "388613280878808645";
/// The first refresh token an administrator got from the OAuth flow.
pub const FIRST_REFRESH: &str = "refresh-0";
/// gopy's storage key in tests.
pub const STORAGE_KEY: &str = "khoa-luu-tru-thu-nghiem-0123456789abcdef";

/// How a webhook call is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signing {
    /// `sha256(app_id + body + timestamp + secret)` in hex (documented).
    AppId,
    /// The same with a `mac=` prefix.
    MacPrefix,
    /// With the OA id in place of the app id.
    OaId,
    /// Signed with a wrong secret.
    Forged,
    /// No header at all.
    Unsigned,
}

/// One message the OA sent.
#[derive(Debug, Clone)]
pub struct Sent {
    /// `recipient.user_id` or `recipient.group_id`.
    pub to: String,
    /// The text (empty for an image without text, or a file).
    pub text: String,
    /// The access token used.
    pub token: String,
    /// `message.attachment` as sent (an image, a file, buttons), if any.
    pub attachment: Option<Value>,
}

/// One file uploaded to the OA.
#[derive(Debug, Clone)]
pub struct Uploaded {
    /// The path called (`/v2.0/oa/upload/image`, …).
    pub path: String,
    /// `image` or `file`.
    pub kind: &'static str,
    /// The multipart part's file name.
    pub file_name: String,
    /// The part's content type, as sent.
    pub content_type: String,
    /// The bytes.
    pub bytes: Vec<u8>,
    /// The `attachment_id` (image) or `token` (file) answered.
    pub id: String,
}

/// One call gopy made.
#[derive(Debug, Clone)]
pub struct Call {
    /// The path.
    pub path: String,
    /// The error code answered (0 for success).
    pub code: i64,
    /// When it was answered.
    pub at: Instant,
}

/// What the fake knows and has seen.
#[derive(Default)]
struct World {
    /// Refresh tokens not yet used.
    refresh_valid: HashSet<String>,
    /// Refresh tokens used (reusing one fails).
    refresh_spent: HashSet<String>,
    /// Access tokens and their expiry.
    access: HashMap<String, Instant>,
    /// Tokens handed out.
    issued: u64,
    /// Refresh calls answered (successful or not).
    refresh_calls: Vec<(String, i64)>,
    /// Users' last interactions (ms since the epoch).
    interactions: HashMap<String, i64>,
    /// Groups the OA owns: id → disabled.
    groups: HashMap<String, bool>,
    /// Messages sent to users.
    sent: Vec<Sent>,
    /// Messages sent to groups.
    group_sent: Vec<Sent>,
    /// Every API call.
    calls: Vec<Call>,
    /// Faults to inject: (path, code), once each, in order.
    faults: VecDeque<(String, i64)>,
    /// How long a refresh takes.
    refresh_delay: Duration,
    /// `expires_in` of new tokens, in seconds.
    expires_in: u64,
    /// `expires_in` as a JSON number instead of a string.
    expires_as_number: bool,
    /// Ids handed out.
    next_id: u64,
    /// Files uploaded.
    uploads: Vec<Uploaded>,
}

/// The fake server.
pub struct FakeZaloOa {
    /// Where it listens.
    addr: SocketAddr,
    /// Its state.
    world: Arc<Mutex<World>>,
    /// Posts webhook calls to gopy.
    http: reqwest::Client,
}

/// The router's state.
type Shared = Arc<Mutex<World>>;

fn envelope(code: i64, message: &str, data: Value) -> Response {
    let mut body = json!({"error": code, "message": message});
    if code == 0 {
        body["data"] = data;
    }
    axum::Json(body).into_response()
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl FakeZaloOa {
    /// Starts the fake on a free port, knowing [`FIRST_REFRESH`].
    pub async fn start() -> Self {
        let world = Arc::new(Mutex::new(World {
            expires_in: 90_000,
            ..World::default()
        }));
        world
            .lock()
            .unwrap()
            .refresh_valid
            .insert(FIRST_REFRESH.to_owned());
        let app = Router::new()
            .route("/v4/oa/access_token", post(refresh))
            .route("/v3.0/oa/message/cs", post(message_cs))
            .route("/v3.0/oa/group/message", post(group_message))
            .route("/v2.0/oa/upload/image", post(upload_image))
            .route("/v3.0/oa/upload/image", post(upload_image))
            .route("/v2.0/oa/upload/file", post(upload_file))
            .route("/v3.0/oa/upload/file", post(upload_file))
            .with_state(world.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake Zalo OA");
        let addr = listener.local_addr().expect("address");
        tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("the fake Zalo OA serves");
        });
        Self {
            addr,
            world,
            http: reqwest::Client::new(),
        }
    }

    /// The base URL of both the API and OAuth.
    pub fn url(&self) -> url::Url {
        url::Url::parse(&format!("http://{}", self.addr)).expect("url")
    }

    fn w(&self) -> std::sync::MutexGuard<'_, World> {
        self.world.lock().unwrap()
    }

    /// Makes refreshes take this long (so that racing processes overlap).
    pub fn set_refresh_delay(&self, d: Duration) {
        self.w().refresh_delay = d;
    }

    /// Gives new tokens this lifetime, written as a number when `as_number`.
    pub fn set_expires_in(&self, secs: u64, as_number: bool) {
        let mut w = self.w();
        w.expires_in = secs;
        w.expires_as_number = as_number;
    }

    /// Refresh calls so far: (refresh token used, error code).
    pub fn refresh_calls(&self) -> Vec<(String, i64)> {
        self.w().refresh_calls.clone()
    }

    /// Whether an access token is valid now.
    pub fn access_valid(&self, token: &str) -> bool {
        self.w()
            .access
            .get(token)
            .is_some_and(|exp| *exp > Instant::now())
    }

    /// Expires every access token (the next API call gets -216).
    pub fn expire_access_tokens(&self) {
        self.w().access.clear();
    }

    /// The next call to `path` answers `code` (once).
    pub fn fail_next(&self, path: &str, code: i64) {
        self.w().faults.push_back((path.to_owned(), code));
    }

    /// Adds a group the OA owns.
    pub fn add_group(&self, id: &str, disabled: bool) {
        self.w().groups.insert(id.to_owned(), disabled);
    }

    /// Messages sent to users.
    pub fn sent(&self) -> Vec<Sent> {
        self.w().sent.clone()
    }

    /// Texts sent to one user.
    pub fn texts_to(&self, user: &str) -> Vec<String> {
        self.w()
            .sent
            .iter()
            .filter(|s| s.to == user)
            .map(|s| s.text.clone())
            .collect()
    }

    /// Messages sent to groups.
    pub fn group_sent(&self) -> Vec<Sent> {
        self.w().group_sent.clone()
    }

    /// Files uploaded so far.
    pub fn uploads(&self) -> Vec<Uploaded> {
        self.w().uploads.clone()
    }

    /// Records an interaction of `user` now (as a message to the OA would), which opens the
    /// messaging window.
    pub fn interacted(&self, user: &str) {
        self.w().interactions.insert(user.to_owned(), now_ms());
    }

    /// Calls to a path.
    pub fn calls_to(&self, path: &str) -> Vec<Call> {
        self.w()
            .calls
            .iter()
            .filter(|c| c.path == path)
            .cloned()
            .collect()
    }

    /// A fresh id like Zalo's.
    pub fn fresh_id(&self) -> String {
        let mut w = self.w();
        w.next_id += 1;
        format!("{:019x}", 0x96d3_cdf3_af15_0000_u64 + w.next_id)
    }

    /// A `user_send_<kind>` event from `user` now, with `message` fields added.
    pub fn event(&self, user: &str, kind: &str, message: Value) -> Value {
        self.event_at(user, kind, message, now_ms())
    }

    /// The same at `ms` (milliseconds since the epoch).
    pub fn event_at(&self, user: &str, kind: &str, message: Value, ms: i64) -> Value {
        let mut m = json!({"msg_id": self.fresh_id()});
        if let Some(o) = message.as_object() {
            for (k, v) in o {
                m[k] = v.clone();
            }
        }
        json!({"app_id": APP_ID, "sender": {"id": user}, "user_id_by_app": "552177279717587730",
            "recipient": {"id": OA_ID}, "event_name": format!("user_send_{kind}"),
            "message": m, "timestamp": ms.to_string()})
    }

    /// A text event from `user`.
    pub fn text_event(&self, user: &str, text: &str) -> Value {
        self.event(user, "text", json!({"text": text}))
    }

    /// The raw body, its signature header (if any) for `signing`.
    pub fn sign(body: &[u8], ev: &Value, signing: Signing) -> Option<String> {
        let ts = match ev.get("timestamp") {
            Some(Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
            None => String::new(),
        };
        let sig = |id: &str, secret: &str| {
            hex::encode(gopy::channels::zalo_oa::sign(id, body, &ts, secret))
        };
        match signing {
            Signing::AppId => Some(sig(APP_ID, OA_SECRET)),
            Signing::MacPrefix => Some(format!("mac={}", sig(APP_ID, OA_SECRET))),
            Signing::OaId => Some(sig(OA_ID, OA_SECRET)),
            Signing::Forged => Some(sig(APP_ID, "guessed-secret")),
            Signing::Unsigned => None,
        }
    }

    /// Posts `ev` to gopy's webhook as Zalo does (signed as asked), recording the user's
    /// interaction for a `user_send_*` or `follow` event; returns the HTTP status.
    pub async fn post_event(&self, gopy: SocketAddr, ev: &Value, signing: Signing) -> u16 {
        // Pretty-printed: gopy must check the signature over these exact bytes.
        let body = serde_json::to_vec_pretty(ev).expect("json");
        self.post_raw(gopy, &body, Self::sign(&body, ev, signing))
            .await
    }

    /// Posts raw bytes with an optional signature header; records the interaction.
    pub async fn post_raw(&self, gopy: SocketAddr, body: &[u8], sig: Option<String>) -> u16 {
        if let Ok(ev) = serde_json::from_slice::<Value>(body) {
            let name = ev.get("event_name").and_then(Value::as_str).unwrap_or("");
            let user = ev
                .get("sender")
                .or_else(|| ev.get("follower"))
                .and_then(|s| s.get("id"))
                .and_then(Value::as_str);
            let ms = ev
                .get("timestamp")
                .and_then(Value::as_str)
                .and_then(|s| s.parse::<i64>().ok());
            if let (Some(user), Some(ms)) = (user, ms)
                && (name.starts_with("user_send_") || name == "follow")
            {
                let mut w = self.w();
                let last = w.interactions.entry(user.to_owned()).or_insert(ms);
                *last = (*last).max(ms);
            }
        }
        let mut req = self
            .http
            .post(format!("http://{gopy}/zalo-oa/webhook"))
            .header("content-type", "application/json")
            .body(body.to_vec());
        if let Some(s) = sig {
            req = req.header("X-ZEvent-Signature", s);
        }
        req.send()
            .await
            .expect("POST the webhook")
            .status()
            .as_u16()
    }

    /// Waits (up to 10 s) until `user` received at least `n` messages; returns them all.
    pub async fn wait_messages(&self, user: &str, n: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let texts = self.texts_to(user);
            if texts.len() >= n {
                return texts;
            }
            assert!(
                Instant::now() < deadline,
                "{user} got {} messages, waiting for {n}: {texts:#?}",
                texts.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// An injected fault for `path`, if one is queued first for it.
fn fault(w: &mut World, path: &str) -> Option<i64> {
    let i = w.faults.iter().position(|(p, _)| p == path)?;
    w.faults.remove(i).map(|(_, c)| c)
}

/// `POST /v4/oa/access_token`.
async fn refresh(State(world): State<Shared>, headers: HeaderMap, body: String) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let delay = world.lock().unwrap().refresh_delay;
    tokio::time::sleep(delay).await;
    let mut w = world.lock().unwrap();
    let token = form.get("refresh_token").cloned().unwrap_or_default();
    let secret_ok = headers
        .get("secret_key")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|s| s == APP_SECRET);
    let code = if !secret_ok || form.get("app_id").map(String::as_str) != Some(APP_ID) {
        -14002
    } else if form.get("grant_type").map(String::as_str) != Some("refresh_token") {
        -14003
    } else if !w.refresh_valid.remove(&token) {
        -14014
    } else {
        0
    };
    w.refresh_calls.push((token.clone(), code));
    if code != 0 {
        return axum::Json(json!({"error": code, "error_name": "Invalid refresh token",
            "error_description": "the refresh token is invalid or was used already"}))
        .into_response();
    }
    w.refresh_spent.insert(token);
    w.issued += 1;
    let access = format!("access-{}", w.issued);
    let refresh = format!("refresh-{}", w.issued);
    let lifetime = Duration::from_secs(w.expires_in);
    w.access.insert(access.clone(), Instant::now() + lifetime);
    w.refresh_valid.insert(refresh.clone());
    let expires: Value = if w.expires_as_number {
        json!(w.expires_in)
    } else {
        json!(w.expires_in.to_string())
    };
    axum::Json(json!({"access_token": access, "refresh_token": refresh, "expires_in": expires}))
        .into_response()
}

/// Checks the access token; the error code when it is not valid.
fn check_access(w: &World, headers: &HeaderMap) -> i64 {
    let token = headers
        .get("access_token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match w.access.get(token) {
        Some(exp) if *exp > Instant::now() => 0,
        _ => -216,
    }
}

/// `POST /v3.0/oa/message/cs`.
async fn message_cs(State(world): State<Shared>, headers: HeaderMap, body: String) -> Response {
    let path = "/v3.0/oa/message/cs";
    let mut w = world.lock().unwrap();
    let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let user = v["recipient"]["user_id"].as_str().unwrap_or("").to_owned();
    let text = v["message"]["text"].as_str().unwrap_or("").to_owned();
    let attachment = v["message"].get("attachment").cloned();
    let valid = check_message(&w, &v["message"], false);
    let token = headers
        .get("access_token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let code = match check_access(&w, &headers) {
        0 => match fault(&mut w, path) {
            Some(c) => c,
            None if user.is_empty() => -201,
            None if valid != 0 => valid,
            None => match w.interactions.get(&user) {
                Some(ms) if now_ms() - ms <= 7 * 24 * 3600 * 1000 => 0,
                _ => -230,
            },
        },
        c => c,
    };
    w.calls.push(Call {
        path: path.to_owned(),
        code,
        at: Instant::now(),
    });
    if code != 0 {
        let message = match code {
            -216 => "Access token is invalid",
            -230 => "User has not interacted with the OA in the last 7 days",
            -32 => "Request exceeds the rate limit",
            _ => "Error",
        };
        return envelope(code, message, Value::Null);
    }
    w.next_id += 1;
    let id = format!("m{:018x}", w.next_id);
    w.sent.push(Sent {
        to: user.clone(),
        text,
        token,
        attachment,
    });
    envelope(0, "Success", json!({"message_id": id, "user_id": user}))
}

/// `POST /v3.0/oa/group/message`.
async fn group_message(State(world): State<Shared>, headers: HeaderMap, body: String) -> Response {
    let path = "/v3.0/oa/group/message";
    let mut w = world.lock().unwrap();
    let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let group = v["recipient"]["group_id"].as_str().unwrap_or("").to_owned();
    let text = v["message"]["text"].as_str().unwrap_or("").to_owned();
    let attachment = v["message"].get("attachment").cloned();
    let valid = check_message(&w, &v["message"], true);
    let token = headers
        .get("access_token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let code = match check_access(&w, &headers) {
        0 => match fault(&mut w, path) {
            Some(c) => c,
            None => match w.groups.get(&group) {
                None => -403,
                Some(true) => -237,
                Some(false) if valid != 0 => valid,
                Some(false) => 0,
            },
        },
        c => c,
    };
    w.calls.push(Call {
        path: path.to_owned(),
        code,
        at: Instant::now(),
    });
    if code != 0 {
        return envelope(code, "Error", Value::Null);
    }
    w.next_id += 1;
    let id = format!("g{:018x}", w.next_id);
    w.group_sent.push(Sent {
        to: group,
        text,
        token,
        attachment,
    });
    envelope(0, "Success", json!({"message_id": id}))
}

/// Whether a text has 1–2,000 characters after NFC.
fn text_ok(text: &str) -> bool {
    (1..=2000).contains(&text.nfc().count())
}

/// Whether `s` is an http(s) URL.
fn http_url(s: &str) -> bool {
    url::Url::parse(s).is_ok_and(|u| u.scheme() == "https" || u.scheme() == "http")
}

/// Checks a `message` object as Zalo would: 0 when it is valid, else `-201`. A GMF `group`
/// message takes text, an image or a file, never buttons.
fn check_message(w: &World, message: &Value, group: bool) -> i64 {
    let text = message.get("text");
    let text_valid = |t: Option<&Value>| t.and_then(Value::as_str).is_some_and(text_ok);
    let uploaded = |id: Option<&Value>, kind: &str| {
        id.and_then(Value::as_str)
            .is_some_and(|id| w.uploads.iter().any(|u| u.id == id && u.kind == kind))
    };
    let Some(attachment) = message.get("attachment") else {
        return if text_valid(text) { 0 } else { -201 };
    };
    let payload = &attachment["payload"];
    let ok = match attachment["type"].as_str() {
        // A file message carries the upload's token and no text.
        Some("file") => text.is_none() && uploaded(payload.get("token"), "file"),
        Some("template") => match payload["template_type"].as_str() {
            Some("media") => {
                let elements = payload["elements"]
                    .as_array()
                    .map_or(&[][..], Vec::as_slice);
                let image_ok = |e: &Value| {
                    e["media_type"] == "image"
                        && (uploaded(e.get("attachment_id"), "image")
                            || e["url"].as_str().is_some_and(http_url))
                };
                elements.len() == 1
                    && elements.iter().all(image_ok)
                    && (text.is_none() || text_valid(text))
            }
            None | Some("button") if payload["buttons"].is_array() => {
                let buttons = payload["buttons"].as_array().map_or(&[][..], Vec::as_slice);
                let button_ok = |b: &Value| {
                    let title = b["title"].as_str().unwrap_or("");
                    let title_ok = (1..=100).contains(&title.nfc().count());
                    let payload_ok = match b["type"].as_str() {
                        Some("oa.open.url") => b["payload"]["url"].as_str().is_some_and(http_url),
                        Some("oa.query.show" | "oa.query.hide") => b["payload"]
                            .as_str()
                            .is_some_and(|p| !p.trim().is_empty() && p.chars().count() <= 1000),
                        Some("oa.open.phone" | "oa.open.sms") => {
                            b["payload"]["phone_code"].as_str().is_some()
                        }
                        _ => false,
                    };
                    title_ok && payload_ok
                };
                !group
                    && text_valid(text)
                    && (1..=5).contains(&buttons.len())
                    && buttons.iter().all(button_ok)
            }
            _ => false,
        },
        _ => false,
    };
    if ok { 0 } else { -201 }
}

/// The parts of a multipart body: (field name, file name, content type, bytes).
fn multipart_parts(headers: &HeaderMap, body: &[u8]) -> Vec<(String, String, String, Vec<u8>)> {
    let Some(boundary) = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .filter(|c| c.to_ascii_lowercase().starts_with("multipart/form-data"))
        .and_then(|c| {
            c.split(';')
                .find_map(|p| p.trim().strip_prefix("boundary="))
                .map(|b| b.trim_matches('"').to_owned())
        })
    else {
        return Vec::new();
    };
    let find = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).position(|w| w == needle);
    let delimiter = format!("\r\n--{boundary}").into_bytes();
    let mut all: Vec<u8> = b"\r\n".to_vec();
    all.extend_from_slice(body);
    let mut rest = all.as_slice();
    let mut out = Vec::new();
    while let Some(at) = find(rest, &delimiter) {
        rest = &rest[at + delimiter.len()..];
        let Some(head_end) = find(rest, b"\r\n\r\n") else {
            break;
        };
        let head = String::from_utf8_lossy(&rest[..head_end]).into_owned();
        let data = &rest[head_end + 4..];
        let end = find(data, &delimiter).unwrap_or(data.len());
        let attr = |key: &str| {
            head.split([';', '\r', '\n']).find_map(|p| {
                p.trim()
                    .strip_prefix(key)
                    .map(|v| v.trim_matches('"').to_owned())
            })
        };
        let content_type = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim()
                    .eq_ignore_ascii_case("content-type")
                    .then(|| v.trim().to_owned())
            })
            .unwrap_or_default();
        if let Some(name) = attr("name=") {
            out.push((
                name,
                attr("filename=").unwrap_or_default(),
                content_type,
                data[..end].to_vec(),
            ));
        }
        rest = &data[end..];
    }
    out
}

/// `POST /v2.0/oa/upload/image` (and `/v3.0/`).
async fn upload_image(
    State(world): State<Shared>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    upload(&world, uri.path(), "image", &headers, &body)
}

/// `POST /v2.0/oa/upload/file` (and `/v3.0/`).
async fn upload_file(
    State(world): State<Shared>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    upload(&world, uri.path(), "file", &headers, &body)
}

/// An upload: the multipart field `file`, checked by its bytes and size.
fn upload(
    world: &Shared,
    path: &str,
    kind: &'static str,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let mut w = world.lock().unwrap();
    let file = multipart_parts(headers, body)
        .into_iter()
        .find(|(name, file_name, _, _)| name == "file" && !file_name.is_empty());
    let code = match check_access(&w, headers) {
        0 => match (fault(&mut w, path), &file) {
            (Some(c), _) => c,
            (None, None) => -201,
            (None, Some((_, _, _, bytes))) => {
                let (limit, right_kind) = if kind == "image" {
                    (
                        1024 * 1024,
                        bytes.starts_with(&[0xFF, 0xD8, 0xFF])
                            || bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
                    )
                } else {
                    (
                        5 * 1024 * 1024,
                        bytes.starts_with(b"%PDF-")
                            || bytes.starts_with(b"PK\x03\x04")
                            || bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]),
                    )
                };
                if !right_kind {
                    -201
                } else if bytes.len() > limit {
                    -210
                } else {
                    0
                }
            }
        },
        c => c,
    };
    w.calls.push(Call {
        path: path.to_owned(),
        code,
        at: Instant::now(),
    });
    let Some((_, file_name, content_type, bytes)) = file.filter(|_| code == 0) else {
        let message = match code {
            -210 => "File size exceeds the limit",
            -216 => "Access token is invalid",
            -32 => "Request exceeds the rate limit",
            _ => "Invalid parameter",
        };
        return envelope(code, message, Value::Null);
    };
    w.next_id += 1;
    let id = format!("{kind}-{:016x}", w.next_id);
    w.uploads.push(Uploaded {
        path: path.to_owned(),
        kind,
        file_name,
        content_type,
        bytes,
        id: id.clone(),
    });
    let data = if kind == "image" {
        json!({"attachment_id": id})
    } else {
        json!({"token": id})
    };
    envelope(0, "Success", data)
}
