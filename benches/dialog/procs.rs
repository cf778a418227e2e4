//! The processes under test (gopy and the baseline bots), the fresh database each run gets,
//! and what the kernel says about a process's memory.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result, bail};
use rand::Rng as _;
use sqlx::{AssertSqlSafe, Connection as _};
use tempfile::TempDir;

use crate::fake_telegram::FakeTelegram;

/// The Postgres server used when `TEST_DATABASE_URL` is not set.
pub const DEFAULT_PG_SERVER: &str = "postgres://postgres@127.0.0.1:5432/test";

/// How long a process may take from its start to its first `getUpdates`.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a process may take to stop after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// The Postgres server the benchmark creates its databases on.
pub fn pg_server() -> String {
    std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_PG_SERVER.to_owned())
}

/// Which database a run of gopy uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file in a temporary folder.
    Sqlite,
    /// A fresh database on the Postgres server.
    Postgres,
}

impl Backend {
    /// The name printed in tables and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// A fresh, empty database for one run; [`Db::remove`] drops it again.
pub struct Db {
    /// Its URL, as given to gopy in `DATABASE_URL`.
    pub url: String,
    /// The Postgres database name, to drop at the end (`None` for SQLite).
    pg_name: Option<String>,
    /// The folder holding an SQLite file, removed on drop.
    _dir: Option<TempDir>,
}

impl Db {
    /// Creates an empty database: an SQLite file path in a new temporary folder (gopy creates
    /// and migrates it), or a new database on the Postgres server.
    pub async fn fresh(backend: Backend) -> Result<Db> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::Builder::new()
                    .prefix("gopy-bench-")
                    .tempdir()
                    .context("cannot create a temporary folder")?;
                let url = format!("sqlite://{}", dir.path().join("gopy.db").display());
                Ok(Db {
                    url,
                    pg_name: None,
                    _dir: Some(dir),
                })
            }
            Backend::Postgres => {
                let server = pg_server();
                let mut admin = sqlx::PgConnection::connect(&server)
                    .await
                    .with_context(|| {
                        format!(
                            "cannot reach Postgres at {} (set TEST_DATABASE_URL)",
                            gopy::store::redact_url(&server)
                        )
                    })?;
                Db::create(&mut admin, &server, "").await
            }
        }
    }

    /// A new Postgres database holding a copy of this one (`CREATE DATABASE … TEMPLATE`),
    /// after ending every other connection to this one (a copy needs it alone). Not for
    /// SQLite.
    #[allow(dead_code)] // The replicas benchmark copies; the dialog benchmark does not.
    pub async fn copy(&self) -> Result<Db> {
        let Some(name) = &self.pg_name else {
            bail!("only a Postgres database can be copied");
        };
        let server = pg_server();
        let mut admin = sqlx::PgConnection::connect(&server).await?;
        sqlx::query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = $1 AND pid <> pg_backend_pid()",
        )
        .bind(name)
        .execute(&mut admin)
        .await
        .with_context(|| format!("cannot end the connections to {name}"))?;
        Db::create(&mut admin, &server, &format!(" TEMPLATE {name}")).await
    }

    /// `CREATE DATABASE <a new name><options>` on the server at `server`.
    async fn create(admin: &mut sqlx::PgConnection, server: &str, options: &str) -> Result<Db> {
        let name = format!(
            "gopy_bench_{}_{:06x}",
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or_default(),
            rand::rng().random_range(0..0x100_0000u32)
        );
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}{options}")))
            .execute(&mut *admin)
            .await
            .with_context(|| format!("cannot create the database {name}"))?;
        let mut url = url::Url::parse(server).context("TEST_DATABASE_URL is no URL")?;
        url.set_path(&format!("/{name}"));
        Ok(Db {
            url: url.to_string(),
            pg_name: Some(name),
            _dir: None,
        })
    }

    /// Drops a Postgres database (an SQLite folder goes with the value).
    pub async fn remove(self) -> Result<()> {
        if let Some(name) = &self.pg_name {
            let mut admin = sqlx::PgConnection::connect(&pg_server()).await?;
            sqlx::query(AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut admin)
            .await
            .with_context(|| format!("cannot drop the database {name}"))?;
            let _ = admin.close().await;
        }
        Ok(())
    }
}

/// A child process under test, its output going to a log file.
pub struct Proc {
    /// What it is, for messages.
    name: String,
    /// The process.
    child: tokio::process::Child,
    /// Its id, for `/proc` and signals.
    pid: u32,
    /// Where its stdout and stderr go.
    log: PathBuf,
}

impl Proc {
    /// Starts `program` with `args` and extra environment, output to `log`. The process is
    /// killed if this value is dropped before [`Proc::stop`].
    pub fn spawn(
        name: &str,
        program: &Path,
        args: &[String],
        env: &[(&str, String)],
        log: PathBuf,
    ) -> Result<Proc> {
        let out = std::fs::File::create(&log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        let err = out.try_clone()?;
        let mut cmd = tokio::process::Command::new(program);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .kill_on_drop(true);
        for var in [
            "DATABASE_URL",
            "TELEGRAM_BOT_TOKEN",
            "TELEGRAM_API_URL",
            "GOPY_HTTP_ADDR",
            "GOPY_DEMO",
            "RUST_LOG",
            "ZALO_BOT_TOKEN",
            "ZALO_BOT_API_URL",
            "ZALO_WEBHOOK_SECRET",
            "ZALO_WEBHOOK_URL",
            "TELEGRAM_WEBHOOK_URL",
            "TELEGRAM_WEBHOOK_SECRET",
            "TELEGRAM_PAID_BROADCAST",
            "GOPY_OUTBOX_RATE",
        ] {
            cmd.env_remove(var);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("cannot start {name} ({})", program.display()))?;
        let pid = child.id().context("the child has no process id")?;
        Ok(Proc {
            name: name.to_owned(),
            child,
            pid,
            log,
        })
    }

    /// Fails (with the end of its log) if the process has exited.
    pub fn check_alive(&mut self) -> Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!(
                "{} exited ({status}); the end of its log ({}):\n{}",
                self.name,
                self.log.display(),
                self.log_tail(30)
            );
        }
        Ok(())
    }

    /// Waits until the process asks the fake for updates (it is connected and polling).
    pub async fn wait_polling(&mut self, fake: &FakeTelegram) -> Result<()> {
        let started = Instant::now();
        loop {
            self.check_alive()?;
            if !fake.calls_to("getupdates").is_empty() {
                return Ok(());
            }
            if started.elapsed() > READY_TIMEOUT {
                bail!(
                    "{} did not start polling within {READY_TIMEOUT:?}; the end of its log:\n{}",
                    self.name,
                    self.log_tail(30)
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The peak resident set size so far (`VmHWM`), in KiB.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// CPU time used so far (user + system).
    pub fn cpu_time(&self) -> Option<Duration> {
        cpu_time(&format!("/proc/{}/stat", self.pid)).map(|(_, t)| t)
    }

    /// Asks the process to stop (SIGTERM), waits, and kills it if it does not.
    pub async fn stop(mut self) -> Result<()> {
        if self.child.try_wait()?.is_some() {
            return Ok(());
        }
        let _ = tokio::process::Command::new("kill")
            .arg("-TERM")
            .arg(self.pid.to_string())
            .status()
            .await;
        match tokio::time::timeout(STOP_TIMEOUT, self.child.wait()).await {
            Ok(status) => {
                status?;
            }
            Err(_) => {
                eprintln!(
                    "{} did not stop within {STOP_TIMEOUT:?} after SIGTERM; killing it",
                    self.name
                );
                self.child.kill().await?;
            }
        }
        Ok(())
    }

    /// The last `n` lines of its log.
    pub fn log_tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Lines of its log with a level of WARN or above, at most `n` of them.
    pub fn log_warnings(&self, n: usize) -> Vec<String> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines()
            .filter(|l| l.contains("WARN") || l.contains("ERROR") || l.contains("panicked"))
            .take(n)
            .map(str::to_owned)
            .collect()
    }
}

/// The command name and CPU time (user + system) of a process, from its `/proc/…/stat`.
fn cpu_time(stat_path: &str) -> Option<(String, Duration)> {
    let stat = std::fs::read_to_string(stat_path).ok()?;
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat.get(open + 1..close)?.to_owned();
    // The fields after the command name (which is in parentheses and may hold spaces).
    let fields: Vec<&str> = stat.get(close + 2..)?.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    // Clock ticks are 100 per second on every Linux we run on.
    Some((comm, Duration::from_millis((utime + stime) * 10)))
}

/// CPU time used so far by this process (the harness: fake server and driver).
pub fn own_cpu_time() -> Duration {
    cpu_time("/proc/self/stat").map_or(Duration::ZERO, |(_, t)| t)
}

/// CPU time used so far by every process named `postgres` on this machine (a local server;
/// zero when it runs elsewhere or cannot be seen).
pub fn postgres_cpu_time() -> Duration {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Duration::ZERO;
    };
    dir.filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|e| cpu_time(&format!("{}/stat", e.path().display())))
        .filter(|(comm, _)| comm == "postgres")
        .map(|(_, t)| t)
        .sum()
}

/// CPU time all CPUs of the machine spent busy so far (everything but idle and I/O wait),
/// from the first line of `/proc/stat`.
pub fn machine_busy_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat.lines().find(|l| l.starts_with("cpu ")) else {
        return Duration::ZERO;
    };
    let ticks: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is counted in user).
    let busy: u64 = ticks
        .iter()
        .take(8)
        .enumerate()
        .filter(|(k, _)| *k != 3 && *k != 4)
        .map(|(_, v)| v)
        .sum();
    Duration::from_millis(busy * 10)
}

/// A port on 127.0.0.1 that was free a moment ago (for gopy's HTTP server, so that its
/// `/metrics` can be read after a run).
pub fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// gopy's own timing of its dialog steps, read from its `/metrics`.
#[derive(Debug, Clone, Copy, Default)]
pub struct StepMetrics {
    /// Median, in ms (over the exporter's rolling window of up to 60 s).
    pub p50_ms: Option<f64>,
    /// 99th percentile, in ms (same window).
    pub p99_ms: Option<f64>,
    /// Highest, in ms (same window).
    pub max_ms: Option<f64>,
    /// Mean over the whole run, in ms.
    pub mean_ms: Option<f64>,
    /// Steps counted.
    pub count: Option<f64>,
}

/// Reads `gopy_dialog_step_seconds` (a step handled and its replies sent) from gopy's
/// `/metrics`.
pub async fn step_metrics(addr: &str) -> Result<StepMetrics> {
    let text = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()?
        .get(format!("http://{addr}/metrics"))
        .send()
        .await?
        .text()
        .await?;
    let mut m = StepMetrics::default();
    let mut sum = None;
    for line in text.lines() {
        let Some((name, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let Ok(value) = value.parse::<f64>() else {
            continue;
        };
        if !name.starts_with("gopy_dialog_step_seconds") {
            continue;
        }
        if name.starts_with("gopy_dialog_step_seconds_sum") {
            sum = Some(value);
        } else if name.starts_with("gopy_dialog_step_seconds_count") {
            m.count = Some(value);
        } else if name.contains("quantile=\"0.5\"") {
            m.p50_ms = Some(value * 1000.0);
        } else if name.contains("quantile=\"0.99\"") {
            m.p99_ms = Some(value * 1000.0);
        } else if name.contains("quantile=\"1\"") {
            m.max_ms = Some(value * 1000.0);
        }
    }
    if let (Some(s), Some(c)) = (sum, m.count)
        && c > 0.0
    {
        m.mean_ms = Some(s / c * 1000.0);
    }
    Ok(m)
}
