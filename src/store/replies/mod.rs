//! Storage of replies in bound groups (migration `0009_group_replies.sql`): the posts gopy
//! makes into groups (a campaign's thread) and their sending, the replies that became
//! opinions or agreements, the private notice owed to a resident the first time, their
//! choice, the acknowledgements given (one per resident per post), each group's
//! acknowledgement setting, the files kept with opinions; and [`ReportStore`]: the dates a
//! campaign's reports are due and the officials who receive them.
//!
//! Both backends run the same SQL (`$n` parameters work on SQLite too), written once in
//! [`replies_store_impl!`] and instantiated in `sqlite.rs` and `postgres.rs`, which say how
//! to read and how to start a write transaction. An official's change (a thread queued, a
//! group's setting) writes its `audit_log` line in the transaction that makes it.

mod postgres;
mod sqlite;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreResult;
use crate::domain::{CampaignId, ContactId};
use crate::replies::{AckMode, Choice, PlannedPost};

/// A post waiting to be sent, claimed by one sender for a while.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingPost {
    /// Its id.
    pub id: i64,
    /// The group (database id).
    pub group: i64,
    /// The group's platform chat id now.
    pub chat_id: String,
    /// The campaign.
    pub campaign: CampaignId,
    /// The topic; `None` for the campaign's post.
    pub topic: Option<String>,
    /// How many times it was tried before.
    pub attempts: i64,
}

/// How sending a post ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostOutcome {
    /// Telegram took it: the chat it went to and the message's id.
    Sent {
        /// The chat id.
        chat_id: String,
        /// The message id.
        message_id: String,
    },
    /// Try again at this time.
    Retry(DateTime<Utc>, String),
    /// Given up, with the reason.
    Failed(String),
}

/// The post a message answers, as a reply needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostRef {
    /// The post's id.
    pub post: i64,
    /// Its campaign.
    pub campaign: CampaignId,
    /// Its topic; `None` for the campaign's post (replies are unclassified).
    pub topic: Option<String>,
    /// The topic's section, if any.
    pub section: Option<String>,
}

/// A resident's reply to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReply {
    /// The platform it came from (the update key's and the opinion's channel).
    pub channel: crate::domain::Channel,
    /// The update it came in (claimed, so a redelivery records nothing twice).
    pub update_key: String,
    /// The group (database id).
    pub group: i64,
    /// The group's unit.
    pub unit: Option<String>,
    /// The reply's message id in the group.
    pub message_id: String,
    /// The post it answers.
    pub post: PostRef,
    /// Its author.
    pub contact: ContactId,
    /// The text (NFC, trimmed); empty for a sticker.
    pub text: String,
    /// Whether it only agrees (emoji, sticker, "đồng ý", "+1").
    pub agreement: bool,
    /// A fresh reference for the opinion.
    pub reference: String,
    /// A file given with it (kept in the file store already), if any.
    pub file: Option<NewFile>,
    /// When it was given.
    pub at: DateTime<Utc>,
}

/// A file kept in the file store, to attach to an opinion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFile {
    /// Voice, audio, photo or document.
    pub kind: crate::replies::files::FileKind,
    /// Its type.
    pub mime: String,
    /// Its size.
    pub size: i64,
    /// Its key in the file store.
    pub key: String,
}

/// A file kept with an opinion.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OpinionFile {
    /// Its id.
    pub id: i64,
    /// Voice, audio, photo or document.
    pub kind: String,
    /// Its type.
    pub mime: String,
    /// Its size.
    pub size: i64,
    /// Its key in the file store.
    pub key: String,
    /// An official's transcription, if any.
    pub transcription: Option<String>,
}

/// What recording a reply did and what is owed after the commit.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Recorded {
    /// The update was recorded before (a redelivery): nothing was done.
    pub duplicate: bool,
    /// The opinion stored (id, author if linked), to be screened by moderation.
    pub opinion: Option<(i64, Option<ContactId>)>,
    /// The private notice is owed to the author (taken: nobody else sends it).
    pub notice_owed: bool,
    /// How to acknowledge it in the group, if at all (taken: once per resident per post).
    pub ack: Option<AckMode>,
}

/// An edit of a message in a group, to apply if it is a recorded reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyEdit {
    /// The update it came in (claimed).
    pub update_key: String,
    /// The group (database id).
    pub group: i64,
    /// The message's id in the group.
    pub message_id: String,
    /// The new text (NFC, trimmed).
    pub text: String,
    /// Whether the new text only agrees.
    pub agreement: bool,
    /// A fresh reference, for an agreement that becomes an opinion.
    pub reference: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// What an edit changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edited {
    /// The message is not a recorded reply (or the update was seen before).
    Unknown,
    /// The opinion's text was replaced (the old one kept in `opinion_revisions`).
    Opinion(i64, Option<ContactId>),
    /// An agreement that now says more became this new opinion.
    Became(i64, Option<ContactId>),
    /// Nothing to change (still an agreement, or a withdrawn opinion).
    Unchanged,
}

/// One recorded reply, as `gopy thread show` lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReplyRow {
    /// The group's title.
    pub group: String,
    /// The topic (`None`: the campaign's post).
    pub topic: Option<String>,
    /// The opinion's reference, or `None` for an agreement.
    pub reference: Option<String>,
    /// The opinion's text now.
    pub text: Option<String>,
    /// Whether it is anonymous (no link to an account).
    pub anonymous: bool,
    /// The opinion's status.
    pub status: Option<String>,
}

/// The group-replies part of the store. A supertrait of [`super::Store`].
#[async_trait]
pub trait RepliesStore: Send + Sync {
    /// Queues a campaign's thread for a group (one post each, sent in this order), audited;
    /// returns the posts' ids.
    async fn queue_thread(
        &self,
        campaign: CampaignId,
        group: i64,
        posts: &[PlannedPost],
        by: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<Vec<i64>>;

    /// Claims the posts due by `now` into groups of `channel` (oldest first, at most
    /// `limit`) for `lease`; a post is claimed again when its lease runs out unfinished.
    /// Zalo OA groups (`oa:` ids) are never claimed: the Bot API cannot post there.
    async fn claim_posts(
        &self,
        channel: crate::domain::Channel,
        now: DateTime<Utc>,
        lease: chrono::Duration,
        limit: i64,
    ) -> StoreResult<Vec<PendingPost>>;

    /// Records how sending a post ended.
    async fn finish_post(
        &self,
        post: i64,
        outcome: &PostOutcome,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// The post a message in a group answers: one of gopy's sent posts, or a recorded reply
    /// (then that reply's post).
    async fn post_of_message(&self, group: i64, message_id: &str) -> StoreResult<Option<PostRef>>;

    /// Records a reply in one transaction: the update claimed; an opinion (submitted, source
    /// `group-reply`, anonymous when the resident chose so or could not be asked) or an
    /// agreement; the notice taken when none was taken for this resident and campaign; the
    /// acknowledgement taken unless the group is silent or the resident was acknowledged for
    /// this post already.
    async fn record_reply(&self, reply: &NewReply) -> StoreResult<Recorded>;

    /// Applies an edit of a recorded reply in one transaction with the update claimed.
    async fn edit_reply(&self, edit: &ReplyEdit) -> StoreResult<Edited>;

    /// Records whether the private notice reached the resident. When it could not, their
    /// replies in the campaign become anonymous (unlinked from them).
    async fn notice_result(
        &self,
        contact: ContactId,
        campaign: CampaignId,
        reached: bool,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Applies the resident's choice to their replies in the campaign; returns how many
    /// opinions it changed.
    async fn reply_choice(
        &self,
        contact: ContactId,
        campaign: CampaignId,
        choice: Choice,
        at: DateTime<Utc>,
    ) -> StoreResult<u64>;

    /// The campaign of the newest notice that reached the resident (`sent`), if any: where a
    /// choice typed in a private chat (Zalo has no buttons) applies.
    async fn latest_notice(&self, contact: ContactId) -> StoreResult<Option<CampaignId>>;

    /// Sets how a group's replies are acknowledged, audited.
    async fn set_ack_mode(
        &self,
        group: i64,
        mode: AckMode,
        by: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// How a group's replies are acknowledged.
    async fn ack_mode(&self, group: i64) -> StoreResult<AckMode>;

    /// Agreements per topic (`unclassified` for the campaign's post) in the campaign, or in
    /// `units`: each resident counts once per post.
    async fn agreement_counts(
        &self,
        campaign: CampaignId,
        units: Option<&[String]>,
    ) -> StoreResult<Vec<(String, i64)>>;

    /// The replies recorded in a campaign, oldest first.
    async fn campaign_replies(&self, campaign: CampaignId) -> StoreResult<Vec<ReplyRow>>;

    /// The files kept with the campaign's opinion that has this reference.
    async fn opinion_files(
        &self,
        campaign: CampaignId,
        reference: &str,
    ) -> StoreResult<Vec<OpinionFile>>;

    /// Attaches a file kept in the file store to an opinion given in a private dialog (its
    /// author's contact, so that `/delete_me` takes the row with them).
    async fn attach_file(
        &self,
        opinion: i64,
        contact: Option<ContactId>,
        file: &NewFile,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Every key the file store must keep (files no row names are swept).
    async fn file_keys(&self) -> StoreResult<std::collections::HashSet<String>>;

    /// Stores an official's transcription beside a file, audited; `false` when there is no
    /// such file. When the opinion's text is still `placeholder` (a voice note not yet
    /// transcribed), it becomes `marked` (the transcription, marked as such), the placeholder
    /// kept in `opinion_revisions`.
    async fn transcribe(
        &self,
        file: i64,
        text: &str,
        placeholder: &str,
        marked: &str,
        by: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// Writes one audit line (a file read out of gopy).
    async fn replies_audited(
        &self,
        action: &str,
        detail: &serde_json::Value,
        by: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
}

/// A report date that came due, taken for delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueReport {
    /// Its id.
    pub id: i64,
    /// The campaign.
    pub campaign: CampaignId,
    /// The unit the report is for (`None`: the whole campaign).
    pub unit: Option<String>,
    /// When it was due.
    pub due_at: DateTime<Utc>,
}

/// A report date as `gopy reports list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportDate {
    /// Its id.
    pub id: i64,
    /// The unit (`None`: the whole campaign).
    pub unit: Option<String>,
    /// When it is due.
    pub due_at: DateTime<Utc>,
    /// When it was taken for delivery.
    pub taken_at: Option<DateTime<Utc>>,
}

/// Report dates and who receives the reports. A supertrait of [`super::Store`].
#[async_trait]
pub trait ReportStore: Send + Sync {
    /// Adds a report date to a campaign, audited; returns its id.
    async fn add_report_date(
        &self,
        campaign: CampaignId,
        unit: Option<&str>,
        due_at: DateTime<Utc>,
        by: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<i64>;

    /// A campaign's report dates, soonest first.
    async fn report_dates(&self, campaign: CampaignId) -> StoreResult<Vec<ReportDate>>;

    /// Subscribes a staff user to a campaign's reports, audited (again is no change).
    async fn subscribe_reports(
        &self,
        staff: i64,
        campaign: CampaignId,
        by: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// The staff users subscribed to a campaign's reports.
    async fn report_subscribers(&self, campaign: CampaignId) -> StoreResult<Vec<i64>>;

    /// Takes every report date due by `now` (one statement: each is taken once).
    async fn take_due_reports(&self, now: DateTime<Utc>) -> StoreResult<Vec<DueReport>>;

    /// Sets (or, with `None`, stops) a campaign's daily digest at an hour (Vietnam time),
    /// audited.
    async fn set_digest(
        &self,
        campaign: CampaignId,
        hour: Option<i64>,
        by: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Takes the digests due on `day` (`YYYY-MM-DD`, Vietnam) by `hour`: each once a day.
    async fn take_digests(&self, day: &str, hour: i64) -> StoreResult<Vec<CampaignId>>;

    /// The bound groups (of `units`, or all) that neither a thread of the campaign nor one of
    /// its broadcasts reached: their titles.
    async fn unreached_groups(
        &self,
        campaign: CampaignId,
        units: Option<&[String]>,
    ) -> StoreResult<Vec<String>>;
}

/// ` AND unit_code IN ($first, …)` for `n` units, or nothing.
fn unit_filter(units: Option<&[String]>, first: usize) -> String {
    match units {
        None => String::new(),
        Some([]) => " AND 1 = 0".to_owned(),
        Some(u) => format!(
            " AND unit_code IN ({})",
            (first..first + u.len())
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The one implementation of [`RepliesStore`], for a store type that has
/// `replies_read(&self) -> &Pool<$db>` and
/// `replies_write(&self) -> StoreResult<Transaction<'static, $db>>`.
macro_rules! replies_store_impl {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::replies::RepliesStore for $store {
            async fn queue_thread(
                &self,
                campaign: $crate::domain::CampaignId,
                group: i64,
                posts: &[$crate::replies::PlannedPost],
                by: &str,
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<Vec<i64>> {
                let mut tx = self.replies_write().await?;
                let mut ids = Vec::with_capacity(posts.len());
                for p in posts {
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO group_posts (chat_group_id, campaign_id, topic_code, \
                         section_ref, not_before, created_by, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $5) RETURNING id",
                    )
                    .bind(group)
                    .bind(campaign)
                    .bind(&p.topic)
                    .bind(&p.section)
                    .bind(at)
                    .bind(by)
                    .fetch_one(&mut *tx)
                    .await?;
                    ids.push(id);
                }
                let detail = serde_json::json!({
                    "campaign": campaign, "group": group, "posts": ids.len(),
                });
                sqlx::query(
                    "INSERT INTO audit_log (at, actor, action, detail) VALUES ($1, $2, $3, $4)",
                )
                .bind(at)
                .bind(by)
                .bind("replies.thread.queue")
                .bind(sqlx::types::Json(detail))
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(ids)
            }

            async fn claim_posts(
                &self,
                channel: $crate::domain::Channel,
                now: chrono::DateTime<chrono::Utc>,
                lease: chrono::Duration,
                limit: i64,
            ) -> $crate::store::StoreResult<Vec<$crate::store::replies::PendingPost>> {
                let mut tx = self.replies_write().await?;
                type Row = (i64, i64, String, i64, Option<String>, i64);
                let rows: Vec<Row> = sqlx::query_as(
                    "SELECT p.id, p.chat_group_id, g.external_id, p.campaign_id, p.topic_code, \
                     p.attempts FROM group_posts p JOIN chat_groups g ON g.id = p.chat_group_id \
                     WHERE p.state = 'pending' AND p.not_before <= $1 \
                     AND (p.lease_until IS NULL OR p.lease_until < $1) \
                     AND g.channel = $3 AND g.external_id NOT LIKE 'oa:%' \
                     ORDER BY p.id LIMIT $2",
                )
                .bind(now)
                .bind(limit)
                .bind(channel.as_str())
                .fetch_all(&mut *tx)
                .await?;
                let mut claimed = Vec::with_capacity(rows.len());
                for (id, group, chat_id, campaign, topic, attempts) in rows {
                    // Taken only if nobody took it meanwhile (Postgres runs claims side by side).
                    let done = sqlx::query(
                        "UPDATE group_posts SET lease_until = $2 WHERE id = $1 \
                         AND state = 'pending' AND (lease_until IS NULL OR lease_until < $3)",
                    )
                    .bind(id)
                    .bind(now + lease)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    if done.rows_affected() == 1 {
                        claimed.push($crate::store::replies::PendingPost {
                            id,
                            group,
                            chat_id,
                            campaign,
                            topic,
                            attempts,
                        });
                    }
                }
                tx.commit().await?;
                Ok(claimed)
            }

            async fn finish_post(
                &self,
                post: i64,
                outcome: &$crate::store::replies::PostOutcome,
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<()> {
                use $crate::store::replies::PostOutcome;
                let mut tx = self.replies_write().await?;
                match outcome {
                    PostOutcome::Sent {
                        chat_id,
                        message_id,
                    } => {
                        sqlx::query(
                            "UPDATE group_posts SET state = 'sent', chat_id = $2, \
                             message_id = $3, sent_at = $4, lease_until = NULL, \
                             attempts = attempts + 1 WHERE id = $1",
                        )
                        .bind(post)
                        .bind(chat_id)
                        .bind(message_id)
                        .bind(at)
                        .execute(&mut *tx)
                        .await?;
                    }
                    PostOutcome::Retry(when, error) => {
                        sqlx::query(
                            "UPDATE group_posts SET not_before = $2, error = $3, \
                             lease_until = NULL, attempts = attempts + 1 WHERE id = $1",
                        )
                        .bind(post)
                        .bind(when)
                        .bind(error)
                        .execute(&mut *tx)
                        .await?;
                    }
                    PostOutcome::Failed(error) => {
                        sqlx::query(
                            "UPDATE group_posts SET state = 'failed', error = $2, \
                             lease_until = NULL, attempts = attempts + 1 WHERE id = $1",
                        )
                        .bind(post)
                        .bind(error)
                        .execute(&mut *tx)
                        .await?;
                    }
                }
                tx.commit().await?;
                Ok(())
            }

            async fn post_of_message(
                &self,
                group: i64,
                message_id: &str,
            ) -> $crate::store::StoreResult<Option<$crate::store::replies::PostRef>> {
                type Row = (i64, i64, Option<String>, Option<String>);
                let row: Option<Row> = sqlx::query_as(
                    "SELECT p.id, p.campaign_id, p.topic_code, p.section_ref FROM group_posts p \
                     WHERE p.chat_group_id = $1 AND p.message_id = $2 \
                     UNION ALL \
                     SELECT p.id, p.campaign_id, p.topic_code, p.section_ref \
                     FROM group_replies r JOIN group_posts p ON p.id = r.post_id \
                     WHERE r.chat_group_id = $1 AND r.message_id = $2",
                )
                .bind(group)
                .bind(message_id)
                .fetch_optional(self.replies_read())
                .await?;
                Ok(row.map(|(post, campaign, topic, section)| {
                    $crate::store::replies::PostRef {
                        post,
                        campaign,
                        topic,
                        section,
                    }
                }))
            }

            async fn record_reply(
                &self,
                r: &$crate::store::replies::NewReply,
            ) -> $crate::store::StoreResult<$crate::store::replies::Recorded> {
                use $crate::store::replies::Recorded;
                let mut tx = self.replies_write().await?;
                let claimed = sqlx::query(
                    "INSERT INTO processed_updates (channel, update_key, processed_at) \
                     VALUES ($3, $1, $2) ON CONFLICT DO NOTHING",
                )
                .bind(&r.update_key)
                .bind(r.at)
                .bind(r.channel.as_str())
                .execute(&mut *tx)
                .await?;
                let known: Option<i64> = sqlx::query_scalar(
                    "SELECT id FROM group_replies WHERE chat_group_id = $1 AND message_id = $2",
                )
                .bind(r.group)
                .bind(&r.message_id)
                .fetch_optional(&mut *tx)
                .await?;
                if claimed.rows_affected() == 0 || known.is_some() {
                    return Ok(Recorded {
                        duplicate: true,
                        ..Recorded::default()
                    });
                }
                // The notice: taken now if none was for this resident and campaign.
                let taken = sqlx::query(
                    "INSERT INTO group_reply_notices (contact_id, campaign_id, state, changed_at) \
                     VALUES ($1, $2, 'pending', $3) ON CONFLICT DO NOTHING",
                )
                .bind(r.contact)
                .bind(r.post.campaign)
                .bind(r.at)
                .execute(&mut *tx)
                .await?;
                let notice: Option<(String, Option<String>)> = sqlx::query_as(
                    "SELECT state, choice FROM group_reply_notices \
                     WHERE contact_id = $1 AND campaign_id = $2",
                )
                .bind(r.contact)
                .bind(r.post.campaign)
                .fetch_optional(&mut *tx)
                .await?;
                // Anonymous (no link to the account) when they could not be asked or chose so.
                let anonymous = notice.as_ref().is_some_and(|(state, choice)| {
                    state == "unreachable" || choice.as_deref() == Some("anonymous")
                });
                let author = (!anonymous).then_some(r.contact);
                let topic = r
                    .post
                    .topic
                    .clone()
                    .unwrap_or_else(|| $crate::replies::UNCLASSIFIED.to_owned());
                let opinion = if r.agreement {
                    None
                } else {
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO opinions (reference, campaign_id, contact_id, topic_code, \
                         section_ref, unit_code, target_group, channel, source, anonymous, text, \
                         status, created_at, submitted_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, NULL, $10, 'group-reply', $7, \
                         $8, 'submitted', $9, $9) RETURNING id",
                    )
                    .bind(&r.reference)
                    .bind(r.post.campaign)
                    .bind(author)
                    .bind(&topic)
                    .bind(&r.post.section)
                    .bind(&r.unit)
                    .bind(anonymous)
                    .bind(&r.text)
                    .bind(r.at)
                    .bind(r.channel.as_str())
                    .fetch_one(&mut *tx)
                    .await?;
                    Some(id)
                };
                sqlx::query(
                    "INSERT INTO group_replies (chat_group_id, message_id, post_id, campaign_id, \
                     topic_code, unit_code, contact_id, opinion_id, agreement, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(r.group)
                .bind(&r.message_id)
                .bind(r.post.post)
                .bind(r.post.campaign)
                .bind(&r.post.topic)
                .bind(&r.unit)
                .bind(author)
                .bind(opinion)
                .bind(r.agreement)
                .bind(r.at)
                .execute(&mut *tx)
                .await?;
                if let (Some(opinion), Some(f)) = (opinion, &r.file) {
                    sqlx::query(
                        "INSERT INTO opinion_files (opinion_id, contact_id, kind, mime_type, \
                         size_bytes, storage_key, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(opinion)
                    .bind(author)
                    .bind(f.kind.as_str())
                    .bind(&f.mime)
                    .bind(f.size)
                    .bind(&f.key)
                    .bind(r.at)
                    .execute(&mut *tx)
                    .await?;
                }
                // One acknowledgement per resident per post, unless the group is silent.
                let mode: Option<String> = sqlx::query_scalar(
                    "SELECT ack FROM group_reply_settings WHERE chat_group_id = $1",
                )
                .bind(r.group)
                .fetch_optional(&mut *tx)
                .await?;
                let mode = mode
                    .as_deref()
                    .and_then($crate::replies::AckMode::parse)
                    .unwrap_or_default();
                let ack = if mode == $crate::replies::AckMode::Silent {
                    None
                } else {
                    let done = sqlx::query(
                        "INSERT INTO group_reply_acks (post_id, contact_id, acked_at) \
                         VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    )
                    .bind(r.post.post)
                    .bind(r.contact)
                    .bind(r.at)
                    .execute(&mut *tx)
                    .await?;
                    (done.rows_affected() == 1).then_some(mode)
                };
                tx.commit().await?;
                Ok(Recorded {
                    duplicate: false,
                    opinion: opinion.map(|id| (id, author)),
                    notice_owed: taken.rows_affected() == 1,
                    ack,
                })
            }

            async fn edit_reply(
                &self,
                edit: &$crate::store::replies::ReplyEdit,
            ) -> $crate::store::StoreResult<$crate::store::replies::Edited> {
                use $crate::store::replies::Edited;
                let (update_key, group, message_id) =
                    (&edit.update_key, edit.group, &edit.message_id);
                let (text, agreement, reference, at) =
                    (&edit.text, edit.agreement, &edit.reference, edit.at);
                let mut tx = self.replies_write().await?;
                // Most edits in a group are not of recorded replies: those write nothing.
                type Row = (i64, Option<i64>, i64, Option<String>, Option<String>, Option<i64>);
                let row: Option<Row> = sqlx::query_as(
                    "SELECT r.id, r.opinion_id, r.campaign_id, r.topic_code, r.unit_code, \
                     r.contact_id FROM group_replies r \
                     WHERE r.chat_group_id = $1 AND r.message_id = $2",
                )
                .bind(group)
                .bind(message_id)
                .fetch_optional(&mut *tx)
                .await?;
                let Some((reply, opinion, campaign, topic, unit, contact)) = row else {
                    return Ok(Edited::Unknown);
                };
                let claimed = sqlx::query(
                    "INSERT INTO processed_updates (channel, update_key, processed_at) \
                     VALUES ('telegram', $1, $2) ON CONFLICT DO NOTHING",
                )
                .bind(update_key)
                .bind(at)
                .execute(&mut *tx)
                .await?;
                if claimed.rows_affected() == 0 {
                    return Ok(Edited::Unknown);
                }
                let outcome = match opinion {
                    Some(id) => {
                        // The previous text goes to the revisions first.
                        let kept = sqlx::query(
                            "INSERT INTO opinion_revisions (opinion_id, text, replaced_at) \
                             SELECT id, text, $2 FROM opinions \
                             WHERE id = $1 AND status <> 'withdrawn' AND text <> $3",
                        )
                        .bind(id)
                        .bind(at)
                        .bind(text)
                        .execute(&mut *tx)
                        .await?;
                        if kept.rows_affected() == 0 {
                            Edited::Unchanged
                        } else {
                            sqlx::query(
                                "UPDATE opinions SET text = $2, edited_at = $3 WHERE id = $1",
                            )
                            .bind(id)
                            .bind(text)
                            .bind(at)
                            .execute(&mut *tx)
                            .await?;
                            let author: Option<i64> =
                                sqlx::query_scalar("SELECT contact_id FROM opinions WHERE id = $1")
                                    .bind(id)
                                    .fetch_one(&mut *tx)
                                    .await?;
                            Edited::Opinion(id, author)
                        }
                    }
                    None if agreement => Edited::Unchanged,
                    None => {
                        // An agreement that now says more becomes an opinion.
                        let anonymous = contact.is_none();
                        let section: Option<String> = sqlx::query_scalar(
                            "SELECT p.section_ref FROM group_replies r \
                             JOIN group_posts p ON p.id = r.post_id WHERE r.id = $1",
                        )
                        .bind(reply)
                        .fetch_one(&mut *tx)
                        .await?;
                        let topic =
                            topic.unwrap_or_else(|| $crate::replies::UNCLASSIFIED.to_owned());
                        let id: i64 = sqlx::query_scalar(
                            "INSERT INTO opinions (reference, campaign_id, contact_id, \
                             topic_code, section_ref, unit_code, target_group, channel, source, \
                             anonymous, text, status, created_at, submitted_at) \
                             VALUES ($1, $2, $3, $4, $5, $6, NULL, 'telegram', 'group-reply', \
                             $7, $8, 'submitted', $9, $9) RETURNING id",
                        )
                        .bind(reference)
                        .bind(campaign)
                        .bind(contact)
                        .bind(&topic)
                        .bind(&section)
                        .bind(&unit)
                        .bind(anonymous)
                        .bind(text)
                        .bind(at)
                        .fetch_one(&mut *tx)
                        .await?;
                        sqlx::query(
                            "UPDATE group_replies SET opinion_id = $2, agreement = FALSE \
                             WHERE id = $1",
                        )
                        .bind(reply)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                        Edited::Became(id, contact)
                    }
                };
                sqlx::query("UPDATE group_replies SET edited_at = $2 WHERE id = $1")
                    .bind(reply)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(outcome)
            }

            async fn notice_result(
                &self,
                contact: $crate::domain::ContactId,
                campaign: $crate::domain::CampaignId,
                reached: bool,
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.replies_write().await?;
                let state = if reached { "sent" } else { "unreachable" };
                sqlx::query(
                    "UPDATE group_reply_notices SET state = $3, changed_at = $4 \
                     WHERE contact_id = $1 AND campaign_id = $2",
                )
                .bind(contact)
                .bind(campaign)
                .bind(state)
                .bind(at)
                .execute(&mut *tx)
                .await?;
                if !reached {
                    $crate::store::replies::unlink!(tx, contact, campaign);
                }
                tx.commit().await?;
                Ok(())
            }

            async fn latest_notice(
                &self,
                contact: $crate::domain::ContactId,
            ) -> $crate::store::StoreResult<Option<$crate::domain::CampaignId>> {
                Ok(sqlx::query_scalar(
                    "SELECT campaign_id FROM group_reply_notices \
                     WHERE contact_id = $1 AND state = 'sent' \
                     ORDER BY changed_at DESC, campaign_id DESC LIMIT 1",
                )
                .bind(contact)
                .fetch_optional(self.replies_read())
                .await?)
            }

            async fn reply_choice(
                &self,
                contact: $crate::domain::ContactId,
                campaign: $crate::domain::CampaignId,
                choice: $crate::replies::Choice,
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<u64> {
                use $crate::replies::Choice;
                let mut tx = self.replies_write().await?;
                sqlx::query(
                    "INSERT INTO group_reply_notices (contact_id, campaign_id, state, choice, \
                     changed_at) VALUES ($1, $2, 'sent', $3, $4) \
                     ON CONFLICT (contact_id, campaign_id) DO UPDATE SET choice = excluded.choice, \
                     changed_at = excluded.changed_at",
                )
                .bind(contact)
                .bind(campaign)
                .bind(choice.as_str())
                .bind(at)
                .execute(&mut *tx)
                .await?;
                let changed = match choice {
                    Choice::Keep => 0,
                    Choice::Withdraw => sqlx::query(
                        "UPDATE opinions SET status = 'withdrawn', withdrawn_at = $3 \
                         WHERE contact_id = $1 AND campaign_id = $2 AND source = 'group-reply' \
                         AND status <> 'withdrawn'",
                    )
                    .bind(contact)
                    .bind(campaign)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected(),
                    Choice::Anonymous => $crate::store::replies::unlink!(tx, contact, campaign),
                };
                tx.commit().await?;
                Ok(changed)
            }

            async fn set_ack_mode(
                &self,
                group: i64,
                mode: $crate::replies::AckMode,
                by: &str,
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.replies_write().await?;
                sqlx::query(
                    "INSERT INTO group_reply_settings (chat_group_id, ack, changed_by, changed_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (chat_group_id) DO UPDATE SET \
                     ack = excluded.ack, changed_by = excluded.changed_by, \
                     changed_at = excluded.changed_at",
                )
                .bind(group)
                .bind(mode.as_str())
                .bind(by)
                .bind(at)
                .execute(&mut *tx)
                .await?;
                let detail = serde_json::json!({ "group": group, "ack": mode.as_str() });
                sqlx::query(
                    "INSERT INTO audit_log (at, actor, action, detail) VALUES ($1, $2, $3, $4)",
                )
                .bind(at)
                .bind(by)
                .bind("replies.group.ack")
                .bind(sqlx::types::Json(detail))
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn ack_mode(&self, group: i64) -> $crate::store::StoreResult<$crate::replies::AckMode> {
                let mode: Option<String> = sqlx::query_scalar(
                    "SELECT ack FROM group_reply_settings WHERE chat_group_id = $1",
                )
                .bind(group)
                .fetch_optional(self.replies_read())
                .await?;
                Ok(mode
                    .as_deref()
                    .and_then($crate::replies::AckMode::parse)
                    .unwrap_or_default())
            }

            async fn agreement_counts(
                &self,
                campaign: $crate::domain::CampaignId,
                units: Option<&[String]>,
            ) -> $crate::store::StoreResult<Vec<(String, i64)>> {
                let sql = format!(
                    "SELECT COALESCE(topic_code, '{}'), count(DISTINCT \
                     COALESCE('c' || contact_id, 'r' || id) || ':' || post_id) \
                     FROM group_replies WHERE campaign_id = $1 AND agreement = TRUE{} \
                     GROUP BY COALESCE(topic_code, '{}') ORDER BY 1",
                    $crate::replies::UNCLASSIFIED,
                    $crate::store::replies::unit_filter_sql(units, 2),
                    $crate::replies::UNCLASSIFIED,
                );
                let mut q = sqlx::query_as::<_, (String, i64)>(sqlx::AssertSqlSafe(sql)).bind(campaign);
                for u in units.unwrap_or_default() {
                    q = q.bind(u);
                }
                Ok(q.fetch_all(self.replies_read()).await?)
            }

            async fn campaign_replies(
                &self,
                campaign: $crate::domain::CampaignId,
            ) -> $crate::store::StoreResult<Vec<$crate::store::replies::ReplyRow>> {
                type Row = (String, Option<String>, Option<String>, Option<String>, Option<bool>, Option<String>);
                let rows: Vec<Row> = sqlx::query_as(
                    "SELECT g.title, r.topic_code, o.reference, o.text, o.anonymous, o.status \
                     FROM group_replies r JOIN chat_groups g ON g.id = r.chat_group_id \
                     LEFT JOIN opinions o ON o.id = r.opinion_id \
                     WHERE r.campaign_id = $1 ORDER BY r.id",
                )
                .bind(campaign)
                .fetch_all(self.replies_read())
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(group, topic, reference, text, anonymous, status)| {
                        $crate::store::replies::ReplyRow {
                            group,
                            topic,
                            reference,
                            text,
                            anonymous: anonymous.unwrap_or(true),
                            status,
                        }
                    })
                    .collect())
            }

            async fn opinion_files(
                &self,
                campaign: $crate::domain::CampaignId,
                reference: &str,
            ) -> $crate::store::StoreResult<Vec<$crate::store::replies::OpinionFile>> {
                type Row = (i64, String, String, i64, String, Option<String>);
                let rows: Vec<Row> = sqlx::query_as(
                    "SELECT f.id, f.kind, f.mime_type, f.size_bytes, f.storage_key, \
                     f.transcription FROM opinion_files f JOIN opinions o ON o.id = f.opinion_id \
                     WHERE o.campaign_id = $1 AND o.reference = $2 ORDER BY f.id",
                )
                .bind(campaign)
                .bind(reference)
                .fetch_all(self.replies_read())
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(id, kind, mime, size, key, transcription)| {
                        $crate::store::replies::OpinionFile {
                            id,
                            kind,
                            mime,
                            size,
                            key,
                            transcription,
                        }
                    })
                    .collect())
            }

            async fn attach_file(
                &self,
                opinion: i64,
                contact: Option<$crate::domain::ContactId>,
                file: &$crate::store::replies::NewFile,
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.replies_write().await?;
                sqlx::query(
                    "INSERT INTO opinion_files (opinion_id, contact_id, kind, mime_type, \
                     size_bytes, storage_key, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(opinion)
                .bind(contact)
                .bind(file.kind.as_str())
                .bind(&file.mime)
                .bind(file.size)
                .bind(&file.key)
                .bind(at)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn file_keys(
                &self,
            ) -> $crate::store::StoreResult<std::collections::HashSet<String>> {
                let keys: Vec<String> =
                    sqlx::query_scalar("SELECT DISTINCT storage_key FROM opinion_files")
                        .fetch_all(self.replies_read())
                        .await?;
                Ok(keys.into_iter().collect())
            }

            async fn transcribe(
                &self,
                file: i64,
                text: &str,
                placeholder: &str,
                marked: &str,
                by: &str,
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.replies_write().await?;
                // The opinion's text, while it only says "voice note, not transcribed", becomes
                // the transcription (marked as such); the placeholder goes to the revisions.
                let kept = sqlx::query(
                    "INSERT INTO opinion_revisions (opinion_id, text, replaced_at) \
                     SELECT o.id, o.text, $3 FROM opinions o JOIN opinion_files f \
                     ON f.opinion_id = o.id WHERE f.id = $1 AND o.text = $2",
                )
                .bind(file)
                .bind(placeholder)
                .bind(at)
                .execute(&mut *tx)
                .await?;
                if kept.rows_affected() > 0 {
                    sqlx::query(
                        "UPDATE opinions SET text = $2, edited_at = $3 \
                         WHERE id = (SELECT opinion_id FROM opinion_files WHERE id = $1)",
                    )
                    .bind(file)
                    .bind(marked)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                }
                let done = sqlx::query(
                    "UPDATE opinion_files SET transcription = $2, transcribed_by = $3, \
                     transcribed_at = $4 WHERE id = $1",
                )
                .bind(file)
                .bind(text)
                .bind(by)
                .bind(at)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() == 0 {
                    return Ok(false);
                }
                let detail = serde_json::json!({ "file": file });
                sqlx::query(
                    "INSERT INTO audit_log (at, actor, action, detail) VALUES ($1, $2, $3, $4)",
                )
                .bind(at)
                .bind(by)
                .bind("replies.file.transcribe")
                .bind(sqlx::types::Json(detail))
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn replies_audited(
                &self,
                action: &str,
                detail: &serde_json::Value,
                by: &str,
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.replies_write().await?;
                sqlx::query(
                    "INSERT INTO audit_log (at, actor, action, detail) VALUES ($1, $2, $3, $4)",
                )
                .bind(at)
                .bind(by)
                .bind(action)
                .bind(sqlx::types::Json(detail))
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::replies::ReportStore for $store {
            async fn add_report_date(
                &self,
                campaign: $crate::domain::CampaignId,
                unit: Option<&str>,
                due_at: chrono::DateTime<chrono::Utc>,
                by: &str,
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<i64> {
                let mut tx = self.replies_write().await?;
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO report_dates (campaign_id, unit_code, due_at, created_by, \
                     created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
                )
                .bind(campaign)
                .bind(unit)
                .bind(due_at)
                .bind(by)
                .bind(at)
                .fetch_one(&mut *tx)
                .await?;
                let detail = serde_json::json!({
                    "campaign": campaign, "unit": unit, "due_at": due_at,
                });
                sqlx::query(
                    "INSERT INTO audit_log (at, actor, action, detail) VALUES ($1, $2, $3, $4)",
                )
                .bind(at)
                .bind(by)
                .bind("reports.date.add")
                .bind(sqlx::types::Json(detail))
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(id)
            }

            async fn report_dates(
                &self,
                campaign: $crate::domain::CampaignId,
            ) -> $crate::store::StoreResult<Vec<$crate::store::replies::ReportDate>> {
                type Row = (
                    i64,
                    Option<String>,
                    chrono::DateTime<chrono::Utc>,
                    Option<chrono::DateTime<chrono::Utc>>,
                );
                let rows: Vec<Row> = sqlx::query_as(
                    "SELECT id, unit_code, due_at, taken_at FROM report_dates \
                     WHERE campaign_id = $1 ORDER BY due_at, id",
                )
                .bind(campaign)
                .fetch_all(self.replies_read())
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(id, unit, due_at, taken_at)| $crate::store::replies::ReportDate {
                        id,
                        unit,
                        due_at,
                        taken_at,
                    })
                    .collect())
            }

            async fn subscribe_reports(
                &self,
                staff: i64,
                campaign: $crate::domain::CampaignId,
                by: &str,
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.replies_write().await?;
                let done = sqlx::query(
                    "INSERT INTO report_subscriptions (staff_user_id, campaign_id, created_by, \
                     created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                )
                .bind(staff)
                .bind(campaign)
                .bind(by)
                .bind(at)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() == 1 {
                    let detail = serde_json::json!({ "campaign": campaign, "staff": staff });
                    sqlx::query(
                        "INSERT INTO audit_log (at, actor, action, detail) VALUES ($1, $2, $3, $4)",
                    )
                    .bind(at)
                    .bind(by)
                    .bind("reports.subscribe")
                    .bind(sqlx::types::Json(detail))
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn report_subscribers(
                &self,
                campaign: $crate::domain::CampaignId,
            ) -> $crate::store::StoreResult<Vec<i64>> {
                Ok(sqlx::query_scalar(
                    "SELECT staff_user_id FROM report_subscriptions WHERE campaign_id = $1 \
                     ORDER BY staff_user_id",
                )
                .bind(campaign)
                .fetch_all(self.replies_read())
                .await?)
            }

            async fn take_due_reports(
                &self,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<Vec<$crate::store::replies::DueReport>> {
                let mut tx = self.replies_write().await?;
                type Row = (i64, i64, Option<String>, chrono::DateTime<chrono::Utc>);
                let rows: Vec<Row> = sqlx::query_as(
                    "UPDATE report_dates SET taken_at = $1 \
                     WHERE taken_at IS NULL AND due_at <= $1 \
                     RETURNING id, campaign_id, unit_code, due_at",
                )
                .bind(now)
                .fetch_all(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(rows
                    .into_iter()
                    .map(|(id, campaign, unit, due_at)| $crate::store::replies::DueReport {
                        id,
                        campaign,
                        unit,
                        due_at,
                    })
                    .collect())
            }

            async fn set_digest(
                &self,
                campaign: $crate::domain::CampaignId,
                hour: Option<i64>,
                by: &str,
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.replies_write().await?;
                match hour {
                    Some(h) => {
                        sqlx::query(
                            "INSERT INTO report_digests (campaign_id, hour, created_by, \
                             created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (campaign_id) \
                             DO UPDATE SET hour = excluded.hour",
                        )
                        .bind(campaign)
                        .bind(h)
                        .bind(by)
                        .bind(at)
                        .execute(&mut *tx)
                        .await?;
                    }
                    None => {
                        sqlx::query("DELETE FROM report_digests WHERE campaign_id = $1")
                            .bind(campaign)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                let detail = serde_json::json!({ "campaign": campaign, "hour": hour });
                sqlx::query(
                    "INSERT INTO audit_log (at, actor, action, detail) VALUES ($1, $2, $3, $4)",
                )
                .bind(at)
                .bind(by)
                .bind("reports.digest.set")
                .bind(sqlx::types::Json(detail))
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn take_digests(
                &self,
                day: &str,
                hour: i64,
            ) -> $crate::store::StoreResult<Vec<$crate::domain::CampaignId>> {
                let mut tx = self.replies_write().await?;
                let taken: Vec<i64> = sqlx::query_scalar(
                    "UPDATE report_digests SET last_day = $1 \
                     WHERE hour <= $2 AND (last_day IS NULL OR last_day <> $1) \
                     RETURNING campaign_id",
                )
                .bind(day)
                .bind(hour)
                .fetch_all(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(taken)
            }

            async fn unreached_groups(
                &self,
                campaign: $crate::domain::CampaignId,
                units: Option<&[String]>,
            ) -> $crate::store::StoreResult<Vec<String>> {
                let sql = format!(
                    "SELECT g.title FROM chat_groups g WHERE g.state = 'bound'{} \
                     AND NOT EXISTS (SELECT 1 FROM group_posts p WHERE p.chat_group_id = g.id \
                         AND p.campaign_id = $1 AND p.state = 'sent') \
                     AND NOT EXISTS (SELECT 1 FROM deliveries d \
                         JOIN broadcasts b ON b.id = d.broadcast_id \
                         WHERE d.chat_group_id = g.id AND b.campaign_id = $1 \
                         AND d.state = 'sent') \
                     ORDER BY g.title",
                    $crate::store::replies::unit_filter_sql(units, 2)
                        .replace("unit_code", "g.unit_code"),
                );
                let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql)).bind(campaign);
                for u in units.unwrap_or_default() {
                    q = q.bind(u);
                }
                Ok(q.fetch_all(self.replies_read()).await?)
            }
        }
    };
}

/// Cuts the link between a resident and their group replies in a campaign (the opinions,
/// their files and the replies), inside `$tx`; evaluates to how many opinions changed.
macro_rules! unlink {
    ($tx:expr, $contact:expr, $campaign:expr) => {{
        sqlx::query(
            "UPDATE opinion_files SET contact_id = NULL WHERE contact_id = $1 AND opinion_id IN \
             (SELECT id FROM opinions WHERE campaign_id = $2 AND source = 'group-reply')",
        )
        .bind($contact)
        .bind($campaign)
        .execute(&mut *$tx)
        .await?;
        let changed = sqlx::query(
            "UPDATE opinions SET contact_id = NULL, anonymous = TRUE \
             WHERE contact_id = $1 AND campaign_id = $2 AND source = 'group-reply'",
        )
        .bind($contact)
        .bind($campaign)
        .execute(&mut *$tx)
        .await?
        .rows_affected();
        sqlx::query(
            "UPDATE group_replies SET contact_id = NULL \
             WHERE contact_id = $1 AND campaign_id = $2",
        )
        .bind($contact)
        .bind($campaign)
        .execute(&mut *$tx)
        .await?;
        changed
    }};
}

pub(crate) use {replies_store_impl, unlink};

/// [`unit_filter`], for the macro.
pub(crate) fn unit_filter_sql(units: Option<&[String]>, first: usize) -> String {
    unit_filter(units, first)
}
