//! The story every storage backend must pass: each story runs once against SQLite (always)
//! and once against Postgres (when `TEST_DATABASE_URL` is set at build time; reported as
//! ignored otherwise, never as passed).

mod common;

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::Duration;
use unicode_normalization::UnicodeNormalization;

use common::{TestDb, now, sample_campaign, story};
use gopy::dialog::{DialogState, Step};
use gopy::domain::{
    Channel, ContactKey, Identity, IdentityMode, Locale, OpinionSource, OpinionStatus, PhaseKind,
};
use gopy::store::{AuditEntry, Backend, NewOpinion, Store, StoreError};

story!(
    story_campaign_round_trip,
    sqlite_campaign_round_trip,
    postgres_campaign_round_trip
);
story!(
    story_contact_get_or_create,
    sqlite_contact_get_or_create,
    postgres_contact_get_or_create
);
story!(
    story_claim_update,
    sqlite_claim_update,
    postgres_claim_update
);
story!(
    story_forget_processed_updates,
    sqlite_forget_processed_updates_older_than_the_cut_off,
    postgres_forget_processed_updates_older_than_the_cut_off
);
story!(
    story_state_save_lock_expiry,
    sqlite_state_save_lock_expiry,
    postgres_state_save_lock_expiry
);
story!(
    story_opinion_life_cycle,
    sqlite_opinion_life_cycle,
    postgres_opinion_life_cycle
);
story!(
    story_erase_keeping_opinions,
    sqlite_erase_keeping_opinions,
    postgres_erase_keeping_opinions
);
story!(
    story_erase_withdrawing_opinions,
    sqlite_erase_withdrawing_opinions,
    postgres_erase_withdrawing_opinions
);
story!(
    story_concurrent_steps_of_one_resident,
    sqlite_concurrent_steps_of_one_resident,
    postgres_concurrent_steps_of_one_resident
);
story!(story_audit_log, sqlite_audit_log, postgres_audit_log);
story!(
    story_campaign_summaries,
    sqlite_campaign_summaries,
    postgres_campaign_summaries
);
story!(story_ping, sqlite_ping, postgres_ping);
story!(
    story_claim_and_contact,
    sqlite_claim_and_contact,
    postgres_claim_and_contact
);

/// A Telegram contact key.
fn key(external_id: &str) -> ContactKey {
    ContactKey {
        channel: Channel::Telegram,
        external_id: external_id.to_owned(),
    }
}

/// A new chat opinion of a contact on a topic of the sample campaign.
fn new_opinion(
    campaign: i64,
    contact: i64,
    reference: &str,
    text: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> NewOpinion {
    NewOpinion {
        reference: reference.to_owned(),
        campaign_id: campaign,
        contact_id: Some(contact),
        topic: "do-thi".to_owned(),
        section: Some("II.3".to_owned()),
        unit: Some("TDP-1".to_owned()),
        target_group: Some("youth".to_owned()),
        channel: Channel::Telegram,
        source: OpinionSource::Chat,
        anonymous: false,
        text: text.to_owned(),
        created_at: at,
    }
}

/// Inserts the sample campaign under `slug` and returns its id.
async fn campaign(store: &Arc<dyn Store>, slug: &str) -> i64 {
    store
        .insert_campaign(&sample_campaign(slug, now()))
        .await
        .expect("insert the sample campaign")
}

/// A campaign comes back exactly as it went in, Vietnamese text included; a second campaign
/// with the same slug is a conflict that writes nothing.
async fn story_campaign_round_trip(db: TestDb) {
    let store = &db.store;
    assert!(store.campaigns().await.unwrap().is_empty());

    let original = sample_campaign("ke-hoach-2026", now());
    let id = store.insert_campaign(&original).await.unwrap();
    let other = sample_campaign("quy-hoach", now() + Duration::days(30));
    let other_id = store.insert_campaign(&other).await.unwrap();
    assert_ne!(id, other_id);

    let loaded = store.campaigns().await.unwrap();
    assert_eq!(loaded.len(), 2, "both campaigns are listed");
    let mut expected = original.clone();
    expected.id = id;
    assert_eq!(
        loaded[0], expected,
        "the first campaign round-trips unchanged"
    );
    let mut expected_other = other.clone();
    expected_other.id = other_id;
    assert_eq!(
        loaded[1], expected_other,
        "the second campaign round-trips too"
    );

    let c = &loaded[0];
    assert_eq!(c.issuer, "Đảng ủy phường Bắc Kạn");
    assert_eq!(c.root_unit().unwrap().name, "Phường Bắc Kạn");
    assert_eq!(c.topics[2].sections, vec!["II.4", "II.3"]);
    for text in [&c.title, &c.intro, &c.purpose, &c.sections[0].summary] {
        assert_eq!(
            text.nfc().collect::<String>(),
            **text,
            "stored text stays NFC"
        );
    }
    assert!(
        c.phase(PhaseKind::Collect).unwrap().starts_at
            < c.phase(PhaseKind::Collect).unwrap().ends_at
    );

    let mut clash = sample_campaign("ke-hoach-2026", now());
    clash.title = "Một chiến dịch khác".to_owned();
    let err = store.insert_campaign(&clash).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict(_)),
        "a taken slug is a conflict, got {err:?}"
    );
    let after = store.campaigns().await.unwrap();
    assert_eq!(after.len(), 2, "the conflicting campaign wrote nothing");
    assert_eq!(after[0].title, original.title);
    assert_eq!(
        db.int("SELECT count(*) FROM campaigns").await,
        2,
        "no campaign row was left behind"
    );
    assert_eq!(
        db.int("SELECT count(*) FROM units").await,
        3,
        "units are shared by code, not duplicated"
    );
}

/// Asking for a contact twice gives the same contact; the first locale sticks until changed.
async fn story_contact_get_or_create(db: TestDb) {
    let store = &db.store;
    assert_eq!(store.find_contact(&key("1001")).await.unwrap(), None);

    let mut tx = store.begin().await.unwrap();
    let first = tx.contact(&key("1001"), Locale::Vi).await.unwrap();
    let again = tx.contact(&key("1001"), Locale::En).await.unwrap();
    assert_eq!(
        first, again,
        "the same key gives the same contact in one transaction"
    );
    assert_eq!(first.locale, Locale::Vi);
    assert_eq!(first.key, key("1001"));
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    let later = tx.contact(&key("1001"), Locale::En).await.unwrap();
    assert_eq!(later, first, "and in a later transaction");
    let zalo = tx
        .contact(
            &ContactKey {
                channel: Channel::Zalo,
                external_id: "1001".to_owned(),
            },
            Locale::En,
        )
        .await
        .unwrap();
    assert_ne!(
        zalo.id, first.id,
        "the same id on another channel is another person"
    );
    assert_eq!(zalo.locale, Locale::En);
    tx.set_locale(first.id, Locale::En).await.unwrap();
    tx.commit().await.unwrap();

    let found = store.find_contact(&key("1001")).await.unwrap().unwrap();
    assert_eq!(found.id, first.id);
    assert_eq!(found.locale, Locale::En, "set_locale is stored");
    assert_eq!(db.int("SELECT count(*) FROM contacts").await, 2);

    let mut tx = store.begin().await.unwrap();
    let _ = tx.contact(&key("1002"), Locale::Vi).await.unwrap();
    drop(tx);
    assert_eq!(
        store.find_contact(&key("1002")).await.unwrap(),
        None,
        "a contact created in a rolled-back transaction does not exist"
    );
}

/// Processed updates older than the cut-off are forgotten; newer ones still guard against
/// redelivery.
async fn story_forget_processed_updates(db: TestDb) {
    let store = &db.store;
    let at = now();
    let mut tx = store.begin().await.unwrap();
    for (key, age) in [("8001", 10), ("8002", 8), ("8003", 1)] {
        assert!(
            tx.claim_update(Channel::Telegram, key, at - Duration::days(age))
                .await
                .unwrap()
        );
    }
    tx.commit().await.unwrap();
    let gone = store
        .forget_processed_updates(at - Duration::days(7))
        .await
        .unwrap();
    assert_eq!(gone, 2);
    let mut tx = store.begin().await.unwrap();
    assert!(
        !tx.claim_update(Channel::Telegram, "8003", at)
            .await
            .unwrap(),
        "a recent update is still recognised"
    );
    assert!(
        tx.claim_update(Channel::Telegram, "8001", at)
            .await
            .unwrap(),
        "a forgotten one can be claimed again"
    );
}

/// An update is claimed once: again in the same transaction, in a later one, or while the
/// first claim is still open; a claim rolled back can be made again.
async fn story_claim_update(db: TestDb) {
    let store = &db.store;
    let at = now();

    let mut tx = store.begin().await.unwrap();
    assert!(
        tx.claim_update(Channel::Telegram, "7001", at)
            .await
            .unwrap()
    );
    assert!(
        !tx.claim_update(Channel::Telegram, "7001", at)
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    assert!(
        !tx.claim_update(Channel::Telegram, "7001", at)
            .await
            .unwrap(),
        "a committed claim is seen by a later transaction"
    );
    assert!(
        tx.claim_update(Channel::Zalo, "7001", at).await.unwrap(),
        "keys are per channel"
    );
    assert!(
        tx.claim_update(Channel::Telegram, "7002", at)
            .await
            .unwrap()
    );
    drop(tx);

    let mut tx = store.begin().await.unwrap();
    assert!(
        tx.claim_update(Channel::Telegram, "7002", at)
            .await
            .unwrap(),
        "a rolled-back claim can be claimed again"
    );
    tx.commit().await.unwrap();

    // A key that cannot be written into SQL as it is takes the parameterised path.
    let odd = "msg'; DROP TABLE processed_updates; -- ý";
    let mut tx = store.begin().await.unwrap();
    assert!(tx.claim_update(Channel::Zalo, odd, at).await.unwrap());
    assert!(!tx.claim_update(Channel::Zalo, odd, at).await.unwrap());
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert!(!tx.claim_update(Channel::Zalo, odd, at).await.unwrap());
    drop(tx);

    // Two deliveries of one update at once: the second waits for the first and sees its
    // claim once it commits.
    let mut first = store.begin().await.unwrap();
    assert!(
        first
            .claim_update(Channel::Telegram, "7003", at)
            .await
            .unwrap()
    );
    let second = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut tx = store.begin().await.unwrap();
            let claimed = tx
                .claim_update(Channel::Telegram, "7003", at)
                .await
                .unwrap();
            tx.commit().await.unwrap();
            claimed
        })
    };
    tokio::time::sleep(StdDuration::from_millis(100)).await;
    first.commit().await.unwrap();
    assert!(
        !second.await.unwrap(),
        "a concurrent redelivery is not processed twice"
    );
    assert_eq!(db.int("SELECT count(*) FROM processed_updates").await, 4);
}

/// A saved state comes back under lock until it expires; the read-only view ignores expiry.
async fn story_state_save_lock_expiry(db: TestDb) {
    let store = &db.store;
    let t0 = now();
    let campaign = campaign(store, "trang-thai").await;

    let mut tx = store.begin().await.unwrap();
    let c = tx.contact(&key("2001"), Locale::Vi).await.unwrap();
    assert_eq!(tx.lock_state(c.id, t0).await.unwrap(), None, "no state yet");
    let state = DialogState {
        campaign: Some(campaign),
        step: Step::Topic {
            topic: "moi-truong".to_owned(),
        },
        identity: Some(IdentityMode::Anonymous),
        unit: Some("TDP-2".to_owned()),
        nonce: 3,
        given: [("moi-truong".to_owned(), 2)].into_iter().collect(),
        ..DialogState::default()
    };
    tx.save_state(c.id, &state, Some(t0 + Duration::hours(1)), t0)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.lock_state(c.id, t0 + Duration::minutes(59))
            .await
            .unwrap(),
        Some(state.clone()),
        "the state comes back before it expires"
    );
    assert_eq!(
        tx.lock_state(c.id, t0 + Duration::hours(2)).await.unwrap(),
        None,
        "an expired state is not resumed"
    );
    drop(tx);
    assert_eq!(
        store.dialog_state(c.id).await.unwrap(),
        Some(state.clone()),
        "the read-only view shows the state whatever its expiry"
    );

    // Saving again replaces the state and its expiry; no expiry means it never expires.
    let mut tx = store.begin().await.unwrap();
    let next = DialogState {
        step: Step::Review,
        nonce: 4,
        ..state.clone()
    };
    tx.save_state(c.id, &next, None, t0).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.lock_state(c.id, t0 + Duration::days(3650))
            .await
            .unwrap(),
        Some(next)
    );
    drop(tx);
    assert_eq!(db.int("SELECT count(*) FROM dialog_states").await, 1);
}

/// Opinions go from draft to submitted with a receipt; an edit keeps the earlier text as a
/// revision; a withdrawal is recorded and final; nobody else can touch them.
async fn story_opinion_life_cycle(db: TestDb) {
    let store = &db.store;
    let t0 = now();
    let campaign = campaign(store, "y-kien").await;

    let mut tx = store.begin().await.unwrap();
    let c = tx.contact(&key("3001"), Locale::Vi).await.unwrap();
    let other = tx.contact(&key("3002"), Locale::Vi).await.unwrap();
    let a = tx
        .insert_opinion(&new_opinion(
            campaign,
            c.id,
            "AAAAAA",
            "Đề nghị nâng cấp ngõ 12 đường Nguyễn Văn Cừ.",
            t0,
        ))
        .await
        .unwrap();
    let b = tx
        .insert_opinion(&new_opinion(
            campaign,
            c.id,
            "BBBBBB",
            "Cần thêm thùng rác ở đầu ngõ.",
            t0 + Duration::seconds(1),
        ))
        .await
        .unwrap();
    assert_ne!(a, b);
    let mine = tx.opinions_of(c.id, campaign).await.unwrap();
    assert_eq!(mine.len(), 2);
    assert_eq!(mine[0].id, a, "oldest first");
    assert_eq!(mine[0].reference, "AAAAAA");
    assert_eq!(mine[0].text, "Đề nghị nâng cấp ngõ 12 đường Nguyễn Văn Cừ.");
    assert_eq!(mine[0].status, OpinionStatus::Draft);
    assert_eq!(mine[0].receipt, None);
    assert_eq!(mine[0].contact_id, Some(c.id));
    assert_eq!(mine[0].topic, "do-thi");
    assert_eq!(mine[0].section.as_deref(), Some("II.3"));
    assert_eq!(mine[0].unit.as_deref(), Some("TDP-1"));
    assert_eq!(mine[0].target_group.as_deref(), Some("youth"));
    assert_eq!(mine[0].channel, Channel::Telegram);
    assert_eq!(mine[0].source, OpinionSource::Chat);
    assert!(!mine[0].anonymous);
    assert_eq!(mine[0].created_at, t0);
    assert_eq!(mine[0].edited_at, None);
    assert_eq!(mine[0].withdrawn_at, None);
    assert!(tx.opinions_of(other.id, campaign).await.unwrap().is_empty());

    let t1 = t0 + Duration::minutes(5);
    assert_eq!(
        tx.submit_drafts(c.id, campaign, "GY-ABC234", t1)
            .await
            .unwrap(),
        2
    );
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    let mine = tx.opinions_of(c.id, campaign).await.unwrap();
    assert!(
        mine.iter()
            .all(|o| o.status == OpinionStatus::Submitted
                && o.receipt.as_deref() == Some("GY-ABC234"))
    );
    tx.insert_opinion(&new_opinion(campaign, c.id, "CCCCCC", "Ý kiến thứ ba.", t1))
        .await
        .unwrap();
    assert_eq!(
        tx.submit_drafts(c.id, campaign, "GY-DEF567", t1)
            .await
            .unwrap(),
        1,
        "only new drafts are submitted again"
    );

    let t2 = t0 + Duration::minutes(10);
    assert!(
        !tx.edit_opinion(other.id, campaign, "AAAAAA", "Sửa trộm", t2)
            .await
            .unwrap(),
        "nobody else can edit an opinion"
    );
    assert!(
        !tx.withdraw_opinion(other.id, campaign, "AAAAAA", t2)
            .await
            .unwrap(),
        "nobody else can withdraw an opinion"
    );
    assert!(
        !tx.edit_opinion(c.id, campaign, "ZZZZZZ", "Không có", t2)
            .await
            .unwrap(),
        "an unknown reference is refused"
    );
    assert!(
        tx.edit_opinion(
            c.id,
            campaign,
            "AAAAAA",
            "Đề nghị nâng cấp ngõ 12 và ngõ 14.",
            t2
        )
        .await
        .unwrap()
    );
    assert!(
        tx.withdraw_opinion(c.id, campaign, "BBBBBB", t2)
            .await
            .unwrap()
    );
    assert!(
        !tx.withdraw_opinion(c.id, campaign, "BBBBBB", t2)
            .await
            .unwrap(),
        "a withdrawn opinion cannot be withdrawn twice"
    );
    assert!(
        !tx.edit_opinion(c.id, campaign, "BBBBBB", "Sửa sau khi rút", t2)
            .await
            .unwrap(),
        "a withdrawn opinion cannot be edited"
    );
    tx.commit().await.unwrap();

    let all = store.campaign_opinions(campaign).await.unwrap();
    assert_eq!(all.len(), 3);
    let by_ref = |r: &str| all.iter().find(|o| o.reference == r).unwrap().clone();
    let edited = by_ref("AAAAAA");
    assert_eq!(edited.text, "Đề nghị nâng cấp ngõ 12 và ngõ 14.");
    assert_eq!(edited.edited_at, Some(t2));
    assert_eq!(
        edited.status,
        OpinionStatus::Submitted,
        "an edit keeps the status"
    );
    assert_eq!(edited.created_at, t0);
    let withdrawn = by_ref("BBBBBB");
    assert_eq!(withdrawn.status, OpinionStatus::Withdrawn);
    assert_eq!(withdrawn.withdrawn_at, Some(t2));
    assert_eq!(
        withdrawn.text, "Cần thêm thùng rác ở đầu ngõ.",
        "withdrawn text is kept"
    );
    let third = by_ref("CCCCCC");
    assert_eq!(third.receipt.as_deref(), Some("GY-DEF567"));

    assert_eq!(
        db.strings(&format!(
            "SELECT text FROM opinion_revisions WHERE opinion_id = {a}"
        ))
        .await,
        vec!["Đề nghị nâng cấp ngõ 12 đường Nguyễn Văn Cừ.".to_owned()],
        "the text before the edit is kept as a revision"
    );
    assert_eq!(db.int("SELECT count(*) FROM opinion_revisions").await, 1);

    // References are unique within a campaign.
    let mut tx = store.begin().await.unwrap();
    let err = tx
        .insert_opinion(&new_opinion(campaign, c.id, "AAAAAA", "Trùng mã", t2))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "got {err:?}");
}

/// Sets up a named resident with a consent, an identity, a state and two opinions (one
/// submitted, one draft) and returns (campaign, contact id).
async fn named_resident(store: &Arc<dyn Store>, external_id: &str) -> (i64, i64) {
    let t0 = now();
    let campaign = campaign(store, &format!("xoa-{external_id}")).await;
    let mut tx = store.begin().await.unwrap();
    let c = tx.contact(&key(external_id), Locale::Vi).await.unwrap();
    tx.record_consent(c.id, campaign, IdentityMode::Named, "2026-01", t0)
        .await
        .unwrap();
    tx.set_identity(
        c.id,
        Some(&Identity {
            display_name: Some("Nguyễn Thị Hoa".to_owned()),
            username: Some("hoa_bk".to_owned()),
        }),
    )
    .await
    .unwrap();
    tx.insert_opinion(&new_opinion(campaign, c.id, "SUBMIT", "Ý kiến đã gửi.", t0))
        .await
        .unwrap();
    tx.submit_drafts(c.id, campaign, "GY-XYZ789", t0)
        .await
        .unwrap();
    tx.insert_opinion(&new_opinion(campaign, c.id, "DRAFTS", "Ý kiến nháp.", t0))
        .await
        .unwrap();
    tx.save_state(c.id, &DialogState::default(), None, t0)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    assert_eq!(
        store.identity(c.id).await.unwrap(),
        Some(Identity {
            display_name: Some("Nguyễn Thị Hoa".to_owned()),
            username: Some("hoa_bk".to_owned()),
        })
    );
    assert_eq!(
        store.consents(c.id).await.unwrap(),
        vec![(campaign, IdentityMode::Named, "2026-01".to_owned(), t0)]
    );
    (campaign, c.id)
}

/// Checks what erasing left: no contact, identity, state or linked consent; the consent
/// record itself kept; every opinion unlinked and anonymous.
async fn assert_erased(db: &TestDb, campaign: i64, contact: i64, external_id: &str) {
    let store = &db.store;
    assert_eq!(store.find_contact(&key(external_id)).await.unwrap(), None);
    assert_eq!(store.identity(contact).await.unwrap(), None);
    assert_eq!(store.dialog_state(contact).await.unwrap(), None);
    assert!(store.consents(contact).await.unwrap().is_empty());
    assert_eq!(db.int("SELECT count(*) FROM identities").await, 0);
    assert_eq!(db.int("SELECT count(*) FROM dialog_states").await, 0);
    assert_eq!(
        db.int("SELECT count(*) FROM consents WHERE contact_id IS NULL")
            .await,
        1,
        "the consent record is kept, unlinked"
    );
    let opinions = store.campaign_opinions(campaign).await.unwrap();
    assert_eq!(opinions.len(), 2, "opinions are never deleted");
    assert!(
        opinions
            .iter()
            .all(|o| o.contact_id.is_none() && o.anonymous)
    );
}

/// `/delete_me` keeping opinions: they stay as they were, but anonymous.
async fn story_erase_keeping_opinions(db: TestDb) {
    let store = &db.store;
    let (campaign, contact) = named_resident(store, "4001").await;
    let at = now() + Duration::minutes(1);
    let mut tx = store.begin().await.unwrap();
    tx.erase_contact(contact, false, at).await.unwrap();
    tx.commit().await.unwrap();

    assert_erased(&db, campaign, contact, "4001").await;
    let opinions = store.campaign_opinions(campaign).await.unwrap();
    let status = |r: &str| opinions.iter().find(|o| o.reference == r).unwrap().status;
    assert_eq!(status("SUBMIT"), OpinionStatus::Submitted);
    assert_eq!(status("DRAFTS"), OpinionStatus::Draft);
    assert!(opinions.iter().all(|o| o.withdrawn_at.is_none()));

    // The same person writing again is a new contact with nothing of the old one.
    let mut tx = store.begin().await.unwrap();
    let again = tx.contact(&key("4001"), Locale::Vi).await.unwrap();
    assert_ne!(again.id, contact);
    assert!(tx.opinions_of(again.id, campaign).await.unwrap().is_empty());
    tx.commit().await.unwrap();
}

/// `/delete_me` withdrawing opinions: all withdrawn at the time of erasure, and anonymous.
async fn story_erase_withdrawing_opinions(db: TestDb) {
    let store = &db.store;
    let (campaign, contact) = named_resident(store, "4002").await;
    let at = now() + Duration::minutes(1);
    let mut tx = store.begin().await.unwrap();
    tx.erase_contact(contact, true, at).await.unwrap();
    tx.commit().await.unwrap();

    assert_erased(&db, campaign, contact, "4002").await;
    let opinions = store.campaign_opinions(campaign).await.unwrap();
    assert!(
        opinions
            .iter()
            .all(|o| o.status == OpinionStatus::Withdrawn && o.withdrawn_at == Some(at))
    );
    assert!(
        opinions.iter().all(|o| !o.text.is_empty()),
        "the text stays for the record"
    );
}

/// Twenty steps of one resident at once, each reading, incrementing and saving a counter in
/// the dialog state: none is lost. Played for a resident who exists but has no state yet (the
/// first steps have no state row to lock) and for one who is new (the steps race to create
/// the contact), side by side; each resident exists once.
async fn story_concurrent_steps_of_one_resident(db: TestDb) {
    const STEPS: u32 = 20;
    let store = &db.store;
    let mut tx = store.begin().await.unwrap();
    tx.contact(&key("5001"), Locale::Vi).await.unwrap();
    tx.commit().await.unwrap();

    let mut tasks = Vec::new();
    for i in 0..STEPS * 2 {
        let store = store.clone();
        let who = if i % 2 == 0 { "5001" } else { "5002" };
        tasks.push(tokio::spawn(async move {
            let t = now();
            let mut tx = store.begin().await?;
            let c = tx.contact(&key(who), Locale::Vi).await?;
            let mut state = tx.lock_state(c.id, t).await?.unwrap_or_default();
            // Give another step every chance to read the same counter if locking is wrong.
            tokio::time::sleep(StdDuration::from_millis(5)).await;
            state.nonce += 1;
            tx.save_state(c.id, &state, None, t).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(())
        }));
    }
    for task in tasks {
        task.await.unwrap().expect("every step commits");
    }
    for who in ["5001", "5002"] {
        let contact = store.find_contact(&key(who)).await.unwrap().unwrap();
        let state = store.dialog_state(contact.id).await.unwrap().unwrap();
        assert_eq!(state.nonce, STEPS, "no step of {who} was lost");
    }
    assert_eq!(db.int("SELECT count(*) FROM contacts").await, 2);
}

/// Audit entries come back newest first, exactly as written, and cannot be changed.
async fn story_audit_log(db: TestDb) {
    let store = &db.store;
    let t0 = now();
    let first = AuditEntry {
        at: t0,
        actor: "cli:can-bo".to_owned(),
        action: "campaign.import".to_owned(),
        detail: serde_json::json!({"slug": "ke-hoach-2026", "ghi_chú": "Nhập từ tệp"}),
    };
    let second = AuditEntry {
        at: t0 + Duration::seconds(1),
        actor: "system".to_owned(),
        action: "opinions.export".to_owned(),
        detail: serde_json::json!({"campaign": 1, "format": "csv", "rows": 42}),
    };
    store.audit(&first).await.unwrap();
    store.audit(&second).await.unwrap();
    assert_eq!(
        store.audit_log(10).await.unwrap(),
        vec![second.clone(), first]
    );
    assert_eq!(store.audit_log(1).await.unwrap(), vec![second]);
    assert!(
        db.execute("UPDATE audit_log SET actor = 'someone'")
            .await
            .is_err(),
        "the audit log cannot be rewritten"
    );
    assert!(
        db.execute("DELETE FROM audit_log").await.is_err(),
        "the audit log cannot be emptied"
    );
    assert_eq!(store.audit_log(10).await.unwrap().len(), 2);
}

/// Summaries list every campaign with its collection window and its opinion count.
async fn story_campaign_summaries(db: TestDb) {
    let store = &db.store;
    let one = campaign(store, "mot").await;
    let two = campaign(store, "hai").await;
    let mut tx = store.begin().await.unwrap();
    let c = tx.contact(&key("6001"), Locale::Vi).await.unwrap();
    for (i, r) in ["R1", "R2", "R3"].iter().enumerate() {
        tx.insert_opinion(&new_opinion(two, c.id, r, &format!("Ý kiến số {i}"), now()))
            .await
            .unwrap();
    }
    tx.withdraw_opinion(c.id, two, "R3", now()).await.unwrap();
    tx.commit().await.unwrap();

    let summaries = store.campaign_summaries().await.unwrap();
    assert_eq!(summaries.len(), 2);
    assert_eq!(summaries[0].id, one);
    assert_eq!(summaries[0].slug, "mot");
    assert_eq!(summaries[0].opinions, 0);
    assert_eq!(summaries[1].id, two);
    assert_eq!(summaries[1].opinions, 3, "every status counts");
    let campaigns = store.campaigns().await.unwrap();
    let collect = campaigns[1].phase(PhaseKind::Collect).unwrap();
    assert_eq!(
        summaries[1].collect,
        Some((collect.starts_at, collect.ends_at))
    );
    assert_eq!(summaries[1].title, campaigns[1].title);
}

/// The store answers and says which backend it is.
async fn story_ping(db: TestDb) {
    db.store.ping().await.unwrap();
    let expected = if db.url.starts_with("sqlite:") {
        Backend::Sqlite
    } else {
        Backend::Postgres
    };
    assert_eq!(db.store.backend(), expected);
}

/// Every SQLite URL form the README and tests use opens a working store.
#[tokio::test]
async fn sqlite_accepts_every_url_form() {
    let dir = tempfile::tempdir().unwrap();
    let urls = [
        format!("sqlite://{}", dir.path().join("a.db").display()),
        format!("sqlite:{}", dir.path().join("b.db").display()),
        "sqlite::memory:".to_owned(),
    ];
    for url in urls {
        let store = gopy::store::open(&url).await.unwrap();
        store.migrate().await.unwrap();
        store.migrate().await.expect("migrating twice is harmless");
        let id = store
            .insert_campaign(&sample_campaign("url", now()))
            .await
            .unwrap();
        let mut tx = store.begin().await.unwrap();
        let c = tx.contact(&key("8001"), Locale::Vi).await.unwrap();
        tx.save_state(c.id, &DialogState::default(), None, now())
            .await
            .unwrap();
        // A read outside the transaction does not wait for it.
        assert_eq!(store.campaigns().await.unwrap().len(), 1, "{url}");
        tx.commit().await.unwrap();
        assert_eq!(store.campaigns().await.unwrap()[0].id, id, "{url}");
        assert!(store.dialog_state(c.id).await.unwrap().is_some(), "{url}");
    }
    assert!(dir.path().join("a.db").exists());
    assert!(dir.path().join("b.db").exists());
}

/// A Postgres server that cannot be reached is reported as unavailable (retry later), not
/// as a database error.
#[tokio::test]
async fn postgres_unreachable_is_unavailable() {
    let err = gopy::store::PgStore::connect("postgres://postgres@127.0.0.1:1/gopy")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "got {err:?}");
}

/// The shared helpers other test files use give fresh, migrated stores.
#[tokio::test]
async fn sqlite_helpers_give_a_fresh_migrated_store() {
    let (store, _dir) = common::sqlite_store().await;
    assert!(store.campaigns().await.unwrap().is_empty());
    store
        .insert_campaign(&sample_campaign("moi", now()))
        .await
        .unwrap();
    let (other, _other_dir) = common::sqlite_store().await;
    assert!(
        other.campaigns().await.unwrap().is_empty(),
        "each call is a new database"
    );
}

/// The same for Postgres: each call is a database of its own, created and migrated.
#[tokio::test]
#[cfg_attr(
    not(gopy_pg),
    ignore = "set TEST_DATABASE_URL to run the Postgres half"
)]
async fn postgres_helpers_give_a_fresh_migrated_store() {
    let store = common::pg_store().await;
    assert!(store.campaigns().await.unwrap().is_empty());
    store
        .insert_campaign(&sample_campaign("moi", now()))
        .await
        .unwrap();
    let url = common::fresh_pg_url().await;
    assert!(url.contains("gopy_t_"), "{url}");
    let other = gopy::store::open(&url).await.unwrap();
    assert!(
        other.campaigns().await.unwrap().is_empty(),
        "each call is a new database, already migrated"
    );
}

/// Another process holding SQLite's write lock makes a step wait (busy timeout) rather than
/// fail; held past the timeout, the store says the database is unavailable (retry later).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_waits_for_a_write_lock_held_elsewhere() {
    use sqlx::Connection;

    let db = TestDb::sqlite().await;
    let mut other = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
    sqlx::raw_sql("BEGIN IMMEDIATE")
        .execute(&mut other)
        .await
        .unwrap();
    let release = tokio::spawn(async move {
        tokio::time::sleep(StdDuration::from_millis(300)).await;
        sqlx::raw_sql("COMMIT").execute(&mut other).await.unwrap();
        other
    });
    let started = std::time::Instant::now();
    let mut tx = db.store.begin().await.expect("waits for the lock");
    assert!(started.elapsed() >= StdDuration::from_millis(250));
    assert!(
        tx.claim_update(Channel::Telegram, "1", now())
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();

    let mut other = release.await.unwrap();
    sqlx::raw_sql("BEGIN IMMEDIATE")
        .execute(&mut other)
        .await
        .unwrap();
    let err = match db.store.begin().await {
        Ok(_) => panic!("the write lock was held elsewhere"),
        Err(e) => e,
    };
    assert!(matches!(err, StoreError::Unavailable(_)), "got {err:?}");
    sqlx::raw_sql("ROLLBACK").execute(&mut other).await.unwrap();
    let mut tx = db.store.begin().await.expect("free again");
    assert!(
        !tx.claim_update(Channel::Telegram, "1", now())
            .await
            .unwrap()
    );
}

/// The first call of every step: a new update for a new resident creates them; the same
/// update again is refused without touching anything; a new update finds the same contact
/// with the state saved by the previous step; two deliveries of one update at once are
/// claimed by exactly one transaction.
async fn story_claim_and_contact(db: TestDb) {
    let store = &db.store;
    let at = now();
    let k = key("claim-and-contact");

    let mut tx = store.begin().await.unwrap();
    let first = tx
        .claim_and_contact(Some((Channel::Telegram, "9001")), &k, Locale::En, at)
        .await
        .unwrap()
        .expect("a new update is claimed");
    assert_eq!(first.locale, Locale::En);
    assert_eq!(tx.lock_state(first.id, at).await.unwrap(), None);
    let state = DialogState {
        nonce: 7,
        ..DialogState::default()
    };
    tx.save_state(first.id, &state, None, at).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.claim_and_contact(Some((Channel::Telegram, "9001")), &k, Locale::Vi, at)
            .await
            .unwrap(),
        None,
        "a redelivered update is not claimed again"
    );
    drop(tx);

    let mut tx = store.begin().await.unwrap();
    let again = tx
        .claim_and_contact(Some((Channel::Telegram, "9002")), &k, Locale::Vi, at)
        .await
        .unwrap()
        .expect("the next update is claimed");
    assert_eq!(again.id, first.id, "the same contact");
    assert_eq!(
        again.locale,
        Locale::En,
        "the stored locale wins over the hint"
    );
    assert_eq!(
        tx.lock_state(again.id, at).await.unwrap().map(|s| s.nonce),
        Some(7)
    );
    tx.commit().await.unwrap();

    let without_key = {
        let mut tx = store.begin().await.unwrap();
        let c = tx
            .claim_and_contact(None, &k, Locale::Vi, at)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        c
    };
    assert_eq!(without_key.map(|c| c.id), Some(first.id));

    let racers = (0..2).map(|_| {
        let store = store.clone();
        let k = k.clone();
        tokio::spawn(async move {
            let mut tx = store.begin().await.unwrap();
            let got = tx
                .claim_and_contact(Some((Channel::Telegram, "9003")), &k, Locale::Vi, at)
                .await
                .unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            tx.commit().await.unwrap();
            got.is_some()
        })
    });
    let mut claimed = 0;
    for r in racers {
        if r.await.unwrap() {
            claimed += 1;
        }
    }
    assert_eq!(
        claimed, 1,
        "exactly one of two concurrent deliveries is claimed"
    );
}
