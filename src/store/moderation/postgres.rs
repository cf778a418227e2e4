//! The moderation store on Postgres: one pool; `audit_log.detail` is `jsonb` there.

use sqlx::{PgPool, Postgres, Transaction};

use super::moderation_store_impl;
use crate::store::{PgStore, StoreResult};

impl PgStore {
    fn moderation_reader(&self) -> &PgPool {
        self.pool()
    }

    async fn moderation_begin(&self) -> StoreResult<Transaction<'static, Postgres>> {
        Ok(self.pool().begin().await?)
    }
}

moderation_store_impl!(PgStore, Postgres, "$4::jsonb");
