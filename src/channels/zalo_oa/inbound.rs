//! Turns an OA webhook body into what gopy does with it. Pure: no I/O.
//!
//! Two steps: at the webhook, [`admit`] says whether the event is kept (and under which
//! de-duplication key) or dropped (`oa_send_*` echoes of our own messages, receipts);
//! later the processor [`route`]s a kept event: a resident's message for the dialog (text,
//! or media for the "text only" answer), a follow or an unfollow, a member's message in a
//! GMF group (which makes the group known). Tolerant of
//! what Zalo is seen to send: ids and timestamps as strings or numbers, `msg_id` or
//! `message_id`.

use chrono::{DateTime, TimeZone as _, Utc};
use serde_json::Value;
use unicode_normalization::UnicodeNormalization as _;

use crate::dialog::{Command, Input, MediaKind};

/// Why a body is not an OA event (answered 400).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a Zalo OA event: {0}")]
pub struct Malformed(pub &'static str);

/// What the webhook does with an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admit {
    /// Keep it in the inbox under this key.
    Keep {
        /// The de-duplication key.
        key: String,
        /// `event_name`.
        name: String,
        /// The OA user it is about.
        user: Option<String>,
    },
    /// Answer 200 and drop it (logged with this reason).
    Drop(&'static str),
}

/// A resident's message for the dialog.
#[derive(Debug, Clone, PartialEq)]
pub struct DialogEvent {
    /// Zalo's `msg_id` (or `message_id`).
    pub msg_id: String,
    /// The sender's OA user id.
    pub user: String,
    /// What they sent.
    pub input: Input,
    /// When Zalo says it happened.
    pub at: Option<DateTime<Utc>>,
    /// `/appeal [reasons]`: the reasons (moderation takes it, not the dialog).
    pub appeal: Option<String>,
}

/// What the processor does with a kept event.
#[derive(Debug, Clone, PartialEq)]
pub enum Route {
    /// A resident's message.
    Dialog(DialogEvent),
    /// The user followed (`true`) or unfollowed the OA.
    Follow {
        /// Their OA user id.
        user: String,
        /// Whether they follow now.
        following: bool,
        /// When.
        at: Option<DateTime<Utc>>,
    },
    /// A member wrote in a GMF group of the OA: the group is made known (pending), so that
    /// an official can bind it to a unit. Nothing of the message is kept.
    Group {
        /// The GMF group id (`recipient.id`).
        group: String,
    },
    /// Nothing to do (logged with this reason).
    Ignore(&'static str),
}

/// An id written as a string or a number; blank is none.
pub fn id(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A timestamp in milliseconds (Zalo's unit) or seconds, as a string or a number.
pub fn timestamp(v: &Value) -> Option<DateTime<Utc>> {
    let n = v
        .as_i64()
        .or_else(|| v.as_f64().map(|f| f as i64))
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))?;
    if n < 100_000_000_000 {
        Utc.timestamp_opt(n, 0).single()
    } else {
        Utc.timestamp_millis_opt(n).single()
    }
}

/// The user an event is about: the follower of a follow, else the sender.
fn user_of(ev: &Value) -> Option<String> {
    ev.get("follower")
        .and_then(|f| f.get("id"))
        .or_else(|| ev.get("sender").and_then(|s| s.get("id")))
        .or_else(|| ev.get("user_id"))
        .and_then(id)
}

/// The message id of a message event.
fn msg_id_of(ev: &Value) -> Option<String> {
    let m = ev.get("message")?;
    m.get("msg_id").or_else(|| m.get("message_id")).and_then(id)
}

/// The event's name, checking the body is an object.
fn name_of(ev: &Value) -> Result<&str, Malformed> {
    if !ev.is_object() {
        return Err(Malformed("the body is not a JSON object"));
    }
    ev.get("event_name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .ok_or(Malformed("no event_name"))
}

/// Decides, at the webhook, whether an event is kept and under which key.
pub fn admit(ev: &Value) -> Result<Admit, Malformed> {
    let name = name_of(ev)?;
    if name.starts_with("oa_send") {
        return Ok(Admit::Drop("an echo of the OA's own message"));
    }
    if name.starts_with("anonymous_send") {
        return Ok(Admit::Drop("a message from an anonymous user"));
    }
    let kept = name.starts_with("user_send_") || name == "follow" || name == "unfollow";
    if !kept {
        return Ok(Admit::Drop("an event gopy does not act on"));
    }
    let user = user_of(ev).ok_or(Malformed("no sender.id or follower.id"))?;
    let key = if name.starts_with("user_send_") {
        let msg = msg_id_of(ev).ok_or(Malformed("a message without msg_id or message_id"))?;
        format!("msg:{msg}")
    } else {
        let ts = ev
            .get("timestamp")
            .and_then(id)
            .ok_or(Malformed("a follow without timestamp"))?;
        format!("{name}:{user}:{ts}")
    };
    Ok(Admit::Keep {
        key,
        name: name.to_owned(),
        user: Some(user),
    })
}

/// Routes a kept event.
pub fn route(ev: &Value) -> Result<Route, Malformed> {
    let name = name_of(ev)?;
    let at = ev.get("timestamp").and_then(timestamp);
    let user = user_of(ev).ok_or(Malformed("no sender.id or follower.id"))?;
    if name == "follow" || name == "unfollow" {
        return Ok(Route::Follow {
            user,
            following: name == "follow",
            at,
        });
    }
    if name.starts_with("user_send_group") {
        let group = ev
            .get("recipient")
            .and_then(|r| r.get("id"))
            .and_then(id)
            .ok_or(Malformed("a group message without recipient.id"))?;
        return Ok(Route::Group { group });
    }
    let Some(kind) = name.strip_prefix("user_send_") else {
        return Ok(Route::Ignore("an event gopy does not act on"));
    };
    let msg_id = msg_id_of(ev).ok_or(Malformed("a message without msg_id or message_id"))?;
    let mut appeal = None;
    let input = match kind {
        "text" => {
            let text = ev
                .get("message")
                .and_then(|m| m.get("text"))
                .and_then(Value::as_str)
                .ok_or(Malformed("a text message without text"))?;
            let text: String = text.nfc().collect();
            let input = Input::from_text(&text);
            if matches!(&input, Input::Command(Command::Unknown(w)) if w == "appeal") {
                let rest = text.trim().split_once(char::is_whitespace).map(|(_, r)| r);
                appeal = Some(rest.unwrap_or_default().trim().to_owned());
            }
            input
        }
        "image" => Input::Media(MediaKind::Photo),
        "sticker" => Input::Media(MediaKind::Sticker),
        "audio" | "voice" => Input::Media(MediaKind::Voice),
        "video" | "gif" => Input::Media(MediaKind::Video),
        "file" => Input::Media(MediaKind::File),
        _ => Input::Media(MediaKind::Other),
    };
    Ok(Route::Dialog(DialogEvent {
        msg_id,
        user,
        input,
        at,
        appeal,
    }))
}

#[cfg(test)]
mod fuzz;

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn text(text: &str) -> Value {
        json!({"app_id": "360846524940903967", "sender": {"id": "246845883529197922"},
            "user_id_by_app": "552177279717587730", "recipient": {"id": "388613280878808645"},
            "event_name": "user_send_text",
            "message": {"text": text, "msg_id": "96d3cdf3af150460909"},
            "timestamp": "1543908534740"})
    }

    #[test]
    fn a_text_is_kept_by_msg_id_and_becomes_nfc_dialog_input() {
        let ev = text("Y\u{301} kie\u{302}\u{301}n");
        assert_eq!(
            admit(&ev),
            Ok(Admit::Keep {
                key: "msg:96d3cdf3af150460909".into(),
                name: "user_send_text".into(),
                user: Some("246845883529197922".into())
            })
        );
        let Ok(Route::Dialog(d)) = route(&ev) else {
            panic!("{:?}", route(&ev));
        };
        assert_eq!(d.input, Input::Text("Ý kiến".into()));
        assert_eq!(d.user, "246845883529197922");
        assert_eq!(d.at.map(|t| t.timestamp_millis()), Some(1_543_908_534_740));
    }

    #[test]
    fn message_id_numbers_and_appeals_are_understood() {
        let ev = json!({"event_name": "user_send_text", "sender": {"id": 246845883529197922_u64},
            "message": {"text": "/appeal tôi không xúc phạm ai", "message_id": 42},
            "timestamp": 1543908534});
        assert!(matches!(admit(&ev), Ok(Admit::Keep { key, .. }) if key == "msg:42"));
        let Ok(Route::Dialog(d)) = route(&ev) else {
            panic!()
        };
        assert_eq!(d.appeal.as_deref(), Some("tôi không xúc phạm ai"));
        assert_eq!(d.user, "246845883529197922");
        assert_eq!(d.at.map(|t| t.timestamp()), Some(1_543_908_534));
    }

    #[test]
    fn media_become_media_inputs_and_follows_are_routed() {
        for (name, kind) in [
            ("user_send_image", MediaKind::Photo),
            ("user_send_sticker", MediaKind::Sticker),
            ("user_send_audio", MediaKind::Voice),
            ("user_send_gif", MediaKind::Video),
            ("user_send_file", MediaKind::File),
            ("user_send_location", MediaKind::Other),
        ] {
            let mut ev = text("");
            ev["event_name"] = json!(name);
            let Ok(Route::Dialog(d)) = route(&ev) else {
                panic!("{name}")
            };
            assert_eq!(d.input, Input::Media(kind), "{name}");
        }
        let follow = json!({"event_name": "follow", "oa_id": "1", "follower": {"id": "u1"},
            "timestamp": "1543908534740"});
        assert_eq!(
            admit(&follow),
            Ok(Admit::Keep {
                key: "follow:u1:1543908534740".into(),
                name: "follow".into(),
                user: Some("u1".into())
            })
        );
        assert!(matches!(
            route(&follow),
            Ok(Route::Follow {
                following: true,
                ..
            })
        ));
        let mut group = text("chào cả nhóm");
        group["event_name"] = json!("user_send_group_text");
        group["recipient"] = json!({"id": "5512345678901234567"});
        assert!(matches!(admit(&group), Ok(Admit::Keep { .. })));
        assert_eq!(
            route(&group),
            Ok(Route::Group {
                group: "5512345678901234567".into()
            })
        );
    }

    #[test]
    fn echoes_and_receipts_are_dropped_and_malformed_bodies_told_apart() {
        for name in [
            "oa_send_text",
            "oa_send_image",
            "oa_send_group_text",
            "user_seen_message",
            "user_received_message",
            "anonymous_send_text",
        ] {
            let mut ev = text("x");
            ev["event_name"] = json!(name);
            assert!(matches!(admit(&ev), Ok(Admit::Drop(_))), "{name}");
        }
        for bad in [
            json!([1]),
            json!({"message": {}}),
            json!({"event_name": "user_send_text", "message": {"msg_id": "1"}}),
            json!({"event_name": "user_send_text", "sender": {"id": "1"}, "message": {}}),
            json!({"event_name": "follow", "follower": {"id": "u1"}}),
        ] {
            assert!(admit(&bad).is_err(), "{bad}");
        }
    }
}
