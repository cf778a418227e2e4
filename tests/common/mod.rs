//! Shared test support: fresh databases (an SQLite file in a temporary folder, or a new
//! Postgres database on the server in `TEST_DATABASE_URL`), direct SQL probes to check what was
//! stored, and a small valid campaign built in code. Used by test files with `mod common;`.
#![allow(dead_code)]

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Duration, SubsecRound, Utc};
use rand::Rng;
use sqlx::{AssertSqlSafe, Connection};
use tempfile::TempDir;

use gopy::domain::{Campaign, Phase, PhaseKind, Section, TargetGroup, Topic, Unit};
use gopy::store::{self, Store};

/// The variable naming the Postgres server tests create their databases on.
pub const TEST_DATABASE_URL: &str = "TEST_DATABASE_URL";

/// Test databases older than this are dropped by the next test process that creates one
/// (those of [`TestDb`] are dropped when it is, unless the test failed).
const STALE_AFTER_SECS: i64 = 3600;

/// Set once this process has dropped the stale test databases of earlier runs.
static SWEPT: AtomicBool = AtomicBool::new(false);

/// The Postgres server URL from `TEST_DATABASE_URL`, if set and not blank.
pub fn pg_url() -> Option<String> {
    std::env::var(TEST_DATABASE_URL)
        .ok()
        .filter(|v| !v.trim().is_empty())
}

/// A fresh, migrated SQLite database file in a new temporary folder. Keep the folder alive as
/// long as the store is used.
pub async fn sqlite_store() -> (Arc<dyn Store>, TempDir) {
    let (url, dir) = fresh_sqlite_url().await;
    let store = store::open(&url).await.expect("open the SQLite test store");
    (store, dir)
}

/// The URL of a fresh, migrated SQLite database file in a new temporary folder (for tests
/// that start the whole application from a `DATABASE_URL`). Keep the folder alive.
pub async fn fresh_sqlite_url() -> (String, TempDir) {
    let dir = tempfile::tempdir().expect("create a temporary folder");
    let url = format!("sqlite://{}", dir.path().join("gopy.db").display());
    let store = store::open(&url).await.expect("open the SQLite test store");
    store
        .migrate()
        .await
        .expect("migrate the SQLite test store");
    (url, dir)
}

/// A store on a fresh, migrated Postgres database created for this call on the server in
/// `TEST_DATABASE_URL`. Panics when the variable is not set or the server cannot be reached:
/// a Postgres test that runs must never pass without Postgres.
pub async fn pg_store() -> Arc<dyn Store> {
    let url = fresh_pg_url().await;
    store::open(&url)
        .await
        .unwrap_or_else(|e| panic!("cannot open the fresh Postgres test database: {e:#}"))
}

/// The URL of a fresh, migrated Postgres database created for this call on the server in
/// `TEST_DATABASE_URL` (for tests that start the whole application from a `DATABASE_URL`).
/// Panics when the variable is not set or the server cannot be reached.
pub async fn fresh_pg_url() -> String {
    let Some(server) = pg_url() else {
        panic!("{TEST_DATABASE_URL} is not set: this test needs a Postgres server");
    };
    let mut admin = sqlx::PgConnection::connect(&server)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "{TEST_DATABASE_URL} is set but Postgres at {} cannot be reached: {e}",
                store::redact_url(&server)
            )
        });
    let now = Utc::now().timestamp();
    if !SWEPT.swap(true, Ordering::SeqCst) {
        drop_stale_databases(&mut admin, now).await;
    }
    let name = format!(
        "gopy_t_{now}_{:08x}",
        rand::rng().random_range(0..=u32::MAX)
    );
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|e| panic!("cannot create the test database {name}: {e}"));
    let _ = admin.close().await;

    let mut url = url::Url::parse(&server).expect("TEST_DATABASE_URL is a URL");
    url.set_path(&format!("/{name}"));
    let url = url.to_string();
    let store = store::open(&url)
        .await
        .unwrap_or_else(|e| panic!("cannot open the test database {name}: {e:#}"));
    store
        .migrate()
        .await
        .unwrap_or_else(|e| panic!("cannot migrate the test database {name}: {e}"));
    url
}

/// Drops the test databases earlier runs left behind (named `gopy_t_<unix time>_<random>`)
/// once they are old enough that no running test can still use them.
async fn drop_stale_databases(admin: &mut sqlx::PgConnection, now: i64) {
    let names: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'gopy\\_t\\_%'")
            .fetch_all(&mut *admin)
            .await
            .unwrap_or_default();
    for name in names {
        let born = name
            .split('_')
            .nth(2)
            .and_then(|t| t.parse::<i64>().ok())
            .unwrap_or(now);
        let safe = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if safe && now - born > STALE_AFTER_SECS {
            let _ = sqlx::query(AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut *admin)
            .await;
        }
    }
}

/// A store together with its URL, so that a test can also read the database directly and
/// check what was stored, not only what the store says.
pub struct TestDb {
    /// The store under test.
    pub store: Arc<dyn Store>,
    /// Its database URL.
    pub url: String,
    /// The temporary folder of an SQLite file, removed when the test ends.
    _dir: Option<TempDir>,
}

impl Drop for TestDb {
    /// Drops a Postgres test database once its test passed; a failed test's database is
    /// kept for a look (and swept by a later run).
    fn drop(&mut self) {
        if std::thread::panicking() || !self.url.starts_with("postgres") {
            return;
        }
        let (Some(server), Ok(url)) = (pg_url(), url::Url::parse(&self.url)) else {
            return;
        };
        let name = url.path().trim_start_matches('/').to_owned();
        if !name.starts_with("gopy_t_")
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return;
        }
        // Drop runs inside the test's runtime, which cannot be blocked on: use a thread.
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                if let Ok(mut admin) = sqlx::PgConnection::connect(&server).await {
                    let _ = sqlx::query(AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut admin)
                    .await;
                    let _ = admin.close().await;
                }
            });
        })
        .join();
    }
}

impl TestDb {
    /// A fresh SQLite database.
    pub async fn sqlite() -> Self {
        let (url, dir) = fresh_sqlite_url().await;
        let store = store::open(&url).await.expect("open the SQLite test store");
        Self {
            store,
            url,
            _dir: Some(dir),
        }
    }

    /// A fresh Postgres database (see [`fresh_pg_url`]).
    pub async fn postgres() -> Self {
        let url = fresh_pg_url().await;
        let store = store::open(&url)
            .await
            .unwrap_or_else(|e| panic!("cannot open the Postgres test database: {e:#}"));
        Self {
            store,
            url,
            _dir: None,
        }
    }

    /// A store on the database at `url` (a private server's, say), migrated here. Nothing is
    /// dropped afterwards: the database is not one of the shared server's test databases.
    pub async fn migrated(url: &str) -> Self {
        let store = store::open(url)
            .await
            .unwrap_or_else(|e| panic!("cannot open {}: {e:#}", store::redact_url(url)));
        store
            .migrate()
            .await
            .unwrap_or_else(|e| panic!("cannot migrate {}: {e}", store::redact_url(url)));
        Self {
            store,
            url: url.to_owned(),
            _dir: None,
        }
    }

    /// Runs one statement on a connection of its own, returning the rows it changed.
    pub async fn execute(&self, sql: &str) -> Result<u64, sqlx::Error> {
        let sql = AssertSqlSafe(sql.to_owned());
        if self.url.starts_with("sqlite:") {
            let mut conn = self.sqlite_conn().await;
            Ok(sqlx::query(sql).execute(&mut conn).await?.rows_affected())
        } else {
            let mut conn = sqlx::PgConnection::connect(&self.url).await?;
            Ok(sqlx::query(sql).execute(&mut conn).await?.rows_affected())
        }
    }

    /// The integer a query returns (e.g. a `count(*)`), read on a connection of its own.
    pub async fn int(&self, sql: &str) -> i64 {
        let sql = AssertSqlSafe(sql.to_owned());
        if self.url.starts_with("sqlite:") {
            let mut conn = self.sqlite_conn().await;
            sqlx::query_scalar(sql).fetch_one(&mut conn).await
        } else {
            let mut conn = sqlx::PgConnection::connect(&self.url)
                .await
                .expect("connect to the Postgres test database");
            sqlx::query_scalar(sql).fetch_one(&mut conn).await
        }
        .expect("probe query")
    }

    /// The text column a query returns, one string per row, read on a connection of its own.
    pub async fn strings(&self, sql: &str) -> Vec<String> {
        let sql = AssertSqlSafe(sql.to_owned());
        if self.url.starts_with("sqlite:") {
            let mut conn = self.sqlite_conn().await;
            sqlx::query_scalar(sql).fetch_all(&mut conn).await
        } else {
            let mut conn = sqlx::PgConnection::connect(&self.url)
                .await
                .expect("connect to the Postgres test database");
            sqlx::query_scalar(sql).fetch_all(&mut conn).await
        }
        .expect("probe query")
    }

    /// A plain connection to the SQLite file, with foreign keys on as the store has them.
    async fn sqlite_conn(&self) -> sqlx::SqliteConnection {
        let options = sqlx::sqlite::SqliteConnectOptions::from_str(&self.url)
            .expect("SQLite URL")
            .foreign_keys(true);
        sqlx::SqliteConnection::connect_with(&options)
            .await
            .expect("connect to the SQLite test database")
    }
}

/// What a running gopy's `/metrics` shows (Prometheus text).
pub async fn metrics_text(http: std::net::SocketAddr) -> String {
    reqwest::get(format!("http://{http}/metrics"))
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("metrics text")
}

/// `Utc::now()` to the whole second, so that values read back from either backend compare
/// equal (Postgres keeps microseconds, Rust nanoseconds).
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(0)
}

/// A small valid campaign, built in code, open for collection around `now`: a ward with two
/// residential groups, two target groups, two sections, three topics, and four phases with
/// collection from a day before `now` to six days after. Times are whole seconds.
pub fn sample_campaign(slug: &str, now: DateTime<Utc>) -> Campaign {
    let now = now.trunc_subsecs(0);
    let day = Duration::days(1);
    let unit = |code: &str, name: &str, parent: Option<&str>, kind: &str| Unit {
        code: code.to_owned(),
        name: name.to_owned(),
        parent: parent.map(str::to_owned),
        kind: kind.to_owned(),
    };
    let topic = |code: &str, title: &str, question: &str, sections: &[&str]| Topic {
        code: code.to_owned(),
        title: title.to_owned(),
        question: question.to_owned(),
        sections: sections.iter().map(|s| (*s).to_owned()).collect(),
    };
    Campaign {
        id: 0,
        slug: slug.to_owned(),
        issuer: "Đảng ủy phường Bắc Kạn".to_owned(),
        title: "Lấy ý kiến Nhân dân về dự thảo Kế hoạch phát triển kinh tế - xã hội năm 2026"
            .to_owned(),
        document_title: "Dự thảo Kế hoạch phát triển kinh tế - xã hội phường Bắc Kạn năm 2026"
            .to_owned(),
        intro: "Đảng ủy phường trân trọng đề nghị bà con Nhân dân tham gia góp ý vào dự thảo \
                Kế hoạch trước khi trình Hội đồng nhân dân phường."
            .to_owned(),
        purpose: "Văn phòng Đảng ủy phường tiếp nhận ý kiến để tổng hợp, tiếp thu và hoàn \
                  thiện dự thảo; ý kiến không dùng vào mục đích khác."
            .to_owned(),
        retention_months: 12,
        notice_version: "2026-01".to_owned(),
        units: vec![
            unit("P-BK", "Phường Bắc Kạn", None, "ward"),
            unit("TDP-1", "Tổ dân phố 1", Some("P-BK"), "residential-group"),
            unit("TDP-2", "Tổ dân phố 2", Some("P-BK"), "residential-group"),
        ],
        target_groups: vec![
            TargetGroup {
                code: "farmer".to_owned(),
            },
            TargetGroup {
                code: "youth".to_owned(),
            },
        ],
        sections: vec![
            Section {
                reference: "II.3".to_owned(),
                title: "Phát triển kinh tế, đô thị và bảo vệ môi trường".to_owned(),
                summary: "Tập trung chỉnh trang đô thị, nâng cấp đường ngõ xóm, thu gom và \
                          xử lý rác thải sinh hoạt đúng quy định."
                    .to_owned(),
            },
            Section {
                reference: "II.4".to_owned(),
                title: "Văn hóa - xã hội, quốc phòng - an ninh".to_owned(),
                summary: "Giữ vững an ninh trật tự ở khu dân cư, chăm lo người có công, hộ \
                          nghèo và trẻ em có hoàn cảnh khó khăn."
                    .to_owned(),
            },
        ],
        topics: vec![
            topic(
                "do-thi",
                "Chỉnh trang đô thị",
                "Theo ông/bà, cần ưu tiên nâng cấp những tuyến đường, ngõ xóm nào?",
                &["II.3"],
            ),
            topic(
                "moi-truong",
                "Vệ sinh môi trường",
                "Ông/bà có đề xuất gì về thu gom rác thải ở tổ dân phố mình?",
                &["II.3"],
            ),
            topic(
                "an-ninh",
                "An ninh trật tự",
                "Ông/bà có kiến nghị gì để giữ gìn an ninh trật tự ở khu dân cư?",
                &["II.4", "II.3"],
            ),
        ],
        phases: vec![
            Phase {
                kind: PhaseKind::Announce,
                starts_at: now - day * 3,
                ends_at: now - day,
            },
            Phase {
                kind: PhaseKind::Collect,
                starts_at: now - day,
                ends_at: now + day * 6,
            },
            Phase {
                kind: PhaseKind::Synthesise,
                starts_at: now + day * 6,
                ends_at: now + day * 10,
            },
            Phase {
                kind: PhaseKind::Report,
                starts_at: now + day * 10,
                ends_at: now + day * 14,
            },
        ],
    }
}

/// Generates the two tests of one story: `$sqlite` always runs, `$postgres` only when the
/// Postgres half is compiled in (`TEST_DATABASE_URL` set at build time; reported as ignored
/// otherwise, never as passed).
#[allow(unused_macros)]
macro_rules! story {
    ($story:ident, $sqlite:ident, $postgres:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $sqlite() {
            $story($crate::common::TestDb::sqlite().await).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        #[cfg_attr(
            not(gopy_pg),
            ignore = "set TEST_DATABASE_URL to run the Postgres half"
        )]
        async fn $postgres() {
            $story($crate::common::TestDb::postgres().await).await;
        }
    };
}
#[allow(unused_imports)]
pub(crate) use story;

/// Runs the real `gopy ARGS` on the database at `url`, as OS user `tester`, without the
/// demo, a bot token, an HTTP address or a word-list folder from the environment.
pub fn gopy(url: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_gopy"))
        .args(args)
        .env("DATABASE_URL", url)
        .env("GOPY_DEMO", "off")
        .env("USER", "tester")
        .env_remove("TELEGRAM_BOT_TOKEN")
        .env_remove("GOPY_HTTP_ADDR")
        .env_remove("GOPY_MODERATION_DIR")
        .output()
        .expect("run the gopy binary")
}

/// The sample campaign's units, an official `lan` and an approver `minh` (both for the whole
/// tree), for the broadcast stories.
pub async fn campaign_with_official_and_approver(store: &Arc<dyn Store>) {
    use gopy::store::announce::{LinkCode, NewStaff, Role};
    store
        .insert_campaign(&sample_campaign("bk-2026", now()))
        .await
        .expect("insert the sample campaign");
    for (i, (name, role)) in [("lan", Role::Official), ("minh", Role::Approver)]
        .into_iter()
        .enumerate()
    {
        let new = NewStaff {
            name: name.to_owned(),
            roles: vec![role],
            unit: None,
        };
        let link = LinkCode {
            code: format!("CODE000{i}"),
            expires_at: now() + Duration::hours(1),
        };
        store
            .add_staff(&new, &link, "cli:tester", now())
            .await
            .expect("add a staff user");
    }
}

/// Waits (up to `within`) until the broadcast is in `state`.
pub async fn wait_broadcast(
    store: &Arc<dyn Store>,
    id: i64,
    state: gopy::store::announce::BroadcastState,
    within: std::time::Duration,
) {
    let deadline = std::time::Instant::now() + within;
    loop {
        let now_state = store
            .broadcast(id)
            .await
            .expect("read the broadcast")
            .expect("the broadcast exists")
            .state;
        if now_state == state {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still {now_state:?}, waiting for {state:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
