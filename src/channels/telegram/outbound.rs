//! Sending to Telegram: replies rendered as HTML with inline keyboards, split when too long,
//! and what to do when Telegram says no (wait on 429, stop on 403, retry network and server
//! errors a few times, log a 400 with the method and Telegram's description).

use std::sync::Arc;
use std::time::Duration;

use teloxide::payloads::{AnswerCallbackQuerySetters as _, SendMessageSetters as _};
use teloxide::requests::{Request as _, Requester as _};
use teloxide::types::{
    CallbackQueryId, ChatId, InlineKeyboardButton, InlineKeyboardMarkup, MessageId, ParseMode,
    ReplyParameters,
};
use teloxide::{ApiError, Bot, RequestError};

use crate::dialog::{Msg, Reply};
use crate::domain::Locale;
use crate::i18n::{Localizer, Markup};

use super::split::{MAX_VISIBLE, split_html};

/// How many times one message is tried before giving up.
const MAX_ATTEMPTS: u32 = 5;

/// The longest `retry_after` we wait for; longer ones are capped (Telegram rarely asks more).
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Labels up to this many characters are short: two such buttons share a row.
const SHORT_LABEL: usize = 16;

/// How a failed call is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Failure {
    /// 429: wait this long, then try again.
    RetryAfter(Duration),
    /// 403: the resident blocked the bot, deleted their account, or the bot left the group.
    Blocked,
    /// The group became a supergroup with this id.
    Migrated(ChatId),
    /// The network or Telegram's servers failed: try again after a pause.
    Transient,
    /// Telegram refused the request itself (a 400): trying again would fail the same way.
    Refused,
}

impl Failure {
    /// The `class` label of `gopy_telegram_send_errors_total`.
    pub(super) fn class(self) -> &'static str {
        match self {
            Failure::RetryAfter(_) => "retry_after",
            Failure::Blocked => "blocked",
            Failure::Migrated(_) => "migrated",
            Failure::Transient => "transient",
            Failure::Refused => "refused",
        }
    }
}

/// Sorts a teloxide error into how it is handled.
pub(super) fn classify(e: &RequestError) -> Failure {
    match e {
        RequestError::RetryAfter(s) => Failure::RetryAfter(s.duration().min(MAX_RETRY_AFTER)),
        RequestError::MigrateToChatId(id) => Failure::Migrated(*id),
        RequestError::Network(_) | RequestError::InvalidJson { .. } | RequestError::Io(_) => {
            Failure::Transient
        }
        RequestError::Api(api) => match api {
            ApiError::BotBlocked
            | ApiError::UserDeactivated
            | ApiError::BotKicked
            | ApiError::BotKickedFromSupergroup
            | ApiError::BotKickedFromChannel
            | ApiError::CantInitiateConversation
            | ApiError::CantTalkWithBots
            | ApiError::GroupDeactivated => Failure::Blocked,
            ApiError::Unknown(d) if d.starts_with("Forbidden") => Failure::Blocked,
            ApiError::Unknown(d) if is_server_error(d) => Failure::Transient,
            _ => Failure::Refused,
        },
    }
}

/// Whether a description is one of the 5xx answers Telegram (or a proxy before it) gives.
fn is_server_error(description: &str) -> bool {
    [
        "Internal Server Error",
        "Bad Gateway",
        "Service Unavailable",
        "Gateway Timeout",
    ]
    .iter()
    .any(|s| description.starts_with(s))
}

/// Removes the bot token from a text before it is logged (teloxide hides it in URLs, but
/// only when it looks like a real token).
pub(super) fn redact(text: &str, token: &str) -> String {
    if token.is_empty() {
        text.to_owned()
    } else {
        text.replace(token, "<token>")
    }
}

/// Lays out buttons: one per row, two per row when both labels are short. Buttons whose data
/// Telegram would refuse (over 64 bytes) are left out and logged, so the message still goes.
pub(super) fn keyboard(buttons: &[(String, String)]) -> Option<InlineKeyboardMarkup> {
    let buttons: Vec<&(String, String)> = buttons
        .iter()
        .filter(|(data, _)| {
            let ok = (1..=64).contains(&data.len());
            if !ok {
                tracing::error!(bytes = data.len(), "button data over 64 bytes left out");
            }
            ok
        })
        .collect();
    if buttons.is_empty() {
        return None;
    }
    let short = |label: &str| label.chars().count() <= SHORT_LABEL;
    let mut rows: Vec<Vec<InlineKeyboardButton>> = Vec::new();
    let mut i = 0;
    while i < buttons.len() {
        let (data, label) = buttons[i];
        let pair = buttons
            .get(i + 1)
            .filter(|(_, next)| short(label) && short(next));
        let mut row = vec![InlineKeyboardButton::callback(label.clone(), data.clone())];
        if let Some((d, l)) = pair {
            row.push(InlineKeyboardButton::callback(l.clone(), d.clone()));
            i += 1;
        }
        rows.push(row);
        i += 1;
    }
    Some(InlineKeyboardMarkup::new(rows))
}

/// What happened to one send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Sent {
    /// Delivered to Telegram.
    Ok,
    /// Not delivered; later messages to this chat may still go.
    Failed,
    /// The chat is closed to us (blocked, deactivated): send nothing more there now.
    Closed,
}

/// Sends messages to Telegram with gopy's error policy.
#[derive(Clone)]
pub(super) struct Outbound {
    /// The client.
    pub bot: Bot,
    /// Text rendering.
    pub l10n: Arc<Localizer>,
    /// The token, to keep it out of logs.
    pub token: Arc<str>,
    /// The account's limiter shared with the outbox: each message sent here is a reply to a
    /// resident or staff member, goes at once and pushes broadcasts back.
    pub limiter: Option<Arc<tokio::sync::Mutex<crate::announce::limiter::Limiter>>>,
}

impl Outbound {
    /// Sends the replies of one update, in order; stops at a closed chat.
    pub async fn send_replies(&self, chat: ChatId, replies: &[Reply]) {
        for reply in replies {
            let rendered = self.l10n.reply(reply, Markup::TelegramHtml, true);
            let markup = keyboard(&rendered.buttons);
            let text = if rendered.text.trim().is_empty() {
                if markup.is_none() {
                    continue;
                }
                self.l10n
                    .msg(reply.locale, &Msg::new("tg-choose"), Markup::TelegramHtml)
            } else {
                rendered.text
            };
            let parts = split_html(&text, MAX_VISIBLE);
            let last = parts.len().saturating_sub(1);
            for (i, part) in parts.into_iter().enumerate() {
                let markup = if i == last { markup.clone() } else { None };
                match self.send(chat, part, markup, None).await {
                    Sent::Ok => {}
                    Sent::Failed => break,
                    Sent::Closed => return,
                }
            }
        }
    }

    /// Sends a short localised notice (no keyboard).
    pub async fn send_notice(&self, chat: ChatId, locale: Locale, msg: &Msg) -> Sent {
        let text = self.l10n.msg(locale, msg, Markup::TelegramHtml);
        self.send(chat, text, None, None).await
    }

    /// Sends one message (HTML), following gopy's policy on failures.
    pub async fn send(
        &self,
        chat: ChatId,
        text: String,
        markup: Option<InlineKeyboardMarkup>,
        reply_to: Option<MessageId>,
    ) -> Sent {
        self.send_for_id(chat, text, markup, reply_to).await.0
    }

    /// [`Outbound::send`], also returning the message's id when Telegram took it (to edit
    /// the message later).
    pub async fn send_for_id(
        &self,
        mut chat: ChatId,
        text: String,
        markup: Option<InlineKeyboardMarkup>,
        reply_to: Option<MessageId>,
    ) -> (Sent, Option<MessageId>) {
        let mut attempt = 0;
        loop {
            attempt += 1;
            if let Some(limiter) = &self.limiter {
                limiter.lock().await.note_reply(tokio::time::Instant::now());
            }
            let mut req = self
                .bot
                .send_message(chat, text.clone())
                .parse_mode(ParseMode::Html);
            if let Some(m) = &markup {
                req = req.reply_markup(m.clone());
            }
            if let Some(id) = reply_to {
                req = req.reply_parameters(ReplyParameters::new(id).allow_sending_without_reply());
            }
            let err = match req.send().await {
                Ok(m) => return (Sent::Ok, Some(m.id)),
                Err(e) => e,
            };
            let failure = classify(&err);
            metrics::counter!("gopy_telegram_send_errors_total", "class" => failure.class())
                .increment(1);
            let description = redact(&err.to_string(), &self.token);
            match failure {
                Failure::Blocked => {
                    tracing::info!(error = %description, "the chat is closed to the bot; not sending there");
                    return (Sent::Closed, None);
                }
                Failure::Refused => {
                    tracing::error!(method = "sendMessage", error = %description, "Telegram refused a message");
                    return (Sent::Failed, None);
                }
                _ if attempt >= MAX_ATTEMPTS => {
                    tracing::warn!(method = "sendMessage", attempts = attempt, error = %description, "giving up on a message");
                    return (Sent::Failed, None);
                }
                Failure::RetryAfter(wait) => {
                    tracing::debug!(seconds = wait.as_secs(), "Telegram asked to slow down");
                    tokio::time::sleep(wait).await;
                }
                Failure::Migrated(new) => {
                    tracing::info!("a group became a supergroup; sending to its new id");
                    chat = new;
                }
                Failure::Transient => {
                    tracing::debug!(attempt, error = %description, "sending failed; retrying");
                    tokio::time::sleep(Duration::from_millis(250 << attempt.min(5))).await;
                }
            }
        }
    }

    /// Answers a callback query so the resident's client stops its spinner. One try, plus
    /// one more after a 429: a late answer is useless, and a stale query cannot be answered.
    pub async fn answer_callback(&self, id: CallbackQueryId) {
        for _ in 0..2 {
            match self
                .bot
                .answer_callback_query(id.clone())
                .cache_time(0)
                .send()
                .await
            {
                Ok(_) => return,
                Err(e) => {
                    let failure = classify(&e);
                    metrics::counter!("gopy_telegram_send_errors_total", "class" => failure.class())
                        .increment(1);
                    let description = redact(&e.to_string(), &self.token);
                    match failure {
                        Failure::RetryAfter(wait) if wait <= Duration::from_secs(5) => {
                            tokio::time::sleep(wait).await;
                        }
                        _ => {
                            tracing::debug!(method = "answerCallbackQuery", error = %description, "cannot answer a callback query");
                            return;
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc as StdArc;

    use teloxide::types::{InlineKeyboardButtonKind, Seconds};

    use super::*;

    fn labels(markup: &InlineKeyboardMarkup) -> Vec<Vec<String>> {
        markup
            .inline_keyboard
            .iter()
            .map(|row| row.iter().map(|b| b.text.clone()).collect())
            .collect()
    }

    #[test]
    fn short_labels_share_rows_and_long_ones_stand_alone() {
        let b = |d: &str, l: &str| (d.to_owned(), l.to_owned());
        let markup = keyboard(&[
            b("1:named", "Có tên"),
            b("1:anon", "Ẩn danh"),
            b("1:topic:a", "Phát triển kinh tế địa phương"),
            b("1:menu", "Về danh sách"),
            b("1:skip", "Bỏ qua"),
            b("1:next", "Chủ đề tiếp theo của dự thảo"),
        ])
        .expect("a keyboard");
        assert_eq!(
            labels(&markup),
            vec![
                vec!["Có tên", "Ẩn danh"],
                vec!["Phát triển kinh tế địa phương"],
                vec!["Về danh sách", "Bỏ qua"],
                vec!["Chủ đề tiếp theo của dự thảo"],
            ]
        );
        let InlineKeyboardButtonKind::CallbackData(d) = &markup.inline_keyboard[0][1].kind else {
            panic!("a callback button")
        };
        assert_eq!(d, "1:anon");
    }

    #[test]
    fn buttons_with_data_over_64_bytes_are_left_out() {
        let long = "ệ".repeat(22);
        let markup =
            keyboard(&[(long, "Sai".into()), ("1:ok".into(), "Đúng".into())]).expect("a keyboard");
        assert_eq!(labels(&markup), vec![vec!["Đúng"]]);
        assert!(keyboard(&[]).is_none());
    }

    #[test]
    fn errors_are_sorted_into_what_to_do() {
        assert_eq!(
            classify(&RequestError::RetryAfter(Seconds::from_seconds(3))),
            Failure::RetryAfter(Duration::from_secs(3))
        );
        assert_eq!(
            classify(&RequestError::RetryAfter(Seconds::from_seconds(3600))),
            Failure::RetryAfter(MAX_RETRY_AFTER)
        );
        assert_eq!(
            classify(&RequestError::Api(ApiError::BotBlocked)),
            Failure::Blocked
        );
        assert_eq!(
            classify(&RequestError::Api(ApiError::UserDeactivated)),
            Failure::Blocked
        );
        assert_eq!(
            classify(&RequestError::Api(ApiError::Unknown(
                "Forbidden: bot was kicked from the group chat".into()
            ))),
            Failure::Blocked
        );
        assert_eq!(
            classify(&RequestError::Api(ApiError::Unknown("Bad Gateway".into()))),
            Failure::Transient
        );
        assert_eq!(
            classify(&RequestError::Api(ApiError::Unknown(
                "Internal Server Error".into()
            ))),
            Failure::Transient
        );
        assert_eq!(
            classify(&RequestError::Api(ApiError::ButtonDataInvalid)),
            Failure::Refused
        );
        assert_eq!(
            classify(&RequestError::MigrateToChatId(ChatId(-100_123))),
            Failure::Migrated(ChatId(-100_123))
        );
        assert_eq!(
            classify(&RequestError::Io(StdArc::new(std::io::Error::other(
                "reset"
            )))),
            Failure::Transient
        );
    }

    #[test]
    fn the_token_never_survives_redaction() {
        let token = "123456:AAF7-g0gYncWnm5IyfZlpPRqRRv6kNAGlao";
        let text =
            format!("error sending request for url (https://api.telegram.org/bot{token}/GetMe)");
        let clean = redact(&text, token);
        assert!(!clean.contains("AAF7"), "{clean}");
        assert!(clean.contains("bot<token>/GetMe"));
    }
}
