//! The synthesis store on Postgres: one pool; `audit_log.detail` is `jsonb` there.

use sqlx::{PgPool, Postgres, Transaction};

use super::synthesis_store_impl;
use crate::store::{PgStore, StoreResult};

impl PgStore {
    fn synthesis_reader(&self) -> &PgPool {
        self.pool()
    }

    async fn synthesis_begin(&self) -> StoreResult<Transaction<'static, Postgres>> {
        Ok(self.pool().begin().await?)
    }
}

synthesis_store_impl!(
    PgStore,
    Postgres,
    "$4::jsonb",
    "to_char(created_at AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM-DD')",
    crate::store::synthesis::aggregate_sql_pg,
    crate::store::synthesis::AGGREGATE_PREP_PG
);
