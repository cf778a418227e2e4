//! The processor of the shared webhook inbox (`webhook_inbox`): the webhook routes (Telegram,
//! the Zalo Bot, the Zalo OA) commit each delivery there through the group-commit writer
//! ([`crate::store::inbox::InboxWriter`]) before they answer 200; this loop, woken in-process
//! by the route (and every [`InboxSettings::idle`] for what other replicas kept), claims the
//! due ones — for each resident or chat only its oldest pending delivery, and only when none
//! of theirs is in flight on any replica (see
//! [`crate::store::inbox::InboxStore::inbox_claim`]) — hands the whole claimed batch to its
//! channel ([`Deliver::deliver_batch`]: the Zalo Bot and Telegram commit the batch's dialog
//! steps in one transaction with [`crate::service::Dialogs::handle_batch`]), and records the
//! outcomes in one statement. Deliveries of different residents run side by side; one
//! resident's run one after the other, in the platform's order. A replica that dies holding
//! a lease leaves the delivery to be claimed again once the lease runs out.
//!
//! On Postgres a few loops ([`InboxSettings::LOOPS`]) run on each replica, so that one batch
//! is claimed while another is processed; they never take the same resident (the claim sees
//! the other loop's leases). On SQLite, which has one writer, one loop. Only the first loop
//! looks at an idle inbox every [`InboxSettings::idle`]; the others wait to be woken.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::store::Store;
use crate::store::inbox::{Delivery, InboxOutcome};

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
/// first (a channel that waits on the database gives up at shutdown and returns `Retry`).
pub async fn run(
    store: Arc<dyn Store>,
    source: String,
    holder: String,
    channel: Arc<dyn Deliver>,
    wake: Arc<Notify>,
    settings: InboxSettings,
    shutdown: CancellationToken,
) {
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
    let loops = store.batch_writers().clamp(1, InboxSettings::LOOPS);
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
        one_loop(
            store.clone(),
            &source,
            &holder,
            channel.clone(),
            wake.clone(),
            settings,
            shutdown.clone(),
        )
    });
    tokio::join!(forgetting, futures::future::join_all(loops));
}

/// One claim-and-process loop.
async fn one_loop(
    store: Arc<dyn Store>,
    source: &str,
    holder: &str,
    channel: Arc<dyn Deliver>,
    wake: Arc<Notify>,
    settings: InboxSettings,
    shutdown: CancellationToken,
) {
    let mut failing = false;
    let lease = chrono::Duration::from_std(settings.lease).unwrap_or(chrono::Duration::MAX);
    loop {
        if shutdown.is_cancelled() {
            return;
        }
        if channel.paused().await {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(settings.idle.max(Duration::from_secs(5))) => {}
            }
            continue;
        }
        let now = channel.now();
        let rows = match store
            .inbox_claim(source, holder, now, now + lease, InboxSettings::BATCH)
            .await
        {
            Ok(rows) => {
                if failing {
                    tracing::info!(source = %source, "the webhook inbox can be read again");
                    failing = false;
                }
                rows
            }
            Err(e) => {
                if !failing {
                    tracing::warn!(source = %source, error = %e, "cannot read the webhook inbox; retrying");
                    failing = true;
                }
                Vec::new()
            }
        };
        if rows.is_empty() {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = wake.notified() => {}
                _ = tokio::time::sleep(settings.idle) => {}
            }
            continue;
        }
        // A full batch: more may be waiting, another loop looks while this one works.
        if rows.len() as i64 >= InboxSettings::BATCH {
            wake.notify_one();
        }
        metrics::counter!("gopy_webhook_inbox_claimed_total", "source" => source.to_owned())
            .increment(rows.len() as u64);
        metrics::histogram!("gopy_webhook_inbox_batch_size", "source" => source.to_owned())
            .record(rows.len() as f64);
        // While the batch runs, the leases are moved on every third of their length, so
        // that a slow delivery (one waiting out a database outage) is not taken by another
        // replica.
        let work = channel.deliver_batch(&rows);
        tokio::pin!(work);
        let mut renew = tokio::time::interval((settings.lease / 3).max(Duration::from_millis(100)));
        renew.tick().await;
        let outcomes = loop {
            tokio::select! {
                outcomes = &mut work => break outcomes,
                _ = renew.tick() => {
                    let until = channel.now() + lease;
                    if let Err(e) = store.inbox_extend(source, holder, until).await {
                        tracing::warn!(error = %e, "cannot extend the leases of webhook deliveries in hand");
                    }
                }
            }
        };
        let outcomes: Vec<(i64, InboxOutcome)> = rows
            .iter()
            .zip(outcomes.into_iter().chain(std::iter::repeat_with(|| {
                InboxOutcome::Retry(channel.now(), "no outcome".to_owned())
            })))
            .map(|(row, outcome)| {
                if let InboxOutcome::Failed(why) = &outcome {
                    tracing::warn!(key = %row.event_key, reason = %why, "a webhook delivery was given up");
                }
                (row.id, outcome)
            })
            .collect();
        // Recording the outcomes is retried briefly: not recorded, the deliveries would be
        // processed again after their lease (the dialog steps are recognised, their replies
        // would repeat).
        let mut pause = Duration::from_millis(100);
        let started = Instant::now();
        for _ in 0..5 {
            match store.inbox_finish_many(&outcomes, channel.now()).await {
                Ok(()) => break,
                Err(e) => {
                    tracing::warn!(error = %e, waited = ?started.elapsed(), "cannot record the outcomes of webhook deliveries; retrying");
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                }
            }
        }
    }
}
