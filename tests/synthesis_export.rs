//! The synthesis end to end through the real `gopy` binary, on SQLite and on Postgres (when
//! `TEST_DATABASE_URL` is set at build time): chat opinions of named residents, opinions
//! heard at a meeting with their speakers, moderation and a withdrawal; then `gopy synthesis
//! build|show|export` in every format. Golden tests open each file (the DOCX and XLSX as zip
//! archives of XML; the XLSX also with calamine) and check structure and Vietnamese content,
//! not bytes; every anonymous export is scanned for every name, phone and platform id.

mod common;

use std::collections::HashMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use calamine::{Data, Reader as _, Xlsx};

use common::{TestDb, gopy, now, sample_campaign, story};
use gopy::domain::{Channel, ContactKey, Identity, Locale, OpinionSource};
use gopy::store::{NewOpinion, Store};
use gopy::synthesis::{NewMeeting, RecordBatch, RecordedOpinion, Speaker, Stance};

story!(
    story_every_export_holds_the_synthesis_and_no_identity,
    sqlite_every_export_holds_the_synthesis_and_no_identity,
    postgres_every_export_holds_the_synthesis_and_no_identity
);
story!(
    story_named_exports_need_an_allowed_role_and_a_reason,
    sqlite_named_exports_need_an_allowed_role_and_a_reason,
    postgres_named_exports_need_an_allowed_role_and_a_reason
);

/// What identifies the residents of [`seed`]: none of it may reach an anonymous export.
const IDENTIFYING: [&str; 8] = [
    "Nguyễn Văn Tèo",
    "teo_bk",
    "700123456",
    "Hoàng Thị Mai",
    "700654321",
    "Trần Văn Bình",
    "0912345678",
    "Đỗ Thị Cúc",
];

/// The texts that must be counted and listed (kept), by topic.
const KEPT: [(&str, &str); 5] = [
    ("do-thi", "Đề nghị nâng cấp đường ngõ 5, tổ dân phố 1."),
    ("do-thi", "Cần lát lại vỉa hè trước chợ phường."),
    (
        "moi-truong",
        "Đề nghị tăng chuyến thu gom rác vào buổi tối.",
    ),
    (
        "an-ninh",
        "Cần thêm đèn chiếu sáng ở ngõ 7 để bảo đảm an ninh.",
    ),
    (
        "an-ninh",
        "Đề nghị lắp camera tại ngã ba đường Trường Chinh.",
    ),
];

/// Seeds the campaign: two named Telegram residents (one withdraws an opinion, one has an
/// opinion hidden and one pending in moderation), and a meeting with two named speakers in
/// TDP-2. Returns the campaign id.
async fn seed(db: &TestDb) -> i64 {
    let store: &Arc<dyn Store> = &db.store;
    let c = store
        .insert_campaign(&sample_campaign("bk-exp", now()))
        .await
        .expect("campaign");
    let mut tx = store.begin().await.expect("begin");
    let mut ids = HashMap::new();
    let people = [
        ("700123456", "Nguyễn Văn Tèo", "teo_bk"),
        ("700654321", "Hoàng Thị Mai", "mai_hoang"),
    ];
    for (i, (ext, name, user)) in people.iter().enumerate() {
        let key = ContactKey {
            channel: Channel::Telegram,
            external_id: (*ext).to_owned(),
        };
        let contact = tx.contact(&key, Locale::Vi).await.expect("contact").id;
        tx.set_identity(
            contact,
            Some(&Identity {
                display_name: Some((*name).to_owned()),
                username: Some((*user).to_owned()),
            }),
        )
        .await
        .expect("identity");
        let texts: Vec<(&str, &str)> = match i {
            0 => vec![KEPT[0], KEPT[3], ("do-thi", "Ý kiến này tôi rút lại.")],
            _ => vec![
                KEPT[2],
                ("moi-truong", "Nội dung xúc phạm bị ẩn."),
                ("an-ninh", "Nội dung đang chờ kiểm duyệt."),
            ],
        };
        for (j, (topic, text)) in texts.iter().enumerate() {
            let id = tx
                .insert_opinion(&NewOpinion {
                    reference: format!("R{i}{j}XYZ"),
                    campaign_id: c,
                    contact_id: Some(contact),
                    topic: (*topic).to_owned(),
                    section: None,
                    unit: Some("TDP-1".to_owned()),
                    target_group: Some("youth".to_owned()),
                    channel: Channel::Telegram,
                    source: OpinionSource::Chat,
                    anonymous: false,
                    text: (*text).to_owned(),
                    created_at: now(),
                })
                .await
                .expect("opinion");
            ids.insert(*text, id);
        }
        tx.submit_drafts(contact, c, &format!("GY-{i}"), now())
            .await
            .expect("submit");
    }
    let teo = tx_contact(&mut tx, "700123456").await;
    tx.withdraw_opinion(teo, c, "R02XYZ", now())
        .await
        .expect("withdraw");
    tx.commit().await.expect("commit");
    for (text, status, reason) in [
        (
            "Nội dung xúc phạm bị ẩn.",
            "upheld",
            "'Xúc phạm người khác'",
        ),
        ("Nội dung đang chờ kiểm duyệt.", "queued", "NULL"),
    ] {
        let decided = if status == "queued" {
            "NULL, NULL"
        } else {
            "'mod-lan', '2026-11-20T10:00:00+00:00'"
        };
        db.execute(&format!(
            "INSERT INTO moderation_items (opinion_id, text, source, categories, score, \
             matches, status, created_at, decided_by, decided_at, reason) VALUES \
             ({}, 'x', 'detector', 'insult', 5, '[]', '{status}', \
             '2026-11-20T09:00:00+00:00', {decided}, {reason})",
            ids[text]
        ))
        .await
        .expect("moderation item");
    }
    let (meeting, _) = store
        .upsert_meeting(
            &NewMeeting {
                campaign_id: c,
                name: "Hội nghị lấy ý kiến Tổ dân phố 2".to_owned(),
                held_on: chrono::NaiveDate::from_ymd_opt(2026, 11, 19).expect("date"),
                place: "Nhà văn hóa Tổ dân phố 2".to_owned(),
                unit: Some("TDP-2".to_owned()),
                target_group: Some("farmer".to_owned()),
                recorder: "Lan".to_owned(),
            },
            "cli:tester",
            now(),
        )
        .await
        .expect("meeting");
    let spoken = |text: &str, name: &str, phone: Option<&str>| RecordedOpinion {
        row: None,
        topic: if text.contains("vỉa hè") {
            "do-thi"
        } else {
            "an-ninh"
        }
        .to_owned(),
        section: None,
        unit: Some("TDP-2".to_owned()),
        target_group: Some("farmer".to_owned()),
        text: text.to_owned(),
        given_at: now(),
        speaker: Speaker {
            name: Some(name.to_owned()),
            phone: phone.map(str::to_owned),
        },
        stance: Some(Stance::Change),
        origin: None,
    };
    store
        .record_opinions(&RecordBatch {
            campaign_id: c,
            meeting: Some(meeting.id),
            file: None,
            opinions: vec![
                spoken(KEPT[1].1, "Trần Văn Bình", Some("0912345678")),
                spoken(KEPT[4].1, "Đỗ Thị Cúc", None),
                // Bình says it again: kept, counted once.
                spoken(KEPT[1].1, "Trần Văn Bình", Some("0912 345 678")),
            ],
            actor: "cli:tester".to_owned(),
            at: now(),
        })
        .await
        .expect("record");
    c
}

async fn tx_contact(tx: &mut Box<dyn gopy::store::Tx>, ext: &str) -> i64 {
    tx.contact(
        &ContactKey {
            channel: Channel::Telegram,
            external_id: ext.to_owned(),
        },
        Locale::Vi,
    )
    .await
    .expect("contact")
    .id
}

/// Runs gopy and insists it succeeded; returns its standard output.
fn ok(url: &str, args: &[&str]) -> String {
    let out = gopy(url, args);
    assert!(
        out.status.success(),
        "gopy {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every entry of a zip archive as text (XLSX and DOCX are zips of XML).
fn unzip(path: &Path) -> HashMap<String, String> {
    let file = std::fs::File::open(path).expect("open the archive");
    let mut zip = zip::ZipArchive::new(file).expect("a zip archive");
    let mut out = HashMap::new();
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).expect("entry");
        let mut text = String::new();
        if entry.read_to_string(&mut text).is_ok() {
            out.insert(entry.name().expect("entry name").to_string(), text);
        }
    }
    out
}

/// Everything readable in an exported file: its text, or every entry of an archive.
fn all_text(path: &Path) -> String {
    match path.extension().and_then(|e| e.to_str()) {
        Some("xlsx") | Some("docx") => unzip(path).into_values().collect::<Vec<_>>().join("\n"),
        _ => std::fs::read_to_string(path).expect("a text export"),
    }
}

/// XML text with the five predefined entities undone.
fn unescape(xml: &str) -> String {
    xml.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

async fn story_every_export_holds_the_synthesis_and_no_identity(db: TestDb) {
    let c = seed(&db).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let file = |name: &str| -> PathBuf { dir.path().join(name) };

    let built = ok(&db.url, &["synthesis", "build", "--campaign", "bk-exp"]);
    assert!(
        built.contains("5 ý kiến được tổng hợp của 4 người góp ý; 4 ý kiến không tính"),
        "{built}"
    );
    assert!(built.contains("Đã dựng bản tổng hợp số"), "{built}");
    let shown = ok(
        &db.url,
        &["synthesis", "show", "--campaign", "bk-exp", "--full"],
    );
    for (_, text) in KEPT {
        assert!(shown.contains(text), "{text} missing from:\n{shown}");
    }
    assert!(
        shown.contains("Bị ẩn sau kiểm duyệt (Xúc phạm người khác)"),
        "{shown}"
    );
    assert!(shown.contains("Đang chờ kiểm duyệt"), "{shown}");
    assert!(!shown.contains("Nội dung xúc phạm bị ẩn."), "{shown}");

    for format in ["csv", "json", "xlsx", "docx"] {
        let path = file(&format!("tong-hop.{format}"));
        let said = ok(
            &db.url,
            &[
                "synthesis",
                "export",
                "--campaign",
                "bk-exp",
                "--format",
                format,
                "--out",
                path.to_str().expect("path"),
            ],
        );
        assert!(said.contains("Đã xuất 5 ý kiến"), "{said}");
        let text = all_text(&path);
        for id in IDENTIFYING {
            assert!(!text.contains(id), "{format} export holds {id}");
        }
    }

    // CSV: BOM, Vietnamese header, one line per kept opinion, text round-trips.
    let csv = std::fs::read(file("tong-hop.csv")).expect("csv");
    assert!(csv.starts_with(b"\xEF\xBB\xBF"));
    let mut reader = csv::Reader::from_reader(&csv[3..]);
    let header: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(header[0], "Mã ý kiến");
    assert_eq!(header.last().map(String::as_str), Some("Nội dung ý kiến"));
    let texts: Vec<String> = reader
        .records()
        .map(|r| {
            r.expect("record")
                .iter()
                .next_back()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    let mut want: Vec<&str> = KEPT.iter().map(|(_, t)| *t).collect();
    let mut got: Vec<&str> = texts.iter().map(String::as_str).collect();
    want.sort();
    got.sort();
    assert_eq!(got, want);

    // JSON: the versioned schema, the figures, the opinions.
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(file("tong-hop.json")).expect("json"))
            .expect("parse");
    assert_eq!(json["schema"], "gopy.synthesis/1");
    assert_eq!(json["named"], false);
    assert_eq!(json["synthesis"]["opinions"], 5);
    assert_eq!(json["synthesis"]["participants"], 4);
    assert_eq!(json["synthesis"]["excluded"], 4);
    assert_eq!(json["opinions"].as_array().map(Vec::len), Some(5));
    let topics: HashMap<String, i64> = json["synthesis"]["topics"]
        .as_array()
        .expect("topics")
        .iter()
        .map(|t| {
            (
                t["code"].as_str().unwrap_or("").to_owned(),
                t["opinions"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    assert_eq!(topics["do-thi"], 2);
    assert_eq!(topics["moi-truong"], 1);
    assert_eq!(topics["an-ninh"], 2);
    let units: HashMap<String, i64> = json["synthesis"]["units"]
        .as_array()
        .expect("units")
        .iter()
        .map(|u| {
            (
                u["code"].as_str().unwrap_or("").to_owned(),
                u["total"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    assert_eq!(units["P-BK"], 5, "the ward rolls up its residential groups");
    assert_eq!(units["TDP-1"], 3);
    assert_eq!(units["TDP-2"], 2);
    let reasons: Vec<(String, i64)> = json["synthesis"]["exclusions"]
        .as_array()
        .expect("exclusions")
        .iter()
        .map(|e| {
            (
                e["reason"].as_str().unwrap_or("").to_owned(),
                e["opinions"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    for reason in ["duplicate", "hidden", "pending", "withdrawn"] {
        assert!(
            reasons.contains(&(reason.to_owned(), 1)),
            "{reason} in {reasons:?}"
        );
    }
    let sources: HashMap<String, i64> = json["synthesis"]["sources"]
        .as_array()
        .expect("sources")
        .iter()
        .map(|s| {
            (
                s["code"].as_str().unwrap_or("").to_owned(),
                s["opinions"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(sources["telegram"], 3);
    assert_eq!(sources["meeting"], 2);

    // XLSX: a summary sheet, then one sheet per topic with every opinion and a filter.
    let mut book: Xlsx<_> = calamine::open_workbook(file("tong-hop.xlsx")).expect("open xlsx");
    let names = book.sheet_names();
    assert_eq!(
        names,
        vec![
            "Tổng hợp",
            "Chỉnh trang đô thị",
            "Vệ sinh môi trường",
            "An ninh trật tự"
        ]
    );
    let summary = book.worksheet_range("Tổng hợp").expect("summary");
    let summary_text: Vec<String> = summary.cells().map(|(_, _, d)| d.to_string()).collect();
    assert!(summary_text.iter().any(|c| c == "Chủ đề theo đơn vị"));
    assert!(summary_text.iter().any(|c| c == "Số người góp ý"));
    let sheet = book
        .worksheet_range("An ninh trật tự")
        .expect("topic sheet");
    let rows: Vec<&[Data]> = sheet.rows().collect();
    assert_eq!(rows.len(), 3, "header and two opinions");
    assert_eq!(rows[0][0], Data::String("Mã ý kiến".to_owned()));
    let xlsx_texts: Vec<String> = rows[1..].iter().map(|r| r[11].to_string()).collect();
    assert!(xlsx_texts.contains(&KEPT[4].1.to_owned()), "{xlsx_texts:?}");
    let parts = unzip(&file("tong-hop.xlsx"));
    for sheet in [
        "xl/worksheets/sheet2.xml",
        "xl/worksheets/sheet3.xml",
        "xl/worksheets/sheet4.xml",
    ] {
        assert!(
            parts[sheet].contains("<autoFilter"),
            "{sheet} has no filter"
        );
    }

    // DOCX: A4, Times New Roman, the Decree 30 header and closing, every kept opinion.
    let parts = unzip(&file("tong-hop.docx"));
    let doc = unescape(&parts["word/document.xml"]);
    assert!(
        doc.contains("w:w=\"11906\"") && doc.contains("w:h=\"16838\""),
        "A4"
    );
    let styles = &parts["word/styles.xml"];
    assert!(styles.contains("Times New Roman"), "default font");
    assert!(styles.contains("w:val=\"28\""), "14 pt body");
    for needle in [
        "ĐẢNG ỦY PHƯỜNG BẮC KẠN",
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "Bắc Kạn, ngày ",
        "BÁO CÁO",
        "Tổng hợp ý kiến góp ý của Nhân dân đối với Dự thảo Kế hoạch phát triển",
        "I. KẾT QUẢ TIẾP NHẬN Ý KIẾN",
        "II. TỔNG HỢP Ý KIẾN THEO CHỦ ĐỀ VÀ MỤC DỰ THẢO",
        "III. Ý KIẾN KHÔNG ĐƯA VÀO TỔNG HỢP",
        "Nơi nhận:",
        "Bị ẩn sau kiểm duyệt: Xúc phạm người khác",
    ] {
        assert!(doc.contains(needle), "the DOCX lacks {needle:?}");
    }
    for (_, text) in KEPT {
        assert!(doc.contains(text), "the DOCX lacks {text:?}");
    }
    assert!(!doc.contains("Nội dung xúc phạm bị ẩn."));

    // A unit's report holds only its units' opinions.
    let unit_file = file("tdp2.json");
    ok(
        &db.url,
        &[
            "synthesis",
            "export",
            "--campaign",
            "bk-exp",
            "--unit",
            "TDP-2",
            "--format",
            "json",
            "--out",
            unit_file.to_str().expect("path"),
        ],
    );
    let unit: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&unit_file).expect("json")).expect("parse");
    assert_eq!(unit["synthesis"]["opinions"], 2);
    assert_eq!(unit["synthesis"]["unit"]["code"], "TDP-2");
    assert!(
        unit["opinions"]
            .as_array()
            .expect("opinions")
            .iter()
            .all(|o| o["unit"] == "TDP-2")
    );

    // Every build and export is in the audit log.
    let exports = db
        .int("SELECT count(*) FROM audit_log WHERE action = 'synthesis.export'")
        .await;
    assert_eq!(
        exports, 5,
        "campaign {c}: four formats and one unit's report"
    );
    assert_eq!(
        db.int("SELECT count(*) FROM audit_log WHERE action = 'synthesis.build'")
            .await,
        1
    );
}

async fn story_named_exports_need_an_allowed_role_and_a_reason(db: TestDb) {
    seed(&db).await;
    for (name, role) in [("lan", "official"), ("minh", "approver")] {
        ok(&db.url, &["staff", "add", "--name", name, "--role", role]);
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("named.csv");
    let path = out.to_str().expect("path");
    let base = [
        "synthesis",
        "export",
        "--campaign",
        "bk-exp",
        "--format",
        "csv",
        "--out",
        path,
    ];

    let refused = gopy(
        &db.url,
        &[
            &base[..],
            &[
                "--named",
                "--as",
                "lan",
                "--reason",
                "Đối chiếu danh sách hội nghị",
            ],
        ]
        .concat(),
    );
    assert_eq!(refused.status.code(), Some(65));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("không có vai trò được xuất"));
    assert!(!out.exists());

    let no_reason = gopy(
        &db.url,
        &[&base[..], &["--named", "--as", "minh", "--reason", "vì"]].concat(),
    );
    assert_eq!(no_reason.status.code(), Some(65));
    assert!(String::from_utf8_lossy(&no_reason.stderr).contains("cần ghi rõ lý do"));

    let without_as = gopy(
        &db.url,
        &[
            &base[..],
            &["--named", "--reason", "Đối chiếu danh sách hội nghị"],
        ]
        .concat(),
    );
    assert!(!without_as.status.success(), "--named needs --as");

    ok(
        &db.url,
        &[
            &base[..],
            &[
                "--named",
                "--as",
                "minh",
                "--reason",
                "Đối chiếu danh sách hội nghị",
            ],
        ]
        .concat(),
    );
    let text = all_text(&out);
    for name in [
        "Nguyễn Văn Tèo",
        "Trần Văn Bình",
        "0912345678",
        "Đỗ Thị Cúc",
    ] {
        assert!(text.contains(name), "the named export lacks {name}");
    }
    let audit = db.store.audit_log(1).await.expect("audit");
    assert_eq!(audit[0].action, "synthesis.export.named");
    assert_eq!(audit[0].actor, "minh");
    assert_eq!(audit[0].detail["reason"], "Đối chiếu danh sách hội nghị");
    assert!(!audit[0].detail.to_string().contains("Tèo"));
}

/// The DOCX opens in LibreOffice: rendered to PDF with `soffice --headless`, its first page
/// to PNG with `pdftoppm` (reported as ignored where those tools are missing at build time).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(gopy_soffice),
    ignore = "needs soffice and pdftoppm on PATH at build time"
)]
async fn the_docx_report_renders_in_libreoffice() {
    let db = TestDb::sqlite().await;
    seed(&db).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let docx = dir.path().join("bao-cao.docx");
    ok(
        &db.url,
        &[
            "synthesis",
            "export",
            "--campaign",
            "bk-exp",
            "--format",
            "docx",
            "--out",
            docx.to_str().expect("path"),
        ],
    );
    let profile = format!("-env:UserInstallation=file://{}/lo", dir.path().display());
    let pdf = std::process::Command::new("soffice")
        .args([&profile, "--headless", "--convert-to", "pdf", "--outdir"])
        .arg(dir.path())
        .arg(&docx)
        .output()
        .expect("run soffice");
    assert!(
        pdf.status.success(),
        "{}",
        String::from_utf8_lossy(&pdf.stderr)
    );
    let png = std::process::Command::new("pdftoppm")
        .args(["-r", "50", "-f", "1", "-l", "1", "-png"])
        .arg(dir.path().join("bao-cao.pdf"))
        .arg(dir.path().join("page"))
        .output()
        .expect("run pdftoppm");
    assert!(
        png.status.success(),
        "{}",
        String::from_utf8_lossy(&png.stderr)
    );
    let page = std::fs::read_dir(dir.path())
        .expect("list")
        .filter_map(Result::ok)
        .find(|e| e.file_name().to_string_lossy().starts_with("page"))
        .expect("a rendered page");
    let bytes = std::fs::read(page.path()).expect("png");
    assert!(bytes.starts_with(b"\x89PNG"));
    assert!(bytes.len() > 10_000, "a page with text on it");
}
