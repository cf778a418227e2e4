//! The moderation store on SQLite: reads on the reader pool, writes on the writer in
//! `BEGIN IMMEDIATE`, like every other write.

use sqlx::{Sqlite, SqlitePool, Transaction};

use super::moderation_store_impl;
use crate::store::{SqliteStore, StoreResult};

impl SqliteStore {
    fn moderation_reader(&self) -> &SqlitePool {
        self.read_pool()
    }

    async fn moderation_begin(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        self.write_tx().await
    }
}

moderation_store_impl!(SqliteStore, Sqlite, "$4");
