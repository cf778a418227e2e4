//! Replies in a bound Telegram group become opinions, end to end: the whole gopy against the
//! fake Telegram Bot API over real HTTP. An official queues a campaign's thread (one post for
//! the campaign, one per topic) and the bot posts it; residents' replies to a topic's post are
//! stored under that topic and the group's unit (replies to the campaign's post as
//! unclassified), a reply to a reply under the same topic; an edit updates the opinion and
//! keeps the old text; an emoji, a sticker or "đồng ý" counts as an agreement, once per
//! resident per post, in the synthesis; the private notice goes once, and a resident the bot
//! cannot write to (403) is stored anonymously; the group sees one reaction per resident per
//! post, or one short reply, or nothing when silent. On SQLite and, when `TEST_DATABASE_URL`
//! is set at build time, on Postgres.

mod common;
mod fake_telegram;

use std::sync::Arc;
use std::time::Duration;

use gopy::config::Settings;
use gopy::domain::Channel;
use gopy::replies::AckMode;
use gopy::startup::Application;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use common::{TestDb, now, sample_campaign, story};
use fake_telegram::{FakeTelegram, Group, Resident, TOKEN};

story!(
    story_replies_to_a_thread_become_opinions_under_their_topic_with_chains_edits_and_agreements,
    sqlite_replies_to_a_thread_become_opinions_under_their_topic_with_chains_edits_and_agreements,
    postgres_replies_to_a_thread_become_opinions_under_their_topic_with_chains_edits_and_agreements
);
story!(
    story_the_notice_goes_once_and_a_resident_the_bot_cannot_write_to_is_stored_anonymously,
    sqlite_the_notice_goes_once_and_a_resident_the_bot_cannot_write_to_is_stored_anonymously,
    postgres_the_notice_goes_once_and_a_resident_the_bot_cannot_write_to_is_stored_anonymously
);
story!(
    story_an_abusive_reply_is_kept_but_waits_for_a_moderator_and_is_not_counted,
    sqlite_an_abusive_reply_is_kept_but_waits_for_a_moderator_and_is_not_counted,
    postgres_an_abusive_reply_is_kept_but_waits_for_a_moderator_and_is_not_counted
);
story!(
    story_acknowledgements_are_one_per_resident_per_post_and_a_silent_group_gets_none,
    sqlite_acknowledgements_are_one_per_resident_per_post_and_a_silent_group_gets_none,
    postgres_acknowledgements_are_one_per_resident_per_post_and_a_silent_group_gets_none
);

/// How long a thread of four posts may take: the group's rate is 20 messages a minute.
const THREAD_WAIT: Duration = Duration::from_secs(40);

/// gopy running against a fake Telegram until stopped.
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

    /// Pushes an update and waits until gopy handled it; returns the message id it carried.
    async fn handled(&self, update: Value) -> i64 {
        let message_id = update["message"]["message_id"]
            .as_i64()
            .or_else(|| update["edited_message"]["message_id"].as_i64())
            .unwrap_or_default();
        let id = self.fake.push(update);
        self.fake.wait_handled(id).await;
        message_id
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

/// A campaign, gopy running, a group bound to TDP-1 and the campaign's thread posted there;
/// returns the thread's message ids (campaign post, then the three topics').
async fn setup(db: &TestDb, group_id: i64) -> (Running, Group, Vec<i64>) {
    db.store
        .insert_campaign(&sample_campaign("bk-2026", now()))
        .await
        .expect("campaign");
    let gopy = Running::start(&db.url).await;
    let group = Group {
        id: group_id,
        title: "Tổ dân phố 1".to_owned(),
        supergroup: true,
    };
    let owner = Resident::new(9000, "Chủ nhóm");
    gopy.fake
        .push(gopy.fake.my_chat_member_update(&owner, &group));
    gopy.fake.wait_idle().await;
    let g = db
        .store
        .group_by_external(Channel::Telegram, &group.id.to_string())
        .await
        .expect("read")
        .expect("registered");
    db.store
        .bind_group(g.id, Some("TDP-1"), "cli:tester", None, now())
        .await
        .expect("bound");
    let queued = gopy::replies::cli::post_thread(
        db.store.as_ref(),
        "bk-2026",
        &group.id.to_string(),
        "cli:tester",
        now(),
    )
    .await
    .expect("thread queued");
    assert_eq!(queued.len(), 4);
    let posts = gopy
        .fake
        .wait_for_within("the thread's four posts", THREAD_WAIT, |f| {
            let m = f.messages_to(group.id);
            (m.len() >= 4).then_some(m)
        })
        .await;
    // Recorded with their message ids before the test goes on.
    wait_until(|| async {
        db.int("SELECT count(*) FROM group_posts WHERE state = 'sent'")
            .await
            == 4
    })
    .await;
    (gopy, group, posts.iter().map(|m| m.message_id).collect())
}

/// Waits (at most 15 s) until `probe` holds.
async fn wait_until<F, Fut>(probe: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !probe().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for the database"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn story_replies_to_a_thread_become_opinions_under_their_topic_with_chains_edits_and_agreements(
    db: TestDb,
) {
    let (gopy, group, posts) = setup(&db, -100_5001).await;
    let fake = &gopy.fake;
    let texts = fake.texts_to(group.id);
    // The campaign's post says replies are recorded and reported anonymously, and links to
    // the full dialog; each topic's post has its title, its section's summary and question.
    assert!(texts[0].contains("ẩn danh"), "{}", texts[0]);
    assert!(
        texts[0].contains("https://t.me/gopy_test_bot?start=bk-2026"),
        "{}",
        texts[0]
    );
    assert!(texts[1].contains("Chỉnh trang đô thị"), "{}", texts[1]);
    assert!(texts[1].contains("nâng cấp đường ngõ xóm"), "{}", texts[1]);
    assert!(
        texts[1].contains("cần ưu tiên nâng cấp những tuyến đường"),
        "{}",
        texts[1]
    );
    assert!(texts[3].contains("An ninh trật tự"), "{}", texts[3]);

    let an = Resident::new(7001, "An").language(Some("vi"));
    let binh = Resident::new(7002, "Bình").language(Some("vi"));
    let chi = Resident::new(7003, "Chi");
    let dung = Resident::new(7004, "Dũng");
    for r in [&an, &binh, &chi, &dung] {
        fake.add_chat(r.chat_json());
    }

    // A reply to the urban-planning post is an opinion under that topic, section and unit.
    let first = gopy
        .handled(fake.group_reply_update(
            &an,
            &group,
            posts[1],
            "Cần nâng cấp ngõ 5 đường Trường Chinh, mưa là ngập",
        ))
        .await;
    let row = db
        .strings(
            "SELECT topic_code || '|' || COALESCE(section_ref, '') || '|' || unit_code || '|' || \
             source || '|' || status || '|' || channel FROM opinions",
        )
        .await;
    assert_eq!(
        row,
        vec!["do-thi|II.3|TDP-1|group-reply|submitted|telegram".to_owned()]
    );
    // A reply to that reply is about the same topic.
    gopy.handled(fake.group_reply_update(&binh, &group, first, "Ngõ 7 cũng xuống cấp lâu rồi"))
        .await;
    // A reply to the campaign's own post is left for officials to classify.
    gopy.handled(fake.group_reply_update(
        &chi,
        &group,
        posts[0],
        "Đề nghị công khai tiến độ các công trình",
    ))
    .await;
    // Ordinary conversation is not recorded: a post, and a reply to that post.
    let chat = gopy
        .handled(fake.group_text_update(&dung, &group, "Tối nay họp tổ lúc 19h nhé"))
        .await;
    gopy.handled(fake.group_reply_update(&chi, &group, chat, "Vâng, tôi sẽ đến"))
        .await;
    let topics = db
        .strings("SELECT topic_code FROM opinions ORDER BY id")
        .await;
    assert_eq!(topics, vec!["do-thi", "do-thi", "unclassified"]);
    assert_eq!(db.int("SELECT count(*) FROM group_replies").await, 3);

    // An edit replaces the text and keeps the old one.
    gopy.handled(fake.group_edit_update(
        &an,
        &group,
        first,
        "Cần nâng cấp ngõ 5 và ngõ 9 đường Trường Chinh",
    ))
    .await;
    wait_until(|| async {
        db.strings("SELECT text FROM opinion_revisions").await
            == vec!["Cần nâng cấp ngõ 5 đường Trường Chinh, mưa là ngập".to_owned()]
    })
    .await;
    let text = db
        .strings("SELECT o.text FROM opinions o JOIN group_replies r ON r.opinion_id = o.id ORDER BY o.id LIMIT 1")
        .await;
    assert_eq!(text, vec!["Cần nâng cấp ngõ 5 và ngõ 9 đường Trường Chinh"]);

    // Agreements: an emoji, "đồng ý" from the same person to the same post (counted once), a
    // sticker on the campaign's post. None is an opinion.
    gopy.handled(fake.group_reply_update(&dung, &group, posts[2], "👍👍"))
        .await;
    gopy.handled(fake.group_reply_update(&dung, &group, posts[2], "Đồng ý ạ!"))
        .await;
    gopy.handled(fake.group_sticker_reply_update(&an, &group, posts[0]))
        .await;
    assert_eq!(db.int("SELECT count(*) FROM opinions").await, 3);
    assert_eq!(
        db.int("SELECT count(*) FROM group_replies WHERE agreement = TRUE")
            .await,
        3
    );
    let campaign = db.store.campaigns().await.expect("campaigns").remove(0);
    let agg = db
        .store
        .synthesis_aggregates(campaign.id, None)
        .await
        .expect("aggregates");
    assert_eq!(
        agg.agreements,
        vec![("moi-truong".to_owned(), 1), ("unclassified".to_owned(), 1)]
    );
    // Group replies count in the synthesis like any opinion (once moderation kept them).
    let report =
        gopy::synthesis::report::Synthesis::build(&campaign, None, &agg, gopy::domain::Locale::Vi);
    assert_eq!(report.agreements.len(), 2);
    assert!(
        report
            .agreements
            .iter()
            .any(|c| c.code == "unclassified" && c.name.contains("Chưa phân loại"))
    );

    // A redelivered update records nothing twice.
    let again = fake.group_reply_update(&chi, &group, posts[3], "Lắp thêm camera ở ngã ba");
    gopy.handled(again.clone()).await;
    gopy.handled(again).await;
    assert_eq!(
        db.int("SELECT count(*) FROM opinions WHERE topic_code = 'an-ninh'")
            .await,
        1
    );

    // A resident who withdraws from the notice: their replies no longer count.
    let (message, data) = fake
        .find_button(an.id, "Rút lại")
        .expect("the notice's withdraw button");
    let pressed = fake.press(&an, message, &data);
    fake.wait_handled(pressed.update_id).await;
    wait_until(|| async {
        db.int("SELECT count(*) FROM opinions WHERE status = 'withdrawn'")
            .await
            == 1
    })
    .await;
    let said = fake.texts_to(an.id);
    assert!(
        said.last()
            .is_some_and(|t| t.contains("Đã rút lại 1 ý kiến")),
        "{said:?}"
    );
    gopy.stop().await;
}

async fn story_the_notice_goes_once_and_a_resident_the_bot_cannot_write_to_is_stored_anonymously(
    db: TestDb,
) {
    let (gopy, group, posts) = setup(&db, -100_5002).await;
    let fake = &gopy.fake;
    // An started the bot before; Bình never did.
    let an = Resident::new(7101, "An").language(Some("vi"));
    let binh = Resident::new(7102, "Bình").language(Some("en"));
    fake.add_chat(an.chat_json());

    gopy.handled(fake.group_reply_update(&an, &group, posts[1], "Cần thêm đèn chiếu sáng ngõ 3"))
        .await;
    gopy.handled(fake.group_reply_update(&an, &group, posts[2], "Nên thu gom rác buổi tối"))
        .await;
    let notices = fake.messages_to(an.id);
    assert_eq!(notices.len(), 1, "one notice: {:?}", fake.texts_to(an.id));
    assert!(
        notices[0].visible.contains("Tổ dân phố 1"),
        "{}",
        notices[0].visible
    );
    assert!(
        notices[0]
            .visible
            .contains("https://t.me/gopy_test_bot?start=bk-2026"),
        "{}",
        notices[0].visible
    );
    let labels: Vec<String> = notices[0].buttons().into_iter().map(|b| b.text).collect();
    assert_eq!(labels, vec!["Giữ ý kiến", "Ẩn danh hoàn toàn", "Rút lại"]);
    assert_eq!(
        db.int("SELECT count(*) FROM opinions WHERE contact_id IS NOT NULL AND NOT anonymous")
            .await,
        2
    );

    // Telegram refuses a private message to Bình (403): their reply is stored anonymously.
    gopy.handled(fake.group_reply_update(&binh, &group, posts[1], "Đường ngõ 8 hay ngập"))
        .await;
    let refused: Vec<_> = fake
        .calls_to("sendMessage")
        .into_iter()
        .filter(|c| c.i64("chat_id") == Some(binh.id))
        .collect();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].status, 403);
    wait_until(|| async {
        db.int(
            "SELECT count(*) FROM opinions WHERE text = 'Đường ngõ 8 hay ngập' \
             AND contact_id IS NULL AND anonymous",
        )
        .await
            == 1
    })
    .await;
    // Their next reply is anonymous at once, and nobody tries to write to them again.
    gopy.handled(fake.group_reply_update(&binh, &group, posts[3], "Cần thêm tuần tra ban đêm"))
        .await;
    assert_eq!(
        db.int("SELECT count(*) FROM opinions WHERE contact_id IS NULL AND anonymous")
            .await,
        2
    );
    assert_eq!(
        fake.calls_to("sendMessage")
            .into_iter()
            .filter(|c| c.i64("chat_id") == Some(binh.id))
            .count(),
        1
    );

    // An chooses to be fully anonymous: the link to their account is cut, now and later.
    let pressed = fake.press_label(&an, "Ẩn danh hoàn toàn");
    fake.wait_handled(pressed.update_id).await;
    wait_until(|| async {
        db.int("SELECT count(*) FROM opinions WHERE contact_id IS NOT NULL")
            .await
            == 0
    })
    .await;
    gopy.handled(fake.group_reply_update(&an, &group, posts[3], "Lắp camera ở ngã ba"))
        .await;
    assert_eq!(
        db.int("SELECT count(*) FROM opinions WHERE contact_id IS NOT NULL")
            .await,
        0
    );
    assert_eq!(
        fake.messages_to(an.id).len(),
        2,
        "{:?}",
        fake.texts_to(an.id)
    );
    gopy.stop().await;
}

async fn story_acknowledgements_are_one_per_resident_per_post_and_a_silent_group_gets_none(
    db: TestDb,
) {
    let (gopy, group, posts) = setup(&db, -100_5003).await;
    let fake = &gopy.fake;
    let an = Resident::new(7201, "An");
    let binh = Resident::new(7202, "Bình");
    for r in [&an, &binh] {
        fake.add_chat(r.chat_json());
    }

    // By default a reaction, once per resident per post.
    let first = gopy
        .handled(fake.group_reply_update(&an, &group, posts[1], "Ý kiến thứ nhất"))
        .await;
    let second = gopy
        .handled(fake.group_reply_update(&an, &group, posts[1], "Ý kiến thứ hai"))
        .await;
    let other_post = gopy
        .handled(fake.group_reply_update(&an, &group, posts[2], "Ý kiến chủ đề khác"))
        .await;
    assert_eq!(fake.reactions(group.id, first), vec!["👍"]);
    assert!(fake.reactions(group.id, second).is_empty());
    assert_eq!(fake.reactions(group.id, other_post), vec!["👍"]);
    assert_eq!(
        fake.messages_to(group.id).len(),
        4,
        "no message added to the group"
    );

    // A group set to one short reply: once per resident per post, replying to the first.
    let g = db
        .store
        .group_by_external(Channel::Telegram, &group.id.to_string())
        .await
        .expect("read")
        .expect("group");
    db.store
        .set_ack_mode(g.id, AckMode::Reply, "cli:tester", now())
        .await
        .expect("set");
    let b1 = gopy
        .handled(fake.group_reply_update(&binh, &group, posts[3], "Cần tuần tra ban đêm"))
        .await;
    gopy.handled(fake.group_reply_update(&binh, &group, posts[3], "Và thêm đèn"))
        .await;
    let acks = fake
        .wait_for("the short acknowledgement", |f| {
            let m = f.messages_to(group.id);
            (m.len() >= 5).then_some(m)
        })
        .await;
    assert_eq!(acks.len(), 5, "{:?}", fake.texts_to(group.id));
    assert!(
        acks[4].visible.contains("Đã ghi nhận"),
        "{}",
        acks[4].visible
    );
    let replied_to = fake
        .calls_to("sendMessage")
        .into_iter()
        .filter(|c| c.i64("chat_id") == Some(group.id))
        .filter_map(|c| c.body.get("reply_parameters").cloned())
        .collect::<Vec<_>>();
    assert_eq!(replied_to.len(), 1, "{replied_to:?}");
    assert!(replied_to[0].to_string().contains(&b1.to_string()));

    // Silent: nothing at all, and the reply is still recorded.
    db.store
        .set_ack_mode(g.id, AckMode::Silent, "cli:tester", now())
        .await
        .expect("set");
    let quiet = gopy
        .handled(fake.group_reply_update(&binh, &group, posts[2], "Rác nên thu gom sớm hơn"))
        .await;
    assert!(fake.reactions(group.id, quiet).is_empty());
    assert_eq!(fake.messages_to(group.id).len(), 5);
    assert_eq!(db.int("SELECT count(*) FROM opinions").await, 6);
    // The setting changes are audited.
    assert_eq!(
        db.int("SELECT count(*) FROM audit_log WHERE action = 'replies.group.ack'")
            .await,
        2
    );
    gopy.stop().await;
}

async fn story_an_abusive_reply_is_kept_but_waits_for_a_moderator_and_is_not_counted(db: TestDb) {
    let (gopy, group, posts) = setup(&db, -100_5004).await;
    let fake = &gopy.fake;
    let an = Resident::new(7301, "An");
    fake.add_chat(an.chat_json());
    gopy.handled(fake.group_reply_update(&an, &group, posts[1], "đm bọn mày toàn lũ ăn hại"))
        .await;
    gopy.handled(fake.group_reply_update(&an, &group, posts[2], "Nên có thùng rác ở đầu ngõ"))
        .await;
    // The opinion is screened like a dialog's: queued for a moderator, stored, not counted
    // until kept; the other one counts.
    wait_until(|| async {
        db.int(
            "SELECT count(*) FROM synthesis_opinions s JOIN opinions o ON o.id = s.id \
             WHERE o.source = 'group-reply' AND s.exclusion = 'pending'",
        )
        .await
            == 1
    })
    .await;
    let counted = db
        .strings("SELECT text FROM synthesis_opinions WHERE exclusion IS NULL")
        .await;
    assert_eq!(counted, vec!["Nên có thùng rác ở đầu ngõ"]);
    let opinion_items = db
        .int(
            "SELECT count(*) FROM moderation_items i JOIN opinions o \
             ON i.opinion_id = o.id WHERE o.source = 'group-reply'",
        )
        .await;
    assert_eq!(opinion_items, 1);
    gopy.stop().await;
}

/// Voice notes, photos and documents replied in the group: kept beside the SQLite database
/// (`media/`), retrievable and transcribable by CLI, refused with a clear message when too
/// large or of a type gopy does not keep, gone with the resident when they erase themselves.
/// SQLite only: with Postgres the default folder is the working directory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_voice_notes_and_photos_replied_in_the_group_are_kept_retrievable_and_limited() {
    let db = TestDb::sqlite().await;
    let (gopy, group, posts) = setup(&db, -100_5005).await;
    let fake = &gopy.fake;
    let an = Resident::new(7401, "An").language(Some("vi"));
    fake.add_chat(an.chat_json());
    let voice: Vec<u8> = b"OggS\0voice note of An"
        .iter()
        .copied()
        .cycle()
        .take(4096)
        .collect();
    let photo: Vec<u8> = b"\xff\xd8\xff\xe0 flooded road"
        .iter()
        .copied()
        .cycle()
        .take(9000)
        .collect();

    // A voice note: an opinion with no text yet and the file kept.
    gopy.handled(fake.group_file_reply_update(
        &an,
        &group,
        posts[1],
        "voice",
        Some("audio/ogg"),
        &voice,
        None,
        None,
    ))
    .await;
    // A photo with a caption: the caption is the opinion's text.
    gopy.handled(fake.group_file_reply_update(
        &an,
        &group,
        posts[2],
        "photo",
        None,
        &photo,
        None,
        Some("Rác để ở đầu ngõ 5 mấy ngày chưa thu gom"),
    ))
    .await;
    let rows = db
        .strings(
            "SELECT o.topic_code || '|' || o.text || '|' || f.kind || '|' || f.mime_type \
             FROM opinion_files f JOIN opinions o ON o.id = f.opinion_id ORDER BY f.id",
        )
        .await;
    assert_eq!(
        rows,
        vec![
            "do-thi|[Tin nhắn thoại, chưa ghi lời]|voice|audio/ogg".to_owned(),
            "moi-truong|Rác để ở đầu ngõ 5 mấy ngày chưa thu gom|photo|image/jpeg".to_owned()
        ]
    );
    let media = std::path::Path::new(db.url.trim_start_matches("sqlite://"))
        .parent()
        .expect("the database folder")
        .join("media");
    assert_eq!(std::fs::read_dir(&media).expect("media folder").count(), 2);

    // Officials listen and transcribe by CLI; both are audited.
    let reference = db
        .strings("SELECT o.reference FROM opinions o JOIN opinion_files f ON f.opinion_id = o.id WHERE f.kind = 'voice'")
        .await
        .remove(0);
    let out = media.parent().expect("folder").join("nghe.ogg");
    let got = common::gopy(
        &db.url,
        &[
            "thread",
            "file",
            "--campaign",
            "bk-2026",
            &reference,
            "-o",
            &out.display().to_string(),
        ],
    );
    assert!(
        got.status.success(),
        "{}",
        String::from_utf8_lossy(&got.stderr)
    );
    assert_eq!(std::fs::read(&out).expect("written"), voice);
    let got = common::gopy(
        &db.url,
        &[
            "thread",
            "transcribe",
            "--campaign",
            "bk-2026",
            &reference,
            "Đề nghị sửa cống ngõ 5",
        ],
    );
    assert!(
        got.status.success(),
        "{}",
        String::from_utf8_lossy(&got.stderr)
    );
    // The opinion's text is now the transcription, marked; the placeholder is kept.
    let text = db
        .strings(&format!(
            "SELECT text FROM opinions WHERE reference = '{reference}'"
        ))
        .await;
    assert_eq!(
        text,
        vec!["[Ghi lời từ tin nhắn thoại] Đề nghị sửa cống ngõ 5"]
    );
    assert_eq!(
        db.strings("SELECT text FROM opinion_revisions").await,
        vec!["[Tin nhắn thoại, chưa ghi lời]"]
    );
    let shown = common::gopy(&db.url, &["thread", "show", "--campaign", "bk-2026"]);
    let shown = String::from_utf8_lossy(&shown.stdout).into_owned();
    assert!(shown.contains("Đề nghị sửa cống ngõ 5"), "{shown}");
    assert_eq!(
        db.int("SELECT count(*) FROM audit_log WHERE action IN ('replies.file.export', 'replies.file.transcribe')")
            .await,
        2
    );

    // Too large, or a type gopy does not keep: refused in the group, nothing stored.
    let big = gopy
        .handled(fake.group_file_reply_update(
            &an,
            &group,
            posts[3],
            "document",
            Some("application/pdf"),
            b"%PDF",
            Some(30 * 1024 * 1024),
            None,
        ))
        .await;
    let zip = gopy
        .handled(fake.group_file_reply_update(
            &an,
            &group,
            posts[3],
            "document",
            Some("application/zip"),
            b"PK\x03\x04",
            None,
            None,
        ))
        .await;
    let said = fake.texts_to(group.id);
    assert!(said.iter().any(|t| t.contains("lớn hơn 20 MB")), "{said:?}");
    assert!(
        said.iter()
            .any(|t| t.contains("Loại tệp này chưa được tiếp nhận")),
        "{said:?}"
    );
    let refusals: Vec<String> = fake
        .calls_to("sendMessage")
        .into_iter()
        .filter(|c| c.i64("chat_id") == Some(group.id))
        .filter_map(|c| c.body.get("reply_parameters").map(Value::to_string))
        .collect();
    assert!(
        refusals.iter().any(|r| r.contains(&big.to_string())),
        "{refusals:?}"
    );
    assert!(
        refusals.iter().any(|r| r.contains(&zip.to_string())),
        "{refusals:?}"
    );
    assert_eq!(db.int("SELECT count(*) FROM opinions").await, 2);

    // A resident who erases themselves takes their files with them (the sweeper then removes
    // what no row names).
    let contact = db
        .store
        .find_contact(&gopy::domain::ContactKey {
            channel: Channel::Telegram,
            external_id: an.id.to_string(),
        })
        .await
        .expect("read")
        .expect("contact");
    let mut tx = db.store.begin().await.expect("tx");
    tx.erase_contact(contact.id, false, now())
        .await
        .expect("erased");
    tx.commit().await.expect("committed");
    assert_eq!(db.int("SELECT count(*) FROM opinion_files").await, 0);
    assert!(db.store.file_keys().await.expect("keys").is_empty());
    assert_eq!(
        db.int("SELECT count(*) FROM opinions").await,
        2,
        "opinions stay, unlinked"
    );
    gopy.stop().await;
}

story!(
    story_a_report_due_goes_once_to_each_subscribed_official_for_their_scope,
    sqlite_a_report_due_goes_once_to_each_subscribed_official_for_their_scope,
    postgres_a_report_due_goes_once_to_each_subscribed_official_for_their_scope
);

/// A staff user linked to a Telegram account (whose private chat the bot may write to).
async fn official(
    db: &TestDb,
    fake: &FakeTelegram,
    who: &Resident,
    name: &str,
    unit: Option<&str>,
) {
    use gopy::store::announce::{LinkCode, NewStaff, Role};
    let code = format!("CODE{}", who.id);
    db.store
        .add_staff(
            &NewStaff {
                name: name.to_owned(),
                roles: vec![Role::Official],
                unit: unit.map(str::to_owned),
            },
            &LinkCode {
                code: code.clone(),
                expires_at: now() + chrono::Duration::hours(1),
            },
            "cli:tester",
            now(),
        )
        .await
        .expect("staff added");
    db.store
        .link_telegram(&code, who.id, None, now())
        .await
        .expect("linked");
    fake.add_chat(who.chat_json());
}

async fn story_a_report_due_goes_once_to_each_subscribed_official_for_their_scope(db: TestDb) {
    let (gopy, group, posts) = setup(&db, -100_5006).await;
    let fake = &gopy.fake;
    let lan = Resident::new(8101, "Lan");
    let minh = Resident::new(8102, "Minh");
    let tu = Resident::new(8103, "Tú");
    let vy = Resident::new(8104, "Vy");
    official(&db, fake, &lan, "lan", None).await;
    official(&db, fake, &minh, "minh", Some("TDP-1")).await;
    official(&db, fake, &tu, "tu", Some("TDP-2")).await;
    official(&db, fake, &vy, "vy", None).await;
    for name in ["lan", "minh", "tu"] {
        let got = common::gopy(
            &db.url,
            &[
                "reports",
                "subscribe",
                "--campaign",
                "bk-2026",
                "--staff",
                name,
            ],
        );
        assert!(
            got.status.success(),
            "{}",
            String::from_utf8_lossy(&got.stderr)
        );
    }
    let an = Resident::new(7501, "An");
    let dung = Resident::new(7502, "Dũng");
    fake.add_chat(an.chat_json());
    fake.add_chat(dung.chat_json());
    gopy.handled(fake.group_reply_update(&an, &group, posts[1], "Cần sửa cống ngõ 5"))
        .await;
    gopy.handled(fake.group_reply_update(&dung, &group, posts[2], "👍"))
        .await;

    // A report date that has just come (Vietnam time, by CLI).
    let due = (chrono::Utc::now() - chrono::Duration::minutes(1))
        .with_timezone(&chrono_tz::Asia::Ho_Chi_Minh)
        .format("%Y-%m-%d %H:%M")
        .to_string();
    let got = common::gopy(
        &db.url,
        &["reports", "date", "--campaign", "bk-2026", "--at", &due],
    );
    assert!(
        got.status.success(),
        "{}",
        String::from_utf8_lossy(&got.stderr)
    );

    for (who, scope, opinions) in [
        (&lan, "Lấy ý kiến Nhân dân", 1),
        (&minh, "Tổ dân phố 1", 1),
        (&tu, "Tổ dân phố 2", 0),
    ] {
        let report = fake
            .wait_for_within("a report", Duration::from_secs(20), |f| {
                f.texts_to(who.id)
                    .into_iter()
                    .find(|t| t.contains("Báo cáo tổng hợp ý kiến theo lịch"))
            })
            .await;
        assert!(report.contains(scope), "{report}");
        assert!(
            report.contains(&format!("Ý kiến được tính: {opinions}")),
            "{report}"
        );
        let file = fake
            .wait_for("the report's file", |f| {
                f.documents_to(who.id).into_iter().next()
            })
            .await;
        assert!(file.contains("Chỉnh trang đô thị"), "{file}");
    }
    let lan_report = fake.texts_to(lan.id).join("\n");
    assert!(
        lan_report.contains("ý kiến đồng tình trả lời trong nhóm: 1"),
        "{lan_report}"
    );
    // Not subscribed: nothing. And each date goes once.
    assert!(fake.texts_to(vy.id).is_empty());
    tokio::time::sleep(Duration::from_secs(5)).await;
    for who in [&lan, &minh, &tu] {
        assert_eq!(fake.documents_to(who.id).len(), 1);
    }
    let listed = common::gopy(&db.url, &["reports", "list", "--campaign", "bk-2026"]);
    assert!(String::from_utf8_lossy(&listed.stdout).contains("đã gửi"));
    gopy.stop().await;
}

story!(
    story_the_daily_digest_tells_each_lead_who_took_part_thin_topics_and_groups_not_reached,
    sqlite_the_daily_digest_tells_each_lead_who_took_part_thin_topics_and_groups_not_reached,
    postgres_the_daily_digest_tells_each_lead_who_took_part_thin_topics_and_groups_not_reached
);

async fn story_the_daily_digest_tells_each_lead_who_took_part_thin_topics_and_groups_not_reached(
    db: TestDb,
) {
    let (gopy, group, posts) = setup(&db, -100_5007).await;
    let fake = &gopy.fake;
    // A second group, bound to TDP-2, that no thread or broadcast reached.
    let other = Group {
        id: -100_5008,
        title: "Nhóm Tổ 2".to_owned(),
        supergroup: true,
    };
    let owner = Resident::new(9001, "Chủ nhóm 2");
    gopy.handled(fake.my_chat_member_update(&owner, &other))
        .await;
    let g = db
        .store
        .group_by_external(Channel::Telegram, &other.id.to_string())
        .await
        .expect("read")
        .expect("registered");
    db.store
        .bind_group(g.id, Some("TDP-2"), "cli:tester", None, now())
        .await
        .expect("bound");
    let lan = Resident::new(8201, "Lan");
    let minh = Resident::new(8202, "Minh");
    official(&db, fake, &lan, "lan", None).await;
    official(&db, fake, &minh, "minh", Some("TDP-1")).await;
    for name in ["lan", "minh"] {
        let got = common::gopy(
            &db.url,
            &[
                "reports",
                "subscribe",
                "--campaign",
                "bk-2026",
                "--staff",
                name,
            ],
        );
        assert!(
            got.status.success(),
            "{}",
            String::from_utf8_lossy(&got.stderr)
        );
    }
    let an = Resident::new(7601, "An");
    fake.add_chat(an.chat_json());
    gopy.handled(fake.group_reply_update(&an, &group, posts[1], "Cần sửa cống ngõ 5"))
        .await;

    let hour =
        chrono::Timelike::hour(&chrono::Utc::now().with_timezone(&chrono_tz::Asia::Ho_Chi_Minh))
            .to_string();
    let got = common::gopy(
        &db.url,
        &[
            "reports",
            "digest",
            "--campaign",
            "bk-2026",
            "--hour",
            &hour,
        ],
    );
    assert!(
        got.status.success(),
        "{}",
        String::from_utf8_lossy(&got.stderr)
    );
    let digest_of = |who: &Resident| {
        let id = who.id;
        async move {
            fake.wait_for_within("a digest", Duration::from_secs(20), |f| {
                f.texts_to(id)
                    .into_iter()
                    .find(|t| t.contains("Bản tin lấy ý kiến hằng ngày"))
            })
            .await
        }
    };
    let minh_digest = digest_of(&minh).await;
    assert!(
        minh_digest.contains("Phạm vi: Tổ dân phố 1"),
        "{minh_digest}"
    );
    assert!(
        minh_digest.contains("Người dân đã góp ý: 1 người"),
        "{minh_digest}"
    );
    assert!(
        minh_digest.contains("Vệ sinh môi trường (0)"),
        "{minh_digest}"
    );
    assert!(
        minh_digest.contains("Nhóm chưa nhận bài đăng, thông báo của đợt: không có"),
        "{minh_digest}"
    );
    let lan_digest = digest_of(&lan).await;
    assert!(lan_digest.contains("Nhóm Tổ 2"), "{lan_digest}");
    assert!(!lan_digest.contains("Tổ dân phố 1;"), "{lan_digest}");
    // Once a day.
    tokio::time::sleep(Duration::from_secs(5)).await;
    for who in [&lan, &minh] {
        let n = fake
            .texts_to(who.id)
            .iter()
            .filter(|t| t.contains("Bản tin lấy ý kiến hằng ngày"))
            .count();
        assert_eq!(n, 1);
    }
    gopy.stop().await;
}
