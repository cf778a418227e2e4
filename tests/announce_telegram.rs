//! Groups and staff commands end to end: the whole gopy against the fake Telegram Bot API.
//! The bot is added to a group, promoted, renamed, migrated to a supergroup and removed;
//! a staff user links their account with a one-time code and binds and unbinds the group,
//! while others are refused politely. The database is read to check what was stored. Each
//! story runs on SQLite and, when `TEST_DATABASE_URL` is set at build time, on Postgres.

mod common;
mod fake_telegram;

use std::sync::Arc;
use std::time::Duration;

use chrono::Duration as Span;
use gopy::announce::broadcast::{Action, act, create};
use gopy::config::Settings;
use gopy::startup::Application;
use gopy::store::announce::{
    Audience, BotStatus, BroadcastState, GroupKind, GroupState, LinkCode, NewStaff, Role, Schedule,
};
use tokio_util::sync::CancellationToken;

use common::{TestDb, now, sample_campaign, story};
use fake_telegram::{FakeLimits, FakeTelegram, Fault, Group, Resident, TOKEN, Target};

story!(
    story_a_broadcast_reaches_every_group_within_the_limits_through_every_error,
    sqlite_a_broadcast_reaches_every_group_within_the_limits_through_every_error,
    postgres_a_broadcast_reaches_every_group_within_the_limits_through_every_error
);
story!(
    story_a_group_from_added_to_removed,
    sqlite_a_group_from_added_to_removed,
    postgres_a_group_from_added_to_removed
);

story!(
    story_submitted_from_telegram_approved_with_a_button_and_sent,
    sqlite_submitted_from_telegram_approved_with_a_button_and_sent,
    postgres_submitted_from_telegram_approved_with_a_button_and_sent
);

/// gopy running against a fake Telegram until dropped.
struct Running {
    fake: Arc<FakeTelegram>,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Running {
    async fn start(url: &str) -> Self {
        let fake = Arc::new(FakeTelegram::start().await);
        let settings = Settings {
            database_url: url.to_owned(),
            http_addr: "127.0.0.1:0".parse().expect("address"),
            telegram_token: Some(TOKEN.to_owned()),
            telegram_api_url: fake.api_url(),
            demo: false,
            ..Settings::default()
        };
        let app = Application::build(settings).await.expect("gopy builds");
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(app.run(shutdown.clone()));
        Self {
            fake,
            shutdown,
            task,
        }
    }

    /// Pushes an update and waits until gopy handled it.
    async fn handled(&self, update: serde_json::Value) {
        let id = self.fake.push(update);
        self.fake.wait_confirmed(id).await;
    }

    /// The visible texts the bot sent to a chat.
    fn texts(&self, chat: i64) -> Vec<String> {
        self.fake.texts_to(chat)
    }

    async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(15), self.task)
            .await
            .expect("gopy stops")
            .expect("no panic")
            .expect("clean stop");
    }
}

async fn story_a_group_from_added_to_removed(db: TestDb) {
    let store = db.store.clone();
    store
        .insert_campaign(&sample_campaign("bk-2026", now()))
        .await
        .unwrap();
    store
        .add_staff(
            &NewStaff {
                name: "lan".to_owned(),
                roles: vec![Role::UnitLead],
                unit: Some("TDP-1".to_owned()),
            },
            &LinkCode {
                code: "K7QX3MZP".to_owned(),
                expires_at: now() + Span::hours(1),
            },
            "cli:tester",
            now(),
        )
        .await
        .unwrap();
    let gopy = Running::start(&db.url).await;
    let lan = Resident::new(7001, "Lan");
    let stranger = Resident::new(7002, "Hùng");
    let group = Group {
        id: -4001,
        title: "Tổ dân phố 1".to_owned(),
        supergroup: false,
    };

    // Added, then promoted with the right to delete messages.
    gopy.handled(gopy.fake.my_chat_member_update(&lan, &group))
        .await;
    let g = store
        .group_by_external(gopy::domain::Channel::Telegram, "-4001")
        .await
        .unwrap()
        .expect("registered");
    assert_eq!((g.state, g.kind), (GroupState::Pending, GroupKind::Group));
    gopy.handled(gopy.fake.bot_promoted_update(&lan, &group, true, false))
        .await;
    let g = store.group(g.id).await.unwrap().unwrap();
    assert_eq!(
        (g.bot_status, g.can_delete, g.can_restrict),
        (BotStatus::Administrator, true, false)
    );

    // A resident who is not staff is refused politely, in Vietnamese.
    gopy.handled(
        gopy.fake
            .group_text_update(&stranger, &group, "/bind TDP-1"),
    )
    .await;
    let said = gopy.texts(group.id);
    assert!(
        said.last()
            .is_some_and(|t| t.contains("chỉ dành cho cán bộ")),
        "{said:?}"
    );
    assert_eq!(
        store.group(g.id).await.unwrap().unwrap().state,
        GroupState::Pending
    );

    // Lan links her account, with a wrong code first.
    gopy.handled(gopy.fake.text_update(&lan, "/link WRONG000"))
        .await;
    gopy.handled(gopy.fake.text_update(&lan, "/link k7qx3mzp"))
        .await;
    let said = gopy.texts(lan.id);
    assert!(said[0].contains("không đúng"), "{said:?}");
    assert!(
        said[1].contains("Đã liên kết") && said[1].contains("lan"),
        "{said:?}"
    );

    // Outside her unit: refused. Her unit: bound.
    gopy.handled(gopy.fake.group_text_update(&lan, &group, "/bind TDP-2"))
        .await;
    gopy.handled(
        gopy.fake
            .group_text_update(&lan, &group, "/bind@gopy_test_bot tdp-1"),
    )
    .await;
    let said = gopy.texts(group.id);
    assert!(said[said.len() - 2].contains("ngoài phạm vi"), "{said:?}");
    assert!(said[said.len() - 1].contains("Tổ dân phố 1"), "{said:?}");
    let g = store.group(g.id).await.unwrap().unwrap();
    assert_eq!(
        (g.state, g.unit.as_deref()),
        (GroupState::Bound, Some("TDP-1"))
    );

    // Renamed, then migrated to a supergroup: the same row follows, still bound.
    gopy.handled(gopy.fake.title_update(&lan, &group, "Tổ 1 — thông tin"))
        .await;
    let (old, new) = gopy.fake.migration_updates(&lan, &group, -1_004_001);
    gopy.handled(old).await;
    gopy.handled(new).await;
    let g = store.group(g.id).await.unwrap().unwrap();
    assert_eq!(g.title, "Tổ 1 — thông tin");
    assert_eq!(g.external_id, "-1004001");
    assert_eq!(g.kind, GroupKind::Supergroup);
    assert_eq!(
        (g.state, g.unit.as_deref()),
        (GroupState::Bound, Some("TDP-1"))
    );
    assert_eq!(store.groups().await.unwrap().len(), 1);

    // Unbound from the supergroup, then the bot is removed.
    let supergroup = Group {
        id: -1_004_001,
        title: g.title.clone(),
        supergroup: true,
    };
    gopy.handled(gopy.fake.group_text_update(&lan, &supergroup, "/unbind"))
        .await;
    assert!(
        gopy.texts(supergroup.id)
            .last()
            .is_some_and(|t| t.contains("bỏ gắn")),
        "{:?}",
        gopy.texts(supergroup.id)
    );
    gopy.handled(gopy.fake.bot_removed_update(&lan, &supergroup))
        .await;
    let g = store.group(g.id).await.unwrap().unwrap();
    assert_eq!(
        (g.state, g.bot_status),
        (GroupState::Inactive, BotStatus::Kicked)
    );

    let log = store.audit_log(50).await.unwrap();
    let lan_did: Vec<&str> = log
        .iter()
        .filter(|e| e.actor == "lan")
        .map(|e| e.action.as_str())
        .collect();
    assert_eq!(
        lan_did,
        ["group.unbind", "group.bind", "staff.link_telegram"]
    );
    gopy.stop().await;
}

async fn story_a_broadcast_reaches_every_group_within_the_limits_through_every_error(db: TestDb) {
    let store = db.store.clone();
    common::campaign_with_official_and_approver(&store).await;
    let gopy = Running::start(&db.url).await;
    let lan = Resident::new(7001, "Lan");
    // 40 groups: the bot is added to each (one batch), then each is bound to TDP-1.
    let groups: Vec<Group> = (0..40)
        .map(|i| Group {
            id: -5000 - i,
            title: format!("Nhóm {i}"),
            supergroup: false,
        })
        .collect();
    let updates: Vec<serde_json::Value> = groups
        .iter()
        .map(|g| gopy.fake.my_chat_member_update(&lan, g))
        .collect();
    let last = updates
        .last()
        .and_then(|u| u["update_id"].as_i64())
        .unwrap();
    gopy.fake.push_all(updates);
    gopy.fake.wait_confirmed(last).await;
    for g in store.groups().await.unwrap() {
        store
            .bind_group(g.id, Some("TDP-1"), "cli:tester", None, now())
            .await
            .unwrap();
    }
    assert_eq!(store.groups().await.unwrap().len(), 40);

    // Telegram's limits are enforced; one group kicked the bot, one fails with 502 once, one
    // asks to wait 2 s, one became a supergroup the bot has not been told about.
    gopy.fake.enforce_limits(FakeLimits::TELEGRAM);
    let (kicked, flaky, slow, moved) = (groups[3].id, groups[5].id, groups[7].id, groups[9].id);
    gopy.fake
        .fail_next(Target::method_to("sendMessage", kicked), 1, Fault::Kicked);
    gopy.fake.fail_next(
        Target::method_to("sendMessage", flaky),
        1,
        Fault::Server(502),
    );
    gopy.fake.fail_next(
        Target::method_to("sendMessage", slow),
        1,
        Fault::TooManyRequests(2),
    );
    let moved_to = -1_000_009;
    let _ = gopy.fake.migration_updates(&lan, &groups[9], moved_to);
    gopy.fake.add_chat(serde_json::json!({
        "id": moved_to, "type": "supergroup", "title": "Nhóm 9"
    }));

    let text = "Kính mời bà con dự họp tổ dân phố lúc 19:30 thứ Bảy.";
    let audience = Audience {
        units: vec!["TDP-1".to_owned()],
        subunits: false,
        groups: vec![],
        residents: false,
    };
    let b = create(&store, "lan", text, audience, None, now())
        .await
        .unwrap();
    act(&store, b.id, "lan", Action::Submit, now())
        .await
        .unwrap();
    act(&store, b.id, "minh", Action::Approve, now())
        .await
        .unwrap();
    let started = std::time::Instant::now();
    act(&store, b.id, "lan", Action::Schedule(Schedule::Now), now())
        .await
        .unwrap();

    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let done = loop {
        let b = store.broadcast(b.id).await.unwrap().unwrap();
        if matches!(b.state, BroadcastState::Sent | BroadcastState::PartlyFailed) {
            break b;
        }
        assert!(std::time::Instant::now() < deadline, "still {:?}", b.state);
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let took = started.elapsed();
    assert_eq!(done.state, BroadcastState::PartlyFailed);
    let counts = store.delivery_counts(b.id).await.unwrap();
    assert_eq!((counts.sent, counts.failed, counts.pending), (39, 1, 0));
    assert!(
        counts.reasons[0].0.contains("kicked"),
        "{:?}",
        counts.reasons
    );

    // Every group but the kicked one got the text exactly once; the moved one at its new id.
    for g in &groups {
        let at = if g.id == moved { moved_to } else { g.id };
        let n = gopy.fake.texts_to(at).iter().filter(|t| *t == text).count();
        assert_eq!(n, usize::from(g.id != kicked), "group {}", g.id);
    }
    assert!(gopy.fake.texts_to(moved).is_empty());
    // gopy's own limiter kept it under Telegram's limits: no 429 but the injected one, and
    // 40 messages at 30/s take more than a second.
    assert_eq!(gopy.fake.rate_limited_count(), 0);
    assert!(took >= Duration::from_secs(1), "{took:?}");
    // The kicked group is inactive; the moved one follows its new id and stays bound.
    let by_chat = |chat: i64| {
        let store = store.clone();
        async move {
            store
                .group_by_external(gopy::domain::Channel::Telegram, &chat.to_string())
                .await
                .unwrap()
                .unwrap()
        }
    };
    assert_eq!(by_chat(kicked).await.state, GroupState::Inactive);
    let m = by_chat(moved_to).await;
    assert_eq!(
        (m.state, m.migrated_from.as_deref()),
        (GroupState::Bound, Some("-5009"))
    );
    // The 2 s pause was honoured: the slow group's message came at least 2 s after its 429.
    let calls = gopy.fake.calls_to("sendMessage");
    let slow_calls: Vec<_> = calls
        .iter()
        .filter(|c| c.i64("chat_id") == Some(slow))
        .collect();
    assert_eq!(slow_calls.len(), 2);
    assert!(slow_calls[1].at - slow_calls[0].at >= Duration::from_secs(2));
    gopy.stop().await;
}

/// An official writes the text to the bot and replies to it with `/trinh TDP-1`; the approver
/// (linked on Telegram) is sent it with an approve button, once; the author, told of the
/// approval, presses "send now"; the bound group gets it. The author cannot approve it, and a
/// stale button (an earlier revision) does nothing.
async fn story_submitted_from_telegram_approved_with_a_button_and_sent(db: TestDb) {
    let store = db.store.clone();
    common::campaign_with_official_and_approver(&store).await;
    let gopy = Running::start(&db.url).await;
    let lan = Resident::new(7101, "Lan");
    let minh = Resident::new(7102, "Minh");
    gopy.handled(gopy.fake.text_update(&lan, "/link CODE0000"))
        .await;
    gopy.handled(gopy.fake.text_update(&minh, "/link CODE0001"))
        .await;
    let group = Group {
        id: -4101,
        title: "Tổ dân phố 1".to_owned(),
        supergroup: false,
    };
    gopy.handled(gopy.fake.my_chat_member_update(&lan, &group))
        .await;
    let g = store
        .group_by_external(gopy::domain::Channel::Telegram, "-4101")
        .await
        .unwrap()
        .expect("registered");
    store
        .bind_group(g.id, Some("TDP-1"), "cli:tester", None, now())
        .await
        .unwrap();

    // Without a replied-to text: how to do it.
    gopy.handled(gopy.fake.text_update(&lan, "/trinh TDP-1"))
        .await;
    assert!(
        gopy.texts(lan.id)
            .last()
            .is_some_and(|t| t.contains("trả lời (reply)")),
        "{:?}",
        gopy.texts(lan.id)
    );
    // The text, then the reply to it.
    let text = "Kính mời bà con dự họp tổ dân phố lúc 19:30 thứ Bảy <tại nhà văn hóa>.";
    let original = gopy.fake.text_update(&lan, text);
    gopy.handled(original.clone()).await;
    let mut reply = gopy.fake.text_update(&lan, "/trinh TDP-1");
    reply["message"]["reply_to_message"] = original["message"].clone();
    gopy.handled(reply).await;
    assert!(
        gopy.texts(lan.id)
            .last()
            .is_some_and(|t| t.contains("Đã trình thông báo số")),
        "{:?}",
        gopy.texts(lan.id)
    );

    // Minh is sent it once, with the text as written (escaped, not read as markup).
    let request = gopy
        .fake
        .wait_for("the approval request", |f| {
            f.texts_to(minh.id)
                .into_iter()
                .find(|t| t.contains("chờ phê duyệt"))
        })
        .await;
    assert!(request.contains(text), "{request}");
    assert!(
        gopy.fake.find_button(lan.id, "Phê duyệt").is_none(),
        "the author is not asked to approve"
    );
    tokio::time::sleep(Duration::from_secs(4)).await;
    let asked = gopy
        .texts(minh.id)
        .iter()
        .filter(|t| t.contains("chờ phê duyệt"))
        .count();
    assert_eq!(asked, 1, "sent once");

    // Lan cannot press Minh's button; a stale revision does nothing.
    let (message, data) = gopy.fake.find_button(minh.id, "Phê duyệt").expect("button");
    let id: i64 = data
        .split(':')
        .nth(2)
        .and_then(|n| n.parse().ok())
        .expect("id");
    let stale = format!("bc:ok:{id}:99");
    let p = gopy.fake.press(&minh, message, &stale);
    gopy.fake.wait_confirmed(p.update_id).await;
    assert!(
        gopy.texts(minh.id)
            .last()
            .is_some_and(|t| t.contains("không còn chờ"))
    );
    let p = gopy.fake.press(&lan, message, &data);
    gopy.fake.wait_confirmed(p.update_id).await;
    assert!(
        gopy.texts(lan.id)
            .last()
            .is_some_and(|t| t.contains("Không thực hiện được")),
        "{:?}",
        gopy.texts(lan.id)
    );
    let p = gopy.fake.press(&minh, message, &data);
    gopy.fake.wait_confirmed(p.update_id).await;
    gopy.fake.wait_callback_answered(&p.callback_id).await;
    assert_eq!(
        store.broadcast(id).await.unwrap().unwrap().state,
        gopy::store::announce::BroadcastState::Approved
    );

    // Lan is told, and sends it now.
    let p = gopy.fake.press_label(&lan, "Gửi ngay");
    gopy.fake.wait_confirmed(p.update_id).await;
    common::wait_broadcast(
        &store,
        id,
        gopy::store::announce::BroadcastState::Sent,
        Duration::from_secs(20),
    )
    .await;
    assert_eq!(gopy.texts(group.id), vec![text.to_owned()]);
    let audit = db
        .strings("SELECT actor || ' ' || action FROM audit_log WHERE action LIKE 'broadcast.%' ORDER BY id")
        .await;
    assert!(
        audit.contains(&"lan broadcast.submit".to_owned()),
        "{audit:?}"
    );
    assert!(
        audit.contains(&"minh broadcast.approve".to_owned()),
        "{audit:?}"
    );
    gopy.stop().await;
}
