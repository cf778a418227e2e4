//! Storage of the moderators' queue, the append-only moderation log and the watch list.
//!
//! Both backends run the same SQL (`$n` parameters work on SQLite too; JSON is kept as text),
//! so the implementation is written once, in [`moderation_store_impl!`], and instantiated in
//! `sqlite.rs` and `postgres.rs`, which only say how to read and how to start a write
//! transaction. Every write that changes the queue or the watch list appends to
//! `moderation_log` in the same transaction; a moderator's decision and watch-list edits also
//! append to `audit_log` (every official action is audited).

mod postgres;
mod sqlite;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{StoreError, StoreResult};
use crate::domain::{CampaignId, Channel, ContactId, ContactKey, Locale};
use crate::moderation::{
    Decision, Item, LogEntry, NewItem, OpinionModeration, OpinionState, OpinionToScan, Source,
    Status, StoredMatch, Target, WatchTerm,
};

/// Which items to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemFilter {
    /// Only items with this status (every status when `None`).
    pub status: Option<Status>,
    /// At most this many, oldest first.
    pub limit: i64,
}

/// What became of a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecideOutcome {
    /// Recorded; the item as it now stands.
    Decided(Box<Item>),
    /// No item has this id.
    NotFound,
    /// The item was appealed and this moderator decided it before: another must.
    SameModeratorAfterAppeal,
}

/// A resident's report of a group post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The post (a [`Target::GroupPost`]).
    pub post: Target,
    /// The post's text, kept in the item if the post is queued.
    pub text: String,
    /// The post's author, if known.
    pub author: Option<ContactId>,
    /// Who reports.
    pub reporter: ContactId,
    /// Their reason, if they gave one.
    pub reason: Option<String>,
    /// How many distinct reports queue the post.
    pub threshold: i64,
    /// When.
    pub at: DateTime<Utc>,
}

/// What a report did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportOutcome {
    /// `false` when this person had reported this post already (nothing changed).
    pub counted: bool,
    /// Distinct reports of the post so far.
    pub reports: i64,
    /// The item queued by this report (the one that reached the threshold), if any.
    pub queued: Option<i64>,
}

/// A notice owed to an author whose opinion or post was hidden.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingNotice {
    /// The notice.
    pub id: i64,
    /// The item it is about.
    pub item: i64,
    /// The author's platform id (their private chat on Telegram).
    pub external_id: String,
    /// The language they read.
    pub locale: Locale,
    /// Why it was hidden (or the decision's reason, for a restoration).
    pub reason: String,
    /// What the author is told.
    pub kind: NoticeKind,
    /// Whether the decision followed the author's appeal.
    pub appealed: bool,
    /// The opinion's reference, for an opinion.
    pub opinion_reference: Option<String>,
    /// The group's title, for a group post.
    pub group_title: Option<String>,
}

/// What a notice tells an author.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    /// Their opinion or post was hidden (after an appeal: the hide stands).
    Hidden,
    /// A hide was undone, their appeal granted, or a post hidden pending review was kept.
    Restored,
    /// Their post was hidden pending review after enough reports; a moderator decides.
    PendingReview,
}

/// The moderation part of the store. A supertrait of [`super::Store`].
#[async_trait]
pub trait ModerationStore: Send + Sync {
    /// Queues an item and logs it, unless that opinion or post has an item already (then
    /// `None`: one item per target; a later decision updates it).
    async fn queue_item(&self, item: &NewItem) -> StoreResult<Option<i64>>;

    /// One item.
    async fn moderation_item(&self, id: i64) -> StoreResult<Option<Item>>;

    /// Items, oldest first.
    async fn moderation_items(&self, filter: ItemFilter) -> StoreResult<Vec<Item>>;

    /// Records a moderator's decision on an item (a later one replaces an earlier one: that
    /// is how a decision is undone), in the moderation log and the audit log. An appealed
    /// item is refused to the moderator who decided it before the appeal.
    async fn decide(&self, decision: &Decision) -> StoreResult<DecideOutcome>;

    /// The author appeals an upheld (hidden) item: it goes back to the queue, for a moderator
    /// other than the one who decided. One appeal per item; `None` when there is no upheld,
    /// unappealed item with this id.
    async fn appeal(&self, item: i64, text: &str, at: DateTime<Utc>) -> StoreResult<Option<Item>>;

    /// A resident reports a group post (once per person per post). When the post's distinct
    /// reports reach `threshold`, it is queued (source `report`) unless it has an item already.
    async fn report(&self, report: &Report) -> StoreResult<ReportOutcome>;

    /// How many items name this author (the history a moderator sees beside a new item).
    async fn author_flags(&self, author: ContactId) -> StoreResult<i64>;

    /// The newest lines of the moderation log, newest first.
    async fn moderation_log(&self, limit: i64) -> StoreResult<Vec<LogEntry>>;

    /// Adds a term to the watch list (`term` normalised, `phrase` as typed); `false` when it
    /// is there already.
    async fn watch_add(
        &self,
        term: &str,
        phrase: &str,
        by: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// Removes a term (normalised) from the watch list; `false` when it was not there.
    async fn watch_remove(&self, term: &str, by: &str, at: DateTime<Utc>) -> StoreResult<bool>;

    /// The watch list, alphabetical.
    async fn watch_list(&self) -> StoreResult<Vec<WatchTerm>>;

    /// The campaign's opinions that are not withdrawn and were never queued, oldest first.
    async fn opinions_to_scan(&self, campaign: CampaignId) -> StoreResult<Vec<OpinionToScan>>;

    /// How moderation stands for each flagged opinion of the campaign.
    async fn opinion_moderation(&self, campaign: CampaignId)
    -> StoreResult<Vec<OpinionModeration>>;

    /// The item about this opinion or post, if it was ever queued.
    async fn item_for(&self, target: &Target) -> StoreResult<Option<Item>>;

    /// The author's newest hidden (upheld) item that was not appealed yet: what `/appeal`
    /// is about.
    async fn appealable_item(&self, author: ContactId) -> StoreResult<Option<Item>>;

    /// The channel, platform id and language of a contact (to act on a post's author and to
    /// tell them); `None` once they erased themselves.
    async fn contact_of(&self, contact: ContactId) -> StoreResult<Option<(ContactKey, Locale)>>;

    /// Appends a line to the moderation log (and, when `audited`, to the audit log) for what
    /// was done on a platform about an item: a post deleted, an author restricted or banned,
    /// a restriction lifted, or an action the platform refused. Nothing else is changed.
    async fn log_action(&self, entry: &LogEntry, audited: bool) -> StoreResult<()>;

    /// An opinion was edited: its item (if any) goes back to the queue with the new text and
    /// what matched in it, whatever was decided before (the decision was about other words).
    /// Without an item it is queued as new. Returns the item's id.
    async fn requeue(&self, item: &NewItem) -> StoreResult<i64>;

    /// An opinion's reference and unit (what a moderator's card shows, and whose moderators
    /// get it).
    async fn opinion_facts(&self, opinion: i64) -> StoreResult<Option<(String, Option<String>)>>;

    /// Queued items no card was sent for in their round (round 1 after an appeal) that were
    /// queued or appealed before `before`, oldest first.
    async fn uncarded_items(&self, before: DateTime<Utc>, limit: i64) -> StoreResult<Vec<Item>>;

    /// Claims the card of an item's round for a moderator's chat; `false` when it was sent
    /// (or is being sent) already. Written before sending: at most one card each.
    async fn claim_card(
        &self,
        item: i64,
        round: i64,
        channel: Channel,
        chat: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// Records the message id of a card that was sent.
    async fn card_sent(
        &self,
        item: i64,
        round: i64,
        channel: Channel,
        chat: &str,
        message_id: &str,
    ) -> StoreResult<()>;

    /// The cards sent for an item's round: (chat, message id), for those Telegram took.
    async fn cards_of(
        &self,
        item: i64,
        round: i64,
        channel: Channel,
    ) -> StoreResult<Vec<(String, String)>>;

    /// The reasons residents gave when they reported a post (those who gave one), oldest
    /// first.
    async fn report_reasons(&self, post: &Target) -> StoreResult<Vec<String>>;

    /// Owes the author of a post hidden pending review (enough reports) a notice of it; a
    /// later decision to keep the post owes them a "restored" one.
    async fn owe_pending_notice(&self, item: i64, at: DateTime<Utc>) -> StoreResult<()>;

    /// Notices owed to authors on this channel, oldest first.
    async fn unsent_notices(&self, channel: Channel, limit: i64)
    -> StoreResult<Vec<PendingNotice>>;

    /// Takes a notice for sending; `false` when another sender took it.
    async fn take_notice(&self, id: i64, at: DateTime<Utc>) -> StoreResult<bool>;
}

/// The columns of `moderation_items` that [`ItemRow`] reads.
const ITEM_COLUMNS: &str = "id, opinion_id, channel, chat_id, message_id, text, \
     author_contact_id, source, categories, score, matches, status, created_at, decided_by, \
     decided_at, reason, appeal_text, appealed_at, previous_moderator";

/// A `moderation_items` row, as both backends decode it.
#[derive(Debug, sqlx::FromRow)]
struct ItemRow {
    id: i64,
    opinion_id: Option<i64>,
    channel: Option<String>,
    chat_id: Option<String>,
    message_id: Option<String>,
    text: String,
    author_contact_id: Option<i64>,
    source: String,
    categories: String,
    score: i64,
    matches: String,
    status: String,
    created_at: DateTime<Utc>,
    decided_by: Option<String>,
    decided_at: Option<DateTime<Utc>>,
    reason: Option<String>,
    appeal_text: Option<String>,
    appealed_at: Option<DateTime<Utc>>,
    previous_moderator: Option<String>,
}

/// A `moderation_log` row: at, actor, action, item, detail.
type LogRow = (DateTime<Utc>, String, String, Option<i64>, String);

/// A `moderation_watch` row: term, phrase, added by, added at.
type WatchRow = (String, String, String, DateTime<Utc>);

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("moderation: {what} {value:?}"))
}

/// Builds an [`Item`] from its row.
fn item_from_row(row: ItemRow) -> StoreResult<Item> {
    let target = match (row.opinion_id, row.channel, row.chat_id, row.message_id) {
        (Some(opinion_id), _, _, _) => Target::Opinion { opinion_id },
        (None, Some(channel), Some(chat_id), Some(message_id)) => Target::GroupPost {
            channel: crate::domain::Channel::parse(&channel)
                .ok_or_else(|| corrupt("channel", &channel))?,
            chat_id,
            message_id,
        },
        _ => return Err(corrupt("item without a target", &row.id.to_string())),
    };
    let matches: Vec<StoredMatch> =
        serde_json::from_str(&row.matches).map_err(|_| corrupt("matches", &row.matches))?;
    Ok(Item {
        id: row.id,
        target,
        text: row.text,
        author: row.author_contact_id,
        source: Source::parse(&row.source).ok_or_else(|| corrupt("source", &row.source))?,
        categories: row
            .categories
            .split(',')
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect(),
        score: row.score,
        matches,
        status: Status::parse(&row.status).ok_or_else(|| corrupt("status", &row.status))?,
        created_at: row.created_at,
        decision: match (row.decided_by, row.decided_at) {
            (Some(by), Some(at)) => Some((by, at, row.reason.unwrap_or_default())),
            _ => None,
        },
        appeal: match (row.appeal_text, row.appealed_at) {
            (Some(text), Some(at)) => Some((text, at)),
            _ => None,
        },
        previous_moderator: row.previous_moderator,
    })
}

fn log_from_row((at, actor, action, item, detail): LogRow) -> StoreResult<LogEntry> {
    Ok(LogEntry {
        at,
        actor,
        action,
        item,
        detail: serde_json::from_str(&detail).map_err(|_| corrupt("log detail", &detail))?,
    })
}

fn watch_from_row((term, phrase, added_by, added_at): WatchRow) -> WatchTerm {
    WatchTerm {
        term,
        phrase,
        added_by,
        added_at,
    }
}

fn opinion_moderation_from_row(
    (opinion_id, state, reason): (i64, String, Option<String>),
) -> StoreResult<OpinionModeration> {
    Ok(OpinionModeration {
        opinion_id,
        state: OpinionState::parse(&state).ok_or_else(|| corrupt("opinion state", &state))?,
        reason,
    })
}

/// The columns a new item binds, in [`INSERT_ITEM`]'s order.
struct ItemBinds {
    opinion_id: Option<i64>,
    channel: Option<&'static str>,
    chat_id: Option<String>,
    message_id: Option<String>,
    categories: String,
    matches: String,
}

impl ItemBinds {
    fn of(item: &NewItem) -> StoreResult<Self> {
        let (opinion_id, channel, chat_id, message_id) = match &item.target {
            Target::Opinion { opinion_id } => (Some(*opinion_id), None, None, None),
            Target::GroupPost {
                channel,
                chat_id,
                message_id,
            } => (
                None,
                Some(channel.as_str()),
                Some(chat_id.clone()),
                Some(message_id.clone()),
            ),
        };
        Ok(ItemBinds {
            opinion_id,
            channel,
            chat_id,
            message_id,
            categories: item
                .categories
                .iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>()
                .join(","),
            matches: serde_json::to_string(&item.matches)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        })
    }
}

const INSERT_ITEM: &str = "INSERT INTO moderation_items (opinion_id, channel, chat_id, \
     message_id, text, author_contact_id, source, categories, score, matches, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING RETURNING id";

const INSERT_LOG: &str = "INSERT INTO moderation_log (at, actor, action, item_id, detail) \
     VALUES ($1, $2, $3, $4, $5)";

const INSERT_AUDIT: &str =
    "INSERT INTO audit_log (at, actor, action, detail) VALUES ($1, $2, $3, $4)";

/// The one implementation of [`ModerationStore`], for a store type that has
/// `moderation_reader(&self) -> &Pool<$db>` and
/// `moderation_begin(&self) -> StoreResult<Transaction<'static, $db>>`. `$audit_detail` is
/// how the backend writes a JSON text into `audit_log.detail` (text on SQLite, `jsonb` on
/// Postgres).
macro_rules! moderation_store_impl {
    ($store:ty, $db:ty, $audit_detail:literal) => {
        #[async_trait::async_trait]
        impl $crate::store::moderation::ModerationStore for $store {
            async fn queue_item(
                &self,
                item: &$crate::moderation::NewItem,
            ) -> $crate::store::StoreResult<Option<i64>> {
                let mut tx = self.moderation_begin().await?;
                let id = self.insert_item(&mut tx, item).await?;
                if id.is_some() {
                    tx.commit().await?;
                }
                Ok(id)
            }

            async fn moderation_item(
                &self,
                id: i64,
            ) -> $crate::store::StoreResult<Option<$crate::moderation::Item>> {
                use $crate::store::moderation::*;
                let sql = format!("SELECT {ITEM_COLUMNS} FROM moderation_items WHERE id = $1");
                let row: Option<ItemRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(id)
                    .fetch_optional(self.moderation_reader())
                    .await?;
                row.map(item_from_row).transpose()
            }

            async fn moderation_items(
                &self,
                filter: $crate::store::moderation::ItemFilter,
            ) -> $crate::store::StoreResult<Vec<$crate::moderation::Item>> {
                use $crate::store::moderation::*;
                let sql = format!(
                    "SELECT {ITEM_COLUMNS} FROM moderation_items \
                     WHERE ($1 IS NULL OR status = $1) ORDER BY id LIMIT $2"
                );
                let rows: Vec<ItemRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(filter.status.map(|s| s.as_str()))
                    .bind(filter.limit)
                    .fetch_all(self.moderation_reader())
                    .await?;
                rows.into_iter().map(item_from_row).collect()
            }

            async fn decide(
                &self,
                d: &$crate::moderation::Decision,
            ) -> $crate::store::StoreResult<$crate::store::moderation::DecideOutcome> {
                use $crate::store::moderation::*;
                let mut tx = self.moderation_begin().await?;
                let before: Option<(String,)> =
                    sqlx::query_as("SELECT status FROM moderation_items WHERE id = $1")
                        .bind(d.item)
                        .fetch_optional(&mut *tx)
                        .await?;
                let was_hidden = before.is_some_and(|(s,)| s == "upheld");
                let pending: Option<(i64,)> = sqlx::query_as(
                    "SELECT id FROM moderation_notices WHERE item_id = $1 AND kind = 'pending' \
                     LIMIT 1",
                )
                .bind(d.item)
                .fetch_optional(&mut *tx)
                .await?;
                let was_pending = pending.is_some();
                let sql = format!(
                    "UPDATE moderation_items SET status = $1, decided_by = $2, \
                     decided_at = $3, reason = $4 WHERE id = $5 \
                     AND (previous_moderator IS NULL OR previous_moderator <> $2) \
                     RETURNING {ITEM_COLUMNS}"
                );
                let row: Option<ItemRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(d.verdict.status().as_str())
                    .bind(&d.by)
                    .bind(d.at)
                    .bind(&d.reason)
                    .bind(d.item)
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(row) = row else {
                    let exists: Option<(i64,)> =
                        sqlx::query_as("SELECT id FROM moderation_items WHERE id = $1")
                            .bind(d.item)
                            .fetch_optional(&mut *tx)
                            .await?;
                    return Ok(match exists {
                        Some(_) => DecideOutcome::SameModeratorAfterAppeal,
                        None => DecideOutcome::NotFound,
                    });
                };
                let decided = item_from_row(row)?;
                // The author is owed a notice, written with the decision: of a hide, or of a
                // restoration (a hide undone, an appeal granted, a post hidden pending review
                // kept).
                let upheld = decided.status == $crate::moderation::Status::Upheld;
                let kind = if upheld {
                    Some("hidden")
                } else if was_hidden || was_pending || decided.appeal.is_some() {
                    Some("restored")
                } else {
                    None
                };
                if let (Some(kind), Some(author)) = (kind, decided.author) {
                    sqlx::query(
                        "INSERT INTO moderation_notices \
                         (item_id, contact_id, kind, reason, created_at) \
                         VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(d.item)
                    .bind(author)
                    .bind(kind)
                    .bind(&d.reason)
                    .bind(d.at)
                    .execute(&mut *tx)
                    .await?;
                }
                let action = decided.status.as_str();
                let detail = serde_json::json!({
                    "item": d.item,
                    "target": decided.target,
                    "reason": d.reason,
                });
                self.moderation_logged(&mut tx, d.at, &d.by, action, Some(d.item), &detail, true)
                    .await?;
                tx.commit().await?;
                Ok(DecideOutcome::Decided(Box::new(decided)))
            }

            async fn appeal(
                &self,
                id: i64,
                text: &str,
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<Option<$crate::moderation::Item>> {
                use $crate::store::moderation::*;
                let mut tx = self.moderation_begin().await?;
                let sql = format!(
                    "UPDATE moderation_items SET status = 'queued', \
                     previous_moderator = decided_by, decided_by = NULL, decided_at = NULL, \
                     reason = NULL, appeal_text = $2, appealed_at = $3 \
                     WHERE id = $1 AND status = 'upheld' AND appealed_at IS NULL \
                     RETURNING {ITEM_COLUMNS}"
                );
                let row: Option<ItemRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(id)
                    .bind(text)
                    .bind(at)
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(row) = row else {
                    return Ok(None);
                };
                let appealed = item_from_row(row)?;
                let detail = serde_json::json!({ "item": id, "appeal": text });
                self.moderation_logged(&mut tx, at, "author", "appealed", Some(id), &detail, false)
                    .await?;
                tx.commit().await?;
                Ok(Some(appealed))
            }

            async fn report(
                &self,
                r: &$crate::store::moderation::Report,
            ) -> $crate::store::StoreResult<$crate::store::moderation::ReportOutcome> {
                use $crate::store::moderation::*;
                let $crate::moderation::Target::GroupPost {
                    channel,
                    chat_id,
                    message_id,
                } = &r.post
                else {
                    return Err($crate::store::StoreError::Corrupt(
                        "only a group post can be reported".to_owned(),
                    ));
                };
                let mut tx = self.moderation_begin().await?;
                let counted = sqlx::query(
                    "INSERT INTO moderation_reports (channel, chat_id, message_id, \
                     reporter_contact_id, reason, reported_at) VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(channel.as_str())
                .bind(chat_id)
                .bind(message_id)
                .bind(r.reporter)
                .bind(&r.reason)
                .bind(r.at)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    > 0;
                let (reports,): (i64,) = sqlx::query_as(
                    "SELECT count(*) FROM moderation_reports \
                     WHERE channel = $1 AND chat_id = $2 AND message_id = $3",
                )
                .bind(channel.as_str())
                .bind(chat_id)
                .bind(message_id)
                .fetch_one(&mut *tx)
                .await?;
                let mut queued = None;
                if counted && reports >= r.threshold {
                    let item = $crate::moderation::NewItem {
                        target: r.post.clone(),
                        text: r.text.clone(),
                        author: r.author,
                        source: $crate::moderation::Source::Report,
                        categories: Vec::new(),
                        score: 0,
                        matches: Vec::new(),
                        at: r.at,
                    };
                    queued = self.insert_item(&mut tx, &item).await?;
                }
                tx.commit().await?;
                Ok(ReportOutcome {
                    counted,
                    reports,
                    queued,
                })
            }

            async fn author_flags(
                &self,
                author: $crate::domain::ContactId,
            ) -> $crate::store::StoreResult<i64> {
                let (n,): (i64,) = sqlx::query_as(
                    "SELECT count(*) FROM moderation_items WHERE author_contact_id = $1",
                )
                .bind(author)
                .fetch_one(self.moderation_reader())
                .await?;
                Ok(n)
            }

            async fn moderation_log(
                &self,
                limit: i64,
            ) -> $crate::store::StoreResult<Vec<$crate::moderation::LogEntry>> {
                use $crate::store::moderation::*;
                let rows: Vec<LogRow> = sqlx::query_as(
                    "SELECT at, actor, action, item_id, detail FROM moderation_log \
                     ORDER BY id DESC LIMIT $1",
                )
                .bind(limit)
                .fetch_all(self.moderation_reader())
                .await?;
                rows.into_iter().map(log_from_row).collect()
            }

            async fn watch_add(
                &self,
                term: &str,
                phrase: &str,
                by: &str,
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.moderation_begin().await?;
                let added = sqlx::query(
                    "INSERT INTO moderation_watch (term, phrase, added_by, added_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                )
                .bind(term)
                .bind(phrase)
                .bind(by)
                .bind(at)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    > 0;
                if added {
                    let detail = serde_json::json!({ "term": term, "phrase": phrase });
                    self.moderation_logged(&mut tx, at, by, "watch.add", None, &detail, true)
                        .await?;
                }
                tx.commit().await?;
                Ok(added)
            }

            async fn watch_remove(
                &self,
                term: &str,
                by: &str,
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.moderation_begin().await?;
                let removed: Option<(String,)> = sqlx::query_as(
                    "DELETE FROM moderation_watch WHERE term = $1 RETURNING phrase",
                )
                .bind(term)
                .fetch_optional(&mut *tx)
                .await?;
                let Some((phrase,)) = removed else {
                    return Ok(false);
                };
                let detail = serde_json::json!({ "term": term, "phrase": phrase });
                self.moderation_logged(&mut tx, at, by, "watch.remove", None, &detail, true)
                    .await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn watch_list(
                &self,
            ) -> $crate::store::StoreResult<Vec<$crate::moderation::WatchTerm>> {
                use $crate::store::moderation::*;
                let rows: Vec<WatchRow> = sqlx::query_as(
                    "SELECT term, phrase, added_by, added_at FROM moderation_watch \
                     ORDER BY term",
                )
                .fetch_all(self.moderation_reader())
                .await?;
                Ok(rows.into_iter().map(watch_from_row).collect())
            }

            async fn opinions_to_scan(
                &self,
                campaign: $crate::domain::CampaignId,
            ) -> $crate::store::StoreResult<Vec<$crate::moderation::OpinionToScan>> {
                let rows: Vec<(i64, Option<i64>, String)> = sqlx::query_as(
                    "SELECT o.id, o.contact_id, o.text FROM opinions o \
                     WHERE o.campaign_id = $1 AND o.status <> 'withdrawn' \
                     AND NOT EXISTS (SELECT 1 FROM moderation_items m \
                                     WHERE m.opinion_id = o.id) \
                     ORDER BY o.id",
                )
                .bind(campaign)
                .fetch_all(self.moderation_reader())
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(opinion_id, author, text)| $crate::moderation::OpinionToScan {
                        opinion_id,
                        author,
                        text,
                    })
                    .collect())
            }

            async fn opinion_moderation(
                &self,
                campaign: $crate::domain::CampaignId,
            ) -> $crate::store::StoreResult<Vec<$crate::moderation::OpinionModeration>> {
                use $crate::store::moderation::*;
                let rows: Vec<(i64, String, Option<String>)> = sqlx::query_as(
                    "SELECT m.opinion_id, m.state, m.reason FROM opinion_moderation m \
                     JOIN opinions o ON o.id = m.opinion_id \
                     WHERE o.campaign_id = $1 ORDER BY m.opinion_id",
                )
                .bind(campaign)
                .fetch_all(self.moderation_reader())
                .await?;
                rows.into_iter().map(opinion_moderation_from_row).collect()
            }

            async fn item_for(
                &self,
                target: &$crate::moderation::Target,
            ) -> $crate::store::StoreResult<Option<$crate::moderation::Item>> {
                use $crate::store::moderation::*;
                let row: Option<ItemRow> = match target {
                    $crate::moderation::Target::Opinion { opinion_id } => {
                        let sql = format!(
                            "SELECT {ITEM_COLUMNS} FROM moderation_items WHERE opinion_id = $1"
                        );
                        sqlx::query_as(sqlx::AssertSqlSafe(sql))
                            .bind(opinion_id)
                            .fetch_optional(self.moderation_reader())
                            .await?
                    }
                    $crate::moderation::Target::GroupPost {
                        channel,
                        chat_id,
                        message_id,
                    } => {
                        let sql = format!(
                            "SELECT {ITEM_COLUMNS} FROM moderation_items \
                             WHERE channel = $1 AND chat_id = $2 AND message_id = $3"
                        );
                        sqlx::query_as(sqlx::AssertSqlSafe(sql))
                            .bind(channel.as_str())
                            .bind(chat_id)
                            .bind(message_id)
                            .fetch_optional(self.moderation_reader())
                            .await?
                    }
                };
                row.map(item_from_row).transpose()
            }

            async fn appealable_item(
                &self,
                author: $crate::domain::ContactId,
            ) -> $crate::store::StoreResult<Option<$crate::moderation::Item>> {
                use $crate::store::moderation::*;
                let sql = format!(
                    "SELECT {ITEM_COLUMNS} FROM moderation_items WHERE author_contact_id = $1 \
                     AND status = 'upheld' AND appealed_at IS NULL ORDER BY id DESC LIMIT 1"
                );
                let row: Option<ItemRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(author)
                    .fetch_optional(self.moderation_reader())
                    .await?;
                row.map(item_from_row).transpose()
            }

            async fn contact_of(
                &self,
                contact: $crate::domain::ContactId,
            ) -> $crate::store::StoreResult<
                Option<($crate::domain::ContactKey, $crate::domain::Locale)>,
            > {
                let row: Option<(String, String, String)> = sqlx::query_as(
                    "SELECT channel, external_id, locale FROM contacts WHERE id = $1",
                )
                .bind(contact)
                .fetch_optional(self.moderation_reader())
                .await?;
                let Some((channel, external_id, locale)) = row else {
                    return Ok(None);
                };
                let channel = $crate::domain::Channel::parse(&channel).ok_or_else(|| {
                    $crate::store::StoreError::Corrupt(format!("contact channel {channel:?}"))
                })?;
                let locale = $crate::domain::Locale::parse(&locale).unwrap_or_default();
                Ok(Some((
                    $crate::domain::ContactKey {
                        channel,
                        external_id,
                    },
                    locale,
                )))
            }

            async fn log_action(
                &self,
                entry: &$crate::moderation::LogEntry,
                audited: bool,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.moderation_begin().await?;
                self.moderation_logged(
                    &mut tx,
                    entry.at,
                    &entry.actor,
                    &entry.action,
                    entry.item,
                    &entry.detail,
                    audited,
                )
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn requeue(
                &self,
                item: &$crate::moderation::NewItem,
            ) -> $crate::store::StoreResult<i64> {
                use $crate::store::moderation::*;
                let mut tx = self.moderation_begin().await?;
                if let Some(id) = self.insert_item(&mut tx, item).await? {
                    tx.commit().await?;
                    return Ok(id);
                }
                let binds = ItemBinds::of(item)?;
                let $crate::moderation::Target::Opinion { opinion_id } = &item.target else {
                    return Err($crate::store::StoreError::Corrupt(
                        "only an opinion is queued again when edited".to_owned(),
                    ));
                };
                let (id,): (i64,) = sqlx::query_as(
                    "UPDATE moderation_items SET text = $2, categories = $3, score = $4, \
                     matches = $5, source = $6, status = 'queued', decided_by = NULL, \
                     decided_at = NULL, reason = NULL, previous_moderator = NULL, \
                     appeal_text = NULL, appealed_at = NULL \
                     WHERE opinion_id = $1 RETURNING id",
                )
                .bind(opinion_id)
                .bind(&item.text)
                .bind(&binds.categories)
                .bind(i64::from(item.score))
                .bind(&binds.matches)
                .bind(item.source.as_str())
                .fetch_one(&mut *tx)
                .await?;
                let detail = serde_json::json!({
                    "target": item.target,
                    "categories": binds.categories,
                    "score": item.score,
                    "edited": true,
                });
                self.moderation_logged(&mut tx, item.at, "system", "requeued", Some(id), &detail, false)
                    .await?;
                tx.commit().await?;
                Ok(id)
            }

            async fn opinion_facts(
                &self,
                opinion: i64,
            ) -> $crate::store::StoreResult<Option<(String, Option<String>)>> {
                Ok(sqlx::query_as(
                    "SELECT reference, unit_code FROM opinions WHERE id = $1",
                )
                .bind(opinion)
                .fetch_optional(self.moderation_reader())
                .await?)
            }

            async fn uncarded_items(
                &self,
                before: chrono::DateTime<chrono::Utc>,
                limit: i64,
            ) -> $crate::store::StoreResult<Vec<$crate::moderation::Item>> {
                use $crate::store::moderation::*;
                let sql = format!(
                    "SELECT {ITEM_COLUMNS} FROM moderation_items m WHERE status = 'queued' \
                     AND COALESCE(appealed_at, created_at) < $1 \
                     AND NOT EXISTS (SELECT 1 FROM moderation_cards c WHERE c.item_id = m.id \
                       AND c.round = CASE WHEN m.appealed_at IS NULL THEN 0 ELSE 1 END) \
                     ORDER BY id LIMIT $2"
                );
                let rows: Vec<ItemRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(before)
                    .bind(limit)
                    .fetch_all(self.moderation_reader())
                    .await?;
                rows.into_iter().map(item_from_row).collect()
            }

            async fn claim_card(
                &self,
                item: i64,
                round: i64,
                channel: $crate::domain::Channel,
                chat: &str,
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.moderation_begin().await?;
                let claimed = sqlx::query(
                    "INSERT INTO moderation_cards (item_id, round, channel, chat_id, sent_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                )
                .bind(item)
                .bind(round)
                .bind(channel.as_str())
                .bind(chat)
                .bind(at)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    > 0;
                tx.commit().await?;
                Ok(claimed)
            }

            async fn card_sent(
                &self,
                item: i64,
                round: i64,
                channel: $crate::domain::Channel,
                chat: &str,
                message_id: &str,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.moderation_begin().await?;
                sqlx::query(
                    "UPDATE moderation_cards SET message_id = $5 \
                     WHERE item_id = $1 AND round = $2 AND channel = $3 AND chat_id = $4",
                )
                .bind(item)
                .bind(round)
                .bind(channel.as_str())
                .bind(chat)
                .bind(message_id)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn cards_of(
                &self,
                item: i64,
                round: i64,
                channel: $crate::domain::Channel,
            ) -> $crate::store::StoreResult<Vec<(String, String)>> {
                Ok(sqlx::query_as(
                    "SELECT chat_id, message_id FROM moderation_cards \
                     WHERE item_id = $1 AND round = $2 AND channel = $3 \
                     AND message_id IS NOT NULL ORDER BY id",
                )
                .bind(item)
                .bind(round)
                .bind(channel.as_str())
                .fetch_all(self.moderation_reader())
                .await?)
            }

            async fn report_reasons(
                &self,
                post: &$crate::moderation::Target,
            ) -> $crate::store::StoreResult<Vec<String>> {
                let $crate::moderation::Target::GroupPost {
                    channel,
                    chat_id,
                    message_id,
                } = post
                else {
                    return Ok(Vec::new());
                };
                let rows: Vec<(String,)> = sqlx::query_as(
                    "SELECT reason FROM moderation_reports WHERE channel = $1 AND chat_id = $2 \
                     AND message_id = $3 AND reason IS NOT NULL AND reason <> '' ORDER BY id",
                )
                .bind(channel.as_str())
                .bind(chat_id)
                .bind(message_id)
                .fetch_all(self.moderation_reader())
                .await?;
                Ok(rows.into_iter().map(|(r,)| r).collect())
            }

            async fn owe_pending_notice(
                &self,
                item: i64,
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.moderation_begin().await?;
                sqlx::query(
                    "INSERT INTO moderation_notices (item_id, contact_id, kind, reason, created_at) \
                     SELECT id, author_contact_id, 'pending', '', $2 FROM moderation_items \
                     WHERE id = $1 AND author_contact_id IS NOT NULL",
                )
                .bind(item)
                .bind(at)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn unsent_notices(
                &self,
                channel: $crate::domain::Channel,
                limit: i64,
            ) -> $crate::store::StoreResult<Vec<$crate::store::moderation::PendingNotice>> {
                type NoticeRow = (
                    i64,
                    i64,
                    String,
                    String,
                    String,
                    String,
                    bool,
                    Option<String>,
                    Option<String>,
                );
                let rows: Vec<NoticeRow> =
                    sqlx::query_as(
                        "SELECT n.id, n.item_id, c.external_id, c.locale, n.reason, n.kind, \
                         m.appealed_at IS NOT NULL, o.reference, g.title \
                         FROM moderation_notices n \
                         JOIN contacts c ON c.id = n.contact_id \
                         JOIN moderation_items m ON m.id = n.item_id \
                         LEFT JOIN opinions o ON o.id = m.opinion_id \
                         LEFT JOIN chat_groups g ON g.channel = m.channel \
                           AND g.external_id = m.chat_id \
                         WHERE n.sent_at IS NULL AND c.channel = $1 \
                         ORDER BY n.id LIMIT $2",
                    )
                    .bind(channel.as_str())
                    .bind(limit)
                    .fetch_all(self.moderation_reader())
                    .await?;
                Ok(rows
                    .into_iter()
                    .map(
                        |(
                            id,
                            item,
                            external_id,
                            locale,
                            reason,
                            kind,
                            appealed,
                            opinion_reference,
                            group_title,
                        )| {
                            $crate::store::moderation::PendingNotice {
                                id,
                                item,
                                external_id,
                                locale: $crate::domain::Locale::parse(&locale)
                                    .unwrap_or_default(),
                                reason,
                                kind: match kind.as_str() {
                                    "restored" => $crate::store::moderation::NoticeKind::Restored,
                                    "pending" => {
                                        $crate::store::moderation::NoticeKind::PendingReview
                                    }
                                    _ => $crate::store::moderation::NoticeKind::Hidden,
                                },
                                appealed,
                                opinion_reference,
                                group_title,
                            }
                        },
                    )
                    .collect())
            }

            async fn take_notice(
                &self,
                id: i64,
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.moderation_begin().await?;
                let taken = sqlx::query(
                    "UPDATE moderation_notices SET sent_at = $2 \
                     WHERE id = $1 AND sent_at IS NULL",
                )
                .bind(id)
                .bind(at)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    > 0;
                tx.commit().await?;
                Ok(taken)
            }
        }

        impl $store {
            /// Inserts an item and its `queued` log line; `None` (nothing written) when the
            /// target has an item already.
            async fn insert_item(
                &self,
                tx: &mut sqlx::Transaction<'static, $db>,
                item: &$crate::moderation::NewItem,
            ) -> $crate::store::StoreResult<Option<i64>> {
                use $crate::store::moderation::*;
                let binds = ItemBinds::of(item)?;
                let id: Option<(i64,)> = sqlx::query_as(INSERT_ITEM)
                    .bind(binds.opinion_id)
                    .bind(binds.channel)
                    .bind(&binds.chat_id)
                    .bind(&binds.message_id)
                    .bind(&item.text)
                    .bind(item.author)
                    .bind(item.source.as_str())
                    .bind(&binds.categories)
                    .bind(i64::from(item.score))
                    .bind(&binds.matches)
                    .bind(item.at)
                    .fetch_optional(&mut **tx)
                    .await?;
                let Some((id,)) = id else {
                    return Ok(None);
                };
                let detail = serde_json::json!({
                    "target": item.target,
                    "source": item.source,
                    "categories": binds.categories,
                    "score": item.score,
                });
                self.moderation_logged(tx, item.at, "system", "queued", Some(id), &detail, false)
                    .await?;
                Ok(Some(id))
            }

            /// Appends a line to the moderation log and, for an official's action, to the
            /// audit log (as `moderation.<action>`).
            #[allow(clippy::too_many_arguments)]
            async fn moderation_logged(
                &self,
                tx: &mut sqlx::Transaction<'static, $db>,
                at: chrono::DateTime<chrono::Utc>,
                actor: &str,
                action: &str,
                item: Option<i64>,
                detail: &serde_json::Value,
                audited: bool,
            ) -> $crate::store::StoreResult<()> {
                use $crate::store::moderation::*;
                let detail = detail.to_string();
                sqlx::query(INSERT_LOG)
                    .bind(at)
                    .bind(actor)
                    .bind(action)
                    .bind(item)
                    .bind(&detail)
                    .execute(&mut **tx)
                    .await?;
                if audited {
                    sqlx::query(sqlx::AssertSqlSafe(INSERT_AUDIT.replace("$4", $audit_detail)))
                        .bind(at)
                        .bind(actor)
                        .bind(format!("moderation.{action}"))
                        .bind(&detail)
                        .execute(&mut **tx)
                        .await?;
                }
                Ok(())
            }
        }
    };
}
use moderation_store_impl;
