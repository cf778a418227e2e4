//! Near-duplicate groups and classification through the real `gopy` binary, on SQLite and
//! on Postgres (when `TEST_DATABASE_URL` is set at build time): residents who write the same
//! request in their own words are grouped with a central representative; an official merges,
//! splits and chooses; a rebuild keeps what the official confirmed; re-classification moves
//! the counts; every change is audited.

mod common;

use std::collections::HashMap;

use common::{TestDb, gopy, now, sample_campaign, story};
use gopy::domain::{Channel, ContactKey, Locale, OpinionSource};
use gopy::store::NewOpinion;

story!(
    story_officials_group_merge_split_and_classify,
    sqlite_officials_group_merge_split_and_classify,
    postgres_officials_group_merge_split_and_classify
);

/// What residents of a ward write about its lanes and its rubbish, each from their own chat.
const TEXTS: [(&str, &str); 10] = [
    (
        "do-thi",
        "Đề nghị nâng cấp đường ngõ 5 vì mỗi khi mưa là ngập.",
    ),
    (
        "do-thi",
        "de nghi nang cap duong ngo 5 vi moi khi mua la ngap",
    ),
    (
        "do-thi",
        "ĐỀ NGHỊ nâng cấp đường ngõ 5, vì mỗi khi mưa là ngập!!",
    ),
    (
        "do-thi",
        "Đề nghị nâng cấp đường ngõ 5 vì mỗi khi mưa là ngập sâu",
    ),
    (
        "do-thi",
        "Cần lát lại vỉa hè trước chợ phường cho người đi bộ.",
    ),
    (
        "do-thi",
        "Cần lát lại vỉa hè trước chợ phường cho người đi bộ an toàn.",
    ),
    ("do-thi", "Đề nghị lắp đèn chiếu sáng ở ngõ 7."),
    (
        "moi-truong",
        "Đề nghị tăng chuyến thu gom rác vào buổi tối.",
    ),
    (
        "moi-truong",
        "Đề nghị tăng chuyến thu gom rác vào buổi tối trong tuần.",
    ),
    ("moi-truong", "Nên phạt nặng người đổ rác ra bờ sông."),
];

/// Stores each text as one submitted opinion of its own resident; returns reference → text.
async fn seed(db: &TestDb) -> HashMap<String, &'static str> {
    let c = db
        .store
        .insert_campaign(&sample_campaign("bk-grp", now()))
        .await
        .expect("campaign");
    let mut tx = db.store.begin().await.expect("begin");
    let mut refs = HashMap::new();
    for (i, (topic, text)) in TEXTS.iter().enumerate() {
        let key = ContactKey {
            channel: Channel::Zalo,
            external_id: format!("zalo-{i}"),
        };
        let contact = tx.contact(&key, Locale::Vi).await.expect("contact").id;
        let reference = format!("G{i:05}");
        tx.insert_opinion(&NewOpinion {
            reference: reference.clone(),
            campaign_id: c,
            contact_id: Some(contact),
            topic: (*topic).to_owned(),
            section: Some("II.3".to_owned()),
            unit: Some(if i % 2 == 0 { "TDP-1" } else { "TDP-2" }.to_owned()),
            target_group: None,
            channel: Channel::Zalo,
            source: OpinionSource::Chat,
            anonymous: true,
            text: (*text).to_owned(),
            created_at: now(),
        })
        .await
        .expect("opinion");
        tx.submit_drafts(contact, c, &format!("GY-{i}"), now())
            .await
            .expect("submit");
        refs.insert(reference, *text);
    }
    tx.commit().await.expect("commit");
    refs
}

fn ok(url: &str, args: &[&str]) -> String {
    let out = gopy(url, args);
    assert!(
        out.status.success(),
        "gopy {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The groups as (sorted member references, representative reference), largest first.
async fn groups(db: &TestDb) -> Vec<(Vec<String>, String)> {
    let c = db
        .int("SELECT id FROM campaigns WHERE slug = 'bk-grp'")
        .await;
    let groups = db.store.opinion_groups(c).await.expect("groups");
    groups
        .into_iter()
        .map(|g| {
            let rep = g
                .members
                .iter()
                .find(|m| Some(m.0) == g.representative)
                .map(|m| m.1.clone())
                .unwrap_or_default();
            let mut members: Vec<String> = g.members.into_iter().map(|m| m.1).collect();
            members.sort();
            (members, rep)
        })
        .collect()
}

fn refs(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

async fn story_officials_group_merge_split_and_classify(db: TestDb) {
    seed(&db).await;
    let built = ok(
        &db.url,
        &["opinions", "group", "--campaign", "bk-grp", "build"],
    );
    assert!(
        built.contains("Đã gom 8 ý kiến tương tự thành 3 nhóm"),
        "{built}"
    );
    let found = groups(&db).await;
    assert_eq!(found.len(), 3, "{found:?}");
    assert_eq!(found[0].0, refs(&["G00000", "G00001", "G00002", "G00003"]));
    assert!(found.contains(&(refs(&["G00004", "G00005"]), "G00004".to_owned())));
    assert!(found.iter().any(|g| g.0 == refs(&["G00007", "G00008"])));

    // The official splits one off, groups the lamp with the lanes, and picks a representative.
    ok(
        &db.url,
        &[
            "opinions",
            "group",
            "--campaign",
            "bk-grp",
            "split",
            "G00003",
        ],
    );
    let lanes = db
        .int("SELECT group_id FROM opinion_group_members m JOIN opinions o ON o.id = m.opinion_id WHERE o.reference = 'G00000'")
        .await
        .to_string();
    let lamp_group = ok(
        &db.url,
        &[
            "opinions",
            "group",
            "--campaign",
            "bk-grp",
            "new",
            "G00006",
            "G00003",
        ],
    );
    assert!(lamp_group.contains("gồm 2 ý kiến"), "{lamp_group}");
    ok(
        &db.url,
        &[
            "opinions",
            "group",
            "--campaign",
            "bk-grp",
            "represent",
            &lanes,
            "g00002",
        ],
    );
    let refused = gopy(
        &db.url,
        &[
            "opinions",
            "group",
            "--campaign",
            "bk-grp",
            "represent",
            &lanes,
            "G00009",
        ],
    );
    assert_eq!(refused.status.code(), Some(65));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("không thuộc nhóm"));

    // A rebuild keeps what the official confirmed and regroups the rest.
    ok(
        &db.url,
        &["opinions", "group", "--campaign", "bk-grp", "build"],
    );
    let after = groups(&db).await;
    assert!(
        after.contains(&(refs(&["G00000", "G00001", "G00002"]), "G00002".to_owned())),
        "{after:?}"
    );
    assert!(
        after.iter().any(|g| g.0 == refs(&["G00003", "G00006"])),
        "{after:?}"
    );
    assert!(
        after.iter().any(|g| g.0 == refs(&["G00004", "G00005"])),
        "{after:?}"
    );
    assert_eq!(after.len(), 4, "{after:?}");

    // Merge two groups; the merged group keeps the first's representative.
    let ids = db
        .strings("SELECT CAST(g.id AS TEXT) FROM opinion_groups g JOIN opinions o ON o.id = g.representative_id WHERE o.reference IN ('G00002', 'G00004') ORDER BY o.reference")
        .await;
    ok(
        &db.url,
        &[
            "opinions",
            "group",
            "--campaign",
            "bk-grp",
            "merge",
            &ids[0],
            &ids[1],
        ],
    );
    let merged = groups(&db).await;
    assert_eq!(
        merged[0],
        (
            refs(&["G00000", "G00001", "G00002", "G00004", "G00005"]),
            "G00002".to_owned()
        )
    );

    // Re-classification moves the counts and is audited with what it was.
    ok(
        &db.url,
        &[
            "opinions",
            "classify",
            "--campaign",
            "bk-grp",
            "G00009",
            "--topic",
            "an-ninh",
            "--section",
            "II.4",
            "--stance",
            "change",
        ],
    );
    ok(
        &db.url,
        &[
            "opinions",
            "classify",
            "--campaign",
            "bk-grp",
            "G00007",
            "--add-topic",
            "do-thi",
        ],
    );
    let bad = gopy(
        &db.url,
        &[
            "opinions",
            "classify",
            "--campaign",
            "bk-grp",
            "G00007",
            "--topic",
            "giao-thong",
        ],
    );
    assert_eq!(bad.status.code(), Some(65));
    let dir = tempfile::tempdir().expect("temp dir");
    let json = dir.path().join("s.json");
    ok(
        &db.url,
        &[
            "synthesis",
            "export",
            "--campaign",
            "bk-grp",
            "--format",
            "json",
            "--out",
            json.to_str().expect("path"),
        ],
    );
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).expect("json")).expect("parse");
    let topic = |code: &str| {
        v["synthesis"]["topics"]
            .as_array()
            .expect("topics")
            .iter()
            .find(|t| t["code"] == code)
            .cloned()
            .expect("topic")
    };
    assert_eq!(topic("an-ninh")["opinions"], 1);
    assert_eq!(topic("moi-truong")["opinions"], 2);
    assert_eq!(topic("do-thi")["also"], 1);
    let stances = topic("an-ninh")["stances"].clone();
    assert!(
        stances
            .as_array()
            .expect("stances")
            .iter()
            .any(|s| s["code"] == "change" && s["opinions"] == 1)
    );
    let listed = v["opinions"].as_array().expect("opinions");
    let rep = listed
        .iter()
        .find(|o| o["reference"] == "G00002")
        .expect("G00002");
    assert_eq!(rep["representative"], true);
    assert!(rep["group"].is_i64());

    let actions = db
        .strings("SELECT action FROM audit_log WHERE action LIKE 'opinions.%' ORDER BY id")
        .await;
    assert_eq!(
        actions,
        vec![
            "opinions.group.build",
            "opinions.group.split",
            "opinions.group.merge",
            "opinions.group.represent",
            "opinions.group.build",
            "opinions.group.merge",
            "opinions.classify",
            "opinions.classify",
            "opinions.classify",
        ]
    );
    let before = db
        .strings("SELECT CAST(detail AS TEXT) FROM audit_log WHERE action = 'opinions.classify' ORDER BY id LIMIT 1")
        .await;
    assert!(before[0].contains("moi-truong"), "{before:?}");
}
