//! Broadcast attachments and the "Góp ý ngay" button on the Zalo Official Account, through
//! the whole gopy against the fake OA (`tests/fake_zalo_oa/`) over real HTTP: an image is
//! uploaded once (`/v2.0/oa/upload/image`) and reaches a follower and a GMF group as a media
//! message by its `attachment_id`; the follower's text carries an `oa.query.show` button whose
//! tap starts the campaign's dialog, the group's (no buttons in GMF) a line instead; a
//! follower outside the messaging window gets nothing and the delivery fails with that
//! reason. A PDF is uploaded (`/v2.0/oa/upload/file`, after a `-216` in an HTTP 200 body
//! refreshed the token) and sent as a file; a refused upload falls back to gopy's public link
//! (a document's under the text, an image by URL). On SQLite and, when `TEST_DATABASE_URL` is
//! set, on Postgres.

mod common;
mod fake_zalo_oa;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use common::{TestDb, now, story};
use fake_zalo_oa::{
    APP_ID, APP_SECRET, FIRST_REFRESH, FakeZaloOa, OA_SECRET, STORAGE_KEY, Signing,
};
use gopy::announce::attachment::check;
use gopy::announce::broadcast::{Action, Extras, act, create_with};
use gopy::config::{Settings, ZaloOaSettings};
use gopy::domain::{Channel, ContactKey, Locale};
use gopy::startup::Application;
use gopy::store::Store;
use gopy::store::announce::{Attachment, Audience, Schedule};

story!(
    story_an_image_and_the_button_reach_oa_followers_and_groups,
    sqlite_an_image_and_the_button_reach_oa_followers_and_groups,
    postgres_an_image_and_the_button_reach_oa_followers_and_groups
);
story!(
    story_documents_go_as_files_and_refused_uploads_as_links,
    sqlite_documents_go_as_files_and_refused_uploads_as_links,
    postgres_documents_go_as_files_and_refused_uploads_as_links
);

/// The GMF group the OA owns.
const GROUP: &str = "5512345678901234567";
/// A follower within the messaging window.
const NEAR: &str = "200000000000000011";
/// A follower who never wrote to the OA (the window is closed).
const FAR: &str = "200000000000000012";
/// gopy's public address in these tests (never fetched).
const PUBLIC: &str = "https://gopy.example.vn";

/// A small PNG (its signature is what gopy and Zalo check).
fn png(seed: u32) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    b.extend((0..3000u32).map(|i| ((i * 7 + seed) % 251) as u8));
    b
}

/// A small PDF.
fn pdf(seed: u32) -> Vec<u8> {
    let mut b = b"%PDF-1.7\n".to_vec();
    b.extend((0..6000u32).map(|i| ((i * 13 + seed) % 253) as u8));
    b
}

/// gopy with the OA adapter against the fake.
struct Gopy {
    fake: Arc<FakeZaloOa>,
    db: TestDb,
    http: SocketAddr,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Gopy {
    async fn start(db: TestDb) -> Self {
        let fake = Arc::new(FakeZaloOa::start().await);
        let settings = Settings {
            database_url: db.url.clone(),
            http_addr: "127.0.0.1:0".parse().expect("address"),
            demo: false,
            zalo_oa: ZaloOaSettings {
                app_id: Some(APP_ID.to_owned()),
                app_secret: Some(APP_SECRET.to_owned()),
                oa_secret_key: Some(OA_SECRET.to_owned()),
                refresh_token: Some(FIRST_REFRESH.to_owned()),
                api_url: fake.url(),
                oauth_url: fake.url(),
                secret_key: Some(STORAGE_KEY.to_owned()),
            },
            public_url: Some(PUBLIC.to_owned()),
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

    async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(15), self.task)
            .await
            .expect("gopy stops")
            .expect("no panic")
            .expect("a clean stop");
    }

    /// Waits (up to 10 s) until the OA inbox has no pending event.
    async fn inbox_empty(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self
            .db
            .int("SELECT count(*) FROM webhook_inbox WHERE state = 'pending'")
            .await
            > 0
        {
            assert!(Instant::now() < deadline, "the OA inbox is still pending");
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
    }
}

/// The campaign `bk-2026` (officials `lan`, approver `minh`); its id.
async fn campaign(store: &Arc<dyn Store>) -> i64 {
    common::campaign_with_official_and_approver(store).await;
    store
        .campaign_summaries()
        .await
        .expect("campaigns")
        .iter()
        .find(|c| c.slug == "bk-2026")
        .expect("bk-2026")
        .id
}

/// The OA follower `user` as a resident of `TDP-1` who asked for announcements; when
/// `near`, they wrote to the OA just now (the window is open, for gopy and for the fake).
async fn follower(g: &Gopy, user: &str, near: bool) {
    let store = &g.db.store;
    let mut tx = store.begin().await.expect("begin");
    let c = tx
        .contact(
            &ContactKey {
                channel: Channel::Zalo,
                external_id: format!("oa:{user}"),
            },
            Locale::Vi,
        )
        .await
        .expect("contact");
    tx.set_notices(c.id, true, Some("TDP-1"), now())
        .await
        .expect("notices on");
    tx.commit().await.expect("commit");
    if near {
        store
            .oa_user_interaction(user, now(), now())
            .await
            .expect("interaction");
        g.fake.interacted(user);
    }
}

/// The GMF group, learnt from a member's message and bound to `TDP-1`.
async fn group(g: &Gopy) {
    g.fake.add_group(GROUP, false);
    let mut ev = g.fake.text_event("200000000000000006", "Chào cả nhóm");
    ev["event_name"] = json!("user_send_group_text");
    ev["recipient"] = json!({"id": GROUP});
    assert_eq!(g.fake.post_event(g.http, &ev, Signing::AppId).await, 200);
    g.inbox_empty().await;
    let store = &g.db.store;
    let found = store
        .group_by_external(Channel::Zalo, &format!("oa:{GROUP}"))
        .await
        .expect("read")
        .expect("the GMF group is known");
    store
        .bind_group(found.id, Some("TDP-1"), "cli:tester", None, now())
        .await
        .expect("bind")
        .expect("bound");
}

/// Writes a broadcast to `TDP-1`'s groups and subscribed residents with `attachment` and
/// the button, approves and sends it; waits until nothing is pending; returns its id.
async fn broadcast(
    store: &Arc<dyn Store>,
    campaign: i64,
    text: &str,
    attachment: Attachment,
) -> i64 {
    let audience = Audience {
        units: vec!["TDP-1".to_owned()],
        subunits: false,
        groups: vec![],
        residents: true,
    };
    let extras = Extras {
        attachment: Some(attachment),
        button: Some(None),
    };
    let b = create_with(store, "lan", text, audience, Some(campaign), extras, now())
        .await
        .expect("create");
    for (by, action) in [
        ("lan", Action::Submit),
        ("minh", Action::Approve),
        ("lan", Action::Schedule(Schedule::Now)),
    ] {
        act(store, b.id, by, action, now()).await.expect("act");
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let c = store.delivery_counts(b.id).await.expect("counts");
        if c.pending == 0 && c.sent + c.failed > 0 {
            return b.id;
        }
        assert!(Instant::now() < deadline, "still pending: {c:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The buttons of a message's attachment, if it has any.
fn buttons(a: &Option<Value>) -> Vec<Value> {
    a.as_ref()
        .and_then(|a| a["payload"]["buttons"].as_array().cloned())
        .unwrap_or_default()
}

/// The image element of a media message, if it is one.
fn image(a: &Option<Value>) -> Option<Value> {
    let a = a.as_ref()?;
    (a["type"] == "template" && a["payload"]["template_type"] == "media")
        .then(|| a["payload"]["elements"][0].clone())
}

async fn story_an_image_and_the_button_reach_oa_followers_and_groups(db: TestDb) {
    let store = db.store.clone();
    let campaign = campaign(&store).await;
    let g = Gopy::start(db).await;
    group(&g).await;
    follower(&g, NEAR, true).await;
    follower(&g, FAR, false).await;
    let bytes = png(0);
    let text = "Mời bà con xem sơ đồ dự thảo và góp ý; xin đừng gõ [@123] trong nhóm.";
    let id = broadcast(
        &store,
        campaign,
        text,
        check("so-do.png", bytes.clone()).unwrap(),
    )
    .await;

    // One upload for both deliveries, byte for byte.
    let uploads = g.fake.uploads();
    assert_eq!(uploads.len(), 1, "{uploads:?}");
    assert_eq!(uploads[0].path, "/v2.0/oa/upload/image");
    assert_eq!(uploads[0].bytes, bytes);
    assert_eq!(uploads[0].file_name, "so-do.png");
    let image_id = json!(uploads[0].id);

    // The follower: the image, then the text with the button that starts the dialog.
    let to_near: Vec<_> = g.fake.sent().into_iter().filter(|s| s.to == NEAR).collect();
    assert_eq!(to_near.len(), 2, "{to_near:#?}");
    assert_eq!(
        image(&to_near[0].attachment).map(|e| e["attachment_id"].clone()),
        Some(image_id.clone())
    );
    assert!(to_near[1].text.starts_with(text), "{:?}", to_near[1].text);
    let b = buttons(&to_near[1].attachment);
    assert_eq!(b.len(), 1, "{:?}", to_near[1].attachment);
    assert_eq!(b[0]["type"], "oa.query.show");
    assert_eq!(b[0]["title"], "Góp ý ngay");
    assert_eq!(b[0]["payload"], "/start bk-2026_TDP-1");

    // The GMF group: the image, then the text (mentions escaped) with a line, no buttons.
    let to_group = g.fake.group_sent();
    assert_eq!(to_group.len(), 2, "{to_group:#?}");
    assert_eq!(
        image(&to_group[0].attachment).map(|e| e["attachment_id"].clone()),
        Some(image_id)
    );
    assert!(to_group[1].attachment.is_none());
    assert!(
        to_group[1].text.contains("[\u{200B}@123]"),
        "{:?}",
        to_group[1].text
    );
    assert!(
        to_group[1].text.contains("/start bk-2026_TDP-1"),
        "{:?}",
        to_group[1].text
    );

    // Outside the window: nothing sent, the delivery failed with that reason, recorded.
    assert!(g.fake.texts_to(FAR).is_empty());
    let counts = store.delivery_counts(id).await.unwrap();
    assert_eq!((counts.sent, counts.failed), (2, 1), "{counts:?}");
    assert!(
        counts.reasons.iter().any(|(r, _)| r.contains("window")),
        "{counts:?}"
    );
    assert_eq!(
        g.db.int(&format!(
            "SELECT count(*) FROM zalo_oa_unsent WHERE user_id = '{FAR}' AND reason = 'window'"
        ))
        .await,
        1
    );
    assert_eq!(
        g.db.strings("SELECT DISTINCT channel FROM deliveries")
            .await,
        vec!["zalo_oa"]
    );

    // Tapping the button sends its payload as the follower's message: the dialog starts.
    let before = g.fake.texts_to(NEAR).len();
    let tap = g.fake.text_event(NEAR, "/start bk-2026_TDP-1");
    assert_eq!(g.fake.post_event(g.http, &tap, Signing::AppId).await, 200);
    let texts = g.fake.wait_messages(NEAR, before + 1).await;
    let reply = texts[before..].join("\n");
    assert!(
        reply.contains("Kế hoạch phát triển kinh tế - xã hội"),
        "the campaign's dialog starts: {reply}"
    );
    g.stop().await;
}

async fn story_documents_go_as_files_and_refused_uploads_as_links(db: TestDb) {
    let store = db.store.clone();
    let campaign = campaign(&store).await;
    let g = Gopy::start(db).await;
    follower(&g, NEAR, true).await;

    // A PDF: the access token has expired (-216 in an HTTP 200 body), so the upload
    // refreshes it once and goes again; then the file, then the text with the button.
    let first = pdf(1);
    // gopy takes its first token on start: wait for it, then let it expire.
    let deadline = Instant::now() + Duration::from_secs(10);
    while g.fake.refresh_calls().is_empty() {
        assert!(Instant::now() < deadline, "gopy took no token");
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    g.fake.expire_access_tokens();
    broadcast(
        &store,
        campaign,
        "Dự thảo kèm theo.",
        check("du-thao.pdf", first.clone()).unwrap(),
    )
    .await;
    let uploads = g.fake.uploads();
    assert_eq!(uploads.len(), 1, "{uploads:?}");
    assert_eq!(uploads[0].path, "/v2.0/oa/upload/file");
    assert_eq!(uploads[0].bytes, first);
    assert_eq!(uploads[0].content_type, gopy::announce::attachment::PDF);
    let refused: Vec<i64> = g
        .fake
        .calls_to("/v2.0/oa/upload/file")
        .iter()
        .map(|c| c.code)
        .collect();
    assert_eq!(refused, vec![-216, 0], "refreshed once, then uploaded");
    let sent = g.fake.sent();
    assert_eq!(sent.len(), 2, "{sent:#?}");
    let file = sent[0].attachment.clone().expect("a file message");
    assert_eq!(file["type"], "file");
    assert_eq!(file["payload"]["token"], json!(uploads[0].id));
    assert!(sent[0].text.is_empty());
    assert_eq!(sent[1].text, "Dự thảo kèm theo.");
    assert_eq!(buttons(&sent[1].attachment).len(), 1);

    // Zalo refuses the next upload (in an HTTP 200 body): the link goes under the text.
    g.fake.fail_next("/v2.0/oa/upload/file", -210);
    let second = check("phu-luc.pdf", pdf(2)).unwrap();
    let link = format!("{PUBLIC}/tep/{}", second.token);
    broadcast(&store, campaign, "Phụ lục kèm theo.", second).await;
    let sent = g.fake.sent();
    assert_eq!(sent.len(), 3, "{sent:#?}");
    assert!(sent[2].text.contains(&link), "{:?}", sent[2].text);
    assert_eq!(buttons(&sent[2].attachment).len(), 1);

    // An image Zalo refuses to take goes by gopy's link.
    g.fake.fail_next("/v2.0/oa/upload/image", -201);
    let picture = check("ban-do.png", png(3)).unwrap();
    let link = format!("{PUBLIC}/tep/{}", picture.token);
    broadcast(&store, campaign, "Bản đồ quy hoạch.", picture).await;
    let sent = g.fake.sent();
    assert_eq!(sent.len(), 5, "{sent:#?}");
    assert_eq!(
        image(&sent[3].attachment).map(|e| e["url"].clone()),
        Some(json!(link))
    );
    assert_eq!(sent[4].text, "Bản đồ quy hoạch.");
    assert_eq!(
        g.fake.uploads().len(),
        1,
        "the refused uploads left nothing"
    );
    g.stop().await;
}
