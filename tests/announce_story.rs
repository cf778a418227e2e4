//! Announcements against both storage backends: staff users and their link codes, groups the
//! bot is added to and removed from, bound and unbound by officials within their scope,
//! followed through a migration to a supergroup; every official action audited. Each story
//! runs on SQLite (always) and on Postgres (when `TEST_DATABASE_URL` is set at build time;
//! reported as ignored otherwise). The command line is run as the real binary at the end.

mod common;

use std::process::{Command, Output};
use std::sync::Arc;

use chrono::Duration;

use common::{TestDb, now, sample_campaign, story};
use gopy::announce::access::Refusal;
use gopy::announce::broadcast::{Action, BroadcastError, BroadcastRefusal, act, create};
use gopy::announce::groups::{GroupCommand, GroupCommandOutcome, group_command, link};
use gopy::domain::Channel;
use gopy::store::announce::{
    Audience, BotMembership, BotStatus, BroadcastState, DeliveryResult, GroupKind, GroupState,
    LinkCode, LinkOutcome, NewStaff, Role, Schedule,
};
use gopy::store::{Store, StoreError};

story!(
    story_staff_and_link_codes,
    sqlite_staff_and_link_codes,
    postgres_staff_and_link_codes
);
story!(
    story_group_life_cycle,
    sqlite_group_life_cycle,
    postgres_group_life_cycle
);
story!(
    story_group_migration,
    sqlite_group_migration,
    postgres_group_migration
);
story!(
    story_broadcast_approval_schedule_and_outbox,
    sqlite_broadcast_approval_schedule_and_outbox,
    postgres_broadcast_approval_schedule_and_outbox
);
story!(
    story_claims_share_one_rate_budget,
    sqlite_claims_share_one_rate_budget,
    postgres_claims_share_one_rate_budget
);
story!(
    story_slots_claimed_ahead_go_when_they_free_and_only_once,
    sqlite_slots_claimed_ahead_go_when_they_free_and_only_once,
    postgres_slots_claimed_ahead_go_when_they_free_and_only_once
);
story!(
    story_workers_never_claim_the_same_delivery,
    sqlite_workers_never_claim_the_same_delivery,
    postgres_workers_never_claim_the_same_delivery
);
story!(
    story_residents_who_asked_get_notices_in_private,
    sqlite_residents_who_asked_get_notices_in_private,
    postgres_residents_who_asked_get_notices_in_private
);
story!(
    story_reminders_go_once_to_groups_and_to_residents_who_have_not_sent,
    sqlite_reminders_go_once_to_groups_and_to_residents_who_have_not_sent,
    postgres_reminders_go_once_to_groups_and_to_residents_who_have_not_sent
);
story!(
    story_group_commands_respect_role_and_scope,
    sqlite_group_commands_respect_role_and_scope,
    postgres_group_commands_respect_role_and_scope
);

/// A store with the sample campaign's units (P-BK › TDP-1, TDP-2).
async fn with_units(db: &TestDb) -> Arc<dyn Store> {
    db.store
        .insert_campaign(&sample_campaign("bk-2026", now()))
        .await
        .expect("insert the sample campaign");
    db.store.clone()
}

fn staff(name: &str, roles: &[Role], unit: Option<&str>) -> NewStaff {
    NewStaff {
        name: name.to_owned(),
        roles: roles.to_vec(),
        unit: unit.map(str::to_owned),
    }
}

fn code(c: &str, valid_for: Duration) -> LinkCode {
    LinkCode {
        code: c.to_owned(),
        expires_at: now() + valid_for,
    }
}

fn added(chat: &str, status: BotStatus) -> BotMembership {
    BotMembership {
        channel: Channel::Telegram,
        external_id: chat.to_owned(),
        kind: GroupKind::Group,
        title: "Tổ dân phố 1 — thông tin".to_owned(),
        status,
        can_delete: false,
        can_restrict: false,
    }
}

/// The actions of the audit log, oldest first.
async fn audit_actions(store: &Arc<dyn Store>) -> Vec<(String, String)> {
    let mut log = store.audit_log(100).await.expect("audit log");
    log.reverse();
    log.into_iter().map(|e| (e.actor, e.action)).collect()
}

async fn story_staff_and_link_codes(db: TestDb) {
    let store = with_units(&db).await;
    let t = now();
    let lan = store
        .add_staff(
            &staff("lan", &[Role::Official, Role::Admin], Some("TDP-1")),
            &code("ABCD2345", Duration::hours(24)),
            "cli:tester",
            t,
        )
        .await
        .expect("add lan");
    assert_eq!(lan.roles, vec![Role::Admin, Role::Official]);
    assert_eq!(lan.unit.as_deref(), Some("TDP-1"));
    assert_eq!(lan.telegram_user_id, None);

    // Names are unique; a unit must exist.
    let again = store
        .add_staff(
            &staff("lan", &[Role::Approver], None),
            &code("ZZZZ2345", Duration::hours(1)),
            "cli:tester",
            t,
        )
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    let nowhere = store
        .add_staff(
            &staff("minh", &[Role::Approver], Some("NOWHERE")),
            &code("YYYY2345", Duration::hours(1)),
            "cli:tester",
            t,
        )
        .await;
    assert!(nowhere.is_err(), "a unit that does not exist is refused");

    // A wrong code, then the right one typed loosely, then the same code again.
    let wrong = link(&store, Channel::Telegram, "WRONG123", "777", Some("1"), t)
        .await
        .unwrap();
    assert_eq!(wrong, Some(LinkOutcome::Unknown));
    let linked = link(
        &store,
        Channel::Telegram,
        " abcd-2345 ",
        "777",
        Some("2"),
        t,
    )
    .await
    .unwrap();
    let Some(LinkOutcome::Linked(user)) = linked else {
        panic!("{linked:?}")
    };
    assert_eq!(user.name, "lan");
    assert_eq!(user.telegram_user_id, Some(777));
    assert!(user.linked_at.is_some());
    assert_eq!(
        link(&store, Channel::Telegram, "ABCD2345", "778", Some("3"), t)
            .await
            .unwrap(),
        Some(LinkOutcome::Unknown),
        "a code works once"
    );
    assert_eq!(
        link(&store, Channel::Telegram, "ABCD2345", "777", Some("2"), t)
            .await
            .unwrap(),
        None,
        "a redelivered update is not handled twice"
    );
    assert_eq!(
        store.staff_by_telegram(777).await.unwrap().map(|u| u.name),
        Some("lan".to_owned())
    );

    // An expired code is refused; a new one from the command line works.
    let minh = store
        .add_staff(
            &staff("minh", &[Role::Approver], None),
            &code("EXPD2345", Duration::seconds(-1)),
            "cli:tester",
            t,
        )
        .await
        .unwrap();
    assert_eq!(
        link(&store, Channel::Telegram, "EXPD2345", "900", Some("4"), t)
            .await
            .unwrap(),
        Some(LinkOutcome::Expired)
    );
    assert!(
        store
            .set_link_code(
                minh.id,
                &code("NEWC2345", Duration::hours(1)),
                "cli:tester",
                t
            )
            .await
            .unwrap()
    );
    // The Telegram account linked to lan moves to minh: one account speaks for one user.
    let Some(LinkOutcome::Linked(m)) =
        link(&store, Channel::Telegram, "NEWC2345", "777", Some("5"), t)
            .await
            .unwrap()
    else {
        panic!("minh links")
    };
    assert_eq!(m.name, "minh");
    let all = store.staff().await.unwrap();
    assert_eq!(
        all.iter()
            .map(|u| (u.name.as_str(), u.telegram_user_id))
            .collect::<Vec<_>>(),
        vec![("lan", None), ("minh", Some(777))]
    );

    assert_eq!(
        audit_actions(&store).await,
        [
            ("cli:tester".to_owned(), "staff.add".to_owned()),
            ("lan".to_owned(), "staff.link_telegram".to_owned()),
            ("cli:tester".to_owned(), "staff.add".to_owned()),
            ("cli:tester".to_owned(), "staff.link_code".to_owned()),
            ("minh".to_owned(), "staff.link_telegram".to_owned()),
        ]
    );
    // No password is ever set from here: the column waits for the console.
    assert_eq!(
        db.int("SELECT count(*) FROM staff_users WHERE password_hash IS NOT NULL")
            .await,
        0
    );
}

async fn story_group_life_cycle(db: TestDb) {
    let store = with_units(&db).await;
    let t = now();
    let g = store
        .record_membership(&added("-500", BotStatus::Member), Some("10"), t)
        .await
        .unwrap()
        .expect("recorded");
    assert_eq!(g.state, GroupState::Pending);
    assert_eq!(g.unit, None);
    assert_eq!(g.bot_status, BotStatus::Member);
    assert_eq!(
        store
            .record_membership(&added("-500", BotStatus::Member), Some("10"), t)
            .await
            .unwrap(),
        None,
        "a redelivered update is handled once"
    );

    // Promoted to admin with rights.
    let mut admin = added("-500", BotStatus::Administrator);
    admin.can_delete = true;
    admin.can_restrict = true;
    let g = store
        .record_membership(&admin, Some("11"), t)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (g.state, g.bot_status, g.can_delete, g.can_restrict),
        (GroupState::Pending, BotStatus::Administrator, true, true)
    );

    // Bound by the command line, renamed, then the bot is removed.
    let g = store
        .bind_group(g.id, Some("TDP-1"), "cli:tester", None, t)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (g.state, g.unit.as_deref()),
        (GroupState::Bound, Some("TDP-1"))
    );
    let g = store
        .record_title(Channel::Telegram, "-500", "Tổ 1 (mới)", Some("12"), t)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(g.title, "Tổ 1 (mới)");
    assert_eq!(g.state, GroupState::Bound);
    let g = store
        .record_membership(&added("-500", BotStatus::Kicked), Some("13"), t)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(g.state, GroupState::Inactive);
    assert_eq!(
        g.unit.as_deref(),
        Some("TDP-1"),
        "the binding is remembered"
    );
    // Binding an inactive group keeps it inactive: nothing can be sent there.
    let g = store
        .bind_group(g.id, Some("TDP-2"), "cli:tester", None, t)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(g.state, GroupState::Inactive);

    // Added again: pending, to be bound anew.
    let g = store
        .record_membership(&added("-500", BotStatus::Member), Some("14"), t)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((g.state, g.unit.as_deref()), (GroupState::Pending, None));
    let g = store
        .bind_group(g.id, Some("TDP-2"), "cli:tester", None, t)
        .await
        .unwrap()
        .unwrap();
    let g = store
        .bind_group(g.id, None, "cli:tester", None, t)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((g.state, g.unit.as_deref()), (GroupState::Pending, None));
    assert_eq!(store.groups().await.unwrap().len(), 1);

    let actions: Vec<String> = audit_actions(&store)
        .await
        .into_iter()
        .map(|(actor, action)| format!("{actor} {action}"))
        .collect();
    assert_eq!(
        actions,
        [
            "system group.added",
            "system group.rights",
            "cli:tester group.bind",
            "system group.title",
            "system group.removed",
            "cli:tester group.bind",
            "system group.added",
            "cli:tester group.bind",
            "cli:tester group.unbind",
        ]
    );
}

async fn story_group_migration(db: TestDb) {
    let store = with_units(&db).await;
    let t = now();
    let g = store
        .record_membership(&added("-600", BotStatus::Member), Some("20"), t)
        .await
        .unwrap()
        .unwrap();
    store
        .bind_group(g.id, Some("TDP-1"), "cli:tester", None, t)
        .await
        .unwrap();

    // The group becomes a supergroup: same row, new id, still bound.
    let m = store
        .record_migration(Channel::Telegram, "-600", "-100600", Some("21"), t)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.id, g.id);
    assert_eq!(m.external_id, "-100600");
    assert_eq!(m.migrated_from.as_deref(), Some("-600"));
    assert_eq!(m.kind, GroupKind::Supergroup);
    assert_eq!(
        (m.state, m.unit.as_deref()),
        (GroupState::Bound, Some("TDP-1"))
    );
    // The same migration told from the new chat changes nothing; the old id still finds it.
    let again = store
        .record_migration(Channel::Telegram, "-600", "-100600", Some("22"), t)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again, m);
    let by_old = store
        .group_by_external(Channel::Telegram, "-600")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_old.id, g.id);
    // A late membership update about the old chat does not make a second row.
    store
        .record_membership(&added("-600", BotStatus::Left), Some("23"), t)
        .await
        .unwrap();
    assert_eq!(store.groups().await.unwrap().len(), 1);
    assert_eq!(
        store.group(g.id).await.unwrap().unwrap().state,
        GroupState::Bound
    );

    // When the new supergroup was seen before the migration, it takes the old binding.
    let old = store
        .record_membership(&added("-700", BotStatus::Member), Some("24"), t)
        .await
        .unwrap()
        .unwrap();
    store
        .bind_group(old.id, Some("TDP-2"), "cli:tester", None, t)
        .await
        .unwrap();
    let mut sg = added("-100700", BotStatus::Member);
    sg.kind = GroupKind::Supergroup;
    let new = store
        .record_membership(&sg, Some("25"), t)
        .await
        .unwrap()
        .unwrap();
    let merged = store
        .record_migration(Channel::Telegram, "-700", "-100700", Some("26"), t)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(merged.id, new.id);
    assert_eq!(
        (merged.state, merged.unit.as_deref()),
        (GroupState::Bound, Some("TDP-2"))
    );
    let left = store.group(old.id).await.unwrap().unwrap();
    assert_eq!(left.state, GroupState::Inactive);
    assert_eq!(left.migrated_to.as_deref(), Some("-100700"));
    // Unknown chats: nothing happens.
    assert_eq!(
        store
            .record_migration(Channel::Telegram, "-1", "-1001", Some("27"), t)
            .await
            .unwrap(),
        None
    );
}

async fn story_group_commands_respect_role_and_scope(db: TestDb) {
    let store = with_units(&db).await;
    let t = now();
    let link_as =
        |name: &'static str, roles: &'static [Role], unit: Option<&'static str>, user: i64| {
            let store = store.clone();
            async move {
                let c = format!("{:0>8}", user);
                store
                    .add_staff(
                        &staff(name, roles, unit),
                        &code(&c, Duration::hours(1)),
                        "cli:tester",
                        t,
                    )
                    .await
                    .unwrap();
                link(&store, Channel::Telegram, &c, &user.to_string(), None, t)
                    .await
                    .unwrap();
            }
        };
    link_as("lead1", &[Role::UnitLead], Some("TDP-1"), 101).await;
    link_as("approver", &[Role::Approver], None, 102).await;
    store
        .record_membership(&added("-800", BotStatus::Member), None, t)
        .await
        .unwrap();
    let cmd = |user: i64, unit: Option<&str>, update: &str| GroupCommand {
        channel: Channel::Telegram,
        chat: "-800".to_owned(),
        user: user.to_string(),
        unit: unit.map(str::to_owned),
        update: Some(update.to_owned()),
    };

    let run = |c: GroupCommand| {
        let store = store.clone();
        async move { group_command(&store, &c, t).await.unwrap() }
    };
    assert_eq!(
        run(cmd(999, Some("TDP-1"), "30")).await,
        GroupCommandOutcome::NotStaff
    );
    assert_eq!(
        run(cmd(102, Some("TDP-1"), "31")).await,
        GroupCommandOutcome::Refused(Refusal::Role)
    );
    assert_eq!(
        run(cmd(101, Some("TDP-2"), "32")).await,
        GroupCommandOutcome::Refused(Refusal::Scope)
    );
    assert_eq!(
        run(cmd(101, Some("TDP-9"), "33")).await,
        GroupCommandOutcome::UnknownUnit("TDP-9".to_owned())
    );
    assert_eq!(
        run(cmd(101, Some(""), "34")).await,
        GroupCommandOutcome::MissingUnit
    );
    let GroupCommandOutcome::Bound(g, code, name) = run(cmd(101, Some("tdp-1"), "35")).await else {
        panic!("lead1 binds in scope")
    };
    assert_eq!((code.as_str(), name.as_str()), ("TDP-1", "Tổ dân phố 1"));
    assert_eq!(g.state, GroupState::Bound);
    assert_eq!(
        run(cmd(101, Some("TDP-1"), "35")).await,
        GroupCommandOutcome::Redelivered
    );
    let GroupCommandOutcome::Unbound(g) = run(cmd(101, None, "36")).await else {
        panic!("lead1 unbinds")
    };
    assert_eq!(g.state, GroupState::Pending);
    let mut other = cmd(101, None, "37");
    other.chat = "-999".to_owned();
    assert_eq!(run(other).await, GroupCommandOutcome::UnknownGroup);

    let log = store.audit_log(10).await.unwrap();
    assert_eq!(
        (log[0].actor.as_str(), log[0].action.as_str()),
        ("lead1", "group.unbind")
    );
    assert_eq!(
        (log[1].actor.as_str(), log[1].action.as_str()),
        ("lead1", "group.bind")
    );
    assert_eq!(log[1].detail["unit"], "TDP-1");
}

/// Runs `gopy ARGS` on the database at `url`, as OS user `tester`.
fn gopy(url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gopy"))
        .args(args)
        .env("DATABASE_URL", url)
        .env("GOPY_DEMO", "off")
        .env("USER", "tester")
        .env_remove("TELEGRAM_BOT_TOKEN")
        .output()
        .expect("run the gopy binary")
}

fn text(b: &[u8]) -> String {
    String::from_utf8(b.to_vec()).expect("UTF-8")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_staff_and_groups_commands_add_list_bind_and_unbind() {
    let db = TestDb::sqlite().await;
    let store = with_units(&db).await;
    let out = gopy(
        &db.url,
        &[
            "staff",
            "add",
            "--name",
            "lan",
            "--role",
            "official,unit-lead",
            "--unit",
            "TDP-1",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let printed = text(&out.stdout);
    let code = printed
        .split("/link ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .expect("the link code is printed")
        .to_owned();
    assert_eq!(code.len(), 8);
    let listed = text(&gopy(&db.url, &["staff", "list"]).stdout);
    assert!(
        listed.contains("lan\tofficial,unit_lead\tTDP-1\tchưa liên kết"),
        "{listed}"
    );
    let bad_role = gopy(&db.url, &["staff", "add", "--name", "x", "--role", "king"]);
    assert!(!bad_role.status.success());
    let bad_unit = gopy(
        &db.url,
        &[
            "staff", "add", "--name", "x", "--role", "admin", "--unit", "NO",
        ],
    );
    assert_eq!(bad_unit.status.code(), Some(65));

    store
        .record_membership(&added("-100900", BotStatus::Member), None, now())
        .await
        .unwrap();
    let out = gopy(&db.url, &["groups", "bind", "-100900", "TDP-2"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listed = text(&gopy(&db.url, &["groups", "list"]).stdout);
    assert!(
        listed.contains("-100900\tgroup\tbound\tTDP-2\tmember"),
        "{listed}"
    );
    let out = gopy(&db.url, &["groups", "unbind", "1"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listed = text(&gopy(&db.url, &["groups", "list"]).stdout);
    assert!(listed.contains("\tpending\t-\t"), "{listed}");
    assert_eq!(
        gopy(&db.url, &["groups", "bind", "7", "TDP-2"])
            .status
            .code(),
        Some(65)
    );
    assert_eq!(
        gopy(&db.url, &["groups", "bind", "1", "TDP-9"])
            .status
            .code(),
        Some(65)
    );

    let actions: Vec<(String, String)> = audit_actions(&store).await;
    assert!(actions.contains(&("cli:tester".to_owned(), "staff.add".to_owned())));
    assert!(actions.contains(&("cli:tester".to_owned(), "group.bind".to_owned())));
    assert!(actions.contains(&("cli:tester".to_owned(), "group.unbind".to_owned())));
}

/// Staff for the broadcast stories: lan writes for TDP-1, minh approves everywhere, hoa
/// approves TDP-2 only.
async fn broadcast_staff(store: &Arc<dyn Store>) {
    for (i, (name, roles, unit)) in [
        ("lan", &[Role::Official][..], Some("TDP-1")),
        ("minh", &[Role::Approver][..], None),
        ("hoa", &[Role::Approver][..], Some("TDP-2")),
    ]
    .into_iter()
    .enumerate()
    {
        store
            .add_staff(
                &staff(name, roles, unit),
                &code(&format!("CODE000{i}"), Duration::hours(1)),
                "cli:tester",
                now(),
            )
            .await
            .unwrap();
    }
}

/// A group bound to a unit; returns its id.
async fn bound_group(store: &Arc<dyn Store>, chat: &str, unit: &str) -> i64 {
    let g = store
        .record_membership(&added(chat, BotStatus::Member), None, now())
        .await
        .unwrap()
        .unwrap();
    store
        .bind_group(g.id, Some(unit), "cli:tester", None, now())
        .await
        .unwrap();
    g.id
}

fn to_units(units: &[&str], subunits: bool) -> Audience {
    Audience {
        units: units.iter().map(|u| (*u).to_owned()).collect(),
        subunits,
        groups: vec![],
        residents: false,
    }
}

/// A broadcast written by `author` for `audience`, submitted, and approved by minh.
async fn approved(
    store: &Arc<dyn Store>,
    author: &str,
    text: &str,
    audience: Audience,
    t: chrono::DateTime<chrono::Utc>,
) -> gopy::store::announce::Broadcast {
    let b = create(store, author, text, audience, None, t)
        .await
        .unwrap();
    act(store, b.id, author, Action::Submit, t).await.unwrap();
    act(store, b.id, "minh", Action::Approve, t).await.unwrap()
}

async fn story_broadcast_approval_schedule_and_outbox(db: TestDb) {
    let store = with_units(&db).await;
    broadcast_staff(&store).await;
    let g1 = bound_group(&store, "-1001", "TDP-1").await;
    let g2 = bound_group(&store, "-1002", "TDP-2").await;
    let t = now();
    let refused = |r: Result<_, BroadcastError>| match r {
        Err(BroadcastError::Refused(why)) => why,
        other => panic!("expected a refusal, got {other:?}"),
    };

    // Lan may write for her unit only.
    assert_eq!(
        refused(
            create(
                &store,
                "lan",
                "Họp tổ",
                to_units(&["TDP-2"], false),
                None,
                t
            )
            .await
        ),
        BroadcastRefusal::Scope
    );
    let b = create(
        &store,
        "lan",
        "Kính mời bà con họp tổ dân phố.",
        to_units(&["TDP-1"], false),
        None,
        t,
    )
    .await
    .unwrap();
    assert_eq!((b.state, b.revision), (BroadcastState::Draft, 1));
    assert_eq!(
        refused(act(&store, b.id, "minh", Action::Approve, t).await),
        BroadcastRefusal::WrongState(BroadcastState::Draft)
    );
    act(&store, b.id, "lan", Action::Submit, t).await.unwrap();
    assert_eq!(
        refused(act(&store, b.id, "lan", Action::Approve, t).await),
        BroadcastRefusal::Role
    );
    assert_eq!(
        refused(act(&store, b.id, "hoa", Action::Approve, t).await),
        BroadcastRefusal::Scope
    );
    let b = act(&store, b.id, "minh", Action::Approve, t).await.unwrap();
    assert_eq!(b.state, BroadcastState::Approved);
    // An edit after approval sends it back; scheduling waits for a new approval.
    let b = act(
        &store,
        b.id,
        "lan",
        Action::Edit("Kính mời bà con họp tổ lúc 19:30.".into()),
        t,
    )
    .await
    .unwrap();
    assert_eq!((b.state, b.revision), (BroadcastState::Submitted, 2));
    assert_eq!(
        refused(act(&store, b.id, "lan", Action::Schedule(Schedule::Now), t).await),
        BroadcastRefusal::WrongState(BroadcastState::Submitted)
    );
    act(&store, b.id, "minh", Action::Approve, t).await.unwrap();
    let b = act(&store, b.id, "lan", Action::Schedule(Schedule::Now), t)
        .await
        .unwrap();
    assert_eq!(b.state, BroadcastState::Scheduled);
    assert_eq!(store.delivery_counts(b.id).await.unwrap().pending, 1);

    // A worker claims the one delivery; another finds nothing while the lease lasts; once the
    // lease runs out (the first worker died) it is claimed again: nothing is lost.
    let lease = t + Duration::seconds(60);
    let claimed = store
        .claim_deliveries("telegram", "w1", 10, None, lease, t)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(
        (claimed[0].group_id, claimed[0].chat.as_str()),
        (Some(g1), "-1001")
    );
    assert_eq!(claimed[0].text, "Kính mời bà con họp tổ lúc 19:30.");
    assert_eq!(
        store.broadcast(b.id).await.unwrap().unwrap().state,
        BroadcastState::Sending
    );
    assert!(
        store
            .claim_deliveries("telegram", "w2", 10, None, lease, t)
            .await
            .unwrap()
            .is_empty()
    );
    let later = lease + Duration::seconds(1);
    let again = store
        .claim_deliveries(
            "telegram",
            "w2",
            10,
            None,
            later + Duration::seconds(60),
            later,
        )
        .await
        .unwrap();
    assert_eq!((again.len(), again[0].attempts), (1, 2));
    store
        .finish_delivery(
            again[0].id,
            &DeliveryResult::Sent {
                message: "77".into(),
                at: later,
            },
            later,
        )
        .await
        .unwrap();
    assert_eq!(
        store.broadcast(b.id).await.unwrap().unwrap().state,
        BroadcastState::Sent
    );
    assert_eq!(
        db.strings("SELECT message_id FROM deliveries WHERE state = 'sent'")
            .await,
        ["77"]
    );

    // To the ward and everything below, at a later time: nothing is due before it.
    let b2 = create(&store, "minh", "x", to_units(&["P-BK"], true), None, t).await;
    assert!(
        b2.is_err(),
        "an approver without the official role does not write"
    );
    store
        .add_staff(
            &staff("tam", &[Role::Official], None),
            &code("CODE0009", Duration::hours(1)),
            "cli:tester",
            t,
        )
        .await
        .unwrap();
    let b2 = approved(&store, "tam", "Lịch tiếp dân", to_units(&["P-BK"], true), t).await;
    let at = t + Duration::hours(2);
    act(
        &store,
        b2.id,
        "tam",
        Action::Schedule(Schedule::At { at }),
        t,
    )
    .await
    .unwrap();
    assert!(
        store
            .claim_deliveries("telegram", "w1", 10, None, t + Duration::seconds(60), t)
            .await
            .unwrap()
            .is_empty()
    );
    let due = store
        .claim_deliveries("telegram", "w1", 10, None, at + Duration::seconds(60), at)
        .await
        .unwrap();
    let mut groups: Vec<i64> = due.iter().filter_map(|d| d.group_id).collect();
    groups.sort();
    assert_eq!(groups, vec![g1, g2]);
    // One group kicked the bot (it is deactivated); the other fails transiently, then works.
    let (d1, d2) = (
        due.iter().find(|d| d.group_id == Some(g1)).unwrap().id,
        due.iter().find(|d| d.group_id == Some(g2)).unwrap().id,
    );
    store
        .finish_delivery(
            d1,
            &DeliveryResult::Failed {
                reason: "bot was kicked".into(),
                deactivate: true,
            },
            at,
        )
        .await
        .unwrap();
    let retry_at = at + Duration::seconds(5);
    store
        .finish_delivery(
            d2,
            &DeliveryResult::Retry(retry_at, "502 Bad Gateway".into()),
            at,
        )
        .await
        .unwrap();
    assert_eq!(
        store.group(g1).await.unwrap().unwrap().state,
        GroupState::Inactive
    );
    assert!(
        store
            .claim_deliveries("telegram", "w1", 10, None, retry_at, at)
            .await
            .unwrap()
            .is_empty()
    );
    let retried = store
        .claim_deliveries(
            "telegram",
            "w1",
            10,
            None,
            retry_at + Duration::seconds(60),
            retry_at,
        )
        .await
        .unwrap();
    assert_eq!(retried.len(), 1);
    store
        .finish_delivery(
            retried[0].id,
            &DeliveryResult::Sent {
                message: "5".into(),
                at: retry_at,
            },
            retry_at,
        )
        .await
        .unwrap();
    assert_eq!(
        store.broadcast(b2.id).await.unwrap().unwrap().state,
        BroadcastState::PartlyFailed
    );
    let counts = store.delivery_counts(b2.id).await.unwrap();
    assert_eq!((counts.sent, counts.failed, counts.pending), (1, 1, 0));
    assert_eq!(counts.reasons, vec![("bot was kicked".to_owned(), 1)]);

    // Cancelled before its time: its deliveries never go; a sent broadcast is not cancelled.
    // The bot is added to g1 again and it is bound again.
    store
        .record_membership(&added("-1001", BotStatus::Member), None, t)
        .await
        .unwrap();
    store
        .bind_group(g1, Some("TDP-1"), "cli:tester", None, t)
        .await
        .unwrap();
    let b3 = approved(&store, "lan", "Hoãn họp", to_units(&["TDP-1"], false), t).await;
    let soon = t + Duration::hours(5);
    act(
        &store,
        b3.id,
        "lan",
        Action::Schedule(Schedule::At { at: soon }),
        t,
    )
    .await
    .unwrap();
    act(&store, b3.id, "lan", Action::Cancel, t).await.unwrap();
    assert!(
        store
            .claim_deliveries(
                "telegram",
                "w1",
                10,
                None,
                soon + Duration::seconds(9),
                soon
            )
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.delivery_counts(b3.id).await.unwrap().cancelled, 1);
    assert_eq!(
        store.broadcast(b3.id).await.unwrap().unwrap().state,
        BroadcastState::Cancelled
    );
    assert_eq!(
        refused(act(&store, b.id, "lan", Action::Cancel, t).await),
        BroadcastRefusal::WrongState(BroadcastState::Sent)
    );

    let edit = store
        .audit_log(200)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.action == "broadcast.edit")
        .expect("the edit is audited");
    assert_eq!(
        edit.detail["text"]["from"],
        "Kính mời bà con họp tổ dân phố."
    );
    assert_eq!(
        edit.detail["text"]["to"],
        "Kính mời bà con họp tổ lúc 19:30."
    );
    assert_eq!(
        (edit.detail["from"].as_str(), edit.detail["to"].as_str()),
        (Some("approved"), Some("submitted"))
    );
    let actions: Vec<String> = store
        .audit_log(200)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action.starts_with("broadcast.") && e.detail["broadcast"] == b.id)
        .map(|e| format!("{} {}", e.actor, e.action))
        .rev()
        .collect();
    assert_eq!(
        actions,
        [
            "lan broadcast.create",
            "lan broadcast.submit",
            "minh broadcast.approve",
            "lan broadcast.edit",
            "minh broadcast.approve",
            "lan broadcast.schedule",
            "system broadcast.sending",
            "system broadcast.finish",
        ]
    );
}

async fn story_workers_never_claim_the_same_delivery(db: TestDb) {
    let store = with_units(&db).await;
    broadcast_staff(&store).await;
    for i in 0..40 {
        bound_group(&store, &format!("-{}", 2000 + i), "TDP-1").await;
    }
    let t = now();
    let b = approved(&store, "lan", "Thông báo", to_units(&["TDP-1"], false), t).await;
    act(&store, b.id, "lan", Action::Schedule(Schedule::Now), t)
        .await
        .unwrap();
    let lease = t + Duration::seconds(60);
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let got = store
                        .claim_deliveries("telegram", &format!("w{w}"), 3, None, lease, t)
                        .await
                        .unwrap();
                    if got.is_empty() {
                        return mine;
                    }
                    mine.extend(got.into_iter().map(|d| d.id));
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.unwrap());
    }
    let n = all.len();
    all.sort();
    all.dedup();
    assert_eq!(
        (n, all.len()),
        (40, 40),
        "every delivery claimed exactly once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_broadcast_commands_take_a_broadcast_from_draft_to_the_outbox() {
    let db = TestDb::sqlite().await;
    let store = with_units(&db).await;
    broadcast_staff(&store).await;
    bound_group(&store, "-3001", "TDP-1").await;
    let ok = |args: &[&str]| {
        let out = gopy(&db.url, args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        text(&out.stdout)
    };
    let created = ok(&[
        "broadcast",
        "create",
        "--as",
        "lan",
        "--text",
        "Kính mời bà con họp tổ.",
        "--unit",
        "TDP-1",
    ]);
    assert!(created.contains("broadcast 1: draft"), "{created}");
    let preview = ok(&["broadcast", "preview", "1"]);
    assert!(
        preview.contains("Kính mời bà con họp tổ.") && preview.contains("Zalo: 23/2000"),
        "{preview}"
    );
    ok(&["broadcast", "submit", "1", "--as", "lan"]);
    let self_approval = gopy(&db.url, &["broadcast", "approve", "1", "--as", "lan"]);
    assert_eq!(self_approval.status.code(), Some(65));
    ok(&["broadcast", "approve", "1", "--as", "minh"]);
    let bad_window = gopy(
        &db.url,
        &[
            "broadcast",
            "schedule",
            "1",
            "--as",
            "lan",
            "--window",
            "9h-7h",
        ],
    );
    assert_eq!(bad_window.status.code(), Some(65));
    let scheduled = ok(&[
        "broadcast",
        "schedule",
        "1",
        "--as",
        "lan",
        "--window",
        "07:00-09:00",
        "--window",
        "19:00-21:00",
    ]);
    assert!(
        scheduled.contains("scheduled") && scheduled.contains("1"),
        "{scheduled}"
    );
    let status = ok(&["broadcast", "status", "1"]);
    assert!(status.contains("đang chờ / pending: 1"), "{status}");
    assert!(status.contains("TDP-1\tpending\t1"), "{status}");
    ok(&["broadcast", "cancel", "1", "--as", "lan"]);
    let status = ok(&["broadcast", "status", "1"]);
    assert!(
        status.contains("cancelled") && status.contains("đã hủy / cancelled: 1"),
        "{status}"
    );
}

async fn story_claims_share_one_rate_budget(db: TestDb) {
    let store = with_units(&db).await;
    broadcast_staff(&store).await;
    for i in 0..40 {
        bound_group(&store, &format!("-{}", 4000 + i), "TDP-1").await;
    }
    let t = now();
    let b = approved(&store, "lan", "Thông báo", to_units(&["TDP-1"], false), t).await;
    act(&store, b.id, "lan", Action::Schedule(Schedule::Now), t)
        .await
        .unwrap();
    let lease = t + Duration::seconds(60);
    // One worker takes the whole second's budget; another process gets nothing.
    let first = store
        .claim_deliveries("telegram", "a", 100, Some(30), lease, t)
        .await
        .unwrap();
    assert_eq!(first.len(), 30);
    assert!(
        store
            .claim_deliveries("telegram", "b", 100, Some(30), lease, t)
            .await
            .unwrap()
            .is_empty()
    );
    // Ten go out at once and are recorded 900 ms later (a busy database): within a second
    // of going out (and a guard of 20 ms, less the 40 ms a claim looks ahead) they still
    // count, after it they free their slots, however late they were recorded.
    let recorded = t + Duration::milliseconds(900);
    for d in &first[..10] {
        store
            .finish_delivery(
                d.id,
                &DeliveryResult::Sent {
                    message: "1".into(),
                    at: t,
                },
                recorded,
            )
            .await
            .unwrap();
    }
    for within in [500, 940] {
        assert!(
            store
                .claim_deliveries(
                    "telegram",
                    "b",
                    100,
                    Some(30),
                    lease,
                    t + Duration::milliseconds(within)
                )
                .await
                .unwrap()
                .is_empty(),
            "{within} ms after they went out, the ten still count"
        );
    }
    let later = t + Duration::milliseconds(1500);
    let second = store
        .claim_deliveries("telegram", "b", 100, Some(30), lease, later)
        .await
        .unwrap();
    assert_eq!(second.len(), 10);
    // Without a budget, the rest is claimed at once.
    assert_eq!(
        store
            .claim_deliveries("telegram", "c", 100, None, lease, later)
            .await
            .unwrap()
            .len(),
        0,
        "all 40 are leased now"
    );
}

async fn story_slots_claimed_ahead_go_when_they_free_and_only_once(db: TestDb) {
    let store = with_units(&db).await;
    broadcast_staff(&store).await;
    for i in 0..90 {
        bound_group(&store, &format!("-{}", 5000 + i), "TDP-1").await;
    }
    let t = now();
    let b = approved(&store, "lan", "Thông báo", to_units(&["TDP-1"], false), t).await;
    act(&store, b.id, "lan", Action::Schedule(Schedule::Now), t)
        .await
        .unwrap();
    let lease = t + Duration::seconds(60);
    let first = store
        .claim_deliveries("telegram", "a", 100, Some(30), lease, t)
        .await
        .unwrap();
    assert_eq!(first.len(), 30);
    assert!(
        first.iter().all(|d| d.send_from.is_some_and(|at| at >= t)),
        "a budgeted claim says when each delivery may go"
    );
    let results: Vec<(i64, DeliveryResult)> = first
        .iter()
        .map(|d| {
            let r = DeliveryResult::Sent {
                message: "1".into(),
                at: t,
            };
            (d.id, r)
        })
        .collect();
    store.finish_deliveries(&results, t).await.unwrap();
    // 980 ms later the thirty slots free within the 40 ms a claim looks ahead: another
    // worker claims thirty, each to go when its slot frees (1.02 s after the answer).
    let ahead = t + Duration::milliseconds(980);
    let second = store
        .claim_deliveries("telegram", "b", 100, Some(30), lease, ahead)
        .await
        .unwrap();
    assert_eq!(second.len(), 30);
    let frees = t + gopy::store::announce::RATE_WINDOW;
    for d in &second {
        let from = d.send_from.expect("claimed under a budget");
        assert!(
            (from - frees).num_microseconds().unwrap_or(i64::MAX).abs() < 1_000,
            "goes when its slot frees: {from} against {frees}"
        );
    }
    // A third worker at the same moment finds those slots taken: nothing to claim.
    assert!(
        store
            .claim_deliveries("telegram", "c", 100, Some(30), lease, ahead)
            .await
            .unwrap()
            .is_empty(),
        "slots claimed ahead are not given twice"
    );
}

story!(
    story_the_worker_sends_nothing_outside_the_windows,
    sqlite_the_worker_sends_nothing_outside_the_windows,
    postgres_the_worker_sends_nothing_outside_the_windows
);

/// A sender that records what it is asked to send and accepts everything.
#[derive(Default)]
struct Recorder(std::sync::Mutex<Vec<(String, String)>>);

#[async_trait::async_trait]
impl gopy::announce::outbox::Sender for Recorder {
    async fn send(
        &self,
        chat: &str,
        text: &str,
    ) -> Result<String, gopy::announce::outbox::SendError> {
        let mut sent = self.0.lock().unwrap();
        sent.push((chat.to_owned(), text.to_owned()));
        Ok(sent.len().to_string())
    }
}

async fn story_the_worker_sends_nothing_outside_the_windows(db: TestDb) {
    use chrono::Timelike as _;
    use gopy::announce::outbox::{Outbox, OutboxSettings};

    let store = with_units(&db).await;
    broadcast_staff(&store).await;
    bound_group(&store, "-9001", "TDP-1").await;
    bound_group(&store, "-9002", "TDP-1").await;
    let t = now();
    // A half-hour window starting two hours from now, Vietnam time: now is outside it.
    let local = t.with_timezone(&gopy::domain::TZ);
    let start = chrono::NaiveTime::from_hms_opt((local.hour() + 2) % 24, 0, 0).unwrap();
    let window = (start, start + Duration::minutes(30));
    let windowed = approved(&store, "lan", "Nhắc họp", to_units(&["TDP-1"], false), t).await;
    act(
        &store,
        windowed.id,
        "lan",
        Action::Schedule(Schedule::Windows {
            windows: vec![window],
        }),
        t,
    )
    .await
    .unwrap();
    let now_ = approved(&store, "lan", "Họp ngay", to_units(&["TDP-1"], false), t).await;
    act(&store, now_.id, "lan", Action::Schedule(Schedule::Now), t)
        .await
        .unwrap();
    // A retry of the windowed broadcast came due now, at night as it were.
    let changed = db
        .execute(&format!(
            "UPDATE deliveries SET not_before = '{}' WHERE broadcast_id = {}",
            (t - Duration::minutes(1)).to_rfc3339(),
            windowed.id
        ))
        .await
        .expect("move the deliveries");
    assert_eq!(changed, 2);

    let sender = Arc::new(Recorder::default());
    let worker = Outbox::new(
        gopy::announce::outbox::Route::Telegram,
        store.clone(),
        sender.clone(),
        "test-worker".to_owned(),
        OutboxSettings {
            idle: std::time::Duration::from_millis(20),
            ..OutboxSettings::default()
        },
    );
    let stop = tokio_util::sync::CancellationToken::new();
    let running = tokio::spawn(worker.run(stop.clone()));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while store.broadcast(now_.id).await.unwrap().unwrap().state != BroadcastState::Sent {
        assert!(
            std::time::Instant::now() < deadline,
            "the immediate broadcast never went"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // Give the worker a few more rounds, then stop it.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    stop.cancel();
    running.await.unwrap();

    let sent = sender.0.lock().unwrap().clone();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(sent.iter().all(|(_, text)| text == "Họp ngay"), "{sent:?}");
    let w = store.delivery_counts(windowed.id).await.unwrap();
    assert_eq!((w.pending, w.sent), (2, 0));
    assert_eq!(
        store.broadcast(windowed.id).await.unwrap().unwrap().state,
        BroadcastState::Sending,
        "claimed, then put back until the window opens"
    );
}

/// A resident of `unit` (or of no unit) on Telegram, with notices switched `on` or off.
async fn resident(store: &Arc<dyn Store>, chat: &str, unit: Option<&str>, on: bool) -> i64 {
    let mut tx = store.begin().await.unwrap();
    let c = tx
        .contact(
            &gopy::domain::ContactKey {
                channel: Channel::Telegram,
                external_id: chat.to_owned(),
            },
            gopy::domain::Locale::Vi,
        )
        .await
        .unwrap();
    tx.set_notices(c.id, on, unit, now()).await.unwrap();
    tx.commit().await.unwrap();
    c.id
}

async fn story_residents_who_asked_get_notices_in_private(db: TestDb) {
    let store = with_units(&db).await;
    broadcast_staff(&store).await;
    let g1 = bound_group(&store, "-1001", "TDP-1").await;
    let an = resident(&store, "501", Some("TDP-1"), true).await;
    let binh = resident(&store, "502", Some("TDP-1"), true).await;
    let _chi = resident(&store, "503", Some("TDP-2"), true).await;
    let _dung = resident(&store, "504", Some("TDP-1"), false).await;
    // Binh asks twice, then stops before the broadcast is sent; a second "on" keeps the unit.
    resident(&store, "502", None, true).await;
    assert_eq!(
        store
            .notice_subscribers(Some(&["TDP-1".to_owned()]))
            .await
            .unwrap(),
        vec![an, binh]
    );

    let mut audience = to_units(&["TDP-1"], false);
    audience.residents = true;
    let t = now();
    let b = approved(&store, "lan", "Họp tổ dân phố lúc 19:30.", audience, t).await;
    act(&store, b.id, "lan", Action::Schedule(Schedule::Now), t)
        .await
        .unwrap();
    // The group and the two residents of TDP-1 who asked; not Chi (TDP-2), not Dung (off).
    let counts = store.delivery_counts(b.id).await.unwrap();
    assert_eq!(counts.pending, 3, "{counts:?}");
    resident(&store, "502", None, false).await;

    let lease = t + Duration::seconds(60);
    let mut claimed = store
        .claim_deliveries("telegram", "w1", 10, None, lease, t)
        .await
        .unwrap();
    claimed.sort_by(|a, b| a.chat.cmp(&b.chat));
    let to: Vec<(Option<i64>, Option<i64>, &str)> = claimed
        .iter()
        .map(|d| (d.group_id, d.contact_id, d.chat.as_str()))
        .collect();
    assert_eq!(to, vec![(Some(g1), None, "-1001"), (None, Some(an), "501")]);
    // An blocked the bot meanwhile: 403 fails the delivery and stops her notices.
    let results: Vec<(i64, DeliveryResult)> = claimed
        .iter()
        .map(|d| {
            let r = if d.contact_id.is_some() {
                DeliveryResult::Failed {
                    reason: "Forbidden: bot was blocked by the user".to_owned(),
                    deactivate: true,
                }
            } else {
                DeliveryResult::Sent {
                    message: "9".to_owned(),
                    at: t,
                }
            };
            (d.id, r)
        })
        .collect();
    store.finish_deliveries(&results, t).await.unwrap();
    let counts = store.delivery_counts(b.id).await.unwrap();
    assert_eq!(
        (counts.pending, counts.sent, counts.failed, counts.cancelled),
        (0, 1, 1, 1),
        "{counts:?}"
    );
    assert_eq!(
        store.broadcast(b.id).await.unwrap().unwrap().state,
        BroadcastState::PartlyFailed
    );
    assert!(
        store
            .notice_subscribers(None)
            .await
            .unwrap()
            .iter()
            .all(|c| *c != an && *c != binh),
        "An (blocked) and Binh (off) get no more notices"
    );
    // The group stays bound: a resident's 403 says nothing about the group.
    assert_eq!(
        store.group(g1).await.unwrap().unwrap().state,
        GroupState::Bound
    );
    // Per unit: the residents count under their own unit.
    let report = store.delivery_report(b.id).await.unwrap();
    assert!(
        report.iter().all(|(unit, _, _)| unit == "TDP-1"),
        "{report:?}"
    );
}

/// A Telegram resident who consented to the campaign; with an opinion submitted if `sent`.
async fn consented(store: &Arc<dyn Store>, campaign: i64, chat: &str, sent: bool) -> i64 {
    let mut tx = store.begin().await.unwrap();
    let c = tx
        .contact(
            &gopy::domain::ContactKey {
                channel: Channel::Telegram,
                external_id: chat.to_owned(),
            },
            gopy::domain::Locale::Vi,
        )
        .await
        .unwrap();
    tx.record_consent(
        c.id,
        campaign,
        gopy::domain::IdentityMode::Anonymous,
        "1",
        now(),
    )
    .await
    .unwrap();
    tx.insert_opinion(&gopy::store::NewOpinion {
        reference: format!("R{chat}"),
        campaign_id: campaign,
        contact_id: Some(c.id),
        topic: "do-thi".to_owned(),
        section: None,
        unit: Some("TDP-1".to_owned()),
        target_group: None,
        channel: Channel::Telegram,
        source: gopy::domain::OpinionSource::Chat,
        anonymous: true,
        text: "Đề nghị lát lại ngõ 5.".to_owned(),
        created_at: now(),
    })
    .await
    .unwrap();
    if sent {
        tx.submit_drafts(c.id, campaign, &format!("S{chat}"), now())
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    c.id
}

async fn story_reminders_go_once_to_groups_and_to_residents_who_have_not_sent(db: TestDb) {
    use gopy::announce::reminders::tick;
    let store = with_units(&db).await;
    let campaign = store.campaigns().await.unwrap()[0].id;
    let l10n = gopy::i18n::Localizer::new().unwrap();
    let g1 = bound_group(&store, "-1001", "TDP-1").await;
    let an = consented(&store, campaign, "601", false).await;
    let _binh = consented(&store, campaign, "602", true).await;
    let chi = consented(&store, campaign, "603", false).await;
    resident(&store, "603", None, false).await;
    // Dung asked for notices but never started: reminders are for those who started.
    resident(&store, "604", Some("TDP-1"), true).await;

    // Collection closes in six days: the default reminder (two days before) is not due yet.
    let t = now();
    assert!(tick(&store, &l10n, t).await.unwrap().is_empty());
    // An official asks for one six days before too: due at once, to groups and residents.
    store
        .set_reminder_hours(campaign, &[48, 144], "cli:tester", t)
        .await
        .unwrap();
    assert_eq!(
        store.reminder_hours(campaign).await.unwrap(),
        Some(vec![48, 144])
    );
    let first = tick(&store, &l10n, t).await.unwrap();
    assert_eq!(first.len(), 2, "one for groups, one for residents");
    // At most once, however often gopy looks (and however many processes look).
    assert!(tick(&store, &l10n, t).await.unwrap().is_empty());

    let mut to: Vec<(Option<i64>, Option<i64>)> = Vec::new();
    for id in &first {
        let b = store.broadcast(*id).await.unwrap().unwrap();
        assert_eq!(b.state, BroadcastState::Scheduled);
        assert!(
            b.text.contains("ngày nữa là hết hạn góp ý") || b.text.contains("chưa gửi ý kiến"),
            "{}",
            b.text
        );
        assert!(
            matches!(b.schedule, Schedule::Windows { .. }),
            "never at night"
        );
    }
    let lease = t + Duration::days(2);
    for d in store
        .claim_deliveries("telegram", "w1", 100, None, lease, t + Duration::days(1))
        .await
        .unwrap()
    {
        to.push((d.group_id, d.contact_id));
    }
    to.sort();
    assert_eq!(to, vec![(None, Some(an)), (Some(g1), None)]);
    assert!(!to.contains(&(None, Some(chi))), "Chi turned notices off");

    // Two days before the close, the second reminder; then nothing more.
    let later = t + Duration::days(4);
    assert_eq!(tick(&store, &l10n, later).await.unwrap().len(), 2);
    assert!(
        tick(&store, &l10n, later + Duration::hours(1))
            .await
            .unwrap()
            .is_empty()
    );
    // Switched off: nothing, and the change is audited.
    store
        .set_reminder_hours(campaign, &[], "cli:tester", later)
        .await
        .unwrap();
    assert_eq!(store.reminder_hours(campaign).await.unwrap(), Some(vec![]));
    assert!(
        audit_actions(&store)
            .await
            .contains(&("cli:tester".to_owned(), "reminder.settings".to_owned()))
    );
    // The system user that writes reminders is nobody's account.
    assert!(
        store
            .staff()
            .await
            .unwrap()
            .iter()
            .all(|s| s.name != "gopy-system")
    );
}
