//! A set of `gopy serve` replicas on one database: each a separate release process on its own
//! loopback port, Telegram in webhook mode (so that none of them long-polls: Telegram gives
//! one token's updates to one poller) against the fake Bot API, the Zalo Bot in webhook mode
//! against the fake Zalo, the demo campaign on, paid broadcasts on. The load generator
//! spreads its webhook POSTs over the replicas' addresses in turn, as a round-robin load
//! balancer would.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use crate::fake_telegram::{FakeTelegram, TOKEN as TELEGRAM_TOKEN};
use crate::fake_zalo::TOKEN as ZALO_TOKEN;
use crate::procs::{self, Proc};
use crate::zalo;

/// The public URL each replica registers with `setWebhook` (the fake records it; nothing is
/// posted to it: no resident talks to the Telegram bot in this benchmark).
const TELEGRAM_URL: &str = "https://gopy.example/telegram/webhook";

/// The Telegram webhook secret.
const TELEGRAM_SECRET: &str = "bi-mat_replicas-2026";

/// How long the replicas may take to register their webhooks.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// What every replica is started with.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The gopy binary.
    pub gopy: PathBuf,
    /// `DATABASE_URL`.
    pub database_url: String,
    /// The fake Telegram Bot API.
    pub telegram_api: url::Url,
    /// The fake Zalo Bot API.
    pub zalo_api: url::Url,
    /// `ZALO_WEBHOOK_SECRET`.
    pub zalo_secret: String,
    /// `RUST_LOG`.
    pub log_level: String,
    /// Where the replicas' logs go.
    pub logs: PathBuf,
    /// A name for the logs (`closed-1`, `open-3`, …).
    pub label: String,
}

/// The running replicas.
pub struct Cluster {
    /// The processes, in order.
    pub procs: Vec<Proc>,
    /// Their HTTP addresses (`127.0.0.1:port`): `/zalo/webhook`, `/metrics`.
    pub http: Vec<String>,
}

impl Cluster {
    /// Starts `n` replicas at once and waits until each serves its Zalo webhook and all have
    /// registered their Telegram webhook with the fake.
    pub async fn start(n: usize, setup: &Setup, telegram: &FakeTelegram) -> Result<Cluster> {
        let mut procs = Vec::with_capacity(n);
        let mut http = Vec::with_capacity(n);
        for k in 0..n {
            let addr = format!("127.0.0.1:{}", procs::free_port()?);
            let log = setup
                .logs
                .join(format!("gopy-{}-replica{}.log", setup.label, k + 1));
            procs.push(Proc::spawn(
                &format!("gopy replica {}", k + 1),
                &setup.gopy,
                &["serve".to_owned()],
                &[
                    ("DATABASE_URL", setup.database_url.clone()),
                    ("GOPY_HTTP_ADDR", addr.clone()),
                    ("GOPY_DEMO", "on".to_owned()),
                    ("TELEGRAM_BOT_TOKEN", TELEGRAM_TOKEN.to_owned()),
                    ("TELEGRAM_API_URL", setup.telegram_api.to_string()),
                    ("TELEGRAM_WEBHOOK_URL", TELEGRAM_URL.to_owned()),
                    ("TELEGRAM_WEBHOOK_SECRET", TELEGRAM_SECRET.to_owned()),
                    ("TELEGRAM_PAID_BROADCAST", "on".to_owned()),
                    ("ZALO_BOT_TOKEN", ZALO_TOKEN.to_owned()),
                    ("ZALO_BOT_API_URL", setup.zalo_api.to_string()),
                    ("ZALO_WEBHOOK_SECRET", setup.zalo_secret.clone()),
                    ("RUST_LOG", setup.log_level.clone()),
                    // Each replica's runtime gets its share of the machine's CPUs, as a
                    // container with a CPU limit would: three runtimes of two threads each on
                    // two CPUs only switch between each other.
                    ("TOKIO_WORKER_THREADS", worker_threads(n).to_string()),
                ],
                log,
            )?);
            http.push(addr);
        }
        let mut cluster = Cluster { procs, http };
        for (proc, addr) in cluster.procs.iter_mut().zip(&cluster.http) {
            zalo::wait_webhook(proc, addr).await?;
        }
        let started = Instant::now();
        while telegram.calls_to("setwebhook").len() < n {
            cluster.check_alive()?;
            if started.elapsed() > READY_TIMEOUT {
                bail!("the replicas did not all call setWebhook within {READY_TIMEOUT:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(cluster)
    }

    /// Fails (with the end of its log) if any replica has exited.
    pub fn check_alive(&mut self) -> Result<()> {
        self.procs.iter_mut().try_for_each(Proc::check_alive)
    }

    /// Each replica's peak resident set size so far, in MB.
    pub fn peak_rss_mb(&self) -> Vec<Option<f64>> {
        self.procs
            .iter()
            .map(|p| p.peak_rss_kib().map(crate::report::kib_to_mb))
            .collect()
    }

    /// Each replica's CPU time so far.
    pub fn cpu(&self) -> Vec<Option<Duration>> {
        self.procs.iter().map(Proc::cpu_time).collect()
    }

    /// Each replica's own timing of its dialog steps (`gopy_dialog_step_seconds`).
    pub async fn step_metrics(&self) -> Vec<procs::StepMetrics> {
        let mut out = Vec::with_capacity(self.http.len());
        for addr in &self.http {
            out.push(procs::step_metrics(addr).await.unwrap_or_default());
        }
        out
    }

    /// Each replica's `/metrics` text (empty when it did not answer), also saved beside its
    /// log (best effort).
    pub async fn metrics(&self, logs: &Path, label: &str) -> Vec<String> {
        let client = reqwest::Client::new();
        let mut out = Vec::with_capacity(self.http.len());
        for (k, addr) in self.http.iter().enumerate() {
            let text = match client.get(format!("http://{addr}/metrics")).send().await {
                Ok(r) => r.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            let path = logs.join(format!("metrics-{label}-replica{}.txt", k + 1));
            let _ = std::fs::write(path, &text);
            out.push(text);
        }
        out
    }

    /// Warnings and errors from the replicas' logs (the readiness probe's refused POST is
    /// not one), at most `n`.
    pub fn warnings(&self, n: usize) -> Vec<String> {
        self.procs
            .iter()
            .enumerate()
            .flat_map(|(k, p)| {
                p.log_warnings(n + 1)
                    .into_iter()
                    .filter(|w| !w.contains("without the right secret"))
                    .map(move |w| format!("replica {}: {w}", k + 1))
            })
            .take(n)
            .collect()
    }

    /// Stops every replica (SIGTERM, then a kill).
    pub async fn stop(self) -> Result<()> {
        for p in self.procs {
            p.stop().await?;
        }
        Ok(())
    }
}

/// The sum of every series of the counter `name` (all label sets) in a `/metrics` text.
pub fn counter(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with(' ') || rest.starts_with('{'))
        })
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
        .fold(0.0, |a, b| a + b)
}

/// The worker threads of each of `n` replicas' runtimes: the machine's CPUs shared among them,
/// at least one.
pub fn worker_threads(n: usize) -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, |c| c.get());
    (cpus / n.max(1)).max(1)
}
