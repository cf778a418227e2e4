//! Campaign files: the TOML format officials write, its validation with file positions, the
//! demo campaign shipped under `examples/`, and the `gopy campaign` / `gopy opinions` commands.
//!
//! Layout:
//! - `file.rs`: TOML text to a raw campaign that keeps every value's position; syntax, type,
//!   missing and unknown fields.
//! - `validate.rs`: what the values must mean; builds the [`Campaign`] when nothing is wrong.
//! - [`form`]: a campaign as the console's form holds it, checked by the same rules.
//! - [`export`]: the anonymous CSV and JSON exports of opinions (pure formatting).
//! - [`cli`]: the commands, the only part that touches the store.

pub mod cli;
pub mod export;
mod file;
pub mod form;
#[cfg(test)]
mod fuzz;
mod validate;

use anyhow::Context as _;
use chrono::{DateTime, Days, Duration, TimeZone as _, Utc};

use crate::domain::{Campaign, PhaseKind, TZ};

/// The demo campaign file, embedded so that a fresh `cargo run` has something to show.
pub const DEMO_TOML: &str = include_str!("../../examples/demo-campaign.toml");

/// How long the demo's collection stays open, counted from when it opened.
const DEMO_COLLECTION_DAYS: i64 = 7;

/// One problem found in a campaign file, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// What is wrong, in Vietnamese then English.
    pub message: String,
}

impl Problem {
    /// The message's Vietnamese and English parts. Messages are written `vi / en`, and every
    /// value quoted in one part is quoted in the other, so the separator is the middle one of
    /// the ` / ` found (a value may hold ` / ` itself).
    pub fn parts(&self) -> (&str, &str) {
        let cuts: Vec<usize> = self.message.match_indices(" / ").map(|(i, _)| i).collect();
        match cuts.get(cuts.len() / 2) {
            Some(&i) if cuts.len() % 2 == 1 => (&self.message[..i], &self.message[i + 3..]),
            _ => (&self.message, &self.message),
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "{l}:{c}: {}", self.message),
            (Some(l), None) => write!(f, "{l}: {}", self.message),
            _ => write!(f, "{}", self.message),
        }
    }
}

/// Parses and validates a campaign file. Returns every problem found, in file order, or the
/// campaign (with `id` 0, every text NFC-normalised) when there is none.
pub fn parse(text: &str) -> Result<Campaign, Vec<Problem>> {
    parse_file(text).map(|f| f.campaign)
}

/// A date on which a campaign's report is due, as the file's `[[reports]]` declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportPlan {
    /// The unit the report is for (`None`: the whole campaign).
    pub unit: Option<String>,
    /// When it is due (the day at its hour, Vietnam time; 08:00 when the file gives no hour).
    pub due_at: DateTime<Utc>,
}

/// Everything a campaign file declares: the campaign, and the report dates that go into
/// `report_dates` on import.
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignFile {
    /// The campaign.
    pub campaign: Campaign,
    /// Its `[[reports]]`, in file order.
    pub reports: Vec<ReportPlan>,
}

/// Parses and validates a campaign file with its report dates; every problem in file order.
pub fn parse_file(text: &str) -> Result<CampaignFile, Vec<Problem>> {
    // Editors on Windows often save UTF-8 with a byte-order mark; it is not part of the TOML.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut problems = file::Problems::new(text);
    let Some(raw) = file::read(text, &mut problems) else {
        return Err(problems.into_sorted());
    };
    let reports = validate::reports(&raw, &mut problems);
    let campaign = validate::validate(&raw, &mut problems);
    match campaign {
        Some(campaign) if problems.is_empty() => Ok(CampaignFile { campaign, reports }),
        _ => Err(problems.into_sorted()),
    }
}

/// Writes a campaign back in the file format (without comments). [`parse`] reads the text back
/// to the same campaign, with `id` 0.
pub fn to_toml(campaign: &Campaign) -> anyhow::Result<String> {
    to_toml_with_reports(campaign, &[])
}

/// Writes a campaign and its report dates back in the file format; [`parse_file`] reads the
/// text back to the same campaign and dates.
pub fn to_toml_with_reports(campaign: &Campaign, reports: &[ReportPlan]) -> anyhow::Result<String> {
    file::to_toml(campaign, reports).context("cannot write the campaign as TOML")
}

/// The payload of a deep link to a campaign and unit: `<slug>_<unit>`.
pub fn deep_link(slug: &str, unit: &str) -> String {
    format!("{slug}_{unit}")
}

pub use crate::domain::{format_local, format_local_end};

/// The demo campaign from `examples/demo-campaign.toml`, with its phases moved so that
/// collection opened at 00:00 (Vietnam time) the day before `now` and closes seven days after
/// it opened. Phases before collection keep their distance to its opening, phases after it
/// their distance to its close, so the order and gaps of the file are kept.
pub fn demo(now: DateTime<Utc>) -> anyhow::Result<Campaign> {
    let mut campaign = parse(DEMO_TOML).map_err(|problems| {
        let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
        anyhow::anyhow!(
            "the embedded demo campaign (examples/demo-campaign.toml) is invalid: {}",
            list.join("; ")
        )
    })?;
    let collect = campaign
        .phase(PhaseKind::Collect)
        .cloned()
        .context("the demo campaign has no collect phase")?;
    let yesterday = now.with_timezone(&TZ).date_naive() - Days::new(1);
    let opens = yesterday
        .and_hms_opt(0, 0, 0)
        .and_then(|midnight| TZ.from_local_datetime(&midnight).earliest())
        .context("no midnight yesterday in Asia/Ho_Chi_Minh")?
        .with_timezone(&Utc);
    let closes = opens + Duration::days(DEMO_COLLECTION_DAYS);
    let before = opens - collect.starts_at;
    let after = closes - collect.ends_at;
    for phase in &mut campaign.phases {
        match phase.kind.cmp(&PhaseKind::Collect) {
            std::cmp::Ordering::Less => {
                phase.starts_at += before;
                phase.ends_at += before;
            }
            std::cmp::Ordering::Equal => {
                phase.starts_at = opens;
                phase.ends_at = closes;
            }
            std::cmp::Ordering::Greater => {
                phase.starts_at += after;
                phase.ends_at += after;
            }
        }
    }
    Ok(campaign)
}

#[cfg(test)]
mod tests;
