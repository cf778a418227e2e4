//! The PostgreSQL backend: production, shared by several replicas.
//!
//! One resident's steps are serialised by row locks: the resident's dialog-state row is taken
//! `FOR UPDATE` (by `contact`, which reads it ahead for `lock_state`, or by `lock_state`
//! itself), and when there is no such row yet the contact row is locked instead (or, for a
//! contact this transaction created, its uncommitted row holds others back), so two
//! transactions for the same resident never both proceed. A dialog step is five round trips
//! in the common case: `BEGIN`, `claim_update`, `contact` (with the state), `save_state`,
//! `COMMIT`.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{PgConnection, PgPool, Postgres, Row, Transaction};

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

/// Transactions one polling batch is split into (by resident), run side by side: enough to
/// keep both the server's CPUs busy while each waits for its round trips.
const BATCH_WRITERS: usize = 4;

/// The migrations for this backend, embedded at build time.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Connections in the pool.
const MAX_CONNECTIONS: u32 = 16;

/// How long a caller waits for a free connection before the database counts as unavailable.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// The columns of `opinions` in the order [`opinion`] reads them.
macro_rules! opinion_columns {
    () => {
        "id, reference, campaign_id, contact_id, topic_code, section_ref, unit_code, \
         target_group, channel, source, anonymous, text, status, receipt, created_at, \
         edited_at, withdrawn_at"
    };
}

/// PostgreSQL store.
#[derive(Debug, Clone)]
pub struct PgStore {
    /// The connection pool.
    pool: PgPool,
}

impl PgStore {
    /// Connects to the database named by a `postgres://` URL.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let options = PgConnectOptions::from_str(url)?.application_name("gopy");
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            // A broken connection fails its next statement as `Unavailable` (retryable);
            // pinging before every use would add a round trip to every step.
            .test_before_acquire(false)
            .connect_with(options)
            .await?;
        Ok(Self { pool })
    }

    /// The connection pool, for the storage of other areas (`store::announce`,
    /// `store::moderation`).
    pub(super) fn pool(&self) -> &PgPool {
        &self.pool
    }
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    fn batch_writers(&self) -> usize {
        BATCH_WRITERS
    }

    async fn migrate(&self) -> StoreResult<()> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn begin(&self) -> StoreResult<Box<dyn Tx>> {
        let tx = self.pool.begin().await?;
        Ok(Box::new(PgTx {
            tx,
            ahead: None,
            pending: PendingStates::default(),
        }))
    }

    async fn insert_campaign(&self, campaign: &Campaign) -> StoreResult<CampaignId> {
        let mut tx = self.pool.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO campaigns (slug, issuer, title, document_title, intro, purpose, \
             retention_months, notice_version, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
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
                "INSERT INTO units (code, name, parent_code, kind) VALUES ($1, $2, $3, $4) \
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
                "INSERT INTO campaign_units (campaign_id, unit_code, position) VALUES ($1, $2, $3)",
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
                 VALUES ($1, $2, $3)",
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
                 VALUES ($1, $2, $3, $4, $5)",
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
                 VALUES ($1, $2, $3, $4, $5)",
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
                     VALUES ($1, $2, $3, $4)",
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
                 VALUES ($1, $2, $3, $4, $5)",
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
        let mut tx = self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await?;
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
        .fetch_all(&self.pool)
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
            " FROM opinions WHERE campaign_id = $1 ORDER BY created_at, id"
        ))
        .bind(campaign)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(opinion).collect()
    }

    async fn find_contact(&self, key: &ContactKey) -> StoreResult<Option<Contact>> {
        let row: Option<(i64, String)> = sqlx::query_as(
            "SELECT id, locale FROM contacts WHERE channel = $1 AND external_id = $2",
        )
        .bind(key.channel.as_str())
        .bind(&key.external_id)
        .fetch_optional(&self.pool)
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
            sqlx::query_as("SELECT state::text FROM dialog_states WHERE contact_id = $1")
                .bind(contact)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|(json,)| codec::state(&json)).transpose()
    }

    async fn identity(&self, contact: ContactId) -> StoreResult<Option<Identity>> {
        let row: Option<(Option<String>, Option<String>)> =
            sqlx::query_as("SELECT display_name, username FROM identities WHERE contact_id = $1")
                .bind(contact)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(display_name, username)| Identity {
            display_name,
            username,
        }))
    }

    async fn audit(&self, entry: &AuditEntry) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO audit_log (at, actor, action, detail) VALUES ($1, $2, $3, $4::jsonb)",
        )
        .bind(entry.at)
        .bind(&entry.actor)
        .bind(&entry.action)
        .bind(entry.detail.to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn audit_log(&self, limit: i64) -> StoreResult<Vec<AuditEntry>> {
        let rows: Vec<(DateTime<Utc>, String, String, String)> = sqlx::query_as(
            "SELECT at, actor, action, detail::text FROM audit_log ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
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
        let done = sqlx::query("DELETE FROM processed_updates WHERE processed_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn consents(
        &self,
        contact: ContactId,
    ) -> StoreResult<Vec<(CampaignId, IdentityMode, String, DateTime<Utc>)>> {
        let rows: Vec<(i64, String, String, DateTime<Utc>)> = sqlx::query_as(
            "SELECT campaign_id, mode, notice_version, given_at FROM consents \
             WHERE contact_id = $1 ORDER BY id",
        )
        .bind(contact)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(campaign, mode, version, at)| Ok((campaign, codec::mode(&mode)?, version, at)))
            .collect()
    }
}

/// One transaction (read committed) on a pooled connection; dropping it rolls back.
struct PgTx {
    /// The open transaction.
    tx: Transaction<'static, Postgres>,
    /// What [`Tx::contact`] read ahead for the next [`Tx::lock_state`] of that contact.
    ahead: Option<(ContactId, Ahead)>,
    /// States saved by this transaction, written at commit.
    pending: PendingStates,
}

/// The dialog state [`Tx::contact`] found (and locked) while looking the contact up, so that
/// [`Tx::lock_state`] needs no round trip of its own in the common case.
enum Ahead {
    /// The contact was created by this transaction: nobody can have a state for it, and
    /// concurrent steps of the same resident wait on the uncommitted contact row.
    Fresh,
    /// The state row, locked `FOR UPDATE`: its JSON and expiry.
    Row(String, Option<DateTime<Utc>>),
    /// The contact exists but had no state row to lock.
    NoRow,
}

#[async_trait]
impl Tx for PgTx {
    async fn claim_update(
        &mut self,
        channel: Channel,
        key: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO processed_updates (channel, update_key, processed_at) \
             VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(channel.as_str())
        .bind(key)
        .bind(at)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn claim_and_contact(
        &mut self,
        update: Option<(Channel, &str)>,
        key: &ContactKey,
        locale: Locale,
        at: DateTime<Utc>,
    ) -> StoreResult<Option<Contact>> {
        let Some((channel, update_key)) = update else {
            return self.contact(key, locale).await.map(Some);
        };
        // The claim, the contact and its locked state in ONE statement: the statement every
        // step starts with, so the round trip it saves is saved on every update.
        self.ahead = None;
        let (claimed, id, stored, has_state, state, expires_at): (
            i64,
            Option<i64>,
            Option<String>,
            Option<bool>,
            Option<String>,
            Option<DateTime<Utc>>,
        ) = sqlx::query_as(
            "WITH claim AS ( \
                 INSERT INTO processed_updates (channel, update_key, processed_at) \
                 VALUES ($3, $4, $5) ON CONFLICT DO NOTHING RETURNING 1 \
             ) \
             SELECT (SELECT count(*) FROM claim), f.id, f.locale, f.has_state, f.state, \
                    f.expires_at \
             FROM (SELECT 1) AS one LEFT JOIN ( \
                 SELECT c.id, c.locale, s.contact_id IS NOT NULL AS has_state, \
                        s.state::text AS state, s.expires_at \
                 FROM contacts c LEFT JOIN LATERAL ( \
                     SELECT d.contact_id, d.state, d.expires_at FROM dialog_states d \
                     WHERE d.contact_id = c.id FOR UPDATE \
                 ) s ON TRUE \
                 WHERE c.channel = $1 AND c.external_id = $2 \
             ) f ON TRUE",
        )
        .bind(key.channel.as_str())
        .bind(&key.external_id)
        .bind(channel.as_str())
        .bind(update_key)
        .bind(at)
        .fetch_one(self.conn())
        .await?;
        if claimed == 0 {
            return Ok(None);
        }
        match (id, stored) {
            (Some(id), Some(stored)) => {
                self.remember_ahead(id, has_state.unwrap_or(false), state, expires_at);
                Ok(Some(Contact {
                    id,
                    key: key.clone(),
                    locale: codec::locale(&stored)?,
                }))
            }
            _ => self.insert_contact(key, locale).await.map(Some),
        }
    }

    async fn contact(&mut self, key: &ContactKey, locale: Locale) -> StoreResult<Contact> {
        // The contact and, locked, its dialog state in one round trip: `lock_state` comes
        // next on every step. The lock is taken in a subquery so that, after waiting for a
        // concurrent step, it returns the state row as that step committed it.
        self.ahead = None;
        let found: Option<(i64, String, bool, Option<String>, Option<DateTime<Utc>>)> =
            sqlx::query_as(
                "SELECT c.id, c.locale, s.contact_id IS NOT NULL, s.state::text, s.expires_at \
                 FROM contacts c LEFT JOIN LATERAL ( \
                     SELECT d.contact_id, d.state, d.expires_at FROM dialog_states d \
                     WHERE d.contact_id = c.id FOR UPDATE \
                 ) s ON TRUE \
                 WHERE c.channel = $1 AND c.external_id = $2",
            )
            .bind(key.channel.as_str())
            .bind(&key.external_id)
            .fetch_optional(self.conn())
            .await?;
        if let Some((id, stored, has_state, state, expires_at)) = found {
            self.remember_ahead(id, has_state, state, expires_at);
            return Ok(Contact {
                id,
                key: key.clone(),
                locale: codec::locale(&stored)?,
            });
        }
        self.insert_contact(key, locale).await
    }
    async fn lock_state(
        &mut self,
        contact: ContactId,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<DialogState>> {
        let ahead = self.ahead.take();
        if let Some(saved) = self.pending.get(contact, now) {
            // Saved earlier in this transaction, which has held its lock since.
            return Ok(saved);
        }
        let row = match ahead {
            Some((id, Ahead::Fresh)) if id == contact => None,
            Some((id, Ahead::Row(json, expires_at))) if id == contact => Some((json, expires_at)),
            Some((id, Ahead::NoRow)) if id == contact => {
                self.lock_contact_then_state(contact).await?
            }
            _ => match self.state_for_update(contact).await? {
                Some(row) => Some(row),
                None => self.lock_contact_then_state(contact).await?,
            },
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
            " FROM opinions WHERE contact_id = $1 AND campaign_id = $2 ORDER BY created_at, id"
        ))
        // Planned at each call, not once per connection: a generic plan cached while
        // `opinions` was small (a new database's first minute, before autovacuum analyses
        // it) scans the whole table ever after — 0.86 ms a step at 9,000 opinions in the
        // Zalo bench, against 0.03 ms when the planner sees the table's real size and takes
        // `opinions_contact_campaign`.
        .persistent(false)
        .bind(contact)
        .bind(campaign)
        .fetch_all(self.conn())
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
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(contact)
        .bind(campaign)
        .bind(mode.as_str())
        .bind(notice_version)
        .bind(at)
        .execute(self.conn())
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
                     VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (contact_id) DO UPDATE SET \
                     display_name = excluded.display_name, username = excluded.username, \
                     updated_at = excluded.updated_at",
                )
                .bind(contact)
                .bind(&identity.display_name)
                .bind(&identity.username)
                .bind(Utc::now())
                .execute(self.conn())
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM identities WHERE contact_id = $1")
                    .bind(contact)
                    .execute(self.conn())
                    .await?;
            }
        }
        Ok(())
    }

    async fn insert_opinion(&mut self, o: &NewOpinion) -> StoreResult<i64> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO opinions (reference, campaign_id, contact_id, topic_code, section_ref, \
             unit_code, target_group, channel, source, anonymous, text, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'draft', $12) RETURNING id",
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
        .fetch_one(self.conn())
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
        // The resident's rows found by `opinions_contact_campaign` first: written as
        // `contact_id = $1 AND campaign_id = $2 AND status = 'draft'`, a planner without
        // statistics (a new database's first minute, before autovacuum analyses it) takes
        // `opinions_campaign_status` and walks every draft of the campaign — 2.4 ms a
        // submit at 9,000 opinions in the Zalo bench, against 0.1 ms this way.
        let done = sqlx::query(
            "UPDATE opinions SET status = 'submitted', receipt = $3, submitted_at = $4 \
             WHERE id IN (SELECT id FROM opinions WHERE contact_id = $1 AND campaign_id = $2) \
             AND status = 'draft'",
        )
        .bind(contact)
        .bind(campaign)
        .bind(receipt)
        .bind(at)
        .execute(self.conn())
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
             SELECT id, text, $4 FROM opinions \
             WHERE contact_id = $1 AND campaign_id = $2 AND reference = $3 \
             AND status <> 'withdrawn'",
        )
        .bind(contact)
        .bind(campaign)
        .bind(reference)
        .bind(at)
        .execute(self.conn())
        .await?;
        if kept.rows_affected() == 0 {
            return Ok(false);
        }
        let done = sqlx::query(
            "UPDATE opinions SET text = $4, edited_at = $5 \
             WHERE contact_id = $1 AND campaign_id = $2 AND reference = $3 \
             AND status <> 'withdrawn'",
        )
        .bind(contact)
        .bind(campaign)
        .bind(reference)
        .bind(text)
        .bind(at)
        .execute(self.conn())
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
            "UPDATE opinions SET status = 'withdrawn', withdrawn_at = $4 \
             WHERE contact_id = $1 AND campaign_id = $2 AND reference = $3 \
             AND status <> 'withdrawn'",
        )
        .bind(contact)
        .bind(campaign)
        .bind(reference)
        .bind(at)
        .execute(self.conn())
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
                "UPDATE opinions SET status = 'withdrawn', withdrawn_at = $2 \
                 WHERE contact_id = $1 AND status <> 'withdrawn'",
            )
            .bind(contact)
            .bind(at)
            .execute(self.conn())
            .await?;
        }
        sqlx::query(
            "UPDATE opinions SET contact_id = NULL, anonymous = TRUE WHERE contact_id = $1",
        )
        .bind(contact)
        .execute(self.conn())
        .await?;
        sqlx::query("UPDATE consents SET contact_id = NULL WHERE contact_id = $1")
            .bind(contact)
            .execute(self.conn())
            .await?;
        // Identity and dialog state go with the contact row (ON DELETE CASCADE).
        sqlx::query("DELETE FROM contacts WHERE id = $1")
            .bind(contact)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    async fn set_locale(&mut self, contact: ContactId, locale: Locale) -> StoreResult<()> {
        sqlx::query("UPDATE contacts SET locale = $2 WHERE id = $1")
            .bind(contact)
            .bind(locale.as_str())
            .execute(self.conn())
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
        .execute(self.conn())
        .await?;
        Ok(())
    }

    async fn link_status(
        &mut self,
        contact: ContactId,
        code_hash: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<crate::domain::LinkStatus> {
        super::links::postgres::link_status(self.conn(), contact, code_hash, now).await
    }

    async fn issue_link_code(
        &mut self,
        contact: ContactId,
        code_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        super::links::postgres::issue_link_code(self.conn(), contact, code_hash, now, expires_at)
            .await
    }

    async fn link_contacts(
        &mut self,
        contact: ContactId,
        code_hash: &str,
        other: ContactId,
        now: DateTime<Utc>,
    ) -> StoreResult<i64> {
        super::links::postgres::link_contacts(self.conn(), contact, code_hash, other, now).await
    }

    async fn unlink_contact(
        &mut self,
        contact: ContactId,
        why: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        super::links::postgres::unlink_contact(self.conn(), contact, why, now).await
    }

    async fn commit(mut self: Box<Self>) -> StoreResult<()> {
        let pending = self.pending.drain()?;
        if !pending.is_empty() {
            state_upsert::<Postgres>(pending, "::jsonb")
                .build()
                .execute(self.conn())
                .await?;
        }
        self.tx.commit().await?;
        Ok(())
    }
}

impl PgTx {
    /// Keeps what the contact look-up read of the state for the next [`Tx::lock_state`].
    fn remember_ahead(
        &mut self,
        id: ContactId,
        has_state: bool,
        state: Option<String>,
        expires_at: Option<DateTime<Utc>>,
    ) {
        let ahead = match (has_state, state) {
            (true, Some(json)) => Ahead::Row(json, expires_at),
            _ => Ahead::NoRow,
        };
        self.ahead = Some((id, ahead));
    }

    /// Creates a contact that the look-up did not find.
    async fn insert_contact(&mut self, key: &ContactKey, locale: Locale) -> StoreResult<Contact> {
        // A concurrent step of the same new resident may be inserting them right now: the
        // insert then waits for it and does nothing, and the row it committed is read back.
        let inserted: Option<i64> = sqlx::query_scalar(
            "INSERT INTO contacts (channel, external_id, locale, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (channel, external_id) DO NOTHING RETURNING id",
        )
        .bind(key.channel.as_str())
        .bind(&key.external_id)
        .bind(locale.as_str())
        .bind(Utc::now())
        .fetch_optional(self.conn())
        .await?;
        if let Some(id) = inserted {
            self.ahead = Some((id, Ahead::Fresh));
            return Ok(Contact {
                id,
                key: key.clone(),
                locale,
            });
        }
        let (id, stored): (i64, String) = sqlx::query_as(
            "SELECT id, locale FROM contacts WHERE channel = $1 AND external_id = $2",
        )
        .bind(key.channel.as_str())
        .bind(&key.external_id)
        .fetch_one(self.conn())
        .await?;
        Ok(Contact {
            id,
            key: key.clone(),
            locale: codec::locale(&stored)?,
        })
    }

    /// The connection inside the transaction.
    fn conn(&mut self) -> &mut PgConnection {
        &mut self.tx
    }

    /// The contact's dialog state (JSON) and expiry, the row locked until the transaction
    /// ends.
    async fn state_for_update(&mut self, contact: ContactId) -> StoreResult<Option<StateRow>> {
        let row = sqlx::query_as(
            "SELECT state::text, expires_at FROM dialog_states WHERE contact_id = $1 FOR UPDATE",
        )
        .bind(contact)
        .fetch_optional(self.conn())
        .await?;
        Ok(row)
    }

    /// For a contact without a state row: locks the contact row, so that a concurrent first
    /// step of the same resident waits here until this one commits, then reads (and locks)
    /// the state that step may have committed meanwhile. The read is a statement of its own
    /// so that it sees what was committed while it waited.
    async fn lock_contact_then_state(
        &mut self,
        contact: ContactId,
    ) -> StoreResult<Option<StateRow>> {
        sqlx::query("SELECT 1 FROM contacts WHERE id = $1 FOR NO KEY UPDATE")
            .bind(contact)
            .fetch_optional(self.conn())
            .await?;
        self.state_for_update(contact).await
    }
}

/// Reads one `opinions` row selected with [`opinion_columns`].
fn opinion(row: &PgRow) -> StoreResult<Opinion> {
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
