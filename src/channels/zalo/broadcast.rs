//! Sending broadcasts on Zalo: the outbox's [`Sender`] over the Zalo Bot API, to groups the
//! bot is a member of, to residents' private chats, and to the leads of assisted groups.
//! Texts are split into parts of at most 2,000 characters; Zalo's errors (read from the body
//! even with HTTP 200) are sorted into the outbox's classes. Zalo takes a photo only by URL:
//! an image attachment goes as `sendPhoto` with gopy's public link to it (when
//! `GOPY_PUBLIC_URL` is set), a document as a link under the text; Zalo has no buttons, so the
//! "Góp ý ngay" button becomes a line telling how to start the campaign dialog.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::announce::broadcast::zalo_text;
use crate::announce::outbox::{SendError, Sender};
use crate::dialog::Msg;
use crate::domain::Locale;
use crate::i18n::{Localizer, Markup};
use crate::store::announce::ClaimedDelivery;

use super::client::{ApiError, CALL_TIMEOUT, Client, Failure};
use super::split::{MAX_CHARS, split_plain};

/// How long the outbox waits after a 429: Zalo documents no rate and sends no `retry_after`.
const RATE_LIMITED_WAIT: Duration = Duration::from_secs(5);

/// Sends broadcast texts to Zalo chats.
pub(super) struct ZaloSender {
    /// The client.
    pub client: Client,
    /// Renders what gopy tells the lead of an assisted group.
    pub l10n: Arc<Localizer>,
    /// Cancelled when Zalo refuses the token: the adapter stops with a clear message.
    pub fatal: CancellationToken,
    /// gopy's public base address (`GOPY_PUBLIC_URL`), for links to attachments.
    pub public_url: Option<String>,
    /// Set once the missing `GOPY_PUBLIC_URL` was logged.
    pub warned: AtomicBool,
}

/// Sorts a Zalo error into the outbox's classes.
fn sort(e: &ApiError, fatal: &CancellationToken) -> SendError {
    let text = e.to_string();
    match e.failure() {
        Failure::RateLimited => SendError::RetryAfter(RATE_LIMITED_WAIT),
        Failure::Unauthorized => {
            tracing::error!(
                "Zalo từ chối mã bot (401) / Zalo refused the bot token (401): check ZALO_BOT_TOKEN"
            );
            fatal.cancel();
            SendError::Transient(text)
        }
        Failure::Transient | Failure::Idle => SendError::Transient(text),
        Failure::Refused => SendError::Refused(text),
    }
}

/// The message id in a `sendMessage` result (a string, or a number on some servers).
fn message_id(result: &Value) -> String {
    match result.get("message_id") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

impl ZaloSender {
    /// Sends `text` in parts of at most 2,000 characters; returns the first part's id.
    async fn send_parts(&self, chat: &str, text: &str) -> Result<String, SendError> {
        let mut first = None;
        for part in split_plain(text, MAX_CHARS) {
            let body = json!({"chat_id": chat, "text": part});
            let result = self
                .client
                .call("sendMessage", &body, CALL_TIMEOUT)
                .await
                .map_err(|e| sort(&e, &self.fatal))?;
            first.get_or_insert_with(|| message_id(&result));
        }
        Ok(first.unwrap_or_default())
    }
}

impl ZaloSender {
    /// Sends a broadcast's post: an image first (`sendPhoto` by its public link), then the
    /// text with what Zalo cannot show otherwise. Returns the first message's id.
    async fn send_post(&self, chat: &str, d: &ClaimedDelivery) -> Result<String, SendError> {
        let attachment = d.attachment.as_deref();
        if attachment.is_some()
            && self.public_url.is_none()
            && !self.warned.swap(true, Ordering::Relaxed)
        {
            tracing::warn!(
                "chưa đặt GOPY_PUBLIC_URL: tệp đính kèm không gửi được qua Zalo, chỉ gửi nội dung / \
                 GOPY_PUBLIC_URL is not set: attachments cannot go to Zalo, only the text does"
            );
        }
        let mut first = None;
        if let (Some(a), Some(base)) = (attachment, self.public_url.as_deref())
            && a.is_image()
        {
            let photo = crate::announce::attachment::link(base, &a.token);
            let body = json!({"chat_id": chat, "photo": photo});
            let result = self
                .client
                .call("sendPhoto", &body, CALL_TIMEOUT)
                .await
                .map_err(|e| sort(&e, &self.fatal))?;
            first = Some(message_id(&result));
        }
        let text = zalo_text(
            &d.text,
            attachment,
            self.public_url.as_deref(),
            d.button.as_ref(),
        );
        let id = self.send_parts(chat, &text).await?;
        Ok(first.unwrap_or(id))
    }
}

#[async_trait]
impl Sender for ZaloSender {
    async fn send(&self, chat: &str, text: &str) -> Result<String, SendError> {
        self.send_parts(chat, text).await
    }

    /// For an assisted group, the lead gets where to post, the post itself (to copy as it
    /// is), and how to confirm: Zalo has no buttons, so they reply `ĐÃ ĐĂNG <số>`.
    async fn send_delivery(&self, d: &ClaimedDelivery) -> Result<String, SendError> {
        let Some(a) = &d.assisted else {
            return self.send_post(&d.chat, d).await;
        };
        let plain = |msg: Msg| self.l10n.msg(Locale::Vi, &msg, Markup::Plain);
        let intro = plain(crate::announce::groups::assisted_intro(a));
        self.send_parts(&d.chat, &intro).await?;
        let id = self.send_post(&d.chat, d).await?;
        let ask = plain(Msg::new("assisted-confirm-text-hint").num("number", d.id));
        self.send_parts(&d.chat, &ask).await?;
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_sorted_into_the_outboxs_classes() {
        let fatal = CancellationToken::new();
        let api = |code| ApiError::Api {
            code,
            description: "x".into(),
        };
        assert_eq!(
            sort(&api(429), &fatal),
            SendError::RetryAfter(RATE_LIMITED_WAIT)
        );
        assert!(matches!(sort(&api(403), &fatal), SendError::Transient(_)));
        assert!(matches!(sort(&api(502), &fatal), SendError::Transient(_)));
        assert!(matches!(sort(&api(400), &fatal), SendError::Refused(_)));
        assert!(!fatal.is_cancelled());
        assert!(matches!(sort(&api(401), &fatal), SendError::Transient(_)));
        assert!(fatal.is_cancelled(), "a refused token stops the adapter");
    }

    #[test]
    fn message_ids_may_be_strings_or_numbers() {
        assert_eq!(message_id(&json!({"message_id": "82599fa3"})), "82599fa3");
        assert_eq!(message_id(&json!({"message_id": 12})), "12");
        assert_eq!(message_id(&json!({})), "");
    }
}
