//! Each unit gets its own results back, end to end: `gopy synthesis send` builds every unit's
//! report and queues it for the unit's leads; the whole gopy, running against the fake
//! Telegram Bot API over real HTTP, sends each lead their unit's DOCX in private chat and
//! records it sent (or failed, when Telegram refuses), audited; units without a linked lead
//! are listed as not delivered and named in the audit line. On SQLite and, when
//! `TEST_DATABASE_URL` is set at build time, on Postgres.

mod common;
mod fake_telegram;

use std::io::Read as _;
use std::sync::Arc;
use std::time::Duration;

use gopy::config::Settings;
use gopy::startup::Application;
use gopy::store::announce::{LinkCode, NewStaff, Role};
use gopy::synthesis::{RecordBatch, RecordedOpinion, Speaker};
use tokio_util::sync::CancellationToken;

use common::{TestDb, now, sample_campaign, story};
use fake_telegram::{FakeTelegram, Resident, TOKEN};

story!(
    story_each_unit_lead_gets_their_units_report_and_units_without_one_are_listed,
    sqlite_each_unit_lead_gets_their_units_report_and_units_without_one_are_listed,
    postgres_each_unit_lead_gets_their_units_report_and_units_without_one_are_listed
);

/// A staff user, linked to `telegram` when given (with a chat the fake knows when `reachable`).
async fn staff(
    db: &TestDb,
    fake: &FakeTelegram,
    name: &str,
    role: Role,
    unit: Option<&str>,
    telegram: Option<(&Resident, bool)>,
) {
    let code = format!("CODE-{name}");
    db.store
        .add_staff(
            &NewStaff {
                name: name.to_owned(),
                roles: vec![role],
                unit: unit.map(str::to_owned),
            },
            &LinkCode {
                code: code.clone(),
                expires_at: now() + chrono::Duration::hours(1),
            },
            "cli:tester",
            now(),
        )
        .await
        .expect("staff added");
    if let Some((who, reachable)) = telegram {
        db.store
            .link_telegram(&code, who.id, None, now())
            .await
            .expect("linked");
        if reachable {
            fake.add_chat(who.chat_json());
        }
    }
}

/// The text of a DOCX's body.
fn docx_text(bytes: &[u8]) -> String {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a DOCX (zip)");
    let mut xml = String::new();
    zip.by_name("word/document.xml")
        .expect("document.xml")
        .read_to_string(&mut xml)
        .expect("utf-8");
    xml.replace("&amp;", "&")
}

async fn story_each_unit_lead_gets_their_units_report_and_units_without_one_are_listed(db: TestDb) {
    let c = db
        .store
        .insert_campaign(&sample_campaign("bk-send", now()))
        .await
        .expect("campaign");
    let opinion = |unit: &str, text: &str| RecordedOpinion {
        row: None,
        topic: "do-thi".to_owned(),
        section: None,
        unit: Some(unit.to_owned()),
        target_group: Some("farmer".to_owned()),
        text: text.to_owned(),
        given_at: now(),
        speaker: Speaker::default(),
        stance: None,
        origin: None,
    };
    db.store
        .record_opinions(&RecordBatch {
            campaign_id: c,
            meeting: None,
            file: Some("bang.csv".to_owned()),
            opinions: vec![
                opinion("TDP-1", "Đề nghị nâng cấp đường ngõ 5 của tổ 1."),
                opinion("TDP-1", "Cần lắp thêm đèn ở ngõ 9 của tổ 1."),
                opinion("TDP-2", "Đề nghị nạo vét cống thoát nước tổ 2."),
            ],
            actor: "cli:tester".to_owned(),
            at: now(),
        })
        .await
        .expect("opinions");

    let fake = Arc::new(FakeTelegram::start().await);
    let hoa = Resident::new(8301, "Hòa");
    let binh = Resident::new(8302, "Bình");
    let lan = Resident::new(8303, "Lan");
    // TDP-1: two leads, one linked and reachable, one not linked. TDP-2: a lead whose chat
    // Telegram does not know (the file fails). The ward: only an official, no lead.
    staff(
        &db,
        &fake,
        "hoa",
        Role::UnitLead,
        Some("TDP-1"),
        Some((&hoa, true)),
    )
    .await;
    staff(&db, &fake, "tuan", Role::UnitLead, Some("TDP-1"), None).await;
    staff(
        &db,
        &fake,
        "binh",
        Role::UnitLead,
        Some("TDP-2"),
        Some((&binh, false)),
    )
    .await;
    staff(&db, &fake, "lan", Role::Official, None, Some((&lan, true))).await;

    let settings = Settings {
        database_url: db.url.clone(),
        http_addr: "127.0.0.1:0".parse().expect("address"),
        telegram_token: Some(TOKEN.to_owned()),
        telegram_api_url: fake.api_url(),
        demo: false,
        ..Settings::default()
    };
    let app = Application::build(settings).await.expect("gopy builds");
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(app.run(shutdown.clone()));

    let got = common::gopy(
        &db.url,
        &[
            "synthesis",
            "send",
            "--campaign",
            "bk-send",
            "--number",
            "7/BC-MTTQ",
        ],
    );
    let out = String::from_utf8_lossy(&got.stdout).into_owned();
    assert!(
        got.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&got.stderr)
    );
    assert!(
        out.contains("Tổ dân phố 1: đã xếp gửi báo cáo (2 ý kiến) cho hoa"),
        "{out}"
    );
    assert!(out.contains("Phường Bắc Kạn: KHÔNG gửi"), "{out}");
    assert!(
        out.contains("Đã xếp gửi 2 báo cáo của 2 đơn vị; 1 đơn vị không gửi được"),
        "{out}"
    );

    // Hòa gets TDP-1's report, and only TDP-1's opinions, with the number given.
    let media = fake
        .wait_for_within("TDP-1's report", Duration::from_secs(20), |f| {
            f.media().into_iter().find(|m| m.chat_id == hoa.id)
        })
        .await;
    assert_eq!(media.method, "sendDocument");
    assert_eq!(media.file_name, "tong-hop-bk-send-tdp-1.docx");
    let doc = docx_text(&media.bytes);
    for needle in [
        "Số: 7/BC-MTTQ",
        "(Kết quả tại Tổ dân phố 1)",
        "Đề nghị nâng cấp đường ngõ 5 của tổ 1.",
        "Cần lắp thêm đèn ở ngõ 9 của tổ 1.",
        "- Tổ dân phố 1 (để biết);",
    ] {
        assert!(doc.contains(needle), "TDP-1's report lacks {needle:?}");
    }
    assert!(
        !doc.contains("tổ 2"),
        "TDP-1's report holds TDP-2's opinion"
    );
    let told = fake.texts_to(hoa.id).join("\n");
    assert!(
        told.contains("Kết quả tổng hợp ý kiến của Tổ dân phố 1") && told.contains("2"),
        "{told}"
    );

    // Recorded: TDP-1 sent, TDP-2 failed (Telegram refused the chat); each audited once.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let open = db
            .int("SELECT count(*) FROM unit_report_sends WHERE state IN ('pending', 'sending')")
            .await;
        if open == 0 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "reports still open");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let states = db
        .strings("SELECT unit_code || ':' || state FROM unit_report_sends ORDER BY unit_code")
        .await;
    assert_eq!(states, ["TDP-1:sent", "TDP-2:failed"]);
    assert_eq!(
        db.int("SELECT count(*) FROM audit_log WHERE action = 'synthesis.send.delivered'")
            .await,
        1
    );
    assert_eq!(
        db.int("SELECT count(*) FROM audit_log WHERE action = 'synthesis.send.failed'")
            .await,
        1
    );
    let audit = db
        .strings("SELECT CAST(detail AS TEXT) FROM audit_log WHERE action = 'synthesis.send'")
        .await;
    assert_eq!(audit.len(), 1);
    assert!(
        audit[0].contains("P-BK") && audit[0].contains("no-lead") && audit[0].contains("7/BC-MTTQ"),
        "{}",
        audit[0]
    );
    // Nothing went to the official, and nothing goes twice.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(fake.media().iter().all(|m| m.chat_id != lan.id));
    assert_eq!(
        fake.media().iter().filter(|m| m.chat_id == hoa.id).count(),
        1
    );
    let listed = common::gopy(&db.url, &["synthesis", "sent", "--campaign", "bk-send"]);
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert!(listed.contains("TDP-1 → hoa: đã gửi"), "{listed}");
    assert!(listed.contains("TDP-2 → binh: không gửi được"), "{listed}");

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(15), task)
        .await
        .expect("gopy stops")
        .expect("no panic")
        .expect("clean stop");
}
