//! Support for the fault scenarios (`tests/faults.rs`): real `gopy serve` children in
//! Telegram webhook mode, gopy replicas built in the test process with a clock the test moves,
//! a load balancer that delivers updates to the replicas as Telegram does (again after every
//! non-2xx answer, to the next replica when one does not answer at all) and remembers every
//! answer, and a private PostgreSQL cluster the test may stop and start.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::common::TestDb;
use crate::fake_telegram::{FakeTelegram, Resident, TOKEN};

/// The public URL registered with Telegram (the fake does not call it: the load balancer
/// delivers to the replicas' own addresses).
pub const PUBLIC_URL: &str = "https://gopy.example/telegram/webhook";

/// The webhook's secret token.
pub const SECRET: &str = "bi-mat_faults-8";

/// The inbox source of the fake's bot.
pub fn source() -> String {
    format!("telegram:{}", TOKEN.split(':').next().unwrap_or_default())
}

/// The outbox lease of the children (`GOPY_OUTBOX_LEASE_SECS`; gopy's default is 60 s): short,
/// so that survivors take a dead replica's claims over within the test. A live worker extends
/// the leases of the claims it holds every third of a lease, however long they wait for a
/// send slot (before it did, 2 s here doubled 20–52 of 150 groups); 10 s leaves the
/// extensions themselves a wide margin on the loaded two-core machine.
pub const OUTBOX_LEASE_SECS: &str = "10";

/// A free port on loopback (bound, then released for the child to take).
pub fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
}

/// A `gopy serve` child in Telegram webhook mode, killed (SIGKILL) when dropped if still
/// running. Its log goes to a file beside the test's temporary files, named in failures.
pub struct Serve {
    child: Child,
    /// Its HTTP address (where the webhook route is).
    pub addr: SocketAddr,
    /// Its log file.
    pub log: PathBuf,
}

impl Serve {
    /// Starts a replica on the database at `url` talking to the Bot API at `api`; returns
    /// once it answers `/healthz`.
    pub async fn start(url: &str, api: &url::Url) -> Self {
        let addr = free_addr();
        let log = std::env::temp_dir().join(format!(
            "gopy-faults-{}-{}.log",
            std::process::id(),
            addr.port()
        ));
        let file = std::fs::File::create(&log).expect("create the replica's log");
        let child = Command::new(env!("CARGO_BIN_EXE_gopy"))
            .arg("serve")
            .env("DATABASE_URL", url)
            .env("TELEGRAM_BOT_TOKEN", TOKEN)
            .env("TELEGRAM_API_URL", api.as_str())
            .env("TELEGRAM_WEBHOOK_URL", PUBLIC_URL)
            .env("TELEGRAM_WEBHOOK_SECRET", SECRET)
            .env("GOPY_HTTP_ADDR", addr.to_string())
            .env("GOPY_DEMO", "off")
            .env("GOPY_OUTBOX_LEASE_SECS", OUTBOX_LEASE_SECS)
            .env("RUST_LOG", "warn")
            .env_remove("ZALO_BOT_TOKEN")
            .env_remove("ZALO_OA_APP_ID")
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("start gopy serve");
        let mut me = Self { child, addr, log };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = reqwest::get(format!("http://{addr}/healthz")).await
                && r.status().is_success()
            {
                return me;
            }
            if let Ok(Some(status)) = me.child.try_wait() {
                panic!("gopy serve exited ({status}); log: {}", me.log_text());
            }
            assert!(
                Instant::now() < deadline,
                "gopy serve never answered /healthz; log: {}",
                me.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL: no chance to finish anything.
    pub fn kill_9(&mut self) {
        self.child.kill().expect("SIGKILL gopy");
        self.child.wait().expect("reap gopy");
    }

    /// Whether the process is still running (was never restarted nor died).
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What it logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if self.alive() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if !std::thread::panicking() {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

/// A clock the test moves: the real clock plus an offset, so time still flows between jumps.
#[derive(Clone)]
pub struct TestClock(Arc<Mutex<chrono::Duration>>);

impl TestClock {
    /// The real time.
    pub fn real() -> Self {
        Self(Arc::new(Mutex::new(chrono::Duration::zero())))
    }

    /// Says `t` now, then flows on.
    pub fn at(t: DateTime<Utc>) -> Self {
        let c = Self::real();
        c.set(t);
        c
    }

    /// Jumps to `t`.
    pub fn set(&self, t: DateTime<Utc>) {
        *self.0.lock().unwrap() = t - Utc::now();
    }

    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + *self.0.lock().unwrap()
    }

    fn clock(&self) -> gopy::service::Clock {
        let me = self.clone();
        Arc::new(move || me.now())
    }
}

/// A gopy replica built in the test process, in webhook mode, on the test's clock.
pub struct InProcess {
    /// Its HTTP address.
    pub addr: SocketAddr,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl InProcess {
    pub async fn start(url: &str, api: url::Url, clock: &TestClock) -> Self {
        use gopy::config::{Settings, TelegramWebhookSettings};
        let settings = Settings {
            database_url: url.to_owned(),
            http_addr: "127.0.0.1:0".parse().unwrap(),
            telegram_token: Some(TOKEN.to_owned()),
            telegram_api_url: api,
            demo: false,
            telegram_webhook: Some(TelegramWebhookSettings {
                url: url::Url::parse(PUBLIC_URL).unwrap(),
                secret: Some(SECRET.to_owned()),
                max_connections: 10,
            }),
            ..Settings::default()
        };
        let app = gopy::startup::Application::build_with_clock(settings, clock.clock())
            .await
            .expect("gopy builds");
        let addr = app.local_addr().unwrap();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(app.run(shutdown.clone()));
        Self {
            addr,
            shutdown,
            task,
        }
    }

    /// Stops it; it must stop cleanly, without a panic.
    pub async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(20), self.task)
            .await
            .expect("gopy stops")
            .expect("no panic")
            .expect("clean stop");
    }
}

/// One answer a replica gave to a delivery.
#[derive(Debug, Clone, Copy)]
pub struct Answer {
    pub update_id: i64,
    pub to: SocketAddr,
    /// HTTP status; 0 when there was no answer.
    pub status: u16,
    pub at: Instant,
}

/// Plays Telegram and the load balancer in front of the replicas: delivers an update to the
/// next replica in turn, again after each non-2xx answer (to the next replica when one did not
/// answer at all, as a balancer's health check would), and records every answer.
pub struct Balancer {
    fake: Arc<FakeTelegram>,
    replicas: Mutex<Vec<SocketAddr>>,
    next: AtomicUsize,
    answers: Mutex<Vec<Answer>>,
    /// Pause between two tries of one update.
    pub pause: Duration,
}

impl Balancer {
    pub fn new(fake: &Arc<FakeTelegram>, replicas: &[SocketAddr]) -> Arc<Self> {
        Arc::new(Self {
            fake: fake.clone(),
            replicas: Mutex::new(replicas.to_vec()),
            next: AtomicUsize::new(0),
            answers: Mutex::new(Vec::new()),
            pause: Duration::from_millis(100),
        })
    }

    /// Takes a replica out of the rotation (it was killed).
    pub fn remove(&self, addr: SocketAddr) {
        self.replicas.lock().unwrap().retain(|a| *a != addr);
    }

    /// The replica the next delivery goes to.
    fn pick(&self) -> SocketAddr {
        let r = self.replicas.lock().unwrap();
        r[self.next.fetch_add(1, Ordering::SeqCst) % r.len()]
    }

    /// POSTs `update` once to `to` and records the answer.
    pub async fn post_to(&self, to: SocketAddr, update: &Value) -> u16 {
        let status = self.fake.post_update(to, update).await;
        self.answers.lock().unwrap().push(Answer {
            update_id: update["update_id"].as_i64().unwrap_or_default(),
            to,
            status,
            at: Instant::now(),
        });
        status
    }

    /// Delivers until a 2xx answer (within `within`); returns the statuses seen.
    pub async fn deliver(&self, update: &Value) -> Vec<u16> {
        self.deliver_within(update, Duration::from_secs(60)).await
    }

    pub async fn deliver_within(&self, update: &Value, within: Duration) -> Vec<u16> {
        let deadline = Instant::now() + within;
        let mut seen = Vec::new();
        loop {
            let status = self.post_to(self.pick(), update).await;
            seen.push(status);
            if (200..300).contains(&status) {
                return seen;
            }
            assert!(
                Instant::now() < deadline,
                "update {} never acknowledged: {seen:?}",
                update["update_id"]
            );
            tokio::time::sleep(self.pause).await;
        }
    }

    /// Every answer so far.
    pub fn answers(&self) -> Vec<Answer> {
        self.answers.lock().unwrap().clone()
    }

    /// The update ids some replica answered 200.
    pub fn acknowledged(&self) -> std::collections::BTreeSet<i64> {
        self.answers
            .lock()
            .unwrap()
            .iter()
            .filter(|a| a.status == 200)
            .map(|a| a.update_id)
            .collect()
    }
}

/// Waits (up to `within`) until every webhook delivery in the inbox is processed; panics
/// with the rows left otherwise.
pub async fn wait_inbox_drained(db: &TestDb, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let left = db
            .int("SELECT count(*) FROM webhook_inbox WHERE state <> 'done'")
            .await;
        if left == 0 {
            return;
        }
        if Instant::now() > deadline {
            panic!(
                "{left} webhook deliveries never processed: {:?}",
                db.strings(
                    "SELECT event_key || ' ' || state || ' attempts=' || attempts || ' by ' || \
                     coalesce(leased_by, '-') FROM webhook_inbox WHERE state <> 'done' ORDER BY id"
                )
                .await
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Probes of [`wait_done`] running at once: each opens a connection of its own, and many
/// residents waiting side by side must not take the shared server's last connections from
/// the replicas.
static PROBES: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(6);

/// Waits (up to `within`) until the update's inbox row is processed.
pub async fn wait_done(db: &TestDb, update_id: i64, within: Duration) {
    let sql = format!(
        "SELECT count(*) FROM webhook_inbox WHERE event_key = '{update_id}' AND state = 'done'"
    );
    let deadline = Instant::now() + within;
    let probe = || async {
        let _turn = PROBES
            .acquire()
            .await
            .expect("the probe semaphore is never closed");
        db.int(&sql).await
    };
    while probe().await != 1 {
        assert!(
            Instant::now() < deadline,
            "update {update_id} not processed; inbox rows not done: {:?}",
            db.strings(
                "SELECT event_key || ' ' || chat_key || ' ' || state || ' attempts=' || attempts \
                 || ' by ' || coalesce(leased_by, '-') FROM webhook_inbox WHERE state <> 'done' \
                 ORDER BY id"
            )
            .await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One resident's private chat, delivered through a balancer.
pub struct Chat {
    pub fake: Arc<FakeTelegram>,
    pub who: Resident,
    seen: usize,
}

impl Chat {
    pub fn new(fake: &Arc<FakeTelegram>, who: Resident) -> Self {
        Self {
            fake: fake.clone(),
            who,
            seen: 0,
        }
    }

    /// gopy's messages since the last call.
    pub fn fresh(&mut self) -> Vec<String> {
        let all = self.fake.messages_to(self.who.id);
        let new = all[self.seen.min(all.len())..]
            .iter()
            .map(|m| m.visible.clone())
            .collect();
        self.seen = all.len();
        new
    }

    /// Delivers an update, waits until it is processed, returns the new messages.
    pub async fn deliver(&mut self, db: &TestDb, lb: &Balancer, update: Value) -> Vec<String> {
        let id = update["update_id"].as_i64().unwrap();
        lb.deliver(&update).await;
        wait_done(db, id, Duration::from_secs(30)).await;
        self.fresh()
    }

    pub async fn send(&mut self, db: &TestDb, lb: &Balancer, text: &str) -> Vec<String> {
        let update = self.fake.text_update(&self.who, text);
        self.deliver(db, lb, update).await
    }

    pub async fn press(&mut self, db: &TestDb, lb: &Balancer, label: &str) -> Vec<String> {
        let (message_id, data) = self
            .fake
            .find_button(self.who.id, label)
            .unwrap_or_else(|| panic!("no button {label:?}"));
        let (update, _) = self.fake.callback_update(&self.who, message_id, &data);
        self.deliver(db, lb, update).await
    }

    /// Consent (anonymous), unit, no target group, no notices, then the first topic: from
    /// here each text is an opinion.
    pub async fn enter(&mut self, db: &TestDb, lb: &Balancer) {
        let t = self.send(db, lb, "/start").await;
        assert!(any(&t, "Thông báo về xử lý dữ liệu cá nhân"), "{t:#?}");
        self.press(db, lb, "góp ý ẩn danh").await;
        self.press(db, lb, "Tổ dân phố 1").await;
        self.press(db, lb, "Bỏ qua câu hỏi này").await;
        let t = self.press(db, lb, "Không, cảm ơn").await;
        assert!(any(&t, "Các nội dung xin ý kiến"), "{t:#?}");
        let t = self.press(db, lb, "Chỉnh trang đô thị").await;
        assert!(any(&t, "Nội dung 1/3: Chỉnh trang đô thị"), "{t:#?}");
    }
}

pub fn any(texts: &[String], needle: &str) -> bool {
    texts.iter().any(|t| t.contains(needle))
}

// ---- a private PostgreSQL cluster -------------------------------------------------------

/// The folder with `initdb` and `pg_ctl`: `GOPY_PG_BIN`, the newest
/// `/usr/lib/postgresql/*/bin`, or the `PATH`.
pub fn pg_bin() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("GOPY_PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((v, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p).find(|d| d.join("initdb").is_file() && d.join("pg_ctl").is_file())
    })
}

/// A PostgreSQL cluster of the test's own, in a temporary folder on a free port: the shared
/// server other tests use is never stopped. As root (initdb refuses root) it runs as the
/// `postgres` user. Stopped (immediately) and removed when dropped.
pub struct PrivatePg {
    bin: PathBuf,
    dir: tempfile::TempDir,
    pub port: u16,
    /// `runuser -u postgres --` when running as root.
    as_user: Option<String>,
}

impl PrivatePg {
    /// Creates and starts the cluster; `None` when no PostgreSQL binaries are here.
    pub fn start() -> Option<Self> {
        let bin = pg_bin()?;
        let dir = tempfile::Builder::new()
            .prefix("gopy-faults-pg")
            .tempdir()
            .expect("a temporary folder");
        // initdb refuses to run as root: then the cluster runs as `postgres`.
        let uid = Command::new("id")
            .arg("-u")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|s| s.trim().to_owned())
            .unwrap_or_default();
        let as_user = (uid == "0").then(|| "postgres".to_owned());
        if let Some(user) = &as_user {
            let ok = Command::new("chown")
                .args(["-R", user])
                .arg(dir.path())
                .status()
                .expect("chown")
                .success();
            assert!(ok, "cannot hand the cluster's folder to {user}");
        }
        let port = free_addr().port();
        let me = Self {
            bin,
            dir,
            port,
            as_user,
        };
        let data = me.data();
        me.run(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
                "--no-locale",
            ],
        );
        me.pg_start();
        Some(me)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let exe = self.bin.join(tool);
        let mut cmd = match &self.as_user {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&exe);
                c
            }
            None => Command::new(&exe),
        };
        let out = cmd
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", exe.display()));
        assert!(
            out.status.success(),
            "{tool} {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts the server and waits until it accepts connections.
    pub fn pg_start(&self) {
        let data = self.data();
        let log = self.dir.path().join("server.log");
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            self.port,
            self.dir.path().display()
        );
        self.run(
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-o",
                &opts,
                "-l",
                log.to_str().unwrap(),
                "-w",
                "-t",
                "30",
                "start",
            ],
        );
    }

    /// Stops the server: `fast` disconnects every client and shuts down cleanly.
    pub fn pg_stop(&self, mode: &str) {
        let data = self.data();
        self.run(
            "pg_ctl",
            &["-D", data.to_str().unwrap(), "-m", mode, "-w", "stop"],
        );
    }

    /// The URL of database `name` on it.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        let data = self.data();
        let exe = self.bin.join("pg_ctl");
        let mut cmd = match &self.as_user {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&exe);
                c
            }
            None => Command::new(&exe),
        };
        let _ = cmd
            .args([
                "-D",
                data.to_str().unwrap_or_default(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
