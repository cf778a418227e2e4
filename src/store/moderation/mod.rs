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
use crate::domain::CampaignId;
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
    /// is how a decision is undone), in the moderation log and the audit log. `None` when
    /// there is no such item.
    async fn decide(&self, decision: &Decision) -> StoreResult<Option<Item>>;

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
}

/// The columns of `moderation_items` in the order [`ItemRow`] reads them.
const ITEM_COLUMNS: &str = "id, opinion_id, channel, chat_id, message_id, text, \
     author_contact_id, source, categories, score, matches, status, created_at, decided_by, \
     decided_at, reason";

/// A `moderation_items` row.
type ItemRow = (
    i64,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    Option<i64>,
    String,
    String,
    i64,
    String,
    String,
    DateTime<Utc>,
    Option<String>,
    Option<DateTime<Utc>>,
    Option<String>,
);

/// A `moderation_log` row: at, actor, action, item, detail.
type LogRow = (DateTime<Utc>, String, String, Option<i64>, String);

/// A `moderation_watch` row: term, phrase, added by, added at.
type WatchRow = (String, String, String, DateTime<Utc>);

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("moderation: {what} {value:?}"))
}

/// Builds an [`Item`] from its row.
fn item_from_row(row: ItemRow) -> StoreResult<Item> {
    let (
        id,
        opinion_id,
        channel,
        chat_id,
        message_id,
        text,
        author,
        source,
        categories,
        score,
        matches,
        status,
        created_at,
        decided_by,
        decided_at,
        reason,
    ) = row;
    let target = match (opinion_id, channel, chat_id, message_id) {
        (Some(opinion_id), _, _, _) => Target::Opinion { opinion_id },
        (None, Some(channel), Some(chat_id), Some(message_id)) => Target::GroupPost {
            channel: crate::domain::Channel::parse(&channel)
                .ok_or_else(|| corrupt("channel", &channel))?,
            chat_id,
            message_id,
        },
        _ => return Err(corrupt("item without a target", &id.to_string())),
    };
    let matches: Vec<StoredMatch> =
        serde_json::from_str(&matches).map_err(|_| corrupt("matches", &matches))?;
    Ok(Item {
        id,
        target,
        text,
        author,
        source: Source::parse(&source).ok_or_else(|| corrupt("source", &source))?,
        categories: categories
            .split(',')
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect(),
        score,
        matches,
        status: Status::parse(&status).ok_or_else(|| corrupt("status", &status))?,
        created_at,
        decision: match (decided_by, decided_at) {
            (Some(by), Some(at)) => Some((by, at, reason.unwrap_or_default())),
            _ => None,
        },
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
                use $crate::store::moderation::*;
                let binds = ItemBinds::of(item)?;
                let mut tx = self.moderation_begin().await?;
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
                    .fetch_optional(&mut *tx)
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
                sqlx::query(INSERT_LOG)
                    .bind(item.at)
                    .bind("system")
                    .bind("queued")
                    .bind(id)
                    .bind(detail.to_string())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(Some(id))
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
            ) -> $crate::store::StoreResult<Option<$crate::moderation::Item>> {
                use $crate::store::moderation::*;
                let mut tx = self.moderation_begin().await?;
                let sql = format!(
                    "UPDATE moderation_items SET status = $1, decided_by = $2, \
                     decided_at = $3, reason = $4 WHERE id = $5 RETURNING {ITEM_COLUMNS}"
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
                    return Ok(None);
                };
                let decided = item_from_row(row)?;
                let action = decided.status.as_str();
                let detail = serde_json::json!({
                    "item": d.item,
                    "target": decided.target,
                    "reason": d.reason,
                });
                sqlx::query(INSERT_LOG)
                    .bind(d.at)
                    .bind(&d.by)
                    .bind(action)
                    .bind(d.item)
                    .bind(detail.to_string())
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(sqlx::AssertSqlSafe(INSERT_AUDIT.replace("$4", $audit_detail)))
                    .bind(d.at)
                    .bind(&d.by)
                    .bind(format!("moderation.{action}"))
                    .bind(detail.to_string())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(Some(decided))
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
                    self.watch_logged(&mut tx, "watch.add", term, phrase, by, at)
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
                self.watch_logged(&mut tx, "watch.remove", term, &phrase, by, at)
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
        }

        impl $store {
            /// Appends a watch-list change to the moderation log and the audit log.
            async fn watch_logged(
                &self,
                tx: &mut sqlx::Transaction<'static, $db>,
                action: &str,
                term: &str,
                phrase: &str,
                by: &str,
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<()> {
                use $crate::store::moderation::*;
                let detail = serde_json::json!({ "term": term, "phrase": phrase }).to_string();
                sqlx::query(INSERT_LOG)
                    .bind(at)
                    .bind(by)
                    .bind(action)
                    .bind(None::<i64>)
                    .bind(&detail)
                    .execute(&mut **tx)
                    .await?;
                sqlx::query(sqlx::AssertSqlSafe(INSERT_AUDIT.replace("$4", $audit_detail)))
                    .bind(at)
                    .bind(by)
                    .bind(format!("moderation.{action}"))
                    .bind(&detail)
                    .execute(&mut **tx)
                    .await?;
                Ok(())
            }
        }
    };
}
use moderation_store_impl;
