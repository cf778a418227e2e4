//! Sending broadcasts on Telegram: the outbox's [`Sender`] over teloxide, with Telegram's
//! errors sorted into the outbox's classes (429 with its exact `retry_after`, 403, chat not
//! found, migration to a supergroup, server and network errors, refusals). An attachment goes
//! as `sendPhoto` (an image) or `sendDocument`, uploaded once and then sent again by the
//! `file_id` Telegram gave it; the "Góp ý ngay" button is an inline URL button to the bot.

use std::collections::HashMap;

use async_trait::async_trait;
use teloxide::payloads::{
    SendDocumentSetters as _, SendMessageSetters as _, SendPhotoSetters as _,
};
use teloxide::requests::{Request as _, Requester as _};
use teloxide::types::{
    ChatId, FileId, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Message,
};
use teloxide::{ApiError, Bot, RequestError};

use crate::announce::outbox::{SendError, Sender};
use crate::dialog::Msg;
use crate::domain::Locale;
use crate::i18n::{Localizer, Markup};
use crate::store::announce::{Attachment, ClaimedDelivery};

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
    /// The bot's username, for the "Góp ý ngay" link.
    pub username: String,
    /// The `file_id` of each attachment (by token) once Telegram has it: sent again by id.
    pub files: std::sync::Mutex<HashMap<String, String>>,
}

/// The label of the deep-link button.
const BUTTON_LABEL: &str = "Góp ý ngay";

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

impl TelegramSender {
    /// Sends a broadcast's post: its text, with its attachment (the text as the caption when
    /// it fits in 1,024 characters, else the file then the text) and its button (under the
    /// last message). Returns the first message's id.
    async fn send_post(&self, chat: &str, d: &ClaimedDelivery) -> Result<String, SendError> {
        let button = d.button.as_ref().and_then(|b| {
            let link = super::polling::deep_link(&self.username, Some(&b.payload()));
            reqwest::Url::parse(&link).ok().map(|url| {
                InlineKeyboardMarkup::new([[InlineKeyboardButton::url(BUTTON_LABEL, url)]])
            })
        });
        let Some(a) = &d.attachment else {
            return self.send_message(chat, &d.text, button).await;
        };
        if d.text.chars().count() <= crate::announce::broadcast::CAPTION_CHARS {
            return self.send_file(chat, a, Some(&d.text), button).await;
        }
        let id = self.send_file(chat, a, None, None).await?;
        self.send_message(chat, &d.text, button).await?;
        Ok(id)
    }

    /// Sends one text message with an optional keyboard.
    async fn send_message(
        &self,
        chat: &str,
        text: &str,
        markup: Option<InlineKeyboardMarkup>,
    ) -> Result<String, SendError> {
        let mut req = self.bot.send_message(ChatId(chat_id(chat)?), text);
        if self.paid {
            req = req.allow_paid_broadcast(true);
        }
        if let Some(markup) = markup {
            req = req.reply_markup(markup);
        }
        match req.send().await {
            Ok(msg) => Ok(msg.id.0.to_string()),
            Err(e) => Err(sort(&e, &self.token)),
        }
    }

    /// Sends an attachment as a photo or a document, by its `file_id` when Telegram gave one.
    async fn send_file(
        &self,
        chat: &str,
        a: &Attachment,
        caption: Option<&str>,
        markup: Option<InlineKeyboardMarkup>,
    ) -> Result<String, SendError> {
        let chat = ChatId(chat_id(chat)?);
        let known = self
            .files
            .lock()
            .ok()
            .and_then(|f| f.get(&a.token).cloned());
        let by_id = known.is_some();
        let file = match known {
            Some(id) => InputFile::file_id(FileId(id)),
            None => InputFile::memory(a.bytes.clone()).file_name(a.file_name.clone()),
        };
        match self
            .send_input(chat, a, file, caption, markup.clone())
            .await
        {
            // A file_id Telegram no longer knows: forget it and upload the bytes again.
            Err(SendError::Refused(_)) if by_id => {
                if let Ok(mut f) = self.files.lock() {
                    f.remove(&a.token);
                }
                let file = InputFile::memory(a.bytes.clone()).file_name(a.file_name.clone());
                self.send_input(chat, a, file, caption, markup).await
            }
            other => other,
        }
    }

    /// One `sendPhoto` or `sendDocument` of `file`; remembers the `file_id` Telegram gives.
    async fn send_input(
        &self,
        chat: ChatId,
        a: &Attachment,
        file: InputFile,
        caption: Option<&str>,
        markup: Option<InlineKeyboardMarkup>,
    ) -> Result<String, SendError> {
        let sent = if a.is_image() {
            let mut req = self.bot.send_photo(chat, file);
            if let Some(c) = caption {
                req = req.caption(c);
            }
            if self.paid {
                req = req.allow_paid_broadcast(true);
            }
            if let Some(m) = markup {
                req = req.reply_markup(m);
            }
            req.send().await
        } else {
            let mut req = self.bot.send_document(chat, file);
            if let Some(c) = caption {
                req = req.caption(c);
            }
            if self.paid {
                req = req.allow_paid_broadcast(true);
            }
            if let Some(m) = markup {
                req = req.reply_markup(m);
            }
            req.send().await
        };
        let msg = sent.map_err(|e| sort(&e, &self.token))?;
        if let Some(id) = file_id(&msg)
            && let Ok(mut f) = self.files.lock()
        {
            f.entry(a.token.clone()).or_insert(id);
        }
        Ok(msg.id.0.to_string())
    }
}

/// A Telegram chat id.
fn chat_id(chat: &str) -> Result<i64, SendError> {
    chat.parse::<i64>()
        .map_err(|_| SendError::ChatNotFound(format!("not a Telegram chat id: {chat}")))
}

/// The `file_id` of the photo (its largest size) or document a message carries.
fn file_id(msg: &Message) -> Option<String> {
    if let Some(sizes) = msg.photo() {
        return sizes.last().map(|p| p.file.id.0.clone());
    }
    msg.document().map(|d| d.file.id.0.clone())
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
            return self.send_post(&d.chat, d).await;
        };
        let plain = |msg: Msg| self.l10n.msg(Locale::Vi, &msg, Markup::Plain);
        let intro = plain(crate::announce::groups::assisted_intro(a));
        self.send_plain(&d.chat, &intro, &[]).await?;
        let id = self.send_post(&d.chat, d).await?;
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
