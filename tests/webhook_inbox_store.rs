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
        received_at: common::now(),
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
    assert_eq!(s.inbox_extend(SOURCE, "nobody", lease).await.unwrap(), 0);
    assert_eq!(s.inbox_extend(SOURCE, "b", lease).await.unwrap(), 1);

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
