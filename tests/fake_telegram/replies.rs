//! Replies in groups, as Telegram delivers them: a resident's message replying to the bot's
//! post or to another resident's message (`reply_to_message` holds the replied message, without
//! its own `reply_to_message`, as Telegram does), stickers, edits (`edited_message` with the
//! same `message_id` and an `edit_date`), and `setMessageReaction` (bots may set one emoji from
//! Telegram's list, on a message that exists); files sent with replies, `getFile` (refused
//! over 20 MB) and their download at `/file/bot<token>/<file_path>`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{
    ApiFailure, FakeState, FakeTelegram, Group, Inner, Params, Resident, bad, bot_user, unix_now,
};

/// The largest file a bot may download (`getFile` refuses larger ones).
const MAX_DOWNLOAD: u64 = 20 * 1024 * 1024;

/// The emoji a bot may react with (Telegram's `ReactionTypeEmoji` list, abridged to what a
/// test might use and a few more).
const REACTIONS: &[&str] = &[
    "👍", "👎", "❤", "🔥", "🥰", "👏", "😁", "🤔", "🙏", "👌", "🤝", "✍", "🫡", "💯", "🎉",
];

impl FakeTelegram {
    /// The message `message_id` in a group as a `reply_to_message`: one of the bot's messages
    /// or someone's post, without its own `reply_to_message`.
    pub(super) fn replied_message(&self, group: &Group, message_id: i64) -> Value {
        let s = self.inner.lock();
        if let Some(m) = s
            .sent
            .iter()
            .rev()
            .find(|m| m.chat_id == group.id && m.message_id == message_id)
        {
            return json!({
                "message_id": m.message_id,
                "from": bot_user(),
                "chat": group.chat_json(),
                "date": unix_now(),
                "text": m.visible,
            });
        }
        match s.posts.get(&(group.id, message_id)) {
            Some(p) => {
                let mut m = p.message.clone();
                if let Some(o) = m.as_object_mut() {
                    o.remove("reply_to_message");
                }
                m
            }
            None => {
                json!({"message_id": message_id, "chat": group.chat_json(), "date": unix_now()})
            }
        }
    }

    /// A resident's sticker in a group replying to the message `reply_to`.
    pub fn group_sticker_reply_update(
        &self,
        from: &Resident,
        group: &Group,
        reply_to: i64,
    ) -> Value {
        let replied = self.replied_message(group, reply_to);
        let msg = self.message(
            from,
            group.chat_json(),
            json!({"reply_to_message": replied, "sticker": {
                "file_id": "CAACAgIAAxkBAAIBZ2Z", "file_unique_id": "AgADZ2Z",
                "type": "regular", "width": 512, "height": 512,
                "is_animated": false, "is_video": false, "emoji": "👍"}}),
        );
        json!({"update_id": self.next_update_id(), "message": msg})
    }

    /// An edit of a resident's earlier message in a group: the same message id, the new text,
    /// an `edit_date`, and the message it replied to, if any.
    pub fn group_edit_update(
        &self,
        from: &Resident,
        group: &Group,
        message_id: i64,
        text: &str,
    ) -> Value {
        let original = self
            .inner
            .lock()
            .posts
            .get(&(group.id, message_id))
            .map(|p| p.message.clone());
        let mut msg = json!({
            "message_id": message_id,
            "from": from.user_json(),
            "chat": group.chat_json(),
            "date": original.as_ref().and_then(|m| m["date"].as_i64()).unwrap_or_else(unix_now),
            "edit_date": unix_now(),
            "text": text,
        });
        if let Some(r) = original.as_ref().and_then(|m| m.get("reply_to_message")) {
            msg["reply_to_message"] = r.clone();
        }
        json!({"update_id": self.next_update_id(), "edited_message": msg})
    }

    /// A resident's file in a group replying to the message `reply_to`: `kind` is `voice`,
    /// `audio`, `photo` or `document`; `size` is what Telegram says (`file_size`), and the
    /// bytes are what a download returns (registered for `getFile`).
    #[allow(clippy::too_many_arguments)]
    pub fn group_file_reply_update(
        &self,
        from: &Resident,
        group: &Group,
        reply_to: i64,
        kind: &str,
        mime: Option<&str>,
        bytes: &[u8],
        size: Option<u64>,
        caption: Option<&str>,
    ) -> Value {
        let size = size.unwrap_or(bytes.len() as u64);
        let file_id = {
            let mut s = self.inner.lock();
            let n = s.received_files.len() + 1;
            let id = format!("BQACAgIAAx{kind}{n:04}");
            let folder = match kind {
                "photo" => "photos",
                "voice" => "voice",
                "audio" => "music",
                _ => "documents",
            };
            s.received_files.insert(
                id.clone(),
                (bytes.to_vec(), format!("{folder}/file_{n}.bin")),
            );
            id
        };
        let unique = format!("AgAD{}", &file_id[file_id.len() - 4..]);
        let mut body = match kind {
            "photo" => json!({"photo": [
                {"file_id": format!("{file_id}s"), "file_unique_id": format!("{unique}s"),
                 "width": 90, "height": 90, "file_size": 1200},
                {"file_id": file_id, "file_unique_id": unique, "width": 1280, "height": 960,
                 "file_size": size}]}),
            "voice" => json!({"voice": {"file_id": file_id, "file_unique_id": unique,
                "duration": 7, "file_size": size}}),
            "audio" => json!({"audio": {"file_id": file_id, "file_unique_id": unique,
                "duration": 60, "file_size": size}}),
            _ => json!({"document": {"file_id": file_id, "file_unique_id": unique,
                "file_name": "gop-y.bin", "file_size": size}}),
        };
        if let (Some(m), Some(o)) = (mime, body.as_object_mut())
            && let Some(inner) = o.values_mut().next().and_then(Value::as_object_mut)
        {
            inner.insert("mime_type".to_owned(), json!(m));
        }
        if let Some(c) = caption {
            body["caption"] = json!(c);
        }
        body["reply_to_message"] = self.replied_message(group, reply_to);
        let msg = self.message(from, group.chat_json(), body);
        json!({"update_id": self.next_update_id(), "message": msg})
    }

    /// A resident's file in their private chat with the bot (as
    /// [`FakeTelegram::group_file_reply_update`] describes it, without the group and reply).
    pub fn private_file_update(
        &self,
        from: &Resident,
        kind: &str,
        mime: Option<&str>,
        bytes: &[u8],
        caption: Option<&str>,
    ) -> Value {
        let nowhere = Group {
            id: -1,
            title: String::new(),
            supergroup: false,
        };
        let mut u =
            self.group_file_reply_update(from, &nowhere, 0, kind, mime, bytes, None, caption);
        u["message"]["chat"] = from.chat_json();
        if let Some(m) = u["message"].as_object_mut() {
            m.remove("reply_to_message");
        }
        u
    }

    /// The documents the bot sent to a chat (their content as text), oldest first.
    pub fn documents_to(&self, chat: i64) -> Vec<String> {
        self.inner
            .lock()
            .documents
            .iter()
            .filter(|(c, _, _)| *c == chat)
            .map(|(_, _, d)| d.clone())
            .collect()
    }

    /// The bot's reactions on a message.
    pub fn reactions(&self, chat: i64, message_id: i64) -> Vec<String> {
        self.inner
            .lock()
            .reactions
            .get(&(chat, message_id))
            .cloned()
            .unwrap_or_default()
    }
}

/// `setMessageReaction`: the chat must be known and the message exist; bots set at most one
/// reaction, an emoji from Telegram's list; an empty list removes the bot's reaction.
pub(super) fn set_message_reaction(s: &mut FakeState, p: &Params) -> Result<Value, ApiFailure> {
    let chat = p
        .i64("chat_id")
        .ok_or_else(|| bad("Bad Request: chat_id is empty"))?;
    if !s.chats.contains_key(&chat) {
        return Err(bad("Bad Request: chat not found"));
    }
    let id = p
        .i64("message_id")
        .ok_or_else(|| bad("Bad Request: message identifier is not specified"))?;
    let exists = s.posts.get(&(chat, id)).is_some_and(|p| !p.deleted)
        || s.sent
            .iter()
            .any(|m| m.chat_id == chat && m.message_id == id && !m.deleted);
    if !exists {
        return Err(bad("Bad Request: message to react not found"));
    }
    let list = p
        .json("reaction")
        .and_then(|r| r.as_array().cloned())
        .unwrap_or_default();
    if list.len() > 1 {
        return Err(bad("Bad Request: REACTIONS_TOO_MANY"));
    }
    let mut emoji = Vec::new();
    for r in &list {
        let e = r["emoji"].as_str().unwrap_or_default();
        if r["type"].as_str() != Some("emoji") || !REACTIONS.contains(&e) {
            return Err(bad("Bad Request: REACTION_INVALID"));
        }
        emoji.push(e.to_owned());
    }
    s.reactions.insert((chat, id), emoji);
    Ok(json!(true))
}

/// `getFile`: a file someone sent (its `file_path` to download it), unless it is over 20 MB.
pub(super) fn get_file(s: &mut FakeState, p: &Params) -> Result<Value, ApiFailure> {
    let id = p.str("file_id").unwrap_or_default();
    let Some((bytes, path)) = s.received_files.get(id) else {
        return Err(bad("Bad Request: invalid file_id"));
    };
    if bytes.len() as u64 > MAX_DOWNLOAD {
        return Err(bad("Bad Request: file is too big"));
    }
    Ok(json!({
        "file_id": id,
        "file_unique_id": format!("u{id}"),
        "file_size": bytes.len(),
        "file_path": path,
    }))
}

/// `GET /file/bot<token>/<file_path>`: the file's bytes.
pub(super) fn download(inner: &Inner, rest: &str) -> Response {
    let Some((token, path)) = rest.split_once('/') else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if token != inner.token {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let s = inner.lock();
    match s.received_files.values().find(|(_, p)| p == path) {
        Some((bytes, _)) => (StatusCode::OK, bytes.clone()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
