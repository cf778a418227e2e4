//! The SQLite backend: the embedded default (one file, WAL, busy timeout).
//!
//! SQLite lets one writer in at a time. Rather than let several connections race for the
//! write lock and sleep in SQLite's busy handler, write transactions take the one connection
//! of a writer pool, so they queue in order inside the process; `BEGIN IMMEDIATE` and the busy
//! timeout still order them against other processes on the same file (`gopy campaign import`
//! while `gopy serve` runs). Reads that are not part of a dialog step use a reader pool, which
//! in WAL mode never waits for the writer.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, Sqlite, SqlitePool, Transaction};

use super::codec::{self, CampaignRows, StateRow};
use super::{
    AuditEntry, Backend, CampaignSummary, NewOpinion, PendingState, PendingStates, Store,
    StoreResult, Tx, state_upsert,
};
use crate::dialog::DialogState;
use crate::domain::{
    Campaign, CampaignId, Channel, Contact, ContactId, ContactKey, Identity, IdentityMode, Locale,
    Opinion,
};

/// The migrations for this backend, embedded at build time.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// How long a connection waits for another process's write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a write transaction waits for its turn at the writer before giving up.
const WRITER_WAIT: Duration = Duration::from_secs(10);

/// Connections in the reader pool.
const READERS: u32 = 4;

/// The columns of `opinions` in the order [`opinion`] reads them.
macro_rules! opinion_columns {
    () => {
        "id, reference, campaign_id, contact_id, topic_code, section_ref, unit_code, \
         target_group, channel, source, anonymous, text, status, receipt, created_at, \
         edited_at, withdrawn_at"
    };
}

/// SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// One connection: every write transaction, so writers queue here instead of in SQLite's
    /// busy handler.
    writer: SqlitePool,
    /// A few connections for reads outside dialog steps (campaigns, exports, health checks).
    reader: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) the database named by a URL: `sqlite://gopy.db`,
    /// `sqlite:gopy.db` or `sqlite::memory:`.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(WRITER_WAIT)
            .test_before_acquire(false);
        // An in-memory database lives as long as one of its connections: keep the writer's.
        let writer = if in_memory {
            writer
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            writer
        };
        let writer = writer.connect_with(options.clone()).await?;
        // In-memory databases share one cache between connections, where a reader would
        // otherwise see "table is locked" while a write transaction is open.
        let reader_options = if in_memory {
            options.pragma("read_uncommitted", "true")
        } else {
            options
        };
        let reader = SqlitePoolOptions::new()
            .max_connections(READERS)
            .acquire_timeout(BUSY_TIMEOUT)
            .test_before_acquire(false)
            .connect_with(reader_options)
            .await?;
        Ok(Self { writer, reader })
    }

    /// A write transaction on the writer connection (`BEGIN IMMEDIATE`), for the storage of
    /// other areas (`store::announce`).
    pub(super) async fn write_tx(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// The reader pool, for the storage of other areas.
    pub(super) fn read_pool(&self) -> &SqlitePool {
        &self.reader
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    async fn migrate(&self) -> StoreResult<()> {
        MIGRATOR.run(&self.writer).await?;
        Ok(())
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }

    async fn begin(&self) -> StoreResult<Box<dyn Tx>> {
        let tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        Ok(Box::new(SqliteTx {
            tx,
            ahead: None,
            pending: PendingStates::default(),
        }))
    }

    async fn insert_campaign(&self, campaign: &Campaign) -> StoreResult<CampaignId> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO campaigns (slug, issuer, title, document_title, intro, purpose, \
             retention_months, notice_version, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) RETURNING id",
        )
        .bind(&campaign.slug)
        .bind(&campaign.issuer)
        .bind(&campaign.title)
        .bind(&campaign.document_title)
        .bind(&campaign.intro)
        .bind(&campaign.purpose)
        .bind(i64::from(campaign.retention_months))
        .bind(&campaign.notice_version)
        .bind(Utc::now())
        .fetch_one(&mut *tx)
        .await?;
        for (i, unit) in campaign.units.iter().enumerate() {
            sqlx::query(
                "INSERT INTO units (code, name, parent_code, kind) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (code) DO UPDATE SET name = excluded.name, \
                 parent_code = excluded.parent_code, kind = excluded.kind",
            )
            .bind(&unit.code)
            .bind(&unit.name)
            .bind(&unit.parent)
            .bind(&unit.kind)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO campaign_units (campaign_id, unit_code, position) VALUES (?1, ?2, ?3)",
            )
            .bind(id)
            .bind(&unit.code)
            .bind(codec::position(i))
            .execute(&mut *tx)
            .await?;
        }
        for (i, group) in campaign.target_groups.iter().enumerate() {
            sqlx::query(
                "INSERT INTO campaign_target_groups (campaign_id, code, position) \
                 VALUES (?1, ?2, ?3)",
            )
            .bind(id)
            .bind(&group.code)
            .bind(codec::position(i))
            .execute(&mut *tx)
            .await?;
        }
        for (i, section) in campaign.sections.iter().enumerate() {
            sqlx::query(
                "INSERT INTO sections (campaign_id, reference, title, summary, position) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .bind(id)
            .bind(&section.reference)
            .bind(&section.title)
            .bind(&section.summary)
            .bind(codec::position(i))
            .execute(&mut *tx)
            .await?;
        }
        for (i, topic) in campaign.topics.iter().enumerate() {
            sqlx::query(
                "INSERT INTO topics (campaign_id, code, title, question, position) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .bind(id)
            .bind(&topic.code)
            .bind(&topic.title)
            .bind(&topic.question)
            .bind(codec::position(i))
            .execute(&mut *tx)
            .await?;
            for (j, section) in topic.sections.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO topic_sections (campaign_id, topic_code, section_ref, position) \
                     VALUES (?1, ?2, ?3, ?4)",
                )
                .bind(id)
                .bind(&topic.code)
                .bind(section)
                .bind(codec::position(j))
                .execute(&mut *tx)
                .await?;
            }
        }
        for (i, phase) in campaign.phases.iter().enumerate() {
            sqlx::query(
                "INSERT INTO phases (campaign_id, kind, position, starts_at, ends_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .bind(id)
            .bind(phase.kind.as_str())
            .bind(codec::position(i))
            .bind(phase.starts_at)
            .bind(phase.ends_at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    async fn campaigns(&self) -> StoreResult<Vec<Campaign>> {
        // One snapshot for every table, so a campaign imported meanwhile is seen whole or not
        // at all.
        let mut tx = self.reader.begin().await?;
        let rows = codec::load_campaign_rows!(&mut *tx);
        tx.commit().await?;
        rows.assemble()
    }

    async fn campaign_summaries(&self) -> StoreResult<Vec<CampaignSummary>> {
        let rows: Vec<(
            i64,
            String,
            String,
            Option<DateTime<Utc>>,
            Option<DateTime<Utc>>,
            i64,
        )> = sqlx::query_as(
            "SELECT c.id, c.slug, c.title, p.starts_at, p.ends_at, \
             (SELECT count(*) FROM opinions o WHERE o.campaign_id = c.id) \
             FROM campaigns c \
             LEFT JOIN phases p ON p.campaign_id = c.id AND p.kind = 'collect' \
             ORDER BY c.id",
        )
        .fetch_all(&self.reader)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(id, slug, title, starts, ends, opinions)| CampaignSummary {
                    id,
                    slug,
                    title,
                    collect: starts.zip(ends),
                    opinions,
                },
            )
            .collect())
    }

    async fn campaign_opinions(&self, campaign: CampaignId) -> StoreResult<Vec<Opinion>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            opinion_columns!(),
            " FROM opinions WHERE campaign_id = ?1 ORDER BY created_at, id"
        ))
        .bind(campaign)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(opinion).collect()
    }

    async fn find_contact(&self, key: &ContactKey) -> StoreResult<Option<Contact>> {
        let row: Option<(i64, String)> = sqlx::query_as(
            "SELECT id, locale FROM contacts WHERE channel = ?1 AND external_id = ?2",
        )
        .bind(key.channel.as_str())
        .bind(&key.external_id)
        .fetch_optional(&self.reader)
        .await?;
        row.map(|(id, locale)| {
            Ok(Contact {
                id,
                key: key.clone(),
                locale: codec::locale(&locale)?,
            })
        })
        .transpose()
    }

    async fn dialog_state(&self, contact: ContactId) -> StoreResult<Option<DialogState>> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT state FROM dialog_states WHERE contact_id = ?1")
                .bind(contact)
                .fetch_optional(&self.reader)
                .await?;
        row.map(|(json,)| codec::state(&json)).transpose()
    }

    async fn identity(&self, contact: ContactId) -> StoreResult<Option<Identity>> {
        let row: Option<(Option<String>, Option<String>)> =
            sqlx::query_as("SELECT display_name, username FROM identities WHERE contact_id = ?1")
                .bind(contact)
                .fetch_optional(&self.reader)
                .await?;
        Ok(row.map(|(display_name, username)| Identity {
            display_name,
            username,
        }))
    }

    async fn audit(&self, entry: &AuditEntry) -> StoreResult<()> {
        sqlx::query("INSERT INTO audit_log (at, actor, action, detail) VALUES (?1, ?2, ?3, ?4)")
            .bind(entry.at)
            .bind(&entry.actor)
            .bind(&entry.action)
            .bind(entry.detail.to_string())
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn audit_log(&self, limit: i64) -> StoreResult<Vec<AuditEntry>> {
        let rows: Vec<(DateTime<Utc>, String, String, String)> = sqlx::query_as(
            "SELECT at, actor, action, detail FROM audit_log ORDER BY id DESC LIMIT ?1",
        )
        .bind(limit)
        .fetch_all(&self.reader)
        .await?;
        rows.into_iter()
            .map(|(at, actor, action, detail)| {
                Ok(AuditEntry {
                    at,
                    actor,
                    action,
                    detail: codec::detail(&detail)?,
                })
            })
            .collect()
    }

    async fn forget_processed_updates(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM processed_updates WHERE processed_at < ?1")
            .bind(before)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected())
    }

    async fn consents(
        &self,
        contact: ContactId,
    ) -> StoreResult<Vec<(CampaignId, IdentityMode, String, DateTime<Utc>)>> {
        let rows: Vec<(i64, String, String, DateTime<Utc>)> = sqlx::query_as(
            "SELECT campaign_id, mode, notice_version, given_at FROM consents \
             WHERE contact_id = ?1 ORDER BY id",
        )
        .bind(contact)
        .fetch_all(&self.reader)
        .await?;
        rows.into_iter()
            .map(|(campaign, mode, version, at)| Ok((campaign, codec::mode(&mode)?, version, at)))
            .collect()
    }
}

/// One write transaction on the writer connection, begun with `BEGIN IMMEDIATE`: it holds
/// the database's write lock from its first statement, so one resident's steps (indeed all
/// steps) are serialised and `lock_state` needs no lock of its own.
struct SqliteTx {
    /// The open transaction; dropping it rolls back.
    tx: Transaction<'static, Sqlite>,
    /// The dialog state [`Tx::contact`] read along with the contact, for the next
    /// [`Tx::lock_state`] of that contact: its JSON and expiry, `None` when there is none.
    /// Nothing can change it meanwhile, as the transaction holds the write lock.
    ahead: Option<(ContactId, Option<StateRow>)>,
    /// States saved by this transaction, written at commit.
    pending: PendingStates,
}

#[async_trait]
impl Tx for SqliteTx {
    async fn claim_update(
        &mut self,
        channel: Channel,
        key: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO processed_updates (channel, update_key, processed_at) \
             VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
        )
        .bind(channel.as_str())
        .bind(key)
        .bind(at)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn contact(&mut self, key: &ContactKey, locale: Locale) -> StoreResult<Contact> {
        // The contact and its dialog state in one statement: `lock_state` comes next on
        // every step.
        self.ahead = None;
        let found: Option<(i64, String, Option<String>, Option<DateTime<Utc>>)> = sqlx::query_as(
            "SELECT c.id, c.locale, s.state, s.expires_at \
             FROM contacts c LEFT JOIN dialog_states s ON s.contact_id = c.id \
             WHERE c.channel = ?1 AND c.external_id = ?2",
        )
        .bind(key.channel.as_str())
        .bind(&key.external_id)
        .fetch_optional(&mut *self.tx)
        .await?;
        if let Some((id, stored, state, expires_at)) = found {
            self.ahead = Some((id, state.map(|json| (json, expires_at))));
            return Ok(Contact {
                id,
                key: key.clone(),
                locale: codec::locale(&stored)?,
            });
        }
        // The write lock is held, so nobody can insert the same contact meanwhile.
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO contacts (channel, external_id, locale, created_at) \
             VALUES (?1, ?2, ?3, ?4) RETURNING id",
        )
        .bind(key.channel.as_str())
        .bind(&key.external_id)
        .bind(locale.as_str())
        .bind(Utc::now())
        .fetch_one(&mut *self.tx)
        .await?;
        self.ahead = Some((id, None));
        Ok(Contact {
            id,
            key: key.clone(),
            locale,
        })
    }

    async fn lock_state(
        &mut self,
        contact: ContactId,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<DialogState>> {
        let ahead = self.ahead.take();
        if let Some(saved) = self.pending.get(contact, now) {
            return Ok(saved);
        }
        let row = match ahead {
            Some((id, row)) if id == contact => row,
            _ => {
                sqlx::query_as("SELECT state, expires_at FROM dialog_states WHERE contact_id = ?1")
                    .bind(contact)
                    .fetch_optional(&mut *self.tx)
                    .await?
            }
        };
        match row {
            Some((_, Some(expires))) if expires < now => Ok(None),
            Some((json, _)) => codec::state(&json).map(Some),
            None => Ok(None),
        }
    }

    async fn save_state(
        &mut self,
        contact: ContactId,
        state: &DialogState,
        expires_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.ahead = None;
        self.pending.put(PendingState {
            contact,
            state: state.clone(),
            expires_at,
            updated_at: now,
        });
        Ok(())
    }

    async fn opinions_of(
        &mut self,
        contact: ContactId,
        campaign: CampaignId,
    ) -> StoreResult<Vec<Opinion>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            opinion_columns!(),
            " FROM opinions WHERE contact_id = ?1 AND campaign_id = ?2 ORDER BY created_at, id"
        ))
        .bind(contact)
        .bind(campaign)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter().map(opinion).collect()
    }

    async fn record_consent(
        &mut self,
        contact: ContactId,
        campaign: CampaignId,
        mode: IdentityMode,
        notice_version: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO consents (contact_id, campaign_id, mode, notice_version, given_at) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .bind(contact)
        .bind(campaign)
        .bind(mode.as_str())
        .bind(notice_version)
        .bind(at)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn set_identity(
        &mut self,
        contact: ContactId,
        identity: Option<&Identity>,
    ) -> StoreResult<()> {
        match identity {
            Some(identity) => {
                sqlx::query(
                    "INSERT INTO identities (contact_id, display_name, username, updated_at) \
                     VALUES (?1, ?2, ?3, ?4) \
                     ON CONFLICT (contact_id) DO UPDATE SET \
                     display_name = excluded.display_name, username = excluded.username, \
                     updated_at = excluded.updated_at",
                )
                .bind(contact)
                .bind(&identity.display_name)
                .bind(&identity.username)
                .bind(Utc::now())
                .execute(&mut *self.tx)
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM identities WHERE contact_id = ?1")
                    .bind(contact)
                    .execute(&mut *self.tx)
                    .await?;
            }
        }
        Ok(())
    }

    async fn insert_opinion(&mut self, o: &NewOpinion) -> StoreResult<i64> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO opinions (reference, campaign_id, contact_id, topic_code, section_ref, \
             unit_code, target_group, channel, source, anonymous, text, status, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'draft', ?12) RETURNING id",
        )
        .bind(&o.reference)
        .bind(o.campaign_id)
        .bind(o.contact_id)
        .bind(&o.topic)
        .bind(&o.section)
        .bind(&o.unit)
        .bind(&o.target_group)
        .bind(o.channel.as_str())
        .bind(o.source.as_str())
        .bind(o.anonymous)
        .bind(&o.text)
        .bind(o.created_at)
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(id)
    }

    async fn submit_drafts(
        &mut self,
        contact: ContactId,
        campaign: CampaignId,
        receipt: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let done = sqlx::query(
            "UPDATE opinions SET status = 'submitted', receipt = ?3, submitted_at = ?4 \
             WHERE contact_id = ?1 AND campaign_id = ?2 AND status = 'draft'",
        )
        .bind(contact)
        .bind(campaign)
        .bind(receipt)
        .bind(at)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected())
    }

    async fn edit_opinion(
        &mut self,
        contact: ContactId,
        campaign: CampaignId,
        reference: &str,
        text: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        // The previous text goes to the revisions first: nothing a resident gave is lost.
        let kept = sqlx::query(
            "INSERT INTO opinion_revisions (opinion_id, text, replaced_at) \
             SELECT id, text, ?4 FROM opinions \
             WHERE contact_id = ?1 AND campaign_id = ?2 AND reference = ?3 \
             AND status <> 'withdrawn'",
        )
        .bind(contact)
        .bind(campaign)
        .bind(reference)
        .bind(at)
        .execute(&mut *self.tx)
        .await?;
        if kept.rows_affected() == 0 {
            return Ok(false);
        }
        let done = sqlx::query(
            "UPDATE opinions SET text = ?4, edited_at = ?5 \
             WHERE contact_id = ?1 AND campaign_id = ?2 AND reference = ?3 \
             AND status <> 'withdrawn'",
        )
        .bind(contact)
        .bind(campaign)
        .bind(reference)
        .bind(text)
        .bind(at)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn withdraw_opinion(
        &mut self,
        contact: ContactId,
        campaign: CampaignId,
        reference: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE opinions SET status = 'withdrawn', withdrawn_at = ?4 \
             WHERE contact_id = ?1 AND campaign_id = ?2 AND reference = ?3 \
             AND status <> 'withdrawn'",
        )
        .bind(contact)
        .bind(campaign)
        .bind(reference)
        .bind(at)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn erase_contact(
        &mut self,
        contact: ContactId,
        withdraw_opinions: bool,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.ahead = None;
        self.pending.forget(contact);
        if withdraw_opinions {
            sqlx::query(
                "UPDATE opinions SET status = 'withdrawn', withdrawn_at = ?2 \
                 WHERE contact_id = ?1 AND status <> 'withdrawn'",
            )
            .bind(contact)
            .bind(at)
            .execute(&mut *self.tx)
            .await?;
        }
        sqlx::query("UPDATE opinions SET contact_id = NULL, anonymous = 1 WHERE contact_id = ?1")
            .bind(contact)
            .execute(&mut *self.tx)
            .await?;
        sqlx::query("UPDATE consents SET contact_id = NULL WHERE contact_id = ?1")
            .bind(contact)
            .execute(&mut *self.tx)
            .await?;
        // Identity and dialog state go with the contact row (ON DELETE CASCADE).
        sqlx::query("DELETE FROM contacts WHERE id = ?1")
            .bind(contact)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn set_locale(&mut self, contact: ContactId, locale: Locale) -> StoreResult<()> {
        sqlx::query("UPDATE contacts SET locale = ?2 WHERE id = ?1")
            .bind(contact)
            .bind(locale.as_str())
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn set_notices(
        &mut self,
        contact: ContactId,
        on: bool,
        unit: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO resident_notices (contact_id, subscribed, unit_code, reason, changed_at) \
             VALUES ($1, $2, $3, 'command', $4) ON CONFLICT (contact_id) DO UPDATE SET \
             subscribed = excluded.subscribed, unit_code = COALESCE(excluded.unit_code, \
             resident_notices.unit_code), reason = excluded.reason, changed_at = excluded.changed_at",
        )
        .bind(contact)
        .bind(on)
        .bind(unit)
        .bind(now)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn link_status(
        &mut self,
        contact: ContactId,
        code_hash: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<crate::domain::LinkStatus> {
        super::links::sqlite::link_status(&mut self.tx, contact, code_hash, now).await
    }

    async fn issue_link_code(
        &mut self,
        contact: ContactId,
        code_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        super::links::sqlite::issue_link_code(&mut self.tx, contact, code_hash, now, expires_at)
            .await
    }

    async fn link_contacts(
        &mut self,
        contact: ContactId,
        code_hash: &str,
        other: ContactId,
        now: DateTime<Utc>,
    ) -> StoreResult<i64> {
        super::links::sqlite::link_contacts(&mut self.tx, contact, code_hash, other, now).await
    }

    async fn unlink_contact(
        &mut self,
        contact: ContactId,
        why: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        super::links::sqlite::unlink_contact(&mut self.tx, contact, why, now).await
    }

    async fn commit(mut self: Box<Self>) -> StoreResult<()> {
        let pending = self.pending.drain()?;
        if !pending.is_empty() {
            state_upsert::<Sqlite>(pending, "")
                .build()
                .execute(&mut *self.tx)
                .await?;
        }
        self.tx.commit().await?;
        Ok(())
    }
}

/// Reads one `opinions` row selected with [`opinion_columns`].
fn opinion(row: &SqliteRow) -> StoreResult<Opinion> {
    let status: String = row.try_get(12)?;
    Ok(Opinion {
        id: row.try_get(0)?,
        reference: row.try_get(1)?,
        campaign_id: row.try_get(2)?,
        contact_id: row.try_get(3)?,
        topic: row.try_get(4)?,
        section: row.try_get(5)?,
        unit: row.try_get(6)?,
        target_group: row.try_get(7)?,
        channel: codec::channel(row.try_get(8)?)?,
        source: codec::source(row.try_get(9)?)?,
        anonymous: row.try_get(10)?,
        text: row.try_get(11)?,
        status: codec::status(&status)?,
        receipt: row.try_get(13)?,
        created_at: row.try_get(14)?,
        edited_at: row.try_get(15)?,
        withdrawn_at: row.try_get(16)?,
    })
}
