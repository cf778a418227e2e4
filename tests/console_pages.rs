//! The console's working pages over real HTTP: a moderator hides a flagged post (a reason is
//! required), an official searches opinions without accents and a unit lead sees only their
//! unit's, an administrator adds a staff user whose one-time password works once, and the
//! audit log shows it all.

mod common;
mod console_support;

use chrono::Utc;

use common::TestDb;
use console_support::{Browser, Gopy};
use gopy::domain::Channel;
use gopy::moderation::{NewItem, Source, Target};
use gopy::store::announce::Role;

const PW: &str = "Mật-khẩu-thử-nghiệm-1";

async fn signed_in(gopy: &Gopy, name: &str) -> (Browser, String) {
    let mut b = Browser::new(&gopy.base);
    let a = b.login(name, PW).await;
    assert_eq!(a.status, 303, "{name} signs in: {}", a.body);
    let csrf = b.session_csrf().await;
    (b, csrf)
}

/// Stores a submitted opinion of the demo campaign on its first topic.
async fn opinion(gopy: &Gopy, who: &str, unit: Option<&str>, text: &str) {
    gopy.opinion(who, unit, 0, text).await;
}

async fn story_pages(db: TestDb) {
    let gopy = Gopy::start(db).await;
    for (name, roles, unit) in [
        ("quantri", &[Role::Admin][..], None),
        ("canbo", &[Role::Official][..], None),
        ("truongto", &[Role::UnitLead][..], Some("tdp-1")),
        ("kiemduyet", &[Role::Moderator][..], None),
        ("kiemduyet2", &[Role::Moderator][..], Some("tdp-2")),
    ] {
        gopy.staff(name, roles, unit, PW).await;
    }

    // Moderation: a flagged post in a group, hidden with a reason.
    let item = gopy
        .store()
        .queue_item(&NewItem {
            target: Target::GroupPost {
                channel: Channel::Telegram,
                chat_id: "-100777".to_owned(),
                message_id: "42".to_owned(),
            },
            text: "Mua bán sim số đẹp, liên hệ ngay".to_owned(),
            author: None,
            source: Source::Report,
            categories: Vec::new(),
            score: 0,
            matches: Vec::new(),
            at: Utc::now(),
        })
        .await
        .expect("queue")
        .expect("queued");
    let (mut moderator, mcsrf) = signed_in(&gopy, "kiemduyet").await;
    let queue = moderator.get("/console/moderation").await;
    assert_eq!(queue.status, 200);
    assert!(queue.body.contains("Mua bán sim số đẹp"), "{}", queue.body);
    let path = format!("/console/moderation/{item}");
    let a = moderator
        .post(
            &path,
            &[("csrf", &mcsrf), ("verdict", "hide"), ("reason", "")],
        )
        .await;
    assert_eq!(a.status, 422);
    assert!(a.body.contains("ghi lý do"), "{}", a.body);
    // A moderator of another unit does not see or decide a post from a group bound to none.
    let (mut other, ocsrf) = signed_in(&gopy, "kiemduyet2").await;
    assert!(
        !other
            .get("/console/moderation")
            .await
            .body
            .contains("Mua bán sim")
    );
    let a = other
        .post(
            &path,
            &[("csrf", &ocsrf), ("verdict", "keep"), ("reason", "")],
        )
        .await;
    assert_eq!(a.status, 403);
    let a = moderator
        .post(
            &path,
            &[
                ("csrf", &mcsrf),
                ("verdict", "hide"),
                ("reason", "Quảng cáo, lừa đảo"),
            ],
        )
        .await;
    assert_eq!(a.status, 303, "{}", a.body);
    let decided = gopy
        .store()
        .moderation_item(item)
        .await
        .expect("read")
        .expect("there");
    assert_eq!(decided.status.as_str(), "upheld");
    let log = moderator.get("/console/moderation/log").await;
    assert!(
        log.body.contains("kiemduyet") && log.body.contains("upheld"),
        "{}",
        log.body
    );
    assert!(
        !moderator
            .get("/console/moderation")
            .await
            .body
            .contains("Mua bán sim")
    );

    // Opinions: searched without accents; a unit lead sees only their unit's.
    opinion(
        &gopy,
        "a",
        Some("tdp-1"),
        "Đồng ý với phương hướng phát triển kinh tế.",
    )
    .await;
    opinion(
        &gopy,
        "b",
        Some("tdp-2"),
        "Cần đồng bộ hạ tầng giao thông tổ 2.",
    )
    .await;
    opinion(&gopy, "c", None, "Ý kiến khác về quy hoạch.").await;
    let (mut official, _) = signed_in(&gopy, "canbo").await;
    let all = official.get("/console/opinions").await;
    assert_eq!(all.status, 200, "{}", all.body);
    assert!(all.body.contains("Tìm thấy 3 ý kiến"), "{}", all.body);
    let found = official.get("/console/opinions?q=dong+y").await;
    assert!(found.body.contains("Tìm thấy 1 ý kiến"), "{}", found.body);
    assert!(found.body.contains("Đồng ý với phương hướng"));
    let found = official.get("/console/opinions?q=%C4%90%E1%BB%92NG").await;
    assert!(
        found.body.contains("Tìm thấy 2 ý kiến"),
        "ĐỒNG finds đồng ý and đồng bộ: {}",
        found.body
    );
    // What a meeting said, recorded by an official: one opinion per paragraph.
    let (mut official, ocsrf2) = signed_in(&gopy, "canbo").await;
    let form = official.get("/console/opinions/new").await;
    assert_eq!(form.status, 200);
    let topic = gopy.store().campaigns().await.expect("campaigns")[0].topics[1]
        .code
        .clone();
    let a = official
        .post(
            "/console/opinions",
            &[
                ("csrf", &ocsrf2),
                ("campaign", "hoa-binh-dh-2025"),
                ("topic", &topic),
                ("unit", "tdp-2"),
                ("meeting", "Hội nghị Hội Cựu chiến binh, 15/7"),
                (
                    "text",
                    "Cần quan tâm chính sách cho cựu chiến binh.\n\nĐề nghị sửa đường liên tổ.",
                ),
            ],
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.body.contains("Đã lưu 2 ý kiến"), "{}", a.body);
    let met = official.get("/console/opinions?source=meeting").await;
    assert!(met.body.contains("Tìm thấy 2 ý kiến"), "{}", met.body);
    assert_eq!(
        gopy.db
            .int("SELECT count(*) FROM audit_log WHERE action = 'opinion.record'")
            .await,
        1
    );
    let (mut lead, _) = signed_in(&gopy, "truongto").await;
    let mine = lead.get("/console/opinions").await;
    assert!(mine.body.contains("Tìm thấy 1 ý kiến"), "{}", mine.body);
    assert!(mine.body.contains("Đồng ý với phương hướng"));
    assert!(!mine.body.contains("đồng bộ hạ tầng"));
    assert!(
        !mine.body.contains("/console/staff"),
        "no staff menu for a unit lead"
    );
    let home = lead.get("/console").await;
    assert!(
        home.body.contains("<svg"),
        "the overview draws its charts: {}",
        home.body
    );
    assert!(
        home.body.contains("1 ý kiến"),
        "the unit lead's overview counts their unit only"
    );

    // Staff: an administrator adds an approver, whose one-time password works once.
    let (mut admin, acsrf) = signed_in(&gopy, "quantri").await;
    let page = admin
        .post(
            "/console/staff",
            &[
                ("csrf", &acsrf),
                ("name", "pho-bi-thu"),
                ("role", "approver"),
                ("role", "official"),
                ("unit", ""),
            ],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let start = page
        .body
        .find("id=\"one-time-password\">")
        .expect("the password is shown")
        + 23;
    let otp = page.body[start..]
        .split('<')
        .next()
        .expect("password")
        .to_owned();
    assert_eq!(otp.len(), 14, "{otp}");
    let added = gopy
        .store()
        .staff_by_name("pho-bi-thu")
        .await
        .expect("read")
        .expect("added");
    assert_eq!(added.roles, vec![Role::Official, Role::Approver]);
    let mut newcomer = Browser::new(&gopy.base);
    let a = newcomer.login("pho-bi-thu", &otp).await;
    assert_eq!(a.location.as_deref(), Some("/console/password"));
    let dup = admin
        .post(
            "/console/staff",
            &[
                ("csrf", &acsrf),
                ("name", "pho-bi-thu"),
                ("role", "approver"),
            ],
        )
        .await;
    assert_eq!(dup.status, 422);
    assert!(dup.body.contains("Đã có cán bộ"));

    let audit = admin.get("/console/audit?action=console.").await;
    assert_eq!(audit.status, 200);
    assert!(
        audit.body.contains("console.password_issue"),
        "{}",
        audit.body
    );
    assert!(audit.body.contains("console.login"));
    let csv = admin.get("/console/audit.csv?action=console.login").await;
    assert_eq!(csv.status, 200);
    assert!(
        csv.body.starts_with("\u{feff}Thời gian / time,"),
        "{}",
        csv.body
    );
    assert!(csv.body.contains(",console.login,"));
    assert!(
        !csv.body.contains("console.password_issue"),
        "the filter applies"
    );
    assert_eq!(
        gopy.db
            .int("SELECT count(*) FROM audit_log WHERE action = 'audit.export'")
            .await,
        1,
        "the export is audited"
    );
    let audit = admin.get("/console/audit?actor=kiemduyet").await;
    assert!(
        audit.body.contains("upheld") || audit.body.contains("moderation"),
        "{}",
        audit.body
    );
    gopy.stop().await;
}

async fn story_campaigns_and_groups(db: TestDb) {
    let gopy = Gopy::start(db).await;
    gopy.staff("canbo", &[Role::Official], None, PW).await;
    gopy.staff("truongto", &[Role::UnitLead], Some("tdp-1"), PW)
        .await;
    let (mut official, csrf) = signed_in(&gopy, "canbo").await;

    let list = official.get("/console/campaigns").await;
    assert_eq!(list.status, 200);
    assert!(
        list.body.contains("/console/campaigns/hoa-binh-dh-2025"),
        "{}",
        list.body
    );
    let page = official.get("/console/campaigns/hoa-binh-dh-2025").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("Thông báo về xử lý dữ liệu cá nhân"),
        "the dialog preview"
    );
    assert!(
        page.body.contains("/y-kien/hoa-binh-dh-2025"),
        "the public page's link"
    );
    assert_eq!(
        official.get("/console/campaigns/khong-co").await.status,
        404
    );

    // A broken file is refused with where to fix it, and what was pasted is kept.
    let broken = "slug = \"x\"\ntitle = 5\n";
    let a = official
        .post("/console/campaigns", &[("csrf", &csrf), ("toml", broken)])
        .await;
    assert_eq!(a.status, 422);
    assert!(a.body.contains("chưa có gì được lưu"), "{}", a.body);
    assert!(a.body.contains("title = 5"), "what was pasted is kept");
    let demo = std::fs::read_to_string("examples/demo-campaign.toml").expect("demo file");
    let copy = demo.replacen("slug = \"hoa-binh-dh-2025\"", "slug = \"ban-sao\"", 1);
    let a = official
        .post("/console/campaigns", &[("csrf", &csrf), ("toml", &copy)])
        .await;
    assert_eq!(a.status, 303, "{}", a.body);
    assert_eq!(a.location.as_deref(), Some("/console/campaigns/ban-sao"));
    let again = official
        .post("/console/campaigns", &[("csrf", &csrf), ("toml", &copy)])
        .await;
    assert_eq!(again.status, 422);
    assert!(
        again.body.contains("Đã có đợt lấy ý kiến"),
        "{}",
        again.body
    );
    assert_eq!(
        gopy.db
            .int("SELECT count(*) FROM audit_log WHERE action = 'campaign.import'")
            .await,
        1
    );

    // Groups: the unit lead binds a pending group to their unit, not to another.
    let group = gopy
        .store()
        .record_membership(
            &gopy::store::announce::BotMembership {
                channel: Channel::Telegram,
                external_id: "-100600".to_owned(),
                kind: gopy::store::announce::GroupKind::Group,
                title: "Nhóm tổ 1".to_owned(),
                status: gopy::store::announce::BotStatus::Member,
                can_delete: false,
                can_restrict: false,
            },
            None,
            Utc::now(),
        )
        .await
        .expect("membership")
        .expect("group");
    let (mut lead, lcsrf) = signed_in(&gopy, "truongto").await;
    let page = lead.get("/console/groups").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("Nhóm tổ 1") && page.body.contains("Chờ gắn địa bàn"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("tdp-1") && !page.body.contains("tdp-2"),
        "only the lead's units"
    );
    let path = format!("/console/groups/{}/bind", group.id);
    let a = lead
        .post(&path, &[("csrf", &lcsrf), ("unit", "tdp-2")])
        .await;
    assert_eq!(a.status, 403);
    let a = lead
        .post(&path, &[("csrf", &lcsrf), ("unit", "tdp-1")])
        .await;
    assert_eq!(a.status, 303, "{}", a.body);
    let bound = gopy
        .store()
        .group(group.id)
        .await
        .expect("read")
        .expect("there");
    assert_eq!(bound.unit.as_deref(), Some("tdp-1"));
    assert_eq!(bound.state.as_str(), "bound");
    gopy.stop().await;
}

#[tokio::test]
async fn sqlite_campaigns_and_groups_pages() {
    story_campaigns_and_groups(TestDb::sqlite().await).await;
}

#[tokio::test]
#[cfg_attr(
    not(gopy_pg),
    ignore = "set TEST_DATABASE_URL to run the Postgres half"
)]
async fn postgres_campaigns_and_groups_pages() {
    story_campaigns_and_groups(TestDb::postgres().await).await;
}

#[tokio::test]
async fn sqlite_moderation_opinions_staff_and_audit_pages() {
    story_pages(TestDb::sqlite().await).await;
}

#[tokio::test]
#[cfg_attr(
    not(gopy_pg),
    ignore = "set TEST_DATABASE_URL to run the Postgres half"
)]
async fn postgres_moderation_opinions_staff_and_audit_pages() {
    story_pages(TestDb::postgres().await).await;
}
