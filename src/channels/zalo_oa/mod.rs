//! The Zalo Official Account (OA) channel: Open API v3 over reqwest, for a ward's OA. Residents
//! write to the OA; Zalo posts each event to our webhook, which verifies it, commits it to the
//! shared webhook inbox and answers at once; a background processor runs it through the same dialog as
//! every other channel (numbered choices, as on the Zalo Bot API) and replies within Zalo's
//! messaging window. Groups the OA owns (GMF) receive announcements through the outbox's
//! [`crate::announce::outbox::Sender`]. The Zalo Bot API is a different surface
//! (`channels::zalo`), whose splitter and rendering rules this module reuses.
//!
//! Layout:
//! - `mod.rs`: [`ZaloOa`] — built from [`ZaloOaSettings`], its webhook route, its group
//!   sender, and `run` (the first refresh token stored, the processor, the token kept fresh).
//! - `secret.rs`: encryption of the tokens at rest (ChaCha20-Poly1305, key from
//!   `GOPY_SECRET_KEY`).
//! - `client.rs`: HTTP: the envelope read from the body whatever the status, error classes,
//!   the OAuth refresh call.
//! - `token.rs`: the access token, refreshed with rotation, one refresh at a time across
//!   processes; a dead refresh token reported loudly.
//! - `api.rs`: Open API calls with the token; `-216`/`-220` refresh once and retry.
//! - `signature.rs`: `X-ZEvent-Signature` and its variants (pure).
//! - `inbound.rs`: events → what to keep and what to do (pure).
//! - `webhook.rs`: the axum route: verify, keep (the shared inbox's group-commit writer),
//!   answer 200.
//! - `processor.rs`: the OA's channel of the shared inbox processor (one event to its end).
//! - `outbound.rs`: replies within the 48 h / 7 day window; Zalo's errors.
//! - `groups.rs`: GMF group messages, mention patterns escaped.
//! - `broadcast.rs`: the outbox's sender (groups and followers); `media.rs`: attachments
//!   (uploads) and the "Góp ý ngay" button as OA messages (pure).
//! - `notices.rs`: moderation's notices to OA authors (hidden, restored).
//! - `cli.rs`: `gopy zalo-oa reset-token | status`.

mod api;
mod broadcast;
pub mod cli;
mod client;
mod groups;
mod inbound;
mod media;
mod notices;
mod outbound;
mod processor;
mod secret;
mod signature;
mod token;
mod webhook;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use rand::Rng as _;
use tokio_util::sync::CancellationToken;

use crate::announce::outbox::Sender;
use crate::config::ZaloOaSettings;
use crate::i18n::Localizer;
use crate::service::{Clock, Dialogs};
use crate::store::Store;
use crate::store::inbox::Hand;

pub use client::{ApiError, Failure};
pub use groups::{GROUP_PATH, escape_mentions};
pub use outbound::{CS_PATH, FREE_WINDOW, WINDOW, Window, window};
pub use processor::{INBOX_SOURCE, ProcessorSettings};
pub use secret::Sealer;
pub use signature::sign;
pub use token::{REAUTHORISE, TokenError, Tokens};
pub use webhook::PATH as WEBHOOK_PATH;

/// How often the running adapter makes sure its access token is fresh.
const KEEP_FRESH_EVERY: Duration = Duration::from_secs(60);

/// The OA adapter, built and not yet running (its webhook answers at once).
pub struct ZaloOa {
    /// What the processor needs.
    core: Arc<processor::Core>,
    /// The webhook route's state.
    webhook: Arc<webhook::Webhook>,
    /// Wakes the processor when an event is kept.
    hand: Arc<Hand>,
    /// `ZALO_OA_REFRESH_TOKEN`, stored when the database has none.
    seed: Option<String>,
    /// This process's name in leases.
    holder: String,
    /// How the processor behaves.
    processing: ProcessorSettings,
    /// gopy's public base address (`GOPY_PUBLIC_URL`), for links to attachments.
    public_url: Option<String>,
}

/// This process's name in leases: the process id and a random tag.
fn holder_name() -> String {
    format!(
        "gopy-{}-{:08x}",
        std::process::id(),
        rand::rng().random_range(0..=u32::MAX)
    )
}

/// The tokens of the configured app, kept in `store` (the CLI uses them too).
pub fn tokens(
    store: Arc<dyn Store>,
    settings: &ZaloOaSettings,
    clock: Clock,
) -> anyhow::Result<Option<Tokens>> {
    let Some(app_id) = settings.app_id.as_deref() else {
        return Ok(None);
    };
    let (Some(app_secret), Some(key)) = (&settings.app_secret, &settings.secret_key) else {
        anyhow::bail!("ZALO_OA_APP_SECRET and GOPY_SECRET_KEY are required with ZALO_OA_APP_ID");
    };
    let http = reqwest::Client::builder()
        .build()
        .context("cannot build the HTTP client for the Zalo OA")?;
    let oauth = client::OAuth::new(http, &settings.oauth_url, app_id, app_secret);
    Ok(Some(Tokens::new(
        store,
        app_id,
        oauth,
        Sealer::new(key, app_id),
        holder_name(),
        clock,
    )))
}

impl ZaloOa {
    /// Builds the adapter from its settings; `None` when `ZALO_OA_APP_ID` is not set.
    pub fn new(
        dialogs: Dialogs,
        l10n: Arc<Localizer>,
        settings: &ZaloOaSettings,
    ) -> anyhow::Result<Option<Self>> {
        let Some(app_id) = settings.app_id.as_deref() else {
            if settings.oa_secret_key.is_some() || settings.refresh_token.is_some() {
                tracing::warn!(
                    "ZALO_OA_* đã đặt nhưng thiếu ZALO_OA_APP_ID / are set but ZALO_OA_APP_ID is not: the Zalo OA stays off"
                );
            }
            return Ok(None);
        };
        let Some(oa_secret) = settings.oa_secret_key.as_deref() else {
            anyhow::bail!("ZALO_OA_SECRET_KEY is required with ZALO_OA_APP_ID");
        };
        let store = dialogs.store().clone();
        let clock: Clock = {
            let d = dialogs.clone();
            Arc::new(move || d.now())
        };
        let Some(tokens) = tokens(store.clone(), settings, clock.clone())? else {
            return Ok(None);
        };
        let http = reqwest::Client::builder()
            .build()
            .context("cannot build the HTTP client for the Zalo OA")?;
        let api = api::Api::new(
            client::OpenApi::new(http, &settings.api_url),
            Arc::new(tokens),
        );
        let hand = Hand::new();
        let webhook = Arc::new(webhook::Webhook::new(
            signature::Verifier::new(app_id, oa_secret),
            dialogs.inbox_writer(),
            hand.clone(),
            clock.clone(),
        ));
        let core = Arc::new(processor::Core {
            dialogs,
            out: outbound::Outbound {
                api,
                l10n,
                store,
                clock,
            },
        });
        Ok(Some(Self {
            core,
            webhook,
            hand,
            seed: settings.refresh_token.clone(),
            holder: holder_name(),
            processing: ProcessorSettings::default(),
            public_url: None,
        }))
    }

    /// The same adapter with gopy's public base address, for attachments Zalo cannot take
    /// as an upload (and their fallback when it refuses one).
    pub fn with_public_url(mut self, public_url: Option<String>) -> Self {
        self.public_url = public_url;
        self
    }

    /// The same adapter with other processor settings (tests shorten the lease).
    pub fn with_processing(mut self, settings: ProcessorSettings) -> Self {
        self.processing = settings;
        self
    }

    /// The route `POST /zalo-oa/webhook`; merge it into the HTTP router.
    pub fn webhook_router(&self) -> axum::Router {
        webhook::router(self.webhook.clone())
    }

    /// The outbox's sender for groups the OA owns (GMF).
    pub fn group_sender(&self) -> Arc<dyn Sender> {
        Arc::new(groups::GroupSender::new(self.core.out.api.clone()))
    }

    /// The tokens (for tests and tools).
    pub fn tokens(&self) -> &Arc<Tokens> {
        self.core.out.api.tokens()
    }

    /// Stores `ZALO_OA_REFRESH_TOKEN` when the database has no token for the app yet.
    pub async fn seed_token(&self) -> anyhow::Result<()> {
        let tokens = self.tokens();
        match (&self.seed, tokens.stored().await?) {
            (_, Some(_)) => {}
            (Some(seed), None) => {
                if tokens.seed(seed).await? {
                    tracing::info!(
                        "the Zalo OA refresh token from ZALO_OA_REFRESH_TOKEN is stored (encrypted)"
                    );
                }
            }
            (None, None) => {
                metrics::gauge!("gopy_zalo_oa_token_dead").set(1.0);
                tracing::error!(
                    "Zalo OA chưa có refresh token / has no refresh token: set ZALO_OA_REFRESH_TOKEN (see README, \"Kết nối Zalo Official Account\")"
                );
            }
        }
        Ok(())
    }

    /// A fresh access token (refreshed if due): for tests and tools.
    pub async fn access_token(&self) -> Result<String, TokenError> {
        self.tokens().access().await.map(|a| a.token)
    }

    /// Stores the first refresh token if needed, then processes the inbox (what a crash left
    /// first) and keeps the access token fresh until `shutdown`; the batch in hand is
    /// finished first. A dead token does not stop gopy: events wait in the inbox and the
    /// token's state is logged and exported.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        if let Err(e) = self.seed_token().await {
            tracing::warn!(error = %e, "cannot store the first Zalo OA refresh token yet; will use the database's");
        }
        tracing::info!("Zalo OA adapter running (webhook {})", webhook::PATH);
        let processing = tokio::spawn(crate::channels::inbox::run(
            self.core.dialogs.store().clone(),
            processor::INBOX_SOURCE.to_owned(),
            self.holder.clone(),
            Arc::new(processor::OaInbox {
                core: self.core.clone(),
            }),
            self.hand.clone(),
            self.processing,
            shutdown.clone(),
        ));
        let notices = {
            let core = self.core.clone();
            let store = core.dialogs.store().clone();
            let stop = shutdown.clone();
            tokio::spawn(async move { notices::deliver(&core.out, store, stop).await })
        };
        // Announcements to the OA's groups and followers go out beside the processor.
        let outbox = {
            let sender = broadcast::OaSender::new(
                groups::GroupSender::new(self.core.out.api.clone()),
                self.core.out.clone(),
                self.public_url.clone(),
            );
            let worker = crate::announce::outbox::Outbox::new(
                crate::announce::outbox::Route::ZaloOa,
                self.core.dialogs.store().clone(),
                Arc::new(sender),
                format!("oa-{}", self.holder),
                broadcast::settings(),
            );
            tokio::spawn(worker.run(shutdown.clone()))
        };
        let tokens = self.tokens().clone();
        let mut every = tokio::time::interval(KEEP_FRESH_EVERY);
        let mut reported = None;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = every.tick() => {}
            }
            let state = match tokens.access().await {
                Ok(_) => "ok".to_owned(),
                Err(e) => e.to_string(),
            };
            if reported.as_ref() != Some(&state) {
                if state != "ok" {
                    tracing::warn!(state = %state, "the Zalo OA access token is not usable");
                }
                reported = Some(state);
            }
        }
        if let Err(e) = processing.await {
            tracing::error!(error = %e, "the Zalo OA processor panicked");
        }
        if let Err(e) = notices.await {
            tracing::error!(error = %e, "the Zalo OA moderation notice task panicked");
        }
        if let Err(e) = outbox.await {
            tracing::error!(error = %e, "the Zalo OA outbox worker panicked");
        }
        Ok(())
    }
}
