//! [`super::AnnounceStore`] on SQLite: writes take the writer connection (`BEGIN IMMEDIATE`),
//! reads the reader pool.

use chrono::{DateTime, Utc};
use sqlx::{Sqlite, SqlitePool, Transaction};

use crate::store::{SqliteStore, StoreResult};

impl SqliteStore {
    /// A write transaction for the announcement statements.
    async fn announce_write(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        self.write_tx().await
    }

    /// The pool announcement reads use.
    fn announce_read(&self) -> &SqlitePool {
        self.read_pool()
    }

    /// Writes a broadcast's outbox rows, a thousand targets a statement: `head` is the
    /// `INSERT … SELECT` over `v(target, not_before)` with `$1` the broadcast and `$2` the
    /// instant; returns how many rows were new.
    async fn insert_deliveries(
        tx: &mut Transaction<'static, Sqlite>,
        head: &str,
        broadcast: i64,
        targets: &[(i64, DateTime<Utc>)],
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let mut inserted = 0;
        for chunk in targets.chunks(1000) {
            // `$1` and `$2` come first; the targets are numbered after them.
            let mut sql = String::from("WITH v(target, not_before) AS (VALUES ");
            for i in 0..chunk.len() {
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!("(${}, ${})", 3 + 2 * i, 4 + 2 * i));
            }
            sql.push_str(") ");
            sql.push_str(head);
            // Built from constants and placeholders; every value is bound.
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(broadcast)
                .bind(now);
            for (target, at) in chunk {
                query = query.bind(*target).bind(*at);
            }
            inserted += query.execute(&mut **tx).await?.rows_affected();
        }
        Ok(inserted)
    }

    /// Records deliveries the platform accepted, `(delivery, message id, sent at)`, one
    /// statement each (SQLite runs in process: a statement costs no round trip); returns
    /// their broadcasts.
    async fn mark_sent(
        tx: &mut Transaction<'static, Sqlite>,
        sent: &[(i64, &str, DateTime<Utc>)],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<i64>> {
        let mut broadcasts: Vec<i64> = Vec::new();
        for (id, message, at) in sent {
            let b: Option<i64> = sqlx::query_scalar(
                "UPDATE deliveries SET state = 'sent', message_id = $1, sent_at = $2, \
                 updated_at = $3, lease_until = NULL, error = NULL WHERE id = $4 \
                 RETURNING broadcast_id",
            )
            .bind(message)
            .bind(at)
            .bind(now)
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
            broadcasts.extend(b);
        }
        broadcasts.sort_unstable();
        broadcasts.dedup();
        Ok(broadcasts)
    }
}

announce_store!(SqliteStore, sqlx::Sqlite, "", "", "SELECT 1");
