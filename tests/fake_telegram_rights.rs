//! Checks the fake Telegram Bot API's moderation methods against Telegram's rules: the bot
//! deletes someone's group post only as an administrator allowed to delete messages; it
//! restricts (supergroups only), bans and unbans only as an administrator allowed to restrict
//! members; nobody acts on the chat's owner or administrators; what it answers for members
//! and administrators is what teloxide reads.

mod fake_telegram;

use fake_telegram::{BotRights, FakeTelegram, Group, Resident, TOKEN};
use teloxide::payloads::{
    BanChatMemberSetters as _, RestrictChatMemberSetters as _, UnbanChatMemberSetters as _,
};
use teloxide::requests::Requester as _;
use teloxide::types::{ChatId, ChatMemberKind, ChatPermissions, MessageId, UserId};
use teloxide::{ApiError, Bot, RequestError};

fn bot(fake: &FakeTelegram) -> Bot {
    Bot::new(TOKEN).set_api_url(fake.api_url())
}

fn supergroup() -> Group {
    Group {
        id: -100_777,
        title: "Tổ dân phố 7".to_owned(),
        supergroup: true,
    }
}

/// The description of a 400 Telegram answered.
fn refusal(e: RequestError) -> String {
    match e {
        RequestError::Api(ApiError::Unknown(d)) => d,
        RequestError::Api(other) => other.to_string(),
        other => panic!("not an API refusal: {other:?}"),
    }
}

#[tokio::test]
async fn a_post_is_deleted_only_by_an_administrator_allowed_to_delete() {
    let fake = FakeTelegram::start().await;
    let bot = bot(&fake);
    let group = supergroup();
    let an = Resident::new(501, "An");
    let update = fake.group_text_update(&an, &group, "Xin chào cả tổ");
    let message_id = update["message"]["message_id"].as_i64().expect("a message");
    fake.push(update);
    assert_eq!(fake.post_deleted(group.id, message_id), Some(false));

    // An ordinary member may not delete someone else's message.
    let e = bot
        .delete_message(ChatId(group.id), MessageId(message_id as i32))
        .await
        .expect_err("not an admin");
    assert!(refusal(e).contains("message can't be deleted"));

    // An administrator without the right may not either.
    fake.set_bot_rights(
        group.id,
        BotRights {
            admin: true,
            can_delete: false,
            can_restrict: true,
        },
    );
    let e = bot
        .delete_message(ChatId(group.id), MessageId(message_id as i32))
        .await
        .expect_err("no right to delete");
    assert!(refusal(e).contains("message can't be deleted"));

    // Promoted with the right (through an update, as Telegram tells the bot), it may, once.
    fake.push(fake.bot_promoted_update(&an, &group, true, false));
    assert!(fake.bot_rights(group.id).can_delete);
    bot.delete_message(ChatId(group.id), MessageId(message_id as i32))
        .await
        .expect("deleted");
    assert_eq!(fake.post_deleted(group.id, message_id), Some(true));
    let e = bot
        .delete_message(ChatId(group.id), MessageId(message_id as i32))
        .await
        .expect_err("gone already");
    assert!(refusal(e).contains("message to delete not found"));
}

#[tokio::test]
async fn restricting_and_banning_need_the_right_and_spare_the_chat_administrators() {
    let fake = FakeTelegram::start().await;
    let bot = bot(&fake);
    let group = supergroup();
    let an = Resident::new(501, "An");
    let chief = Resident::new(502, "Tổ trưởng");
    fake.push(fake.group_text_update(&an, &group, "Tin một"));
    fake.set_member_status(group.id, &chief, "creator");
    let until = chrono::Utc::now() + chrono::Duration::hours(24);

    let e = bot
        .restrict_chat_member(ChatId(group.id), UserId(501), ChatPermissions::empty())
        .await
        .expect_err("not an admin");
    assert!(refusal(e).contains("not enough rights"));
    let e = bot
        .ban_chat_member(ChatId(group.id), UserId(501))
        .await
        .expect_err("not an admin");
    assert!(refusal(e).contains("not enough rights"));

    fake.set_bot_rights(
        group.id,
        BotRights {
            admin: true,
            can_delete: true,
            can_restrict: true,
        },
    );
    bot.restrict_chat_member(ChatId(group.id), UserId(501), ChatPermissions::empty())
        .until_date(until)
        .await
        .expect("restricted");
    let m = bot
        .get_chat_member(ChatId(group.id), UserId(501))
        .await
        .expect("member");
    assert!(
        matches!(m.kind, ChatMemberKind::Restricted(_)),
        "{:?}",
        m.kind
    );
    // Lifting the restriction makes them a member again.
    bot.restrict_chat_member(ChatId(group.id), UserId(501), ChatPermissions::all())
        .await
        .expect("lifted");
    assert_eq!(
        fake.member(group.id, 501).map(|m| m.status),
        Some("member".to_owned())
    );

    bot.ban_chat_member(ChatId(group.id), UserId(501))
        .until_date(until)
        .await
        .expect("banned");
    let m = bot
        .get_chat_member(ChatId(group.id), UserId(501))
        .await
        .expect("member");
    assert!(matches!(m.kind, ChatMemberKind::Banned(_)), "{:?}", m.kind);
    bot.unban_chat_member(ChatId(group.id), UserId(501))
        .only_if_banned(true)
        .await
        .expect("unbanned");
    assert_eq!(
        fake.member(group.id, 501).map(|m| m.status),
        Some("left".to_owned())
    );

    // The owner is out of reach, and shows among the administrators with the bot.
    let e = bot
        .ban_chat_member(ChatId(group.id), UserId(502))
        .await
        .expect_err("owner");
    assert!(refusal(e).contains("can't remove chat owner"));
    let admins = bot
        .get_chat_administrators(ChatId(group.id))
        .await
        .expect("admins");
    let ids: Vec<u64> = admins.iter().map(|a| a.user.id.0).collect();
    assert_eq!(ids, [502, fake_telegram::BOT_ID as u64]);
    let me = bot
        .get_chat_member(ChatId(group.id), UserId(fake_telegram::BOT_ID as u64))
        .await
        .expect("the bot");
    assert!(me.kind.can_restrict_members() && me.kind.can_delete_messages());
}

#[tokio::test]
async fn a_basic_group_cannot_restrict_but_can_ban() {
    let fake = FakeTelegram::start().await;
    let bot = bot(&fake);
    let group = Group {
        id: -778,
        title: "Nhóm thường".to_owned(),
        supergroup: false,
    };
    let an = Resident::new(501, "An");
    fake.push(fake.group_text_update(&an, &group, "Tin một"));
    fake.push(fake.bot_promoted_update(&an, &group, true, true));
    let e = bot
        .restrict_chat_member(ChatId(group.id), UserId(501), ChatPermissions::empty())
        .await
        .expect_err("basic group");
    assert!(refusal(e).contains("only for supergroups"));
    bot.ban_chat_member(ChatId(group.id), UserId(501))
        .await
        .expect("banned");
    assert_eq!(
        fake.member(group.id, 501).map(|m| m.status),
        Some("kicked".to_owned())
    );
}
