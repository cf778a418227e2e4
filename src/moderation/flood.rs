//! Rate rules, pure (the caller passes the time): flood control per person per group chat,
//! and the cap on automatic actions (so a burst of matches, or a bad word list, cannot make
//! the bot act on many posts before a person looks).

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Duration, Utc};

/// Flood control: at most `limit` messages per person per chat within `window`.
#[derive(Debug, Clone)]
pub struct FloodGate {
    /// Messages allowed within the window.
    limit: usize,
    /// The sliding window.
    window: Duration,
    /// When each (chat, person) last posted, oldest first, within the window.
    recent: HashMap<(String, String), VecDeque<DateTime<Utc>>>,
}

impl FloodGate {
    /// A gate allowing `limit` messages per `window` (e.g. 10 per minute).
    pub fn new(limit: usize, window: Duration) -> Self {
        FloodGate {
            limit: limit.max(1),
            window,
            recent: HashMap::new(),
        }
    }

    /// Records one message; returns how many this person sent in this chat within the window
    /// (this one included) when that is over the limit, `None` otherwise.
    pub fn record(&mut self, chat: &str, person: &str, at: DateTime<Utc>) -> Option<usize> {
        let times = self
            .recent
            .entry((chat.to_owned(), person.to_owned()))
            .or_default();
        while times.front().is_some_and(|t| *t <= at - self.window) {
            times.pop_front();
        }
        times.push_back(at);
        (times.len() > self.limit).then_some(times.len())
    }

    /// Forgets everyone who has not posted within the window before `at` (call now and then
    /// so the map does not grow with every person ever seen).
    pub fn forget_idle(&mut self, at: DateTime<Utc>) {
        let horizon = at - self.window;
        self.recent
            .retain(|_, times| times.back().is_some_and(|t| *t > horizon));
    }

    /// How many people are being tracked.
    pub fn tracked(&self) -> usize {
        self.recent.len()
    }
}

/// A cap on automatic actions: at most `limit` within `window`, across all chats. Beyond it,
/// items are still queued but nothing is done until a person decides.
#[derive(Debug, Clone)]
pub struct ActionCap {
    /// Actions allowed within the window.
    limit: usize,
    /// The sliding window.
    window: Duration,
    /// When the recent actions were taken, oldest first.
    taken: VecDeque<DateTime<Utc>>,
}

impl ActionCap {
    /// A cap of `limit` actions per `window`.
    pub fn new(limit: usize, window: Duration) -> Self {
        ActionCap {
            limit,
            window,
            taken: VecDeque::new(),
        }
    }

    /// Whether one more automatic action may be taken at `at`; if so, it is counted.
    pub fn try_take(&mut self, at: DateTime<Utc>) -> bool {
        while self.taken.front().is_some_and(|t| *t <= at - self.window) {
            self.taken.pop_front();
        }
        if self.taken.len() >= self.limit {
            return false;
        }
        self.taken.push_back(at);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(seconds: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + Duration::seconds(1_750_000_000 + seconds)
    }

    #[test]
    fn the_message_over_the_limit_within_a_minute_is_flooding() {
        let mut gate = FloodGate::new(3, Duration::minutes(1));
        assert_eq!(gate.record("g1", "u1", t(0)), None);
        assert_eq!(gate.record("g1", "u1", t(10)), None);
        assert_eq!(gate.record("g1", "u1", t(20)), None);
        assert_eq!(gate.record("g1", "u1", t(30)), Some(4));
        // Another person, and the same person in another chat, are counted apart.
        assert_eq!(gate.record("g1", "u2", t(30)), None);
        assert_eq!(gate.record("g2", "u1", t(30)), None);
    }

    #[test]
    fn messages_older_than_the_window_no_longer_count() {
        let mut gate = FloodGate::new(2, Duration::minutes(1));
        gate.record("g", "u", t(0));
        gate.record("g", "u", t(30));
        assert_eq!(gate.record("g", "u", t(59)), Some(3));
        // At 91 s the messages of 0 s and 30 s have left the window: 59 s and 91 s remain.
        assert_eq!(gate.record("g", "u", t(91)), None);
        assert_eq!(gate.record("g", "u", t(92)), Some(3));
    }

    #[test]
    fn idle_people_are_forgotten() {
        let mut gate = FloodGate::new(5, Duration::minutes(1));
        gate.record("g", "old", t(0));
        gate.record("g", "new", t(100));
        gate.forget_idle(t(120));
        assert_eq!(gate.tracked(), 1);
    }

    #[test]
    fn automatic_actions_are_capped_per_window() {
        let mut cap = ActionCap::new(2, Duration::minutes(10));
        assert!(cap.try_take(t(0)));
        assert!(cap.try_take(t(1)));
        assert!(
            !cap.try_take(t(2)),
            "the third within ten minutes waits for a person"
        );
        assert!(cap.try_take(t(600)), "the first has left the window");
        assert!(!cap.try_take(t(600)), "the second has not");
    }

    #[test]
    fn a_zero_cap_never_acts() {
        let mut cap = ActionCap::new(0, Duration::minutes(10));
        assert!(!cap.try_take(t(0)));
    }
}
