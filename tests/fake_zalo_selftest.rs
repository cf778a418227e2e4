//! The fake Zalo Bot API checked against the platform notes, with a plain HTTP client: errors
//! in the body with HTTP 200, one update per `getUpdates` with no offset, 408 when idle, no
//! polling while a webhook is set, `sendMessage`'s 2,000-character limit, GET and POST.

mod fake_zalo;

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use fake_zalo::{FakeZalo, Fault, Resident, TOKEN};

/// Calls a method with a JSON body; the HTTP status and the body.
async fn call(fake: &FakeZalo, token: &str, method: &str, body: Value) -> (u16, Value) {
    let res = reqwest::Client::new()
        .post(format!("{}bot{token}/{method}", fake.api_url()))
        .json(&body)
        .send()
        .await
        .expect("the fake answers");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn errors_arrive_in_the_body_with_http_200() {
    let fake = FakeZalo::start().await;
    let (status, body) = call(&fake, "1:wrong", "getMe", json!({})).await;
    assert_eq!(
        (status, body["ok"].clone(), body["error_code"].clone()),
        (200, json!(false), json!(401))
    );
    let (status, body) = call(&fake, TOKEN, "noSuchMethod", json!({})).await;
    assert_eq!((status, body["error_code"].clone()), (200, json!(400)));
    fake.fail_next("getMe", 1, Fault::Code(429));
    let (status, body) = call(&fake, TOKEN, "getMe", json!({})).await;
    assert_eq!((status, body["error_code"].clone()), (200, json!(429)));
    let (_, body) = call(&fake, TOKEN, "getMe", json!({})).await;
    assert_eq!(body["ok"], json!(true));
    assert_eq!(body["result"]["can_join_groups"], json!(false));
}

#[tokio::test]
async fn get_updates_gives_one_update_per_call_then_408_when_idle() {
    let fake = FakeZalo::start().await;
    let who = Resident::new(1, "An");
    let a = fake.send_text(&who, "một");
    let b = fake.send_text(&who, "hai");
    for expected in [a, b] {
        let (status, body) = call(&fake, TOKEN, "getUpdates", json!({"timeout": "30"})).await;
        assert_eq!(status, 200);
        assert!(
            body["result"].is_object(),
            "one object, not an array: {body}"
        );
        assert!(body["result"].get("update_id").is_none());
        assert_eq!(body["result"]["message"]["message_id"], json!(expected));
    }
    let started = Instant::now();
    let (status, body) = call(&fake, TOKEN, "getUpdates", json!({"timeout": "1"})).await;
    assert_eq!((status, body["error_code"].clone()), (200, json!(408)));
    assert!(started.elapsed() >= Duration::from_millis(900));
}

#[tokio::test]
async fn a_waiting_poll_is_woken_by_a_new_update() {
    let fake = std::sync::Arc::new(FakeZalo::start().await);
    let f = fake.clone();
    let poll =
        tokio::spawn(async move { call(&f, TOKEN, "getUpdates", json!({"timeout": 30})).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let id = fake.send_text(&Resident::new(2, "Bình"), "chào");
    let (_, body) = tokio::time::timeout(Duration::from_secs(2), poll)
        .await
        .expect("answered at once")
        .expect("no panic");
    assert_eq!(body["result"]["message"]["message_id"], json!(id));
}

#[tokio::test]
async fn polling_is_refused_while_a_webhook_is_set() {
    let fake = FakeZalo::start().await;
    let (_, body) = call(
        &fake,
        TOKEN,
        "setWebhook",
        json!({"url": "http://x/hook", "secret_token": "12345678"}),
    )
    .await;
    assert_eq!(body["error_code"], json!(400), "https only");
    let (_, body) = call(
        &fake,
        TOKEN,
        "setWebhook",
        json!({"url": "https://x/hook", "secret_token": "short"}),
    )
    .await;
    assert_eq!(
        body["error_code"],
        json!(400),
        "a secret of 8-256 characters"
    );
    let (_, body) = call(
        &fake,
        TOKEN,
        "setWebhook",
        json!({"url": "https://x/hook", "secret_token": "12345678"}),
    )
    .await;
    assert_eq!(body["ok"], json!(true));
    let (_, body) = call(&fake, TOKEN, "getWebhookInfo", json!({})).await;
    assert_eq!(body["result"]["url"], json!("https://x/hook"));
    let (_, body) = call(&fake, TOKEN, "getUpdates", json!({"timeout": "1"})).await;
    assert_eq!(body["error_code"], json!(400));
    call(&fake, TOKEN, "deleteWebhook", json!({})).await;
    let (_, body) = call(&fake, TOKEN, "getWebhookInfo", json!({})).await;
    assert_eq!(body["result"]["url"], json!(""));
}

#[tokio::test]
async fn send_message_takes_1_to_2000_characters_after_nfc_and_records_them() {
    let fake = FakeZalo::start().await;
    let nfd = "a\u{306}".repeat(2000);
    let (_, body) = call(
        &fake,
        TOKEN,
        "sendMessage",
        json!({"chat_id": "c1", "text": nfd}),
    )
    .await;
    assert_eq!(body["ok"], json!(true), "2,000 characters after NFC fit");
    assert!(body["result"]["message_id"].is_string());
    assert!(body["result"]["date"].as_i64().expect("ms") > 1_700_000_000_000);
    for text in [String::new(), "ă".repeat(2001)] {
        let (status, body) = call(
            &fake,
            TOKEN,
            "sendMessage",
            json!({"chat_id": "c1", "text": text}),
        )
        .await;
        assert_eq!((status, body["error_code"].clone()), (200, json!(400)));
    }
    let (_, body) = call(&fake, TOKEN, "sendMessage", json!({"text": "x"})).await;
    assert_eq!(body["error_code"], json!(400), "chat_id is required");
    assert_eq!(fake.texts_to("c1").len(), 1);
    // GET with query parameters works too.
    let res = reqwest::get(format!("{}bot{TOKEN}/getMe", fake.api_url()))
        .await
        .expect("GET");
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["ok"], json!(true));
}
