//! The console store on Postgres: one pool for reads and writes.

use sqlx::{PgPool, Postgres, Transaction};

use super::console_store_impl;
use crate::store::{PgStore, StoreResult};

impl PgStore {
    fn console_reader(&self) -> &PgPool {
        self.pool()
    }

    async fn console_begin(&self) -> StoreResult<Transaction<'static, Postgres>> {
        Ok(self.pool().begin().await?)
    }
}

console_store_impl!(PgStore);
