//! Builds the application from settings (store, migrations, demo campaign, dialog shell, HTTP
//! listener, Telegram bot, Zalo bot, Zalo Official Account) and runs it until shutdown.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::channels::telegram::TelegramBot;
use crate::channels::zalo::ZaloBot;
use crate::channels::zalo_oa::ZaloOa;
use crate::config::Settings;
use crate::http::{self, AppState};
use crate::i18n::Localizer;
use crate::service::{Clock, Dialogs, system_clock};
use crate::store::{self, Store};

/// A built, not yet running, gopy.
pub struct Application {
    /// The bound HTTP listener (port 0 in tests picks a free port).
    listener: TcpListener,
    /// The HTTP router.
    router: axum::Router,
    /// The Telegram bot, when a token is set.
    telegram: Option<TelegramBot>,
    /// The Zalo bot, when `ZALO_BOT_TOKEN` is set.
    zalo: Option<ZaloBot>,
    /// The Zalo Official Account adapter, when `ZALO_OA_APP_ID` is set.
    zalo_oa: Option<ZaloOa>,
    /// The dialog shell.
    dialogs: Dialogs,
    /// Screens new opinions for moderation in the background.
    screening: crate::moderation::ScreenTask,
    /// Renders what gopy writes itself (reminders).
    l10n: Arc<Localizer>,
}

/// Opens and migrates the store named by the settings.
pub async fn open_store(settings: &Settings) -> anyhow::Result<Arc<dyn Store>> {
    let store = store::open(&settings.database_url)
        .await
        .with_context(|| format!("cannot open {}", store::redact_url(&settings.database_url)))?;
    store
        .migrate()
        .await
        .context("cannot migrate the database")?;
    Ok(store)
}

/// Loads the demo campaign if the database has no campaign at all.
pub async fn ensure_demo(store: &Arc<dyn Store>, clock: &Clock) -> anyhow::Result<()> {
    if store.campaigns().await?.is_empty() {
        let demo = crate::campaign::demo(clock())?;
        let id = store.insert_campaign(&demo).await?;
        tracing::info!(campaign = id, slug = %demo.slug, "loaded the demo campaign");
    }
    Ok(())
}

impl Application {
    /// Builds everything with the system clock.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with_clock(settings, system_clock()).await
    }

    /// Builds everything with the given clock (tests move time).
    pub async fn build_with_clock(settings: Settings, clock: Clock) -> anyhow::Result<Self> {
        let metrics = crate::telemetry::init_metrics();
        metrics::gauge!("gopy_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
        let store = open_store(&settings).await?;
        if settings.demo {
            ensure_demo(&store, &clock).await?;
        }
        let l10n = Arc::new(Localizer::new()?);
        let lexicon = match &settings.moderation_dir {
            Some(dir) => crate::moderation::Lexicon::load_dir(dir).with_context(|| {
                format!("the word lists in {} (GOPY_MODERATION_DIR)", dir.display())
            })?,
            None => crate::moderation::Lexicon::built_in().context("the built-in word lists")?,
        };
        let detector =
            crate::moderation::Detector::new(lexicon, crate::moderation::DEFAULT_THRESHOLD);
        let (screener, screening) = crate::moderation::screener(detector.clone());
        let console_clock = clock.clone();
        let web_screener = screener.clone();
        let dialogs = Dialogs::new(store.clone(), clock)
            .await?
            .with_screener(screener);
        let listener = TcpListener::bind(settings.http_addr)
            .await
            .with_context(|| format!("cannot listen on {} (GOPY_HTTP_ADDR)", settings.http_addr))?;
        let mut router = http::router(AppState {
            store: store.clone(),
            metrics,
        });
        router = router.merge(
            crate::console::Console::new(
                store.clone(),
                l10n.clone(),
                settings.console.clone(),
                console_clock,
                Some(web_screener),
            )?
            .router(),
        );
        let zalo = ZaloBot::new(
            dialogs.clone(),
            l10n.clone(),
            &settings.zalo,
            Some(detector.clone()),
        )?
        .map(|z| {
            z.with_public_url(settings.public_url.clone()).with_media(
                crate::replies::files::MediaSettings::for_database(&settings.database_url),
            )
        });
        if let Some(webhook) = zalo.as_ref().and_then(ZaloBot::webhook_router) {
            router = router.merge(webhook);
        }
        let zalo_oa = ZaloOa::new(dialogs.clone(), l10n.clone(), &settings.zalo_oa)?
            .map(|oa| oa.with_public_url(settings.public_url.clone()));
        if let Some(oa) = &zalo_oa {
            router = router.merge(oa.webhook_router());
        }
        let telegram = settings.telegram_token.clone().map(|token| {
            TelegramBot::new(
                dialogs.clone(),
                l10n.clone(),
                token,
                settings.telegram_api_url.clone(),
            )
            .with_moderation(detector.clone())
            .with_media(crate::replies::files::MediaSettings::for_database(
                &settings.database_url,
            ))
        });
        let telegram = match (telegram, &settings.telegram_webhook) {
            (Some(bot), Some(hook)) => Some(bot.with_webhook(hook)),
            (bot, _) => bot,
        };
        if let Some(webhook) = telegram.as_ref().and_then(TelegramBot::webhook_router) {
            router = router.merge(webhook);
        }
        Ok(Self {
            listener,
            router,
            telegram,
            zalo,
            zalo_oa,
            dialogs,
            screening,
            l10n,
        })
    }

    /// The address the HTTP server listens on.
    pub fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// The dialog shell (tests read the store through it).
    pub fn dialogs(&self) -> &Dialogs {
        &self.dialogs
    }

    /// Runs until `shutdown` is cancelled; in-flight HTTP requests and the Telegram batch in
    /// hand finish before it returns.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let addr = self.listener.local_addr()?;
        tracing::info!(
            "gopy đang chạy: http://{addr} (/healthz, /readyz, /metrics); Telegram: {}",
            match &self.telegram {
                Some(t) => format!("bật / on ({})", t.mode()),
                None =>
                    "tắt — đặt TELEGRAM_BOT_TOKEN để bật / off — set TELEGRAM_BOT_TOKEN to switch it on"
                        .to_owned(),
            }
        );
        tracing::info!(
            "Zalo: {}",
            match &self.zalo {
                Some(z) => format!("bật / on ({})", z.mode()),
                None =>
                    "tắt — đặt ZALO_BOT_TOKEN để bật / off — set ZALO_BOT_TOKEN to switch it on"
                        .to_owned(),
            }
        );
        tracing::info!(
            "Zalo OA: {}",
            if self.zalo_oa.is_some() {
                "bật / on (webhook /zalo-oa/webhook)"
            } else {
                "tắt — đặt ZALO_OA_APP_ID để bật / off — set ZALO_OA_APP_ID to switch it on"
            }
        );
        let http_shutdown = shutdown.clone();
        let http = tokio::spawn(async move {
            axum::serve(
                self.listener,
                self.router
                    .into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async move { http_shutdown.cancelled().await })
            .await
        });
        let housekeeping =
            tokio::spawn(housekeeping(self.dialogs.store().clone(), shutdown.clone()));
        let screening = tokio::spawn(
            self.screening
                .run(self.dialogs.store().clone(), shutdown.clone()),
        );
        // Reminders before collection closes become broadcasts the outbox sends.
        let reminders = tokio::spawn(crate::announce::reminders::run(
            self.dialogs.store().clone(),
            self.l10n.clone(),
            shutdown.clone(),
        ));
        let mut bots = futures::stream::FuturesUnordered::new();
        if let Some(bot) = self.telegram {
            let token = shutdown.clone();
            bots.push(named("Telegram", tokio::spawn(bot.run(token))));
        }
        if let Some(bot) = self.zalo {
            let token = shutdown.clone();
            bots.push(named("Zalo", tokio::spawn(bot.run(token))));
        }
        if let Some(oa) = self.zalo_oa {
            let token = shutdown.clone();
            bots.push(named("Zalo OA", tokio::spawn(oa.run(token))));
        }
        // The first bot to fail stops gopy; the others finish what they hold.
        while let Some((name, ended)) = futures::StreamExt::next(&mut bots).await {
            let err = match ended {
                Ok(Ok(())) => continue,
                Ok(Err(e)) => e.context(format!("the {name} bot stopped")),
                Err(e) => anyhow::anyhow!("the {name} bot panicked: {e}"),
            };
            shutdown.cancel();
            while futures::StreamExt::next(&mut bots).await.is_some() {}
            let _ = http.await;
            return Err(err);
        }
        http.await??;
        let _ = housekeeping.await;
        let _ = screening.await;
        let _ = reminders.await;
        tracing::info!("gopy đã dừng / stopped");
        Ok(())
    }
}

/// A bot's task with its name, to say which one stopped.
async fn named(
    name: &'static str,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
) -> (
    &'static str,
    Result<anyhow::Result<()>, tokio::task::JoinError>,
) {
    (name, task.await)
}

/// How long a processed update's key is kept: Telegram redelivers for at most 24 hours.
const KEEP_PROCESSED_UPDATES: chrono::Duration = chrono::Duration::days(7);

/// How long console login attempts are kept (throttling needs 15 minutes; the rest is for
/// an administrator looking into a break-in attempt).
const KEEP_LOGIN_ATTEMPTS: chrono::Duration = chrono::Duration::days(30);

/// How often housekeeping runs: once an hour across every process.
const HOUSEKEEPING_EVERY: chrono::Duration = chrono::Duration::hours(1);

/// How often each process asks whether housekeeping is due (the first to ask after the hour
/// runs it).
const HOUSEKEEPING_LOOK: std::time::Duration = std::time::Duration::from_secs(300);

/// How long shared counters are kept (moderation's windows are at most an hour).
const KEEP_COUNTERS: chrono::Duration = chrono::Duration::days(1);

/// Periodic clean-up until shutdown (see [`housekeep`]). A failure is logged and tried again
/// next time.
async fn housekeeping(store: std::sync::Arc<dyn crate::store::Store>, shutdown: CancellationToken) {
    let mut every = tokio::time::interval(HOUSEKEEPING_LOOK);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = every.tick() => {}
        }
        if let Err(e) = housekeep(store.as_ref(), chrono::Utc::now()).await {
            tracing::warn!(error = %e, "cannot take housekeeping's turn; trying again later");
        }
    }
}

/// One round of housekeeping, in this process's turn (once an hour across every process on
/// the database): forgets processed-update keys older than [`KEEP_PROCESSED_UPDATES`],
/// expired console sessions and old login attempts, and old shared counters, and runs the
/// retention purge. Returns whether this process took the turn.
pub async fn housekeep(
    store: &dyn crate::store::Store,
    now: chrono::DateTime<chrono::Utc>,
) -> crate::store::StoreResult<bool> {
    use crate::store::jobs::{Job, in_turn};
    let done = in_turn(store, Job::Housekeeping, now, HOUSEKEEPING_EVERY, async {
        match store.forget_processed_updates(now - KEEP_PROCESSED_UPDATES).await {
            Ok(n) => {
                metrics::counter!("gopy_processed_updates_forgotten_total").increment(n);
                if n > 0 {
                    tracing::debug!(forgotten = n, "old processed-update keys forgotten");
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot forget old processed-update keys; trying again later")
            }
        }
        crate::retention::purge_due(store, now).await;
        if let Err(e) = store
            .forget_console_history(now, now - KEEP_LOGIN_ATTEMPTS)
            .await
        {
            tracing::warn!(error = %e, "cannot forget expired console sessions; trying again later");
        }
        if let Err(e) = store.forget_counters(now - KEEP_COUNTERS).await {
            tracing::warn!(error = %e, "cannot forget old shared counters; trying again later");
        }
    })
    .await?;
    Ok(done.is_some())
}

/// A token cancelled on Ctrl-C (SIGINT) or SIGTERM (Docker, systemd).
pub fn shutdown_on_signals() -> CancellationToken {
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot listen for SIGTERM");
                        let _ = ctrl_c.await;
                        t.cancel();
                        return;
                    }
                };
            tokio::select! {
                _ = ctrl_c => {},
                _ = term.recv() => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = ctrl_c.await;
        }
        tracing::info!("đang dừng / shutting down");
        t.cancel();
    });
    token
}
