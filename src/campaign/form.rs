//! A campaign as a form holds it (every field plain text, rows in order) and its validation
//! by the campaign file's own rules: the draft is written as a campaign file, one value per
//! line, and read back by [`super::parse`], so the console's form and `gopy campaign import`
//! accept and refuse exactly the same campaigns. Each problem the file reader reports on a
//! line is handed back with the form field that line came from.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::file::local_text;
use crate::domain::{Campaign, PhaseKind};

/// One unit row of the form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DraftUnit {
    /// `code`.
    pub code: String,
    /// `name`.
    pub name: String,
    /// `kind` (ward, village, residential-group, …).
    pub kind: String,
    /// `parent` (empty for the root).
    pub parent: String,
}

/// One section row of the form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DraftSection {
    /// `reference` (I, II.3).
    pub reference: String,
    /// `title`.
    pub title: String,
    /// `summary`.
    pub summary: String,
}

/// One topic row of the form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DraftTopic {
    /// `code`.
    pub code: String,
    /// `title` (a button label).
    pub title: String,
    /// `question`.
    pub question: String,
    /// The sections it is about, as typed: references separated by commas or spaces.
    pub sections: String,
}

/// One phase row: its dates as typed (`2025-07-13 07:00` or `2025-07-13`, Vietnam time).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DraftPhase {
    /// `starts`.
    pub starts: String,
    /// `ends`.
    pub ends: String,
}

/// A campaign as the console's form holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Draft {
    /// `slug`.
    pub slug: String,
    /// `issuer`.
    pub issuer: String,
    /// `title`.
    pub title: String,
    /// `document_title`.
    pub document_title: String,
    /// `intro`.
    pub intro: String,
    /// `purpose`.
    pub purpose: String,
    /// `retention_months` as typed (empty: the default).
    pub retention_months: String,
    /// `notice_version` as typed (empty: the default).
    pub notice_version: String,
    /// The target groups ticked.
    pub target_groups: Vec<String>,
    /// Units, the root first; blank rows are ignored.
    pub units: Vec<DraftUnit>,
    /// Sections; blank rows are ignored.
    pub sections: Vec<DraftSection>,
    /// Topics; blank rows are ignored.
    pub topics: Vec<DraftTopic>,
    /// One row per phase kind, in [`PhaseKind`] order; a row with no dates is left out.
    pub phases: [DraftPhase; 4],
}

/// The phase kinds in the order of [`Draft::phases`].
pub const PHASE_KINDS: [PhaseKind; 4] = [
    PhaseKind::Announce,
    PhaseKind::Collect,
    PhaseKind::Synthesise,
    PhaseKind::Report,
];

/// One problem with the form, and the field it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    /// The field: `title`, `units.2.code`, `topics.0.sections`, `phases.collect.ends`, a row
    /// (`units.1`, `phases.collect`), or `None` for the form as a whole.
    pub field: Option<String>,
    /// What is wrong, in Vietnamese.
    pub vi: String,
    /// What is wrong, in English.
    pub en: String,
}

impl Draft {
    /// The form filled with a stored campaign (for editing).
    pub fn from_campaign(c: &Campaign) -> Self {
        let mut phases: [DraftPhase; 4] = Default::default();
        for p in &c.phases {
            if let Some(i) = PHASE_KINDS.iter().position(|k| *k == p.kind) {
                phases[i] = DraftPhase {
                    starts: local_text(p.starts_at),
                    ends: local_text(p.ends_at),
                };
            }
        }
        Self {
            slug: c.slug.clone(),
            issuer: c.issuer.clone(),
            title: c.title.clone(),
            document_title: c.document_title.clone(),
            intro: c.intro.clone(),
            purpose: c.purpose.clone(),
            retention_months: c.retention_months.to_string(),
            notice_version: c.notice_version.clone(),
            target_groups: c.target_groups.iter().map(|g| g.code.clone()).collect(),
            units: c
                .units
                .iter()
                .map(|u| DraftUnit {
                    code: u.code.clone(),
                    name: u.name.clone(),
                    kind: u.kind.clone(),
                    parent: u.parent.clone().unwrap_or_default(),
                })
                .collect(),
            sections: c
                .sections
                .iter()
                .map(|s| DraftSection {
                    reference: s.reference.clone(),
                    title: s.title.clone(),
                    summary: s.summary.clone(),
                })
                .collect(),
            topics: c
                .topics
                .iter()
                .map(|t| DraftTopic {
                    code: t.code.clone(),
                    title: t.title.clone(),
                    question: t.question.clone(),
                    sections: t.sections.join(", "),
                })
                .collect(),
            phases,
        }
    }

    /// Checks the draft with the campaign file's rules: the campaign (with `id` 0) when
    /// nothing is wrong, else every problem with its field.
    pub fn check(&self) -> Result<Campaign, Vec<FieldProblem>> {
        let (text, lines) = self.to_file();
        super::parse(&text).map_err(|problems| {
            problems
                .iter()
                .map(|p| {
                    let (vi, en) = p.parts();
                    FieldProblem {
                        field: p.line.and_then(|l| lines.get(&l)).and_then(Clone::clone),
                        vi: vi.to_owned(),
                        en: en.to_owned(),
                    }
                })
                .collect()
        })
    }

    /// The draft as a campaign file, and which field each line (1-based) holds.
    fn to_file(&self) -> (String, HashMap<usize, Option<String>>) {
        let mut w = Writer::default();
        w.line("# gopy console form".to_owned(), None);
        w.text("slug", &self.slug, "slug");
        w.text("issuer", &self.issuer, "issuer");
        w.text("title", &self.title, "title");
        w.text("document_title", &self.document_title, "document_title");
        w.text("intro", &self.intro, "intro");
        w.text("purpose", &self.purpose, "purpose");
        let months = self.retention_months.trim();
        if !months.is_empty() {
            let value = if months.len() <= 18 && months.chars().all(|c| c.is_ascii_digit()) {
                months.to_owned()
            } else {
                quote(months)
            };
            w.line(
                format!("retention_months = {value}"),
                Some("retention_months".to_owned()),
            );
        }
        if !self.notice_version.trim().is_empty() {
            w.text("notice_version", &self.notice_version, "notice_version");
        }
        w.list("target_groups", &self.target_groups, "target_groups");
        let units: Vec<&DraftUnit> = self
            .units
            .iter()
            .filter(|u| {
                ![&u.code, &u.name, &u.kind, &u.parent]
                    .iter()
                    .all(|s| blank(s))
            })
            .collect();
        let sections: Vec<&DraftSection> = self
            .sections
            .iter()
            .filter(|s| {
                ![&s.reference, &s.title, &s.summary]
                    .iter()
                    .all(|s| blank(s))
            })
            .collect();
        let topics: Vec<&DraftTopic> = self
            .topics
            .iter()
            .filter(|t| {
                ![&t.code, &t.title, &t.question, &t.sections]
                    .iter()
                    .all(|s| blank(s))
            })
            .collect();
        let phases: Vec<(PhaseKind, &DraftPhase)> = PHASE_KINDS
            .iter()
            .copied()
            .zip(self.phases.iter())
            .filter(|(_, p)| !(blank(&p.starts) && blank(&p.ends)))
            .collect();
        // An empty list must still be written, so that the file's reader says it is empty.
        if units.is_empty() {
            w.line("units = []".to_owned(), Some("units".to_owned()));
        }
        if topics.is_empty() {
            w.line("topics = []".to_owned(), Some("topics".to_owned()));
        }
        if phases.is_empty() {
            w.line("phases = []".to_owned(), Some("phases".to_owned()));
        }
        for (i, u) in units.iter().enumerate() {
            // The header line is where a missing parent (a second root) is reported.
            w.line("[[units]]".to_owned(), Some(format!("units.{i}.parent")));
            w.text("code", &u.code, &format!("units.{i}.code"));
            w.text("name", &u.name, &format!("units.{i}.name"));
            w.text("kind", &u.kind, &format!("units.{i}.kind"));
            if !blank(&u.parent) {
                w.text("parent", &u.parent, &format!("units.{i}.parent"));
            }
        }
        for (i, s) in sections.iter().enumerate() {
            w.line("[[sections]]".to_owned(), Some(format!("sections.{i}")));
            w.text(
                "reference",
                &s.reference,
                &format!("sections.{i}.reference"),
            );
            w.text("title", &s.title, &format!("sections.{i}.title"));
            w.text("summary", &s.summary, &format!("sections.{i}.summary"));
        }
        for (i, t) in topics.iter().enumerate() {
            w.line("[[topics]]".to_owned(), Some(format!("topics.{i}")));
            w.text("code", &t.code, &format!("topics.{i}.code"));
            w.text("title", &t.title, &format!("topics.{i}.title"));
            w.text("question", &t.question, &format!("topics.{i}.question"));
            let refs: Vec<String> = t
                .sections
                .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            if !refs.is_empty() {
                w.list("sections", &refs, &format!("topics.{i}.sections"));
            }
        }
        for (kind, p) in &phases {
            let k = kind.as_str();
            w.line("[[phases]]".to_owned(), Some(format!("phases.{k}")));
            w.text("kind", k, &format!("phases.{k}"));
            w.text("starts", &p.starts, &format!("phases.{k}.starts"));
            w.text("ends", &p.ends, &format!("phases.{k}.ends"));
        }
        (w.text_out, w.lines)
    }

    /// Only the units, sections and topics that hold something (what [`Draft::check`]
    /// validates), so that the form's row numbers match the problems' fields.
    pub fn compact(&mut self) {
        self.units.retain(|u| {
            ![&u.code, &u.name, &u.kind, &u.parent]
                .iter()
                .all(|s| blank(s))
        });
        self.sections.retain(|s| {
            ![&s.reference, &s.title, &s.summary]
                .iter()
                .all(|s| blank(s))
        });
        self.topics.retain(|t| {
            ![&t.code, &t.title, &t.question, &t.sections]
                .iter()
                .all(|s| blank(s))
        });
    }
}

/// Whether a typed value holds nothing.
fn blank(s: &str) -> bool {
    s.trim().is_empty()
}

/// The file being written and which field each of its lines holds.
#[derive(Default)]
struct Writer {
    /// The text so far.
    text_out: String,
    /// Line number (1-based) → field.
    lines: HashMap<usize, Option<String>>,
    /// Lines written.
    count: usize,
}

impl Writer {
    fn line(&mut self, text: String, field: Option<String>) {
        self.count += 1;
        self.text_out.push_str(&text);
        self.text_out.push('\n');
        self.lines.insert(self.count, field);
    }

    fn text(&mut self, key: &str, value: &str, field: &str) {
        self.line(format!("{key} = {}", quote(value)), Some(field.to_owned()));
    }

    fn list(&mut self, key: &str, values: &[String], field: &str) {
        let items: Vec<String> = values.iter().map(|v| quote(v)).collect();
        self.line(
            format!("{key} = [{}]", items.join(", ")),
            Some(field.to_owned()),
        );
    }
}

/// A TOML basic string on one line.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> Draft {
        Draft::from_campaign(&super::super::parse(super::super::DEMO_TOML).expect("demo"))
    }

    #[test]
    fn a_stored_campaign_comes_back_unchanged_through_the_form() {
        let c = super::super::parse(super::super::DEMO_TOML).expect("demo");
        let back = Draft::from_campaign(&c).check().expect("valid");
        assert_eq!(back, c);
    }

    #[test]
    fn each_problem_names_the_field_it_is_about() {
        let mut d = demo();
        d.title = String::new();
        d.slug = "Sai Slug".to_owned();
        d.units[1].parent = "khong-co".to_owned();
        d.topics[0].sections = "I, XIV".to_owned();
        d.phases[1].ends = "13/7/2025".to_owned();
        let problems = d.check().expect_err("invalid");
        let fields: Vec<Option<&str>> = problems.iter().map(|p| p.field.as_deref()).collect();
        for want in [
            "slug",
            "title",
            "units.1.parent",
            "topics.0.sections",
            "phases.collect.ends",
        ] {
            assert!(fields.contains(&Some(want)), "{want} in {problems:#?}");
        }
        let title = problems
            .iter()
            .find(|p| p.field.as_deref() == Some("title"))
            .expect("title");
        assert!(title.vi.contains("không được để trống"), "{title:?}");
        assert!(title.en.contains("must not be empty"), "{title:?}");
    }

    #[test]
    fn a_value_holding_the_separator_does_not_split_the_message_wrongly() {
        let mut d = demo();
        d.slug = "a / b".to_owned();
        let problems = d.check().expect_err("invalid");
        let slug = problems
            .iter()
            .find(|p| p.field.as_deref() == Some("slug"))
            .expect("slug");
        assert!(
            slug.vi.starts_with("mã đợt (slug) không hợp lệ: `a / b`"),
            "{slug:?}"
        );
        assert!(slug.en.starts_with("invalid slug: `a / b`"), "{slug:?}");
    }

    #[test]
    fn blank_rows_are_ignored_and_quotes_and_newlines_survive() {
        let mut d = demo();
        d.units.push(DraftUnit::default());
        d.topics.push(DraftTopic::default());
        d.intro = "Dòng 1 \"trích\"\nDòng 2 \\ hết".to_owned();
        let c = d.check().expect("valid");
        assert_eq!(c.intro, "Dòng 1 \"trích\"\nDòng 2 \\ hết");
        assert_eq!(c.units.len(), demo().units.len());
    }

    #[test]
    fn a_second_root_and_an_empty_form_are_reported() {
        let mut d = demo();
        d.units[2].parent = String::new();
        let problems = d.check().expect_err("two roots");
        assert!(
            problems
                .iter()
                .any(|p| p.field.as_deref() == Some("units.2.parent")),
            "{problems:#?}"
        );
        let empty = Draft::default().check().expect_err("empty");
        assert!(empty.iter().any(|p| p.field.as_deref() == Some("units")));
        assert!(empty.iter().any(|p| p.field.as_deref() == Some("phases")));
    }
}
