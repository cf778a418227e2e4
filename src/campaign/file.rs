//! Reading a campaign file: TOML text to a [`RawCampaign`] whose every value keeps its position
//! in the file, reporting syntax errors, unknown fields, wrong types and missing fields.
//!
//! The document is walked by hand (through [`toml::de::DeTable`]) rather than deserialised with
//! serde, so that one wrong value does not hide the problems after it: every problem in the
//! file is collected in one pass. What the values mean is checked in `validate.rs`.

use std::fmt::Display;
use std::ops::Range;

use chrono::{DateTime, Timelike as _, Utc};
use serde::Serialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue};
use unicode_normalization::UnicodeNormalization as _;

use super::Problem;
use crate::domain::{Campaign, Section, TZ, Topic};

/// A value and the byte range it came from.
pub(super) type At<T> = Spanned<T>;

/// Problems found so far, kept as byte ranges until the end, when they become lines and
/// columns.
pub(super) struct Problems<'t> {
    /// The text the byte ranges point into.
    text: &'t str,
    /// Where each problem is and what it says.
    found: Vec<(usize, String)>,
}

impl<'t> Problems<'t> {
    /// An empty list for this text.
    pub(super) fn new(text: &'t str) -> Self {
        Self {
            text,
            found: Vec::new(),
        }
    }

    /// Records one problem at `span`, in Vietnamese then English.
    pub(super) fn add(&mut self, span: &Range<usize>, vi: impl Display, en: impl Display) {
        self.found.push((span.start, format!("{vi} / {en}")));
    }

    /// Whether nothing is wrong so far.
    pub(super) fn is_empty(&self) -> bool {
        self.found.is_empty()
    }

    /// The problems in file order, with 1-based lines and columns (columns count characters).
    pub(super) fn into_sorted(self) -> Vec<Problem> {
        let mut out: Vec<Problem> = self
            .found
            .into_iter()
            .map(|(offset, message)| {
                let (line, column) = line_column(self.text, offset);
                Problem {
                    line: Some(line),
                    column: Some(column),
                    message,
                }
            })
            .collect();
        out.sort_by_key(|p| (p.line, p.column));
        out
    }
}

/// The 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().filter(|c| *c != '\r').count() + 1;
    (line, column)
}

/// The whole file, as written, with positions.
#[derive(Debug, Default)]
pub(super) struct RawCampaign {
    /// `slug`.
    pub slug: Option<At<String>>,
    /// `issuer`.
    pub issuer: Option<At<String>>,
    /// `title`.
    pub title: Option<At<String>>,
    /// `document_title`.
    pub document_title: Option<At<String>>,
    /// `intro`.
    pub intro: Option<At<String>>,
    /// `purpose`.
    pub purpose: Option<At<String>>,
    /// `retention_months`.
    pub retention_months: Option<At<i64>>,
    /// `notice_version` (an integer is read as its digits).
    pub notice_version: Option<At<String>>,
    /// `[[units]]`, in file order.
    pub units: Vec<RawUnit>,
    /// `target_groups`.
    pub target_groups: Vec<At<String>>,
    /// `[[sections]]`, in file order.
    pub sections: Vec<RawSection>,
    /// `[[topics]]`, in file order.
    pub topics: Vec<RawTopic>,
    /// `[[phases]]`, in file order.
    pub phases: Vec<RawPhase>,
    /// Where the `[[phases]]` list starts, to point at when a phase is missing.
    pub phases_at: Option<Range<usize>>,
    /// `[[reports]]` (optional), in file order.
    pub reports: Vec<RawReport>,
}

/// One `[[reports]]` table: a date on which the campaign's report is due.
#[derive(Debug)]
pub(super) struct RawReport {
    /// The table header, to point at when a field is missing.
    pub at: Range<usize>,
    /// `date`: a day (`2026-07-23`), or a day and time (`2026-07-23 08:30`) without `hour`.
    pub date: Option<At<String>>,
    /// `unit` (optional: the whole campaign).
    pub unit: Option<At<String>>,
    /// `hour` (optional, 0–23, Vietnam time).
    pub hour: Option<At<i64>>,
}

/// One `[[units]]` table.
#[derive(Debug)]
pub(super) struct RawUnit {
    /// The table header, to point at when a field is missing.
    pub at: Range<usize>,
    /// `code`.
    pub code: Option<At<String>>,
    /// `name`.
    pub name: Option<At<String>>,
    /// `kind`.
    pub kind: Option<At<String>>,
    /// `parent`.
    pub parent: Option<At<String>>,
}

/// One `[[sections]]` table.
#[derive(Debug)]
pub(super) struct RawSection {
    /// `reference`.
    pub reference: Option<At<String>>,
    /// `title`.
    pub title: Option<At<String>>,
    /// `summary`.
    pub summary: Option<At<String>>,
}

/// One `[[topics]]` table.
#[derive(Debug)]
pub(super) struct RawTopic {
    /// `code`.
    pub code: Option<At<String>>,
    /// `title`.
    pub title: Option<At<String>>,
    /// `question`.
    pub question: Option<At<String>>,
    /// `sections` (may be absent: a topic need not point at a section).
    pub sections: Vec<At<String>>,
}

/// One `[[phases]]` table; dates are kept as text (a TOML date is turned into its text) and
/// read in `validate.rs`.
#[derive(Debug)]
pub(super) struct RawPhase {
    /// The table header.
    pub at: Range<usize>,
    /// `kind`.
    pub kind: Option<At<String>>,
    /// `starts`.
    pub starts: Option<At<String>>,
    /// `ends`.
    pub ends: Option<At<String>>,
}

/// Reads the TOML text. Syntax errors are reported alone (what follows a syntax error cannot
/// be trusted) and nothing is returned; otherwise every structural problem is reported and the
/// raw campaign returned.
pub(super) fn read(text: &str, problems: &mut Problems<'_>) -> Option<RawCampaign> {
    let (doc, errors) = DeTable::parse_recoverable(text);
    if !errors.is_empty() {
        for e in errors {
            let span = e.span().unwrap_or(0..0);
            let msg = e.message().trim().to_owned();
            problems.add(
                &span,
                format_args!("lỗi cú pháp TOML: {msg}"),
                format_args!("TOML syntax error: {msg}"),
            );
        }
        return None;
    }
    let whole = 0..0;
    let mut t = Fields::new(doc.get_ref(), whole, "", problems);
    let mut raw = RawCampaign {
        slug: t.string("slug", true),
        issuer: t.string("issuer", true),
        title: t.string("title", true),
        document_title: t.string("document_title", true),
        intro: t.string("intro", true),
        purpose: t.string("purpose", true),
        retention_months: t.integer("retention_months"),
        notice_version: t.string_or_integer("notice_version"),
        target_groups: t.strings("target_groups", true),
        ..RawCampaign::default()
    };
    if let Some((_, tables)) = t.tables("units", true) {
        raw.units = tables
            .into_iter()
            .map(|(at, table)| {
                let mut f = Fields::new(table, at.clone(), "[[units]]", &mut *t.problems);
                let unit = RawUnit {
                    at,
                    code: f.string("code", true),
                    name: f.string("name", true),
                    kind: f.string("kind", true),
                    parent: f.string("parent", false),
                };
                f.finish(&["code", "name", "kind", "parent"]);
                unit
            })
            .collect();
    }
    if let Some((_, tables)) = t.tables("sections", false) {
        raw.sections = tables
            .into_iter()
            .map(|(at, table)| {
                let mut f = Fields::new(table, at, "[[sections]]", &mut *t.problems);
                let section = RawSection {
                    reference: f.string("reference", true),
                    title: f.string("title", true),
                    summary: f.string("summary", true),
                };
                f.finish(&["reference", "title", "summary"]);
                section
            })
            .collect();
    }
    if let Some((_, tables)) = t.tables("topics", true) {
        raw.topics = tables
            .into_iter()
            .map(|(at, table)| {
                let mut f = Fields::new(table, at, "[[topics]]", &mut *t.problems);
                let topic = RawTopic {
                    code: f.string("code", true),
                    title: f.string("title", true),
                    question: f.string("question", true),
                    sections: f.strings("sections", false),
                };
                f.finish(&["code", "title", "question", "sections"]);
                topic
            })
            .collect();
    }
    if let Some((at, tables)) = t.tables("phases", true) {
        raw.phases_at = Some(at);
        raw.phases = tables
            .into_iter()
            .map(|(at, table)| {
                let mut f = Fields::new(table, at.clone(), "[[phases]]", &mut *t.problems);
                let phase = RawPhase {
                    at,
                    kind: f.string("kind", true),
                    starts: f.date_time("starts"),
                    ends: f.date_time("ends"),
                };
                f.finish(&["kind", "starts", "ends"]);
                phase
            })
            .collect();
    }
    if let Some((_, tables)) = t.tables("reports", false) {
        raw.reports = tables
            .into_iter()
            .map(|(at, table)| {
                let mut f = Fields::new(table, at.clone(), "[[reports]]", &mut *t.problems);
                let report = RawReport {
                    at,
                    date: f.date_time("date"),
                    unit: f.string("unit", false),
                    hour: f.integer("hour"),
                };
                f.finish(&["date", "unit", "hour"]);
                report
            })
            .collect();
    }
    t.finish(&[
        "slug",
        "issuer",
        "title",
        "document_title",
        "intro",
        "purpose",
        "retention_months",
        "notice_version",
        "target_groups",
        "units",
        "sections",
        "topics",
        "phases",
        "reports",
    ]);
    Some(raw)
}

/// A table of an array of tables, with the position of its `[[…]]` header.
type HeadedTable<'a, 'i> = (Range<usize>, &'a DeTable<'i>);

/// Text as gopy keeps it: NFC, without surrounding white space.
pub(super) fn clean(s: &str) -> String {
    s.trim().nfc().collect()
}

/// The Vietnamese and English names of a TOML value's type.
fn type_names(v: &DeValue<'_>) -> (&'static str, &'static str) {
    match v {
        DeValue::String(_) => ("chuỗi ký tự", "a string"),
        DeValue::Integer(_) => ("số nguyên", "an integer"),
        DeValue::Float(_) => ("số thập phân", "a float"),
        DeValue::Boolean(_) => ("giá trị đúng/sai", "a boolean"),
        DeValue::Datetime(_) => ("ngày giờ", "a date-time"),
        DeValue::Array(_) => ("danh sách", "an array"),
        DeValue::Table(_) => ("bảng", "a table"),
    }
}

/// One table being read: takes the fields it knows, reports wrong types and missing fields,
/// and at the end reports the fields nobody took (a typo would otherwise be lost silently).
struct Fields<'a, 'i, 't> {
    /// The table.
    table: &'a DeTable<'i>,
    /// Its header, to point at for a missing field (`0..0` for the top level).
    at: Range<usize>,
    /// Its name in messages (`[[units]]`), empty for the top level.
    name: &'static str,
    /// Where problems go.
    problems: &'a mut Problems<'t>,
}

impl<'a, 'i, 't> Fields<'a, 'i, 't> {
    /// Starts reading `table`.
    fn new(
        table: &'a DeTable<'i>,
        at: Range<usize>,
        name: &'static str,
        problems: &'a mut Problems<'t>,
    ) -> Self {
        Self {
            table,
            at,
            name,
            problems,
        }
    }

    /// ` trong [[units]]` / ` in [[units]]`, or nothing at the top level.
    fn where_(&self) -> (String, String) {
        if self.name.is_empty() {
            (String::new(), String::new())
        } else {
            (
                format!(" trong {}", self.name),
                format!(" in {}", self.name),
            )
        }
    }

    /// The value of `key`, reporting it missing when `required`.
    fn get(&mut self, key: &str, required: bool) -> Option<&'a Spanned<DeValue<'i>>> {
        let found = self.table.get(key);
        if found.is_none() && required {
            let (vi, en) = self.where_();
            self.problems.add(
                &self.at,
                format_args!("thiếu trường bắt buộc `{key}`{vi}"),
                format_args!("missing required field `{key}`{en}"),
            );
        }
        found
    }

    /// Reports that `key` holds the wrong type.
    fn wrong_type(&mut self, key: &str, v: &Spanned<DeValue<'_>>, vi_want: &str, en_want: &str) {
        let (vi_got, en_got) = type_names(v.get_ref());
        self.problems.add(
            &v.span(),
            format_args!("trường `{key}` phải là {vi_want}, không phải {vi_got}"),
            format_args!("field `{key}` must be {en_want}, not {en_got}"),
        );
    }

    /// A string field, cleaned.
    fn string(&mut self, key: &str, required: bool) -> Option<At<String>> {
        let v = self.get(key, required)?;
        match v.get_ref() {
            DeValue::String(s) => Some(Spanned::new(v.span(), clean(s))),
            _ => {
                self.wrong_type(key, v, "chuỗi ký tự", "a string");
                None
            }
        }
    }

    /// A string field that may also be written as a bare integer (`notice_version = 2`).
    fn string_or_integer(&mut self, key: &str) -> Option<At<String>> {
        let v = self.get(key, false)?;
        match v.get_ref() {
            DeValue::String(s) => Some(Spanned::new(v.span(), clean(s))),
            DeValue::Integer(i) => Some(Spanned::new(v.span(), i.as_str().to_owned())),
            _ => {
                self.wrong_type(key, v, "chuỗi ký tự", "a string");
                None
            }
        }
    }

    /// An optional integer field.
    fn integer(&mut self, key: &str) -> Option<At<i64>> {
        let v = self.get(key, false)?;
        let parsed = match v.get_ref() {
            DeValue::Integer(i) => {
                i64::from_str_radix(&i.as_str().replace('_', ""), i.radix()).ok()
            }
            _ => {
                self.wrong_type(key, v, "số nguyên", "an integer");
                return None;
            }
        };
        match parsed {
            Some(n) => Some(Spanned::new(v.span(), n)),
            None => {
                self.problems.add(
                    &v.span(),
                    format_args!("trường `{key}`: số quá lớn"),
                    format_args!("field `{key}`: number too large"),
                );
                None
            }
        }
    }

    /// A required date-time, written as a string or as a TOML date or date-time; kept as text.
    fn date_time(&mut self, key: &str) -> Option<At<String>> {
        let v = self.get(key, true)?;
        match v.get_ref() {
            DeValue::String(s) => Some(Spanned::new(v.span(), clean(s))),
            DeValue::Datetime(d) => Some(Spanned::new(v.span(), d.to_string())),
            _ => {
                self.wrong_type(key, v, "ngày giờ", "a date-time");
                None
            }
        }
    }

    /// A list of strings; each element that is not a string is reported.
    fn strings(&mut self, key: &str, required: bool) -> Vec<At<String>> {
        let Some(v) = self.get(key, required) else {
            return Vec::new();
        };
        let DeValue::Array(items) = v.get_ref() else {
            self.wrong_type(key, v, "danh sách chuỗi ký tự", "an array of strings");
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items.iter() {
            match item.get_ref() {
                DeValue::String(s) => out.push(Spanned::new(item.span(), clean(s))),
                _ => self.wrong_type(key, item, "danh sách chuỗi ký tự", "an array of strings"),
            }
        }
        out
    }

    /// An array of tables (`[[units]]`), each with its header position.
    fn tables(
        &mut self,
        key: &str,
        required: bool,
    ) -> Option<(Range<usize>, Vec<HeadedTable<'a, 'i>>)> {
        let v = self.get(key, required)?;
        let DeValue::Array(items) = v.get_ref() else {
            self.wrong_type(key, v, "danh sách bảng [[…]]", "an array of tables [[…]]");
            return None;
        };
        if items.is_empty() && required {
            self.problems.add(
                &v.span(),
                format_args!("danh sách `{key}` không được để trống"),
                format_args!("`{key}` must not be empty"),
            );
        }
        let mut out = Vec::new();
        for item in items.iter() {
            match item.get_ref() {
                DeValue::Table(t) => out.push((item.span(), t)),
                _ => self.wrong_type(key, item, "bảng [[…]]", "a table [[…]]"),
            }
        }
        Some((v.span(), out))
    }

    /// Reports every field not in `known`.
    fn finish(self, known: &[&str]) {
        for (k, _) in self.table.iter() {
            if !known.contains(&k.get_ref().as_ref()) {
                let (vi, en) = self.where_();
                let name = k.get_ref();
                self.problems.add(
                    &k.span(),
                    format_args!("trường không xác định `{name}`{vi}"),
                    format_args!("unknown field `{name}`{en}"),
                );
            }
        }
    }
}

/// A unit as written back to a file.
#[derive(Serialize)]
struct OutUnit<'a> {
    /// `code`.
    code: &'a str,
    /// `name`.
    name: &'a str,
    /// `kind`.
    kind: &'a str,
    /// `parent`, left out for the root.
    #[serde(skip_serializing_if = "Option::is_none")]
    parent: Option<&'a str>,
}

/// A phase as written back to a file, in local time.
#[derive(Serialize)]
struct OutPhase {
    /// `kind`.
    kind: &'static str,
    /// `starts`, local time.
    starts: String,
    /// `ends`, local time.
    ends: String,
}

/// A whole campaign as written back to a file.
#[derive(Serialize)]
struct OutFile<'a> {
    /// `slug`.
    slug: &'a str,
    /// `issuer`.
    issuer: &'a str,
    /// `title`.
    title: &'a str,
    /// `document_title`.
    document_title: &'a str,
    /// `intro`.
    intro: &'a str,
    /// `purpose`.
    purpose: &'a str,
    /// `retention_months`.
    retention_months: u32,
    /// `notice_version`.
    notice_version: &'a str,
    /// `target_groups`.
    target_groups: Vec<&'a str>,
    /// `[[units]]`.
    units: Vec<OutUnit<'a>>,
    /// `[[sections]]`.
    sections: &'a [Section],
    /// `[[topics]]`.
    topics: &'a [Topic],
    /// `[[phases]]`.
    phases: Vec<OutPhase>,
    /// `[[reports]]`, when there are any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    reports: Vec<OutReport>,
}

/// A report date as written back: the day and the hour, or the day and time when it is not
/// on the hour.
#[derive(Serialize)]
struct OutReport {
    /// `date`.
    date: String,
    /// `unit`.
    #[serde(skip_serializing_if = "Option::is_none")]
    unit: Option<String>,
    /// `hour`.
    #[serde(skip_serializing_if = "Option::is_none")]
    hour: Option<u32>,
}

/// A time written the way the format reads it: `2025-07-13 07:00` in Vietnam time (seconds
/// only when there are some).
pub(super) fn local_text(at: DateTime<Utc>) -> String {
    let local = at.with_timezone(&TZ);
    if local.second() == 0 {
        local.format("%Y-%m-%d %H:%M").to_string()
    } else {
        local.format("%Y-%m-%d %H:%M:%S").to_string()
    }
}

/// Writes a campaign in the file format (without comments); [`super::parse`] reads it back to
/// the same campaign (with `id` 0).
pub(super) fn to_toml(
    c: &Campaign,
    reports: &[super::ReportPlan],
) -> Result<String, toml::ser::Error> {
    toml::to_string(&OutFile {
        slug: &c.slug,
        issuer: &c.issuer,
        title: &c.title,
        document_title: &c.document_title,
        intro: &c.intro,
        purpose: &c.purpose,
        retention_months: c.retention_months,
        notice_version: &c.notice_version,
        target_groups: c.target_groups.iter().map(|g| g.code.as_str()).collect(),
        units: c
            .units
            .iter()
            .map(|u| OutUnit {
                code: &u.code,
                name: &u.name,
                kind: &u.kind,
                parent: u.parent.as_deref(),
            })
            .collect(),
        sections: &c.sections,
        topics: &c.topics,
        phases: c
            .phases
            .iter()
            .map(|p| OutPhase {
                kind: p.kind.as_str(),
                starts: local_text(p.starts_at),
                ends: local_text(p.ends_at),
            })
            .collect(),
        reports: reports
            .iter()
            .map(|r| {
                let local = r.due_at.with_timezone(&TZ);
                let on_the_hour = local.minute() == 0 && local.second() == 0;
                OutReport {
                    date: if on_the_hour {
                        local.format("%Y-%m-%d").to_string()
                    } else {
                        local_text(r.due_at)
                    },
                    unit: r.unit.clone(),
                    hour: on_the_hour.then(|| local.hour()),
                }
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters_not_bytes() {
        let text = "a = \"Hòa\"\nbb = 1\n";
        assert_eq!(line_column(text, 0), (1, 1));
        let b = text.find("bb").unwrap();
        assert_eq!(line_column(text, b), (2, 1));
        let one = text.find('1').unwrap();
        assert_eq!(line_column(text, one), (2, 6));
        // After the two-byte "ò" the column still advances by one.
        let quote = text.rfind('"').unwrap();
        assert_eq!(line_column(text, quote), (1, 9));
    }

    #[test]
    fn clean_normalises_to_nfc_and_trims() {
        // "Hòa" written with a combining grave accent (NFD).
        let nfd = "  Ho\u{0300}a  ";
        assert_eq!(clean(nfd), "H\u{00f2}a");
    }
}
