//! Storage for the web console: staff passwords, sessions kept in the database (with when
//! each was last used, for the idle timeout), login attempts for throttling, and campaigns
//! created or edited in the console's form.
//!
//! Both backends run the same SQL (`$n` parameters work on SQLite too), so the
//! implementation is written once, in `console_store_impl!`, and expanded in `sqlite.rs` and
//! `postgres.rs`, which only say how to read and how to start a write transaction. Every
//! change an official answers for (a login, a logout, a password set or changed, a campaign
//! created or edited) writes its
//! `audit_log` line in the same transaction as the change.

mod postgres;
mod sqlite;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::announce::StaffUser;
use super::{AuditEntry, StoreResult};

/// What the console needs to check a login: the user, their password hash and its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The staff user.
    pub staff: StaffUser,
    /// The argon2id hash (PHC string); `None` until a password is issued.
    pub password_hash: Option<String>,
    /// The password was issued by someone else and must be changed before anything else.
    pub must_change: bool,
    /// The user was disabled: no login.
    pub disabled: bool,
}

/// A session to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    /// SHA-256 (hex) of the cookie's token; the token itself is never stored.
    pub token_hash: String,
    /// Whose session.
    pub staff_id: i64,
    /// The CSRF token the session's forms carry.
    pub csrf: String,
    /// Where the login came from.
    pub ip: String,
    /// When it opens.
    pub created_at: DateTime<Utc>,
    /// When it ends at the latest.
    pub expires_at: DateTime<Utc>,
}

/// A live session, as each console request sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// SHA-256 (hex) of the cookie's token.
    pub token_hash: String,
    /// The signed-in user.
    pub staff: StaffUser,
    /// The CSRF token of this session's forms.
    pub csrf: String,
    /// The user must change their password before anything else.
    pub must_change: bool,
    /// When the session ends.
    pub expires_at: DateTime<Utc>,
}

/// One login attempt, as recorded for throttling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginAttempt {
    /// The name typed (it may name nobody).
    pub name: String,
    /// Where from.
    pub ip: String,
    /// When.
    pub at: DateTime<Utc>,
    /// Whether the password was right.
    pub success: bool,
}

/// Failed logins in a window, counted both ways.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoginFailures {
    /// Failures for this account name (from anywhere).
    pub by_name: i64,
    /// Failures from this address (for any name).
    pub by_ip: i64,
}

/// What became of a campaign edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CampaignEdit {
    /// Saved, with its audit line.
    Saved,
    /// No campaign with that id.
    NotFound,
    /// A topic or section left out of the edit still has opinions: nothing was changed.
    InUse {
        /// The topic code or section reference.
        what: String,
    },
}

/// The console part of the store. A supertrait of [`super::Store`].
#[async_trait]
pub trait ConsoleStore: Send + Sync {
    /// The staff user with this name (exactly as stored) and their password state.
    async fn credentials(&self, name: &str) -> StoreResult<Option<Credentials>>;

    /// Sets a staff user's password hash. `must_change` marks a one-time password. Every
    /// session of the user is closed except `keep` (the session that changed it). Audited
    /// with `audit` in the same transaction. `false` when there is no such user.
    async fn set_password(
        &self,
        staff: i64,
        hash: &str,
        must_change: bool,
        keep: Option<&str>,
        audit: &AuditEntry,
    ) -> StoreResult<bool>;

    /// Records a login attempt; on success also opens `session` and writes `audit`, all in
    /// one transaction.
    async fn record_login(
        &self,
        attempt: &LoginAttempt,
        session: Option<(&NewSession, &AuditEntry)>,
    ) -> StoreResult<()>;

    /// Failed logins since `since` for this name and from this address. A success clears
    /// neither count: throttling counts failures only, and they age out.
    async fn login_failures(
        &self,
        name: &str,
        ip: &str,
        since: DateTime<Utc>,
    ) -> StoreResult<LoginFailures>;

    /// The session with this token hash if it is live at `now` (before its end, and used
    /// since `idle_since`) and its user is not disabled. A live session is marked as used at
    /// `now` (at most once a minute).
    async fn session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
        idle_since: DateTime<Utc>,
    ) -> StoreResult<Option<Session>>;

    /// Closes a session (logout), audited; `false` when there was none.
    async fn end_session(&self, token_hash: &str, audit: &AuditEntry) -> StoreResult<bool>;

    /// Replaces a stored campaign's texts, units, target groups, sections, topics and phases
    /// with `campaign`'s (its `id` says which; the slug is kept), audited in the same
    /// transaction. Topics and sections are updated in place; one that is left out is
    /// removed only when no opinion points at it.
    async fn update_campaign(
        &self,
        campaign: &crate::domain::Campaign,
        audit: &AuditEntry,
    ) -> StoreResult<CampaignEdit>;

    /// Inserts a new campaign (units upserted by code) with its audit line, in one
    /// transaction; returns its id. A slug that exists already is a
    /// [`super::StoreError::Conflict`].
    async fn create_campaign(
        &self,
        campaign: &crate::domain::Campaign,
        audit: &AuditEntry,
    ) -> StoreResult<crate::domain::CampaignId>;

    /// The newest broadcasts, newest first.
    async fn recent_broadcasts(&self, limit: i64) -> StoreResult<Vec<super::announce::Broadcast>>;

    /// Deletes sessions that expired and login attempts older than `before`; returns how
    /// many rows went.
    async fn forget_console_history(
        &self,
        now: DateTime<Utc>,
        before: DateTime<Utc>,
    ) -> StoreResult<u64>;
}

/// The columns of `staff_users` (as `s`) read with credentials and sessions, in
/// [`CredRow`]'s order.
const CRED_COLUMNS: &str = "s.id, s.name, s.roles, s.unit_code, s.telegram_user_id, \
     s.linked_at, s.zalo_user_id, s.created_at, s.password_hash, s.password_must_change, s.disabled_at";

/// A staff row with its password state.
#[derive(Debug, sqlx::FromRow)]
struct CredRow {
    id: i64,
    name: String,
    roles: String,
    unit_code: Option<String>,
    telegram_user_id: Option<i64>,
    linked_at: Option<DateTime<Utc>>,
    zalo_user_id: Option<String>,
    created_at: DateTime<Utc>,
    password_hash: Option<String>,
    password_must_change: bool,
    disabled_at: Option<DateTime<Utc>>,
}

impl TryFrom<CredRow> for Credentials {
    type Error = super::StoreError;

    fn try_from(r: CredRow) -> StoreResult<Self> {
        let roles = r
            .roles
            .split(',')
            .map(|s| {
                super::announce::Role::parse(s)
                    .ok_or_else(|| super::StoreError::Corrupt(format!("role {s}")))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Credentials {
            staff: StaffUser {
                id: r.id,
                name: r.name,
                roles,
                unit: r.unit_code,
                telegram_user_id: r.telegram_user_id,
                linked_at: r.linked_at,
                zalo_user_id: r.zalo_user_id,
                created_at: r.created_at,
            },
            password_hash: r.password_hash,
            must_change: r.password_must_change,
            disabled: r.disabled_at.is_some(),
        })
    }
}

/// A session row: the session's columns, then the user's.
#[derive(Debug, sqlx::FromRow)]
struct SessionRow {
    token_hash: String,
    csrf: String,
    expires_at: DateTime<Utc>,
    last_seen_at: DateTime<Utc>,
    #[sqlx(flatten)]
    user: CredRow,
}

/// Appends one audit entry inside `$tx`.
macro_rules! console_audit_in {
    ($tx:expr, $entry:expr) => {
        sqlx::query("INSERT INTO audit_log (at, actor, action, detail) VALUES ($1, $2, $3, $4)")
            .bind($entry.at)
            .bind(&$entry.actor)
            .bind(&$entry.action)
            .bind(sqlx::types::Json(&$entry.detail))
            .execute(&mut *$tx)
            .await?;
    };
}
pub(crate) use console_audit_in;

/// Writes a campaign's units (upserted by code), target groups, sections and topics
/// (upserted), topic sections and phases inside `$tx`, for the campaign `$c.id`. The rows
/// of the lists replaced are deleted first by the caller.
macro_rules! campaign_children_in {
    ($tx:expr, $c:expr) => {
        let position = |i: usize| i32::try_from(i).unwrap_or(i32::MAX);
        for (i, unit) in $c.units.iter().enumerate() {
            sqlx::query(
                "INSERT INTO units (code, name, parent_code, kind) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (code) DO UPDATE SET name = excluded.name, \
                 parent_code = excluded.parent_code, kind = excluded.kind",
            )
            .bind(&unit.code)
            .bind(&unit.name)
            .bind(&unit.parent)
            .bind(&unit.kind)
            .execute(&mut *$tx)
            .await?;
            sqlx::query(
                "INSERT INTO campaign_units (campaign_id, unit_code, position) \
                 VALUES ($1, $2, $3)",
            )
            .bind($c.id)
            .bind(&unit.code)
            .bind(position(i))
            .execute(&mut *$tx)
            .await?;
        }
        for (i, g) in $c.target_groups.iter().enumerate() {
            sqlx::query(
                "INSERT INTO campaign_target_groups (campaign_id, code, position) \
                 VALUES ($1, $2, $3)",
            )
            .bind($c.id)
            .bind(&g.code)
            .bind(position(i))
            .execute(&mut *$tx)
            .await?;
        }
        for (i, s) in $c.sections.iter().enumerate() {
            sqlx::query(
                "INSERT INTO sections (campaign_id, reference, title, summary, position) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (campaign_id, reference) \
                 DO UPDATE SET title = excluded.title, summary = excluded.summary, \
                 position = excluded.position",
            )
            .bind($c.id)
            .bind(&s.reference)
            .bind(&s.title)
            .bind(&s.summary)
            .bind(position(i))
            .execute(&mut *$tx)
            .await?;
        }
        for (i, t) in $c.topics.iter().enumerate() {
            sqlx::query(
                "INSERT INTO topics (campaign_id, code, title, question, position) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (campaign_id, code) \
                 DO UPDATE SET title = excluded.title, question = excluded.question, \
                 position = excluded.position",
            )
            .bind($c.id)
            .bind(&t.code)
            .bind(&t.title)
            .bind(&t.question)
            .bind(position(i))
            .execute(&mut *$tx)
            .await?;
            for (j, s) in t.sections.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO topic_sections (campaign_id, topic_code, section_ref, \
                     position) VALUES ($1, $2, $3, $4)",
                )
                .bind($c.id)
                .bind(&t.code)
                .bind(s)
                .bind(position(j))
                .execute(&mut *$tx)
                .await?;
            }
        }
        for (i, p) in $c.phases.iter().enumerate() {
            sqlx::query(
                "INSERT INTO phases (campaign_id, kind, position, starts_at, ends_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind($c.id)
            .bind(p.kind.as_str())
            .bind(position(i))
            .bind(p.starts_at)
            .bind(p.ends_at)
            .execute(&mut *$tx)
            .await?;
        }
    };
}
pub(crate) use campaign_children_in;

/// The one implementation of [`ConsoleStore`], for a store type that has
/// `console_reader(&self) -> &Pool<$db>` and
/// `console_begin(&self) -> StoreResult<Transaction<'static, $db>>`.
macro_rules! console_store_impl {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::console::ConsoleStore for $store {
            async fn credentials(
                &self,
                name: &str,
            ) -> $crate::store::StoreResult<Option<$crate::store::console::Credentials>> {
                use $crate::store::console::*;
                let sql = format!("SELECT {CRED_COLUMNS} FROM staff_users s WHERE s.name = $1");
                let row: Option<CredRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(name)
                    .fetch_optional(self.console_reader())
                    .await?;
                row.map(Credentials::try_from).transpose()
            }

            async fn set_password(
                &self,
                staff: i64,
                hash: &str,
                must_change: bool,
                keep: Option<&str>,
                audit: &$crate::store::AuditEntry,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.console_begin().await?;
                let changed = sqlx::query(
                    "UPDATE staff_users SET password_hash = $1, password_must_change = $2, \
                     password_changed_at = $3 WHERE id = $4",
                )
                .bind(hash)
                .bind(must_change)
                .bind(audit.at)
                .bind(staff)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if changed == 0 {
                    return Ok(false);
                }
                sqlx::query(
                    "DELETE FROM console_sessions WHERE staff_id = $1 \
                     AND ($2 IS NULL OR token_hash <> $2)",
                )
                .bind(staff)
                .bind(keep)
                .execute(&mut *tx)
                .await?;
                $crate::store::console::console_audit_in!(tx, audit);
                tx.commit().await?;
                Ok(true)
            }

            async fn record_login(
                &self,
                attempt: &$crate::store::console::LoginAttempt,
                session: Option<(
                    &$crate::store::console::NewSession,
                    &$crate::store::AuditEntry,
                )>,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.console_begin().await?;
                sqlx::query(
                    "INSERT INTO console_login_attempts (at, name, ip, success) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(attempt.at)
                .bind(&attempt.name)
                .bind(&attempt.ip)
                .bind(attempt.success)
                .execute(&mut *tx)
                .await?;
                if let Some((s, audit)) = session {
                    sqlx::query(
                        "INSERT INTO console_sessions (token_hash, staff_id, csrf, ip, \
                         created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $4, $5, $5, $6)",
                    )
                    .bind(&s.token_hash)
                    .bind(s.staff_id)
                    .bind(&s.csrf)
                    .bind(&s.ip)
                    .bind(s.created_at)
                    .bind(s.expires_at)
                    .execute(&mut *tx)
                    .await?;
                    $crate::store::console::console_audit_in!(tx, audit);
                }
                tx.commit().await?;
                Ok(())
            }

            async fn login_failures(
                &self,
                name: &str,
                ip: &str,
                since: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<$crate::store::console::LoginFailures> {
                let (by_name, by_ip): (i64, i64) = sqlx::query_as(
                    "SELECT \
                     (SELECT count(*) FROM console_login_attempts \
                      WHERE name = $1 AND at >= $3 AND NOT success), \
                     (SELECT count(*) FROM console_login_attempts \
                      WHERE ip = $2 AND at >= $3 AND NOT success)",
                )
                .bind(name)
                .bind(ip)
                .bind(since)
                .fetch_one(self.console_reader())
                .await?;
                Ok($crate::store::console::LoginFailures { by_name, by_ip })
            }

            async fn session(
                &self,
                token_hash: &str,
                now: chrono::DateTime<chrono::Utc>,
                idle_since: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<Option<$crate::store::console::Session>> {
                use $crate::store::console::*;
                let sql = format!(
                    "SELECT c.token_hash, c.csrf, c.expires_at, c.last_seen_at, {CRED_COLUMNS} \
                     FROM console_sessions c JOIN staff_users s ON s.id = c.staff_id \
                     WHERE c.token_hash = $1 AND c.expires_at > $2 AND c.last_seen_at > $3 \
                     AND s.disabled_at IS NULL"
                );
                let row: Option<SessionRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(token_hash)
                    .bind(now)
                    .bind(idle_since)
                    .fetch_optional(self.console_reader())
                    .await?;
                let Some(row) = row else {
                    return Ok(None);
                };
                // Marked as used at most once a minute: one write per page would queue every
                // console request behind the bot's writes on SQLite.
                if now - row.last_seen_at >= chrono::Duration::minutes(1) {
                    let mut tx = self.console_begin().await?;
                    sqlx::query(
                        "UPDATE console_sessions SET last_seen_at = $2 \
                         WHERE token_hash = $1 AND last_seen_at < $2",
                    )
                    .bind(token_hash)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                }
                let creds = Credentials::try_from(row.user)?;
                Ok(Some(Session {
                    token_hash: row.token_hash,
                    staff: creds.staff,
                    csrf: row.csrf,
                    must_change: creds.must_change,
                    expires_at: row.expires_at,
                }))
            }

            async fn end_session(
                &self,
                token_hash: &str,
                audit: &$crate::store::AuditEntry,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.console_begin().await?;
                let gone = sqlx::query("DELETE FROM console_sessions WHERE token_hash = $1")
                    .bind(token_hash)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if gone == 0 {
                    return Ok(false);
                }
                $crate::store::console::console_audit_in!(tx, audit);
                tx.commit().await?;
                Ok(true)
            }

            async fn update_campaign(
                &self,
                c: &$crate::domain::Campaign,
                audit: &$crate::store::AuditEntry,
            ) -> $crate::store::StoreResult<$crate::store::console::CampaignEdit> {
                use $crate::store::console::CampaignEdit;
                let mut tx = self.console_begin().await?;
                let changed = sqlx::query(
                    "UPDATE campaigns SET issuer = $1, title = $2, document_title = $3, \
                     intro = $4, purpose = $5, retention_months = $6, notice_version = $7 \
                     WHERE id = $8",
                )
                .bind(&c.issuer)
                .bind(&c.title)
                .bind(&c.document_title)
                .bind(&c.intro)
                .bind(&c.purpose)
                .bind(i64::from(c.retention_months))
                .bind(&c.notice_version)
                .bind(c.id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if changed == 0 {
                    return Ok(CampaignEdit::NotFound);
                }
                // What is left out must not strand opinions.
                let topics: Vec<(String,)> =
                    sqlx::query_as("SELECT code FROM topics WHERE campaign_id = $1")
                        .bind(c.id)
                        .fetch_all(&mut *tx)
                        .await?;
                let sections: Vec<(String,)> =
                    sqlx::query_as("SELECT reference FROM sections WHERE campaign_id = $1")
                        .bind(c.id)
                        .fetch_all(&mut *tx)
                        .await?;
                let gone_topics: Vec<String> = topics
                    .into_iter()
                    .map(|t| t.0)
                    .filter(|t| !c.topics.iter().any(|x| &x.code == t))
                    .collect();
                let gone_sections: Vec<String> = sections
                    .into_iter()
                    .map(|s| s.0)
                    .filter(|s| !c.sections.iter().any(|x| &x.reference == s))
                    .collect();
                for t in &gone_topics {
                    let (n,): (i64,) = sqlx::query_as(
                        "SELECT count(*) FROM opinions WHERE campaign_id = $1 AND topic_code = $2",
                    )
                    .bind(c.id)
                    .bind(t)
                    .fetch_one(&mut *tx)
                    .await?;
                    if n > 0 {
                        return Ok(CampaignEdit::InUse { what: t.clone() });
                    }
                }
                for s in &gone_sections {
                    let (n,): (i64,) = sqlx::query_as(
                        "SELECT count(*) FROM opinions WHERE campaign_id = $1 AND section_ref = $2",
                    )
                    .bind(c.id)
                    .bind(s)
                    .fetch_one(&mut *tx)
                    .await?;
                    if n > 0 {
                        return Ok(CampaignEdit::InUse { what: s.clone() });
                    }
                }
                for q in [
                    "DELETE FROM campaign_units WHERE campaign_id = $1",
                    "DELETE FROM campaign_target_groups WHERE campaign_id = $1",
                    "DELETE FROM topic_sections WHERE campaign_id = $1",
                    "DELETE FROM phases WHERE campaign_id = $1",
                ] {
                    sqlx::query(q).bind(c.id).execute(&mut *tx).await?;
                }
                for t in &gone_topics {
                    sqlx::query("DELETE FROM topics WHERE campaign_id = $1 AND code = $2")
                        .bind(c.id)
                        .bind(t)
                        .execute(&mut *tx)
                        .await?;
                }
                for s in &gone_sections {
                    sqlx::query("DELETE FROM sections WHERE campaign_id = $1 AND reference = $2")
                        .bind(c.id)
                        .bind(s)
                        .execute(&mut *tx)
                        .await?;
                }
                $crate::store::console::campaign_children_in!(tx, c);
                $crate::store::console::console_audit_in!(tx, audit);
                tx.commit().await?;
                Ok(CampaignEdit::Saved)
            }

            async fn create_campaign(
                &self,
                campaign: &$crate::domain::Campaign,
                audit: &$crate::store::AuditEntry,
            ) -> $crate::store::StoreResult<$crate::domain::CampaignId> {
                let mut tx = self.console_begin().await?;
                let (id,): (i64,) = sqlx::query_as(
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
                .bind(audit.at)
                .fetch_one(&mut *tx)
                .await?;
                let c = $crate::domain::Campaign {
                    id,
                    ..campaign.clone()
                };
                $crate::store::console::campaign_children_in!(tx, c);
                let mut audit = audit.clone();
                if let serde_json::Value::Object(map) = &mut audit.detail {
                    map.insert("campaign".to_owned(), serde_json::Value::from(id));
                }
                $crate::store::console::console_audit_in!(tx, audit);
                tx.commit().await?;
                Ok(id)
            }

            async fn recent_broadcasts(
                &self,
                limit: i64,
            ) -> $crate::store::StoreResult<Vec<$crate::store::announce::Broadcast>> {
                let rows: Vec<$crate::store::announce::BroadcastRow> = sqlx::query_as(
                    "SELECT id, campaign_id, text, audience, schedule, state, revision, \
                     created_by, submitted_by, approved_by, approved_revision, created_at, \
                     updated_at FROM broadcasts ORDER BY id DESC LIMIT $1",
                )
                .bind(limit)
                .fetch_all(self.console_reader())
                .await?;
                rows.into_iter()
                    .map($crate::store::announce::Broadcast::try_from)
                    .collect()
            }

            async fn forget_console_history(
                &self,
                now: chrono::DateTime<chrono::Utc>,
                before: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<u64> {
                let mut tx = self.console_begin().await?;
                let sessions = sqlx::query("DELETE FROM console_sessions WHERE expires_at <= $1")
                    .bind(now)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                let attempts = sqlx::query("DELETE FROM console_login_attempts WHERE at < $1")
                    .bind(before)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                tx.commit().await?;
                Ok(sessions + attempts)
            }
        }
    };
}
pub(crate) use console_store_impl;
