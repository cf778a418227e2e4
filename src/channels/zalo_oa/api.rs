//! Open API calls with the OA's access token: the token comes from [`Tokens`], and a
//! `-216`/`-220` answer (invalid or expired token) triggers one refresh and one retry.

use std::sync::Arc;

use serde_json::Value;

use super::client::{ApiError, Failure, OpenApi};
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
        let access = self
            .tokens
            .access()
            .await
            .map_err(|e| ApiError::Token(e.to_string()))?;
        match self.open.post(path, body, &access.token).await {
            Err(e) if e.failure() == Failure::TokenRefused => {
                tracing::info!(code = ?e.code(), "Zalo refused the OA access token; refreshing it once");
                let fresh = self
                    .tokens
                    .refused(access.version)
                    .await
                    .map_err(|e| ApiError::Token(e.to_string()))?;
                self.open.post(path, body, &fresh.token).await
            }
            other => other,
        }
    }
}
