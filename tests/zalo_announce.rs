//! Announcements over Zalo, through the whole gopy (`Application`) and the fake Zalo Bot API:
//! a staff user links their Zalo account, the bot hears of a group when mentioned there, the
//! staff user binds it, and an approved broadcast reaches it through the Zalo outbox; a
//! residents' own group no bot can join gets its post through its lead, who confirms it by
//! replying `ĐÃ ĐĂNG <số>`, and only then does it count as delivered. Posts heard in a bound
//! group are screened for moderation. On SQLite and, when
//! `TEST_DATABASE_URL` is set, on Postgres.

mod common;
mod fake_zalo;

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use common::{TestDb, now, story};
use fake_zalo::{FakeZalo, Resident, TOKEN};
use gopy::announce::broadcast::{Action, act, create};
use gopy::config::{Settings, ZaloSettings};
use gopy::domain::Channel;
use gopy::startup::Application;
use gopy::store::Store;
use gopy::store::announce::{Audience, BroadcastState, NewAssistedGroup, Posting, Schedule};

story!(
    story_a_zalo_group_is_bound_and_reached_and_an_assisted_group_confirmed,
    zalo_announce_sqlite,
    zalo_announce_postgres
);

/// Writes, approves and sends a broadcast to the unit `TDP-1`; returns its id.
async fn broadcast_to_tdp1(store: &Arc<dyn Store>, text: &str) -> i64 {
    let audience = Audience {
        units: vec!["TDP-1".to_owned()],
        subunits: false,
        groups: vec![],
        residents: false,
    };
    let b = create(store, "lan", text, audience, None, now())
        .await
        .expect("create");
    act(store, b.id, "lan", Action::Submit, now())
        .await
        .expect("submit");
    act(store, b.id, "minh", Action::Approve, now())
        .await
        .expect("approve");
    act(store, b.id, "lan", Action::Schedule(Schedule::Now), now())
        .await
        .expect("schedule");
    b.id
}

async fn story_a_zalo_group_is_bound_and_reached_and_an_assisted_group_confirmed(db: TestDb) {
    let store = db.store.clone();
    common::campaign_with_official_and_approver(&store).await;
    let fake = Arc::new(FakeZalo::start().await);
    fake.set_can_join_groups(true);
    let settings = Settings {
        database_url: db.url.clone(),
        http_addr: "127.0.0.1:0".parse().expect("address"),
        telegram_token: None,
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
    fake.wait_idle().await;

    // Lan links her Zalo account with the code she was given (CODE0000).
    let lan = Resident::new(0x1a1, "Lan");
    fake.send_text(&lan, "/link CODE0000");
    let answer = fake.wait_messages(&lan.id, 1).await;
    assert!(
        answer[0].contains("Đã liên kết tài khoản Zalo"),
        "{answer:?}"
    );
    let linked = store.staff_by_zalo(&lan.id).await.unwrap().expect("linked");
    assert_eq!(linked.name, "lan");

    // A resident mentions the bot in the village group: the group is registered, pending.
    let group = "9f0c1e2d3b4a59687766";
    let hoa = Resident::new(0x2b2, "Hoa");
    fake.push(fake.group_text_event(&hoa, group, "@Bot Góp ý chào cả nhà"));
    let mut pending = None;
    for _ in 0..100 {
        pending = store.group_by_external(Channel::Zalo, group).await.unwrap();
        if pending.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let pending = pending.expect("the Zalo group is registered");
    assert_eq!(pending.state.as_str(), "pending");
    assert!(
        fake.texts_to(group).is_empty(),
        "a resident's mention gets no answer"
    );

    // A resident cannot bind it; Lan can.
    fake.push(fake.group_text_event(&hoa, group, "@Bot /bind TDP-1"));
    let refused = fake.wait_messages(group, 1).await;
    assert!(refused[0].contains("chỉ dành cho cán bộ"), "{refused:?}");
    fake.push(fake.group_text_event(&lan, group, "@Bot /bind TDP-1"));
    let bound = fake.wait_messages(group, 2).await;
    assert!(bound[1].contains("Đã gắn nhóm này với"), "{bound:?}");
    assert!(!bound[1].contains('<'), "plain text on Zalo: {bound:?}");
    let g = store.group(pending.id).await.unwrap().expect("group");
    assert_eq!(
        (g.state.as_str(), g.unit.as_deref()),
        ("bound", Some("TDP-1"))
    );

    // A post to the bot in the bound group is screened: an insult is queued for a moderator
    // (the bot cannot delete on Zalo: a person decides), an ordinary question is not.
    fake.push(fake.group_text_event(&hoa, group, "@Bot ông tổ trưởng mất dạy, đồ khốn"));
    fake.push(fake.group_text_event(&hoa, group, "@Bot bao giờ họp tổ dân phố ạ?"));
    let mut queued = Vec::new();
    for _ in 0..100 {
        queued = db
            .strings(
                "SELECT channel || ' ' || chat_id || ' ' || status FROM moderation_items \
                 WHERE channel = 'zalo'",
            )
            .await;
        if !queued.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(queued, vec![format!("zalo {group} queued")]);
    assert_eq!(
        fake.texts_to(group).len(),
        2,
        "screening answers nothing in the group"
    );

    // An assisted group of the same unit, posted by Lan (linked on Zalo).
    let lead = store.staff_by_name("lan").await.unwrap().expect("lan");
    let assisted = store
        .add_assisted_group(
            &NewAssistedGroup {
                channel: Channel::Zalo,
                title: "Nhóm Zalo Tổ dân phố 1 (bà con tự lập)".to_owned(),
                unit: "TDP-1".to_owned(),
                lead: lead.id,
            },
            "cli:tester",
            now(),
        )
        .await
        .expect("add the assisted group");
    assert_eq!(assisted.posting, Posting::Assisted);

    // The broadcast: the bound group gets it from the bot, Lan gets the assisted post.
    let text = "Kính mời bà con góp ý dự thảo quy chế tổ dân phố trước ngày 30/11.";
    let id = broadcast_to_tdp1(&store, text).await;
    common::wait_broadcast(&store, id, BroadcastState::Sent, Duration::from_secs(20)).await;
    let in_group = fake.wait_messages(group, 3).await;
    assert_eq!(in_group[2], text);
    let to_lan = fake.wait_messages(&lan.id, 4).await;
    assert!(to_lan[1].contains("Nhóm Zalo Tổ dân phố 1"), "{to_lan:?}");
    assert_eq!(to_lan[2], text, "the post itself, to copy as it is");
    let ask = &to_lan[3];
    let number: i64 = ask
        .rsplit(' ')
        .next()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("a delivery number at the end of {ask:?}"));
    let counts = store.delivery_counts(id).await.unwrap();
    assert_eq!((counts.sent, counts.awaiting_confirmation), (2, 1));
    let report = store.delivery_report(id).await.unwrap();
    assert!(
        report.contains(&("TDP-1".to_owned(), "awaiting_confirmation".to_owned(), 1)),
        "{report:?}"
    );

    // Hoa cannot confirm it (she is no staff: her message goes to the dialog); Lan can, once.
    fake.send_text(&hoa, &format!("đã đăng {number}"));
    let _ = fake.wait_messages(&hoa.id, 1).await;
    assert_eq!(
        store
            .delivery_counts(id)
            .await
            .unwrap()
            .awaiting_confirmation,
        1
    );
    fake.send_text(&lan, &format!("ĐÃ ĐĂNG {number}"));
    let confirmed = fake.wait_messages(&lan.id, 5).await;
    assert!(confirmed[4].contains("Đã ghi nhận"), "{confirmed:?}");
    fake.send_text(&lan, &format!("da dang {number}"));
    let again = fake.wait_messages(&lan.id, 6).await;
    assert!(again[5].contains("trước đó"), "{again:?}");
    assert_eq!(
        store
            .delivery_counts(id)
            .await
            .unwrap()
            .awaiting_confirmation,
        0
    );
    let audited = db
        .int("SELECT count(*) FROM audit_log WHERE action = 'delivery.confirm_posted' AND actor = 'lan'")
        .await;
    assert_eq!(audited, 1);

    shutdown.cancel();
    let ended = tokio::time::timeout(Duration::from_secs(15), task)
        .await
        .expect("gopy stops")
        .expect("no panic");
    assert!(ended.is_ok(), "{ended:?}");
}

story!(
    story_an_unconfirmed_assisted_post_goes_to_its_lead_again_once,
    assisted_reminder_sqlite,
    assisted_reminder_postgres
);

/// The store's side of the reminder: a post not confirmed for a day goes back to the outbox
/// once, marked as a reminder; a confirmed one never does.
async fn story_an_unconfirmed_assisted_post_goes_to_its_lead_again_once(db: TestDb) {
    let store = db.store.clone();
    common::campaign_with_official_and_approver(&store).await;
    let lead = store.staff_by_name("lan").await.unwrap().expect("lan");
    db.execute(&format!(
        "UPDATE staff_users SET zalo_user_id = 'lan-zalo' WHERE id = {}",
        lead.id
    ))
    .await
    .unwrap();
    for title in ["Nhóm A", "Nhóm B"] {
        store
            .add_assisted_group(
                &NewAssistedGroup {
                    channel: Channel::Zalo,
                    title: title.to_owned(),
                    unit: "TDP-1".to_owned(),
                    lead: lead.id,
                },
                "cli:tester",
                now(),
            )
            .await
            .unwrap();
    }
    let id = broadcast_to_tdp1(&store, "Thông báo họp tổ dân phố.").await;
    let t = now();
    let claimed = store
        .claim_deliveries("zalo", "w", 10, None, t + chrono::Duration::minutes(1), t)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    assert!(
        claimed
            .iter()
            .all(|d| d.chat == "lan-zalo" && d.assisted.as_ref().is_some_and(|a| !a.reminder))
    );
    assert!(
        store
            .claim_deliveries(
                "telegram",
                "w",
                10,
                None,
                t + chrono::Duration::minutes(1),
                t
            )
            .await
            .unwrap()
            .is_empty(),
        "the Telegram outbox never takes a Zalo delivery"
    );
    let results: Vec<_> = claimed
        .iter()
        .map(|d| {
            (
                d.id,
                gopy::store::announce::DeliveryResult::Sent {
                    message: format!("m{}", d.id),
                    at: t,
                },
            )
        })
        .collect();
    store.finish_deliveries(&results, t).await.unwrap();
    let first = claimed[0].id;
    store
        .confirm_assisted(first, None, "cli:tester", t)
        .await
        .unwrap();

    // Not yet a day: nothing; after a day: only the unconfirmed one, once.
    assert_eq!(
        store
            .remind_unconfirmed(
                t - chrono::Duration::hours(24),
                t + chrono::Duration::hours(1)
            )
            .await
            .unwrap(),
        0
    );
    let later = t + chrono::Duration::hours(25);
    assert_eq!(
        store
            .remind_unconfirmed(later - chrono::Duration::hours(24), later)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .remind_unconfirmed(later - chrono::Duration::hours(24), later)
            .await
            .unwrap(),
        0
    );
    let again = store
        .claim_deliveries(
            "zalo",
            "w",
            10,
            None,
            later + chrono::Duration::minutes(1),
            later,
        )
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_ne!(again[0].id, first);
    assert!(again[0].assisted.as_ref().is_some_and(|a| a.reminder));
    assert_eq!(
        store.broadcast(id).await.unwrap().unwrap().state,
        BroadcastState::Sent
    );
}
