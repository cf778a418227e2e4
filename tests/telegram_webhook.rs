//! Telegram in webhook mode, against the fake Bot API acting as Telegram: it records
//! `setWebhook` and delivers updates to a gopy replica's route with the registered secret,
//! again after every non-2xx answer. Each story runs on SQLite and, when
//! `TEST_DATABASE_URL` is set, on Postgres (reported as ignored otherwise).
//!
//! What is shown: forged and malformed calls refused before anything is stored; a whole
//! dialog by webhook, a redelivered update processed once; an update acknowledged but not
//! processed (no processor running, or its replica died holding the lease) processed later;
//! a database that cannot take the update answered 503 and the redelivery processed; two
//! replicas on one database, given one resident's updates alternately, processing them in
//! order.

mod common;
mod fake_telegram;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use gopy::config::{Settings, TelegramWebhookSettings};
use gopy::service::Clock;
use gopy::startup::Application;
use serde_json::Value;
use sqlx::Connection as _;
use tokio_util::sync::CancellationToken;

use common::{TestDb, story};
use fake_telegram::{FakeTelegram, Resident, TOKEN};

/// The public URL registered with Telegram (the fake does not call it: the test delivers to
/// a replica's own address, as a load balancer would).
const PUBLIC_URL: &str = "https://gopy.example/telegram/webhook";

/// The secret set in the stories that set one.
const SECRET: &str = "bi-mat_webhook-42";

/// The inbox source of the fake's bot.
fn source() -> String {
    format!("telegram:{}", TOKEN.split(':').next().unwrap())
}

/// One gopy replica in webhook mode.
struct Replica {
    /// Its HTTP address (where the route is).
    addr: SocketAddr,
    /// Stops it.
    shutdown: CancellationToken,
    /// The running application.
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Replica {
    /// Starts a replica on `url`, talking to the Bot API at `api`, with `secret` (derived
    /// when `None`).
    async fn start(
        url: &str,
        api: url::Url,
        secret: Option<&str>,
        now: &Arc<Mutex<DateTime<Utc>>>,
    ) -> Self {
        let settings = Settings {
            database_url: url.to_owned(),
            http_addr: "127.0.0.1:0".parse().unwrap(),
            telegram_token: Some(TOKEN.to_owned()),
            telegram_api_url: api,
            demo: false,
            telegram_webhook: Some(TelegramWebhookSettings {
                url: url::Url::parse(PUBLIC_URL).unwrap(),
                secret: secret.map(str::to_owned),
                max_connections: 10,
            }),
            ..Settings::default()
        };
        let clock_now = now.clone();
        let clock: Clock = Arc::new(move || *clock_now.lock().unwrap());
        let app = Application::build_with_clock(settings, clock)
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

    async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(20), self.task)
            .await
            .expect("gopy stops")
            .expect("no panic")
            .expect("clean stop");
    }
}

/// Waits until the update's inbox row is processed (its replies are then out).
async fn wait_done(db: &TestDb, update_id: i64) {
    let sql = format!(
        "SELECT count(*) FROM webhook_inbox WHERE event_key = '{update_id}' AND state = 'done'"
    );
    for _ in 0..400 {
        if db.int(&sql).await == 1 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "update {update_id} not processed; inbox: {:?}",
        db.strings(
            "SELECT event_key || ' ' || state || ' ' || attempts FROM webhook_inbox ORDER BY id"
        )
        .await
    );
}

/// One resident's private chat, delivered by webhook.
struct Chat {
    fake: Arc<FakeTelegram>,
    who: Resident,
    /// How many of gopy's messages were already returned.
    seen: usize,
}

impl Chat {
    fn new(fake: &Arc<FakeTelegram>, who: Resident) -> Self {
        Self {
            fake: fake.clone(),
            who,
            seen: 0,
        }
    }

    /// The messages gopy sent since the last call.
    fn fresh(&mut self) -> Vec<String> {
        let all = self.fake.messages_to(self.who.id);
        let new = all[self.seen.min(all.len())..]
            .iter()
            .map(|m| m.visible.clone())
            .collect();
        self.seen = all.len();
        new
    }

    /// Delivers an update to `to`, waits until it is processed, returns the new messages.
    async fn deliver(&mut self, db: &TestDb, to: SocketAddr, update: Value) -> Vec<String> {
        let id = update["update_id"].as_i64().unwrap();
        let statuses = self.fake.deliver(to, &update).await;
        assert_eq!(statuses.last(), Some(&200), "{statuses:?}");
        wait_done(db, id).await;
        self.fresh()
    }

    async fn send(&mut self, db: &TestDb, to: SocketAddr, text: &str) -> Vec<String> {
        let update = self.fake.text_update(&self.who, text);
        self.deliver(db, to, update).await
    }

    async fn press(&mut self, db: &TestDb, to: SocketAddr, label: &str) -> Vec<String> {
        let (message_id, data) = self
            .fake
            .find_button(self.who.id, label)
            .unwrap_or_else(|| panic!("no button {label:?}"));
        let (update, callback) = self.fake.callback_update(&self.who, message_id, &data);
        let out = self.deliver(db, to, update).await;
        assert!(self.fake.callback_answered(&callback), "callback answered");
        out
    }
}

fn any(texts: &[String], needle: &str) -> bool {
    texts.iter().any(|t| t.contains(needle))
}

async fn with_campaign(db: &TestDb, now: DateTime<Utc>) {
    db.store
        .insert_campaign(&common::sample_campaign("phuong-bk", now))
        .await
        .expect("insert the campaign");
}

/// Consent, unit, no target group, no notices: ends at the topic menu, then opens the first
/// topic.
async fn enter(c: &mut Chat, db: &TestDb, to: SocketAddr) {
    let t = c.send(db, to, "/start").await;
    assert!(any(&t, "Thông báo về xử lý dữ liệu cá nhân"), "{t:#?}");
    c.press(db, to, "góp ý ẩn danh").await;
    c.press(db, to, "Tổ dân phố 1").await;
    let t = c.press(db, to, "Bỏ qua câu hỏi này").await;
    assert!(any(&t, "nhận thông báo của địa phương"), "{t:#?}");
    let t = c.press(db, to, "Không, cảm ơn").await;
    assert!(any(&t, "Các nội dung xin ý kiến"), "{t:#?}");
    let t = c.press(db, to, "Chỉnh trang đô thị").await;
    assert!(any(&t, "Nội dung 1/3: Chỉnh trang đô thị"), "{t:#?}");
}

// ---- stories ----------------------------------------------------------------------------

/// The webhook is registered with the URL, the secret, an explicit `allowed_updates` (with
/// `my_chat_member` and `chat_member`) and `max_connections`; a call without the secret is
/// 401, with a wrong one 403, a body that is not an update 400 — and none of them stores
/// anything or reaches the dialog.
async fn story_forged_and_malformed_calls_are_refused(db: TestDb) {
    let fake = Arc::new(FakeTelegram::start().await);
    let now = Arc::new(Mutex::new(common::now()));
    let r = Replica::start(&db.url, fake.api_url(), Some(SECRET), &now).await;
    let hook = fake.wait_webhook().await;
    assert_eq!(hook.url.as_str(), PUBLIC_URL);
    assert_eq!(hook.secret.as_deref(), Some(SECRET));
    assert_eq!(hook.max_connections, Some(10));
    for kind in ["message", "callback_query", "my_chat_member", "chat_member"] {
        assert!(
            hook.allowed_updates.iter().any(|k| k == kind),
            "{kind} in {:?}",
            hook.allowed_updates
        );
    }
    let who = Resident::new(3001, "Lan");
    let good = serde_json::to_vec(&fake.text_update(&who, "/start")).unwrap();
    let path = hook.url.path();
    let post = |secret: Option<&'static str>, body: Vec<u8>| {
        fake_telegram::webhook::post_raw(r.addr, path, secret, body)
    };
    assert_eq!(post(None, good.clone()).await, 401);
    assert_eq!(post(Some("bi-mat_webhook-43"), good.clone()).await, 403);
    assert_eq!(post(Some("ngan"), good.clone()).await, 403);
    assert_eq!(post(Some(""), good.clone()).await, 403);
    for body in [
        &b"not json"[..],
        b"[]",
        b"{}",
        br#"{"message": {"text": "no update_id"}}"#,
        br#"{"update_id": "abc"}"#,
        b"\xff\xfe",
    ] {
        assert_eq!(post(Some(SECRET), body.to_vec()).await, 400, "{body:?}");
    }
    assert_eq!(db.int("SELECT count(*) FROM webhook_inbox").await, 0);
    assert!(fake.messages_to(who.id).is_empty());
    // Long polling is not used at all in webhook mode.
    assert!(fake.calls_to("getUpdates").is_empty());
    r.stop().await;
}
story!(
    story_forged_and_malformed_calls_are_refused,
    sqlite_forged_and_malformed_calls_are_refused,
    postgres_forged_and_malformed_calls_are_refused
);

/// A resident goes through the dialog to the receipt by webhook (with the secret derived
/// from the token); an update delivered twice is answered 200 both times and processed once.
async fn story_a_whole_dialog_by_webhook_with_a_redelivery_processed_once(db: TestDb) {
    with_campaign(&db, common::now()).await;
    let fake = Arc::new(FakeTelegram::start().await);
    let now = Arc::new(Mutex::new(common::now()));
    let r = Replica::start(&db.url, fake.api_url(), None, &now).await;
    let hook = fake.wait_webhook().await;
    let derived = hook.secret.clone().expect("a secret is always set");
    assert_eq!(derived.len(), 64);
    assert!(!derived.contains(TOKEN.split(':').nth(1).unwrap()));
    let mut c = Chat::new(&fake, Resident::new(3002, "Bình"));
    enter(&mut c, &db, r.addr).await;
    let opinion = fake.text_update(&c.who, "Cần thêm đèn ở ngõ 5");
    let t = c.deliver(&db, r.addr, opinion.clone()).await;
    assert!(any(&t, "Cần thêm đèn ở ngõ 5"), "{t:#?}");
    // Telegram sends it again (our 200 was lost on the way): 200, and nothing happens.
    assert_eq!(fake.post_update(r.addr, &opinion).await, 200);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(c.fresh().is_empty(), "a redelivery is not answered twice");
    c.press(&db, r.addr, "Về danh sách nội dung").await;
    let t = c.press(&db, r.addr, "Xem lại và gửi ý kiến").await;
    assert!(any(&t, "Quý vị có 1 ý kiến chưa gửi"), "{t:#?}");
    let t = c.press(&db, r.addr, "Gửi ý kiến").await;
    assert!(any(&t, "Cảm ơn Quý vị đã góp ý"), "{t:#?}");
    assert!(fake.calls_to("getUpdates").is_empty());
    r.stop().await;
    assert_eq!(
        db.strings("SELECT text FROM opinions ORDER BY id").await,
        vec!["Cần thêm đèn ở ngõ 5".to_owned()]
    );
    assert_eq!(
        db.int("SELECT count(*) FROM webhook_inbox WHERE state <> 'done'")
            .await,
        0
    );
}
story!(
    story_a_whole_dialog_by_webhook_with_a_redelivery_processed_once,
    sqlite_a_whole_dialog_by_webhook_with_a_redelivery_processed_once,
    postgres_a_whole_dialog_by_webhook_with_a_redelivery_processed_once
);

/// Replica A acknowledges updates but cannot process them (it never reaches Telegram, so
/// its processor never starts); one of them is then claimed by a replica that dies holding
/// the lease. A is stopped; replica B processes the free update at once and the leased one
/// once the lease has run out, in the resident's order.
async fn story_acknowledged_updates_are_processed_after_a_restart(db: TestDb) {
    with_campaign(&db, common::now()).await;
    let fake = Arc::new(FakeTelegram::start().await);
    let now = Arc::new(Mutex::new(common::now()));
    let nowhere = url::Url::parse("http://127.0.0.1:9/").unwrap();
    let a = Replica::start(&db.url, nowhere, Some(SECRET), &now).await;
    let first = Resident::new(3003, "Chi");
    let second = Resident::new(3004, "Dũng");
    let start_first = fake.text_update(&first, "/start");
    let start_second = fake.text_update(&second, "/start");
    for u in [&start_first, &start_second] {
        fake.note_update(u);
        let status = fake_telegram::webhook::post_raw(
            a.addr,
            "/telegram/webhook",
            Some(SECRET),
            serde_json::to_vec(u).unwrap(),
        )
        .await;
        assert_eq!(status, 200);
    }
    assert_eq!(db.store.inbox_pending(&source()).await.unwrap(), 2);
    // A replica claims the second resident's update and dies before processing it.
    let t0 = *now.lock().unwrap();
    let claimed = db
        .store
        .inbox_claim(
            &source(),
            "dead-replica",
            t0,
            t0 + chrono::Duration::seconds(60),
            1,
        )
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let leased_id = claimed[0].seq;
    a.stop().await;
    assert!(fake.messages_to(first.id).is_empty() && fake.messages_to(second.id).is_empty());

    let b = Replica::start(&db.url, fake.api_url(), Some(SECRET), &now).await;
    let (free, leased) = if Some(leased_id) == start_first["update_id"].as_i64() {
        (&second, &first)
    } else {
        (&first, &second)
    };
    fake.wait_for("the free update answered", |f| {
        (!f.messages_to(free.id).is_empty()).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        fake.messages_to(leased.id).is_empty(),
        "a live lease is respected"
    );
    *now.lock().unwrap() += chrono::Duration::seconds(61);
    fake.wait_for("the leased update answered after its lease", |f| {
        (!f.messages_to(leased.id).is_empty()).then_some(())
    })
    .await;
    for who in [&first, &second] {
        let texts: Vec<String> = fake
            .messages_to(who.id)
            .into_iter()
            .map(|m| m.visible)
            .collect();
        assert!(
            any(&texts, "Thông báo về xử lý dữ liệu cá nhân"),
            "{texts:#?}"
        );
        assert_eq!(texts.len(), 1, "answered once: {texts:#?}");
    }
    b.stop().await;
    assert_eq!(db.store.inbox_pending(&source()).await.unwrap(), 0);
}
story!(
    story_acknowledged_updates_are_processed_after_a_restart,
    sqlite_acknowledged_updates_are_processed_after_a_restart,
    postgres_acknowledged_updates_are_processed_after_a_restart
);

/// Holds the inbox table so that gopy cannot write it: SQLite's write lock, or on Postgres
/// an exclusive lock on the table, until dropped (rolled back).
enum Outage {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl Outage {
    async fn begin(db: &TestDb) -> Self {
        if db.url.starts_with("sqlite:") {
            let options =
                <sqlx::sqlite::SqliteConnectOptions as std::str::FromStr>::from_str(&db.url)
                    .unwrap();
            let mut conn = sqlx::SqliteConnection::connect_with(&options)
                .await
                .unwrap();
            sqlx::query("BEGIN IMMEDIATE")
                .execute(&mut conn)
                .await
                .unwrap();
            Outage::Sqlite(conn)
        } else {
            let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
            sqlx::query("BEGIN").execute(&mut conn).await.unwrap();
            sqlx::query("LOCK TABLE webhook_inbox IN ACCESS EXCLUSIVE MODE")
                .execute(&mut conn)
                .await
                .unwrap();
            Outage::Postgres(conn)
        }
    }

    async fn end(self) {
        match self {
            Outage::Sqlite(mut c) => {
                sqlx::query("ROLLBACK").execute(&mut c).await.unwrap();
            }
            Outage::Postgres(mut c) => {
                sqlx::query("ROLLBACK").execute(&mut c).await.unwrap();
            }
        }
    }
}

/// While the database cannot take the update the route answers 503 (never 200), and
/// Telegram's redelivery once it can is stored and processed once.
async fn story_a_database_outage_answers_503_and_the_redelivery_is_processed(db: TestDb) {
    with_campaign(&db, common::now()).await;
    let fake = Arc::new(FakeTelegram::start().await);
    let now = Arc::new(Mutex::new(common::now()));
    let r = Replica::start(&db.url, fake.api_url(), Some(SECRET), &now).await;
    fake.wait_webhook().await;
    let who = Resident::new(3005, "Em");
    let update = fake.text_update(&who, "/start");
    let outage = Outage::begin(&db).await;
    let status = fake.post_update(r.addr, &update).await;
    assert_eq!(status, 503, "not kept, not acknowledged");
    // Telegram keeps delivering; the database comes back meanwhile.
    let delivering = {
        let fake = fake.clone();
        let update = update.clone();
        let addr = r.addr;
        tokio::spawn(async move { fake.deliver(addr, &update).await })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    outage.end().await;
    let statuses = delivering.await.unwrap();
    assert_eq!(statuses.last(), Some(&200), "{statuses:?}");
    wait_done(&db, update["update_id"].as_i64().unwrap()).await;
    let texts = fake.messages_to(who.id);
    assert_eq!(texts.len(), 1, "processed once");
    assert!(
        texts[0]
            .visible
            .contains("Thông báo về xử lý dữ liệu cá nhân")
    );
    r.stop().await;
}
story!(
    story_a_database_outage_answers_503_and_the_redelivery_is_processed,
    sqlite_a_database_outage_answers_503_and_the_redelivery_is_processed,
    postgres_a_database_outage_answers_503_and_the_redelivery_is_processed
);

/// Two replicas on one database. Two residents each send several opinions in a burst; each
/// update goes to the other replica than the one before, both residents' side by side, and
/// all are acknowledged long before they are processed. Each resident's opinions are stored,
/// and answered, in the order they were sent.
async fn story_two_replicas_keep_each_resident_s_order(db: TestDb) {
    with_campaign(&db, common::now()).await;
    let fake = Arc::new(FakeTelegram::start().await);
    let now = Arc::new(Mutex::new(common::now()));
    let a = Replica::start(&db.url, fake.api_url(), Some(SECRET), &now).await;
    let b = Replica::start(&db.url, fake.api_url(), Some(SECRET), &now).await;
    fake.wait_for("both replicas registered", |f| {
        (f.calls_to("setWebhook").len() >= 2).then_some(())
    })
    .await;
    let mut chats = vec![
        Chat::new(&fake, Resident::new(3006, "Giang")),
        Chat::new(&fake, Resident::new(3007, "Hà")),
    ];
    for (i, c) in chats.iter_mut().enumerate() {
        enter(c, &db, if i == 0 { a.addr } else { b.addr }).await;
    }
    const N: usize = 8;
    let mut last_ids = Vec::new();
    let mut runs = Vec::new();
    for (r, c) in chats.iter().enumerate() {
        let updates: Vec<Value> = (1..=N)
            .map(|n| {
                let text = format!("Ý kiến số {n} của {}", c.who.first_name);
                fake.text_update(&c.who, &text)
            })
            .collect();
        last_ids.push(updates[N - 1]["update_id"].as_i64().unwrap());
        // Telegram sends one chat's next update once the previous one got its 200 (which
        // comes at commit, long before processing); here each one goes to the other replica
        // than the one before, and the two residents' deliveries run side by side.
        let fake = fake.clone();
        let replicas = [a.addr, b.addr];
        runs.push(async move {
            for (i, u) in updates.iter().enumerate() {
                let statuses = fake.deliver(replicas[(i + r) % 2], u).await;
                assert_eq!(statuses.last(), Some(&200), "{statuses:?}");
            }
        });
    }
    futures::future::join_all(runs).await;
    for id in last_ids {
        wait_done(&db, id).await;
    }
    for c in &mut chats {
        let name = c.who.first_name.clone();
        let expected: Vec<String> = (1..=N)
            .map(|n| format!("Ý kiến số {n} của {name}"))
            .collect();
        let stored = db
            .strings(&format!(
                "SELECT text FROM opinions WHERE text LIKE '%của {name}' ORDER BY id"
            ))
            .await;
        assert_eq!(stored, expected, "stored in the order sent");
        let texts = c.fresh();
        let echoed: Vec<usize> = texts
            .iter()
            .filter_map(|t| {
                expected
                    .iter()
                    .position(|e| t.contains(e.as_str()))
                    .map(|p| p + 1)
            })
            .collect();
        assert_eq!(
            echoed,
            (1..=N).collect::<Vec<_>>(),
            "answered in order: {texts:#?}"
        );
    }
    a.stop().await;
    b.stop().await;
}
story!(
    story_two_replicas_keep_each_resident_s_order,
    sqlite_two_replicas_keep_each_resident_s_order,
    postgres_two_replicas_keep_each_resident_s_order
);
