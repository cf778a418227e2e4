//! Roll-up of two wards into a district through the real `gopy` binary: each ward writes a
//! signed bundle of its kept opinions (SQLite), the district (SQLite, and Postgres when
//! `TEST_DATABASE_URL` is set at build time) imports both and builds its synthesis from
//! them, keeping where each opinion came from; an altered bundle, another key, a missing key
//! and a second import of the same bundle are refused with nothing stored.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{TestDb, now, sample_campaign, story};
use gopy::domain::{Campaign, Unit};
use gopy::synthesis::{RecordBatch, RecordedOpinion, Speaker};

story!(
    story_two_wards_roll_up_into_a_district,
    sqlite_two_wards_roll_up_into_a_district,
    postgres_two_wards_roll_up_into_a_district
);

const KEY: &str = "khoa-dung-chung-cua-quan-va-phuong";

/// Runs gopy on `url` with the roll-up key `key` (none when `None`).
fn gopy_with_key(url: &str, key: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gopy"));
    cmd.args(args)
        .env("DATABASE_URL", url)
        .env("GOPY_DEMO", "off")
        .env("USER", "tester")
        .env_remove("TELEGRAM_BOT_TOKEN")
        .env_remove("GOPY_HTTP_ADDR")
        .env_remove("GOPY_ROLLUP_KEY");
    if let Some(k) = key {
        cmd.env("GOPY_ROLLUP_KEY", k);
    }
    cmd.output().expect("run the gopy binary")
}

fn ok(url: &str, args: &[&str]) -> String {
    let out = gopy_with_key(url, Some(KEY), args);
    assert!(
        out.status.success(),
        "gopy {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn unit(code: &str, name: &str, parent: Option<&str>, kind: &str) -> Unit {
    Unit {
        code: code.to_owned(),
        name: name.to_owned(),
        parent: parent.map(str::to_owned),
        kind: kind.to_owned(),
    }
}

/// The sample campaign for a ward `root` with two residential groups of its own.
fn ward(slug: &str, root: &str, name: &str) -> Campaign {
    let mut c = sample_campaign(slug, now());
    c.units = vec![
        unit(root, name, None, "ward"),
        unit(
            &format!("{root}-TDP-1"),
            "Tổ dân phố 1",
            Some(root),
            "residential-group",
        ),
        unit(
            &format!("{root}-TDP-2"),
            "Tổ dân phố 2",
            Some(root),
            "residential-group",
        ),
    ];
    c
}

/// A ward's database with its campaign and these opinions (topic, text); returns its URL.
async fn ward_db(
    slug: &str,
    root: &str,
    name: &str,
    texts: &[(&str, &str)],
) -> (String, tempfile::TempDir) {
    let (url, dir) = common::fresh_sqlite_url().await;
    let store = gopy::store::open(&url).await.expect("open");
    let c = store
        .insert_campaign(&ward(slug, root, name))
        .await
        .expect("campaign");
    let opinions = texts
        .iter()
        .map(|(topic, text)| RecordedOpinion {
            row: None,
            topic: (*topic).to_owned(),
            section: Some("II.3".to_owned()),
            unit: Some(format!("{root}-TDP-1")),
            target_group: Some("farmer".to_owned()),
            text: (*text).to_owned(),
            given_at: now(),
            speaker: Speaker {
                name: Some("Lò Văn Páo".to_owned()),
                phone: Some("0987654321".to_owned()),
            },
            stance: None,
            origin: None,
        })
        .collect();
    store
        .record_opinions(&RecordBatch {
            campaign_id: c,
            meeting: None,
            file: Some("so-lieu.csv".to_owned()),
            opinions,
            actor: "cli:tester".to_owned(),
            at: now(),
        })
        .await
        .expect("record");
    (url, dir)
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

async fn story_two_wards_roll_up_into_a_district(db: TestDb) {
    let (a, _da) = ward_db(
        "phuong-a",
        "P-A",
        "Phường An Bình",
        &[
            ("do-thi", "Đề nghị nâng cấp đường ngõ 5."),
            ("do-thi", "Cần lát lại vỉa hè trước chợ."),
            ("an-ninh", "Cần thêm đèn chiếu sáng ở ngõ 7."),
        ],
    )
    .await;
    let (b, _db) = ward_db(
        "phuong-b",
        "P-B",
        "Phường Bình Minh",
        &[
            ("moi-truong", "Đề nghị tăng chuyến thu gom rác."),
            ("do-thi", "Đề nghị mở rộng đường Trường Chinh."),
        ],
    )
    .await;
    let mut district = sample_campaign("quan-1", now());
    district.issuer = "Quận ủy Quận 1".to_owned();
    district.units = vec![
        unit("Q-1", "Quận 1", None, "district"),
        unit("P-A", "Phường An Bình", Some("Q-1"), "ward"),
        unit("P-B", "Phường Bình Minh", Some("Q-1"), "ward"),
    ];
    let c = db
        .store
        .insert_campaign(&district)
        .await
        .expect("district campaign");

    let dir = tempfile::tempdir().expect("temp dir");
    let bundle_a = dir.path().join("phuong-a.json");
    let bundle_b = dir.path().join("phuong-b.json");
    ok(
        &a,
        &[
            "synthesis",
            "bundle",
            "--campaign",
            "phuong-a",
            "--out",
            path(&bundle_a),
        ],
    );
    ok(
        &b,
        &[
            "synthesis",
            "bundle",
            "--campaign",
            "phuong-b",
            "--out",
            path(&bundle_b),
        ],
    );
    let text = std::fs::read_to_string(&bundle_a).expect("bundle");
    assert!(text.contains("gopy.rollup/1"));
    for id in ["Lò Văn Páo", "0987654321"] {
        assert!(!text.contains(id), "the bundle holds {id}");
    }

    // Refused: no key, another key, an altered bundle; nothing stored.
    let no_key = gopy_with_key(
        &db.url,
        None,
        &[
            "synthesis",
            "import-bundle",
            "--campaign",
            "quan-1",
            path(&bundle_a),
        ],
    );
    assert_eq!(no_key.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&no_key.stderr).contains("GOPY_ROLLUP_KEY"));
    let other = gopy_with_key(
        &db.url,
        Some("mot-khoa-khac-cung-du-dai"),
        &[
            "synthesis",
            "import-bundle",
            "--campaign",
            "quan-1",
            path(&bundle_a),
        ],
    );
    assert_eq!(other.status.code(), Some(65));
    assert!(String::from_utf8_lossy(&other.stderr).contains("Chữ ký của gói không khớp"));
    let altered = dir.path().join("sua.json");
    std::fs::write(&altered, text.replace("ngõ 5", "ngõ 9")).expect("write");
    let out = gopy_with_key(
        &db.url,
        Some(KEY),
        &[
            "synthesis",
            "import-bundle",
            "--campaign",
            "quan-1",
            path(&altered),
        ],
    );
    assert_eq!(out.status.code(), Some(65));
    assert_eq!(db.int("SELECT count(*) FROM opinions").await, 0);

    // Both wards imported; the district's synthesis is theirs, rolled up.
    let said = ok(
        &db.url,
        &[
            "synthesis",
            "import-bundle",
            "--campaign",
            "quan-1",
            path(&bundle_a),
        ],
    );
    assert!(
        said.contains("Đã nhập 3 ý kiến từ gói tổng hợp của Phường An Bình"),
        "{said}"
    );
    ok(
        &db.url,
        &[
            "synthesis",
            "import-bundle",
            "--campaign",
            "quan-1",
            path(&bundle_b),
        ],
    );
    let again = gopy_with_key(
        &db.url,
        Some(KEY),
        &[
            "synthesis",
            "import-bundle",
            "--campaign",
            "quan-1",
            path(&bundle_a),
        ],
    );
    assert_eq!(again.status.code(), Some(65));
    assert!(String::from_utf8_lossy(&again.stderr).contains("đã được nhập trước đây"));
    assert_eq!(db.int("SELECT count(*) FROM opinions").await, 5);

    let json = dir.path().join("quan.json");
    ok(
        &db.url,
        &[
            "synthesis",
            "export",
            "--campaign",
            "quan-1",
            "--format",
            "json",
            "--out",
            path(&json),
        ],
    );
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).expect("json")).expect("parse");
    assert_eq!(v["synthesis"]["opinions"], 5);
    let units: Vec<(String, i64)> = v["synthesis"]["units"]
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
    assert_eq!(
        units,
        vec![
            ("Q-1".to_owned(), 5),
            ("P-A".to_owned(), 3),
            ("P-B".to_owned(), 2)
        ]
    );
    let texts: Vec<&str> = v["opinions"]
        .as_array()
        .expect("opinions")
        .iter()
        .filter_map(|o| o["text"].as_str())
        .collect();
    assert!(texts.contains(&"Đề nghị mở rộng đường Trường Chinh."));

    // Each opinion keeps where it came from.
    let origins = db
        .strings(&format!(
            "SELECT p.origin FROM opinion_provenance p JOIN opinions o ON o.id = p.opinion_id \
             WHERE o.campaign_id = {c} ORDER BY o.id"
        ))
        .await;
    assert_eq!(origins.len(), 5);
    assert!(origins[0].starts_with("P-A/phuong-a/N"), "{origins:?}");
    assert!(origins[4].starts_with("P-B/phuong-b/N"), "{origins:?}");
    let files = db
        .strings("SELECT DISTINCT source_file FROM opinion_provenance ORDER BY source_file")
        .await;
    assert_eq!(
        files,
        vec![
            "phuong-a.json (Phường An Bình)",
            "phuong-b.json (Phường Bình Minh)"
        ]
    );
    let audit = db.strings("SELECT action FROM audit_log ORDER BY id").await;
    assert_eq!(
        audit,
        vec!["opinions.import", "opinions.import", "synthesis.export"]
    );
}
