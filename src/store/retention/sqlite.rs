//! The retention store on SQLite: reads on the reader pool, writes on the writer in
//! `BEGIN IMMEDIATE`, like every other write.

use sqlx::{Sqlite, SqlitePool, Transaction};

use super::retention_store_impl;
use crate::store::{SqliteStore, StoreResult};

impl SqliteStore {
    fn ret_reader(&self) -> &SqlitePool {
        self.read_pool()
    }

    async fn ret_begin(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        self.write_tx().await
    }
}

retention_store_impl!(SqliteStore);
