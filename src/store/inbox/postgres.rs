//! The webhook inbox on Postgres: one pool for reads and writes; claims of one source are
//! serialised by a transaction-scoped advisory lock, so that a claim always sees the leases
//! every earlier claim committed (the per-resident order holds across replicas without
//! relying on how READ COMMITTED re-checks rows).

use sqlx::{PgPool, Postgres, Transaction};

use super::inbox_store_impl;
use crate::store::{PgStore, StoreResult};

impl PgStore {
    /// How the lease extension's subquery treats locked rows. Rows another transaction locked are skipped.
    const INBOX_SKIP_LOCKED: &str = "FOR UPDATE SKIP LOCKED";

    fn inbox_reader(&self) -> &PgPool {
        self.pool()
    }

    async fn inbox_begin(&self) -> StoreResult<Transaction<'static, Postgres>> {
        Ok(self.pool().begin().await?)
    }

    /// Takes the claim lock of `source` until the transaction ends. The claim it guards is
    /// one short UPDATE: processing runs outside it, in parallel across replicas.
    async fn inbox_serialise(
        tx: &mut Transaction<'static, Postgres>,
        source: &str,
    ) -> StoreResult<()> {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('webhook_inbox:' || $1, 0))")
            .bind(source)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Takes a lock per chat key of `source` in `chats` until the transaction ends, in one
    /// order (the keys' hashes), so that two writers of the same residents wait for each
    /// other and never deadlock. Writers of other residents, and claims, do not wait.
    async fn inbox_serialise_chats(
        tx: &mut Transaction<'static, Postgres>,
        source: &str,
        chats: Vec<String>,
    ) -> StoreResult<()> {
        sqlx::query(
            "SELECT count(pg_advisory_xact_lock(k)) FROM (SELECT DISTINCT \
             hashtextextended('webhook_inbox:' || $1 || ':' || c, 0) AS k \
             FROM unnest($2::text[]) AS c ORDER BY k) AS keys",
        )
        .bind(source)
        .bind(chats)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}

inbox_store_impl!(PgStore, sqlx::Postgres);
