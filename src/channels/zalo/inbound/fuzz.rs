//! Fuzz target: Zalo Bot API events (webhook bodies and `getUpdates` results, wrapped or flat)
//! as raw bytes and as mutated JSON, through [`route`]. Run long by `scripts/fuzz`.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::super::client::read_envelope;
use super::{Route, route};
use crate::dialog::Input;
use crate::fuzzing::{check, deeply_nested, mutate, mutate_bytes};

/// Field names Zalo uses.
const KEYS: &[&str] = &[
    "ok",
    "result",
    "event_name",
    "message",
    "message_id",
    "msg_id",
    "date",
    "from",
    "chat",
    "id",
    "display_name",
    "name",
    "is_bot",
    "chat_type",
    "type",
    "title",
    "text",
    "photo_url",
    "caption",
    "sticker",
    "url",
];

/// Events of every kind gopy reads, as Zalo sends them.
fn templates() -> Vec<Value> {
    let msg = |event: &str, extra: Value| {
        let mut m = json!({"message_id": "2d758cb5e222177a4e35", "date": 1_750_316_131_602_i64,
            "from": {"id": "6ede9afa66b88fe6d6a9", "display_name": "Nguyễn Thị Lan", "is_bot": false},
            "chat": {"id": "6ede9afa66b88fe6d6a9", "chat_type": "PRIVATE"}});
        if let (Some(m), Some(extra)) = (m.as_object_mut(), extra.as_object()) {
            m.extend(extra.clone());
        }
        json!({"event_name": event, "message": m})
    };
    let text = msg("message.text.received", json!({"text": "Ý kiến về đường"}));
    vec![
        json!({"ok": true, "result": text.clone()}),
        text,
        msg(
            "message.text.received",
            json!({"text": "/start dh-2025_to-1"}),
        ),
        msg(
            "message.text.received",
            json!({"text": "/appeal bài của tôi không sai"}),
        ),
        msg("message.text.received", json!({"text": "ĐÃ ĐĂNG 12"})),
        msg("message.text.received", json!({"text": "/link ABC123"})),
        msg(
            "message.image.received",
            json!({"photo_url": "https://x/y.jpg", "caption": "ảnh"}),
        ),
        msg("message.sticker.received", json!({"sticker": "abc"})),
        msg("message.unsupported.received", json!({})),
        msg(
            "message.text.received",
            json!({"text": "@Bot /bind to-1",
            "chat": {"id": "g1", "chat_type": "GROUP", "title": "Tổ 1"}}),
        ),
        json!({"event_name": "user.follow", "user": {"id": "1"}}),
    ]
}

/// Parses and routes a body the way the webhook does; checks what comes out.
fn route_body(body: &[u8]) -> Result<(), TestCaseError> {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return Ok(());
    };
    let Ok((kind, routed)) = route(&value) else {
        return Ok(());
    };
    prop_assert!(!kind.is_empty());
    let bound = 3 * body.len() + 16;
    match routed {
        Route::Dialog(ev) => {
            let mut lens = vec![
                ev.message_id.len(),
                ev.user.len(),
                ev.chat.len(),
                ev.identity.display_name.as_ref().map_or(0, String::len),
                ev.appeal.as_ref().map_or(0, String::len),
                ev.group.as_ref().map_or(0, String::len),
                ev.link.as_ref().map_or(0, String::len),
            ];
            if let Input::Text(t) = &ev.input {
                prop_assert!(unicode_normalization::is_nfc(t));
                lens.push(t.len());
            }
            for n in lens {
                prop_assert!(n <= bound, "{n} bytes out of {}", body.len());
            }
            prop_assert!(!ev.message_id.trim().is_empty() && !ev.user.trim().is_empty());
        }
        Route::Unsupported { chat, message_id } => {
            prop_assert!(chat.len() <= bound);
            prop_assert!(message_id.map_or(0, |m| m.len()) <= bound);
        }
        Route::Ignore(_) => {}
    }
    Ok(())
}

fn mutated_events() -> BoxedStrategy<Value> {
    let all: Vec<BoxedStrategy<Value>> = templates().iter().map(|t| mutate(t, KEYS)).collect();
    proptest::strategy::Union::new(all).boxed()
}

#[test]
fn fuzz_zalo_mutated_events_never_panic() {
    check("zalo_event_json", mutated_events(), |v| {
        route_body(v.to_string().as_bytes())
    });
}

#[test]
fn fuzz_zalo_raw_bodies_never_panic() {
    let bodies: Vec<BoxedStrategy<Vec<u8>>> = templates()
        .into_iter()
        .map(|t| mutate_bytes(t.to_string().into_bytes()))
        .chain([proptest::collection::vec(any::<u8>(), 0..512).boxed()])
        .collect();
    check(
        "zalo_event_bytes",
        proptest::strategy::Union::new(bodies),
        |b| route_body(&b),
    );
}

#[test]
fn fuzz_zalo_poll_responses_never_panic() {
    // `getUpdates` answers: an envelope around one event (or, tolerated, several), Zalo's
    // errors with any HTTP status, or anything else.
    let envelopes: Vec<BoxedStrategy<Vec<u8>>> = templates()
        .into_iter()
        .flat_map(|t| {
            [
                json!({"ok": true, "result": t.clone()}),
                json!({"ok": true, "result": [t.clone(), t]}),
            ]
        })
        .chain([
            json!({"ok": false, "error_code": 408, "description": "Request timeout"}),
            json!({"ok": false, "error_code": "429", "message": "quá nhiều"}),
            json!({"ok": true}),
        ])
        .map(|e| {
            let bytes = e.to_string().into_bytes();
            prop_oneof![
                mutate(&e, KEYS).prop_map(|v| v.to_string().into_bytes()),
                mutate_bytes(bytes),
            ]
            .boxed()
        })
        .collect();
    let statuses =
        proptest::sample::select(vec![200u16, 204, 400, 401, 403, 404, 408, 429, 500, 502]);
    check(
        "zalo_poll_response",
        (statuses, proptest::strategy::Union::new(envelopes)),
        |(status, body)| {
            match read_envelope(status, &body) {
                Ok(result) => {
                    let events: Vec<&Value> = match &result {
                        Value::Array(items) => items.iter().collect(),
                        Value::Object(o) if !o.is_empty() => vec![&result],
                        _ => Vec::new(),
                    };
                    for ev in events {
                        route_body(ev.to_string().as_bytes())?;
                    }
                }
                Err(e) => {
                    let _ = (e.failure().class(), e.code(), e.to_string());
                }
            }
            Ok(())
        },
    );
}

#[test]
fn deeply_nested_bodies_are_refused_without_overflowing_the_stack() {
    for objects in [false, true] {
        let deep = deeply_nested(200_000, objects);
        assert!(serde_json::from_str::<Value>(&deep).is_err());
    }
}

#[test]
fn extreme_dates_and_ids_are_read_or_dropped_without_a_panic() {
    for date in [
        json!(i64::MIN),
        json!(i64::MAX),
        json!(u64::MAX),
        json!(f64::MAX),
        json!(-1.0e300),
        json!("-9223372036854775808"),
        json!("99999999999999999999"),
    ] {
        let body = json!({"event_name": "message.text.received", "message": {
            "message_id": 1, "date": date, "text": "x", "from": {"id": 7}}});
        assert!(matches!(route(&body), Ok((_, Route::Dialog(_)))), "{date}");
    }
}
