//! Coordination of several gopy processes on one database: periodic jobs that run once per
//! period however many replicas tick ([`JobStore::take_turn`], [`in_turn`]), and counters
//! every process shares ([`JobStore::count_event`]). Migration 0018: `job_runs`,
//! `rate_windows`.
//!
//! On Postgres a turn is a transaction holding `pg_try_advisory_xact_lock(7245, job)`: a
//! second process asking meanwhile is told no at once, and the lock goes with the connection
//! if the holder dies. Under the lock the job's last run is read from `job_runs`; a turn is
//! taken only when that is at least the job's period ago, and [`Turn::finish`] records the
//! new run and commits (releasing the lock). On SQLite there is one process: the lock is a
//! no-op and only the period is checked.
//!
//! Jobs whose every item is claimed in its own row (outbox deliveries, reports on due dates,
//! daily digests, moderators' cards and authors' notices, approval requests, thread posts, the
//! Zalo OA inbox, the OA token's refresh lease) need no turn: two processes may tick them at
//! once and each item still goes once.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use super::{PgStore, SqliteStore, StoreResult};

/// The first key of every job lock (`pg_try_advisory_xact_lock(int, int)`); the two-key form
/// never collides with the one-key locks of the outbox or sqlx's migrator.
const LOCK_SPACE: i32 = 7245;

/// A periodic job that must run once per period across every process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Job {
    /// Hourly: forgets old processed-update keys, console history and counters, and runs the
    /// retention purge (audited once per campaign purged).
    Housekeeping,
    /// Every minute: reminders before collection closes, and posts assisted groups' leads
    /// have not confirmed.
    Reminders,
    /// At start-up: screens opinions that were never screened (given while gopy was down).
    ModerationScan,
}

impl Job {
    /// The job's name in `job_runs` and in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Job::Housekeeping => "housekeeping",
            Job::Reminders => "reminders",
            Job::ModerationScan => "moderation_scan",
        }
    }

    /// The second key of the job's advisory lock.
    fn lock_key(self) -> i32 {
        match self {
            Job::Housekeeping => 1,
            Job::Reminders => 2,
            Job::ModerationScan => 3,
        }
    }
}

/// This process's turn at a job: held until [`Turn::finish`] (or dropped, which gives the turn
/// back without recording a run, so another process may take it at its next tick).
pub struct Turn {
    /// Which job.
    job: Job,
    /// When the run started (recorded as the job's last run).
    at: DateTime<Utc>,
    /// What holds the turn.
    held: Held,
}

/// What holds a turn on each backend.
enum Held {
    /// The transaction holding the advisory lock.
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
    /// Nothing to hold (one process); the store to record the run in.
    Sqlite(SqliteStore),
}

impl std::fmt::Debug for Turn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Turn")
            .field("job", &self.job)
            .field("at", &self.at)
            .finish_non_exhaustive()
    }
}

impl Turn {
    /// Records the run and gives the turn back.
    pub async fn finish(self) -> StoreResult<()> {
        const RECORD: &str = "INSERT INTO job_runs (job, last_at) VALUES ($1, $2) \
             ON CONFLICT (job) DO UPDATE SET last_at = excluded.last_at";
        match self.held {
            Held::Postgres(mut tx) => {
                sqlx::query(RECORD)
                    .bind(self.job.as_str())
                    .bind(self.at)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
            }
            Held::Sqlite(store) => {
                let mut tx = store.write_tx().await?;
                sqlx::query(RECORD)
                    .bind(self.job.as_str())
                    .bind(self.at)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
            }
        }
        Ok(())
    }
}

/// The outcome of [`JobStore::count_event`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counted {
    /// Whether the event was counted (always, without a limit).
    pub taken: bool,
    /// Events under the key within the last window, estimated: this window's count plus the
    /// previous window's, weighted by how much of it the sliding window still covers.
    pub estimate: i64,
}

/// Whether a run recorded at `last` keeps a job with period `every` from running at `now`:
/// it was less than a period ago. A run recorded more than a period *ahead* of `now` means the
/// clock jumped back (it had run ahead, and was set right); it does not hold the job back
/// until the clock catches up, which would skip reminders due meanwhile. Clocks of replicas
/// that differ by less than a period still see each other's runs.
fn ran_recently(last: DateTime<Utc>, now: DateTime<Utc>, every: Duration) -> bool {
    last > now - every && last <= now + every
}

/// Coordination across processes.
#[async_trait]
pub trait JobStore: Send + Sync {
    /// Takes this process's turn at `job` at `now`, unless another process holds it right now
    /// or the last run was less than `every` ago (`None`).
    async fn take_turn(
        &self,
        job: Job,
        now: DateTime<Utc>,
        every: Duration,
    ) -> StoreResult<Option<Turn>>;

    /// Counts one event under `key` at `at` in windows of `window`, shared by every process.
    /// With a `limit`, the event is counted only when the estimate stays within it (atomic:
    /// two processes never both take the last place).
    async fn count_event(
        &self,
        key: &str,
        at: DateTime<Utc>,
        window: Duration,
        limit: Option<i64>,
    ) -> StoreResult<Counted>;

    /// Forgets counter windows that started before `before`; returns how many.
    async fn forget_counters(&self, before: DateTime<Utc>) -> StoreResult<u64>;
}

/// Runs `work` in this process's turn at `job` (see [`JobStore::take_turn`]); `None` when it
/// was not this process's turn. The run is recorded once `work` returns, whatever it did (a
/// failing job logs and is tried again next period).
pub async fn in_turn<S, F, T>(
    store: &S,
    job: Job,
    now: DateTime<Utc>,
    every: Duration,
    work: F,
) -> StoreResult<Option<T>>
where
    S: JobStore + ?Sized,
    F: Future<Output = T>,
{
    let Some(turn) = store.take_turn(job, now, every).await? else {
        metrics::counter!("gopy_job_turns_total", "job" => job.as_str(), "taken" => "no")
            .increment(1);
        return Ok(None);
    };
    metrics::counter!("gopy_job_turns_total", "job" => job.as_str(), "taken" => "yes").increment(1);
    let out = work.await;
    turn.finish().await?;
    Ok(Some(out))
}

/// Where a window of `window` containing `at` starts, and how far into it `at` is (0..1).
fn window_of(at: DateTime<Utc>, window: Duration) -> (DateTime<Utc>, f64) {
    let w = window.num_milliseconds().max(1);
    let t = at.timestamp_millis();
    let start_ms = t.div_euclid(w) * w;
    let start = DateTime::<Utc>::from_timestamp_millis(start_ms).unwrap_or(at);
    #[allow(clippy::cast_precision_loss)]
    let into = (t - start_ms) as f64 / w as f64;
    (start, into)
}

/// The previous window's events the sliding window still covers, rounded up (so a limit is
/// never exceeded by rounding).
fn carried(previous: i64, into: f64) -> i64 {
    #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
    let c = (previous as f64 * (1.0 - into)).ceil() as i64;
    c.max(0)
}

/// The counter statements, written once for both backends.
macro_rules! count_event_sql {
    ($tx:expr, $key:expr, $at:expr, $window:expr, $limit:expr) => {{
        let (start, into) = window_of($at, $window);
        let previous: Option<i64> = sqlx::query_scalar(
            "SELECT count FROM rate_windows WHERE key = $1 AND window_start = $2",
        )
        .bind($key)
        .bind(start - $window)
        .fetch_optional(&mut *$tx)
        .await?;
        let carried = carried(previous.unwrap_or(0), into);
        let counted: Option<i64> = match $limit {
            Some(limit) if carried >= limit => None,
            Some(limit) => {
                sqlx::query_scalar(
                    "INSERT INTO rate_windows (key, window_start, count) VALUES ($1, $2, 1) \
                     ON CONFLICT (key, window_start) DO UPDATE SET count = rate_windows.count + 1 \
                     WHERE rate_windows.count + $3 < $4 RETURNING count",
                )
                .bind($key)
                .bind(start)
                .bind(carried)
                .bind(limit)
                .fetch_optional(&mut *$tx)
                .await?
            }
            None => Some(
                sqlx::query_scalar(
                    "INSERT INTO rate_windows (key, window_start, count) VALUES ($1, $2, 1) \
                     ON CONFLICT (key, window_start) DO UPDATE SET count = rate_windows.count + 1 \
                     RETURNING count",
                )
                .bind($key)
                .bind(start)
                .fetch_one(&mut *$tx)
                .await?,
            ),
        };
        let out = match counted {
            Some(n) => Counted {
                taken: true,
                estimate: carried + n,
            },
            None => {
                let now: Option<i64> = sqlx::query_scalar(
                    "SELECT count FROM rate_windows WHERE key = $1 AND window_start = $2",
                )
                .bind($key)
                .bind(start)
                .fetch_optional(&mut *$tx)
                .await?;
                Counted {
                    taken: false,
                    estimate: carried + now.unwrap_or(0),
                }
            }
        };
        out
    }};
}

#[async_trait]
impl JobStore for PgStore {
    async fn take_turn(
        &self,
        job: Job,
        now: DateTime<Utc>,
        every: Duration,
    ) -> StoreResult<Option<Turn>> {
        let mut tx = self.pool().begin().await?;
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1, $2)")
            .bind(LOCK_SPACE)
            .bind(job.lock_key())
            .fetch_one(&mut *tx)
            .await?;
        if !locked {
            return Ok(None);
        }
        let last: Option<DateTime<Utc>> =
            sqlx::query_scalar("SELECT last_at FROM job_runs WHERE job = $1")
                .bind(job.as_str())
                .fetch_optional(&mut *tx)
                .await?;
        if last.is_some_and(|last| ran_recently(last, now, every)) {
            // Released now, not whenever the dropped transaction's rollback gets its turn on
            // the connection: until then the lock would turn away a process whose turn it is.
            tx.rollback().await?;
            return Ok(None);
        }
        Ok(Some(Turn {
            job,
            at: now,
            held: Held::Postgres(tx),
        }))
    }

    async fn count_event(
        &self,
        key: &str,
        at: DateTime<Utc>,
        window: Duration,
        limit: Option<i64>,
    ) -> StoreResult<Counted> {
        let mut tx = self.pool().begin().await?;
        let out = count_event_sql!(tx, key, at, window, limit);
        tx.commit().await?;
        Ok(out)
    }

    async fn forget_counters(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        Ok(
            sqlx::query("DELETE FROM rate_windows WHERE window_start < $1")
                .bind(before)
                .execute(self.pool())
                .await?
                .rows_affected(),
        )
    }
}

#[async_trait]
impl JobStore for SqliteStore {
    async fn take_turn(
        &self,
        job: Job,
        now: DateTime<Utc>,
        every: Duration,
    ) -> StoreResult<Option<Turn>> {
        let last: Option<DateTime<Utc>> =
            sqlx::query_scalar("SELECT last_at FROM job_runs WHERE job = $1")
                .bind(job.as_str())
                .fetch_optional(self.read_pool())
                .await?;
        if last.is_some_and(|last| ran_recently(last, now, every)) {
            return Ok(None);
        }
        Ok(Some(Turn {
            job,
            at: now,
            held: Held::Sqlite(self.clone()),
        }))
    }

    async fn count_event(
        &self,
        key: &str,
        at: DateTime<Utc>,
        window: Duration,
        limit: Option<i64>,
    ) -> StoreResult<Counted> {
        let mut tx = self.write_tx().await?;
        let out = count_event_sql!(tx, key, at, window, limit);
        tx.commit().await?;
        Ok(out)
    }

    async fn forget_counters(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let mut tx = self.write_tx().await?;
        let n = sqlx::query("DELETE FROM rate_windows WHERE window_start < $1")
            .bind(before)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: i64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp_millis(1_750_000_000_000 + ms).expect("time")
    }

    #[test]
    fn a_window_starts_on_a_multiple_of_its_length() {
        let (start, into) = window_of(t(90_000), Duration::minutes(1));
        assert_eq!(start.timestamp_millis() % 60_000, 0);
        assert!((0.0..1.0).contains(&into));
        let (again, _) = window_of(start + Duration::seconds(59), Duration::minutes(1));
        assert_eq!(again, start, "the same window until it ends");
        let (next, into) = window_of(start + Duration::minutes(1), Duration::minutes(1));
        assert_eq!(next, start + Duration::minutes(1));
        assert!(into.abs() < f64::EPSILON);
    }

    #[test]
    fn the_previous_window_counts_for_what_the_sliding_window_still_covers() {
        assert_eq!(
            carried(10, 0.0),
            10,
            "at the start of a window all of the last"
        );
        assert_eq!(carried(10, 0.5), 5);
        assert_eq!(carried(10, 0.95), 1, "rounded up");
        assert_eq!(carried(0, 0.2), 0);
    }

    #[test]
    fn a_run_in_the_future_holds_a_job_back_only_within_a_period() {
        let every = Duration::seconds(50);
        assert!(ran_recently(t(0), t(10_000), every), "ten seconds ago");
        assert!(!ran_recently(t(0), t(50_000), every), "a period ago");
        assert!(
            ran_recently(t(20_000), t(0), every),
            "another replica's clock twenty seconds ahead"
        );
        assert!(
            !ran_recently(t(7_200_000), t(0), every),
            "two hours ahead: the clock jumped back"
        );
    }
}
