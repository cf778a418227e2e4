//! Who may reach what in the console: every route of the console's route table is tried
//! anonymously, with a role that does not allow it, and (for routes about one unit's
//! announcement) by the right role outside the unit; every form is tried with a forged CSRF
//! token. Then an announcement is composed, submitted, approved by a second person and
//! scheduled, all over HTTP.

mod common;
mod console_support;

use common::TestDb;
use console_support::{Browser, Gopy};
use gopy::console::routes::{Access, routes};
use gopy::domain::Channel;
use gopy::store::announce::{Audience, BotMembership, BotStatus, GroupKind, Role};

const PW: &str = "Mật-khẩu-thử-nghiệm-1";

/// The users of these tests: name, roles, unit.
const USERS: [(&str, &[Role], Option<&str>); 6] = [
    ("quantri", &[Role::Admin], None),
    ("canbo", &[Role::Official], Some("tdp-1")),
    ("canbo2", &[Role::Official], Some("tdp-2")),
    ("lanhdao", &[Role::Approver], None),
    ("truongto", &[Role::UnitLead], Some("tdp-1")),
    ("kiemduyet", &[Role::Moderator], None),
];

async fn signed_in(gopy: &Gopy, name: &str) -> (Browser, String) {
    let mut b = Browser::new(&gopy.base);
    let a = b.login(name, PW).await;
    assert_eq!(a.status, 303, "{name} signs in: {}", a.body);
    let csrf = b.session_csrf().await;
    (b, csrf)
}

async fn with_users(db: TestDb) -> Gopy {
    let gopy = Gopy::start(db).await;
    for (name, roles, unit) in USERS {
        gopy.staff(name, roles, unit, PW).await;
    }
    gopy
}

async fn story_every_route_refuses_the_anonymous_the_wrong_role_and_the_wrong_unit(db: TestDb) {
    let gopy = with_users(db).await;
    // Announcement 1 is for tdp-1, written by its official.
    let b = gopy::announce::broadcast::create(
        gopy.store(),
        "canbo",
        "Kính mời bà con góp ý dự thảo.",
        Audience {
            units: vec!["tdp-1".to_owned()],
            subunits: false,
            groups: Vec::new(),
            residents: false,
        },
        None,
        chrono::Utc::now(),
    )
    .await
    .expect("a broadcast");
    assert_eq!(b.id, 1);

    let table = routes();
    assert!(table.len() >= 12, "{table:?}");
    let mut anon = Browser::new(&gopy.base);
    let mut tried_roles = 0;
    for r in &table {
        let answer = match r.method {
            "GET" => anon.get(r.example).await,
            _ => anon.post(r.example, &[("csrf", "x")]).await,
        };
        match r.access {
            Access::Public => {
                assert!(
                    answer.status < 500,
                    "{} {}: {}",
                    r.method,
                    r.example,
                    answer.status
                );
                continue;
            }
            _ => {
                assert_eq!(answer.status, 303, "anonymous {} {}", r.method, r.example);
                assert!(
                    answer
                        .location
                        .as_deref()
                        .is_some_and(|l| l.starts_with("/console/login")),
                    "anonymous {} {} → {:?}",
                    r.method,
                    r.example,
                    answer.location
                );
            }
        }
        let Access::Roles(allowed) = r.access else {
            continue;
        };
        // Everyone whose roles do not allow the route is refused, with a valid CSRF token.
        for (name, roles, _) in USERS {
            if roles.contains(&Role::Admin) || roles.iter().any(|x| allowed.contains(x)) {
                continue;
            }
            let (mut b, csrf) = signed_in(&gopy, name).await;
            let answer = match r.method {
                "GET" => b.get(r.example).await,
                _ => {
                    b.post(
                        r.example,
                        &[("csrf", &csrf), ("text", "x"), ("units", "tdp-1")],
                    )
                    .await
                }
            };
            assert_eq!(
                answer.status, 403,
                "{name} {} {}: {}",
                r.method, r.example, answer.body
            );
            assert!(answer.body.contains("không có quyền"), "{}", answer.body);
            tried_roles += 1;
        }
    }
    assert!(tried_roles >= 10, "{tried_roles}");

    // The right role outside the unit: the official and the unit lead of tdp-2 / tdp-1.
    let (mut other, csrf) = signed_in(&gopy, "canbo2").await;
    for (method, path) in [
        ("GET", "/console/broadcasts/1"),
        ("POST", "/console/broadcasts/1/submit"),
        ("POST", "/console/broadcasts/1/cancel"),
    ] {
        let a = match method {
            "GET" => other.get(path).await,
            _ => other.post(path, &[("csrf", &csrf)]).await,
        };
        assert_eq!(a.status, 403, "canbo2 {method} {path}");
        assert!(a.body.contains("ngoài phạm vi phụ trách"), "{}", a.body);
    }
    // The same for the campaign, synthesis and opinion tools: the ward's campaign is not
    // an official of one residential group's to change, nor another group's opinion.
    gopy.opinion("dan-tdp-1", Some("tdp-1"), 0, "Ý kiến của tổ 1.")
        .await;
    for (method, path) in [
        ("GET", "/console/campaigns/hoa-binh-dh-2025/edit"),
        ("POST", "/console/campaigns/hoa-binh-dh-2025/edit"),
        (
            "POST",
            "/console/campaigns/hoa-binh-dh-2025/synthesis/build",
        ),
        ("GET", "/console/campaigns/hoa-binh-dh-2025/groups"),
        ("POST", "/console/campaigns/hoa-binh-dh-2025/groups/merge"),
        (
            "GET",
            "/console/campaigns/hoa-binh-dh-2025/synthesis?unit=tdp-1",
        ),
        ("POST", "/console/opinions/RDAN-TDP-1/classify"),
    ] {
        let a = match method {
            "GET" => other.get(path).await,
            _ => {
                other
                    .post(
                        path,
                        &[
                            ("csrf", &csrf),
                            ("campaign", "hoa-binh-dh-2025"),
                            ("stance", "agree"),
                            ("format", "csv"),
                        ],
                    )
                    .await
            }
        };
        assert_eq!(a.status, 403, "canbo2 {method} {path}: {}", a.body);
        assert!(a.body.contains("ngoài phạm vi phụ trách"), "{}", a.body);
    }
    let list = other.get("/console/broadcasts").await;
    assert_eq!(list.status, 200);
    assert!(
        !list.body.contains("Kính mời bà con"),
        "another unit's announcement is not listed"
    );
    let (mut lead, _) = signed_in(&gopy, "truongto").await;
    let list = lead.get("/console/broadcasts").await;
    assert!(
        list.body.contains("Kính mời bà con"),
        "the unit's own lead sees it"
    );
    assert_eq!(
        gopy.store()
            .broadcast(1)
            .await
            .expect("read")
            .expect("there")
            .state
            .as_str(),
        "draft",
        "nothing the refused requests asked for happened"
    );

    // Every form refuses a forged CSRF token, even from an administrator.
    let (mut admin, _) = signed_in(&gopy, "quantri").await;
    for r in table
        .iter()
        .filter(|r| r.method == "POST" && r.access != Access::Public)
    {
        let a = admin
            .post(
                r.example,
                &[
                    ("csrf", "forged"),
                    ("text", "x"),
                    ("units", "tdp-1"),
                    ("intent", "save"),
                ],
            )
            .await;
        assert_eq!(a.status, 403, "forged CSRF on {}", r.example);
        assert!(a.body.contains("Biểu mẫu đã hết hạn"), "{}", a.body);
    }
    assert_eq!(
        gopy.store()
            .broadcast(1)
            .await
            .expect("read")
            .expect("there")
            .state
            .as_str(),
        "draft"
    );
    assert!(gopy.store().broadcast(2).await.expect("read").is_none());
    gopy.stop().await;
}

async fn story_an_announcement_is_composed_submitted_approved_by_another_and_scheduled(db: TestDb) {
    let gopy = with_users(db).await;
    let now = chrono::Utc::now();
    let group = gopy
        .store()
        .record_membership(
            &BotMembership {
                channel: Channel::Telegram,
                external_id: "-100501".to_owned(),
                kind: GroupKind::Supergroup,
                title: "Tổ dân phố 1".to_owned(),
                status: BotStatus::Administrator,
                can_delete: true,
                can_restrict: true,
            },
            None,
            now,
        )
        .await
        .expect("membership")
        .expect("a group");
    gopy.store()
        .bind_group(group.id, Some("tdp-1"), "test", None, now)
        .await
        .expect("bind")
        .expect("bound");
    let (mut official, csrf) = signed_in(&gopy, "canbo").await;
    let form = official.get("/console/broadcasts/new").await;
    assert_eq!(form.status, 200);
    assert!(
        form.body.contains("value=\"tdp-1\""),
        "the official's own unit is proposed"
    );
    let text = "Kính mời bà con Tổ dân phố 1 góp ý dự thảo văn kiện trước ngày 20/7.";
    let preview = official
        .post(
            "/console/broadcasts",
            &[
                ("csrf", &csrf),
                ("text", text),
                ("units", "tdp-1"),
                ("intent", "preview"),
            ],
        )
        .await;
    assert_eq!(preview.status, 200);
    let n = text.chars().count();
    assert!(
        preview
            .body
            .contains(&format!("Zalo: {n}&#x2f;2.000 ký tự")),
        "{}",
        preview.body
    );
    assert!(
        preview
            .body
            .contains(&format!("Telegram: {n}&#x2f;4.096 ký tự"))
    );
    assert!(
        gopy.store().broadcast(1).await.expect("read").is_none(),
        "a preview saves nothing"
    );

    // Another unit is outside the official's scope.
    let refused = official
        .post(
            "/console/broadcasts",
            &[
                ("csrf", &csrf),
                ("text", text),
                ("units", "tdp-2"),
                ("intent", "save"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(
        refused.body.contains("ngoài phạm vi phụ trách"),
        "{}",
        refused.body
    );

    let saved = official
        .post(
            "/console/broadcasts",
            &[
                ("csrf", &csrf),
                ("text", text),
                ("units", "tdp-1"),
                ("intent", "save"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert_eq!(saved.location.as_deref(), Some("/console/broadcasts/1"));
    let a = official
        .post("/console/broadcasts/1/submit", &[("csrf", &csrf)])
        .await;
    assert_eq!(a.status, 303);
    let page = official.get("/console/broadcasts/1").await;
    assert!(page.body.contains("Chờ phê duyệt"), "{}", page.body);
    assert!(
        !page.body.contains("/console/broadcasts/1/approve"),
        "no approve button for the author"
    );

    let (mut approver, acsrf) = signed_in(&gopy, "lanhdao").await;
    let page = approver.get("/console/broadcasts/1").await;
    assert!(page.body.contains("/console/broadcasts/1/approve"));
    let a = approver
        .post("/console/broadcasts/1/approve", &[("csrf", &acsrf)])
        .await;
    assert_eq!(a.status, 303, "{}", a.body);
    let b = gopy
        .store()
        .broadcast(1)
        .await
        .expect("read")
        .expect("there");
    assert_eq!(b.state.as_str(), "approved");

    // An edit after approval sends it back to the approver.
    let edited = format!("{text} Xin cảm ơn.");
    let a = official
        .post(
            "/console/broadcasts/1/edit",
            &[("csrf", &csrf), ("text", &edited)],
        )
        .await;
    assert_eq!(a.status, 303, "{}", a.body);
    let b = gopy
        .store()
        .broadcast(1)
        .await
        .expect("read")
        .expect("there");
    assert_eq!((b.state.as_str(), b.revision), ("submitted", 2));
    let early = official
        .post(
            "/console/broadcasts/1/schedule",
            &[("csrf", &csrf), ("when", "now")],
        )
        .await;
    assert_eq!(early.status, 422, "not approved again yet");
    let a = approver
        .post("/console/broadcasts/1/approve", &[("csrf", &acsrf)])
        .await;
    assert_eq!(a.status, 303);

    let bad = official
        .post(
            "/console/broadcasts/1/schedule",
            &[("csrf", &csrf), ("when", "at"), ("at", "ngày mai")],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("2026-11-22 07:00"), "{}", bad.body);
    let a = official
        .post(
            "/console/broadcasts/1/schedule",
            &[("csrf", &csrf), ("when", "now")],
        )
        .await;
    assert_eq!(a.status, 303, "{}", a.body);
    let b = gopy
        .store()
        .broadcast(1)
        .await
        .expect("read")
        .expect("there");
    assert_eq!(b.state.as_str(), "scheduled");
    assert_eq!(gopy.db.int("SELECT count(*) FROM deliveries").await, 1);
    let page = official.get("/console/broadcasts/1").await;
    assert!(page.body.contains("đang chờ 1"), "{}", page.body);

    // Each step is audited by its author, and the console adds where it came from.
    let actions = gopy
        .db
        .strings(
            "SELECT actor || ' ' || action FROM audit_log \
             WHERE action LIKE 'broadcast.%' ORDER BY id",
        )
        .await;
    assert_eq!(
        actions,
        vec![
            "canbo broadcast.create",
            "canbo broadcast.submit",
            "lanhdao broadcast.approve",
            "canbo broadcast.edit",
            "lanhdao broadcast.approve",
            "canbo broadcast.schedule"
        ]
    );
    let requests = gopy
        .db
        .strings("SELECT CAST(detail AS TEXT) FROM audit_log WHERE action = 'console.request'")
        .await;
    assert_eq!(requests.len(), 6, "{requests:?}");
    assert!(requests.iter().all(|d| d.contains("127.0.0.1")));
    gopy.stop().await;
}

#[tokio::test]
async fn sqlite_every_route_refuses_the_anonymous_the_wrong_role_and_the_wrong_unit() {
    story_every_route_refuses_the_anonymous_the_wrong_role_and_the_wrong_unit(
        TestDb::sqlite().await,
    )
    .await;
}

#[tokio::test]
#[cfg_attr(
    not(gopy_pg),
    ignore = "set TEST_DATABASE_URL to run the Postgres half"
)]
async fn postgres_every_route_refuses_the_anonymous_the_wrong_role_and_the_wrong_unit() {
    story_every_route_refuses_the_anonymous_the_wrong_role_and_the_wrong_unit(
        TestDb::postgres().await,
    )
    .await;
}

#[tokio::test]
async fn sqlite_an_announcement_is_composed_submitted_approved_by_another_and_scheduled() {
    story_an_announcement_is_composed_submitted_approved_by_another_and_scheduled(
        TestDb::sqlite().await,
    )
    .await;
}

#[tokio::test]
#[cfg_attr(
    not(gopy_pg),
    ignore = "set TEST_DATABASE_URL to run the Postgres half"
)]
async fn postgres_an_announcement_is_composed_submitted_approved_by_another_and_scheduled() {
    story_an_announcement_is_composed_submitted_approved_by_another_and_scheduled(
        TestDb::postgres().await,
    )
    .await;
}
