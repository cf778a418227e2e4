//! The synthesis' exports: CSV (UTF-8 with BOM), JSON (schema `gopy.synthesis/1`), XLSX
//! (a summary sheet of cross-tables and one sheet per topic, constant memory) and DOCX (a
//! Vietnamese administrative report, Decree 30/2020 layout).
//!
//! Every export takes the [`Synthesis`] (aggregates) and the stream of kept opinions in
//! report order; none holds every opinion in memory except the DOCX, which is meant for a
//! report people read (tens of thousands of opinions at most). Anonymous by default: a
//! [`Listed`] row carries no name, phone or platform id; names reach an export only through
//! [`Names`], which the command line fills only for a named export a staff user asked for
//! with a reason.

pub mod csv;
pub mod docx;
pub mod json;
pub mod xlsx;

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::report::Synthesis;
use crate::domain::{Campaign, Locale};
use crate::store::StoreResult;
use crate::store::synthesis::ListedOpinion;

/// The names known for opinions (opinion id → name, phone or username), for named exports.
pub type Names = HashMap<i64, (Option<String>, Option<String>)>;

/// A kept opinion as exports receive it.
pub type Listed = ListedOpinion;

/// The stream of kept opinions, in report order.
pub type Opinions<'a> = futures::stream::BoxStream<'a, StoreResult<Listed>>;

/// What every export is made from.
pub struct Input<'a> {
    /// The campaign.
    pub campaign: &'a Campaign,
    /// The figures.
    pub synthesis: &'a Synthesis,
    /// Names, only for a named export.
    pub names: Option<&'a Names>,
    /// The language of labels.
    pub locale: Locale,
    /// When the export was made.
    pub generated_at: DateTime<Utc>,
    /// Where the report is issued (for the DOCX's "place, date" line).
    pub place: String,
}

impl Input<'_> {
    /// A topic's title.
    pub fn topic_title(&self, code: &str) -> String {
        self.campaign
            .topics
            .iter()
            .find(|t| t.code == code)
            .map(|t| t.title.clone())
            .unwrap_or_else(|| code.to_owned())
    }

    /// A unit's name ("" when none).
    pub fn unit_name(&self, code: Option<&str>) -> String {
        code.and_then(|c| self.campaign.units.iter().find(|u| u.code == c))
            .map(|u| u.name.clone())
            .unwrap_or_default()
    }

    /// A label of `locales/*/synthesis.ftl`.
    pub fn label(&self, key: &str) -> String {
        super::report::label(self.locale, key)
    }
}

/// The columns of an opinion row (CSV and the XLSX topic sheets), as label keys.
pub const OPINION_COLUMNS: [&str; 12] = [
    "syn-col-reference",
    "syn-col-topic",
    "syn-col-section",
    "syn-col-unit-code",
    "syn-col-unit",
    "syn-col-group",
    "syn-col-source",
    "syn-col-date",
    "syn-col-stance",
    "syn-col-similar",
    "syn-col-representative",
    "syn-col-text",
];

/// The extra columns of a named export.
pub const NAMED_COLUMNS: [&str; 2] = ["syn-col-name", "syn-col-contact"];

/// One opinion as the cells of a row, in [`OPINION_COLUMNS`] order (then the named columns).
pub fn cells(input: &Input<'_>, o: &Listed) -> Vec<String> {
    let mut row = vec![
        o.reference.clone(),
        input.topic_title(&o.topic),
        o.section.clone().unwrap_or_default(),
        o.unit.clone().unwrap_or_default(),
        input.unit_name(o.unit.as_deref()),
        o.target_group.clone().unwrap_or_default(),
        super::report::source_name(input.locale, &o.source),
        crate::domain::format_local(o.created_at),
        o.stance
            .as_deref()
            .map(|s| super::report::stance_name(input.locale, s))
            .unwrap_or_default(),
        o.group.map(|g| g.to_string()).unwrap_or_default(),
        if o.representative {
            input.label("syn-yes")
        } else {
            String::new()
        },
        o.text.clone(),
    ];
    if let Some(names) = input.names {
        let (name, contact) = names.get(&o.id).cloned().unwrap_or_default();
        row.push(name.unwrap_or_default());
        row.push(contact.unwrap_or_default());
    }
    row
}

/// The header row, in the same order as [`cells`].
pub fn header(input: &Input<'_>) -> Vec<String> {
    let mut h: Vec<String> = OPINION_COLUMNS.iter().map(|k| input.label(k)).collect();
    if input.names.is_some() {
        h.extend(NAMED_COLUMNS.iter().map(|k| input.label(k)));
    }
    h
}
