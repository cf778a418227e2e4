//! Several gopy processes on one database. Each "process" here is a store of its own (its own
//! connection pool) on the same database, ticking the same jobs at the same moment; the last
//! story starts two real `gopy serve` children. What must hold: a periodic job runs once per
//! period (Postgres: one process holds its advisory lock, the others are told no), reminders
//! and reports on due dates go once, the retention purge is audited once, and moderation's
//! flood limit and cap on automatic actions are shared by the processes. On SQLite (one
//! process by design) the same code runs with a no-op lock; the stories that only make sense
//! with several processes run on Postgres, when `TEST_DATABASE_URL` is set, and are reported
//! as ignored otherwise.

mod common;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration as StdDuration;

use chrono::Duration;

use common::{TestDb, now, sample_campaign, story};
use gopy::domain::{Channel, ContactKey, Identity, IdentityMode, Locale, OpinionSource};
use gopy::moderation::Limits;
use gopy::moderation::group::{GroupPost, GroupSettings};
use gopy::store::jobs::{Job, in_turn};
use gopy::store::{self, NewOpinion, Store};

story!(
    story_a_job_runs_once_per_period,
    sqlite_a_job_runs_once_per_period,
    postgres_a_job_runs_once_per_period
);
story!(
    story_two_processes_purging_at_once_audit_the_purge_once,
    sqlite_two_processes_purging_at_once_audit_the_purge_once,
    postgres_two_processes_purging_at_once_audit_the_purge_once
);
story!(
    story_reminders_and_due_reports_go_once_when_two_processes_tick,
    sqlite_reminders_and_due_reports_go_once_when_two_processes_tick,
    postgres_reminders_and_due_reports_go_once_when_two_processes_tick
);
story!(
    story_an_unconfirmed_assisted_post_goes_back_to_its_lead_once_when_two_processes_tick,
    sqlite_an_unconfirmed_assisted_post_goes_back_to_its_lead_once_when_two_processes_tick,
    postgres_an_unconfirmed_assisted_post_goes_back_to_its_lead_once_when_two_processes_tick
);
story!(
    story_two_gopy_processes_start_and_housekeeping_runs_once,
    sqlite_two_gopy_processes_start_and_housekeeping_runs_once,
    postgres_two_gopy_processes_start_and_housekeeping_runs_once
);
story!(
    story_a_shared_counter_counts_every_event_and_refuses_past_its_limit,
    sqlite_a_shared_counter_counts_every_event_and_refuses_past_its_limit,
    postgres_a_shared_counter_counts_every_event_and_refuses_past_its_limit
);

/// A moment at the start of an hour (and so of a minute): 1,800,000,000 s is 500,000 hours.
const WHOLE_HOUR: i64 = 1_800_000_000;

/// A second "process": a store of its own on the same database.
async fn second(db: &TestDb) -> Arc<dyn Store> {
    store::open(&db.url).await.expect("open a second store")
}

async fn story_a_job_runs_once_per_period(db: TestDb) {
    let other = second(&db).await;
    let t = now();
    let runs = Arc::new(AtomicUsize::new(0));
    let work = |runs: Arc<AtomicUsize>| async move {
        runs.fetch_add(1, Ordering::SeqCst);
        // Long enough that the other process asks while this one holds the turn.
        tokio::time::sleep(StdDuration::from_millis(300)).await;
    };
    let (a, b) = tokio::join!(
        in_turn(
            db.store.as_ref(),
            Job::Housekeeping,
            t,
            Duration::hours(1),
            work(runs.clone())
        ),
        in_turn(
            other.as_ref(),
            Job::Housekeeping,
            t,
            Duration::hours(1),
            work(runs.clone())
        ),
    );
    let taken = usize::from(a.unwrap().is_some()) + usize::from(b.unwrap().is_some());
    if db.url.starts_with("postgres") {
        assert_eq!(
            taken, 1,
            "one process holds the job's lock, the other is told no"
        );
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    } else {
        assert!(
            taken >= 1,
            "SQLite's lock is a no-op: one process by design"
        );
    }
    // Within the period nobody runs it again; once it is over, the first to ask does.
    for (store, at) in [
        (&other, t + Duration::minutes(30)),
        (&db.store, t + Duration::minutes(59)),
    ] {
        let again = in_turn(
            store.as_ref(),
            Job::Housekeeping,
            at,
            Duration::hours(1),
            async {},
        )
        .await
        .unwrap();
        assert!(again.is_none(), "ran less than an hour ago");
    }
    let later = t + Duration::minutes(61);
    assert!(
        in_turn(
            other.as_ref(),
            Job::Housekeeping,
            later,
            Duration::hours(1),
            async {}
        )
        .await
        .unwrap()
        .is_some()
    );
    assert!(
        in_turn(
            db.store.as_ref(),
            Job::Housekeeping,
            later,
            Duration::hours(1),
            async {}
        )
        .await
        .unwrap()
        .is_none(),
        "the other process took this hour"
    );
    // Another job has a lock and a period of its own.
    assert!(
        in_turn(
            db.store.as_ref(),
            Job::Reminders,
            later,
            Duration::seconds(50),
            async {}
        )
        .await
        .unwrap()
        .is_some()
    );
    // A turn given back without finishing (the job's process died) records no run.
    let dropped = other
        .take_turn(
            Job::Reminders,
            later + Duration::minutes(1),
            Duration::seconds(50),
        )
        .await
        .unwrap();
    assert!(dropped.is_some());
    drop(dropped);
    // The pool rolls the dropped transaction back as it takes the connection back.
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    assert!(
        db.store
            .take_turn(
                Job::Reminders,
                later + Duration::minutes(1),
                Duration::seconds(50)
            )
            .await
            .unwrap()
            .is_some(),
        "the lock went with the dropped turn and no run was recorded"
    );
    assert_eq!(
        db.strings("SELECT job FROM job_runs ORDER BY job").await,
        ["housekeeping", "reminders"]
    );
}

/// A named resident on Telegram who consented to `campaign` and gave one opinion.
async fn resident(store: &dyn Store, who: i64, campaign: i64) {
    let mut tx = store.begin().await.expect("begin");
    let key = ContactKey {
        channel: Channel::Telegram,
        external_id: who.to_string(),
    };
    let c = tx.contact(&key, Locale::Vi).await.expect("contact");
    let identity = Identity {
        display_name: Some(format!("Cư dân {who}")),
        username: Some(format!("cudan{who}")),
    };
    tx.set_identity(c.id, Some(&identity))
        .await
        .expect("identity");
    tx.record_consent(c.id, campaign, IdentityMode::Named, "v1", now())
        .await
        .expect("consent");
    tx.insert_opinion(&NewOpinion {
        reference: format!("R{who}"),
        campaign_id: campaign,
        contact_id: Some(c.id),
        topic: "do-thi".to_owned(),
        section: None,
        unit: Some("TDP-1".to_owned()),
        target_group: None,
        channel: Channel::Telegram,
        source: OpinionSource::Chat,
        anonymous: false,
        text: "Đề nghị lắp thêm đèn chiếu sáng ngõ nhỏ.".to_owned(),
        created_at: now(),
    })
    .await
    .expect("opinion");
    tx.commit().await.expect("commit");
}

/// A campaign closed about sixteen months ago (twelve months' retention: due), with named
/// residents.
async fn campaign_past_retention(store: &dyn Store, residents: i64) -> i64 {
    let old = store
        .insert_campaign(&sample_campaign("cu-2025", now() - Duration::days(500)))
        .await
        .expect("old campaign");
    for who in 0..residents {
        resident(store, 7000 + who, old).await;
    }
    old
}

async fn story_two_processes_purging_at_once_audit_the_purge_once(db: TestDb) {
    let old = campaign_past_retention(db.store.as_ref(), 300).await;
    let other = second(&db).await;
    // Without any turn: both purge the same campaign at the same moment (a replica's job and
    // an official's `gopy purge`, say).
    let t = now();
    let (a, b) = tokio::join!(
        db.store.purge_identities(t, false, "gopy-system"),
        other.purge_identities(t, false, "cli:tester"),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let erased: i64 = a.iter().chain(&b).map(|p| p.identities).sum();
    assert_eq!(
        erased, 300,
        "each identity erased once, counted once: {a:?} {b:?}"
    );
    assert_eq!(
        db.int("SELECT count(*) FROM audit_log WHERE action = 'retention.purge'")
            .await,
        1,
        "the purge is audited once"
    );
    assert_eq!(db.int("SELECT count(*) FROM identities").await, 0);
    assert_eq!(
        db.int(&format!(
            "SELECT count(*) FROM opinions WHERE campaign_id = {old}"
        ))
        .await,
        300,
        "opinions are kept"
    );
}

async fn story_reminders_and_due_reports_go_once_when_two_processes_tick(db: TestDb) {
    use gopy::announce::reminders::{tick, tick_in_turn};
    db.store
        .insert_campaign(&sample_campaign("bk-2026", now()))
        .await
        .expect("campaign");
    let campaign = db.store.campaigns().await.unwrap()[0].id;
    let other = second(&db).await;
    let l10n = gopy::i18n::Localizer::new().unwrap();
    let t = now();
    // Collection closes in six days: a reminder six days before is due at once.
    db.store
        .set_reminder_hours(campaign, &[144], "cli:tester", t)
        .await
        .unwrap();
    // Both tick in their turn, and both tick without one (the row claim alone holds).
    let (a, b, c, d) = tokio::join!(
        tick_in_turn(&db.store, &l10n, t),
        tick_in_turn(&other, &l10n, t),
        tick(&db.store, &l10n, t),
        tick(&other, &l10n, t),
    );
    let scheduled: usize = [a.unwrap(), b.unwrap()]
        .into_iter()
        .flatten()
        .chain([c.unwrap(), d.unwrap()])
        .map(|v| v.len())
        .sum();
    assert_eq!(scheduled, 2, "one reminder for groups, one for residents");
    assert_eq!(db.int("SELECT count(*) FROM reminders_sent").await, 2);
    assert_eq!(
        db.int("SELECT count(*) FROM audit_log WHERE action = 'reminder.schedule'")
            .await,
        2
    );

    // A report date that came due: taken by one process.
    db.store
        .add_report_date(campaign, None, t - Duration::minutes(1), "cli:tester", t)
        .await
        .unwrap();
    db.store
        .set_digest(campaign, Some(0), "cli:tester", t)
        .await
        .unwrap();
    let (a, b) = tokio::join!(db.store.take_due_reports(t), other.take_due_reports(t));
    assert_eq!(
        a.unwrap().len() + b.unwrap().len(),
        1,
        "the report goes once"
    );
    let (a, b) = tokio::join!(
        db.store.take_digests("2026-11-22", 23),
        other.take_digests("2026-11-22", 23)
    );
    assert_eq!(
        a.unwrap().len() + b.unwrap().len(),
        1,
        "the day's digest goes once"
    );
}

async fn story_an_unconfirmed_assisted_post_goes_back_to_its_lead_once_when_two_processes_tick(
    db: TestDb,
) {
    use gopy::announce::broadcast::{Action, act, create};
    use gopy::store::announce::{Audience, DeliveryResult, NewAssistedGroup, Schedule};
    let store = db.store.clone();
    common::campaign_with_official_and_approver(&store).await;
    let lead = store.staff_by_name("lan").await.unwrap().expect("lan");
    db.execute(&format!(
        "UPDATE staff_users SET zalo_user_id = 'lan-zalo' WHERE id = {}",
        lead.id
    ))
    .await
    .unwrap();
    for title in ["Nhóm A", "Nhóm B", "Nhóm C"] {
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
    let audience = Audience {
        units: vec!["TDP-1".to_owned()],
        subunits: false,
        groups: vec![],
        residents: false,
    };
    let b = create(
        &store,
        "lan",
        "Thông báo họp tổ dân phố.",
        audience,
        None,
        now(),
    )
    .await
    .unwrap();
    act(&store, b.id, "lan", Action::Submit, now())
        .await
        .unwrap();
    act(&store, b.id, "minh", Action::Approve, now())
        .await
        .unwrap();
    act(&store, b.id, "lan", Action::Schedule(Schedule::Now), now())
        .await
        .unwrap();
    let t = now();
    let claimed = store
        .claim_deliveries("zalo", "w", 10, None, t + Duration::minutes(1), t)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 3);
    let sent: Vec<_> = claimed
        .iter()
        .map(|d| {
            (
                d.id,
                DeliveryResult::Sent {
                    message: format!("m{}", d.id),
                    at: t,
                },
            )
        })
        .collect();
    store.finish_deliveries(&sent, t).await.unwrap();
    // A day later the two processes tick at the same moment (by day: 10:00 in Vietnam).
    let other = second(&db).await;
    let l10n = gopy::i18n::Localizer::new().unwrap();
    let day = t.date_naive() + chrono::Days::new(2);
    let later = day.and_hms_opt(3, 0, 0).expect("time").and_utc();
    let (a, b, c, d) = tokio::join!(
        gopy::announce::reminders::tick(&store, &l10n, later),
        gopy::announce::reminders::tick(&other, &l10n, later),
        store.remind_unconfirmed(later - Duration::hours(24), later),
        other.remind_unconfirmed(later - Duration::hours(24), later),
    );
    a.unwrap();
    b.unwrap();
    let _ = (c.unwrap(), d.unwrap());
    assert_eq!(
        db.int("SELECT count(*) FROM audit_log WHERE action = 'delivery.remind_lead'")
            .await,
        3,
        "each unconfirmed post goes back to its lead once"
    );
    assert_eq!(
        db.int(
            "SELECT count(*) FROM deliveries WHERE reminded_at IS NOT NULL AND state = 'pending'"
        )
        .await,
        3
    );
}

/// A `gopy serve` child process, killed when dropped.
struct Gopy(Child);

impl Gopy {
    fn start(url: &str) -> Self {
        let child = Command::new(env!("CARGO_BIN_EXE_gopy"))
            .arg("serve")
            .env("DATABASE_URL", url)
            .env("GOPY_HTTP_ADDR", "127.0.0.1:0")
            .env("GOPY_DEMO", "off")
            .env("RUST_LOG", "warn")
            .env_remove("TELEGRAM_BOT_TOKEN")
            .env_remove("ZALO_BOT_TOKEN")
            .env_remove("ZALO_OA_APP_ID")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start gopy");
        Self(child)
    }
}

impl Drop for Gopy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn story_two_gopy_processes_start_and_housekeeping_runs_once(db: TestDb) {
    campaign_past_retention(db.store.as_ref(), 5).await;
    // Both start at once; each runs housekeeping as it starts, in its turn.
    let a = Gopy::start(&db.url);
    let b = Gopy::start(&db.url);
    let deadline = std::time::Instant::now() + StdDuration::from_secs(30);
    while db
        .int("SELECT count(*) FROM job_runs WHERE job = 'housekeeping'")
        .await
        == 0
    {
        assert!(
            std::time::Instant::now() < deadline,
            "housekeeping never ran"
        );
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    // Give the second process time to ask too.
    tokio::time::sleep(StdDuration::from_secs(2)).await;
    drop((a, b));
    assert_eq!(
        db.int("SELECT count(*) FROM audit_log WHERE action = 'retention.purge'")
            .await,
        1,
        "one process purged"
    );
    assert_eq!(db.int("SELECT count(*) FROM identities").await, 0);
}

async fn story_a_shared_counter_counts_every_event_and_refuses_past_its_limit(db: TestDb) {
    let other = second(&db).await;
    // A whole window, well inside it: nothing carried from the previous one.
    let t = chrono::DateTime::<chrono::Utc>::from_timestamp(WHOLE_HOUR + 60, 0).expect("time");
    for i in 0..6 {
        let store = if i % 2 == 0 { &db.store } else { &other };
        let c = store
            .count_event("k", t, Duration::hours(1), None)
            .await
            .unwrap();
        assert!(c.taken);
        assert_eq!(
            c.estimate,
            i + 1,
            "every event counted, whichever process saw it"
        );
    }
    let capped = |store: Arc<dyn Store>| async move {
        store
            .count_event("cap", t, Duration::hours(1), Some(3))
            .await
            .unwrap()
            .taken
    };
    let taken = futures::future::join_all((0..10).map(|i| {
        capped(if i % 2 == 0 {
            db.store.clone()
        } else {
            other.clone()
        })
    }))
    .await
    .into_iter()
    .filter(|t| *t)
    .count();
    assert_eq!(taken, 3, "never more than the limit, even asked at once");
    // Half-way through the next window, half of the last one still counts.
    let next = t + Duration::minutes(89);
    let c = other
        .count_event("cap", next, Duration::hours(1), Some(3))
        .await
        .unwrap();
    assert!(c.taken, "1.5 carried, rounded up to 2, plus this one: 3");
    assert!(
        !other
            .count_event("cap", next, Duration::hours(1), Some(3))
            .await
            .unwrap()
            .taken
    );
    assert_eq!(
        db.store
            .forget_counters(next - Duration::hours(1))
            .await
            .unwrap(),
        2,
        "the first window's two keys"
    );
}

/// A post by `author` in a group, through some process.
fn post(author: &str, n: u32, at: chrono::DateTime<chrono::Utc>) -> GroupPost {
    GroupPost {
        channel: Channel::Telegram,
        chat_id: "-100777".to_owned(),
        message_id: n.to_string(),
        author_platform_id: author.to_owned(),
        author: None,
        text: "xin chào cả nhà".to_owned(),
        forwarded: false,
        at,
    }
}

fn settings(flood: usize, cap: usize) -> GroupSettings {
    GroupSettings {
        flood_per_minute: flood,
        auto_actions_per_hour: cap,
        ..GroupSettings::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(gopy_pg),
    ignore = "set TEST_DATABASE_URL to run the Postgres half"
)]
async fn postgres_the_flood_limit_and_the_cap_hold_across_two_processes() {
    let db = TestDb::postgres().await;
    let other = second(&db).await;
    let (a, b) = (Limits::new(settings(4, 3)), Limits::new(settings(4, 3)));
    // Within one minute, a resident's posts reach the two replicas alternately: four are
    // allowed, the fifth is flooding, although neither replica saw more than three.
    let t = chrono::DateTime::<chrono::Utc>::from_timestamp(WHOLE_HOUR + 1, 0).expect("time");
    let mut flagged = Vec::new();
    for n in 0..6u32 {
        let at = t + Duration::seconds(i64::from(n) * 5);
        let (limits, store) = if n % 2 == 0 {
            (&a, &db.store)
        } else {
            (&b, &other)
        };
        flagged.push(
            limits
                .flooding(store.as_ref(), &post("4242", n, at))
                .await
                .unwrap(),
        );
    }
    assert_eq!(flagged, [None, None, None, None, Some(5), Some(6)]);
    // Another resident in the same group is counted apart.
    assert_eq!(
        a.flooding(db.store.as_ref(), &post("4243", 9, t))
            .await
            .unwrap(),
        None
    );
    // No platform id is stored in clear.
    assert_eq!(
        db.int("SELECT count(*) FROM rate_windows WHERE key LIKE '%4242%' OR key LIKE '%100777%'")
            .await,
        0
    );

    // The cap of three automatic hides an hour holds for both replicas together.
    let hides = futures::future::join_all((0..8).map(|i| {
        let (limits, store) = if i % 2 == 0 {
            (&a, &db.store)
        } else {
            (&b, &other)
        };
        limits.take_action(store.as_ref(), t)
    }))
    .await
    .into_iter()
    .map(Result::unwrap)
    .filter(|ok| *ok)
    .count();
    assert_eq!(hides, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_flood_control_and_the_cap_stay_in_memory_for_the_one_process() {
    let db = TestDb::sqlite().await;
    let limits = Limits::new(settings(2, 1));
    let t = now();
    let mut flagged = Vec::new();
    for n in 0..3u32 {
        flagged.push(
            limits
                .flooding(
                    db.store.as_ref(),
                    &post("4242", n, t + Duration::seconds(i64::from(n))),
                )
                .await
                .unwrap(),
        );
    }
    assert_eq!(flagged, [None, None, Some(3)]);
    assert!(limits.take_action(db.store.as_ref(), t).await.unwrap());
    assert!(!limits.take_action(db.store.as_ref(), t).await.unwrap());
    assert_eq!(
        db.int("SELECT count(*) FROM rate_windows").await,
        0,
        "nothing written for the one process"
    );
}
