//! Storage: the traits every backend implements, the error type, and the choice of backend
//! from the database URL. The only place in gopy with SQL is below this module.
//!
//! Layout:
//! - `mod.rs`: [`Store`] (pool-level operations) and [`Tx`] (one transaction; every dialog
//!   step runs inside one), [`StoreError`], [`open`].
//! - `sqlite.rs`: the embedded default (WAL, busy timeout, `BEGIN IMMEDIATE` for writes).
//! - `postgres.rs`: production (`SELECT … FOR UPDATE` serialises one resident's steps).
//! - `announce/`: staff users, groups and (later) broadcasts ([`announce::AnnounceStore`]).
//! - `inbox/`: [`inbox::InboxStore`], the shared webhook inbox (Telegram in webhook mode):
//!   deliveries committed before the 200, claimed one resident at a time across replicas.
//! - `links.rs`: identity across channels — hashed one-time link codes and the contacts
//!   linked to one person (the [`Tx`] link methods of both backends).
//! - `codec.rs`: how both backends write enums and dialog states as text and read them back.
//! - `console/`: [`console::ConsoleStore`], the web console's passwords, sessions and login
//!   attempts.
//! - `moderation/`: [`ModerationStore`], the moderators' queue, log and watch list (one set
//!   of queries for both backends).
//! - `replies/`: [`replies::RepliesStore`], the posts gopy makes into groups and the replies
//!   to them that became opinions or agreements.
//! - `synthesis/`: [`synthesis::SynthesisStore`], meetings, recorded and imported opinions,
//!   classification and the synthesis' GROUP BY queries.
//! - `retention/`: [`retention::RetentionStore`], erasing identities once their campaigns'
//!   retention is over.
//! - `jobs.rs`: [`jobs::JobStore`], several processes on one database: periodic jobs run
//!   once per period ([`jobs::in_turn`], an advisory lock on Postgres) and shared counters.
//! - `zalo_oa/`: [`zalo_oa::ZaloOaStore`], the Zalo Official Account's tokens (encrypted),
//!   webhook inbox, users' messaging window and messages not sent.
//!
//! Migrations live in `migrations/sqlite` and `migrations/postgres` and are embedded.

pub mod announce;
mod codec;
pub mod console;
pub mod inbox;
pub mod jobs;
mod links;
pub mod moderation;
mod postgres;
pub mod replies;
pub mod retention;
mod sqlite;
pub mod synthesis;
pub mod zalo_oa;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::dialog::DialogState;
use crate::domain::LinkStatus;
use crate::domain::{
    Campaign, CampaignId, Channel, Contact, ContactId, ContactKey, Identity, IdentityMode, Locale,
    Opinion, OpinionSource,
};

pub use moderation::{
    DecideOutcome, ItemFilter, ModerationStore, NoticeKind, PendingNotice, Report, ReportOutcome,
};
pub use postgres::PgStore;
pub use sqlite::SqliteStore;

/// What can go wrong in storage, as the rest of gopy needs to tell it apart.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached right now (connection refused, pool timed out, the
    /// server is restarting). Callers may retry later; nothing was written.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// A uniqueness rule was broken (e.g. a campaign slug that already exists).
    #[error("conflict: {0}")]
    Conflict(String),
    /// Stored data could not be read back (bad JSON, unknown enum value).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// Any other database error.
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    /// Migrations failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => StoreError::Unavailable(e.to_string()),
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(db.message().to_owned())
            }
            sqlx::Error::Database(db) if codec::is_transient(db.as_ref()) => {
                StoreError::Unavailable(e.to_string())
            }
            _ => StoreError::Database(e),
        }
    }
}

/// Result of a storage call.
pub type StoreResult<T> = Result<T, StoreError>;

/// Which backend a store is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// A campaign as listed by `gopy campaign list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CampaignSummary {
    /// Database id.
    pub id: CampaignId,
    /// Slug.
    pub slug: String,
    /// Title.
    pub title: String,
    /// When the collect phase opens and closes, if it has one.
    pub collect: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// Opinions stored (every status).
    pub opinions: i64,
}

/// One line of the append-only audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Who did it: a staff user name, `cli:<os user>`, or `system`.
    pub actor: String,
    /// What was done, e.g. `opinions.export`, `campaign.import`.
    pub action: String,
    /// Details as JSON (never personal data of residents).
    pub detail: serde_json::Value,
}

/// A new opinion to insert (the store assigns the id and times).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOpinion {
    /// Reference unique within the campaign.
    pub reference: String,
    /// The campaign.
    pub campaign_id: CampaignId,
    /// The resident.
    pub contact_id: Option<ContactId>,
    /// Topic code.
    pub topic: String,
    /// Section reference.
    pub section: Option<String>,
    /// Unit code.
    pub unit: Option<String>,
    /// Target group code.
    pub target_group: Option<String>,
    /// Channel.
    pub channel: Channel,
    /// Source.
    pub source: OpinionSource,
    /// Given anonymously.
    pub anonymous: bool,
    /// The text.
    pub text: String,
    /// When it was given.
    pub created_at: DateTime<Utc>,
}

/// Pool-level storage operations. Implemented by [`SqliteStore`] and [`PgStore`].
#[async_trait]
pub trait Store:
    announce::AnnounceStore
    + console::ConsoleStore
    + ModerationStore
    + synthesis::SynthesisStore
    + zalo_oa::ZaloOaStore
    + inbox::InboxStore
    + retention::RetentionStore
    + replies::RepliesStore
    + replies::ReportStore
    + jobs::JobStore
    + Send
    + Sync
    + 'static
{
    /// Which backend this is.
    fn backend(&self) -> Backend;

    /// Applies pending migrations from the embedded folder for this backend.
    async fn migrate(&self) -> StoreResult<()>;

    /// Checks that the database answers (for `/readyz`).
    async fn ping(&self) -> StoreResult<()>;

    /// How many write transactions of one polling batch are worth running side by side:
    /// 1 where writers queue for one lock (SQLite), a few where they run in parallel.
    fn batch_writers(&self) -> usize {
        1
    }

    /// Starts a write transaction. On SQLite this is `BEGIN IMMEDIATE`.
    async fn begin(&self) -> StoreResult<Box<dyn Tx>>;

    /// Inserts a whole campaign (units are upserted by code; sections, topics and phases are
    /// inserted) and returns its id. `campaign.id` is ignored. A slug that exists already is a
    /// [`StoreError::Conflict`].
    async fn insert_campaign(&self, campaign: &Campaign) -> StoreResult<CampaignId>;

    /// Every campaign, fully loaded, oldest first.
    async fn campaigns(&self) -> StoreResult<Vec<Campaign>>;

    /// Campaigns with counts, for listing.
    async fn campaign_summaries(&self) -> StoreResult<Vec<CampaignSummary>>;

    /// Every opinion of a campaign, oldest first (for exports).
    async fn campaign_opinions(&self, campaign: CampaignId) -> StoreResult<Vec<Opinion>>;

    /// Looks a contact up without creating it.
    async fn find_contact(&self, key: &ContactKey) -> StoreResult<Option<Contact>>;

    /// The dialog state stored for a contact, whatever its expiry (for tests and tools).
    async fn dialog_state(&self, contact: ContactId) -> StoreResult<Option<DialogState>>;

    /// The identity stored for a contact, if any (named residents only).
    async fn identity(&self, contact: ContactId) -> StoreResult<Option<Identity>>;

    /// Appends one entry to the audit log (every export and every official action).
    async fn audit(&self, entry: &AuditEntry) -> StoreResult<()>;

    /// The newest audit entries, newest first.
    async fn audit_log(&self, limit: i64) -> StoreResult<Vec<AuditEntry>>;

    /// Forgets the inbound updates processed before `before` and returns how many. Telegram
    /// redelivers an unconfirmed update for at most 24 hours, so keys older than that guard
    /// against nothing; without this the table grows by one row per update forever.
    async fn forget_processed_updates(&self, before: DateTime<Utc>) -> StoreResult<u64>;

    /// Consents recorded for a contact: (campaign, mode, notice version, given at).
    async fn consents(
        &self,
        contact: ContactId,
    ) -> StoreResult<Vec<(CampaignId, IdentityMode, String, DateTime<Utc>)>>;
}

/// One write transaction. Dropping it without [`Tx::commit`] rolls back.
#[async_trait]
pub trait Tx: Send {
    /// Records an inbound update as processed. Returns `false` when it was processed before
    /// (a redelivery), in which case the caller rolls back and does nothing.
    async fn claim_update(
        &mut self,
        channel: Channel,
        key: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// The first call of every dialog step: claims the update when a key is given and looks
    /// the contact up (creating it if new), in as few round trips as the backend allows.
    /// Returns `None` when the update was processed before (a redelivery): the caller rolls
    /// back and does nothing.
    async fn claim_and_contact(
        &mut self,
        update: Option<(Channel, &str)>,
        key: &ContactKey,
        locale: Locale,
        at: DateTime<Utc>,
    ) -> StoreResult<Option<Contact>> {
        if let Some((channel, update_key)) = update
            && !self.claim_update(channel, update_key, at).await?
        {
            return Ok(None);
        }
        self.contact(key, locale).await.map(Some)
    }

    /// The contact for this key, created (with the given locale) if new.
    async fn contact(&mut self, key: &ContactKey, locale: Locale) -> StoreResult<Contact>;

    /// The contact's dialog state, locked for the rest of the transaction so that one
    /// resident's steps are serialised (Postgres: `FOR UPDATE`; SQLite: the write lock).
    /// Returns `None` when there is none or it expired before `now`.
    async fn lock_state(
        &mut self,
        contact: ContactId,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<DialogState>>;

    /// Stores the contact's dialog state with its expiry (the campaign's close).
    async fn save_state(
        &mut self,
        contact: ContactId,
        state: &DialogState,
        expires_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// The contact's opinions in a campaign, every status, oldest first.
    async fn opinions_of(
        &mut self,
        contact: ContactId,
        campaign: CampaignId,
    ) -> StoreResult<Vec<Opinion>>;

    /// Records consent to a campaign's notice.
    async fn record_consent(
        &mut self,
        contact: ContactId,
        campaign: CampaignId,
        mode: IdentityMode,
        notice_version: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Stores (or replaces) the contact's identity; `None` deletes it.
    async fn set_identity(
        &mut self,
        contact: ContactId,
        identity: Option<&Identity>,
    ) -> StoreResult<()>;

    /// Inserts an opinion as a draft and returns its id.
    async fn insert_opinion(&mut self, opinion: &NewOpinion) -> StoreResult<i64>;

    /// Marks the contact's drafts in the campaign as submitted with the receipt; returns how
    /// many.
    async fn submit_drafts(
        &mut self,
        contact: ContactId,
        campaign: CampaignId,
        receipt: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<u64>;

    /// Replaces the text of the contact's opinion; `false` if no such (non-withdrawn) opinion.
    async fn edit_opinion(
        &mut self,
        contact: ContactId,
        campaign: CampaignId,
        reference: &str,
        text: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// Withdraws the contact's opinion; `false` if no such (non-withdrawn) opinion.
    async fn withdraw_opinion(
        &mut self,
        contact: ContactId,
        campaign: CampaignId,
        reference: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// Erases a contact: identity, dialog state and the contact row. Their consent records are
    /// kept, unlinked from them (the record that consent was given outlives the person's data).
    /// Their opinions (every campaign) are withdrawn if asked, and in every case unlinked from
    /// them (`contact_id` set to NULL, `anonymous` set to true).
    async fn erase_contact(
        &mut self,
        contact: ContactId,
        withdraw_opinions: bool,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Stores the contact's language.
    async fn set_locale(&mut self, contact: ContactId, locale: Locale) -> StoreResult<()>;

    /// Starts (`on`) or stops the resident's announcements in private chat, remembering their
    /// unit; a pending delivery to them is dropped when it is claimed after they stopped.
    async fn set_notices(
        &mut self,
        contact: ContactId,
        on: bool,
        unit: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// The contact's cross-channel link, and what the link code with this hash is (when the
    /// step redeems one).
    async fn link_status(
        &mut self,
        contact: ContactId,
        code_hash: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<LinkStatus>;

    /// Keeps a new link code (its hash only) for the contact until `expires_at`, replacing
    /// the contact's unused one. A hash already kept is a [`StoreError::Conflict`].
    async fn issue_link_code(
        &mut self,
        contact: ContactId,
        code_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Uses the code given to `other` and links `contact` with it as one person (audited,
    /// contact ids only); returns the person. A code used meanwhile is a
    /// [`StoreError::Conflict`].
    async fn link_contacts(
        &mut self,
        contact: ContactId,
        code_hash: &str,
        other: ContactId,
        now: DateTime<Utc>,
    ) -> StoreResult<i64>;

    /// Unlinks the contact from its person (audited with `why`); whether it was linked.
    async fn unlink_contact(
        &mut self,
        contact: ContactId,
        why: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// Commits.
    async fn commit(self: Box<Self>) -> StoreResult<()>;
}

/// The one statement that writes every state of [`PendingStates`] over the older ones;
/// `json_cast` is what the backend appends to the state's parameter (`::jsonb` on Postgres).
pub(crate) fn state_upsert<DB>(
    pending: Vec<(PendingState, String)>,
    json_cast: &str,
) -> sqlx::QueryBuilder<DB>
where
    DB: sqlx::Database,
    for<'t> i64: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> Option<i64>: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> String: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> DateTime<Utc>: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> Option<DateTime<Utc>>: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
{
    let mut q = sqlx::QueryBuilder::<DB>::new(
        "INSERT INTO dialog_states (contact_id, campaign_id, state, updated_at, expires_at) ",
    );
    q.push_values(pending, |mut row, (p, json)| {
        row.push_bind(p.contact)
            .push_bind(p.state.campaign)
            .push_bind(json)
            .push_unseparated(json_cast)
            .push_bind(p.updated_at)
            .push_bind(p.expires_at);
    });
    q.push(
        " ON CONFLICT (contact_id) DO UPDATE SET campaign_id = excluded.campaign_id, \
         state = excluded.state, updated_at = excluded.updated_at, \
         expires_at = excluded.expires_at",
    );
    q
}

/// Dialog states saved inside a transaction and not yet written: every step ends by saving
/// its resident's state, so a batch of steps writes them all in ONE statement at commit
/// instead of one each. Reads in the same transaction see them (read your writes).
#[derive(Debug, Default)]
pub(crate) struct PendingStates(Vec<PendingState>);

/// One state waiting to be written.
#[derive(Debug)]
pub(crate) struct PendingState {
    /// Whose.
    pub contact: ContactId,
    /// The state.
    pub state: DialogState,
    /// When it expires (the campaign's close).
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was saved.
    pub updated_at: DateTime<Utc>,
}

impl PendingStates {
    /// Keeps (or replaces) the contact's state.
    pub fn put(&mut self, pending: PendingState) {
        self.forget(pending.contact);
        self.0.push(pending);
    }

    /// The state this transaction saved for the contact, if it saved one: `Some(None)` when
    /// it has expired by `now`.
    pub fn get(&self, contact: ContactId, now: DateTime<Utc>) -> Option<Option<DialogState>> {
        let p = self.0.iter().find(|p| p.contact == contact)?;
        Some(match p.expires_at {
            Some(expires) if expires < now => None,
            _ => Some(p.state.clone()),
        })
    }

    /// Drops the contact's pending state (they are being erased).
    pub fn forget(&mut self, contact: ContactId) {
        self.0.retain(|p| p.contact != contact);
    }

    /// Everything pending, with each state as the JSON the backends store, leaving none.
    pub fn drain(&mut self) -> StoreResult<Vec<(PendingState, String)>> {
        std::mem::take(&mut self.0)
            .into_iter()
            .map(|p| {
                let json = codec::state_json(&p.state)?;
                Ok((p, json))
            })
            .collect()
    }
}

/// Opens the store named by a database URL: `sqlite://path` (created if missing) or
/// `postgres://…`. Does not migrate.
pub async fn open(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(url).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Arc::new(PgStore::connect(url).await?))
    } else {
        anyhow::bail!(
            "unsupported DATABASE_URL scheme (expected sqlite://… or postgres://…): {}",
            redact_url(url)
        )
    }
}

/// A database URL with any password replaced, safe to log.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "<unparseable URL>".to_owned(),
    }
}
