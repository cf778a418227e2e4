//! The processor of the shared webhook inbox (`webhook_inbox`): the webhook routes (Telegram,
//! the Zalo Bot, the Zalo OA) commit each delivery there through the group-commit writer
//! ([`crate::store::inbox::InboxWriter`]) before they answer 200, leased to this replica's
//! processor when it may take it now, and given to its [`Hand`] in memory. This processor
//! takes from the hand the oldest waiting delivery of each resident not in flight, and claims
//! from the table what the hand did not get — for each resident or chat only its oldest
//! pending delivery, and only when none of theirs is in flight on any replica (see
//! [`crate::store::inbox::InboxStore::inbox_claim`]): what another replica kept for a
//! resident this one holds, what a crash or a retry left. It hands the whole batch to its
//! channel ([`Deliver::deliver_batch`]: the Zalo Bot and Telegram commit the batch's dialog
//! steps in one transaction with [`crate::service::Dialogs::handle_batch`]), and records the
//! outcomes in one transaction — which also leases each finished resident's next delivery
//! that another replica kept meanwhile (a round-robin balancer sends each call elsewhere;
//! see [`crate::store::inbox::InboxStore::inbox_finish_following`]), so that a resident's
//! steps keep going on the replica that holds them without waiting for a claim. Deliveries
//! of different residents run side by side; one resident's run one after the other, in the
//! platform's order. A replica that dies holding a lease leaves the delivery to be claimed
//! again once the lease runs out; a live one moves the leases of what its hand holds on.
//!
//! On Postgres a few loops ([`InboxSettings::LOOPS`]) run on each replica, so that one batch
//! is taken while another is processed; they never take the same resident. On SQLite, which
//! has one writer, one loop. Only the first loop looks at an idle inbox every
//! [`InboxSettings::idle`]; the others wait to be woken.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::store::Store;
use crate::store::inbox::{Delivery, Follow, Hand, InboxOutcome};

/// How long processed deliveries are kept: their keys recognise redeliveries (Telegram keeps
/// an update for at most 24 hours, Zalo retries for about two) and, for the Zalo OA, signed
/// replays younger than its `STALE_AFTER` (10 days).
pub const KEEP_DONE: chrono::Duration = chrono::Duration::days(14);

/// How often processed deliveries are forgotten.
const FORGET_EVERY: Duration = Duration::from_secs(3600);

/// How the processor behaves.
#[derive(Debug, Clone, Copy)]
pub struct InboxSettings {
    /// How long a lease holds a delivery; after it another replica may take it.
    pub lease: Duration,
    /// The pause between two looks at an empty inbox (a webhook call on this replica wakes
    /// it sooner; another replica's does not, so this bounds the latency there).
    pub idle: Duration,
}

impl Default for InboxSettings {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(60),
            idle: Duration::from_millis(250),
        }
    }
}

impl InboxSettings {
    /// Claim-and-process loops on one replica (at most; one on SQLite).
    pub const LOOPS: usize = 4;

    /// Deliveries claimed at once by one loop (each of a different resident).
    pub const BATCH: i64 = 256;

    /// The lease as the store's clock counts it.
    fn lease_span(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.lease).unwrap_or(chrono::Duration::MAX)
    }
}

/// One channel's processing of deliveries.
#[async_trait]
pub trait Deliver: Send + Sync + 'static {
    /// Processes one delivery to its outcome: `Done` once its effects are committed (or it
    /// was deliberately skipped), `Retry` to try again later (a pending row keeps its
    /// resident's later deliveries waiting), `Failed` to give up.
    async fn deliver(&self, delivery: &Delivery) -> InboxOutcome;

    /// Processes a claimed batch (each delivery of a different resident) and returns each
    /// one's outcome, in order. This default runs [`Deliver::deliver`] on all side by side;
    /// a channel overrides it to commit the batch's steps together.
    async fn deliver_batch(&self, deliveries: &[Delivery]) -> Vec<InboxOutcome> {
        futures::future::join_all(deliveries.iter().map(|d| self.deliver(d))).await
    }

    /// Whether processing must wait (the Zalo OA without a usable token: no reply could go
    /// out). This default never waits.
    async fn paused(&self) -> bool {
        false
    }

    /// The present instant, as the channel's clock has it (tests move it).
    fn now(&self) -> DateTime<Utc>;
}

/// Runs the processor of `source` until `shutdown`; the deliveries in hand are finished
/// first (a channel that waits on the database gives up at shutdown and returns `Retry`),
/// those waiting in `hand` are handed back to the table.
pub async fn run(
    store: Arc<dyn Store>,
    source: String,
    holder: String,
    channel: Arc<dyn Deliver>,
    hand: Arc<Hand>,
    settings: InboxSettings,
    shutdown: CancellationToken,
) {
    let lease = settings.lease_span();
    {
        let channel = channel.clone();
        hand.open(&holder, lease, Arc::new(move || channel.now()));
    }
    let forgetting = {
        let store = store.clone();
        let channel = channel.clone();
        let shutdown = shutdown.clone();
        async move {
            loop {
                match store.inbox_forget(channel.now() - KEEP_DONE).await {
                    Ok(n) if n > 0 => {
                        tracing::debug!(forgotten = n, "old inbox deliveries forgotten")
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "cannot forget old inbox deliveries"),
                }
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(FORGET_EVERY) => {}
                }
            }
        }
    };
    // While the hand holds deliveries (waiting or in flight), their leases are moved on every
    // third of their length, so that a slow delivery (one waiting out a database outage) or
    // a long queue is not taken by another replica.
    let done = CancellationToken::new();
    let keeping = {
        let store = store.clone();
        let channel = channel.clone();
        let hand = hand.clone();
        let (source, holder) = (source.clone(), holder.clone());
        let done = done.clone();
        async move {
            let mut tick =
                tokio::time::interval((settings.lease / 3).max(Duration::from_millis(100)));
            tick.tick().await;
            loop {
                tokio::select! {
                    _ = done.cancelled() => return,
                    _ = tick.tick() => {}
                }
                let held = hand.held_ids();
                if held.is_empty() {
                    continue;
                }
                let until = channel.now() + lease;
                if let Err(e) = store.inbox_extend(&source, &holder, &held, until).await {
                    tracing::warn!(error = %e, "cannot extend the leases of webhook deliveries in hand");
                }
            }
        }
    };
    let loops = store.batch_writers().clamp(1, InboxSettings::LOOPS);
    let claiming = tokio::sync::Mutex::new(ClaimState::default());
    let loops = (0..loops).map(|n| {
        // The others only wait to be woken (a delivery kept here, a full batch taken), with
        // a long look now and then.
        let settings = if n == 0 {
            settings
        } else {
            InboxSettings {
                idle: settings.idle * 8,
                ..settings
            }
        };
        one_loop(Loop {
            store: store.clone(),
            source: &source,
            holder: &holder,
            channel: channel.clone(),
            hand: &hand,
            claiming: &claiming,
            settings,
            shutdown: shutdown.clone(),
        })
    });
    let processing = async {
        futures::future::join_all(loops).await;
        // What still waits in hand goes back to the table for the next process.
        let released = hand.close();
        release(&*store, &*channel, released).await;
        done.cancel();
    };
    tokio::join!(forgetting, keeping, processing);
}

/// When the table was last claimed from, on this replica.
#[derive(Default)]
struct ClaimState {
    /// The instant of the last claim.
    last: Option<Instant>,
    /// How long to go without a look while the hand has work: [`CLAIM_EVERY`] after a look
    /// that found something, doubled after each that found nothing, up to the idle pause.
    pause: Duration,
    /// Whether the last claim failed (logged once).
    failing: bool,
}

/// What one claim-and-process loop works with.
struct Loop<'a> {
    /// The store.
    store: Arc<dyn Store>,
    /// The inbox source.
    source: &'a str,
    /// This processor's name in leases.
    holder: &'a str,
    /// The channel that processes deliveries.
    channel: Arc<dyn Deliver>,
    /// The hand-over from this replica's route (and where claimed deliveries go).
    hand: &'a Hand,
    /// One claim at a time on this replica.
    claiming: &'a tokio::sync::Mutex<ClaimState>,
    /// How it behaves.
    settings: InboxSettings,
    /// Stops it.
    shutdown: CancellationToken,
}

/// How long a loop that has deliveries in hand goes without looking at the table (what
/// other replicas kept for residents this one holds, what a crash or a retry left) after a
/// look that found something; after looks that found nothing the pause doubles, up to
/// [`InboxSettings::idle`], so that a replica that gets everything by hand does not scan
/// the table for nothing.
const CLAIM_EVERY: Duration = Duration::from_millis(20);

/// Hands deliveries back to the table (their leases released, due now).
async fn release(store: &dyn Store, channel: &dyn Deliver, ids: Vec<i64>) {
    if let Err(e) = store.inbox_release(ids, channel.now()).await {
        // Their leases run out instead.
        tracing::warn!(error = %e, "cannot hand webhook deliveries back to the inbox");
    }
}

impl Loop<'_> {
    /// Claims from the table when it is this loop's turn: always when nothing is in hand,
    /// else after a pause ([`CLAIM_EVERY`], longer after looks that found nothing). The deliveries
    /// claimed go to the hand.
    async fn claim(&self, in_hand: bool) {
        let Ok(mut state) = self.claiming.try_lock() else {
            return;
        };
        if in_hand && state.last.is_some_and(|at| at.elapsed() < state.pause) {
            return;
        }
        // Claims may fill the hand a batch beyond what the writer may: a hand kept full by
        // this replica's own webhook calls still takes what waits in the table.
        let room = (Hand::CAPACITY + InboxSettings::BATCH as usize).saturating_sub(self.hand.held())
            as i64;
        if room == 0 {
            return;
        }
        let lease = self.settings.lease_span();
        let now = self.channel.now();
        let rows = match self
            .store
            .inbox_claim(
                self.source,
                self.holder,
                now,
                now + lease,
                InboxSettings::BATCH.min(room),
            )
            .await
        {
            Ok(rows) => {
                if state.failing {
                    tracing::info!(source = %self.source, "the webhook inbox can be read again");
                    state.failing = false;
                }
                rows
            }
            Err(e) => {
                if !state.failing {
                    tracing::warn!(source = %self.source, error = %e, "cannot read the webhook inbox; retrying");
                    state.failing = true;
                }
                Vec::new()
            }
        };
        state.last = Some(Instant::now());
        state.pause = if rows.is_empty() {
            (state.pause * 2).clamp(CLAIM_EVERY, self.settings.idle.max(CLAIM_EVERY))
        } else {
            CLAIM_EVERY
        };
        drop(state);
        if rows.is_empty() {
            return;
        }
        metrics::counter!("gopy_webhook_inbox_claimed_total", "source" => self.source.to_owned())
            .increment(rows.len() as u64);
        let refused = self.hand.give(rows);
        release(&*self.store, &*self.channel, refused).await;
    }
}

/// One claim-and-process loop: takes what is ready in hand (claiming from the table when
/// due), processes it as one batch, records the outcomes.
async fn one_loop(l: Loop<'_>) {
    loop {
        if l.shutdown.is_cancelled() {
            return;
        }
        if l.channel.paused().await {
            tokio::select! {
                _ = l.shutdown.cancelled() => return,
                _ = tokio::time::sleep(l.settings.idle.max(Duration::from_secs(5))) => {}
            }
            continue;
        }
        // The table gets its turn (when due) even while the hand has a full batch ready:
        // what waits there — kept while the hand was full, another replica's, a retry — is
        // not starved by the deliveries this replica's own webhook calls keep handing over.
        l.claim(l.hand.held() > 0).await;
        let rows = l.hand.take(InboxSettings::BATCH as usize);
        if rows.is_empty() {
            tokio::select! {
                _ = l.shutdown.cancelled() => return,
                _ = l.hand.notified() => {}
                _ = tokio::time::sleep(l.settings.idle) => {}
            }
            continue;
        }
        metrics::histogram!("gopy_webhook_inbox_batch_size", "source" => l.source.to_owned())
            .record(rows.len() as f64);
        let outcomes = l.channel.deliver_batch(&rows).await;
        let outcomes: Vec<(i64, InboxOutcome)> = rows
            .iter()
            .zip(outcomes.into_iter().chain(std::iter::repeat_with(|| {
                InboxOutcome::Retry(l.channel.now(), "no outcome".to_owned())
            })))
            .map(|(row, outcome)| {
                if let InboxOutcome::Failed(why) = &outcome {
                    tracing::warn!(key = %row.event_key, reason = %why, "a webhook delivery was given up");
                }
                (row.id, outcome)
            })
            .collect();
        // The next delivery of each resident may start now; after a retry, those waiting
        // behind it go back to the table, to be claimed after it.
        let released = l.hand.done(
            rows.iter()
                .zip(&outcomes)
                .map(|(row, (_, outcome))| (row.chat_key.as_str(), outcome)),
        );
        let now = l.channel.now();
        let mut recorded = outcomes.clone();
        recorded.extend(
            released
                .into_iter()
                .map(|id| (id, InboxOutcome::released(now))),
        );
        // Each resident whose delivery ended (not to be retried) may have a next one that
        // another replica kept meanwhile: leased here in the same transaction, so that it
        // does not wait for a claim.
        let lease = l.settings.lease_span();
        let follow = Follow {
            source: l.source.to_owned(),
            holder: l.holder.to_owned(),
            chats: rows
                .iter()
                .zip(&outcomes)
                .filter(|(_, (_, o))| !matches!(o, InboxOutcome::Retry(..)))
                .map(|(row, _)| row.chat_key.clone())
                .collect(),
            until: now + lease,
        };
        // Recording the outcomes is retried briefly: not recorded, the deliveries would be
        // processed again after their lease (the dialog steps are recognised, their replies
        // would repeat).
        let mut pause = Duration::from_millis(100);
        let started = Instant::now();
        let mut followed = Vec::new();
        for _ in 0..5 {
            match l
                .store
                .inbox_finish_following(&recorded, l.channel.now(), Some(&follow))
                .await
            {
                Ok(rows) => {
                    followed = rows;
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, waited = ?started.elapsed(), "cannot record the outcomes of webhook deliveries; retrying");
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                }
            }
        }
        l.hand.recorded(
            rows.iter()
                .zip(&outcomes)
                .filter(|(_, (_, o))| matches!(o, InboxOutcome::Retry(..)))
                .map(|(row, _)| row.chat_key.as_str()),
        );
        if !followed.is_empty() {
            metrics::counter!("gopy_webhook_inbox_followed_total", "source" => l.source.to_owned())
                .increment(followed.len() as u64);
            let refused = l.hand.give(followed);
            release(&*l.store, &*l.channel, refused).await;
        }
    }
}
