//! Moderation on Zalo, end to end against the fake Zalo Bot API: a resident whose opinion a
//! moderator hid (from the command line) is told in their Zalo chat which opinion, why and
//! how to appeal; their `/appeal` sends it back to the queue (once); they are told when it
//! is granted; each notice once. On SQLite and,
//! when `TEST_DATABASE_URL` is set at build time, on Postgres.

mod common;
mod fake_zalo;

use std::time::Duration;

use gopy::config::{Settings, ZaloSettings};
use gopy::domain::{Channel, ContactKey, Locale, OpinionSource};
use gopy::moderation::{DEFAULT_THRESHOLD, Decision, Detector, Lexicon, Target, Verdict};
use gopy::startup::Application;
use gopy::store::NewOpinion;
use tokio_util::sync::CancellationToken;

use common::{TestDb, now, sample_campaign, story};
use fake_zalo::{FakeZalo, Resident, TOKEN};

story!(
    story_a_zalo_author_is_told_of_a_hide_appeals_and_is_told_it_was_granted,
    sqlite_a_zalo_author_is_told_of_a_hide_appeals_and_is_told_it_was_granted,
    postgres_a_zalo_author_is_told_of_a_hide_appeals_and_is_told_it_was_granted
);

async fn story_a_zalo_author_is_told_of_a_hide_appeals_and_is_told_it_was_granted(db: TestDb) {
    let store = db.store.clone();
    let campaign = store
        .insert_campaign(&sample_campaign("bk-2026", now()))
        .await
        .expect("campaign");
    let lan = Resident::new(42, "Lan");
    let mut tx = store.begin().await.expect("begin");
    let contact = tx
        .contact(
            &ContactKey {
                channel: Channel::Zalo,
                external_id: lan.id.clone(),
            },
            Locale::Vi,
        )
        .await
        .expect("contact")
        .id;
    let opinion = tx
        .insert_opinion(&NewOpinion {
            reference: "ZL7K3Q".to_owned(),
            campaign_id: campaign,
            contact_id: Some(contact),
            topic: "do-thi".to_owned(),
            section: None,
            unit: Some("TDP-1".to_owned()),
            target_group: None,
            channel: Channel::Zalo,
            source: OpinionSource::Chat,
            anonymous: true,
            text: "đ.m bọn cán bộ phường".to_owned(),
            created_at: now(),
        })
        .await
        .expect("opinion");
    tx.commit().await.expect("commit");
    let detector = Detector::new(Lexicon::built_in().expect("lists"), DEFAULT_THRESHOLD);
    gopy::moderation::scan_campaign(store.as_ref(), &detector, campaign, now())
        .await
        .expect("scan");
    let item = store
        .item_for(&Target::Opinion {
            opinion_id: opinion,
        })
        .await
        .expect("read")
        .expect("queued");

    let fake = FakeZalo::start().await;
    let settings = Settings {
        database_url: db.url.clone(),
        http_addr: "127.0.0.1:0".parse().expect("address"),
        telegram_token: None,
        telegram_api_url: url::Url::parse("http://127.0.0.1:9").expect("url"),
        demo: false,
        zalo: ZaloSettings {
            token: Some(TOKEN.to_owned()),
            api_url: fake.api_url(),
            webhook_secret: None,
            webhook_url: None,
        },
        ..Settings::default()
    };
    let app = Application::build(settings).await.expect("gopy builds");
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(app.run(shutdown.clone()));

    let decide = |verdict, by: &str, reason: &str| Decision {
        item: item.id,
        verdict,
        by: by.to_owned(),
        reason: reason.to_owned(),
        at: now(),
    };
    store
        .decide(&decide(Verdict::Uphold, "cli:tester", "Lăng mạ cán bộ"))
        .await
        .expect("hidden");
    let told = fake.wait_messages(&lan.id, 1).await;
    assert!(told[0].contains("ZL7K3Q"), "{}", told[0]);
    assert!(told[0].contains("Lăng mạ cán bộ"), "{}", told[0]);
    assert!(told[0].contains("/appeal"), "{}", told[0]);
    assert!(!told[0].contains("<b>"), "plain text on Zalo: {}", told[0]);
    // Lan appeals from Zalo: the item is back in the queue for someone else; once only.
    fake.send_text(&lan, "/appeal Tôi chỉ bức xúc vì đường ngập");
    let told = fake.wait_messages(&lan.id, 2).await;
    assert!(told[1].contains("người kiểm duyệt khác"), "{}", told[1]);
    let appealed = store
        .moderation_item(item.id)
        .await
        .expect("read")
        .expect("item");
    assert_eq!(appealed.status, gopy::moderation::Status::Queued);
    assert_eq!(
        appealed.appeal.map(|(text, _)| text).as_deref(),
        Some("Tôi chỉ bức xúc vì đường ngập")
    );
    fake.send_text(&lan, "/appeal");
    let told = fake.wait_messages(&lan.id, 3).await;
    assert!(told[2].contains("một lần"), "{}", told[2]);
    // Another official grants it: Lan is told the opinion was restored.
    store
        .decide(&decide(
            Verdict::Dismiss,
            "cli:other",
            "phản ánh bức xúc, không lăng mạ",
        ))
        .await
        .expect("granted");
    let told = fake.wait_messages(&lan.id, 4).await;
    assert!(told[3].contains("đã được khôi phục"), "{}", told[3]);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(fake.texts_to(&lan.id).len(), 4, "each notice once");

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(15), task)
        .await
        .expect("gopy stops")
        .expect("no panic")
        .expect("clean stop");
}
