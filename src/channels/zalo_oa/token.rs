//! The OA's access token, refreshed with rotation. The tokens live in the database
//! (`zalo_oa_tokens`, both encrypted), so every gopy process on one database shares them:
//!
//! - A token that expires within [`REFRESH_EARLY`] is refreshed before it is used.
//! - One refresh at a time across processes: a process refreshes only after taking the
//!   lease from the version it read (a conditional UPDATE); the others wait and read what the
//!   winner stored. Within a process a mutex lets one task try.
//! - The refresh token is single-use: the new pair is committed before the new access token
//!   is used (a failed commit is retried; until it succeeds the new token is not used).
//! - A refresh token Zalo refuses is marked dead in the database, logged at error level in
//!   Vietnamese and English with how to re-authorise, and shown by the gauge
//!   `gopy_zalo_oa_token_dead`; `gopy zalo-oa reset-token` puts a new one in.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::client::{OAuth, RefreshError};
use super::secret::Sealer;
use crate::service::Clock;
use crate::store::zalo_oa::StoredTokens;
use crate::store::{Store, StoreError};

/// How long before its expiry an access token is refreshed.
pub const REFRESH_EARLY: chrono::Duration = chrono::Duration::minutes(5);

/// How long the right to refresh is held (longer than a refresh call may take).
const LEASE: chrono::Duration = chrono::Duration::seconds(60);

/// How often a process waiting for another's refresh looks again.
const WAIT_STEP: Duration = Duration::from_millis(100);

/// How many times the new tokens' commit is tried before they are given up.
const STORE_ATTEMPTS: u32 = 8;

/// What an administrator must do when the refresh token is dead, in both languages.
pub const REAUTHORISE: &str = "Token làm mới (refresh token) của Zalo OA không còn dùng được. \
     Hãy cấp quyền lại cho ứng dụng trên developers.zalo.me (API Explorer hoặc đường dẫn OAuth \
     của OA) để lấy refresh token mới, đặt nó vào ZALO_OA_REFRESH_TOKEN rồi chạy \
     `gopy zalo-oa reset-token`. / The Zalo OA refresh token is dead. Re-authorise the app at \
     developers.zalo.me (API Explorer or the OA's OAuth link) to get a new refresh token, put \
     it in ZALO_OA_REFRESH_TOKEN and run `gopy zalo-oa reset-token`.";

/// Why no access token can be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The refresh token is dead or missing: an administrator must re-authorise.
    #[error("the Zalo OA must be re-authorised: {0}")]
    Dead(String),
    /// The database or Zalo's OAuth server cannot be reached now.
    #[error("cannot refresh the Zalo OA token now: {0}")]
    Unavailable(String),
}

/// A usable access token and the stored version it belongs to.
#[derive(Clone, PartialEq, Eq)]
pub struct Access {
    /// The token.
    pub token: String,
    /// Its version in the database.
    pub version: i64,
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Access")
            .field("token", &"***")
            .field("version", &self.version)
            .finish()
    }
}

/// The OA's tokens for one app.
pub struct Tokens {
    /// Where they are kept.
    store: Arc<dyn Store>,
    /// The app.
    app_id: String,
    /// The OAuth server.
    oauth: OAuth,
    /// Encryption at rest.
    sealer: Sealer,
    /// This process's name in leases.
    holder: String,
    /// One refresh attempt at a time in this process.
    refreshing: tokio::sync::Mutex<()>,
    /// The clock.
    clock: Clock,
}

/// A storage failure as a token error (try again later).
fn unavailable(e: StoreError) -> TokenError {
    TokenError::Unavailable(e.to_string())
}

impl Tokens {
    /// The tokens of `app_id`, kept in `store`.
    pub(super) fn new(
        store: Arc<dyn Store>,
        app_id: &str,
        oauth: OAuth,
        sealer: Sealer,
        holder: String,
        clock: Clock,
    ) -> Self {
        Self {
            store,
            app_id: app_id.to_owned(),
            oauth,
            sealer,
            holder,
            refreshing: tokio::sync::Mutex::new(()),
            clock,
        }
    }

    /// Stores `refresh_token` (from the environment) when the database has none for the
    /// app; returns whether it did.
    pub async fn seed(&self, refresh_token: &str) -> Result<bool, StoreError> {
        let sealed = self.sealer.seal(refresh_token);
        self.store
            .oa_seed_tokens(&self.app_id, &sealed, (self.clock)())
            .await
    }

    /// Replaces the stored refresh token (re-authorisation); clears the dead mark.
    pub async fn reset(&self, refresh_token: &str) -> Result<(), StoreError> {
        let sealed = self.sealer.seal(refresh_token);
        self.store
            .oa_reset_tokens(&self.app_id, &sealed, (self.clock)())
            .await?;
        metrics::gauge!("gopy_zalo_oa_token_dead").set(0.0);
        Ok(())
    }

    /// What is stored (for the status command).
    pub async fn stored(&self) -> Result<Option<StoredTokens>, StoreError> {
        self.store.oa_tokens(&self.app_id).await
    }

    /// Whether the OA waits for an administrator: no refresh token stored, or a dead one.
    /// `false` when the database cannot say.
    pub async fn waits_for_reauthorisation(&self) -> bool {
        match self.store.oa_tokens(&self.app_id).await {
            Ok(Some(row)) => row.dead_at.is_some(),
            Ok(None) => true,
            Err(_) => false,
        }
    }

    /// A usable access token, refreshed first when it expires within [`REFRESH_EARLY`].
    pub async fn access(&self) -> Result<Access, TokenError> {
        self.access_after(None).await
    }

    /// A new access token after Zalo refused the one of `version` (`-216`/`-220`): refreshed
    /// unless another task or process already did.
    pub async fn refused(&self, version: i64) -> Result<Access, TokenError> {
        self.access_after(Some(version)).await
    }

    /// The stored access token if usable and newer than `stale`; else a refresh.
    async fn access_after(&self, stale: Option<i64>) -> Result<Access, TokenError> {
        loop {
            let row = self.read().await?;
            if let Some(access) = self.usable(&row, stale)? {
                return Ok(access);
            }
            let _one = self.refreshing.lock().await;
            // Another task of this process may have refreshed while this one waited.
            let row = self.read().await?;
            if let Some(access) = self.usable(&row, stale)? {
                return Ok(access);
            }
            if let Some(access) = self.refresh_from(&row).await? {
                return Ok(access);
            }
        }
    }

    /// The stored row; none is a dead token (nothing to refresh with).
    async fn read(&self) -> Result<StoredTokens, TokenError> {
        let row = self
            .store
            .oa_tokens(&self.app_id)
            .await
            .map_err(unavailable)?;
        let row = row.ok_or_else(|| {
            TokenError::Dead("no refresh token stored; set ZALO_OA_REFRESH_TOKEN".to_owned())
        })?;
        if row.dead_at.is_some() {
            metrics::gauge!("gopy_zalo_oa_token_dead").set(1.0);
            return Err(TokenError::Dead(
                row.dead_reason
                    .unwrap_or_else(|| "refused by Zalo".to_owned()),
            ));
        }
        Ok(row)
    }

    /// The row's access token when it lives beyond [`REFRESH_EARLY`] and is not `stale`.
    fn usable(&self, row: &StoredTokens, stale: Option<i64>) -> Result<Option<Access>, TokenError> {
        let now = (self.clock)();
        let (Some(sealed), Some(expires)) = (&row.access_token, row.access_expires_at) else {
            return Ok(None);
        };
        if stale.is_some_and(|v| row.version <= v) || expires - REFRESH_EARLY <= now {
            return Ok(None);
        }
        let token = self
            .sealer
            .open(sealed)
            .map_err(|e| TokenError::Dead(e.to_string()))?;
        Ok(Some(Access {
            token,
            version: row.version,
        }))
    }

    /// Refreshes from `row` if this process gets the lease; otherwise waits until the
    /// version moves or the lease runs out and returns `None` (read again).
    async fn refresh_from(&self, row: &StoredTokens) -> Result<Option<Access>, TokenError> {
        let now = (self.clock)();
        let got = self
            .store
            .oa_take_refresh_lease(&self.app_id, row.version, &self.holder, now, now + LEASE)
            .await
            .map_err(unavailable)?;
        if !got {
            self.wait_for_other(row.version).await?;
            return Ok(None);
        }
        let refresh_token = match self.sealer.open(&row.refresh_token) {
            Ok(t) => t,
            Err(e) => {
                let _ = self
                    .store
                    .oa_release_refresh_lease(&self.app_id, row.version)
                    .await;
                tracing::error!("{e}. {REAUTHORISE}");
                metrics::gauge!("gopy_zalo_oa_token_dead").set(1.0);
                return Err(TokenError::Dead(e.to_string()));
            }
        };
        match self.oauth.refresh(&refresh_token).await {
            Ok(new) => {
                metrics::counter!("gopy_zalo_oa_refresh_total", "outcome" => "ok").increment(1);
                let expires_at = (self.clock)() + chrono::Duration::seconds(new.expires_in);
                self.commit(
                    row.version,
                    &new.refresh_token,
                    &new.access_token,
                    expires_at,
                )
                .await?;
                tracing::info!(
                    version = row.version + 1,
                    expires_at = %expires_at,
                    "Zalo OA access token refreshed"
                );
                metrics::gauge!("gopy_zalo_oa_token_dead").set(0.0);
                Ok(Some(Access {
                    token: new.access_token,
                    version: row.version + 1,
                }))
            }
            Err(RefreshError::Refused(why)) => {
                metrics::counter!("gopy_zalo_oa_refresh_total", "outcome" => "refused")
                    .increment(1);
                metrics::gauge!("gopy_zalo_oa_token_dead").set(1.0);
                tracing::error!(zalo_said = %why, "{REAUTHORISE}");
                let now = (self.clock)();
                self.store
                    .oa_mark_dead(&self.app_id, row.version, &why, now)
                    .await
                    .map_err(unavailable)?;
                Err(TokenError::Dead(why))
            }
            Err(RefreshError::Transient(why)) => {
                metrics::counter!("gopy_zalo_oa_refresh_total", "outcome" => "transient")
                    .increment(1);
                tracing::warn!(error = %why, "cannot reach Zalo's OAuth server; the OA token will be refreshed later");
                let _ = self
                    .store
                    .oa_release_refresh_lease(&self.app_id, row.version)
                    .await;
                Err(TokenError::Unavailable(why))
            }
        }
    }

    /// Commits a refresh made from `version`, trying again while the database is down: the
    /// old refresh token is spent, so these are the only valid ones.
    async fn commit(
        &self,
        version: i64,
        refresh: &str,
        access: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), TokenError> {
        let sealed_refresh = self.sealer.seal(refresh);
        let sealed_access = self.sealer.seal(access);
        let mut pause = Duration::from_millis(200);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let stored = self
                .store
                .oa_store_refreshed(
                    &self.app_id,
                    version,
                    &sealed_refresh,
                    &sealed_access,
                    expires_at,
                    (self.clock)(),
                )
                .await;
            match stored {
                Ok(true) => return Ok(()),
                Ok(false) => {
                    // The version moved under us: an administrator reset the token meanwhile.
                    // Theirs wins; this pair is dropped unused.
                    return Err(TokenError::Unavailable(
                        "the stored token changed during the refresh".to_owned(),
                    ));
                }
                Err(e) if attempt < STORE_ATTEMPTS => {
                    tracing::warn!(error = %e, attempt, "cannot store the refreshed Zalo OA tokens yet; retrying");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(5));
                }
                Err(e) => {
                    tracing::error!(
                        error = %e,
                        "the refreshed Zalo OA tokens could not be stored and are not used; \
                         if Zalo spent the old refresh token, re-authorise: {REAUTHORISE}"
                    );
                    return Err(unavailable(e));
                }
            }
        }
    }

    /// Waits while another process refreshes from `version`: until the version moves, the
    /// token is marked dead, or the lease runs out.
    async fn wait_for_other(&self, version: i64) -> Result<(), TokenError> {
        let deadline = tokio::time::Instant::now()
            + LEASE.to_std().unwrap_or(Duration::from_secs(60))
            + Duration::from_secs(1);
        loop {
            tokio::time::sleep(WAIT_STEP).await;
            let row = self.read().await?;
            let lease_over = row.lease_until.is_none_or(|t| t < (self.clock)());
            if row.version != version || lease_over || tokio::time::Instant::now() > deadline {
                return Ok(());
            }
        }
    }
}
