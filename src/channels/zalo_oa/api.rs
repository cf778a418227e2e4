//! Open API calls with the OA's access token: the token comes from [`Tokens`], and a
//! `-216`/`-220` answer (invalid or expired token) triggers one refresh and one retry.

use std::sync::Arc;

use serde_json::Value;

use super::client::{ApiError, Failure, OpenApi, Upload};
use super::token::Tokens;

/// The Open API with tokens.
#[derive(Clone)]
pub struct Api {
    /// The HTTP side.
    open: OpenApi,
    /// The tokens.
    tokens: Arc<Tokens>,
}

impl Api {
    /// The API with these tokens.
    pub(super) fn new(open: OpenApi, tokens: Arc<Tokens>) -> Self {
        Self { open, tokens }
    }

    /// The tokens.
    pub fn tokens(&self) -> &Arc<Tokens> {
        &self.tokens
    }

    /// POSTs `body` to `path`; on `-216`/`-220` refreshes the token once and tries again.
    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, ApiError> {
        self.with_token(|token| async move { self.open.post(path, body, &token).await })
            .await
    }

    /// Uploads a file to `path` (multipart, field `file`), with the same refresh and retry.
    pub(super) async fn upload(&self, path: &str, file: Upload<'_>) -> Result<Value, ApiError> {
        self.with_token(|token| async move { self.open.upload(path, file, &token).await })
            .await
    }

    /// Runs `call` with the access token; on `-216`/`-220` refreshes it once (unless another
    /// process already did) and runs `call` again with the new one.
    async fn with_token<F, Fut>(&self, call: F) -> Result<Value, ApiError>
    where
        F: Fn(String) -> Fut,
        Fut: Future<Output = Result<Value, ApiError>>,
    {
        let access = self
            .tokens
            .access()
            .await
            .map_err(|e| ApiError::Token(e.to_string()))?;
        match call(access.token.clone()).await {
            Err(e) if e.failure() == Failure::TokenRefused => {
                tracing::info!(code = ?e.code(), "Zalo refused the OA access token; refreshing it once");
                let fresh = self
                    .tokens
                    .refused(access.version)
                    .await
                    .map_err(|e| ApiError::Token(e.to_string()))?;
                call(fresh.token.clone()).await
            }
            other => other,
        }
    }
}
