//! Storage of what the synthesis needs beyond the dialog: meetings, opinions officials
//! record or import (with their provenance and speakers, kept apart), stances, exact
//! duplicates, and the GROUP BY queries the report is built from.
//!
//! Both backends run the same SQL (`$n` parameters work on SQLite too), written once in
//! [`synthesis_store_impl!`] and instantiated in `sqlite.rs` and `postgres.rs`, which say how
//! to read, how to start a write transaction, how to write JSON into `audit_log.detail` and
//! how to turn a timestamp into a Vietnamese calendar day. Every change an official makes
//! writes its `audit_log` line in the transaction that makes it.

mod postgres;
mod sqlite;

use async_trait::async_trait;

use futures::stream::BoxStream;

use super::StoreResult;
use crate::domain::CampaignId;
use crate::synthesis::report::{Aggregates, CountRow, ExclusionRow};
use crate::synthesis::{Meeting, NewMeeting, RecordBatch, RecordOutcome};

/// The synthesis part of the store. A supertrait of [`super::Store`].
#[async_trait]
pub trait SynthesisStore: Send + Sync {
    /// The meeting with this campaign, name and day, created (and audited) if new. Returns
    /// it and whether it was created.
    async fn upsert_meeting(
        &self,
        meeting: &NewMeeting,
        by: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<(Meeting, bool)>;

    /// The campaign's meetings, oldest first.
    async fn meetings(&self, campaign: CampaignId) -> StoreResult<Vec<Meeting>>;

    /// Stores a batch of recorded or imported opinions (submitted, channel `office`, with
    /// provenance, speaker and stance) in one transaction with its audit line, marks those
    /// that repeat an earlier text of the same person, and returns their ids.
    async fn record_opinions(&self, batch: &RecordBatch) -> StoreResult<RecordOutcome>;

    /// Marks every opinion of the campaign that repeats an earlier text of the same person;
    /// returns how many were newly marked.
    async fn mark_duplicates(&self, campaign: CampaignId) -> StoreResult<u64>;

    /// The synthesis' aggregates (GROUP BY in the database), for the whole campaign or only
    /// the opinions given in `units`.
    async fn synthesis_aggregates(
        &self,
        campaign: CampaignId,
        units: Option<&[String]>,
    ) -> StoreResult<Aggregates>;

    /// Records a built synthesis (its counts as JSON) with its audit line; returns its id.
    async fn save_build(
        &self,
        campaign: CampaignId,
        unit: Option<&str>,
        summary: &serde_json::Value,
        by: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<i64>;

    /// Appends one audit line (an export), in a transaction of its own.
    async fn synthesis_audited(
        &self,
        action: &str,
        detail: &serde_json::Value,
        by: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<()>;

    /// Every kept opinion of the campaign (or of `units`), streamed in report order: topic,
    /// section, near-duplicate group, id. Never holds them all in memory.
    fn kept_opinions<'a>(
        &'a self,
        campaign: CampaignId,
        units: Option<Vec<String>>,
    ) -> BoxStream<'a, StoreResult<ListedOpinion>>;

    /// Kept opinions of one topic that are not in a group an official confirmed: (id, text),
    /// by id (the input of near-duplicate grouping).
    async fn grouping_input(
        &self,
        campaign: CampaignId,
        topic: &str,
    ) -> StoreResult<Vec<(i64, String)>>;

    /// Replaces the campaign's automatic (unconfirmed) groups with these, audited; returns
    /// how many groups were written.
    async fn replace_groups(
        &self,
        campaign: CampaignId,
        groups: &[crate::synthesis::similar::Found],
        by: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<usize>;

    /// Puts these opinions into one new group an official confirms (merging, or grouping by
    /// hand), taking them out of their groups; groups left with fewer than two members are
    /// dissolved. The representative is the one given, else the first. Audited.
    async fn regroup(
        &self,
        campaign: CampaignId,
        members: &[i64],
        representative: Option<i64>,
        by: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<i64>;

    /// Takes these opinions out of their groups (splitting them off); the groups they leave
    /// are confirmed, or dissolved when fewer than two members remain. Audited; returns how
    /// many opinions left a group.
    async fn ungroup(
        &self,
        campaign: CampaignId,
        members: &[i64],
        by: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<u64>;

    /// Makes a member its group's representative (chosen by an official). Audited; `false`
    /// when the opinion is not in that group.
    async fn choose_representative(
        &self,
        group: i64,
        opinion: i64,
        by: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<bool>;

    /// The campaign's groups with their members, largest first.
    async fn opinion_groups(
        &self,
        campaign: CampaignId,
    ) -> StoreResult<Vec<crate::synthesis::GroupView>>;

    /// The id of the campaign's opinion with this reference.
    async fn opinion_by_reference(
        &self,
        campaign: CampaignId,
        reference: &str,
    ) -> StoreResult<Option<i64>>;

    /// Changes an opinion's classification, audited with what it was before; `false` when
    /// there is no such opinion (or no such extra topic to take back).
    async fn classify(
        &self,
        opinion: i64,
        change: &crate::synthesis::Classification,
        by: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<bool>;

    /// Staff users with the unit-lead role who are scoped to a unit and not disabled, by
    /// name: who a unit's own report goes back to.
    async fn unit_leads(&self) -> StoreResult<Vec<UnitLead>>;

    /// Queues per-unit reports, one per lead to deliver to, with the `synthesis.send` audit
    /// line (`detail` names what was queued and the units left without a report) in the same
    /// transaction; returns their ids.
    async fn queue_unit_reports(
        &self,
        campaign: CampaignId,
        reports: &[NewUnitReport],
        detail: &serde_json::Value,
        by: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<Vec<i64>>;

    /// Takes the queued per-unit reports (at most `limit`), each once: pending ones, and those
    /// a process took before `stale` without finishing (it died).
    async fn take_unit_reports(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        stale: chrono::DateTime<chrono::Utc>,
        limit: i64,
    ) -> StoreResult<Vec<UnitReport>>;

    /// Records a taken report as sent (`error` = `None`) or failed, with its audit line
    /// (`synthesis.send.delivered` or `synthesis.send.failed`) in the same transaction.
    async fn finish_unit_report(
        &self,
        id: i64,
        error: Option<&str>,
        at: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<()>;

    /// The campaign's per-unit reports and where each stands, oldest first.
    async fn unit_report_states(&self, campaign: CampaignId) -> StoreResult<Vec<UnitReportState>>;

    /// The names (and phone or username) known for the campaign's opinions: speakers of
    /// meetings and imports, and residents who chose to be named. Only named exports read it.
    async fn opinion_names(
        &self,
        campaign: CampaignId,
    ) -> StoreResult<std::collections::HashMap<i64, (Option<String>, Option<String>)>>;
}

/// A staff user who leads one unit (role `unit_lead`, scoped to it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UnitLead {
    /// Staff user id.
    pub id: i64,
    /// Staff user name.
    pub name: String,
    /// The unit they lead.
    pub unit: String,
    /// Their linked Telegram account, where files can be sent.
    pub telegram_user_id: Option<i64>,
    /// Their linked Zalo account (the Zalo Bot API carries no files).
    pub zalo_user_id: Option<String>,
}

/// A unit's report to queue for one of its leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUnitReport {
    /// The unit the report is for.
    pub unit: String,
    /// The lead it goes to.
    pub staff_id: i64,
    /// The file's name.
    pub file_name: String,
    /// The file.
    pub bytes: Vec<u8>,
    /// Kept opinions it holds.
    pub opinions: i64,
}

/// A queued unit report, taken for delivery.
#[derive(Clone, PartialEq, Eq)]
pub struct UnitReport {
    /// Its id.
    pub id: i64,
    /// The campaign.
    pub campaign: CampaignId,
    /// The unit the report is for.
    pub unit: String,
    /// The lead it goes to.
    pub staff_id: i64,
    /// The file's name.
    pub file_name: String,
    /// The file.
    pub bytes: Vec<u8>,
    /// Kept opinions it holds.
    pub opinions: i64,
}

impl std::fmt::Debug for UnitReport {
    /// Without the file's bytes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnitReport")
            .field("id", &self.id)
            .field("campaign", &self.campaign)
            .field("unit", &self.unit)
            .field("staff_id", &self.staff_id)
            .field("file_name", &self.file_name)
            .field("size", &self.bytes.len())
            .finish()
    }
}

/// Where a queued unit report stands.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UnitReportState {
    /// Its id.
    pub id: i64,
    /// The unit.
    pub unit: String,
    /// The lead's name.
    pub staff: String,
    /// pending, sending, sent or failed.
    pub state: String,
    /// Why it failed.
    pub error: Option<String>,
}

/// One kept opinion as the full listing and the exports show it. Holds nothing that
/// identifies the person.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ListedOpinion {
    /// Database id.
    pub id: i64,
    /// Its reference.
    pub reference: String,
    /// Topic code.
    pub topic: String,
    /// Section reference.
    pub section: Option<String>,
    /// Unit code.
    pub unit: Option<String>,
    /// Target group code.
    pub target_group: Option<String>,
    /// Source as reports name it.
    pub source: String,
    /// When it was given.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// The text.
    pub text: String,
    /// The stance an official set.
    pub stance: Option<String>,
    /// Its near-duplicate group, if any.
    pub group: Option<i64>,
    /// Whether it is its group's representative.
    pub representative: bool,
}

/// A `ListedOpinion` row.
type ListedRow = (
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    chrono::DateTime<chrono::Utc>,
    String,
    Option<String>,
    Option<i64>,
    Option<i64>,
);

fn listed_from_row(
    (
        id,
        reference,
        topic,
        section,
        unit,
        target_group,
        source,
        created_at,
        text,
        stance,
        group,
        rep,
    ): ListedRow,
) -> ListedOpinion {
    ListedOpinion {
        id,
        reference,
        topic,
        section,
        unit,
        target_group,
        source,
        created_at,
        text,
        stance,
        group,
        representative: rep == Some(id),
    }
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

/// The listing's query: kept opinions in report order.
fn listing_sql(units: Option<&[String]>) -> String {
    format!(
        "SELECT s.id, s.reference, s.topic_code, s.section_ref, s.unit_code, s.target_group, \
         s.source, s.created_at, s.text, s.stance, gm.group_id, g.representative_id \
         FROM synthesis_opinions s \
         LEFT JOIN topics t ON t.campaign_id = s.campaign_id AND t.code = s.topic_code \
         LEFT JOIN opinion_group_members gm ON gm.opinion_id = s.id \
         LEFT JOIN opinion_groups g ON g.id = gm.group_id \
         WHERE s.campaign_id = $1 AND s.exclusion IS NULL{} \
         ORDER BY t.position, s.topic_code, COALESCE(s.section_ref, ''), \
         COALESCE(gm.group_id, 0), s.id",
        unit_filter(units, 2).replace("unit_code", "s.unit_code")
    )
}

/// One row of the aggregate query: which grouping it belongs to (`GROUP_*`), exclusion,
/// moderator's reason, topic, section, unit, target group, source, day, stance, count.
pub(crate) type AggRow = (
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
);

/// Rows by exclusion, reason, topic, section, unit, target group and source.
const GROUP_COUNTS: i64 = 7;
/// Rows by exclusion and day.
const GROUP_DAYS: i64 = 11;
/// Rows by exclusion, topic and stance.
const GROUP_STANCES: i64 = 13;
/// The one row of participants.
const GROUP_PARTICIPANTS: i64 = 14;

/// The campaign's opinions (or those of the filtered units) as the aggregate query reads
/// them from `synthesis_opinions`: the day only for counted ones, the moderator's reason
/// only for hidden ones.
fn aggregate_base(filter: &str, day: &str) -> String {
    format!(
        "SELECT exclusion, CASE WHEN exclusion = 'hidden' THEN moderation_reason END AS detail, \
         topic_code, section_ref, unit_code, target_group, source, \
         CASE WHEN exclusion IS NULL THEN {day} END AS day, stance, person \
         FROM synthesis_opinions WHERE campaign_id = $1{filter}"
    )
}

/// The synthesis' aggregates on Postgres: one scan of the view, every count in one
/// `GROUPING SETS` (hashed side by side). `GROUPING(source, day, stance, named)` names the set
/// (the `GROUP_*` constants). Participants are the anonymous recorded opinions (whose person
/// is the opinion itself, `o<id>`, so each is distinct) plus the distinct other persons,
/// so the distinct count runs only over people who can repeat themselves.
pub(crate) fn aggregate_sql_pg(filter: &str, day: &str) -> String {
    format!(
        "WITH g AS (SELECT CAST(GROUPING(source, day, stance, named) AS BIGINT) AS gid, \
         exclusion, detail, topic_code, section_ref, unit_code, target_group, source, day, \
         stance, named, count(*) AS n \
         FROM (SELECT b.*, CASE WHEN exclusion IS NULL AND person NOT LIKE 'o%' \
               THEN person END AS named FROM ({base}) b) s \
         GROUP BY GROUPING SETS ( \
           (exclusion, detail, topic_code, section_ref, unit_code, target_group, source), \
           (exclusion, day), (exclusion, topic_code, stance), (exclusion, named))) \
         SELECT gid, exclusion, detail, topic_code, section_ref, unit_code, target_group, \
         source, day, stance, n FROM g WHERE gid <> {GROUP_PARTICIPANTS} \
         UNION ALL \
         SELECT {GROUP_PARTICIPANTS}, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, \
         CAST(COALESCE(sum(CASE WHEN named IS NULL THEN n ELSE 1 END), 0) AS BIGINT) \
         FROM g WHERE gid = {GROUP_PARTICIPANTS} AND exclusion IS NULL",
        base = aggregate_base(filter, day)
    )
}

/// The same rows on SQLite, which has no `GROUPING SETS`: the view is read once into a
/// materialised CTE and grouped four times.
pub(crate) fn aggregate_sql_sqlite(filter: &str, day: &str) -> String {
    format!(
        "WITH s AS MATERIALIZED ({base}) \
         SELECT {GROUP_COUNTS}, exclusion, detail, topic_code, section_ref, unit_code, \
         target_group, source, NULL, NULL, count(*) FROM s \
         GROUP BY exclusion, detail, topic_code, section_ref, unit_code, target_group, source \
         UNION ALL \
         SELECT {GROUP_DAYS}, NULL, NULL, NULL, NULL, NULL, NULL, NULL, day, NULL, count(*) \
         FROM s WHERE exclusion IS NULL GROUP BY day \
         UNION ALL \
         SELECT {GROUP_STANCES}, NULL, NULL, topic_code, NULL, NULL, NULL, NULL, NULL, stance, \
         count(*) FROM s WHERE exclusion IS NULL GROUP BY topic_code, stance \
         UNION ALL \
         SELECT {GROUP_PARTICIPANTS}, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, \
         count(DISTINCT person) FROM s WHERE exclusion IS NULL",
        base = aggregate_base(filter, day)
    )
}

/// The aggregate rows sorted into what [`Aggregates`] holds (labels and agreements apart).
pub(crate) struct Folded {
    /// Kept opinions by topic × section × unit × target group × source.
    pub counts: Vec<CountRow>,
    /// Kept opinions per day.
    pub days: Vec<(String, i64)>,
    /// Excluded opinions by reason.
    pub exclusions: Vec<ExclusionRow>,
    /// Kept opinions by topic and stance.
    pub stances: Vec<(String, Option<String>, i64)>,
    /// Kept opinions.
    pub opinions: i64,
    /// Distinct people who gave them.
    pub participants: i64,
}

/// Sorts the aggregate query's rows: counted opinions by their five dimensions, by day and by
/// stance; excluded ones summed by reason (and the moderator's reason). Every list comes out
/// in a fixed order, whichever way the database grouped.
pub(crate) fn fold_aggregates(rows: Vec<AggRow>) -> Folded {
    use std::collections::BTreeMap;
    let mut counts = Vec::new();
    let mut days = Vec::new();
    let mut stances = Vec::new();
    let mut excluded: BTreeMap<(String, Option<String>), i64> = BTreeMap::new();
    let mut participants = 0;
    for (gid, exclusion, detail, topic, section, unit, group, source, day, stance, n) in rows {
        match (gid, exclusion) {
            (GROUP_COUNTS, Some(reason)) => *excluded.entry((reason, detail)).or_default() += n,
            (GROUP_COUNTS, None) => counts.push(CountRow {
                topic: topic.unwrap_or_default(),
                section,
                unit,
                target_group: group,
                source: source.unwrap_or_default(),
                opinions: n,
            }),
            (GROUP_DAYS, None) => days.push((day.unwrap_or_default(), n)),
            (GROUP_STANCES, None) => stances.push((topic.unwrap_or_default(), stance, n)),
            (GROUP_PARTICIPANTS, None) => participants += n,
            _ => {}
        }
    }
    counts.sort_by(|a, b| {
        (&a.topic, &a.section, &a.unit, &a.target_group, &a.source).cmp(&(
            &b.topic,
            &b.section,
            &b.unit,
            &b.target_group,
            &b.source,
        ))
    });
    days.sort();
    stances.sort();
    Folded {
        opinions: counts.iter().map(|r| r.opinions).sum(),
        counts,
        days,
        exclusions: excluded
            .into_iter()
            .map(|((reason, detail), opinions)| ExclusionRow {
                reason,
                detail,
                opinions,
            })
            .collect(),
        stances,
        participants,
    }
}

/// Recorded opinions per multi-row statement (11 parameters each: well under both
/// backends' limits).
const RECORD_CHUNK: usize = 1000;

const INSERT_STANCE: &str = "INSERT INTO opinion_stances (opinion_id, stance, set_by, set_at) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (opinion_id) DO UPDATE SET stance = excluded.stance, \
     set_by = excluded.set_by, set_at = excluded.set_at";

/// The opinions of people who gave more than one, for the exact-duplicate check.
const REPEATERS: &str = "SELECT id, person, text FROM synthesis_opinions \
     WHERE campaign_id = $1 AND COALESCE(exclusion, '') NOT IN ('withdrawn', 'draft') \
     AND person IN (SELECT person FROM synthesis_opinions WHERE campaign_id = $1 \
                    GROUP BY person HAVING count(*) > 1) \
     ORDER BY id";

const INSERT_DUPLICATE: &str = "INSERT INTO opinion_duplicates (opinion_id, duplicate_of) \
     VALUES ($1, $2) ON CONFLICT DO NOTHING";

const MEETING_COLUMNS: &str =
    "id, campaign_id, name, held_on, place, unit_code, target_group, recorder";

/// A `meetings` row as both backends decode it.
type MeetingRow = (
    i64,
    i64,
    String,
    chrono::NaiveDate,
    String,
    Option<String>,
    Option<String>,
    String,
);

fn meeting_from_row(
    (id, campaign_id, name, held_on, place, unit, target_group, recorder): MeetingRow,
) -> Meeting {
    Meeting {
        id,
        meeting: NewMeeting {
            campaign_id,
            name,
            held_on,
            place,
            unit,
            target_group,
            recorder,
        },
    }
}

/// A reference for a recorded opinion: a letter saying where it came from (H: hội nghị, a
/// meeting; N: nhập, an import) and ten random letters and digits, so that a batch never
/// collides with the dialog's six-character references or in practice with itself.
fn fresh_reference(meeting: bool) -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    let prefix = if meeting { 'H' } else { 'N' };
    std::iter::once(prefix)
        .chain((0..10).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char))
        .collect()
}

/// Postgres' settings for the aggregate query, for its transaction only: no JIT (compiling
/// the plan cost more than running it: 1–3 s on a million opinions) and enough memory to
/// hash every grouping set instead of sorting a million rows on disk.
pub(crate) const AGGREGATE_PREP_PG: &[&str] =
    &["SET LOCAL jit = off", "SET LOCAL work_mem = '64MB'"];

/// The one implementation of [`SynthesisStore`], for a store type that has
/// `synthesis_reader(&self) -> &Pool<$db>` and
/// `synthesis_begin(&self) -> StoreResult<Transaction<'static, $db>>`. `$json` is how the
/// backend writes a JSON text into `audit_log.detail` (`$4` on SQLite, `$4::jsonb` on
/// Postgres); `$day` turns `created_at` into a Vietnamese calendar day; `$agg` writes the
/// aggregate query; `$prep` are statements run before it, in its transaction.
macro_rules! synthesis_store_impl {
    ($store:ty, $db:ty, $json:literal, $day:literal, $agg:path, $prep:expr) => {
        #[async_trait::async_trait]
        impl $crate::store::synthesis::SynthesisStore for $store {
            async fn upsert_meeting(
                &self,
                m: &$crate::synthesis::NewMeeting,
                by: &str,
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<($crate::synthesis::Meeting, bool)> {
                use $crate::store::synthesis::*;
                let mut tx = self.synthesis_begin().await?;
                let sql = format!(
                    "SELECT {MEETING_COLUMNS} FROM meetings \
                     WHERE campaign_id = $1 AND name = $2 AND held_on = $3"
                );
                let found: Option<MeetingRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(m.campaign_id)
                    .bind(&m.name)
                    .bind(m.held_on)
                    .fetch_optional(&mut *tx)
                    .await?;
                if let Some(row) = found {
                    return Ok((meeting_from_row(row), false));
                }
                let sql = format!(
                    "INSERT INTO meetings (campaign_id, name, held_on, place, unit_code, \
                     target_group, recorder, created_by, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {MEETING_COLUMNS}"
                );
                let row: MeetingRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(m.campaign_id)
                    .bind(&m.name)
                    .bind(m.held_on)
                    .bind(&m.place)
                    .bind(&m.unit)
                    .bind(&m.target_group)
                    .bind(&m.recorder)
                    .bind(by)
                    .bind(at)
                    .fetch_one(&mut *tx)
                    .await?;
                let meeting = meeting_from_row(row);
                let detail = serde_json::json!({ "meeting": meeting });
                self.synthesis_audit(&mut tx, at, by, "synthesis.meeting.create", &detail)
                    .await?;
                tx.commit().await?;
                Ok((meeting, true))
            }

            async fn meetings(
                &self,
                campaign: $crate::domain::CampaignId,
            ) -> $crate::store::StoreResult<Vec<$crate::synthesis::Meeting>> {
                use $crate::store::synthesis::*;
                let sql = format!(
                    "SELECT {MEETING_COLUMNS} FROM meetings WHERE campaign_id = $1 \
                     ORDER BY held_on, id"
                );
                let rows: Vec<MeetingRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(campaign)
                    .fetch_all(self.synthesis_reader())
                    .await?;
                Ok(rows.into_iter().map(meeting_from_row).collect())
            }

            async fn record_opinions(
                &self,
                batch: &$crate::synthesis::RecordBatch,
            ) -> $crate::store::StoreResult<$crate::synthesis::RecordOutcome> {
                use $crate::store::synthesis::*;
                let mut tx = self.synthesis_begin().await?;
                let (meeting, file) = (batch.meeting, batch.file.as_deref());
                let (source, action) = match meeting {
                    Some(_) => ("meeting", "opinions.record"),
                    None => ("import", "opinions.import"),
                };
                // Multi-row statements, `RECORD_CHUNK` opinions each: a large import (or the
                // benchmark's million) costs a few statements per thousand rows, not four
                // round trips per row. References are unique, so ids are matched by them.
                let mut ids = Vec::with_capacity(batch.opinions.len());
                for chunk in batch.opinions.chunks(RECORD_CHUNK) {
                    let refs: Vec<String> = chunk
                        .iter()
                        .map(|_| fresh_reference(meeting.is_some()))
                        .collect();
                    let persons: Vec<Option<String>> =
                        chunk.iter().map(|o| o.speaker.person_key()).collect();
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO opinions (reference, campaign_id, contact_id, topic_code,                          section_ref, unit_code, target_group, channel, source, anonymous, text,                          status, created_at, submitted_at) ",
                    );
                    q.push_values(chunk.iter().zip(&refs).zip(&persons), |mut row, ((o, r), p)| {
                        row.push_bind(r.as_str())
                            .push_bind(batch.campaign_id)
                            .push("NULL")
                            .push_bind(o.topic.as_str())
                            .push_bind(o.section.as_deref())
                            .push_bind(o.unit.as_deref())
                            .push_bind(o.target_group.as_deref())
                            .push("'office'")
                            .push_bind(source)
                            .push_bind(p.is_none())
                            .push_bind(o.text.as_str())
                            .push("'submitted'")
                            .push_bind(o.given_at)
                            .push_bind(batch.at);
                    });
                    q.push(" RETURNING id, reference");
                    let returned: Vec<(i64, String)> =
                        q.build_query_as().fetch_all(&mut *tx).await?;
                    let by_ref: std::collections::HashMap<&str, i64> =
                        returned.iter().map(|(id, r)| (r.as_str(), *id)).collect();
                    let chunk_ids: Vec<i64> = refs
                        .iter()
                        .map(|r| by_ref.get(r.as_str()).copied())
                        .collect::<Option<_>>()
                        .ok_or_else(|| {
                            $crate::store::StoreError::Corrupt(
                                "an inserted opinion's id was not returned".to_owned(),
                            )
                        })?;
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO opinion_provenance (opinion_id, meeting_id, source_file,                          source_row, recorded_by, recorded_at, origin) ",
                    );
                    q.push_values(chunk.iter().zip(&chunk_ids), |mut row, (o, id)| {
                        row.push_bind(*id)
                            .push_bind(meeting)
                            .push_bind(file)
                            .push_bind(o.row)
                            .push_bind(batch.actor.as_str())
                            .push_bind(batch.at)
                            .push_bind(o.origin.as_deref());
                    });
                    q.build().execute(&mut *tx).await?;
                    let speakers: Vec<(i64, &$crate::synthesis::RecordedOpinion, &String)> = chunk
                        .iter()
                        .zip(&chunk_ids)
                        .zip(&persons)
                        .filter_map(|((o, id), p)| p.as_ref().map(|p| (*id, o, p)))
                        .collect();
                    if !speakers.is_empty() {
                        let mut q = sqlx::QueryBuilder::<$db>::new(
                            "INSERT INTO opinion_speakers (opinion_id, name, phone, person_key) ",
                        );
                        q.push_values(&speakers, |mut row, (id, o, p)| {
                            row.push_bind(*id)
                                .push_bind(o.speaker.name.as_deref())
                                .push_bind(o.speaker.phone.as_deref())
                                .push_bind(p.as_str());
                        });
                        q.build().execute(&mut *tx).await?;
                    }
                    let stances: Vec<(i64, &'static str)> = chunk
                        .iter()
                        .zip(&chunk_ids)
                        .filter_map(|(o, id)| o.stance.map(|s| (*id, s.as_str())))
                        .collect();
                    if !stances.is_empty() {
                        let mut q = sqlx::QueryBuilder::<$db>::new(
                            "INSERT INTO opinion_stances (opinion_id, stance, set_by, set_at) ",
                        );
                        q.push_values(&stances, |mut row, (id, st)| {
                            row.push_bind(*id)
                                .push_bind(*st)
                                .push_bind(batch.actor.as_str())
                                .push_bind(batch.at);
                        });
                        q.build().execute(&mut *tx).await?;
                    }
                    ids.extend(chunk_ids);
                }
                // Only a named speaker can repeat themselves: a batch without one adds no
                // duplicate (and a million-row import skips the check).
                let duplicates = if batch
                    .opinions
                    .iter()
                    .any(|o| o.speaker.person_key().is_some())
                {
                    self.synthesis_duplicates(&mut tx, batch.campaign_id).await?
                } else {
                    0
                };
                let detail = serde_json::json!({
                    "campaign": batch.campaign_id,
                    "meeting": meeting,
                    "file": file,
                    "opinions": ids.len(),
                    "first": ids.first(),
                    "last": ids.last(),
                    "duplicates": duplicates,
                });
                self.synthesis_audit(&mut tx, batch.at, &batch.actor, action, &detail)
                    .await?;
                tx.commit().await?;
                Ok($crate::synthesis::RecordOutcome { ids, duplicates })
            }

            async fn mark_duplicates(
                &self,
                campaign: $crate::domain::CampaignId,
            ) -> $crate::store::StoreResult<u64> {
                let mut tx = self.synthesis_begin().await?;
                let n = self.synthesis_duplicates(&mut tx, campaign).await?;
                tx.commit().await?;
                Ok(n)
            }

            async fn synthesis_aggregates(
                &self,
                campaign: $crate::domain::CampaignId,
                units: Option<&[String]>,
            ) -> $crate::store::StoreResult<$crate::synthesis::report::Aggregates> {
                use $crate::store::synthesis::*;
                let filter = unit_filter(units, 2);
                let pool = self.synthesis_reader();
                macro_rules! q {
                    ($row:ty, $sql:expr) => {{
                        let mut q = sqlx::query_as::<_, $row>(sqlx::AssertSqlSafe($sql))
                            .bind(campaign);
                        for u in units.unwrap_or_default() {
                            q = q.bind(u);
                        }
                        q.fetch_all(pool).await?
                    }};
                }
                type Count5 = (String, Option<String>, Option<String>, Option<String>, String, i64);
                let to_rows = |rows: Vec<Count5>| -> Vec<CountRow> {
                    rows.into_iter()
                        .map(|(topic, section, unit, target_group, source, opinions)| CountRow {
                            topic,
                            section,
                            unit,
                            target_group,
                            source,
                            opinions,
                        })
                        .collect()
                };
                let labels = to_rows(q!(
                    Count5,
                    format!(
                        "SELECT l.topic_code, NULLIF(l.section_ref, ''), unit_code, \
                         target_group, source, count(*) FROM synthesis_opinions s \
                         JOIN opinion_labels l ON l.opinion_id = s.id \
                         WHERE campaign_id = $1 AND exclusion IS NULL{filter} \
                         GROUP BY l.topic_code, NULLIF(l.section_ref, ''), unit_code, \
                         target_group, source"
                    )
                ));
                // Counts, days, stances, exclusions and participants in one pass over the
                // view (see `aggregate_sql`); the unit roll-up is done on these rows.
                // In a read transaction of its own, so that the backend's settings for
                // this one query (`$prep`) end with it.
                let rows: Vec<AggRow> = {
                    let mut tx = pool.begin().await?;
                    for statement in $prep {
                        sqlx::query(*statement).execute(&mut *tx).await?;
                    }
                    let mut q = sqlx::query_as::<_, AggRow>(sqlx::AssertSqlSafe($agg(&filter, $day)))
                        .bind(campaign);
                    for u in units.unwrap_or_default() {
                        q = q.bind(u);
                    }
                    let rows = q.fetch_all(&mut *tx).await?;
                    tx.commit().await?;
                    rows
                };
                let Folded {
                    counts,
                    days,
                    exclusions,
                    stances,
                    opinions,
                    participants,
                } = fold_aggregates(rows);
                // Agreements given as replies in groups (an emoji, "đồng ý"): counted apart.
                let agreements =
                    $crate::store::replies::RepliesStore::agreement_counts(self, campaign, units)
                        .await?;
                Ok(Aggregates {
                    agreements,
                    counts,
                    labels,
                    days,
                    exclusions,
                    stances,
                    opinions,
                    participants,
                })
            }

            async fn save_build(
                &self,
                campaign: $crate::domain::CampaignId,
                unit: Option<&str>,
                summary: &serde_json::Value,
                by: &str,
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<i64> {
                let mut tx = self.synthesis_begin().await?;
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO synthesis_builds (campaign_id, unit_code, built_by, built_at, \
                     summary) VALUES ($1, $2, $3, $4, $5) RETURNING id",
                )
                .bind(campaign)
                .bind(unit)
                .bind(by)
                .bind(at)
                .bind(summary.to_string())
                .fetch_one(&mut *tx)
                .await?;
                let detail = serde_json::json!({
                    "campaign": campaign,
                    "unit": unit,
                    "build": id,
                    "opinions": summary.get("opinions"),
                    "excluded": summary.get("excluded"),
                });
                self.synthesis_audit(&mut tx, at, by, "synthesis.build", &detail)
                    .await?;
                tx.commit().await?;
                Ok(id)
            }

            async fn synthesis_audited(
                &self,
                action: &str,
                detail: &serde_json::Value,
                by: &str,
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.synthesis_begin().await?;
                self.synthesis_audit(&mut tx, at, by, action, detail).await?;
                tx.commit().await?;
                Ok(())
            }

            fn kept_opinions<'a>(
                &'a self,
                campaign: $crate::domain::CampaignId,
                units: Option<Vec<String>>,
            ) -> futures::stream::BoxStream<
                'a,
                $crate::store::StoreResult<$crate::store::synthesis::ListedOpinion>,
            > {
                use futures::StreamExt as _;
                use $crate::store::synthesis::*;
                let sql = listing_sql(units.as_deref());
                let mut q = sqlx::query_as::<_, ListedRow>(sqlx::AssertSqlSafe(sql)).bind(campaign);
                for u in units.unwrap_or_default() {
                    q = q.bind(u);
                }
                q.fetch(self.synthesis_reader())
                    .map(|r| r.map(listed_from_row).map_err($crate::store::StoreError::from))
                    .boxed()
            }

            async fn grouping_input(
                &self,
                campaign: $crate::domain::CampaignId,
                topic: &str,
            ) -> $crate::store::StoreResult<Vec<(i64, String)>> {
                Ok(sqlx::query_as(
                    "SELECT s.id, s.text FROM synthesis_opinions s \
                     WHERE s.campaign_id = $1 AND s.topic_code = $2 AND s.exclusion IS NULL \
                     AND NOT EXISTS (SELECT 1 FROM opinion_group_members m \
                         JOIN opinion_groups g ON g.id = m.group_id \
                         WHERE m.opinion_id = s.id AND g.confirmed) \
                     ORDER BY s.id",
                )
                .bind(campaign)
                .bind(topic)
                .fetch_all(self.synthesis_reader())
                .await?)
            }

            async fn replace_groups(
                &self,
                campaign: $crate::domain::CampaignId,
                groups: &[$crate::synthesis::similar::Found],
                by: &str,
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<usize> {
                let mut tx = self.synthesis_begin().await?;
                sqlx::query(
                    "DELETE FROM opinion_group_members WHERE group_id IN \
                     (SELECT id FROM opinion_groups WHERE campaign_id = $1 AND NOT confirmed)",
                )
                .bind(campaign)
                .execute(&mut *tx)
                .await?;
                sqlx::query("DELETE FROM opinion_groups WHERE campaign_id = $1 AND NOT confirmed")
                    .bind(campaign)
                    .execute(&mut *tx)
                    .await?;
                let mut grouped = 0usize;
                for g in groups {
                    let id = self
                        .synthesis_new_group(&mut tx, campaign, Some(g.representative), None, false, at)
                        .await?;
                    self.synthesis_add_members(&mut tx, id, &g.members).await?;
                    grouped += g.members.len();
                }
                let detail = serde_json::json!({
                    "campaign": campaign,
                    "groups": groups.len(),
                    "opinions": grouped,
                });
                self.synthesis_audit(&mut tx, at, by, "opinions.group.build", &detail)
                    .await?;
                tx.commit().await?;
                Ok(groups.len())
            }

            async fn regroup(
                &self,
                campaign: $crate::domain::CampaignId,
                members: &[i64],
                representative: Option<i64>,
                by: &str,
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<i64> {
                let mut tx = self.synthesis_begin().await?;
                let left = self.synthesis_take_out(&mut tx, members).await?;
                let rep = representative.or(members.first().copied());
                let chosen = representative.map(|_| by);
                let id = self
                    .synthesis_new_group(&mut tx, campaign, rep, chosen, true, at)
                    .await?;
                self.synthesis_add_members(&mut tx, id, members).await?;
                self.synthesis_settle(&mut tx, &left).await?;
                let detail = serde_json::json!({
                    "campaign": campaign,
                    "group": id,
                    "members": members,
                    "representative": rep,
                    "from": left,
                });
                self.synthesis_audit(&mut tx, at, by, "opinions.group.merge", &detail)
                    .await?;
                tx.commit().await?;
                Ok(id)
            }

            async fn ungroup(
                &self,
                campaign: $crate::domain::CampaignId,
                members: &[i64],
                by: &str,
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<u64> {
                let mut tx = self.synthesis_begin().await?;
                let left = self.synthesis_take_out(&mut tx, members).await?;
                let moved = left.len() as u64;
                let mut groups = left.clone();
                groups.sort_unstable();
                groups.dedup();
                for g in &groups {
                    sqlx::query("UPDATE opinion_groups SET confirmed = $2 WHERE id = $1")
                        .bind(g)
                        .bind(true)
                        .execute(&mut *tx)
                        .await?;
                }
                self.synthesis_settle(&mut tx, &groups).await?;
                let detail = serde_json::json!({
                    "campaign": campaign,
                    "opinions": members,
                    "from": groups,
                });
                self.synthesis_audit(&mut tx, at, by, "opinions.group.split", &detail)
                    .await?;
                tx.commit().await?;
                Ok(moved)
            }

            async fn choose_representative(
                &self,
                group: i64,
                opinion: i64,
                by: &str,
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.synthesis_begin().await?;
                let done = sqlx::query(
                    "UPDATE opinion_groups SET representative_id = $2, chosen_by = $3, \
                     confirmed = $4 WHERE id = $1 AND EXISTS (SELECT 1 FROM \
                     opinion_group_members m WHERE m.group_id = $1 AND m.opinion_id = $2)",
                )
                .bind(group)
                .bind(opinion)
                .bind(by)
                .bind(true)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    > 0;
                if done {
                    let detail = serde_json::json!({ "group": group, "representative": opinion });
                    self.synthesis_audit(&mut tx, at, by, "opinions.group.represent", &detail)
                        .await?;
                    tx.commit().await?;
                }
                Ok(done)
            }

            async fn opinion_groups(
                &self,
                campaign: $crate::domain::CampaignId,
            ) -> $crate::store::StoreResult<Vec<$crate::synthesis::GroupView>> {
                let rows: Vec<(i64, Option<i64>, Option<String>, bool, i64, String, String, String)> =
                    sqlx::query_as(
                        "SELECT g.id, g.representative_id, g.chosen_by, g.confirmed, o.id, \
                         o.reference, o.topic_code, o.text FROM opinion_groups g \
                         JOIN opinion_group_members m ON m.group_id = g.id \
                         JOIN opinions o ON o.id = m.opinion_id \
                         WHERE g.campaign_id = $1 ORDER BY g.id, o.id",
                    )
                    .bind(campaign)
                    .fetch_all(self.synthesis_reader())
                    .await?;
                let mut groups: Vec<$crate::synthesis::GroupView> = Vec::new();
                for (id, rep, chosen_by, confirmed, oid, reference, topic, text) in rows {
                    if groups.last().map(|g| g.id) != Some(id) {
                        groups.push($crate::synthesis::GroupView {
                            id,
                            representative: rep,
                            chosen_by,
                            confirmed,
                            members: Vec::new(),
                        });
                    }
                    if let Some(g) = groups.last_mut() {
                        g.members.push((oid, reference, topic, text));
                    }
                }
                groups.sort_by(|a, b| b.members.len().cmp(&a.members.len()).then(a.id.cmp(&b.id)));
                Ok(groups)
            }

            async fn opinion_by_reference(
                &self,
                campaign: $crate::domain::CampaignId,
                reference: &str,
            ) -> $crate::store::StoreResult<Option<i64>> {
                let row: Option<(i64,)> = sqlx::query_as(
                    "SELECT id FROM opinions WHERE campaign_id = $1 AND upper(reference) = upper($2)",
                )
                .bind(campaign)
                .bind(reference.trim())
                .fetch_optional(self.synthesis_reader())
                .await?;
                Ok(row.map(|r| r.0))
            }

            async fn classify(
                &self,
                opinion: i64,
                change: &$crate::synthesis::Classification,
                by: &str,
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<bool> {
                use $crate::synthesis::Classification;
                let mut tx = self.synthesis_begin().await?;
                let before: Option<(String, Option<String>, Option<String>)> = sqlx::query_as(
                    "SELECT o.topic_code, o.section_ref, st.stance FROM opinions o \
                     LEFT JOIN opinion_stances st ON st.opinion_id = o.id WHERE o.id = $1",
                )
                .bind(opinion)
                .fetch_optional(&mut *tx)
                .await?;
                let Some((topic, section, stance)) = before else {
                    return Ok(false);
                };
                let changed = match change {
                    Classification::Topic { topic, section } => sqlx::query(
                        "UPDATE opinions SET topic_code = $2, section_ref = $3 WHERE id = $1",
                    )
                    .bind(opinion)
                    .bind(topic)
                    .bind(section)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected(),
                    Classification::AddLabel { topic, section } => sqlx::query(
                        "INSERT INTO opinion_labels (opinion_id, topic_code, section_ref, \
                         added_by, added_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                    )
                    .bind(opinion)
                    .bind(topic)
                    .bind(section.as_deref().unwrap_or(""))
                    .bind(by)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected(),
                    Classification::RemoveLabel { topic, section } => sqlx::query(
                        "DELETE FROM opinion_labels WHERE opinion_id = $1 AND topic_code = $2 \
                         AND section_ref = $3",
                    )
                    .bind(opinion)
                    .bind(topic)
                    .bind(section.as_deref().unwrap_or(""))
                    .execute(&mut *tx)
                    .await?
                    .rows_affected(),
                    Classification::Stance { stance: Some(s) } => sqlx::query(
                        $crate::store::synthesis::INSERT_STANCE,
                    )
                    .bind(opinion)
                    .bind(s.as_str())
                    .bind(by)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected(),
                    Classification::Stance { stance: None } => {
                        sqlx::query("DELETE FROM opinion_stances WHERE opinion_id = $1")
                            .bind(opinion)
                            .execute(&mut *tx)
                            .await?;
                        1
                    }
                };
                if changed == 0 {
                    return Ok(false);
                }
                let detail = serde_json::json!({
                    "opinion": opinion,
                    "change": change,
                    "before": { "topic": topic, "section": section, "stance": stance },
                });
                self.synthesis_audit(&mut tx, at, by, "opinions.classify", &detail)
                    .await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn unit_leads(
                &self,
            ) -> $crate::store::StoreResult<Vec<$crate::store::synthesis::UnitLead>> {
                let rows: Vec<(i64, String, String, String, Option<i64>, Option<String>)> =
                    sqlx::query_as(
                        "SELECT id, name, roles, unit_code, telegram_user_id, zalo_user_id \
                         FROM staff_users WHERE disabled_at IS NULL AND unit_code IS NOT NULL \
                         ORDER BY name",
                    )
                    .fetch_all(self.synthesis_reader())
                    .await?;
                Ok(rows
                    .into_iter()
                    .filter(|r| {
                        r.2.split(',')
                            .any(|role| role == $crate::store::announce::Role::UnitLead.as_str())
                    })
                    .map(|(id, name, _, unit, telegram_user_id, zalo_user_id)| {
                        $crate::store::synthesis::UnitLead {
                            id,
                            name,
                            unit,
                            telegram_user_id,
                            zalo_user_id,
                        }
                    })
                    .collect())
            }

            async fn queue_unit_reports(
                &self,
                campaign: $crate::domain::CampaignId,
                reports: &[$crate::store::synthesis::NewUnitReport],
                detail: &serde_json::Value,
                by: &str,
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<Vec<i64>> {
                let mut tx = self.synthesis_begin().await?;
                let mut ids = Vec::with_capacity(reports.len());
                for r in reports {
                    let (id,): (i64,) = sqlx::query_as(
                        "INSERT INTO unit_report_sends (campaign_id, unit_code, staff_id, \
                         file_name, bytes, opinions, requested_by, requested_at, state) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending') RETURNING id",
                    )
                    .bind(campaign)
                    .bind(&r.unit)
                    .bind(r.staff_id)
                    .bind(&r.file_name)
                    .bind(&r.bytes)
                    .bind(r.opinions)
                    .bind(by)
                    .bind(at)
                    .fetch_one(&mut *tx)
                    .await?;
                    ids.push(id);
                }
                let mut detail = detail.clone();
                if let Some(map) = detail.as_object_mut() {
                    map.insert("queued".to_owned(), serde_json::json!(ids));
                }
                self.synthesis_audit(&mut tx, at, by, "synthesis.send", &detail)
                    .await?;
                tx.commit().await?;
                Ok(ids)
            }

            async fn take_unit_reports(
                &self,
                now: chrono::DateTime<chrono::Utc>,
                stale: chrono::DateTime<chrono::Utc>,
                limit: i64,
            ) -> $crate::store::StoreResult<Vec<$crate::store::synthesis::UnitReport>> {
                let mut tx = self.synthesis_begin().await?;
                // The state is checked again on the row itself, so two processes racing for
                // a row take it once (Postgres re-reads the condition after the lock).
                let rows: Vec<(i64, i64, String, i64, String, Vec<u8>, i64)> = sqlx::query_as(
                    "UPDATE unit_report_sends SET state = 'sending', taken_at = $1 \
                     WHERE id IN (SELECT id FROM unit_report_sends WHERE state = 'pending' \
                                  OR (state = 'sending' AND taken_at < $2) ORDER BY id LIMIT $3) \
                     AND (state = 'pending' OR (state = 'sending' AND taken_at < $2)) \
                     RETURNING id, campaign_id, unit_code, staff_id, file_name, bytes, opinions",
                )
                .bind(now)
                .bind(stale)
                .bind(limit)
                .fetch_all(&mut *tx)
                .await?;
                tx.commit().await?;
                let mut taken: Vec<$crate::store::synthesis::UnitReport> = rows
                    .into_iter()
                    .map(|(id, campaign, unit, staff_id, file_name, bytes, opinions)| {
                        $crate::store::synthesis::UnitReport {
                            id,
                            campaign,
                            unit,
                            staff_id,
                            file_name,
                            bytes,
                            opinions,
                        }
                    })
                    .collect();
                taken.sort_by_key(|r| r.id);
                Ok(taken)
            }

            async fn finish_unit_report(
                &self,
                id: i64,
                error: Option<&str>,
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.synthesis_begin().await?;
                let row: Option<(i64, String, String)> = sqlx::query_as(
                    "UPDATE unit_report_sends SET state = $2, finished_at = $3, error = $4 \
                     WHERE id = $1 AND state = 'sending' \
                     RETURNING campaign_id, unit_code, \
                     (SELECT name FROM staff_users s WHERE s.id = staff_id)",
                )
                .bind(id)
                .bind(if error.is_some() { "failed" } else { "sent" })
                .bind(at)
                .bind(error)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some((campaign, unit, staff)) = row {
                    let detail = serde_json::json!({
                        "report": id, "campaign": campaign, "unit": unit, "staff": staff,
                        "error": error,
                    });
                    let action = if error.is_some() {
                        "synthesis.send.failed"
                    } else {
                        "synthesis.send.delivered"
                    };
                    self.synthesis_audit(&mut tx, at, "system", action, &detail)
                        .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn unit_report_states(
                &self,
                campaign: $crate::domain::CampaignId,
            ) -> $crate::store::StoreResult<Vec<$crate::store::synthesis::UnitReportState>> {
                let rows: Vec<(i64, String, String, String, Option<String>)> = sqlx::query_as(
                    "SELECT r.id, r.unit_code, s.name, r.state, r.error \
                     FROM unit_report_sends r JOIN staff_users s ON s.id = r.staff_id \
                     WHERE r.campaign_id = $1 ORDER BY r.id",
                )
                .bind(campaign)
                .fetch_all(self.synthesis_reader())
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(id, unit, staff, state, error)| {
                        $crate::store::synthesis::UnitReportState {
                            id,
                            unit,
                            staff,
                            state,
                            error,
                        }
                    })
                    .collect())
            }

            async fn opinion_names(
                &self,
                campaign: $crate::domain::CampaignId,
            ) -> $crate::store::StoreResult<
                std::collections::HashMap<i64, (Option<String>, Option<String>)>,
            > {
                let rows: Vec<(i64, Option<String>, Option<String>)> = sqlx::query_as(
                    "SELECT o.id, sp.name, sp.phone FROM opinions o \
                     JOIN opinion_speakers sp ON sp.opinion_id = o.id \
                     WHERE o.campaign_id = $1 \
                     UNION ALL \
                     SELECT o.id, i.display_name, i.username FROM opinions o \
                     JOIN identities i ON i.contact_id = o.contact_id \
                     WHERE o.campaign_id = $1 AND NOT o.anonymous",
                )
                .bind(campaign)
                .fetch_all(self.synthesis_reader())
                .await?;
                Ok(rows.into_iter().map(|(id, n, p)| (id, (n, p))).collect())
            }
        }

        impl $store {
            /// Inserts a group inside `tx`; returns its id.
            async fn synthesis_new_group(
                &self,
                tx: &mut sqlx::Transaction<'static, $db>,
                campaign: $crate::domain::CampaignId,
                representative: Option<i64>,
                chosen_by: Option<&str>,
                confirmed: bool,
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<i64> {
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO opinion_groups (campaign_id, representative_id, chosen_by, \
                     confirmed, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
                )
                .bind(campaign)
                .bind(representative)
                .bind(chosen_by)
                .bind(confirmed)
                .bind(at)
                .fetch_one(&mut **tx)
                .await?;
                Ok(id)
            }

            /// Adds members to a group inside `tx`, a thousand rows per statement.
            async fn synthesis_add_members(
                &self,
                tx: &mut sqlx::Transaction<'static, $db>,
                group: i64,
                members: &[i64],
            ) -> $crate::store::StoreResult<()> {
                for chunk in members.chunks(1000) {
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO opinion_group_members (opinion_id, group_id) ",
                    );
                    q.push_values(chunk, |mut row, id| {
                        row.push_bind(*id).push_bind(group);
                    });
                    q.build().execute(&mut **tx).await?;
                }
                Ok(())
            }

            /// Takes opinions out of their groups inside `tx`; returns the group each left
            /// (one entry per opinion that was in a group).
            async fn synthesis_take_out(
                &self,
                tx: &mut sqlx::Transaction<'static, $db>,
                members: &[i64],
            ) -> $crate::store::StoreResult<Vec<i64>> {
                let mut left = Vec::new();
                for id in members {
                    let row: Option<(i64,)> = sqlx::query_as(
                        "DELETE FROM opinion_group_members WHERE opinion_id = $1 RETURNING group_id",
                    )
                    .bind(id)
                    .fetch_optional(&mut **tx)
                    .await?;
                    if let Some((g,)) = row {
                        left.push(g);
                    }
                }
                Ok(left)
            }

            /// Dissolves, inside `tx`, the given groups left with fewer than two members, and
            /// gives a group that lost its representative its first member instead.
            async fn synthesis_settle(
                &self,
                tx: &mut sqlx::Transaction<'static, $db>,
                groups: &[i64],
            ) -> $crate::store::StoreResult<()> {
                for g in groups {
                    let (n,): (i64,) = sqlx::query_as(
                        "SELECT count(*) FROM opinion_group_members WHERE group_id = $1",
                    )
                    .bind(g)
                    .fetch_one(&mut **tx)
                    .await?;
                    if n < 2 {
                        sqlx::query("DELETE FROM opinion_group_members WHERE group_id = $1")
                            .bind(g)
                            .execute(&mut **tx)
                            .await?;
                        sqlx::query("DELETE FROM opinion_groups WHERE id = $1")
                            .bind(g)
                            .execute(&mut **tx)
                            .await?;
                    } else {
                        sqlx::query(
                            "UPDATE opinion_groups SET representative_id = (SELECT \
                             min(opinion_id) FROM opinion_group_members WHERE group_id = $1), \
                             chosen_by = NULL WHERE id = $1 AND representative_id NOT IN \
                             (SELECT opinion_id FROM opinion_group_members WHERE group_id = $1)",
                        )
                        .bind(g)
                        .execute(&mut **tx)
                        .await?;
                    }
                }
                Ok(())
            }

            /// Marks, inside `tx`, the campaign's opinions that repeat an earlier text of the
            /// same person; returns how many were newly marked.
            async fn synthesis_duplicates(
                &self,
                tx: &mut sqlx::Transaction<'static, $db>,
                campaign: $crate::domain::CampaignId,
            ) -> $crate::store::StoreResult<u64> {
                use $crate::store::synthesis::*;
                let rows: Vec<(i64, String, String)> = sqlx::query_as(REPEATERS)
                    .bind(campaign)
                    .fetch_all(&mut **tx)
                    .await?;
                let mut marked = 0;
                for (id, of) in $crate::synthesis::exact_duplicates(&rows) {
                    marked += sqlx::query(INSERT_DUPLICATE)
                        .bind(id)
                        .bind(of)
                        .execute(&mut **tx)
                        .await?
                        .rows_affected();
                }
                Ok(marked)
            }

            /// Appends an official's action to the audit log inside `tx`.
            async fn synthesis_audit(
                &self,
                tx: &mut sqlx::Transaction<'static, $db>,
                at: chrono::DateTime<chrono::Utc>,
                actor: &str,
                action: &str,
                detail: &serde_json::Value,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "INSERT INTO audit_log (at, actor, action, detail) VALUES ($1, $2, $3, {})",
                    $json
                )))
                .bind(at)
                .bind(actor)
                .bind(action)
                .bind(detail.to_string())
                .execute(&mut **tx)
                .await?;
                Ok(())
            }
        }
    };
}
use synthesis_store_impl;
