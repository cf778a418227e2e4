//! Storage for the Zalo Official Account adapter: its tokens (encrypted by the caller; the
//! store only keeps text), the messaging window of each OA user and the messages not sent.
//! Its webhook events are kept in the shared inbox ([`super::inbox`], source `zalo_oa`;
//! migration `0019_one_inbox.sql` moved the OA's own inbox table there).
//!
//! Both backends run the same SQL (`$n` parameters work on SQLite too), so the
//! implementation is written once, in `zalo_oa_store_impl!`, and expanded in `sqlite.rs` and
//! `postgres.rs`, which only say how to read and how to start a write transaction. Migration
//! `0008_zalo_oa.sql`.

mod postgres;
mod sqlite;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreResult;
pub use super::inbox::InboxOutcome;

/// The OA's tokens as stored (both tokens still encrypted).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredTokens {
    /// The OA app.
    pub app_id: String,
    /// The refresh token, encrypted.
    pub refresh_token: String,
    /// The access token, encrypted; `None` until the first refresh.
    pub access_token: Option<String>,
    /// When the access token expires.
    pub access_expires_at: Option<DateTime<Utc>>,
    /// Grows with every refresh and every reset.
    pub version: i64,
    /// Until when a process holds the right to refresh.
    pub lease_until: Option<DateTime<Utc>>,
    /// When Zalo refused the refresh token, if it did.
    pub dead_at: Option<DateTime<Utc>>,
    /// What Zalo said then.
    pub dead_reason: Option<String>,
}

/// What the OA knows of one user.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OaUser {
    /// Their OA user id.
    pub user_id: String,
    /// Their last interaction with the OA (opens the messaging window).
    pub last_interaction_at: Option<DateTime<Utc>>,
    /// Whether they follow the OA, when known.
    pub following: Option<bool>,
    /// When Zalo said they cannot be reached.
    pub unreachable_at: Option<DateTime<Utc>>,
    /// With which error code.
    pub unreachable_code: Option<i64>,
}

/// Why a message was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnsentReason {
    /// Outside the messaging window (gopy's check, or Zalo's -230/-232).
    Window,
    /// The user does not follow, blocked the OA or is inactive (-213/-217/-227).
    Unreachable,
    /// Zalo refused it for another reason.
    Refused,
}

impl UnsentReason {
    /// The name stored.
    pub fn as_str(self) -> &'static str {
        match self {
            UnsentReason::Window => "window",
            UnsentReason::Unreachable => "unreachable",
            UnsentReason::Refused => "refused",
        }
    }
}

/// The OA part of the store. A supertrait of [`super::Store`].
#[async_trait]
pub trait ZaloOaStore: Send + Sync {
    /// The stored tokens of the app.
    async fn oa_tokens(&self, app_id: &str) -> StoreResult<Option<StoredTokens>>;

    /// Stores the first refresh token when the app has none; `false` when it has one (the
    /// stored one wins: it may have been rotated since the environment was written).
    async fn oa_seed_tokens(
        &self,
        app_id: &str,
        refresh_token: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// Replaces the refresh token (an administrator re-authorised the app): the access
    /// token, the lease and the dead mark are cleared, the version moves on.
    async fn oa_reset_tokens(
        &self,
        app_id: &str,
        refresh_token: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Takes the right to refresh from `version` until `until`, if nobody holds it and the
    /// version is still the one read; `false` otherwise (re-read and see).
    async fn oa_take_refresh_lease(
        &self,
        app_id: &str,
        version: i64,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// Stores the tokens of a refresh made from `version` (the version moves on, the lease
    /// is released) and commits; `false` when the version moved meanwhile.
    async fn oa_store_refreshed(
        &self,
        app_id: &str,
        version: i64,
        refresh_token: &str,
        access_token: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// Releases a lease taken from `version` without a refresh (Zalo could not be reached).
    async fn oa_release_refresh_lease(&self, app_id: &str, version: i64) -> StoreResult<()>;

    /// Marks the refresh token of `version` dead (Zalo refused it) and releases the lease.
    async fn oa_mark_dead(
        &self,
        app_id: &str,
        version: i64,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Records an interaction of the user at `at` (kept only if later than the one known).
    async fn oa_user_interaction(
        &self,
        user: &str,
        at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Records a follow (`true`) or an unfollow.
    async fn oa_user_follow(
        &self,
        user: &str,
        following: bool,
        at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// What is known of the user.
    async fn oa_user(&self, user: &str) -> StoreResult<Option<OaUser>>;

    /// Records that Zalo said the user cannot be reached (`code`), and turns off the
    /// announcements of their contact (`contact_external_id` on the Zalo channel) if they
    /// had asked for them, as a block does on Telegram.
    async fn oa_user_unreachable(
        &self,
        user: &str,
        contact_external_id: &str,
        code: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Records a message not sent, and why.
    async fn oa_record_unsent(
        &self,
        user: &str,
        reason: UnsentReason,
        code: Option<i64>,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
}

/// The columns of [`StoredTokens`].
const TOKEN_COLUMNS: &str = "app_id, refresh_token, access_token, access_expires_at, version, \
     lease_until, dead_at, dead_reason";

/// The one implementation of [`ZaloOaStore`], for a store type that has
/// `oa_reader(&self) -> &Pool<$db>` and
/// `oa_begin(&self) -> StoreResult<Transaction<'static, $db>>`.
macro_rules! zalo_oa_store_impl {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::zalo_oa::ZaloOaStore for $store {
            async fn oa_tokens(
                &self,
                app_id: &str,
            ) -> $crate::store::StoreResult<Option<$crate::store::zalo_oa::StoredTokens>> {
                use $crate::store::zalo_oa::*;
                let sql = format!("SELECT {TOKEN_COLUMNS} FROM zalo_oa_tokens WHERE app_id = $1");
                Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(app_id)
                    .fetch_optional(self.oa_reader())
                    .await?)
            }

            async fn oa_seed_tokens(
                &self,
                app_id: &str,
                refresh_token: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.oa_begin().await?;
                let n = sqlx::query(
                    "INSERT INTO zalo_oa_tokens (app_id, refresh_token, version, updated_at) \
                     VALUES ($1, $2, 0, $3) ON CONFLICT (app_id) DO NOTHING",
                )
                .bind(app_id)
                .bind(refresh_token)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                tx.commit().await?;
                Ok(n > 0)
            }

            async fn oa_reset_tokens(
                &self,
                app_id: &str,
                refresh_token: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.oa_begin().await?;
                sqlx::query(
                    "INSERT INTO zalo_oa_tokens (app_id, refresh_token, version, updated_at) \
                     VALUES ($1, $2, 0, $3) ON CONFLICT (app_id) DO UPDATE SET \
                     refresh_token = excluded.refresh_token, access_token = NULL, \
                     access_expires_at = NULL, version = zalo_oa_tokens.version + 1, \
                     lease_until = NULL, leased_by = NULL, dead_at = NULL, dead_reason = NULL, \
                     updated_at = excluded.updated_at",
                )
                .bind(app_id)
                .bind(refresh_token)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn oa_take_refresh_lease(
                &self,
                app_id: &str,
                version: i64,
                holder: &str,
                now: chrono::DateTime<chrono::Utc>,
                until: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.oa_begin().await?;
                let n = sqlx::query(
                    "UPDATE zalo_oa_tokens SET lease_until = $1, leased_by = $2 \
                     WHERE app_id = $3 AND version = $4 AND dead_at IS NULL \
                     AND (lease_until IS NULL OR lease_until < $5)",
                )
                .bind(until)
                .bind(holder)
                .bind(app_id)
                .bind(version)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                tx.commit().await?;
                Ok(n > 0)
            }

            async fn oa_store_refreshed(
                &self,
                app_id: &str,
                version: i64,
                refresh_token: &str,
                access_token: &str,
                expires_at: chrono::DateTime<chrono::Utc>,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.oa_begin().await?;
                let n = sqlx::query(
                    "UPDATE zalo_oa_tokens SET refresh_token = $1, access_token = $2, \
                     access_expires_at = $3, version = version + 1, lease_until = NULL, \
                     leased_by = NULL, dead_at = NULL, dead_reason = NULL, updated_at = $4 \
                     WHERE app_id = $5 AND version = $6",
                )
                .bind(refresh_token)
                .bind(access_token)
                .bind(expires_at)
                .bind(now)
                .bind(app_id)
                .bind(version)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                tx.commit().await?;
                Ok(n > 0)
            }

            async fn oa_release_refresh_lease(
                &self,
                app_id: &str,
                version: i64,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.oa_begin().await?;
                sqlx::query(
                    "UPDATE zalo_oa_tokens SET lease_until = NULL, leased_by = NULL \
                     WHERE app_id = $1 AND version = $2",
                )
                .bind(app_id)
                .bind(version)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn oa_mark_dead(
                &self,
                app_id: &str,
                version: i64,
                reason: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.oa_begin().await?;
                sqlx::query(
                    "UPDATE zalo_oa_tokens SET dead_at = $1, dead_reason = $2, \
                     lease_until = NULL, leased_by = NULL, updated_at = $1 \
                     WHERE app_id = $3 AND version = $4",
                )
                .bind(now)
                .bind(reason)
                .bind(app_id)
                .bind(version)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn oa_user_interaction(
                &self,
                user: &str,
                at: chrono::DateTime<chrono::Utc>,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.oa_begin().await?;
                sqlx::query(
                    "INSERT INTO zalo_oa_users (user_id, last_interaction_at, updated_at) \
                     VALUES ($1, $2, $3) ON CONFLICT (user_id) DO UPDATE SET \
                     last_interaction_at = CASE WHEN zalo_oa_users.last_interaction_at IS NULL \
                     OR zalo_oa_users.last_interaction_at < excluded.last_interaction_at \
                     THEN excluded.last_interaction_at \
                     ELSE zalo_oa_users.last_interaction_at END, \
                     updated_at = excluded.updated_at",
                )
                .bind(user)
                .bind(at)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn oa_user_follow(
                &self,
                user: &str,
                following: bool,
                at: chrono::DateTime<chrono::Utc>,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.oa_begin().await?;
                sqlx::query(
                    "INSERT INTO zalo_oa_users (user_id, following, follow_changed_at, \
                     updated_at) VALUES ($1, $2, $3, $4) ON CONFLICT (user_id) DO UPDATE SET \
                     following = excluded.following, \
                     follow_changed_at = excluded.follow_changed_at, \
                     unreachable_at = CASE WHEN excluded.following THEN NULL \
                     ELSE zalo_oa_users.unreachable_at END, \
                     updated_at = excluded.updated_at",
                )
                .bind(user)
                .bind(following)
                .bind(at)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn oa_user(
                &self,
                user: &str,
            ) -> $crate::store::StoreResult<Option<$crate::store::zalo_oa::OaUser>> {
                Ok(sqlx::query_as(
                    "SELECT user_id, last_interaction_at, following, unreachable_at, \
                     unreachable_code FROM zalo_oa_users WHERE user_id = $1",
                )
                .bind(user)
                .fetch_optional(self.oa_reader())
                .await?)
            }

            async fn oa_user_unreachable(
                &self,
                user: &str,
                contact_external_id: &str,
                code: i64,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.oa_begin().await?;
                sqlx::query(
                    "INSERT INTO zalo_oa_users (user_id, unreachable_at, unreachable_code, \
                     updated_at) VALUES ($1, $2, $3, $2) ON CONFLICT (user_id) DO UPDATE SET \
                     unreachable_at = excluded.unreachable_at, \
                     unreachable_code = excluded.unreachable_code, \
                     updated_at = excluded.updated_at",
                )
                .bind(user)
                .bind(now)
                .bind(code)
                .execute(&mut *tx)
                .await?;
                // Like a block on Telegram: they asked, in effect, to stop.
                sqlx::query(
                    "UPDATE resident_notices SET subscribed = $1, reason = 'blocked', \
                     changed_at = $2 WHERE subscribed = $3 AND contact_id IN \
                     (SELECT id FROM contacts WHERE channel = 'zalo' AND external_id = $4)",
                )
                .bind(false)
                .bind(now)
                .bind(true)
                .bind(contact_external_id)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn oa_record_unsent(
                &self,
                user: &str,
                reason: $crate::store::zalo_oa::UnsentReason,
                code: Option<i64>,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.oa_begin().await?;
                sqlx::query(
                    "INSERT INTO zalo_oa_unsent (user_id, reason, code, at) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(user)
                .bind(reason.as_str())
                .bind(code)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }
        }
    };
}
pub(crate) use zalo_oa_store_impl;
