//! The Zalo OA store on SQLite: reads on the reader pool, writes on the writer in
//! `BEGIN IMMEDIATE`, like every other write.

use sqlx::{Sqlite, SqlitePool, Transaction};

use super::zalo_oa_store_impl;
use crate::store::{SqliteStore, StoreResult};

impl SqliteStore {
    fn oa_reader(&self) -> &SqlitePool {
        self.read_pool()
    }

    async fn oa_begin(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        self.write_tx().await
    }
}

zalo_oa_store_impl!(SqliteStore);
