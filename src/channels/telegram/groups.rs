//! Groups on Telegram: the bot added to or removed from a chat (`my_chat_member`) and its
//! rights there, title changes, a group becoming a supergroup (`migrate_to_chat_id`), and the
//! staff commands `/link CODE` (private chat), `/bind UNIT` and `/unbind` (in a group);
//! staff actions on broadcasts (`/trinh`, approve and send-now buttons) are routed here and
//! run by `approvals.rs`.
//! `route` is pure; `run` stores what happened (through [`crate::announce`]) and answers.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use teloxide::types::{
    CallbackQueryId, Chat, ChatId, ChatMemberKind, Message, MessageId, Update, UpdateKind,
};
use tokio_util::sync::CancellationToken;
use unicode_normalization::UnicodeNormalization as _;

use crate::announce::groups::{
    GroupCommand, command_answer, confirm_posted, group_command, link, posted_answer,
};
use crate::dialog::Msg;
use crate::domain::{Channel, Locale};
use crate::i18n::Markup;
use crate::store::announce::{BotMembership, BotStatus, GroupKind, LinkOutcome};
use crate::store::{Store, StoreError, StoreResult};

use super::outbound::Outbound;

/// The longest pause between two tries while the database is down.
const MAX_RETRY_PAUSE: Duration = Duration::from_secs(30);

/// Something that happened to a group, or a staff command.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum GroupEvent {
    /// The bot's membership changed.
    Membership(BotMembership),
    /// The chat was renamed.
    Title {
        /// The chat.
        chat: ChatId,
        /// Its new title.
        title: String,
    },
    /// A group became a supergroup with a new id.
    Migrated {
        /// The old id.
        from: ChatId,
        /// The new id.
        to: ChatId,
    },
    /// `/link CODE` in a private chat.
    Link {
        /// The Telegram user.
        user: u64,
        /// Their private chat.
        chat: ChatId,
        /// What they typed after the command.
        code: String,
        /// Their client's language.
        locale: Locale,
    },
    /// A lead pressed "posted" under an assisted post (`posted:<delivery>`).
    Posted {
        /// The Telegram user.
        user: u64,
        /// Their private chat.
        chat: ChatId,
        /// The delivery they posted.
        delivery: i64,
        /// The button press, answered once handled.
        callback: CallbackQueryId,
    },
    /// A staff action on broadcasts from a private chat (see `approvals.rs`).
    Staff(super::approvals::StaffBroadcast),
    /// `/bind UNIT` (`unit: Some`) or `/unbind` (`unit: None`) in a group.
    Command {
        /// The sender.
        user: u64,
        /// The group.
        chat: ChatId,
        /// The command message, to reply to.
        reply_to: MessageId,
        /// The unit code typed (empty when none), or `None` for `/unbind`.
        unit: Option<String>,
    },
}

impl GroupEvent {
    /// What serialises this event with others in a batch: the chat (a negative id, so never
    /// a resident's), or the user for `/link`.
    pub(super) fn key(&self) -> u64 {
        let chat = match self {
            GroupEvent::Membership(m) => m.external_id.parse::<i64>().unwrap_or_default(),
            GroupEvent::Title { chat, .. } | GroupEvent::Command { chat, .. } => chat.0,
            GroupEvent::Migrated { from, .. } => from.0,
            GroupEvent::Link { user, .. } | GroupEvent::Posted { user, .. } => return *user,
            GroupEvent::Staff(
                super::approvals::StaffBroadcast::Submit { user, .. }
                | super::approvals::StaffBroadcast::Press { user, .. },
            ) => return *user,
        };
        chat.cast_unsigned()
    }
}

/// Routes the updates this module owns; `None` leaves the update to the dialog routing.
pub(super) fn route(update: &Update, bot_username: &str) -> Option<(&'static str, GroupEvent)> {
    match &update.kind {
        UpdateKind::MyChatMember(m) => {
            let kind = kind_of(&m.chat)?;
            let (status, can_delete, can_restrict) = match &m.new_chat_member.kind {
                ChatMemberKind::Owner(_) => (BotStatus::Administrator, true, true),
                ChatMemberKind::Administrator(a) => (
                    BotStatus::Administrator,
                    a.can_delete_messages,
                    a.can_restrict_members,
                ),
                ChatMemberKind::Member(_) => (BotStatus::Member, false, false),
                ChatMemberKind::Restricted(_) => (BotStatus::Restricted, false, false),
                ChatMemberKind::Left => (BotStatus::Left, false, false),
                ChatMemberKind::Banned(_) => (BotStatus::Kicked, false, false),
            };
            Some((
                "my_chat_member",
                GroupEvent::Membership(BotMembership {
                    channel: Channel::Telegram,
                    external_id: m.chat.id.0.to_string(),
                    kind,
                    title: m.chat.title().unwrap_or_default().to_owned(),
                    status,
                    can_delete,
                    can_restrict,
                }),
            ))
        }
        UpdateKind::Message(msg) | UpdateKind::ChannelPost(msg) => message(msg, bot_username),
        UpdateKind::CallbackQuery(q)
            if q.data.as_deref().is_some_and(super::approvals::is_ours) =>
        {
            let ev = super::approvals::StaffBroadcast::Press {
                user: q.from.id.0,
                chat: ChatId(q.from.id.0.cast_signed()),
                data: q.data.clone().unwrap_or_default(),
                callback: q.id.clone(),
            };
            Some(("broadcast_button", GroupEvent::Staff(ev)))
        }
        UpdateKind::CallbackQuery(q) => {
            let delivery = q
                .data
                .as_deref()?
                .strip_prefix(super::broadcast::POSTED_PREFIX)?
                .parse()
                .ok()?;
            let ev = GroupEvent::Posted {
                user: q.from.id.0,
                chat: ChatId(q.from.id.0.cast_signed()),
                delivery,
                callback: q.id.clone(),
            };
            Some(("posted", ev))
        }
        _ => None,
    }
}

/// A message this module owns: service messages about the chat, or a staff command.
fn message(msg: &Message, bot_username: &str) -> Option<(&'static str, GroupEvent)> {
    if let Some(to) = msg.migrate_to_chat_id() {
        let ev = GroupEvent::Migrated {
            from: msg.chat.id,
            to: *to,
        };
        return Some(("migrated", ev));
    }
    if let Some(from) = msg.migrate_from_chat_id() {
        let ev = GroupEvent::Migrated {
            from: *from,
            to: msg.chat.id,
        };
        return Some(("migrated", ev));
    }
    if let Some(title) = msg.new_chat_title() {
        let ev = GroupEvent::Title {
            chat: msg.chat.id,
            title: title.to_owned(),
        };
        return Some(("title", ev));
    }
    let from = msg.from.as_ref()?;
    let (name, rest) = command(msg.text()?, bot_username)?;
    if msg.chat.is_private() && name == "link" {
        let locale = from
            .language_code
            .as_deref()
            .and_then(Locale::parse)
            .unwrap_or_default();
        let ev = GroupEvent::Link {
            user: from.id.0,
            chat: msg.chat.id,
            code: rest,
            locale,
        };
        return Some(("command", ev));
    }
    if msg.chat.is_private() && (name == "trinh" || name == "submit") {
        // The text is the staff user's own message this command replies to.
        let text = msg
            .reply_to_message()
            .filter(|r| r.from.as_ref().is_some_and(|f| f.id == from.id))
            .and_then(|r| r.text())
            .map(|t| t.nfc().collect::<String>());
        let ev = super::approvals::StaffBroadcast::Submit {
            user: from.id.0,
            chat: msg.chat.id,
            text,
            units: rest.split_whitespace().map(str::to_owned).collect(),
        };
        return Some(("command", GroupEvent::Staff(ev)));
    }
    if (msg.chat.is_group() || msg.chat.is_supergroup()) && (name == "bind" || name == "unbind") {
        let ev = GroupEvent::Command {
            user: from.id.0,
            chat: msg.chat.id,
            reply_to: msg.id,
            unit: (name == "bind").then_some(rest),
        };
        return Some(("group_command", ev));
    }
    None
}

/// A command addressed to this bot (`/name` or `/name@bot`): its lower-case name and the
/// trimmed rest of the text.
fn command(text: &str, bot_username: &str) -> Option<(String, String)> {
    let text = text.trim_start();
    let word = text.split_whitespace().next()?;
    let command = word.strip_prefix('/')?;
    let (name, mention) = match command.split_once('@') {
        Some((n, m)) => (n, Some(m)),
        None => (command, None),
    };
    if mention.is_some_and(|m| !m.eq_ignore_ascii_case(bot_username)) {
        return None;
    }
    let rest = text[word.len()..].trim().to_owned();
    Some((name.to_ascii_lowercase(), rest))
}

/// The kind of a chat the bot can be bound in; `None` for a private chat.
fn kind_of(chat: &Chat) -> Option<GroupKind> {
    if chat.is_group() {
        Some(GroupKind::Group)
    } else if chat.is_supergroup() {
        Some(GroupKind::Supergroup)
    } else if chat.is_channel() {
        Some(GroupKind::Channel)
    } else {
        None
    }
}

/// Stores one group event and answers a command. Returns `false` when shutdown came while
/// the database was down (the update must not be confirmed).
pub(super) async fn run(
    out: &Outbound,
    store: Option<Arc<dyn Store>>,
    update_id: i64,
    ev: GroupEvent,
    shutdown: &CancellationToken,
) -> bool {
    let Some(store) = store else {
        tracing::debug!(update_id, "no store for group events; skipped");
        return true;
    };
    let key = update_id.to_string();
    let mut pause = Duration::from_millis(100);
    loop {
        if let GroupEvent::Staff(staff) = &ev {
            // Not idempotent by update: creating a broadcast twice is refused by nothing, so
            // a redelivered `/trinh` is skipped by the batch's confirmation, as dialog steps.
            match super::approvals::handle(out, &store, staff).await {
                Ok(()) => return true,
                Err(StoreError::Unavailable(e)) => {
                    tracing::warn!(update_id, error = %e, "cannot handle a staff action right now; retrying");
                    tokio::select! {
                        _ = shutdown.cancelled() => return false,
                        _ = tokio::time::sleep(pause) => {}
                    }
                    pause = (pause * 2).min(MAX_RETRY_PAUSE);
                    continue;
                }
                Err(e) => {
                    tracing::error!(update_id, error = %e, "cannot handle a staff action; it is skipped");
                    return true;
                }
            }
        }
        match handle(&store, &key, &ev).await {
            Ok(answer) => {
                if let GroupEvent::Posted { callback, .. } = &ev {
                    out.answer_callback(callback.clone()).await;
                }
                if let Some((chat, reply_to, text)) = answer {
                    out.send(chat, text_of(out, &text), None, reply_to).await;
                }
                return true;
            }
            Err(StoreError::Unavailable(e)) => {
                tracing::warn!(update_id, error = %e, "cannot store a group event right now; retrying");
                tokio::select! {
                    _ = shutdown.cancelled() => return false,
                    _ = tokio::time::sleep(pause) => {}
                }
                pause = (pause * 2).min(MAX_RETRY_PAUSE);
            }
            Err(e) => {
                tracing::error!(update_id, error = %e, "cannot handle a group event; it is skipped");
                return true;
            }
        }
    }
}

/// A localised answer: the locale and the message.
type Answer = (Locale, Msg);

/// Renders an answer as Telegram HTML.
fn text_of(out: &Outbound, (locale, msg): &Answer) -> String {
    out.l10n.msg(*locale, msg, Markup::TelegramHtml)
}

/// Stores the event; returns where to answer and what.
async fn handle(
    store: &Arc<dyn Store>,
    key: &str,
    ev: &GroupEvent,
) -> StoreResult<Option<(ChatId, Option<MessageId>, Answer)>> {
    let now = Utc::now();
    let update = Some(key);
    match ev {
        GroupEvent::Membership(m) => {
            store.record_membership(m, update, now).await?;
            Ok(None)
        }
        GroupEvent::Title { chat, title } => {
            store
                .record_title(Channel::Telegram, &chat.0.to_string(), title, update, now)
                .await?;
            Ok(None)
        }
        GroupEvent::Migrated { from, to } => {
            store
                .record_migration(
                    Channel::Telegram,
                    &from.0.to_string(),
                    &to.0.to_string(),
                    update,
                    now,
                )
                .await?;
            Ok(None)
        }
        GroupEvent::Link {
            user,
            chat,
            code,
            locale,
        } => {
            let msg = if code.is_empty() {
                Msg::new("announce-link-usage")
            } else {
                match link(
                    store,
                    Channel::Telegram,
                    code,
                    &user.to_string(),
                    update,
                    now,
                )
                .await?
                {
                    None => return Ok(None),
                    Some(LinkOutcome::Linked(staff)) => {
                        Msg::new("announce-link-done").text("name", staff.name)
                    }
                    Some(LinkOutcome::Unknown) => Msg::new("announce-link-unknown"),
                    Some(LinkOutcome::Expired) => Msg::new("announce-link-expired"),
                }
            };
            Ok(Some((*chat, None, (*locale, msg))))
        }
        // Handled by `run` before this.
        GroupEvent::Staff(_) => Ok(None),
        GroupEvent::Posted {
            user,
            chat,
            delivery,
            ..
        } => {
            let msg = posted_answer(
                confirm_posted(store, Channel::Telegram, &user.to_string(), *delivery, now).await?,
                *delivery,
            );
            Ok(Some((*chat, None, (Locale::Vi, msg))))
        }
        GroupEvent::Command {
            user,
            chat,
            reply_to,
            unit,
        } => {
            let cmd = GroupCommand {
                channel: Channel::Telegram,
                chat: chat.0.to_string(),
                user: user.to_string(),
                unit: unit.clone(),
                update: Some(key.to_owned()),
            };
            let Some(msg) = command_answer(group_command(store, &cmd, now).await?) else {
                return Ok(None);
            };
            // The group reads Vietnamese, whatever the sender's client language.
            Ok(Some((*chat, Some(*reply_to), (Locale::Vi, msg))))
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn update(v: Value) -> Update {
        serde_json::from_str(&v.to_string()).expect("an update")
    }

    fn user() -> Value {
        json!({"id": 42, "is_bot": false, "first_name": "Lan", "language_code": "en"})
    }

    fn bot() -> Value {
        json!({"id": 1, "is_bot": true, "first_name": "Góp ý", "username": "gopy_bot"})
    }

    fn group() -> Value {
        json!({"id": -500, "type": "group", "title": "Tổ 1"})
    }

    fn member_update(new: Value) -> Value {
        json!({"update_id": 4, "my_chat_member": {
            "chat": group(), "from": user(), "date": 1_700_000_000,
            "old_chat_member": {"status": "left", "user": bot()},
            "new_chat_member": new}})
    }

    fn text_in(chat: Value, text: &str) -> Value {
        json!({"update_id": 5, "message": {"message_id": 9, "from": user(), "chat": chat,
            "date": 1_700_000_000, "text": text}})
    }

    #[test]
    fn the_bot_added_promoted_and_removed_becomes_membership_events_with_rights() {
        let admin = json!({"status": "administrator", "user": bot(), "can_be_edited": false,
            "is_anonymous": false, "can_manage_chat": true, "can_delete_messages": true,
            "can_manage_video_chats": false, "can_restrict_members": false,
            "can_promote_members": false, "can_change_info": false, "can_invite_users": true,
            "can_post_stories": false, "can_edit_stories": false, "can_delete_stories": false,
            "can_pin_messages": false});
        let cases = [
            (
                json!({"status": "member", "user": bot()}),
                BotStatus::Member,
                false,
            ),
            (admin, BotStatus::Administrator, true),
            (
                json!({"status": "left", "user": bot()}),
                BotStatus::Left,
                false,
            ),
            (
                json!({"status": "kicked", "user": bot(), "until_date": 0}),
                BotStatus::Kicked,
                false,
            ),
        ];
        for (new, status, can_delete) in cases {
            let (kind, ev) =
                route(&update(member_update(new.clone())), "gopy_bot").expect("routed");
            assert_eq!(kind, "my_chat_member");
            let GroupEvent::Membership(m) = ev else {
                panic!("{new}")
            };
            assert_eq!((m.status, m.can_delete), (status, can_delete), "{new}");
            assert_eq!(m.external_id, "-500");
            assert_eq!(m.kind, GroupKind::Group);
            assert_eq!(m.title, "Tổ 1");
        }
    }

    #[test]
    fn service_messages_tell_migration_both_ways_and_title_changes() {
        let mut old = text_in(group(), "x");
        old["message"].as_object_mut().expect("obj").remove("text");
        old["message"]["migrate_to_chat_id"] = json!(-100_500);
        assert_eq!(
            route(&update(old), "b").map(|(_, e)| e),
            Some(GroupEvent::Migrated {
                from: ChatId(-500),
                to: ChatId(-100_500)
            })
        );
        let sg = json!({"id": -100_500, "type": "supergroup", "title": "Tổ 1"});
        let mut new = text_in(sg, "x");
        new["message"].as_object_mut().expect("obj").remove("text");
        new["message"]["migrate_from_chat_id"] = json!(-500);
        assert_eq!(
            route(&update(new), "b").map(|(_, e)| e),
            Some(GroupEvent::Migrated {
                from: ChatId(-500),
                to: ChatId(-100_500)
            })
        );
        let mut title = text_in(group(), "x");
        title["message"]
            .as_object_mut()
            .expect("obj")
            .remove("text");
        title["message"]["new_chat_title"] = json!("Tổ 1 mới");
        assert_eq!(
            route(&update(title), "b").map(|(_, e)| e),
            Some(GroupEvent::Title {
                chat: ChatId(-500),
                title: "Tổ 1 mới".to_owned()
            })
        );
    }

    #[test]
    fn staff_commands_are_recognised_where_they_belong_and_nothing_else_is_taken() {
        let private = json!({"id": 42, "type": "private", "first_name": "Lan"});
        let r = |chat: Value, text: &str| route(&update(text_in(chat, text)), "gopy_bot");
        assert_eq!(
            r(private.clone(), "/link abcd2345").map(|(_, e)| e),
            Some(GroupEvent::Link {
                user: 42,
                chat: ChatId(42),
                code: "abcd2345".to_owned(),
                locale: Locale::En
            })
        );
        assert_eq!(
            r(group(), "/bind@gopy_bot TDP-1").map(|(_, e)| e),
            Some(GroupEvent::Command {
                user: 42,
                chat: ChatId(-500),
                reply_to: MessageId(9),
                unit: Some("TDP-1".to_owned())
            })
        );
        assert!(matches!(
            r(group(), "/unbind").map(|(_, e)| e),
            Some(GroupEvent::Command { unit: None, .. })
        ));
        // Not ours: another bot's command, /link in a group, /bind in private, plain text.
        assert_eq!(r(group(), "/bind@other_bot TDP-1"), None);
        assert_eq!(r(group(), "/link ABCD"), None);
        assert_eq!(r(private.clone(), "/bind TDP-1"), None);
        assert_eq!(r(private, "/start"), None);
        assert_eq!(r(group(), "bind TDP-1"), None);
    }

    #[test]
    fn events_of_one_chat_share_a_key_apart_from_residents() {
        let a = GroupEvent::Title {
            chat: ChatId(-500),
            title: "x".to_owned(),
        };
        let b = GroupEvent::Migrated {
            from: ChatId(-500),
            to: ChatId(-100_500),
        };
        assert_eq!(a.key(), b.key());
        assert!(a.key() > u64::from(u32::MAX));
    }
}
