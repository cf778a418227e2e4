//! Fuzz target: Zalo OA webhook bodies through what the webhook does before it answers
//! (`X-ZEvent-Signature`, [`admit`], the replay age) and what the processor does later
//! ([`route`]). Run long by `scripts/fuzz`.

use chrono::Utc;
use proptest::prelude::*;
use serde_json::{Value, json};

use super::super::signature::{IdVariant, SignatureError, Verifier, sign, timestamp_of};
use super::{Admit, Route, admit, route, timestamp};
use crate::dialog::Input;
use crate::fuzzing::{check, deeply_nested, hostile_string, mutate, mutate_bytes};

const APP: &str = "360846524940903967";
const OA: &str = "388613280878808645";
const SECRET: &str = "oa-secret-key";

/// Field names the OA uses.
const KEYS: &[&str] = &[
    "app_id",
    "oa_id",
    "sender",
    "recipient",
    "follower",
    "user_id",
    "user_id_by_app",
    "id",
    "event_name",
    "message",
    "msg_id",
    "message_id",
    "text",
    "timestamp",
    "attachments",
    "payload",
    "url",
    "type",
];

/// Events of every kind the webhook keeps or drops.
fn templates() -> Vec<Value> {
    let ev = |name: &str, message: Value| {
        json!({"app_id": APP, "sender": {"id": "246845883529197922"},
            "user_id_by_app": "552177279717587730", "recipient": {"id": OA},
            "event_name": name, "message": message, "timestamp": "1543908534740"})
    };
    vec![
        ev(
            "user_send_text",
            json!({"text": "Ý kiến", "msg_id": "96d3cdf3af150460909"}),
        ),
        ev(
            "user_send_text",
            json!({"text": "/appeal vì sao", "message_id": 42}),
        ),
        ev(
            "user_send_image",
            json!({"msg_id": "m2", "attachments": [{"type": "image",
            "payload": {"url": "https://x/y.jpg"}}]}),
        ),
        ev(
            "user_send_group_text",
            json!({"text": "chào", "msg_id": "m3"}),
        ),
        ev("oa_send_text", json!({"text": "echo", "msg_id": "m4"})),
        json!({"app_id": APP, "oa_id": OA, "event_name": "follow", "follower": {"id": "1"},
            "timestamp": 1_543_908_534_740_i64, "source": "oa_profile"}),
        json!({"app_id": APP, "oa_id": OA, "event_name": "unfollow", "follower": {"id": "1"},
            "timestamp": "1543908534"}),
    ]
}

/// What the webhook and the processor do with one body; checks what comes out.
fn handle(raw: &[u8]) -> Result<(), TestCaseError> {
    let Ok(value) = serde_json::from_slice::<Value>(raw) else {
        return Ok(());
    };
    let verifier = Verifier::new(APP, SECRET);
    // A body signed with the secret verifies; the same header on other bytes does not.
    if let Some(ts) = timestamp_of(&value) {
        let good = hex::encode(sign(APP, raw, &ts, SECRET));
        let m = verifier.verify(&good, raw, &value);
        prop_assert!(matches!(m, Ok(m) if m.id == IdVariant::AppId), "{m:?}");
        let mut other = raw.to_vec();
        other.push(b' ');
        prop_assert_eq!(
            verifier.verify(&good, &other, &value),
            Err(SignatureError::Mismatch)
        );
    } else {
        prop_assert_eq!(
            verifier.verify(&"0".repeat(64), raw, &value),
            Err(SignatureError::NoTimestamp)
        );
    }
    let bound = 3 * raw.len() + 16;
    if let Ok(Admit::Keep { key, name, user }) = admit(&value) {
        prop_assert!(key.len() <= bound + name.len() && name.len() <= bound);
        prop_assert!(user.is_some_and(|u| !u.trim().is_empty() && u.len() <= bound));
        if let Some(at) = value.get("timestamp").and_then(timestamp) {
            // The webhook's replay check: an age, whatever the timestamp says.
            let _ = Utc::now() - at;
        }
    }
    match route(&value) {
        Ok(Route::Dialog(d)) => {
            prop_assert!(!d.msg_id.is_empty() && !d.user.is_empty());
            if let Input::Text(t) = &d.input {
                prop_assert!(unicode_normalization::is_nfc(t) && t.len() <= bound);
            }
            prop_assert!(d.appeal.map_or(0, |a| a.len()) <= bound);
        }
        Ok(Route::Group { group }) => prop_assert!(!group.is_empty()),
        Ok(Route::Follow { user, .. }) => prop_assert!(!user.is_empty()),
        Ok(Route::Ignore(_)) | Err(_) => {}
    }
    Ok(())
}

fn mutated_events() -> BoxedStrategy<Value> {
    let all: Vec<BoxedStrategy<Value>> = templates().iter().map(|t| mutate(t, KEYS)).collect();
    proptest::strategy::Union::new(all).boxed()
}

#[test]
fn fuzz_zalo_oa_mutated_events_never_panic_and_signatures_hold() {
    check("zalo_oa_event_json", mutated_events(), |v| {
        handle(v.to_string().as_bytes())
    });
}

#[test]
fn fuzz_zalo_oa_raw_bodies_never_panic() {
    let bodies: Vec<BoxedStrategy<Vec<u8>>> = templates()
        .into_iter()
        .map(|t| mutate_bytes(serde_json::to_vec_pretty(&t).unwrap_or_default()))
        .chain([proptest::collection::vec(any::<u8>(), 0..512).boxed()])
        .collect();
    check(
        "zalo_oa_event_bytes",
        proptest::strategy::Union::new(bodies),
        |b| handle(&b),
    );
}

#[test]
fn fuzz_zalo_oa_forged_signature_headers_are_refused() {
    let raw = serde_json::to_vec(&templates()[0]).unwrap_or_default();
    let value: Value = serde_json::from_slice(&raw).unwrap_or_default();
    let good = hex::encode(sign(APP, &raw, "1543908534740", SECRET));
    let headers = prop_oneof![
        hostile_string(),
        "(mac=)?[0-9a-fA-F]{60,68}",
        // One hex digit of the right signature changed.
        (
            0..64usize,
            proptest::sample::select(b"0123456789abcdef".to_vec())
        )
            .prop_map(move |(i, c)| {
                let mut h = good.clone().into_bytes();
                h[i] = c;
                String::from_utf8(h).unwrap_or_default()
            }),
    ];
    let good = hex::encode(sign(APP, &raw, "1543908534740", SECRET));
    let verifier = Verifier::new(APP, SECRET);
    check("zalo_oa_signature_header", headers, move |h| {
        let t = h.trim();
        let t = match t.get(..4) {
            Some(p) if p.eq_ignore_ascii_case("mac=") => &t[4..],
            _ => t,
        };
        let right = t.trim().eq_ignore_ascii_case(&good);
        let result = verifier.verify(&h, &raw, &value);
        prop_assert_eq!(result.is_ok(), right, "{:?}", result);
        Ok(())
    });
}

#[test]
fn deeply_nested_oa_bodies_are_refused_without_overflowing_the_stack() {
    for objects in [false, true] {
        let deep = deeply_nested(200_000, objects);
        assert!(serde_json::from_str::<Value>(&deep).is_err());
    }
}
