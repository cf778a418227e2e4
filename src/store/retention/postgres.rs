//! The retention store on Postgres: one pool for reads and writes.

use sqlx::{PgPool, Postgres, Transaction};

use super::retention_store_impl;
use crate::store::{PgStore, StoreResult};

impl PgStore {
    fn ret_reader(&self) -> &PgPool {
        self.pool()
    }

    async fn ret_begin(&self) -> StoreResult<Transaction<'static, Postgres>> {
        Ok(self.pool().begin().await?)
    }
}

retention_store_impl!(PgStore);
