//! The Telegram adapter against the fake Bot API server.
//!
//! - `adapter`: the bot driven by a scripted dialog handler, to check the mechanics that do not
//!   depend on the dialog: start-up calls, offsets confirmed only after a batch is handled,
//!   per-resident order, callback answers, group `/start`, Telegram's errors, shutdown.

mod fake_telegram;

mod adapter {
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use async_trait::async_trait;
    use gopy::channels::telegram::{Handler, TelegramBot};
    use gopy::dialog::{Choice, Command, Input, MediaKind, Msg, Reply};
    use gopy::domain::{Channel, Locale};
    use gopy::i18n::{Localizer, Markup};
    use gopy::service::{Inbound, ServiceError};
    use gopy::store::StoreError;
    use serde_json::json;
    use tokio::sync::Semaphore;
    use tokio_util::sync::CancellationToken;

    use crate::fake_telegram::{
        BOT_USERNAME, FakeTelegram, Fault, Group, Media, Resident, TOKEN, Target,
    };

    /// A dialog handler that records what it is given and answers by a script.
    #[derive(Default)]
    struct Script {
        /// Every event handled, in the order handling started.
        seen: Mutex<Vec<Inbound>>,
        /// "start <text>" / "end <text>" as handling starts and ends.
        events: Mutex<Vec<String>>,
        /// Fail this many next calls with a transient error.
        transient_failures: AtomicUsize,
        /// Fail every call with a transient error.
        always_down: AtomicBool,
        /// Handling of a text waits for a permit of its gate.
        gates: Mutex<HashMap<String, Arc<Semaphore>>>,
        /// How many replies each event gets.
        replies: AtomicUsize,
    }

    impl Script {
        fn new() -> Arc<Self> {
            let s = Self::default();
            s.replies.store(1, Ordering::SeqCst);
            Arc::new(s)
        }

        /// Makes handling of `text` wait until [`Script::open`].
        fn gate(&self, text: &str) -> Arc<Semaphore> {
            let g = Arc::new(Semaphore::new(0));
            self.gates
                .lock()
                .unwrap()
                .insert(text.to_owned(), g.clone());
            g
        }

        fn seen(&self) -> Vec<Inbound> {
            self.seen.lock().unwrap().clone()
        }

        fn events(&self) -> Vec<String> {
            self.events.lock().unwrap().clone()
        }
    }

    /// The label of an input in the event log.
    fn label(ev: &Inbound) -> String {
        match &ev.input {
            Input::Text(t) => t.clone(),
            Input::Button(d) => format!("button {d}"),
            Input::Command(c) => format!("command {c:?}"),
            Input::Media(m) => format!("media {m:?}"),
        }
    }

    /// The reply the script gives: one of our own Fluent messages, with two buttons.
    fn scripted_reply(n: usize) -> Reply {
        Reply {
            locale: Locale::Vi,
            paragraphs: vec![Msg::new(if n == 0 { "tg-cmd-help" } else { "tg-cmd-my" })],
            choices: vec![
                Choice {
                    data: format!("7:a{n}"),
                    label: Msg::new("tg-cmd-start"),
                },
                Choice {
                    data: format!("7:b{n}"),
                    label: Msg::new("tg-cmd-cancel"),
                },
            ],
        }
    }

    #[async_trait]
    impl Handler for Script {
        async fn handle(&self, ev: &Inbound) -> Result<Vec<Reply>, ServiceError> {
            self.seen.lock().unwrap().push(ev.clone());
            if self.always_down.load(Ordering::SeqCst)
                || self
                    .transient_failures
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok()
            {
                return Err(ServiceError::Store(StoreError::Unavailable(
                    "test outage".into(),
                )));
            }
            let l = label(ev);
            self.events.lock().unwrap().push(format!("start {l}"));
            let gate = self.gates.lock().unwrap().get(&l).cloned();
            if let Some(g) = gate {
                g.acquire().await.expect("gate").forget();
            }
            self.events.lock().unwrap().push(format!("end {l}"));
            Ok((0..self.replies.load(Ordering::SeqCst))
                .map(scripted_reply)
                .collect())
        }

        async fn start_payload(&self) -> Option<String> {
            Some("gop-y-2025".to_owned())
        }
    }

    /// The bot running against the fake.
    struct Harness {
        fake: Arc<FakeTelegram>,
        script: Arc<Script>,
        l10n: Arc<Localizer>,
        shutdown: CancellationToken,
        task: tokio::task::JoinHandle<anyhow::Result<()>>,
    }

    impl Harness {
        async fn start() -> Self {
            Self::start_with(Script::new(), TOKEN).await
        }

        async fn start_with(script: Arc<Script>, token: &str) -> Self {
            let fake = Arc::new(FakeTelegram::start().await);
            let l10n = Arc::new(Localizer::new().expect("locales"));
            let bot = TelegramBot::with_handler(
                script.clone(),
                l10n.clone(),
                token.to_owned(),
                fake.api_url(),
            );
            let shutdown = CancellationToken::new();
            let task = tokio::spawn(bot.run(shutdown.clone()));
            Self {
                fake,
                script,
                l10n,
                shutdown,
                task,
            }
        }

        /// What the bot shows for the scripted reply `n`.
        fn expected(&self, n: usize) -> (String, Vec<String>) {
            let r = self
                .l10n
                .reply(&scripted_reply(n), Markup::TelegramHtml, true);
            let visible = fake_telegram::parse_html(&r.text).expect("valid HTML");
            (visible, r.buttons.into_iter().map(|(d, _)| d).collect())
        }

        /// Stops the bot and waits for it (bounded).
        async fn stop(self) -> anyhow::Result<()> {
            self.shutdown.cancel();
            tokio::time::timeout(Duration::from_secs(10), self.task)
                .await
                .expect("the bot stops within 10 s")
                .expect("the bot task does not panic")
        }
    }

    use crate::fake_telegram;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn at_start_the_bot_calls_get_me_sets_commands_in_vi_and_en_then_long_polls() {
        let h = Harness::start().await;
        h.fake.wait_idle().await;
        let calls = h.fake.calls();
        assert_eq!(calls[0].method, "getme");
        let set: Vec<&str> = calls
            .iter()
            .filter(|c| c.method == "setmycommands")
            .map(|c| c.body["language_code"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(set, vec!["", "vi", "en"]);
        for (lang, locale) in [("vi", Locale::Vi), ("en", Locale::En)] {
            let commands = h.fake.commands(lang).expect("commands set");
            let names: Vec<&str> = commands
                .as_array()
                .expect("array")
                .iter()
                .map(|c| c["command"].as_str().expect("name"))
                .collect();
            assert_eq!(
                names,
                vec![
                    "start",
                    "my",
                    "help",
                    "language",
                    "privacy",
                    "cancel",
                    "delete_me"
                ]
            );
            let start = h.l10n.msg(locale, &Msg::new("tg-cmd-start"), Markup::Plain);
            assert_eq!(commands[0]["description"], json!(start));
        }
        let poll = h.fake.calls_to("getUpdates").pop().expect("a poll");
        assert_eq!(poll.i64("timeout"), Some(25));
        assert_eq!(
            poll.body["allowed_updates"],
            json!([
                "message",
                "edited_message",
                "callback_query",
                "my_chat_member"
            ])
        );
        h.stop().await.expect("clean stop");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_refused_token_stops_the_bot_with_a_message_naming_the_variable() {
        let h = Harness::start_with(Script::new(), "123456:WRONG").await;
        let result = tokio::time::timeout(Duration::from_secs(10), h.task)
            .await
            .expect("stops at once")
            .expect("no panic");
        let err = result.expect_err("a refused token is an error");
        let text = format!("{err:#}");
        assert!(text.contains("TELEGRAM_BOT_TOKEN"), "{text}");
        assert!(!text.contains("WRONG"), "the token must not appear: {text}");
        assert!(h.fake.calls_to("getUpdates").is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn the_offset_is_confirmed_only_after_the_update_is_handled_and_answered() {
        let h = Harness::start().await;
        h.fake.wait_idle().await;
        let alice = Resident::new(1001, "An");
        let gate = h.script.gate("ý kiến");
        let id = h.fake.send_text(&alice, "ý kiến");
        h.fake
            .wait_for("the handler to get the update", |_| {
                h.script
                    .events()
                    .contains(&"start ý kiến".to_owned())
                    .then_some(())
            })
            .await;
        // While the step is running, nothing confirms the update.
        let early = h
            .fake
            .happens_within(Duration::from_millis(300), |f| {
                (f.confirmed_offset() > id).then_some(())
            })
            .await;
        assert!(early.is_none(), "confirmed before the step committed");
        gate.add_permits(1);
        h.fake.wait_confirmed(id).await;
        let confirming = h
            .fake
            .calls_to("getUpdates")
            .into_iter()
            .find(|c| c.i64("offset") == Some(id + 1))
            .expect("a getUpdates with offset id + 1");
        let sent = h.fake.messages_to(1001);
        assert_eq!(sent.len(), 1);
        assert!(
            sent[0].at <= confirming.at,
            "the reply goes out before the offset advances"
        );
        let (text, buttons) = h.expected(0);
        assert_eq!(sent[0].visible, text);
        assert_eq!(
            sent[0]
                .buttons()
                .into_iter()
                .filter_map(|b| b.callback_data)
                .collect::<Vec<_>>(),
            buttons
        );
        assert_eq!(sent[0].parse_mode.as_deref(), Some("HTML"));

        let ev = &h.script.seen()[0];
        assert_eq!(ev.update_key.as_deref(), Some(id.to_string().as_str()));
        assert_eq!(ev.contact.channel, Channel::Telegram);
        assert_eq!(ev.contact.external_id, "1001");
        assert_eq!(ev.locale_hint, Some(Locale::Vi));
        assert!(ev.has_buttons);
        h.stop().await.expect("clean stop");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn one_residents_updates_run_in_order_while_other_residents_go_ahead() {
        let h = Harness::start().await;
        h.fake.wait_idle().await;
        let alice = Resident::new(1001, "An");
        let bob = Resident::new(1002, "Bình");
        let gate = h.script.gate("a1");
        h.fake.push_all(vec![
            h.fake.text_update(&alice, "a1"),
            h.fake.text_update(&alice, "a2"),
            h.fake.text_update(&bob, "b1"),
            h.fake.text_update(&alice, "a3"),
        ]);
        // Bob is served while Alice's first step is still running ...
        h.fake.wait_messages(1002, 1).await;
        // ... and Alice's second step has not started.
        let events = h.script.events();
        assert!(events.contains(&"start a1".to_owned()), "{events:?}");
        assert!(!events.iter().any(|e| e.ends_with("a2")), "{events:?}");
        assert!(h.fake.messages_to(1001).is_empty());
        gate.add_permits(1);
        h.fake.wait_messages(1001, 3).await;
        let alice_events: Vec<String> = h
            .script
            .events()
            .into_iter()
            .filter(|e| e.contains(" a"))
            .collect();
        assert_eq!(
            alice_events,
            vec![
                "start a1", "end a1", "start a2", "end a2", "start a3", "end a3"
            ]
        );
        h.stop().await.expect("clean stop");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_button_press_is_answered_and_reaches_the_dialog_as_its_data() {
        let h = Harness::start().await;
        h.fake.wait_idle().await;
        let alice = Resident::new(1001, "An").language(Some("en"));
        h.fake.send_text(&alice, "/start");
        let sent = h.fake.wait_messages(1001, 1).await;
        let fresh = h.fake.press(&alice, sent[0].message_id, "7:a0");
        // A stale press on a message that no longer exists is answered too.
        let stale = h.fake.press(&alice, 999, "1:old");
        h.fake.wait_callback_answered(&fresh).await;
        h.fake.wait_callback_answered(&stale).await;
        h.fake.wait_idle().await;
        let inputs: Vec<Input> = h.script.seen().into_iter().map(|e| e.input).collect();
        assert_eq!(
            inputs,
            vec![
                Input::Command(Command::Start { payload: None }),
                Input::Button("7:a0".to_owned()),
                Input::Button("1:old".to_owned()),
            ]
        );
        assert_eq!(h.script.seen()[1].locale_hint, Some(Locale::En));
        h.stop().await.expect("clean stop");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn media_names_and_nfc_text_are_mapped_for_the_dialog() {
        let h = Harness::start().await;
        h.fake.wait_idle().await;
        let hoa = Resident::new(1003, "Hoa")
            .last_name("Lê Thị")
            .username("hoa_le");
        h.fake.send_text(&hoa, "Y\u{301} kie\u{302}\u{301}n");
        for m in [
            Media::Sticker,
            Media::Photo,
            Media::Voice,
            Media::Document,
            Media::Location,
        ] {
            h.fake.send_media(&hoa, m);
        }
        h.fake.wait_messages(1003, 6).await;
        let seen = h.script.seen();
        let inputs: Vec<Input> = seen.iter().map(|e| e.input.clone()).collect();
        assert_eq!(
            inputs,
            vec![
                Input::Text("Ý kiến".to_owned()),
                Input::Media(MediaKind::Sticker),
                Input::Media(MediaKind::Photo),
                Input::Media(MediaKind::Voice),
                Input::Media(MediaKind::File),
                Input::Media(MediaKind::Other),
            ]
        );
        assert_eq!(seen[0].identity.display_name.as_deref(), Some("Hoa Lê Thị"));
        assert_eq!(seen[0].identity.username.as_deref(), Some("hoa_le"));
        h.stop().await.expect("clean stop");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn start_in_a_group_answers_there_with_a_link_and_other_group_traffic_is_ignored() {
        let h = Harness::start().await;
        h.fake.wait_idle().await;
        let alice = Resident::new(1001, "An");
        let group = Group {
            id: -100_555,
            title: "Tổ dân phố 5".into(),
            supergroup: true,
        };
        let chatter = h
            .fake
            .push(h.fake.group_text_update(&alice, &group, "Chào cả tổ"));
        h.fake
            .push(h.fake.group_text_update(&alice, &group, "/help"));
        h.fake
            .push(h.fake.group_text_update(&alice, &group, "/start@other_bot"));
        h.fake.push(h.fake.edited_text_update(&alice, "sửa"));
        h.fake.push(h.fake.channel_post_update(-1009, "tin"));
        h.fake.push(h.fake.my_chat_member_update(&alice, &group));
        let last = h.fake.push(h.fake.group_text_update(
            &alice,
            &group,
            &format!("/start@{BOT_USERNAME}"),
        ));
        h.fake.wait_confirmed(last).await;
        assert!(chatter < last);
        let sent = h.fake.wait_messages(group.id, 1).await;
        assert_eq!(sent.len(), 1, "only /start@this bot is answered");
        let link = "https://t.me/gopy_test_bot?start=gop-y-2025";
        let expected = h.l10n.msg(
            Locale::Vi,
            &Msg::new("tg-group-start").text("link", link),
            Markup::TelegramHtml,
        );
        assert_eq!(sent[0].text, expected);
        assert_eq!(sent[0].buttons()[0].url.as_deref(), Some(link));
        assert!(
            h.script.seen().is_empty(),
            "the dialog never sees group traffic"
        );
        h.stop().await.expect("clean stop");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_429_is_waited_out_for_exactly_retry_after_then_the_message_goes() {
        let h = Harness::start().await;
        h.fake.wait_idle().await;
        let alice = Resident::new(1001, "An");
        h.fake.fail_next(
            Target::method_to("sendMessage", 1001),
            1,
            Fault::TooManyRequests(1),
        );
        h.fake.send_text(&alice, "xin chào");
        h.fake.wait_messages(1001, 1).await;
        let sends = h.fake.calls_to("sendMessage");
        assert_eq!(
            sends.iter().map(|c| c.status).collect::<Vec<_>>(),
            vec![429, 200]
        );
        let waited = sends[1].at - sends[0].at;
        assert!(
            waited >= Duration::from_millis(1000) && waited < Duration::from_millis(2500),
            "{waited:?}"
        );
        h.stop().await.expect("clean stop");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_blocked_resident_gets_no_further_replies_and_others_are_served() {
        let script = Script::new();
        script.replies.store(2, Ordering::SeqCst);
        let h = Harness::start_with(script, TOKEN).await;
        h.fake.wait_idle().await;
        let alice = Resident::new(1001, "An");
        let bob = Resident::new(1002, "Bình");
        h.fake.fail_next(Target::chat(1001), 1, Fault::Blocked);
        let a = h.fake.send_text(&alice, "xin chào");
        h.fake.wait_confirmed(a).await;
        let to_alice: Vec<u16> = h
            .fake
            .calls_to("sendMessage")
            .iter()
            .filter(|c| c.i64("chat_id") == Some(1001))
            .map(|c| c.status)
            .collect();
        assert_eq!(to_alice, vec![403], "the second reply is not attempted");
        h.fake.send_text(&bob, "xin chào");
        assert_eq!(h.fake.wait_messages(1002, 2).await.len(), 2);
        h.stop().await.expect("clean stop");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_server_error_on_send_is_retried() {
        let h = Harness::start().await;
        h.fake.wait_idle().await;
        let alice = Resident::new(1001, "An");
        // teloxide itself pauses 10 s after a 5xx before it reports it; one is enough here.
        h.fake
            .fail_next(Target::method("sendMessage"), 1, Fault::Server(502));
        h.fake.send_text(&alice, "xin chào");
        h.fake
            .wait_for_within("the retried message", Duration::from_secs(20), |f| {
                (!f.messages_to(1001).is_empty()).then_some(())
            })
            .await;
        let statuses: Vec<u16> = h
            .fake
            .calls_to("sendMessage")
            .iter()
            .map(|c| c.status)
            .collect();
        assert_eq!(statuses, vec![502, 200]);
        h.stop().await.expect("clean stop");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn while_storage_is_down_the_update_is_retried_and_not_confirmed() {
        let script = Script::new();
        script.transient_failures.store(3, Ordering::SeqCst);
        let h = Harness::start_with(script, TOKEN).await;
        h.fake.wait_idle().await;
        let alice = Resident::new(1001, "An");
        let id = h.fake.send_text(&alice, "ý kiến");
        h.fake
            .wait_for("the first failures", |_| {
                (h.script.seen().len() >= 2).then_some(())
            })
            .await;
        assert!(
            h.fake.confirmed_offset() <= id,
            "confirmed during the outage"
        );
        h.fake.wait_confirmed(id).await;
        assert_eq!(h.script.seen().len(), 4, "three failures, then one success");
        assert_eq!(h.script.events(), vec!["start ý kiến", "end ý kiến"]);
        assert_eq!(h.fake.wait_messages(1001, 1).await.len(), 1);
        h.stop().await.expect("clean stop");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn shutdown_finishes_the_batch_in_hand_and_confirms_it_with_a_last_poll() {
        let h = Harness::start().await;
        h.fake.wait_idle().await;
        let alice = Resident::new(1001, "An");
        let gate = h.script.gate("cuối");
        let id = h.fake.send_text(&alice, "cuối");
        h.fake
            .wait_for("the step to start", |_| {
                h.script
                    .events()
                    .contains(&"start cuối".to_owned())
                    .then_some(())
            })
            .await;
        h.shutdown.cancel();
        gate.add_permits(1);
        let fake = h.fake.clone();
        h.stop().await.expect("clean stop");
        assert_eq!(
            fake.texts_to(1001).len(),
            1,
            "the reply of the batch in hand was sent"
        );
        let last = fake.calls_to("getUpdates").pop().expect("a last poll");
        assert_eq!(last.i64("offset"), Some(id + 1));
        assert_eq!(last.i64("timeout"), Some(0));
        assert_eq!(fake.confirmed_offset(), id + 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn shutdown_while_idle_cancels_the_long_poll_at_once() {
        let h = Harness::start().await;
        h.fake.wait_idle().await;
        let started = std::time::Instant::now();
        h.stop().await.expect("clean stop");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn shutdown_during_an_outage_leaves_the_update_unconfirmed_for_next_time() {
        let script = Script::new();
        script.always_down.store(true, Ordering::SeqCst);
        let h = Harness::start_with(script, TOKEN).await;
        h.fake.wait_idle().await;
        let alice = Resident::new(1001, "An");
        let id = h.fake.send_text(&alice, "ý kiến");
        h.fake
            .wait_for("a failed try", |_| {
                (!h.script.seen().is_empty()).then_some(())
            })
            .await;
        let fake = h.fake.clone();
        h.stop().await.expect("clean stop");
        assert!(
            fake.confirmed_offset() <= id,
            "an unstored update was confirmed"
        );
        assert_eq!(fake.pending_update_ids(), vec![id]);
        assert!(fake.texts_to(1001).is_empty());
    }
}
