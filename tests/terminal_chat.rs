//! `gopy chat` driven as a resident would drive it: the real binary, lines on stdin, the
//! dialog read from stdout; then the database is read to check what was stored. Runs against
//! SQLite always and Postgres when `TEST_DATABASE_URL` is set.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::TestDb;

/// Runs `gopy chat --as USER` on the database at `url` (demo campaign on), typing `lines`,
/// and returns what it printed.
fn chat(url: &str, user: &str, lines: &[&str]) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gopy"))
        .args(["chat", "--as", user])
        .env("DATABASE_URL", url)
        .env("GOPY_DEMO", "on")
        .env("RUST_LOG", "warn")
        .env_remove("TELEGRAM_BOT_TOKEN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start gopy chat");
    {
        let mut stdin = child.stdin.take().expect("stdin is piped");
        for line in lines {
            writeln!(stdin, "{line}").expect("type a line");
        }
    }
    let out = child
        .wait_with_output()
        .expect("gopy chat ends at end of input");
    let stdout = String::from_utf8(out.stdout).expect("stdout is UTF-8");
    assert!(
        out.status.success(),
        "gopy chat failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// A resident answers with numbers, gives two opinions (one with characters that are markup
/// elsewhere), submits, gets a receipt; a second session resumes where they were; the stored
/// opinions are submitted, anonymous, NFC and exactly as typed.
async fn story_anonymous_resident_submits_and_resumes(db: TestDb) {
    let first = chat(
        &db.url,
        "an",
        &[
            "2",  // consent: anonymously
            "1",  // unit: Tổ dân phố 1
            "12", // target group: skip
            "2",  // announcements: no
            "1",  // topic 1
            "Cần thêm đèn chiếu sáng ở ngõ 5.",
            "Ý kiến <b>có thẻ</b> & ký hiệu",
            "2", // back to the menu
            "7", // review
            "1", // submit
        ],
    );
    assert!(first.contains("1. Đồng ý, góp ý có tên"), "{first}");
    assert!(first.contains("Đã ghi nhận ý kiến thứ 2"), "{first}");
    assert!(
        first.contains("Ý kiến <b>có thẻ</b> & ký hiệu"),
        "plain text is shown as typed"
    );
    assert!(first.contains("Mã biên nhận: GY-"), "{first}");

    let texts = db
        .strings("SELECT text FROM opinions WHERE status = 'submitted' ORDER BY id")
        .await;
    assert_eq!(
        texts,
        vec![
            "Cần thêm đèn chiếu sáng ở ngõ 5.".to_owned(),
            "Ý kiến <b>có thẻ</b> & ký hiệu".to_owned()
        ]
    );
    assert_eq!(db.int("SELECT count(*) FROM identities").await, 0);
    assert_eq!(
        db.int("SELECT count(*) FROM opinions WHERE anonymous AND receipt IS NOT NULL AND unit_code = 'tdp-1'")
            .await,
        2
    );

    // A second session starts with /start and resumes at the topic menu with progress marks.
    let second = chat(&db.url, "an", &[]);
    assert!(
        second.contains("✅ Mục tiêu, chỉ tiêu kinh tế – xã hội (2)"),
        "{second}"
    );
    assert!(
        !second.contains("Thông báo về xử lý dữ liệu cá nhân"),
        "no second consent"
    );
}

/// A closed-loop check of `/my`, then `/delete_me` keeping the opinions anonymously.
async fn story_my_and_delete_me(db: TestDb) {
    chat(
        &db.url,
        "binh",
        &["1", "1", "1", "2", "1", "Đường ngõ 3 hay ngập."],
    );
    let my = chat(&db.url, "binh", &["/my"]);
    assert!(my.contains("Đường ngõ 3 hay ngập."), "{my}");
    assert_eq!(db.int("SELECT count(*) FROM identities").await, 1, "named");

    let erased = chat(&db.url, "binh", &["/delete_me", "2"]);
    assert!(erased.to_lowercase().contains("đã xóa"), "{erased}");
    assert_eq!(db.int("SELECT count(*) FROM identities").await, 0);
    assert_eq!(
        db.int("SELECT count(*) FROM contacts WHERE external_id = 'binh'")
            .await,
        0
    );
    assert_eq!(
        db.int("SELECT count(*) FROM opinions WHERE contact_id IS NULL AND anonymous AND status <> 'withdrawn'")
            .await,
        1,
        "the opinion is kept, unlinked"
    );
}

#[tokio::test]
async fn sqlite_anonymous_resident_submits_and_resumes() {
    story_anonymous_resident_submits_and_resumes(TestDb::sqlite().await).await;
}

#[tokio::test]
#[cfg_attr(
    not(gopy_pg),
    ignore = "set TEST_DATABASE_URL to run the Postgres half"
)]
async fn postgres_anonymous_resident_submits_and_resumes() {
    story_anonymous_resident_submits_and_resumes(TestDb::postgres().await).await;
}

#[tokio::test]
async fn sqlite_my_and_delete_me() {
    story_my_and_delete_me(TestDb::sqlite().await).await;
}

#[tokio::test]
#[cfg_attr(
    not(gopy_pg),
    ignore = "set TEST_DATABASE_URL to run the Postgres half"
)]
async fn postgres_my_and_delete_me() {
    story_my_and_delete_me(TestDb::postgres().await).await;
}
