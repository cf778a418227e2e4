//! The shared webhook inbox at the store level, on SQLite and (when `TEST_DATABASE_URL` is
//! set) Postgres: a redelivery is a no-op; only the oldest pending delivery of a resident is
//! claimed, and none of theirs while one is leased; a lease that runs out frees the delivery;
//! residents are claimed side by side; processed rows are forgotten.

mod common;

use chrono::Duration;
use gopy::store::inbox::{InboxOutcome, NewDelivery};

use common::{TestDb, story};

const SOURCE: &str = "telegram:42";

fn delivery(seq: i64, chat: &str) -> NewDelivery {
    NewDelivery {
        source: SOURCE.to_owned(),
        event_key: seq.to_string(),
        chat_key: chat.to_owned(),
        seq,
        kind: String::new(),
        body: format!(r#"{{"update_id":{seq}}}"#),
        // A minute back: due at any `now` a story takes, even when a second ticks between.
        received_at: common::now() - Duration::seconds(60),
    }
}

async fn story_claims_follow_each_resident_s_order(db: TestDb) {
    let s = &db.store;
    let now = common::now();
    let lease = now + Duration::seconds(60);
    // Resident "1" has updates 10, 12 (12 arrives first), resident "2" has 11.
    assert!(s.inbox_insert(&delivery(12, "1")).await.unwrap());
    assert!(s.inbox_insert(&delivery(11, "2")).await.unwrap());
    assert!(s.inbox_insert(&delivery(10, "1")).await.unwrap());
    assert!(
        !s.inbox_insert(&delivery(10, "1")).await.unwrap(),
        "a redelivery"
    );
    let mut other = delivery(10, "1");
    other.source = "telegram:43".to_owned();
    assert!(
        s.inbox_insert(&other).await.unwrap(),
        "another bot's update 10"
    );
    assert_eq!(s.inbox_pending(SOURCE).await.unwrap(), 3);

    // One head per resident: 10 for "1" (not 12, stored earlier), 11 for "2".
    let claimed = s.inbox_claim(SOURCE, "a", now, lease, 10).await.unwrap();
    let mut keys: Vec<(String, i64)> = claimed
        .iter()
        .map(|d| (d.chat_key.clone(), d.seq))
        .collect();
    keys.sort();
    assert_eq!(keys, vec![("1".to_owned(), 10), ("2".to_owned(), 11)]);
    assert!(claimed.iter().all(|d| d.attempts == 1 && d.body.is_some()));
    // Nothing more while both are in flight, for another replica too.
    assert!(
        s.inbox_claim(SOURCE, "b", now, lease, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // "1"'s head done: its next one (12) may go, to whoever asks.
    let ten = claimed.iter().find(|d| d.seq == 10).unwrap();
    s.inbox_finish(ten.id, &InboxOutcome::Done, now)
        .await
        .unwrap();
    let next = s.inbox_claim(SOURCE, "b", now, lease, 10).await.unwrap();
    assert_eq!(next.iter().map(|d| d.seq).collect::<Vec<_>>(), vec![12]);

    // A holder still at work moves its leases on; another holder's call moves nothing.
    let held = [next[0].id];
    assert_eq!(
        s.inbox_extend(SOURCE, "nobody", &held, lease)
            .await
            .unwrap(),
        0
    );
    assert_eq!(s.inbox_extend(SOURCE, "b", &held, lease).await.unwrap(), 1);

    // "2"'s holder died: its lease runs out and another replica takes it again.
    assert!(
        s.inbox_claim(SOURCE, "c", now, lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let later = lease + Duration::seconds(1);
    let again = s
        .inbox_claim(SOURCE, "c", later, later + Duration::seconds(60), 10)
        .await
        .unwrap();
    let seqs: Vec<i64> = again.iter().map(|d| d.seq).collect();
    assert!(seqs.contains(&11), "{seqs:?}");
    let eleven = again.iter().find(|d| d.seq == 11).unwrap();
    assert_eq!(eleven.attempts, 2);

    // A retry waits until its time, and keeps the resident's later updates behind it.
    assert!(s.inbox_insert(&delivery(13, "2")).await.unwrap());
    s.inbox_finish(
        eleven.id,
        &InboxOutcome::Retry(later + Duration::seconds(30), "down".to_owned()),
        later,
    )
    .await
    .unwrap();
    let held = s
        .inbox_claim(SOURCE, "d", later, later + Duration::seconds(60), 10)
        .await
        .unwrap();
    assert!(held.iter().all(|d| d.chat_key != "2"), "{held:?}");
    let due = later + Duration::seconds(31);
    let retried = s
        .inbox_claim(SOURCE, "d", due, due + Duration::seconds(60), 10)
        .await
        .unwrap();
    assert!(retried.iter().any(|d| d.seq == 11));
    assert!(retried.iter().all(|d| d.seq != 13));

    // Processed rows drop their body and are forgotten after a while; pending ones never.
    for d in &retried {
        s.inbox_finish(d.id, &InboxOutcome::Done, due)
            .await
            .unwrap();
    }
    assert_eq!(
        db.int("SELECT count(*) FROM webhook_inbox WHERE state = 'done' AND body IS NOT NULL")
            .await,
        0
    );
    let forgotten = s.inbox_forget(due + Duration::days(8)).await.unwrap();
    assert!(forgotten >= 2, "{forgotten}");
    assert!(
        s.inbox_pending(SOURCE).await.unwrap() >= 1,
        "13 is still pending"
    );
}
story!(
    story_claims_follow_each_resident_s_order,
    sqlite_claims_follow_each_resident_s_order,
    postgres_claims_follow_each_resident_s_order
);

/// Many deliveries in one call: each says whether it is new (a key already kept, or given
/// twice in the call, is not); outcomes of a batch are recorded together.
async fn story_many_deliveries_commit_together(db: TestDb) {
    let s = &db.store;
    let now = common::now();
    assert!(s.inbox_insert(&delivery(20, "1")).await.unwrap());
    let batch = vec![
        delivery(21, "1"),
        delivery(20, "1"),
        delivery(22, "2"),
        delivery(21, "1"),
        delivery(23, "3"),
    ];
    assert_eq!(
        s.inbox_insert_many(&batch).await.unwrap(),
        vec![true, false, true, false, true]
    );
    assert!(s.inbox_insert_many(&[]).await.unwrap().is_empty());
    assert_eq!(s.inbox_pending(SOURCE).await.unwrap(), 4);
    let claimed = s
        .inbox_claim(SOURCE, "a", now, now + Duration::seconds(60), 10)
        .await
        .unwrap();
    let mut seqs: Vec<i64> = claimed.iter().map(|d| d.seq).collect();
    seqs.sort();
    assert_eq!(seqs, vec![20, 22, 23], "one head per resident");
    let outcome = |d: &gopy::store::inbox::Delivery| match d.seq {
        22 => InboxOutcome::Retry(now + Duration::seconds(30), "down".to_owned()),
        23 => InboxOutcome::Failed("broken".to_owned()),
        _ => InboxOutcome::Done,
    };
    let outcomes: Vec<_> = claimed.iter().map(|d| (d.id, outcome(d))).collect();
    s.inbox_finish_many(&outcomes, now).await.unwrap();
    assert_eq!(
        db.strings("SELECT event_key || ':' || state || ':' || coalesce(error, '') FROM webhook_inbox ORDER BY seq")
            .await,
        vec!["20:done:", "21:pending:", "22:pending:down", "23:failed:broken"]
    );
    let next = s
        .inbox_claim(SOURCE, "a", now, now + Duration::seconds(60), 10)
        .await
        .unwrap();
    assert_eq!(next.iter().map(|d| d.seq).collect::<Vec<_>>(), vec![21]);
}
story!(
    story_many_deliveries_commit_together,
    sqlite_many_deliveries_commit_together,
    postgres_many_deliveries_commit_together
);

/// Holds the inbox so that nobody else can write it: SQLite's write lock, or on Postgres an
/// exclusive lock on the table, until released (rolled back).
enum Hold {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl Hold {
    async fn begin(db: &TestDb) -> Self {
        use sqlx::Connection as _;
        if db.url.starts_with("sqlite:") {
            let options =
                <sqlx::sqlite::SqliteConnectOptions as std::str::FromStr>::from_str(&db.url)
                    .unwrap();
            let mut conn = sqlx::SqliteConnection::connect_with(&options)
                .await
                .unwrap();
            sqlx::query("BEGIN IMMEDIATE")
                .execute(&mut conn)
                .await
                .unwrap();
            Hold::Sqlite(conn)
        } else {
            let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
            sqlx::query("BEGIN").execute(&mut conn).await.unwrap();
            sqlx::query("LOCK TABLE webhook_inbox IN ACCESS EXCLUSIVE MODE")
                .execute(&mut conn)
                .await
                .unwrap();
            Hold::Postgres(conn)
        }
    }

    async fn release(self) {
        match self {
            Hold::Sqlite(mut c) => {
                sqlx::query("ROLLBACK").execute(&mut c).await.unwrap();
            }
            Hold::Postgres(mut c) => {
                sqlx::query("ROLLBACK").execute(&mut c).await.unwrap();
            }
        }
    }
}

/// The group-commit writer: deliveries handed over at once are each answered only once
/// their row is committed (visible to another connection), a redelivery is recognised;
/// while the database cannot take them the callers are answered "late" (a 503) after the
/// time they gave, and once more are waiting than the writer accepts a new one is refused
/// at once (back-pressure); the database back, a delivery given up is kept once.
async fn story_group_commit_answers_after_commit_and_refuses_when_overloaded(db: TestDb) {
    use gopy::store::inbox::{InboxWriter, Kept, WriterSettings};
    use std::time::{Duration as Std, Instant};
    let writer = InboxWriter::new(db.store.clone());
    let keeps = (0..40).map(|i| {
        let writer = writer.clone();
        let db = &db;
        async move {
            let kept = writer
                .keep(delivery(100 + i, &format!("r{i}")), Std::from_secs(10))
                .await;
            assert_eq!(kept, Kept::New);
            // Answered after the commit: another connection sees the row.
            let sql = format!(
                "SELECT count(*) FROM webhook_inbox WHERE event_key = '{}'",
                100 + i
            );
            assert_eq!(db.int(&sql).await, 1, "{}", 100 + i);
        }
    });
    futures::future::join_all(keeps).await;
    assert_eq!(
        writer.keep(delivery(107, "r7"), Std::from_secs(10)).await,
        Kept::Duplicate
    );
    assert_eq!(db.int("SELECT count(*) FROM webhook_inbox").await, 40);

    // At most 3 waiting; the database held.
    let tight = InboxWriter::with_settings(
        db.store.clone(),
        WriterSettings {
            floor: 3,
            ceiling: 3,
            ..WriterSettings::default()
        },
    );
    let hold = Hold::begin(&db).await;
    // The first is taken into a commit that cannot finish; its caller gives up.
    let started = Instant::now();
    assert_eq!(
        tight.keep(delivery(200, "s0"), Std::from_millis(300)).await,
        Kept::Late
    );
    assert!(started.elapsed() < Std::from_secs(2));
    // Three more wait behind it…
    let waiting: Vec<_> = (1..=3)
        .map(|i| {
            let tight = tight.clone();
            tokio::spawn(async move {
                tight
                    .keep(delivery(200 + i, &format!("s{i}")), Std::from_secs(20))
                    .await
            })
        })
        .collect();
    let deadline = Instant::now() + Std::from_secs(5);
    while tight.waiting() < 3 {
        assert!(Instant::now() < deadline, "three waiting");
        tokio::time::sleep(Std::from_millis(10)).await;
    }
    // …and the next is refused at once.
    let started = Instant::now();
    assert_eq!(
        tight.keep(delivery(204, "s4"), Std::from_secs(20)).await,
        Kept::Busy
    );
    assert!(
        started.elapsed() < Std::from_millis(100),
        "{:?}",
        started.elapsed()
    );
    hold.release().await;
    for w in waiting {
        assert_eq!(
            w.await.unwrap(),
            Kept::New,
            "kept once the database is back"
        );
    }
    // Sent again: the refused one is new; the one given up is kept exactly once (its commit
    // may have gone through after its caller gave up).
    assert_eq!(
        tight.keep(delivery(204, "s4"), Std::from_secs(10)).await,
        Kept::New
    );
    let again = tight.keep(delivery(200, "s0"), Std::from_secs(10)).await;
    assert!(matches!(again, Kept::New | Kept::Duplicate), "{again:?}");
    assert_eq!(
        db.int("SELECT count(*) FROM webhook_inbox WHERE seq BETWEEN 200 AND 204")
            .await,
        5
    );
}
story!(
    story_group_commit_answers_after_commit_and_refuses_when_overloaded,
    sqlite_group_commit_answers_after_commit_and_refuses_when_overloaded,
    postgres_group_commit_answers_after_commit_and_refuses_when_overloaded
);

/// A commit the database refuses is an error for its callers (a 503), never a "kept"; one
/// delivery the database refuses does not cost the others of its batch their answer.
async fn story_a_refused_commit_is_not_kept(db: TestDb) {
    use gopy::store::inbox::{InboxWriter, Kept};
    use std::time::Duration as Std;
    let writer = InboxWriter::new(db.store.clone());
    if db.url.starts_with("sqlite:") {
        // SQLite: the write lock held past the busy timeout (5 s).
        let hold = Hold::begin(&db).await;
        let kept = writer.keep(delivery(300, "t0"), Std::from_secs(20)).await;
        assert!(matches!(kept, Kept::Failed(_)), "{kept:?}");
        hold.release().await;
    } else {
        // Postgres refuses a NUL character in text; the others of the batch are kept.
        let mut bad = delivery(300, "t0");
        bad.body = "{\"a\":\"\0\"}".to_owned();
        let runs = std::iter::once(bad)
            .chain((1..=5).map(|i| delivery(300 + i, &format!("t{i}"))))
            .map(|d| {
                let writer = writer.clone();
                async move { (d.seq, writer.keep(d, Std::from_secs(10)).await) }
            });
        for (seq, kept) in futures::future::join_all(runs).await {
            if seq == 300 {
                assert!(matches!(kept, Kept::Failed(_)), "{kept:?}");
            } else {
                assert_eq!(kept, Kept::New, "{seq}");
            }
        }
    }
    assert_eq!(
        db.int("SELECT count(*) FROM webhook_inbox WHERE event_key = '300'")
            .await,
        0
    );
    assert_eq!(
        writer.keep(delivery(300, "t0"), Std::from_secs(10)).await,
        Kept::New,
        "sent again, it is kept"
    );
}
story!(
    story_a_refused_commit_is_not_kept,
    sqlite_a_refused_commit_is_not_kept,
    postgres_a_refused_commit_is_not_kept
);

/// A delivery committed with a lease is leased only when its holder may process it now:
/// no pending delivery of the resident is held by another replica, left unleased, or to be
/// retried; a resident's later delivery after an unleased one of the same call is not
/// leased either. Redeliveries are still recognised.
async fn story_a_delivery_is_leased_at_commit_only_when_it_may_go_now(db: TestDb) {
    use gopy::store::inbox::{Lease, Stored};
    let s = &db.store;
    let now = common::now();
    let mine = Lease {
        holder: "me".to_owned(),
        now,
        until: now + Duration::seconds(60),
    };
    // "other" holds resident "b"'s delivery; resident "c" has one nobody holds.
    assert!(s.inbox_insert(&delivery(1, "b")).await.unwrap());
    assert!(s.inbox_insert(&delivery(2, "c")).await.unwrap());
    let held = s
        .inbox_claim(SOURCE, "other", now, now + Duration::seconds(60), 1)
        .await
        .unwrap();
    assert_eq!(held.iter().map(|d| d.seq).collect::<Vec<_>>(), vec![1]);
    // Resident "c" has another pending, unleased: claimed by nobody yet.
    let batch = vec![
        delivery(10, "a"),
        delivery(11, "b"),
        delivery(12, "c"),
        delivery(13, "a"),
        delivery(10, "a"),
    ];
    let leases = vec![Some(mine.clone()); batch.len()];
    let stored = s.inbox_keep(&batch, &leases).await.unwrap();
    assert!(matches!(stored[0], Stored::Leased(_)), "{stored:?}");
    assert!(matches!(stored[1], Stored::Kept(_)), "b is held by another");
    assert!(matches!(stored[2], Stored::Kept(_)), "c has one before it");
    assert!(
        matches!(stored[3], Stored::Leased(_)),
        "a's next, after mine"
    );
    assert_eq!(stored[4], Stored::Duplicate);
    assert_eq!(
        db.int("SELECT count(*) FROM webhook_inbox WHERE leased_by = 'me' AND attempts = 1")
            .await,
        2
    );
    // Later: "a" has my deliveries pending, so the next is mine too; a delivery asked with
    // no lease goes to the table, and one of its resident after it in the call too.
    let later = vec![delivery(14, "a"), delivery(20, "d"), delivery(21, "d")];
    let stored = s
        .inbox_keep(&later, &[Some(mine.clone()), None, Some(mine.clone())])
        .await
        .unwrap();
    assert!(matches!(stored[0], Stored::Leased(_)), "{stored:?}");
    assert!(matches!(stored[1], Stored::Kept(_)));
    assert!(
        matches!(stored[2], Stored::Kept(_)),
        "d's next waits behind the unleased one"
    );
    // My lease ran out (I died): the next delivery of "a" is not mine to take.
    let late = Lease {
        now: now + Duration::seconds(120),
        until: now + Duration::seconds(180),
        ..mine
    };
    let stored = s
        .inbox_keep(&[delivery(15, "a")], &[Some(late)])
        .await
        .unwrap();
    assert!(matches!(stored[0], Stored::Kept(_)), "{stored:?}");
    // Another replica's claim never takes a resident I hold.
    let claimed = s
        .inbox_claim(SOURCE, "other", now, now + Duration::seconds(60), 10)
        .await
        .unwrap();
    let mut seqs: Vec<i64> = claimed.iter().map(|d| d.seq).collect();
    seqs.sort();
    assert_eq!(seqs, vec![2, 20], "c's and d's heads; a is mine, b is held");
}
story!(
    story_a_delivery_is_leased_at_commit_only_when_it_may_go_now,
    sqlite_a_delivery_is_leased_at_commit_only_when_it_may_go_now,
    postgres_a_delivery_is_leased_at_commit_only_when_it_may_go_now
);

/// The writer gives what it committed leased to the processor's hand, each resident's in
/// order, and none while no processor has opened the hand.
async fn story_the_writer_hands_deliveries_to_the_processor(db: TestDb) {
    use gopy::store::inbox::{Hand, InboxWriter, Kept};
    use std::time::Duration as Std;
    let writer = InboxWriter::new(db.store.clone());
    let hand = Hand::new();
    assert_eq!(
        writer
            .keep_for(delivery(1, "a"), Some(&hand), Std::from_secs(10))
            .await,
        Kept::New
    );
    assert_eq!(hand.held(), 0, "no processor: kept for the table");
    hand.open(
        "me",
        Duration::seconds(60),
        std::sync::Arc::new(common::now),
    );
    let runs = [2, 3, 4].map(|seq| {
        let writer = writer.clone();
        let hand = hand.clone();
        async move {
            writer
                .keep_for(
                    delivery(seq, &format!("r{seq}")),
                    Some(&hand),
                    Std::from_secs(10),
                )
                .await
        }
    });
    for kept in futures::future::join_all(runs).await {
        assert_eq!(kept, Kept::New);
    }
    assert_eq!(hand.held(), 3);
    let mut taken: Vec<i64> = hand.take(10).iter().map(|d| d.seq).collect();
    taken.sort();
    assert_eq!(taken, vec![2, 3, 4]);
    assert_eq!(
        db.int("SELECT count(*) FROM webhook_inbox WHERE leased_by = 'me'")
            .await,
        3
    );
    // "a" has one in the table: its next is not the hand's.
    assert_eq!(
        writer
            .keep_for(delivery(5, "a"), Some(&hand), Std::from_secs(10))
            .await,
        Kept::New
    );
    assert_eq!(hand.held(), 3);
}
story!(
    story_the_writer_hands_deliveries_to_the_processor,
    sqlite_the_writer_hands_deliveries_to_the_processor,
    postgres_the_writer_hands_deliveries_to_the_processor
);

/// A processor finishing a resident's delivery takes the next one another replica kept
/// meanwhile, in the same transaction: only the head of the chat, only when due, never one
/// another holder leases, never after a retry; the one it takes is not claimed again, and
/// a delivery of a chat it is not told of stays in the table.
async fn story_finishing_a_delivery_follows_the_resident_s_next(db: TestDb) {
    use gopy::store::inbox::{Follow, Lease, Stored};
    let s = &db.store;
    let now = common::now();
    let until = now + Duration::seconds(60);
    let mine = Lease {
        holder: "a".to_owned(),
        now,
        until,
    };
    // Replica "a" holds residents r1..r4's first deliveries (leased at commit).
    let firsts: Vec<_> = ["r1", "r2", "r3", "r4"]
        .iter()
        .enumerate()
        .map(|(i, c)| delivery(i as i64 + 1, c))
        .collect();
    let stored = s
        .inbox_keep(&firsts, &vec![Some(mine.clone()); firsts.len()])
        .await
        .unwrap();
    let ids: Vec<i64> = stored
        .iter()
        .map(|st| match st {
            Stored::Leased(id) => *id,
            other => panic!("{other:?}"),
        })
        .collect();
    // While "a" processes them, replica "b" keeps each resident's next ones (r1 two, r2 one,
    // r3 one not due yet, r4 none) and one of a resident "a" never had.
    let theirs = Lease {
        holder: "b".to_owned(),
        ..mine.clone()
    };
    let mut later = vec![delivery(11, "r1"), delivery(12, "r1"), delivery(13, "r2")];
    let mut not_due = delivery(14, "r3");
    not_due.received_at = now + Duration::seconds(30);
    later.push(not_due);
    later.push(delivery(15, "r5"));
    let stored = s
        .inbox_keep(&later, &vec![Some(theirs); later.len()])
        .await
        .unwrap();
    assert!(
        stored[..4].iter().all(|st| matches!(st, Stored::Kept(_))),
        "behind a's: {stored:?}"
    );
    assert!(matches!(stored[4], Stored::Leased(_)), "r5 is b's own");
    // "a" finishes: r1 and r2 done, r3 given up, r4 to be retried.
    let outcomes = vec![
        (ids[0], InboxOutcome::Done),
        (ids[1], InboxOutcome::Done),
        (ids[2], InboxOutcome::Failed("broken".to_owned())),
        (ids[3], InboxOutcome::Retry(now, "down".to_owned())),
    ];
    let follow = Follow {
        source: SOURCE.to_owned(),
        holder: "a".to_owned(),
        chats: vec!["r1".into(), "r2".into(), "r3".into(), "r5".into()],
        until,
    };
    let followed = s
        .inbox_finish_following(&outcomes, now, Some(&follow))
        .await
        .unwrap();
    let got: Vec<(String, i64)> = followed
        .iter()
        .map(|d| (d.chat_key.clone(), d.seq))
        .collect();
    assert_eq!(
        got,
        vec![("r1".to_owned(), 11), ("r2".to_owned(), 13)],
        "r1's head only, r3's not due, r5 is b's"
    );
    assert!(followed.iter().all(|d| d.attempts == 1 && d.body.is_some()));
    assert_eq!(
        db.int("SELECT count(*) FROM webhook_inbox WHERE leased_by = 'a' AND state = 'pending'")
            .await,
        2
    );
    // Another replica's claim takes neither (held), nor r1's 12 (behind a held one); r4's
    // retry is due now, and nothing else.
    let claimed = s.inbox_claim(SOURCE, "c", now, until, 10).await.unwrap();
    assert_eq!(
        claimed.iter().map(|d| d.seq).collect::<Vec<_>>(),
        vec![4],
        "only r4's retry"
    );
    // Finishing with nothing to follow records the outcomes alone.
    let none = s
        .inbox_finish_following(&[(followed[0].id, InboxOutcome::Done)], now, None)
        .await
        .unwrap();
    assert!(none.is_empty());
    let next = s.inbox_claim(SOURCE, "c", now, until, 10).await.unwrap();
    assert_eq!(next.iter().map(|d| d.seq).collect::<Vec<_>>(), vec![12]);
}
story!(
    story_finishing_a_delivery_follows_the_resident_s_next,
    sqlite_finishing_a_delivery_follows_the_resident_s_next,
    postgres_finishing_a_delivery_follows_the_resident_s_next
);
