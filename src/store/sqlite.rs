//! The SQLite backend: the embedded default (one file, WAL, busy timeout).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::*;
use crate::dialog::DialogState;
use crate::domain::*;

/// SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// The connection pool.
    pool: sqlx::SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) the database file named by a `sqlite://` URL.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let pool = sqlx::SqlitePool::connect(url).await?;
        Ok(Self { pool })
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }
    async fn migrate(&self) -> StoreResult<()> {
        Err(StoreError::Unavailable("not written yet".into()))
    }
    async fn ping(&self) -> StoreResult<()> {
        Err(StoreError::Unavailable("not written yet".into()))
    }
    async fn begin(&self) -> StoreResult<Box<dyn Tx>> {
        Err(StoreError::Unavailable("not written yet".into()))
    }
    async fn insert_campaign(&self, campaign: &Campaign) -> StoreResult<CampaignId> {
        Err(StoreError::Unavailable("not written yet".into()))
    }
    async fn campaigns(&self) -> StoreResult<Vec<Campaign>> {
        Err(StoreError::Unavailable("not written yet".into()))
    }
    async fn campaign_summaries(&self) -> StoreResult<Vec<CampaignSummary>> {
        Err(StoreError::Unavailable("not written yet".into()))
    }
    async fn campaign_opinions(&self, campaign: CampaignId) -> StoreResult<Vec<Opinion>> {
        Err(StoreError::Unavailable("not written yet".into()))
    }
    async fn find_contact(&self, key: &ContactKey) -> StoreResult<Option<Contact>> {
        Err(StoreError::Unavailable("not written yet".into()))
    }
    async fn dialog_state(&self, contact: ContactId) -> StoreResult<Option<DialogState>> {
        Err(StoreError::Unavailable("not written yet".into()))
    }
    async fn identity(&self, contact: ContactId) -> StoreResult<Option<Identity>> {
        Err(StoreError::Unavailable("not written yet".into()))
    }
    async fn audit(&self, entry: &AuditEntry) -> StoreResult<()> {
        Err(StoreError::Unavailable("not written yet".into()))
    }
    async fn audit_log(&self, limit: i64) -> StoreResult<Vec<AuditEntry>> {
        Err(StoreError::Unavailable("not written yet".into()))
    }
    async fn consents(
        &self,
        contact: ContactId,
    ) -> StoreResult<Vec<(CampaignId, IdentityMode, String, DateTime<Utc>)>> {
        Err(StoreError::Unavailable("not written yet".into()))
    }
}
