//! The dialog shell against a real store: a random opinion reference that collides with a
//! stored one must not cost the resident their opinion (the step is rolled back and run again
//! with fresh codes, and the resident sees one normal acknowledgement), and a batch of steps
//! in one transaction is all or nothing.

mod common;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::TestDb;
use gopy::dialog::{Input, Reply};
use gopy::domain::{Channel, ContactKey, Identity};
use gopy::service::{Dialogs, Inbound, system_clock};

/// One input from the test resident on a channel with buttons.
fn inbound(input: Input, update: u64) -> Inbound {
    inbound_from("4242", input, update)
}

/// One input from a resident on a channel with buttons.
fn inbound_from(resident: &str, input: Input, update: u64) -> Inbound {
    Inbound {
        update_key: Some(update.to_string()),
        contact: ContactKey {
            channel: Channel::Telegram,
            external_id: resident.to_owned(),
        },
        identity: Identity::default(),
        locale_hint: None,
        input,
        has_buttons: true,
    }
}

/// The button of the last reply whose action starts with `action`.
fn button(replies: &[Reply], action: &str) -> Input {
    let data = replies
        .iter()
        .rev()
        .flat_map(|r| r.choices.iter())
        .map(|c| c.data.clone())
        .find(|d| {
            d.split_once(':')
                .is_some_and(|(_, a)| a.starts_with(action))
        })
        .unwrap_or_else(|| panic!("no {action} button in {replies:#?}"));
    Input::Button(data)
}

async fn story_a_colliding_reference_is_drawn_again(db: TestDb) {
    let campaign = common::sample_campaign("va-cham", common::now());
    db.store.insert_campaign(&campaign).await.expect("campaign");
    // Every code is "AAAAAA" while `forced` is above zero, then unique codes.
    let forced = Arc::new(AtomicUsize::new(usize::MAX));
    let next = Arc::new(AtomicUsize::new(0));
    let (f, n) = (forced.clone(), next.clone());
    let dialogs = Dialogs::new(db.store.clone(), system_clock())
        .await
        .expect("shell")
        .with_codes(Arc::new(move |_| {
            let left = f.load(Ordering::SeqCst);
            if left > 0 {
                if left != usize::MAX {
                    f.store(left - 1, Ordering::SeqCst);
                }
                "AAAAAA".to_owned()
            } else {
                format!("Z{:05}", n.fetch_add(1, Ordering::SeqCst))
            }
        }));

    let mut update = 0;
    let mut step = |input: Input| {
        update += 1;
        let ev = inbound(input, update);
        let dialogs = dialogs.clone();
        async move { dialogs.handle(&ev).await.expect("the step succeeds") }
    };
    let r = step(Input::from_text("/start")).await;
    let r = step(button(&r, "anon")).await;
    let r = step(button(&r, "u:")).await;
    let r = step(button(&r, "gskip")).await;
    let r = step(button(&r, "notices:off")).await;
    let r = step(button(&r, "t:")).await;
    assert!(!r.is_empty());
    step(Input::Text("Ý kiến thứ nhất.".to_owned())).await;
    // The next step's first reference collides with the stored "AAAAAA"; its receipt code
    // is drawn "AAAAAA" too; the retry draws unique codes.
    forced.store(2, Ordering::SeqCst);
    let ack = step(Input::Text("Ý kiến thứ hai.".to_owned())).await;
    assert_eq!(ack.len(), 1, "one acknowledgement, no error: {ack:#?}");
    assert_eq!(
        db.strings("SELECT reference FROM opinions ORDER BY id")
            .await,
        vec!["AAAAAA".to_owned(), "Z00000".to_owned()]
    );
    assert_eq!(
        db.strings("SELECT text FROM opinions ORDER BY id").await,
        vec!["Ý kiến thứ nhất.".to_owned(), "Ý kiến thứ hai.".to_owned()]
    );
}

#[tokio::test]
async fn sqlite_a_colliding_reference_is_drawn_again() {
    story_a_colliding_reference_is_drawn_again(TestDb::sqlite().await).await;
}

#[tokio::test]
#[cfg_attr(
    not(gopy_pg),
    ignore = "set TEST_DATABASE_URL to run the Postgres half"
)]
async fn postgres_a_colliding_reference_is_drawn_again() {
    story_a_colliding_reference_is_drawn_again(TestDb::postgres().await).await;
}

/// Codes handed out from a queue the test fills, then unique ones.
fn queued_codes() -> (Arc<Mutex<VecDeque<String>>>, gopy::service::CodeSource) {
    let queue = Arc::new(Mutex::new(VecDeque::<String>::new()));
    let next = Arc::new(AtomicUsize::new(0));
    let q = queue.clone();
    let source: gopy::service::CodeSource = Arc::new(move |_| {
        q.lock()
            .expect("codes")
            .pop_front()
            .unwrap_or_else(|| format!("Q{:05}", next.fetch_add(1, Ordering::SeqCst)))
    });
    (queue, source)
}

async fn story_a_batch_is_all_or_nothing(db: TestDb) {
    let campaign = common::sample_campaign("lo", common::now());
    db.store.insert_campaign(&campaign).await.expect("campaign");
    let (codes, source) = queued_codes();
    let dialogs = Dialogs::new(db.store.clone(), system_clock())
        .await
        .expect("shell")
        .with_codes(source);

    // Two residents, each brought one by one to the first topic.
    let mut update = 0;
    for resident in ["501", "502"] {
        update += 1;
        let mut r = dialogs
            .handle(&inbound_from(resident, Input::from_text("/start"), update))
            .await
            .expect("start");
        for action in ["anon", "u:", "gskip", "notices:off", "t:"] {
            update += 1;
            r = dialogs
                .handle(&inbound_from(resident, button(&r, action), update))
                .await
                .expect("step");
        }
        assert!(!r.is_empty());
    }
    let state_of = |id: &'static str| {
        let store = db.store.clone();
        async move {
            let key = ContactKey {
                channel: Channel::Telegram,
                external_id: id.to_owned(),
            };
            let c = store
                .find_contact(&key)
                .await
                .expect("read")
                .expect("contact");
            store
                .dialog_state(c.id)
                .await
                .expect("read")
                .expect("state")
        }
    };

    // One batch: both residents, the first one twice (its second step must see the state
    // its first step saved in the same transaction), and a redelivery of an update.
    let first = inbound_from("501", Input::Text("Ý kiến một.".to_owned()), 100);
    let batch = [
        first.clone(),
        inbound_from("502", Input::Text("Ý kiến hai.".to_owned()), 101),
        inbound_from("501", Input::Text("Ý kiến ba.".to_owned()), 102),
        first,
    ];
    codes.lock().expect("codes").push_back("AAAAAA".to_owned());
    let refs: Vec<&Inbound> = batch.iter().collect();
    let replies = dialogs
        .handle_together(&refs)
        .await
        .expect("the batch commits");
    assert_eq!(replies.len(), 4);
    for (i, r) in replies.iter().take(3).enumerate() {
        assert_eq!(r.len(), 1, "step {i} is acknowledged once: {r:#?}");
    }
    assert!(
        replies[3].is_empty(),
        "a redelivered update is processed once"
    );
    assert_eq!(
        db.strings("SELECT text FROM opinions ORDER BY id").await,
        ["Ý kiến một.", "Ý kiến hai.", "Ý kiến ba."].map(str::to_owned)
    );
    let after_batch = state_of("501").await;

    // A batch whose second step draws a reference that is stored already: nothing of the
    // batch is kept, not even the first step, and the states are as before.
    let batch = vec![
        inbound_from("502", Input::Text("Ý kiến bốn.".to_owned()), 103),
        inbound_from("501", Input::Text("Ý kiến năm.".to_owned()), 104),
    ];
    {
        let mut q = codes.lock().expect("codes");
        q.extend(["BBBBBB", "RRRRRR", "AAAAAA", "RRRRRS"].map(str::to_owned));
    }
    let b502 = state_of("502").await;
    let refs: Vec<&Inbound> = batch.iter().collect();
    let failed = dialogs.handle_together(&refs).await;
    assert!(failed.is_err(), "the collision fails the batch");
    assert_eq!(db.int("SELECT count(*) FROM opinions").await, 3);
    assert_eq!(state_of("501").await, after_batch);
    assert_eq!(state_of("502").await, b502);
    // The caller then runs them one by one; the collision is drawn again.
    codes.lock().expect("codes").push_back("AAAAAA".to_owned());
    for ev in &batch {
        let r = dialogs.handle(ev).await.expect("one by one");
        assert_eq!(r.len(), 1, "{r:#?}");
    }
    assert_eq!(
        db.strings("SELECT text FROM opinions ORDER BY id").await,
        [
            "Ý kiến một.",
            "Ý kiến hai.",
            "Ý kiến ba.",
            "Ý kiến bốn.",
            "Ý kiến năm."
        ]
        .map(str::to_owned)
    );

    // `handle_batch` splits a batch by resident (several transactions on Postgres): a step
    // that cannot be committed leaves its resident's steps uncommitted (`None`), for the
    // caller to run one by one; committed ones come back with their replies.
    let batch = vec![
        inbound_from("501", Input::Text("Ý kiến sáu.".to_owned()), 105),
        inbound_from("502", Input::Text("Ý kiến bảy.".to_owned()), 106),
        inbound_from("501", Input::Text("Ý kiến tám.".to_owned()), 107),
    ];
    codes
        .lock()
        .expect("codes")
        .extend(std::iter::repeat_n("AAAAAA".to_owned(), 6));
    let out = dialogs.handle_batch(&batch).await;
    assert_eq!(out, vec![None, None, None], "every step collided");
    assert_eq!(db.int("SELECT count(*) FROM opinions").await, 5);
    codes.lock().expect("codes").clear();
    let out = dialogs.handle_batch(&batch).await;
    assert!(
        out.iter().all(|r| r.as_ref().is_some_and(|r| r.len() == 1)),
        "{out:#?}"
    );
    assert_eq!(db.int("SELECT count(*) FROM opinions").await, 8);
}

#[tokio::test]
async fn sqlite_a_batch_is_all_or_nothing() {
    story_a_batch_is_all_or_nothing(TestDb::sqlite().await).await;
}

#[tokio::test]
#[cfg_attr(
    not(gopy_pg),
    ignore = "set TEST_DATABASE_URL to run the Postgres half"
)]
async fn postgres_a_batch_is_all_or_nothing() {
    story_a_batch_is_all_or_nothing(TestDb::postgres().await).await;
}
