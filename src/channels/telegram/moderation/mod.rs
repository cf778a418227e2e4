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
//!
//! Layout:
//! - `mod.rs`: routing (pure), the running state ([`Moderation`]), `run` and the shared
//!   helpers (the bound group, contacts, staff authors, scope, reasons), `/appeal`.
//! - `cards.rs`: who gets a card and what it shows and offers.
//! - `reports.rs`: `/report`, `/flag`, deleting a post.
//! - `press.rs`: a card's button pressed, carried out, every copy updated.
//! - `delivery.rs`: the loop that sends owed notices and missing cards.

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
    AfterReports, GroupPost, GroupSettings, WhyNotHidden, before_cap, screen_counted,
};
use crate::moderation::{
    Category, Decision, Detector, Item, Limits, LogEntry, NewItem, Source, StoredMatch, Target,
    Verdict, notice, with_watch_list,
};
use crate::store::announce::{ChatGroup, GroupKind, GroupState, Role, StaffUser};
use crate::store::{DecideOutcome, Report, Store, StoreError, StoreResult};

mod cards;
mod delivery;
mod press;
mod reports;

pub(super) use delivery::deliver;

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
/// automatic actions (shared by every process on Postgres: [`Limits`]).
pub(super) struct Moderation {
    /// The built-in or configured word lists.
    base: Detector,
    /// The lists with the watch list merged in, and when that was read.
    current: Mutex<Option<(Instant, Arc<Detector>)>>,
    /// Posts per person per group, and automatic actions.
    limits: Limits,
    /// Thresholds and durations.
    pub settings: GroupSettings,
}

impl Moderation {
    /// Moderation with these word lists and settings.
    pub(super) fn new(base: Detector, settings: GroupSettings) -> Self {
        Moderation {
            base,
            current: Mutex::new(None),
            limits: Limits::new(settings),
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
            // An edit is not one more post: it is not counted for flooding.
            let flooding = if *edited {
                None
            } else {
                ctx.moderation
                    .limits
                    .flooding(ctx.store.as_ref(), &post)
                    .await?
            };
            let queued = screen_counted(&detector, flooding, &post);
            let Some(mut item) = queued else {
                return Ok(());
            };
            item.author = Some(contact(ctx, author).await?);
            if let Some(id) = ctx.store.queue_item(&item).await? {
                metrics::counter!("gopy_moderation_queued_total", "source" => "telegram_group")
                    .increment(1);
                cards::send_cards(ctx, id, Some(&group), Some(&author.name), Vec::new()).await?;
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
                reports::flag_post(ctx, &group, *command, from, post.as_ref(), reason).await
            } else {
                reports::report_post(ctx, &group, *command, from, post.as_ref(), reason).await
            }
        }
        ModEvent::Press {
            from,
            callback,
            card,
            data,
        } => press::press(ctx, from, callback, *card, data).await,
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

fn chat_of(group: &ChatGroup) -> ChatId {
    ChatId(group.external_id.parse().unwrap_or_default())
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
        cards::send_cards(ctx, item.id, group.as_ref(), Some(&from.name), Vec::new()).await?;
    }
    Ok(())
}
