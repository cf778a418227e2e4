//! The synthesis store on SQLite: reads on the reader pool, writes on the writer in
//! `BEGIN IMMEDIATE`, like every other write.

use sqlx::{Sqlite, SqlitePool, Transaction};

use super::synthesis_store_impl;
use crate::store::{SqliteStore, StoreResult};

impl SqliteStore {
    fn synthesis_reader(&self) -> &SqlitePool {
        self.read_pool()
    }

    async fn synthesis_begin(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        self.write_tx().await
    }
}

synthesis_store_impl!(
    SqliteStore,
    Sqlite,
    "$4",
    "date(created_at, '+7 hours')",
    crate::store::synthesis::aggregate_sql_sqlite,
    &[] as &[&str]
);
