//! `/report` and `/flag` in a group, and deleting a post from it (logged, done or refused).

use super::*;

/// A resident's `/report`: counted once per person; the report that reaches the threshold
/// queues the post, hides it pending review where the bot may, and sends the cards.
pub(super) async fn report_post(
    ctx: &Ctx<'_>,
    group: &ChatGroup,
    command: MessageId,
    from: &Person,
    post: Option<&Replied>,
    reason: &str,
) -> StoreResult<()> {
    let chat = chat_of(group);
    let Some(post) = post.filter(|p| p.author.as_ref().is_none_or(|a| !a.is_bot)) else {
        answer_in_group(
            ctx,
            chat,
            command,
            from.locale,
            Msg::new("mod-report-usage"),
        )
        .await;
        return Ok(());
    };
    let now = Utc::now();
    let reporter = contact(ctx, from).await?;
    let author = match &post.author {
        Some(a) => Some(contact(ctx, a).await?),
        None => None,
    };
    let threshold = ctx.moderation.settings.report_threshold;
    let outcome = ctx
        .store
        .report(&Report {
            post: Target::GroupPost {
                channel: Channel::Telegram,
                chat_id: group.external_id.clone(),
                message_id: post.message_id.0.to_string(),
            },
            text: post.text.clone(),
            author,
            reporter,
            reason: Some(reason.to_owned()).filter(|r| !r.is_empty()),
            threshold,
            at: now,
        })
        .await?;
    let answer = notice::report_answer(
        from.locale,
        outcome.counted,
        outcome.reports,
        threshold,
        outcome.queued.is_some(),
    );
    // Reports are discreet: the command leaves the group where the bot may delete it, and
    // the answer goes to the reporter in private (in the group only if that fails).
    if group.can_delete {
        let _ = ctx.out.bot.delete_message(chat, command).send().await;
    }
    let text = ctx
        .out
        .l10n
        .reply(&answer, Markup::TelegramHtml, false)
        .text;
    if ctx
        .out
        .send(
            ChatId(i64::try_from(from.id).unwrap_or_default()),
            text.clone(),
            None,
            None,
        )
        .await
        != Sent::Ok
    {
        ctx.out.send(chat, text, None, Some(command)).await;
    }
    let Some(id) = outcome.queued else {
        return Ok(());
    };
    metrics::counter!("gopy_moderation_queued_total", "source" => "report").increment(1);
    let staff_author = match &post.author {
        Some(a) => is_staff(ctx, chat, a.id).await?,
        None => true,
    };
    let after = match before_cap(true, group.can_delete, staff_author) {
        Some(after) => after,
        None if ctx
            .moderation
            .limits
            .take_action(ctx.store.as_ref(), now)
            .await? =>
        {
            AfterReports::HidePendingReview
        }
        None => AfterReports::LeaveVisible(WhyNotHidden::CapReached),
    };
    let note = match after {
        AfterReports::HidePendingReview => {
            let ok = delete_post(ctx, id, "system", chat, post.message_id, true).await?;
            if ok {
                ctx.store.owe_pending_notice(id, now).await?;
                Some(Msg::new("mod-card-auto-hidden"))
            } else {
                Some(Msg::new("mod-card-left-visible").text("why", "right"))
            }
        }
        AfterReports::LeaveVisible(why) => {
            let why = match why {
                WhyNotHidden::NoRight => "right",
                WhyNotHidden::StaffAuthor => "staff",
                WhyNotHidden::CapReached => "cap",
            };
            Some(Msg::new("mod-card-left-visible").text("why", why))
        }
        AfterReports::Nothing => None,
    };
    let author_name = post.author.as_ref().map(|a| a.name.as_str());
    let mut notes: Vec<Msg> = note.into_iter().collect();
    notes.insert(
        0,
        Msg::new("mod-card-source-report").num("reports", outcome.reports),
    );
    cards::send_cards(ctx, id, Some(group), author_name, notes).await
}

/// A moderator's `/flag <reason>`: the post goes to the queue (source: moderator) and the
/// cards go out; anyone else is told who may flag.
pub(super) async fn flag_post(
    ctx: &Ctx<'_>,
    group: &ChatGroup,
    command: MessageId,
    from: &Person,
    post: Option<&Replied>,
    reason: &str,
) -> StoreResult<()> {
    let chat = chat_of(group);
    let tree = UnitTree::new(ctx.store.unit_nodes().await?);
    let staff = ctx
        .store
        .staff_by_telegram(i64::try_from(from.id).unwrap_or_default())
        .await?;
    let Some(staff) = staff.filter(|s| {
        let p = presser(s, group.unit.as_deref(), &tree);
        p.moderator && p.in_scope
    }) else {
        answer_in_group(
            ctx,
            chat,
            command,
            from.locale,
            Msg::new("mod-flag-not-moderator"),
        )
        .await;
        return Ok(());
    };
    let (Some(post), false) = (post, reason.trim().is_empty()) else {
        answer_in_group(ctx, chat, command, from.locale, Msg::new("mod-flag-usage")).await;
        return Ok(());
    };
    let author = match &post.author {
        Some(a) => Some(contact(ctx, a).await?),
        None => None,
    };
    let target = Target::GroupPost {
        channel: Channel::Telegram,
        chat_id: group.external_id.clone(),
        message_id: post.message_id.0.to_string(),
    };
    let item = NewItem {
        target: target.clone(),
        text: post.text.clone(),
        author,
        source: Source::Moderator,
        categories: Vec::new(),
        score: 0,
        matches: vec![StoredMatch {
            category: "flag".to_owned(),
            term: format!("{}: {}", staff.name, reason.trim()),
            weight: 0,
            start: 0,
            end: 0,
        }],
        at: Utc::now(),
    };
    let answer = match ctx.store.queue_item(&item).await? {
        Some(id) => {
            let author_name = post.author.as_ref().map(|a| a.name.as_str());
            cards::send_cards(ctx, id, Some(group), author_name, Vec::new()).await?;
            Msg::new("mod-flag-queued").num("id", id)
        }
        None => {
            let id = ctx.store.item_for(&target).await?.map_or(0, |i| i.id);
            Msg::new("mod-flag-already").num("id", id)
        }
    };
    if group.can_delete {
        let _ = ctx.out.bot.delete_message(chat, command).send().await;
    }
    let private = ChatId(i64::try_from(from.id).unwrap_or_default());
    if ctx.out.send_notice(private, from.locale, &answer).await != Sent::Ok {
        answer_in_group(ctx, chat, command, from.locale, answer).await;
    }
    Ok(())
}

/// Answers in the group, replying to a command.
async fn answer_in_group(ctx: &Ctx<'_>, chat: ChatId, to: MessageId, locale: Locale, msg: Msg) {
    let text = ctx.out.l10n.msg(locale, &msg, Markup::TelegramHtml);
    ctx.out.send(chat, text, None, Some(to)).await;
}

/// Deletes a post from its group and logs what Telegram said. `true` when it is gone
/// (deleted now, or already).
async fn delete_post(
    ctx: &Ctx<'_>,
    item: i64,
    actor: &str,
    chat: ChatId,
    message: MessageId,
    pending_review: bool,
) -> StoreResult<bool> {
    let result = ctx.out.bot.delete_message(chat, message).send().await;
    let (ok, gone, error) = match &result {
        Ok(_) => (true, true, None),
        Err(e) => {
            let d = redact(&e.to_string(), &ctx.out.token);
            let gone = matches!(e, RequestError::Api(ApiError::MessageToDeleteNotFound));
            (false, gone, Some(d))
        }
    };
    if let Some(d) = &error
        && !gone
    {
        tracing::info!(item, error = %d, class = classify_name(result.as_ref().err()), "Telegram refused to delete a post");
    }
    log(
        ctx,
        actor,
        "telegram.delete",
        item,
        serde_json::json!({ "ok": ok, "already_gone": gone && !ok, "pending_review": pending_review, "error": error }),
    )
    .await?;
    Ok(ok || gone)
}

fn classify_name(e: Option<&RequestError>) -> &'static str {
    e.map_or("none", |e| classify(e).class())
}
