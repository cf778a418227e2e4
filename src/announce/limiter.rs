//! The rate limiter of one bot account: how long to wait before the next message so that
//! Telegram's limits are never reached (by default 30 messages/s overall, 20/min per group,
//! 1/s per private chat), and pauses when Telegram still says 429. Pure: the caller passes
//! the instant and sleeps until the one it gets back; messages are spaced evenly, so steady
//! sending never bursts over a limit.
//!
//! Replies to residents go first: every reply sent ([`Limiter::note_reply`]) pushes the next
//! bulk slot back by one, so a resident mid-dialog never waits behind a broadcast and the two
//! together stay within the limit; while residents are being answered, bulk messages
//! (broadcasts) are also spaced over the account's rate less a small reserve
//! ([`Limiter::reserved`]). With nobody to answer, a broadcast has the whole rate.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

/// The limits of one bot account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Messages per second, all chats together (1,000 with paid broadcasts).
    pub per_second: u32,
    /// Messages per minute to one group, supergroup or channel.
    pub group_per_minute: u32,
    /// Messages per second to one private chat.
    pub private_per_second: u32,
}

impl Default for Limits {
    /// Telegram's limits for a bot without paid broadcasts.
    fn default() -> Self {
        Self {
            per_second: 30,
            group_per_minute: 20,
            private_per_second: 1,
        }
    }
}

/// Spaces messages to stay within [`Limits`].
#[derive(Debug)]
pub struct Limiter {
    /// The limits.
    limits: Limits,
    /// The earliest instant the next message (to any chat) may go.
    next_any: Option<Instant>,
    /// The earliest instant the next message to each chat may go.
    next_chat: HashMap<i64, Instant>,
    /// When the last reply to a resident went.
    last_reply: Option<Instant>,
}

/// How long after a reply to a resident bulk keeps the reserve free for the next ones.
pub const REPLY_SPELL: Duration = Duration::from_secs(10);

/// Added to every period before it is divided among its messages: requests reach Telegram
/// with varying delays, and a limit counted over a sliding window would see `n + 1` messages
/// in one period if they were spaced exactly. Costs under 5% of the rate.
pub const GUARD: Duration = Duration::from_millis(50);

/// The guard at paid-broadcast rates (100 a second and more), where 50 ms would cost 5% of
/// the rate and a message's slot is a millisecond wide: 2%.
pub const FAST_GUARD: Duration = Duration::from_millis(20);

/// The interval between two messages at `n` per `period` (`n == 0` counts as 1), with the
/// guard.
fn interval(period: Duration, n: u32) -> Duration {
    let guard = if n >= 100 && period == Duration::from_secs(1) {
        FAST_GUARD
    } else {
        GUARD
    };
    (period + guard) / n.max(1)
}

impl Limiter {
    /// Messages a second kept free of bulk for replies to residents at `now`: while a reply
    /// went within [`REPLY_SPELL`], a twentieth of the rate, at least 1 and at most 10 (1 of
    /// Telegram's 30, 10 of the paid 1,000); none while nobody is being answered.
    pub fn reserved(&self, now: Instant) -> u32 {
        let answering = self
            .last_reply
            .is_some_and(|t| now.saturating_duration_since(t) < REPLY_SPELL);
        if self.limits.per_second <= 1 || !answering {
            0
        } else {
            (self.limits.per_second / 20).clamp(1, 10)
        }
    }

    /// A reply to a resident goes now (it never waits for bulk): bulk messages not yet given a
    /// slot wait one interval more.
    pub fn note_reply(&mut self, now: Instant) {
        let step = interval(Duration::from_secs(1), self.limits.per_second);
        self.next_any = Some(self.next_any.map_or(now, |t| t.max(now)) + step);
        self.last_reply = Some(self.last_reply.map_or(now, |t| t.max(now)));
    }

    /// A limiter with nothing sent yet.
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            next_any: None,
            next_chat: HashMap::new(),
            last_reply: None,
        }
    }

    /// Reserves the next slot for a message to `chat` (negative ids are groups and channels,
    /// positive ones private chats) at or after `now`, and returns when it may be sent.
    pub fn reserve(&mut self, chat: i64, now: Instant) -> Instant {
        // Forget chats whose spacing has passed, so the map does not grow with every chat.
        if self.next_chat.len() > 4096 {
            self.next_chat.retain(|_, t| *t > now);
        }
        let per_chat = if chat < 0 {
            interval(Duration::from_secs(60), self.limits.group_per_minute)
        } else {
            interval(Duration::from_secs(1), self.limits.private_per_second)
        };
        let at = [Some(now), self.next_any, self.next_chat.get(&chat).copied()]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(now);
        let bulk = self.limits.per_second - self.reserved(now);
        self.next_any = Some(at + interval(Duration::from_secs(1), bulk));
        self.next_chat.insert(chat, at + per_chat);
        at
    }

    /// Like [`Limiter::reserve`], but only a slot within `horizon` of `now` is taken; a later
    /// one is left free and `Err` says when to ask again. Bulk senders reserve this way, so
    /// few of their slots are fixed ahead of time and a reply ([`Limiter::note_reply`]) can
    /// still push them back.
    pub fn reserve_within(
        &mut self,
        chat: i64,
        now: Instant,
        horizon: Duration,
    ) -> Result<Instant, Instant> {
        let at = [Some(now), self.next_any, self.next_chat.get(&chat).copied()]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(now);
        if at > now + horizon {
            return Err(at - horizon);
        }
        Ok(self.reserve(chat, now))
    }

    /// Telegram answered 429 for `chat` with `retry_after`: nothing goes to that chat, nor
    /// (as the answer does not say which limit was hit) to any chat, before `now + wait`.
    pub fn retry_after(&mut self, chat: i64, wait: Duration, now: Instant) {
        let until = now + wait;
        self.next_any = Some(self.next_any.map_or(until, |t| t.max(until)));
        let slot = self.next_chat.entry(chat).or_insert(until);
        *slot = (*slot).max(until);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The limiter is pure: every test passes the instants itself, so nothing sleeps and no
    // clock needs pausing.

    #[test]
    fn messages_to_many_groups_are_spaced_to_thirty_a_second() {
        let mut l = Limiter::new(Limits::default());
        let start = Instant::now();
        let slots: Vec<Instant> = (0..90).map(|i| l.reserve(-1000 - i, start)).collect();
        // 90 messages take a little over three seconds (30 a second, spread over 1.05 s: no
        // resident is being answered, so nothing is kept back); no second holds more than 30.
        assert_eq!(slots[0], start);
        assert_eq!(
            slots[1] - slots[0],
            Duration::from_nanos(1_050_000_000 / 30)
        );
        assert!(slots[89] - start < Duration::from_millis(3300));
        for w in slots.windows(31) {
            assert!(
                w[30] - w[0] >= Duration::from_secs(1),
                "31 messages within a second"
            );
        }
    }

    #[test]
    fn one_group_gets_at_most_twenty_a_minute_and_a_private_chat_one_a_second() {
        let mut l = Limiter::new(Limits::default());
        let start = Instant::now();
        let group: Vec<Instant> = (0..21).map(|_| l.reserve(-5, start)).collect();
        assert_eq!(
            group[1] - group[0],
            Duration::from_millis(3002) + Duration::from_micros(500)
        );
        assert!(group[20] - group[0] > Duration::from_secs(60));
        let private: Vec<Instant> = (0..3).map(|_| l.reserve(42, start)).collect();
        assert_eq!(private[2] - private[0], Duration::from_millis(2100));
    }

    #[test]
    fn a_retry_after_pauses_everything_for_exactly_that_long() {
        let mut l = Limiter::new(Limits::default());
        let start = Instant::now();
        l.reserve(-5, start);
        l.retry_after(-5, Duration::from_secs(7), start);
        assert_eq!(l.reserve(-6, start), start + Duration::from_secs(7));
        // The next one keeps its spacing after the first.
        assert_eq!(
            l.reserve(-5, start),
            start + Duration::from_secs(7) + Duration::from_nanos(1_050_000_000 / 30)
        );
        // Time moves on: the limiter does not hold back what is due.
        let now = start + Duration::from_secs(100);
        assert_eq!(l.reserve(-7, now), now);
    }

    #[test]
    fn paid_broadcast_limits_allow_a_thousand_a_second() {
        let mut l = Limiter::new(Limits {
            per_second: 1000,
            ..Limits::default()
        });
        let start = Instant::now();
        let last = (0..1000).map(|i| l.reserve(-i - 1, start)).last();
        // The whole rate for bulk while nobody is being answered, with a 2% guard: 98% of
        // the paid rate.
        assert_eq!(
            last,
            Some(start + Duration::from_nanos(1_020_000_000 / 1000 * 999))
        );
        // After a reply, 10 a second are kept free for the next ones, for ten seconds.
        let mut l = Limiter::new(Limits {
            per_second: 1000,
            ..Limits::default()
        });
        l.note_reply(start);
        let after = l.next_any.unwrap_or(start);
        let a = l.reserve(-1, start);
        let b = l.reserve(-2, start);
        assert_eq!(a, after);
        assert_eq!(b - a, Duration::from_nanos(1_020_000_000 / 990));
        let later = start + REPLY_SPELL;
        let c = l.reserve(-3, later);
        let d = l.reserve(-4, later);
        assert_eq!(d - c, Duration::from_nanos(1_020_000_000 / 1000));
    }

    #[test]
    fn replies_go_at_once_and_push_bulk_back() {
        let mut l = Limiter::new(Limits::default());
        let start = Instant::now();
        let first = l.reserve(-1, start);
        assert_eq!(first, start);
        let step = Duration::from_nanos(1_050_000_000 / 30);
        // Three replies in the same instant: bulk's next slot moves back by three of the
        // account's intervals.
        for _ in 0..3 {
            l.note_reply(start);
        }
        let reply_step = Duration::from_nanos(1_050_000_000 / 30);
        assert_eq!(l.reserve(-2, start), start + step + reply_step * 3);
        // A bulk sender with 32 sends in flight reserving 100 ms ahead, and a resident's
        // replies every 300 ms: over any second, the two together stay within 30.
        let horizon = Duration::from_millis(100);
        let mut l = Limiter::new(Limits::default());
        let mut sent: Vec<Instant> = Vec::new();
        let mut bulk: Vec<Instant> = Vec::new();
        for ms in 0..10_000u64 {
            let now = start + Duration::from_millis(ms);
            if ms % 300 == 0 {
                l.note_reply(now);
                sent.push(now);
            }
            bulk.retain(|t| *t > now);
            while bulk.len() < 32 {
                match l.reserve_within(-1000 - sent.len() as i64, now, horizon) {
                    Ok(at) => {
                        bulk.push(at);
                        sent.push(at);
                    }
                    Err(_) => break,
                }
            }
        }
        sent.sort();
        assert!(sent.len() > 280, "only {} sent in 10 s", sent.len());
        for w in sent.windows(31) {
            assert!(
                w[30] - w[0] >= Duration::from_secs(1),
                "31 messages within a second"
            );
        }
    }
}
