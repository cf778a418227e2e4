//! Storage of the retention purge: which campaigns are past the time their consent notice
//! promised to keep residents' identities, and erasing those identities while the opinions
//! (the record of the consultation) are kept. Written once in `retention_store_impl!` and
//! expanded in `postgres.rs` and `sqlite.rs`.

mod postgres;
mod sqlite;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::StoreResult;

/// A campaign whose identities are due to go (or went).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CampaignPurge {
    /// The campaign.
    pub campaign_id: i64,
    /// Its slug.
    pub slug: String,
    /// When collection closed.
    pub closed_at: DateTime<Utc>,
    /// When identities became due for erasure (close + retention months).
    pub due_at: DateTime<Utc>,
    /// Residents whose name and username are erased: every campaign they took part in is
    /// past its retention (a resident still within another campaign's keeps theirs).
    pub identities: i64,
    /// Speakers at meetings of this campaign whose name or phone is erased.
    pub speakers: i64,
}

/// When identities of a campaign closed at `closed_at` are due for erasure.
pub fn due_at(closed_at: DateTime<Utc>, retention_months: i64) -> DateTime<Utc> {
    let months = u32::try_from(retention_months.max(0)).unwrap_or(u32::MAX);
    closed_at
        .checked_add_months(chrono::Months::new(months))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The retention purge's storage.
#[async_trait]
pub trait RetentionStore: Send + Sync {
    /// Every campaign whose identities are due at `now`, with what erasing them would take
    /// (`dry_run`) or took. Opinions are kept; names, usernames and speakers' phones go.
    /// Each campaign purged (with anything erased) is audited as `actor`.
    async fn purge_identities(
        &self,
        now: DateTime<Utc>,
        dry_run: bool,
        actor: &str,
    ) -> StoreResult<Vec<CampaignPurge>>;
}

/// The one implementation of [`RetentionStore`], for a store type with `ret_reader()` (a
/// pool) and `ret_begin()` (a write transaction).
macro_rules! retention_store_impl {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::retention::RetentionStore for $store {
            async fn purge_identities(
                &self,
                now: chrono::DateTime<chrono::Utc>,
                dry_run: bool,
                actor: &str,
            ) -> $crate::store::StoreResult<Vec<$crate::store::retention::CampaignPurge>> {
                use std::collections::{HashMap, HashSet};
                use $crate::store::retention::{CampaignPurge, due_at};
                let closes: Vec<(i64, String, i64, chrono::DateTime<chrono::Utc>)> = sqlx::query_as(
                    "SELECT c.id, c.slug, c.retention_months, p.ends_at FROM campaigns c \
                     JOIN phases p ON p.campaign_id = c.id AND p.kind = 'collect' ORDER BY c.id",
                )
                .fetch_all(self.ret_reader())
                .await?;
                let due: HashMap<i64, (String, chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)> = closes
                    .into_iter()
                    .map(|(id, slug, months, closed)| (id, (slug, closed, due_at(closed, months))))
                    .filter(|(_, (_, _, at))| *at <= now)
                    .collect();
                if due.is_empty() {
                    return Ok(Vec::new());
                }
                // Who took part where: a resident keeps their identity while any campaign
                // they took part in is still within its retention.
                let parts: Vec<(i64, i64)> = sqlx::query_as(
                    "SELECT k.contact_id, k.campaign_id FROM consents k \
                     JOIN identities i ON i.contact_id = k.contact_id \
                     UNION SELECT o.contact_id, o.campaign_id FROM opinions o \
                     JOIN identities i ON i.contact_id = o.contact_id",
                )
                .fetch_all(self.ret_reader())
                .await?;
                let mut by_contact: HashMap<i64, HashSet<i64>> = HashMap::new();
                for (contact, campaign) in parts {
                    by_contact.entry(contact).or_default().insert(campaign);
                }
                // Each erasable contact is counted under its latest due campaign.
                let mut erase: HashMap<i64, Vec<i64>> = HashMap::new();
                for (contact, campaigns) in &by_contact {
                    if campaigns.iter().all(|c| due.contains_key(c)) {
                        let last = campaigns
                            .iter()
                            .max_by_key(|c| due.get(*c).map(|d| d.2))
                            .copied()
                            .unwrap_or_default();
                        erase.entry(last).or_default().push(*contact);
                    }
                }
                let mut ids: Vec<&i64> = due.keys().collect();
                ids.sort();
                let mut out = Vec::new();
                for id in ids {
                    let Some((slug, closed_at, due_at)) = due.get(id) else { continue };
                    let mut contacts = erase.remove(id).unwrap_or_default();
                    // In id order, so two processes purging at once lock the rows in the same
                    // order (the map's order differs per process: they would deadlock).
                    contacts.sort_unstable();
                    let speakers: i64 = sqlx::query_scalar(
                        "SELECT count(*) FROM opinion_speakers s JOIN opinions o ON o.id = s.opinion_id \
                         WHERE o.campaign_id = $1 AND (s.name IS NOT NULL OR s.phone IS NOT NULL)",
                    )
                    .bind(id)
                    .fetch_one(self.ret_reader())
                    .await?;
                    let mut identities = i64::try_from(contacts.len()).unwrap_or(i64::MAX);
                    let mut speakers = speakers;
                    if identities == 0 && speakers == 0 {
                        continue;
                    }
                    if !dry_run {
                        // What is counted and audited is what this transaction erased: a
                        // process purging the same campaign at the same moment (another
                        // replica, `gopy purge`) waits for the rows and then finds them gone,
                        // so the purge is audited once.
                        let mut tx = self.ret_begin().await?;
                        let mut erased: u64 = 0;
                        for contact in &contacts {
                            erased += sqlx::query("DELETE FROM identities WHERE contact_id = $1")
                                .bind(contact)
                                .execute(&mut *tx)
                                .await?
                                .rows_affected();
                        }
                        let cleared = sqlx::query(
                            "UPDATE opinion_speakers SET name = NULL, phone = NULL WHERE opinion_id IN \
                             (SELECT id FROM opinions WHERE campaign_id = $1) \
                             AND (name IS NOT NULL OR phone IS NOT NULL)",
                        )
                        .bind(id)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                        identities = i64::try_from(erased).unwrap_or(i64::MAX);
                        speakers = i64::try_from(cleared).unwrap_or(i64::MAX);
                        if identities == 0 && speakers == 0 {
                            continue;
                        }
                        sqlx::query("INSERT INTO audit_log (at, actor, action, detail) VALUES ($1, $2, $3, $4)")
                            .bind(now)
                            .bind(actor)
                            .bind("retention.purge")
                            .bind(sqlx::types::Json(serde_json::json!({
                                "campaign": id, "identities": identities, "speakers": speakers,
                                "due_at": due_at,
                            })))
                            .execute(&mut *tx)
                            .await?;
                        tx.commit().await?;
                    }
                    out.push(CampaignPurge {
                        campaign_id: *id,
                        slug: slug.clone(),
                        closed_at: *closed_at,
                        due_at: *due_at,
                        identities,
                        speakers,
                    });
                }
                Ok(out)
            }
        }
    };
}
use retention_store_impl;

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    #[test]
    fn identities_are_due_the_given_months_after_the_close() {
        let closed = Utc
            .with_ymd_and_hms(2025, 1, 31, 17, 0, 0)
            .single()
            .expect("time");
        assert_eq!(
            due_at(closed, 12),
            Utc.with_ymd_and_hms(2026, 1, 31, 17, 0, 0)
                .single()
                .expect("time")
        );
        assert_eq!(
            due_at(closed, 1),
            Utc.with_ymd_and_hms(2025, 2, 28, 17, 0, 0)
                .single()
                .expect("time"),
            "the end of a shorter month"
        );
    }
}
