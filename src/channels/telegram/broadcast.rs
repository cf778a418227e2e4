//! Sending broadcasts on Telegram: the outbox's [`Sender`] over teloxide, with Telegram's
//! errors sorted into the outbox's classes (429 with its exact `retry_after`, 403, chat not
//! found, migration to a supergroup, server and network errors, refusals).

use async_trait::async_trait;
use teloxide::payloads::SendMessageSetters as _;
use teloxide::requests::{Request as _, Requester as _};
use teloxide::types::ChatId;
use teloxide::{ApiError, Bot, RequestError};

use crate::announce::outbox::{SendError, Sender};

use super::outbound::{Failure, classify, redact};

/// Sends broadcast texts as plain text (nothing in them is read as markup).
pub(super) struct TelegramSender {
    /// The client.
    pub bot: Bot,
    /// The token, to keep it out of error texts.
    pub token: std::sync::Arc<str>,
    /// Send as paid broadcasts (`allow_paid_broadcast`: up to 1,000 messages a second).
    pub paid: bool,
}

#[async_trait]
impl Sender for TelegramSender {
    async fn send(&self, chat: &str, text: &str) -> Result<String, SendError> {
        let id = chat
            .parse::<i64>()
            .map_err(|_| SendError::ChatNotFound(format!("not a Telegram chat id: {chat}")))?;
        let mut req = self.bot.send_message(ChatId(id), text);
        if self.paid {
            req = req.allow_paid_broadcast(true);
        }
        match req.send().await {
            Ok(msg) => Ok(msg.id.0.to_string()),
            Err(e) => Err(sort(&e, &self.token)),
        }
    }
}

/// Sorts a teloxide error into the outbox's classes.
fn sort(e: &RequestError, token: &str) -> SendError {
    let description = redact(&e.to_string(), token);
    match e {
        // Exactly as long as Telegram says (the dialog's policy caps it; a broadcast waits).
        RequestError::RetryAfter(s) => SendError::RetryAfter(s.duration()),
        RequestError::Api(ApiError::ChatNotFound) => SendError::ChatNotFound(description),
        RequestError::Api(ApiError::Unknown(d)) if d.contains("chat not found") => {
            SendError::ChatNotFound(description)
        }
        _ => match classify(e) {
            Failure::Migrated(to) => SendError::Migrated(to.0),
            Failure::Blocked => SendError::Forbidden(description),
            Failure::Transient | Failure::RetryAfter(_) => SendError::Transient(description),
            Failure::Refused => SendError::Refused(description),
        },
    }
}
