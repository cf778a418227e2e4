//! Checks that the fake Telegram Bot API server behaves like the real one where gopy relies on
//! it: token check, method names, offsets and long polling, validation, injected failures.

mod fake_telegram;

use std::time::{Duration, Instant};

use fake_telegram::{FakeTelegram, Fault, Group, Media, Resident, TOKEN, Target, parse_html};
use serde_json::{Value, json};
use teloxide::payloads::{GetUpdatesSetters as _, SendMessageSetters as _};
use teloxide::requests::Requester as _;
use teloxide::types::{ChatId, InlineKeyboardButton, InlineKeyboardMarkup, ParseMode, UpdateKind};
use teloxide::{ApiError, Bot, RequestError};

/// A teloxide bot pointed at the fake.
fn bot(fake: &FakeTelegram) -> Bot {
    Bot::new(TOKEN).set_api_url(fake.api_url())
}

/// Calls a method with a JSON body through plain HTTP; returns the status and the answer.
async fn raw(fake: &FakeTelegram, method: &str, body: Value) -> (u16, Value) {
    let url = format!("{}bot{TOKEN}/{method}", fake.api_url());
    let r = reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = r.status().as_u16();
    (status, r.json().await.expect("JSON answer"))
}

#[tokio::test]
async fn get_me_answers_with_the_bot_and_a_wrong_token_is_refused_with_401() {
    let fake = FakeTelegram::start().await;
    let me = bot(&fake).get_me().await.expect("getMe");
    assert_eq!(me.username(), "gopy_test_bot");
    assert!(me.is_bot);

    let wrong = Bot::new("123456:WRONG").set_api_url(fake.api_url());
    let err = wrong.get_me().await.expect_err("a wrong token must fail");
    assert!(
        matches!(err, RequestError::Api(ApiError::InvalidToken)),
        "{err:?}"
    );

    let url = format!("{}bot123456:WRONG/getMe", fake.api_url());
    let r = reqwest::get(url).await.expect("request");
    assert_eq!(r.status().as_u16(), 401);
    let body: Value = r.json().await.expect("JSON");
    assert_eq!(
        body,
        json!({"ok": false, "error_code": 401, "description": "Unauthorized"})
    );
}

#[tokio::test]
async fn method_names_match_case_insensitively_and_unknown_methods_get_404() {
    let fake = FakeTelegram::start().await;
    for name in ["getMe", "GetMe", "getme", "GETME"] {
        let (status, body) = raw(&fake, name, json!({})).await;
        assert_eq!(status, 200, "{name}");
        assert_eq!(body["result"]["username"], "gopy_test_bot");
    }
    let (status, body) = raw(&fake, "sendTelepathy", json!({})).await;
    assert_eq!(status, 404);
    assert_eq!(
        body,
        json!({"ok": false, "error_code": 404, "description": "Not Found: method not found"})
    );
    assert_eq!(fake.calls_to("GETME").len(), 4);
}

#[tokio::test]
async fn get_updates_returns_unconfirmed_updates_until_an_offset_confirms_them() {
    let fake = FakeTelegram::start().await;
    let alice = Resident::new(1001, "An");
    let a = fake.send_text(&alice, "một");
    let b = fake.send_text(&alice, "hai");
    let c = fake.send_text(&alice, "ba");
    assert!(a < b && b < c);
    let bot = bot(&fake);

    let all = bot.get_updates().await.expect("getUpdates");
    assert_eq!(
        all.iter().map(|u| u.id.0 as i64).collect::<Vec<_>>(),
        vec![a, b, c]
    );
    // Nothing was confirmed: the same three come again.
    assert_eq!(bot.get_updates().await.expect("again").len(), 3);
    // A limit caps the batch.
    assert_eq!(bot.get_updates().limit(1).await.expect("limit").len(), 1);
    // offset = b confirms a only.
    let rest = bot.get_updates().offset(b as i32).await.expect("offset");
    assert_eq!(
        rest.iter().map(|u| u.id.0 as i64).collect::<Vec<_>>(),
        vec![b, c]
    );
    assert_eq!(fake.pending_update_ids(), vec![b, c]);
    // offset = c + 1 confirms everything.
    let none = bot
        .get_updates()
        .offset(c as i32 + 1)
        .await
        .expect("confirm");
    assert!(none.is_empty());
    assert!(fake.pending_update_ids().is_empty());
    assert_eq!(fake.confirmed_offset(), c + 1);
}

#[tokio::test]
async fn a_long_poll_returns_as_soon_as_an_update_arrives_or_empty_after_its_timeout() {
    let fake = std::sync::Arc::new(FakeTelegram::start().await);
    let bot = bot(&fake);

    let started = Instant::now();
    let empty = bot.get_updates().timeout(1).await.expect("poll");
    assert!(empty.is_empty());
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );

    let pusher = fake.clone();
    let push = tokio::spawn(async move {
        pusher
            .wait_for("a waiting poll", |f| {
                f.calls_to("getUpdates")
                    .iter()
                    .any(|c| c.status == 0)
                    .then_some(())
            })
            .await;
        pusher.send_text(&Resident::new(7, "Bình"), "xin chào")
    });
    let started = Instant::now();
    let got = bot.get_updates().timeout(10).await.expect("poll");
    let id = push.await.expect("pusher");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].id.0 as i64, id);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_second_get_updates_terminates_the_waiting_one_with_409() {
    let fake = std::sync::Arc::new(FakeTelegram::start().await);
    let first = bot(&fake);
    let waiting = tokio::spawn(async move { first.get_updates().timeout(10).await });
    fake.wait_for("a waiting poll", |f| {
        f.calls_to("getUpdates")
            .iter()
            .any(|c| c.status == 0)
            .then_some(())
    })
    .await;
    let second = bot(&fake).get_updates().await.expect("second poll");
    assert!(second.is_empty());
    let err = waiting.await.expect("task").expect_err("terminated");
    assert!(
        matches!(
            err,
            RequestError::Api(ApiError::TerminatedByOtherGetUpdates)
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn allowed_updates_are_recorded_and_filter_what_is_delivered() {
    let fake = FakeTelegram::start().await;
    let alice = Resident::new(1001, "An");
    let group = Group {
        id: -100,
        title: "Tổ 5".into(),
        supergroup: false,
    };
    fake.push(fake.channel_post_update(-1009, "tin"));
    fake.push(fake.my_chat_member_update(&alice, &group));
    let t = fake.send_text(&alice, "xin chào");
    let (status, body) = raw(
        &fake,
        "getUpdates",
        json!({"allowed_updates": ["message", "callback_query"]}),
    )
    .await;
    assert_eq!(status, 200);
    let ids: Vec<i64> = body["result"]
        .as_array()
        .expect("array")
        .iter()
        .map(|u| u["update_id"].as_i64().expect("id"))
        .collect();
    assert_eq!(ids, vec![t]);
    assert_eq!(
        fake.allowed_updates_history(),
        vec![vec!["message".to_owned(), "callback_query".to_owned()]]
    );
}

#[tokio::test]
async fn every_built_update_deserialises_into_a_teloxide_update() {
    let fake = FakeTelegram::start().await;
    let alice = Resident::new(1001, "An")
        .last_name("Nguyễn")
        .username("an_ng");
    let group = Group {
        id: -1001234,
        title: "Tổ dân phố 5".into(),
        supergroup: true,
    };
    let mut updates = vec![
        fake.text_update(&alice, "Ý kiến của tôi"),
        fake.text_update(&alice, "/start demo_TDP1"),
        fake.edited_text_update(&alice, "sửa"),
        fake.group_text_update(&alice, &group, "/start@gopy_test_bot"),
        fake.channel_post_update(-1009, "tin"),
        fake.my_chat_member_update(&alice, &group),
        fake.callback_update(&alice, 1, "3:menu").0,
    ];
    for m in [
        Media::Sticker,
        Media::Photo,
        Media::Voice,
        Media::Audio,
        Media::Video,
        Media::VideoNote,
        Media::Document,
        Media::Location,
        Media::Contact,
        Media::Poll,
    ] {
        updates.push(fake.media_update(&alice, m));
    }
    for u in updates {
        // teloxide reads updates from text, as they come over the wire.
        let parsed: teloxide::types::Update =
            serde_json::from_str(&u.to_string()).expect("an Update");
        assert!(
            !matches!(parsed.kind, UpdateKind::Error(_)),
            "did not parse: {u}"
        );
    }
}

#[tokio::test]
async fn send_message_answers_a_message_with_per_chat_increasing_ids() {
    let fake = FakeTelegram::start().await;
    let alice = Resident::new(1001, "An");
    let bob = Resident::new(1002, "Bình");
    fake.send_text(&alice, "/start");
    fake.send_text(&bob, "/start");
    let bot = bot(&fake);
    let a1 = bot.send_message(ChatId(1001), "một").await.expect("send");
    let a2 = bot.send_message(ChatId(1001), "hai").await.expect("send");
    let b1 = bot.send_message(ChatId(1002), "một").await.expect("send");
    assert!(a2.id.0 > a1.id.0);
    assert_eq!(a1.id.0, 2, "the resident's /start took message id 1");
    assert_eq!(b1.id.0, 2);
    assert_eq!(fake.texts_to(1001), vec!["một", "hai"]);

    let err = bot
        .send_message(ChatId(4242), "ai đó")
        .await
        .expect_err("unknown chat");
    assert!(
        matches!(err, RequestError::Api(ApiError::ChatNotFound)),
        "{err:?}"
    );
}

#[tokio::test]
async fn html_is_validated_like_telegram_and_length_counts_after_parsing() {
    let fake = FakeTelegram::start().await;
    let alice = Resident::new(1001, "An");
    fake.send_text(&alice, "/start");
    let bot = bot(&fake);
    let ok = bot
        .send_message(ChatId(1001), "<b>Chủ đề</b> &amp; <i>câu hỏi</i> &lt;1&gt; <a href=\"https://t.me/x?a=1&amp;b=2\">link</a>")
        .parse_mode(ParseMode::Html)
        .await
        .expect("valid HTML");
    assert_eq!(ok.text(), Some("Chủ đề & câu hỏi <1> link"));

    for bad in [
        "Tom & Jerry",
        "1 < 2",
        "2 > 1",
        "<b>không đóng",
        "<b><i>sai</b></i>",
        "<script>x</script>",
        "</b>",
        "<a>no href</a>",
    ] {
        let err = bot
            .send_message(ChatId(1001), bad)
            .parse_mode(ParseMode::Html)
            .await
            .expect_err(bad);
        match err {
            RequestError::Api(ApiError::CantParseEntities(d)) => {
                assert!(
                    d.starts_with("Bad Request: can't parse entities: "),
                    "{bad}: {d}"
                )
            }
            other => panic!("{bad}: {other:?}"),
        }
    }
    // Without parse_mode the same text is fine.
    bot.send_message(ChatId(1001), "Tom & Jerry <3")
        .await
        .expect("plain text");

    // 4,096 visible characters pass even though the HTML is five times longer.
    let long = "&amp;".repeat(4096);
    bot.send_message(ChatId(1001), long)
        .parse_mode(ParseMode::Html)
        .await
        .expect("4096 characters after parsing");
    let err = bot
        .send_message(ChatId(1001), "ệ".repeat(4097))
        .await
        .expect_err("too long");
    assert!(
        matches!(err, RequestError::Api(ApiError::MessageIsTooLong)),
        "{err:?}"
    );
    let err = bot
        .send_message(ChatId(1001), "  ")
        .await
        .expect_err("empty");
    assert!(
        matches!(err, RequestError::Api(ApiError::MessageTextIsEmpty)),
        "{err:?}"
    );
}

#[test]
fn the_html_parser_decodes_entities_and_rejects_nesting_errors() {
    assert_eq!(
        parse_html("a &#272;&#x1EC7; &quot;b&quot;").as_deref(),
        Ok("a Đệ \"b\"")
    );
    assert!(parse_html("<pre><code class=\"language-rust\">x</code></pre>").is_ok());
    assert!(parse_html("<code><b>x</b></code>").is_err());
    assert!(parse_html("<span class=\"tg-spoiler\">x</span>").is_ok());
    assert!(parse_html("<span>x</span>").is_err());
    assert!(parse_html("&nbsp;").is_err());
    assert!(parse_html("<blockquote expandable>x</blockquote>").is_ok());
}

#[tokio::test]
async fn callback_data_over_64_bytes_is_refused_with_button_data_invalid() {
    let fake = FakeTelegram::start().await;
    let alice = Resident::new(1001, "An");
    fake.send_text(&alice, "/start");
    let bot = bot(&fake);
    // 22 Vietnamese letters of 3 bytes each: 22 characters, 66 bytes.
    let data = "ệ".repeat(22);
    assert_eq!(data.len(), 66);
    let keyboard = InlineKeyboardMarkup::new([[InlineKeyboardButton::callback("Chọn", data)]]);
    let err = bot
        .send_message(ChatId(1001), "Chọn")
        .reply_markup(keyboard)
        .await
        .expect_err("66 bytes");
    assert!(
        matches!(err, RequestError::Api(ApiError::ButtonDataInvalid)),
        "{err:?}"
    );

    let data = "x".repeat(64);
    let keyboard =
        InlineKeyboardMarkup::new([[InlineKeyboardButton::callback("Chọn", data.clone())]]);
    bot.send_message(ChatId(1001), "Chọn")
        .reply_markup(keyboard)
        .await
        .expect("64 bytes");
    let kb = fake.last_keyboard(1001).expect("keyboard");
    assert_eq!(kb[0][0].callback_data.as_deref(), Some(data.as_str()));
}

#[tokio::test]
async fn injected_429_403_and_5xx_answer_the_next_matching_calls_then_stop() {
    let fake = FakeTelegram::start().await;
    let alice = Resident::new(1001, "An");
    let bob = Resident::new(1002, "Bình");
    fake.send_text(&alice, "/start");
    fake.send_text(&bob, "/start");
    let bot = bot(&fake);

    fake.fail_next(Target::method("sendMessage"), 1, Fault::TooManyRequests(3));
    let err = bot
        .send_message(ChatId(1001), "một")
        .await
        .expect_err("429");
    assert!(
        matches!(err, RequestError::RetryAfter(s) if s.seconds() == 3),
        "{err:?}"
    );
    bot.send_message(ChatId(1001), "một")
        .await
        .expect("then fine");

    fake.fail_next(Target::chat(1002), 2, Fault::Blocked);
    let err = bot.send_message(ChatId(1002), "x").await.expect_err("403");
    assert!(
        matches!(err, RequestError::Api(ApiError::BotBlocked)),
        "{err:?}"
    );
    // Another chat is not affected.
    bot.send_message(ChatId(1001), "hai")
        .await
        .expect("other chat");
    assert!(bot.send_message(ChatId(1002), "x").await.is_err());
    bot.send_message(ChatId(1002), "x")
        .await
        .expect("injection used up");

    fake.fail_next(Target::method("sendMessage"), 1, Fault::Server(502));
    let (status, body) = raw(&fake, "sendMessage", json!({"chat_id": 1001, "text": "x"})).await;
    assert_eq!(status, 502);
    assert_eq!(
        body,
        json!({"ok": false, "error_code": 502, "description": "Bad Gateway"})
    );

    let (status, body) = {
        fake.fail_next(Target::method("sendMessage"), 1, Fault::TooManyRequests(7));
        raw(&fake, "sendMessage", json!({"chat_id": 1001, "text": "x"})).await
    };
    assert_eq!(status, 429);
    assert_eq!(
        body,
        json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 7", "parameters": {"retry_after": 7}})
    );
    let statuses: Vec<u16> = fake
        .calls_to("sendmessage")
        .iter()
        .map(|c| c.status)
        .collect();
    assert_eq!(statuses, vec![429, 200, 403, 200, 403, 200, 502, 429]);
}

#[tokio::test]
async fn callback_queries_can_be_answered_once_and_edits_and_deletes_apply() {
    let fake = FakeTelegram::start().await;
    let alice = Resident::new(1001, "An");
    fake.send_text(&alice, "/start");
    let bot = bot(&fake);
    let keyboard = InlineKeyboardMarkup::new([[InlineKeyboardButton::callback("Có", "1:yes")]]);
    let m = bot
        .send_message(ChatId(1001), "Đồng ý?")
        .reply_markup(keyboard)
        .await
        .expect("send");
    let id = fake.press_label(&alice, "Có").callback_id;
    let calls = fake.calls_to("getupdates").len();
    let updates = bot.get_updates().await.expect("updates");
    assert_eq!(fake.calls_to("getupdates").len(), calls + 1);
    let cq = updates
        .iter()
        .find_map(|u| match &u.kind {
            UpdateKind::CallbackQuery(q) => Some(q.clone()),
            _ => None,
        })
        .expect("a callback query");
    assert_eq!(cq.data.as_deref(), Some("1:yes"));
    assert_eq!(cq.regular_message().map(|m| m.id), Some(m.id));

    bot.answer_callback_query(cq.id.clone())
        .await
        .expect("answer");
    assert!(fake.callback_answered(&id));
    assert!(
        bot.answer_callback_query(cq.id.clone()).await.is_err(),
        "second answer"
    );

    bot.edit_message_text(ChatId(1001), m.id, "Đã chọn: Có")
        .await
        .expect("edit");
    assert_eq!(fake.texts_to(1001), vec!["Đã chọn: Có"]);
    let err = bot
        .edit_message_text(ChatId(1001), m.id, "Đã chọn: Có")
        .await
        .expect_err("not modified");
    assert!(
        matches!(err, RequestError::Api(ApiError::MessageNotModified)),
        "{err:?}"
    );
    bot.delete_message(ChatId(1001), m.id)
        .await
        .expect("delete");
    assert!(fake.texts_to(1001).is_empty());
    let err = bot
        .delete_message(ChatId(1001), m.id)
        .await
        .expect_err("gone");
    assert!(
        matches!(err, RequestError::Api(ApiError::MessageToDeleteNotFound)),
        "{err:?}"
    );
}

#[tokio::test]
async fn set_my_commands_is_validated_and_kept_per_language() {
    let fake = FakeTelegram::start().await;
    let bot = bot(&fake);
    use teloxide::payloads::SetMyCommandsSetters as _;
    use teloxide::types::BotCommand;
    bot.set_my_commands([BotCommand::new("start", "Bắt đầu góp ý")])
        .language_code("vi")
        .await
        .expect("vi");
    let vi = fake.commands("vi").expect("stored");
    assert_eq!(vi[0]["command"], "start");
    assert!(fake.commands("en").is_none());
    let err = bot
        .set_my_commands([BotCommand::new("Start-Now", "x")])
        .await
        .expect_err("invalid name");
    assert!(
        matches!(err, RequestError::Api(ApiError::Unknown(ref d)) if d == "Bad Request: BOT_COMMAND_INVALID"),
        "{err:?}"
    );
}

#[tokio::test]
async fn form_and_multipart_bodies_are_accepted() {
    let fake = FakeTelegram::start().await;
    let alice = Resident::new(1001, "An");
    fake.send_text(&alice, "/start");
    let url = format!("{}bot{TOKEN}/sendMessage", fake.api_url());
    let client = reqwest::Client::new();
    let r = client
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("chat_id=1001&text=Xin%20ch%C3%A0o&reply_markup=%7B%22inline_keyboard%22%3A%5B%5B%7B%22text%22%3A%22A%22%2C%22callback_data%22%3A%221%3Aa%22%7D%5D%5D%7D")
        .send()
        .await
        .expect("form");
    assert_eq!(r.status().as_u16(), 200);
    let boundary = "XyZ123";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"chat_id\"\r\n\r\n1001\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nTạm biệt\r\n--{boundary}--\r\n"
    );
    let r = client
        .post(&url)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .expect("multipart");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(fake.texts_to(1001), vec!["Xin chào", "Tạm biệt"]);
    assert_eq!(
        fake.last_keyboard(1001).expect("keyboard")[0][0]
            .callback_data
            .as_deref(),
        Some("1:a")
    );
}

#[tokio::test]
async fn a_raw_duplicate_update_is_delivered_again_once() {
    let fake = FakeTelegram::start().await;
    let alice = Resident::new(1001, "An");
    let update = fake.text_update(&alice, "một");
    let id = fake.push(update.clone());
    let bot = bot(&fake);
    assert_eq!(bot.get_updates().await.expect("first").len(), 1);
    assert!(
        bot.get_updates()
            .offset(id as i32 + 1)
            .await
            .expect("confirm")
            .is_empty()
    );
    fake.push(update);
    let again = bot
        .get_updates()
        .offset(id as i32 + 1)
        .await
        .expect("redelivered");
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id.0 as i64, id);
    assert!(
        bot.get_updates()
            .offset(id as i32 + 1)
            .await
            .expect("gone")
            .is_empty()
    );
}

#[tokio::test]
async fn enforced_limits_answer_429_with_the_wait_that_lets_the_message_through() {
    let fake = FakeTelegram::start().await;
    fake.enforce_limits(fake_telegram::FakeLimits::TELEGRAM);
    for i in 0..31 {
        fake.add_chat(json!({"id": -100 - i, "type": "group", "title": "Tổ"}));
    }
    fake.add_chat(json!({"id": 4242, "type": "private", "first_name": "An"}));
    // 30 groups in a burst pass; the 31st message within the second does not.
    for i in 0..30 {
        let (status, _) = raw(
            &fake,
            "sendMessage",
            json!({"chat_id": -100 - i, "text": "x"}),
        )
        .await;
        assert_eq!(status, 200, "message {i}");
    }
    let (status, body) = raw(&fake, "sendMessage", json!({"chat_id": -130, "text": "x"})).await;
    assert_eq!(status, 429);
    assert_eq!(body["parameters"]["retry_after"], 1);
    assert_eq!(fake.rate_limited_count(), 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // One private chat: one a second.
    let (first, _) = raw(&fake, "sendMessage", json!({"chat_id": 4242, "text": "x"})).await;
    let (second, _) = raw(&fake, "sendMessage", json!({"chat_id": 4242, "text": "x"})).await;
    assert_eq!((first, second), (200, 429));
    // One group: the 21st message in a minute waits for the first to age out.
    for _ in 0..19 {
        let (status, _) = raw(&fake, "sendMessage", json!({"chat_id": -100, "text": "x"})).await;
        assert_eq!(status, 200);
    }
    let (status, body) = raw(&fake, "sendMessage", json!({"chat_id": -100, "text": "x"})).await;
    assert_eq!(status, 429);
    let wait = body["parameters"]["retry_after"].as_i64().unwrap();
    assert!((57..=60).contains(&wait), "{wait}");
}

#[tokio::test]
async fn a_migrated_group_answers_with_its_new_id_and_a_kicked_bot_gets_403() {
    let fake = FakeTelegram::start().await;
    let lan = Resident::new(1, "Lan");
    let group = Group {
        id: -77,
        title: "Tổ 7".to_owned(),
        supergroup: false,
    };
    fake.push(fake.my_chat_member_update(&lan, &group));
    let _ = fake.migration_updates(&lan, &group, -10_077);
    let err = bot(&fake)
        .send_message(ChatId(-77), "x")
        .await
        .expect_err("the old id is gone");
    assert!(
        matches!(err, RequestError::MigrateToChatId(ChatId(-10_077))),
        "{err:?}"
    );
    fake.fail_next(Target::method_to("sendMessage", -10_077), 1, Fault::Kicked);
    fake.add_chat(json!({"id": -10_077, "type": "supergroup", "title": "Tổ 7"}));
    let (status, body) = raw(
        &fake,
        "sendMessage",
        json!({"chat_id": -10_077, "text": "x"}),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(
        body["description"],
        "Forbidden: bot was kicked from the group chat"
    );
}
