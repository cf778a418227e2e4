//! The cards moderators get in private: who gets one (role, linked account, unit scope;
//! at most one each per round), and what it shows and offers.

use super::*;

/// Sends an item's card to every moderator of its unit with a linked Telegram account (but
/// not the one who decided before an appeal). `author` is the name Telegram shows.
pub(super) async fn send_cards(
    ctx: &Ctx<'_>,
    id: i64,
    group: Option<&ChatGroup>,
    author: Option<&str>,
    notes: Vec<Msg>,
) -> StoreResult<()> {
    let Some(item) = ctx.store.moderation_item(id).await? else {
        return Ok(());
    };
    let tree = UnitTree::new(ctx.store.unit_nodes().await?);
    let unit = unit_of(ctx, &item, group).await?;
    let moderators: Vec<(StaffUser, i64)> = ctx
        .store
        .staff()
        .await?
        .into_iter()
        .filter_map(|s| {
            let chat = s.telegram_user_id?;
            let p = presser(&s, unit.as_deref(), &tree);
            let ok = p.moderator
                && p.in_scope
                && item.previous_moderator.as_deref() != Some(s.name.as_str());
            ok.then_some((s, chat))
        })
        .collect();
    if moderators.is_empty() {
        tracing::debug!(
            item = id,
            "no moderator with a linked Telegram account looks after this item's unit; it waits in `gopy moderation queue`"
        );
        return Ok(());
    }
    let reference = match &item.target {
        Target::Opinion { opinion_id } => ctx
            .store
            .opinion_facts(*opinion_id)
            .await?
            .map(|(reference, _)| reference),
        Target::GroupPost { .. } => None,
    };
    let prior = match item.author {
        Some(a) => (ctx.store.author_flags(a).await? - 1).max(0),
        None => 0,
    };
    let mut notes = notes;
    if let Some(reference) = reference {
        notes.insert(0, Msg::new("mod-card-opinion").text("reference", reference));
    }
    let reasons = ctx.store.report_reasons(&item.target).await?;
    if !reasons.is_empty() {
        notes.push(Msg::new("mod-card-report-reasons").text("reasons", reasons.join("; ")));
    }
    let looked_up = match author {
        Some(_) => None,
        None => author_name(ctx, &item, group).await?,
    };
    let reply = card(
        ctx,
        &item,
        group,
        author.or(looked_up.as_deref()),
        prior,
        &notes,
    );
    let rendered = ctx.out.l10n.reply(&reply, Markup::TelegramHtml, true);
    let markup = keyboard(&rendered.buttons);
    let round = i64::from(round_of(&item));
    for (_, chat) in moderators {
        // At most one card per moderator per round, across processes and restarts.
        if !ctx
            .store
            .claim_card(
                item.id,
                round,
                Channel::Telegram,
                &chat.to_string(),
                Utc::now(),
            )
            .await?
        {
            continue;
        }
        let (_, sent) = ctx
            .out
            .send_for_id(ChatId(chat), rendered.text.clone(), markup.clone(), None)
            .await;
        if let Some(message) = sent {
            ctx.store
                .card_sent(
                    item.id,
                    round,
                    Channel::Telegram,
                    &chat.to_string(),
                    &message.0.to_string(),
                )
                .await?;
        }
    }
    Ok(())
}

/// A card: the item (matches marked, prior flags), where and by whom, why it was raised,
/// any notes, and the buttons for its round.
pub(super) fn card(
    ctx: &Ctx<'_>,
    item: &Item,
    group: Option<&ChatGroup>,
    author: Option<&str>,
    prior: i64,
    notes: &[Msg],
) -> Reply {
    let locale = Locale::Vi;
    let mut reply = notice::moderator_card(locale, item, prior);
    if let Some(g) = group {
        reply.paragraphs.push(
            Msg::new("mod-card-where")
                .text("group", g.title.clone())
                .text("author", author.unwrap_or("—").to_owned()),
        );
    }
    let flag = item
        .matches
        .iter()
        .find(|m| m.category == "flag")
        .map(|m| m.term.split_once(": ").unwrap_or((m.term.as_str(), "")));
    let source = match (item.source, flag) {
        (Source::Moderator, Some((by, why))) => Some(
            Msg::new("mod-card-source-moderator")
                .text("by", by)
                .text("reason", why),
        ),
        (Source::Report, _) if notes.iter().any(|n| n.key == "mod-card-source-report") => None,
        (Source::Report, _) => Some(Msg::new("mod-card-source-reported")),
        _ => Some(Msg::new("mod-card-source-detector")),
    };
    reply.paragraphs.extend(source);
    if let Some((appeal, _)) = &item.appeal {
        reply.paragraphs.push(
            Msg::new("mod-card-appeal")
                .text("appeal", appeal.clone())
                .text(
                    "previous",
                    item.previous_moderator.clone().unwrap_or_default(),
                ),
        );
    }
    if group.is_some_and(|g| !g.can_delete) {
        reply.paragraphs.push(Msg::new("mod-card-no-delete"));
    }
    reply.paragraphs.extend(notes.iter().cloned());
    let round = round_of(item);
    let hours = ctx.moderation.settings.restrict_hours;
    let mut actions = vec![(CardAction::Keep, Msg::new("mod-btn-keep"))];
    actions.push((CardAction::Hide, Msg::new("mod-btn-hide")));
    if group.is_some_and(|g| g.kind == GroupKind::Supergroup) {
        actions.push((
            CardAction::Restrict,
            Msg::new("mod-btn-restrict").num("hours", hours),
        ));
    }
    if group.is_some() {
        actions.push((CardAction::Ban, Msg::new("mod-btn-ban")));
    }
    actions.push((CardAction::Dismiss, Msg::new("mod-btn-dismiss")));
    reply.choices = actions
        .into_iter()
        .map(|(action, label)| Choice {
            data: Press {
                item: item.id,
                round,
                action,
            }
            .encode(),
            label,
        })
        .collect();
    reply
}
