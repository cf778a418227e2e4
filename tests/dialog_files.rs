//! Voice notes, photos and documents in the private dialog (issue 9), end to end through the
//! whole gopy and the fake Telegram Bot API over real HTTP, on SQLite (files are kept beside
//! the database): at a topic's opinion step a voice note is downloaded, kept and saved as an
//! opinion that says it is a voice note not yet transcribed, and is transcribed by CLI; a
//! photo's caption becomes its opinion's text; a file of a type gopy does not keep, or one
//! too large, is refused with a clear message and stores nothing; a file sent anywhere else
//! in the dialog is answered as before; `/delete_me` takes the files' rows with the resident
//! (the sweeper then removes the files). A photo through the fake Zalo too.

mod common;
mod fake_telegram;
mod fake_zalo;

use std::sync::Arc;
use std::time::Duration;

use gopy::config::{Settings, ZaloSettings};
use gopy::startup::Application;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use common::{TestDb, now, sample_campaign};
use fake_telegram::{FakeTelegram, Resident, TOKEN};

/// gopy running against a fake Telegram until stopped.
struct Running {
    fake: Arc<FakeTelegram>,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Running {
    async fn start(url: &str) -> Self {
        let fake = Arc::new(FakeTelegram::start().await);
        let settings = Settings {
            database_url: url.to_owned(),
            http_addr: "127.0.0.1:0".parse().expect("address"),
            telegram_token: Some(TOKEN.to_owned()),
            telegram_api_url: fake.api_url(),
            demo: false,
            ..Settings::default()
        };
        let app = Application::build(settings).await.expect("gopy builds");
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(app.run(shutdown.clone()));
        Self {
            fake,
            shutdown,
            task,
        }
    }

    /// Pushes an update and waits until gopy handled it.
    async fn handled(&self, update: Value) {
        let id = self.fake.push(update);
        self.fake.wait_handled(id).await;
    }

    /// A resident presses the button whose label contains `label`; waits until handled.
    async fn press(&self, who: &Resident, label: &str) {
        let pressed = self.fake.press_label(who, label);
        self.fake.wait_handled(pressed.update_id).await;
    }

    async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(15), self.task)
            .await
            .expect("gopy stops")
            .expect("no panic")
            .expect("clean stop");
    }
}

/// The media folder beside a SQLite test database.
fn media_dir(db: &TestDb) -> std::path::PathBuf {
    std::path::Path::new(db.url.trim_start_matches("sqlite://"))
        .parent()
        .expect("the database folder")
        .join("media")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_files_at_the_opinion_step_become_opinions_are_refused_clearly_and_go_with_delete_me()
 {
    let db = TestDb::sqlite().await;
    db.store
        .insert_campaign(&sample_campaign("bk-2026", now()))
        .await
        .expect("campaign");
    let gopy = Running::start(&db.url).await;
    let fake = &gopy.fake;
    let an = Resident::new(8101, "An").language(Some("vi"));
    let photo: Vec<u8> = b"\xff\xd8\xff\xe0 a flooded lane"
        .iter()
        .copied()
        .cycle()
        .take(7000)
        .collect();

    // Before any topic is open, a photo is answered as before and nothing is kept.
    gopy.handled(fake.text_update(&an, "/start")).await;
    gopy.handled(fake.private_file_update(&an, "photo", None, &photo, Some("Ảnh")))
        .await;
    assert!(
        fake.texts_to(an.id)
            .iter()
            .any(|t| t.contains("chỉ nhận ý kiến bằng tin nhắn văn bản")),
        "{:?}",
        fake.texts_to(an.id)
    );
    assert_eq!(db.int("SELECT count(*) FROM opinions").await, 0);

    // Through the dialog to a topic's opinion step.
    gopy.press(&an, "ẩn danh").await;
    gopy.press(&an, "Tổ dân phố 1").await;
    gopy.press(&an, "Bỏ qua").await;
    gopy.press(&an, "Không, cảm ơn").await;
    gopy.press(&an, "Chỉnh trang đô thị").await;

    // A voice note: an opinion under the topic that says what it is, the file kept.
    let voice: Vec<u8> = b"OggS\0voice of An"
        .iter()
        .copied()
        .cycle()
        .take(3000)
        .collect();
    gopy.handled(fake.private_file_update(&an, "voice", Some("audio/ogg"), &voice, None))
        .await;
    let said = fake.texts_to(an.id);
    assert!(
        said.iter().any(|t| t.contains("Đã nhận tệp của Quý vị")),
        "{said:?}"
    );
    // A photo with a caption: the caption is the opinion's text.
    gopy.handled(fake.private_file_update(&an, "photo", None, &photo, Some("Ngõ 5 ngập sau mưa")))
        .await;
    let rows = db
        .strings(
            "SELECT o.topic_code || '|' || o.source || '|' || o.channel || '|' || o.text || '|' || \
             f.kind || '|' || f.size_bytes FROM opinion_files f \
             JOIN opinions o ON o.id = f.opinion_id ORDER BY f.id",
        )
        .await;
    assert_eq!(
        rows,
        vec![
            "do-thi|chat|telegram|[Tin nhắn thoại, chưa ghi lời]|voice|3000".to_owned(),
            "do-thi|chat|telegram|Ngõ 5 ngập sau mưa|photo|7000".to_owned(),
        ]
    );
    let media = media_dir(&db);
    // The photo sent before the topic was never kept.
    assert_eq!(std::fs::read_dir(&media).expect("media folder").count(), 2);

    // A type gopy does not keep: refused clearly, nothing stored.
    gopy.handled(fake.private_file_update(
        &an,
        "document",
        Some("application/zip"),
        b"PK\x03\x04",
        None,
    ))
    .await;
    assert!(
        fake.texts_to(an.id)
            .last()
            .is_some_and(|t| t.contains("Loại tệp này chưa được tiếp nhận")),
        "{:?}",
        fake.texts_to(an.id)
    );
    assert_eq!(db.int("SELECT count(*) FROM opinions").await, 2);

    // Officials transcribe the voice note by CLI, as group replies'.
    let reference = db
        .strings("SELECT o.reference FROM opinions o JOIN opinion_files f ON f.opinion_id = o.id WHERE f.kind = 'voice'")
        .await
        .remove(0);
    let got = common::gopy(
        &db.url,
        &[
            "thread",
            "transcribe",
            "--campaign",
            "bk-2026",
            &reference,
            "Đề nghị nạo vét cống ngõ 5",
        ],
    );
    assert!(
        got.status.success(),
        "{}",
        String::from_utf8_lossy(&got.stderr)
    );
    assert_eq!(
        db.strings(&format!(
            "SELECT text FROM opinions WHERE reference = '{reference}'"
        ))
        .await,
        vec!["[Ghi lời từ tin nhắn thoại] Đề nghị nạo vét cống ngõ 5"]
    );

    // `/delete_me` keeping the opinions anonymously: the files' rows go with the resident, so
    // the sweeper removes the files.
    gopy.handled(fake.text_update(&an, "/delete_me")).await;
    gopy.press(&an, "giữ ý kiến ẩn danh").await;
    assert_eq!(db.int("SELECT count(*) FROM opinion_files").await, 0);
    assert_eq!(
        db.store.file_keys().await.expect("keys").len(),
        0,
        "no file is named any more: the sweeper takes them"
    );
    gopy.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_photo_at_the_opinion_step_on_zalo_becomes_an_opinion_with_its_caption() {
    use fake_zalo::{FakeZalo, Resident as ZaloResident};
    let db = TestDb::sqlite().await;
    db.store
        .insert_campaign(&sample_campaign("bk-2026", now()))
        .await
        .expect("campaign");
    let fake = Arc::new(FakeZalo::start().await);
    let settings = Settings {
        database_url: db.url.clone(),
        http_addr: "127.0.0.1:0".parse().expect("address"),
        telegram_token: None,
        demo: false,
        zalo: ZaloSettings {
            token: Some(fake_zalo::TOKEN.to_owned()),
            api_url: fake.api_url(),
            webhook_secret: None,
            webhook_url: None,
        },
        ..Settings::default()
    };
    let app = Application::build(settings).await.expect("gopy builds");
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(app.run(shutdown.clone()));
    fake.wait_idle().await;
    let hoa = ZaloResident::new(0x511, "Hoa");
    fake.send_text(&hoa, "/start");
    fake.wait_idle().await;
    // Zalo shows numbered choices: type the number of the one that says `label`.
    for label in [
        "ẩn danh",
        "Tổ dân phố 1",
        "Bỏ qua",
        "Không",
        "Chỉnh trang đô thị",
    ] {
        let last = fake.texts_to(&hoa.id).pop().expect("a question");
        let number = last
            .lines()
            .find_map(|l| {
                let (n, rest) = l.split_once(". ")?;
                (n.chars().all(|c| c.is_ascii_digit()) && rest.contains(label))
                    .then(|| n.to_owned())
            })
            .unwrap_or_else(|| panic!("no choice {label:?} in {last}"));
        fake.send_text(&hoa, &number);
        fake.wait_idle().await;
    }
    let photo: Vec<u8> = b"\xff\xd8\xff\xe0 broken lamp"
        .iter()
        .copied()
        .cycle()
        .take(5000)
        .collect();
    let link = fake.host_file("den.jpg", photo.clone(), "image/jpeg");
    let before = fake.texts_to(&hoa.id).len();
    fake.push(fake.event(
        &hoa,
        "image",
        json!({"photo_url": link, "caption": "Đèn ngõ 3 hỏng đã lâu"}),
    ));
    fake.wait_idle().await;
    let said = fake.wait_messages(&hoa.id, before + 1).await;
    assert!(
        said[before..]
            .iter()
            .any(|t| t.contains("Đã nhận tệp của Quý vị")),
        "{said:?}"
    );
    let rows = db
        .strings(
            "SELECT o.topic_code || '|' || o.channel || '|' || o.text || '|' || f.kind \
             FROM opinion_files f JOIN opinions o ON o.id = f.opinion_id",
        )
        .await;
    assert_eq!(
        rows,
        vec!["do-thi|zalo|Đèn ngõ 3 hỏng đã lâu|photo".to_owned()]
    );
    let kept: Vec<Vec<u8>> = std::fs::read_dir(media_dir(&db))
        .expect("media folder")
        .map(|e| std::fs::read(e.expect("entry").path()).expect("read"))
        .collect();
    assert_eq!(kept, vec![photo]);
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(15), task)
        .await
        .expect("gopy stops")
        .expect("no panic")
        .expect("clean stop");
}
