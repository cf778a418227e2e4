//! The axum router: health, readiness and Prometheus metrics (console and webhooks join it
//! later). Handlers call services; none holds SQL.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::store::Store;

/// What the HTTP handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The store, for readiness.
    pub store: Arc<dyn Store>,
    /// The Prometheus handle.
    pub metrics: PrometheusHandle,
}

/// Builds the router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/tep/{token}", get(attachment))
        .with_state(state)
}

/// Liveness: the process answers.
async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}

/// Prometheus text format.
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [("content-type", "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}

/// A broadcast's attachment, by the unguessable token of its link: its bytes with its media
/// type and file name; 404 for anything else (no listing, no hint whether a token existed).
async fn attachment(
    State(state): State<AppState>,
    axum::extract::Path(token): axum::extract::Path<String>,
) -> axum::response::Response {
    use crate::announce::attachment::{disposition, is_token};
    use axum::http::header;
    if !is_token(&token) {
        return StatusCode::NOT_FOUND.into_response();
    }
    match state.store.attachment_by_token(&token).await {
        Ok(Some(a)) => (
            [
                (header::CONTENT_TYPE, a.media_type.clone()),
                (header::CONTENT_DISPOSITION, disposition(&a)),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
                (header::CACHE_CONTROL, "private, max-age=3600".to_owned()),
            ],
            a.bytes,
        )
            .into_response(),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read an attachment");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}
