//! Fuzz target: Telegram updates, as raw bodies and as mutated JSON, through teloxide's parser
//! and [`route`] (which asks groups, replies and moderation first). Run long by `scripts/fuzz`.

use proptest::prelude::*;
use serde_json::{Value, json};
use teloxide::types::Update;

use super::{Route, route};
use crate::dialog::{Command, Input};
use crate::fuzzing::{check, deeply_nested, mutate, mutate_bytes};

/// Field names Telegram uses, so that mutations add fields a parser looks at.
const KEYS: &[&str] = &[
    "update_id",
    "message",
    "edited_message",
    "callback_query",
    "my_chat_member",
    "chat_member",
    "channel_post",
    "message_id",
    "from",
    "chat",
    "date",
    "text",
    "id",
    "type",
    "title",
    "is_bot",
    "first_name",
    "last_name",
    "username",
    "language_code",
    "data",
    "reply_to_message",
    "entities",
    "caption",
    "photo",
    "sticker",
    "voice",
    "document",
    "new_chat_title",
    "migrate_to_chat_id",
    "migrate_from_chat_id",
    "old_chat_member",
    "new_chat_member",
    "status",
    "user",
    "chat_instance",
    "edit_date",
    "forward_origin",
    "file_id",
];

fn user(id: i64) -> Value {
    json!({"id": id, "is_bot": false, "first_name": "Lê", "last_name": "Thị Hoa",
           "username": "hoa_le", "language_code": "vi"})
}

/// Updates of every kind gopy reads, as Telegram sends them.
fn templates() -> Vec<Value> {
    let private = json!({"id": 42, "type": "private", "first_name": "Lê"});
    let group = json!({"id": -1001234, "type": "supergroup", "title": "Tổ dân phố 5"});
    let msg = |chat: &Value, extra: Value| {
        let mut m = json!({"message_id": 5, "from": user(42), "chat": chat, "date": 1_700_000_000});
        if let (Some(m), Some(extra)) = (m.as_object_mut(), extra.as_object()) {
            m.extend(extra.clone());
        }
        m
    };
    vec![
        json!({"update_id": 1, "message": msg(&private, json!({"text": "Ý kiến của tôi"}))}),
        json!({"update_id": 2, "message": msg(&private, json!({"text": "/start dh-2025_to-1"}))}),
        json!({"update_id": 3, "message": msg(&private, json!({"photo": [{"file_id": "a",
            "file_unique_id": "b", "width": 1, "height": 1}], "caption": "ảnh"}))}),
        json!({"update_id": 4, "callback_query": {"id": "77", "from": user(42),
            "chat_instance": "-1", "data": "3:topic:t1", "message": msg(&private,
            json!({"text": "Chọn"}))}}),
        json!({"update_id": 5, "message": msg(&group, json!({"text": "/start@gopy_bot"}))}),
        json!({"update_id": 6, "message": msg(&group, json!({"text": "Đồng ý",
            "reply_to_message": msg(&group, json!({"text": "Thông báo", "from": {"id": 1,
            "is_bot": true, "first_name": "Góp ý", "username": "gopy_bot"}}))}))}),
        json!({"update_id": 7, "message": msg(&group, json!({"text": "/report",
            "reply_to_message": msg(&group, json!({"text": "nội dung xấu"}))}))}),
        json!({"update_id": 8, "my_chat_member": {"chat": group, "from": user(42),
            "date": 1_700_000_000,
            "old_chat_member": {"status": "left", "user": {"id": 1, "is_bot": true, "first_name": "B"}},
            "new_chat_member": {"status": "administrator", "user": {"id": 1, "is_bot": true,
                "first_name": "B"}, "can_be_edited": false, "can_manage_chat": true,
                "can_delete_messages": true, "can_manage_video_chats": false,
                "can_restrict_members": true, "can_promote_members": false,
                "can_change_info": false, "can_invite_users": true, "can_pin_messages": true,
                "is_anonymous": false}}}),
        json!({"update_id": 9, "edited_message": msg(&group, json!({"text": "sửa lại",
            "edit_date": 1_700_000_100}))}),
        json!({"update_id": 10, "message": msg(&group, json!({"migrate_to_chat_id": -100999}))}),
        json!({"update_id": 11, "message": msg(&private, json!({"text": "/link ABC123"}))}),
        json!({"update_id": 12, "message": msg(&group, json!({"text": "/bind to-1"}))}),
    ]
}

/// Routes a body the way the polling loop (and a webhook) does; checks what comes out.
fn route_body(body: &[u8]) -> Result<(), TestCaseError> {
    let Ok(update) = serde_json::from_slice::<Update>(body) else {
        return Ok(());
    };
    let (kind, routed) = route(&update, "gopy_bot");
    prop_assert!(!kind.is_empty());
    // NFC may lengthen a text, by at most three times; nothing else adds to it.
    let bound = 3 * body.len() + 16;
    if let Route::Dialog(ev) = &routed {
        let text_len = match &ev.input {
            Input::Text(t) | Input::Button(t) => t.len(),
            Input::Command(Command::Start { payload }) => payload.as_ref().map_or(0, String::len),
            Input::Command(Command::Unknown(w)) => w.len(),
            _ => 0,
        };
        prop_assert!(text_len <= bound, "{text_len} bytes out of {}", body.len());
        let name = ev.identity.display_name.as_ref().map_or(0, String::len);
        prop_assert!(name <= bound);
        if let Input::Text(t) = &ev.input {
            prop_assert!(unicode_normalization::is_nfc(t));
        }
    }
    Ok(())
}

/// Mutated updates of every kind.
fn mutated_updates() -> BoxedStrategy<Value> {
    let all: Vec<BoxedStrategy<Value>> = templates().iter().map(|t| mutate(t, KEYS)).collect();
    proptest::strategy::Union::new(all).boxed()
}

#[test]
fn fuzz_telegram_mutated_updates_never_panic() {
    check("telegram_update_json", mutated_updates(), |v| {
        route_body(v.to_string().as_bytes())
    });
}

#[test]
fn fuzz_telegram_raw_bodies_never_panic() {
    let bodies: Vec<BoxedStrategy<Vec<u8>>> = templates()
        .into_iter()
        .map(|t| mutate_bytes(t.to_string().into_bytes()))
        .chain([proptest::collection::vec(any::<u8>(), 0..512).boxed()])
        .collect();
    check(
        "telegram_update_bytes",
        proptest::strategy::Union::new(bodies),
        |b| route_body(&b),
    );
}

#[test]
fn deeply_nested_updates_are_refused_without_overflowing_the_stack() {
    for objects in [false, true] {
        let deep = deeply_nested(200_000, objects);
        assert!(serde_json::from_str::<Update>(&deep).is_err());
        let inside = format!(
            r#"{{"update_id": 1, "message": {{"message_id": 1, "date": 1, "chat": {{"id": 1, "type": "private"}}, "text": "x", "reply_to_message": {}}}}}"#,
            deep
        );
        // Refused, or kept as an update teloxide could not read: either way, no crash.
        if let Ok(u) = serde_json::from_str::<Update>(&inside) {
            let _ = route(&u, "gopy_bot");
        }
    }
}
