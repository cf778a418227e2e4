//! Replies in groups, as Telegram delivers them: a resident's message replying to the bot's
//! post or to another resident's message (`reply_to_message` holds the replied message, without
//! its own `reply_to_message`, as Telegram does), stickers, edits (`edited_message` with the
//! same `message_id` and an `edit_date`), and `setMessageReaction` (bots may set one emoji from
//! Telegram's list, on a message that exists).

use serde_json::{Value, json};

use super::{
    ApiFailure, FakeState, FakeTelegram, Group, Params, Resident, bad, bot_user, unix_now,
};

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
