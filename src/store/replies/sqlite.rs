//! The group-replies store on SQLite: reads on the reader pool, writes on the writer in
//! `BEGIN IMMEDIATE`, like every other write.

use sqlx::{Sqlite, SqlitePool, Transaction};

use super::replies_store_impl;
use crate::store::{SqliteStore, StoreResult};

impl SqliteStore {
    fn replies_read(&self) -> &SqlitePool {
        self.read_pool()
    }

    async fn replies_write(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        self.write_tx().await
    }
}

replies_store_impl!(SqliteStore);
