//! A press of a card's button: checked, recorded, carried out on Telegram where the bot may,
//! and every copy of the card updated.

use super::*;

/// A press of a card's button: checked ([`decide_press`]), recorded, carried out on
/// Telegram where it can be, the author told, the card updated and the press answered.
pub(super) async fn press(
    ctx: &Ctx<'_>,
    from: &Person,
    callback: &CallbackQueryId,
    card_at: Option<(ChatId, MessageId)>,
    data: &str,
) -> StoreResult<()> {
    let locale = from.locale;
    // A refusal is an alert the moderator must dismiss; a recorded decision a short toast.
    let answer = |msg: Msg| {
        let alert = msg.key != "mod-press-done";
        let text = ctx.out.l10n.msg(locale, &msg, Markup::Plain);
        let id = callback.clone();
        async move {
            let _ = ctx
                .out
                .bot
                .answer_callback_query(id)
                .text(text.chars().take(200).collect::<String>())
                .show_alert(alert)
                .send()
                .await;
        }
    };
    let staff = ctx
        .store
        .staff_by_telegram(i64::try_from(from.id).unwrap_or_default())
        .await?;
    let (Some(press), Some(staff)) = (Press::parse(data), staff) else {
        answer(Msg::new("mod-press-not-moderator")).await;
        return Ok(());
    };
    let Some(item) = ctx.store.moderation_item(press.item).await? else {
        answer(Msg::new("mod-press-old-card")).await;
        return Ok(());
    };
    let group = group_of(ctx, &item).await?;
    let tree = UnitTree::new(ctx.store.unit_nodes().await?);
    let unit = unit_of(ctx, &item, group.as_ref()).await?;
    let who = presser(&staff, unit.as_deref(), &tree);
    let author = author_telegram_id(ctx, &item).await?;
    let staff_author = match (press.action.verdict(), &group, author) {
        (Verdict::Uphold, Some(g), Some((id, _))) => is_staff(ctx, chat_of(g), id).await?,
        _ => false,
    };
    let outcome = decide_press(&press, &item, &who, staff_author);
    let verdict = match outcome {
        PressOutcome::Go(v) => v,
        refused => {
            let msg = match refused {
                PressOutcome::NotModerator => Msg::new("mod-press-not-moderator"),
                PressOutcome::OutOfScope => Msg::new("mod-press-out-of-scope"),
                PressOutcome::OldCard => Msg::new("mod-press-old-card"),
                PressOutcome::AlreadyDecided { status, by } => Msg::new("mod-press-already")
                    .text("status", status.as_str())
                    .text("by", by.unwrap_or_default()),
                PressOutcome::NothingToUndo => Msg::new("mod-press-nothing-to-undo"),
                PressOutcome::StaffAuthor => Msg::new("mod-press-staff"),
                PressOutcome::SameModerator | PressOutcome::Go(_) => {
                    Msg::new("mod-press-same-moderator")
                }
            };
            answer(msg).await;
            return Ok(());
        }
    };
    let now = Utc::now();
    let reason_vi = match press.action {
        CardAction::Undo(_) => "hoàn tác / undone".to_owned(),
        CardAction::Keep => "giữ lại / kept".to_owned(),
        CardAction::Dismiss => "bỏ qua cờ / flag dismissed".to_owned(),
        _ => reason(ctx, Locale::Vi, &item),
    };
    let decided = ctx
        .store
        .decide(&Decision {
            item: item.id,
            verdict,
            by: staff.name.clone(),
            reason: reason_vi,
            at: now,
        })
        .await?;
    let decided = match decided {
        DecideOutcome::Decided(i) => *i,
        DecideOutcome::NotFound => {
            answer(Msg::new("mod-press-old-card")).await;
            return Ok(());
        }
        DecideOutcome::SameModeratorAfterAppeal => {
            answer(Msg::new("mod-press-same-moderator")).await;
            return Ok(());
        }
    };
    metrics::counter!("gopy_moderation_decisions_total", "action" => press.action.log_name())
        .increment(1);
    let mut results = Vec::new();
    if let (Some(g), Target::GroupPost { message_id, .. }) = (&group, &item.target) {
        let chat = chat_of(g);
        let message = MessageId(message_id.parse().unwrap_or_default());
        results = platform(ctx, &staff.name, &item, press.action, chat, message, author).await?;
    }
    // The author's notice of a hide was written with the decision; `deliver` sends it.
    let action = Msg::new("mod-action").text("action", press.action.log_name());
    let action_text = ctx.out.l10n.msg(Locale::Vi, &action, Markup::Plain);
    // Every other moderator's copy of this card shows the decision, without buttons.
    let decided_line = Msg::new("mod-card-decided")
        .text("action", action_text.clone())
        .text("by", staff.name.clone());
    let cards = ctx
        .store
        .cards_of(item.id, i64::from(press.round), Channel::Telegram)
        .await?;
    let name = author_name(ctx, &decided, group.as_ref()).await?;
    let others: Vec<(ChatId, MessageId)> = cards
        .iter()
        .filter_map(|(chat, message)| {
            Some((ChatId(chat.parse().ok()?), MessageId(message.parse().ok()?)))
        })
        .filter(|c| Some(*c) != card_at)
        .collect();
    if !others.is_empty() {
        let prior = match decided.author {
            Some(a) => (ctx.store.author_flags(a).await? - 1).max(0),
            None => 0,
        };
        let mut reply = cards::card(ctx, &decided, group.as_ref(), name.as_deref(), prior, &[]);
        reply.paragraphs.retain(|p| p.key != "mod-card-no-delete");
        reply.paragraphs.push(decided_line.clone());
        reply.choices.clear();
        let text = ctx.out.l10n.reply(&reply, Markup::TelegramHtml, false).text;
        for (chat, message) in others {
            let edited = ctx
                .out
                .bot
                .edit_message_text(chat, message, text.clone())
                .parse_mode(ParseMode::Html)
                .send()
                .await;
            if let Err(e) = edited {
                let d = redact(&e.to_string(), &ctx.out.token);
                tracing::debug!(error = %d, "cannot update another moderator's card");
            }
        }
    }
    if let Some((chat, message)) = card_at {
        let prior = match decided.author {
            Some(a) => (ctx.store.author_flags(a).await? - 1).max(0),
            None => 0,
        };
        let mut reply = cards::card(ctx, &decided, group.as_ref(), name.as_deref(), prior, &[]);
        reply.paragraphs.retain(|p| p.key != "mod-card-no-delete");
        reply.paragraphs.push(decided_line);
        reply.paragraphs.extend(results);
        reply.choices = press
            .action
            .undo()
            .map(|undo| Choice {
                data: Press {
                    item: decided.id,
                    round: round_of(&decided),
                    action: undo,
                }
                .encode(),
                label: Msg::new("mod-btn-undo"),
            })
            .into_iter()
            .collect();
        let rendered = ctx.out.l10n.reply(&reply, Markup::TelegramHtml, true);
        let mut req = ctx
            .out
            .bot
            .edit_message_text(chat, message, rendered.text)
            .parse_mode(ParseMode::Html);
        if let Some(kb) = keyboard(&rendered.buttons) {
            req = req.reply_markup(kb);
        }
        if let Err(e) = req.send().await {
            let d = redact(&e.to_string(), &ctx.out.token);
            tracing::debug!(error = %d, "cannot update a moderator's card");
        }
    }
    answer(Msg::new("mod-press-done").text("action", action_text)).await;
    Ok(())
}

/// Carries a decision out on Telegram and logs each step; returns the lines for the card.
async fn platform(
    ctx: &Ctx<'_>,
    actor: &str,
    item: &Item,
    action: CardAction,
    chat: ChatId,
    message: MessageId,
    author: Option<(u64, Locale)>,
) -> StoreResult<Vec<Msg>> {
    let hours = ctx.moderation.settings.restrict_hours;
    let mut lines = Vec::new();
    if matches!(
        action,
        CardAction::Hide | CardAction::Restrict | CardAction::Ban
    ) {
        let result = ctx.out.bot.delete_message(chat, message).send().await;
        let (line, ok, error) = match &result {
            Ok(_) => ("mod-done-deleted", true, None),
            Err(RequestError::Api(ApiError::MessageToDeleteNotFound)) => {
                ("mod-done-gone", true, None)
            }
            Err(e) => (
                "mod-done-not-deleted",
                false,
                Some(redact(&e.to_string(), &ctx.out.token)),
            ),
        };
        log(
            ctx,
            actor,
            "telegram.delete",
            item.id,
            serde_json::json!({ "ok": ok, "error": error }),
        )
        .await?;
        lines.push(Msg::new(line));
    }
    let Some((user, _)) = author else {
        if let CardAction::Undo(_) = action {
            lines.push(Msg::new("mod-done-restored"));
        }
        return Ok(lines);
    };
    let user = UserId(user);
    let (name, result, done): (&str, Option<Result<(), RequestError>>, &str) = match action {
        CardAction::Restrict => (
            "telegram.restrict",
            Some(
                ctx.out
                    .bot
                    .restrict_chat_member(chat, user, ChatPermissions::empty())
                    .until_date(Utc::now() + chrono::Duration::hours(hours))
                    .send()
                    .await
                    .map(|_| ()),
            ),
            "mod-done-restricted",
        ),
        CardAction::Ban => (
            "telegram.ban",
            Some(
                ctx.out
                    .bot
                    .ban_chat_member(chat, user)
                    .send()
                    .await
                    .map(|_| ()),
            ),
            "mod-done-banned",
        ),
        CardAction::Undo(crate::moderation::card::Undone::Restrict) => (
            "telegram.unrestrict",
            Some(
                ctx.out
                    .bot
                    .restrict_chat_member(chat, user, ChatPermissions::all())
                    .send()
                    .await
                    .map(|_| ()),
            ),
            "mod-done-unrestricted",
        ),
        CardAction::Undo(crate::moderation::card::Undone::Ban) => (
            "telegram.unban",
            Some(
                ctx.out
                    .bot
                    .unban_chat_member(chat, user)
                    .only_if_banned(true)
                    .send()
                    .await
                    .map(|_| ()),
            ),
            "mod-done-unbanned",
        ),
        _ => ("", None, ""),
    };
    if let Some(result) = result {
        let error = result
            .as_ref()
            .err()
            .map(|e| redact(&e.to_string(), &ctx.out.token));
        log(
            ctx,
            actor,
            name,
            item.id,
            serde_json::json!({ "ok": error.is_none(), "error": error, "hours": (name == "telegram.restrict").then_some(hours) }),
        )
        .await?;
        lines.push(match error {
            None => Msg::new(done).num("hours", hours),
            Some(_) => Msg::new("mod-done-refused"),
        });
    }
    if let CardAction::Undo(_) = action {
        lines.push(Msg::new("mod-done-restored"));
        lines.push(Msg::new("mod-done-not-restorable"));
    }
    Ok(lines)
}
