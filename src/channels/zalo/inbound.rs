//! Turns a Zalo Bot API event (from `getUpdates` or a webhook; wrapped in
//! `{"ok":true,"result":…}` or flat) into what gopy does with it. Tolerant of what Zalo is
//! seen to send: ids as strings or numbers, dates in milliseconds or seconds. Pure: no I/O.

use chrono::{DateTime, TimeZone as _, Utc};
use serde_json::Value;
use unicode_normalization::UnicodeNormalization as _;

use crate::dialog::{Command, Input, MediaKind};
use crate::domain::Identity;

/// What to do with one event.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Route {
    /// A resident's message for the dialog (or a group message or staff action, see
    /// [`DialogEvent::group`]).
    Dialog(Box<DialogEvent>),
    /// `message.unsupported.received`: Zalo withheld the content (a protected user). Answer
    /// politely in the chat and store nothing.
    Unsupported {
        /// Where to answer.
        chat: String,
        /// The message id, to answer a redelivery once.
        message_id: Option<String>,
    },
    /// Nothing to do (logged by the caller with this reason).
    Ignore(&'static str),
}

/// A resident's message for the dialog.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct DialogEvent {
    /// Zalo's `message_id`: the de-duplication key.
    pub message_id: String,
    /// The sender's Zalo id; the contact's external id.
    pub user: String,
    /// Where replies go (in a private chat, the same as `user`).
    pub chat: String,
    /// What they sent.
    pub input: Input,
    /// The name Zalo shows for them (kept only if they choose to be named).
    pub identity: Identity,
    /// When Zalo says it was sent.
    pub date: Option<DateTime<Utc>>,
    /// `/appeal [reasons]`: the reasons (moderation takes it, not the dialog).
    pub appeal: Option<String>,
    /// Set for a message in a group (one that mentions the bot or replies to it): the
    /// group's title as Zalo gives it, if it does. Never for the dialog: a group message
    /// registers the group and may be a staff command (`/bind`, `/unbind`).
    pub group: Option<String>,
    /// `/link CODE` in private: the code typed (empty when none).
    pub link: Option<String>,
    /// `ĐÃ ĐĂNG <số>` (or `/posted <số>`) in private: the delivery a lead says they posted.
    pub posted: Option<i64>,
    /// In a group: the message it replies to or quotes, whatever field Zalo put it in.
    pub reply_to: Option<String>,
    /// A photo, voice note or document it carries, by its link.
    pub file: Option<ZaloFile>,
    /// The caption of a photo or file (NFC, trimmed), if any.
    pub caption: Option<String>,
}

/// A file a message carries: Zalo gives a link to it, not an id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ZaloFile {
    /// Where to download it.
    pub url: String,
    /// Voice, audio, photo or document.
    pub kind: crate::replies::files::FileKind,
    /// Its type when Zalo says, else the usual one for its kind.
    pub mime: String,
    /// Its size when Zalo says.
    pub size: Option<u64>,
}

/// The id of the message a group message replies to or quotes. The Bot API documents no
/// shape for it, so every one clients report is accepted: `reply_to_message`, `quote`,
/// `quoted_message` or `reply_to` as an object (`message_id`, `msg_id`, `global_msg_id` or
/// `id`), or `reply_to_message_id`, `quote_message_id`, `quote_msg_id`, `reply_to` as an id.
pub(super) fn reply_target(msg: &Value) -> Option<String> {
    for key in [
        "reply_to_message",
        "quote",
        "quoted_message",
        "reply_to",
        "quoted",
    ] {
        if let Some(obj) = msg.get(key).filter(|v| v.is_object()) {
            for field in ["message_id", "msg_id", "global_msg_id", "id"] {
                if let Some(found) = obj.get(field).and_then(id) {
                    return Some(found);
                }
            }
        }
    }
    [
        "reply_to_message_id",
        "quote_message_id",
        "quote_msg_id",
        "quoted_message_id",
        "reply_to",
    ]
    .iter()
    .find_map(|k| msg.get(*k).and_then(id))
}

/// The file a message of this kind carries, by its link (`photo_url`, `photo`, `url`,
/// `voice_url`, `file_url`, or an object under `photo`, `voice`, `audio`, `document`, `file`
/// with `url`; an array of photo sizes gives its last, largest one).
pub(super) fn file_of(kind: &str, msg: &Value) -> Option<ZaloFile> {
    use crate::replies::files::FileKind;
    let (file_kind, default_mime, keys) = match kind {
        "image" | "photo" => (FileKind::Photo, "image/jpeg", ["photo", "image"]),
        "voice" => (FileKind::Voice, "audio/mp4", ["voice", "audio"]),
        "audio" => (FileKind::Audio, "audio/mpeg", ["audio", "voice"]),
        "document" | "file" => (
            FileKind::Document,
            "application/octet-stream",
            ["document", "file"],
        ),
        _ => return None,
    };
    let url_of = |v: &Value| -> Option<String> {
        match v {
            Value::String(s) if s.starts_with("http") => Some(s.clone()),
            Value::Object(o) => ["url", "file_url", "href"]
                .iter()
                .find_map(|k| o.get(*k).and_then(Value::as_str).map(str::to_owned)),
            Value::Array(a) => a.iter().rev().find_map(|x| match x {
                Value::String(s) if s.starts_with("http") => Some(s.clone()),
                Value::Object(o) => o.get("url").and_then(Value::as_str).map(str::to_owned),
                _ => None,
            }),
            _ => None,
        }
    };
    let nested = keys.iter().find_map(|k| msg.get(*k));
    let url = ["photo_url", "voice_url", "file_url", "url"]
        .iter()
        .find_map(|k| msg.get(*k).and_then(Value::as_str).map(str::to_owned))
        .or_else(|| nested.and_then(url_of))?;
    let field = |k: &str| msg.get(k).or_else(|| nested.and_then(|n| n.get(k)));
    let mime = field("mime_type")
        .or_else(|| field("mime"))
        .and_then(Value::as_str)
        .map(|m| m.trim().to_ascii_lowercase())
        .filter(|m| m.contains('/'))
        .unwrap_or_else(|| default_mime.to_owned());
    let size = field("file_size").or_else(|| field("size")).and_then(|v| {
        v.as_u64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
    });
    Some(ZaloFile {
        url,
        kind: file_kind,
        mime,
        size,
    })
}

/// Why a body is not a Zalo event (answered 400 on the webhook).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a Zalo Bot API event: {0}")]
pub(super) struct Malformed(pub &'static str);

/// The event inside a body: `result` when wrapped, the body itself when flat.
pub(super) fn unwrap_event(body: &Value) -> &Value {
    match body.get("result") {
        Some(inner) if inner.is_object() && body.get("event_name").is_none() => inner,
        _ => body,
    }
}

/// Routes one event (wrapped or flat); also returns its kind for the
/// `gopy_zalo_updates_total` metric.
pub(super) fn route(body: &Value) -> Result<(&'static str, Route), Malformed> {
    let ev = unwrap_event(body);
    if !ev.is_object() {
        return Err(Malformed("the body is not a JSON object"));
    }
    let name = ev
        .get("event_name")
        .and_then(Value::as_str)
        .ok_or(Malformed("no event_name"))?;
    let Some(kind) = name
        .strip_prefix("message.")
        .and_then(|k| k.strip_suffix(".received"))
    else {
        return Ok((
            "other",
            Route::Ignore("an event that is not a received message"),
        ));
    };
    let msg = ev
        .get("message")
        .filter(|m| m.is_object())
        .ok_or(Malformed("a message event without a message"))?;
    let from = msg.get("from");
    let user = from
        .and_then(|f| f.get("id"))
        .and_then(id)
        .ok_or(Malformed("a message without from.id"))?;
    let chat_obj = msg.get("chat");
    let chat = chat_obj
        .and_then(|c| c.get("id"))
        .and_then(id)
        .unwrap_or_else(|| user.clone());
    let chat_type = chat_obj
        .and_then(|c| c.get("chat_type").or_else(|| c.get("type")))
        .and_then(Value::as_str)
        .unwrap_or("PRIVATE");
    let group = (!chat_type.eq_ignore_ascii_case("private")).then(|| {
        chat_obj
            .and_then(|c| {
                c.get("title")
                    .or_else(|| c.get("name"))
                    .or_else(|| c.get("display_name"))
            })
            .and_then(Value::as_str)
            .map(|t| t.nfc().collect::<String>())
            .unwrap_or_default()
    });
    if from.and_then(|f| f.get("is_bot")).and_then(Value::as_bool) == Some(true) {
        return Ok(("bot", Route::Ignore("a message from a bot")));
    }
    let reply_to = group.as_ref().and_then(|_| reply_target(msg));
    if group.is_some() && kind != "text" && reply_to.is_none() {
        return Ok(("group", Route::Ignore("a group message that is not text")));
    }
    let file = file_of(kind, msg);
    let caption = msg
        .get("caption")
        .and_then(Value::as_str)
        .map(|c| c.nfc().collect::<String>().trim().to_owned())
        .filter(|c| !c.is_empty());
    let message_id = msg
        .get("message_id")
        .or_else(|| msg.get("msg_id"))
        .and_then(id);
    if kind == "unsupported" {
        return Ok(("unsupported", Route::Unsupported { chat, message_id }));
    }
    let message_id = message_id.ok_or(Malformed("a message without message_id"))?;
    let mut appeal = None;
    let mut link = None;
    let mut posted = None;
    let (label, input) = match kind {
        "text" if group.is_some() => {
            let text = msg
                .get("text")
                .and_then(Value::as_str)
                .ok_or(Malformed("a text message without text"))?;
            ("group", Input::Text(text.nfc().collect()))
        }
        "text" => {
            let text = msg
                .get("text")
                .and_then(Value::as_str)
                .ok_or(Malformed("a text message without text"))?;
            let text: String = text.nfc().collect();
            let input = Input::from_text(&text);
            let rest = || {
                let rest = text.trim().split_once(char::is_whitespace).map(|(_, r)| r);
                rest.unwrap_or_default().trim().to_owned()
            };
            match &input {
                Input::Command(Command::Unknown(w)) if w == "appeal" => appeal = Some(rest()),
                Input::Command(Command::Unknown(w)) if w == "link" => link = Some(rest()),
                _ => {}
            }
            posted = crate::announce::groups::posted_reply(&text);
            let label = if matches!(input, Input::Command(_)) {
                "command"
            } else {
                "text"
            };
            (label, input)
        }
        "image" | "photo" => ("media", Input::Media(MediaKind::Photo)),
        "sticker" => ("media", Input::Media(MediaKind::Sticker)),
        "voice" | "audio" => ("media", Input::Media(MediaKind::Voice)),
        "video" | "gif" => ("media", Input::Media(MediaKind::Video)),
        "document" | "file" => ("media", Input::Media(MediaKind::File)),
        _ => ("media", Input::Media(MediaKind::Other)),
    };
    let name = from
        .and_then(|f| f.get("display_name").or_else(|| f.get("name")))
        .and_then(Value::as_str)
        .map(|n| n.nfc().collect::<String>())
        .filter(|n| !n.trim().is_empty());
    Ok((
        label,
        Route::Dialog(Box::new(DialogEvent {
            message_id,
            user,
            chat,
            input,
            identity: Identity {
                display_name: name,
                username: None,
            },
            date: msg.get("date").and_then(date),
            appeal: appeal.filter(|_| group.is_none()),
            link: link.filter(|_| group.is_none()),
            posted: posted.filter(|_| group.is_none()),
            group,
            reply_to,
            file,
            caption,
        })),
    ))
}

/// An id written as a string or a number; blank is none.
fn id(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A date in milliseconds (Zalo's documented unit) or seconds since the epoch, as a number or
/// a string: values below 10¹¹ are taken as seconds (10¹¹ s is in the year 5138).
fn date(v: &Value) -> Option<DateTime<Utc>> {
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

#[cfg(test)]
mod fuzz;

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::dialog::Command;

    fn message(event: &str, extra: Value) -> Value {
        let mut m = json!({"message_id": "2d758cb5e222177a4e35", "date": 1750316131602_i64,
            "from": {"id": "6ede9afa66b88fe6d6a9", "display_name": "Ted", "is_bot": false},
            "chat": {"id": "6ede9afa66b88fe6d6a9", "chat_type": "PRIVATE"}});
        for (k, v) in extra.as_object().expect("object") {
            m[k] = v.clone();
        }
        json!({"event_name": event, "message": m})
    }

    fn dialog(body: &Value) -> DialogEvent {
        match route(body) {
            Ok((_, Route::Dialog(ev))) => *ev,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_text_becomes_nfc_text_with_the_senders_name_in_both_body_shapes() {
        let flat = message(
            "message.text.received",
            json!({"text": "Y\u{301} kie\u{302}\u{301}n"}),
        );
        let wrapped = json!({"ok": true, "result": flat.clone()});
        for body in [flat, wrapped] {
            let ev = dialog(&body);
            assert_eq!(ev.input, Input::Text("Ý kiến".to_owned()));
            assert_eq!(ev.message_id, "2d758cb5e222177a4e35");
            assert_eq!(ev.user, "6ede9afa66b88fe6d6a9");
            assert_eq!(ev.chat, "6ede9afa66b88fe6d6a9");
            assert_eq!(ev.identity.display_name.as_deref(), Some("Ted"));
            assert_eq!(
                ev.date.map(|d| d.timestamp_millis()),
                Some(1_750_316_131_602)
            );
        }
    }

    #[test]
    fn ids_may_be_numbers_and_dates_seconds() {
        let body = json!({"event_name": "message.text.received", "message": {
            "message_id": 987654321, "date": 1750316131, "text": "/start phuong-bk_TDP-1",
            "from": {"id": 1459232241454765289_u64}, "chat": {"id": 1459232241454765289_u64}}});
        let ev = dialog(&body);
        assert_eq!(ev.message_id, "987654321");
        assert_eq!(ev.user, "1459232241454765289");
        assert_eq!(ev.date.map(|d| d.timestamp()), Some(1_750_316_131));
        assert_eq!(
            ev.input,
            Input::Command(Command::Start {
                payload: Some("phuong-bk_TDP-1".to_owned())
            })
        );
        assert_eq!(ev.identity.display_name, None);
    }

    #[test]
    fn media_messages_become_media_inputs() {
        for (event, kind) in [
            ("message.image.received", MediaKind::Photo),
            ("message.sticker.received", MediaKind::Sticker),
            ("message.voice.received", MediaKind::Voice),
            ("message.document.received", MediaKind::File),
            ("message.location.received", MediaKind::Other),
        ] {
            let body = message(
                event,
                json!({"photo_url": "https://x/y.jpg", "caption": "ảnh"}),
            );
            assert_eq!(dialog(&body).input, Input::Media(kind), "{event}");
        }
    }

    #[test]
    fn an_unsupported_message_is_answered_without_anything_for_the_dialog() {
        let (kind, r) = route(&message("message.unsupported.received", json!({}))).expect("ok");
        assert_eq!(kind, "unsupported");
        assert_eq!(
            r,
            Route::Unsupported {
                chat: "6ede9afa66b88fe6d6a9".into(),
                message_id: Some("2d758cb5e222177a4e35".into())
            }
        );
    }

    #[test]
    fn groups_bots_and_other_events_are_ignored() {
        let group = message(
            "message.text.received",
            json!({"text": "@Bot chào", "chat": {"id": "g1", "chat_type": "GROUP"}}),
        );
        let ev = dialog(&group);
        assert_eq!(ev.group.as_deref(), Some(""));
        assert_eq!(ev.chat, "g1");
        assert_eq!(ev.input, Input::Text("@Bot chào".to_owned()));
        let titled = message(
            "message.text.received",
            json!({"text": "@Bot /bind TDP-1",
                   "chat": {"id": 42, "chat_type": "GROUP", "title": "Tổ dân phố 1"}}),
        );
        let ev = dialog(&titled);
        assert_eq!(
            (ev.chat.as_str(), ev.group.as_deref()),
            ("42", Some("Tổ dân phố 1"))
        );
        let sticker = message(
            "message.sticker.received",
            json!({"chat": {"id": "g1", "chat_type": "GROUP"}}),
        );
        assert!(matches!(route(&sticker), Ok(("group", Route::Ignore(_)))));
        let bot = message(
            "message.text.received",
            json!({"text": "x", "from": {"id": "b", "is_bot": true}}),
        );
        assert!(matches!(route(&bot), Ok(("bot", Route::Ignore(_)))));
        let follow = json!({"event_name": "user.follow", "follower": {"id": "1"}});
        assert!(matches!(route(&follow), Ok(("other", Route::Ignore(_)))));
    }

    #[test]
    fn every_shape_of_a_reply_or_quote_in_a_group_gives_the_message_it_answers() {
        let group = json!({"id": "g1", "chat_type": "GROUP"});
        for extra in [
            json!({"reply_to_message": {"message_id": "p1", "from": {"id": "bot"}}}),
            json!({"quote": {"msg_id": "p1", "text": "…"}}),
            json!({"quoted_message": {"global_msg_id": 7}}),
            json!({"reply_to": {"id": "p1"}}),
            json!({"reply_to_message_id": "p1"}),
            json!({"quote_msg_id": "p1"}),
            json!({"reply_to": "p1"}),
        ] {
            let mut fields = extra.clone();
            fields["chat"] = group.clone();
            fields["text"] = json!("@Bot Cần thêm đèn");
            let ev = dialog(&message("message.text.received", fields));
            let want = if extra.get("quoted_message").is_some() {
                "7"
            } else {
                "p1"
            };
            assert_eq!(ev.reply_to.as_deref(), Some(want), "{extra}");
        }
        let plain = dialog(&message(
            "message.text.received",
            json!({"text": "@Bot chào", "chat": group}),
        ));
        assert_eq!(plain.reply_to, None);
    }

    #[test]
    fn a_photo_replying_in_a_group_is_kept_with_its_link_and_caption() {
        let body = message(
            "message.image.received",
            json!({"chat": {"id": "g1", "chat_type": "GROUP"}, "quote": {"msg_id": "p2"},
                   "photo_url": "https://photo.zadn.vn/a.jpg", "caption": " Ngập "}),
        );
        let ev = dialog(&body);
        assert_eq!(ev.input, Input::Media(MediaKind::Photo));
        assert_eq!(ev.caption.as_deref(), Some("Ngập"));
        let f = ev.file.expect("a file");
        assert_eq!(f.url, "https://photo.zadn.vn/a.jpg");
        assert_eq!(f.mime, "image/jpeg");
        let doc = file_of(
            "document",
            &json!({"document": {"url": "https://f.zdn.vn/x.pdf", "mime_type": "application/pdf",
                                 "file_size": "2048"}}),
        )
        .expect("a document");
        assert_eq!(
            (doc.mime.as_str(), doc.size),
            ("application/pdf", Some(2048))
        );
        assert_eq!(file_of("sticker", &json!({"url": "https://x"})), None);
    }

    #[test]
    fn malformed_bodies_are_told_apart() {
        for body in [
            json!([1, 2]),
            json!("text"),
            json!({"message": {}}),
            json!({"ok": true, "result": {"message": {}}}),
            json!({"event_name": "message.text.received"}),
            json!({"event_name": "message.text.received", "message": {"text": "x"}}),
            message("message.text.received", json!({})),
            message(
                "message.text.received",
                json!({"text": "x", "message_id": ""}),
            ),
        ] {
            assert!(route(&body).is_err(), "{body}");
        }
    }
}
