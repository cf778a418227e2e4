//! Sending to Zalo: replies rendered as plain text with numbered choices (Zalo has no buttons
//! and no Markdown), split into messages of at most 2,000 characters, and gopy's policy on
//! Zalo's errors: 429 → back off and retry, 401 → a configuration error that stops the
//! adapter, 403/5xx/network → retry with a capped pause, anything else → logged, given up.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::dialog::{Msg, Reply};
use crate::domain::Locale;
use crate::i18n::{Localizer, Markup};

use super::client::{CALL_TIMEOUT, Client, Failure};
use super::split::{MAX_CHARS, split_plain};

/// How many times one message is tried before giving up.
const MAX_ATTEMPTS: u32 = 6;

/// The first pause after a 429 (doubled after each one).
const FIRST_BACKOFF: Duration = Duration::from_secs(1);

/// The longest pause between two tries.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// The Fluent id that opens the consent notice: on Zalo the bot says above it that it is
/// automated software, as Zalo's rules ask.
const CONSENT_NOTICE: &str = "consent-notice";

/// What happened to one send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Sent {
    /// Delivered to Zalo.
    Ok,
    /// Not delivered (refused, or still failing after every try).
    Failed,
    /// Zalo refused the token: nothing more can be sent; the adapter stops.
    Unauthorized,
}

/// Sends messages to Zalo with gopy's error policy.
#[derive(Clone)]
pub(super) struct Outbound {
    /// The client.
    pub client: Client,
    /// Text rendering.
    pub l10n: Arc<Localizer>,
    /// Cancelled when Zalo refuses the token: the adapter then stops with a clear message.
    pub fatal: CancellationToken,
}

impl Outbound {
    /// The texts of one reply as Zalo shows it: plain text, numbered choices, the automated
    /// software notice above a consent notice, cut into parts of at most 2,000 characters.
    pub(super) fn render(&self, reply: &Reply) -> Vec<String> {
        let mut reply = reply.clone();
        if let Some(i) = reply
            .paragraphs
            .iter()
            .position(|p| p.key == CONSENT_NOTICE)
        {
            reply.paragraphs.insert(i, Msg::new("zalo-bot-disclosure"));
        }
        let rendered = self.l10n.reply(&reply, Markup::Plain, false);
        split_plain(&rendered.text, MAX_CHARS)
    }

    /// Sends the replies of one step, in order. Returns [`Sent::Unauthorized`] as soon as
    /// Zalo refuses the token, [`Sent::Ok`] otherwise (a part that could not be sent is
    /// logged, and the rest of that reply is left out so nothing arrives out of order).
    pub(super) async fn send_replies(&self, chat: &str, replies: &[Reply]) -> Sent {
        for reply in replies {
            for part in self.render(reply) {
                match self.send(chat, &part).await {
                    Sent::Ok => {}
                    Sent::Failed => break,
                    Sent::Unauthorized => return Sent::Unauthorized,
                }
            }
        }
        Sent::Ok
    }

    /// Sends a short localised notice.
    pub(super) async fn send_notice(&self, chat: &str, locale: Locale, key: &str) -> Sent {
        let text = self.l10n.msg(locale, &Msg::new(key), Markup::Plain);
        for part in split_plain(&text, MAX_CHARS) {
            let sent = self.send(chat, &part).await;
            if sent != Sent::Ok {
                return sent;
            }
        }
        Sent::Ok
    }

    /// Sends one message of at most 2,000 characters once, without retrying; returns the id
    /// Zalo gave it (for thread posts, whose replies are matched by it; and for the notice to
    /// a group reply's author, where any failure means "cannot be reached").
    pub(super) async fn send_once(
        &self,
        chat: &str,
        text: &str,
    ) -> Result<String, super::client::ApiError> {
        let body = json!({"chat_id": chat, "text": text});
        let answer = self.client.call("sendMessage", &body, CALL_TIMEOUT).await?;
        let id = answer
            .get("message_id")
            .or_else(|| answer.get("msg_id"))
            .and_then(|v| match v {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .unwrap_or_default();
        Ok(id)
    }

    /// Sends one message of at most 2,000 characters, following the policy on failures.
    pub(super) async fn send(&self, chat: &str, text: &str) -> Sent {
        let body = json!({"chat_id": chat, "text": text});
        let mut backoff = FIRST_BACKOFF;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let err = match self.client.call("sendMessage", &body, CALL_TIMEOUT).await {
                Ok(_) => return Sent::Ok,
                Err(e) => e,
            };
            let failure = err.failure();
            metrics::counter!("gopy_zalo_send_errors_total", "class" => failure.class())
                .increment(1);
            match failure {
                Failure::Unauthorized => {
                    tracing::error!(
                        "Zalo từ chối mã bot (401) / Zalo refused the bot token (401): check ZALO_BOT_TOKEN"
                    );
                    self.fatal.cancel();
                    return Sent::Unauthorized;
                }
                Failure::Refused => {
                    tracing::error!(method = "sendMessage", error = %err, "Zalo refused a message");
                    return Sent::Failed;
                }
                _ if attempt >= MAX_ATTEMPTS => {
                    tracing::warn!(method = "sendMessage", attempts = attempt, error = %err, "giving up on a message");
                    return Sent::Failed;
                }
                Failure::RateLimited => {
                    tracing::debug!(
                        seconds = backoff.as_secs_f64(),
                        "Zalo's quota is exceeded (429); backing off"
                    );
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
                Failure::Transient | Failure::Idle => {
                    let pause =
                        (Duration::from_millis(250) * (1 << attempt.min(7))).min(MAX_BACKOFF);
                    tracing::debug!(attempt, error = %err, "sending to Zalo failed; retrying");
                    tokio::time::sleep(pause).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialog::Choice;

    fn outbound() -> Outbound {
        Outbound {
            client: Client::new(&url::Url::parse("http://127.0.0.1:9").expect("url"), "1:t")
                .expect("client"),
            l10n: Arc::new(Localizer::new().expect("locales")),
            fatal: CancellationToken::new(),
        }
    }

    #[test]
    fn choices_are_numbered_lines_in_plain_text() {
        let out = outbound();
        let reply = Reply {
            locale: Locale::Vi,
            paragraphs: vec![Msg::new("consent-question")],
            choices: vec![
                Choice {
                    data: "1:named".into(),
                    label: Msg::new("choice-named"),
                },
                Choice {
                    data: "1:anon".into(),
                    label: Msg::new("choice-anonymous"),
                },
            ],
        };
        let parts = out.render(&reply);
        assert_eq!(parts.len(), 1);
        assert!(
            parts[0].ends_with("1. Đồng ý, góp ý có tên\n2. Đồng ý, góp ý ẩn danh"),
            "{}",
            parts[0]
        );
        assert!(!parts[0].contains('<'), "no markup: {}", parts[0]);
    }

    #[test]
    fn the_consent_notice_is_preceded_by_the_automated_software_notice() {
        let out = outbound();
        let reply = Reply {
            locale: Locale::Vi,
            paragraphs: vec![
                Msg::new(CONSENT_NOTICE)
                    .text("issuer", "UBND phường")
                    .text("document", "dự thảo")
                    .text("purpose", "tổng hợp")
                    .num("months", 12),
            ],
            choices: vec![],
        };
        let text = out.render(&reply).join("\n");
        let disclosure = out
            .l10n
            .msg(Locale::Vi, &Msg::new("zalo-bot-disclosure"), Markup::Plain);
        assert!(text.starts_with(&disclosure), "{text}");
        assert!(disclosure.contains("tự động"), "{disclosure}");
    }
}
