//! [`super::AnnounceStore`] on PostgreSQL: one pool for reads and writes, and the statements
//! that differ from SQLite's (arrays bound whole).

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, Transaction};

use crate::store::{PgStore, StoreResult};

impl PgStore {
    /// A write transaction for the announcement statements.
    async fn announce_write(&self) -> StoreResult<Transaction<'static, Postgres>> {
        Ok(self.pool().begin().await?)
    }

    /// The pool announcement reads use.
    fn announce_read(&self) -> &PgPool {
        self.pool()
    }

    /// Writes a broadcast's outbox rows in one statement, the targets bound whole as arrays:
    /// `head` is the `INSERT … SELECT` over `v(target, not_before)` with `$1` the broadcast
    /// and `$2` the instant; returns how many rows were new.
    async fn insert_deliveries(
        tx: &mut Transaction<'static, Postgres>,
        head: &str,
        broadcast: i64,
        targets: &[(i64, DateTime<Utc>)],
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        if targets.is_empty() {
            return Ok(0);
        }
        let ids: Vec<i64> = targets.iter().map(|(id, _)| *id).collect();
        let at: Vec<DateTime<Utc>> = targets.iter().map(|(_, at)| *at).collect();
        let sql = format!(
            "WITH v(target, not_before) AS (SELECT * FROM unnest($3::bigint[], $4::timestamptz[])) {head}"
        );
        // `head` is built from constants; every value is bound.
        Ok(sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(broadcast)
            .bind(now)
            .bind(&ids)
            .bind(&at)
            .execute(&mut **tx)
            .await?
            .rows_affected())
    }

    /// Records deliveries the platform accepted, `(delivery, message id, sent at)`, in one
    /// statement; returns their broadcasts.
    async fn mark_sent(
        tx: &mut Transaction<'static, Postgres>,
        sent: &[(i64, &str, DateTime<Utc>)],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<i64>> {
        if sent.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = sent.iter().map(|(id, _, _)| *id).collect();
        let messages: Vec<&str> = sent.iter().map(|(_, m, _)| *m).collect();
        let at: Vec<DateTime<Utc>> = sent.iter().map(|(_, _, at)| *at).collect();
        let mut broadcasts: Vec<i64> = sqlx::query_scalar(
            "UPDATE deliveries SET state = 'sent', message_id = v.message_id, sent_at = v.sent_at, \
             updated_at = $3, lease_until = NULL, error = NULL \
             FROM unnest($1::bigint[], $2::text[], $4::timestamptz[]) AS v(id, message_id, sent_at) \
             WHERE deliveries.id = v.id RETURNING deliveries.broadcast_id",
        )
        .bind(&ids)
        .bind(&messages)
        .bind(now)
        .bind(&at)
        .fetch_all(&mut **tx)
        .await?;
        broadcasts.sort_unstable();
        broadcasts.dedup();
        Ok(broadcasts)
    }
}

announce_store!(
    PgStore,
    sqlx::Postgres,
    "FOR UPDATE SKIP LOCKED",
    "FOR UPDATE",
    "SELECT pg_advisory_xact_lock(7245001)"
);
