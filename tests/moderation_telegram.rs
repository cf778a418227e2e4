//! Moderation in Telegram groups end to end: the whole gopy against the fake Telegram Bot API
//! over real HTTP. A bound group's posts are screened and flagged ones reach the unit's
//! moderators as private cards; their buttons hide (delete where the bot may), restrict, ban,
//! keep or dismiss, and undo; stale and double-tapped buttons are answered clearly; the
//! author is told and may `/appeal`, which goes to a different moderator; residents'
//! `/report`s hide a post pending review at the threshold where the bot may, never a staff
//! member's; a moderator's `/flag` queues a post. Each story runs with the bot as an
//! administrator allowed to delete and restrict, and as an ordinary member, on SQLite and,
//! when `TEST_DATABASE_URL` is set at build time, on Postgres.

mod common;
mod fake_telegram;

use std::sync::Arc;
use std::time::Duration;

use chrono::Duration as Span;
use gopy::config::Settings;
use gopy::domain::Channel;
use gopy::moderation::{Status, Target};
use gopy::startup::Application;
use gopy::store::announce::{LinkCode, NewStaff, Role};
use gopy::store::{ItemFilter, Store};
use tokio_util::sync::CancellationToken;

use common::{TestDb, now, sample_campaign, story};
use fake_telegram::{FakeTelegram, Group, Resident, TOKEN};

story!(
    story_an_admin_bot_hides_restricts_undoes_and_an_appeal_goes_to_another_moderator,
    sqlite_an_admin_bot_hides_restricts_undoes_and_an_appeal_goes_to_another_moderator,
    postgres_an_admin_bot_hides_restricts_undoes_and_an_appeal_goes_to_another_moderator
);
story!(
    story_reports_hide_a_post_at_the_threshold_but_never_a_staff_post_and_moderators_flag,
    sqlite_reports_hide_a_post_at_the_threshold_but_never_a_staff_post_and_moderators_flag,
    postgres_reports_hide_a_post_at_the_threshold_but_never_a_staff_post_and_moderators_flag
);
story!(
    story_a_bot_that_may_not_delete_hides_in_gopy_only_and_says_so,
    sqlite_a_bot_that_may_not_delete_hides_in_gopy_only_and_says_so,
    postgres_a_bot_that_may_not_delete_hides_in_gopy_only_and_says_so
);

story!(
    story_an_admin_bot_without_the_delete_right_restricts_bans_and_lifts_both,
    sqlite_an_admin_bot_without_the_delete_right_restricts_bans_and_lifts_both,
    postgres_an_admin_bot_without_the_delete_right_restricts_bans_and_lifts_both
);
story!(
    story_flagged_opinions_reach_moderators_and_their_authors_are_told_when_hidden,
    sqlite_flagged_opinions_reach_moderators_and_their_authors_are_told_when_hidden,
    postgres_flagged_opinions_reach_moderators_and_their_authors_are_told_when_hidden
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

    /// Pushes an update and waits until gopy handled it (replies sent).
    async fn handled(&self, update: serde_json::Value) -> i64 {
        let id = self.fake.push(update);
        self.fake.wait_handled(id).await;
        id
    }

    /// A person presses the button labelled `label` on the newest card that has one, and
    /// waits until it was handled; returns what the press was answered.
    async fn press(&self, who: &Resident, label: &str) -> String {
        let pressed = self.fake.press_label(who, label);
        self.fake.wait_handled(pressed.update_id).await;
        self.fake.wait_callback_answered(&pressed.callback_id).await;
        answer_text(&self.fake, &pressed.callback_id)
    }

    /// Presses a button by its exact data on a message.
    async fn press_data(&self, who: &Resident, message_id: i64, data: &str) -> String {
        let pressed = self.fake.press(who, message_id, data);
        self.fake.wait_handled(pressed.update_id).await;
        self.fake.wait_callback_answered(&pressed.callback_id).await;
        answer_text(&self.fake, &pressed.callback_id)
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

/// The text a callback query was answered with.
fn answer_text(fake: &FakeTelegram, callback: &str) -> String {
    fake.calls_to("answercallbackquery")
        .into_iter()
        .filter(|c| c.body["callback_query_id"].as_str() == Some(callback))
        .find_map(|c| c.body["text"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// A staff user linked to a Telegram account, whose private chat the bot may write to.
async fn staff(
    store: &Arc<dyn Store>,
    fake: &FakeTelegram,
    who: &Resident,
    name: &str,
    roles: Vec<Role>,
    unit: Option<&str>,
) {
    let code = format!("CODE{}", who.id);
    store
        .add_staff(
            &NewStaff {
                name: name.to_owned(),
                roles,
                unit: unit.map(str::to_owned),
            },
            &LinkCode {
                code: code.clone(),
                expires_at: now() + Span::hours(1),
            },
            "cli:tester",
            now(),
        )
        .await
        .expect("staff added");
    store
        .link_telegram(&code, who.id, None, now())
        .await
        .expect("linked");
    fake.add_chat(who.chat_json());
}

/// The bot added to a group (promoted when `admin`), the group bound to TDP-1.
async fn managed_group(gopy: &Running, store: &Arc<dyn Store>, group: &Group, admin: bool) {
    let owner = Resident::new(9000, "Chủ nhóm");
    gopy.handled(gopy.fake.my_chat_member_update(&owner, group))
        .await;
    if admin {
        gopy.handled(gopy.fake.bot_promoted_update(&owner, group, true, true))
            .await;
    }
    let g = store
        .group_by_external(Channel::Telegram, &group.id.to_string())
        .await
        .expect("read")
        .expect("registered");
    store
        .bind_group(g.id, Some("TDP-1"), "cli:tester", None, now())
        .await
        .expect("bound");
}

/// The one item about a post.
async fn item_of(store: &Arc<dyn Store>, group: &Group, message_id: i64) -> gopy::moderation::Item {
    store
        .item_for(&Target::GroupPost {
            channel: Channel::Telegram,
            chat_id: group.id.to_string(),
            message_id: message_id.to_string(),
        })
        .await
        .expect("read")
        .expect("queued")
}

/// The newest message id in a group (a post just pushed).
fn last_post(update: &serde_json::Value) -> i64 {
    update["message"]["message_id"].as_i64().expect("a message")
}

async fn setup(db: &TestDb, admin: bool, supergroup: bool) -> (Running, Group) {
    db.store
        .insert_campaign(&sample_campaign("bk-2026", now()))
        .await
        .expect("campaign");
    let gopy = Running::start(&db.url).await;
    let group = Group {
        id: if supergroup { -100_4001 } else { -4001 },
        title: "Tổ dân phố 1".to_owned(),
        supergroup,
    };
    managed_group(&gopy, &db.store, &group, admin).await;
    (gopy, group)
}

async fn story_an_admin_bot_hides_restricts_undoes_and_an_appeal_goes_to_another_moderator(
    db: TestDb,
) {
    let store = db.store.clone();
    let (gopy, group) = setup(&db, true, true).await;
    let minh = Resident::new(8001, "Minh");
    let hoa = Resident::new(8002, "Hoa");
    staff(
        &store,
        &gopy.fake,
        &minh,
        "minh",
        vec![Role::Moderator],
        Some("TDP-1"),
    )
    .await;
    staff(&store, &gopy.fake, &hoa, "hoa", vec![Role::Moderator], None).await;
    // A moderator of another unit gets nothing.
    let tu = Resident::new(8003, "Tú");
    staff(
        &store,
        &gopy.fake,
        &tu,
        "tu",
        vec![Role::Moderator],
        Some("TDP-2"),
    )
    .await;
    let an = Resident::new(7001, "An").language(Some("vi"));
    gopy.fake.add_chat(an.chat_json());

    // An ordinary post is left alone; an abusive one reaches both moderators of TDP-1.
    let ordinary =
        gopy.fake
            .group_text_update(&an, &group, "Mai họp tổ dân phố lúc 19h nhé cả nhà");
    let ordinary_id = last_post(&ordinary);
    gopy.handled(ordinary).await;
    assert!(gopy.fake.texts_to(minh.id).is_empty());
    let abusive = gopy
        .fake
        .group_text_update(&an, &group, "đm bọn mày toàn lũ ăn hại");
    let first = last_post(&abusive);
    gopy.handled(abusive).await;
    let card = gopy.fake.wait_messages(minh.id, 1).await.remove(0);
    assert!(card.visible.contains("[[đm]]"), "{}", card.visible);
    assert!(card.visible.contains("Tổ dân phố 1"), "{}", card.visible);
    assert!(card.visible.contains("Người đăng: An"), "{}", card.visible);
    let labels: Vec<String> = card.buttons().into_iter().map(|b| b.text).collect();
    assert_eq!(
        labels,
        ["Giữ lại", "Ẩn", "Hạn chế 24 giờ", "Cấm khỏi nhóm", "Bỏ qua"]
    );
    gopy.fake.wait_messages(hoa.id, 1).await;
    assert!(gopy.fake.texts_to(tu.id).is_empty(), "another unit");

    // Minh hides it: deleted from the group, the author told why and how to appeal.
    let said = gopy.press(&minh, "Ẩn").await;
    assert!(said.contains("Đã ghi nhận"), "{said}");
    gopy.fake.wait_post_deleted(group.id, first).await;
    let item = item_of(&store, &group, first).await;
    assert_eq!(item.status, Status::Upheld);
    assert_eq!(item.decision.as_ref().map(|d| d.0.as_str()), Some("minh"));
    let told = gopy.fake.wait_messages(an.id, 1).await;
    assert!(
        told[0].visible.contains("Tổ dân phố 1"),
        "{}",
        told[0].visible
    );
    assert!(told[0].visible.contains("/appeal"), "{}", told[0].visible);
    let edited = gopy.fake.messages_to(minh.id).remove(0);
    assert!(edited.visible.contains("Đã xử lý"), "{}", edited.visible);
    assert!(
        edited.visible.contains("Đã xóa tin khỏi nhóm"),
        "{}",
        edited.visible
    );

    // Hoa's copy now shows the decision, without buttons; a tap that beat the edit is
    // answered with who decided, and nothing changes.
    let hoa_card = gopy.fake.messages_to(hoa.id).remove(0);
    assert!(
        hoa_card.visible.contains("Đã xử lý: ẩn — bởi minh"),
        "{}",
        hoa_card.visible
    );
    assert!(
        hoa_card.visible.contains("Người đăng: An"),
        "{}",
        hoa_card.visible
    );
    assert!(hoa_card.buttons().is_empty());
    let said = gopy
        .press_data(&hoa, hoa_card.message_id, &format!("mod:{}:0:b", item.id))
        .await;
    assert!(
        said.contains("đã được xử lý") && said.contains("minh"),
        "{said}"
    );
    assert_eq!(
        gopy.fake.member(group.id, an.id).map(|m| m.status),
        Some("member".to_owned())
    );

    // Minh undoes: restored in gopy; a second tap has nothing left to undo.
    let said = gopy.press(&minh, "Hoàn tác").await;
    assert!(said.contains("Đã ghi nhận"), "{said}");
    assert_eq!(
        item_of(&store, &group, first).await.status,
        Status::Dismissed
    );
    let undo = gopy.fake.calls_to("answercallbackquery").len();
    let (card_id, data) = {
        let sent = gopy.fake.messages_to(minh.id);
        let card = sent.first().expect("card");
        (card.message_id, format!("mod:{}:0:uh", item.id))
    };
    let said = gopy.press_data(&minh, card_id, &data).await;
    assert!(said.contains("Không còn gì để hoàn tác"), "{said}");
    assert!(gopy.fake.calls_to("answercallbackquery").len() > undo);
    // An is told the hide was withdrawn, and that a deleted message does not come back.
    let told = gopy.fake.wait_messages(an.id, 2).await;
    assert!(
        told[1].visible.contains("đã được hủy") && told[1].visible.contains("đăng lại"),
        "{}",
        told[1].visible
    );

    // A second abusive post: Hoa restricts the author for a day.
    let again = gopy
        .fake
        .group_text_update(&an, &group, "thằng chó chủ tịch phường");
    let second = last_post(&again);
    gopy.handled(again).await;
    gopy.fake.wait_messages(hoa.id, 2).await;
    let said = gopy.press(&hoa, "Hạn chế").await;
    assert!(said.contains("Đã ghi nhận"), "{said}");
    gopy.fake.wait_post_deleted(group.id, second).await;
    let member = gopy.fake.member(group.id, an.id).expect("member");
    assert_eq!(member.status, "restricted");
    assert!(member.until_date > chrono::Utc::now().timestamp() + 23 * 3600);
    let told = gopy.fake.wait_messages(an.id, 3).await;
    assert!(told[2].visible.contains("/appeal"));

    // An appeals in private: received, and the card goes to Minh, not to Hoa who decided.
    let hoa_before = gopy.fake.messages_to(hoa.id).len();
    let minh_before = gopy.fake.messages_to(minh.id).len();
    gopy.handled(
        gopy.fake
            .text_update(&an, "/appeal Tôi chỉ bức xúc, xin gỡ hạn chế"),
    )
    .await;
    let told = gopy.fake.wait_messages(an.id, 4).await;
    assert!(
        told[3].visible.contains("người kiểm duyệt khác"),
        "{}",
        told[3].visible
    );
    let cards = gopy.fake.wait_messages(minh.id, minh_before + 1).await;
    assert!(
        cards
            .last()
            .expect("card")
            .visible
            .contains("xin gỡ hạn chế")
    );
    assert_eq!(gopy.fake.messages_to(hoa.id).len(), hoa_before);
    let appealed = item_of(&store, &group, second).await;
    assert_eq!(
        (appealed.status, appealed.previous_moderator.as_deref()),
        (Status::Queued, Some("hoa"))
    );
    // Hoa's old card is out of date; a second appeal finds nothing to appeal.
    let hoa_card = gopy.fake.messages_to(hoa.id)[1].message_id;
    let said = gopy
        .press_data(&hoa, hoa_card, &format!("mod:{}:0:k", appealed.id))
        .await;
    assert!(said.contains("Thẻ này đã cũ"), "{said}");
    gopy.handled(gopy.fake.text_update(&an, "/appeal lần nữa"))
        .await;
    let told = gopy.fake.wait_messages(an.id, 5).await;
    assert!(told[4].visible.contains("chỉ được khiếu nại một lần"));

    // A post that passed, edited into abuse, is screened again and queued.
    let minh_before = gopy.fake.messages_to(minh.id).len();
    gopy.handled(gopy.fake.group_edited_update(
        &an,
        &group,
        ordinary_id,
        "Mai họp tổ, đm đứa nào không đến",
    ))
    .await;
    let cards = gopy.fake.wait_messages(minh.id, minh_before + 1).await;
    assert!(
        cards.last().expect("card").visible.contains("[[đm]]"),
        "{}",
        cards.last().expect("card").visible
    );
    assert_eq!(
        item_of(&store, &group, ordinary_id).await.text,
        "Mai họp tổ, đm đứa nào không đến"
    );

    // Minh keeps the appealed one: dismissed; every step is in the log.
    let appeal_card = gopy
        .fake
        .messages_to(minh.id)
        .into_iter()
        .find(|m| m.visible.contains("xin gỡ hạn chế"))
        .expect("the appeal card")
        .message_id;
    let said = gopy
        .press_data(&minh, appeal_card, &format!("mod:{}:1:k", appealed.id))
        .await;
    assert!(said.contains("Đã ghi nhận"), "{said}");
    assert_eq!(
        item_of(&store, &group, second).await.status,
        Status::Dismissed
    );
    let actions: Vec<String> = store
        .moderation_log(100)
        .await
        .expect("log")
        .into_iter()
        .rev()
        .map(|l| l.action)
        .collect();
    for want in [
        "queued",
        "upheld",
        "telegram.delete",
        "dismissed",
        "telegram.restrict",
        "appealed",
    ] {
        assert!(actions.iter().any(|a| a == want), "{want} in {actions:?}");
    }
    // The appeal was granted: An is told.
    let told = gopy.fake.wait_messages(an.id, 6).await;
    assert!(
        told[5].visible.contains("đã được hủy"),
        "{}",
        told[5].visible
    );
    gopy.stop().await;
}

async fn story_reports_hide_a_post_at_the_threshold_but_never_a_staff_post_and_moderators_flag(
    db: TestDb,
) {
    let store = db.store.clone();
    let (gopy, group) = setup(&db, true, true).await;
    let minh = Resident::new(8001, "Minh");
    staff(
        &store,
        &gopy.fake,
        &minh,
        "minh",
        vec![Role::Moderator],
        Some("TDP-1"),
    )
    .await;
    let binh = Resident::new(7002, "Bình");
    gopy.fake.add_chat(binh.chat_json());
    let reporters: Vec<Resident> = (0..3)
        .map(|i| Resident::new(7100 + i, &format!("Người {i}")))
        .collect();
    for r in &reporters {
        gopy.fake.add_chat(r.chat_json());
    }

    // A post the word lists do not catch, reported by three residents.
    let post = gopy.fake.group_text_update(
        &binh,
        &group,
        "Tổ trưởng ăn chặn tiền hỗ trợ, mọi người đừng nộp nữa",
    );
    let id = last_post(&post);
    gopy.handled(post).await;
    assert!(gopy.fake.texts_to(minh.id).is_empty());
    gopy.handled(
        gopy.fake
            .group_reply_update(&reporters[0], &group, id, "/report quảng cáo"),
    )
    .await;
    let said = gopy.fake.wait_messages(reporters[0].id, 1).await;
    assert!(said[0].visible.contains("1 / 3"), "{}", said[0].visible);
    // Twice by the same person counts once.
    gopy.handled(
        gopy.fake
            .group_reply_update(&reporters[0], &group, id, "/report"),
    )
    .await;
    let said = gopy.fake.wait_messages(reporters[0].id, 2).await;
    assert!(said[1].visible.contains("một lần"), "{}", said[1].visible);
    gopy.handled(
        gopy.fake
            .group_reply_update(&reporters[1], &group, id, "/report"),
    )
    .await;
    assert_eq!(gopy.fake.post_deleted(group.id, id), Some(false));
    gopy.handled(
        gopy.fake
            .group_reply_update(&reporters[2], &group, id, "/report lừa đảo"),
    )
    .await;
    gopy.fake.wait_post_deleted(group.id, id).await;
    let said = gopy.fake.wait_messages(reporters[2].id, 1).await;
    assert!(said[0].visible.contains("3 / 3"), "{}", said[0].visible);
    let card = gopy.fake.wait_messages(minh.id, 1).await.remove(0);
    assert!(
        card.visible.contains("3 người dân báo cáo"),
        "{}",
        card.visible
    );
    assert!(
        card.visible.contains("Lý do báo cáo: quảng cáo; lừa đảo"),
        "{}",
        card.visible
    );
    assert!(card.visible.contains("tạm ẩn"), "{}", card.visible);
    let item = item_of(&store, &group, id).await;
    assert_eq!(item.status, Status::Queued, "hidden pending review only");
    // Bình is told the post is hidden for now; Minh keeps it, and Bình is told that too.
    let told = gopy.fake.wait_messages(binh.id, 1).await;
    assert!(told[0].visible.contains("tạm ẩn"), "{}", told[0].visible);
    let said = gopy.press(&minh, "Giữ lại").await;
    assert!(said.contains("Đã ghi nhận"), "{said}");
    let told = gopy.fake.wait_messages(binh.id, 2).await;
    assert!(
        told[1].visible.contains("đã được hủy") && told[1].visible.contains("đăng lại"),
        "{}",
        told[1].visible
    );

    // The group's owner is staff: reports queue their post but never hide it.
    let owner = Resident::new(9000, "Chủ nhóm");
    gopy.fake.set_member_status(group.id, &owner, "creator");
    let post = gopy
        .fake
        .group_text_update(&owner, &group, "Thông báo thu quỹ khuyến học");
    let owned = last_post(&post);
    gopy.handled(post).await;
    for r in &reporters {
        gopy.handled(gopy.fake.group_reply_update(r, &group, owned, "/report"))
            .await;
    }
    let cards = gopy.fake.wait_messages(minh.id, 2).await;
    assert!(
        cards[1].visible.contains("cán bộ hoặc quản trị nhóm"),
        "{}",
        cards[1].visible
    );
    assert_eq!(gopy.fake.post_deleted(group.id, owned), Some(false));

    // A moderator flags a post; a resident who tries is told who may.
    let post =
        gopy.fake
            .group_text_update(&binh, &group, "Nghe nói phường sắp giải tỏa hết khu này");
    let rumour = last_post(&post);
    gopy.handled(post).await;
    gopy.handled(
        gopy.fake
            .group_reply_update(&binh, &group, rumour, "/flag tin đồn"),
    )
    .await;
    let in_group = gopy.fake.texts_to(group.id);
    assert!(
        in_group.iter().any(|t| t.contains("Chỉ người kiểm duyệt")),
        "{in_group:?}"
    );
    gopy.handled(
        gopy.fake
            .group_reply_update(&minh, &group, rumour, "/flag tin đồn thất thiệt"),
    )
    .await;
    let cards = gopy.fake.wait_messages(minh.id, 4).await;
    let texts: Vec<&str> = cards.iter().map(|c| c.visible.as_str()).collect();
    assert!(
        texts.iter().any(|t| t.contains("tin đồn thất thiệt")),
        "{texts:?}"
    );
    assert!(texts.iter().any(|t| t.contains("Đã đưa tin vào hàng chờ")));
    let flagged = item_of(&store, &group, rumour).await;
    assert_eq!(flagged.source, gopy::moderation::Source::Moderator);
    let queued = store
        .moderation_items(ItemFilter {
            status: Some(Status::Queued),
            limit: 10,
        })
        .await
        .expect("queue");
    assert_eq!(queued.len(), 2, "the owner's post and the rumour");
    gopy.stop().await;
}

async fn story_a_bot_that_may_not_delete_hides_in_gopy_only_and_says_so(db: TestDb) {
    let store = db.store.clone();
    let (gopy, group) = setup(&db, false, false).await;
    let minh = Resident::new(8001, "Minh");
    staff(
        &store,
        &gopy.fake,
        &minh,
        "minh",
        vec![Role::Moderator],
        Some("TDP-1"),
    )
    .await;
    let an = Resident::new(7001, "An");

    let post = gopy
        .fake
        .group_text_update(&an, &group, "đm bọn mày toàn lũ ăn hại");
    let id = last_post(&post);
    gopy.handled(post).await;
    let card = gopy.fake.wait_messages(minh.id, 1).await.remove(0);
    assert!(
        card.visible.contains("không có quyền xóa"),
        "{}",
        card.visible
    );
    let labels: Vec<String> = card.buttons().into_iter().map(|b| b.text).collect();
    assert_eq!(
        labels,
        ["Giữ lại", "Ẩn", "Cấm khỏi nhóm", "Bỏ qua"],
        "a basic group has no restriction"
    );
    let said = gopy.press(&minh, "Ẩn").await;
    assert!(said.contains("Đã ghi nhận"), "{said}");
    assert_eq!(item_of(&store, &group, id).await.status, Status::Upheld);
    assert_eq!(gopy.fake.post_deleted(group.id, id), Some(false));
    let edited = gopy.fake.messages_to(minh.id).remove(0);
    assert!(
        edited.visible.contains("Telegram không cho xóa tin"),
        "{}",
        edited.visible
    );
    let refused = store
        .moderation_log(20)
        .await
        .expect("log")
        .into_iter()
        .find(|l| l.action == "telegram.delete")
        .expect("logged");
    assert_eq!(refused.detail["ok"], serde_json::json!(false));

    // Reports reach the threshold, but the post stays: the bot may not delete.
    let post = gopy.fake.group_text_update(
        &an,
        &group,
        "Tổ trưởng ăn chặn tiền hỗ trợ, mọi người đừng nộp nữa",
    );
    let sim = last_post(&post);
    gopy.handled(post).await;
    for i in 0..3 {
        let r = Resident::new(7100 + i, "Người");
        gopy.handled(gopy.fake.group_reply_update(&r, &group, sim, "/report"))
            .await;
    }
    let cards = gopy.fake.wait_messages(minh.id, 2).await;
    assert!(
        cards[1].visible.contains("bot không có quyền xóa tin"),
        "{}",
        cards[1].visible
    );
    assert_eq!(gopy.fake.post_deleted(group.id, sim), Some(false));
    // Without a private chat, the reporters were answered in the group.
    assert!(
        gopy.fake
            .texts_to(group.id)
            .iter()
            .any(|t| t.contains("3 / 3"))
    );
    gopy.stop().await;
}

async fn story_flagged_opinions_reach_moderators_and_their_authors_are_told_when_hidden(
    db: TestDb,
) {
    use gopy::domain::{ContactKey, Locale, OpinionSource};
    use gopy::moderation::{DEFAULT_THRESHOLD, Decision, Detector, Lexicon, Verdict};
    use gopy::store::NewOpinion;

    let store = db.store.clone();
    let campaign = store
        .insert_campaign(&sample_campaign("bk-2026", now()))
        .await
        .expect("campaign");
    // An gave two abusive opinions while gopy was not screening; the scan queues them.
    let an = Resident::new(7001, "An");
    let mut tx = store.begin().await.expect("begin");
    let key = ContactKey {
        channel: Channel::Telegram,
        external_id: an.id.to_string(),
    };
    let contact = tx.contact(&key, Locale::Vi).await.expect("contact").id;
    for (i, text) in ["đ.m bọn cán bộ phường", "lũ chó má ăn hại"]
        .iter()
        .enumerate()
    {
        tx.insert_opinion(&NewOpinion {
            reference: format!("AB{i}CDE"),
            campaign_id: campaign,
            contact_id: Some(contact),
            topic: "do-thi".to_owned(),
            section: None,
            unit: Some("TDP-1".to_owned()),
            target_group: None,
            channel: Channel::Telegram,
            source: OpinionSource::Chat,
            anonymous: true,
            text: (*text).to_owned(),
            created_at: now(),
        })
        .await
        .expect("opinion");
    }
    tx.commit().await.expect("commit");
    let detector = Detector::new(Lexicon::built_in().expect("lists"), DEFAULT_THRESHOLD);
    let scanned = gopy::moderation::scan_campaign(store.as_ref(), &detector, campaign, now())
        .await
        .expect("scan");
    assert_eq!(scanned.queued, 2);

    let gopy = Running::start(&db.url).await;
    let minh = Resident::new(8001, "Minh");
    staff(
        &store,
        &gopy.fake,
        &minh,
        "minh",
        vec![Role::Moderator],
        Some("TDP-1"),
    )
    .await;
    // A moderator of another unit does not see TDP-1's opinions.
    let tu = Resident::new(8003, "Tú");
    staff(
        &store,
        &gopy.fake,
        &tu,
        "tu",
        vec![Role::Moderator],
        Some("TDP-2"),
    )
    .await;
    gopy.fake.add_chat(an.chat_json());

    // Each queued opinion reaches Minh once, as a card with its reference.
    let cards = gopy.fake.wait_messages(minh.id, 2).await;
    assert!(cards[0].visible.contains("AB0CDE"), "{}", cards[0].visible);
    assert!(cards[1].visible.contains("AB1CDE"), "{}", cards[1].visible);
    let labels: Vec<String> = cards[0].buttons().into_iter().map(|b| b.text).collect();
    assert_eq!(
        labels,
        ["Giữ lại", "Ẩn", "Bỏ qua"],
        "no group, no restriction or ban"
    );
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(gopy.fake.messages_to(minh.id).len(), 2, "no card twice");
    assert!(gopy.fake.texts_to(tu.id).is_empty());

    // Minh hides the second one: An is told which opinion, why, and how to appeal.
    let said = gopy.press(&minh, "Ẩn").await;
    assert!(said.contains("Đã ghi nhận"), "{said}");
    let told = gopy.fake.wait_messages(an.id, 1).await;
    assert!(told[0].visible.contains("AB1CDE"), "{}", told[0].visible);
    assert!(told[0].visible.contains("/appeal"), "{}", told[0].visible);

    // An official hides the first from the command line: the running bot tells An too.
    let first = store
        .item_for(&Target::Opinion {
            opinion_id: store.campaign_opinions(campaign).await.expect("opinions")[0].id,
        })
        .await
        .expect("read")
        .expect("queued");
    store
        .decide(&Decision {
            item: first.id,
            verdict: Verdict::Uphold,
            by: "cli:tester".to_owned(),
            reason: "Lăng mạ cán bộ".to_owned(),
            at: now(),
        })
        .await
        .expect("decided");
    let told = gopy.fake.wait_messages(an.id, 2).await;
    assert!(told[1].visible.contains("AB0CDE"), "{}", told[1].visible);
    assert!(
        told[1].visible.contains("Lăng mạ cán bộ"),
        "{}",
        told[1].visible
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(gopy.fake.messages_to(an.id).len(), 2, "each notice once");
    gopy.stop().await;
}

async fn story_an_admin_bot_without_the_delete_right_restricts_bans_and_lifts_both(db: TestDb) {
    let store = db.store.clone();
    db.store
        .insert_campaign(&sample_campaign("bk-2026", now()))
        .await
        .expect("campaign");
    let gopy = Running::start(&db.url).await;
    let group = Group {
        id: -100_4002,
        title: "Tổ dân phố 1 (mở rộng)".to_owned(),
        supergroup: true,
    };
    let owner = Resident::new(9000, "Chủ nhóm");
    gopy.handled(gopy.fake.my_chat_member_update(&owner, &group))
        .await;
    gopy.handled(gopy.fake.bot_promoted_update(&owner, &group, false, true))
        .await;
    let g = store
        .group_by_external(Channel::Telegram, &group.id.to_string())
        .await
        .expect("read")
        .expect("registered");
    store
        .bind_group(g.id, Some("TDP-1"), "cli:tester", None, now())
        .await
        .expect("bound");
    let minh = Resident::new(8001, "Minh");
    staff(
        &store,
        &gopy.fake,
        &minh,
        "minh",
        vec![Role::Moderator],
        Some("TDP-1"),
    )
    .await;
    let an = Resident::new(7001, "An");

    // Restrict: the post stays (no right to delete), the author is restricted; undo lifts it.
    let post = gopy
        .fake
        .group_text_update(&an, &group, "đm bọn mày toàn lũ ăn hại");
    let first = last_post(&post);
    gopy.handled(post).await;
    gopy.fake.wait_messages(minh.id, 1).await;
    gopy.press(&minh, "Hạn chế").await;
    assert_eq!(gopy.fake.post_deleted(group.id, first), Some(false));
    assert_eq!(
        gopy.fake.member(group.id, an.id).map(|m| m.status),
        Some("restricted".to_owned())
    );
    let card = gopy.fake.messages_to(minh.id).remove(0);
    assert!(
        card.visible.contains("Telegram không cho xóa tin"),
        "{}",
        card.visible
    );
    assert!(
        card.visible.contains("Đã hạn chế người đăng"),
        "{}",
        card.visible
    );
    gopy.press(&minh, "Hoàn tác").await;
    assert_eq!(
        gopy.fake.member(group.id, an.id).map(|m| m.status),
        Some("member".to_owned())
    );
    let card = gopy.fake.messages_to(minh.id).remove(0);
    assert!(card.visible.contains("Đã bỏ hạn chế"), "{}", card.visible);
    assert!(card.buttons().is_empty(), "nothing more to press");

    // Ban, then undo: the author may join again.
    let post = gopy
        .fake
        .group_text_update(&an, &group, "thằng chó chủ tịch phường");
    gopy.handled(post).await;
    gopy.fake.wait_messages(minh.id, 2).await;
    gopy.press(&minh, "Cấm khỏi nhóm").await;
    assert_eq!(
        gopy.fake.member(group.id, an.id).map(|m| m.status),
        Some("kicked".to_owned())
    );
    gopy.press(&minh, "Hoàn tác").await;
    assert_eq!(
        gopy.fake.member(group.id, an.id).map(|m| m.status),
        Some("left".to_owned())
    );
    let actions: Vec<String> = store
        .moderation_log(50)
        .await
        .expect("log")
        .into_iter()
        .map(|l| l.action)
        .collect();
    for want in [
        "telegram.restrict",
        "telegram.unrestrict",
        "telegram.ban",
        "telegram.unban",
    ] {
        assert!(actions.iter().any(|a| a == want), "{want} in {actions:?}");
    }
    gopy.stop().await;
}
