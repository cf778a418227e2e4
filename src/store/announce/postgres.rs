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

    /// Records deliveries the platform accepted, `(delivery, message id)`, in one statement;
    /// returns their broadcasts.
    async fn mark_sent(
        tx: &mut Transaction<'static, Postgres>,
        sent: &[(i64, &str)],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<i64>> {
        if sent.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = sent.iter().map(|(id, _)| *id).collect();
        let messages: Vec<&str> = sent.iter().map(|(_, m)| *m).collect();
        let mut broadcasts: Vec<i64> = sqlx::query_scalar(
            "UPDATE deliveries SET state = 'sent', message_id = v.message_id, sent_at = $3, \
             updated_at = $3, lease_until = NULL, error = NULL \
             FROM unnest($1::bigint[], $2::text[]) AS v(id, message_id) \
             WHERE deliveries.id = v.id RETURNING deliveries.broadcast_id",
        )
        .bind(&ids)
        .bind(&messages)
        .bind(now)
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
