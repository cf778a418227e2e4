//! Reports on their due dates: a campaign's report dates (`gopy reports date`), the officials
//! who receive them (`gopy reports subscribe`), a daily digest during collection (`gopy
//! reports digest`), which unit each subscriber's report covers ([`unit_for`], pure) and how
//! reports are built from the synthesis ([`build`], [`digest`]). The
//! Telegram adapter delivers them (`channels::telegram::reports`); storage is
//! [`crate::store::replies::ReportStore`].
//!
//! Layout:
//! - `mod.rs`: the decisions and the report's text and file.
//! - `cli.rs`: `gopy reports date|subscribe|digest|list`.

pub mod cli;

use chrono::{DateTime, Utc};

use crate::announce::access::UnitTree;
use crate::dialog::Msg;
use crate::domain::{Campaign, Locale};
use crate::store::{Store, StoreResult};
use crate::synthesis::report::Synthesis;

/// What importing a campaign file's report dates did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Imported {
    /// Dates added to `report_dates`.
    pub added: usize,
    /// Dates the campaign had already (a file imported again adds nothing twice).
    pub known: usize,
    /// Dates already past, left out (they would go at once).
    pub past: usize,
}

/// Adds a campaign file's `[[reports]]` to the campaign's report dates, each audited: a date
/// already there (same unit and time) is left alone, so importing the same file again changes
/// nothing; a date already past is left out. Dates set by CLI are never removed.
pub async fn import_dates(
    store: &dyn Store,
    campaign: crate::domain::CampaignId,
    plans: &[crate::campaign::ReportPlan],
    by: &str,
    now: DateTime<Utc>,
) -> StoreResult<Imported> {
    let mut have: std::collections::HashSet<(Option<String>, i64)> = store
        .report_dates(campaign)
        .await?
        .into_iter()
        .map(|d| (d.unit, d.due_at.timestamp()))
        .collect();
    let mut done = Imported::default();
    for p in plans {
        if !have.insert((p.unit.clone(), p.due_at.timestamp())) {
            done.known += 1;
        } else if p.due_at <= now {
            done.past += 1;
        } else {
            store
                .add_report_date(campaign, p.unit.as_deref(), p.due_at, by, now)
                .await?;
            done.added += 1;
        }
    }
    Ok(done)
}

/// The campaign's report dates as the file writes them back (`[[reports]]`).
pub async fn plans_of(
    store: &dyn Store,
    campaign: crate::domain::CampaignId,
) -> StoreResult<Vec<crate::campaign::ReportPlan>> {
    Ok(store
        .report_dates(campaign)
        .await?
        .into_iter()
        .map(|d| crate::campaign::ReportPlan {
            unit: d.unit,
            due_at: d.due_at,
        })
        .collect())
}

/// The unit a subscriber's report covers: the date's unit, or the subscriber's own when it is
/// narrower; `None` when the date's unit lies outside their scope (they get nothing).
/// `Some(None)` is the whole campaign.
pub fn unit_for(
    date_unit: Option<&str>,
    staff_unit: Option<&str>,
    tree: &UnitTree,
) -> Option<Option<String>> {
    match (date_unit, staff_unit) {
        (d, None) => Some(d.map(str::to_owned)),
        (None, Some(s)) => Some(Some(s.to_owned())),
        (Some(d), Some(s)) if tree.is_within(d, s) => Some(Some(d.to_owned())),
        (Some(d), Some(s)) if tree.is_within(s, d) => Some(Some(s.to_owned())),
        _ => None,
    }
}

/// A report ready to deliver: a short message and the full text as a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    /// The message (Fluent, `locales/*/telegram.ftl`).
    pub message: Msg,
    /// The file's name.
    pub file_name: String,
    /// The full synthesis as plain text.
    pub text: String,
}

/// Builds the report of a campaign (or of a unit and the units below it) as it stands.
pub async fn build(
    store: &dyn Store,
    campaign: &Campaign,
    unit: Option<&str>,
    tree: &UnitTree,
    due_at: DateTime<Utc>,
) -> StoreResult<Built> {
    let units = unit.map(|u| tree.subtree(u));
    let agg = store
        .synthesis_aggregates(campaign.id, units.as_deref())
        .await?;
    let synthesis = Synthesis::build(campaign, unit, &agg, Locale::Vi);
    let day = due_at
        .with_timezone(&chrono_tz::Asia::Ho_Chi_Minh)
        .date_naive();
    let scope = unit
        .and_then(|u| tree.name(u).map(str::to_owned))
        .unwrap_or_else(|| campaign.title.clone());
    let agreements: i64 = synthesis.agreements.iter().map(|c| c.opinions).sum();
    let message = Msg::new("rp-report")
        .text("title", campaign.title.clone())
        .text("scope", scope)
        .text("day", day.format("%d/%m/%Y").to_string())
        .num("opinions", synthesis.opinions)
        .num("participants", synthesis.participants)
        .num("excluded", synthesis.excluded)
        .num("agreements", agreements);
    let file_name = format!(
        "bao-cao-{}-{}{}.txt",
        campaign.slug,
        day.format("%Y%m%d"),
        unit.map(|u| format!("-{u}")).unwrap_or_default()
    );
    Ok(Built {
        message,
        file_name,
        text: synthesis.to_text(campaign, Locale::Vi),
    })
}

/// A topic with fewer kept opinions than this is "thin" in the daily digest.
pub const THIN_TOPIC: i64 = 3;

/// The daily digest of a campaign (or of a unit and the units below it) for a unit lead: how
/// many residents took part, which topics are thin, which bound groups were not reached.
pub async fn digest(
    store: &dyn Store,
    campaign: &Campaign,
    unit: Option<&str>,
    tree: &UnitTree,
) -> StoreResult<Msg> {
    let units = unit.map(|u| tree.subtree(u));
    let agg = store
        .synthesis_aggregates(campaign.id, units.as_deref())
        .await?;
    let synthesis = Synthesis::build(campaign, unit, &agg, Locale::Vi);
    let none = || crate::synthesis::report::label(Locale::Vi, "syn-none");
    let thin: Vec<String> = synthesis
        .topics
        .iter()
        .filter(|t| t.opinions < THIN_TOPIC && t.code != crate::replies::UNCLASSIFIED)
        .map(|t| format!("{} ({})", t.title, t.opinions))
        .collect();
    let unreached = store
        .unreached_groups(campaign.id, units.as_deref())
        .await?;
    let scope = unit
        .and_then(|u| tree.name(u).map(str::to_owned))
        .unwrap_or_else(|| campaign.title.clone());
    let join = |v: Vec<String>| if v.is_empty() { none() } else { v.join("; ") };
    Ok(Msg::new("rp-digest")
        .text("title", campaign.title.clone())
        .text("scope", scope)
        .num("participants", synthesis.participants)
        .num("opinions", synthesis.opinions)
        .text("thin", join(thin))
        .text("unreached", join(unreached)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::announce::UnitNode;

    fn tree() -> UnitTree {
        let n = |code: &str, parent: Option<&str>| UnitNode {
            code: code.to_owned(),
            name: code.to_owned(),
            parent: parent.map(str::to_owned),
        };
        UnitTree::new(vec![n("P", None), n("T1", Some("P")), n("T2", Some("P"))])
    }

    #[test]
    fn each_subscriber_gets_the_narrowest_unit_in_their_scope() {
        let t = tree();
        assert_eq!(unit_for(None, None, &t), Some(None));
        assert_eq!(unit_for(Some("T1"), None, &t), Some(Some("T1".into())));
        assert_eq!(unit_for(None, Some("T1"), &t), Some(Some("T1".into())));
        assert_eq!(unit_for(Some("P"), Some("T2"), &t), Some(Some("T2".into())));
        assert_eq!(unit_for(Some("T1"), Some("P"), &t), Some(Some("T1".into())));
        assert_eq!(unit_for(Some("T1"), Some("T2"), &t), None);
    }
}
