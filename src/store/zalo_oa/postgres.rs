//! The Zalo OA store on Postgres: one pool for reads and writes.

use sqlx::{PgPool, Postgres, Transaction};

use super::zalo_oa_store_impl;
use crate::store::{PgStore, StoreResult};

impl PgStore {
    fn oa_reader(&self) -> &PgPool {
        self.pool()
    }

    async fn oa_begin(&self) -> StoreResult<Transaction<'static, Postgres>> {
        Ok(self.pool().begin().await?)
    }
}

zalo_oa_store_impl!(PgStore);
