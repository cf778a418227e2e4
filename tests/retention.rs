//! The retention purge against real databases: a resident who took part only in a campaign
//! past its retention loses their name and username, one still in a later campaign keeps
//! theirs, meeting speakers' names and phones go, opinions stay; a dry run erases nothing,
//! the purge is audited and a second run finds nothing. On SQLite and, when
//! `TEST_DATABASE_URL` is set, on Postgres; the command line on SQLite.

mod common;

use chrono::Duration;

use common::{TestDb, now, sample_campaign, story};
use gopy::domain::{Channel, ContactKey, Identity, IdentityMode, Locale, OpinionSource};
use gopy::store::{NewOpinion, Store};

story!(
    story_identities_go_when_retention_is_over,
    retention_sqlite,
    retention_postgres
);

/// A named resident `who` on Telegram who consented to `campaign` and gave one opinion.
async fn resident(store: &dyn Store, who: i64, campaigns: &[i64]) -> i64 {
    let mut tx = store.begin().await.expect("begin");
    let key = ContactKey {
        channel: Channel::Telegram,
        external_id: who.to_string(),
    };
    let c = tx.contact(&key, Locale::Vi).await.expect("contact");
    let identity = Identity {
        display_name: Some(format!("Cư dân {who}")),
        username: Some(format!("cudan{who}")),
    };
    tx.set_identity(c.id, Some(&identity))
        .await
        .expect("identity");
    for (i, campaign) in campaigns.iter().enumerate() {
        tx.record_consent(c.id, *campaign, IdentityMode::Named, "v1", now())
            .await
            .expect("consent");
        tx.insert_opinion(&NewOpinion {
            reference: format!("R{who}-{i}"),
            campaign_id: *campaign,
            contact_id: Some(c.id),
            topic: "kinh-te".to_owned(),
            section: None,
            unit: Some("TDP-1".to_owned()),
            target_group: None,
            channel: Channel::Telegram,
            source: OpinionSource::Chat,
            anonymous: false,
            text: "Đề nghị lắp thêm đèn chiếu sáng ngõ nhỏ.".to_owned(),
            created_at: now(),
        })
        .await
        .expect("opinion");
    }
    tx.commit().await.expect("commit");
    c.id
}

async fn story_identities_go_when_retention_is_over(db: TestDb) {
    let store = db.store.clone();
    // Closed about 16 months ago (12 months' retention): due. The other is open now.
    let old = store
        .insert_campaign(&sample_campaign("cu-2025", now() - Duration::days(500)))
        .await
        .expect("old campaign");
    let new = store
        .insert_campaign(&sample_campaign("moi-2026", now()))
        .await
        .expect("new campaign");
    let only_old = resident(store.as_ref(), 9001, &[old]).await;
    let both = resident(store.as_ref(), 9002, &[old, new]).await;
    let only_new = resident(store.as_ref(), 9003, &[new]).await;
    let opinion_of_old: i64 = db
        .int(&format!(
            "SELECT min(id) FROM opinions WHERE campaign_id = {old}"
        ))
        .await;
    db.execute(&format!(
        "INSERT INTO opinion_speakers (opinion_id, name, phone, person_key) \
         VALUES ({opinion_of_old}, 'Bà Lê Thị Hoa', '0912345678', 'k1')"
    ))
    .await
    .expect("a speaker");

    let planned = store
        .purge_identities(now(), true, "cli:tester")
        .await
        .expect("dry run");
    assert_eq!(planned.len(), 1, "{planned:?}");
    assert_eq!(
        (
            planned[0].slug.as_str(),
            planned[0].identities,
            planned[0].speakers
        ),
        ("cu-2025", 1, 1)
    );
    assert!(
        store.identity(only_old).await.unwrap().is_some(),
        "a dry run erases nothing"
    );

    let done = store
        .purge_identities(now(), false, "gopy-system")
        .await
        .expect("purge");
    assert_eq!(done, planned);
    assert!(store.identity(only_old).await.unwrap().is_none());
    assert!(
        store.identity(both).await.unwrap().is_some(),
        "still in a later campaign"
    );
    assert!(store.identity(only_new).await.unwrap().is_some());
    assert_eq!(
        db.int("SELECT count(*) FROM opinion_speakers WHERE name IS NOT NULL OR phone IS NOT NULL")
            .await,
        0
    );
    assert_eq!(
        store.campaign_opinions(old).await.unwrap().len(),
        2,
        "opinions are the record: kept"
    );
    assert_eq!(
        db.int("SELECT count(*) FROM audit_log WHERE action = 'retention.purge' AND actor = 'gopy-system'")
            .await,
        1
    );
    assert!(
        store
            .purge_identities(now(), false, "gopy-system")
            .await
            .unwrap()
            .is_empty(),
        "nothing left"
    );
}

#[tokio::test]
async fn the_command_line_shows_then_erases() {
    let db = TestDb::sqlite().await;
    let old = db
        .store
        .insert_campaign(&sample_campaign("cu-2025", now() - Duration::days(500)))
        .await
        .expect("old campaign");
    let who = resident(db.store.as_ref(), 9101, &[old]).await;
    let out = common::gopy(&db.url, &["purge", "--dry-run"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("cu-2025") && text.contains("sẽ xóa"),
        "{text}"
    );
    assert!(db.store.identity(who).await.unwrap().is_some());
    let out = common::gopy(&db.url, &["purge"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("đã xóa / erased: 1"), "{text}");
    assert!(db.store.identity(who).await.unwrap().is_none());
    let out = common::gopy(&db.url, &["purge"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Không có gì"));
}
