//! A fake Telegram Bot API server for tests: an axum app on 127.0.0.1:0 that answers like the
//! real one (token check, case-insensitive method names, JSON, form and multipart bodies,
//! `getUpdates` with offsets and long polling, HTML and keyboard validation, per-chat message
//! ids), records every call, and can be told to fail the next calls with 429, 403 or 5xx.
//! `sendPhoto`/`sendDocument` take a multipart upload (also by `attach://<part>`) or a
//! `file_id` they gave before, check the 1,024-character caption, and keep the bytes.
//!
//! Test files include it with `mod fake_telegram;`. The test side pushes updates (built with the
//! helpers below, or as raw JSON), reads what the bot sent, and waits with bounded waits that
//! poll the recorded state (no fixed sleeps).
//!
//! One deliberate difference from Telegram: an update pushed with an `update_id` below the
//! confirmed offset (a raw duplicate) is still delivered once, so that tests can replay a
//! redelivery; Telegram itself would have forgotten it.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use tokio::sync::watch;

mod replies;
pub mod webhook;

/// The token the fake accepts; any other token is answered with 401.
pub const TOKEN: &str = "123456:TEST-TOKEN";

/// The bot's user id (the number before the colon of [`TOKEN`]).
pub const BOT_ID: i64 = 123456;

/// The bot's username, as `getMe` reports it.
pub const BOT_USERNAME: &str = "gopy_test_bot";

/// How long the wait helpers wait before they fail the test.
pub const WAIT: Duration = Duration::from_secs(15);

/// The HTML tags Telegram accepts with `parse_mode=HTML`.
const HTML_TAGS: &[&str] = &[
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "span",
    "tg-spoiler",
    "a",
    "code",
    "pre",
    "blockquote",
    "tg-emoji",
];

/// Update kinds Telegram sends when `allowed_updates` is empty or was never set.
const DEFAULT_EXCLUDED_KINDS: &[&str] =
    &["chat_member", "message_reaction", "message_reaction_count"];

/// A resident as Telegram describes a user.
#[derive(Debug, Clone)]
pub struct Resident {
    /// Telegram user id; also the id of their private chat with the bot.
    pub id: i64,
    /// First name (always present on Telegram).
    pub first_name: String,
    /// Last name, if set.
    pub last_name: Option<String>,
    /// `@username`, if set.
    pub username: Option<String>,
    /// Their client's language (`vi`, `en`, ...), if known.
    pub language_code: Option<String>,
}

impl Resident {
    /// A resident with a first name and a Vietnamese client.
    pub fn new(id: i64, first_name: &str) -> Self {
        Self {
            id,
            first_name: first_name.to_owned(),
            last_name: None,
            username: None,
            language_code: Some("vi".to_owned()),
        }
    }

    /// The same resident with a last name.
    pub fn last_name(mut self, last: &str) -> Self {
        self.last_name = Some(last.to_owned());
        self
    }

    /// The same resident with a username.
    pub fn username(mut self, username: &str) -> Self {
        self.username = Some(username.to_owned());
        self
    }

    /// The same resident with another client language (`None` for none).
    pub fn language(mut self, code: Option<&str>) -> Self {
        self.language_code = code.map(str::to_owned);
        self
    }

    /// The user object Telegram puts in `from`.
    pub fn user_json(&self) -> Value {
        let mut u = json!({"id": self.id, "is_bot": false, "first_name": self.first_name});
        if let Some(l) = &self.last_name {
            u["last_name"] = json!(l);
        }
        if let Some(n) = &self.username {
            u["username"] = json!(n);
        }
        if let Some(c) = &self.language_code {
            u["language_code"] = json!(c);
        }
        u
    }

    /// Their private chat with the bot.
    pub fn chat_json(&self) -> Value {
        let mut c = json!({"id": self.id, "type": "private", "first_name": self.first_name});
        if let Some(l) = &self.last_name {
            c["last_name"] = json!(l);
        }
        if let Some(n) = &self.username {
            c["username"] = json!(n);
        }
        c
    }
}

/// A group or supergroup the bot is in.
#[derive(Debug, Clone)]
pub struct Group {
    /// Chat id (negative, as Telegram's are).
    pub id: i64,
    /// Title.
    pub title: String,
    /// Whether it is a supergroup.
    pub supergroup: bool,
}

impl Group {
    /// The chat object.
    pub fn chat_json(&self) -> Value {
        json!({
            "id": self.id,
            "type": if self.supergroup { "supergroup" } else { "group" },
            "title": self.title,
        })
    }
}

/// Kinds of non-text messages a resident can send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Media {
    /// A sticker.
    Sticker,
    /// A photo (several sizes), with a caption.
    Photo,
    /// A voice note.
    Voice,
    /// An audio file.
    Audio,
    /// A video.
    Video,
    /// A round video note.
    VideoNote,
    /// A document (PDF).
    Document,
    /// A location.
    Location,
    /// A contact card.
    Contact,
    /// A poll.
    Poll,
}

/// A button press pushed as an update.
#[derive(Debug, Clone)]
pub struct Pressed {
    /// The update's id.
    pub update_id: i64,
    /// The callback query's id (to check that it was answered).
    pub callback_id: String,
}

/// One call the bot made.
#[derive(Debug, Clone)]
pub struct Call {
    /// Method name in lower case (`sendmessage`).
    pub method: String,
    /// Parameters as JSON (form values stay strings).
    pub body: Value,
    /// When it arrived.
    pub at: Instant,
    /// HTTP status answered (0 while a long poll is still waiting).
    pub status: u16,
    /// The answer's `description` when it failed.
    pub error: Option<String>,
}

impl Call {
    /// An integer parameter (number or numeric string).
    pub fn i64(&self, key: &str) -> Option<i64> {
        as_i64(self.body.get(key)?)
    }
}

/// One inline keyboard button.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Button {
    /// The label.
    pub text: String,
    /// Callback data, for callback buttons.
    pub callback_data: Option<String>,
    /// Link, for URL buttons.
    pub url: Option<String>,
}

/// A message the bot sent (and its current state after edits).
#[derive(Debug, Clone)]
pub struct Sent {
    /// The chat.
    pub chat_id: i64,
    /// Its id in the chat.
    pub message_id: i64,
    /// The text exactly as sent (with HTML tags when `parse_mode` is HTML).
    pub text: String,
    /// The text as the resident sees it (tags removed, entities decoded).
    pub visible: String,
    /// `parse_mode`, if any.
    pub parse_mode: Option<String>,
    /// The reply markup as sent, if any.
    pub reply_markup: Option<Value>,
    /// Whether it was edited since.
    pub edited: bool,
    /// Whether it was deleted since.
    pub deleted: bool,
    /// When it was sent.
    pub at: Instant,
}

impl Sent {
    /// The inline keyboard, row by row (empty when there is none).
    pub fn keyboard(&self) -> Vec<Vec<Button>> {
        keyboard_of(self.reply_markup.as_ref())
    }

    /// Every button of the inline keyboard, in order.
    pub fn buttons(&self) -> Vec<Button> {
        self.keyboard().into_iter().flatten().collect()
    }
}

/// What an injected failure answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// 429 "Too Many Requests: retry after N" with `parameters.retry_after`.
    TooManyRequests(u32),
    /// 403 "Forbidden: bot was blocked by the user".
    Blocked,
    /// 403 "Forbidden: user is deactivated".
    Deactivated,
    /// A server error: 500 "Internal Server Error" or 502 "Bad Gateway".
    Server(u16),
    /// 403 "Forbidden: bot was kicked from the group chat".
    Kicked,
    /// 400 "Bad Request: chat not found".
    ChatNotFound,
    /// 400 "group chat was upgraded to a supergroup chat" with `migrate_to_chat_id`.
    Migrated(i64),
    /// Any status and description.
    Other(u16, String),
}

/// Telegram's rate limits as the fake enforces them (see [`FakeTelegram::enforce_limits`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FakeLimits {
    /// Messages per second, all chats together.
    pub per_second: usize,
    /// Messages per minute to one group.
    pub group_per_minute: usize,
    /// Messages per second to one private chat.
    pub private_per_second: usize,
}

impl FakeLimits {
    /// Telegram's: 30/s overall, 20/min per group, 1/s per private chat.
    pub const TELEGRAM: FakeLimits = FakeLimits {
        per_second: 30,
        group_per_minute: 20,
        private_per_second: 1,
    };
}

/// Which calls an injected failure applies to.
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// Method name (case-insensitive); any method when `None`.
    pub method: Option<String>,
    /// `chat_id` parameter; any chat when `None`.
    pub chat_id: Option<i64>,
}

impl Target {
    /// Every call of one method.
    pub fn method(name: &str) -> Self {
        Self {
            method: Some(name.to_ascii_lowercase()),
            chat_id: None,
        }
    }

    /// Every call naming one chat.
    pub fn chat(chat_id: i64) -> Self {
        Self {
            method: None,
            chat_id: Some(chat_id),
        }
    }

    /// Calls of one method naming one chat.
    pub fn method_to(name: &str, chat_id: i64) -> Self {
        Self {
            method: Some(name.to_ascii_lowercase()),
            chat_id: Some(chat_id),
        }
    }
}

/// An injected failure and how many more calls it applies to.
struct Injection {
    /// Which calls.
    target: Target,
    /// How many more.
    remaining: usize,
    /// What to answer.
    fault: Fault,
    /// Until when it applies (a storm); `None`: until `remaining` are used.
    until: Option<Instant>,
}

/// An update waiting in the queue.
struct Queued {
    /// Its `update_id`.
    id: i64,
    /// The update's JSON.
    update: Value,
    /// Whether a `getUpdates` returned it already.
    delivered: bool,
}

/// A callback query the test pushed.
struct CallbackInfo {
    /// Whether `answerCallbackQuery` was called for it.
    answered: bool,
}

/// Everything the fake knows.
struct FakeState {
    /// The next `update_id` to give out.
    next_update_id: i64,
    /// Updates not yet confirmed, in the order they were pushed.
    queue: Vec<Queued>,
    /// The last `allowed_updates` setting (`None`: Telegram's default).
    allowed_updates: Option<Vec<String>>,
    /// Every `allowed_updates` value received, in order.
    allowed_history: Vec<Vec<String>>,
    /// Increases with every `getUpdates`; a waiting poll that sees it change is terminated.
    poll_generation: u64,
    /// How many long polls are waiting right now.
    polls_waiting: usize,
    /// The highest offset a `getUpdates` confirmed.
    confirmed_offset: i64,
    /// Every call, in order of arrival.
    calls: Vec<Call>,
    /// Chats the bot may write to (seen in an update), by id.
    chats: HashMap<i64, Value>,
    /// The last message id used in each chat (shared by both sides, like Telegram's).
    last_message_id: HashMap<i64, i64>,
    /// Every message the bot sent, in order.
    sent: Vec<Sent>,
    /// Callback queries pushed, by id.
    callbacks: HashMap<String, CallbackInfo>,
    /// The next callback query id.
    next_callback: u64,
    /// Bot commands by (scope type, language code).
    commands: BTreeMap<(String, String), Value>,
    /// Pending injected failures.
    injections: Vec<Injection>,
    /// Whether every call is kept in `calls` (benchmarks switch it off, see
    /// [`FakeTelegram::set_lean`]).
    record_calls: bool,
    /// How many sent messages are kept at most (`None`: all); the oldest go first.
    keep_sent: Option<usize>,
    /// Told of every message the bot sends, as it arrives (see [`FakeTelegram::subscribe_sent`]).
    sent_tx: Option<tokio::sync::mpsc::UnboundedSender<Sent>>,
    /// The rate limits enforced on `sendMessage`, if any.
    limits: Option<FakeLimits>,
    /// When recent messages were accepted: all chats, then per chat.
    recent_all: std::collections::VecDeque<Instant>,
    /// When recent messages to each chat were accepted.
    recent_chat: HashMap<i64, std::collections::VecDeque<Instant>>,
    /// How many sends were refused with 429 for going over the limits.
    rate_limited: u64,
    /// Groups that became supergroups: old id → new id.
    migrated: HashMap<i64, i64>,
    /// The bot's standing in each group (from the `my_chat_member` updates pushed, or set by
    /// the test); a group not listed has the bot as an ordinary member.
    bot_rights: HashMap<i64, BotRights>,
    /// People's membership of groups, by (chat, user): whoever posted there is a member.
    members: HashMap<(i64, i64), Member>,
    /// Messages people posted in groups, by (chat, message id).
    posts: HashMap<(i64, i64), Post>,
    /// The bot's reactions on messages, by (chat, message id) (see `replies.rs`).
    reactions: HashMap<(i64, i64), Vec<String>>,
    /// Files people sent, by file id: their bytes and `file_path` (see `replies.rs`).
    received_files: HashMap<String, (Vec<u8>, String)>,
    /// Documents the bot sent: (chat, message id, content as text) (see `replies.rs`).
    documents: Vec<(i64, i64, String)>,
    /// Files uploaded with the call being answered (multipart parts with a file name).
    uploads: Vec<(String, String, Vec<u8>)>,
    /// Files Telegram keeps, by the `file_id` it gave them: (file name, bytes).
    files: HashMap<String, (String, Vec<u8>)>,
    /// Every photo and document the bot sent, in order.
    media: Vec<SentMedia>,
}

/// A photo or a document the bot sent (`sendPhoto`, `sendDocument`).
#[derive(Debug, Clone)]
pub struct SentMedia {
    /// `sendPhoto` or `sendDocument`.
    pub method: &'static str,
    /// The chat.
    pub chat_id: i64,
    /// Its id in the chat.
    pub message_id: i64,
    /// The file's name as uploaded.
    pub file_name: String,
    /// The file's bytes (those uploaded, or those the `file_id` refers to).
    pub bytes: Vec<u8>,
    /// Whether it was sent again by `file_id` rather than uploaded.
    pub by_file_id: bool,
    /// The caption, if any.
    pub caption: Option<String>,
    /// The reply markup as sent, if any.
    pub reply_markup: Option<Value>,
}

impl SentMedia {
    /// Every button of the inline keyboard, in order.
    pub fn buttons(&self) -> Vec<Button> {
        keyboard_of(self.reply_markup.as_ref())
            .into_iter()
            .flatten()
            .collect()
    }
}

impl FakeState {
    /// The next message id in a chat.
    fn next_message_id(&mut self, chat: i64) -> i64 {
        let id = self.last_message_id.entry(chat).or_insert(0);
        *id += 1;
        *id
    }

    /// The bot's live message in a chat.
    fn sent_mut(&mut self, chat: i64, message_id: i64) -> Option<&mut Sent> {
        // Newest first: the message asked for is nearly always a recent one.
        self.sent
            .iter_mut()
            .rev()
            .find(|s| s.chat_id == chat && s.message_id == message_id && !s.deleted)
    }
}

/// State shared by the server and the test side.
struct Inner {
    /// The state.
    state: Mutex<FakeState>,
    /// Bumped on every change, so waiters wake up.
    changed: watch::Sender<u64>,
    /// The accepted token.
    token: String,
}

impl Inner {
    /// Locks the state (a poisoned lock means a test already panicked; keep going).
    fn lock(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wakes everyone waiting for a change.
    fn notify(&self) {
        self.changed.send_modify(|v| *v += 1);
    }
}

/// The running fake server. Dropping it stops the server.
pub struct FakeTelegram {
    /// Shared state.
    inner: Arc<Inner>,
    /// Where it listens.
    addr: SocketAddr,
    /// The server task.
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeTelegram {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeTelegram {
    /// Starts the fake on 127.0.0.1 with a free port.
    pub async fn start() -> Self {
        let (changed, _) = watch::channel(0);
        let inner = Arc::new(Inner {
            state: Mutex::new(FakeState {
                next_update_id: 100_000,
                queue: Vec::new(),
                allowed_updates: None,
                allowed_history: Vec::new(),
                poll_generation: 0,
                polls_waiting: 0,
                confirmed_offset: 0,
                calls: Vec::new(),
                chats: HashMap::new(),
                last_message_id: HashMap::new(),
                sent: Vec::new(),
                callbacks: HashMap::new(),
                next_callback: 1,
                commands: BTreeMap::new(),
                injections: Vec::new(),
                record_calls: true,
                keep_sent: None,
                uploads: Vec::new(),
                files: HashMap::new(),
                media: Vec::new(),
                sent_tx: None,
                limits: None,
                recent_all: Default::default(),
                recent_chat: HashMap::new(),
                rate_limited: 0,
                migrated: HashMap::new(),
                bot_rights: HashMap::new(),
                members: HashMap::new(),
                posts: HashMap::new(),
                reactions: HashMap::new(),
                received_files: HashMap::new(),
                documents: Vec::new(),
            }),
            changed,
            token: TOKEN.to_owned(),
        });
        let app = axum::Router::new()
            .fallback(serve)
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake Telegram server");
        let addr = listener.local_addr().expect("local address");
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            inner,
            addr,
            server,
        }
    }

    /// The base URL to give the bot (`TELEGRAM_API_URL`).
    pub fn api_url(&self) -> url::Url {
        url::Url::parse(&format!("http://{}/", self.addr)).expect("valid URL")
    }

    /// The address the fake listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    // ---- building updates --------------------------------------------------------------

    /// Gives out the next `update_id`.
    fn next_update_id(&self) -> i64 {
        let mut s = self.inner.lock();
        let id = s.next_update_id;
        s.next_update_id += 1;
        id
    }

    /// A message object in a chat, with the next message id of that chat.
    fn message(&self, from: &Resident, chat: Value, body: Value) -> Value {
        let chat_id = chat["id"].as_i64().unwrap_or_default();
        let message_id = self.inner.lock().next_message_id(chat_id);
        let mut m = json!({
            "message_id": message_id,
            "from": from.user_json(),
            "chat": chat,
            "date": unix_now(),
        });
        if let (Some(m), Some(b)) = (m.as_object_mut(), body.as_object()) {
            for (k, v) in b {
                m.insert(k.clone(), v.clone());
            }
        }
        m
    }

    /// A text body with a `bot_command` entity when the text starts with a command.
    fn text_body(text: &str) -> Value {
        let mut body = json!({"text": text});
        if text.starts_with('/') {
            let word = text.split_whitespace().next().unwrap_or(text);
            let len: usize = word.encode_utf16().count();
            body["entities"] = json!([{"type": "bot_command", "offset": 0, "length": len}]);
        }
        body
    }

    /// A private text message (a command when it starts with `/`).
    pub fn text_update(&self, from: &Resident, text: &str) -> Value {
        let msg = self.message(from, from.chat_json(), Self::text_body(text));
        json!({"update_id": self.next_update_id(), "message": msg})
    }

    /// An edit of an earlier private text message.
    pub fn edited_text_update(&self, from: &Resident, text: &str) -> Value {
        let mut msg = self.message(from, from.chat_json(), Self::text_body(text));
        msg["edit_date"] = json!(unix_now());
        json!({"update_id": self.next_update_id(), "edited_message": msg})
    }

    /// A message in a group or supergroup.
    pub fn group_text_update(&self, from: &Resident, group: &Group, text: &str) -> Value {
        let msg = self.message(from, group.chat_json(), Self::text_body(text));
        json!({"update_id": self.next_update_id(), "message": msg})
    }

    /// A post in a channel.
    pub fn channel_post_update(&self, channel_id: i64, text: &str) -> Value {
        let message_id = self.inner.lock().next_message_id(channel_id);
        json!({
            "update_id": self.next_update_id(),
            "channel_post": {
                "message_id": message_id,
                "sender_chat": {"id": channel_id, "type": "channel", "title": "Kênh phường"},
                "chat": {"id": channel_id, "type": "channel", "title": "Kênh phường"},
                "date": unix_now(),
                "text": text,
            }
        })
    }

    /// The bot was added to a group by a resident.
    pub fn my_chat_member_update(&self, from: &Resident, group: &Group) -> Value {
        let bot = bot_user();
        json!({
            "update_id": self.next_update_id(),
            "my_chat_member": {
                "chat": group.chat_json(),
                "from": from.user_json(),
                "date": unix_now(),
                "old_chat_member": {"status": "left", "user": bot},
                "new_chat_member": {"status": "member", "user": bot},
            }
        })
    }

    /// The bot's status in a group changed to `new_member` (a ChatMember object without
    /// `user`, which is filled in with the bot).
    pub fn bot_status_update(&self, from: &Resident, group: &Group, new_member: Value) -> Value {
        let bot = bot_user();
        let mut new_member = new_member;
        new_member["user"] = bot.clone();
        json!({
            "update_id": self.next_update_id(),
            "my_chat_member": {
                "chat": group.chat_json(),
                "from": from.user_json(),
                "date": unix_now(),
                "old_chat_member": {"status": "member", "user": bot},
                "new_chat_member": new_member,
            }
        })
    }

    /// The bot was made an administrator of a group with these rights.
    pub fn bot_promoted_update(
        &self,
        from: &Resident,
        group: &Group,
        can_delete: bool,
        can_restrict: bool,
    ) -> Value {
        let admin = json!({
            "status": "administrator", "can_be_edited": false, "is_anonymous": false,
            "can_manage_chat": true, "can_delete_messages": can_delete,
            "can_manage_video_chats": false, "can_restrict_members": can_restrict,
            "can_promote_members": false, "can_change_info": false, "can_invite_users": true,
            "can_post_stories": false, "can_edit_stories": false, "can_delete_stories": false,
            "can_pin_messages": false,
        });
        self.bot_status_update(from, group, admin)
    }

    /// The bot was removed from a group by an admin.
    pub fn bot_removed_update(&self, from: &Resident, group: &Group) -> Value {
        self.bot_status_update(from, group, json!({"status": "kicked", "until_date": 0}))
    }

    /// A service message: the group was renamed.
    pub fn title_update(&self, from: &Resident, group: &Group, title: &str) -> Value {
        let mut renamed = group.clone();
        renamed.title = title.to_owned();
        let msg = self.message(from, renamed.chat_json(), json!({"new_chat_title": title}));
        json!({"update_id": self.next_update_id(), "message": msg})
    }

    /// The two service messages of a group becoming a supergroup with id `new_id`: one in the
    /// old group (`migrate_to_chat_id`) and one in the new supergroup
    /// (`migrate_from_chat_id`). From now on a message to the old id is answered with 400 and
    /// `migrate_to_chat_id`, as Telegram does.
    pub fn migration_updates(&self, from: &Resident, group: &Group, new_id: i64) -> (Value, Value) {
        self.inner.lock().migrated.insert(group.id, new_id);
        let old = self.message(
            from,
            group.chat_json(),
            json!({"migrate_to_chat_id": new_id}),
        );
        let supergroup = Group {
            id: new_id,
            title: group.title.clone(),
            supergroup: true,
        };
        let new = self.message(
            from,
            supergroup.chat_json(),
            json!({"migrate_from_chat_id": group.id}),
        );
        (
            json!({"update_id": self.next_update_id(), "message": old}),
            json!({"update_id": self.next_update_id(), "message": new}),
        )
    }

    /// A private non-text message.
    pub fn media_update(&self, from: &Resident, media: Media) -> Value {
        let body = match media {
            Media::Sticker => json!({"sticker": {
                "file_id": "CAACAgIAAxkBAAIBZ2Z", "file_unique_id": "AgADZ2Z",
                "type": "regular", "width": 512, "height": 512,
                "is_animated": false, "is_video": false, "emoji": "👍"}}),
            Media::Photo => json!({"photo": [
                {"file_id": "AgACAgIAAxkBAAIBa1", "file_unique_id": "AQADa1", "width": 90, "height": 90, "file_size": 1500},
                {"file_id": "AgACAgIAAxkBAAIBa2", "file_unique_id": "AQADa2", "width": 1280, "height": 960, "file_size": 98000}],
                "caption": "Ảnh con đường trước nhà"}),
            Media::Voice => json!({"voice": {
                "file_id": "AwACAgIAAxkBAAIBc1", "file_unique_id": "AgADc1",
                "duration": 4, "mime_type": "audio/ogg"}}),
            Media::Audio => json!({"audio": {
                "file_id": "CQACAgIAAxkBAAIBd1", "file_unique_id": "AgADd1",
                "duration": 125, "title": "Ghi âm họp tổ", "mime_type": "audio/mpeg"}}),
            Media::Video => json!({"video": {
                "file_id": "BAACAgIAAxkBAAIBe1", "file_unique_id": "AgADe1",
                "width": 640, "height": 360, "duration": 12, "mime_type": "video/mp4"}}),
            Media::VideoNote => json!({"video_note": {
                "file_id": "DQACAgIAAxkBAAIBf1", "file_unique_id": "AgADf1",
                "length": 240, "duration": 5}}),
            Media::Document => json!({"document": {
                "file_id": "BQACAgIAAxkBAAIBg1", "file_unique_id": "AgADg1",
                "file_name": "gop-y.pdf", "mime_type": "application/pdf"}}),
            Media::Location => json!({"location": {"latitude": 22.147, "longitude": 105.834}}),
            Media::Contact => {
                json!({"contact": {"phone_number": "+84900000000", "first_name": "An"}})
            }
            Media::Poll => json!({"poll": {
                "id": "5123", "question": "Đồng ý?",
                "options": [{"text": "Có", "voter_count": 0}, {"text": "Không", "voter_count": 0}],
                "total_voter_count": 0, "is_closed": false, "is_anonymous": true,
                "type": "regular", "allows_multiple_answers": false}}),
        };
        let msg = self.message(from, from.chat_json(), body);
        json!({"update_id": self.next_update_id(), "message": msg})
    }

    /// A press of an inline button on one of the bot's messages in the resident's private
    /// chat; returns the update and the callback query id. A message that does not exist
    /// (or was deleted) is described as inaccessible, as Telegram does.
    pub fn callback_update(&self, from: &Resident, message_id: i64, data: &str) -> (Value, String) {
        let (id, message) = {
            let mut s = self.inner.lock();
            let id = format!("{}{:08}", from.id, s.next_callback);
            s.next_callback += 1;
            s.callbacks
                .insert(id.clone(), CallbackInfo { answered: false });
            let message = match s
                .sent
                .iter()
                .rev()
                .find(|m| m.chat_id == from.id && m.message_id == message_id && !m.deleted)
            {
                Some(m) => {
                    let mut msg = json!({
                        "message_id": m.message_id,
                        "from": bot_user(),
                        "chat": from.chat_json(),
                        "date": unix_now(),
                        "text": m.visible,
                    });
                    if let Some(rm) = m
                        .reply_markup
                        .as_ref()
                        .filter(|r| r.get("inline_keyboard").is_some())
                    {
                        msg["reply_markup"] = rm.clone();
                    }
                    msg
                }
                None => json!({"chat": from.chat_json(), "message_id": message_id, "date": 0}),
            };
            (id, message)
        };
        let update = json!({
            "update_id": self.next_update_id(),
            "callback_query": {
                "id": id,
                "from": from.user_json(),
                "message": message,
                "chat_instance": format!("-{}", 7_000_000 + from.id),
                "data": data,
            }
        });
        (update, id)
    }

    // ---- pushing updates --------------------------------------------------------------

    /// Queues one update (its chat becomes one the bot may write to).
    pub fn push(&self, update: Value) -> i64 {
        let id = update["update_id"].as_i64().unwrap_or_default();
        self.push_all(vec![update]);
        id
    }

    /// Makes a chat known (the bot may write to it) without telling the bot anything.
    pub fn add_chat(&self, chat: Value) {
        if let Some(id) = chat["id"].as_i64() {
            self.inner.lock().chats.insert(id, chat);
        }
    }

    /// Queues several updates at once, so that one `getUpdates` can return them together.
    pub fn push_all(&self, updates: Vec<Value>) {
        {
            let mut s = self.inner.lock();
            for update in updates {
                for chat in chats_in(&update) {
                    if let Some(id) = chat["id"].as_i64() {
                        s.chats.entry(id).or_insert(chat);
                    }
                }
                observe_membership(&mut s, &update);
                let id = update["update_id"].as_i64().unwrap_or_default();
                if id >= s.next_update_id {
                    s.next_update_id = id + 1;
                }
                s.queue.push(Queued {
                    id,
                    update,
                    delivered: false,
                });
            }
        }
        self.inner.notify();
    }

    /// A resident sends a text (or a command).
    pub fn send_text(&self, from: &Resident, text: &str) -> i64 {
        self.push(self.text_update(from, text))
    }

    /// A resident sends something that is not text.
    pub fn send_media(&self, from: &Resident, media: Media) -> i64 {
        self.push(self.media_update(from, media))
    }

    /// A resident presses a button with this data on one of the bot's messages.
    pub fn press(&self, from: &Resident, message_id: i64, data: &str) -> Pressed {
        let (update, callback_id) = self.callback_update(from, message_id, data);
        let update_id = self.push(update);
        Pressed {
            update_id,
            callback_id,
        }
    }

    /// The message id and callback data of the button whose label contains `label` on the
    /// newest message in a chat that has one.
    pub fn find_button(&self, chat_id: i64, label: &str) -> Option<(i64, String)> {
        let s = self.inner.lock();
        s.sent
            .iter()
            .rev()
            .filter(|m| m.chat_id == chat_id && !m.deleted)
            .find_map(|m| {
                m.buttons()
                    .into_iter()
                    .find(|b| b.text.contains(label) && b.callback_data.is_some())
                    .map(|b| (m.message_id, b.callback_data.unwrap_or_default()))
            })
    }

    /// A resident presses the button whose label contains `label` on the newest message in
    /// their chat that has one. Panics if there is none.
    pub fn press_label(&self, from: &Resident, label: &str) -> Pressed {
        let Some((message_id, data)) = self.find_button(from.id, label) else {
            panic!(
                "no button labelled {label:?} in chat {}; messages: {:#?}",
                from.id,
                self.texts_to(from.id)
            )
        };
        self.press(from, message_id, &data)
    }

    // ---- failures -----------------------------------------------------------------------

    /// Makes the next `n` calls matching `target` fail with `fault`.
    pub fn fail_next(&self, target: Target, n: usize, fault: Fault) {
        self.inner.lock().injections.push(Injection {
            target,
            remaining: n,
            fault,
            until: None,
        });
    }

    /// A storm: every call matching `target` fails with `fault` for `lasting` from now (a
    /// 5xx outage, or 429s with their `retry_after`), then the fake answers normally again.
    pub fn storm(&self, target: Target, lasting: Duration, fault: Fault) {
        self.inner.lock().injections.push(Injection {
            target,
            remaining: usize::MAX,
            fault,
            until: Some(Instant::now() + lasting),
        });
    }

    // ---- benchmarks -------------------------------------------------------------------

    /// Streams every message the bot sends from now on (a copy, with its arrival time), so a
    /// load driver learns of each reply without polling. One subscriber; a new call replaces it.
    pub fn subscribe_sent(&self) -> tokio::sync::mpsc::UnboundedReceiver<Sent> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        self.inner.lock().sent_tx = Some(tx);
        rx
    }

    /// For long benchmark runs: stops recording calls (and waking waiters for them) and keeps
    /// only about the newest `keep_sent` sent messages, so memory and lookups stay bounded.
    pub fn set_lean(&self, keep_sent: usize) {
        let mut s = self.inner.lock();
        s.record_calls = false;
        s.keep_sent = Some(keep_sent.max(1));
    }

    // ---- reading what happened ---------------------------------------------------------

    /// Every call so far.
    pub fn calls(&self) -> Vec<Call> {
        self.inner.lock().calls.clone()
    }

    /// Every photo and document the bot sent, in order.
    pub fn media(&self) -> Vec<SentMedia> {
        self.inner.lock().media.clone()
    }

    /// Every call of one method (case-insensitive).
    pub fn calls_to(&self, method: &str) -> Vec<Call> {
        let m = method.to_ascii_lowercase();
        self.inner
            .lock()
            .calls
            .iter()
            .filter(|c| c.method == m)
            .cloned()
            .collect()
    }

    /// The bot's messages in a chat, oldest first, as they stand now (deleted ones left out).
    pub fn messages_to(&self, chat_id: i64) -> Vec<Sent> {
        self.inner
            .lock()
            .sent
            .iter()
            .filter(|m| m.chat_id == chat_id && !m.deleted)
            .cloned()
            .collect()
    }

    /// The visible texts of the bot's messages in a chat.
    pub fn texts_to(&self, chat_id: i64) -> Vec<String> {
        self.messages_to(chat_id)
            .into_iter()
            .map(|m| m.visible)
            .collect()
    }

    /// The keyboard of the newest message in a chat that has one.
    pub fn last_keyboard(&self, chat_id: i64) -> Option<Vec<Vec<Button>>> {
        self.messages_to(chat_id)
            .into_iter()
            .rev()
            .map(|m| m.keyboard())
            .find(|k| !k.is_empty())
    }

    /// Whether a callback query was answered.
    pub fn callback_answered(&self, id: &str) -> bool {
        self.inner
            .lock()
            .callbacks
            .get(id)
            .is_some_and(|c| c.answered)
    }

    /// The commands set for a language code (`""` for the default), default scope.
    pub fn commands(&self, language_code: &str) -> Option<Value> {
        self.inner
            .lock()
            .commands
            .get(&("default".to_owned(), language_code.to_owned()))
            .cloned()
    }

    /// The highest offset any `getUpdates` confirmed.
    pub fn confirmed_offset(&self) -> i64 {
        self.inner.lock().confirmed_offset
    }

    /// Every `allowed_updates` list received.
    pub fn allowed_updates_history(&self) -> Vec<Vec<String>> {
        self.inner.lock().allowed_history.clone()
    }

    /// Updates still queued (not confirmed), by id.
    pub fn pending_update_ids(&self) -> Vec<i64> {
        self.inner.lock().queue.iter().map(|q| q.id).collect()
    }

    // ---- waiting ------------------------------------------------------------------------

    /// Waits (at most [`WAIT`]) until `probe` returns something, re-checking on every change;
    /// panics with `what` and the calls so far if it does not happen in time.
    pub async fn wait_for<T>(&self, what: &str, probe: impl Fn(&FakeTelegram) -> Option<T>) -> T {
        self.wait_for_within(what, WAIT, probe).await
    }

    /// Like [`FakeTelegram::wait_for`] with a chosen timeout.
    pub async fn wait_for_within<T>(
        &self,
        what: &str,
        timeout: Duration,
        probe: impl Fn(&FakeTelegram) -> Option<T>,
    ) -> T {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut rx = self.inner.changed.subscribe();
        loop {
            rx.borrow_and_update();
            if let Some(v) = probe(self) {
                return v;
            }
            tokio::select! {
                r = rx.changed() => { if r.is_err() { break; } }
                _ = tokio::time::sleep_until(deadline) => break,
            }
        }
        if let Some(v) = probe(self) {
            return v;
        }
        let calls: Vec<String> = self
            .calls()
            .iter()
            .map(|c| format!("{} {} -> {}", c.method, c.body, c.status))
            .collect();
        panic!(
            "timed out after {timeout:?} waiting for {what}; calls so far:\n{}",
            calls.join("\n")
        )
    }

    /// Whether something happens within `timeout` (for checking that nothing does).
    pub async fn happens_within<T>(
        &self,
        timeout: Duration,
        probe: impl Fn(&FakeTelegram) -> Option<T>,
    ) -> Option<T> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut rx = self.inner.changed.subscribe();
        loop {
            rx.borrow_and_update();
            if let Some(v) = probe(self) {
                return Some(v);
            }
            tokio::select! {
                r = rx.changed() => { if r.is_err() { return None; } }
                _ = tokio::time::sleep_until(deadline) => return probe(self),
            }
        }
    }

    /// Enforces Telegram's rate limits on `sendMessage` from now on: a message over them is
    /// answered 429 with the `retry_after` that lets it through.
    pub fn enforce_limits(&self, limits: FakeLimits) {
        self.inner.lock().limits = Some(limits);
    }

    /// How many messages were refused with 429 for going over the enforced limits.
    pub fn rate_limited_count(&self) -> u64 {
        self.inner.lock().rate_limited
    }

    /// Waits until the bot's messages in a chat number at least `n`; returns them all.
    pub async fn wait_messages(&self, chat_id: i64, n: usize) -> Vec<Sent> {
        self.wait_for(&format!("{n} messages in chat {chat_id}"), |f| {
            let m = f.messages_to(chat_id);
            (m.len() >= n).then_some(m)
        })
        .await
    }

    /// Waits until `n` calls of a method were answered; returns them all.
    pub async fn wait_calls(&self, method: &str, n: usize) -> Vec<Call> {
        self.wait_for(&format!("{n} answered calls of {method}"), |f| {
            let c: Vec<Call> = f
                .calls_to(method)
                .into_iter()
                .filter(|c| c.status != 0)
                .collect();
            (c.len() >= n).then_some(c)
        })
        .await
    }

    /// Waits until a `getUpdates` confirmed the update (offset above its id).
    pub async fn wait_confirmed(&self, update_id: i64) {
        self.wait_for(&format!("confirmation of update {update_id}"), |f| {
            (f.confirmed_offset() > update_id).then_some(())
        })
        .await
    }

    /// Waits until the update was confirmed and the bot waits on a long poll again: gopy
    /// long-polls only once it has sent every reply, so whatever it did for the update is
    /// done (it may confirm an update before its replies are out).
    pub async fn wait_handled(&self, update_id: i64) {
        self.wait_for(&format!("update {update_id} handled"), |f| {
            let s = f.inner.lock();
            (s.confirmed_offset > update_id && s.polls_waiting > 0).then_some(())
        })
        .await
    }

    /// Waits until a long poll is waiting with an empty queue: the bot has handled and
    /// confirmed everything it was given and asks for more.
    pub async fn wait_idle(&self) {
        self.wait_for("the bot to wait on an empty queue", |f| {
            let s = f.inner.lock();
            (s.polls_waiting > 0
                && s.queue
                    .iter()
                    .all(|q| q.delivered && q.id < s.confirmed_offset))
            .then_some(())
        })
        .await
    }

    /// Waits until a callback query was answered.
    pub async fn wait_callback_answered(&self, id: &str) {
        self.wait_for(&format!("an answer to callback query {id}"), |f| {
            f.callback_answered(id).then_some(())
        })
        .await
    }
}

// ---- the server side --------------------------------------------------------------------

/// Parameters of one call.
struct Params(Map<String, Value>);

impl Params {
    /// An integer (number or numeric string).
    fn i64(&self, key: &str) -> Option<i64> {
        as_i64(self.0.get(key)?)
    }

    /// A string.
    fn str(&self, key: &str) -> Option<&str> {
        self.0.get(key)?.as_str()
    }

    /// A JSON value, parsed from a string when it came as one (form and multipart bodies).
    fn json(&self, key: &str) -> Option<Value> {
        match self.0.get(key)? {
            Value::String(s) => serde_json::from_str(s).ok(),
            v => Some(v.clone()),
        }
    }

    /// A boolean (true/false or "true"/"false").
    fn bool(&self, key: &str) -> Option<bool> {
        match self.0.get(key)? {
            Value::Bool(b) => Some(*b),
            Value::String(s) => s.parse().ok(),
            _ => None,
        }
    }
}

/// An answer that is not `ok`.
struct ApiFailure {
    /// HTTP status and `error_code`.
    code: u16,
    /// `description`.
    description: String,
    /// `parameters.retry_after`, for 429.
    retry_after: Option<u32>,
    /// `parameters.migrate_to_chat_id`, for a group that became a supergroup.
    migrate_to: Option<i64>,
}

/// A 400 with a description.
fn bad(description: &str) -> ApiFailure {
    ApiFailure {
        code: 400,
        description: description.to_owned(),
        retry_after: None,
        migrate_to: None,
    }
}

impl From<&Fault> for ApiFailure {
    fn from(f: &Fault) -> Self {
        let (code, description, retry_after) = match f {
            Fault::TooManyRequests(n) => {
                (429, format!("Too Many Requests: retry after {n}"), Some(*n))
            }
            Fault::Blocked => (
                403,
                "Forbidden: bot was blocked by the user".to_owned(),
                None,
            ),
            Fault::Deactivated => (403, "Forbidden: user is deactivated".to_owned(), None),
            Fault::Server(502) => (502, "Bad Gateway".to_owned(), None),
            Fault::Server(c) => (*c, "Internal Server Error".to_owned(), None),
            Fault::Kicked => (
                403,
                "Forbidden: bot was kicked from the group chat".to_owned(),
                None,
            ),
            Fault::ChatNotFound => (400, "Bad Request: chat not found".to_owned(), None),
            Fault::Migrated(to) => {
                return ApiFailure {
                    code: 400,
                    description: "Bad Request: group chat was upgraded to a supergroup chat"
                        .to_owned(),
                    retry_after: None,
                    migrate_to: Some(*to),
                };
            }
            Fault::Other(c, d) => (*c, d.clone(), None),
        };
        ApiFailure {
            code,
            description,
            retry_after,
            migrate_to: None,
        }
    }
}

/// Renders an answer.
fn respond(result: Result<Value, ApiFailure>) -> (u16, Option<String>, Response) {
    match result {
        Ok(v) => (
            200,
            None,
            (StatusCode::OK, axum::Json(json!({"ok": true, "result": v}))).into_response(),
        ),
        Err(f) => {
            let mut body = json!({"ok": false, "error_code": f.code, "description": f.description});
            if let Some(n) = f.retry_after {
                body["parameters"] = json!({"retry_after": n});
            }
            if let Some(to) = f.migrate_to {
                body["parameters"] = json!({"migrate_to_chat_id": to});
            }
            let status = StatusCode::from_u16(f.code).unwrap_or(StatusCode::BAD_REQUEST);
            (
                f.code,
                Some(f.description),
                (status, axum::Json(body)).into_response(),
            )
        }
    }
}

/// Every request lands here: `/bot{token}/{method}`.
async fn serve(
    AxumState(inner): AxumState<Arc<Inner>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = percent_decode(uri.path());
    if let Some(rest) = path.strip_prefix("/file/bot") {
        return replies::download(&inner, rest);
    }
    let Some((token, method)) = path
        .strip_prefix("/bot")
        .and_then(|rest| rest.split_once('/'))
    else {
        return respond(Err(ApiFailure {
            code: 404,
            description: "Not Found".to_owned(),
            retry_after: None,
            migrate_to: None,
        }))
        .2;
    };
    if token != inner.token {
        return respond(Err(ApiFailure {
            code: 401,
            description: "Unauthorized".to_owned(),
            retry_after: None,
            migrate_to: None,
        }))
        .2;
    }
    let method = method.trim_end_matches('/').to_ascii_lowercase();
    let params = match parse_params(&headers, uri.query(), &body) {
        Ok(p) => p,
        Err(e) => return respond(Err(bad(&format!("Bad Request: {e}")))).2,
    };

    // Record the call, then see whether a failure was injected for it.
    let chat_id = params.i64("chat_id");
    let (index, injected) = {
        let mut s = inner.lock();
        let arrived = Instant::now();
        let index = s.record_calls.then(|| {
            s.calls.push(Call {
                method: method.clone(),
                body: Value::Object(params.0.clone()),
                at: arrived,
                status: 0,
                error: None,
            });
            s.calls.len() - 1
        });
        s.injections
            .retain(|i| i.remaining > 0 && i.until.is_none_or(|u| arrived < u));
        let injected = s
            .injections
            .iter_mut()
            .find(|i| {
                i.remaining > 0
                    && i.target.method.as_deref().is_none_or(|m| m == method)
                    && i.target.chat_id.is_none_or(|c| Some(c) == chat_id)
            })
            .map(|i| {
                i.remaining -= 1;
                ApiFailure::from(&i.fault)
            });
        s.injections
            .retain(|i| i.remaining > 0 && i.until.is_none_or(|u| arrived < u));
        (index, injected)
    };
    if index.is_some() {
        inner.notify();
    }

    // The answer and its status on the call record are set under one lock, so that a test
    // which sees the effect of a call (a message stored) also sees how it was answered.
    let (_, _, response) = match injected {
        Some(f) => finish(&mut inner.lock(), index, Err(f)),
        None if method == "getupdates" => {
            let result = get_updates(&inner, &params).await;
            finish(&mut inner.lock(), index, result)
        }
        None => {
            let mut s = inner.lock();
            s.uploads = file_parts(&headers, &body);
            let result = call(&mut s, &method, &params);
            s.uploads.clear();
            finish(&mut s, index, result)
        }
    };
    if index.is_some() {
        inner.notify();
    }
    response
}

/// Turns a method's result into the HTTP answer and writes its status on the call record.
fn finish(
    s: &mut FakeState,
    index: Option<usize>,
    result: Result<Value, ApiFailure>,
) -> (u16, Option<String>, Response) {
    let (status, error, response) = respond(result);
    if let Some(c) = index.and_then(|i| s.calls.get_mut(i)) {
        c.status = status;
        c.error = error.clone();
    }
    (status, error, response)
}

/// Answers every method but `getUpdates`.
fn call(s: &mut FakeState, method: &str, p: &Params) -> Result<Value, ApiFailure> {
    match method {
        "getme" => Ok(me_json()),
        "sendmessage" => send_message(s, p),
        "sendphoto" => send_media(s, p, "sendPhoto", "photo"),
        "senddocument" => send_media(s, p, "sendDocument", "document"),
        "editmessagetext" => edit_message(s, p, true),
        "editmessagereplymarkup" => edit_message(s, p, false),
        "deletemessage" => {
            let (chat, id) = (
                chat_id(p)?,
                p.i64("message_id")
                    .ok_or_else(|| bad("Bad Request: message identifier is not specified"))?,
            );
            match s.sent_mut(chat, id) {
                Some(m) => {
                    m.deleted = true;
                    Ok(json!(true))
                }
                None => delete_post(s, chat, id),
            }
        }
        "answercallbackquery" => {
            let id = p.str("callback_query_id").unwrap_or_default();
            if p.str("text").is_some_and(|t| t.chars().count() > 200) {
                return Err(bad("Bad Request: MESSAGE_TOO_LONG"));
            }
            match s.callbacks.get_mut(id) {
                Some(c) if !c.answered => {
                    c.answered = true;
                    Ok(json!(true))
                }
                _ => Err(bad(
                    "Bad Request: query is too old and response timeout expired or query id is invalid",
                )),
            }
        }
        "setmycommands" => {
            let commands = p
                .json("commands")
                .and_then(|c| c.as_array().cloned())
                .ok_or_else(|| bad("Bad Request: commands must be an array"))?;
            if commands.len() > 100 {
                return Err(bad("Bad Request: too many commands"));
            }
            for c in &commands {
                let name = c["command"].as_str().unwrap_or_default();
                let desc = c["description"].as_str().unwrap_or_default();
                let valid_name = (1..=32).contains(&name.len())
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
                if !valid_name {
                    return Err(bad("Bad Request: BOT_COMMAND_INVALID"));
                }
                if !(1..=256).contains(&desc.chars().count()) {
                    return Err(bad("Bad Request: BOT_COMMAND_DESCRIPTION_INVALID"));
                }
            }
            let key = commands_key(p)?;
            s.commands.insert(key, Value::Array(commands));
            Ok(json!(true))
        }
        "getmycommands" => {
            let key = commands_key(p)?;
            Ok(s.commands.get(&key).cloned().unwrap_or_else(|| json!([])))
        }
        "deletemycommands" => {
            let key = commands_key(p)?;
            s.commands.remove(&key);
            Ok(json!(true))
        }
        "getchat" => {
            let id = chat_id(p)?;
            s.chats
                .get(&id)
                .cloned()
                .ok_or_else(|| bad("Bad Request: chat not found"))
        }
        "restrictchatmember" => restrict_member(s, p),
        "banchatmember" | "kickchatmember" => ban_member(s, p),
        "unbanchatmember" => unban_member(s, p),
        "getchatmember" => get_member(s, p),
        "getchatadministrators" => get_administrators(s, p),
        "setmessagereaction" => replies::set_message_reaction(s, p),
        "getfile" => replies::get_file(s, p),
        "deletewebhook" => Ok(json!(true)),
        "setwebhook" => webhook::set_webhook(p),
        "getwebhookinfo" => Ok(
            json!({"url": "", "has_custom_certificate": false, "pending_update_count": s.queue.len()}),
        ),
        _ => Err(ApiFailure {
            code: 404,
            description: "Not Found: method not found".to_owned(),
            retry_after: None,
            migrate_to: None,
        }),
    }
}

/// `getUpdates`: confirms what lies below `offset`, then returns what is queued, waiting up
/// to `timeout` seconds for something to arrive. A newer `getUpdates` terminates a waiting
/// one with 409, as Telegram does.
async fn get_updates(inner: &Arc<Inner>, p: &Params) -> Result<Value, ApiFailure> {
    let offset = p.i64("offset");
    let limit = p.i64("limit").unwrap_or(100).clamp(1, 100) as usize;
    let timeout = p.i64("timeout").unwrap_or(0).max(0) as u64;
    let generation = {
        let mut s = inner.lock();
        if let Some(allowed) = p.json("allowed_updates") {
            let list: Vec<String> = allowed
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            s.allowed_history.push(list.clone());
            s.allowed_updates = (!list.is_empty()).then_some(list);
        }
        match offset {
            Some(o) if o > 0 => {
                s.queue.retain(|q| q.id >= o || !q.delivered);
                s.confirmed_offset = s.confirmed_offset.max(o);
            }
            Some(o) if o < 0 => {
                let keep = o.unsigned_abs() as usize;
                let len = s.queue.len();
                if len > keep {
                    s.queue.drain(..len - keep);
                }
            }
            _ => {}
        }
        s.poll_generation += 1;
        s.poll_generation
    };
    inner.notify();

    let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
    let mut rx = inner.changed.subscribe();
    // Counted while waiting; the guard uncounts it even when the client goes away and the
    // request is dropped mid-wait (a bot shutting down cancels its long poll).
    let mut waiting: Option<WaitingPoll> = None;
    let result = loop {
        rx.borrow_and_update();
        let mut announce = false;
        {
            let mut s = inner.lock();
            if s.poll_generation != generation {
                break Err(ApiFailure {
                    code: 409,
                    description: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running".to_owned(),
                    retry_after: None,
                    migrate_to: None,
                });
            }
            let batch = take_batch(&mut s, offset, limit);
            if !batch.is_empty() || tokio::time::Instant::now() >= deadline {
                break Ok(Value::Array(batch));
            }
            if waiting.is_none() {
                s.polls_waiting += 1;
                waiting = Some(WaitingPoll(inner.clone()));
                announce = true;
            }
        }
        // Tell waiters once that a poll now waits: notifying on every pass would wake this
        // very loop again at once, and the poll would spin instead of waiting.
        if announce {
            inner.notify();
        }
        tokio::select! {
            r = rx.changed() => { if r.is_err() { break Ok(json!([])); } }
            _ = tokio::time::sleep_until(deadline) => {}
        }
    };
    drop(waiting);
    result
}

/// A long poll counted in `polls_waiting`; uncounts it when dropped.
struct WaitingPoll(Arc<Inner>);

impl Drop for WaitingPoll {
    fn drop(&mut self) {
        self.0.lock().polls_waiting -= 1;
    }
}

/// Takes up to `limit` deliverable updates, in `update_id` order, dropping kinds that
/// `allowed_updates` excludes.
fn take_batch(s: &mut FakeState, offset: Option<i64>, limit: usize) -> Vec<Value> {
    let allowed = s.allowed_updates.clone();
    s.queue.retain(|q| {
        let kind = update_kind(&q.update);
        match &allowed {
            Some(list) => list.iter().any(|a| a == kind),
            None => !DEFAULT_EXCLUDED_KINDS.contains(&kind),
        }
    });
    let mut order: Vec<usize> = (0..s.queue.len())
        .filter(|&i| {
            let q = &s.queue[i];
            !q.delivered || offset.is_none_or(|o| q.id >= o)
        })
        .collect();
    order.sort_by_key(|&i| s.queue[i].id);
    order.truncate(limit);
    order
        .into_iter()
        .map(|i| {
            s.queue[i].delivered = true;
            s.queue[i].update.clone()
        })
        .collect()
}

/// The kind of an update: its one key besides `update_id`.
fn update_kind(update: &Value) -> &str {
    update
        .as_object()
        .and_then(|o| o.keys().find(|k| *k != "update_id"))
        .map(String::as_str)
        .unwrap_or("")
}

/// `sendMessage`.
fn send_message(s: &mut FakeState, p: &Params) -> Result<Value, ApiFailure> {
    let chat = chat_id(p)?;
    if let Some(to) = s.migrated.get(&chat) {
        return Err((&Fault::Migrated(*to)).into());
    }
    // A person the bot knows from a group but who never started it cannot be written to.
    if chat > 0 && !s.chats.contains_key(&chat) && s.members.keys().any(|(_, u)| *u == chat) {
        return Err(ApiFailure {
            code: 403,
            description: "Forbidden: bot can't initiate conversation with a user".to_owned(),
            retry_after: None,
            migrate_to: None,
        });
    }
    check_limits(s, chat)?;
    let chat_json = s
        .chats
        .get(&chat)
        .cloned()
        .ok_or_else(|| bad("Bad Request: chat not found"))?;
    let text = p.str("text").unwrap_or_default().to_owned();
    let parse_mode = p.str("parse_mode").map(str::to_owned);
    let visible = check_text(&text, parse_mode.as_deref())?;
    let markup = p.json("reply_markup");
    check_markup(markup.as_ref())?;
    let message_id = s.next_message_id(chat);
    let sent = Sent {
        chat_id: chat,
        message_id,
        text,
        visible,
        parse_mode,
        reply_markup: markup,
        edited: false,
        deleted: false,
        at: Instant::now(),
    };
    let answer = message_json(&sent, chat_json);
    if let Some(tx) = &s.sent_tx {
        let _ = tx.send(sent.clone());
    }
    s.sent.push(sent);
    // The oldest go in small chunks: dropping many at once would stall the server.
    if let Some(keep) = s.keep_sent
        && s.sent.len() >= keep + 256
    {
        s.sent.drain(..256);
    }
    Ok(answer)
}

/// `sendPhoto` and `sendDocument`: the file uploaded in the multipart body (under `field`,
/// with a file name) or a `file_id` given before; a caption of at most 1,024 characters.
/// Telegram's size limits: a photo up to 10 MB, a document up to 50 MB.
fn send_media(
    s: &mut FakeState,
    p: &Params,
    method: &'static str,
    field: &str,
) -> Result<Value, ApiFailure> {
    let chat = chat_id(p)?;
    if let Some(to) = s.migrated.get(&chat) {
        return Err((&Fault::Migrated(*to)).into());
    }
    let chat_json = s
        .chats
        .get(&chat)
        .cloned()
        .ok_or_else(|| bad("Bad Request: chat not found"))?;
    // Uploaded under the field's own name, or in a part named by `attach://<name>`.
    let part = p
        .str(field)
        .and_then(|v| v.strip_prefix("attach://"))
        .unwrap_or(field)
        .to_owned();
    let upload = s
        .uploads
        .iter()
        .find(|(name, _, _)| *name == part)
        .map(|(_, file_name, bytes)| (file_name.clone(), bytes.clone()));
    let (file_name, bytes, by_file_id) = match upload {
        Some((n, b)) => (n, b, false),
        None => {
            let id = p
                .str(field)
                .ok_or_else(|| bad(&format!("Bad Request: there is no {field} in the request")))?;
            let (n, b) = s
                .files
                .get(id)
                .cloned()
                .ok_or_else(|| bad("Bad Request: wrong file identifier/HTTP URL specified"))?;
            (n, b, true)
        }
    };
    let max = if field == "photo" { 10 << 20 } else { 50 << 20 };
    if bytes.is_empty() || bytes.len() > max {
        return Err(bad(
            "Bad Request: file must be non-empty and within the size limit",
        ));
    }
    if field == "photo"
        && !(bytes.starts_with(&[0xFF, 0xD8, 0xFF]) || bytes.starts_with(b"\x89PNG"))
    {
        return Err(bad("Bad Request: IMAGE_PROCESS_FAILED"));
    }
    let caption = p.str("caption").map(str::to_owned);
    let parse_mode = p.str("parse_mode").map(str::to_owned);
    // What the caption shows (its markup read as Telegram reads it).
    let visible = match caption.as_deref() {
        Some(c) if !c.is_empty() => check_text(c, parse_mode.as_deref())?,
        _ => String::new(),
    };
    if visible.chars().count() > 1024 {
        return Err(bad("Bad Request: message caption is too long"));
    }
    let markup = p.json("reply_markup");
    check_markup(markup.as_ref())?;
    check_limits(s, chat)?;
    let message_id = s.next_message_id(chat);
    let file_id = format!("fake-file-{}-{}", s.files.len() + 1, message_id);
    s.files
        .insert(file_id.clone(), (file_name.clone(), bytes.clone()));
    let size = bytes.len();
    let mut answer = json!({
        "message_id": message_id,
        "from": bot_user(),
        "chat": chat_json,
        "date": unix_now(),
    });
    let unique = format!("u{file_id}");
    if field == "photo" {
        answer["photo"] = json!([{"file_id": file_id, "file_unique_id": unique,
            "width": 800, "height": 600, "file_size": size}]);
    } else {
        answer["document"] = json!({"file_id": file_id, "file_unique_id": unique,
            "file_name": file_name, "file_size": size});
    }
    if let Some(c) = &caption {
        answer["caption"] = json!(c);
    }
    if let Some(rm) = markup
        .as_ref()
        .filter(|r| r.get("inline_keyboard").is_some())
    {
        answer["reply_markup"] = rm.clone();
    }
    if method == "sendDocument" {
        s.documents.push((
            chat,
            message_id,
            String::from_utf8_lossy(&bytes).into_owned(),
        ));
    }
    let sent = Sent {
        chat_id: chat,
        message_id,
        text: caption.clone().unwrap_or_default(),
        visible,
        parse_mode,
        reply_markup: markup.clone(),
        edited: false,
        deleted: false,
        at: Instant::now(),
    };
    if let Some(tx) = &s.sent_tx {
        let _ = tx.send(sent.clone());
    }
    s.sent.push(sent);
    s.media.push(SentMedia {
        method,
        chat_id: chat,
        message_id,
        file_name,
        bytes,
        by_file_id,
        caption,
        reply_markup: markup,
    });
    Ok(answer)
}

/// The file parts of a multipart body, byte for byte: (field name, file name, bytes).
fn file_parts(headers: &HeaderMap, body: &[u8]) -> Vec<(String, String, Vec<u8>)> {
    let Some(boundary) = headers
        .get(header::CONTENT_TYPE)
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
    // The first delimiter has no line break before it.
    let mut rest: Vec<u8> = b"\r\n".to_vec();
    rest.extend_from_slice(body);
    let mut rest = rest.as_slice();
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
            head.split(';').find_map(|p| {
                p.trim()
                    .strip_prefix(key)
                    .map(|v| v.lines().next().unwrap_or(v).trim_matches('"').to_owned())
            })
        };
        if let (Some(name), Some(file_name)) = (attr("name="), attr("filename=")) {
            out.push((name, file_name, data[..end].to_vec()));
        }
        rest = data;
    }
    out
}

/// Refuses a message over the enforced limits with 429 and the wait that lets it through;
/// else counts it (it is about to be accepted).
fn check_limits(s: &mut FakeState, chat: i64) -> Result<(), ApiFailure> {
    let Some(limits) = s.limits else {
        return Ok(());
    };
    let now = Instant::now();
    let second = Duration::from_secs(1);
    let (window, max) = if chat < 0 {
        (Duration::from_secs(60), limits.group_per_minute)
    } else {
        (second, limits.private_per_second)
    };
    while s.recent_all.front().is_some_and(|t| now - *t >= second) {
        s.recent_all.pop_front();
    }
    let recent = s.recent_chat.entry(chat).or_default();
    while recent.front().is_some_and(|t| now - *t >= window) {
        recent.pop_front();
    }
    let wait = if recent.len() >= max {
        recent.front().map(|t| window.saturating_sub(now - *t))
    } else if s.recent_all.len() >= limits.per_second {
        s.recent_all
            .front()
            .map(|t| second.saturating_sub(now - *t))
    } else {
        None
    };
    if let Some(wait) = wait {
        s.rate_limited += 1;
        let secs = u32::try_from(wait.as_secs_f64().ceil() as u64)
            .unwrap_or(u32::MAX)
            .max(1);
        return Err((&Fault::TooManyRequests(secs)).into());
    }
    recent.push_back(now);
    s.recent_all.push_back(now);
    Ok(())
}

/// `editMessageText` (`text == true`) and `editMessageReplyMarkup`.
fn edit_message(s: &mut FakeState, p: &Params, text: bool) -> Result<Value, ApiFailure> {
    if p.str("inline_message_id").is_some() {
        return Err(bad(
            "Bad Request: inline messages are not supported by this fake",
        ));
    }
    let chat = chat_id(p)?;
    let id = p
        .i64("message_id")
        .ok_or_else(|| bad("Bad Request: message identifier is not specified"))?;
    let chat_json = s
        .chats
        .get(&chat)
        .cloned()
        .ok_or_else(|| bad("Bad Request: chat not found"))?;
    let new_text = if text {
        let t = p.str("text").unwrap_or_default().to_owned();
        let mode = p.str("parse_mode").map(str::to_owned);
        let visible = check_text(&t, mode.as_deref())?;
        Some((t, visible, mode))
    } else {
        None
    };
    let markup = p.json("reply_markup");
    check_markup(markup.as_ref())?;
    let m = s
        .sent_mut(chat, id)
        .ok_or_else(|| bad("Bad Request: message to edit not found"))?;
    let same_text = new_text.as_ref().is_none_or(|(_, v, _)| *v == m.visible);
    if same_text && markup == m.reply_markup {
        return Err(bad(
            "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
        ));
    }
    if let Some((t, v, mode)) = new_text {
        m.text = t;
        m.visible = v;
        m.parse_mode = mode;
    }
    m.reply_markup = markup;
    m.edited = true;
    let answer = message_json(m, chat_json);
    Ok(answer)
}

/// The Message object Telegram answers for a message the bot sent.
fn message_json(m: &Sent, chat: Value) -> Value {
    let mut v = json!({
        "message_id": m.message_id,
        "from": bot_user(),
        "chat": chat,
        "date": unix_now(),
        "text": m.visible,
    });
    if m.edited {
        v["edit_date"] = json!(unix_now());
    }
    if let Some(rm) = m
        .reply_markup
        .as_ref()
        .filter(|r| r.get("inline_keyboard").is_some())
    {
        v["reply_markup"] = rm.clone();
    }
    v
}

/// The `chat_id` parameter; a missing one is a 400 as on Telegram.
fn chat_id(p: &Params) -> Result<i64, ApiFailure> {
    p.i64("chat_id")
        .ok_or_else(|| bad("Bad Request: chat_id is empty"))
}

/// The key bot commands are stored under: (scope type, language code).
fn commands_key(p: &Params) -> Result<(String, String), ApiFailure> {
    let scope = p
        .json("scope")
        .and_then(|s| s["type"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "default".to_owned());
    let lang = p.str("language_code").unwrap_or_default().to_owned();
    if !(lang.is_empty() || (lang.len() == 2 && lang.bytes().all(|b| b.is_ascii_lowercase()))) {
        return Err(bad("Bad Request: LANG_CODE_INVALID"));
    }
    Ok((scope, lang))
}

/// Checks a message text as Telegram does and returns what the resident sees: with
/// `parse_mode=HTML` the markup must parse; the visible text must hold 1–4,096 characters.
fn check_text(text: &str, parse_mode: Option<&str>) -> Result<String, ApiFailure> {
    let visible = match parse_mode.map(str::to_ascii_lowercase).as_deref() {
        None | Some("") => text.to_owned(),
        Some("html") => {
            parse_html(text).map_err(|e| bad(&format!("Bad Request: can't parse entities: {e}")))?
        }
        Some(other) => {
            return Err(bad(&format!(
                "Bad Request: unsupported parse_mode \"{other}\" in this fake"
            )));
        }
    };
    if visible.trim().is_empty() {
        return Err(bad("Bad Request: message text is empty"));
    }
    if visible.encode_utf16().count() > 4096 {
        return Err(bad("Bad Request: message is too long"));
    }
    Ok(visible)
}

/// Checks an inline keyboard: every button has a label and one action; `callback_data` holds
/// 1–64 bytes; URLs are http(s) or tg://.
fn check_markup(markup: Option<&Value>) -> Result<(), ApiFailure> {
    let Some(markup) = markup else { return Ok(()) };
    let Some(rows) = markup.get("inline_keyboard") else {
        return Ok(());
    };
    let rows = rows.as_array().ok_or_else(|| {
        bad("Bad Request: field \"inline_keyboard\" of the InlineKeyboardMarkup must be an Array")
    })?;
    for row in rows {
        let buttons = row
            .as_array()
            .ok_or_else(|| bad("Bad Request: can't parse inline keyboard button: InlineKeyboardButton must be an Object"))?;
        for b in buttons {
            if b["text"].as_str().is_none_or(str::is_empty) {
                return Err(bad(
                    "Bad Request: can't parse inline keyboard button: Text must be non-empty",
                ));
            }
            if let Some(data) = b.get("callback_data") {
                let len = data.as_str().map_or(0, str::len);
                if !(1..=64).contains(&len) {
                    return Err(bad("Bad Request: BUTTON_DATA_INVALID"));
                }
            } else if let Some(url) = b.get("url") {
                let url = url.as_str().unwrap_or_default();
                if !(url.starts_with("https://")
                    || url.starts_with("http://")
                    || url.starts_with("tg://"))
                {
                    return Err(bad("Bad Request: BUTTON_URL_INVALID"));
                }
            } else if b.get("switch_inline_query").is_none()
                && b.get("web_app").is_none()
                && b.get("copy_text").is_none()
            {
                return Err(bad(
                    "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard",
                ));
            }
        }
    }
    Ok(())
}

/// Parses Telegram's HTML subset and returns the visible text, or the reason it does not
/// parse. Only the tags Telegram knows, properly nested; `<`, `>` and `&` outside tags must
/// be written as `&lt;`, `&gt;`, `&amp;` (numeric entities and `&quot;` are accepted too).
pub fn parse_html(src: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut stack: Vec<String> = Vec::new();
    let mut i = 0;
    while i < src.len() {
        let rest = &src[i..];
        let c = rest.chars().next().unwrap_or_default();
        match c {
            '<' => {
                let end = rest
                    .find('>')
                    .ok_or_else(|| format!("Unclosed start tag at byte offset {i}"))?;
                let inner = &rest[1..end];
                if let Some(name) = inner.strip_prefix('/') {
                    let name = name.trim().to_ascii_lowercase();
                    match stack.pop() {
                        None => return Err(format!("Unexpected end tag at byte offset {i}")),
                        Some(open) if open != name => {
                            return Err(format!(
                                "Unmatched end tag at byte offset {i}, expected \"</{open}>\", found \"</{name}>\""
                            ));
                        }
                        Some(_) => {}
                    }
                } else {
                    let (name, attrs) = match inner.find(char::is_whitespace) {
                        Some(p) => (&inner[..p], &inner[p..]),
                        None => (inner, ""),
                    };
                    let name = name.to_ascii_lowercase();
                    if !HTML_TAGS.contains(&name.as_str()) {
                        return Err(format!(
                            "Unsupported start tag \"{name}\" at byte offset {i}"
                        ));
                    }
                    let attrs = parse_attrs(attrs)
                        .map_err(|e| format!("{e} in start tag \"{name}\" at byte offset {i}"))?;
                    if name == "a" && !attrs.contains_key("href") {
                        return Err(format!(
                            "Tag \"a\" must have attribute \"href\" at byte offset {i}"
                        ));
                    }
                    if name == "span"
                        && attrs.get("class").map(String::as_str) != Some("tg-spoiler")
                    {
                        return Err(format!(
                            "Tag \"span\" must have class \"tg-spoiler\" at byte offset {i}"
                        ));
                    }
                    if let Some(top) = stack.last()
                        && (top == "code" || (top == "pre" && name != "code"))
                    {
                        return Err(format!(
                            "Entities can't be nested inside \"{top}\" at byte offset {i}"
                        ));
                    }
                    stack.push(name);
                }
                i += end + 1;
            }
            '>' => {
                return Err(format!(
                    "Character '>' at byte offset {i} must be escaped as \"&gt;\""
                ));
            }
            '&' => {
                let (decoded, len) = decode_entity(rest).ok_or_else(|| {
                    format!("Character '&' at byte offset {i} must be escaped as \"&amp;\"")
                })?;
                out.push(decoded);
                i += len;
            }
            _ => {
                out.push(c);
                i += c.len_utf8();
            }
        }
    }
    if let Some(open) = stack.last() {
        return Err(format!(
            "Can't find end tag corresponding to start tag \"{open}\""
        ));
    }
    Ok(out)
}

/// Decodes an entity at the start of `s` (which starts with `&`): the character and the
/// entity's length in bytes.
fn decode_entity(s: &str) -> Option<(char, usize)> {
    let semi = s.bytes().take(12).position(|b| b == b';')?;
    let name = &s[1..semi];
    let c = match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "quot" => '"',
        _ => {
            let num = name.strip_prefix('#')?;
            let code = match num.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => num.parse().ok()?,
            };
            char::from_u32(code)?
        }
    };
    Some((c, semi + 1))
}

/// Parses `name="value"` attributes of a start tag.
fn parse_attrs(s: &str) -> Result<HashMap<String, String>, String> {
    let mut attrs = HashMap::new();
    let mut rest = s.trim_start();
    while !rest.is_empty() {
        let eq = rest.find('=');
        let ws = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let (name, after) = match eq {
            Some(e) if e < ws => (&rest[..e], &rest[e + 1..]),
            _ => {
                attrs.insert(rest[..ws].to_ascii_lowercase(), String::new());
                rest = rest[ws..].trim_start();
                continue;
            }
        };
        let (value, remaining) = match after.chars().next() {
            Some(q @ ('"' | '\'')) => {
                let close = after[1..]
                    .find(q)
                    .ok_or_else(|| "Unclosed attribute value".to_owned())?;
                (&after[1..1 + close], &after[close + 2..])
            }
            _ => {
                let end = after.find(char::is_whitespace).unwrap_or(after.len());
                (&after[..end], &after[end..])
            }
        };
        attrs.insert(name.trim().to_ascii_lowercase(), value.to_owned());
        rest = remaining.trim_start();
    }
    Ok(attrs)
}

/// Reads the parameters of a call from the query string and the body (JSON, form or
/// multipart).
fn parse_params(headers: &HeaderMap, query: Option<&str>, body: &[u8]) -> Result<Params, String> {
    let mut map = Map::new();
    if let Some(q) = query {
        for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
            map.insert(k.into_owned(), Value::String(v.into_owned()));
        }
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if body.is_empty() {
        return Ok(Params(map));
    }
    if content_type.starts_with("application/json") {
        let v: Value =
            serde_json::from_slice(body).map_err(|e| format!("can't parse JSON: {e}"))?;
        let obj = v.as_object().ok_or("JSON body must be an object")?;
        map.extend(obj.clone());
    } else if content_type.starts_with("application/x-www-form-urlencoded") {
        for (k, v) in url::form_urlencoded::parse(body) {
            map.insert(k.into_owned(), Value::String(v.into_owned()));
        }
    } else if content_type.starts_with("multipart/form-data") {
        let boundary = content_type
            .split(';')
            .find_map(|p| p.trim().strip_prefix("boundary="))
            .map(|b| b.trim_matches('"').to_owned())
            .ok_or("multipart body without boundary")?;
        // The boundary's case matters: read it from the original header.
        let original = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let boundary = original
            .split(';')
            .find_map(|p| p.trim().strip_prefix("boundary="))
            .map(|b| b.trim_matches('"').to_owned())
            .unwrap_or(boundary);
        let text = String::from_utf8_lossy(body);
        let delimiter = format!("--{boundary}");
        for part in text.split(delimiter.as_str()) {
            let Some((head, value)) = part.split_once("\r\n\r\n") else {
                continue;
            };
            let Some(name) = head
                .split(';')
                .find_map(|p| p.trim().strip_prefix("name="))
                .map(|n| n.lines().next().unwrap_or(n).trim_matches('"').to_owned())
            else {
                continue;
            };
            let value = value.strip_suffix("\r\n").unwrap_or(value);
            map.insert(name, Value::String(value.to_owned()));
        }
    } else {
        return Err(format!("unsupported content type {content_type:?}"));
    }
    Ok(Params(map))
}

/// Decodes `%XX` escapes in a URL path.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An integer from a JSON number or a numeric string.
fn as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The keyboard rows of a reply markup.
fn keyboard_of(markup: Option<&Value>) -> Vec<Vec<Button>> {
    let Some(rows) = markup
        .and_then(|m| m.get("inline_keyboard"))
        .and_then(Value::as_array)
    else {
        return Vec::new();
    };
    rows.iter()
        .map(|row| {
            row.as_array()
                .map(|bs| {
                    bs.iter()
                        .map(|b| Button {
                            text: b["text"].as_str().unwrap_or_default().to_owned(),
                            callback_data: b["callback_data"].as_str().map(str::to_owned),
                            url: b["url"].as_str().map(str::to_owned),
                        })
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect()
}

/// The chats an update mentions (so the bot may answer there).
fn chats_in(update: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    for key in [
        "message",
        "edited_message",
        "channel_post",
        "my_chat_member",
    ] {
        if let Some(c) = update.get(key).and_then(|m| m.get("chat")) {
            out.push(c.clone());
        }
    }
    if let Some(c) = update
        .get("callback_query")
        .and_then(|cq| cq.get("message"))
        .and_then(|m| m.get("chat"))
    {
        out.push(c.clone());
    }
    out
}

/// The bot as a user.
fn bot_user() -> Value {
    json!({"id": BOT_ID, "is_bot": true, "first_name": "Góp ý thử", "username": BOT_USERNAME})
}

/// What `getMe` answers.
fn me_json() -> Value {
    let mut me = bot_user();
    me["can_join_groups"] = json!(true);
    me["can_read_all_group_messages"] = json!(false);
    me["supports_inline_queries"] = json!(false);
    me["can_connect_to_business"] = json!(false);
    me["has_main_web_app"] = json!(false);
    me
}

/// Seconds since the Unix epoch.
fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

// ---- group members and the bot's rights --------------------------------------------------
//
// Enough of Telegram's rules for moderation tests: the bot deletes other people's messages
// in a group only as an administrator with `can_delete_messages`; it restricts (supergroups
// only), bans and unbans only as an administrator with `can_restrict_members`; nobody acts on
// the chat's owner or its administrators. The errors are Telegram's own descriptions.

/// The bot's standing in a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BotRights {
    /// Whether the bot is an administrator there.
    pub admin: bool,
    /// `can_delete_messages`.
    pub can_delete: bool,
    /// `can_restrict_members`.
    pub can_restrict: bool,
}

/// A person's membership of a group.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// The User object.
    pub user: Value,
    /// `creator`, `administrator`, `member`, `restricted`, `left` or `kicked`.
    pub status: String,
    /// For `restricted` and `kicked`: until when (Unix seconds; 0 = for ever).
    pub until_date: i64,
    /// For `restricted`: the permissions granted (Telegram's ChatPermissions).
    pub permissions: Option<Value>,
}

/// A message a person posted in a group.
#[derive(Debug, Clone)]
pub struct Post {
    /// The Message object as it was pushed.
    pub message: Value,
    /// Whether someone (the bot) deleted it.
    pub deleted: bool,
}

impl FakeTelegram {
    /// Sets the bot's standing in a group without telling the bot (pushing
    /// [`FakeTelegram::bot_promoted_update`] sets it too).
    pub fn set_bot_rights(&self, chat: i64, rights: BotRights) {
        self.inner.lock().bot_rights.insert(chat, rights);
        self.inner.notify();
    }

    /// The bot's standing in a group.
    pub fn bot_rights(&self, chat: i64) -> BotRights {
        self.inner
            .lock()
            .bot_rights
            .get(&chat)
            .copied()
            .unwrap_or_default()
    }

    /// Makes a person a member of a group with this status (`creator`, `administrator`,
    /// `member`, …) without telling the bot.
    pub fn set_member_status(&self, chat: i64, who: &Resident, status: &str) {
        self.inner.lock().members.insert(
            (chat, who.id),
            Member {
                user: who.user_json(),
                status: status.to_owned(),
                until_date: 0,
                permissions: None,
            },
        );
        self.inner.notify();
    }

    /// A person's membership of a group, if the fake knows them there.
    pub fn member(&self, chat: i64, user: i64) -> Option<Member> {
        self.inner.lock().members.get(&(chat, user)).cloned()
    }

    /// Whether a person's message in a group was deleted (`None`: no such post).
    pub fn post_deleted(&self, chat: i64, message_id: i64) -> Option<bool> {
        self.inner
            .lock()
            .posts
            .get(&(chat, message_id))
            .map(|p| p.deleted)
    }

    /// A message in a group replying to an earlier message of that group, someone's post or
    /// the bot's own (a `/report` or a `/flag` is sent this way, and so is a resident's
    /// answer to one of gopy's posts).
    pub fn group_reply_update(
        &self,
        from: &Resident,
        group: &Group,
        reply_to: i64,
        text: &str,
    ) -> Value {
        let original = self.replied_message(group, reply_to);
        let mut msg = self.message(from, group.chat_json(), Self::text_body(text));
        msg["reply_to_message"] = original;
        json!({"update_id": self.next_update_id(), "message": msg})
    }

    /// A message in a group forwarded from another chat.
    pub fn group_forward_update(&self, from: &Resident, group: &Group, text: &str) -> Value {
        let mut body = Self::text_body(text);
        body["forward_origin"] = json!({
            "type": "hidden_user", "sender_user_name": "Ai đó", "date": unix_now() - 60,
        });
        let msg = self.message(from, group.chat_json(), body);
        json!({"update_id": self.next_update_id(), "message": msg})
    }

    /// A person edits their earlier post in a group (the fake keeps the new text).
    pub fn group_edited_update(
        &self,
        from: &Resident,
        group: &Group,
        message_id: i64,
        text: &str,
    ) -> Value {
        let mut msg = json!({
            "message_id": message_id,
            "from": from.user_json(),
            "chat": group.chat_json(),
            "date": unix_now() - 60,
            "edit_date": unix_now(),
            "text": text,
        });
        if let Some(p) = self.inner.lock().posts.get_mut(&(group.id, message_id)) {
            p.message["text"] = json!(text);
            msg["date"] = p.message["date"].clone();
        }
        json!({"update_id": self.next_update_id(), "edited_message": msg})
    }

    /// Waits until a person's post in a group is deleted.
    pub async fn wait_post_deleted(&self, chat: i64, message_id: i64) {
        self.wait_for(&format!("post {message_id} in {chat} deleted"), |f| {
            f.post_deleted(chat, message_id).filter(|d| *d)
        })
        .await;
    }
}

/// Learns from an update being pushed: the bot's new standing in a group, and people's posts
/// (whoever posts in a group is a member of it).
fn observe_membership(s: &mut FakeState, update: &Value) {
    if let Some(m) = update.get("my_chat_member") {
        let chat = m["chat"]["id"].as_i64().unwrap_or_default();
        let new = &m["new_chat_member"];
        if new["user"]["id"].as_i64() == Some(BOT_ID) {
            let rights = match new["status"].as_str() {
                Some("administrator") => BotRights {
                    admin: true,
                    can_delete: new["can_delete_messages"].as_bool().unwrap_or(false),
                    can_restrict: new["can_restrict_members"].as_bool().unwrap_or(false),
                },
                Some("creator") => BotRights {
                    admin: true,
                    can_delete: true,
                    can_restrict: true,
                },
                _ => BotRights::default(),
            };
            s.bot_rights.insert(chat, rights);
        }
    }
    let Some(msg) = update.get("message") else {
        return;
    };
    let (Some(chat), Some(id)) = (msg["chat"]["id"].as_i64(), msg["message_id"].as_i64()) else {
        return;
    };
    if chat >= 0 {
        return;
    }
    if let Some(user) = msg["from"]["id"].as_i64() {
        s.members.entry((chat, user)).or_insert_with(|| Member {
            user: msg["from"].clone(),
            status: "member".to_owned(),
            until_date: 0,
            permissions: None,
        });
    }
    s.posts.insert(
        (chat, id),
        Post {
            message: msg.clone(),
            deleted: false,
        },
    );
}

/// The bot's rights in a chat the fake must know.
fn rights_in(s: &FakeState, chat: i64) -> Result<BotRights, ApiFailure> {
    if !s.chats.contains_key(&chat) {
        return Err(bad("Bad Request: chat not found"));
    }
    Ok(s.bot_rights.get(&chat).copied().unwrap_or_default())
}

/// `deleteMessage` of a message the bot did not send: someone's post in a group needs an
/// administrator with `can_delete_messages`.
fn delete_post(s: &mut FakeState, chat: i64, id: i64) -> Result<Value, ApiFailure> {
    let rights = rights_in(s, chat)?;
    let Some(post) = s.posts.get_mut(&(chat, id)).filter(|p| !p.deleted) else {
        return Err(bad("Bad Request: message to delete not found"));
    };
    if !(rights.admin && rights.can_delete) {
        return Err(bad("Bad Request: message can't be deleted"));
    }
    post.deleted = true;
    Ok(json!(true))
}

/// The member a restriction or a ban is about, refused as Telegram refuses it.
fn target_member(s: &FakeState, p: &Params, chat: i64) -> Result<(i64, BotRights), ApiFailure> {
    let rights = rights_in(s, chat)?;
    if chat >= 0 {
        return Err(bad(
            "Bad Request: chat member status can't be changed in private chats",
        ));
    }
    let user = p
        .i64("user_id")
        .ok_or_else(|| bad("Bad Request: user_id is empty"))?;
    if !(rights.admin && rights.can_restrict) {
        return Err(bad(
            "Bad Request: not enough rights to restrict/unrestrict chat member",
        ));
    }
    if user == BOT_ID {
        return Err(bad("Bad Request: can't restrict self"));
    }
    match s.members.get(&(chat, user)).map(|m| m.status.as_str()) {
        Some("creator") => Err(bad("Bad Request: can't remove chat owner")),
        Some("administrator") => Err(bad("Bad Request: user is an administrator of the chat")),
        _ => Ok((user, rights)),
    }
}

/// The User object of a member the fake may not have seen.
fn user_of(s: &FakeState, chat: i64, user: i64) -> Value {
    s.members.get(&(chat, user)).map_or_else(
        || json!({"id": user, "is_bot": false, "first_name": format!("User {user}")}),
        |m| m.user.clone(),
    )
}

/// `restrictChatMember` (supergroups only).
fn restrict_member(s: &mut FakeState, p: &Params) -> Result<Value, ApiFailure> {
    let chat = chat_id(p)?;
    let is_basic = s
        .chats
        .get(&chat)
        .is_some_and(|c| c["type"].as_str() == Some("group"));
    let (user, _) = target_member(s, p, chat)?;
    if is_basic {
        return Err(bad("Bad Request: method is available only for supergroups"));
    }
    let permissions = p
        .json("permissions")
        .filter(Value::is_object)
        .ok_or_else(|| bad("Bad Request: permissions are not specified"))?;
    let until = p.i64("until_date").unwrap_or(0);
    let may_send = permissions["can_send_messages"].as_bool().unwrap_or(false);
    let user_json = user_of(s, chat, user);
    let m = s.members.entry((chat, user)).or_insert_with(|| Member {
        user: user_json,
        status: "member".to_owned(),
        until_date: 0,
        permissions: None,
    });
    if may_send {
        m.status = "member".to_owned();
        m.until_date = 0;
        m.permissions = None;
    } else {
        m.status = "restricted".to_owned();
        m.until_date = until;
        m.permissions = Some(permissions);
    }
    Ok(json!(true))
}

/// `banChatMember`.
fn ban_member(s: &mut FakeState, p: &Params) -> Result<Value, ApiFailure> {
    let chat = chat_id(p)?;
    let (user, _) = target_member(s, p, chat)?;
    let until = p.i64("until_date").unwrap_or(0);
    let user_json = user_of(s, chat, user);
    let m = s.members.entry((chat, user)).or_insert_with(|| Member {
        user: user_json,
        status: "member".to_owned(),
        until_date: 0,
        permissions: None,
    });
    m.status = "kicked".to_owned();
    m.until_date = until;
    m.permissions = None;
    Ok(json!(true))
}

/// `unbanChatMember`: a banned person may join again; without `only_if_banned` a member is
/// removed from the chat, as Telegram does.
fn unban_member(s: &mut FakeState, p: &Params) -> Result<Value, ApiFailure> {
    let chat = chat_id(p)?;
    let (user, _) = target_member(s, p, chat)?;
    let only_if_banned = p.bool("only_if_banned").unwrap_or(false);
    if let Some(m) = s.members.get_mut(&(chat, user))
        && (m.status == "kicked" || !only_if_banned)
    {
        m.status = "left".to_owned();
        m.until_date = 0;
        m.permissions = None;
    }
    Ok(json!(true))
}

/// A ChatMember object as Telegram describes it.
fn member_json(m: &Member) -> Value {
    let mut v = json!({"status": m.status, "user": m.user});
    match m.status.as_str() {
        "creator" => {
            v["is_anonymous"] = json!(false);
        }
        "administrator" => {
            for (k, b) in admin_rights(true, true) {
                v[k] = json!(b);
            }
        }
        "restricted" => {
            v["is_member"] = json!(true);
            v["until_date"] = json!(m.until_date);
            let perms = m.permissions.clone().unwrap_or_else(|| json!({}));
            for k in [
                "can_send_messages",
                "can_send_audios",
                "can_send_documents",
                "can_send_photos",
                "can_send_videos",
                "can_send_video_notes",
                "can_send_voice_notes",
                "can_send_polls",
                "can_send_other_messages",
                "can_add_web_page_previews",
                "can_change_info",
                "can_invite_users",
                "can_pin_messages",
                "can_manage_topics",
            ] {
                v[k] = json!(perms[k].as_bool().unwrap_or(false));
            }
        }
        "kicked" => {
            v["until_date"] = json!(m.until_date);
        }
        _ => {}
    }
    v
}

/// The rights of an administrator, as a ChatMemberAdministrator lists them.
fn admin_rights(can_delete: bool, can_restrict: bool) -> Vec<(&'static str, bool)> {
    vec![
        ("can_be_edited", false),
        ("is_anonymous", false),
        ("can_manage_chat", true),
        ("can_delete_messages", can_delete),
        ("can_manage_video_chats", false),
        ("can_restrict_members", can_restrict),
        ("can_promote_members", false),
        ("can_change_info", false),
        ("can_invite_users", true),
        ("can_post_stories", false),
        ("can_edit_stories", false),
        ("can_delete_stories", false),
        ("can_pin_messages", false),
    ]
}

/// The bot's own ChatMember object in a chat.
fn bot_member_json(rights: BotRights) -> Value {
    if !rights.admin {
        return json!({"status": "member", "user": bot_user()});
    }
    let mut v = json!({"status": "administrator", "user": bot_user()});
    for (k, b) in admin_rights(rights.can_delete, rights.can_restrict) {
        v[k] = json!(b);
    }
    v
}

/// `getChatMember`: someone the fake never saw there has left (as Telegram says of a user
/// who is not in the chat).
fn get_member(s: &mut FakeState, p: &Params) -> Result<Value, ApiFailure> {
    let chat = chat_id(p)?;
    let rights = rights_in(s, chat)?;
    let user = p
        .i64("user_id")
        .ok_or_else(|| bad("Bad Request: user_id is empty"))?;
    if user == BOT_ID {
        return Ok(bot_member_json(rights));
    }
    Ok(match s.members.get(&(chat, user)) {
        Some(m) => member_json(m),
        None => json!({"status": "left", "user": user_of(s, chat, user)}),
    })
}

/// `getChatAdministrators`: the owner and administrators, the bot among them when it is one.
fn get_administrators(s: &mut FakeState, p: &Params) -> Result<Value, ApiFailure> {
    let chat = chat_id(p)?;
    let rights = rights_in(s, chat)?;
    if chat >= 0 {
        return Err(bad(
            "Bad Request: there are no administrators in the private chat",
        ));
    }
    let mut admins: Vec<(i64, Value)> = s
        .members
        .iter()
        .filter(|((c, _), m)| *c == chat && (m.status == "creator" || m.status == "administrator"))
        .map(|((_, u), m)| (*u, member_json(m)))
        .collect();
    admins.sort_by_key(|(u, _)| *u);
    let mut out: Vec<Value> = admins.into_iter().map(|(_, v)| v).collect();
    if rights.admin {
        out.push(bot_member_json(rights));
    }
    Ok(Value::Array(out))
}
