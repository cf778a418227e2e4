//! The HTTP surface of a running gopy: health, readiness (which follows the database, going
//! down and coming back), and Prometheus metrics. The app is built as `cargo run` builds it,
//! on a random local port.

mod common;

use std::time::Duration;

use sqlx::{AssertSqlSafe, Connection};
use tokio_util::sync::CancellationToken;

use gopy::config::Settings;
use gopy::startup::Application;

/// Starts gopy on the database at `url` (demo campaign on, no Telegram) and returns its base
/// URL and the token that stops it.
async fn start(url: &str) -> (String, CancellationToken, tokio::task::JoinHandle<()>) {
    let settings = Settings {
        database_url: url.to_owned(),
        http_addr: "127.0.0.1:0".parse().expect("address"),
        telegram_token: None,
        telegram_api_url: url::Url::parse("http://127.0.0.1:9").expect("url"),
        demo: true,
        zalo: Default::default(),
    };
    let app = Application::build(settings).await.expect("gopy builds");
    let base = format!("http://{}", app.local_addr().expect("bound"));
    let stop = CancellationToken::new();
    let token = stop.clone();
    let handle = tokio::spawn(async move {
        app.run(token).await.expect("gopy runs and stops cleanly");
    });
    (base, stop, handle)
}

/// GET a path; status and body.
async fn get(base: &str, path: &str) -> (u16, String) {
    let res = reqwest::get(format!("{base}{path}"))
        .await
        .expect("request");
    let status = res.status().as_u16();
    (status, res.text().await.expect("body"))
}

async fn story_health_readiness_metrics(url: String) {
    let (base, stop, handle) = start(&url).await;
    assert_eq!(get(&base, "/healthz").await, (200, "ok".to_owned()));
    assert_eq!(get(&base, "/readyz").await.0, 200);
    let (status, metrics) = get(&base, "/metrics").await;
    assert_eq!(status, 200);
    assert!(metrics.contains("gopy_build_info{version="), "{metrics}");
    assert_eq!(get(&base, "/no-such-page").await.0, 404);
    stop.cancel();
    tokio::time::timeout(Duration::from_secs(10), handle)
        .await
        .expect("graceful shutdown within 10 s")
        .expect("no panic");
}

#[tokio::test]
async fn sqlite_health_readiness_metrics() {
    let (url, _dir) = common::fresh_sqlite_url().await;
    story_health_readiness_metrics(url).await;
}

#[tokio::test]
#[cfg_attr(
    not(gopy_pg),
    ignore = "set TEST_DATABASE_URL to run the Postgres half"
)]
async fn postgres_health_readiness_metrics() {
    story_health_readiness_metrics(common::fresh_pg_url().await).await;
}

/// While the database refuses connections `/readyz` answers 503; when it is back, 200 again,
/// with no restart of gopy.
#[tokio::test]
#[cfg_attr(
    not(gopy_pg),
    ignore = "set TEST_DATABASE_URL to run the Postgres half"
)]
async fn postgres_readiness_follows_the_database() {
    let url = common::fresh_pg_url().await;
    let name = url::Url::parse(&url)
        .expect("url")
        .path()
        .trim_start_matches('/')
        .to_owned();
    let (base, stop, handle) = start(&url).await;
    assert_eq!(get(&base, "/readyz").await.0, 200);

    let server = common::pg_url().expect("TEST_DATABASE_URL");
    let mut admin = sqlx::PgConnection::connect(&server)
        .await
        .expect("admin connection");
    let run = |sql: String| sqlx::query(AssertSqlSafe(sql));
    run(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"))
        .execute(&mut admin)
        .await
        .expect("refuse connections");
    run(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
    ))
    .execute(&mut admin)
    .await
    .expect("drop gopy's connections");
    assert_eq!(
        get(&base, "/readyz").await,
        (503, "database unavailable".to_owned())
    );

    run(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
        .execute(&mut admin)
        .await
        .expect("accept connections again");
    let mut ready = false;
    for _ in 0..50 {
        if get(&base, "/readyz").await.0 == 200 {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "gopy recovers on its own when the database is back");
    stop.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(10), handle).await;
}

/// The real binary, started as `cargo run` starts it, says in one line where it listens and
/// how to switch Telegram on, and stops cleanly (exit 0) on SIGTERM as Docker and systemd send
/// it.
#[tokio::test]
async fn the_binary_announces_itself_and_stops_on_sigterm() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let dir = tempfile::tempdir().expect("temporary folder");
    let mut child = Command::new(env!("CARGO_BIN_EXE_gopy"))
        .current_dir(dir.path())
        .env_remove("DATABASE_URL")
        .env_remove("TELEGRAM_BOT_TOKEN")
        .env("GOPY_HTTP_ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stderr(Stdio::piped())
        .spawn()
        .expect("start gopy");
    let stderr = child.stderr.take().expect("stderr is piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let running = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("gopy logs that it is running within 30 s");
        if line.contains("gopy đang chạy") {
            break line;
        }
    };
    assert!(running.contains("TELEGRAM_BOT_TOKEN"), "{running}");
    let addr = running
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the line names the address")
        .trim_end_matches(|c: char| !c.is_ascii_digit())
        .to_owned();
    assert_eq!(get(&format!("http://{addr}"), "/readyz").await.0, 200);
    assert!(
        dir.path().join("gopy.db").exists(),
        "the SQLite file is created"
    );

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("send SIGTERM");
    assert!(status.success());
    let mut exited = None;
    for _ in 0..100 {
        if let Some(s) = child.try_wait().expect("wait") {
            exited = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let exited = exited.unwrap_or_else(|| {
        let _ = child.kill();
        panic!("gopy did not stop within 10 s of SIGTERM")
    });
    assert!(exited.success(), "exit status after SIGTERM: {exited}");
}
