//! The in-memory hand-over between a replica's webhook route and its inbox processor: the
//! group-commit writer ([`super::writer`]) commits a delivery already leased to this
//! replica's processor when no other replica holds (or left) a pending delivery of the same
//! resident, and gives it here at once; the processor takes it from here without claiming it
//! back from the table. What the table still has to hand out (deliveries another replica
//! kept for a resident this one holds, what a crash or a retry left) is claimed as before.
//!
//! The hand keeps one resident's (chat key's) deliveries in order: the oldest is processed,
//! the next one waits behind it and becomes ready when it is done. When a delivery is to be
//! retried later, the ones waiting behind it are handed back to the table (their leases
//! released), so that they are claimed after it, in order. The hand holds at most
//! [`Hand::CAPACITY`] deliveries; beyond that the writer commits them unleased, for the
//! table claim.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use super::{Delivery, InboxOutcome};

/// A lease the writer asks for: the processor's name, the instant and the lease's end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The processor's name in `leased_by`.
    pub holder: String,
    /// The present instant, as the processor's clock has it.
    pub now: DateTime<Utc>,
    /// The lease's end.
    pub until: DateTime<Utc>,
}

/// The clock of the processor (tests move it).
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// Who takes deliveries, while the processor runs.
struct Taker {
    /// The processor's name in leases.
    holder: String,
    /// How long a lease lasts.
    lease: chrono::Duration,
    /// Its clock.
    clock: Clock,
}

/// One resident's deliveries in hand.
#[derive(Default)]
struct Chat {
    /// Waiting, oldest first.
    queue: VecDeque<Delivery>,
    /// Its oldest delivery is being processed.
    busy: bool,
    /// The id of the delivery being processed.
    in_flight: Option<i64>,
    /// A delivery of the chat is to be retried and its outcome is not yet recorded: nothing
    /// of the chat is taken until it is.
    blocked: bool,
}

/// What the hand holds.
#[derive(Default)]
struct State {
    /// The processor, while it runs.
    taker: Option<Taker>,
    /// Each chat key with deliveries in hand.
    chats: HashMap<String, Chat>,
    /// Chats whose oldest delivery may start, in the order they became ready.
    ready: VecDeque<String>,
    /// Deliveries held (waiting or being processed).
    held: usize,
}

/// The hand-over of one inbox source on one replica (shared by the route, the writer and
/// the processor). Also the processor's wake-up call.
#[derive(Default)]
pub struct Hand {
    /// The deliveries and who takes them.
    state: Mutex<State>,
    /// Wakes the processor.
    wake: Notify,
}

impl std::fmt::Debug for Hand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hand")
            .field("held", &self.held())
            .finish_non_exhaustive()
    }
}

impl Hand {
    /// The most deliveries one hand holds.
    pub const CAPACITY: usize = 4096;

    /// An empty hand that takes nothing until a processor opens it.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Wakes the processor (a delivery was kept or given).
    pub fn notify(&self) {
        self.wake.notify_one();
    }

    /// Waits until woken.
    pub async fn notified(&self) {
        self.wake.notified().await;
    }

    /// Starts taking deliveries for the processor `holder`, leased for `lease` by `clock`.
    pub fn open(&self, holder: &str, lease: chrono::Duration, clock: Clock) {
        if let Ok(mut s) = self.state.lock() {
            s.taker = Some(Taker {
                holder: holder.to_owned(),
                lease,
                clock,
            });
        }
    }

    /// Stops taking deliveries; returns the ids of those waiting (not being processed),
    /// whose leases the processor releases.
    pub fn close(&self) -> Vec<i64> {
        let Ok(mut s) = self.state.lock() else {
            return Vec::new();
        };
        s.taker = None;
        s.ready.clear();
        let mut released = Vec::new();
        for chat in s.chats.values_mut() {
            released.extend(chat.queue.drain(..).map(|d| d.id));
        }
        s.chats.retain(|_, c| c.busy);
        s.held -= released.len().min(s.held);
        released
    }

    /// The lease for up to `wanted` deliveries about to be committed, and how many the hand
    /// has room for; `None` when no processor takes them.
    pub fn lease(&self, wanted: usize) -> Option<(Lease, usize)> {
        let s = self.state.lock().ok()?;
        let taker = s.taker.as_ref()?;
        let room = Self::CAPACITY.saturating_sub(s.held).min(wanted);
        if room == 0 {
            return None;
        }
        let now = (taker.clock)();
        Some((
            Lease {
                holder: taker.holder.clone(),
                now,
                until: now + taker.lease,
            },
            room,
        ))
    }

    /// Deliveries held (tests, metrics and the lease keeper).
    pub fn held(&self) -> usize {
        self.state.lock().map(|s| s.held).unwrap_or(0)
    }

    /// The ids of the deliveries held, waiting or being processed (whose leases the
    /// processor keeps moving on).
    pub fn held_ids(&self) -> Vec<i64> {
        self.state
            .lock()
            .map(|s| {
                s.chats
                    .values()
                    .flat_map(|c| c.queue.iter().map(|d| d.id).chain(c.in_flight))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Gives the hand deliveries leased to its processor (committed by the writer, or
    /// claimed from the table), each chat's in order. Returns the ids it did not take (the
    /// processor stopped, or their chat waits for a retry), whose leases are to be released.
    pub fn give(&self, rows: Vec<Delivery>) -> Vec<i64> {
        let Ok(mut s) = self.state.lock() else {
            return rows.into_iter().map(|d| d.id).collect();
        };
        let mut refused = Vec::new();
        let mut given = false;
        for row in rows {
            if s.taker.is_none() {
                refused.push(row.id);
                continue;
            }
            let key = row.chat_key.clone();
            let chat = s.chats.entry(key.clone()).or_default();
            if chat.blocked {
                refused.push(row.id);
                continue;
            }
            chat.queue.push_back(row);
            let first = !chat.busy && chat.queue.len() == 1;
            s.held += 1;
            if first {
                s.ready.push_back(key);
            }
            given = true;
        }
        drop(s);
        if given {
            self.wake.notify_one();
        }
        refused
    }

    /// Takes up to `max` deliveries to process now, each of a different chat.
    pub fn take(&self, max: usize) -> Vec<Delivery> {
        let Ok(mut s) = self.state.lock() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        while out.len() < max {
            let Some(key) = s.ready.pop_front() else {
                break;
            };
            let Some(chat) = s.chats.get_mut(&key) else {
                continue;
            };
            if chat.busy || chat.blocked {
                continue;
            }
            if let Some(row) = chat.queue.pop_front() {
                chat.busy = true;
                chat.in_flight = Some(row.id);
                out.push(row);
            }
        }
        let more = !s.ready.is_empty();
        drop(s);
        if more {
            // Another loop may take the rest.
            self.wake.notify_one();
        }
        out
    }

    /// Whether deliveries are ready to be taken.
    pub fn has_ready(&self) -> bool {
        self.state
            .lock()
            .map(|s| !s.ready.is_empty())
            .unwrap_or(false)
    }

    /// Records that the deliveries taken (`chat key`, outcome) are processed: the next of
    /// each chat becomes ready, except after a retry, when the chat's waiting deliveries are
    /// handed back (their ids returned, to release) and the chat is blocked until
    /// [`Hand::recorded`].
    pub fn done<'a>(
        &self,
        finished: impl IntoIterator<Item = (&'a str, &'a InboxOutcome)>,
    ) -> Vec<i64> {
        let Ok(mut s) = self.state.lock() else {
            return Vec::new();
        };
        let mut released = Vec::new();
        let mut woken = false;
        for (key, outcome) in finished {
            let s = &mut *s;
            let Some(chat) = s.chats.get_mut(key) else {
                continue;
            };
            if !chat.busy {
                continue;
            }
            chat.busy = false;
            chat.in_flight = None;
            s.held = s.held.saturating_sub(1);
            if matches!(outcome, InboxOutcome::Retry(..)) {
                chat.blocked = true;
                let n = chat.queue.len();
                released.extend(chat.queue.drain(..).map(|d| d.id));
                s.held = s.held.saturating_sub(n);
            } else if chat.queue.is_empty() {
                if !chat.blocked {
                    s.chats.remove(key);
                }
            } else {
                s.ready.push_back(key.to_owned());
                woken = true;
            }
        }
        drop(s);
        if woken {
            self.wake.notify_one();
        }
        released
    }

    /// The outcomes of the chats' deliveries are recorded in the table: a chat blocked by a
    /// retry no longer needs the hand to hold it back (the table does).
    pub fn recorded<'a>(&self, chats: impl IntoIterator<Item = &'a str>) {
        let Ok(mut s) = self.state.lock() else {
            return;
        };
        for key in chats {
            let remove = match s.chats.get_mut(key) {
                Some(chat) => {
                    chat.blocked = false;
                    chat.queue.is_empty() && !chat.busy
                }
                None => false,
            };
            if remove {
                s.chats.remove(key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, chat: &str) -> Delivery {
        Delivery {
            id,
            event_key: id.to_string(),
            chat_key: chat.to_owned(),
            seq: id,
            kind: String::new(),
            body: Some("{}".to_owned()),
            attempts: 1,
            received_at: Utc::now(),
        }
    }

    fn open() -> Arc<Hand> {
        let hand = Hand::new();
        hand.open("me", chrono::Duration::seconds(60), Arc::new(Utc::now));
        hand
    }

    fn ids(rows: &[Delivery]) -> Vec<i64> {
        rows.iter().map(|r| r.id).collect()
    }

    #[test]
    fn a_closed_hand_takes_nothing_and_asks_for_no_lease() {
        let hand = Hand::new();
        assert!(hand.lease(10).is_none());
        assert_eq!(hand.give(vec![row(1, "a")]), vec![1]);
        assert_eq!(hand.held(), 0);
    }

    #[test]
    fn one_chat_is_taken_one_delivery_at_a_time_in_order() {
        let hand = open();
        assert!(
            hand.give(vec![row(1, "a"), row(2, "b"), row(3, "a")])
                .is_empty()
        );
        assert_eq!(hand.held(), 3);
        let first = hand.take(10);
        assert_eq!(ids(&first), vec![1, 2], "one delivery of each chat");
        assert!(hand.take(10).is_empty(), "3 waits behind 1");
        assert!(hand.give(vec![row(4, "a")]).is_empty());
        assert!(hand.take(10).is_empty(), "4 waits too");
        let done = InboxOutcome::Done;
        assert!(hand.done([("a", &done), ("b", &done)]).is_empty());
        assert_eq!(ids(&hand.take(10)), vec![3]);
        assert!(hand.done([("a", &done)]).is_empty());
        assert_eq!(ids(&hand.take(10)), vec![4]);
        assert!(hand.done([("a", &done)]).is_empty());
        assert_eq!(hand.held(), 0);
    }

    #[test]
    fn a_retry_hands_back_what_waits_behind_it_until_recorded() {
        let hand = open();
        assert!(
            hand.give(vec![row(1, "a"), row(2, "a"), row(3, "a")])
                .is_empty()
        );
        assert_eq!(ids(&hand.take(10)), vec![1]);
        let retry = InboxOutcome::Retry(Utc::now(), "down".to_owned());
        assert_eq!(hand.done([("a", &retry)]), vec![2, 3]);
        assert_eq!(hand.held(), 0);
        assert_eq!(
            hand.give(vec![row(4, "a")]),
            vec![4],
            "blocked until the retry is recorded"
        );
        hand.recorded(["a"]);
        assert!(hand.give(vec![row(5, "a")]).is_empty());
        assert_eq!(ids(&hand.take(10)), vec![5]);
    }

    #[test]
    fn the_hand_has_a_capacity_and_closing_releases_what_waits() {
        let hand = open();
        assert_eq!(hand.lease(10).map(|(_, n)| n), Some(10));
        let rows: Vec<Delivery> = (0..Hand::CAPACITY as i64)
            .map(|i| row(i, &format!("c{i}")))
            .collect();
        assert!(hand.give(rows).is_empty());
        assert!(hand.lease(1).is_none(), "full");
        let taken = hand.take(2);
        assert_eq!(taken.len(), 2);
        let released = hand.close();
        assert_eq!(released.len(), Hand::CAPACITY - 2);
        assert_eq!(hand.held(), 2, "the two in flight are still held");
        let done = InboxOutcome::Done;
        hand.done(taken.iter().map(|r| (r.chat_key.as_str(), &done)));
        assert_eq!(hand.held(), 0);
    }
}
