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
    /// The DOCX's number, signer and recipients (defaults when empty).
    pub header: DocHeader,
}

/// What the DOCX's header and signature block say, as the official fills them in
/// (`gopy synthesis export --number … --signer-title … --signer-name … --recipient …`, or the
/// console's export form). Anything left empty takes its default ([`DocHeader::resolved`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DocHeader {
    /// The document's number and symbol as written after "Số:" ("12/BC-UBND"); `None`
    /// leaves the blank to fill in by hand when the report is numbered.
    pub number: Option<String>,
    /// The signer's capacity, one line each ("TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH").
    pub signer_title: Vec<String>,
    /// The signer's full name, under the space for the signature.
    pub signer_name: Option<String>,
    /// The "Nơi nhận" lines, in order.
    pub recipients: Vec<String>,
}

/// The text in NFC, as every stored text.
fn nfc(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization as _;
    s.nfc().collect()
}

/// Splits a text box or repeated flag into lines: one per line of text, trimmed, empty ones
/// dropped (so a console textarea and `--recipient a --recipient b` give the same list).
pub fn lines(values: &[String]) -> Vec<String> {
    values
        .iter()
        .flat_map(|v| v.lines())
        .map(|l| nfc(l.trim()))
        .filter(|l| !l.is_empty())
        .collect()
}

impl DocHeader {
    /// The header from what an official typed: the number without a leading "Số:", the
    /// title and recipients one per line, the name trimmed; empty fields stay empty.
    pub fn from_fields(
        number: &str,
        signer_title: &[String],
        signer_name: &str,
        recipients: &[String],
    ) -> Self {
        let number = number.trim();
        let number = number
            .strip_prefix("Số:")
            .or_else(|| number.strip_prefix("Số"))
            .or_else(|| number.strip_prefix("No.:"))
            .unwrap_or(number)
            .trim();
        let name = signer_name.trim();
        Self {
            number: (!number.is_empty()).then(|| nfc(number)),
            signer_title: lines(signer_title),
            signer_name: (!name.is_empty()).then(|| nfc(name)),
            recipients: lines(recipients),
        }
    }

    /// The header with its defaults filled in for a report of `unit` (`None` = the whole
    /// campaign): the blank number, the locale's signer, and the locale's recipients, where
    /// a unit's report names that unit among them ("- Tổ dân phố 1 (để biết);").
    pub fn resolved(&self, campaign: &Campaign, unit: Option<&str>, locale: Locale) -> Self {
        let label = |key: &str| super::report::label(locale, key);
        let number = Some(match &self.number {
            Some(n) => super::report::label_msg(
                locale,
                &crate::dialog::Msg::new("syn-doc-number-given").text("number", n),
            ),
            None => label("syn-doc-number"),
        });
        let signer_title = if self.signer_title.is_empty() {
            lines(&[label("syn-doc-signer")])
        } else {
            self.signer_title.clone()
        };
        let recipients = if self.recipients.is_empty() {
            let mut list = lines(&[label("syn-doc-recipients-list")]);
            let name = unit
                .and_then(|u| campaign.units.iter().find(|x| x.code == u))
                .map(|u| u.name.clone());
            if let Some(name) = name {
                let line = super::report::label_msg(
                    locale,
                    &crate::dialog::Msg::new("syn-doc-recipient-unit").text("unit", name),
                );
                list.insert(list.len().saturating_sub(1), line);
            }
            list
        } else {
            self.recipients.clone()
        };
        Self {
            number,
            signer_title,
            signer_name: self.signer_name.clone(),
            recipients,
        }
    }
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
