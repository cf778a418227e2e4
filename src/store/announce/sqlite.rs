//! [`super::AnnounceStore`] on SQLite: writes take the writer connection (`BEGIN IMMEDIATE`),
//! reads the reader pool.

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
}

announce_store!(SqliteStore, "", "", "SELECT 1");
