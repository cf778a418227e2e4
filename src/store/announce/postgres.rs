//! [`super::AnnounceStore`] on PostgreSQL: one pool for reads and writes.

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
}

announce_store!(
    PgStore,
    "FOR UPDATE SKIP LOCKED",
    "FOR UPDATE",
    "SELECT pg_advisory_xact_lock(7245001)"
);
