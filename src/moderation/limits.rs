//! Flood control and the cap on automatic actions as every process sees them. On SQLite there
//! is one process, and the exact sliding windows of [`FloodGate`] and [`ActionCap`] are kept in
//! memory. On Postgres several replicas may hear the same group: the counts live in the
//! database ([`crate::store::jobs::JobStore::count_event`]: one row per key per window,
//! incremented with one upsert, the previous window weighted in), so a person posting through
//! two replicas is counted once, and the cap holds for all of them together.
//!
//! The keys carry no platform id in clear: `flood:` and a hash of the channel, chat and author.

use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest as _, Sha256};

use super::flood::{ActionCap, FloodGate};
use super::group::{GroupPost, GroupSettings};
use crate::store::{Backend, Store, StoreResult};

/// The key of the cap on automatic actions (one for every chat).
const CAP_KEY: &str = "moderation:auto_actions";

/// The flood window.
const FLOOD_WINDOW: Duration = Duration::minutes(1);

/// The cap's window.
const CAP_WINDOW: Duration = Duration::hours(1);

/// Moderation's rate rules in a running process.
#[derive(Debug)]
pub struct Limits {
    /// The limits.
    settings: GroupSettings,
    /// Posts per person per chat, when this process is the only one (SQLite).
    flood: Mutex<FloodGate>,
    /// Automatic actions, when this process is the only one (SQLite).
    cap: Mutex<ActionCap>,
}

impl Limits {
    /// The rules these settings ask for.
    pub fn new(settings: GroupSettings) -> Self {
        Limits {
            flood: Mutex::new(settings.flood_gate()),
            cap: Mutex::new(settings.action_cap()),
            settings,
        }
    }

    /// Counts a group post; returns how many its author sent in that chat within the last
    /// minute when that is over the limit (the post is flooding), `None` otherwise.
    pub async fn flooding(
        &self,
        store: &dyn Store,
        post: &GroupPost,
    ) -> StoreResult<Option<usize>> {
        match store.backend() {
            Backend::Sqlite => {
                Ok(lock(&self.flood).record(&post.chat_id, &post.author_platform_id, post.at))
            }
            Backend::Postgres => {
                let key = flood_key(post);
                let counted = store.count_event(&key, post.at, FLOOD_WINDOW, None).await?;
                let limit = i64::try_from(self.settings.flood_per_minute).unwrap_or(i64::MAX);
                Ok((counted.estimate > limit)
                    .then(|| usize::try_from(counted.estimate).unwrap_or(usize::MAX)))
            }
        }
    }

    /// Whether one more automatic action may be taken at `at` (counted if so).
    pub async fn take_action(&self, store: &dyn Store, at: DateTime<Utc>) -> StoreResult<bool> {
        match store.backend() {
            Backend::Sqlite => Ok(lock(&self.cap).try_take(at)),
            Backend::Postgres => {
                let limit = i64::try_from(self.settings.auto_actions_per_hour).unwrap_or(i64::MAX);
                if limit == 0 {
                    return Ok(false);
                }
                Ok(store
                    .count_event(CAP_KEY, at, CAP_WINDOW, Some(limit))
                    .await?
                    .taken)
            }
        }
    }

    /// Forgets people who went quiet (in memory; the database's windows are forgotten by
    /// housekeeping).
    pub fn forget_idle(&self, at: DateTime<Utc>) {
        lock(&self.flood).forget_idle(at);
    }
}

/// The shared counter's key for a post's author in its chat.
fn flood_key(post: &GroupPost) -> String {
    let mut h = Sha256::new();
    h.update(post.channel.as_str().as_bytes());
    h.update([0]);
    h.update(post.chat_id.as_bytes());
    h.update([0]);
    h.update(post.author_platform_id.as_bytes());
    let digest = hex::encode(h.finalize());
    format!("flood:{}", &digest[..32])
}

/// Locks a mutex, going on after a panic elsewhere (the state is only counters).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Channel;

    fn post(chat: &str, author: &str) -> GroupPost {
        GroupPost {
            channel: Channel::Telegram,
            chat_id: chat.to_owned(),
            message_id: "1".to_owned(),
            author_platform_id: author.to_owned(),
            author: None,
            text: String::new(),
            forwarded: false,
            at: DateTime::<Utc>::UNIX_EPOCH,
        }
    }

    #[test]
    fn a_flood_key_names_the_author_in_the_chat_without_their_id() {
        let k = flood_key(&post("-100", "4242"));
        assert!(k.starts_with("flood:") && !k.contains("4242") && !k.contains("-100"));
        assert_eq!(k, flood_key(&post("-100", "4242")));
        assert_ne!(k, flood_key(&post("-100", "4243")));
        assert_ne!(k, flood_key(&post("-101", "4242")));
    }
}
