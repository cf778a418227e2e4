//! The Telegram channel: teloxide's client pointed at `TELEGRAM_API_URL`, our own long-polling
//! loop (no dispatcher, no dialogue storage: dialog state lives in our store), and rendering
//! with inline keyboards.
//!
//! Layout:
//! - `mod.rs`: [`TelegramBot`] — start-up (`getMe`, bot commands) and the [`Handler`] it
//!   feeds (the dialog shell, [`Dialogs`]).
//! - `broadcast.rs`: the outbox's sender on Telegram (broadcasts to groups).
//! - `groups.rs`: groups the bot is added to or removed from, their titles and migrations, and
//!   the staff commands `/link`, `/bind`, `/unbind` (stored through [`crate::announce`]).
//! - `moderation/`: group posts screened, `/report`, `/flag`, moderators' cards and their
//!   buttons, author notices and `/appeal` (decided by [`crate::moderation`]).
//! - `replies.rs`: replies in bound groups recorded as opinions or agreements, the private
//!   notice and its buttons, acknowledgements, and the loop that sends thread posts.
//! - `reports.rs`: reports delivered to subscribed officials on their due dates.
//! - `inbound.rs`: Telegram updates → what to do with them (pure, tested per update kind).
//! - `webhook.rs`: webhook mode — `setWebhook`, the route that checks the secret and commits
//!   each update to the shared inbox before its 200, and the inbox processor's handling of
//!   an update (the polling loop's own).
//! - `polling.rs`: the loop: batches, one resident's updates in order, offsets confirmed only
//!   after a batch is committed, retries while storage is down, shutdown.
//! - `outbound.rs`: rendering, keyboards, sending, and the policy on Telegram's errors.
//! - `split.rs`: splitting messages longer than Telegram allows.

mod approvals;
mod broadcast;
mod groups;
mod inbound;
mod moderation;
mod outbound;
mod polling;
mod replies;
mod reports;
mod split;
mod webhook;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use teloxide::payloads::SetMyCommandsSetters as _;
use teloxide::requests::{Request as _, Requester as _};
use teloxide::types::{BotCommand, Me};
use teloxide::{ApiError, Bot, RequestError};
use tokio_util::sync::CancellationToken;

use crate::dialog::{Msg, Reply};
use crate::domain::{CollectionWindow, ContactKey, Locale, PhaseKind};
use crate::i18n::{Localizer, Markup};
use crate::service::{Dialogs, Inbound, ServiceError};
use crate::store::Store;

use outbound::{Outbound, redact};
use polling::{POLL_TIMEOUT_SECS, Poller};

/// The commands shown in Telegram's menu, with the Fluent id of their description.
const COMMANDS: [(&str, &str); 10] = [
    ("start", "tg-cmd-start"),
    ("my", "tg-cmd-my"),
    ("help", "tg-cmd-help"),
    ("language", "tg-cmd-language"),
    ("privacy", "tg-cmd-privacy"),
    ("cancel", "tg-cmd-cancel"),
    ("delete_me", "tg-cmd-delete-me"),
    ("notices", "tg-cmd-notices"),
    ("lienket", "tg-cmd-link-account"),
    ("appeal", "tg-cmd-appeal"),
];

/// What the Telegram adapter needs from the dialog shell. [`Dialogs`] is the real one; the
/// trait lets the adapter's own tests drive it without a campaign.
#[async_trait]
pub trait Handler: Send + Sync + 'static {
    /// Runs one inbound event to a committed step and returns the replies (see
    /// [`Dialogs::handle`]).
    async fn handle(&self, ev: &Inbound) -> Result<Vec<Reply>, ServiceError>;

    /// Runs several events in as few transactions as it can and returns, for each event,
    /// its replies when its step was committed, `None` when it was not (it is then handled
    /// one by one with [`Handler::handle`]). One resident's events are all committed or none.
    /// See [`Dialogs::handle_batch`]. This default commits none.
    async fn handle_batch(&self, evs: &[Inbound]) -> Vec<Option<Vec<Reply>>> {
        vec![None; evs.len()]
    }

    /// The deep-link payload that a `/start` in a group links to (the slug of the campaign
    /// open for collection), if any.
    async fn start_payload(&self) -> Option<String> {
        None
    }

    /// The present instant (the dialog shell's clock; tests move it).
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now()
    }

    /// The store group events and staff commands are kept in; without one they are skipped.
    fn store(&self) -> Option<Arc<dyn Store>> {
        None
    }

    /// The group-commit writer webhook deliveries are kept through; this default makes one
    /// on the store, if there is one.
    fn inbox_writer(&self) -> Option<crate::store::inbox::InboxWriter> {
        self.store().map(crate::store::inbox::InboxWriter::new)
    }

    /// Where opinions recorded outside the dialog (group replies) go to be screened.
    fn screener(&self) -> Option<crate::moderation::Screener> {
        None
    }

    /// The topic whose opinion step the resident is at, if any (see
    /// [`Dialogs::opinion_topic`]). This default says none: files are not kept.
    async fn opinion_topic(&self, _key: &ContactKey) -> Result<Option<String>, ServiceError> {
        Ok(None)
    }

    /// Runs an event whose file was kept and attaches it to the opinion the step saves (see
    /// [`Dialogs::handle_with_file`]). This default only runs the event.
    async fn handle_with_file(
        &self,
        ev: &Inbound,
        _file: &crate::store::replies::NewFile,
    ) -> Result<(Vec<Reply>, bool), ServiceError> {
        Ok((self.handle(ev).await?, false))
    }
}

#[async_trait]
impl Handler for Dialogs {
    fn store(&self) -> Option<Arc<dyn Store>> {
        Some(Dialogs::store(self).clone())
    }

    fn inbox_writer(&self) -> Option<crate::store::inbox::InboxWriter> {
        Some(Dialogs::inbox_writer(self))
    }

    fn screener(&self) -> Option<crate::moderation::Screener> {
        Dialogs::screener(self).cloned()
    }

    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        Dialogs::now(self)
    }

    async fn handle(&self, ev: &Inbound) -> Result<Vec<Reply>, ServiceError> {
        Dialogs::handle(self, ev).await
    }

    async fn handle_batch(&self, evs: &[Inbound]) -> Vec<Option<Vec<Reply>>> {
        Dialogs::handle_batch(self, evs).await
    }

    async fn opinion_topic(&self, key: &ContactKey) -> Result<Option<String>, ServiceError> {
        Dialogs::opinion_topic(self, key).await
    }

    async fn handle_with_file(
        &self,
        ev: &Inbound,
        file: &crate::store::replies::NewFile,
    ) -> Result<(Vec<Reply>, bool), ServiceError> {
        Dialogs::handle_with_file(self, ev, file).await
    }

    async fn start_payload(&self) -> Option<String> {
        let now = self.now();
        let campaigns = self.campaigns(None).await.ok()?;
        campaigns
            .iter()
            .filter(|c| matches!(c.window(now), CollectionWindow::Open(_)))
            .max_by_key(|c| c.phase(PhaseKind::Collect).map(|p| p.starts_at))
            .map(|c| c.slug.clone())
            .filter(|s| {
                (1..=64).contains(&s.len())
                    && s.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            })
    }
}

/// The running Telegram bot.
pub struct TelegramBot {
    /// The dialog shell.
    handler: Arc<dyn Handler>,
    /// Text rendering.
    l10n: Arc<Localizer>,
    /// Bot token (never logged).
    token: String,
    /// Bot API base URL.
    api_url: url::Url,
    /// The word lists group posts are screened with; `None` leaves groups unmoderated.
    moderation: Option<crate::moderation::Detector>,
    /// Where files given with group replies are kept; `None` keeps none.
    media: Option<crate::replies::files::MediaSettings>,
    /// Webhook mode (`TELEGRAM_WEBHOOK_URL`); `None` polls.
    webhook: Option<webhook::WebhookMode>,
    /// How the webhook inbox's processor behaves.
    inbox: crate::channels::inbox::InboxSettings,
}

impl TelegramBot {
    /// Builds the bot; nothing is sent until [`TelegramBot::run`].
    pub fn new(dialogs: Dialogs, l10n: Arc<Localizer>, token: String, api_url: url::Url) -> Self {
        Self::with_handler(Arc::new(dialogs), l10n, token, api_url)
    }

    /// Builds the bot around any [`Handler`] (the adapter's tests use a scripted one).
    pub fn with_handler(
        handler: Arc<dyn Handler>,
        l10n: Arc<Localizer>,
        token: String,
        api_url: url::Url,
    ) -> Self {
        Self {
            handler,
            l10n,
            token,
            api_url,
            moderation: None,
            media: None,
            webhook: None,
            inbox: crate::channels::inbox::InboxSettings::default(),
        }
    }

    /// Receives updates by webhook instead of long polling (`TELEGRAM_WEBHOOK_*`).
    pub fn with_webhook(mut self, settings: &crate::config::TelegramWebhookSettings) -> Self {
        self.webhook = Some(webhook::WebhookMode::new(settings, &self.token));
        self
    }

    /// Sets how the webhook inbox's processor leases and waits (tests shorten them).
    pub fn with_inbox_settings(mut self, settings: crate::channels::inbox::InboxSettings) -> Self {
        self.inbox = settings;
        self
    }

    /// "long polling" or "webhook", for the start-up log line.
    pub fn mode(&self) -> &'static str {
        if self.webhook.is_some() {
            "webhook"
        } else {
            "long polling"
        }
    }

    /// In webhook mode, the route Telegram posts updates to; merge it into the HTTP router.
    /// It answers as soon as the server runs, before the bot has connected: updates wait in
    /// the inbox until the processor starts.
    pub fn webhook_router(&self) -> Option<axum::Router> {
        self.webhook
            .as_ref()
            .map(|mode| webhook::router(mode, self.handler.clone()))
    }

    /// Keeps voice notes, photos and documents given with group replies (`GOPY_MEDIA_*`).
    pub fn with_media(mut self, media: crate::replies::files::MediaSettings) -> Self {
        self.media = Some(media);
        self
    }

    /// Moderates bound groups with these word lists (settings from `GOPY_MOD_*`).
    pub fn with_moderation(mut self, detector: crate::moderation::Detector) -> Self {
        self.moderation = Some(detector);
        self
    }

    /// Connects (`getMe`; a refused token is an error), sets the bot commands, then polls for
    /// updates until `shutdown` is cancelled, finishing and confirming the batch in hand.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        // The HTTP timeout must outlast a long poll, or every quiet poll would fail.
        let client = teloxide::net::default_reqwest_settings()
            .timeout(Duration::from_secs(u64::from(POLL_TIMEOUT_SECS) + 15))
            .build()
            .context("cannot build the HTTP client for Telegram")?;
        let bot = Bot::with_client(self.token.clone(), client).set_api_url(self.api_url.clone());
        let token: Arc<str> = self.token.into();
        let Some(me) = connect(&bot, &token, &self.api_url, &shutdown).await? else {
            return Ok(());
        };
        let username = me.user.username.clone().unwrap_or_default();
        set_commands(&bot, &self.l10n, &token).await;
        if let Some(mode) = &self.webhook {
            let Some(()) = set_webhook(&bot, mode, &token, &shutdown).await? else {
                return Ok(());
            };
        }
        tracing::info!(
            "Telegram bot @{username} connected ({})",
            if self.webhook.is_some() {
                "webhook"
            } else {
                "long polling"
            }
        );
        // The outbox worker sends broadcasts beside the polling loop and stops with it.
        let mut limiter = None;
        let outbox = self.handler.store().map(|store| {
            let settings = crate::announce::outbox::OutboxSettings::from_env();
            let sender = broadcast::TelegramSender {
                bot: bot.clone(),
                token: token.clone(),
                paid: settings.paid,
                l10n: self.l10n.clone(),
                username: username.clone(),
                files: std::sync::Mutex::new(std::collections::HashMap::new()),
            };
            let name = format!("{}-{}", std::process::id(), rand::random::<u32>());
            let worker = crate::announce::outbox::Outbox::new(
                crate::announce::outbox::Route::Telegram,
                store,
                Arc::new(sender),
                name,
                settings,
            );
            limiter = Some(worker.limiter());
            tokio::spawn(worker.run(shutdown.clone()))
        });
        let out = Outbound {
            bot: bot.clone(),
            l10n: self.l10n,
            token,
            limiter,
        };
        let moderation = self.moderation.map(|d| {
            Arc::new(moderation::Moderation::new(
                d,
                crate::moderation::group::GroupSettings::from_env(),
            ))
        });
        // Moderation's notices and cards go out beside the poller and stop with it.
        let deliveries = match (self.handler.store(), &moderation) {
            (Some(store), Some(m)) => Some(tokio::spawn(moderation::deliver(
                out.clone(),
                store,
                m.clone(),
                shutdown.clone(),
            ))),
            _ => None,
        };
        // Submitted broadcasts go to approvers beside the poller and stop with it.
        let approvals = self
            .handler
            .store()
            .map(|store| tokio::spawn(approvals::run(out.clone(), store, shutdown.clone())));
        // Thread posts (a campaign's posts into a group) go out beside the poller too.
        let posts = self.handler.store().map(|store| {
            tokio::spawn(replies::post_loop(
                out.clone(),
                store,
                username.clone(),
                self.media.clone(),
                shutdown.clone(),
            ))
        });
        // Reports due on their dates go out beside the poller too.
        let reports = self
            .handler
            .store()
            .map(|store| tokio::spawn(reports::deliver(out.clone(), store, shutdown.clone())));
        let poller = Poller {
            out,
            bot,
            handler: self.handler.clone(),
            username,
            shutdown: shutdown.clone(),
            moderation,
            media: self.media.map(Arc::new),
        };
        let polled = match (self.webhook, self.handler.store()) {
            (Some(mode), Some(store)) => {
                // Updates come through the route into the inbox; this replica's processor
                // takes its share of them until shutdown.
                let holder = format!("{}-{}", std::process::id(), rand::random::<u32>());
                let processor = webhook::Processor {
                    poller,
                    outage: polling::Outage::default(),
                };
                crate::channels::inbox::run(
                    store,
                    mode.source,
                    holder,
                    Arc::new(processor),
                    mode.hand,
                    self.inbox,
                    shutdown,
                )
                .await;
                Ok(())
            }
            (Some(_), None) => Err(anyhow::anyhow!(
                "Telegram webhook mode needs a database to keep updates in"
            )),
            (None, _) => poller.run().await,
        };
        if let Some(task) = deliveries
            && let Err(e) = task.await
        {
            tracing::error!(error = %e, "the moderation delivery task panicked");
        }
        if let Some(task) = approvals
            && let Err(e) = task.await
        {
            tracing::error!(error = %e, "the approvals task panicked");
        }
        if let Some(task) = reports
            && let Err(e) = task.await
        {
            tracing::error!(error = %e, "the report delivery task panicked");
        }
        if let Some(task) = posts
            && let Err(e) = task.await
        {
            tracing::error!(error = %e, "the thread post task panicked");
        }
        if let Some(worker) = outbox
            && let Err(e) = worker.await
        {
            tracing::error!(error = %e, "the outbox worker panicked");
        }
        polled
    }
}

/// Calls `getMe` until it answers. A refused token is an error at once; an unreachable
/// server is retried (logged once) until shutdown, which returns `None`.
async fn connect(
    bot: &Bot,
    token: &str,
    api_url: &url::Url,
    shutdown: &CancellationToken,
) -> anyhow::Result<Option<Me>> {
    let mut pause = Duration::from_millis(500);
    let mut warned = false;
    loop {
        let answer = tokio::select! {
            _ = shutdown.cancelled() => return Ok(None),
            a = bot.get_me().send() => a,
        };
        match answer {
            Ok(me) => return Ok(Some(me)),
            Err(RequestError::Api(ApiError::InvalidToken)) => {
                anyhow::bail!(
                    "Telegram từ chối mã bot (401 Unauthorized): kiểm tra TELEGRAM_BOT_TOKEN / \
                     Telegram refused the bot token (401 Unauthorized): check TELEGRAM_BOT_TOKEN \
                     (from @BotFather) and TELEGRAM_API_URL"
                );
            }
            Err(e) => {
                if !warned {
                    let host = api_url.host_str().unwrap_or_default();
                    tracing::warn!(
                        error = %redact(&e.to_string(), token),
                        "cannot reach the Telegram Bot API at {host}; retrying"
                    );
                    warned = true;
                }
                tokio::select! {
                    _ = shutdown.cancelled() => return Ok(None),
                    _ = tokio::time::sleep(pause) => {}
                }
                pause = (pause * 2).min(Duration::from_secs(60));
            }
        }
    }
}

/// Registers the webhook: URL, secret token, the explicit `allowed_updates` and
/// `max_connections`. Every replica calls it with the same values. A refusal (a URL Telegram
/// will not use) stops the bot; an unreachable Telegram is retried until shutdown (`None`).
async fn set_webhook(
    bot: &Bot,
    mode: &webhook::WebhookMode,
    token: &str,
    shutdown: &CancellationToken,
) -> anyhow::Result<Option<()>> {
    use teloxide::payloads::SetWebhookSetters as _;
    let mut pause = Duration::from_millis(500);
    let mut warned = false;
    loop {
        let req = bot
            .set_webhook(mode.url.clone())
            .secret_token(mode.secret.clone())
            .allowed_updates(polling::ALLOWED)
            .max_connections(mode.max_connections);
        let answer = tokio::select! {
            _ = shutdown.cancelled() => return Ok(None),
            a = req.send() => a,
        };
        match answer {
            Ok(_) => {
                tracing::info!(url = %mode.url, "Telegram webhook set");
                return Ok(Some(()));
            }
            Err(RequestError::Api(e)) => {
                anyhow::bail!(
                    "Telegram không nhận webhook / Telegram refused the webhook ({}): \
                     TELEGRAM_WEBHOOK_URL must be a public https address (port 443, 80, 88 or \
                     8443) that reaches gopy",
                    redact(&e.to_string(), token)
                );
            }
            Err(e) => {
                if !warned {
                    tracing::warn!(error = %redact(&e.to_string(), token), "cannot set the Telegram webhook; retrying");
                    warned = true;
                }
                tokio::select! {
                    _ = shutdown.cancelled() => return Ok(None),
                    _ = tokio::time::sleep(pause) => {}
                }
                pause = (pause * 2).min(Duration::from_secs(60));
            }
        }
    }
}

/// Sets the command menu for Vietnamese (also the default) and English clients. A failure is
/// logged and does not stop the bot.
async fn set_commands(bot: &Bot, l10n: &Localizer, token: &str) {
    for (language, locale) in [
        (None, Locale::Vi),
        (Some("vi"), Locale::Vi),
        (Some("en"), Locale::En),
    ] {
        let commands = COMMANDS.iter().map(|(command, key)| {
            BotCommand::new(*command, l10n.msg(locale, &Msg::new(key), Markup::Plain))
        });
        let mut req = bot.set_my_commands(commands);
        if let Some(l) = language {
            req = req.language_code(l);
        }
        if let Err(e) = req.send().await {
            tracing::warn!(
                language = language.unwrap_or("default"),
                error = %redact(&e.to_string(), token),
                "cannot set the bot's command menu"
            );
        }
    }
}
