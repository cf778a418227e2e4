//! The Zalo Official Account adapter against the fake OA API and OAuth server
//! (`tests/fake_zalo_oa/`). Inside the whole gopy (`Application`): a resident goes through
//! the dialog by signed webhook calls (every signature variant), forged and replayed calls
//! are refused or dropped, and the messaging window is respected and recorded. On the
//! adapter itself: a token refresh raced by two processes on one database, events surviving
//! a crash between the 200 and their processing, a dead refresh token reported and replaced
//! with `gopy zalo-oa reset-token`, and GMF group messages with mentions escaped. The
//! database stories run on SQLite and, when `TEST_DATABASE_URL` is set, on Postgres.

mod common;
mod fake_zalo_oa;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use common::TestDb;
use fake_zalo_oa::{
    APP_ID, APP_SECRET, FIRST_REFRESH, FakeZaloOa, OA_SECRET, STORAGE_KEY, Signing,
};
use gopy::announce::outbox::SendError;
use gopy::channels::zalo_oa::{INBOX_SOURCE, ProcessorSettings, TokenError, ZaloOa};
use gopy::config::{Settings, ZaloOaSettings};
use gopy::startup::Application;

/// The OA settings for the fake, with `refresh` as the first refresh token.
fn oa_settings(fake: &FakeZaloOa, refresh: &str) -> ZaloOaSettings {
    ZaloOaSettings {
        app_id: Some(APP_ID.to_owned()),
        app_secret: Some(APP_SECRET.to_owned()),
        oa_secret_key: Some(OA_SECRET.to_owned()),
        refresh_token: Some(refresh.to_owned()),
        api_url: fake.url(),
        oauth_url: fake.url(),
        secret_key: Some(STORAGE_KEY.to_owned()),
    }
}

/// Inserts the sample campaign (open from a day ago to six days ahead).
async fn with_campaign(db: &TestDb) {
    db.store
        .insert_campaign(&common::sample_campaign("phuong-bk", common::now()))
        .await
        .expect("insert the campaign");
}

/// Waits (up to 10 s) until the inbox has no pending event.
async fn wait_inbox_empty(db: &TestDb) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while db
        .int("SELECT count(*) FROM webhook_inbox WHERE state = 'pending'")
        .await
        > 0
    {
        assert!(Instant::now() < deadline, "the OA inbox is still pending");
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

/// gopy running with the OA adapter against the fake.
struct Gopy {
    /// The fake OA.
    fake: Arc<FakeZaloOa>,
    /// gopy's database.
    db: TestDb,
    /// gopy's HTTP server.
    http: SocketAddr,
    /// Stops gopy.
    shutdown: CancellationToken,
    /// The running application.
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Gopy {
    async fn start(db: TestDb) -> Self {
        let fake = Arc::new(FakeZaloOa::start().await);
        let settings = Settings {
            database_url: db.url.clone(),
            http_addr: "127.0.0.1:0".parse().expect("address"),
            demo: false,
            zalo_oa: oa_settings(&fake, FIRST_REFRESH),
            ..Settings::default()
        };
        let app = Application::build(settings).await.expect("gopy builds");
        let http = app.local_addr().expect("bound");
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(app.run(shutdown.clone()));
        Self {
            fake,
            db,
            http,
            shutdown,
            task,
        }
    }

    async fn stop(self) -> TestDb {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(15), self.task)
            .await
            .expect("gopy stops")
            .expect("no panic")
            .expect("a clean stop");
        self.db
    }
}

/// One resident writing to the OA.
struct Chat<'a> {
    /// gopy.
    g: &'a Gopy,
    /// The resident's OA user id.
    user: String,
    /// How many of the OA's messages to them were already returned.
    seen: usize,
    /// Events posted, to take turns with the signature variants.
    sent: usize,
}

impl<'a> Chat<'a> {
    fn new(g: &'a Gopy, user: &str) -> Self {
        Self {
            g,
            user: user.to_owned(),
            seen: 0,
            sent: 0,
        }
    }

    /// Posts an event, signed in turn with each variant Zalo is seen to use, and returns
    /// the OA's new messages to the resident (at least one).
    async fn deliver(&mut self, ev: Value) -> Vec<String> {
        let signing = [Signing::AppId, Signing::MacPrefix, Signing::OaId][self.sent % 3];
        self.sent += 1;
        let status = self.g.fake.post_event(self.g.http, &ev, signing).await;
        assert_eq!(status, 200, "{signing:?}: {ev}");
        self.g.fake.wait_messages(&self.user, self.seen + 1).await;
        self.settle().await;
        let all = self.g.fake.texts_to(&self.user);
        let new = all[self.seen..].to_vec();
        self.seen = all.len();
        new
    }

    /// Waits until no message to the resident arrived for 300 ms.
    async fn settle(&self) {
        let mut count = self.g.fake.texts_to(&self.user).len();
        let mut since = Instant::now();
        while since.elapsed() < Duration::from_millis(300) {
            tokio::time::sleep(Duration::from_millis(30)).await;
            let now = self.g.fake.texts_to(&self.user).len();
            if now != count {
                count = now;
                since = Instant::now();
            }
        }
    }

    async fn send(&mut self, text: &str) -> Vec<String> {
        let ev = self.g.fake.text_event(&self.user, text);
        self.deliver(ev).await
    }

    /// Replies with the number of the choice whose label contains `label`.
    async fn choose(&mut self, label: &str) -> Vec<String> {
        let texts = self.g.fake.texts_to(&self.user);
        let number = texts
            .iter()
            .rev()
            .find_map(|t| {
                t.lines().find_map(|line| {
                    let (n, rest) = line.split_once(". ")?;
                    (n.chars().all(|c| c.is_ascii_digit()) && rest.contains(label))
                        .then(|| n.to_owned())
                })
            })
            .unwrap_or_else(|| panic!("no numbered choice {label:?} in {texts:#?}"));
        self.send(&number).await
    }
}

fn any(texts: &[String], needle: &str) -> bool {
    texts.iter().any(|t| t.contains(needle))
}

// ---- the dialog over the OA, on SQLite and Postgres ----

/// A resident goes through the whole dialog over the OA by signed webhook calls (each
/// signature variant in turn); a picture gets the text-only answer; the OA's own echoes are
/// dropped; what is stored is on the Zalo channel under an `oa:` contact, apart from Bot
/// API ids, and every processed event's body is gone from the inbox.
async fn story_whole_dialog_over_the_oa(db: TestDb) {
    with_campaign(&db).await;
    let g = Gopy::start(db).await;
    let user = "246845883529197922";
    let mut c = Chat::new(&g, user);
    let t = c.send("Xin chào").await;
    assert!(any(&t, "Thông báo về xử lý dữ liệu cá nhân"), "{t:#?}");
    assert!(any(&t, "phần mềm trả lời tự động"), "{t:#?}");
    assert!(any(&t, "1. Đồng ý, góp ý có tên"), "{t:#?}");
    let t = c
        .deliver(g.fake.event(user, "image", json!({"attachments": []})))
        .await;
    assert!(any(&t, "chỉ nhận ý kiến bằng tin nhắn văn bản"), "{t:#?}");
    // Zalo echoes what the OA sends: dropped, nothing answered.
    let mut echo = g.fake.text_event(user, "Cảm ơn");
    echo["event_name"] = json!("oa_send_text");
    assert_eq!(g.fake.post_event(g.http, &echo, Signing::AppId).await, 200);
    c.choose("góp ý ẩn danh").await;
    let t = c.send("Tổ dân phố 1").await;
    assert!(any(&t, "Bỏ qua câu hỏi này"), "{t:#?}");
    let t = c.choose("Bỏ qua câu hỏi này").await;
    assert!(any(&t, "nhận thông báo của địa phương"), "{t:#?}");
    let t = c.choose("Không, cảm ơn").await;
    assert!(any(&t, "Các nội dung xin ý kiến"), "{t:#?}");
    let t = c.choose("Chỉnh trang đô thị").await;
    assert!(any(&t, "Nội dung 1/3: Chỉnh trang đô thị"), "{t:#?}");
    c.send("Cần thêm đèn chiếu sáng ở ngõ 5 [@123]").await;
    let t = c
        .send("Đu\u{31b}o\u{31b}\u{300}ng nga\u{323}\u{302}p")
        .await;
    assert!(any(&t, "ý kiến thứ 2"), "{t:#?}");
    c.choose("Về danh sách nội dung").await;
    let t = c.choose("Xem lại và gửi ý kiến").await;
    assert!(any(&t, "Quý vị có 2 ý kiến chưa gửi"), "{t:#?}");
    let t = c.choose("Gửi ý kiến").await;
    assert!(any(&t, "Cảm ơn Quý vị đã góp ý"), "{t:#?}");
    for call in g.fake.calls_to("/v3.0/oa/message/cs") {
        assert_eq!(call.code, 0, "every reply accepted");
    }
    assert_eq!(
        g.fake.refresh_calls().len(),
        1,
        "one refresh for the whole dialog"
    );
    let metrics = common::metrics_text(g.http).await;
    for name in [
        "gopy_zalo_oa_events_total{kind=\"text\"}",
        "gopy_zalo_oa_events_total{kind=\"media\"}",
        "gopy_dialog_step_seconds_count{channel=\"zalo_oa\"}",
        "gopy_zalo_oa_webhook_total{outcome=\"dropped\"}",
    ] {
        assert!(metrics.contains(name), "{name} in {metrics}");
    }
    let db = g.stop().await;
    assert_eq!(
        db.strings("SELECT text FROM opinions ORDER BY id").await,
        vec!["Cần thêm đèn chiếu sáng ở ngõ 5 [@123]", "Đường ngập"]
    );
    assert_eq!(
        db.int(
            "SELECT count(*) FROM opinions WHERE status = 'submitted' AND channel = 'zalo' \
             AND anonymous AND unit_code = 'TDP-1'"
        )
        .await,
        2
    );
    assert_eq!(
        db.strings("SELECT external_id FROM contacts").await,
        vec![format!("oa:{user}")]
    );
    assert_eq!(
        db.int("SELECT count(*) FROM webhook_inbox WHERE state <> 'done' OR body IS NOT NULL")
            .await,
        0,
        "every event processed and its body dropped"
    );
    assert_eq!(
        db.int("SELECT count(*) FROM webhook_inbox WHERE kind = 'oa_send_text'")
            .await,
        0
    );
}

common::story!(
    story_whole_dialog_over_the_oa,
    the_whole_dialog_runs_over_the_oa_on_sqlite,
    the_whole_dialog_runs_over_the_oa_on_postgres
);

// ---- webhook mechanics, on SQLite ----

/// Unsigned calls get 401, forged ones 403, bodies that are not events 400; a replayed
/// event (the same signed bytes again) is answered 200 and processed once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_calls_are_refused_and_replays_processed_once() {
    let db = TestDb::sqlite().await;
    with_campaign(&db).await;
    let g = Gopy::start(db).await;
    let user = "100000000000000001";
    let ev = g.fake.text_event(user, "Xin chào");
    assert_eq!(g.fake.post_event(g.http, &ev, Signing::Unsigned).await, 401);
    assert_eq!(g.fake.post_event(g.http, &ev, Signing::Forged).await, 403);
    // A valid signature over other bytes (the body altered in transit) is refused.
    let body = serde_json::to_vec_pretty(&ev).expect("json");
    let sig = FakeZaloOa::sign(&body, &ev, Signing::AppId);
    let mut altered = ev.clone();
    altered["message"]["text"] = json!("Đã sửa");
    let altered = serde_json::to_vec_pretty(&altered).expect("json");
    assert_eq!(g.fake.post_raw(g.http, &altered, sig.clone()).await, 403);
    assert_eq!(
        g.fake
            .post_raw(g.http, b"not json", Some("0".repeat(64)))
            .await,
        400
    );
    let no_event = json!({"timestamp": "1543908534740"});
    assert_eq!(
        g.fake.post_event(g.http, &no_event, Signing::AppId).await,
        400
    );
    // A genuinely signed event older than any key the inbox keeps: dropped as a replay.
    let ancient = g.fake.event_at(
        user,
        "text",
        json!({"text": "Xin chào"}),
        (chrono::Utc::now() - chrono::Duration::days(11)).timestamp_millis(),
    );
    assert_eq!(
        g.fake.post_event(g.http, &ancient, Signing::AppId).await,
        200
    );
    assert!(g.fake.texts_to(user).is_empty(), "nothing processed yet");
    // The genuine call, then the same bytes replayed twice; each answered well within
    // Zalo's 2 seconds (the processing comes after).
    for _ in 0..3 {
        let started = Instant::now();
        assert_eq!(g.fake.post_raw(g.http, &body, sig.clone()).await, 200);
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
    }
    g.fake.wait_messages(user, 1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let first_answer = g.fake.texts_to(user);
    let db = g.stop().await;
    assert_eq!(db.int("SELECT count(*) FROM webhook_inbox").await, 1);
    assert_eq!(db.int("SELECT count(*) FROM contacts").await, 1);
    let distinct: HashSet<_> = first_answer.iter().collect();
    assert_eq!(
        distinct.len(),
        first_answer.len(),
        "answered once: {first_answer:#?}"
    );
}

/// Outside the 7-day window nothing is sent and the reason is recorded; Zalo's own window
/// refusal (-230) and an unreachable user (-217) are recorded the same way; a rate limit
/// (-32) is waited out and the reply still goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_messaging_window_is_respected_and_refusals_recorded() {
    let db = TestDb::sqlite().await;
    with_campaign(&db).await;
    let g = Gopy::start(db).await;
    // An event that waited 8 days (gopy was down): stepped, but no reply may go.
    let old = chrono::Utc::now() - chrono::Duration::days(8);
    let late = g.fake.event_at(
        "200000000000000001",
        "text",
        json!({"text": "Xin chào"}),
        old.timestamp_millis(),
    );
    assert_eq!(g.fake.post_event(g.http, &late, Signing::AppId).await, 200);
    wait_inbox_empty(&g.db).await;
    assert!(g.fake.texts_to("200000000000000001").is_empty());
    // Zalo refuses a reply as outside the window.
    g.fake.fail_next("/v3.0/oa/message/cs", -230);
    let ev = g.fake.text_event("200000000000000002", "Xin chào");
    assert_eq!(g.fake.post_event(g.http, &ev, Signing::AppId).await, 200);
    wait_inbox_empty(&g.db).await;
    // A resident who asked for announcements later blocks the OA: recorded, and their
    // announcements stop.
    let ev = g.fake.text_event("200000000000000003", "Xin chào");
    assert_eq!(g.fake.post_event(g.http, &ev, Signing::AppId).await, 200);
    g.fake.wait_messages("200000000000000003", 1).await;
    wait_inbox_empty(&g.db).await;
    g.db.execute(
        "INSERT INTO resident_notices (contact_id, subscribed, unit_code, reason, changed_at) \
         SELECT id, 1, NULL, 'command', '2026-01-01T00:00:00Z' FROM contacts \
         WHERE external_id = 'oa:200000000000000003'",
    )
    .await
    .expect("subscribe");
    g.fake.fail_next("/v3.0/oa/message/cs", -217);
    let ev = g.fake.text_event("200000000000000003", "1");
    assert_eq!(g.fake.post_event(g.http, &ev, Signing::AppId).await, 200);
    wait_inbox_empty(&g.db).await;
    // A rate limit is waited out.
    g.fake.fail_next("/v3.0/oa/message/cs", -32);
    let ev = g.fake.text_event("200000000000000004", "Xin chào");
    assert_eq!(g.fake.post_event(g.http, &ev, Signing::AppId).await, 200);
    g.fake.wait_messages("200000000000000004", 1).await;
    // A member writes in a GMF group of the OA: the group becomes known (pending), once.
    for text in ["Chào cả nhóm", "Họp lúc mấy giờ?"] {
        let mut ev = g.fake.text_event("200000000000000006", text);
        ev["event_name"] = json!("user_send_group_text");
        ev["recipient"] = json!({"id": "5512345678901234567"});
        assert_eq!(g.fake.post_event(g.http, &ev, Signing::AppId).await, 200);
    }
    // Follows and unfollows are recorded (an unfollow also turns announcements off).
    for (name, ms) in [("follow", 1_000), ("unfollow", 2_000)] {
        let ev = json!({"app_id": APP_ID, "oa_id": fake_zalo_oa::OA_ID, "event_name": name,
            "follower": {"id": "200000000000000005"}, "source": "oa_profile",
            "timestamp": (chrono::Utc::now().timestamp_millis() - 10_000 + ms).to_string()});
        assert_eq!(g.fake.post_event(g.http, &ev, Signing::OaId).await, 200);
        // Delivered again: dropped.
        assert_eq!(g.fake.post_event(g.http, &ev, Signing::OaId).await, 200);
    }
    wait_inbox_empty(&g.db).await;
    let db = g.stop().await;
    assert_eq!(
        db.int(
            "SELECT count(*) FROM zalo_oa_users WHERE user_id = '200000000000000005' \
             AND following = false AND last_interaction_at IS NOT NULL \
             AND unreachable_code = -213"
        )
        .await,
        1
    );
    assert_eq!(
        db.int("SELECT count(*) FROM webhook_inbox WHERE kind IN ('follow', 'unfollow')")
            .await,
        2
    );
    assert_eq!(
        db.strings(
            "SELECT user_id || ':' || reason || ':' || coalesce(code, 0) FROM zalo_oa_unsent \
             ORDER BY id"
        )
        .await,
        vec![
            "200000000000000001:window:0",
            "200000000000000002:window:-230",
            "200000000000000003:unreachable:-217",
        ]
    );
    assert_eq!(
        db.int(
            "SELECT count(*) FROM zalo_oa_users WHERE user_id = '200000000000000003' \
             AND unreachable_code = -217"
        )
        .await,
        1
    );
    assert_eq!(
        db.strings("SELECT external_id || ' ' || state FROM chat_groups WHERE channel = 'zalo'")
            .await,
        vec!["oa:5512345678901234567 pending"]
    );
    assert!(
        g_texts_empty(&db).await,
        "nothing of a group message is kept"
    );
    assert_eq!(
        db.strings("SELECT reason FROM resident_notices WHERE subscribed = 0")
            .await,
        vec!["blocked"]
    );
    // The late resident's step was stored all the same: nothing is lost.
    assert_eq!(
        db.int("SELECT count(*) FROM contacts WHERE external_id = 'oa:200000000000000001'")
            .await,
        1
    );
}

// ---- the adapter itself ----

/// The OA adapter on `store`, not running.
async fn adapter(store: Arc<dyn gopy::store::Store>, fake: &FakeZaloOa, refresh: &str) -> ZaloOa {
    let dialogs = gopy::service::Dialogs::new(store, gopy::service::system_clock())
        .await
        .expect("dialogs");
    let l10n = Arc::new(gopy::i18n::Localizer::new().expect("locales"));
    ZaloOa::new(dialogs, l10n, &oa_settings(fake, refresh))
        .expect("builds")
        .expect("configured")
}

/// Serves an adapter's webhook on a free port until the token is cancelled.
async fn serve_webhook(oa: &ZaloOa, stop: CancellationToken) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let router = oa.webhook_router();
    tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await
            .expect("serve");
    });
    addr
}

/// Two gopy processes on one database need a token at the same moment: exactly one
/// refresh reaches Zalo, both use the token it stored, and the spent refresh token is
/// refused if used again. A `-216` later triggers one refresh and one retry.
async fn story_refresh_raced_by_two_processes(db: TestDb) {
    let fake = FakeZaloOa::start().await;
    fake.set_refresh_delay(Duration::from_millis(300));
    fake.set_expires_in(90_000, true);
    // Two processes: two store handles (two pools) on one database.
    let other = gopy::store::open(&db.url).await.expect("second handle");
    let a = adapter(db.store.clone(), &fake, FIRST_REFRESH).await;
    let b = adapter(other, &fake, FIRST_REFRESH).await;
    a.seed_token().await.expect("seed");
    b.seed_token().await.expect("seed (already there)");
    let (ta, tb) = tokio::join!(a.access_token(), b.access_token());
    let (ta, tb) = (ta.expect("a has a token"), tb.expect("b has a token"));
    assert_eq!(ta, tb);
    assert!(fake.access_valid(&ta));
    assert_eq!(
        fake.refresh_calls(),
        vec![(FIRST_REFRESH.to_owned(), 0)],
        "exactly one refresh"
    );
    // Stored encrypted: neither token appears in the database.
    let stored = db
        .strings("SELECT refresh_token || ' ' || access_token FROM zalo_oa_tokens")
        .await;
    assert_eq!(stored.len(), 1);
    assert!(
        !stored[0].contains("refresh-") && !stored[0].contains("access-"),
        "{stored:?}"
    );
    // The spent refresh token is refused by Zalo.
    let reused = reqwest::Client::new()
        .post(fake.url().join("/v4/oa/access_token").expect("url"))
        .header("secret_key", APP_SECRET)
        .form(&[
            ("app_id", APP_ID),
            ("grant_type", "refresh_token"),
            ("refresh_token", FIRST_REFRESH),
        ])
        .send()
        .await
        .expect("post")
        .json::<Value>()
        .await
        .expect("json");
    assert_eq!(reused["error"], json!(-14014), "{reused}");
    // Zalo expires the token early: the next call gets -216, refreshes once, retries.
    fake.expire_access_tokens();
    fake.add_group("g1", false);
    a.group_sender()
        .send("g1", "Thông báo họp tổ dân phố")
        .await
        .expect("sent after one refresh");
    b.group_sender()
        .send("g1", "Thông báo lần hai")
        .await
        .expect("b reads the new token");
    let calls = fake.refresh_calls();
    assert_eq!(calls.len(), 3, "{calls:?}");
    assert_eq!(calls[2], ("refresh-1".to_owned(), 0));
    let tokens: HashSet<_> = fake.group_sent().into_iter().map(|s| s.token).collect();
    assert_eq!(tokens, HashSet::from(["access-2".to_owned()]));
}

common::story!(
    story_refresh_raced_by_two_processes,
    one_refresh_for_two_processes_on_sqlite,
    one_refresh_for_two_processes_on_postgres
);

/// Events acknowledged but not processed survive a crash: one kept by a process that died
/// before processing it, one leased by a process that died while processing it. The next
/// process handles each once: its resident gets the same answer as a resident whose event
/// was processed normally.
async fn story_events_survive_a_crash(db: TestDb) {
    with_campaign(&db).await;
    let fake = FakeZaloOa::start().await;
    // The first process acknowledges two events, then dies without processing them.
    let first = adapter(db.store.clone(), &fake, FIRST_REFRESH).await;
    first.seed_token().await.expect("seed");
    let stop_first = CancellationToken::new();
    let addr = serve_webhook(&first, stop_first.clone()).await;
    for user in ["300000000000000001", "300000000000000002"] {
        let ev = fake.text_event(user, "Xin chào");
        assert_eq!(fake.post_event(addr, &ev, Signing::AppId).await, 200);
    }
    stop_first.cancel();
    drop(first);
    assert_eq!(
        db.store.inbox_pending(INBOX_SOURCE).await.expect("pending"),
        2
    );
    // The second event was taken by a process that then died (its lease runs for 1 s).
    let now = chrono::Utc::now();
    let taken = db
        .store
        .inbox_claim(
            INBOX_SOURCE,
            "dead-process",
            now,
            now + chrono::Duration::seconds(1),
            1,
        )
        .await
        .expect("claim");
    assert_eq!(taken.len(), 1);
    // A new process starts.
    let second = adapter(db.store.clone(), &fake, FIRST_REFRESH)
        .await
        .with_processing(ProcessorSettings {
            lease: Duration::from_secs(30),
            idle: Duration::from_millis(100),
        });
    let stop = CancellationToken::new();
    let addr = serve_webhook(&second, stop.clone()).await;
    let running = tokio::spawn(second.run(stop.clone()));
    // A third resident, processed normally, shows what one answer looks like.
    let ev = fake.text_event("300000000000000003", "Xin chào");
    assert_eq!(fake.post_event(addr, &ev, Signing::AppId).await, 200);
    let reference = fake.wait_messages("300000000000000003", 1).await;
    for user in ["300000000000000001", "300000000000000002"] {
        fake.wait_messages(user, reference.len()).await;
    }
    wait_inbox_empty(&db).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    for user in ["300000000000000001", "300000000000000002"] {
        assert_eq!(fake.texts_to(user), reference, "{user} answered once");
    }
    stop.cancel();
    running.await.expect("no panic").expect("clean stop");
    assert_eq!(
        db.int("SELECT count(*) FROM webhook_inbox WHERE state = 'done'")
            .await,
        3
    );
    assert_eq!(db.int("SELECT count(*) FROM contacts").await, 3);
}

common::story!(
    story_events_survive_a_crash,
    events_survive_a_crash_on_sqlite,
    events_survive_a_crash_on_postgres
);

/// A refresh token Zalo refuses is marked dead once (no more calls to Zalo) and reported;
/// `gopy zalo-oa reset-token` with a new one brings the OA back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_refresh_token_is_reported_until_reset_from_the_cli() {
    let db = TestDb::sqlite().await;
    let fake = FakeZaloOa::start().await;
    let oa = adapter(db.store.clone(), &fake, "refresh-revoked").await;
    oa.seed_token().await.expect("seed");
    assert!(matches!(oa.access_token().await, Err(TokenError::Dead(_))));
    assert!(matches!(oa.access_token().await, Err(TokenError::Dead(_))));
    assert_eq!(
        fake.refresh_calls().len(),
        1,
        "a dead token is not tried again"
    );
    assert_eq!(
        db.int("SELECT count(*) FROM zalo_oa_tokens WHERE dead_at IS NOT NULL")
            .await,
        1
    );
    let gopy = |args: &[&str], refresh: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_gopy"))
            .args(args)
            .env("DATABASE_URL", &db.url)
            .env("GOPY_DEMO", "off")
            .env("USER", "tester")
            .env("ZALO_OA_APP_ID", APP_ID)
            .env("ZALO_OA_APP_SECRET", APP_SECRET)
            .env("ZALO_OA_SECRET_KEY", OA_SECRET)
            .env("ZALO_OA_REFRESH_TOKEN", refresh)
            .env("ZALO_OA_API_URL", fake.url().as_str())
            .env("ZALO_OA_OAUTH_URL", fake.url().as_str())
            .env("GOPY_SECRET_KEY", STORAGE_KEY)
            .env_remove("TELEGRAM_BOT_TOKEN")
            .output()
            .expect("run gopy")
    };
    let status = gopy(&["zalo-oa", "status"], FIRST_REFRESH);
    let out = String::from_utf8_lossy(&status.stdout);
    assert!(status.status.success(), "{out}");
    assert!(out.contains("DEAD") && out.contains("reset-token"), "{out}");
    assert!(!out.contains("refresh-"), "no token printed: {out}");
    let reset = gopy(&["zalo-oa", "reset-token"], FIRST_REFRESH);
    assert!(
        reset.status.success(),
        "{}",
        String::from_utf8_lossy(&reset.stderr)
    );
    let token = oa.access_token().await.expect("alive again");
    assert!(fake.access_valid(&token));
    assert_eq!(
        db.int("SELECT count(*) FROM audit_log WHERE action = 'zalo_oa.reset_token'")
            .await,
        1
    );
}

/// GMF: a group the OA owns gets the text with `[@…]` mention patterns escaped; a group
/// the OA is not in (-403) or a disabled one (-237) is lost (Forbidden); a rate limit (-32)
/// asks the outbox to wait.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gmf_group_messages_escape_mentions_and_map_errors() {
    let db = TestDb::sqlite().await;
    let fake = FakeZaloOa::start().await;
    let oa = adapter(db.store.clone(), &fake, FIRST_REFRESH).await;
    oa.seed_token().await.expect("seed");
    fake.add_group("g-to-1", false);
    fake.add_group("g-off", true);
    let sender = oa.group_sender();
    let text = "Họp tổ dân phố 19h. Ý kiến của [@8271651234]: \"[@all] đi họp\" (email a@b)";
    let id = sender.send("oa:g-to-1", text).await.expect("sent");
    assert!(!id.is_empty());
    let sent = fake.group_sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, "g-to-1");
    assert!(!sent[0].text.contains("[@"), "{}", sent[0].text);
    assert_eq!(sent[0].text.replace('\u{200B}', ""), text);
    assert!(matches!(
        sender.send("g-unknown", "x").await,
        Err(SendError::Forbidden(_))
    ));
    assert!(matches!(
        sender.send("g-off", "x").await,
        Err(SendError::Forbidden(_))
    ));
    fake.fail_next("/v3.0/oa/group/message", -32);
    assert!(matches!(
        sender.send("g-to-1", "x").await,
        Err(SendError::RetryAfter(_))
    ));
    // A long announcement goes as parts of at most 2,000 characters.
    let long = "Thông báo về việc lấy ý kiến dự thảo. ".repeat(120);
    sender.send("g-to-1", &long).await.expect("sent");
    let parts: Vec<_> = fake.group_sent().into_iter().skip(1).collect();
    assert!(parts.len() >= 2);
    assert!(parts.iter().all(|p| p.text.chars().count() <= 2000));
}

/// An access token is refreshed a few minutes before it expires, not after: one that lives
/// longer than that is reused, one about to expire is replaced before it is used.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_access_token_is_refreshed_minutes_before_it_expires() {
    let db = TestDb::sqlite().await;
    let fake = FakeZaloOa::start().await;
    let oa = adapter(db.store.clone(), &fake, FIRST_REFRESH).await;
    oa.seed_token().await.expect("seed");
    // Lives 10 minutes: reused.
    fake.set_expires_in(600, false);
    let first = oa.access_token().await.expect("token");
    assert_eq!(oa.access_token().await.expect("token"), first);
    assert_eq!(fake.refresh_calls().len(), 1);
    // Expires in 4 minutes (within the 5-minute margin): refreshed before use, each time.
    fake.set_expires_in(240, true);
    fake.expire_access_tokens();
    db.execute("UPDATE zalo_oa_tokens SET access_expires_at = NULL")
        .await
        .expect("forget the expiry");
    let short = oa.access_token().await.expect("token");
    let next = oa.access_token().await.expect("token");
    assert_ne!(short, next, "a token within the margin is not used");
    assert!(fake.access_valid(&next));
    assert_eq!(fake.refresh_calls().len(), 3);
    assert!(fake.refresh_calls().iter().all(|(_, code)| *code == 0));
}

/// Whether no group message's body is left in the inbox.
async fn g_texts_empty(db: &TestDb) -> bool {
    db.int(
        "SELECT count(*) FROM webhook_inbox WHERE kind = 'user_send_group_text' \
         AND (body IS NOT NULL OR state <> 'done')",
    )
    .await
        == 0
}

common::story!(
    story_an_announcement_reaches_an_oa_group,
    an_announcement_reaches_an_oa_group_on_sqlite,
    an_announcement_reaches_an_oa_group_on_postgres
);

/// A GMF group learnt from a member's message, bound to a unit, gets an approved broadcast
/// through the OA's own outbox (not the Zalo bot's), with mention patterns escaped.
async fn story_an_announcement_reaches_an_oa_group(db: TestDb) {
    use gopy::announce::broadcast::{Action, act, create};
    use gopy::store::announce::{Audience, BroadcastState, Schedule};
    let store = db.store.clone();
    common::campaign_with_official_and_approver(&store).await;
    let g = Gopy::start(db).await;
    g.fake.add_group("5512345678901234567", false);
    let mut ev = g.fake.text_event("200000000000000006", "Chào cả nhóm");
    ev["event_name"] = json!("user_send_group_text");
    ev["recipient"] = json!({"id": "5512345678901234567"});
    assert_eq!(g.fake.post_event(g.http, &ev, Signing::AppId).await, 200);
    wait_inbox_empty(&g.db).await;
    let group = store
        .group_by_external(gopy::domain::Channel::Zalo, "oa:5512345678901234567")
        .await
        .unwrap()
        .expect("the GMF group is known");
    store
        .bind_group(group.id, Some("TDP-1"), "cli:tester", None, common::now())
        .await
        .unwrap()
        .expect("bound");
    let text = "Kính mời bà con góp ý dự thảo; xin đừng gõ [@123] trong nhóm.";
    let audience = Audience {
        units: vec!["TDP-1".to_owned()],
        subunits: false,
        groups: vec![],
        residents: false,
    };
    let b = create(&store, "lan", text, audience, None, common::now())
        .await
        .unwrap();
    act(&store, b.id, "lan", Action::Submit, common::now())
        .await
        .unwrap();
    act(&store, b.id, "minh", Action::Approve, common::now())
        .await
        .unwrap();
    act(
        &store,
        b.id,
        "lan",
        Action::Schedule(Schedule::Now),
        common::now(),
    )
    .await
    .unwrap();
    common::wait_broadcast(&store, b.id, BroadcastState::Sent, Duration::from_secs(20)).await;
    let sent = g.fake.group_sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].to, "5512345678901234567");
    assert!(
        sent[0].text.contains("[\u{200B}@123]"),
        "{:?}",
        sent[0].text
    );
    assert_eq!(
        g.db.strings("SELECT channel FROM deliveries").await,
        vec!["zalo_oa"]
    );
    g.stop().await;
}

/// Two gopy processes on one database (two store handles), both serving the OA webhook and
/// processing the shared inbox. Two users each send several messages in a burst; each event
/// goes to the other process than the one before, both users' side by side, and each is
/// acknowledged once kept. Every event is processed once, and one user's events one after
/// the other in the order Zalo stamped them, whichever process took each.
async fn story_two_processes_keep_each_user_s_order(db: TestDb) {
    with_campaign(&db).await;
    let fake = FakeZaloOa::start().await;
    let other = gopy::store::open(&db.url).await.expect("second handle");
    let settings = ProcessorSettings {
        lease: Duration::from_secs(30),
        idle: Duration::from_millis(100),
    };
    let stop = CancellationToken::new();
    let mut addrs = Vec::new();
    let mut running = Vec::new();
    for store in [db.store.clone(), other] {
        let oa = adapter(store, &fake, FIRST_REFRESH)
            .await
            .with_processing(settings);
        oa.seed_token().await.expect("seed");
        addrs.push(serve_webhook(&oa, stop.clone()).await);
        running.push(tokio::spawn(oa.run(stop.clone())));
    }
    const N: usize = 8;
    let users = ["300000000000000011", "300000000000000012"];
    let base = chrono::Utc::now().timestamp_millis() - 60_000;
    let mut sent: Vec<Vec<String>> = vec![Vec::new(); users.len()];
    let runs = users.iter().enumerate().map(|(u, user)| {
        let fake = &fake;
        let addrs = &addrs;
        async move {
            let mut keys = Vec::new();
            for n in 0..N {
                let ev = fake.event_at(
                    user,
                    "text",
                    json!({"text": format!("Tin số {n}")}),
                    base + i64::try_from(n).unwrap() * 10,
                );
                keys.push(format!("msg:{}", ev["message"]["msg_id"].as_str().unwrap()));
                let to = addrs[(n + u) % 2];
                // As Zalo does, an event refused (503: not kept in time on a busy machine)
                // is sent again.
                let mut tries = 0;
                while fake.post_event(to, &ev, Signing::AppId).await != 200 {
                    tries += 1;
                    assert!(tries < 10, "never kept");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
            keys
        }
    });
    for (u, keys) in futures::future::join_all(runs)
        .await
        .into_iter()
        .enumerate()
    {
        sent[u] = keys;
    }
    wait_inbox_empty(&db).await;
    for (u, user) in users.iter().enumerate() {
        fake.wait_messages(user, N).await;
        let processed = db
            .strings(&format!(
                "SELECT event_key FROM webhook_inbox WHERE source = '{INBOX_SOURCE}' \
                 AND chat_key = '{user}' AND state = 'done' ORDER BY processed_at, id"
            ))
            .await;
        assert_eq!(
            processed, sent[u],
            "{user}: processed once each, in Zalo's order"
        );
    }
    stop.cancel();
    for r in running {
        r.await.expect("no panic").expect("clean stop");
    }
    assert_eq!(db.int("SELECT count(*) FROM contacts").await, 2);
}

common::story!(
    story_two_processes_keep_each_user_s_order,
    two_processes_keep_each_user_s_order_on_sqlite,
    two_processes_keep_each_user_s_order_on_postgres
);
