//! The broadcast benchmarks' setup, through gopy's own store and broadcast functions: two
//! staff members (an official and an approver), groups registered as the bot's supergroups
//! and bound to a unit, and one approved broadcast to that unit, scheduled to go now. Shared
//! by `benches/broadcast.rs` and `benches/replicas.rs`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use chrono::Utc;
use gopy::announce::broadcast::{Action, act, create};
use gopy::domain::Channel;
use gopy::store::Store;
use gopy::store::announce::{
    Audience, BotMembership, BotStatus, BroadcastState, GroupKind, LinkCode, NewStaff, Role,
    Schedule,
};

use crate::fake_telegram::FakeTelegram;

/// The official who writes and schedules the broadcast.
const OFFICIAL: &str = "lan";

/// The approver.
const APPROVER: &str = "minh";

/// Groups registered at once (each registration is two short transactions).
const AT_ONCE: usize = 16;

/// The Telegram chat ids of `n` supergroups.
pub fn chats(n: usize) -> Vec<i64> {
    (0..n as i64).map(|i| -1_000_000 - i).collect()
}

/// Inserts the demo campaign and the two staff members; returns the campaign's first unit.
pub async fn campaign_and_staff(store: &Arc<dyn Store>) -> Result<String> {
    let campaign = gopy::campaign::demo(Utc::now())?;
    let unit = campaign.units[0].code.clone();
    store.insert_campaign(&campaign).await?;
    for (i, (name, role)) in [(OFFICIAL, Role::Official), (APPROVER, Role::Approver)]
        .into_iter()
        .enumerate()
    {
        let new = NewStaff {
            name: name.to_owned(),
            roles: vec![role],
            unit: None,
        };
        let link = LinkCode {
            code: format!("BENCH00{i}"),
            expires_at: Utc::now() + chrono::Duration::hours(1),
        };
        store.add_staff(&new, &link, "bench", Utc::now()).await?;
    }
    Ok(unit)
}

/// Records the bot as a member of each chat and binds the group to `unit`, a few at a time.
pub async fn bind_groups(store: &Arc<dyn Store>, unit: &str, chats: &[i64]) -> Result<()> {
    for part in chats.chunks(AT_ONCE) {
        let binds = part.iter().map(|chat| async move {
            let m = BotMembership {
                channel: Channel::Telegram,
                external_id: chat.to_string(),
                kind: GroupKind::Supergroup,
                title: format!("Nhóm {chat}"),
                status: BotStatus::Member,
                can_delete: false,
                can_restrict: false,
            };
            let g = store
                .record_membership(&m, None, Utc::now())
                .await?
                .context("group recorded")?;
            store
                .bind_group(g.id, Some(unit), "bench", None, Utc::now())
                .await?;
            anyhow::Ok(())
        });
        for done in futures::future::join_all(binds).await {
            done?;
        }
    }
    Ok(())
}

/// Creates a broadcast to every group of `unit`, submitted and approved; returns its id.
pub async fn approved(store: &Arc<dyn Store>, unit: &str) -> Result<i64> {
    let audience = Audience {
        units: vec![unit.to_owned()],
        subunits: false,
        groups: vec![],
        residents: false,
    };
    let b = create(
        store,
        OFFICIAL,
        "Thông báo thử tải / benchmark",
        audience,
        None,
        Utc::now(),
    )
    .await?;
    act(store, b.id, OFFICIAL, Action::Submit, Utc::now()).await?;
    act(store, b.id, APPROVER, Action::Approve, Utc::now()).await?;
    Ok(b.id)
}

/// Schedules the approved broadcast `id` to go now.
pub async fn schedule_now(store: &Arc<dyn Store>, id: i64) -> Result<()> {
    act(
        store,
        id,
        OFFICIAL,
        Action::Schedule(Schedule::Now),
        Utc::now(),
    )
    .await?;
    Ok(())
}

/// Whether broadcast `id` is finished (sent, or partly failed).
pub async fn finished(store: &Arc<dyn Store>, id: i64) -> Result<bool> {
    let state = store.broadcast(id).await?.context("broadcast")?.state;
    Ok(matches!(
        state,
        BroadcastState::Sent | BroadcastState::PartlyFailed
    ))
}

/// Every message the fake accepts from now on, counted per chat.
pub struct Tally {
    /// Messages per chat id.
    counts: Arc<Mutex<HashMap<i64, usize>>>,
    /// When the first message arrived.
    first: Arc<Mutex<Option<Instant>>>,
    /// When every one of the expected chats had a message (the broadcast is delivered then).
    complete: Arc<Mutex<Option<Instant>>>,
    /// The task that counts.
    task: tokio::task::JoinHandle<()>,
}

impl Tally {
    /// Subscribes to the fake's sent messages and counts them, noting when `expect` chats
    /// have had one.
    pub fn start(fake: &FakeTelegram, expect: usize) -> Tally {
        let counts: Arc<Mutex<HashMap<i64, usize>>> = Arc::default();
        let complete: Arc<Mutex<Option<Instant>>> = Arc::default();
        let mut sent = fake.subscribe_sent();
        let counter = counts.clone();
        let last = complete.clone();
        let first: Arc<Mutex<Option<Instant>>> = Arc::default();
        let started = first.clone();
        let task = tokio::spawn(async move {
            let mut groups = 0usize;
            while let Some(s) = sent.recv().await {
                // The broadcast goes to groups (negative ids); a private message (a notice to
                // staff at start) neither starts nor completes it.
                let group = s.chat_id < 0;
                // Times are the fake's own (when it accepted the message): this task may run
                // late on a busy machine.
                if group && let Ok(mut at) = started.lock() {
                    at.get_or_insert(s.at);
                }
                if let Ok(mut m) = counter.lock() {
                    let n = m.entry(s.chat_id).or_default();
                    *n += 1;
                    if group && *n == 1 {
                        groups += 1;
                    }
                    if group
                        && groups >= expect
                        && let Ok(mut at) = last.lock()
                    {
                        at.get_or_insert(s.at);
                    }
                }
            }
        });
        Tally {
            counts,
            first,
            complete,
            task,
        }
    }

    /// When the first message arrived, if one did.
    pub fn first_at(&self) -> Option<Instant> {
        self.first.lock().ok().and_then(|at| *at)
    }

    /// When every expected chat had had a message, if that happened yet.
    pub fn complete_at(&self) -> Option<Instant> {
        self.complete.lock().ok().and_then(|at| *at)
    }

    /// Stops counting, after a moment for the last messages to arrive, and returns the
    /// messages beyond one per chat (duplicates) and how many of `chats` got none (losses).
    pub async fn finish(self, chats: &[i64]) -> (usize, usize) {
        tokio::time::sleep(Duration::from_millis(200)).await;
        self.task.abort();
        let got = self.counts.lock().map(|m| m.clone()).unwrap_or_default();
        let duplicates = got.values().map(|n| n.saturating_sub(1)).sum();
        let losses = chats.iter().filter(|c| !got.contains_key(c)).count();
        (duplicates, losses)
    }
}
