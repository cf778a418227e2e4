//! The moderation story every storage backend must pass (SQLite always, Postgres when
//! `TEST_DATABASE_URL` is set at build time): flagged opinions are queued once, a person
//! decides, a hidden opinion keeps its text and is counted as excluded with its reason, every
//! step is in the append-only moderation log, and the watch list queues what officials watch.
//! Also the `gopy moderation` commands end to end on SQLite.

mod common;

use std::process::{Command, Output};
use std::sync::Arc;

use chrono::Duration;

use common::{TestDb, gopy, now, sample_campaign, story};
use gopy::domain::{Channel, ContactKey, Locale, OpinionSource, OpinionStatus};
use gopy::moderation::{
    Category, DEFAULT_THRESHOLD, Decision, Detector, Lexicon, NewItem, OpinionState, OpinionToScan,
    Source, Status, Target, Verdict, rescreen_opinion, scan_campaign,
};
use gopy::store::{DecideOutcome, ItemFilter, NewOpinion, Report, Store};

story!(
    story_scan_queue_decide_and_exclude,
    sqlite_scan_queue_decide_and_exclude,
    postgres_scan_queue_decide_and_exclude
);
story!(
    story_group_posts_are_queued_by_chat_and_message,
    sqlite_group_posts_are_queued_by_chat_and_message,
    postgres_group_posts_are_queued_by_chat_and_message
);
story!(
    story_moderation_log_is_append_only,
    sqlite_moderation_log_is_append_only,
    postgres_moderation_log_is_append_only
);
story!(story_watch_list, sqlite_watch_list, postgres_watch_list);
story!(
    story_appeal_goes_to_another_moderator,
    sqlite_appeal_goes_to_another_moderator,
    postgres_appeal_goes_to_another_moderator
);
story!(
    story_reports_queue_a_post_at_the_threshold,
    sqlite_reports_queue_a_post_at_the_threshold,
    postgres_reports_queue_a_post_at_the_threshold
);
story!(
    story_an_edited_opinion_is_screened_again,
    sqlite_an_edited_opinion_is_screened_again,
    postgres_an_edited_opinion_is_screened_again
);
story!(
    story_an_opinion_edited_in_the_dialog_goes_back_to_the_queue,
    sqlite_an_opinion_edited_in_the_dialog_goes_back_to_the_queue,
    postgres_an_opinion_edited_in_the_dialog_goes_back_to_the_queue
);
story!(
    story_erased_author_leaves_the_item_and_its_text,
    sqlite_erased_author_leaves_the_item_and_its_text,
    postgres_erased_author_leaves_the_item_and_its_text
);

fn detector() -> Detector {
    Detector::new(
        Lexicon::built_in().expect("built-in lists"),
        DEFAULT_THRESHOLD,
    )
}

/// Stores and submits one opinion per text for one resident; returns the campaign, the
/// contact and the opinion ids in order.
async fn opinions(store: &Arc<dyn Store>, slug: &str, texts: &[&str]) -> (i64, i64, Vec<i64>) {
    let campaign = store
        .insert_campaign(&sample_campaign(slug, now()))
        .await
        .expect("campaign");
    let mut tx = store.begin().await.expect("begin");
    let key = ContactKey {
        channel: Channel::Telegram,
        external_id: format!("{slug}-resident"),
    };
    let contact = tx.contact(&key, Locale::Vi).await.expect("contact").id;
    let mut ids = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        let id = tx
            .insert_opinion(&NewOpinion {
                reference: format!("GY-{i}"),
                campaign_id: campaign,
                contact_id: Some(contact),
                topic: "do-thi".to_owned(),
                section: None,
                unit: Some("TDP-1".to_owned()),
                target_group: None,
                channel: Channel::Telegram,
                source: OpinionSource::Chat,
                anonymous: false,
                text: (*text).to_owned(),
                created_at: now(),
            })
            .await
            .expect("opinion");
        ids.push(id);
    }
    tx.submit_drafts(contact, campaign, "GY-RECEIPT", now())
        .await
        .expect("submit");
    tx.commit().await.expect("commit");
    (campaign, contact, ids)
}

/// Scans the campaign like `gopy moderation scan`: returns how many were queued.
async fn scan(store: &Arc<dyn Store>, campaign: i64) -> usize {
    scan_campaign(store.as_ref(), &detector(), campaign, now())
        .await
        .expect("scan")
        .queued
}

/// The item of a decision that must have been recorded.
trait Decided {
    fn decided(self) -> gopy::moderation::Item;
}

impl Decided for DecideOutcome {
    #[track_caller]
    fn decided(self) -> gopy::moderation::Item {
        match self {
            DecideOutcome::Decided(item) => *item,
            other => panic!("the decision was not recorded: {other:?}"),
        }
    }
}

fn queued() -> ItemFilter {
    ItemFilter {
        status: Some(Status::Queued),
        limit: 100,
    }
}

/// Two abusive opinions among ordinary criticism are queued, once; a moderator hides one
/// and keeps the other; the hidden one keeps its text and is counted as excluded with its
/// reason; a later decision undoes an earlier one; the log and the audit log record it all.
async fn story_scan_queue_decide_and_exclude(db: TestDb) {
    let store = &db.store;
    let texts = [
        "Dự thảo này chưa hợp lý, tôi không đồng ý với mục 3.",
        "Thằng chủ tịch ngu như bò, đm",
        "Đề nghị bổ sung kế hoạch nạo vét kênh trước mùa lũ.",
        "Gọi cho nó 0912345678 mà hỏi",
    ];
    let (campaign, contact, ids) = opinions(store, "kiem-duyet", &texts).await;

    assert_eq!(scan(store, campaign).await, 2);
    assert_eq!(
        scan(store, campaign).await,
        0,
        "a second scan queues nothing new"
    );

    let items = store.moderation_items(queued()).await.expect("queue");
    assert_eq!(items.len(), 2);
    let abuse = &items[0];
    assert_eq!(abuse.target, Target::Opinion { opinion_id: ids[1] });
    assert_eq!(abuse.text, texts[1], "the text is kept in full");
    assert_eq!(abuse.author, Some(contact));
    assert_eq!(store.author_flags(contact).await.expect("history"), 2);
    assert_eq!(
        store.author_flags(contact + 1000).await.expect("history"),
        0
    );
    assert_eq!(abuse.source, Source::Detector);
    assert!(
        abuse
            .categories
            .contains(&Category::Insult.as_str().to_owned())
    );
    assert!(abuse.score >= 3);
    assert!(
        abuse.highlighted().contains("[[đm]]"),
        "{}",
        abuse.highlighted()
    );
    let phone = &items[1];
    assert_eq!(phone.categories, [Category::PersonalData.as_str()]);
    assert_eq!(
        &phone.text[phone.matches[0].start..phone.matches[0].end],
        "0912345678"
    );

    // Both pending: stored, not counted.
    let states = store.opinion_moderation(campaign).await.expect("states");
    assert_eq!(states.len(), 2);
    assert!(states.iter().all(|s| s.state == OpinionState::Pending));
    assert!(states.iter().all(|s| !s.state.counts()));

    let later = now() + Duration::minutes(5);
    let upheld = store
        .decide(&Decision {
            item: abuse.id,
            verdict: Verdict::Uphold,
            by: "mod-lan".to_owned(),
            reason: "Lăng mạ cán bộ".to_owned(),
            at: later,
        })
        .await
        .expect("decide")
        .decided();
    assert_eq!(upheld.status, Status::Upheld);
    assert_eq!(
        upheld.decision,
        Some(("mod-lan".to_owned(), later, "Lăng mạ cán bộ".to_owned()))
    );
    store
        .decide(&Decision {
            item: phone.id,
            verdict: Verdict::Dismiss,
            by: "mod-lan".to_owned(),
            reason: "Số của cơ quan, công khai".to_owned(),
            at: later,
        })
        .await
        .expect("decide")
        .decided();
    let missing = store
        .decide(&Decision {
            item: 999_999,
            verdict: Verdict::Dismiss,
            by: "mod-lan".to_owned(),
            reason: "x".to_owned(),
            at: later,
        })
        .await
        .expect("decide");
    assert_eq!(missing, DecideOutcome::NotFound);

    let states = store.opinion_moderation(campaign).await.expect("states");
    let hidden = states
        .iter()
        .find(|s| s.opinion_id == ids[1])
        .expect("hidden");
    assert_eq!(hidden.state, OpinionState::Hidden);
    assert_eq!(hidden.reason.as_deref(), Some("Lăng mạ cán bộ"));
    let kept = states
        .iter()
        .find(|s| s.opinion_id == ids[3])
        .expect("kept");
    assert_eq!(kept.state, OpinionState::Kept);
    assert!(
        store
            .moderation_items(queued())
            .await
            .expect("queue")
            .is_empty()
    );

    // Nothing is deleted: the hidden opinion is still stored, submitted, with its text.
    let all = store.campaign_opinions(campaign).await.expect("opinions");
    assert_eq!(all.len(), 4);
    let o = all.iter().find(|o| o.id == ids[1]).expect("still stored");
    assert_eq!(o.text, texts[1]);
    assert_eq!(o.status, OpinionStatus::Submitted);

    // Undo: a second decision replaces the first; both stay in the log.
    let undone = store
        .decide(&Decision {
            item: abuse.id,
            verdict: Verdict::Dismiss,
            by: "mod-hoa".to_owned(),
            reason: "Xem lại: giữ, đã nhắc nhở".to_owned(),
            at: later + Duration::minutes(1),
        })
        .await
        .expect("decide")
        .decided();
    assert_eq!(undone.status, Status::Dismissed);
    let states = store.opinion_moderation(campaign).await.expect("states");
    assert!(states.iter().all(|s| s.state == OpinionState::Kept));

    let log = store.moderation_log(50).await.expect("log");
    let actions: Vec<(&str, &str)> = log
        .iter()
        .rev()
        .map(|e| (e.action.as_str(), e.actor.as_str()))
        .collect();
    assert_eq!(
        actions,
        [
            ("queued", "system"),
            ("queued", "system"),
            ("upheld", "mod-lan"),
            ("dismissed", "mod-lan"),
            ("dismissed", "mod-hoa"),
        ]
    );
    assert_eq!(log[0].item, Some(abuse.id));
    assert_eq!(log[0].detail["reason"], "Xem lại: giữ, đã nhắc nhở");
    assert!(
        !log.iter()
            .any(|e| e.detail.to_string().contains("kiem-duyet-resident")),
        "the log never names a resident"
    );

    let audit = store.audit_log(10).await.expect("audit");
    let audited: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        audited,
        [
            "moderation.dismissed",
            "moderation.dismissed",
            "moderation.upheld"
        ]
    );
    assert_eq!(
        db.int("SELECT count(*) FROM moderation_items").await,
        2,
        "one item per opinion, however often it is decided"
    );
}

/// A post in a group chat is named by channel, chat id and message id; the same post is
/// queued once; an item must name exactly one target.
async fn story_group_posts_are_queued_by_chat_and_message(db: TestDb) {
    let store = &db.store;
    let text = "Việc nhẹ lương cao, bấm vào link bit.ly/xyz";
    let a = detector().assess(text);
    assert!(a.flagged);
    let post = Target::GroupPost {
        channel: Channel::Telegram,
        chat_id: "-1001234567890".to_owned(),
        message_id: "42".to_owned(),
    };
    let item = NewItem::detected(post.clone(), text, None, &a, now());
    let id = store.queue_item(&item).await.expect("queue").expect("new");
    assert!(store.queue_item(&item).await.expect("queue").is_none());
    let other = NewItem::detected(
        Target::GroupPost {
            channel: Channel::Telegram,
            chat_id: "-1001234567890".to_owned(),
            message_id: "43".to_owned(),
        },
        text,
        None,
        &a,
        now(),
    );
    assert!(store.queue_item(&other).await.expect("queue").is_some());

    let stored = store
        .moderation_item(id)
        .await
        .expect("item")
        .expect("exists");
    assert_eq!(stored.target, post);
    assert_eq!(stored.categories, [Category::Scam.as_str()]);
    assert_eq!(stored.status, Status::Queued);
    assert!(stored.decision.is_none());

    // The schema itself refuses an item with two targets or none.
    assert!(
        db.execute(
            "INSERT INTO moderation_items (text, source, categories, score, matches, created_at) \
             VALUES ('x', 'detector', '', 0, '[]', '2025-01-01T00:00:00Z')"
        )
        .await
        .is_err()
    );
    assert!(
        db.execute(
            "INSERT INTO moderation_items (opinion_id, channel, chat_id, message_id, text, \
             source, categories, score, matches, created_at) VALUES (NULL, 'telegram', '1', \
             '2', 'x', 'robot', '', 0, '[]', '2025-01-01T00:00:00Z')"
        )
        .await
        .is_err(),
        "an unknown source is refused"
    );
}

/// No update or delete path exists for the moderation log, and the database refuses one.
async fn story_moderation_log_is_append_only(db: TestDb) {
    let store = &db.store;
    let a = detector().assess("đm");
    let item = NewItem::detected(
        Target::GroupPost {
            channel: Channel::Telegram,
            chat_id: "-1".to_owned(),
            message_id: "1".to_owned(),
        },
        "đm",
        None,
        &a,
        now(),
    );
    store.queue_item(&item).await.expect("queue");
    assert_eq!(db.int("SELECT count(*) FROM moderation_log").await, 1);
    assert!(
        db.execute("UPDATE moderation_log SET actor = 'someone else'")
            .await
            .is_err()
    );
    assert!(db.execute("DELETE FROM moderation_log").await.is_err());
    assert_eq!(db.int("SELECT count(*) FROM moderation_log").await, 1);
    assert_eq!(
        db.strings("SELECT actor FROM moderation_log").await,
        ["system"]
    );
}

/// Officials add and remove watch-list terms (normalised, so two spellings are one term);
/// a watched term queues an opinion that scores nothing; each change is logged and audited.
async fn story_watch_list(db: TestDb) {
    let store = &db.store;
    let term = gopy::text::normalize("Dự án Khu đô thị Hoà Bình").text();
    assert!(
        store
            .watch_add(&term, "Dự án Khu đô thị Hoà Bình", "cli:tester", now())
            .await
            .expect("add")
    );
    let same = gopy::text::normalize("dự án khu đô thị hòa bình").text();
    assert_eq!(same, term, "old and new tone placement are one term");
    assert!(
        !store
            .watch_add(&same, "dự án khu đô thị hòa bình", "cli:tester", now())
            .await
            .expect("add again")
    );
    let list = store.watch_list().await.expect("list");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].phrase, "Dự án Khu đô thị Hoà Bình");
    assert_eq!(list[0].added_by, "cli:tester");

    let (campaign, _, ids) = opinions(
        store,
        "theo-doi",
        &[
            "Tôi hỏi về dự án khu đô thị hòa bình đã đền bù chưa?",
            "Đường làng cần sửa.",
        ],
    )
    .await;
    assert_eq!(scan(store, campaign).await, 1);
    let items = store.moderation_items(queued()).await.expect("queue");
    assert_eq!(items[0].target, Target::Opinion { opinion_id: ids[0] });
    assert_eq!(items[0].categories, [Category::Watch.as_str()]);
    assert_eq!(items[0].score, 0);

    assert!(
        store
            .watch_remove(&term, "cli:tester", now())
            .await
            .expect("remove")
    );
    assert!(
        !store
            .watch_remove(&term, "cli:tester", now())
            .await
            .expect("again")
    );
    assert!(store.watch_list().await.expect("list").is_empty());
    let actions: Vec<String> = store
        .moderation_log(10)
        .await
        .expect("log")
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(actions, ["watch.remove", "queued", "watch.add"]);
    let audited: Vec<String> = store
        .audit_log(10)
        .await
        .expect("audit")
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(audited, ["moderation.watch.remove", "moderation.watch.add"]);
}

/// The author of a hidden opinion appeals once; the opinion is pending again; the moderator
/// who hid it may not decide it again, another may; the log records the appeal without naming
/// the author.
async fn story_appeal_goes_to_another_moderator(db: TestDb) {
    let store = &db.store;
    let (campaign, _, ids) = opinions(store, "khieu-nai", &["bọn cán bộ ngu như bò"]).await;
    assert_eq!(scan(store, campaign).await, 1);
    let item = store.moderation_items(queued()).await.expect("queue")[0].clone();
    assert!(
        store
            .appeal(item.id, "Tôi chỉ bức xúc", now())
            .await
            .expect("appeal")
            .is_none(),
        "only a hidden (upheld) item can be appealed"
    );
    let decision = |verdict, by: &str, at| Decision {
        item: item.id,
        verdict,
        by: by.to_owned(),
        reason: "Lăng mạ".to_owned(),
        at,
    };
    store
        .decide(&decision(Verdict::Uphold, "mod-lan", now()))
        .await
        .expect("decide")
        .decided();

    let appealed = store
        .appeal(
            item.id,
            "Tôi chỉ bức xúc, xin xem lại",
            now() + Duration::hours(1),
        )
        .await
        .expect("appeal")
        .expect("an upheld item can be appealed");
    assert_eq!(appealed.status, Status::Queued);
    assert_eq!(appealed.previous_moderator.as_deref(), Some("mod-lan"));
    assert_eq!(
        appealed.appeal.as_ref().map(|(t, _)| t.as_str()),
        Some("Tôi chỉ bức xúc, xin xem lại")
    );
    assert!(appealed.decision.is_none());
    let states = store.opinion_moderation(campaign).await.expect("states");
    assert_eq!(states[0].opinion_id, ids[0]);
    assert_eq!(states[0].state, OpinionState::Pending);
    assert!(
        store
            .appeal(item.id, "lần nữa", now())
            .await
            .expect("appeal")
            .is_none(),
        "one appeal per item"
    );

    let again = store
        .decide(&decision(
            Verdict::Uphold,
            "mod-lan",
            now() + Duration::hours(2),
        ))
        .await
        .expect("decide");
    assert_eq!(again, DecideOutcome::SameModeratorAfterAppeal);
    let other = store
        .decide(&decision(
            Verdict::Dismiss,
            "mod-hoa",
            now() + Duration::hours(2),
        ))
        .await
        .expect("decide")
        .decided();
    assert_eq!(other.status, Status::Dismissed);

    let log = store.moderation_log(10).await.expect("log");
    let actions: Vec<(&str, &str)> = log
        .iter()
        .rev()
        .map(|e| (e.action.as_str(), e.actor.as_str()))
        .collect();
    assert_eq!(
        actions,
        [
            ("queued", "system"),
            ("upheld", "mod-lan"),
            ("appealed", "author"),
            ("dismissed", "mod-hoa"),
        ]
    );
}

/// Distinct residents report a group post; the same person twice counts once; the third
/// distinct report queues the post (source `report`), later ones do not queue it again.
async fn story_reports_queue_a_post_at_the_threshold(db: TestDb) {
    let store = &db.store;
    let mut reporters = Vec::new();
    let mut tx = store.begin().await.expect("begin");
    for i in 0..4 {
        let key = ContactKey {
            channel: Channel::Telegram,
            external_id: format!("reporter-{i}"),
        };
        reporters.push(tx.contact(&key, Locale::Vi).await.expect("contact").id);
    }
    tx.commit().await.expect("commit");
    let post = Target::GroupPost {
        channel: Channel::Telegram,
        chat_id: "-100777".to_owned(),
        message_id: "9".to_owned(),
    };
    let report = |reporter| Report {
        post: post.clone(),
        text: "Tin đồn: mai cắt điện cả phường, ai cần thì liên hệ".to_owned(),
        author: None,
        reporter,
        reason: Some("tin sai".to_owned()),
        threshold: 3,
        at: now(),
    };
    let first = store.report(&report(reporters[0])).await.expect("report");
    assert!(first.counted);
    assert_eq!((first.reports, first.queued), (1, None));
    let twice = store.report(&report(reporters[0])).await.expect("report");
    assert!(!twice.counted, "one report per person per post");
    assert_eq!(twice.reports, 1);
    assert_eq!(
        store.report(&report(reporters[1])).await.expect("r").queued,
        None
    );
    let third = store.report(&report(reporters[2])).await.expect("report");
    assert_eq!(third.reports, 3);
    let id = third
        .queued
        .expect("the third distinct report queues the post");
    let fourth = store.report(&report(reporters[3])).await.expect("report");
    assert_eq!((fourth.reports, fourth.queued), (4, None));

    let item = store
        .moderation_item(id)
        .await
        .expect("item")
        .expect("exists");
    assert_eq!(item.target, post);
    assert_eq!(item.source, Source::Report);
    assert_eq!(item.status, Status::Queued);
    assert_eq!(db.int("SELECT count(*) FROM moderation_reports").await, 4);
    assert!(
        store
            .report(&Report {
                post: Target::Opinion { opinion_id: 1 },
                ..report(reporters[0])
            })
            .await
            .is_err(),
        "only group posts are reported"
    );
}

/// A resident who erases themselves is unlinked from the item; the item and its text stay.
async fn story_erased_author_leaves_the_item_and_its_text(db: TestDb) {
    let store = &db.store;
    let (campaign, contact, _) = opinions(store, "xoa", &["đm cái dự thảo"]).await;
    assert_eq!(scan(store, campaign).await, 1);
    let mut tx = store.begin().await.expect("begin");
    tx.erase_contact(contact, false, now())
        .await
        .expect("erase");
    tx.commit().await.expect("commit");
    let items = store.moderation_items(queued()).await.expect("queue");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].author, None);
    assert_eq!(items[0].text, "đm cái dự thảo");
}

fn out(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `gopy moderation scan|queue|decide|log|watch` end to end on an SQLite file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moderation_commands_scan_queue_decide_and_log() {
    let db = TestDb::sqlite().await;
    let (_, _, ids) = opinions(
        &db.store,
        "dong-lenh",
        &["Tôi không đồng ý với dự thảo.", "đ.m bọn cán bộ"],
    )
    .await;

    let o = gopy(&db.url, &["moderation", "watch", "add", "cầu Hoà Long"]);
    assert!(o.status.success(), "{}", out(&o));
    let o = gopy(&db.url, &["moderation", "watch", "list"]);
    assert!(out(&o).contains("cầu Hoà Long  (cli:tester"), "{}", out(&o));

    let o = gopy(&db.url, &["moderation", "scan", "--campaign", "dong-lenh"]);
    assert!(o.status.success(), "{}", out(&o));
    assert!(out(&o).contains("scanned 2, queued 1"), "{}", out(&o));

    let o = gopy(&db.url, &["moderation", "queue"]);
    let shown = out(&o);
    assert!(shown.contains("[[đ.m]]"), "{shown}");
    assert!(shown.contains(&format!("opinion {}", ids[1])), "{shown}");
    assert!(shown.contains("the author has 1 item(s) in all"), "{shown}");
    let id = shown
        .split_whitespace()
        .find_map(|w| w.strip_prefix('#'))
        .expect("an item id")
        .to_owned();

    let o = gopy(
        &db.url,
        &["moderation", "decide", &id, "uphold", "--reason", " "],
    );
    assert_eq!(
        o.status.code(),
        Some(65),
        "a reason is required: {}",
        out(&o)
    );
    let o = gopy(
        &db.url,
        &["moderation", "decide", &id, "uphold", "--reason", "Lăng mạ"],
    );
    assert!(o.status.success(), "{}", out(&o));
    assert!(out(&o).contains("cli:tester"), "{}", out(&o));
    let o = gopy(
        &db.url,
        &["moderation", "decide", "9999", "dismiss", "--reason", "x"],
    );
    assert_eq!(o.status.code(), Some(65), "{}", out(&o));

    let o = gopy(&db.url, &["moderation", "queue"]);
    assert!(out(&o).contains("nothing here"), "{}", out(&o));
    let o = gopy(&db.url, &["moderation", "queue", "--all"]);
    assert!(out(&o).contains("[upheld]"), "{}", out(&o));

    let o = gopy(&db.url, &["moderation", "log"]);
    let log = out(&o);
    assert!(log.contains("upheld") && log.contains("watch.add"), "{log}");

    let o = gopy(&db.url, &["moderation", "watch", "remove", "cầu hòa long"]);
    assert!(o.status.success(), "{}", out(&o));
    let o = gopy(&db.url, &["moderation", "scan", "--campaign", "khong-co"]);
    assert_eq!(o.status.code(), Some(65), "{}", out(&o));
}

/// `gopy moderation check` shows the verdict and the highlighted text without a database.
#[test]
fn moderation_check_highlights_what_matched() {
    let o = Command::new(env!("CARGO_BIN_EXE_gopy"))
        .args(["moderation", "check", "Thằng này ngu vãi, gọi 0912345678"])
        .env_remove("GOPY_MODERATION_DIR")
        .output()
        .expect("run gopy");
    let shown = out(&o);
    assert!(o.status.success(), "{shown}");
    assert!(shown.contains("queued for review"), "{shown}");
    assert!(shown.contains("[[0912345678]]"), "{shown}");
    let o = Command::new(env!("CARGO_BIN_EXE_gopy"))
        .args(["moderation", "check", "Dự thảo này chưa hợp lý"])
        .env_remove("GOPY_MODERATION_DIR")
        .output()
        .expect("run gopy");
    assert!(out(&o).contains("not flagged"), "{}", out(&o));
}

/// An opinion kept by a moderator goes back to the queue when its author edits abuse into it
/// (pending review again, with the new words); a clean edit changes nothing.
async fn story_an_edited_opinion_is_screened_again(db: TestDb) {
    let store = &db.store;
    let (campaign, contact, ids) = opinions(store, "sua-lai", &["đ.m cái đường này"]).await;
    assert_eq!(scan(store, campaign).await, 1);
    let item = store.moderation_items(queued()).await.expect("queue")[0].clone();
    store
        .decide(&Decision {
            item: item.id,
            verdict: Verdict::Dismiss,
            by: "minh".to_owned(),
            reason: "bức xúc, không nhắm vào ai".to_owned(),
            at: now(),
        })
        .await
        .expect("decide")
        .decided();
    let edit = |text: &str| OpinionToScan {
        opinion_id: ids[0],
        author: Some(contact),
        text: text.to_owned(),
    };
    let clean = rescreen_opinion(
        store.as_ref(),
        &detector(),
        &edit("Đường hỏng, đề nghị sửa"),
        now(),
    )
    .await
    .expect("rescreen");
    assert_eq!(clean, None, "a clean edit is not queued");
    let mut tx = store.begin().await.expect("begin");
    let abusive = "bọn cán bộ phường toàn lũ ăn hại, đm";
    assert!(
        tx.edit_opinion(contact, campaign, "GY-0", abusive, now())
            .await
            .expect("edit")
    );
    tx.commit().await.expect("commit");
    let again = rescreen_opinion(store.as_ref(), &detector(), &edit(abusive), now())
        .await
        .expect("rescreen");
    assert_eq!(again, Some(item.id), "the same item, back in the queue");
    let requeued = store
        .moderation_item(item.id)
        .await
        .expect("read")
        .expect("item");
    assert_eq!(requeued.status, Status::Queued);
    assert_eq!(requeued.text, abusive);
    assert_eq!(requeued.decision, None);
    let states = store.opinion_moderation(campaign).await.expect("states");
    assert_eq!(
        states[0].state,
        OpinionState::Pending,
        "not counted until kept"
    );
    let log = store.moderation_log(10).await.expect("log");
    assert_eq!(log[0].action, "requeued");
    assert_eq!(log[0].item, Some(item.id));
}

/// `gopy opinions export` leaves out opinions pending review and counts hidden ones as
/// excluded with their reason; what it held back is in the audit entry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_leaves_out_pending_opinions_and_counts_hidden_ones_with_reason() {
    let db = TestDb::sqlite().await;
    let (campaign, _, _) = opinions(
        &db.store,
        "xuat",
        &[
            "Tôi không đồng ý với dự thảo, cần làm lại phần giao thông.",
            "đ.m bọn cán bộ",
            "lũ chó má ăn hại",
        ],
    )
    .await;
    assert_eq!(scan(&db.store, campaign).await, 2);
    let first = db.store.moderation_items(queued()).await.expect("queue")[0].id;
    db.store
        .decide(&Decision {
            item: first,
            verdict: Verdict::Uphold,
            by: "minh".to_owned(),
            reason: "Lăng mạ".to_owned(),
            at: now(),
        })
        .await
        .expect("decide")
        .decided();
    let o = gopy(
        &db.url,
        &[
            "opinions",
            "export",
            "--campaign",
            "xuat",
            "--format",
            "json",
        ],
    );
    assert!(o.status.success(), "{}", out(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    let texts: Vec<&str> = v["opinions"]
        .as_array()
        .expect("opinions")
        .iter()
        .filter_map(|r| r["text"].as_str())
        .collect();
    assert_eq!(
        texts,
        ["Tôi không đồng ý với dự thảo, cần làm lại phần giao thông."]
    );
    assert_eq!(v["moderation"]["pending_review"], 1);
    assert_eq!(v["moderation"]["excluded"][0]["reason"], "Lăng mạ");
    assert!(out(&o).contains("1 pending review"), "{}", out(&o));
    let o = gopy(
        &db.url,
        &[
            "opinions",
            "export",
            "--campaign",
            "xuat",
            "--format",
            "csv",
        ],
    );
    let csv = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(!csv.contains("cán bộ") && !csv.contains("chó"), "{csv}");
    let audit = db.store.audit_log(1).await.expect("audit");
    assert_eq!(audit[0].detail["pending_review"], 1);
    assert_eq!(audit[0].detail["excluded"], 1);
}

/// A resident talking to the dialog shell as a channel would, pressing buttons by label.
struct Resident {
    dialogs: gopy::service::Dialogs,
    l10n: gopy::i18n::Localizer,
    key: ContactKey,
    updates: u64,
    last: Vec<gopy::dialog::Reply>,
}

impl Resident {
    async fn input(&mut self, input: gopy::dialog::Input) -> &[gopy::dialog::Reply] {
        self.updates += 1;
        let ev = gopy::service::Inbound {
            update_key: Some(format!("u{}", self.updates)),
            contact: self.key.clone(),
            identity: gopy::domain::Identity::default(),
            locale_hint: Some(Locale::Vi),
            input,
            has_buttons: true,
        };
        self.last = self.dialogs.handle(&ev).await.expect("a step");
        &self.last
    }

    async fn send(&mut self, text: &str) -> &[gopy::dialog::Reply] {
        self.input(gopy::dialog::Input::from_text(text)).await
    }

    async fn press(&mut self, label: &str) -> &[gopy::dialog::Reply] {
        let data = self
            .last
            .iter()
            .flat_map(|r| r.choices.iter())
            .find(|c| {
                self.l10n
                    .msg(Locale::Vi, &c.label, gopy::i18n::Markup::Plain)
                    .contains(label)
            })
            .map(|c| c.data.clone())
            .unwrap_or_else(|| panic!("no button {label:?} in {:#?}", self.last));
        self.input(gopy::dialog::Input::Button(data)).await
    }
}

/// An opinion given cleanly and then edited, through the dialog, into abuse is screened again
/// once the step commits: it goes to the queue and stops counting until a moderator keeps it.
async fn story_an_opinion_edited_in_the_dialog_goes_back_to_the_queue(db: TestDb) {
    let store = db.store.clone();
    let campaign = store
        .insert_campaign(&sample_campaign("sua-qua-hoi-thoai", now()))
        .await
        .expect("campaign");
    let (screener, task) = gopy::moderation::screener(detector());
    let shutdown = tokio_util::sync::CancellationToken::new();
    let screening = tokio::spawn(task.run(store.clone(), shutdown.clone()));
    let dialogs = gopy::service::Dialogs::new(store.clone(), gopy::service::system_clock())
        .await
        .expect("dialogs")
        .with_screener(screener);
    let mut r = Resident {
        dialogs,
        l10n: gopy::i18n::Localizer::new().expect("locales"),
        key: ContactKey {
            channel: Channel::Telegram,
            external_id: "5001".to_owned(),
        },
        updates: 0,
        last: Vec::new(),
    };
    r.send("/start").await;
    r.press("ẩn danh").await;
    r.press("Tổ dân phố 1").await;
    r.press("Bỏ qua").await;
    r.press("Không, cảm ơn").await;
    r.press("Chỉnh trang đô thị").await;
    r.send("Đường ngõ 7 cần được nâng cấp.").await;
    r.press("Về danh sách").await;
    r.press("Xem lại").await;
    r.press("Gửi ý kiến").await;
    r.send("/my").await;
    r.press("Đường ngõ 7").await;
    r.press("Sửa ý kiến").await;
    r.send("Đường ngõ 7 nát bét, đm bọn cán bộ ăn hại.").await;

    let opinion = store.campaign_opinions(campaign).await.expect("opinions")[0].id;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let item = loop {
        if let Some(item) = store
            .item_for(&Target::Opinion {
                opinion_id: opinion,
            })
            .await
            .expect("read")
        {
            break item;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the edit was not screened"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(item.status, Status::Queued);
    assert!(item.text.contains("đm bọn cán bộ"), "{}", item.text);
    let states = store.opinion_moderation(campaign).await.expect("states");
    assert_eq!(states[0].state, OpinionState::Pending);
    shutdown.cancel();
    screening.await.expect("the screening task stops");
}
