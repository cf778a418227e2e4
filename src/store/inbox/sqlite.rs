//! The webhook inbox on SQLite: reads on the reader pool, writes on the writer in
//! `BEGIN IMMEDIATE`, which also serialises claims (one writer at a time).

use sqlx::{Sqlite, SqlitePool, Transaction};

use super::inbox_store_impl;
use crate::store::{SqliteStore, StoreResult};

impl SqliteStore {
    /// How the lease extension's subquery treats locked rows. SQLite has one writer: nothing to skip.
    const INBOX_SKIP_LOCKED: &str = "";

    fn inbox_reader(&self) -> &SqlitePool {
        self.read_pool()
    }

    async fn inbox_begin(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        self.write_tx().await
    }

    /// Nothing to do: the write transaction already holds SQLite's one write lock.
    async fn inbox_serialise(
        _tx: &mut Transaction<'static, Sqlite>,
        _source: &str,
    ) -> StoreResult<()> {
        Ok(())
    }

    /// Nothing to do: the write transaction already holds SQLite's one write lock.
    async fn inbox_serialise_chats(
        _tx: &mut Transaction<'static, Sqlite>,
        _source: &str,
        _chats: Vec<String>,
    ) -> StoreResult<()> {
        Ok(())
    }
}

inbox_store_impl!(SqliteStore, sqlx::Sqlite);
