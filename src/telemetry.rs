//! Logging (tracing, with teloxide's `log` records bridged in) and the Prometheus recorder.

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

/// Installs the tracing subscriber. `RUST_LOG` overrides the default `info` level.
/// Safe to call more than once (later calls do nothing).
pub fn init_logging() {
    let _ = tracing_log::LogTracer::init();
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,teloxide=info,hyper=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

/// Installs the global Prometheus recorder and returns the handle `/metrics` renders.
/// A second call (tests starting several apps in one process) builds an unattached handle.
pub fn init_metrics() -> PrometheusHandle {
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let _ = metrics::set_global_recorder(recorder);
    handle
}
