//! The group-replies store on Postgres: one pool.

use sqlx::{PgPool, Postgres, Transaction};

use super::replies_store_impl;
use crate::store::{PgStore, StoreResult};

impl PgStore {
    fn replies_read(&self) -> &PgPool {
        self.pool()
    }

    async fn replies_write(&self) -> StoreResult<Transaction<'static, Postgres>> {
        Ok(self.pool().begin().await?)
    }
}

replies_store_impl!(PgStore);
