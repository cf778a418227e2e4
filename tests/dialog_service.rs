//! The dialog shell against a real store: a random opinion reference that collides with a
//! stored one must not cost the resident their opinion. The step is rolled back and run again
//! with fresh codes, and the resident sees one normal acknowledgement.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::TestDb;
use gopy::dialog::{Input, Reply};
use gopy::domain::{Channel, ContactKey, Identity};
use gopy::service::{Dialogs, Inbound, system_clock};

/// One input from the test resident on a channel with buttons.
fn inbound(input: Input, update: u64) -> Inbound {
    Inbound {
        update_key: Some(update.to_string()),
        contact: ContactKey {
            channel: Channel::Telegram,
            external_id: "4242".to_owned(),
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
