//! Replies to a resident through the OA (`POST /v3.0/oa/message/cs`): plain text with
//! numbered choices, cut into parts of at most 2,000 characters after NFC (the Bot API
//! adapter's rendering rules and splitter), within the messaging window — free for 48 hours
//! after the user's last interaction, billed up to 7 days, refused after. Outside it nothing
//! is sent and the reason is recorded (`zalo_oa_unsent`, `gopy_zalo_oa_unsent_total`).
//! Zalo's errors: `-32` backs off and retries; `-230`/`-232` are recorded as the window;
//! `-213`/`-217`/`-227` mark the user unreachable (and turn their announcements off); 5xx and
//! network errors retry with a capped pause.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;

use super::api::Api;
use super::client::{ApiError, Failure};
use crate::channels::zalo::split::{MAX_CHARS, split_plain};
use crate::dialog::{Msg, Reply};
use crate::domain::Locale;
use crate::i18n::{Localizer, Markup};
use crate::service::Clock;
use crate::store::Store;
use crate::store::zalo_oa::UnsentReason;

/// The path of a reply to a user.
pub const CS_PATH: &str = "/v3.0/oa/message/cs";

/// Free messaging after the user's last interaction.
pub const FREE_WINDOW: chrono::Duration = chrono::Duration::hours(48);

/// Messaging after the user's last interaction, billed past [`FREE_WINDOW`]; refused after.
pub const WINDOW: chrono::Duration = chrono::Duration::days(7);

/// How many times one message is tried before giving up.
const MAX_ATTEMPTS: u32 = 6;

/// The longest pause between two tries.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// The Fluent id that opens the consent notice (the automated-software notice goes above it).
const CONSENT_NOTICE: &str = "consent-notice";

/// Where a user stands in the messaging window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// Within 48 hours of their last interaction: free.
    Free,
    /// Within 7 days: allowed, billed.
    Billed,
    /// Later, or no interaction known: Zalo refuses.
    Closed,
}

/// The window for a user whose last interaction was `last`, at `now`.
pub fn window(last: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Window {
    match last {
        Some(t) if now - t <= FREE_WINDOW => Window::Free,
        Some(t) if now - t <= WINDOW => Window::Billed,
        _ => Window::Closed,
    }
}

/// What happened to a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// Zalo accepted it.
    Ok,
    /// Not sent on purpose (window, unreachable user, no token); recorded.
    Withheld,
    /// Zalo refused it or kept failing.
    Failed,
}

/// The contact's external id for an OA user: kept apart from Bot API ids.
pub fn contact_id(user: &str) -> String {
    format!("oa:{user}")
}

/// Sends to residents through the OA.
#[derive(Clone)]
pub struct Outbound {
    /// The API with tokens.
    pub api: Api,
    /// Text rendering.
    pub l10n: Arc<Localizer>,
    /// Where the window and refusals are kept.
    pub store: Arc<dyn Store>,
    /// The clock.
    pub clock: Clock,
}

impl Outbound {
    /// The texts of one reply: plain text, numbered choices, the automated-software notice
    /// above a consent notice, cut into parts of at most 2,000 characters.
    pub fn render(&self, reply: &Reply) -> Vec<String> {
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

    /// Sends a step's replies in order, if the window allows; a part that fails ends the
    /// step's sending (so nothing arrives out of order).
    pub async fn send_replies(&self, user: &str, replies: &[Reply]) -> Sent {
        if !self.window_open(user).await {
            return Sent::Withheld;
        }
        for reply in replies {
            for part in self.render(reply) {
                let sent = self.send_text(user, &part).await;
                if sent != Sent::Ok {
                    return sent;
                }
            }
        }
        Sent::Ok
    }

    /// Sends a short localised notice, if the window allows.
    pub async fn send_notice(&self, user: &str, locale: Locale, key: &str) -> Sent {
        if !self.window_open(user).await {
            return Sent::Withheld;
        }
        let text = self.l10n.msg(locale, &Msg::new(key), Markup::Plain);
        for part in split_plain(&text, MAX_CHARS) {
            let sent = self.send_text(user, &part).await;
            if sent != Sent::Ok {
                return sent;
            }
        }
        Sent::Ok
    }

    /// Whether the user's window is open; a closed one is recorded. When the database cannot
    /// say, the message is tried (Zalo enforces the window itself).
    pub(super) async fn window_open(&self, user: &str) -> bool {
        let now = (self.clock)();
        let last = match self.store.oa_user(user).await {
            Ok(u) => u.and_then(|u| u.last_interaction_at),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the OA user's window; trying to send");
                return true;
            }
        };
        match window(last, now) {
            Window::Free => true,
            Window::Billed => {
                metrics::counter!("gopy_zalo_oa_billed_messages_total").increment(1);
                true
            }
            Window::Closed => {
                self.not_sent(user, UnsentReason::Window, None).await;
                false
            }
        }
    }

    /// Records a message not sent.
    async fn not_sent(&self, user: &str, reason: UnsentReason, code: Option<i64>) {
        metrics::counter!("gopy_zalo_oa_unsent_total", "reason" => reason.as_str()).increment(1);
        tracing::info!(
            reason = reason.as_str(),
            code,
            "a Zalo OA message was not sent"
        );
        let now = (self.clock)();
        if let Err(e) = self.store.oa_record_unsent(user, reason, code, now).await {
            tracing::warn!(error = %e, "cannot record a Zalo OA message not sent");
        }
    }

    /// Sends one part of at most 2,000 characters, following the policy on failures.
    pub async fn send_text(&self, user: &str, text: &str) -> Sent {
        self.send_message(user, json!({"text": text})).await
    }

    /// Sends one `message` object (a text, an image, a file, a text with buttons) to the
    /// user, following the policy on failures. The window is not checked here: the caller
    /// checks it once for the messages that belong together.
    pub async fn send_message(&self, user: &str, message: serde_json::Value) -> Sent {
        let body = json!({"recipient": {"user_id": user}, "message": message});
        let mut attempt = 0;
        loop {
            attempt += 1;
            let err = match self.api.post(CS_PATH, &body).await {
                Ok(_) => return Sent::Ok,
                Err(e) => e,
            };
            let failure = err.failure();
            metrics::counter!("gopy_zalo_oa_send_errors_total", "class" => failure.class())
                .increment(1);
            match failure {
                Failure::Window => {
                    self.not_sent(user, UnsentReason::Window, err.code()).await;
                    return Sent::Withheld;
                }
                Failure::Unreachable => {
                    self.unreachable(user, &err).await;
                    return Sent::Withheld;
                }
                Failure::NoToken | Failure::TokenRefused => {
                    tracing::warn!(error = %err, "no usable Zalo OA token: a reply was not sent");
                    return Sent::Withheld;
                }
                Failure::Refused | Failure::GroupLost => {
                    tracing::error!(error = %err, "Zalo refused an OA message");
                    self.not_sent(user, UnsentReason::Refused, err.code()).await;
                    return Sent::Failed;
                }
                _ if attempt >= MAX_ATTEMPTS => {
                    tracing::warn!(attempts = attempt, error = %err, "giving up on an OA message");
                    return Sent::Failed;
                }
                Failure::RateLimited | Failure::Transient => {
                    let pause = backoff(attempt);
                    tracing::debug!(attempt, error = %err, pause_ms = pause.as_millis() as u64, "sending through the OA failed; retrying");
                    tokio::time::sleep(pause).await;
                }
            }
        }
    }

    /// The user cannot be reached: recorded, and their announcements turned off.
    async fn unreachable(&self, user: &str, err: &ApiError) {
        let code = err.code().unwrap_or_default();
        let now = (self.clock)();
        if let Err(e) = self
            .store
            .oa_user_unreachable(user, &contact_id(user), code, now)
            .await
        {
            tracing::warn!(error = %e, "cannot record an unreachable OA user");
        }
        self.not_sent(user, UnsentReason::Unreachable, Some(code))
            .await;
    }
}

/// The pause before try `attempt + 1`: 0.5 s doubling, capped.
pub fn backoff(attempt: u32) -> Duration {
    (Duration::from_millis(250) * (1 << attempt.min(7))).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_free_for_48_hours_billed_to_7_days_then_closed() {
        let now = Utc::now();
        assert_eq!(window(Some(now), now), Window::Free);
        assert_eq!(
            window(Some(now - chrono::Duration::hours(47)), now),
            Window::Free
        );
        assert_eq!(
            window(Some(now - chrono::Duration::hours(49)), now),
            Window::Billed
        );
        assert_eq!(
            window(
                Some(now - chrono::Duration::days(7) + chrono::Duration::minutes(1)),
                now
            ),
            Window::Billed
        );
        assert_eq!(
            window(Some(now - chrono::Duration::days(8)), now),
            Window::Closed
        );
        assert_eq!(window(None, now), Window::Closed);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(1), Duration::from_millis(500));
        assert_eq!(backoff(2), Duration::from_secs(1));
        assert_eq!(backoff(30), MAX_BACKOFF);
    }
}
