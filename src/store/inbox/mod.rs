//! Storage for the shared webhook inbox (`webhook_inbox`, migrations `0017_webhook_inbox.sql`
//! and `0019_one_inbox.sql`): deliveries committed before the platform gets its 200 — many
//! at once by the group-commit writer ([`writer`]) — claimed by one replica at a time, one
//! resident's rows in order, and marked done (a whole batch in one statement). Telegram,
//! the Zalo Bot and the Zalo OA all keep their webhook deliveries here, each under its own
//! `source`; there is one claim/lease implementation for all of them.
//!
//! Both backends run the same SQL, written once in `inbox_store_impl!` and expanded in
//! `sqlite.rs` and `postgres.rs`, which say how to read, how to start a write transaction and
//! how claims are serialised (Postgres: a transaction-scoped advisory lock per source;
//! SQLite: its single writer already does it).

pub mod hand;
mod postgres;
mod sqlite;
pub mod writer;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreResult;
pub use hand::{Hand, Lease};
pub use writer::{InboxWriter, Kept, WriterSettings};

/// What committing a delivery did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// Its key was there already (a redelivery).
    Duplicate,
    /// Kept, pending, for any replica's claim.
    Kept(i64),
    /// Kept and leased as asked (see [`InboxStore::inbox_keep`]).
    Leased(i64),
}

/// How processing a delivery ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboxOutcome {
    /// Processed: the body is dropped.
    Done,
    /// Given up for good (logged with this reason); the body is dropped.
    Failed(String),
    /// Try again at this time (the database or the platform was down).
    Retry(DateTime<Utc>, String),
}

impl InboxOutcome {
    /// A delivery handed back to the table unprocessed, due at `now`.
    pub fn released(now: DateTime<Utc>) -> Self {
        Self::Retry(now, "handed back to the inbox".to_owned())
    }
}

/// Whose next deliveries [`InboxStore::inbox_finish_following`] leases, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Follow {
    /// The inbox source.
    pub source: String,
    /// The processor taking them.
    pub holder: String,
    /// The chats whose delivery just ended (done or given up, not to be retried).
    pub chats: Vec<String>,
    /// The end of the lease.
    pub until: DateTime<Utc>,
}

/// A delivery to keep until it is processed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    /// The receiver: `telegram:<bot id>`, `zalo:<bot id>`, `zalo_oa`.
    pub source: String,
    /// The platform's id of the delivery (Telegram's `update_id`, Zalo's `message_id` or
    /// `msg_id`): the de-duplication key.
    pub event_key: String,
    /// The resident or chat it belongs to: rows of one key are processed in `seq` order,
    /// one at a time.
    pub chat_key: String,
    /// Its order within the chat key (Telegram's `update_id`, the time Zalo gives the
    /// event in milliseconds).
    pub seq: i64,
    /// What kind of event it is (Zalo's `event_name`; empty when the source has no such
    /// name), for tests and status.
    pub kind: String,
    /// The raw body, as JSON text.
    pub body: String,
    /// When gopy received it.
    pub received_at: DateTime<Utc>,
}

/// A claimed delivery.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Delivery {
    /// Row id.
    pub id: i64,
    /// The de-duplication key.
    pub event_key: String,
    /// The resident or chat it belongs to.
    pub chat_key: String,
    /// Its order within the chat key.
    pub seq: i64,
    /// What kind of event it is.
    pub kind: String,
    /// The raw body (`None` only for a processed row, which is never claimed).
    pub body: Option<String>,
    /// Tries so far, this one included.
    pub attempts: i64,
    /// When gopy received it.
    pub received_at: DateTime<Utc>,
}

/// The inbox part of the store. A supertrait of [`super::Store`].
#[async_trait]
pub trait InboxStore: Send + Sync {
    /// Commits a delivery; `false` when its key is there already (a redelivery).
    async fn inbox_insert(&self, delivery: &NewDelivery) -> StoreResult<bool> {
        let kept = self
            .inbox_insert_many(std::slice::from_ref(delivery))
            .await?;
        Ok(kept.first().copied().unwrap_or(false))
    }

    /// Commits deliveries in ONE transaction (one multi-row statement per few hundred), and
    /// says for each whether it is new: `false` when its key was there already, or came
    /// earlier in the same call (a redelivery).
    async fn inbox_insert_many(&self, deliveries: &[NewDelivery]) -> StoreResult<Vec<bool>> {
        let stored = self.inbox_keep(deliveries, &[]).await?;
        Ok(stored.into_iter().map(|s| s != Stored::Duplicate).collect())
    }

    /// Commits deliveries in ONE transaction, as [`InboxStore::inbox_insert_many`] does, and
    /// leases each delivery `i` with `leases[i]` (missing or `None`: no lease) when no other
    /// pending delivery of its source and chat key is held by another holder, left
    /// unleased, or to be retried — that is, when the holder may process it now, after the
    /// ones it already holds. A delivery of a chat key after one of the same call that is
    /// not leased is not leased either. Writers of the same chat key are serialised (a
    /// transaction-scoped lock per chat key on Postgres), so that the answer holds across
    /// replicas; a claim cannot take a row this would be waiting behind, since such a row
    /// blocks the lease.
    async fn inbox_keep(
        &self,
        deliveries: &[NewDelivery],
        leases: &[Option<Lease>],
    ) -> StoreResult<Vec<Stored>>;

    /// Leases, until `until`, up to `limit` deliveries of `source` due at `now`: for each
    /// chat key only its oldest pending row (by `seq`), and only when no row of that key
    /// holds a live lease. So the rows returned belong to different chat keys and may be
    /// processed side by side.
    async fn inbox_claim(
        &self,
        source: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<Delivery>>;

    /// Moves the leases `holder` has on the pending deliveries `ids` of `source` to `until`
    /// (a replica still holding them says so); returns how many.
    async fn inbox_extend(
        &self,
        source: &str,
        holder: &str,
        ids: &[i64],
        until: DateTime<Utc>,
    ) -> StoreResult<u64>;

    /// Records how processing a delivery ended.
    async fn inbox_finish(
        &self,
        id: i64,
        outcome: &InboxOutcome,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.inbox_finish_many(&[(id, outcome.clone())], now).await
    }

    /// Records how processing several deliveries ended, in one transaction: all those done
    /// in one statement (the usual case), each failed or retried one in its own.
    async fn inbox_finish_many(
        &self,
        outcomes: &[(i64, InboxOutcome)],
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.inbox_finish_following(outcomes, now, None)
            .await
            .map(|_| ())
    }

    /// Records outcomes as [`InboxStore::inbox_finish_many`] does and, in the same
    /// transaction, when `follow` is given, leases to its holder the next pending delivery
    /// of each of its chats — when due and when none of the chat's pending deliveries holds
    /// a live lease — and returns those. A resident's next delivery, kept by another
    /// replica while this one processed the one before (a round-robin balancer sends each
    /// webhook call elsewhere), goes on here at once instead of waiting for a claim. The
    /// chats are locked first, as writers lock them, so a delivery committed meanwhile is
    /// either followed here or leased by its own writer.
    async fn inbox_finish_following(
        &self,
        outcomes: &[(i64, InboxOutcome)],
        now: DateTime<Utc>,
        follow: Option<&Follow>,
    ) -> StoreResult<Vec<Delivery>>;

    /// Hands deliveries back to the table: their leases released, due at `now` (a hand that
    /// stopped, or a chat waiting behind a retry).
    async fn inbox_release(&self, ids: Vec<i64>, now: DateTime<Utc>) -> StoreResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let outcomes: Vec<(i64, InboxOutcome)> = ids
            .into_iter()
            .map(|id| (id, InboxOutcome::released(now)))
            .collect();
        self.inbox_finish_many(&outcomes, now).await
    }

    /// Deletes processed deliveries older than `before`; returns how many.
    async fn inbox_forget(&self, before: DateTime<Utc>) -> StoreResult<u64>;

    /// Deliveries of `source` still pending (tests and status).
    async fn inbox_pending(&self, source: &str) -> StoreResult<i64>;
}

/// The columns of [`Delivery`].
const DELIVERY_COLUMNS: &str = "id, event_key, chat_key, seq, kind, body, attempts, received_at";

/// Rows in one multi-row `INSERT` (8 parameters each, well under both backends' limits).
const INSERT_CHUNK: usize = 500;

/// The one implementation of [`InboxStore`], for a store type (on database `$db`) that has
/// `inbox_reader(&self) -> &Pool<$db>`,
/// `inbox_begin(&self) -> StoreResult<Transaction<'static, $db>>` and
/// `inbox_serialise(&self, tx, source) -> StoreResult<()>`,
/// `inbox_serialise_chats(&self, tx, source, chats) -> StoreResult<()>` and
/// `INBOX_SKIP_LOCKED` (how a subquery skips rows another transaction locked).
macro_rules! inbox_store_impl {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::inbox::InboxStore for $store {
            async fn inbox_keep(
                &self,
                deliveries: &[$crate::store::inbox::NewDelivery],
                leases: &[Option<$crate::store::inbox::Lease>],
            ) -> $crate::store::StoreResult<Vec<$crate::store::inbox::Stored>> {
                use std::collections::{HashMap, HashSet};
                use $crate::store::inbox::Stored;
                if deliveries.is_empty() {
                    return Ok(Vec::new());
                }
                let lease_of = |i: usize| leases.get(i).and_then(Option::as_ref);
                let mut tx = self.inbox_begin().await?;
                // Every chat written to is locked first (sources and chats in one order), so
                // that two writers never both decide that a resident's delivery may go now
                // — a writer that asks no lease too: its row, committed unseen by another
                // writer's check, could be claimed while that writer's leased row runs.
                // Writers of different residents do not wait for each other, nor for claims.
                let mut sources: Vec<&str> = deliveries.iter().map(|d| d.source.as_str()).collect();
                sources.sort_unstable();
                sources.dedup();
                for source in &sources {
                    let chats: Vec<String> = deliveries
                        .iter()
                        .filter(|d| d.source == *source)
                        .map(|d| d.chat_key.clone())
                        .collect();
                    Self::inbox_serialise_chats(&mut tx, source, chats).await?;
                }
                // The chats for which a lease is asked but another delivery stands before:
                // pending and not held by the asker (another replica's, unleased, to be
                // retried).
                let mut blocked: HashSet<(String, String)> = HashSet::new();
                let mut asked: Vec<(&str, &$crate::store::inbox::Lease)> = deliveries
                    .iter()
                    .enumerate()
                    .filter_map(|(i, d)| lease_of(i).map(|l| (d.source.as_str(), l)))
                    .collect();
                asked.sort_by(|a, b| a.0.cmp(b.0));
                asked.dedup_by(|a, b| a.0 == b.0);
                for (source, lease) in asked {
                    let mut chats: Vec<&str> = deliveries
                        .iter()
                        .enumerate()
                        .filter(|(i, d)| d.source == source && lease_of(*i).is_some())
                        .map(|(_, d)| d.chat_key.as_str())
                        .collect();
                    chats.sort_unstable();
                    chats.dedup();
                    for chunk in chats.chunks($crate::store::inbox::INSERT_CHUNK) {
                        let mut query: sqlx::QueryBuilder<$db> = sqlx::QueryBuilder::new(
                            "SELECT DISTINCT chat_key FROM webhook_inbox WHERE source = ",
                        );
                        query
                            .push_bind(source)
                            .push(" AND state = 'pending' AND (leased_by IS NULL OR leased_by <> ")
                            .push_bind(lease.holder.clone())
                            .push(" OR lease_until < ")
                            .push_bind(lease.now)
                            .push(") AND chat_key IN (");
                        let mut keys = query.separated(", ");
                        for chat in chunk {
                            keys.push_bind(chat.to_string());
                        }
                        query.push(")");
                        let rows: Vec<(String,)> =
                            query.build_query_as().fetch_all(&mut *tx).await?;
                        blocked.extend(rows.into_iter().map(|(c,)| (source.to_owned(), c)));
                    }
                }
                // Which to lease: in order, and never one after an unleased one of its chat.
                let leased: Vec<bool> = deliveries
                    .iter()
                    .enumerate()
                    .map(|(i, d)| {
                        let key = (d.source.clone(), d.chat_key.clone());
                        if lease_of(i).is_some() && !blocked.contains(&key) {
                            true
                        } else {
                            blocked.insert(key);
                            false
                        }
                    })
                    .collect();
                // The keys each statement took, with their ids: a key not returned was there
                // already.
                let mut taken: HashMap<(String, String), i64> = HashMap::new();
                let rows: Vec<(usize, &$crate::store::inbox::NewDelivery)> =
                    deliveries.iter().enumerate().collect();
                for chunk in rows.chunks($crate::store::inbox::INSERT_CHUNK) {
                    let mut insert: sqlx::QueryBuilder<$db> = sqlx::QueryBuilder::new(
                        "INSERT INTO webhook_inbox (source, event_key, chat_key, seq, kind, \
                         body, state, not_before, received_at, lease_until, leased_by, \
                         attempts) ",
                    );
                    insert.push_values(chunk, |mut row, (i, d)| {
                        let lease = lease_of(*i).filter(|_| leased[*i]);
                        row.push_bind(d.source.clone())
                            .push_bind(d.event_key.clone())
                            .push_bind(d.chat_key.clone())
                            .push_bind(d.seq)
                            .push_bind(d.kind.clone())
                            .push_bind(d.body.clone())
                            .push("'pending'")
                            .push_bind(d.received_at)
                            .push_bind(d.received_at)
                            .push_bind(lease.map(|l| l.until))
                            .push_bind(lease.map(|l| l.holder.clone()))
                            .push_bind(i64::from(lease.is_some()));
                    });
                    insert.push(
                        " ON CONFLICT (source, event_key) DO NOTHING \
                         RETURNING source, event_key, id",
                    );
                    let rows: Vec<(String, String, i64)> =
                        insert.build_query_as().fetch_all(&mut *tx).await?;
                    taken.extend(rows.into_iter().map(|(s, k, id)| ((s, k), id)));
                }
                tx.commit().await?;
                // The first of a key in the call is the new one; a later one is a redelivery.
                Ok(deliveries
                    .iter()
                    .enumerate()
                    .map(|(i, d)| {
                        match taken.remove(&(d.source.clone(), d.event_key.clone())) {
                            Some(id) if leased[i] => Stored::Leased(id),
                            Some(id) => Stored::Kept(id),
                            None => Stored::Duplicate,
                        }
                    })
                    .collect())
            }

            async fn inbox_claim(
                &self,
                source: &str,
                holder: &str,
                now: chrono::DateTime<chrono::Utc>,
                until: chrono::DateTime<chrono::Utc>,
                limit: i64,
            ) -> $crate::store::StoreResult<Vec<$crate::store::inbox::Delivery>> {
                use $crate::store::inbox::*;
                // The head of a chat key: no pending row of the key comes before it. It is
                // taken only when due and when no pending row of the key is leased (an
                // earlier-delivered head may be in flight while a late one arrives). One pass
                // over the source's pending rows in key order (window functions), so the cost
                // grows with the backlog, not with its square, whatever the planner knows
                // about a table that filled a moment ago. The outer conditions are checked
                // again on a row another transaction changed meanwhile (a processor that
                // leased it while finishing the delivery before it), so it is not taken twice.
                let sql = format!(
                    "UPDATE webhook_inbox SET lease_until = $1, leased_by = $2, \
                     attempts = attempts + 1 WHERE state = 'pending' AND (lease_until IS NULL \
                     OR lease_until < $4) AND id IN (SELECT h.id FROM (SELECT id, \
                     not_before, row_number() OVER (PARTITION BY chat_key ORDER BY seq, id) AS rn, \
                     max(CASE WHEN lease_until IS NOT NULL AND lease_until >= $4 THEN 1 ELSE 0 END) \
                     OVER (PARTITION BY chat_key) AS busy \
                     FROM webhook_inbox WHERE source = $3 AND state = 'pending') h \
                     WHERE h.rn = 1 AND h.busy = 0 AND h.not_before <= $4 \
                     ORDER BY h.id LIMIT $5) RETURNING {DELIVERY_COLUMNS}"
                );
                let mut tx = self.inbox_begin().await?;
                Self::inbox_serialise(&mut tx, source).await?;
                let mut rows: Vec<Delivery> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(until)
                    .bind(holder)
                    .bind(source)
                    .bind(now)
                    .bind(limit)
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                rows.sort_by_key(|r| r.id);
                Ok(rows)
            }

            async fn inbox_extend(
                &self,
                source: &str,
                holder: &str,
                ids: &[i64],
                until: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<u64> {
                if ids.is_empty() {
                    return Ok(0);
                }
                let mut tx = self.inbox_begin().await?;
                let mut n = 0;
                for chunk in ids.chunks($crate::store::inbox::INSERT_CHUNK) {
                    // Rows another transaction has locked (a loop recording their outcomes)
                    // are skipped, not waited for: the two would lock the same rows in
                    // different orders and deadlock (seen in the replicas bench); a skipped
                    // row is either finished or moved on at the next tick.
                    let mut update: sqlx::QueryBuilder<$db> =
                        sqlx::QueryBuilder::new("UPDATE webhook_inbox SET lease_until = ");
                    update
                        .push_bind(until)
                        .push(" WHERE id IN (SELECT id FROM webhook_inbox WHERE source = ")
                        .push_bind(source.to_owned())
                        .push(" AND leased_by = ")
                        .push_bind(holder.to_owned())
                        .push(" AND state = 'pending' AND id IN (");
                    let mut list = update.separated(", ");
                    for id in chunk {
                        list.push_bind(*id);
                    }
                    update.push(") ").push(Self::INBOX_SKIP_LOCKED).push(")");
                    n += update.build().execute(&mut *tx).await?.rows_affected();
                }
                tx.commit().await?;
                Ok(n)
            }

            async fn inbox_finish_following(
                &self,
                outcomes: &[(i64, $crate::store::inbox::InboxOutcome)],
                now: chrono::DateTime<chrono::Utc>,
                follow: Option<&$crate::store::inbox::Follow>,
            ) -> $crate::store::StoreResult<Vec<$crate::store::inbox::Delivery>> {
                use $crate::store::inbox::{Delivery, DELIVERY_COLUMNS, InboxOutcome};
                let follow = follow.filter(|f| !f.chats.is_empty());
                if outcomes.is_empty() && follow.is_none() {
                    return Ok(Vec::new());
                }
                let mut tx = self.inbox_begin().await?;
                if let Some(f) = follow {
                    // The writers' locks, in their order: a writer of these chats has
                    // committed (its row is seen below) or waits (and sees ours done).
                    Self::inbox_serialise_chats(&mut tx, &f.source, f.chats.clone()).await?;
                }
                let done: Vec<i64> = outcomes
                    .iter()
                    .filter(|(_, o)| *o == InboxOutcome::Done)
                    .map(|(id, _)| *id)
                    .collect();
                for chunk in done.chunks($crate::store::inbox::INSERT_CHUNK) {
                    let mut update: sqlx::QueryBuilder<$db> = sqlx::QueryBuilder::new(
                        "UPDATE webhook_inbox SET state = 'done', error = NULL, body = NULL, \
                         lease_until = NULL, leased_by = NULL, processed_at = ",
                    );
                    update.push_bind(now).push(" WHERE id IN (");
                    let mut ids = update.separated(", ");
                    for id in chunk {
                        ids.push_bind(*id);
                    }
                    update.push(")");
                    update.build().execute(&mut *tx).await?;
                }
                for (id, outcome) in outcomes {
                    match outcome {
                        InboxOutcome::Done => {}
                        InboxOutcome::Failed(why) => {
                            sqlx::query(
                                "UPDATE webhook_inbox SET state = 'failed', error = $1, \
                                 body = NULL, processed_at = $2, lease_until = NULL, \
                                 leased_by = NULL WHERE id = $3",
                            )
                            .bind(why)
                            .bind(now)
                            .bind(*id)
                            .execute(&mut *tx)
                            .await?;
                        }
                        InboxOutcome::Retry(at, why) => {
                            sqlx::query(
                                "UPDATE webhook_inbox SET not_before = $1, error = $2, \
                                 lease_until = NULL, leased_by = NULL WHERE id = $3",
                            )
                            .bind(*at)
                            .bind(why)
                            .bind(*id)
                            .execute(&mut *tx)
                            .await?;
                        }
                    }
                }
                let mut followed: Vec<Delivery> = Vec::new();
                if let Some(f) = follow {
                    for chunk in f.chats.chunks($crate::store::inbox::INSERT_CHUNK) {
                        // The head of each chat (no pending row of the chat before it), due,
                        // and only when no pending row of the chat holds a live lease (this
                        // hand may hold the next one already; another replica may).
                        let mut update: sqlx::QueryBuilder<$db> = sqlx::QueryBuilder::new(
                            "UPDATE webhook_inbox SET lease_until = ",
                        );
                        update
                            .push_bind(f.until)
                            .push(", leased_by = ")
                            .push_bind(f.holder.clone())
                            .push(
                                ", attempts = attempts + 1 WHERE state = 'pending' AND \
                                 (lease_until IS NULL OR lease_until < ",
                            )
                            .push_bind(now)
                            .push(") AND id IN (SELECT h.id FROM webhook_inbox h WHERE h.source = ")
                            .push_bind(f.source.clone())
                            .push(" AND h.state = 'pending' AND h.not_before <= ")
                            .push_bind(now)
                            .push(" AND (h.lease_until IS NULL OR h.lease_until < ")
                            .push_bind(now)
                            // The head and the live lease are looked up per row by scalar
                            // subqueries, which the planner cannot turn into joins: each is an
                            // index probe on (source, chat_key) whatever it knows about the
                            // table. As a NOT EXISTS, a table without statistics got an
                            // anti-join scanning every pending row once per chat (4 s for 256
                            // chats in the replicas bench).
                            .push(
                                ") AND h.id = (SELECT e.id FROM webhook_inbox e WHERE \
                                 e.source = h.source AND e.chat_key = h.chat_key AND \
                                 e.state = 'pending' ORDER BY e.seq, e.id LIMIT 1) AND \
                                 (SELECT 1 FROM webhook_inbox b WHERE b.source = h.source AND \
                                 b.chat_key = h.chat_key AND b.state = 'pending' AND \
                                 b.lease_until >= ",
                            )
                            .push_bind(now)
                            .push(" LIMIT 1) IS NULL AND h.chat_key IN (");
                        let mut keys = update.separated(", ");
                        for chat in chunk {
                            keys.push_bind(chat.clone());
                        }
                        update
                            .push(") ")
                            .push(Self::INBOX_SKIP_LOCKED)
                            .push(") RETURNING ")
                            .push(DELIVERY_COLUMNS);
                        followed.extend(
                            update
                                .build_query_as::<Delivery>()
                                .fetch_all(&mut *tx)
                                .await?,
                        );
                    }
                }
                tx.commit().await?;
                followed.sort_by_key(|r| r.id);
                Ok(followed)
            }

            async fn inbox_forget(
                &self,
                before: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<u64> {
                let mut tx = self.inbox_begin().await?;
                let n = sqlx::query(
                    "DELETE FROM webhook_inbox WHERE state <> 'pending' AND processed_at < $1",
                )
                .bind(before)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                tx.commit().await?;
                Ok(n)
            }

            async fn inbox_pending(&self, source: &str) -> $crate::store::StoreResult<i64> {
                Ok(sqlx::query_scalar(
                    "SELECT count(*) FROM webhook_inbox WHERE source = $1 AND state = 'pending'",
                )
                .bind(source)
                .fetch_one(self.inbox_reader())
                .await?)
            }
        }
    };
}
pub(crate) use inbox_store_impl;
