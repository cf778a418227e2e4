//! Replies in bound groups on Telegram: a resident's reply to one of gopy's posts (or to a
//! recorded reply) becomes an opinion under the post's topic and the group's unit, or an
//! agreement; an edit updates it with its history; the first time, the resident gets a
//! private notice with their choices (keep, fully anonymous, withdraw) and the deep link, and
//! when Telegram will not let the bot write to them (403) the reply is stored anonymously;
//! the group sees at most one acknowledgement per resident per post (a reaction, one short
//! reply, or nothing). Also the loop that sends queued thread posts.
//!
//! `route` is pure; `run` and `post_loop` do the I/O. Decisions are in [`crate::replies`],
//! storage in [`crate::store::replies`]. Group posts are still screened by moderation first
//! (the route carries moderation's event), and every opinion recorded here is handed to the
//! moderation screener like a dialog's.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use teloxide::net::Download as _;
use teloxide::payloads::{SendMessageSetters as _, SetMessageReactionSetters as _};
use teloxide::requests::{Request as _, Requester as _};
use teloxide::types::{
    CallbackQueryId, ChatId, MediaKind, Message, MessageId, MessageKind, ParseMode, ReactionType,
    Update, UpdateKind, User,
};
use tokio_util::sync::CancellationToken;
use unicode_normalization::UnicodeNormalization as _;

use crate::dialog::{Choice as Button, Msg, Reply};
use crate::domain::{Campaign, Channel, CollectionWindow, ContactKey, Locale};
use crate::i18n::Markup;
use crate::moderation::{OpinionToScan, Screener};
use crate::replies::files::{FileKind, FileStore, MediaSettings, Refusal, accept, extension};
use crate::replies::{AckMode, Choice, is_agreement, thread_texts};
use crate::store::announce::GroupState;
use crate::store::replies::{Edited, NewFile, NewReply, PendingPost, PostOutcome, ReplyEdit};
use crate::store::{Store, StoreError, StoreResult};

use super::outbound::{Failure, Outbound, Sent, classify, keyboard, redact};
use super::split::{MAX_VISIBLE, split_html};

/// The longest pause between two tries while the database is down.
const MAX_RETRY_PAUSE: Duration = Duration::from_secs(30);

/// An acknowledgement whose slot in the group's rate is further away than this is left out:
/// a late "noted" is noise, and the group's messages matter more.
const ACK_HORIZON: Duration = Duration::from_secs(10);

/// The reaction that acknowledges a reply.
const ACK_EMOJI: &str = "👍";

/// How often the thread sender looks for posts to send.
const POST_TICK: Duration = Duration::from_secs(1);

/// How long a claimed post is held before another sender may take it.
const POST_LEASE_SECS: i64 = 60;

/// Sending a post is given up after this many tries.
const POST_MAX_ATTEMPTS: i64 = 8;

/// The media folder is swept once every this many ticks (a minute).
const SWEEP_TICKS: u64 = 60;

/// Files younger than this are never swept.
const SWEEP_MIN_AGE: Duration = Duration::from_secs(600);

/// The author of a reply, as much as replies need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Author {
    /// Telegram user id (also their private chat).
    pub id: u64,
    /// Their client's language.
    pub locale: Locale,
}

/// A file a reply carries, as Telegram describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct TgFile {
    /// Telegram's id, to download it with `getFile`.
    pub id: String,
    /// Voice, audio, photo or document.
    pub kind: FileKind,
    /// Its type (photos are JPEG).
    pub mime: String,
    /// Its size, when Telegram says.
    pub size: Option<u64>,
}

/// The file a message carries, if it is one gopy may keep with an opinion.
pub(super) fn file_of(msg: &Message) -> Option<TgFile> {
    let MessageKind::Common(common) = &msg.kind else {
        return None;
    };
    let meta = |f: &teloxide::types::FileMeta, kind, mime: Option<String>, default: &str| {
        Some(TgFile {
            id: f.id.0.clone(),
            kind,
            mime: mime.unwrap_or_else(|| default.to_owned()),
            size: Some(u64::from(f.size)),
        })
    };
    macro_rules! mime {
        ($m:expr) => {
            $m.as_ref().map(|m| m.essence_str().to_owned())
        };
    }
    match &common.media_kind {
        MediaKind::Voice(v) => meta(
            &v.voice.file,
            FileKind::Voice,
            mime!(v.voice.mime_type),
            "audio/ogg",
        ),
        MediaKind::Audio(a) => meta(
            &a.audio.file,
            FileKind::Audio,
            mime!(a.audio.mime_type),
            "audio/mpeg",
        ),
        MediaKind::Photo(p) => {
            let largest = p.photo.iter().max_by_key(|s| s.width * s.height)?;
            meta(&largest.file, FileKind::Photo, None, "image/jpeg")
        }
        MediaKind::Document(d) => meta(
            &d.document.file,
            FileKind::Document,
            mime!(d.document.mime_type),
            "application/octet-stream",
        ),
        _ => None,
    }
}

/// What replies do with one update.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum ReplyEvent {
    /// A message in a group that replies to another one: an opinion or an agreement when the
    /// other one is gopy's post or a recorded reply.
    Reply {
        /// The group.
        chat: ChatId,
        /// The reply.
        message_id: MessageId,
        /// The message it answers.
        reply_to: MessageId,
        /// Who wrote it.
        author: Author,
        /// Its text or caption (NFC, trimmed); empty for a sticker.
        text: String,
        /// Whether it is a sticker (an agreement).
        sticker: bool,
        /// A voice note, audio, photo or document it carries.
        file: Option<TgFile>,
        /// When.
        at: DateTime<Utc>,
    },
    /// An edit of a message in a group: updates the opinion when it is a recorded reply.
    Edit {
        /// The group.
        chat: ChatId,
        /// The message.
        message_id: MessageId,
        /// Its new text or caption (NFC, trimmed).
        text: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// A button of the private notice (`gr:<choice>:<campaign>`).
    Choice {
        /// Who pressed.
        from: Author,
        /// The query to answer.
        callback: CallbackQueryId,
        /// The button data.
        data: String,
    },
}

impl ReplyEvent {
    /// What serialises this event with others in a batch: the group for group events (as
    /// moderation's), the person for a button.
    pub(super) fn key(&self) -> u64 {
        match self {
            ReplyEvent::Reply { chat, .. } | ReplyEvent::Edit { chat, .. } => {
                chat.0.cast_unsigned()
            }
            ReplyEvent::Choice { from, .. } => from.id,
        }
    }
}

/// Routes what replies own: replies and edits in groups (not commands, not from bots) and the
/// notice's buttons. `None` leaves the update to the others.
pub(super) fn route(update: &Update) -> Option<(&'static str, ReplyEvent)> {
    match &update.kind {
        UpdateKind::CallbackQuery(q) => {
            let data = q.data.as_deref()?;
            if !data.starts_with(crate::replies::PREFIX) {
                return None;
            }
            Some((
                "group_reply_choice",
                ReplyEvent::Choice {
                    from: author(&q.from),
                    callback: q.id.clone(),
                    data: data.to_owned(),
                },
            ))
        }
        UpdateKind::Message(msg) => {
            let from = in_group(msg)?;
            let reply_to = msg.reply_to_message()?;
            let sticker = matches!(
                &msg.kind,
                MessageKind::Common(c) if matches!(c.media_kind, MediaKind::Sticker(_))
            );
            let text = text_of(msg);
            let file = file_of(msg);
            if text.starts_with('/') || (text.is_empty() && !sticker && file.is_none()) {
                return None;
            }
            Some((
                "group_reply",
                ReplyEvent::Reply {
                    chat: msg.chat.id,
                    message_id: msg.id,
                    reply_to: reply_to.id,
                    author: author(from),
                    text,
                    sticker,
                    file,
                    at: msg.date,
                },
            ))
        }
        UpdateKind::EditedMessage(msg) => {
            in_group(msg)?;
            let text = text_of(msg);
            if text.is_empty() || text.starts_with('/') {
                return None;
            }
            Some((
                "group_reply_edit",
                ReplyEvent::Edit {
                    chat: msg.chat.id,
                    message_id: msg.id,
                    text,
                    at: msg.edit_date().copied().unwrap_or(msg.date),
                },
            ))
        }
        _ => None,
    }
}

/// The author of a message in a group or supergroup, unless it is a bot.
fn in_group(msg: &Message) -> Option<&User> {
    let from = msg.from.as_ref()?;
    ((msg.chat.is_group() || msg.chat.is_supergroup()) && !from.is_bot).then_some(from)
}

/// A message's text or caption, NFC and trimmed.
pub(super) fn text_of(msg: &Message) -> String {
    msg.text()
        .or_else(|| msg.caption())
        .unwrap_or_default()
        .nfc()
        .collect::<String>()
        .trim()
        .to_owned()
}

fn author(user: &User) -> Author {
    Author {
        id: user.id.0,
        locale: user
            .language_code
            .as_deref()
            .and_then(Locale::parse)
            .unwrap_or_default(),
    }
}

/// Everything `run` works with.
pub(super) struct Ctx<'a> {
    /// Sending.
    pub out: &'a Outbound,
    /// The store.
    pub store: Arc<dyn Store>,
    /// Where new and edited opinions go to be screened, if moderation runs.
    pub screener: Option<Screener>,
    /// The bot's username, for deep links.
    pub username: &'a str,
    /// Where files given with replies are kept, and their size limit.
    pub media: Option<&'a MediaSettings>,
}

/// Handles one replies event. Returns `false` when shutdown came while the database was
/// down (the update must not be confirmed).
pub(super) async fn run(
    ctx: &Ctx<'_>,
    update_id: i64,
    ev: &ReplyEvent,
    shutdown: &CancellationToken,
) -> bool {
    if let ReplyEvent::Choice { callback, .. } = ev {
        ctx.out.answer_callback(callback.clone()).await;
    }
    let mut pause = Duration::from_millis(100);
    loop {
        match handle(ctx, update_id, ev).await {
            Ok(()) => return true,
            Err(StoreError::Unavailable(e)) => {
                tracing::warn!(update_id, error = %e, "cannot store a group reply right now; retrying");
                tokio::select! {
                    _ = shutdown.cancelled() => return false,
                    _ = tokio::time::sleep(pause) => {}
                }
                pause = (pause * 2).min(MAX_RETRY_PAUSE);
            }
            Err(e) => {
                tracing::error!(update_id, error = %e, "cannot handle a group reply; it is skipped");
                return true;
            }
        }
    }
}

async fn handle(ctx: &Ctx<'_>, update_id: i64, ev: &ReplyEvent) -> StoreResult<()> {
    match ev {
        ReplyEvent::Reply {
            chat,
            message_id,
            reply_to,
            author,
            text,
            sticker,
            file,
            at,
        } => {
            let Some(group) = ctx
                .store
                .group_by_external(Channel::Telegram, &chat.0.to_string())
                .await?
                .filter(|g| g.state == GroupState::Bound)
            else {
                return Ok(());
            };
            let Some(post) = ctx
                .store
                .post_of_message(group.id, &reply_to.0.to_string())
                .await?
            else {
                return Ok(());
            };
            // After collection closed, replies are no longer opinions.
            let open = ctx
                .store
                .campaigns()
                .await?
                .into_iter()
                .find(|c| c.id == post.campaign)
                .is_some_and(|c| !matches!(c.window(*at), CollectionWindow::Closed(_)));
            if !open {
                return Ok(());
            }
            // A file is kept only within the limits; a refused one is said so in the group.
            let kept = match file {
                Some(f) => match keep_file(ctx, f).await {
                    Ok(kept) => Some(kept),
                    Err(Some(refusal)) => {
                        let key = match refusal {
                            Refusal::TooLarge => "gr-file-too-large",
                            Refusal::Type => "gr-file-type",
                        };
                        let max = ctx.media.map_or(0, |m| m.max_bytes / (1024 * 1024));
                        let msg = Msg::new(key).num("mb", i64::try_from(max).unwrap_or(i64::MAX));
                        let text = ctx.out.l10n.msg(author.locale, &msg, Markup::TelegramHtml);
                        ctx.out.send(*chat, text, None, Some(*message_id)).await;
                        return Ok(());
                    }
                    Err(None) if text.is_empty() => return Ok(()),
                    Err(None) => None,
                },
                None => None,
            };
            // Words given with a file are its opinion's text; without, reports say what it is.
            let text = match &kept {
                Some(f) if text.is_empty() => crate::replies::files::placeholder(f.kind),
                _ => text.clone(),
            };
            let text = &text;
            let contact = contact(ctx.store.as_ref(), author).await?;
            let reply = NewReply {
                channel: Channel::Telegram,
                update_key: format!("reply:{update_id}"),
                group: group.id,
                unit: group.unit.clone(),
                message_id: message_id.0.to_string(),
                post: post.clone(),
                contact,
                text: text.clone(),
                agreement: kept.is_none() && (*sticker || is_agreement(text)),
                reference: format!("G{}", crate::service::random_code(9)),
                file: kept,
                at: *at,
            };
            let recorded = ctx.store.record_reply(&reply).await?;
            if recorded.duplicate {
                return Ok(());
            }
            let kind = if reply.agreement {
                "agreement"
            } else {
                "opinion"
            };
            metrics::counter!("gopy_group_replies_total", "kind" => kind).increment(1);
            if let (Some((opinion_id, author)), Some(s)) = (recorded.opinion, &ctx.screener) {
                s.submit(OpinionToScan {
                    opinion_id,
                    author,
                    text: text.clone(),
                });
            }
            if let Some(mode) = recorded.ack {
                acknowledge(ctx.out, *chat, *message_id, mode, author.locale).await;
            }
            if recorded.notice_owed {
                notify(ctx, author, contact, post.campaign, &group.title).await?;
            }
            Ok(())
        }
        ReplyEvent::Edit {
            chat,
            message_id,
            text,
            at,
        } => {
            let Some(group) = ctx
                .store
                .group_by_external(Channel::Telegram, &chat.0.to_string())
                .await?
            else {
                return Ok(());
            };
            let edited = ctx
                .store
                .edit_reply(&ReplyEdit {
                    update_key: format!("reply:{update_id}"),
                    group: group.id,
                    message_id: message_id.0.to_string(),
                    text: text.clone(),
                    agreement: is_agreement(text),
                    reference: format!("G{}", crate::service::random_code(9)),
                    at: *at,
                })
                .await?;
            let scan = |opinion_id, author| OpinionToScan {
                opinion_id,
                author,
                text: text.clone(),
            };
            match (edited, &ctx.screener) {
                (Edited::Opinion(id, author), Some(s)) => s.submit_edit(scan(id, author)),
                (Edited::Became(id, author), Some(s)) => s.submit(scan(id, author)),
                _ => {}
            }
            Ok(())
        }
        ReplyEvent::Choice { from, data, .. } => {
            let Some((choice, campaign)) = Choice::from_data(data) else {
                return Ok(());
            };
            let key = ContactKey {
                channel: Channel::Telegram,
                external_id: from.id.to_string(),
            };
            let Some(contact) = ctx.store.find_contact(&key).await? else {
                return Ok(());
            };
            let changed = ctx
                .store
                .reply_choice(contact.id, campaign, choice, Utc::now())
                .await?;
            let msg = match choice {
                Choice::Keep => Msg::new("gr-chosen-keep"),
                Choice::Anonymous => Msg::new("gr-chosen-anonymous"),
                Choice::Withdraw => Msg::new("gr-chosen-withdraw")
                    .num("count", i64::try_from(changed).unwrap_or(i64::MAX)),
            };
            let chat = ChatId(i64::try_from(from.id).unwrap_or_default());
            ctx.out.send_notice(chat, from.locale, &msg).await;
            Ok(())
        }
    }
}

/// Downloads a reply's file and keeps it. `Err(Some(_))`: refused by the limits (the resident
/// is told); `Err(None)`: files are not kept here, or the download failed (logged).
pub(super) async fn keep_file(ctx: &Ctx<'_>, f: &TgFile) -> Result<NewFile, Option<Refusal>> {
    let Some(media) = ctx.media else {
        return Err(None);
    };
    accept(f.kind, &f.mime, f.size, media.max_bytes).map_err(Some)?;
    let file = match ctx
        .out
        .bot
        .get_file(teloxide::types::FileId(f.id.clone()))
        .send()
        .await
    {
        Ok(file) => file,
        Err(e) => {
            let d = redact(&e.to_string(), &ctx.out.token);
            if d.contains("file is too big") {
                return Err(Some(Refusal::TooLarge));
            }
            tracing::warn!(error = %d, "cannot get a reply's file from Telegram");
            return Err(None);
        }
    };
    accept(
        f.kind,
        &f.mime,
        Some(u64::from(file.meta.size)),
        media.max_bytes,
    )
    .map_err(Some)?;
    let mut bytes: Vec<u8> = Vec::new();
    if let Err(e) = ctx.out.bot.download_file(&file.path, &mut bytes).await {
        let d = redact(&e.to_string(), &ctx.out.token);
        tracing::warn!(error = %d, "cannot download a reply's file from Telegram");
        return Err(None);
    }
    let size = bytes.len() as u64;
    accept(f.kind, &f.mime, Some(size), media.max_bytes).map_err(Some)?;
    match FileStore::new(&media.dir)
        .save(&bytes, extension(&f.mime))
        .await
    {
        Ok(key) => Ok(NewFile {
            kind: f.kind,
            mime: f.mime.clone(),
            size: i64::try_from(size).unwrap_or(i64::MAX),
            key,
        }),
        Err(e) => {
            tracing::error!(error = %e, dir = %media.dir.display(), "cannot keep a reply's file");
            Err(None)
        }
    }
}

/// The contact of a Telegram user, created if new (it holds the platform id only).
async fn contact(store: &dyn Store, who: &Author) -> StoreResult<i64> {
    let mut tx = store.begin().await?;
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

/// Acknowledges a recorded reply in its group: a reaction, or one short reply if its slot in
/// the group's rate comes soon enough. Failures are logged only.
async fn acknowledge(out: &Outbound, chat: ChatId, message: MessageId, mode: AckMode, l: Locale) {
    match mode {
        AckMode::Silent => {}
        AckMode::Reaction => {
            let req = out
                .bot
                .set_message_reaction(chat, message)
                .reaction([ReactionType::Emoji {
                    emoji: ACK_EMOJI.to_owned(),
                }]);
            if let Err(e) = req.send().await {
                let d = redact(&e.to_string(), &out.token);
                tracing::debug!(error = %d, "cannot react to a group reply");
            }
        }
        AckMode::Reply => {
            if let Some(limiter) = &out.limiter {
                let now = tokio::time::Instant::now();
                let slot = limiter
                    .lock()
                    .await
                    .reserve_within(chat.0, now, ACK_HORIZON);
                match slot {
                    Ok(at) => tokio::time::sleep_until(at).await,
                    Err(_) => {
                        metrics::counter!("gopy_group_reply_acks_skipped_total").increment(1);
                        return;
                    }
                }
            }
            let text = out.l10n.msg(l, &Msg::new("gr-ack"), Markup::TelegramHtml);
            out.send(chat, text, None, Some(message)).await;
        }
    }
}

/// Sends the private notice (choices and deep link) and records whether it arrived; when
/// Telegram refuses (the resident never started the bot, or blocked it), their replies are
/// stored anonymously.
async fn notify(
    ctx: &Ctx<'_>,
    author: &Author,
    contact: i64,
    campaign: i64,
    group_title: &str,
) -> StoreResult<()> {
    let found = ctx.store.campaigns().await?;
    let campaign_row = found.iter().find(|c| c.id == campaign);
    let title = campaign_row.map(|c| c.title.clone()).unwrap_or_default();
    let link = super::polling::deep_link(ctx.username, campaign_row.map(|c| c.slug.as_str()));
    let reply = Reply {
        locale: author.locale,
        paragraphs: vec![
            Msg::new("gr-notice")
                .text("group", group_title.to_owned())
                .text("campaign", title),
            Msg::new("gr-notice-link").text("link", link),
        ],
        choices: [
            (Choice::Keep, "gr-choice-keep"),
            (Choice::Anonymous, "gr-choice-anonymous"),
            (Choice::Withdraw, "gr-choice-withdraw"),
        ]
        .into_iter()
        .map(|(c, label)| Button {
            data: c.data(campaign),
            label: Msg::new(label),
        })
        .collect(),
    };
    let rendered = ctx.out.l10n.reply(&reply, Markup::TelegramHtml, true);
    let chat = ChatId(i64::try_from(author.id).unwrap_or_default());
    let sent = ctx
        .out
        .send(chat, rendered.text, keyboard(&rendered.buttons), None)
        .await;
    let reached = sent == Sent::Ok;
    if !reached {
        metrics::counter!("gopy_group_reply_notices_unreachable_total").increment(1);
    }
    ctx.store
        .notice_result(contact, campaign, reached, Utc::now())
        .await
}

/// Sends the queued thread posts until shutdown: each claimed post in order, spaced by the
/// account's limiter (bulk: replies to residents go first), its message id recorded so that
/// replies to it map to its topic.
pub(super) async fn post_loop(
    out: Outbound,
    store: Arc<dyn Store>,
    username: String,
    media: Option<MediaSettings>,
    shutdown: CancellationToken,
) {
    let mut ticks: u64 = 0;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(POST_TICK) => {}
        }
        ticks += 1;
        if let Some(m) = &media
            && ticks % SWEEP_TICKS == 1
        {
            sweep(store.as_ref(), m).await;
        }
        let now = Utc::now();
        let claimed = match store
            .claim_posts(
                Channel::Telegram,
                now,
                chrono::Duration::seconds(POST_LEASE_SECS),
                20,
            )
            .await
        {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "cannot claim thread posts now");
                continue;
            }
        };
        if claimed.is_empty() {
            continue;
        }
        let campaigns: HashMap<i64, Campaign> = match store.campaigns().await {
            Ok(c) => c.into_iter().map(|c| (c.id, c)).collect(),
            Err(e) => {
                tracing::debug!(error = %e, "cannot read campaigns for thread posts now");
                continue;
            }
        };
        // A group whose post must wait holds its later posts too: the thread keeps its order.
        let mut held: HashMap<i64, DateTime<Utc>> = HashMap::new();
        for post in claimed {
            let outcome = match held.get(&post.group) {
                Some(when) => PostOutcome::Retry(*when, "an earlier post waits".to_owned()),
                None => send_post(&out, &post, campaigns.get(&post.campaign), &username).await,
            };
            match &outcome {
                PostOutcome::Retry(when, _) => {
                    held.entry(post.group).or_insert(*when);
                }
                PostOutcome::Failed(_) => {
                    held.entry(post.group).or_insert_with(Utc::now);
                }
                PostOutcome::Sent { .. } => {}
            }
            if let Err(e) = store.finish_post(post.id, &outcome, Utc::now()).await {
                tracing::warn!(post = post.id, error = %e, "cannot record a thread post's result; it may be sent again");
            }
        }
    }
}

/// Removes kept files no opinion names any more (the opinion's resident erased themselves,
/// or the campaign was deleted). Files younger than a few minutes are left alone: their row
/// may not be committed yet.
async fn sweep(store: &dyn Store, media: &MediaSettings) {
    let keep = match store.file_keys().await {
        Ok(k) => k,
        Err(e) => {
            tracing::debug!(error = %e, "cannot list kept files now");
            return;
        }
    };
    match FileStore::new(&media.dir).sweep(&keep, SWEEP_MIN_AGE).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(files = n, "files no opinion names any more were removed"),
        Err(e) => tracing::warn!(error = %e, "cannot sweep the media folder"),
    }
}

/// Sends one thread post (split if too long; the last part's id is the post's).
async fn send_post(
    out: &Outbound,
    post: &PendingPost,
    campaign: Option<&Campaign>,
    username: &str,
) -> PostOutcome {
    let Some(campaign) = campaign else {
        return PostOutcome::Failed("the campaign is gone".to_owned());
    };
    let Ok(chat) = post.chat_id.parse::<i64>().map(ChatId) else {
        return PostOutcome::Failed("not a Telegram chat id".to_owned());
    };
    let link = super::polling::deep_link(username, Some(&campaign.slug));
    let reply = Reply {
        locale: Locale::Vi,
        paragraphs: thread_texts(campaign, post.topic.as_deref(), &link),
        choices: Vec::new(),
    };
    let text = out.l10n.reply(&reply, Markup::TelegramHtml, false).text;
    let mut last = None;
    for part in split_html(&text, MAX_VISIBLE) {
        if let Some(limiter) = &out.limiter {
            let at = limiter
                .lock()
                .await
                .reserve(chat.0, tokio::time::Instant::now());
            tokio::time::sleep_until(at).await;
        }
        let sent = out
            .bot
            .send_message(chat, part)
            .parse_mode(ParseMode::Html)
            .send()
            .await;
        match sent {
            Ok(m) => last = Some(m.id),
            Err(e) => {
                let failure = classify(&e);
                let description = redact(&e.to_string(), &out.token);
                tracing::info!(post = post.id, error = %description, "a thread post was not sent");
                let now = Utc::now();
                return match failure {
                    Failure::RetryAfter(wait) => {
                        if let Some(limiter) = &out.limiter {
                            limiter.lock().await.retry_after(
                                chat.0,
                                wait,
                                tokio::time::Instant::now(),
                            );
                        }
                        PostOutcome::Retry(
                            now + chrono::Duration::from_std(wait).unwrap_or_default(),
                            description,
                        )
                    }
                    Failure::Migrated(_) => PostOutcome::Retry(now, description),
                    Failure::Transient if post.attempts + 1 < POST_MAX_ATTEMPTS => {
                        let secs = 1_i64 << post.attempts.clamp(0, 8);
                        PostOutcome::Retry(now + chrono::Duration::seconds(secs), description)
                    }
                    _ => PostOutcome::Failed(description),
                };
            }
        }
    }
    match last {
        Some(id) => PostOutcome::Sent {
            chat_id: chat.0.to_string(),
            message_id: id.0.to_string(),
        },
        None => PostOutcome::Failed("nothing to send".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn update(v: Value) -> Update {
        serde_json::from_str(&v.to_string()).expect("an update")
    }

    fn group() -> Value {
        json!({"id": -100, "type": "supergroup", "title": "Tổ 5"})
    }

    fn user(id: i64, bot: bool) -> Value {
        json!({"id": id, "is_bot": bot, "first_name": "Hoa", "language_code": "vi"})
    }

    fn message(body: Value) -> Value {
        let mut m = json!({"message_id": 9, "from": user(42, false), "chat": group(),
                           "date": 1_700_000_000});
        for (k, v) in body.as_object().expect("object") {
            m[k] = v.clone();
        }
        m
    }

    fn replied() -> Value {
        json!({"message_id": 3, "from": user(1, true), "chat": group(),
               "date": 1_699_999_000, "text": "Chủ đề: Giao thông"})
    }

    #[test]
    fn a_reply_in_a_group_is_routed_with_what_it_answers() {
        let u = json!({"update_id": 1, "message": message(json!({
            "text": "Cần thêm đèn", "reply_to_message": replied()}))});
        let (kind, ev) = route(&update(u)).expect("routed");
        assert_eq!(kind, "group_reply");
        let ReplyEvent::Reply {
            reply_to,
            text,
            sticker,
            author,
            ..
        } = ev
        else {
            panic!("{ev:?}")
        };
        assert_eq!(reply_to, MessageId(3));
        assert_eq!(text, "Cần thêm đèn");
        assert!(!sticker);
        assert_eq!(author.id, 42);
    }

    #[test]
    fn posts_that_reply_to_nothing_commands_and_bots_are_not_replies() {
        let plain = json!({"update_id": 1, "message": message(json!({"text": "Chào"}))});
        let command = json!({"update_id": 2, "message": message(json!({
            "text": "/report", "reply_to_message": replied()}))});
        let mut from_bot = message(json!({"text": "x", "reply_to_message": replied()}));
        from_bot["from"] = user(7, true);
        let bot = json!({"update_id": 3, "message": from_bot});
        for u in [plain, command, bot] {
            assert_eq!(route(&update(u.clone())), None, "{u}");
        }
    }

    #[test]
    fn a_sticker_reply_and_an_edit_and_a_notice_button_are_routed() {
        let sticker = json!({"update_id": 1, "message": message(json!({
            "reply_to_message": replied(),
            "sticker": {"file_id": "a", "file_unique_id": "b", "type": "regular",
                        "width": 1, "height": 1, "is_animated": false, "is_video": false}}))});
        let Some((_, ReplyEvent::Reply { sticker: true, .. })) = route(&update(sticker)) else {
            panic!("a sticker reply")
        };
        let mut edited = message(json!({"text": "Sửa lại"}));
        edited["edit_date"] = json!(1_700_000_100);
        let edit = json!({"update_id": 2, "edited_message": edited});
        let Some((_, ReplyEvent::Edit { text, .. })) = route(&update(edit)) else {
            panic!("an edit")
        };
        assert_eq!(text, "Sửa lại");
        let press = json!({"update_id": 3, "callback_query": {
            "id": "5", "from": user(42, false), "chat_instance": "-1", "data": "gr:keep:7"}});
        let Some((_, ReplyEvent::Choice { data, .. })) = route(&update(press)) else {
            panic!("a choice")
        };
        assert_eq!(data, "gr:keep:7");
    }
}
