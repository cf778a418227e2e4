//! Threats of SECURITY.md that no other test file shows handled.
//!
//! - Tokens and personal data in logs: gopy runs against the fake Telegram with every log
//!   record kept (tracing and the `log` records of teloxide and reqwest, every target, down to
//!   TRACE), a named resident goes through the dialog and gives an opinion that holds their
//!   phone number, and the captured log is scanned for the bot token, the resident's name,
//!   username and phone, and the opinion's words. The log must not be empty (the scan would
//!   prove nothing), and must show the dialog ran.
//! - XSS through opinion text and names in the console, formula injection in the audit CSV,
//!   and SQL metacharacters in stored text and in searches: over real HTTP, on SQLite and on
//!   Postgres.

mod common;
mod console_support;
mod fake_telegram;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use gopy::config::Settings;
use gopy::service::Clock;
use gopy::startup::Application;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::fmt::MakeWriter;

use common::TestDb;
use fake_telegram::{FakeTelegram, Resident, TOKEN};

/// Everything logged in this test binary.
static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

/// A writer into [`LOG`].
#[derive(Clone)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut log) = self.0.lock() {
            log.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Capture {
        self.clone()
    }
}

/// Installs the capturing subscriber (once), at TRACE for every target.
fn capture() -> Arc<Mutex<Vec<u8>>> {
    LOG.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let _ = tracing_log::LogTracer::init();
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("trace"))
            .with_writer(Capture(buf.clone()))
            .with_ansi(false)
            .try_init();
        buf
    })
    .clone()
}

/// The resident's name as Telegram gives it, and what else identifies them.
const FIRST: &str = "Thị Lan";
const LAST: &str = "Nguyễn";
const USERNAME: &str = "lan_nguyen_1987";
const PHONE: &str = "0912345678";
const OPINION: &str = "Nhà tôi ở ngõ 12 Hàng Bạc, gọi tôi số 0912345678 để khảo sát";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dialog_run_logs_no_token_and_no_personal_data() {
    let log = capture();
    let db = TestDb::sqlite().await;
    let now = common::now();
    db.store
        .insert_campaign(&common::sample_campaign("phuong-bk", now))
        .await
        .expect("campaign");
    let fake = Arc::new(FakeTelegram::start().await);
    let settings = Settings {
        database_url: db.url.clone(),
        http_addr: "127.0.0.1:0".parse().expect("address"),
        telegram_token: Some(TOKEN.to_owned()),
        telegram_api_url: fake.api_url(),
        demo: false,
        ..Settings::default()
    };
    let clock: Clock = Arc::new(move || now);
    let app = Application::build_with_clock(settings, clock)
        .await
        .expect("gopy builds");
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(app.run(shutdown.clone()));

    let who = Resident::new(7001, FIRST)
        .last_name(LAST)
        .username(USERNAME);
    let send = |text: &str| {
        let id = fake.send_text(&who, text);
        let fake = fake.clone();
        async move { fake.wait_handled(id).await }
    };
    let press = |label: &str| {
        let p = fake.press_label(&who, label);
        let fake = fake.clone();
        async move { fake.wait_handled(p.update_id).await }
    };
    send("/start").await;
    press("góp ý có tên").await;
    press("Tổ dân phố 1").await;
    press("Bỏ qua câu hỏi này").await;
    press("Không, cảm ơn").await;
    press("Chỉnh trang đô thị").await;
    send(OPINION).await;
    // A command with an argument, which the logs might quote.
    send(&format!("/lienket {PHONE}")).await;
    assert!(
        fake.messages_to(who.id).len() >= 7,
        "the dialog ran: {:?}",
        fake.messages_to(who.id)
    );
    assert_eq!(
        db.strings("SELECT text FROM opinions").await,
        vec![OPINION.to_owned()],
        "the opinion was stored"
    );
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(15), task)
        .await
        .expect("gopy stops")
        .expect("no panic")
        .expect("clean stop");

    let text = String::from_utf8_lossy(&log.lock().expect("log").clone()).into_owned();
    assert!(
        text.lines().count() > 20 && text.contains("TRACE") && text.contains("DEBUG"),
        "the log holds records of every level: {} lines",
        text.lines().count()
    );
    let secret_part = TOKEN.split(':').nth(1).expect("token secret");
    for (what, needle) in [
        ("the bot token", TOKEN),
        ("the bot token's secret part", secret_part),
        ("the resident's name", &format!("{FIRST} {LAST}")),
        ("the resident's first name", FIRST),
        ("the resident's family name", LAST),
        ("the resident's username", USERNAME),
        ("the resident's phone", PHONE),
        ("the opinion's words", "Hàng Bạc"),
    ] {
        let hits: Vec<&str> = text
            .lines()
            .filter(|l| l.contains(needle))
            .take(3)
            .collect();
        assert!(hits.is_empty(), "{what} is in the log: {hits:#?}");
    }
}

mod console {
    use gopy::domain::Channel;
    use gopy::moderation::{NewItem, Source, Target};
    use gopy::store::announce::Role;

    use crate::common::{TestDb, story};
    use crate::console_support::{Browser, Gopy};

    const PW: &str = "Mật-khẩu-thử-nghiệm-1";

    /// Markup an attacker would type as an opinion or a post.
    const XSS: &str = "<script>alert('x')</script><img src=x onerror=alert(1)> \"quoted\" & more";

    /// Text that breaks SQL built by string concatenation.
    const SQL: &str = "'); DROP TABLE opinions; -- ' OR '1'='1";

    story!(
        story_hostile_text_is_shown_escaped_exported_neutralised_and_stored_verbatim,
        sqlite_hostile_text_is_shown_escaped_exported_neutralised_and_stored_verbatim,
        postgres_hostile_text_is_shown_escaped_exported_neutralised_and_stored_verbatim
    );

    async fn story_hostile_text_is_shown_escaped_exported_neutralised_and_stored_verbatim(
        db: TestDb,
    ) {
        let gopy = Gopy::start(db).await;
        // A staff name that a spreadsheet would run as a formula.
        let formula_name = "=HYPERLINK(\"http://evil.example\",\"x\")";
        gopy.staff("quantri", &[Role::Admin], None, PW).await;
        gopy.staff(formula_name, &[Role::Official], None, PW).await;
        gopy.opinion("xss", None, 0, XSS).await;
        gopy.opinion("sql", None, 0, SQL).await;
        gopy.store()
            .queue_item(&NewItem {
                target: Target::GroupPost {
                    channel: Channel::Telegram,
                    chat_id: "-100777".to_owned(),
                    message_id: "42".to_owned(),
                },
                text: XSS.to_owned(),
                author: None,
                source: Source::Report,
                categories: Vec::new(),
                score: 0,
                matches: Vec::new(),
                at: chrono::Utc::now(),
            })
            .await
            .expect("queue")
            .expect("queued");

        let mut official = Browser::new(&gopy.base);
        assert_eq!(official.login(formula_name, PW).await.status, 303);
        let mut admin = Browser::new(&gopy.base);
        assert_eq!(admin.login("quantri", PW).await.status, 303);

        for path in ["/console/opinions", "/console/moderation", "/console/audit"] {
            let page = admin.get(path).await;
            assert_eq!(page.status, 200, "{path}: {}", page.body);
            for raw in ["<script>alert", "<img src=x", "onerror=alert(1)>"] {
                assert!(!page.body.contains(raw), "{path} shows {raw} unescaped");
            }
        }
        let opinions = admin.get("/console/opinions").await.body;
        assert!(
            opinions.contains("&lt;script&gt;alert("),
            "the opinion is shown, escaped: {opinions}"
        );
        // Searching with SQL metacharacters finds the opinion that holds them, and only it.
        let q = "/console/opinions?q=%27%29%3B+DROP+TABLE";
        let found = admin.get(q).await;
        assert_eq!(found.status, 200);
        assert!(found.body.contains("Tìm thấy 1 ý kiến"), "{}", found.body);
        let texts = gopy
            .db
            .strings("SELECT text FROM opinions ORDER BY id")
            .await;
        assert!(
            texts.contains(&SQL.to_owned()),
            "stored verbatim: {texts:?}"
        );
        assert!(
            texts.contains(&XSS.to_owned()),
            "stored verbatim: {texts:?}"
        );

        // The audit CSV: the staff name that signed in is text, not a formula.
        let (status, _, csv) = admin.get_bytes("/console/audit.csv").await;
        assert_eq!(status, 200);
        let csv = String::from_utf8(csv).expect("utf-8");
        assert!(csv.contains("'=HYPERLINK("), "{csv}");
        let mut reader = ::csv::Reader::from_reader(csv.trim_start_matches('\u{feff}').as_bytes());
        for row in reader.records() {
            let row = row.expect("a CSV row");
            for cell in row.iter() {
                assert!(
                    !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                    "a cell a spreadsheet would run: {cell:?}"
                );
            }
        }
        gopy.stop().await;
    }
}
