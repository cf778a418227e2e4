//! The outbox worker: claims due deliveries, sends each through the rate limiter, and records
//! the platform's message id or what went wrong. Errors are sorted by [`decide_failure`]
//! (pure): 429 waits exactly `retry_after`; 5xx and network errors retry with a growing pause
//! up to a cap and a number of attempts; a bot kicked or a chat not found fails the target and
//! deactivates the group; a group migrated to a supergroup is followed and retried.
//!
//! Crash safety comes from the store: a claimed row is leased, and a row whose worker died is
//! claimed again once the lease runs out. A live worker keeps what it holds: every third of a
//! lease it moves the leases of its claimed rows not yet recorded (waiting in its queue for a
//! send slot, or being sent) a whole lease ahead, in one statement
//! ([`crate::store::announce::AnnounceStore::extend_deliveries`]), so a wait longer than the
//! lease does not let another worker claim the row and send it too. A worker that died
//! extends nothing, and one shutting down only the sends it has started, until they are
//! recorded: the rows left waiting are claimed again once their leases run out. A message
//! can go twice only if the process died between the platform accepting it and
//! [`crate::store::announce::AnnounceStore::finish_delivery`] — at most
//! [`OutboxSettings::in_flight`] messages per worker — or if the database stayed out of reach
//! for longer than two thirds of a lease while a claimed row waited.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::broadcast::first_send_time;
use super::limiter::{Limiter, Limits};
use crate::domain::Channel;
use crate::store::announce::{ClaimedDelivery, DeliveryResult};
use crate::store::{Store, StoreError};

/// Why a send failed, as the worker needs to tell it apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// 429: wait exactly this long.
    RetryAfter(Duration),
    /// 403: the bot was kicked or blocked, or the chat is deactivated.
    Forbidden(String),
    /// The chat does not exist (any more).
    ChatNotFound(String),
    /// The group became a supergroup with this chat id.
    Migrated(i64),
    /// 5xx, a timeout, a network error: may work later.
    Transient(String),
    /// Refused as malformed (400): trying again would fail the same way.
    Refused(String),
}

/// Sends one text to one chat of a platform. The Telegram adapter implements it; tests use
/// the fake Bot API through it.
#[async_trait]
pub trait Sender: Send + Sync + 'static {
    /// Sends `text` (plain text; the sender escapes it) to `chat`; returns the message id.
    async fn send(&self, chat: &str, text: &str) -> Result<String, SendError>;

    /// Sends one claimed delivery. The default sends its text to its chat; a sender that
    /// serves assisted groups overrides it to send the lead the post with how to confirm it
    /// (see [`crate::store::announce::AssistedPost`]).
    async fn send_delivery(&self, d: &ClaimedDelivery) -> Result<String, SendError> {
        self.send(&d.chat, &d.text).await
    }
}

/// A stable limiter key for a chat: the id itself on Telegram, a hash of the opaque string on
/// Zalo; negative for a group (the limiter's sign for "group limits apply"), positive for a
/// private chat.
pub fn chat_key(chat: &str, group: bool) -> i64 {
    let n = chat.parse::<i64>().unwrap_or_else(|_| {
        use std::hash::{Hash as _, Hasher as _};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        chat.hash(&mut h);
        i64::from_ne_bytes(h.finish().to_ne_bytes())
    });
    let n = n.checked_abs().unwrap_or(i64::MAX).max(1);
    if group { -n } else { n }
}

/// Which worker sends a delivery: one per bot account. A delivery's route is set when it is
/// scheduled (`deliveries.channel`): a group's platform, an assisted group's lead's, a
/// resident's private chat's; the Zalo OA's chats (`oa:` ids) are apart from the Zalo bot's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// The Telegram bot.
    Telegram,
    /// The Zalo Bot API bot.
    Zalo,
    /// The Zalo Official Account.
    ZaloOa,
}

impl Route {
    /// The name stored in `deliveries.channel`.
    pub fn as_str(self) -> &'static str {
        match self {
            Route::Telegram => "telegram",
            Route::Zalo => "zalo",
            Route::ZaloOa => "zalo_oa",
        }
    }

    /// The platform.
    pub fn channel(self) -> Channel {
        match self {
            Route::Telegram => Channel::Telegram,
            Route::Zalo | Route::ZaloOa => Channel::Zalo,
        }
    }
}

/// How the worker behaves.
#[derive(Debug, Clone)]
pub struct OutboxSettings {
    /// The rate limits of the bot account.
    pub limits: Limits,
    /// Deliveries claimed at once.
    pub batch: i64,
    /// How long a claim holds a row unless the worker extends it (every third of it, while
    /// the row waits or is being sent); after that another worker takes it. The time a worker
    /// that died keeps its rows from the others.
    pub lease: Duration,
    /// The pause between two looks at an empty outbox (a look is one indexed read, no write
    /// transaction, so it can be short: a broadcast scheduled by another process starts
    /// within this).
    pub idle: Duration,
    /// Tries of a target before a transient failure counts as final.
    pub max_attempts: i64,
    /// The longest pause between two tries.
    pub max_backoff: Duration,
    /// Whether messages go as paid broadcasts (`allow_paid_broadcast`).
    pub paid: bool,
    /// Sends one worker has in flight at once; also the most messages a crash can send twice.
    /// 32, or a quarter of a second's worth at a higher rate ([`OutboxSettings::from_env`]).
    pub in_flight: usize,
}

/// One send's result on its way to the recorder, with who to tell once it is committed.
struct Recording {
    /// The delivery.
    delivery: i64,
    /// How it ended.
    result: DeliveryResult,
    /// Told when the result is committed.
    done: oneshot::Sender<()>,
}

/// How far ahead a bulk send takes its limiter slot.
const LOOKAHEAD: Duration = Duration::from_millis(100);

/// Claimed deliveries waiting for a send slot, at most.
const QUEUE: usize = 1024;

/// Deliveries claimed at once, at most: a claim reads its rows back by id, and more than the
/// queue holds would only wait in memory.
const MAX_BATCH: i64 = QUEUE as i64;

/// Results recorded in one transaction, at most.
const RECORD_BATCH: usize = 512;

/// How long after its last claimed delivery a worker counts as busy.
const BUSY_SPELL: Duration = Duration::from_secs(2);

/// The pause after an empty claim while busy. At a paid rate the shared budget leaves only a
/// few dozen messages claimable ahead of the last second's sends, so the claimer must come
/// back within a few of them: a claim that finds the budget spent costs one short
/// transaction.
const BUSY_PAUSE: Duration = Duration::from_millis(10);

/// The variable that sets [`OutboxSettings::lease`] in seconds.
pub const LEASE_VAR: &str = "GOPY_OUTBOX_LEASE_SECS";

/// The variable that switches paid broadcasts on (`on`): up to 1,000 messages a second, each
/// costing the bot's owner Telegram Stars.
pub const PAID_VAR: &str = "TELEGRAM_PAID_BROADCAST";

/// The variable that sets the overall rate (messages a second) of the bot account, for a
/// self-hosted Bot API server with other limits, and for benchmarks.
pub const RATE_VAR: &str = "GOPY_OUTBOX_RATE";

/// The overall rate with paid broadcasts.
pub const PAID_PER_SECOND: u32 = 1000;

impl OutboxSettings {
    /// The defaults, with the lease from `GOPY_OUTBOX_LEASE_SECS` when set (a short lease
    /// lets a restarted process take over a dead one's claims sooner) and paid broadcasts
    /// when `TELEGRAM_PAID_BROADCAST=on`.
    pub fn from_env() -> Self {
        let mut s = Self::default();
        if std::env::var(PAID_VAR).is_ok_and(|v| matches!(v.trim(), "on" | "true" | "1")) {
            s.limits.per_second = PAID_PER_SECOND;
            s.paid = true;
        }
        if let Some(rate) = std::env::var(RATE_VAR)
            .ok()
            .and_then(|v| v.trim().parse::<u32>().ok())
            .filter(|n| *n > 0)
        {
            s.limits.per_second = rate;
        }
        s.batch = i64::from(s.limits.per_second).min(MAX_BATCH);
        // A send is in flight from its slot until its result is committed: on a machine
        // busy with residents' steps that is tens of milliseconds, and 32 at a time cannot
        // hold a paid 1,000 a second (the replicas bench: the broadcast at 15–92% of its
        // rate, no 429). A quarter of a second's worth keeps the rate; a crash then doubles
        // at most that many messages.
        s.in_flight = s.in_flight.max((s.limits.per_second / 4) as usize);
        if let Some(secs) = std::env::var(LEASE_VAR)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|n| *n > 0)
        {
            s.lease = Duration::from_secs(secs);
        }
        s
    }
}

impl Default for OutboxSettings {
    /// Claims of one second's worth of messages (at most [`MAX_BATCH`]), leased for a minute.
    fn default() -> Self {
        let limits = Limits::default();
        Self {
            limits,
            batch: i64::from(limits.per_second).min(MAX_BATCH),
            lease: Duration::from_secs(60),
            idle: Duration::from_millis(50),
            max_attempts: 8,
            max_backoff: Duration::from_secs(300),
            paid: false,
            in_flight: 32,
        }
    }
}

/// What the worker does after a failed send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureStep {
    /// Record this result.
    Record(DeliveryResult),
    /// The group moved to this chat id: follow it, then retry now.
    Follow(i64),
}

/// Decides what a failed send leads to; `attempts` counts this one.
pub fn decide_failure(
    e: &SendError,
    attempts: i64,
    settings: &OutboxSettings,
    now: DateTime<Utc>,
) -> FailureStep {
    let retry = |wait: Duration, why: String| {
        let wait = chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
        FailureStep::Record(DeliveryResult::Retry(now + wait, why))
    };
    match e {
        SendError::RetryAfter(wait) => retry(*wait, format!("429 retry after {}s", wait.as_secs())),
        SendError::Migrated(to) => FailureStep::Follow(*to),
        SendError::Forbidden(why) | SendError::ChatNotFound(why) => {
            FailureStep::Record(DeliveryResult::Failed {
                reason: why.clone(),
                deactivate: true,
            })
        }
        SendError::Refused(why) => FailureStep::Record(DeliveryResult::Failed {
            reason: why.clone(),
            deactivate: false,
        }),
        SendError::Transient(why) if attempts >= settings.max_attempts => {
            FailureStep::Record(DeliveryResult::Failed {
                reason: why.clone(),
                deactivate: false,
            })
        }
        SendError::Transient(why) => {
            let exp = u32::try_from(attempts.clamp(0, 20)).unwrap_or(20);
            let wait = Duration::from_secs(1u64 << exp).min(settings.max_backoff);
            retry(wait, why.clone())
        }
    }
}

/// One outbox worker.
pub struct Outbox {
    /// The deliveries this worker sends.
    route: Route,
    /// Where deliveries are.
    store: Arc<dyn Store>,
    /// The platform.
    sender: Arc<dyn Sender>,
    /// The account's limiter (shared by the workers of this process).
    limiter: Arc<Mutex<Limiter>>,
    /// This worker's name in leases.
    name: String,
    /// How it behaves.
    settings: OutboxSettings,
    /// The deliveries in hand, whose leases the worker extends.
    in_hand: std::sync::Mutex<InHand>,
}

/// The deliveries a worker has claimed and not yet done with. Each is counted (a row put back
/// for a retry due at once may be claimed again before its first round has ended).
#[derive(Debug, Default)]
struct InHand {
    /// Claimed: queued, waiting for a send slot, being sent, or being recorded.
    claimed: HashMap<i64, u32>,
    /// Of those, the ones whose send has started: still extended while the worker shuts
    /// down, until their result is recorded.
    sending: HashMap<i64, u32>,
}

impl InHand {
    /// Counts one more of `id` in `map`.
    fn add(map: &mut HashMap<i64, u32>, id: i64) {
        *map.entry(id).or_insert(0) += 1;
    }

    /// Counts one fewer of `id` in `map`.
    fn remove(map: &mut HashMap<i64, u32>, id: i64) {
        if let Some(n) = map.get_mut(&id) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(&id);
            }
        }
    }
}

impl Outbox {
    /// A worker named `name` (unique per process and worker).
    pub fn new(
        route: Route,
        store: Arc<dyn Store>,
        sender: Arc<dyn Sender>,
        name: String,
        settings: OutboxSettings,
    ) -> Self {
        Self {
            route,
            store,
            sender,
            limiter: Arc::new(Mutex::new(Limiter::new(settings.limits))),
            name,
            settings,
            in_hand: std::sync::Mutex::new(InHand::default()),
        }
    }

    /// The limiter this worker spaces its sends with. Hand it to whatever sends replies to
    /// residents on the same bot account ([`Limiter::note_reply`]), so replies go first and
    /// the two together stay within the account's limits.
    pub fn limiter(&self) -> Arc<Mutex<Limiter>> {
        self.limiter.clone()
    }

    /// Works until shutdown; a send in flight is finished and recorded first.
    ///
    /// Four stages run side by side: the claimer leases due deliveries (within the shared
    /// rate budget) and queues them; up to [`OutboxSettings::in_flight`] sends go out at once,
    /// each in its limiter slot; the recorder writes the results that came back meanwhile in
    /// one transaction; the extender keeps the leases of the rows in hand from running out.
    /// A send counts as in flight until its result is committed, so a crash still doubles at
    /// most `in_flight` messages.
    pub async fn run(self, shutdown: CancellationToken) {
        let (queued_tx, queued) = mpsc::channel::<ClaimedDelivery>(QUEUE);
        let (results_tx, results) = mpsc::unbounded_channel::<Recording>();
        let claimer = self.claimer(queued_tx, &shutdown);
        let recorder = self.recorder(results);
        let senders_done = CancellationToken::new();
        let extender = self.extender(&shutdown, &senders_done);
        let sender = async {
            let results_tx = results_tx;
            futures::stream::unfold(
                queued,
                |mut rx| async move { rx.recv().await.map(|d| (d, rx)) },
            )
            // Claims not started by shutdown are released when their lease runs out.
            .take_while(|_| std::future::ready(!shutdown.is_cancelled()))
            .for_each_concurrent(self.settings.in_flight.max(1), |d| async {
                let id = d.id;
                self.deliver(d, &shutdown, &results_tx).await;
                InHand::remove(&mut self.in_hand().claimed, id);
            })
            .await;
            senders_done.cancel();
        };
        tokio::join!(claimer, sender, recorder, extender);
    }

    /// The deliveries in hand, locked (a poisoned lock still holds usable counts).
    fn in_hand(&self) -> std::sync::MutexGuard<'_, InHand> {
        self.in_hand.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every third of a lease, moves the leases of the deliveries in hand a whole lease
    /// ahead, until the last send has ended. Once shutdown has begun, only the sends already
    /// started are extended, until their results are recorded: the claims still queued are
    /// left to run out, for another worker to take. A row already finished, or taken over by
    /// another worker after its lease ran out, is left alone by the store.
    async fn extender(&self, shutdown: &CancellationToken, senders_done: &CancellationToken) {
        let lease =
            chrono::Duration::from_std(self.settings.lease).unwrap_or(chrono::Duration::minutes(5));
        let mut every =
            tokio::time::interval((self.settings.lease / 3).max(Duration::from_millis(50)));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut trouble = false;
        loop {
            tokio::select! {
                _ = senders_done.cancelled() => return,
                _ = every.tick() => {}
            }
            let ids: Vec<i64> = {
                let in_hand = self.in_hand();
                let ids = if shutdown.is_cancelled() {
                    &in_hand.sending
                } else {
                    &in_hand.claimed
                };
                ids.keys().copied().collect()
            };
            if ids.is_empty() {
                continue;
            }
            match self
                .store
                .extend_deliveries(&self.name, &ids, Utc::now() + lease)
                .await
            {
                Ok(moved) => {
                    trouble = false;
                    metrics::counter!("gopy_outbox_lease_extensions_total", "route" => self.route.as_str())
                        .increment(moved);
                }
                Err(e) => {
                    if !trouble {
                        tracing::warn!(error = %e, n = ids.len(), "cannot extend the leases of claimed deliveries; retrying");
                        trouble = true;
                    }
                }
            }
        }
    }

    /// Leases due deliveries and queues them for sending, until shutdown.
    async fn claimer(&self, queued: mpsc::Sender<ClaimedDelivery>, shutdown: &CancellationToken) {
        let mut trouble = false;
        // While a broadcast is going out, an empty claim usually means the shared budget is
        // spent for this second: look again soon rather than after `idle`.
        let mut last_work: Option<tokio::time::Instant> = None;
        while !shutdown.is_cancelled() {
            let now = Utc::now();
            let lease = chrono::Duration::from_std(self.settings.lease)
                .unwrap_or(chrono::Duration::minutes(5));
            let claimed = match self
                .store
                .claim_deliveries(
                    self.route.as_str(),
                    &self.name,
                    self.settings.batch,
                    Some(i64::from(self.settings.limits.per_second)),
                    now + lease,
                    now,
                )
                .await
            {
                Ok(c) => {
                    trouble = false;
                    c
                }
                Err(e) => {
                    if !trouble {
                        tracing::warn!(error = %e, "cannot read the outbox; retrying");
                        trouble = true;
                    }
                    Vec::new()
                }
            };
            if claimed.is_empty() {
                let busy = last_work.is_some_and(|t| t.elapsed() < BUSY_SPELL);
                let pause = if busy { BUSY_PAUSE } else { self.settings.idle };
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(pause) => {}
                }
                continue;
            }
            last_work = Some(tokio::time::Instant::now());
            {
                let mut in_hand = self.in_hand();
                for d in &claimed {
                    InHand::add(&mut in_hand.claimed, d.id);
                }
            }
            for d in claimed {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    sent = queued.send(d) => if sent.is_err() { return },
                }
            }
        }
    }

    /// Writes the results of sends as they come back: whatever arrived while the last
    /// transaction was committing goes into the next one (group commit), so the number of
    /// transactions a second falls as the rate rises.
    async fn recorder(&self, mut results: mpsc::UnboundedReceiver<Recording>) {
        let mut batch: Vec<(i64, DeliveryResult)> = Vec::new();
        let mut done: Vec<oneshot::Sender<()>> = Vec::new();
        while let Some(first) = results.recv().await {
            batch.push((first.delivery, first.result));
            done.push(first.done);
            while batch.len() < RECORD_BATCH {
                match results.try_recv() {
                    Ok(r) => {
                        batch.push((r.delivery, r.result));
                        done.push(r.done);
                    }
                    Err(_) => break,
                }
            }
            metrics::histogram!("gopy_outbox_record_batch").record(batch.len() as f64);
            self.record_all(&batch).await;
            batch.clear();
            for d in done.drain(..) {
                // The sender may have stopped waiting (shutdown): nothing to tell it.
                let _ = d.send(());
            }
        }
    }

    /// Sends one delivery when the limiter allows and records the result. A delivery of a
    /// broadcast limited to daily windows that falls outside them (a retry, a long queue)
    /// waits for the next window instead.
    async fn deliver(
        &self,
        d: ClaimedDelivery,
        shutdown: &CancellationToken,
        results: &mpsc::UnboundedSender<Recording>,
    ) {
        // Claimed ahead under the shared budget: its slot frees at `send_from`.
        if let Some(wait) = d
            .send_from
            .and_then(|from| (from - Utc::now()).to_std().ok())
        {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
            }
        }
        let now = Utc::now();
        let opens = first_send_time(&d.schedule, now);
        if opens > now {
            let result = DeliveryResult::Retry(opens, "outside the sending window".to_owned());
            self.record(d.id, result, results).await;
            return;
        }
        let chat_id = chat_key(&d.chat, d.group_id.is_some() && d.assisted.is_none());
        // Only a slot close at hand is taken, so replies to residents can still go first.
        loop {
            let now = tokio::time::Instant::now();
            let slot = self
                .limiter
                .lock()
                .await
                .reserve_within(chat_id, now, LOOKAHEAD);
            let (at, taken) = match slot {
                Ok(at) => (at, true),
                Err(again) => (again, false),
            };
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep_until(at) => {}
            }
            if taken {
                break;
            }
        }
        InHand::add(&mut self.in_hand().sending, d.id);
        let sent = self.sender.send_delivery(&d).await;
        metrics::counter!("gopy_broadcast_sends_total", "result" => if sent.is_ok() { "ok" } else { "error" })
            .increment(1);
        let now = Utc::now();
        let result = match sent {
            Ok(message) => DeliveryResult::Sent { message, at: now },
            Err(e) => {
                if let SendError::RetryAfter(wait) = &e {
                    self.limiter.lock().await.retry_after(
                        chat_id,
                        *wait,
                        tokio::time::Instant::now(),
                    );
                }
                match decide_failure(&e, d.attempts, &self.settings, now) {
                    FailureStep::Record(r) => r,
                    FailureStep::Follow(to) => {
                        if let Err(e) = self
                            .store
                            .record_migration(
                                self.route.channel(),
                                &d.chat,
                                &to.to_string(),
                                None,
                                now,
                            )
                            .await
                        {
                            tracing::warn!(error = %e, "cannot record a group's migration");
                        }
                        DeliveryResult::Retry(now, "migrated to a supergroup".to_owned())
                    }
                }
            }
        };
        self.record(d.id, result, results).await;
        InHand::remove(&mut self.in_hand().sending, d.id);
    }

    /// Hands a result to the recorder and waits until it is committed (or could not be).
    async fn record(
        &self,
        delivery: i64,
        result: DeliveryResult,
        results: &mpsc::UnboundedSender<Recording>,
    ) {
        let (done, committed) = oneshot::channel();
        match results.send(Recording {
            delivery,
            result,
            done,
        }) {
            Ok(()) => {
                // An error means the recorder stopped: nothing left to wait for.
                let _ = committed.await;
            }
            Err(mpsc::error::SendError(r)) => self.record_all(&[(r.delivery, r.result)]).await,
        }
    }

    /// Records results in one transaction, retrying a few times while the database is briefly
    /// away (if it stays away, the leases run out and the rows are sent again: at most
    /// `in_flight` duplicates). A batch the database refuses for another reason is recorded
    /// one by one, so one bad row cannot keep the others from being recorded.
    async fn record_all(&self, results: &[(i64, DeliveryResult)]) {
        let Some(first) = results.first().map(|r| r.0) else {
            return;
        };
        let mut pause = Duration::from_millis(100);
        for _ in 0..6 {
            match self.store.finish_deliveries(results, Utc::now()).await {
                Ok(()) => return,
                Err(StoreError::Unavailable(_)) => {
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                }
                Err(e) if results.len() > 1 => {
                    tracing::warn!(error = %e, n = results.len(), "cannot record a batch of deliveries; recording them one by one");
                    for one in results {
                        Box::pin(self.record_all(std::slice::from_ref(one))).await;
                    }
                    return;
                }
                Err(e) => {
                    tracing::error!(delivery = first, error = %e, "cannot record a delivery");
                    return;
                }
            }
        }
        tracing::error!(
            n = results.len(),
            "cannot record deliveries: the database stays unavailable"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_keys_keep_telegram_ids_and_give_zalo_ids_a_stable_signed_key() {
        assert_eq!(chat_key("-1001234", true), -1001234);
        assert_eq!(chat_key("777", false), 777);
        let g = chat_key("6ede9afa66b88fe6d6a9", true);
        assert!(g < 0);
        assert_eq!(g, chat_key("6ede9afa66b88fe6d6a9", true));
        assert_eq!(chat_key("6ede9afa66b88fe6d6a9", false), -g);
        assert!(
            chat_key("1459232241454765289", true) < 0,
            "a numeric Zalo group id is a group"
        );
    }

    #[test]
    fn a_delivery_claimed_twice_stays_in_hand_until_both_rounds_end() {
        let mut in_hand = InHand::default();
        InHand::add(&mut in_hand.claimed, 7);
        InHand::add(&mut in_hand.claimed, 7);
        InHand::add(&mut in_hand.claimed, 8);
        InHand::remove(&mut in_hand.claimed, 7);
        assert_eq!(in_hand.claimed.get(&7), Some(&1));
        InHand::remove(&mut in_hand.claimed, 7);
        InHand::remove(&mut in_hand.claimed, 9);
        assert_eq!(in_hand.claimed.keys().copied().collect::<Vec<_>>(), vec![8]);
    }

    fn at() -> DateTime<Utc> {
        Utc::now()
    }

    #[test]
    fn every_error_class_leads_where_it_should() {
        let s = OutboxSettings::default();
        let now = at();
        assert_eq!(
            decide_failure(&SendError::RetryAfter(Duration::from_secs(7)), 1, &s, now),
            FailureStep::Record(DeliveryResult::Retry(
                now + chrono::Duration::seconds(7),
                "429 retry after 7s".to_owned()
            ))
        );
        assert_eq!(
            decide_failure(&SendError::Migrated(-1_005), 1, &s, now),
            FailureStep::Follow(-1_005)
        );
        for e in [
            SendError::Forbidden("kicked".into()),
            SendError::ChatNotFound("chat not found".into()),
        ] {
            assert!(matches!(
                decide_failure(&e, 1, &s, now),
                FailureStep::Record(DeliveryResult::Failed {
                    deactivate: true,
                    ..
                })
            ));
        }
        assert!(matches!(
            decide_failure(&SendError::Refused("bad".into()), 1, &s, now),
            FailureStep::Record(DeliveryResult::Failed {
                deactivate: false,
                ..
            })
        ));
    }

    #[test]
    fn transient_failures_back_off_up_to_a_cap_then_give_up() {
        let s = OutboxSettings::default();
        let now = at();
        let wait =
            |attempts| match decide_failure(&SendError::Transient("502".into()), attempts, &s, now)
            {
                FailureStep::Record(DeliveryResult::Retry(t, _)) => Some((t - now).num_seconds()),
                _ => None,
            };
        assert_eq!(wait(1), Some(2));
        assert_eq!(wait(3), Some(8));
        assert_eq!(wait(7), Some(128));
        assert_eq!(wait(8), None, "the eighth failure is final");
        let capped = OutboxSettings {
            max_attempts: 100,
            ..OutboxSettings::default()
        };
        assert!(matches!(
            decide_failure(&SendError::Transient("x".into()), 30, &capped, now),
            FailureStep::Record(DeliveryResult::Retry(t, _)) if t - now == chrono::Duration::seconds(300)
        ));
    }
}
