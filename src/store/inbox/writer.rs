//! The group-commit writer of the webhook inbox: every webhook route of a process hands its
//! deliveries here, and one task commits all the deliveries that arrived while the previous
//! commit ran in ONE transaction (one multi-row `INSERT … ON CONFLICT DO NOTHING`, see
//! [`super::InboxStore::inbox_insert_many`]). Each caller learns the outcome of its own
//! delivery only after that commit: kept, a redelivery (its key was there), or the error —
//! so a route answers 200 only for what is committed, and 503 otherwise.
//!
//! Back-pressure: the writer measures how many deliveries a second the database commits;
//! when more are waiting than it commits in [`WriterSettings::drain_within`] (about a
//! second), a new delivery is refused at once ([`Kept::Busy`]) instead of waiting, so that a
//! platform that wants an answer within 2 s (Zalo) gets its 503 in time and sends again.
//!
//! Hand-over: a route that passes its source's [`Hand`] has its delivery committed already
//! leased to this replica's processor when the processor may take it now (see
//! [`super::InboxStore::inbox_keep`]), and given to the hand right after the commit — the
//! processor skips the round trip through the table.
//!
//! The task holds the writer only weakly: it ends once every route that used it is gone.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, oneshot};

use super::{Delivery, Hand, NewDelivery, Stored};
use crate::store::Store;

/// How the writer batches and when it refuses.
#[derive(Debug, Clone, Copy)]
pub struct WriterSettings {
    /// The most deliveries committed in one transaction.
    pub max_batch: usize,
    /// A delivery is refused at once when the deliveries waiting before it would take the
    /// database longer than this to commit, at the rate measured.
    pub drain_within: Duration,
    /// So many waiting deliveries are always accepted (before any rate is known, and when
    /// the traffic is light).
    pub floor: usize,
    /// Never more than so many waiting deliveries (memory), whatever the rate.
    pub ceiling: usize,
}

impl Default for WriterSettings {
    fn default() -> Self {
        Self {
            max_batch: 512,
            drain_within: Duration::from_secs(1),
            floor: 4096,
            ceiling: 20_000,
        }
    }
}

/// What became of a delivery handed to the writer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kept {
    /// Committed: answer 200 and wake the processor.
    New,
    /// Its key was there already (a redelivery): answer 200, nothing to do.
    Duplicate,
    /// Refused at once: too many deliveries are waiting (answer 503).
    Busy,
    /// The commit failed (answer 503); the error, for the log.
    Failed(String),
    /// Not committed within the time the caller gave (answer 503; it may still be
    /// committed, and its redelivery is then recognised).
    Late,
}

impl Kept {
    /// What a webhook route answers: wakes `hand`'s processor for a new delivery, logs what
    /// a refusal means, and says whether the platform gets its 200, with the outcome's label
    /// for the route's counter. `what` names the delivery in the log ("a Zalo event"),
    /// `platform` who sends it again.
    pub fn settle(&self, hand: &Hand, what: &str, platform: &str) -> (bool, &'static str) {
        match self {
            Kept::New => {
                hand.notify();
                (true, "kept")
            }
            Kept::Duplicate => {
                tracing::debug!("{what} delivered again; dropped");
                (true, "duplicate")
            }
            Kept::Busy => {
                tracing::debug!(
                    "too many deliveries waiting to be kept; answering 503 at once to {what}"
                );
                (false, "busy")
            }
            Kept::Failed(e) => {
                tracing::warn!(error = %e, "cannot keep {what}; answering 503 so that {platform} sends it again");
                (false, "not_stored")
            }
            Kept::Late => {
                tracing::warn!(
                    "keeping {what} took too long; answering 503 so that {platform} sends it again"
                );
                (false, "not_stored")
            }
        }
    }
}

/// A delivery waiting for its commit.
struct Waiting {
    /// The delivery.
    delivery: NewDelivery,
    /// Where its outcome goes.
    answer: oneshot::Sender<Result<bool, String>>,
    /// The processor's hand it may go to.
    hand: Option<Arc<Hand>>,
}

/// What the writer and its task share.
struct Inner {
    /// The store.
    store: Arc<dyn Store>,
    /// Deliveries waiting, oldest first.
    queue: Mutex<VecDeque<Waiting>>,
    /// Deliveries committed a second, as last measured while the writer was busy; 0 until
    /// known.
    rate: Mutex<f64>,
    /// Settings.
    settings: WriterSettings,
    /// Set once the task runs.
    started: OnceLock<()>,
}

/// The group-commit writer. Cheap to clone; one per process (see
/// [`crate::service::Dialogs::inbox_writer`]).
#[derive(Clone)]
pub struct InboxWriter {
    /// The shared state.
    inner: Arc<Inner>,
    /// Wakes the task (apart from `inner`, which the task holds only weakly).
    arrived: Arc<Notify>,
}

impl std::fmt::Debug for InboxWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InboxWriter")
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

impl InboxWriter {
    /// A writer into `store` with the default settings; its task starts with the first
    /// delivery.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self::with_settings(store, WriterSettings::default())
    }

    /// A writer with other settings (tests make it refuse sooner).
    pub fn with_settings(store: Arc<dyn Store>, settings: WriterSettings) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                queue: Mutex::new(VecDeque::new()),
                rate: Mutex::new(0.0),
                settings,
                started: OnceLock::new(),
            }),
            arrived: Arc::new(Notify::new()),
        }
    }

    /// How many deliveries may wait before a new one is refused.
    fn limit(&self) -> usize {
        let s = &self.inner.settings;
        let rate = self.inner.rate.lock().map(|r| *r).unwrap_or(0.0);
        let drained = (rate * s.drain_within.as_secs_f64()) as usize;
        drained.max(s.floor).min(s.ceiling)
    }

    /// Deliveries waiting for a commit (tests and metrics).
    pub fn waiting(&self) -> usize {
        self.inner.queue.lock().map(|q| q.len()).unwrap_or(0)
    }

    /// Hands `delivery` to the writer and waits, at most `within`, for its commit.
    pub async fn keep(&self, delivery: NewDelivery, within: Duration) -> Kept {
        self.keep_for(delivery, None, within).await
    }

    /// As [`InboxWriter::keep`], and when `hand`'s processor may take the delivery now, it
    /// is committed leased to it and given to the hand.
    pub async fn keep_for(
        &self,
        delivery: NewDelivery,
        hand: Option<&Arc<Hand>>,
        within: Duration,
    ) -> Kept {
        let (answer, outcome) = oneshot::channel();
        {
            let limit = self.limit();
            let Ok(mut queue) = self.inner.queue.lock() else {
                return Kept::Failed("the inbox writer's queue is poisoned".to_owned());
            };
            if queue.len() >= limit {
                metrics::counter!("gopy_webhook_inbox_refused_total").increment(1);
                return Kept::Busy;
            }
            queue.push_back(Waiting {
                delivery,
                answer,
                hand: hand.cloned(),
            });
            metrics::gauge!("gopy_webhook_inbox_waiting").set(queue.len() as f64);
        }
        self.start();
        self.arrived.notify_one();
        match tokio::time::timeout(within, outcome).await {
            Ok(Ok(Ok(true))) => Kept::New,
            Ok(Ok(Ok(false))) => Kept::Duplicate,
            Ok(Ok(Err(e))) => Kept::Failed(e),
            Ok(Err(_)) => Kept::Failed("the inbox writer stopped".to_owned()),
            Err(_) => Kept::Late,
        }
    }

    /// Starts the task, once.
    fn start(&self) {
        let mut first = false;
        self.inner.started.get_or_init(|| first = true);
        if first {
            tokio::spawn(write(Arc::downgrade(&self.inner), self.arrived.clone()));
        }
    }
}

/// The task: takes what is waiting, commits it in one transaction, answers each, again;
/// ends once the writer is dropped.
async fn write(inner: Weak<Inner>, arrived: Arc<Notify>) {
    loop {
        let Some(strong) = inner.upgrade() else {
            return;
        };
        let (batch, left) = {
            let Ok(mut queue) = strong.queue.lock() else {
                return;
            };
            let n = queue.len().min(strong.settings.max_batch);
            let batch: Vec<Waiting> = queue.drain(..n).collect();
            (batch, queue.len())
        };
        if batch.is_empty() {
            drop(strong);
            // Looks again now and then, so that the task ends soon after the writer.
            let _ = tokio::time::timeout(Duration::from_secs(1), arrived.notified()).await;
            continue;
        }
        // A caller that gave up (it answered 503) is not written: the platform sends the
        // delivery again.
        let batch: Vec<Waiting> = batch
            .into_iter()
            .filter(|w| !w.answer.is_closed())
            .collect();
        if batch.is_empty() {
            continue;
        }
        let leases = leases(&batch);
        let (deliveries, rest): (Vec<NewDelivery>, Vec<_>) = batch
            .into_iter()
            .map(|w| (w.delivery, (w.answer, w.hand)))
            .unzip();
        let (answers, hands): (Vec<_>, Vec<_>) = rest.into_iter().unzip();
        let started = Instant::now();
        let result = strong.store.inbox_keep(&deliveries, &leases).await;
        let took = started.elapsed();
        metrics::histogram!("gopy_webhook_inbox_commit_size").record(deliveries.len() as f64);
        metrics::histogram!("gopy_webhook_inbox_commit_seconds").record(took.as_secs_f64());
        match result {
            Ok(stored) => {
                let n = deliveries.len() as f64;
                let measured = n / took.as_secs_f64().max(1e-4);
                if let Ok(mut rate) = strong.rate.lock() {
                    // Busy (more was waiting): what a full batch costs is the capacity.
                    // Light: a small batch says little, the rate only rises.
                    *rate = if left > 0 || *rate == 0.0 {
                        if *rate == 0.0 {
                            measured
                        } else {
                            0.7 * *rate + 0.3 * measured
                        }
                    } else {
                        rate.max(measured)
                    };
                }
                hand_over(&strong, &deliveries, &stored, &hands, &leases).await;
                for (answer, stored) in answers.into_iter().zip(stored) {
                    let _ = answer.send(Ok(stored != Stored::Duplicate));
                }
            }
            Err(crate::store::StoreError::Unavailable(why)) => {
                // The database is down: every caller answers 503.
                let why = format!("the database is unavailable: {why}");
                for answer in answers {
                    let _ = answer.send(Err(why.clone()));
                }
            }
            Err(e) if deliveries.len() > 1 => {
                // One delivery the database refuses must not cost the others their 200:
                // each is written on its own.
                tracing::warn!(error = %e, size = deliveries.len(), "a batch of webhook deliveries was refused; writing them one by one");
                for (delivery, answer) in deliveries.iter().zip(answers) {
                    let kept = strong
                        .store
                        .inbox_insert_many(std::slice::from_ref(delivery))
                        .await
                        .map(|k| k.first().copied().unwrap_or(false))
                        .map_err(|e| e.to_string());
                    let _ = answer.send(kept);
                }
            }
            Err(e) => {
                let why = e.to_string();
                for answer in answers {
                    let _ = answer.send(Err(why.clone()));
                }
            }
        }
    }
}

/// The lease asked for each delivery of a batch: its hand's, as many as the hand has room
/// for.
fn leases(batch: &[Waiting]) -> Vec<Option<super::Lease>> {
    let mut asked: Vec<(*const Hand, Option<(super::Lease, usize)>)> = Vec::new();
    batch
        .iter()
        .map(|w| {
            let hand = w.hand.as_ref()?;
            let at = match asked
                .iter()
                .position(|(p, _)| std::ptr::eq(*p, Arc::as_ptr(hand)))
            {
                Some(at) => at,
                None => {
                    let wanted = batch
                        .iter()
                        .filter(|o| o.hand.as_ref().is_some_and(|h| Arc::ptr_eq(h, hand)))
                        .count();
                    asked.push((Arc::as_ptr(hand), hand.lease(wanted)));
                    asked.len() - 1
                }
            };
            let (lease, room) = asked[at].1.as_mut()?;
            if *room == 0 {
                return None;
            }
            *room -= 1;
            Some(lease.clone())
        })
        .collect()
}

/// Gives each leased delivery to its hand, in order; what a hand no longer takes is
/// released to the table (its processor stopped, or its chat waits for a retry).
async fn hand_over(
    inner: &Inner,
    deliveries: &[NewDelivery],
    stored: &[Stored],
    hands: &[Option<Arc<Hand>>],
    leases: &[Option<super::Lease>],
) {
    let mut given: Vec<(Arc<Hand>, Vec<Delivery>)> = Vec::new();
    for (i, d) in deliveries.iter().enumerate() {
        let (Some(Stored::Leased(id)), Some(Some(hand))) = (stored.get(i), hands.get(i)) else {
            continue;
        };
        let row = Delivery {
            id: *id,
            event_key: d.event_key.clone(),
            chat_key: d.chat_key.clone(),
            seq: d.seq,
            kind: d.kind.clone(),
            body: Some(d.body.clone()),
            attempts: 1,
            received_at: d.received_at,
        };
        match given.iter_mut().find(|(h, _)| Arc::ptr_eq(h, hand)) {
            Some((_, rows)) => rows.push(row),
            None => given.push((hand.clone(), vec![row])),
        }
    }
    let now = leases
        .iter()
        .flatten()
        .map(|l| l.now)
        .next()
        .unwrap_or_else(chrono::Utc::now);
    for (hand, rows) in given {
        metrics::counter!("gopy_webhook_inbox_handed_total").increment(rows.len() as u64);
        let refused = hand.give(rows);
        if let Err(e) = inner.store.inbox_release(refused, now).await {
            // Their leases run out instead.
            tracing::warn!(error = %e, "cannot hand webhook deliveries back to the inbox");
        }
    }
}
