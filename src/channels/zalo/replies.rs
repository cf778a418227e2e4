//! Replies in bound Zalo groups (Bot API): a resident's reply to, or quote of, one of gopy's
//! thread posts (or of a recorded reply) becomes an opinion under the post's topic and the
//! group's unit, or an agreement, exactly as on Telegram; the first time, the resident gets a
//! private notice with their choices when Zalo lets the bot write to them (it does only to
//! people who chatted with it), and is stored anonymously otherwise; the group sees at most
//! one short acknowledgement per resident per post (Zalo has no reactions), within the group's
//! rate, or nothing. Zalo has no buttons, so the choices are words typed in the private chat
//! (`GIỮ`, `ẨN DANH`, `RÚT`). Also the loop that sends queued thread posts into Zalo groups
//! and records their message ids.
//!
//! Decisions are in [`crate::replies`], storage in [`crate::store::replies`]; the group post
//! is screened by moderation first (`staff.rs`), and every opinion recorded here is handed to
//! the moderation screener like a dialog's.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::announce::limiter::{Limiter, Limits};
use crate::dialog::{Input, Msg, Reply};
use crate::domain::{Campaign, Channel, CollectionWindow, ContactKey, Locale};
use crate::i18n::Markup;
use crate::moderation::OpinionToScan;
use crate::replies::files::{FileStore, MediaSettings, Refusal, accept, extension};
use crate::replies::{AckMode, Choice, is_agreement, thread_texts};
use crate::store::announce::GroupState;
use crate::store::replies::{NewFile, NewReply, PendingPost, PostOutcome};
use crate::store::{Store, StoreResult};

use super::Core;
use super::client::Failure;
use super::inbound::{DialogEvent, ZaloFile};
use super::outbound::Outbound;
use super::split::{MAX_CHARS, split_plain};

/// An acknowledgement whose slot in the group's rate is further away than this is left out.
const ACK_HORIZON: Duration = Duration::from_secs(10);

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

/// How long downloading a file may take.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(60);

/// The limiter of messages gopy itself starts in Zalo groups (thread posts and
/// acknowledgements): Telegram's per-group spacing (20 a minute), which Zalo does not document.
pub(super) fn group_limiter() -> Arc<tokio::sync::Mutex<Limiter>> {
    Arc::new(tokio::sync::Mutex::new(Limiter::new(Limits::default())))
}

/// The limiter's key for a Zalo group: a stable negative number (the limiter spaces negative
/// keys as groups).
fn group_key(chat: &str) -> i64 {
    use std::hash::{Hash as _, Hasher as _};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    chat.hash(&mut h);
    -((h.finish() >> 2) as i64) - 1
}

/// The text of a group message without the mention of the bot that opens it
/// (`@Bot Góp ý …` → `…`), NFC and trimmed.
pub(super) fn without_mention(text: &str, names: &[String]) -> String {
    let t = text.trim();
    let Some(rest) = t.strip_prefix('@') else {
        return t.to_owned();
    };
    let lower = rest.to_lowercase();
    for name in names {
        let n = name.trim().to_lowercase();
        if !n.is_empty() && lower.starts_with(&n) {
            let cut = rest
                .char_indices()
                .nth(n.chars().count())
                .map_or(rest.len(), |(i, _)| i);
            return rest[cut..]
                .trim_start_matches([':', ',', ' '])
                .trim()
                .to_owned();
        }
    }
    t.to_owned()
}

/// A choice typed in the private chat in answer to the notice: `GIỮ`, `ẨN DANH`, `RÚT` (with
/// or without accents, any case), or their longer forms.
pub(super) fn typed_choice(text: &str) -> Option<Choice> {
    let folded = crate::text::fold(text);
    let words = folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    match words.as_str() {
        "giu" | "giu y kien" | "giu nguyen" | "keep" => Some(Choice::Keep),
        "an danh" | "an danh hoan toan" | "anonymous" => Some(Choice::Anonymous),
        "rut" | "rut lai" | "rut y kien" | "withdraw" => Some(Choice::Withdraw),
        _ => None,
    }
}

impl Core {
    /// A group message that replies to or quotes another one: recorded as an opinion or an
    /// agreement when the other one is gopy's thread post (or a recorded reply) in a bound
    /// group whose campaign still collects; then acknowledged and the notice sent.
    pub(super) async fn group_reply(&self, ev: &DialogEvent) -> StoreResult<()> {
        let Some(reply_to) = &ev.reply_to else {
            return Ok(());
        };
        let store = self.dialogs.store().clone();
        let Some(group) = store
            .group_by_external(Channel::Zalo, &ev.chat)
            .await?
            .filter(|g| g.state == GroupState::Bound)
        else {
            return Ok(());
        };
        let Some(post) = store.post_of_message(group.id, reply_to).await? else {
            return Ok(());
        };
        let at = ev.date.unwrap_or_else(Utc::now);
        let open = store
            .campaigns()
            .await?
            .into_iter()
            .find(|c| c.id == post.campaign)
            .is_some_and(|c| !matches!(c.window(at), CollectionWindow::Closed(_)));
        if !open {
            return Ok(());
        }
        let names = self.bot_names.get().cloned().unwrap_or_default();
        let words = match &ev.input {
            Input::Text(t) => without_mention(t, &names),
            _ => ev
                .caption
                .as_deref()
                .map(|c| without_mention(c, &names))
                .unwrap_or_default(),
        };
        let sticker = matches!(ev.input, Input::Media(crate::dialog::MediaKind::Sticker));
        if words.starts_with('/') || (words.is_empty() && !sticker && ev.file.is_none()) {
            return Ok(());
        }
        let kept = match &ev.file {
            Some(f) => match self.keep_file(f).await {
                Ok(kept) => Some(kept),
                Err(Some(refusal)) => {
                    let msg = self.refusal(refusal);
                    let text = self.out.l10n.msg(Locale::Vi, &msg, Markup::Plain);
                    self.out.send(&ev.chat, &text).await;
                    return Ok(());
                }
                Err(None) if words.is_empty() && !sticker => return Ok(()),
                Err(None) => None,
            },
            None => None,
        };
        let text = match &kept {
            Some(f) if words.is_empty() => crate::replies::files::placeholder(f.kind),
            _ => words,
        };
        let contact = {
            let mut tx = store.begin().await?;
            let c = tx
                .contact(
                    &ContactKey {
                        channel: Channel::Zalo,
                        external_id: ev.user.clone(),
                    },
                    Locale::Vi,
                )
                .await?;
            tx.commit().await?;
            c.id
        };
        let reply = NewReply {
            channel: Channel::Zalo,
            update_key: format!("zreply:{}", ev.message_id),
            group: group.id,
            unit: group.unit.clone(),
            message_id: ev.message_id.clone(),
            post: post.clone(),
            contact,
            agreement: kept.is_none() && (sticker || is_agreement(&text)),
            text,
            reference: format!("G{}", crate::service::random_code(9)),
            file: kept,
            at,
        };
        let recorded = store.record_reply(&reply).await?;
        if recorded.duplicate {
            return Ok(());
        }
        let kind = if reply.agreement {
            "agreement"
        } else {
            "opinion"
        };
        metrics::counter!("gopy_group_replies_total", "kind" => kind, "channel" => "zalo")
            .increment(1);
        if let (Some((opinion_id, author)), Some(s)) = (recorded.opinion, self.dialogs.screener()) {
            s.submit(OpinionToScan {
                opinion_id,
                author,
                text: reply.text.clone(),
            });
        }
        if let Some(mode) = recorded.ack {
            self.acknowledge(&ev.chat, mode).await;
        }
        if recorded.notice_owed {
            self.notify(ev, contact, post.campaign, &group.title)
                .await?;
        }
        Ok(())
    }

    /// The message for a refused file.
    fn refusal(&self, refusal: Refusal) -> Msg {
        let key = match refusal {
            Refusal::TooLarge => "gr-file-too-large",
            Refusal::Type => "gr-file-type",
        };
        let max = self.media.get().map_or(0, |m| m.max_bytes / (1024 * 1024));
        Msg::new(key).num("mb", i64::try_from(max).unwrap_or(i64::MAX))
    }

    /// Downloads a file by the link Zalo gave and keeps it. `Err(Some(_))`: refused by the
    /// limits; `Err(None)`: files are not kept here, the link is not Zalo's, or the download
    /// failed (logged).
    pub(super) async fn keep_file(&self, f: &ZaloFile) -> Result<NewFile, Option<Refusal>> {
        let Some(media) = self.media.get() else {
            return Err(None);
        };
        accept(f.kind, &f.mime, f.size, media.max_bytes).map_err(Some)?;
        let bytes = match self
            .out
            .client
            .download(&f.url, media.max_bytes, DOWNLOAD_TIMEOUT)
            .await
        {
            Ok(Some(b)) => b,
            Ok(None) => return Err(Some(Refusal::TooLarge)),
            Err(e) => {
                tracing::warn!(error = %e, "cannot download a file from Zalo");
                return Err(None);
            }
        };
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
                tracing::error!(error = %e, dir = %media.dir.display(), "cannot keep a file from Zalo");
                Err(None)
            }
        }
    }

    /// One short acknowledgement in the group, if its slot in the group's rate comes soon
    /// enough (Zalo has no reactions, so a reaction is a short reply too). It waits for its
    /// slot in the background, so the next event is not held; failures are logged only.
    async fn acknowledge(&self, chat: &str, mode: AckMode) {
        if mode == AckMode::Silent {
            return;
        }
        let slot = self.group_limiter.lock().await.reserve_within(
            group_key(chat),
            tokio::time::Instant::now(),
            ACK_HORIZON,
        );
        let Ok(at) = slot else {
            metrics::counter!("gopy_group_reply_acks_skipped_total").increment(1);
            return;
        };
        let text = self
            .out
            .l10n
            .msg(Locale::Vi, &Msg::new("gr-ack"), Markup::Plain);
        let out = self.out.clone();
        let chat = chat.to_owned();
        tokio::spawn(async move {
            tokio::time::sleep_until(at).await;
            if let Err(e) = out.send_once(&chat, &text).await {
                tracing::debug!(error = %e, "cannot acknowledge a group reply on Zalo");
            }
        });
    }

    /// Sends the private notice, tried once: Zalo lets a bot write only to people who chatted
    /// with it, so a refusal (or any failure) stores the resident's replies anonymously.
    async fn notify(
        &self,
        ev: &DialogEvent,
        contact: i64,
        campaign: i64,
        group_title: &str,
    ) -> StoreResult<()> {
        let store = self.dialogs.store();
        let found = store.campaigns().await?;
        let c = found.iter().find(|c| c.id == campaign);
        let reply = Reply {
            locale: Locale::Vi,
            paragraphs: vec![
                Msg::new("zalo-gr-notice")
                    .text("group", group_title.to_owned())
                    .text("campaign", c.map(|c| c.title.clone()).unwrap_or_default()),
                Msg::new("zalo-gr-notice-link")
                    .text("slug", c.map(|c| c.slug.clone()).unwrap_or_default()),
            ],
            choices: Vec::new(),
        };
        let mut reached = true;
        for part in self.out.render(&reply) {
            if let Err(e) = self.out.send_once(&ev.user, &part).await {
                if e.failure() == Failure::Unauthorized {
                    self.out.fatal.cancel();
                }
                tracing::info!(error = %e, "a group reply's notice did not reach its author on Zalo; stored anonymously");
                reached = false;
                break;
            }
        }
        if !reached {
            metrics::counter!("gopy_group_reply_notices_unreachable_total").increment(1);
        }
        store
            .notice_result(contact, campaign, reached, Utc::now())
            .await
    }

    /// A photo, voice note or document sent in private. At a topic's opinion step it is
    /// downloaded, checked and kept, and its caption (or the words that stand for it) becomes
    /// the opinion with the file attached; a refused file is said so and nothing is stored.
    /// `None` anywhere else: the dialog answers it as any other media.
    pub(super) async fn private_file(
        &self,
        ev: &DialogEvent,
    ) -> Result<Option<Vec<Reply>>, crate::service::ServiceError> {
        let Some(f) = &ev.file else {
            return Ok(None);
        };
        if self.media.get().is_none() {
            return Ok(None);
        }
        let key = ContactKey {
            channel: Channel::Zalo,
            external_id: ev.user.clone(),
        };
        if self.dialogs.opinion_topic(&key).await?.is_none() {
            return Ok(None);
        }
        let say = |msg: Msg| Reply {
            locale: Locale::Vi,
            paragraphs: vec![msg],
            choices: Vec::new(),
        };
        let kept = match self.keep_file(f).await {
            Ok(kept) => kept,
            Err(Some(refusal)) => return Ok(Some(vec![say(self.refusal(refusal))])),
            Err(None) => return Ok(Some(vec![say(Msg::new("dm-file-not-received"))])),
        };
        let mut inbound = Self::inbound(ev);
        inbound.input = Input::Text(
            ev.caption
                .clone()
                .unwrap_or_else(|| crate::replies::files::placeholder(kept.kind)),
        );
        let (mut replies, attached) = self.dialogs.handle_with_file(&inbound, &kept).await?;
        if attached {
            metrics::counter!("gopy_dialog_files_total", "channel" => "zalo").increment(1);
            replies.insert(0, say(Msg::new("dm-file-kept")));
        }
        Ok(Some(replies))
    }

    /// `GIỮ`, `ẨN DANH` or `RÚT` typed in private by a resident who got a notice: applied to
    /// their replies in that campaign. `None` when the text is not such a choice or no notice
    /// reached them (the dialog takes it then).
    pub(super) async fn choice_step(&self, ev: &DialogEvent) -> StoreResult<Option<Vec<Reply>>> {
        let Input::Text(text) = &ev.input else {
            return Ok(None);
        };
        let Some(choice) = typed_choice(text) else {
            return Ok(None);
        };
        let store = self.dialogs.store();
        let key = ContactKey {
            channel: Channel::Zalo,
            external_id: ev.user.clone(),
        };
        let Some(contact) = store.find_contact(&key).await? else {
            return Ok(None);
        };
        let Some(campaign) = store.latest_notice(contact.id).await? else {
            return Ok(None);
        };
        let changed = store
            .reply_choice(contact.id, campaign, choice, Utc::now())
            .await?;
        let msg = match choice {
            Choice::Keep => Msg::new("gr-chosen-keep"),
            Choice::Anonymous => Msg::new("gr-chosen-anonymous"),
            Choice::Withdraw => Msg::new("gr-chosen-withdraw")
                .num("count", i64::try_from(changed).unwrap_or(i64::MAX)),
        };
        Ok(Some(vec![Reply {
            locale: contact.locale,
            paragraphs: vec![msg],
            choices: Vec::new(),
        }]))
    }
}

/// Sends the queued thread posts into Zalo groups until shutdown: each claimed post in order,
/// spaced by the group limiter, its message id recorded so that replies to it map to its topic.
pub(super) async fn post_loop(core: Arc<Core>, shutdown: CancellationToken) {
    let store = core.dialogs.store().clone();
    let mut ticks: u64 = 0;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(POST_TICK) => {}
        }
        ticks += 1;
        if let Some(m) = core.media.get()
            && ticks % SWEEP_TICKS == 1
        {
            sweep(store.as_ref(), m).await;
        }
        let now = Utc::now();
        let claimed = match store
            .claim_posts(
                Channel::Zalo,
                now,
                chrono::Duration::seconds(POST_LEASE_SECS),
                20,
            )
            .await
        {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "cannot claim Zalo thread posts now");
                continue;
            }
        };
        if claimed.is_empty() {
            continue;
        }
        let campaigns: HashMap<i64, Campaign> = match store.campaigns().await {
            Ok(c) => c.into_iter().map(|c| (c.id, c)).collect(),
            Err(e) => {
                tracing::debug!(error = %e, "cannot read campaigns for Zalo thread posts now");
                continue;
            }
        };
        // A group whose post must wait holds its later posts too: the thread keeps its order.
        let mut held: HashMap<i64, DateTime<Utc>> = HashMap::new();
        for post in claimed {
            let outcome = match held.get(&post.group) {
                Some(when) => PostOutcome::Retry(*when, "an earlier post waits".to_owned()),
                None => send_post(&core, &post, campaigns.get(&post.campaign)).await,
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
                tracing::warn!(post = post.id, error = %e, "cannot record a Zalo thread post's result; it may be sent again");
            }
        }
    }
}

/// Removes kept files no opinion names any more (their resident erased themselves with
/// `/delete_me`, or the campaign was deleted), as the Telegram adapter does: a Zalo-only
/// deployment must not keep them either. Files younger than a few minutes are left alone.
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

/// The texts of a thread post on Zalo: plain text; the private dialog is reached by writing
/// to the bot (Zalo has no deep links with a payload), so the link line names the command.
pub(super) fn zalo_thread_texts(campaign: &Campaign, topic: Option<&str>) -> Vec<Msg> {
    thread_texts(campaign, topic, "")
        .into_iter()
        .map(|m| {
            if m.key == "gr-thread-link" {
                Msg::new("zalo-gr-thread-private").text("slug", campaign.slug.clone())
            } else {
                m
            }
        })
        .collect()
}

/// Sends one thread post (split if too long; the last part's id is the post's).
async fn send_post(core: &Core, post: &PendingPost, campaign: Option<&Campaign>) -> PostOutcome {
    let Some(campaign) = campaign else {
        return PostOutcome::Failed("the campaign is gone".to_owned());
    };
    let out: &Outbound = &core.out;
    let reply = Reply {
        locale: Locale::Vi,
        paragraphs: zalo_thread_texts(campaign, post.topic.as_deref()),
        choices: Vec::new(),
    };
    let text = out.l10n.reply(&reply, Markup::Plain, false).text;
    let mut last = None;
    for part in split_plain(&text, MAX_CHARS) {
        let at = core
            .group_limiter
            .lock()
            .await
            .reserve(group_key(&post.chat_id), tokio::time::Instant::now());
        tokio::time::sleep_until(at).await;
        match out.send_once(&post.chat_id, &part).await {
            Ok(id) => last = Some(id),
            Err(e) => {
                let description = e.to_string();
                tracing::info!(post = post.id, error = %description, "a Zalo thread post was not sent");
                let now = Utc::now();
                return match e.failure() {
                    Failure::Unauthorized => {
                        out.fatal.cancel();
                        PostOutcome::Retry(now + chrono::Duration::seconds(60), description)
                    }
                    Failure::RateLimited | Failure::Transient | Failure::Idle
                        if post.attempts + 1 < POST_MAX_ATTEMPTS =>
                    {
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
            chat_id: post.chat_id.clone(),
            message_id: id,
        },
        None => PostOutcome::Failed("nothing to send".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_opening_mention_of_the_bot_is_left_out_of_the_opinion() {
        let names = vec!["Bot Góp ý".to_owned(), "bot.GopyTest".to_owned()];
        assert_eq!(
            without_mention("@Bot Góp ý Cần thêm đèn", &names),
            "Cần thêm đèn"
        );
        assert_eq!(without_mention("@bot.gopytest: đồng ý", &names), "đồng ý");
        assert_eq!(without_mention("@Lan nói đúng", &names), "@Lan nói đúng");
        assert_eq!(without_mention("  Cần đèn ", &names), "Cần đèn");
    }

    #[test]
    fn typed_choices_are_read_with_or_without_accents() {
        assert_eq!(typed_choice("GIỮ"), Some(Choice::Keep));
        assert_eq!(typed_choice("ẩn danh"), Some(Choice::Anonymous));
        assert_eq!(typed_choice("Rut lai."), Some(Choice::Withdraw));
        assert_eq!(typed_choice("rút ngắn thủ tục"), None);
    }

    #[test]
    fn group_keys_are_negative_and_stable() {
        assert!(group_key("g1") < 0);
        assert_eq!(group_key("g1"), group_key("g1"));
    }
}
