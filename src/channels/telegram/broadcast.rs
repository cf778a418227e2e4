//! Sending broadcasts on Telegram: the outbox's [`Sender`] over teloxide, with Telegram's
//! errors sorted into the outbox's classes (429 with its exact `retry_after`, 403, chat not
//! found, migration to a supergroup, server and network errors, refusals).

use async_trait::async_trait;
use teloxide::payloads::SendMessageSetters as _;
use teloxide::requests::{Request as _, Requester as _};
use teloxide::types::ChatId;
use teloxide::{ApiError, Bot, RequestError};

use crate::announce::outbox::{SendError, Sender};
use crate::dialog::Msg;
use crate::domain::Locale;
use crate::i18n::{Localizer, Markup};
use crate::store::announce::ClaimedDelivery;

use super::outbound::{Failure, classify, keyboard, redact};

/// The callback data of the button a lead presses once they posted an assisted delivery.
pub(super) const POSTED_PREFIX: &str = "posted:";

/// Sends broadcast texts as plain text (nothing in them is read as markup).
pub(super) struct TelegramSender {
    /// The client.
    pub bot: Bot,
    /// The token, to keep it out of error texts.
    pub token: std::sync::Arc<str>,
    /// Send as paid broadcasts (`allow_paid_broadcast`: up to 1,000 messages a second).
    pub paid: bool,
    /// Renders what gopy tells the lead of an assisted group.
    pub l10n: std::sync::Arc<Localizer>,
}

impl TelegramSender {
    /// Sends one message (plain text, optionally with buttons) and returns its id.
    async fn send_plain(
        &self,
        chat: &str,
        text: &str,
        buttons: &[(String, String)],
    ) -> Result<String, SendError> {
        let id = chat
            .parse::<i64>()
            .map_err(|_| SendError::ChatNotFound(format!("not a Telegram chat id: {chat}")))?;
        let mut req = self.bot.send_message(ChatId(id), text);
        if self.paid {
            req = req.allow_paid_broadcast(true);
        }
        if let Some(markup) = keyboard(buttons) {
            req = req.reply_markup(markup);
        }
        match req.send().await {
            Ok(msg) => Ok(msg.id.0.to_string()),
            Err(e) => Err(sort(&e, &self.token)),
        }
    }
}

#[async_trait]
impl Sender for TelegramSender {
    async fn send(&self, chat: &str, text: &str) -> Result<String, SendError> {
        self.send_plain(chat, text, &[]).await
    }

    /// For an assisted group, the lead gets three messages in their private chat: where to
    /// post, the post itself (to copy or forward as it is), and a button to confirm it was
    /// posted. The post's id is the delivery's message id.
    async fn send_delivery(&self, d: &ClaimedDelivery) -> Result<String, SendError> {
        let Some(a) = &d.assisted else {
            return self.send(&d.chat, &d.text).await;
        };
        let plain = |msg: Msg| self.l10n.msg(Locale::Vi, &msg, Markup::Plain);
        let intro = if a.reminder {
            "assisted-reminder-intro"
        } else {
            "assisted-intro"
        };
        let intro = plain(Msg::new(intro).text("group", a.group_title.clone()));
        self.send_plain(&d.chat, &intro, &[]).await?;
        let id = self.send_plain(&d.chat, &d.text, &[]).await?;
        let ask = plain(Msg::new("assisted-confirm-button-hint").num("number", d.id));
        let button = (
            format!("{POSTED_PREFIX}{}", d.id),
            plain(Msg::new("assisted-button-posted")),
        );
        self.send_plain(&d.chat, &ask, &[button]).await?;
        Ok(id)
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
