//! Identity across channels through the real dialog service, on SQLite and Postgres: a
//! resident on Telegram and on Zalo links their two contacts with a one-time code typed on
//! the other channel; wrong, expired, reused and own codes are refused with a clear message;
//! the synthesis then counts them once while each opinion keeps its channel and contact;
//! `/lienket huy` and `/delete_me` undo the link, every change audited with contact ids only.
//! And the announcements question asked once after consent stores the subscription.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::Duration;
use common::{TestDb, story};
use gopy::dialog::{Arg, Input, Reply};
use gopy::domain::{Channel, ContactKey, Identity};
use gopy::i18n::{Localizer, Markup};
use gopy::service::{Clock, Dialogs, Inbound};

/// One resident on one channel, driving the real service.
struct Resident {
    /// The channel and the platform's id.
    key: ContactKey,
    /// Whether the channel shows buttons (Telegram) or numbered choices (Zalo).
    buttons: bool,
    /// The display name the platform gives (never copied by a link).
    name: &'static str,
    /// The replies to the last step.
    last: Vec<Reply>,
}

/// The test's shell, its clock offset (seconds) and a counter of update keys.
struct World {
    dialogs: Dialogs,
    offset: Arc<AtomicI64>,
    update: u64,
}

impl World {
    async fn new(db: &TestDb) -> World {
        let offset = Arc::new(AtomicI64::new(0));
        let o = offset.clone();
        let clock: Clock =
            Arc::new(move || chrono::Utc::now() + Duration::seconds(o.load(Ordering::SeqCst)));
        let dialogs = Dialogs::new(db.store.clone(), clock)
            .await
            .expect("the dialog shell");
        World {
            dialogs,
            offset,
            update: 0,
        }
    }

    /// Sends one input as `who` and keeps the replies.
    async fn send(&mut self, who: &mut Resident, input: Input) -> Vec<String> {
        self.update += 1;
        let ev = Inbound {
            update_key: Some(format!("{}-{}", who.key.external_id, self.update)),
            contact: who.key.clone(),
            identity: Identity {
                display_name: Some(who.name.to_owned()),
                username: None,
            },
            locale_hint: None,
            input,
            has_buttons: who.buttons,
        };
        who.last = self.dialogs.handle(&ev).await.expect("the step succeeds");
        keys(&who.last)
    }

    /// Types a text (a command or an answer).
    async fn say(&mut self, who: &mut Resident, text: &str) -> Vec<String> {
        self.send(who, Input::from_text(text)).await
    }

    /// Chooses the option whose action starts with `action`: the button on Telegram, its
    /// number typed on Zalo.
    async fn choose(&mut self, who: &mut Resident, action: &str) -> Vec<String> {
        let choices: Vec<String> = who
            .last
            .iter()
            .rev()
            .find(|r| !r.choices.is_empty())
            .map(|r| r.choices.iter().map(|c| c.data.clone()).collect())
            .unwrap_or_default();
        let at = choices
            .iter()
            .position(|d| {
                d.split_once(':')
                    .is_some_and(|(_, a)| a.starts_with(action))
            })
            .unwrap_or_else(|| panic!("no {action} among {choices:?}: {:#?}", who.last));
        let input = if who.buttons {
            Input::Button(choices[at].clone())
        } else {
            Input::Text((at + 1).to_string())
        };
        self.send(who, input).await
    }
}

/// The message ids of the replies, in order.
fn keys(replies: &[Reply]) -> Vec<String> {
    replies
        .iter()
        .flat_map(|r| r.paragraphs.iter().map(|m| m.key.clone()))
        .collect()
}

/// The link code shown in the replies.
fn code_in(replies: &[Reply]) -> String {
    replies
        .iter()
        .flat_map(|r| r.paragraphs.iter())
        .filter(|m| m.key == "link-code")
        .flat_map(|m| m.args.iter())
        .find_map(|(name, arg)| match (name.as_str(), arg) {
            ("code", Arg::Text(code)) => Some(code.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no link code in {replies:#?}"))
}

fn resident(channel: Channel, id: &str, name: &'static str) -> Resident {
    Resident {
        key: ContactKey {
            channel,
            external_id: id.to_owned(),
        },
        buttons: channel == Channel::Telegram,
        name,
        last: Vec::new(),
    }
}

/// Consents (named), picks a unit, skips the group, answers the announcements question,
/// gives one opinion and submits it.
async fn take_part(world: &mut World, who: &mut Resident, notices: &str, opinion: &str) {
    world.say(who, "/start").await;
    world.choose(who, "named").await;
    world.choose(who, "u:").await;
    let shown = world.choose(who, "gskip").await;
    assert!(shown.contains(&"notices-ask".to_owned()), "{shown:?}");
    let shown = world.choose(who, notices).await;
    assert!(shown.contains(&"menu-header".to_owned()), "{shown:?}");
    world.choose(who, "t:").await;
    world.say(who, opinion).await;
    world.choose(who, "menu").await;
    world.choose(who, "review").await;
    let shown = world.choose(who, "submit").await;
    assert!(shown.contains(&"receipt".to_owned()), "{shown:?}");
}

async fn participants(db: &TestDb, campaign: i64) -> i64 {
    db.store
        .synthesis_aggregates(campaign, None)
        .await
        .expect("the synthesis aggregates")
        .participants
}

async fn story_a_resident_links_telegram_and_zalo_and_counts_once(db: TestDb) {
    let campaign = db
        .store
        .insert_campaign(&common::sample_campaign("lien-ket", common::now()))
        .await
        .expect("campaign");
    let mut world = World::new(&db).await;
    let mut tg = resident(Channel::Telegram, "7001", "Nguyễn Văn An");
    let mut zl = resident(Channel::Zalo, "z-8001", "An Nguyễn");
    let mut oa = resident(Channel::Zalo, "oa-9001", "Trần Thị Bình");

    // Consent, then the announcements question once: yes on Telegram, no (typed) on Zalo.
    take_part(
        &mut world,
        &mut tg,
        "notices:on",
        "Cần nâng cấp đường ngõ 5.",
    )
    .await;
    take_part(
        &mut world,
        &mut zl,
        "notices:off",
        "Nên thu gom rác buổi tối.",
    )
    .await;
    assert_eq!(
        db.strings(
            "SELECT c.channel || ':' || CASE WHEN n.subscribed THEN 'on' ELSE 'off' END \
             FROM resident_notices n JOIN contacts c ON c.id = n.contact_id ORDER BY c.channel"
        )
        .await,
        vec!["telegram:on".to_owned(), "zalo:off".to_owned()]
    );
    assert_eq!(participants(&db, campaign).await, 2);

    // A code from Telegram; a wrong one on Zalo is refused, the right one links.
    let shown = world.say(&mut tg, "/lienket").await;
    assert!(shown.contains(&"link-code".to_owned()), "{shown:?}");
    let code = code_in(&tg.last);
    let text = Localizer::new()
        .expect("locales")
        .reply(&tg.last[0], Markup::Plain, false)
        .text;
    assert!(
        text.contains(&code) && text.contains("15 phút") && text.contains("giữ nguyên kênh gửi"),
        "{text}"
    );
    assert_eq!(
        db.int("SELECT count(*) FROM contact_link_codes").await,
        1,
        "the code is kept"
    );
    assert!(
        db.strings("SELECT code_hash FROM contact_link_codes")
            .await
            .iter()
            .all(|h| h.len() == 64 && !h.contains(&code)),
        "only its hash"
    );
    let shown = world.say(&mut zl, "/lienket ZZZZZ9").await;
    assert!(shown.contains(&"link-unknown".to_owned()), "{shown:?}");
    let shown = world.say(&mut tg, &format!("/lienket {code}")).await;
    assert!(shown.contains(&"link-own-code".to_owned()), "{shown:?}");
    let typed = format!("/lienket {}", code.to_lowercase());
    let shown = world.say(&mut zl, &typed).await;
    assert!(shown.contains(&"link-done".to_owned()), "{shown:?}");
    assert_eq!(
        db.int("SELECT count(DISTINCT person_id) FROM contact_links")
            .await,
        1
    );
    assert_eq!(db.int("SELECT count(*) FROM contact_links").await, 2);

    // Counted once; each opinion keeps its channel and its own contact; no name copied.
    assert_eq!(participants(&db, campaign).await, 1);
    assert_eq!(
        db.strings("SELECT channel FROM opinions ORDER BY id").await,
        vec!["telegram".to_owned(), "zalo".to_owned()]
    );
    assert_eq!(
        db.int("SELECT count(DISTINCT contact_id) FROM opinions")
            .await,
        2
    );
    assert_eq!(
        db.strings("SELECT display_name FROM identities ORDER BY contact_id")
            .await,
        vec!["Nguyễn Văn An".to_owned(), "An Nguyễn".to_owned()]
    );

    // The code works once: a third contact is told it was used.
    world.say(&mut oa, "/start").await;
    let shown = world.say(&mut oa, &typed).await;
    assert!(shown.contains(&"link-used".to_owned()), "{shown:?}");
    assert_eq!(db.int("SELECT count(*) FROM contact_links").await, 2);

    // A code not used within 15 minutes has expired.
    world.say(&mut oa, "/lienket").await;
    let late = code_in(&oa.last);
    world.offset.store(16 * 60, Ordering::SeqCst);
    let shown = world.say(&mut zl, &format!("/link_account {late}")).await;
    assert!(shown.contains(&"link-expired".to_owned()), "{shown:?}");
    assert_eq!(db.int("SELECT count(*) FROM contact_links").await, 2);

    // Already linked: said so, nothing changes.
    world.say(&mut tg, "/lienket").await;
    let again = code_in(&tg.last);
    assert!(keys(&tg.last).contains(&"link-status-linked".to_owned()));
    let shown = world.say(&mut zl, &format!("/lienket {again}")).await;
    assert!(shown.contains(&"link-already".to_owned()), "{shown:?}");

    // Unlink from Zalo: the person goes, both count again.
    let shown = world.say(&mut zl, "/lienket huy").await;
    assert!(shown.contains(&"link-removed".to_owned()), "{shown:?}");
    assert_eq!(db.int("SELECT count(*) FROM contact_links").await, 0);
    assert_eq!(db.int("SELECT count(*) FROM linked_persons").await, 0);
    assert_eq!(participants(&db, campaign).await, 2);
    let shown = world.say(&mut zl, "/link_account off").await;
    assert!(shown.contains(&"link-none".to_owned()), "{shown:?}");

    // Linked again, then /delete_me on Telegram offers to undo only the link, and erasing
    // takes the link with the contact.
    world.say(&mut zl, "/lienket").await;
    let fresh = code_in(&zl.last);
    let shown = world.say(&mut tg, &format!("/lienket {fresh}")).await;
    assert!(shown.contains(&"link-done".to_owned()), "{shown:?}");
    let shown = world.say(&mut tg, "/delete_me").await;
    assert!(shown.contains(&"delete-linked".to_owned()), "{shown:?}");
    let shown = world.choose(&mut tg, "unlink").await;
    assert!(shown.contains(&"link-removed".to_owned()), "{shown:?}");
    assert_eq!(db.int("SELECT count(*) FROM contact_links").await, 0);
    world.say(&mut tg, "/lienket").await;
    let last = code_in(&tg.last);
    world.say(&mut zl, &format!("/lienket {last}")).await;
    assert_eq!(db.int("SELECT count(*) FROM contact_links").await, 2);
    world.say(&mut zl, "/delete_me").await;
    let shown = world.choose(&mut zl, "delk").await;
    assert!(shown.contains(&"deleted-kept".to_owned()), "{shown:?}");
    assert_eq!(db.int("SELECT count(*) FROM contact_links").await, 0);
    assert_eq!(db.int("SELECT count(*) FROM linked_persons").await, 0);

    // Every link and unlink is audited, with contact ids and no personal data.
    let audit = db
        .strings(
            "SELECT action || ' ' || CAST(detail AS TEXT) FROM audit_log \
             WHERE action LIKE 'contact.%' ORDER BY id",
        )
        .await;
    let actions: Vec<&str> = audit
        .iter()
        .map(|a| a.split(' ').next().unwrap_or_default())
        .collect();
    assert_eq!(
        actions,
        [
            "contact.link",
            "contact.unlink",
            "contact.link",
            "contact.unlink",
            "contact.link",
            "contact.unlink"
        ],
        "{audit:#?}"
    );
    assert!(
        audit.last().is_some_and(|a| a.contains("erase")),
        "{audit:#?}"
    );
    for entry in &audit {
        for private in ["Nguyễn", "An", "z-8001", "7001", &code] {
            assert!(!entry.contains(private), "{entry} names {private}");
        }
    }
}

story!(
    story_a_resident_links_telegram_and_zalo_and_counts_once,
    sqlite_a_resident_links_telegram_and_zalo_and_counts_once,
    postgres_a_resident_links_telegram_and_zalo_and_counts_once
);

/// Two residents racing to use one code: exactly one links, the other is told it was used.
async fn story_a_code_raced_by_two_contacts_links_once(db: TestDb) {
    db.store
        .insert_campaign(&common::sample_campaign("dua", common::now()))
        .await
        .expect("campaign");
    let mut world = World::new(&db).await;
    let mut tg = resident(Channel::Telegram, "7101", "A");
    world.say(&mut tg, "/lienket").await;
    let code = code_in(&tg.last);
    let step = |id: &str| {
        let ev = Inbound {
            update_key: Some(format!("race-{id}")),
            contact: ContactKey {
                channel: Channel::Zalo,
                external_id: id.to_owned(),
            },
            identity: Identity::default(),
            locale_hint: None,
            input: Input::from_text(&format!("/lienket {code}")),
            has_buttons: false,
        };
        let dialogs = world.dialogs.clone();
        async move { keys(&dialogs.handle(&ev).await.expect("the step succeeds")) }
    };
    let (a, b) = tokio::join!(step("z-1"), step("z-2"));
    let done = |k: &[String]| k.contains(&"link-done".to_owned());
    let used = |k: &[String]| k.contains(&"link-used".to_owned());
    assert!(
        (done(&a) && used(&b)) || (used(&a) && done(&b)),
        "{a:?} / {b:?}"
    );
    assert_eq!(db.int("SELECT count(*) FROM contact_links").await, 2);
    assert_eq!(db.int("SELECT count(*) FROM linked_persons").await, 1);
}

story!(
    story_a_code_raced_by_two_contacts_links_once,
    sqlite_a_code_raced_by_two_contacts_links_once,
    postgres_a_code_raced_by_two_contacts_links_once
);
