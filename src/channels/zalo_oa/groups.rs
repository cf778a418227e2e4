//! GMF group messages (`POST /v3.0/oa/group/message`) for groups the OA itself created:
//! the outbox's [`Sender`] for OA groups. `[@user_id]` in a group text is a mention, so every
//! `[@` in the text is escaped (a zero-width space after the bracket) before it is sent:
//! nobody can make gopy mention a member by writing the pattern into relayed text.
//! `-237` (group disabled) and `-403` (the OA is not in the group) mean the group is lost.

use async_trait::async_trait;
use serde_json::{Value, json};

use super::api::Api;
use super::client::Failure;
use crate::announce::outbox::{SendError, Sender};
use crate::channels::zalo::split::{MAX_CHARS, split_plain};

/// The path of a group message.
pub const GROUP_PATH: &str = "/v3.0/oa/group/message";

/// How long the outbox waits after `-32` (about 4,000 requests a minute are allowed).
const RATE_LIMIT_PAUSE: std::time::Duration = std::time::Duration::from_secs(15);

/// `text` with every `[@` broken by a zero-width space, so that no `[@user_id]` mention
/// pattern survives; nothing else changes.
pub fn escape_mentions(text: &str) -> String {
    text.replace("[@", "[\u{200B}@")
}

/// Sends outbox deliveries to OA groups.
#[derive(Clone)]
pub struct GroupSender {
    /// The API with tokens.
    api: Api,
}

impl GroupSender {
    /// A sender over `api`.
    pub(super) fn new(api: Api) -> Self {
        Self { api }
    }
}

impl GroupSender {
    /// Sends one `message` object (a text, an image, a file) to the group `chat` (with or
    /// without an `oa:` prefix); returns its message id. The caller escapes any text.
    pub(super) async fn send_message(
        &self,
        chat: &str,
        message: Value,
    ) -> Result<String, SendError> {
        // A group may be stored under an `oa:` id, apart from Bot API chats.
        let chat = chat.strip_prefix("oa:").unwrap_or(chat);
        let body = json!({"recipient": {"group_id": chat}, "message": message});
        let data = self.api.post(GROUP_PATH, &body).await.map_err(|e| {
            let why = e.to_string();
            match e.failure() {
                Failure::RateLimited => SendError::RetryAfter(RATE_LIMIT_PAUSE),
                Failure::GroupLost => SendError::Forbidden(why),
                Failure::Transient | Failure::NoToken | Failure::TokenRefused => {
                    SendError::Transient(why)
                }
                Failure::Window | Failure::Unreachable | Failure::Refused => {
                    SendError::Refused(why)
                }
            }
        })?;
        Ok(data
            .get("message_id")
            .or_else(|| data.get("msg_id"))
            .and_then(super::inbound::id)
            .unwrap_or_default())
    }
}

#[async_trait]
impl Sender for GroupSender {
    /// Sends `text` (escaped, cut into parts of at most 2,000 characters) to the group
    /// `chat` (its GMF group id, with or without an `oa:` prefix); returns the first part's
    /// message id.
    async fn send(&self, chat: &str, text: &str) -> Result<String, SendError> {
        let mut first = None;
        for part in split_plain(&escape_mentions(text), MAX_CHARS) {
            let id = self.send_message(chat, json!({"text": part})).await?;
            first.get_or_insert(id);
        }
        Ok(first.unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mention_patterns_are_broken_and_nothing_else_changes() {
        let relayed = "Ý kiến của [@8271651234] về [@all] và [ghi chú] @phuong";
        let escaped = escape_mentions(relayed);
        assert!(!escaped.contains("[@"), "{escaped}");
        assert_eq!(escaped.replace('\u{200B}', ""), relayed);
        assert!(escaped.contains("[ghi chú] @phuong"));
    }
}
