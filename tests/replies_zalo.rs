//! Replies in a bound Zalo group (Bot API) become opinions, end to end: the whole gopy against
//! the fake Zalo Bot API over real HTTP, in long-polling mode. An official queues a campaign's
//! thread for a Zalo group (`zalo:<id>`) and the bot posts it, its message ids recorded;
//! residents' replies and quotes (every shape clients report) of a topic's post are stored
//! under that topic and the group's unit, the mention of the bot left out; a reply to the
//! campaign's post is unclassified, a reply to a reply under the same topic; an emoji or
//! "đồng ý" is an agreement, counted once per resident per post; a mention that replies to
//! nothing is not an opinion; a redelivery records nothing twice; the private notice reaches
//! a resident who chatted with the bot (who then withdraws by typing "rút lại"), and the
//! replies of one the bot cannot write to are stored anonymously; the group gets one short
//! acknowledgement per resident per post. A photo reply is kept with its caption (SQLite).
//! On SQLite and, when `TEST_DATABASE_URL` is set at build time, on Postgres.

mod common;
mod fake_zalo;

use std::sync::Arc;
use std::time::Duration;

use gopy::config::{Settings, ZaloSettings};
use gopy::domain::Channel;
use gopy::startup::Application;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use common::{TestDb, now, sample_campaign, story};
use fake_zalo::{FakeZalo, Resident, TOKEN};

story!(
    story_replies_in_a_zalo_group_become_opinions_under_their_topic_with_notice_and_acks,
    sqlite_replies_in_a_zalo_group_become_opinions_under_their_topic_with_notice_and_acks,
    postgres_replies_in_a_zalo_group_become_opinions_under_their_topic_with_notice_and_acks
);

/// gopy running against a fake Zalo until stopped.
struct Running {
    fake: Arc<FakeZalo>,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Running {
    async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(15), self.task)
            .await
            .expect("gopy stops")
            .expect("no panic")
            .expect("clean stop");
    }
}

/// Waits (at most 20 s) until `probe` holds.
async fn wait_until<F, Fut>(what: &str, probe: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !probe().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A campaign, gopy on the fake Zalo, a Zalo group bound to TDP-1 and the campaign's thread
/// posted there; returns the thread's message ids (campaign post, then the three topics').
async fn setup(db: &TestDb, group: &str) -> (Running, Vec<String>) {
    db.store
        .insert_campaign(&sample_campaign("bk-2026", now()))
        .await
        .expect("campaign");
    let fake = Arc::new(FakeZalo::start().await);
    fake.set_can_join_groups(true);
    fake.set_private_only_after_chat(true);
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
    // Someone mentions the bot in the group: it is registered, then an official binds it.
    let owner = Resident::new(0x900, "Trưởng thôn");
    fake.push(fake.group_text_event(&owner, group, "@bot.GopyTest chào cả nhà"));
    fake.wait_idle().await;
    let g = db
        .store
        .group_by_external(Channel::Zalo, group)
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
        &format!("zalo:{group}"),
        "cli:tester",
        now(),
    )
    .await
    .expect("thread queued");
    assert_eq!(queued.len(), 4);
    let posts = fake
        .wait_for("the thread's four posts", |f| {
            let m = f.sent_to(group);
            (m.len() >= 4).then_some(m)
        })
        .await;
    wait_until("the posts' ids", || async {
        db.int("SELECT count(*) FROM group_posts WHERE state = 'sent'")
            .await
            == 4
    })
    .await;
    let ids = posts.iter().map(|m| m.message_id.clone()).collect();
    (
        Running {
            fake,
            shutdown,
            task,
        },
        ids,
    )
}

async fn story_replies_in_a_zalo_group_become_opinions_under_their_topic_with_notice_and_acks(
    db: TestDb,
) {
    let group = "7a1c2e3d4b5a69788899";
    let (gopy, posts) = setup(&db, group).await;
    let fake = &gopy.fake;
    let texts = fake.texts_to(group);
    // Plain text; the campaign's post says replies are recorded and reported anonymously, and
    // how to reach the private dialog; each topic's post has its title and question.
    assert!(texts[0].contains("ẩn danh"), "{}", texts[0]);
    assert!(texts[0].contains("/start bk-2026"), "{}", texts[0]);
    assert!(!texts[0].contains('<'), "{}", texts[0]);
    assert!(texts[1].contains("Chỉnh trang đô thị"), "{}", texts[1]);
    assert!(
        db.strings("SELECT message_id FROM group_posts ORDER BY id")
            .await
            == posts
    );

    // Lan and Dũng chatted with the bot before; Hoa and Bình never did.
    let lan = Resident::new(0x701, "Lan");
    let hoa = Resident::new(0x702, "Hoa");
    let binh = Resident::new(0x703, "Bình");
    let dung = Resident::new(0x704, "Dũng");
    // Dũng too: his agreements stay linked to him, so they are counted once per post (an
    // anonymous resident's agreements cannot be told apart).
    fake.send_text(&lan, "Xin chào");
    fake.send_text(&dung, "Xin chào");
    fake.wait_messages(&lan.id, 1).await;
    fake.wait_messages(&dung.id, 1).await;
    fake.wait_idle().await;
    let to_lan_before = fake.texts_to(&lan.id).len();

    // Hoa replies to the urban-planning post, mentioning the bot: an opinion under that
    // topic, section and unit, without the mention. Zalo will not let the bot write to her,
    // so the reply is stored anonymously.
    let first = fake.group_reply_event(
        &hoa,
        group,
        "text",
        &posts[1],
        "reply_to_message",
        json!({"text": "@bot.GopyTest Cần nâng cấp ngõ 5, mưa là ngập"}),
    );
    let first_id = first["message"]["message_id"]
        .as_str()
        .expect("id")
        .to_owned();
    fake.push(first.clone());
    fake.wait_idle().await;
    wait_until("Hoa's reply to be anonymous", || async {
        db.int(
            "SELECT count(*) FROM opinions WHERE contact_id IS NULL AND anonymous = TRUE \
             AND source = 'group-reply'",
        )
        .await
            == 1
    })
    .await;
    let row = db
        .strings(
            "SELECT topic_code || '|' || COALESCE(section_ref, '') || '|' || unit_code || '|' || \
             source || '|' || status || '|' || channel || '|' || text FROM opinions",
        )
        .await;
    assert_eq!(
        row,
        vec![
            "do-thi|II.3|TDP-1|group-reply|submitted|zalo|Cần nâng cấp ngõ 5, mưa là ngập"
                .to_owned()
        ]
    );
    assert_eq!(
        db.strings("SELECT state FROM group_reply_notices").await,
        vec!["unreachable".to_owned()]
    );
    // The group is told once, briefly.
    let acks = fake
        .wait_for("the acknowledgement", |f| {
            let t = f.texts_to(group);
            (t.len() >= 5).then_some(t)
        })
        .await;
    assert!(acks[4].contains("Đã ghi nhận"), "{acks:?}");

    // Bình replies to Hoa's reply (as an id alone): the same topic.
    fake.push(fake.group_reply_event(
        &binh,
        group,
        "text",
        &first_id,
        "reply_to_message_id",
        json!({"text": "Ngõ 7 cũng xuống cấp lâu rồi"}),
    ));
    // Lan quotes the campaign's post: unclassified, and her notice arrives.
    fake.push(fake.group_reply_event(
        &lan,
        group,
        "text",
        &posts[0],
        "quote",
        json!({"text": "Đề nghị công khai tiến độ các công trình"}),
    ));
    // A mention that replies to nothing is not an opinion.
    fake.push(fake.group_text_event(&dung, group, "@bot.GopyTest tối nay họp tổ nhé"));
    // Agreements: an emoji and "đồng ý" from Dũng to the same post (counted once).
    for text in ["👍👍", "@bot.GopyTest Đồng ý ạ!"] {
        fake.push(fake.group_reply_event(
            &dung,
            group,
            "text",
            &posts[2],
            "reply_to_message",
            json!({"text": text}),
        ));
    }
    // A redelivered reply records nothing twice.
    fake.push(first);
    fake.wait_idle().await;
    let notice = fake.wait_messages(&lan.id, to_lan_before + 1).await;
    assert!(
        notice
            .last()
            .is_some_and(|t| t.contains("GIỮ") && t.contains("RÚT")),
        "{notice:?}"
    );
    wait_until("the notices", || async {
        db.int("SELECT count(*) FROM group_reply_notices WHERE state <> 'pending'")
            .await
            == 4
    })
    .await;
    let topics = db
        .strings("SELECT topic_code FROM opinions ORDER BY id")
        .await;
    assert_eq!(topics, vec!["do-thi", "do-thi", "unclassified"]);
    assert_eq!(
        db.int("SELECT count(*) FROM opinions WHERE contact_id IS NOT NULL")
            .await,
        1,
        "only Lan, who could be told, is linked"
    );
    assert_eq!(
        db.int("SELECT count(*) FROM group_replies WHERE agreement = TRUE")
            .await,
        2
    );
    let campaign = db.store.campaigns().await.expect("campaigns").remove(0);
    let agg = db
        .store
        .synthesis_aggregates(campaign.id, None)
        .await
        .expect("aggregates");
    assert_eq!(agg.agreements, vec![("moi-truong".to_owned(), 1)]);
    // One acknowledgement per resident per post: Hoa, Bình, Lan, Dũng.
    wait_until("four acknowledgements", || async {
        fake.texts_to(group)
            .iter()
            .filter(|t| t.contains("Đã ghi nhận"))
            .count()
            == 4
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        fake.texts_to(group)
            .iter()
            .filter(|t| t.contains("Đã ghi nhận"))
            .count(),
        4
    );

    // Lan withdraws by typing her choice in private.
    fake.send_text(&lan, "rút lại");
    let said = fake.wait_messages(&lan.id, to_lan_before + 2).await;
    assert!(
        said.last()
            .is_some_and(|t| t.contains("Đã rút lại 1 ý kiến")),
        "{said:?}"
    );
    assert_eq!(
        db.int("SELECT count(*) FROM opinions WHERE status = 'withdrawn'")
            .await,
        1
    );
    gopy.stop().await;
}

/// A photo replied in a Zalo group: downloaded by the link Zalo gives, kept beside the SQLite
/// database with its caption as the opinion's text; a file of a type gopy does not keep is
/// refused in the group with a clear message and leaves nothing. SQLite only: with Postgres
/// the default folder is the working directory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_photo_replied_in_a_zalo_group_is_kept_with_its_caption_and_a_wrong_type_refused()
{
    let db = TestDb::sqlite().await;
    let group = "5b6c7d8e9f0a1b2c3d4e";
    let (gopy, posts) = setup(&db, group).await;
    let fake = &gopy.fake;
    let chi = Resident::new(0x801, "Chi");
    let photo: Vec<u8> = b"\xff\xd8\xff\xe0 flooded road"
        .iter()
        .copied()
        .cycle()
        .take(9000)
        .collect();
    let link = fake.host_file("ngap.jpg", photo.clone(), "image/jpeg");
    fake.push(fake.group_reply_event(
        &chi,
        group,
        "image",
        &posts[2],
        "reply_to_message",
        json!({"photo_url": link, "caption": "Rác để ở đầu ngõ 5 chưa thu gom"}),
    ));
    let gif = fake.host_file("x.gif", b"GIF89a".to_vec(), "image/gif");
    fake.push(fake.group_reply_event(
        &chi,
        group,
        "document",
        &posts[3],
        "quote",
        json!({"document": {"url": gif, "mime_type": "image/gif", "file_size": 6}}),
    ));
    fake.wait_idle().await;
    wait_until("the photo's opinion", || async {
        db.int("SELECT count(*) FROM opinion_files").await == 1
    })
    .await;
    let rows = db
        .strings(
            "SELECT o.topic_code || '|' || o.text || '|' || f.kind || '|' || f.mime_type || '|' \
             || f.size_bytes || '|' || o.channel FROM opinion_files f \
             JOIN opinions o ON o.id = f.opinion_id",
        )
        .await;
    assert_eq!(
        rows,
        vec!["moi-truong|Rác để ở đầu ngõ 5 chưa thu gom|photo|image/jpeg|9000|zalo".to_owned()]
    );
    let media = std::path::Path::new(db.url.trim_start_matches("sqlite://"))
        .parent()
        .expect("the database folder")
        .join("media");
    let kept: Vec<_> = std::fs::read_dir(&media)
        .expect("media folder")
        .map(|e| std::fs::read(e.expect("entry").path()).expect("read"))
        .collect();
    assert_eq!(kept, vec![photo]);
    let refused = fake
        .wait_for("the refusal", |f| {
            f.texts_to(group)
                .into_iter()
                .find(|t| t.contains("Loại tệp này chưa được tiếp nhận"))
        })
        .await;
    assert!(!refused.contains('<'), "{refused}");
    assert_eq!(db.int("SELECT count(*) FROM opinions").await, 1);
    gopy.stop().await;
}
