//! The processor of the shared webhook inbox (`webhook_inbox`): a webhook route commits each
//! delivery there before it answers 200; this loop claims the due ones — for each resident
//! or chat only its oldest pending delivery, and only when none of theirs is in flight on any
//! replica (see [`crate::store::inbox::InboxStore::inbox_claim`]) — hands each to its channel
//! ([`Deliver`]), and records the outcome. Deliveries of different residents run side by
//! side; one resident's run one after the other, in the platform's order. A replica that dies
//! holding a lease leaves the delivery to be claimed again once the lease runs out.
//!
//! It is the pattern of the Zalo OA processor (`zalo_oa/processor.rs`), made independent of
//! the platform: the channel says how one delivery is processed, the loop does the rest.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::store::Store;
use crate::store::inbox::{Delivery, InboxOutcome};

/// Deliveries claimed at once (each of a different resident).
const BATCH: i64 = 64;

/// How long processed deliveries are kept: their keys recognise redeliveries (Telegram keeps
/// an update for at most 24 hours).
pub const KEEP_DONE: chrono::Duration = chrono::Duration::days(7);

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

/// One channel's processing of a delivery.
#[async_trait]
pub trait Deliver: Send + Sync + 'static {
    /// Processes one delivery to its outcome: `Done` once its effects are committed (or it
    /// was deliberately skipped), `Retry` to try again later (a pending row keeps its
    /// resident's later deliveries waiting), `Failed` to give up.
    async fn deliver(&self, delivery: &Delivery) -> InboxOutcome;

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
    let mut failing = false;
    let mut forgot: Option<Instant> = None;
    let lease = chrono::Duration::from_std(settings.lease).unwrap_or(chrono::Duration::MAX);
    loop {
        if shutdown.is_cancelled() {
            return;
        }
        if forgot.is_none_or(|f| f.elapsed() >= FORGET_EVERY) {
            forgot = Some(Instant::now());
            match store.inbox_forget(channel.now() - KEEP_DONE).await {
                Ok(n) if n > 0 => tracing::debug!(forgotten = n, "old inbox deliveries forgotten"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "cannot forget old inbox deliveries"),
            }
        }
        let now = channel.now();
        let rows = match store
            .inbox_claim(&source, &holder, now, now + lease, BATCH)
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
        metrics::counter!("gopy_webhook_inbox_claimed_total", "source" => source.clone())
            .increment(rows.len() as u64);
        // Every row is the head of a different resident: side by side.
        let runs = rows.into_iter().map(|row| {
            let channel = channel.clone();
            let store = store.clone();
            async move {
                let outcome = channel.deliver(&row).await;
                if let InboxOutcome::Failed(why) = &outcome {
                    tracing::warn!(key = %row.event_key, reason = %why, "a webhook delivery was given up");
                }
                let mut pause = Duration::from_millis(100);
                // Marking it done is retried briefly: not marked, it would be processed again
                // after its lease (the dialog step is recognised, its replies would repeat).
                for _ in 0..5 {
                    match store.inbox_finish(row.id, &outcome, channel.now()).await {
                        Ok(()) => return,
                        Err(e) => {
                            tracing::warn!(error = %e, "cannot record a webhook delivery's outcome; retrying");
                            tokio::time::sleep(pause).await;
                            pause *= 2;
                        }
                    }
                }
            }
        });
        // While they run, the leases are moved on every third of their length, so that a
        // slow delivery (one waiting out a database outage) is not taken by another replica.
        let work = futures::future::join_all(runs);
        tokio::pin!(work);
        let mut renew = tokio::time::interval((settings.lease / 3).max(Duration::from_millis(100)));
        renew.tick().await;
        loop {
            tokio::select! {
                _ = &mut work => break,
                _ = renew.tick() => {
                    let until = channel.now() + lease;
                    if let Err(e) = store.inbox_extend(&source, &holder, until).await {
                        tracing::warn!(error = %e, "cannot extend the leases of webhook deliveries in hand");
                    }
                }
            }
        }
    }
}
