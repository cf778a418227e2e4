//! Turns Telegram updates into what gopy does with them: a dialog input from a private chat, a
//! `/start` in a group to answer with a link, a callback query to answer only, or nothing.
//! Pure: no I/O, so every kind of update is tested here.

use teloxide::types::{
    CallbackQueryId, ChatId, MediaKind as TgMedia, Message, MessageId, MessageKind, Update,
    UpdateKind, User,
};
use unicode_normalization::UnicodeNormalization as _;

use crate::dialog::{Input, MediaKind};
use crate::domain::{Identity, Locale};

/// What to do with one update.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Route {
    /// A resident's event for the dialog, answered in their private chat.
    Dialog(DialogEvent),
    /// `/start` in a group: answer there with a link to the private chat.
    GroupStart {
        /// The resident who sent it (their updates are serialised).
        resident: u64,
        /// The group.
        chat: ChatId,
        /// The message to reply to.
        reply_to: MessageId,
        /// The resident's client language.
        locale: Locale,
    },
    /// A callback query that has nothing for the dialog (no data, or a button outside a
    /// private chat): only answer it so the client stops waiting.
    AnswerOnly {
        /// The resident who pressed it.
        resident: u64,
        /// The query to answer.
        callback: CallbackQueryId,
    },
    /// A group event or a staff command (see `groups.rs`).
    Group(super::groups::GroupEvent),
    /// A group post to screen, `/report`, `/flag`, `/appeal` or a moderator's button (see
    /// `moderation.rs`).
    Moderation(super::moderation::ModEvent),
    /// A reply or an edit in a group that may be an opinion, or a button of the replies'
    /// private notice (see `replies.rs`); a group post is screened by moderation first.
    Reply(
        super::replies::ReplyEvent,
        Option<super::moderation::ModEvent>,
    ),
    /// Nothing to do (logged at debug by the caller).
    Skip,
}

/// A resident's event for the dialog.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct DialogEvent {
    /// Telegram user id; also the contact's external id.
    pub resident: u64,
    /// Where replies go: the resident's private chat.
    pub chat: ChatId,
    /// What they sent.
    pub input: Input,
    /// The name Telegram shows for them (kept only if they choose to be named).
    pub identity: Identity,
    /// Their client's language.
    pub locale_hint: Option<Locale>,
    /// The callback query to answer, when the event is a button press.
    pub callback: Option<CallbackQueryId>,
    /// A voice note, audio, photo or document sent in private, with its caption (NFC,
    /// trimmed): kept as (part of) an opinion when the dialog is at a topic's opinion step.
    pub file: Option<(super::replies::TgFile, String)>,
}

/// Routes one update; also returns its kind for the `gopy_telegram_updates_total` metric.
pub(super) fn route(update: &Update, bot_username: &str) -> (&'static str, Route) {
    if let Some((kind, ev)) = super::groups::route(update, bot_username) {
        return (kind, Route::Group(ev));
    }
    if let Some((kind, ev)) = super::replies::route(update) {
        let screened = super::moderation::route(update, bot_username).map(|(_, m)| m);
        return (kind, Route::Reply(ev, screened));
    }
    if let Some((kind, ev)) = super::moderation::route(update, bot_username) {
        return (kind, Route::Moderation(ev));
    }
    match &update.kind {
        UpdateKind::Message(msg) if msg.chat.is_private() => private_message(msg),
        UpdateKind::Message(msg) if msg.chat.is_group() || msg.chat.is_supergroup() => {
            ("group", group_message(msg, bot_username))
        }
        UpdateKind::Message(_) => ("other", Route::Skip),
        UpdateKind::CallbackQuery(q) => {
            let resident = q.from.id.0;
            let in_private = q.message.as_ref().is_none_or(|m| m.chat().is_private());
            let route = match (&q.data, in_private) {
                (Some(data), true) => Route::Dialog(DialogEvent {
                    resident,
                    chat: ChatId(resident as i64),
                    input: Input::Button(data.clone()),
                    identity: identity(&q.from),
                    locale_hint: locale(&q.from),
                    callback: Some(q.id.clone()),
                    file: None,
                }),
                _ => Route::AnswerOnly {
                    resident,
                    callback: q.id.clone(),
                },
            };
            ("callback", route)
        }
        UpdateKind::EditedMessage(_) => ("edited", Route::Skip),
        UpdateKind::ChannelPost(_) | UpdateKind::EditedChannelPost(_) => {
            ("channel_post", Route::Skip)
        }
        UpdateKind::MyChatMember(_) => ("my_chat_member", Route::Skip),
        // teloxide could not read it (a kind newer than teloxide, or a malformed update).
        UpdateKind::Error(_) => ("unparsed", Route::Skip),
        _ => ("other", Route::Skip),
    }
}

/// A message in a private chat: text (or a command), or something that is not text.
fn private_message(msg: &Message) -> (&'static str, Route) {
    let Some(from) = msg.from.as_ref() else {
        return ("other", Route::Skip);
    };
    let (kind, input) = if let Some(text) = msg.text() {
        let text: String = text.nfc().collect();
        let input = Input::from_text(&text);
        let kind = if matches!(input, Input::Command(_)) {
            "command"
        } else {
            "text"
        };
        (kind, input)
    } else {
        match media_kind(msg) {
            Some(m) => ("media", Input::Media(m)),
            None => return ("other", Route::Skip),
        }
    };
    let resident = from.id.0;
    (
        kind,
        Route::Dialog(DialogEvent {
            resident,
            chat: msg.chat.id,
            input,
            identity: identity(from),
            locale_hint: locale(from),
            callback: None,
            file: super::replies::file_of(msg).map(|f| (f, super::replies::text_of(msg))),
        }),
    )
}

/// A message in a group: only `/start` (or `/start@<this bot>`) gets an answer.
fn group_message(msg: &Message, bot_username: &str) -> Route {
    let (Some(from), Some(text)) = (msg.from.as_ref(), msg.text()) else {
        return Route::Skip;
    };
    let word = text.split_whitespace().next().unwrap_or_default();
    let Some(command) = word.strip_prefix('/') else {
        return Route::Skip;
    };
    let (name, mention) = match command.split_once('@') {
        Some((n, m)) => (n, Some(m)),
        None => (command, None),
    };
    let for_us = mention.is_none_or(|m| m.eq_ignore_ascii_case(bot_username));
    if name.eq_ignore_ascii_case("start") && for_us {
        Route::GroupStart {
            resident: from.id.0,
            chat: msg.chat.id,
            reply_to: msg.id,
            locale: locale(from).unwrap_or_default(),
        }
    } else {
        Route::Skip
    }
}

/// The kind of a non-text message, or `None` for service messages (pins, joins, ...).
fn media_kind(msg: &Message) -> Option<MediaKind> {
    let MessageKind::Common(common) = &msg.kind else {
        return None;
    };
    Some(match &common.media_kind {
        TgMedia::Sticker(_) => MediaKind::Sticker,
        TgMedia::Photo(_) => MediaKind::Photo,
        TgMedia::Voice(_) | TgMedia::Audio(_) => MediaKind::Voice,
        TgMedia::Video(_) | TgMedia::VideoNote(_) | TgMedia::Animation(_) => MediaKind::Video,
        TgMedia::Document(_) => MediaKind::File,
        _ => MediaKind::Other,
    })
}

/// What Telegram tells us about a person's name.
fn identity(user: &User) -> Identity {
    let name = user.full_name().nfc().collect::<String>();
    Identity {
        display_name: Some(name).filter(|n| !n.trim().is_empty()),
        username: user.username.clone(),
    }
}

/// The resident's client language, when gopy speaks it.
fn locale(user: &User) -> Option<Locale> {
    user.language_code.as_deref().and_then(Locale::parse)
}

#[cfg(test)]
mod fuzz;

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::dialog::Command;

    /// Parses an update the way it comes over the wire.
    fn update(v: Value) -> Update {
        serde_json::from_str(&v.to_string()).expect("an update")
    }

    fn alice() -> Value {
        json!({"id": 42, "is_bot": false, "first_name": "Lê", "last_name": "Thị Hoa",
               "username": "hoa_le", "language_code": "en-US"})
    }

    fn private_chat() -> Value {
        json!({"id": 42, "type": "private", "first_name": "Lê"})
    }

    fn message(chat: Value, body: Value) -> Value {
        let mut m = json!({"message_id": 5, "from": alice(), "chat": chat, "date": 1_700_000_000});
        for (k, v) in body.as_object().expect("object") {
            m[k] = v.clone();
        }
        json!({"update_id": 1, "message": m})
    }

    #[test]
    fn a_private_text_becomes_nfc_text_with_the_senders_name_and_language() {
        // "Ý kiến" written with combining marks (NFD).
        let nfd = "Y\u{301} kie\u{302}\u{301}n";
        let (kind, route) = route(
            &update(message(private_chat(), json!({"text": nfd}))),
            "bot",
        );
        assert_eq!(kind, "text");
        let Route::Dialog(ev) = route else {
            panic!("{route:?}")
        };
        assert_eq!(ev.input, Input::Text("Ý kiến".to_owned()));
        assert_eq!(ev.resident, 42);
        assert_eq!(ev.chat, ChatId(42));
        assert_eq!(ev.locale_hint, Some(Locale::En));
        assert_eq!(ev.identity.display_name.as_deref(), Some("Lê Thị Hoa"));
        assert_eq!(ev.identity.username.as_deref(), Some("hoa_le"));
        assert_eq!(ev.callback, None);
    }

    #[test]
    fn a_private_command_becomes_a_command_input() {
        let u = message(private_chat(), json!({"text": "/start demo_TDP1"}));
        let (kind, route) = route(&update(u), "bot");
        assert_eq!(kind, "command");
        let Route::Dialog(ev) = route else {
            panic!("{route:?}")
        };
        assert_eq!(
            ev.input,
            Input::Command(Command::Start {
                payload: Some("demo_TDP1".to_owned())
            })
        );
    }

    #[test]
    fn media_messages_become_media_inputs() {
        let cases = [
            (
                json!({"sticker": {"file_id": "a", "file_unique_id": "b", "type": "regular",
                "width": 1, "height": 1, "is_animated": false, "is_video": false}}),
                MediaKind::Sticker,
            ),
            (
                json!({"photo": [{"file_id": "a", "file_unique_id": "b", "width": 1, "height": 1}]}),
                MediaKind::Photo,
            ),
            (
                json!({"voice": {"file_id": "a", "file_unique_id": "b", "duration": 1, "mime_type": "audio/ogg"}}),
                MediaKind::Voice,
            ),
            (
                json!({"audio": {"file_id": "a", "file_unique_id": "b", "duration": 1, "mime_type": "audio/mpeg"}}),
                MediaKind::Voice,
            ),
            (
                json!({"video_note": {"file_id": "a", "file_unique_id": "b", "length": 1, "duration": 1}}),
                MediaKind::Video,
            ),
            (
                json!({"document": {"file_id": "a", "file_unique_id": "b"}}),
                MediaKind::File,
            ),
            (
                json!({"location": {"latitude": 1.0, "longitude": 2.0}}),
                MediaKind::Other,
            ),
            (
                json!({"contact": {"phone_number": "+84", "first_name": "A"}}),
                MediaKind::Other,
            ),
        ];
        for (body, expected) in cases {
            let (kind, route) = route(&update(message(private_chat(), body.clone())), "bot");
            assert_eq!(kind, "media", "{body}");
            let Route::Dialog(ev) = route else {
                panic!("{body}: {route:?}")
            };
            assert_eq!(ev.input, Input::Media(expected), "{body}");
        }
    }

    #[test]
    fn a_callback_query_becomes_a_button_press_to_answer() {
        let u = json!({"update_id": 9, "callback_query": {
            "id": "77", "from": alice(), "chat_instance": "-1", "data": "3:topic:t1",
            "message": {"message_id": 4, "chat": private_chat(), "date": 1_700_000_000,
                        "from": {"id": 1, "is_bot": true, "first_name": "B", "username": "bot"},
                        "text": "Chọn"}}});
        let (kind, route) = route(&update(u), "bot");
        assert_eq!(kind, "callback");
        let Route::Dialog(ev) = route else {
            panic!("{route:?}")
        };
        assert_eq!(ev.input, Input::Button("3:topic:t1".to_owned()));
        assert_eq!(ev.callback, Some(CallbackQueryId("77".to_owned())));
        assert_eq!(ev.chat, ChatId(42));
    }

    #[test]
    fn a_callback_query_without_data_is_only_answered() {
        let u = json!({"update_id": 9, "callback_query": {
            "id": "78", "from": alice(), "chat_instance": "-1", "game_short_name": "g"}});
        let (_, route) = route(&update(u), "bot");
        assert_eq!(
            route,
            Route::AnswerOnly {
                resident: 42,
                callback: CallbackQueryId("78".to_owned())
            }
        );
    }

    #[test]
    fn in_a_group_only_start_for_this_bot_is_answered() {
        let group = json!({"id": -100, "type": "group", "title": "Tổ 5"});
        for (text, answered) in [
            ("/start", true),
            ("/start@Gopy_Bot", true),
            ("/start@other_bot", false),
            ("/help", false),
            ("Xin chào cả tổ", false),
        ] {
            let (kind, route) = route(
                &update(message(group.clone(), json!({"text": text}))),
                "gopy_bot",
            );
            assert_eq!(kind, "group");
            match route {
                Route::GroupStart {
                    chat,
                    locale,
                    resident,
                    ..
                } => {
                    assert!(answered, "{text}");
                    assert_eq!(chat, ChatId(-100));
                    assert_eq!(resident, 42);
                    assert_eq!(locale, Locale::En);
                }
                Route::Skip => assert!(!answered, "{text}"),
                // An ordinary post goes to moderation (screened if the group is bound).
                Route::Moderation(_) => assert_eq!(text, "Xin chào cả tổ"),
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn edits_and_channel_posts_are_skipped_and_membership_changes_go_to_groups() {
        let edited = json!({"update_id": 2, "edited_message": {"message_id": 5, "from": alice(),
            "chat": private_chat(), "date": 1_700_000_000, "edit_date": 1_700_000_100, "text": "sửa"}});
        let post = json!({"update_id": 3, "channel_post": {"message_id": 5,
            "chat": {"id": -1009, "type": "channel", "title": "Kênh"}, "date": 1_700_000_000, "text": "tin"}});
        let member = json!({"update_id": 4, "my_chat_member": {
            "chat": {"id": -100, "type": "group", "title": "Tổ 5"}, "from": alice(), "date": 1_700_000_000,
            "old_chat_member": {"status": "left", "user": {"id": 1, "is_bot": true, "first_name": "B"}},
            "new_chat_member": {"status": "member", "user": {"id": 1, "is_bot": true, "first_name": "B"}}}});
        for (u, kind) in [(edited, "edited"), (post, "channel_post")] {
            assert_eq!(route(&update(u), "bot"), (kind, Route::Skip));
        }
        assert!(matches!(
            route(&update(member), "bot"),
            ("my_chat_member", Route::Group(_))
        ));
    }
}
