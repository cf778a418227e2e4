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

story!(
    story_the_docx_header_takes_the_number_signer_and_recipients_given,
    sqlite_the_docx_header_takes_the_number_signer_and_recipients_given,
    postgres_the_docx_header_takes_the_number_signer_and_recipients_given
);

/// The text of a DOCX's body, each paragraph on a line (tags dropped, entities undone).
fn docx_paragraphs(path: &Path) -> Vec<String> {
    let parts = unzip(path);
    let xml = &parts["word/document.xml"];
    xml.split("</w:p>")
        .map(|p| {
            let mut text = String::new();
            let mut rest = p;
            while let Some(start) = rest.find("<w:t") {
                let after = &rest[start..];
                let Some(open_end) = after.find('>') else {
                    break;
                };
                // `<w:tbl…>`, `<w:tc…>` and the like are not text runs.
                let tag = &after[..open_end];
                if !(tag == "<w:t" || tag.starts_with("<w:t ")) {
                    rest = &after[open_end..];
                    continue;
                }
                let body = &after[open_end + 1..];
                let Some(end) = body.find("</w:t>") else {
                    break;
                };
                text.push_str(&body[..end]);
                rest = &body[end..];
            }
            unescape(&text)
        })
        .filter(|t| !t.is_empty())
        .collect()
}

async fn story_the_docx_header_takes_the_number_signer_and_recipients_given(db: TestDb) {
    seed(&db).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let given = dir.path().join("so-12.docx");
    ok(
        &db.url,
        &[
            "synthesis",
            "export",
            "--campaign",
            "bk-exp",
            "--format",
            "docx",
            "--number",
            "Số: 12/BC-UBND",
            "--signer-title",
            "TM. ỦY BAN NHÂN DÂN",
            "--signer-title",
            "CHỦ TỊCH",
            "--signer-name",
            "Nguyễn Văn An",
            "--recipient",
            "- Thường trực Đảng ủy phường (để báo cáo);",
            "--recipient",
            "- Lưu: VT.",
            "-o",
            given.to_str().expect("path"),
        ],
    );
    let p = docx_paragraphs(&given);
    let at = |needle: &str| {
        p.iter()
            .position(|l| l == needle)
            .unwrap_or_else(|| panic!("the DOCX has no paragraph {needle:?}: {p:#?}"))
    };
    // The number on the left of the header, once, before the title.
    assert!(at("Số: 12/BC-UBND") < at("BÁO CÁO"));
    assert!(
        !p.iter().any(|l| l.contains("-BC/…")),
        "the blank number stays out"
    );
    // The signer's capacity on two lines, then the name below the space for the signature.
    let (title, chair, name) = (
        at("TM. ỦY BAN NHÂN DÂN"),
        at("CHỦ TỊCH"),
        at("Nguyễn Văn An"),
    );
    assert!(title < chair && chair < name, "{p:#?}");
    assert!(!p.iter().any(|l| l.contains("T/M CƠ QUAN TỔNG HỢP")));
    // "Nơi nhận" lists exactly what was given, in order.
    let recipients = at("Nơi nhận:");
    assert_eq!(
        p[recipients + 1..recipients + 3],
        [
            "- Thường trực Đảng ủy phường (để báo cáo);".to_owned(),
            "- Lưu: VT.".to_owned()
        ]
    );
    assert!(!p.iter().any(|l| l.contains("Ủy ban Mặt trận Tổ quốc")));
    let audited = db
        .strings("SELECT CAST(detail AS TEXT) FROM audit_log WHERE action = 'synthesis.export'")
        .await;
    assert!(
        audited.iter().any(|d| d.contains("12/BC-UBND")),
        "{audited:?}"
    );

    // Nothing given: the defaults, and a unit's report names the unit among the recipients.
    let unit = dir.path().join("tdp-1.docx");
    ok(
        &db.url,
        &[
            "synthesis",
            "export",
            "--campaign",
            "bk-exp",
            "--unit",
            "TDP-1",
            "--format",
            "docx",
            "-o",
            unit.to_str().expect("path"),
        ],
    );
    let p = docx_paragraphs(&unit);
    assert!(
        p.iter()
            .any(|l| l.starts_with("Số:") && l.contains("-BC/…")),
        "{p:#?}"
    );
    assert!(p.iter().any(|l| l == "T/M CƠ QUAN TỔNG HỢP"));
    assert!(p.iter().any(|l| l == "(Ký, ghi rõ họ tên)"));
    let recipients = p.iter().position(|l| l == "Nơi nhận:").expect("Nơi nhận");
    let list = &p[recipients + 1..];
    let unit_line = list
        .iter()
        .position(|l| l == "- Tổ dân phố 1 (để biết);")
        .unwrap_or_else(|| panic!("the unit is not among the recipients: {list:#?}"));
    let archive = list
        .iter()
        .position(|l| l == "- Lưu văn phòng.")
        .expect("the archive line");
    assert_eq!(
        unit_line + 1,
        archive,
        "the unit comes just before the archive"
    );
}

story!(
    story_the_one_pass_aggregates_equal_the_opinions_counted_one_by_one,
    sqlite_the_one_pass_aggregates_equal_the_opinions_counted_one_by_one,
    postgres_the_one_pass_aggregates_equal_the_opinions_counted_one_by_one
);

/// The synthesis' aggregates computed the slow way: every row of `synthesis_opinions` read
/// and counted here, for the campaign or only `units`.
async fn counted_one_by_one(
    db: &TestDb,
    campaign: i64,
    units: Option<&[&str]>,
) -> gopy::synthesis::report::Aggregates {
    use gopy::synthesis::report::{Aggregates, CountRow, ExclusionRow};
    use std::collections::{BTreeMap, BTreeSet};
    let day = if db.url.starts_with("sqlite:") {
        "date(created_at, '+7 hours')"
    } else {
        "to_char(created_at AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM-DD')"
    };
    let filter = units
        .map(|u| {
            format!(
                " AND unit_code IN ({})",
                u.iter()
                    .map(|c| format!("'{c}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
        .unwrap_or_default();
    let rows = db
        .strings(&format!(
            "SELECT COALESCE(exclusion, '') || '|' || COALESCE(CASE WHEN exclusion = 'hidden' \
             THEN moderation_reason END, '~') || '|' || topic_code || '|' || \
             COALESCE(section_ref, '~') || '|' || COALESCE(unit_code, '~') || '|' || \
             COALESCE(target_group, '~') || '|' || source || '|' || {day} || '|' || \
             COALESCE(stance, '~') || '|' || person FROM synthesis_opinions \
             WHERE campaign_id = {campaign}{filter}"
        ))
        .await;
    let opt = |s: &str| (s != "~").then(|| s.to_owned());
    // Topic, section, unit, target group, source.
    type Key = (
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        String,
    );
    let mut counts: BTreeMap<Key, i64> = BTreeMap::new();
    let mut days: BTreeMap<String, i64> = BTreeMap::new();
    let mut stances: BTreeMap<(String, Option<String>), i64> = BTreeMap::new();
    let mut excluded: BTreeMap<(String, Option<String>), i64> = BTreeMap::new();
    let mut people = BTreeSet::new();
    for row in &rows {
        let f: Vec<&str> = row.splitn(10, '|').collect();
        if !f[0].is_empty() {
            *excluded.entry((f[0].to_owned(), opt(f[1]))).or_default() += 1;
            continue;
        }
        *counts
            .entry((
                f[2].to_owned(),
                opt(f[3]),
                opt(f[4]),
                opt(f[5]),
                f[6].to_owned(),
            ))
            .or_default() += 1;
        *days.entry(f[7].to_owned()).or_default() += 1;
        *stances.entry((f[2].to_owned(), opt(f[8]))).or_default() += 1;
        people.insert(f[9].to_owned());
    }
    Aggregates {
        counts: counts
            .into_iter()
            .map(
                |((topic, section, unit, target_group, source), opinions)| CountRow {
                    topic,
                    section,
                    unit,
                    target_group,
                    source,
                    opinions,
                },
            )
            .collect(),
        labels: Vec::new(),
        days: days.into_iter().collect(),
        exclusions: excluded
            .into_iter()
            .map(|((reason, detail), opinions)| ExclusionRow {
                reason,
                detail,
                opinions,
            })
            .collect(),
        stances: stances.into_iter().map(|((t, s), n)| (t, s, n)).collect(),
        opinions: days_total(&rows),
        participants: people.len() as i64,
        agreements: Vec::new(),
    }
}

/// How many of the rows are counted (no exclusion).
fn days_total(rows: &[String]) -> i64 {
    rows.iter().filter(|r| r.starts_with('|')).count() as i64
}

async fn story_the_one_pass_aggregates_equal_the_opinions_counted_one_by_one(db: TestDb) {
    let c = seed(&db).await;
    // Beside the seed's chat, meeting, withdrawn, hidden, pending and repeated opinions: an
    // anonymous import over both groups, several days, no unit, no section, every stance.
    let topics = ["do-thi", "moi-truong", "an-ninh"];
    let units = [Some("TDP-1"), Some("TDP-2"), None, Some("P-BK")];
    let groups = [Some("farmer"), Some("youth"), None];
    let stances = [
        Some(Stance::Agree),
        Some(Stance::Change),
        None,
        Some(Stance::Disagree),
        Some(Stance::Other),
    ];
    let opinions: Vec<RecordedOpinion> = (0..60)
        .map(|i| RecordedOpinion {
            row: Some(i + 2),
            topic: topics[i as usize % 3].to_owned(),
            section: (i % 2 == 0).then(|| "I".to_owned()),
            unit: units[i as usize % 4].map(str::to_owned),
            target_group: groups[i as usize % 3].map(str::to_owned),
            text: format!("Ý kiến nhập số {i} về việc chỉnh trang đô thị."),
            given_at: now() - chrono::Duration::hours(13 * i),
            speaker: if i % 10 == 0 {
                // Two speakers who repeat each other's and their own texts.
                Speaker {
                    name: Some(
                        if i % 20 == 0 {
                            "Lý Văn Hòa"
                        } else {
                            "Vũ Thị Hạnh"
                        }
                        .to_owned(),
                    ),
                    phone: None,
                }
            } else {
                Speaker::default()
            },
            stance: stances[i as usize % 5],
            origin: None,
        })
        .collect();
    db.store
        .record_opinions(&RecordBatch {
            campaign_id: c,
            meeting: None,
            file: Some("bang-tong-hop.xlsx".to_owned()),
            opinions,
            actor: "cli:tester".to_owned(),
            at: now(),
        })
        .await
        .expect("import");
    db.store.mark_duplicates(c).await.expect("duplicates");

    for units in [
        None,
        Some(&["TDP-1"][..]),
        Some(&["P-BK", "TDP-1", "TDP-2"][..]),
    ] {
        let owned: Option<Vec<String>> = units.map(|u| u.iter().map(|s| (*s).to_owned()).collect());
        let mut got = db
            .store
            .synthesis_aggregates(c, owned.as_deref())
            .await
            .expect("aggregates");
        let want = counted_one_by_one(&db, c, units).await;
        assert!(
            want.opinions > 0 && !want.exclusions.is_empty(),
            "{want:#?}"
        );
        got.labels.clear();
        got.agreements.clear();
        assert_eq!(got, want, "for units {units:?}");
    }
}
