//! Broadcast attachments and the "Góp ý ngay" button, through the whole gopy: an image reaches
//! Telegram groups as `sendPhoto` with the text as its caption and the deep-link button, a PDF
//! with a long text as `sendDocument` then the text; on Zalo an image goes as `sendPhoto` by
//! the link gopy serves (fetched here over HTTP and compared byte for byte) and the button
//! becomes a `/start` line; a forged token is a 404; a wrong-type or oversize file is refused
//! with a Vietnamese message and nothing stored; a new attachment sends an approved broadcast
//! back for approval. On SQLite and, when `TEST_DATABASE_URL` is set, on Postgres.

mod common;
mod fake_telegram;
mod fake_zalo;

use std::sync::Arc;
use std::time::Duration;

use gopy::announce::attachment::check;
use gopy::announce::broadcast::{Action, Extras, act, create_with};
use gopy::config::{Settings, ZaloSettings};
use gopy::domain::Channel;
use gopy::startup::Application;
use gopy::store::Store;
use gopy::store::announce::{Attachment, Audience, BroadcastState, Schedule};
use tokio_util::sync::CancellationToken;

use common::{TestDb, now, story};

story!(
    story_telegram_groups_get_a_photo_with_its_button_and_a_document,
    sqlite_telegram_groups_get_a_photo_with_its_button_and_a_document,
    postgres_telegram_groups_get_a_photo_with_its_button_and_a_document
);
story!(
    story_zalo_gets_the_photo_by_the_link_gopy_serves,
    sqlite_zalo_gets_the_photo_by_the_link_gopy_serves,
    postgres_zalo_gets_the_photo_by_the_link_gopy_serves
);
story!(
    story_files_are_checked_and_a_new_one_needs_approval_again,
    sqlite_files_are_checked_and_a_new_one_needs_approval_again,
    postgres_files_are_checked_and_a_new_one_needs_approval_again
);

/// A small PNG (its signature is what gopy checks).
fn png() -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    b.extend((0..2000u32).map(|i| (i * 7 % 251) as u8));
    b
}

/// A small PDF.
fn pdf() -> Vec<u8> {
    let mut b = b"%PDF-1.7\n".to_vec();
    b.extend((0..5000u32).map(|i| (i * 13 % 253) as u8));
    b
}

/// The campaign `bk-2026` with `lan` (official) and `minh` (approver); its id.
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

/// Writes a broadcast to `TDP-1` with `extras`, approves and sends it; returns its id.
async fn send(
    store: &Arc<dyn Store>,
    campaign: i64,
    text: &str,
    attachment: Attachment,
    button: bool,
) -> i64 {
    let audience = Audience {
        units: vec!["TDP-1".to_owned()],
        subunits: false,
        groups: vec![],
        residents: false,
    };
    let extras = Extras {
        attachment: Some(attachment),
        button: button.then_some(None),
    };
    let b = create_with(store, "lan", text, audience, Some(campaign), extras, now())
        .await
        .expect("create");
    assert_eq!(
        b.button_unit.as_deref(),
        button.then_some("TDP-1"),
        "the button leads to the audience's unit"
    );
    for (by, action) in [
        ("lan", Action::Submit),
        ("minh", Action::Approve),
        ("lan", Action::Schedule(Schedule::Now)),
    ] {
        act(store, b.id, by, action, now()).await.expect("act");
    }
    b.id
}

/// Waits until the broadcast is sent.
async fn sent(store: &Arc<dyn Store>, id: i64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let b = store.broadcast(id).await.unwrap().unwrap();
        if b.state == BroadcastState::Sent {
            return;
        }
        assert_ne!(
            b.state,
            BroadcastState::PartlyFailed,
            "{:?}",
            store.delivery_counts(id).await
        );
        assert!(std::time::Instant::now() < deadline, "still {:?}", b.state);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn story_telegram_groups_get_a_photo_with_its_button_and_a_document(db: TestDb) {
    use fake_telegram::{BOT_USERNAME, FakeTelegram, Group, Resident, TOKEN};
    let store = db.store.clone();
    let campaign = campaign(&store).await;
    let fake = Arc::new(FakeTelegram::start().await);
    let settings = Settings {
        database_url: db.url.clone(),
        http_addr: "127.0.0.1:0".parse().expect("address"),
        telegram_token: Some(TOKEN.to_owned()),
        telegram_api_url: fake.api_url(),
        demo: false,
        ..Settings::default()
    };
    let app = Application::build(settings).await.expect("gopy builds");
    let addr = app.local_addr().expect("address");
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(app.run(shutdown.clone()));

    let lan = Resident::new(7001, "Lan");
    let groups: Vec<Group> = (0..3)
        .map(|i| Group {
            id: -6000 - i,
            title: format!("Tổ {i}"),
            supergroup: false,
        })
        .collect();
    let updates: Vec<serde_json::Value> = groups
        .iter()
        .map(|g| fake.my_chat_member_update(&lan, g))
        .collect();
    let last = updates
        .last()
        .and_then(|u| u["update_id"].as_i64())
        .unwrap();
    fake.push_all(updates);
    fake.wait_confirmed(last).await;
    for g in store.groups().await.unwrap() {
        store
            .bind_group(g.id, Some("TDP-1"), "cli:tester", None, now())
            .await
            .unwrap();
    }

    // An image with a short text and the button.
    let text = "Mời bà con xem sơ đồ tuyến đường dự kiến mở rộng và góp ý trước ngày 30/11.";
    let image = check("so-do.png", png()).expect("a PNG");
    let token = image.token.clone();
    let id = send(&store, campaign, text, image, true).await;
    sent(&store, id).await;
    let media = fake.media();
    assert_eq!(media.len(), 3, "{media:?}");
    let link = format!("https://t.me/{BOT_USERNAME}?start=bk-2026_TDP-1");
    for m in &media {
        assert_eq!(m.method, "sendPhoto");
        assert_eq!(m.caption.as_deref(), Some(text));
        assert_eq!(m.bytes, png(), "the bytes arrive unchanged");
        let buttons = m.buttons();
        assert_eq!(buttons.len(), 1);
        assert_eq!(buttons[0].text, "Góp ý ngay");
        assert_eq!(buttons[0].url.as_deref(), Some(link.as_str()));
    }
    assert!(
        media.iter().any(|m| !m.by_file_id),
        "uploaded at least once"
    );
    assert!(
        groups.iter().all(|g| fake.texts_to(g.id).len() == 1),
        "nothing but the photo"
    );

    // A PDF with a text too long for a caption: the document, then the text with the button.
    let long: String = "Dự thảo quy chế tổ dân phố được gửi kèm để bà con đọc kỹ. ".repeat(25);
    let long = long.trim().to_owned();
    assert!(long.chars().count() > 1024);
    let id = send(
        &store,
        campaign,
        &long,
        check("Dự thảo.pdf", pdf()).expect("a PDF"),
        true,
    )
    .await;
    sent(&store, id).await;
    let docs: Vec<_> = fake
        .media()
        .into_iter()
        .filter(|m| m.method == "sendDocument")
        .collect();
    assert_eq!(docs.len(), 3);
    for d in &docs {
        assert_eq!(d.caption, None);
        assert_eq!(d.bytes, pdf());
        assert_eq!(d.file_name, "Dự thảo.pdf");
        let texts = fake.texts_to(d.chat_id);
        assert_eq!(texts.last().map(String::as_str), Some(long.as_str()));
    }

    // gopy serves the file at its token; anything else is a 404.
    let http = reqwest::Client::new();
    let got = http
        .get(format!("http://{addr}/tep/{token}"))
        .send()
        .await
        .expect("fetch");
    assert_eq!(got.status(), 200);
    assert_eq!(got.headers()["content-type"], "image/png");
    assert!(
        got.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("inline; filename=\"so-do.png\""),
    );
    assert_eq!(got.bytes().await.unwrap().to_vec(), png());
    let forged = gopy::announce::attachment::new_token();
    for path in [
        format!("/tep/{forged}"),
        "/tep/".to_owned(),
        "/tep".to_owned(),
        format!("/tep/{}", token.to_uppercase()),
        format!("/tep/{token}x"),
    ] {
        let r = http
            .get(format!("http://{addr}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{path}");
    }

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(15), task)
        .await
        .expect("gopy stops")
        .expect("no panic")
        .expect("clean stop");
}

async fn story_zalo_gets_the_photo_by_the_link_gopy_serves(db: TestDb) {
    use fake_zalo::{FakeZalo, Resident, TOKEN};
    let store = db.store.clone();
    let campaign = campaign(&store).await;
    let fake = Arc::new(FakeZalo::start().await);
    fake.set_can_join_groups(true);
    // The public address must be known before gopy starts: take a free port for it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let settings = Settings {
        database_url: db.url.clone(),
        http_addr: format!("127.0.0.1:{port}").parse().expect("address"),
        telegram_token: None,
        demo: false,
        zalo: ZaloSettings {
            token: Some(TOKEN.to_owned()),
            api_url: fake.api_url(),
            webhook_secret: None,
            webhook_url: None,
        },
        public_url: Some(base.clone()),
        ..Settings::default()
    };
    let app = Application::build(settings).await.expect("gopy builds");
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(app.run(shutdown.clone()));
    fake.wait_idle().await;

    // The bot hears of the village group when mentioned there; it is bound to TDP-1.
    let group = "7e1d2c3b4a5968778695";
    let hoa = Resident::new(0x2b2, "Hoa");
    fake.push(fake.group_text_event(&hoa, group, "@Bot chào cả nhà"));
    let mut found = None;
    for _ in 0..200 {
        found = store.group_by_external(Channel::Zalo, group).await.unwrap();
        if found.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let g = found.expect("the Zalo group is registered");
    store
        .bind_group(g.id, Some("TDP-1"), "cli:tester", None, now())
        .await
        .unwrap();

    let text = "Mời bà con xem sơ đồ tuyến đường dự kiến mở rộng.";
    let image = check("so-do.png", png()).expect("a PNG");
    let token = image.token.clone();
    let id = send(&store, campaign, text, image, true).await;
    sent(&store, id).await;
    let photos = fake.photos();
    assert_eq!(photos.len(), 1, "{photos:?}");
    assert_eq!(photos[0].chat, group);
    assert_eq!(photos[0].url, format!("{base}/tep/{token}"));
    let texts = fake.texts_to(group);
    assert_eq!(
        texts,
        [format!(
            "{text}\n\nGóp ý: nhắn /start bk-2026_TDP-1 cho bot"
        )]
    );
    // Zalo fetches the photo from gopy: the bytes are the file's.
    let got = reqwest::get(&photos[0].url).await.expect("fetch");
    assert_eq!(got.status(), 200);
    assert_eq!(got.bytes().await.unwrap().to_vec(), png());

    // A document goes as its link under the text.
    let id = send(
        &store,
        campaign,
        "Dự thảo quy chế gửi kèm.",
        check("du-thao.pdf", pdf()).expect("a PDF"),
        false,
    )
    .await;
    sent(&store, id).await;
    let doc = store
        .broadcast_attachment(id)
        .await
        .unwrap()
        .expect("stored");
    let texts = fake.texts_to(group);
    assert_eq!(
        texts.last().map(String::as_str),
        Some(
            format!(
                "Dự thảo quy chế gửi kèm.\n\nTệp đính kèm / attachment: du-thao.pdf {base}/tep/{}",
                doc.token
            )
            .as_str()
        )
    );
    assert_eq!(fake.photos().len(), 1, "a document is no photo");
    let got = reqwest::get(format!("{base}/tep/{}", doc.token))
        .await
        .expect("fetch");
    assert_eq!(got.headers()["content-type"], "application/pdf");
    assert_eq!(got.bytes().await.unwrap().to_vec(), pdf());

    shutdown.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(15), task).await;

    // Without GOPY_PUBLIC_URL Zalo cannot fetch a photo: the text alone goes.
    let settings = Settings {
        database_url: db.url.clone(),
        http_addr: "127.0.0.1:0".parse().expect("address"),
        demo: false,
        zalo: ZaloSettings {
            token: Some(TOKEN.to_owned()),
            api_url: fake.api_url(),
            webhook_secret: None,
            webhook_url: None,
        },
        ..Settings::default()
    };
    let app = Application::build(settings).await.expect("gopy builds");
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(app.run(shutdown.clone()));
    let id = send(
        &store,
        campaign,
        "Ảnh gửi không kèm đường dẫn.",
        check("anh.png", png()).expect("a PNG"),
        false,
    )
    .await;
    sent(&store, id).await;
    assert_eq!(
        fake.photos().len(),
        1,
        "no new photo without a public address"
    );
    assert_eq!(
        fake.texts_to(group).last().map(String::as_str),
        Some("Ảnh gửi không kèm đường dẫn.")
    );
    shutdown.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(15), task).await;
}

async fn story_files_are_checked_and_a_new_one_needs_approval_again(db: TestDb) {
    let store = db.store.clone();
    campaign(&store).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).expect("write");
        p.to_string_lossy().into_owned()
    };
    let fake_pdf = write("du-thao.pdf", b"MZ\x90\x00 this is a program");
    let mut big = png();
    big.resize(5 * 1024 * 1024 + 1, 0);
    let big_png = write("anh-lon.png", &big);
    let good = write("du-thao-that.pdf", &pdf());
    let photo = write("so-do.png", &png());
    let create = |file: &str| {
        common::gopy(
            &db.url,
            &[
                "broadcast",
                "create",
                "--as",
                "lan",
                "--text",
                "Mời bà con góp ý.",
                "--unit",
                "TDP-1",
                "--campaign",
                "bk-2026",
                "--button",
                "--attach",
                file,
            ],
        )
    };

    // A program named .pdf and an image over 5 MB are refused, in Vietnamese; nothing stored.
    let out = create(&fake_pdf);
    assert_eq!(out.status.code(), Some(65));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("chỉ nhận tệp PDF, DOCX, JPEG hoặc PNG"),
        "{err}"
    );
    let out = create(&big_png);
    assert_eq!(out.status.code(), Some(65));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("tệp quá lớn") && err.contains("tối đa 5 MB"),
        "{err}"
    );
    assert!(
        store.broadcast(1).await.unwrap().is_none(),
        "nothing stored"
    );

    // A real PDF is taken, with the button to TDP-1's dialog.
    let out = create(&good);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let b = store.broadcast(1).await.unwrap().expect("created");
    assert_eq!(b.button_unit.as_deref(), Some("TDP-1"));
    let a = store
        .broadcast_attachment(1)
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(
        (a.file_name.as_str(), a.media_type.as_str(), a.bytes.len()),
        ("du-thao-that.pdf", "application/pdf", pdf().len())
    );
    use sha2::Digest as _;
    assert_eq!(a.sha256, hex::encode(sha2::Sha256::digest(pdf())));

    // Approved, then given a new attachment: back to submitted, a new revision, audited.
    for (by, action) in [("lan", Action::Submit), ("minh", Action::Approve)] {
        act(&store, 1, by, action, now()).await.expect("act");
    }
    let out = common::gopy(
        &db.url,
        &["broadcast", "attach", "1", &photo, "--as", "lan"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let b = store.broadcast(1).await.unwrap().unwrap();
    assert_eq!((b.state, b.revision), (BroadcastState::Submitted, 2));
    let new = store.broadcast_attachment(1).await.unwrap().unwrap();
    assert_eq!(new.media_type, "image/png");
    assert_ne!(new.token, a.token, "the old link stops working");
    assert!(store.attachment_by_token(&a.token).await.unwrap().is_none());
    let refused = act(&store, 1, "lan", Action::Schedule(Schedule::Now), now()).await;
    assert!(refused.is_err(), "it needs approving again");
    let log = store.audit_log(10).await.unwrap();
    let entry = log
        .iter()
        .find(|e| e.action == "broadcast.attach")
        .expect("audited");
    assert_eq!(entry.actor, "lan");
    let detail = entry.detail.to_string();
    assert!(
        detail.contains("so-do.png") && detail.contains(&a.sha256),
        "{detail}"
    );
    // The preview shows the file, the caption check and what Zalo residents read.
    let out = common::gopy(&db.url, &["broadcast", "preview", "1"]);
    assert!(out.status.success());
    let shown = String::from_utf8_lossy(&out.stdout);
    for line in [
        "Tệp đính kèm / attachment: so-do.png (ảnh / photo, 2 KB)",
        "Telegram (chú thích tệp / caption): 17/1024 ký tự / characters — vừa / fits",
        "Mời bà con góp ý.\n\nGóp ý: nhắn /start bk-2026_TDP-1 cho bot",
    ] {
        assert!(shown.contains(line), "{line} in {shown}");
    }
    // A wrong file for `attach` changes nothing.
    let out = common::gopy(
        &db.url,
        &["broadcast", "attach", "1", &fake_pdf, "--as", "lan"],
    );
    assert_eq!(out.status.code(), Some(65));
    assert_eq!(store.broadcast(1).await.unwrap().unwrap().revision, 2);
}
