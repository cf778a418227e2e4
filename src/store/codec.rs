//! How both backends write domain enums and dialog states into columns and read them back,
//! and which database errors mean "try again later".

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::error::DatabaseError;

use super::{StoreError, StoreResult};
use crate::dialog::DialogState;
use crate::domain::{
    Campaign, CampaignId, Channel, IdentityMode, Locale, OpinionSource, OpinionStatus, Phase,
    PhaseKind, Section, TargetGroup, Topic, Unit,
};

/// A `campaigns` row: id, slug, issuer, title, document title, intro, purpose, retention
/// months, notice version.
pub(super) type CampaignRow = (
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    String,
);

/// A unit of a campaign: campaign id, code, name, parent code, kind.
pub(super) type UnitRow = (i64, String, String, Option<String>, String);

/// A section (campaign id, reference, title, summary) or a topic (campaign id, code, title,
/// question).
pub(super) type TextRow = (i64, String, String, String);

/// A stored dialog state: its JSON and when it expires.
pub(super) type StateRow = (String, Option<DateTime<Utc>>);

/// A phase: campaign id, kind, start, end.
pub(super) type PhaseRow = (i64, String, DateTime<Utc>, DateTime<Utc>);

/// Every row of every campaign table, each list ordered by campaign and position, as both
/// backends read them; [`CampaignRows::assemble`] turns them into campaigns.
#[derive(Debug, Default)]
pub(super) struct CampaignRows {
    /// The campaigns, oldest first.
    pub campaigns: Vec<CampaignRow>,
    /// Their units.
    pub units: Vec<UnitRow>,
    /// Their target groups: campaign id, code.
    pub target_groups: Vec<(i64, String)>,
    /// Their sections.
    pub sections: Vec<TextRow>,
    /// Their topics.
    pub topics: Vec<TextRow>,
    /// Which sections each topic is about: campaign id, topic code, section reference.
    pub topic_sections: Vec<(i64, String, String)>,
    /// Their phases.
    pub phases: Vec<PhaseRow>,
}

/// Reads every campaign's rows in [`CampaignRows`] form. The SQL is the same on both backends
/// (no parameters), so it is written once; a macro rather than a generic function because each
/// backend's row types decode through its own driver.
macro_rules! load_campaign_rows {
    ($conn:expr) => {
        CampaignRows {
            campaigns: sqlx::query_as(
                "SELECT id, slug, issuer, title, document_title, intro, purpose, \
                     retention_months, notice_version FROM campaigns ORDER BY id",
            )
            .fetch_all($conn)
            .await?,
            units: sqlx::query_as(
                "SELECT cu.campaign_id, u.code, u.name, u.parent_code, u.kind \
                     FROM campaign_units cu JOIN units u ON u.code = cu.unit_code \
                     ORDER BY cu.campaign_id, cu.position",
            )
            .fetch_all($conn)
            .await?,
            target_groups: sqlx::query_as(
                "SELECT campaign_id, code FROM campaign_target_groups \
                     ORDER BY campaign_id, position",
            )
            .fetch_all($conn)
            .await?,
            sections: sqlx::query_as(
                "SELECT campaign_id, reference, title, summary FROM sections \
                     ORDER BY campaign_id, position",
            )
            .fetch_all($conn)
            .await?,
            topics: sqlx::query_as(
                "SELECT campaign_id, code, title, question FROM topics \
                     ORDER BY campaign_id, position",
            )
            .fetch_all($conn)
            .await?,
            topic_sections: sqlx::query_as(
                "SELECT campaign_id, topic_code, section_ref FROM topic_sections \
                     ORDER BY campaign_id, topic_code, position",
            )
            .fetch_all($conn)
            .await?,
            phases: sqlx::query_as(
                "SELECT campaign_id, kind, starts_at, ends_at FROM phases \
                     ORDER BY campaign_id, position",
            )
            .fetch_all($conn)
            .await?,
        }
    };
}
pub(super) use load_campaign_rows;

impl CampaignRows {
    /// Builds the campaigns, keeping the order of every list.
    pub(super) fn assemble(self) -> StoreResult<Vec<Campaign>> {
        let mut campaigns = Vec::with_capacity(self.campaigns.len());
        let mut index: HashMap<CampaignId, usize> = HashMap::new();
        for (id, slug, issuer, title, document_title, intro, purpose, retention, notice) in
            self.campaigns
        {
            let retention_months = u32::try_from(retention)
                .map_err(|_| StoreError::Corrupt(format!("retention months {retention}")))?;
            index.insert(id, campaigns.len());
            campaigns.push(Campaign {
                id,
                slug,
                issuer,
                title,
                document_title,
                intro,
                purpose,
                retention_months,
                notice_version: notice,
                units: Vec::new(),
                target_groups: Vec::new(),
                sections: Vec::new(),
                topics: Vec::new(),
                phases: Vec::new(),
            });
        }
        let of = |id: i64| -> StoreResult<usize> {
            index
                .get(&id)
                .copied()
                .ok_or_else(|| StoreError::Corrupt(format!("row of unknown campaign {id}")))
        };
        for (id, code, name, parent, kind) in self.units {
            let i = of(id)?;
            campaigns[i].units.push(Unit {
                code,
                name,
                parent,
                kind,
            });
        }
        for (id, code) in self.target_groups {
            let i = of(id)?;
            campaigns[i].target_groups.push(TargetGroup { code });
        }
        for (id, reference, title, summary) in self.sections {
            let i = of(id)?;
            campaigns[i].sections.push(Section {
                reference,
                title,
                summary,
            });
        }
        for (id, code, title, question) in self.topics {
            let i = of(id)?;
            campaigns[i].topics.push(Topic {
                code,
                title,
                question,
                sections: Vec::new(),
            });
        }
        for (id, topic, section) in self.topic_sections {
            let i = of(id)?;
            let t = campaigns[i]
                .topics
                .iter_mut()
                .find(|t| t.code == topic)
                .ok_or_else(|| StoreError::Corrupt(format!("section of unknown topic {topic}")))?;
            t.sections.push(section);
        }
        for (id, kind, starts_at, ends_at) in self.phases {
            let i = of(id)?;
            let kind = PhaseKind::parse(&kind).ok_or_else(|| corrupt("phase kind", &kind))?;
            campaigns[i].phases.push(Phase {
                kind,
                starts_at,
                ends_at,
            });
        }
        Ok(campaigns)
    }
}

/// A list position as stored in the `position` columns.
pub(super) fn position(i: usize) -> i32 {
    i32::try_from(i).unwrap_or(i32::MAX)
}

/// Reads a channel name stored by [`Channel::as_str`].
pub(super) fn channel(s: &str) -> StoreResult<Channel> {
    Channel::parse(s).ok_or_else(|| corrupt("channel", s))
}

/// Reads an opinion source stored by [`OpinionSource::as_str`].
pub(super) fn source(s: &str) -> StoreResult<OpinionSource> {
    OpinionSource::parse(s).ok_or_else(|| corrupt("opinion source", s))
}

/// Reads an opinion status stored by [`OpinionStatus::as_str`].
pub(super) fn status(s: &str) -> StoreResult<OpinionStatus> {
    OpinionStatus::parse(s).ok_or_else(|| corrupt("opinion status", s))
}

/// Reads a language tag stored by [`Locale::as_str`].
pub(super) fn locale(s: &str) -> StoreResult<Locale> {
    Locale::parse(s).ok_or_else(|| corrupt("locale", s))
}

/// Reads an identity mode stored by [`IdentityMode::as_str`].
pub(super) fn mode(s: &str) -> StoreResult<IdentityMode> {
    match s {
        "named" => Ok(IdentityMode::Named),
        "anonymous" => Ok(IdentityMode::Anonymous),
        _ => Err(corrupt("identity mode", s)),
    }
}

/// Serialises a dialog state to the JSON stored in `dialog_states.state`.
pub(super) fn state_json(state: &DialogState) -> StoreResult<String> {
    serde_json::to_string(state).map_err(|e| StoreError::Corrupt(format!("dialog state: {e}")))
}

/// Reads a dialog state back from its JSON.
pub(super) fn state(json: &str) -> StoreResult<DialogState> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("dialog state: {e}")))
}

/// Reads the JSON detail of an audit entry.
pub(super) fn detail(json: &str) -> StoreResult<serde_json::Value> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("audit detail: {e}")))
}

/// The error for a stored value this version of gopy does not know.
fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("unknown {what} {value:?}"))
}

/// Whether a database error means the database is busy or going away rather than that the
/// statement was wrong: SQLite's `SQLITE_BUSY` family after the busy timeout, and Postgres's
/// connection exceptions (class 08), shutdowns and start-up (57P01–57P03) and connection
/// limits (53300).
pub(super) fn is_transient(db: &dyn DatabaseError) -> bool {
    if let Some(e) = db.try_downcast_ref::<sqlx::sqlite::SqliteError>() {
        // Extended result codes keep the primary code in the low byte; 5 is SQLITE_BUSY.
        return e
            .code()
            .and_then(|c| c.parse::<i32>().ok())
            .is_some_and(|c| c & 0xff == 5);
    }
    if let Some(e) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
        let code = e.code();
        return code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300");
    }
    false
}
