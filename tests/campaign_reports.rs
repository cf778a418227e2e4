//! Report dates declared in the campaign file (`[[reports]]`), through the real `gopy` binary
//! against a real database: imported with the campaign into its report dates (a past date
//! left out), listed, imported again without adding anything twice, written back by
//! `gopy campaign file`, and a wrong row refused with its row, field and line, importing
//! nothing. On SQLite and, when `TEST_DATABASE_URL` is set at build time, on Postgres.

mod common;

use std::path::Path;
use std::process::Output;

use chrono::{Datelike as _, Utc};

use common::{TestDb, gopy, story};

story!(
    report_dates_story,
    report_dates_in_the_file_on_sqlite,
    report_dates_in_the_file_on_postgres
);

/// The slug of `examples/demo-campaign.toml`.
const DEMO_SLUG: &str = "hoa-binh-dh-2025";

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("stdout is UTF-8")
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("stderr is UTF-8")
}

/// The demo campaign file with `rows` appended.
fn demo_with(rows: &str) -> String {
    let demo = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo-campaign.toml"),
    )
    .expect("the demo file");
    format!("{demo}\n{rows}")
}

async fn report_dates_story(db: TestDb) {
    let dir = tempfile::tempdir().expect("a folder");
    let next = Utc::now().year() + 1;
    let rows = format!(
        "[[reports]]\ndate = \"{next}-07-23\"\n\n\
         [[reports]]\ndate = {next}-07-24\nhour = 17\nunit = \"tdp-1\"\n\n\
         [[reports]]\ndate = \"2020-01-02 09:30\"\n"
    );
    let file = dir.path().join("dot.toml");
    std::fs::write(&file, demo_with(&rows)).expect("written");
    let path = file.display().to_string();

    let out = gopy(&db.url, &["campaign", "import", &path]);
    assert!(out.status.success(), "{}", stderr(&out));
    let said = stdout(&out);
    assert!(said.contains("thêm 2 / added"), "{said}");
    assert!(said.contains("đã qua 1"), "{said}");

    let listed = stdout(&gopy(
        &db.url,
        &["reports", "list", "--campaign", DEMO_SLUG],
    ));
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(
        lines,
        vec![
            format!("{next}-07-23 08:00\t*\tchờ / due").as_str(),
            format!("{next}-07-24 17:00\ttdp-1\tchờ / due").as_str(),
        ],
        "{listed}"
    );
    assert_eq!(
        db.int("SELECT count(*) FROM audit_log WHERE action LIKE 'reports.%'")
            .await,
        2,
        "each date added is audited"
    );

    // The same file again: nothing added twice.
    let out = gopy(&db.url, &["reports", "import", &path]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("đã có 2"), "{}", stdout(&out));
    assert_eq!(db.int("SELECT count(*) FROM report_dates").await, 2);

    // Written back with the campaign: the file reads back to the same dates.
    let out = gopy(&db.url, &["campaign", "file", DEMO_SLUG]);
    assert!(out.status.success(), "{}", stderr(&out));
    let written = stdout(&out);
    assert!(written.contains("[[reports]]"), "{written}");
    let back = gopy::campaign::parse_file(&written).expect("the written file parses");
    assert_eq!(back.reports.len(), 2);
    assert_eq!(back.reports[1].unit.as_deref(), Some("tdp-1"));
    assert_eq!(back.campaign.slug, DEMO_SLUG);

    // A wrong row: refused with its row, field and line; nothing imported.
    let broken = demo_with("[[reports]]\ndate = \"2031-07-23\"\nhour = 25\n")
        .replace("hoa-binh-dh-2025", "hoa-binh-khac");
    let line = broken
        .lines()
        .position(|l| l == "hour = 25")
        .expect("the line")
        + 1;
    let file = dir.path().join("sai.toml");
    std::fs::write(&file, broken).expect("written");
    let out = gopy(
        &db.url,
        &["campaign", "import", &file.display().to_string()],
    );
    assert_eq!(out.status.code(), Some(65));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(":{line}:"))
            && err.contains("báo cáo thứ 1: `hour` phải từ 0 đến 23"),
        "{err}"
    );
    assert_eq!(db.int("SELECT count(*) FROM campaigns").await, 1);
}
