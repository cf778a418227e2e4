//! The campaign commands, run as the real `gopy` binary against a real database: import the
//! demo file, refuse a broken file listing every problem with its position (importing
//! nothing), list, show, and export opinions as CSV and JSON.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use chrono::{Duration, Utc};

use common::{TestDb, gopy};
use gopy::domain::{Channel, ContactKey, Locale, OpinionSource};
use gopy::store::NewOpinion;

/// The slug of `examples/demo-campaign.toml`.
const DEMO_SLUG: &str = "hoa-binh-dh-2025";

/// The demo campaign file in the repository.
fn demo_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo-campaign.toml")
}

/// Standard output as text.
fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("stdout is UTF-8")
}

/// Standard error as text.
fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("stderr is UTF-8")
}

/// A campaign file with five mistakes, each on a line of its own.
const BROKEN: &str = r#"slug = "xa-thu"
issuer = "Đảng ủy xã Thử"
title = "Lấy ý kiến"
document_title = "Dự thảo"
intro = "Thử."
purpose = "Thử."
target_groups = ["woman", "aliens"]

[[units]]
code = "xa"
name = "Xã Thử"
kind = "commune"

[[units]]
code = "xa"
name = "Thôn 1"
kind = "village"
parent = "xa"

[[sections]]
reference = "I"
title = "Phần I"
summary = "Tóm tắt."

[[topics]]
code = "kinh-te"
title = "Kinh tế"
question = "Ý kiến?"
sections = ["II.3"]

[[phases]]
kind = "collect"
starts = "2025-07-20"
ends = "2025-07-13"
"#;

/// Adds three opinions to the campaign through the store: one plain, one that looks like a
/// spreadsheet formula, and one withdrawn.
async fn add_opinions(db: &TestDb, campaign: i64) {
    let now = Utc::now();
    let mut tx = db.store.begin().await.expect("begin");
    let contact = tx
        .contact(
            &ContactKey {
                channel: Channel::Telegram,
                external_id: "777000111".to_owned(),
            },
            Locale::Vi,
        )
        .await
        .expect("contact");
    for (i, (reference, text)) in [
        ("AAA111", "Cần nạo vét cống ở ngõ 5, cứ mưa là ngập."),
        ("BBB222", "=HYPERLINK(\"http://x\",\"bấm\")"),
        ("CCC333", "Ý kiến sẽ rút lại."),
    ]
    .into_iter()
    .enumerate()
    {
        tx.insert_opinion(&NewOpinion {
            reference: reference.to_owned(),
            campaign_id: campaign,
            contact_id: Some(contact.id),
            topic: "do-thi".to_owned(),
            section: Some("II.2".to_owned()),
            unit: Some("tdp-2".to_owned()),
            target_group: Some("veteran".to_owned()),
            channel: Channel::Telegram,
            source: OpinionSource::Chat,
            anonymous: false,
            text: text.to_owned(),
            created_at: now + Duration::seconds(i as i64),
        })
        .await
        .expect("insert opinion");
    }
    tx.submit_drafts(contact.id, campaign, "GY-RCPT01", now)
        .await
        .expect("submit");
    assert!(
        tx.withdraw_opinion(contact.id, campaign, "CCC333", now)
            .await
            .expect("withdraw")
    );
    tx.commit().await.expect("commit");
}

/// The whole story on one backend.
async fn campaign_commands_story(db: TestDb) {
    let url = db.url.clone();
    let dir = tempfile::tempdir().expect("temporary folder");

    // An empty database lists nothing.
    let out = gopy(&url, &["campaign", "list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("Chưa có đợt lấy ý kiến nào"));

    // The demo file imports, and says its id and slug.
    let demo = demo_file();
    let out = gopy(&url, &["campaign", "import", demo.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let said = stdout(&out);
    assert!(said.contains(&format!("slug {DEMO_SLUG}")), "{said}");
    let campaigns = db.store.campaigns().await.expect("campaigns");
    assert_eq!(campaigns.len(), 1);
    let id = campaigns[0].id;
    assert!(said.contains(&format!("id {id}")), "{said}");
    assert_eq!(campaigns[0].topics.len(), 6);
    assert_eq!(campaigns[0].units[0].name, "Phường Hòa Bình");

    // The same slug again is refused with a clear message.
    let out = gopy(&url, &["campaign", "import", demo.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(65), "{}", stderr(&out));
    assert!(stderr(&out).contains(&format!("slug `{DEMO_SLUG}` exists already")));
    assert_eq!(db.store.campaigns().await.unwrap().len(), 1);

    // A broken file: every problem with its position, exit 65, nothing imported.
    let broken = dir.path().join("broken.toml");
    std::fs::write(&broken, BROKEN).unwrap();
    let b = broken.to_str().unwrap();
    let out = gopy(&url, &["campaign", "import", b]);
    assert_eq!(out.status.code(), Some(65));
    let err = stderr(&out);
    for expected in [
        format!("{b}:7:27: đối tượng không có trong danh sách: aliens"),
        format!("{b}:15:8: mã địa bàn trùng lặp: xa / duplicate unit code: xa"),
        format!("{b}:29:13: nội dung kinh-te dẫn chiếu mục không có trong dự thảo: II.3"),
        format!("{b}:34:8: giai đoạn collect kết thúc trước khi bắt đầu"),
    ] {
        assert!(err.contains(&expected), "{expected}\nnot in:\n{err}");
    }
    assert!(err.contains("Có 4 lỗi; chưa nhập gì."), "{err}");
    let campaigns = db.store.campaigns().await.unwrap();
    assert_eq!(
        campaigns.len(),
        1,
        "nothing of the broken file was imported"
    );
    assert!(campaigns.iter().all(|c| c.slug != "xa-thu"));

    // A file that does not exist.
    let missing = dir.path().join("missing.toml");
    let out = gopy(&url, &["campaign", "import", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(66));
    assert!(stderr(&out).contains("không đọc được tệp"));

    // List: id, slug, title, collection window in Vietnam time, opinion count.
    add_opinions(&db, id).await;
    let out = gopy(&url, &["campaign", "list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let table = stdout(&out);
    let row = table
        .lines()
        .find(|l| l.contains(DEMO_SLUG))
        .unwrap_or_else(|| panic!("no row for the demo in:\n{table}"));
    assert!(row.starts_with(&id.to_string()), "{row}");
    assert!(row.contains("Lấy ý kiến Nhân dân"), "{row}");
    assert!(row.contains("13/07/2025 00:00 – 20/07/2025 24:00"), "{row}");
    assert!(
        row.trim_end().ends_with('3'),
        "three opinions stored: {row}"
    );

    // Show, by slug and by id: the tree, deep links, sections, topics, phases.
    let out = gopy(&url, &["campaign", "show", DEMO_SLUG]);
    assert!(out.status.success(), "{}", stderr(&out));
    let shown = stdout(&out);
    for expected in [
        "Đảng ủy phường Hòa Bình",
        "  Phường Hòa Bình (hoa-binh, ward)",
        "      Tổ dân phố 1 (tdp-1, residential-group)",
        "hoa-binh-dh-2025_tdp-1",
        "hoa-binh-dh-2025_thon-tan-lap",
        "II.3. Cải cách hành chính, xây dựng chính quyền thân thiện, phục vụ",
        "[kinh-te] — mục / sections: II.1, I.1",
        "collect     Lấy ý kiến  13/07/2025 00:00 – 20/07/2025 24:00",
    ] {
        assert!(shown.contains(expected), "{expected:?} not in:\n{shown}");
    }
    let out = gopy(&url, &["campaign", "show", &id.to_string()]);
    assert!(out.status.success());
    assert_eq!(stdout(&out), shown);
    let out = gopy(&url, &["campaign", "show", "khong-co"]);
    assert_eq!(out.status.code(), Some(65));
    assert!(stderr(&out).contains("Không có đợt lấy ý kiến `khong-co`"));

    // CSV export to a file: BOM, Vietnamese header and text intact, formula neutralised,
    // withdrawn opinion and identity left out.
    let csv_path = dir.path().join("y-kien.csv");
    let out = gopy(
        &url,
        &[
            "opinions",
            "export",
            "--campaign",
            DEMO_SLUG,
            "--format",
            "csv",
            "-o",
            csv_path.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let bytes = std::fs::read(&csv_path).unwrap();
    assert!(
        bytes.starts_with(&[0xEF, 0xBB, 0xBF]),
        "UTF-8 byte-order mark"
    );
    let csv = String::from_utf8(bytes).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "header and two opinions:\n{csv}");
    assert!(lines[0].starts_with("\u{feff}Mã ý kiến,Mã nội dung,Nội dung xin ý kiến"));
    assert!(
        csv.contains("Cần nạo vét cống ở ngõ 5, cứ mưa là ngập."),
        "{csv}"
    );
    assert!(csv.contains("Tổ dân phố 2"), "{csv}");
    assert!(csv.contains("\"'=HYPERLINK("), "formula neutralised: {csv}");
    for absent in ["Ý kiến sẽ rút lại", "777000111", "GY-RCPT01"] {
        assert!(!csv.contains(absent), "{absent} exported:\n{csv}");
    }

    // JSON export to stdout, by id.
    let out = gopy(
        &url,
        &[
            "opinions",
            "export",
            "--campaign",
            &id.to_string(),
            "--format",
            "json",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(v["schema"], "gopy.opinions/1");
    assert_eq!(v["campaign"]["slug"], DEMO_SLUG);
    let opinions = v["opinions"].as_array().unwrap();
    assert_eq!(opinions.len(), 2);
    assert_eq!(
        opinions[0]["text"],
        "Cần nạo vét cống ở ngõ 5, cứ mưa là ngập."
    );
    assert_eq!(opinions[0]["status"], "submitted");
    assert!(
        opinions[0]["created_at"]
            .as_str()
            .unwrap()
            .ends_with("+07:00"),
        "Vietnam time"
    );
    assert!(!stdout(&out).contains("777000111"));

    let out = gopy(&url, &["opinions", "export", "--campaign", "999"]);
    assert_eq!(out.status.code(), Some(65));

    // Every import and export is in the audit log, by the OS user.
    let log = db.store.audit_log(10).await.unwrap();
    let exports: Vec<_> = log
        .iter()
        .filter(|e| e.action == "opinions.export")
        .collect();
    assert_eq!(exports.len(), 2, "{log:#?}");
    assert!(exports.iter().all(|e| e.actor == "cli:tester"));
    assert!(exports.iter().all(|e| e.detail["count"] == 2));
    assert!(exports.iter().any(|e| e.detail["format"] == "csv"));
    assert!(exports.iter().any(|e| e.detail["format"] == "json"));
    let imports = log.iter().filter(|e| e.action == "campaign.import").count();
    assert_eq!(imports, 1, "only the successful import is logged");
}

#[tokio::test]
async fn campaign_commands_on_sqlite() {
    campaign_commands_story(TestDb::sqlite().await).await;
}

#[tokio::test]
#[cfg_attr(
    not(gopy_pg),
    ignore = "set TEST_DATABASE_URL to run the Postgres half"
)]
async fn campaign_commands_on_postgres() {
    campaign_commands_story(TestDb::postgres().await).await;
}
