//! The Zalo Bot API channel (Bot Platform, the Telegram-like API of Zalo): our own reqwest
//! client, and two ways to receive events — long polling (`getUpdates`, one update per call,
//! 408 when idle, no offset) for a machine with no public address, and a webhook
//! (`POST /zalo/webhook`, checked with `X-Bot-Api-Secret-Token`). Zalo has no buttons and no
//! Markdown, so the dialog shows numbered choices and the resident replies "1", "2" or the
//! label. The Zalo Official Account API is a different surface, not handled here.
//!
//! Layout:
//! - `mod.rs`: [`ZaloBot`] — start-up (`getMe`, `setWebhook`), the mode, and what both modes
//!   share ([`Core`]: stepping the dialog and delivering replies).
//! - `client.rs`: the HTTP client; the envelope read from the body whatever the status;
//!   error classes; the token kept out of every text.
//! - `inbound.rs`: events (wrapped or flat) → what to do (pure, tested per event kind).
//! - `outbound.rs`: rendering, sending and the policy on Zalo's errors.
//! - `split.rs`: splitting text longer than 2,000 characters.
//! - `polling.rs`: the long-polling loop: an update is processed to commit before the next
//!   is asked for (nothing acknowledges an update, so it is never dropped for an outage).
//! - `webhook.rs`: the axum route: secret checked in constant time, the event committed to
//!   the shared webhook inbox (group commit) before the 200, a 503 when it could not be kept
//!   (or at once under overload) so that Zalo may deliver it again; and the inbox's channel
//!   for Zalo, which steps a claimed batch of chats' events together and sends the replies.
//! - `moderation.rs`: moderation's notices to authors (hidden, restored), sent beside the
//!   adapter.

mod broadcast;
mod client;
mod inbound;
mod moderation;
mod outbound;
mod polling;
mod replies;
pub(crate) mod split;
mod staff;
mod webhook;

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::config::ZaloSettings;
use crate::dialog::Reply;
use crate::domain::{Channel, ContactKey, Locale};
use crate::i18n::Localizer;
use crate::service::{Dialogs, Inbound};

use client::{CALL_TIMEOUT, Client, Failure};
use inbound::DialogEvent;
use outbound::{Outbound, Sent};

/// How many answered `message.unsupported.received` ids are remembered (in memory only: such
/// messages leave nothing in the database), so that a redelivery is not answered twice.
const REMEMBERED_UNSUPPORTED: usize = 4096;

/// What both modes share: the dialog shell and sending.
pub(super) struct Core {
    /// The dialog shell.
    dialogs: Dialogs,
    /// Sending (and the token-refused signal).
    out: Outbound,
    /// Ids of unsupported messages already answered, oldest first.
    unsupported: Mutex<Recent>,
    /// Screening of posts in bound groups, when moderation is on.
    moderation: Option<GroupModeration>,
    /// Where files given with replies are kept, and their size limit (set once at start).
    media: std::sync::OnceLock<crate::replies::files::MediaSettings>,
    /// The bot's names from `getMe`, to leave the mention that opens a group reply out of it.
    bot_names: std::sync::OnceLock<Vec<String>>,
    /// Spacing of what gopy itself starts in groups: thread posts and acknowledgements.
    group_limiter: Arc<tokio::sync::Mutex<crate::announce::limiter::Limiter>>,
}

/// What screening Zalo group posts needs: the word lists (the watch list is merged in per
/// post: the bot hears few group posts, only mentions and replies) and flood control (shared
/// by every process on Postgres).
pub(super) struct GroupModeration {
    /// The built-in or configured word lists.
    base: crate::moderation::Detector,
    /// Posts per person per group.
    limits: crate::moderation::Limits,
}

/// A bounded set of recent keys.
#[derive(Default)]
struct Recent {
    /// The keys, for lookup.
    set: HashSet<String>,
    /// The keys, oldest first, to forget the oldest.
    order: VecDeque<String>,
}

impl Recent {
    /// Remembers `key`; false when it was already there.
    fn first_time(&mut self, key: &str) -> bool {
        if self.set.contains(key) {
            return false;
        }
        self.set.insert(key.to_owned());
        self.order.push_back(key.to_owned());
        if self.order.len() > REMEMBERED_UNSUPPORTED
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        true
    }
}

impl Core {
    /// The dialog shell's view of a resident's message; also records how long Zalo took to
    /// bring it (`gopy_zalo_delivery_lag_seconds`, from the message's `date`).
    fn inbound(ev: &DialogEvent) -> Inbound {
        if let Some(sent) = ev.date {
            let lag = (chrono::Utc::now() - sent).num_milliseconds();
            if lag >= 0 {
                metrics::histogram!("gopy_zalo_delivery_lag_seconds").record(lag as f64 / 1000.0);
            }
        }
        Inbound {
            update_key: Some(ev.message_id.clone()),
            contact: ContactKey {
                channel: Channel::Zalo,
                external_id: ev.user.clone(),
            },
            identity: ev.identity.clone(),
            locale_hint: None,
            input: ev.input.clone(),
            has_buttons: false,
        }
    }

    /// Runs one message to a committed step: a group message registers the group (and may
    /// bind it), `/link` and a lead's `ĐÃ ĐĂNG <số>` are staff actions, `/appeal` goes to
    /// moderation (the author's newest hidden item back to the queue), everything else to the
    /// dialog.
    async fn step(&self, ev: &DialogEvent) -> Result<Vec<Reply>, crate::service::ServiceError> {
        if let Some(title) = &ev.group {
            let replies = self.group_step(ev, title).await?;
            // A reply to (or quote of) gopy's thread post is an opinion too, once screened.
            if ev.reply_to.is_some() && replies.is_empty() {
                self.group_reply(ev).await?;
            }
            return Ok(replies);
        }
        if let Some(replies) = self.staff_step(ev).await? {
            return Ok(replies);
        }
        if let Some(replies) = self.choice_step(ev).await? {
            return Ok(replies);
        }
        if let Some(replies) = self.private_file(ev).await? {
            return Ok(replies);
        }
        let Some(text) = &ev.appeal else {
            return self.dialogs.handle(&Self::inbound(ev)).await;
        };
        let key = ContactKey {
            channel: Channel::Zalo,
            external_id: ev.user.clone(),
        };
        let store = self.dialogs.store();
        let locale = store
            .find_contact(&key)
            .await?
            .map(|c| c.locale)
            .unwrap_or_default();
        let appealed =
            crate::moderation::appeal_latest(store.as_ref(), &key, text, chrono::Utc::now())
                .await?;
        Ok(vec![crate::moderation::notice::appeal_answer(
            locale,
            appealed.is_some(),
        )])
    }

    /// Sends a committed step's replies and counts the step's time.
    async fn deliver(&self, chat: &str, replies: &[Reply], started: Instant) -> Sent {
        let sent = self.out.send_replies(chat, replies).await;
        metrics::histogram!("gopy_dialog_step_seconds", "channel" => "zalo")
            .record(started.elapsed().as_secs_f64());
        sent
    }

    /// Tells the resident a step failed for good (nothing was stored).
    async fn apologise(&self, chat: &str) -> Sent {
        self.out.send_notice(chat, Locale::Vi, "zalo-error").await
    }

    /// Answers a message whose content Zalo withheld, once per message id; stores nothing.
    async fn answer_unsupported(&self, chat: &str, message_id: Option<&str>) -> Sent {
        let first = match message_id {
            Some(id) => self
                .unsupported
                .lock()
                .map(|mut r| r.first_time(id))
                .unwrap_or(true),
            None => true,
        };
        if !first {
            tracing::debug!("an unsupported message delivered again; already answered");
            return Sent::Ok;
        }
        self.out
            .send_notice(chat, Locale::Vi, "zalo-unsupported")
            .await
    }
}

/// The variable that sets how many messages a second the Zalo outbox sends (Zalo documents
/// no rate; the default is cautious).
pub const ZALO_RATE_VAR: &str = "ZALO_OUTBOX_RATE";

/// The Zalo outbox's settings: the outbox defaults (lease from `GOPY_OUTBOX_LEASE_SECS`) at
/// `ZALO_OUTBOX_RATE` messages a second (default 10).
fn outbox_settings() -> crate::announce::outbox::OutboxSettings {
    let mut s = crate::announce::outbox::OutboxSettings::from_env();
    s.paid = false;
    s.limits = crate::announce::limiter::Limits {
        per_second: std::env::var(ZALO_RATE_VAR)
            .ok()
            .and_then(|v| v.trim().parse::<u32>().ok())
            .filter(|n| *n > 0)
            .unwrap_or(10),
        ..crate::announce::limiter::Limits::default()
    };
    s.batch = i64::from(s.limits.per_second);
    s
}

/// The error that stops the adapter when Zalo refuses the token.
fn unauthorized() -> anyhow::Error {
    anyhow::anyhow!(
        "Zalo từ chối mã bot (401): kiểm tra ZALO_BOT_TOKEN (lấy lại trong Zalo Bot Manager) / \
         Zalo refused the bot token (401 Unauthorized): check ZALO_BOT_TOKEN (get it again from \
         Zalo Bot Manager; a reset token replaces the old one) and ZALO_BOT_API_URL"
    )
}

/// How the bot receives events.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Mode {
    /// `getUpdates`.
    Polling,
    /// `POST /zalo/webhook`; registered with `setWebhook` at start when the URL is known.
    Webhook {
        /// `ZALO_WEBHOOK_URL`.
        url: Option<url::Url>,
        /// `ZALO_WEBHOOK_SECRET`, given to `setWebhook`.
        secret: String,
    },
}

/// The Zalo bot, built and not yet running.
pub struct ZaloBot {
    /// What both modes share.
    core: Arc<Core>,
    /// How events arrive.
    mode: Mode,
    /// The webhook route's state, in webhook mode.
    webhook: Option<Arc<webhook::Webhook>>,
    /// `ZALO_BOT_API_URL`, for messages.
    api_url: url::Url,
    /// `GOPY_PUBLIC_URL`, for links to broadcast attachments.
    public_url: Option<String>,
}

impl ZaloBot {
    /// Builds the bot from its settings; `None` when `ZALO_BOT_TOKEN` is not set. Nothing is
    /// sent until [`ZaloBot::run`], but in webhook mode [`ZaloBot::webhook_router`] answers
    /// at once.
    ///
    /// With `moderation`, posts heard in bound groups are screened with these word lists
    /// (flood settings from `GOPY_MOD_*`).
    pub fn new(
        dialogs: Dialogs,
        l10n: Arc<Localizer>,
        settings: &ZaloSettings,
        moderation: Option<crate::moderation::Detector>,
    ) -> anyhow::Result<Option<Self>> {
        let Some(token) = settings.token.as_deref() else {
            if settings.webhook_secret.is_some() {
                tracing::warn!(
                    "ZALO_WEBHOOK_SECRET đã đặt nhưng thiếu ZALO_BOT_TOKEN / is set but ZALO_BOT_TOKEN is not: Zalo stays off"
                );
            }
            return Ok(None);
        };
        let client = Client::new(&settings.api_url, token)?;
        let core = Arc::new(Core {
            dialogs,
            out: Outbound {
                client,
                l10n,
                fatal: CancellationToken::new(),
            },
            unsupported: Mutex::new(Recent::default()),
            moderation: moderation.map(|base| GroupModeration {
                base,
                limits: crate::moderation::Limits::new(
                    crate::moderation::group::GroupSettings::from_env(),
                ),
            }),
            media: std::sync::OnceLock::new(),
            bot_names: std::sync::OnceLock::new(),
            group_limiter: replies::group_limiter(),
        });
        let (mode, webhook) = match &settings.webhook_secret {
            None => (Mode::Polling, None),
            Some(secret) => (
                Mode::Webhook {
                    url: settings.webhook_url.clone(),
                    secret: secret.clone(),
                },
                Some(Arc::new(webhook::Webhook::new(
                    core.clone(),
                    secret,
                    webhook::source(token),
                ))),
            ),
        };
        Ok(Some(Self {
            core,
            mode,
            webhook,
            api_url: settings.api_url.clone(),
            public_url: None,
        }))
    }

    /// Sends images of broadcasts by their link under gopy's public address
    /// (`GOPY_PUBLIC_URL`), and documents as that link; without it only the text goes.
    pub fn with_public_url(mut self, public_url: Option<String>) -> Self {
        self.public_url = public_url;
        self
    }

    /// Keeps the voice notes, photos and documents residents give as opinions (group replies
    /// and the private dialog) in this folder, within its size limit.
    pub fn with_media(self, media: crate::replies::files::MediaSettings) -> Self {
        let _ = self.core.media.set(media);
        self
    }

    /// "long polling" or "webhook", for the start-up log line.
    pub fn mode(&self) -> &'static str {
        match self.mode {
            Mode::Polling => "long polling",
            Mode::Webhook { .. } => "webhook",
        }
    }

    /// The route `POST /zalo/webhook`, in webhook mode; merge it into the HTTP router.
    pub fn webhook_router(&self) -> Option<axum::Router> {
        self.webhook.clone().map(webhook::router)
    }

    /// Connects (`getMe`; a refused token is an error), then polls until `shutdown`, or in
    /// webhook mode registers the webhook (when `ZALO_WEBHOOK_URL` is set) and serves events
    /// until `shutdown`, finishing the replies in hand. Returns an error when Zalo refuses
    /// the token at any point.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let client = self.core.out.client.clone();
        let Some(me) = connect(&client, &self.api_url, &shutdown).await? else {
            return Ok(());
        };
        let name = me
            .get("account_name")
            .or_else(|| me.get("display_name"))
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_owned();
        let groups = me.get("can_join_groups").and_then(Value::as_bool) == Some(true);
        let names = ["account_name", "display_name", "name"]
            .iter()
            .filter_map(|k| me.get(*k).and_then(Value::as_str).map(str::to_owned))
            .collect();
        let _ = self.core.bot_names.set(names);
        tracing::info!(
            account = %name,
            can_join_groups = groups,
            "Zalo bot connected ({})",
            self.mode()
        );
        // Moderation's notices to authors go out beside the adapter and stop with it.
        let stop = shutdown.child_token();
        let notices = {
            let core = self.core.clone();
            let store = core.dialogs.store().clone();
            let stop = stop.clone();
            tokio::spawn(async move { moderation::deliver(&core.out, store, stop).await })
        };
        if !groups {
            tracing::info!(
                "bot Zalo này chưa được vào nhóm (can_join_groups = false): thông báo tới nhóm Zalo \
                 của bà con đi theo cách đăng hộ (gopy groups add-assisted) / this Zalo bot cannot \
                 join groups: announcements reach residents' Zalo groups through assisted posting"
            );
        }
        // The outbox worker sends broadcasts to Zalo chats beside the adapter.
        let outbox = {
            let settings = outbox_settings();
            let sender = broadcast::ZaloSender {
                client: client.clone(),
                l10n: self.core.out.l10n.clone(),
                fatal: self.core.out.fatal.clone(),
                public_url: self.public_url.clone(),
                warned: std::sync::atomic::AtomicBool::new(false),
            };
            let name = format!("zalo-{}-{}", std::process::id(), rand::random::<u32>());
            let worker = crate::announce::outbox::Outbox::new(
                crate::announce::outbox::Route::Zalo,
                self.core.dialogs.store().clone(),
                Arc::new(sender),
                name,
                settings,
            );
            tokio::spawn(worker.run(stop.clone()))
        };
        // Thread posts go into the groups the bot is in, beside the adapter.
        let posts = tokio::spawn(replies::post_loop(self.core.clone(), stop.clone()));
        let ran = self.run_mode(shutdown).await;
        // The adapter may stop on its own (a refused token): the notices stop with it.
        stop.cancel();
        if let Err(e) = posts.await {
            tracing::error!(error = %e, "the Zalo thread post task panicked");
        }
        if let Err(e) = notices.await {
            tracing::error!(error = %e, "the Zalo moderation notice task panicked");
        }
        if let Err(e) = outbox.await {
            tracing::error!(error = %e, "the Zalo outbox worker panicked");
        }
        ran
    }

    /// Runs the adapter in its mode until shutdown (see [`ZaloBot::run`]).
    async fn run_mode(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        match self.mode {
            Mode::Polling => polling::run(self.core, shutdown).await,
            Mode::Webhook { url, secret } => {
                // What the route keeps is processed from the inbox, what a crash left first.
                let stop = shutdown.child_token();
                let processing = self.webhook.as_ref().map(|w| {
                    let holder =
                        format!("zalo-{}-{:08x}", std::process::id(), rand::random::<u32>());
                    tokio::spawn(crate::channels::inbox::run(
                        self.core.dialogs.store().clone(),
                        w.source.clone(),
                        holder,
                        Arc::new(webhook::Processor {
                            core: self.core.clone(),
                        }),
                        w.hand.clone(),
                        crate::channels::inbox::InboxSettings::default(),
                        stop.clone(),
                    ))
                });
                let fatal = self.core.out.fatal.clone();
                let registered = async {
                    if let Some(url) = url {
                        set_webhook(&self.core, &url, &secret, &shutdown).await?;
                    }
                    tokio::select! {
                        _ = shutdown.cancelled() => {}
                        _ = fatal.cancelled() => {}
                    }
                    Ok::<(), anyhow::Error>(())
                }
                .await;
                stop.cancel();
                if let Some(p) = processing
                    && let Err(e) = p.await
                {
                    tracing::error!(error = %e, "the Zalo inbox processor panicked");
                }
                registered?;
                if fatal.is_cancelled() {
                    return Err(unauthorized());
                }
                Ok(())
            }
        }
    }
}

/// Calls `getMe` until it answers. A refused token (or a refused request: a wrong URL) is an
/// error at once; an unreachable server is retried (logged once) until shutdown (`None`).
async fn connect(
    client: &Client,
    api_url: &url::Url,
    shutdown: &CancellationToken,
) -> anyhow::Result<Option<Value>> {
    let mut pause = Duration::from_millis(500);
    let mut warned = false;
    let empty = json!({});
    loop {
        let answer = tokio::select! {
            _ = shutdown.cancelled() => return Ok(None),
            a = client.call("getMe", &empty, CALL_TIMEOUT) => a,
        };
        let err = match answer {
            Ok(me) => return Ok(Some(me)),
            Err(e) => e,
        };
        match err.failure() {
            Failure::Unauthorized => return Err(unauthorized()),
            Failure::Refused => anyhow::bail!(
                "Zalo từ chối getMe / Zalo refused getMe ({err}): check ZALO_BOT_API_URL ({})",
                api_url.as_str()
            ),
            _ => {
                if !warned {
                    let host = api_url.host_str().unwrap_or_default();
                    tracing::warn!(error = %err, "cannot reach the Zalo Bot API at {host}; retrying");
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

/// Registers `url` with `setWebhook` and our secret; retried while Zalo cannot be reached.
async fn set_webhook(
    core: &Core,
    url: &url::Url,
    secret: &str,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    let body = json!({"url": url.as_str(), "secret_token": secret});
    let mut pause = Duration::from_millis(500);
    loop {
        let answer = tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            a = core.out.client.call("setWebhook", &body, CALL_TIMEOUT) => a,
        };
        let err = match answer {
            Ok(_) => {
                tracing::info!(
                    host = url.host_str().unwrap_or_default(),
                    "Zalo webhook set"
                );
                return Ok(());
            }
            Err(e) => e,
        };
        match err.failure() {
            Failure::Unauthorized => return Err(unauthorized()),
            Failure::Refused => anyhow::bail!(
                "Zalo không nhận webhook / Zalo refused the webhook ({err}): ZALO_WEBHOOK_URL must \
                 be a public https address that reaches gopy's /zalo/webhook"
            ),
            _ => {
                tracing::warn!(error = %err, "cannot set the Zalo webhook; retrying");
                tokio::select! {
                    _ = shutdown.cancelled() => return Ok(()),
                    _ = tokio::time::sleep(pause) => {}
                }
                pause = (pause * 2).min(Duration::from_secs(60));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_keys_are_remembered_up_to_a_bound_then_the_oldest_forgotten() {
        let mut r = Recent::default();
        assert!(r.first_time("a"));
        assert!(!r.first_time("a"));
        for i in 0..REMEMBERED_UNSUPPORTED {
            assert!(r.first_time(&i.to_string()));
        }
        assert_eq!(r.set.len(), REMEMBERED_UNSUPPORTED);
        assert!(r.first_time("a"), "the oldest key was forgotten");
        assert!(!r.first_time(&(REMEMBERED_UNSUPPORTED - 1).to_string()));
    }
}
