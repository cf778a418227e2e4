//! Moderation on Telegram: posts in bound groups screened as they come (word lists, watch
//! list, flooding, forwarded links) and queued for the moderators of the group's unit;
//! residents' `/report` and moderators' `/flag` as replies to a post; the card each moderator
//! gets in private with the post, what matched, the author's history and buttons (keep, hide,
//! restrict, ban, dismiss, then undo); the author told when their post is hidden; `/appeal`
//! in private sending the decision back to the queue for a different moderator.
//!
//! `route` is pure; `run` does the I/O. The decisions are made elsewhere, purely:
//! [`crate::moderation::group`] (what is queued, what reports may hide) and
//! [`crate::moderation::card`] (whether a press may be carried out). Automation only queues,
//! except Decidim's rule (enough reports hide a post pending review, never a staff member's,
//! within a cap). Every platform action, done or refused, is written to the moderation log.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use teloxide::payloads::{
    AnswerCallbackQuerySetters as _, EditMessageTextSetters as _, RestrictChatMemberSetters as _,
    UnbanChatMemberSetters as _,
};
use teloxide::requests::{Request as _, Requester as _};
use teloxide::types::{
    CallbackQueryId, ChatId, ChatPermissions, Message, MessageId, ParseMode, Update, UpdateKind,
    User, UserId,
};
use teloxide::{ApiError, RequestError};
use tokio_util::sync::CancellationToken;
use unicode_normalization::UnicodeNormalization as _;

use crate::announce::access::UnitTree;
use crate::dialog::{Choice, Msg, Reply};
use crate::domain::{Channel, ContactId, ContactKey, Locale};
use crate::i18n::Markup;
use crate::moderation::card::{CardAction, Press, PressOutcome, Presser, decide_press, round_of};
use crate::moderation::group::{
    AfterReports, GroupPost, GroupSettings, WhyNotHidden, after_reports, screen_post,
};
use crate::moderation::{
    ActionCap, Category, Decision, Detector, FloodGate, Item, LogEntry, NewItem, Source,
    StoredMatch, Target, Verdict, notice, with_watch_list,
};
use crate::store::announce::{ChatGroup, GroupKind, GroupState, Role, StaffUser};
use crate::store::{DecideOutcome, Report, Store, StoreError, StoreResult};

use super::outbound::{Outbound, Sent, classify, keyboard, redact};

/// The longest pause between two tries while the database is down.
const MAX_RETRY_PAUSE: Duration = Duration::from_secs(30);

/// How long the officials' watch list is trusted before it is read again.
const WATCH_LIST_TTL: Duration = Duration::from_secs(30);

/// A person as Telegram describes them, as much as moderation needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Person {
    /// Telegram user id (also their private chat).
    pub id: u64,
    /// The name Telegram shows (what a moderator sees: nothing beyond the platform name).
    pub name: String,
    /// Their client's language.
    pub locale: Locale,
    /// Whether it is a bot.
    pub is_bot: bool,
}

/// The post a `/report` or `/flag` replies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Replied {
    /// Its id in the group.
    pub message_id: MessageId,
    /// Who posted it (unknown for anonymous administrators and channels).
    pub author: Option<Person>,
    /// Its text or caption.
    pub text: String,
}

/// What moderation does with one update.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum ModEvent {
    /// A post in a group: screened if the group is bound.
    Post {
        /// The group.
        chat: ChatId,
        /// The post.
        message_id: MessageId,
        /// Who posted it.
        author: Person,
        /// Its text or caption (NFC).
        text: String,
        /// Whether it was forwarded from elsewhere.
        forwarded: bool,
        /// Whether this is an edit of an earlier post (screened again; not counted as one
        /// more post for flood control).
        edited: bool,
        /// When.
        at: DateTime<Utc>,
    },
    /// `/report [reason]` (from a resident) or `/flag <reason>` (from a moderator) replying
    /// to a post.
    Report {
        /// The group.
        chat: ChatId,
        /// The command message.
        command: MessageId,
        /// Who sent it.
        from: Person,
        /// The post it replies to (`None`: not a reply).
        post: Option<Replied>,
        /// What they typed after the command.
        reason: String,
        /// `/flag` rather than `/report`.
        flag: bool,
    },
    /// A press of a button on a moderator's card.
    Press {
        /// Who pressed.
        from: Person,
        /// The query to answer.
        callback: CallbackQueryId,
        /// The card (in the moderator's private chat).
        card: Option<(ChatId, MessageId)>,
        /// The button data.
        data: String,
    },
    /// `/appeal [text]` in a private chat.
    Appeal {
        /// Who appeals.
        from: Person,
        /// Their reasons.
        text: String,
    },
}

impl ModEvent {
    /// What serialises this event with others in a batch: the group for group events (a
    /// negative id, so never a person's), the person for private ones.
    pub(super) fn key(&self) -> u64 {
        match self {
            ModEvent::Post { chat, .. } | ModEvent::Report { chat, .. } => chat.0.cast_unsigned(),
            ModEvent::Press { from, .. } | ModEvent::Appeal { from, .. } => from.id,
        }
    }
}

/// Routes what moderation owns: a card's button, `/appeal` in private, `/report` and
/// `/flag` in groups, and every other visible post in a group (text or caption; not a
/// command, not from a bot). `None` leaves the update to the others.
pub(super) fn route(update: &Update, bot_username: &str) -> Option<(&'static str, ModEvent)> {
    match &update.kind {
        UpdateKind::CallbackQuery(q) => {
            let data = q.data.as_deref()?;
            if !data.starts_with(crate::moderation::card::PREFIX) {
                return None;
            }
            Some((
                "moderation_press",
                ModEvent::Press {
                    from: person(&q.from),
                    callback: q.id.clone(),
                    card: q.message.as_ref().map(|m| (m.chat().id, m.id())),
                    data: data.to_owned(),
                },
            ))
        }
        UpdateKind::Message(msg) => message(msg, bot_username),
        // A post edited into abuse after it passed is screened again.
        UpdateKind::EditedMessage(msg) if !msg.chat.is_private() => {
            match message(msg, bot_username)? {
                (
                    kind,
                    ModEvent::Post {
                        chat,
                        message_id,
                        author,
                        text,
                        forwarded,
                        ..
                    },
                ) => Some((
                    kind,
                    ModEvent::Post {
                        chat,
                        message_id,
                        author,
                        text,
                        forwarded,
                        edited: true,
                        at: msg.edit_date().copied().unwrap_or(msg.date),
                    },
                )),
                _ => None,
            }
        }
        _ => None,
    }
}

fn message(msg: &Message, bot_username: &str) -> Option<(&'static str, ModEvent)> {
    let from = msg.from.as_ref()?;
    let text: String = msg.text().or_else(|| msg.caption())?.nfc().collect();
    let command = command(&text, bot_username);
    if msg.chat.is_private() {
        let (name, rest) = command?;
        return (name == "appeal").then(|| {
            (
                "moderation_appeal",
                ModEvent::Appeal {
                    from: person(from),
                    text: rest,
                },
            )
        });
    }
    if !(msg.chat.is_group() || msg.chat.is_supergroup()) || from.is_bot {
        return None;
    }
    match command {
        Some((name, rest)) if name == "report" || name == "flag" => Some((
            "moderation_report",
            ModEvent::Report {
                chat: msg.chat.id,
                command: msg.id,
                from: person(from),
                post: msg.reply_to_message().map(|r| Replied {
                    message_id: r.id,
                    author: r.from.as_ref().map(person),
                    text: r
                        .text()
                        .or_else(|| r.caption())
                        .unwrap_or_default()
                        .nfc()
                        .collect(),
                }),
                reason: rest,
                flag: name == "flag",
            },
        )),
        // Other commands belong to other parts of the bot (or to other bots).
        Some(_) => None,
        None if text.starts_with('/') => None,
        None => Some((
            "group",
            ModEvent::Post {
                chat: msg.chat.id,
                message_id: msg.id,
                author: person(from),
                text,
                forwarded: msg.forward_origin().is_some(),
                edited: false,
                at: msg.date,
            },
        )),
    }
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
    Some((
        name.to_ascii_lowercase(),
        text[word.len()..].trim().to_owned(),
    ))
}

fn person(user: &User) -> Person {
    Person {
        id: user.id.0,
        name: user.full_name().nfc().collect(),
        locale: user
            .language_code
            .as_deref()
            .and_then(Locale::parse)
            .unwrap_or_default(),
        is_bot: user.is_bot,
    }
}

/// Moderation's state in a running bot: the word lists, flood control and the cap on
/// automatic actions (per process).
pub(super) struct Moderation {
    /// The built-in or configured word lists.
    base: Detector,
    /// The lists with the watch list merged in, and when that was read.
    current: Mutex<Option<(Instant, Arc<Detector>)>>,
    /// Posts per person per group.
    flood: Mutex<FloodGate>,
    /// Automatic actions.
    cap: Mutex<ActionCap>,
    /// Thresholds and durations.
    pub settings: GroupSettings,
}

impl Moderation {
    /// Moderation with these word lists and settings.
    pub(super) fn new(base: Detector, settings: GroupSettings) -> Self {
        Moderation {
            base,
            current: Mutex::new(None),
            flood: Mutex::new(settings.flood_gate()),
            cap: Mutex::new(settings.action_cap()),
            settings,
        }
    }

    /// The detector with the watch list, read again when it is older than a while.
    async fn detector(&self, store: &dyn Store) -> Arc<Detector> {
        let cached = lock(&self.current).clone();
        if let Some((at, d)) = &cached
            && at.elapsed() < WATCH_LIST_TTL
        {
            return d.clone();
        }
        match with_watch_list(store, &self.base).await {
            Ok(d) => {
                let d = Arc::new(d);
                *lock(&self.current) = Some((Instant::now(), d.clone()));
                d
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the watch list; using the last one");
                cached.map_or_else(|| Arc::new(self.base.clone()), |(_, d)| d)
            }
        }
    }
}

/// Locks a mutex, going on after a panic elsewhere (the state is only counters).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Everything `run` works with.
pub(super) struct Ctx<'a> {
    /// Sending.
    pub out: &'a Outbound,
    /// The store.
    pub store: Arc<dyn Store>,
    /// Moderation's state.
    pub moderation: &'a Moderation,
}

/// Handles one moderation event. Returns `false` when shutdown came while the database was
/// down (the update must not be confirmed).
pub(super) async fn run(
    out: &Outbound,
    store: Option<Arc<dyn Store>>,
    moderation: Option<&Moderation>,
    update_id: i64,
    ev: ModEvent,
    shutdown: &CancellationToken,
) -> bool {
    let (Some(store), Some(moderation)) = (store, moderation) else {
        if let ModEvent::Press { callback, .. } = ev {
            out.answer_callback(callback).await;
        }
        return true;
    };
    let ctx = Ctx {
        out,
        store,
        moderation,
    };
    let mut pause = Duration::from_millis(100);
    loop {
        match handle(&ctx, &ev).await {
            Ok(()) => return true,
            Err(StoreError::Unavailable(e)) => {
                tracing::warn!(update_id, error = %e, "cannot store a moderation event right now; retrying");
                tokio::select! {
                    _ = shutdown.cancelled() => return false,
                    _ = tokio::time::sleep(pause) => {}
                }
                pause = (pause * 2).min(MAX_RETRY_PAUSE);
            }
            Err(e) => {
                tracing::error!(update_id, error = %e, "cannot handle a moderation event; it is skipped");
                if let ModEvent::Press { callback, .. } = &ev {
                    out.answer_callback(callback.clone()).await;
                }
                return true;
            }
        }
    }
}

async fn handle(ctx: &Ctx<'_>, ev: &ModEvent) -> StoreResult<()> {
    match ev {
        ModEvent::Post {
            chat,
            message_id,
            author,
            text,
            forwarded,
            edited,
            at,
        } => {
            let Some(group) = bound_group(ctx, *chat).await? else {
                return Ok(());
            };
            let post = GroupPost {
                channel: Channel::Telegram,
                chat_id: chat.0.to_string(),
                message_id: message_id.0.to_string(),
                author_platform_id: author.id.to_string(),
                author: None,
                text: text.clone(),
                forwarded: *forwarded,
                at: *at,
            };
            let detector = ctx.moderation.detector(ctx.store.as_ref()).await;
            let queued = if *edited {
                // An edit is not one more post: a gate of its own that never fills.
                let mut gate = FloodGate::new(usize::MAX, chrono::Duration::minutes(1));
                screen_post(&detector, &mut gate, &post)
            } else {
                screen_post(&detector, &mut lock(&ctx.moderation.flood), &post)
            };
            let Some(mut item) = queued else {
                return Ok(());
            };
            item.author = Some(contact(ctx, author).await?);
            if let Some(id) = ctx.store.queue_item(&item).await? {
                metrics::counter!("gopy_moderation_queued_total", "source" => "telegram_group")
                    .increment(1);
                send_cards(ctx, id, Some(&group), Some(&author.name), Vec::new()).await?;
            }
            Ok(())
        }
        ModEvent::Report {
            chat,
            command,
            from,
            post,
            reason,
            flag,
        } => {
            let Some(group) = bound_group(ctx, *chat).await? else {
                return Ok(());
            };
            if *flag {
                flag_post(ctx, &group, *command, from, post.as_ref(), reason).await
            } else {
                report_post(ctx, &group, *command, from, post.as_ref(), reason).await
            }
        }
        ModEvent::Press {
            from,
            callback,
            card,
            data,
        } => press(ctx, from, callback, *card, data).await,
        ModEvent::Appeal { from, text } => appeal(ctx, from, text).await,
    }
}

/// The group, if it is bound to a unit (only managed groups are moderated).
async fn bound_group(ctx: &Ctx<'_>, chat: ChatId) -> StoreResult<Option<ChatGroup>> {
    let group = ctx
        .store
        .group_by_external(Channel::Telegram, &chat.0.to_string())
        .await?;
    Ok(group.filter(|g| g.state == GroupState::Bound))
}

/// The contact of a Telegram user, created if new (it holds the platform id only).
async fn contact(ctx: &Ctx<'_>, who: &Person) -> StoreResult<ContactId> {
    let mut tx = ctx.store.begin().await?;
    let c = tx
        .contact(
            &ContactKey {
                channel: Channel::Telegram,
                external_id: who.id.to_string(),
            },
            who.locale,
        )
        .await?;
    tx.commit().await?;
    Ok(c.id)
}

/// Whether a Telegram user is staff: a gopy staff user, or the group's owner or an
/// administrator. Only a gopy administrator acts on their posts.
async fn is_staff(ctx: &Ctx<'_>, chat: ChatId, user: u64) -> StoreResult<bool> {
    let id = i64::try_from(user).unwrap_or_default();
    if ctx.store.staff_by_telegram(id).await?.is_some() {
        return Ok(true);
    }
    match ctx.out.bot.get_chat_member(chat, UserId(user)).send().await {
        Ok(m) => Ok(m.kind.is_privileged()),
        Err(e) => {
            // Unknown means careful: treat them as staff (a person decides).
            let d = redact(&e.to_string(), &ctx.out.token);
            tracing::warn!(error = %d, "cannot ask Telegram whether an author runs the group");
            Ok(true)
        }
    }
}

/// The staff user's roles allow moderating, and the item's unit (its group's, or its
/// opinion's) lies within theirs.
fn presser(staff: &StaffUser, unit: Option<&str>, tree: &UnitTree) -> Presser {
    let admin = staff.has(Role::Admin);
    let in_scope = admin
        || match (&staff.unit, unit) {
            (None, _) => true,
            (Some(scope), Some(unit)) => tree.is_within(unit, scope),
            (Some(_), None) => false,
        };
    Presser {
        name: staff.name.clone(),
        moderator: admin || staff.has(Role::Moderator),
        admin,
        in_scope,
    }
}

/// The unit an item belongs to: its group's, or its opinion's.
async fn unit_of(
    ctx: &Ctx<'_>,
    item: &Item,
    group: Option<&ChatGroup>,
) -> StoreResult<Option<String>> {
    match &item.target {
        Target::GroupPost { .. } => Ok(group.and_then(|g| g.unit.clone())),
        Target::Opinion { opinion_id } => Ok(ctx
            .store
            .opinion_facts(*opinion_id)
            .await?
            .and_then(|(_, unit)| unit)),
    }
}

/// The group a post item is about.
async fn group_of(ctx: &Ctx<'_>, item: &Item) -> StoreResult<Option<ChatGroup>> {
    match &item.target {
        Target::GroupPost {
            channel, chat_id, ..
        } => ctx.store.group_by_external(*channel, chat_id).await,
        Target::Opinion { .. } => Ok(None),
    }
}

/// Sends an item's card to every moderator of its unit with a linked Telegram account (but
/// not the one who decided before an appeal). `author` is the name Telegram shows.
async fn send_cards(
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
fn card(
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

/// A resident's `/report`: counted once per person; the report that reaches the threshold
/// queues the post, hides it pending review where the bot may, and sends the cards.
async fn report_post(
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
    let after = after_reports(
        true,
        group.can_delete,
        staff_author,
        &mut lock(&ctx.moderation.cap),
        now,
    );
    let note = match after {
        AfterReports::HidePendingReview => {
            let ok = delete_post(ctx, id, "system", chat, post.message_id, true).await?;
            if ok {
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
    send_cards(ctx, id, Some(group), author_name, notes).await
}

/// A moderator's `/flag <reason>`: the post goes to the queue (source: moderator) and the
/// cards go out; anyone else is told who may flag.
async fn flag_post(
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
            send_cards(ctx, id, Some(group), author_name, Vec::new()).await?;
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

fn chat_of(group: &ChatGroup) -> ChatId {
    ChatId(group.external_id.parse().unwrap_or_default())
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

/// Appends a platform action to the moderation log (audited when a person did it).
async fn log(
    ctx: &Ctx<'_>,
    actor: &str,
    action: &str,
    item: i64,
    detail: serde_json::Value,
) -> StoreResult<()> {
    ctx.store
        .log_action(
            &LogEntry {
                at: Utc::now(),
                actor: actor.to_owned(),
                action: action.to_owned(),
                item: Some(item),
                detail,
            },
            actor != "system",
        )
        .await
}

/// The name Telegram shows for an item's author in its group (what a card shows when the
/// post itself is not at hand), if Telegram still knows them there.
async fn author_name(
    ctx: &Ctx<'_>,
    item: &Item,
    group: Option<&ChatGroup>,
) -> StoreResult<Option<String>> {
    let (Some(g), Some((id, _))) = (group, author_telegram_id(ctx, item).await?) else {
        return Ok(None);
    };
    Ok(ctx
        .out
        .bot
        .get_chat_member(chat_of(g), UserId(id))
        .send()
        .await
        .ok()
        .map(|m| m.user.full_name().nfc().collect()))
}

/// The Telegram user id of an item's author, if they are still known.
async fn author_telegram_id(ctx: &Ctx<'_>, item: &Item) -> StoreResult<Option<(u64, Locale)>> {
    let Some(author) = item.author else {
        return Ok(None);
    };
    Ok(ctx
        .store
        .contact_of(author)
        .await?
        .filter(|(key, _)| key.channel == Channel::Telegram)
        .and_then(|(key, locale)| key.external_id.parse().ok().map(|id| (id, locale))))
}

/// Why an item was hidden, in a language: the categories that fired, a moderator's reason,
/// or the residents' reports.
fn reason(ctx: &Ctx<'_>, locale: Locale, item: &Item) -> String {
    if let Some(flag) = item.matches.iter().find(|m| m.category == "flag") {
        return flag
            .term
            .split_once(": ")
            .map_or(flag.term.clone(), |(_, r)| r.to_owned());
    }
    let labels: Vec<&str> = item
        .categories
        .iter()
        .filter_map(|c| Category::parse(c))
        .map(|c| match locale {
            Locale::Vi => c.label_vi(),
            Locale::En => c.as_str(),
        })
        .collect();
    if !labels.is_empty() {
        return labels.join(", ");
    }
    let key = if item.source == Source::Report {
        "mod-reason-reports"
    } else {
        "mod-reason-default"
    };
    ctx.out.l10n.msg(locale, &Msg::new(key), Markup::Plain)
}

/// A press of a card's button: checked ([`decide_press`]), recorded, carried out on
/// Telegram where it can be, the author told, the card updated and the press answered.
async fn press(
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
        let mut reply = card(ctx, &decided, group.as_ref(), name.as_deref(), prior, &[]);
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
        let mut reply = card(ctx, &decided, group.as_ref(), name.as_deref(), prior, &[]);
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

/// `/appeal [text]` in private: the author's newest hidden item goes back to the queue, and
/// its card to the moderators other than the one who decided.
async fn appeal(ctx: &Ctx<'_>, from: &Person, text: &str) -> StoreResult<()> {
    let private = ChatId(i64::try_from(from.id).unwrap_or_default());
    let key = ContactKey {
        channel: Channel::Telegram,
        external_id: from.id.to_string(),
    };
    let received =
        crate::moderation::appeal_latest(ctx.store.as_ref(), &key, text, Utc::now()).await?;
    let reply = notice::appeal_answer(from.locale, received.is_some());
    ctx.out.send_replies(private, &[reply]).await;
    if let Some(item) = received {
        let group = group_of(ctx, &item).await?;
        send_cards(ctx, item.id, group.as_ref(), Some(&from.name), Vec::new()).await?;
    }
    Ok(())
}

/// How often the delivery loop looks for notices and cards to send.
const DELIVERY_PAUSE: Duration = Duration::from_secs(1);

/// How long an item waits before the delivery loop sends its cards: the path that queued it
/// sends them at once, with what it knows (report counts, an automatic hide).
const CARD_GRACE: chrono::Duration = chrono::Duration::seconds(3);

/// Runs until shutdown, beside the polling loop: sends the notices owed to authors whose
/// opinion or post was hidden (by a button or by `gopy moderation decide`), and the cards of
/// queued items no moderator got yet (opinions screened in the background, items queued by
/// the CLI or while the bot was down). Each notice and card is taken before it is sent, so
/// none goes twice.
pub(super) async fn deliver(
    out: Outbound,
    store: Arc<dyn Store>,
    moderation: Arc<Moderation>,
    shutdown: CancellationToken,
) {
    let ctx = Ctx {
        out: &out,
        store,
        moderation: &moderation,
    };
    let mut failing = false;
    loop {
        match deliver_once(&ctx).await {
            Ok(()) if failing => {
                failing = false;
                tracing::info!("moderation notices and cards are delivered again");
            }
            Ok(()) => {}
            Err(e) => {
                if !failing {
                    tracing::warn!(error = %e, "cannot deliver moderation notices and cards right now; retrying");
                }
                failing = true;
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(DELIVERY_PAUSE) => {}
        }
    }
}

async fn deliver_once(ctx: &Ctx<'_>) -> StoreResult<()> {
    // Flood control forgets people who went quiet, so it does not grow with everyone seen.
    lock(&ctx.moderation.flood).forget_idle(Utc::now());
    for n in ctx.store.unsent_notices(Channel::Telegram, 20).await? {
        if !ctx.store.take_notice(n.id, Utc::now()).await? {
            continue;
        }
        let Some(reply) = notice::owed(&n) else {
            continue;
        };
        let Ok(chat) = n.external_id.parse::<i64>() else {
            continue;
        };
        ctx.out.send_replies(ChatId(chat), &[reply]).await;
    }
    for item in ctx
        .store
        .uncarded_items(Utc::now() - CARD_GRACE, 20)
        .await?
    {
        let group = group_of(ctx, &item).await?;
        send_cards(ctx, item.id, group.as_ref(), None, Vec::new()).await?;
    }
    Ok(())
}
