//! The synthesis story every storage backend must pass (SQLite always, Postgres when
//! `TEST_DATABASE_URL` is set at build time): meetings and recorded opinions keep where they
//! came from, a person's repeated text is counted once, every official change is audited in
//! its own transaction. Also the `gopy opinions record|import|template` commands end to end.

mod common;

use std::sync::Arc;

use chrono::NaiveDate;

use common::{TestDb, gopy, now, sample_campaign, story};
use gopy::store::Store;
use gopy::synthesis::{NewMeeting, RecordBatch, RecordedOpinion, Speaker, Stance};

story!(
    story_meeting_opinions_keep_provenance_and_count_once,
    sqlite_meeting_opinions_keep_provenance_and_count_once,
    postgres_meeting_opinions_keep_provenance_and_count_once
);
story!(
    story_import_cli_refuses_a_bad_file_whole_and_takes_a_good_one,
    sqlite_import_cli_refuses_a_bad_file_whole_and_takes_a_good_one,
    postgres_import_cli_refuses_a_bad_file_whole_and_takes_a_good_one
);
story!(
    story_record_cli_creates_the_meeting_once,
    sqlite_record_cli_creates_the_meeting_once,
    postgres_record_cli_creates_the_meeting_once
);

fn opinion(topic: &str, text: &str, name: Option<&str>) -> RecordedOpinion {
    RecordedOpinion {
        row: None,
        topic: topic.to_owned(),
        section: None,
        unit: Some("TDP-1".to_owned()),
        target_group: Some("farmer".to_owned()),
        text: text.to_owned(),
        given_at: now(),
        speaker: Speaker {
            name: name.map(str::to_owned),
            phone: None,
        },
        stance: Some(Stance::Change),
        origin: None,
    }
}

async fn campaign(store: &Arc<dyn Store>, slug: &str) -> i64 {
    store
        .insert_campaign(&sample_campaign(slug, now()))
        .await
        .expect("campaign")
}

async fn story_meeting_opinions_keep_provenance_and_count_once(db: TestDb) {
    let store = &db.store;
    let c = campaign(store, "bk-syn").await;
    let meeting = NewMeeting {
        campaign_id: c,
        name: "Hội nghị lấy ý kiến Tổ dân phố 1".to_owned(),
        held_on: NaiveDate::from_ymd_opt(2026, 11, 20).expect("date"),
        place: "Nhà văn hóa Tổ dân phố 1".to_owned(),
        unit: Some("TDP-1".to_owned()),
        target_group: Some("farmer".to_owned()),
        recorder: "Nguyễn Thị Lan".to_owned(),
    };
    let (m, created) = store
        .upsert_meeting(&meeting, "cli:tester", now())
        .await
        .expect("meeting");
    assert!(created);
    let (again, created) = store
        .upsert_meeting(&meeting, "cli:tester", now())
        .await
        .expect("meeting again");
    assert!(!created);
    assert_eq!(again.id, m.id);
    assert_eq!(store.meetings(c).await.expect("meetings"), vec![m.clone()]);

    let outcome = store
        .record_opinions(&RecordBatch {
            campaign_id: c,
            meeting: Some(m.id),
            file: None,
            opinions: vec![
                opinion(
                    "do-thi",
                    "Đề nghị nâng cấp đường ngõ 5.",
                    Some("Trần Văn Bình"),
                ),
                opinion(
                    "do-thi",
                    "đề nghị  NÂNG CẤP đường ngõ 5",
                    Some("TRẦN VĂN BÌNH"),
                ),
                opinion(
                    "do-thi",
                    "Đề nghị nâng cấp đường ngõ 5.",
                    Some("Lê Thị Hoa"),
                ),
                opinion("an-ninh", "Cần thêm đèn chiếu sáng.", None),
                opinion("an-ninh", "Cần thêm đèn chiếu sáng.", None),
            ],
            actor: "cli:tester".to_owned(),
            at: now(),
        })
        .await
        .expect("record");
    assert_eq!(outcome.ids.len(), 5);
    // Only Bình repeated himself; the unnamed speakers may be two people.
    assert_eq!(outcome.duplicates, 1);
    let dup = format!(
        "SELECT duplicate_of FROM opinion_duplicates WHERE opinion_id = {}",
        outcome.ids[1]
    );
    assert_eq!(db.int(&dup).await, outcome.ids[0]);
    assert_eq!(store.mark_duplicates(c).await.expect("mark again"), 0);

    // Provenance, source and channel as reports read them; the speaker is kept apart.
    assert_eq!(
        db.int(&format!(
            "SELECT count(*) FROM opinion_provenance WHERE meeting_id = {}",
            m.id
        ))
        .await,
        5
    );
    assert_eq!(
        db.strings(&format!(
            "SELECT DISTINCT source || '/' || channel || '/' || status FROM opinions \
             WHERE campaign_id = {c}"
        ))
        .await,
        vec!["meeting/office/submitted".to_owned()]
    );
    assert_eq!(
        db.int("SELECT count(*) FROM opinion_speakers").await,
        3,
        "only named speakers have a row"
    );
    assert_eq!(
        db.int("SELECT count(*) FROM opinion_stances WHERE stance = 'change'")
            .await,
        5
    );
    // The view counts the duplicate as excluded and Bình as one person.
    assert_eq!(
        db.strings(&format!(
            "SELECT exclusion FROM synthesis_opinions WHERE campaign_id = {c} \
             AND exclusion IS NOT NULL"
        ))
        .await,
        vec!["duplicate".to_owned()]
    );
    assert_eq!(
        db.int(&format!(
            "SELECT count(DISTINCT person) FROM synthesis_opinions WHERE campaign_id = {c}"
        ))
        .await,
        4
    );
    // One audit line for the meeting, one for the batch; the batch's names no speaker.
    let audit = store.audit_log(10).await.expect("audit");
    let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(actions, vec!["opinions.record", "synthesis.meeting.create"]);
    assert_eq!(audit[0].detail["opinions"], 5);
    assert_eq!(audit[0].detail["duplicates"], 1);
    assert!(!audit[0].detail.to_string().contains("Bình"));
}

/// Writes `content` to a file named `name` in a new temporary folder.
fn file(name: &str, content: &[u8]) -> (std::path::PathBuf, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(name);
    std::fs::write(&path, content).expect("write the file");
    (path, dir)
}

async fn story_import_cli_refuses_a_bad_file_whole_and_takes_a_good_one(db: TestDb) {
    let c = campaign(&db.store, "bk-imp").await;
    let (bad, _d1) = file(
        "hoi-nong-dan.csv",
        "\u{feff}STT,Chủ đề,Đơn vị,Đối tượng,Nội dung ý kiến,Ngày góp ý,Quan điểm\n\
         1,do-thi,TDP-1,farmer,Nâng cấp đường liên tổ.,20/11/2026,Tán thành\n\
         2,giao-thong,TDP-1,farmer,Làm thêm vỉa hè.,20/11/2026,\n\
         3,moi-truong,TDP-9,,Thu gom rác đúng giờ.,32/11/2026,có lẽ\n"
            .as_bytes(),
    );
    let out = gopy(
        &db.url,
        &[
            "opinions",
            "import",
            "--campaign",
            "bk-imp",
            bad.to_str().expect("path"),
        ],
    );
    assert_eq!(out.status.code(), Some(65));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("hoi-nong-dan.csv:3: Dòng 3: Chủ đề \"giao-thong\""),
        "{err}"
    );
    assert!(
        err.contains("Dòng 4: Ngày \"32/11/2026\" không hợp lệ"),
        "{err}"
    );
    assert!(err.contains("Dòng 4: Đơn vị \"TDP-9\""), "{err}");
    assert!(err.contains("Dòng 4: Quan điểm \"có lẽ\""), "{err}");
    assert!(err.contains("Có 4 lỗi; chưa nhập ý kiến nào."), "{err}");
    assert_eq!(
        db.int(&format!(
            "SELECT count(*) FROM opinions WHERE campaign_id = {c}"
        ))
        .await,
        0
    );

    // The template gopy writes, filled in, imports; a repeated row of one person counts once.
    let dir = tempfile::tempdir().expect("temp dir");
    let template = dir.path().join("mau.csv");
    let out = gopy(
        &db.url,
        &[
            "opinions",
            "template",
            "--campaign",
            "bk-imp",
            "-o",
            template.to_str().expect("p"),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut text = std::fs::read_to_string(&template).expect("template");
    assert!(text.starts_with('\u{feff}'));
    text.push_str(
        "2,moi-truong,,,youth,Thu gom rác đúng giờ,21/11/2026,khác,Phạm Văn Cường,0912345678\n",
    );
    text.push_str(
        "3,moi-truong,,,youth,Thu gom rác đúng giờ.,21/11/2026,,Phạm Văn Cường,+84 912 345 678\n",
    );
    // An abusive row is imported (nothing is lost) but waits for a moderator.
    text.push_str("4,moi-truong,,,youth,Tổ trưởng làm ăn như vcl,21/11/2026,,,\n");
    std::fs::write(&template, text).expect("fill the template");
    let out = gopy(
        &db.url,
        &[
            "opinions",
            "import",
            "--campaign",
            "bk-imp",
            template.to_str().expect("p"),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("Đã nhập 4 ý kiến"), "{said}");
    assert!(said.contains("1 ý kiến lặp lại"), "{said}");
    assert!(
        said.contains("1 ý kiến được chuyển cho người kiểm duyệt"),
        "{said}"
    );
    assert_eq!(
        db.strings(&format!(
            "SELECT o.text FROM moderation_items m JOIN opinions o ON o.id = m.opinion_id \
             WHERE o.campaign_id = {c}"
        ))
        .await,
        vec!["Tổ trưởng làm ăn như vcl"]
    );
    assert_eq!(
        db.strings(&format!(
            "SELECT source_file || ':' || source_row FROM opinion_provenance p \
             JOIN opinions o ON o.id = p.opinion_id WHERE o.campaign_id = {c} ORDER BY o.id"
        ))
        .await,
        vec!["mau.csv:2", "mau.csv:3", "mau.csv:4", "mau.csv:5"]
    );
    assert_eq!(
        db.strings(&format!(
            "SELECT text FROM opinions WHERE campaign_id = {c} AND source = 'import' \
             ORDER BY id"
        ))
        .await[1],
        "Thu gom rác đúng giờ"
    );
    let audit = db.store.audit_log(1).await.expect("audit");
    assert_eq!(audit[0].action, "opinions.import");
    assert_eq!(audit[0].actor, "cli:tester");
    assert_eq!(audit[0].detail["file"], "mau.csv");
}

async fn story_record_cli_creates_the_meeting_once(db: TestDb) {
    let c = campaign(&db.store, "bk-rec").await;
    let args = |text: &'static str| {
        vec![
            "opinions",
            "record",
            "--campaign",
            "bk-rec",
            "--meeting-name",
            "Hội nghị Hội Nông dân phường",
            "--date",
            "19/11/2026",
            "--place",
            "Hội trường UBND phường",
            "--audience",
            "farmer",
            "--meeting-unit",
            "P-BK",
            "--topic",
            "Vệ sinh môi trường",
            "--text",
            text,
        ]
    };
    let out = gopy(&db.url, &args("Đề nghị tăng chuyến thu gom rác."));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Đã tạo hội nghị số"));
    let out = gopy(&db.url, &args("Đề nghị đặt thêm thùng rác."));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("Đã tạo hội nghị"));
    assert_eq!(db.int("SELECT count(*) FROM meetings").await, 1);
    // The opinions take the meeting's unit, audience and day (noon, Vietnam time).
    assert_eq!(
        db.strings(&format!(
            "SELECT topic_code || '/' || unit_code || '/' || target_group FROM opinions \
             WHERE campaign_id = {c}"
        ))
        .await,
        vec!["moi-truong/P-BK/farmer"; 2]
    );
    let out = gopy(
        &db.url,
        &[
            "opinions",
            "record",
            "--campaign",
            "bk-rec",
            "--topic",
            "do-thi",
            "--text",
            "x",
        ],
    );
    assert_eq!(out.status.code(), Some(65));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Cần chọn hội nghị"));
}

story!(
    story_an_excel_table_imports_with_its_dates_and_row_numbers,
    sqlite_an_excel_table_imports_with_its_dates_and_row_numbers,
    postgres_an_excel_table_imports_with_its_dates_and_row_numbers
);

async fn story_an_excel_table_imports_with_its_dates_and_row_numbers(db: TestDb) {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let c = campaign(&db.store, "bk-xlsx").await;
    let dir = tempfile::tempdir().expect("temp dir");

    // The template gopy writes opens as a workbook with the codes on a second sheet.
    let template = dir.path().join("mau.xlsx");
    let out = gopy(
        &db.url,
        &[
            "opinions",
            "template",
            "--campaign",
            "bk-xlsx",
            "-o",
            template.to_str().expect("p"),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows =
        {
            use calamine::{Reader as _, Xlsx};
            let mut book: Xlsx<_> = calamine::open_workbook(&template).expect("open the template");
            assert_eq!(book.sheet_names(), vec!["Ý kiến", "Mã dùng trong bảng"]);
            let codes = book.worksheet_range("Mã dùng trong bảng").expect("codes");
            assert!(codes.cells().any(
                |(_, _, d)| matches!(d, calamine::Data::String(s) if s == "Vệ sinh môi trường")
            ));
            book.worksheet_range("Ý kiến").expect("sheet").height()
        };
    assert_eq!(rows, 2);

    // A union's table as Excel keeps it: a real date cell, a number in STT, a bad row.
    let table = dir.path().join("hoi-phu-nu.xlsx");
    let write = |bad_row: bool| {
        let mut book = Workbook::new();
        let ws = book.add_worksheet();
        let date = Format::new().set_num_format("dd/mm/yyyy");
        for (i, h) in ["STT", "Chủ đề", "Nội dung ý kiến", "Ngày góp ý", "Đơn vị"]
            .iter()
            .enumerate()
        {
            ws.write_string(0, i as u16, *h).expect("header");
        }
        ws.write_number(1, 0, 1).expect("n");
        ws.write_string(1, 1, "moi-truong").expect("topic");
        ws.write_string(1, 2, "Đề nghị đặt thêm thùng rác phân loại ở chợ.")
            .expect("text");
        let day = ExcelDateTime::from_ymd(2026, 11, 18).expect("date");
        ws.write_datetime_with_format(1, 3, &day, &date)
            .expect("date");
        ws.write_string(1, 4, "Tổ dân phố 2").expect("unit");
        ws.write_number(2, 0, 2).expect("n");
        ws.write_string(2, 1, if bad_row { "khong-co" } else { "an-ninh" })
            .expect("topic");
        ws.write_string(2, 2, "Cần tuần tra ban đêm thường xuyên hơn.")
            .expect("text");
        book.save(&table).expect("save");
    };
    write(true);
    let out = gopy(
        &db.url,
        &[
            "opinions",
            "import",
            "--campaign",
            "bk-xlsx",
            table.to_str().expect("p"),
        ],
    );
    assert_eq!(out.status.code(), Some(65));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("hoi-phu-nu.xlsx:3: Dòng 3: Chủ đề \"khong-co\""),
        "{err}"
    );
    write(false);
    let out = gopy(
        &db.url,
        &[
            "opinions",
            "import",
            "--campaign",
            "bk-xlsx",
            table.to_str().expect("p"),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        db.strings(&format!(
            "SELECT unit_code FROM opinions WHERE campaign_id = {c} AND unit_code IS NOT NULL"
        ))
        .await,
        vec!["TDP-2"]
    );
    let day = format!(
        "SELECT count(*) FROM synthesis_opinions WHERE campaign_id = {c} AND text LIKE '%thùng rác%'"
    );
    assert_eq!(db.int(&day).await, 1);
    // The Excel date is the opinion's day (noon, Vietnam time = 05:00 UTC).
    let given = db
        .strings(&format!(
            "SELECT CAST(created_at AS TEXT) FROM opinions WHERE campaign_id = {c} ORDER BY id LIMIT 1"
        ))
        .await;
    assert!(
        given[0].starts_with("2026-11-18") && given[0].contains("05:00:00"),
        "{given:?}"
    );
}
