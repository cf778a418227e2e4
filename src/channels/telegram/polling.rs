//! Our long-polling loop. It asks for a batch of updates and commits the batch's dialog steps
//! (in one transaction where it can: see [`Handler::handle_batch`]); only then does it ask
//! for the next batch with `offset = last update_id + 1`, which is what confirms the batch to
//! Telegram. The replies of a committed batch are sent while the updates already waiting are
//! fetched (`timeout = 0`) and stepped — a pipeline of two — and always before the next
//! batch's replies, so one resident's replies keep their order; the long poll starts only
//! once every reply is out. A committed step may thus be confirmed before its replies are
//! sent: a crash in between loses those replies, exactly as a crash between commit and send
//! always did (the redelivered update is recognised and not run twice). An update whose
//! step could not be committed (the database is down) is retried one by one until it commits
//! or gopy shuts down, and is never confirmed before that.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::{FutureExt as _, StreamExt as _};
use teloxide::payloads::GetUpdatesSetters as _;
use teloxide::requests::{Request as _, Requester as _};
use teloxide::types::{AllowedUpdate, InlineKeyboardButton, InlineKeyboardMarkup, Update};
use teloxide::{ApiError, Bot, RequestError};
use tokio_util::sync::CancellationToken;

use crate::dialog::{Input, Msg, Reply};
use crate::domain::{Channel, ContactKey};
use crate::i18n::Markup;
use crate::service::{Inbound, ServiceError};

use super::Handler;
use super::inbound::{DialogEvent, Route, route};
use super::outbound::{Failure, Outbound, classify, redact};

/// How long one `getUpdates` waits for something to arrive.
pub(super) const POLL_TIMEOUT_SECS: u32 = 25;

/// At most this many residents' updates are handled at once.
const CONCURRENCY: usize = 64;

/// The longest pause between two tries of an update while the database is down.
const MAX_RETRY_PAUSE: Duration = Duration::from_secs(30);

/// The update kinds we ask Telegram for, by polling and by webhook alike (`chat_member`
/// reaches a bot only where it is an administrator).
pub(super) const ALLOWED: [AllowedUpdate; 5] = [
    AllowedUpdate::Message,
    AllowedUpdate::EditedMessage,
    AllowedUpdate::CallbackQuery,
    AllowedUpdate::MyChatMember,
    AllowedUpdate::ChatMember,
];

/// Remembers whether the database is known to be down, so that an outage is logged once
/// when it starts and once when it ends, not at every retry.
#[derive(Default)]
pub(super) struct Outage(AtomicBool);

impl Outage {
    /// A step failed with a transient error.
    fn failed(&self, e: &ServiceError) {
        if !self.0.swap(true, Ordering::Relaxed) {
            tracing::warn!(error = %e, "cannot store Telegram updates right now; they wait and are retried");
        }
    }

    /// A step succeeded.
    fn recovered(&self) {
        if self.0.swap(false, Ordering::Relaxed) {
            tracing::info!("storage is back; Telegram updates are processed again");
        }
    }
}

/// Logs a failing `getUpdates` once per run of failures.
#[derive(Default)]
struct PollTrouble {
    /// Whether the current run of failures was logged.
    logged: bool,
    /// The pause before the next try.
    pause: Option<Duration>,
}

/// How one update ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    /// Committed (or deliberately skipped): it may be confirmed.
    Done,
    /// Shutdown came before it could be committed: it must not be confirmed.
    Unfinished,
}

/// The polling loop and everything it needs.
pub(super) struct Poller {
    /// The client (its HTTP timeout is longer than the poll timeout).
    pub bot: Bot,
    /// The dialog shell.
    pub handler: Arc<dyn Handler>,
    /// Sending.
    pub out: Outbound,
    /// The bot's username, for `/start@name` in groups and t.me links.
    pub username: String,
    /// Fires at shutdown.
    pub shutdown: CancellationToken,
    /// Group moderation (off when the bot was built without word lists).
    pub moderation: Option<Arc<super::moderation::Moderation>>,
    /// Where files given with group replies are kept (none when `None`).
    pub media: Option<Arc<crate::replies::files::MediaSettings>>,
}

impl Poller {
    /// Polls until shutdown, then confirms what was handled and returns.
    pub async fn run(self) -> anyhow::Result<()> {
        let outage = Outage::default();
        let mut trouble = PollTrouble::default();
        // The offset to send next; `None` until the first batch (Telegram then starts from
        // the oldest unconfirmed update).
        let mut offset: Option<i32> = None;
        // The offset of the last `getUpdates` Telegram answered: what it has confirmed.
        let mut confirmed: Option<i32> = None;
        // The replies of the last committed batch, being sent while the next one is fetched.
        let mut sending: Option<BoxFuture<'_, ()>> = None;
        loop {
            // While replies are being sent, only ask for what is already waiting (timeout 0)
            // and step it; the long poll starts once they are out, so a bot waiting on a long
            // poll has finished everything it was given.
            let quick = sending.is_some();
            let next = async {
                let timeout = if quick { 0 } else { POLL_TIMEOUT_SECS };
                let updates = match self.fetch(offset, timeout, &mut trouble).await {
                    Fetched::Updates(u) => {
                        confirmed = offset;
                        u
                    }
                    other => return Phase::Fetched(other),
                };
                if updates.is_empty() {
                    return Phase::Fetched(Fetched::Nothing);
                }
                self.step_batch(updates).await
            };
            let phase = match sending.take() {
                Some(previous) => tokio::join!(previous, next).1,
                None => next.await,
            };
            let batch = match phase {
                Phase::Fetched(Fetched::Stop) => break,
                Phase::Fetched(Fetched::Fatal(e)) => return Err(e),
                Phase::Fetched(_) => continue,
                Phase::Stepped(batch) => batch,
            };
            // The previous batch's replies are out: this batch's may go.
            let mut first_unfinished: Option<i64> = batch.unfinished;
            if batch.leftover.is_empty() {
                sending = Some(Box::pin(self.send_settled(
                    batch.settled,
                    batch.started,
                    &outage,
                )));
            } else {
                let ((), unfinished) = tokio::join!(
                    self.send_settled(batch.settled, batch.started, &outage),
                    self.run_one_by_one(batch.leftover, &outage)
                );
                first_unfinished = unfinished.into_iter().chain(first_unfinished).min();
            }
            let next = first_unfinished.unwrap_or(batch.last + 1);
            // Never go below the first update of the batch (a redelivered duplicate can carry
            // an old id), and never back.
            let next = i32::try_from(next.max(batch.first)).ok();
            offset = match (offset, next) {
                (Some(o), Some(n)) => Some(o.max(n)),
                (o, n) => n.or(o),
            };
        }
        if offset.is_some() && offset != confirmed {
            self.confirm(offset).await;
        }
        Ok(())
    }

    /// Runs one update to the end, as the loop runs an update handled on its own: the same
    /// routing, the same handlers. The webhook inbox's processor calls it for each update it
    /// claims. A panic in a handler is logged and the update skipped, as in the loop.
    pub(super) async fn process_update(&self, update: &Update, outage: &Outage) -> Outcome {
        let id = i64::from(update.id.0);
        let (kind, route) = route(update, &self.username);
        metrics::counter!("gopy_telegram_updates_total", "kind" => kind).increment(1);
        if matches!(route, Route::Skip) {
            tracing::debug!(update_id = id, kind, "update skipped");
            return Outcome::Done;
        }
        AssertUnwindSafe(self.run_one(id, route, outage))
            .catch_unwind()
            .await
            .unwrap_or_else(|_| {
                tracing::error!(
                    update_id = id,
                    "handling a Telegram update panicked; it is skipped"
                );
                Outcome::Done
            })
    }

    /// Runs a batch of updates to the end as the loop runs a fetched batch: the dialog steps
    /// committed together ([`Handler::handle_batch`]), their replies sent, the other updates
    /// and the steps the batch could not commit run one by one. Returns the updates left
    /// unfinished (shutdown came while the database was down). The webhook inbox's
    /// processor calls it for each batch it claims.
    pub(super) async fn process_updates(
        &self,
        updates: Vec<Update>,
        outage: &Outage,
    ) -> std::collections::HashSet<i64> {
        let Phase::Stepped(batch) = self.step_batch(updates).await else {
            return std::collections::HashSet::new();
        };
        let ((), unfinished) = tokio::join!(
            self.send_settled(batch.settled, batch.started, outage),
            self.run_one_by_one(batch.leftover, outage)
        );
        unfinished.into_iter().chain(batch.not_run).collect()
    }

    /// One `getUpdates` with the given offset and long-poll timeout, cancelled by shutdown.
    async fn fetch(&self, offset: Option<i32>, timeout: u32, trouble: &mut PollTrouble) -> Fetched {
        let mut req = self
            .bot
            .get_updates()
            .timeout(timeout)
            .allowed_updates(ALLOWED);
        if let Some(o) = offset {
            req = req.offset(o);
        }
        let answer = tokio::select! {
            biased;
            _ = self.shutdown.cancelled() => return Fetched::Stop,
            a = req.send() => a,
        };
        match answer {
            Ok(u) => {
                if trouble.logged {
                    tracing::info!("Telegram answers again");
                }
                *trouble = PollTrouble::default();
                Fetched::Updates(u)
            }
            Err(e) => match self.poll_failed(&e, trouble).await {
                Some(fatal) => Fetched::Fatal(fatal),
                None => Fetched::Nothing,
            },
        }
    }

    /// Handles a failed `getUpdates`: waits before the next try (cancelled by shutdown), or
    /// returns an error that must stop the bot.
    async fn poll_failed(
        &self,
        e: &RequestError,
        trouble: &mut PollTrouble,
    ) -> Option<anyhow::Error> {
        let description = redact(&e.to_string(), &self.out.token);
        let pause = match e {
            RequestError::Api(ApiError::InvalidToken) => {
                return Some(anyhow::anyhow!(
                    "Telegram no longer accepts the bot token (401 Unauthorized): check TELEGRAM_BOT_TOKEN"
                ));
            }
            RequestError::Api(ApiError::CantGetUpdates) => {
                tracing::warn!("a webhook is set for this bot; removing it to use long polling");
                if let Err(e) = self.bot.delete_webhook().send().await {
                    let d = redact(&e.to_string(), &self.out.token);
                    tracing::error!(error = %d, "cannot remove the webhook");
                }
                Duration::from_secs(1)
            }
            RequestError::Api(ApiError::TerminatedByOtherGetUpdates) => {
                if !trouble.logged {
                    tracing::error!(
                        "another process polls this bot's updates; only one gopy may run per bot token"
                    );
                    trouble.logged = true;
                }
                Duration::from_secs(5)
            }
            _ => match classify(e) {
                Failure::RetryAfter(wait) => wait,
                _ => {
                    if !trouble.logged {
                        tracing::warn!(error = %description, "cannot get updates from Telegram; retrying");
                        trouble.logged = true;
                    }
                    let next = trouble
                        .pause
                        .map_or(Duration::from_millis(500), |p| (p * 2).min(MAX_RETRY_PAUSE));
                    trouble.pause = Some(next);
                    next
                }
            },
        };
        tokio::select! {
            _ = self.shutdown.cancelled() => {}
            _ = tokio::time::sleep(pause) => {}
        }
        None
    }

    /// Confirms the batch handled last with a final `getUpdates` that does not wait.
    async fn confirm(&self, offset: Option<i32>) {
        let Some(o) = offset else { return };
        let req = self.bot.get_updates().offset(o).timeout(0).limit(1);
        match tokio::time::timeout(Duration::from_secs(10), req.send()).await {
            Ok(Ok(_)) => tracing::debug!(offset = o, "confirmed the last batch"),
            Ok(Err(e)) => {
                let d = redact(&e.to_string(), &self.out.token);
                tracing::warn!(error = %d, "cannot confirm the last batch; Telegram will send it again and it will be recognised");
            }
            Err(_) => tracing::warn!(
                "confirming the last batch timed out; Telegram will send it again and it will be recognised"
            ),
        }
    }

    /// Routes a batch, groups it by resident (each resident's updates in the order they
    /// came) and commits its dialog steps with [`Handler::handle_batch`]; button presses are
    /// answered meanwhile (their ids are taken out of the events, so they are never answered
    /// twice). Nothing is sent yet.
    async fn step_batch(&self, updates: Vec<Update>) -> Phase {
        let started = Instant::now();
        let first = updates.iter().map(|u| i64::from(u.id.0)).min().unwrap_or(0);
        let last = updates.iter().map(|u| i64::from(u.id.0)).max().unwrap_or(0);
        let mut groups: Vec<Vec<(i64, Route)>> = Vec::new();
        let mut by_resident: HashMap<u64, usize> = HashMap::new();
        for update in &updates {
            let id = i64::from(update.id.0);
            let (kind, route) = route(update, &self.username);
            metrics::counter!("gopy_telegram_updates_total", "kind" => kind).increment(1);
            let resident = match &route {
                Route::Dialog(ev) => ev.resident,
                Route::GroupStart { resident, .. } | Route::AnswerOnly { resident, .. } => {
                    *resident
                }
                Route::Group(ev) => ev.key(),
                Route::Moderation(ev) => ev.key(),
                Route::Reply(ev, _) => ev.key(),
                Route::Skip => {
                    tracing::debug!(update_id = id, kind, "update skipped");
                    continue;
                }
            };
            let slot = *by_resident.entry(resident).or_insert_with(|| {
                groups.push(Vec::new());
                groups.len() - 1
            });
            groups[slot].push((id, route));
        }

        // A resident who sent a file in private is run one by one, in order: the file is
        // downloaded before its step, which the batch cannot wait for.
        let with_file: Vec<bool> = groups
            .iter()
            .map(|g| {
                g.iter()
                    .any(|(_, r)| matches!(r, Route::Dialog(ev) if ev.file.is_some()))
            })
            .collect();
        let mut inbounds = Vec::new();
        let mut callbacks = Vec::new();
        let mut group_events = Vec::new();
        for (id, route) in groups
            .iter_mut()
            .zip(&with_file)
            .filter(|(_, file)| !**file)
            .flat_map(|(g, _)| g.iter_mut())
        {
            match route {
                Route::Dialog(ev) => {
                    callbacks.extend(ev.callback.take());
                    inbounds.push(inbound(*id, ev));
                }
                Route::Group(_) | Route::Moderation(_) | Route::Reply(..) => {
                    // Group events are stored here, before the batch can be confirmed, in
                    // the order they came (one chat's events build on each other).
                    group_events.push((*id, std::mem::replace(route, Route::Skip)));
                }
                _ => {}
            }
        }
        let answers =
            futures::future::join_all(callbacks.into_iter().map(|cb| self.out.answer_callback(cb)));
        let stepped = async {
            if inbounds.is_empty() {
                Vec::new()
            } else {
                self.handler.handle_batch(&inbounds).await
            }
        };
        let in_groups = async {
            let mut unfinished = Vec::new();
            for (id, route) in group_events {
                if !unfinished.is_empty() || !self.run_stored(id, route).await {
                    // Shutdown during an outage: this one and the later ones stay unconfirmed.
                    unfinished.push(id);
                }
            }
            unfinished
        };
        let (_, stepped, unfinished) = tokio::join!(answers, stepped, in_groups);
        let mut stepped = stepped.into_iter();

        // Pair every dialog event with its replies, in the order the events were collected.
        // A resident's events are all committed or none (see `handle_batch`); those not
        // committed are left over for the one-by-one path.
        let mut batch = Batch {
            settled: Vec::with_capacity(groups.len()),
            leftover: Vec::new(),
            unfinished: unfinished.iter().copied().min(),
            not_run: unfinished,
            started,
            first,
            last,
        };
        for (group, file) in groups.into_iter().zip(with_file) {
            if file {
                batch.leftover.push(group);
                continue;
            }
            let mut items = Vec::with_capacity(group.len());
            let mut committed = true;
            for (id, route) in group {
                let replies = match route {
                    Route::Dialog(_) => {
                        let r = stepped.next().flatten();
                        committed &= r.is_some();
                        r
                    }
                    _ => None,
                };
                items.push((id, route, replies));
            }
            if committed {
                batch.settled.push(items);
            } else {
                batch
                    .leftover
                    .push(items.into_iter().map(|(id, r, _)| (id, r)).collect());
            }
        }
        if !batch.leftover.is_empty() {
            metrics::counter!("gopy_dialog_batch_fallbacks_total").increment(1);
        }
        Phase::Stepped(batch)
    }

    /// Sends the replies of committed steps (residents concurrently, each one's in order)
    /// and runs the batch's other updates (group `/start`, bare button answers).
    async fn send_settled(&self, settled: Vec<Vec<Settled>>, started: Instant, outage: &Outage) {
        futures::stream::iter(settled)
            .for_each_concurrent(CONCURRENCY, |items| async move {
                for (id, route, replies) in items {
                    match (route, replies) {
                        (Route::Dialog(ev), Some(replies)) => {
                            self.out.send_replies(ev.chat, &replies).await;
                            metrics::histogram!("gopy_dialog_step_seconds", "channel" => "telegram")
                                .record(started.elapsed().as_secs_f64());
                        }
                        (route, _) => {
                            // No storage involved.
                            self.run_one(id, route, outage).await;
                        }
                    }
                }
            })
            .await;
    }

    /// Runs every resident's updates in order, residents concurrently, each step in its own
    /// transaction; returns the first unfinished update of each resident that has one.
    async fn run_one_by_one(&self, groups: Vec<Vec<(i64, Route)>>, outage: &Outage) -> Vec<i64> {
        futures::stream::iter(groups)
            .map(|group| async move {
                for (id, route) in group {
                    // A bug in one step must not stop the bot: the step's transaction was
                    // rolled back when it unwound, so the update is logged and skipped.
                    let outcome = AssertUnwindSafe(self.run_one(id, route, outage))
                        .catch_unwind()
                        .await
                        .unwrap_or_else(|_| {
                            tracing::error!(
                                update_id = id,
                                "handling a Telegram update panicked; it is skipped"
                            );
                            Outcome::Done
                        });
                    if outcome == Outcome::Unfinished {
                        // This update and the resident's later ones stay unconfirmed.
                        return Some(id);
                    }
                }
                None
            })
            .buffer_unordered(CONCURRENCY)
            .filter_map(|x| async move { x })
            .collect()
            .await
    }

    /// Runs one update to the end: the step committed and its replies sent.
    async fn run_one(&self, update_id: i64, route: Route, outage: &Outage) -> Outcome {
        match route {
            Route::Dialog(ev) if ev.file.is_some() => match self.run_file(update_id, ev).await {
                true => Outcome::Done,
                false => Outcome::Unfinished,
            },
            Route::Dialog(ev) => self.run_dialog(update_id, ev, outage).await,
            Route::GroupStart {
                chat,
                reply_to,
                locale,
                ..
            } => {
                let payload = self.handler.start_payload().await;
                let link = deep_link(&self.username, payload.as_deref());
                let text = self.out.l10n.msg(
                    locale,
                    &Msg::new("tg-group-start").text("link", link.clone()),
                    Markup::TelegramHtml,
                );
                let label =
                    self.out
                        .l10n
                        .msg(locale, &Msg::new("tg-group-start-button"), Markup::Plain);
                let markup = url::Url::parse(&link)
                    .ok()
                    .map(|u| InlineKeyboardMarkup::new([[InlineKeyboardButton::url(label, u)]]));
                self.out.send(chat, text, markup, Some(reply_to)).await;
                Outcome::Done
            }
            Route::AnswerOnly { callback, .. } => {
                self.out.answer_callback(callback).await;
                Outcome::Done
            }
            route @ (Route::Group(_) | Route::Moderation(_) | Route::Reply(..)) => {
                match self.run_stored(update_id, route).await {
                    true => Outcome::Done,
                    false => Outcome::Unfinished,
                }
            }
            Route::Skip => Outcome::Done,
        }
    }

    /// Runs a group event or a moderation event to the end (stored, answered). Returns
    /// `false` when shutdown came while the database was down.
    async fn run_stored(&self, update_id: i64, route: Route) -> bool {
        let store = self.handler.store();
        match route {
            Route::Group(ev) => {
                super::groups::run(&self.out, store, update_id, ev, &self.shutdown).await
            }
            Route::Moderation(ev) => {
                let moderation = self.moderation.as_deref();
                super::moderation::run(&self.out, store, moderation, update_id, ev, &self.shutdown)
                    .await
            }
            Route::Reply(ev, screened) => {
                // The post is screened as any group post first, then recorded as a reply.
                if let Some(m) = screened {
                    let moderation = self.moderation.as_deref();
                    let stored = super::moderation::run(
                        &self.out,
                        store.clone(),
                        moderation,
                        update_id,
                        m,
                        &self.shutdown,
                    )
                    .await;
                    if !stored {
                        return false;
                    }
                }
                let Some(store) = store else { return true };
                let ctx = super::replies::Ctx {
                    out: &self.out,
                    store,
                    screener: self.handler.screener(),
                    username: &self.username,
                    media: self.media.as_deref(),
                };
                super::replies::run(&ctx, update_id, &ev, &self.shutdown).await
            }
            _ => true,
        }
    }

    /// A voice note, audio, photo or document sent in private. At a topic's opinion step it
    /// is downloaded, checked and kept, and its caption (or the words that stand for it)
    /// becomes the opinion with the file attached; a refused file is said so and nothing is
    /// stored; anywhere else the dialog answers it as any other media. Returns `false` when
    /// shutdown came while the database was down.
    async fn run_file(&self, update_id: i64, mut ev: DialogEvent) -> bool {
        let Some((file, caption)) = ev.file.take() else {
            return true;
        };
        let locale = ev.locale_hint.unwrap_or_default();
        let key = ContactKey {
            channel: Channel::Telegram,
            external_id: ev.resident.to_string(),
        };
        let mut pause = Duration::from_millis(100);
        let topic = loop {
            match self.handler.opinion_topic(&key).await {
                Ok(t) => break t,
                Err(e) if e.is_transient() => {
                    tokio::select! {
                        _ = self.shutdown.cancelled() => return false,
                        _ = tokio::time::sleep(pause) => {}
                    }
                    pause = (pause * 2).min(Duration::from_secs(30));
                }
                Err(e) => {
                    tracing::error!(update_id, error = %e, "cannot read a resident's step for a file");
                    break None;
                }
            }
        };
        let store = self.handler.store();
        let kept = match (topic, store) {
            (Some(_), Some(store)) => {
                let ctx = super::replies::Ctx {
                    out: &self.out,
                    store,
                    screener: self.handler.screener(),
                    username: &self.username,
                    media: self.media.as_deref(),
                };
                Some(super::replies::keep_file(&ctx, &file).await)
            }
            _ => None,
        };
        let kept = match kept {
            // Not at an opinion step (or files are not kept here): the dialog answers it.
            None => return self.run_plain(update_id, ev).await,
            Some(Err(None)) if self.media.is_none() => return self.run_plain(update_id, ev).await,
            Some(Ok(kept)) => kept,
            Some(Err(refused)) => {
                let msg = match refused {
                    Some(r) => {
                        let max = self
                            .media
                            .as_ref()
                            .map_or(0, |m| m.max_bytes / (1024 * 1024));
                        let key = match r {
                            crate::replies::files::Refusal::TooLarge => "gr-file-too-large",
                            crate::replies::files::Refusal::Type => "gr-file-type",
                        };
                        Msg::new(key).num("mb", i64::try_from(max).unwrap_or(i64::MAX))
                    }
                    None => Msg::new("dm-file-not-received"),
                };
                self.out.send_notice(ev.chat, locale, &msg).await;
                return true;
            }
        };
        let words = if caption.is_empty() {
            crate::replies::files::placeholder(kept.kind)
        } else {
            caption
        };
        ev.input = Input::Text(words);
        let inbound = inbound(update_id, &ev);
        let mut pause = Duration::from_millis(100);
        loop {
            match self.handler.handle_with_file(&inbound, &kept).await {
                Ok((replies, attached)) => {
                    if attached {
                        metrics::counter!("gopy_dialog_files_total", "channel" => "telegram")
                            .increment(1);
                        self.out
                            .send_notice(ev.chat, locale, &Msg::new("dm-file-kept"))
                            .await;
                    }
                    self.out.send_replies(ev.chat, &replies).await;
                    return true;
                }
                Err(e) if e.is_transient() => {
                    tokio::select! {
                        _ = self.shutdown.cancelled() => return false,
                        _ = tokio::time::sleep(pause) => {}
                    }
                    pause = (pause * 2).min(Duration::from_secs(30));
                }
                Err(e) => {
                    tracing::error!(update_id, error = %e, "cannot step the dialog for a file");
                    self.out
                        .send_notice(ev.chat, locale, &Msg::new("tg-error"))
                        .await;
                    return true;
                }
            }
        }
    }

    /// Runs a private event the plain way (the dialog answers it), retrying an outage.
    async fn run_plain(&self, update_id: i64, ev: DialogEvent) -> bool {
        let outage = Outage::default();
        !matches!(
            self.run_dialog(update_id, ev, &outage).await,
            Outcome::Unfinished
        )
    }

    /// Runs a dialog step: answers the button press at once, steps the dialog (retrying while
    /// storage is down), then sends the replies.
    async fn run_dialog(&self, update_id: i64, ev: DialogEvent, outage: &Outage) -> Outcome {
        let started = Instant::now();
        let inbound = inbound(update_id, &ev);
        let answer = async {
            if let Some(cb) = ev.callback {
                self.out.answer_callback(cb).await;
            }
        };
        let ((), stepped) = tokio::join!(answer, self.step(&inbound, outage));
        match stepped {
            Stepped::Replies(replies) => {
                self.out.send_replies(ev.chat, &replies).await;
                metrics::histogram!("gopy_dialog_step_seconds", "channel" => "telegram")
                    .record(started.elapsed().as_secs_f64());
                Outcome::Done
            }
            Stepped::Failed => {
                let locale = ev.locale_hint.unwrap_or_default();
                self.out
                    .send_notice(ev.chat, locale, &Msg::new("tg-error"))
                    .await;
                Outcome::Done
            }
            Stepped::ShutDown => Outcome::Unfinished,
        }
    }

    /// Steps the dialog; a transient failure is retried with growing pauses until it works
    /// or shutdown comes (the update is tried at least once, even during shutdown).
    async fn step(&self, inbound: &Inbound, outage: &Outage) -> Stepped {
        let mut pause = Duration::from_millis(100);
        loop {
            match self.handler.handle(inbound).await {
                Ok(replies) => {
                    outage.recovered();
                    return Stepped::Replies(replies);
                }
                Err(e) if e.is_transient() => {
                    outage.failed(&e);
                    tokio::select! {
                        _ = self.shutdown.cancelled() => return Stepped::ShutDown,
                        _ = tokio::time::sleep(pause) => {}
                    }
                    pause = (pause * 2).min(MAX_RETRY_PAUSE);
                }
                Err(e) => {
                    tracing::error!(update = ?inbound.update_key, error = %e, "cannot handle a Telegram update; it is skipped");
                    return Stepped::Failed;
                }
            }
        }
    }
}

/// An update of a committed batch: its id, its route, and for a dialog step its replies.
type Settled = (i64, Route, Option<Vec<Reply>>);

/// What a `getUpdates` gave.
enum Fetched {
    /// Updates (possibly none).
    Updates(Vec<Update>),
    /// Nothing to do this time (no updates, or a failure already waited out).
    Nothing,
    /// Shutdown.
    Stop,
    /// A failure that must stop the bot.
    Fatal(anyhow::Error),
}

/// One turn of the loop.
enum Phase {
    /// Nothing was stepped.
    Fetched(Fetched),
    /// A batch was stepped.
    Stepped(Batch),
}

/// A stepped batch.
struct Batch {
    /// Residents whose steps are committed, with their replies to send.
    settled: Vec<Vec<Settled>>,
    /// Residents whose steps were not committed: to run one by one.
    leftover: Vec<Vec<(i64, Route)>>,
    /// The first group event that could not be stored before shutdown, if any.
    unfinished: Option<i64>,
    /// Every group event that was not stored (that one and those after it).
    not_run: Vec<i64>,
    /// When it was fetched.
    started: Instant,
    /// Its lowest and highest `update_id`.
    first: i64,
    /// See `first`.
    last: i64,
}

/// The dialog shell's view of a resident's update.
fn inbound(update_id: i64, ev: &DialogEvent) -> Inbound {
    Inbound {
        update_key: Some(update_id.to_string()),
        contact: ContactKey {
            channel: Channel::Telegram,
            external_id: ev.resident.to_string(),
        },
        identity: ev.identity.clone(),
        locale_hint: ev.locale_hint,
        input: ev.input.clone(),
        has_buttons: true,
    }
}

/// The result of stepping the dialog for one update.
enum Stepped {
    /// Committed; these replies are to be sent.
    Replies(Vec<Reply>),
    /// A permanent error: nothing was stored; the resident is told to try again.
    Failed,
    /// Shutdown came while storage was down: nothing was stored.
    ShutDown,
}

/// The link that opens the private chat with the bot, with a `/start` payload if any.
pub(super) fn deep_link(username: &str, payload: Option<&str>) -> String {
    match payload {
        Some(p) => format!("https://t.me/{username}?start={p}"),
        None => format!("https://t.me/{username}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deep_link_carries_the_payload_when_there_is_one() {
        assert_eq!(
            deep_link("gopy_bot", Some("gop-y-2025")),
            "https://t.me/gopy_bot?start=gop-y-2025"
        );
        assert_eq!(deep_link("gopy_bot", None), "https://t.me/gopy_bot");
    }
}
