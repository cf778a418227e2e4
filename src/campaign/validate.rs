//! What a campaign file must mean: formats of codes and references, no duplicates, one unit
//! tree with one root, known target groups and sections, phases in order and not overlapping,
//! a collection phase, texts short enough for a chat. Turns a [`RawCampaign`] into a
//! [`Campaign`] only when nothing at all is wrong.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use chrono::{DateTime, Days, NaiveDate, NaiveDateTime, TimeZone as _, Utc};

use super::file::{At, Problems, RawCampaign, RawPhase, RawUnit};
use super::{format_local, format_local_end};
use crate::domain::{Campaign, Phase, PhaseKind, Section, TZ, TargetGroup, Topic, Unit};

/// Longest campaign title, issuer, section title.
const TITLE_MAX: usize = 200;
/// Longest document title.
const DOCUMENT_TITLE_MAX: usize = 300;
/// Longest intro, purpose, section summary, topic question: one chat message with room left.
pub const TEXT_MAX: usize = 1000;
/// Longest topic title: it is a button label in the topic menu.
const TOPIC_TITLE_MAX: usize = 60;
/// Longest unit name: it is a button label too.
const UNIT_NAME_MAX: usize = 100;
/// Longest notice version.
const NOTICE_VERSION_MAX: usize = 32;
/// Longest Telegram deep-link payload (`/start <payload>`).
const DEEP_LINK_MAX: usize = 64;
/// Retention when the file does not say.
const DEFAULT_RETENTION_MONTHS: u32 = 12;
/// Longest retention a file may ask for (ten years).
const MAX_RETENTION_MONTHS: i64 = 120;

/// Whether a date-only value means the start of the day or its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Edge {
    /// `starts = "2025-07-13"` is 00:00 that day.
    Start,
    /// `ends = "2025-07-20"` is the end of that day (00:00 the next day, exclusive).
    End,
}

/// Reads a local date-time in Asia/Ho_Chi_Minh: `2025-07-13 07:00`, `2025-07-13T07:00`
/// (seconds optional), or a date alone; a time with an explicit offset is taken as written.
pub(super) fn parse_local(s: &str, edge: Edge) -> Option<DateTime<Utc>> {
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt.with_timezone(&Utc));
    }
    let naive = if let Ok(date) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let date = match edge {
            Edge::Start => date,
            Edge::End => date.checked_add_days(Days::new(1))?,
        };
        date.and_hms_opt(0, 0, 0)?
    } else {
        [
            "%Y-%m-%d %H:%M",
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M:%S",
            "%Y-%m-%dT%H:%M:%S",
        ]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())?
    };
    TZ.from_local_datetime(&naive)
        .earliest()
        .map(|dt| dt.with_timezone(&Utc))
}

/// The value of a Roman numeral written in canonical form (`IV`, not `IIII`), if it is one.
fn roman(s: &str) -> Option<u32> {
    const TABLE: [(u32, &str); 13] = [
        (1000, "M"),
        (900, "CM"),
        (500, "D"),
        (400, "CD"),
        (100, "C"),
        (90, "XC"),
        (50, "L"),
        (40, "XL"),
        (10, "X"),
        (9, "IX"),
        (5, "V"),
        (4, "IV"),
        (1, "I"),
    ];
    let value = |c| match c {
        'I' => Some(1),
        'V' => Some(5),
        'X' => Some(10),
        'L' => Some(50),
        'C' => Some(100),
        'D' => Some(500),
        'M' => Some(1000),
        _ => None,
    };
    let digits: Vec<u32> = s.chars().map(value).collect::<Option<_>>()?;
    let mut total = 0;
    for (i, d) in digits.iter().enumerate() {
        match digits.get(i + 1) {
            Some(next) if next > d => total -= *d as i64,
            _ => total += *d as i64,
        }
    }
    let total = u32::try_from(total)
        .ok()
        .filter(|n| (1..4000).contains(n))?;
    let mut canonical = String::new();
    let mut rest = total;
    for (n, r) in TABLE {
        while rest >= n {
            canonical.push_str(r);
            rest -= n;
        }
    }
    (canonical == s).then_some(total)
}

/// Whether `r` is a section reference: a Roman numeral, then `.n` parts (`II`, `II.3`, `I.2.1`).
fn is_section_reference(r: &str) -> bool {
    let mut parts = r.split('.');
    let Some(head) = parts.next() else {
        return false;
    };
    r.chars().count() <= 16
        && roman(head).is_some()
        && parts.all(|p| {
            (1..=3).contains(&p.len())
                && p.chars().all(|c| c.is_ascii_digit())
                && !p.starts_with('0')
        })
}

/// Whether `s` is 1 to `max` characters, each allowed by `ok`.
fn is_code(s: &str, max: usize, ok: impl Fn(char) -> bool) -> bool {
    !s.is_empty() && s.chars().count() <= max && s.chars().all(ok)
}

/// Whether `s` is a valid slug, `[a-z0-9-]{1,32}`.
pub(super) fn is_slug(s: &str) -> bool {
    is_code(s, 32, |c| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'
    })
}

/// Whether `s` is a valid unit code, `[A-Za-z0-9-]{1,24}`.
fn is_unit_code(s: &str) -> bool {
    is_code(s, 24, |c| c.is_ascii_alphanumeric() || c == '-')
}

/// Whether `s` is a valid topic code, `[a-z0-9-]{1,16}`.
fn is_topic_code(s: &str) -> bool {
    is_code(s, 16, |c| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'
    })
}

/// Whether `s` is a valid unit kind, `[a-z-]{1,32}`.
fn is_unit_kind(s: &str) -> bool {
    is_code(s, 32, |c| c.is_ascii_lowercase() || c == '-')
}

/// Checks a text field: present, not empty, at most `max` characters. Returns it when good.
fn text(
    problems: &mut Problems<'_>,
    field: &Option<At<String>>,
    key: &str,
    max: usize,
) -> Option<String> {
    let field = field.as_ref()?;
    let s = field.get_ref();
    let n = s.chars().count();
    if n == 0 {
        problems.add(
            &field.span(),
            format_args!("trường `{key}` không được để trống"),
            format_args!("field `{key}` must not be empty"),
        );
        None
    } else if n > max {
        problems.add(
            &field.span(),
            format_args!("trường `{key}` dài {n} ký tự, tối đa {max}"),
            format_args!("field `{key}` is {n} characters long; at most {max}"),
        );
        None
    } else {
        Some(s.clone())
    }
}

/// Checks a code field against its format; returns it when good. `what` names the field and
/// `rule` says what it may hold, each as (Vietnamese, English).
fn check_code(
    problems: &mut Problems<'_>,
    field: &Option<At<String>>,
    ok: fn(&str) -> bool,
    what: (&str, &str),
    rule: (&str, &str),
) -> Option<String> {
    let field = field.as_ref()?;
    let s = field.get_ref();
    if ok(s) {
        Some(s.clone())
    } else {
        problems.add(
            &field.span(),
            format_args!("{} không hợp lệ: `{s}` ({})", what.0, rule.0),
            format_args!("invalid {}: `{s}` ({})", what.1, rule.1),
        );
        None
    }
}

/// Validates everything; returns the campaign (with `id` 0) only when `problems` stays empty.
pub(super) fn validate(raw: &RawCampaign, problems: &mut Problems<'_>) -> Option<Campaign> {
    let whole = 0..0;
    let slug = check_code(
        problems,
        &raw.slug,
        is_slug,
        ("mã đợt (slug)", "slug"),
        (
            "chữ thường không dấu, chữ số, dấu gạch ngang, tối đa 32 ký tự",
            "lower-case a-z, digits, hyphens, at most 32 characters",
        ),
    );
    let issuer = text(problems, &raw.issuer, "issuer", TITLE_MAX);
    let title = text(problems, &raw.title, "title", TITLE_MAX);
    let document_title = text(
        problems,
        &raw.document_title,
        "document_title",
        DOCUMENT_TITLE_MAX,
    );
    let intro = text(problems, &raw.intro, "intro", TEXT_MAX);
    let purpose = text(problems, &raw.purpose, "purpose", TEXT_MAX);
    let retention_months = match &raw.retention_months {
        None => Some(DEFAULT_RETENTION_MONTHS),
        Some(m) if (1..=MAX_RETENTION_MONTHS).contains(m.get_ref()) => {
            u32::try_from(*m.get_ref()).ok()
        }
        Some(m) => {
            problems.add(
                &m.span(),
                format_args!("`retention_months` phải từ 1 đến {MAX_RETENTION_MONTHS} tháng"),
                format_args!("`retention_months` must be between 1 and {MAX_RETENTION_MONTHS}"),
            );
            None
        }
    };
    let notice_version = match &raw.notice_version {
        None => Some("1".to_owned()),
        field => text(problems, field, "notice_version", NOTICE_VERSION_MAX),
    };

    let units = units(raw, slug.as_deref(), problems);
    let target_groups = target_groups(raw, problems);
    let sections = sections(raw, problems);
    let topics = topics(raw, problems);
    let phases = phases(raw, problems, &whole);

    if !problems.is_empty() {
        return None;
    }
    Some(Campaign {
        id: 0,
        slug: slug?,
        issuer: issuer?,
        title: title?,
        document_title: document_title?,
        intro: intro?,
        purpose: purpose?,
        retention_months: retention_months?,
        notice_version: notice_version?,
        units,
        target_groups,
        sections,
        topics,
        phases,
    })
}

/// Checks the unit tree: codes, names, kinds, duplicates, one root, known parents, no cycle.
fn units(raw: &RawCampaign, slug: Option<&str>, problems: &mut Problems<'_>) -> Vec<Unit> {
    let mut out = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (i, u) in raw.units.iter().enumerate() {
        let code = check_code(
            problems,
            &u.code,
            is_unit_code,
            ("mã địa bàn", "unit code"),
            (
                "chữ cái không dấu, chữ số, dấu gạch ngang, tối đa 24 ký tự",
                "letters a-z, A-Z, digits, hyphens, at most 24 characters",
            ),
        );
        let name = text(problems, &u.name, "name", UNIT_NAME_MAX);
        let kind = check_code(
            problems,
            &u.kind,
            is_unit_kind,
            ("loại địa bàn", "unit kind"),
            (
                "ví dụ ward, commune, village, residential-group, union",
                "e.g. ward, commune, village, residential-group, union",
            ),
        );
        if let Some(at) = &u.code {
            // Codes are indexed as written, even malformed, so that their children are not
            // reported as orphans on top of the malformed code.
            let c = at.get_ref();
            if index.contains_key(c.as_str()) {
                problems.add(
                    &at.span(),
                    format_args!("mã địa bàn trùng lặp: {c}"),
                    format_args!("duplicate unit code: {c}"),
                );
            } else {
                index.insert(at.get_ref(), i);
            }
            if let (Some(slug), Some(c)) = (slug, &code) {
                let link = format!("{slug}_{c}");
                if link.len() > DEEP_LINK_MAX {
                    problems.add(
                        &at.span(),
                        format_args!("liên kết `{link}` dài hơn {DEEP_LINK_MAX} ký tự"),
                        format_args!(
                            "deep link `{link}` is longer than {DEEP_LINK_MAX} characters"
                        ),
                    );
                }
            }
        }
        match (i, &u.parent) {
            (0, Some(p)) => problems.add(
                &p.span(),
                "địa bàn đầu tiên là địa bàn gốc, không được có `parent`",
                "the first unit is the root and must not have a parent",
            ),
            (0, None) => {}
            (_, None) => {
                let c = u.code.as_ref().map_or("?", |c| c.get_ref().as_str());
                problems.add(
                    &u.at,
                    format_args!(
                        "chỉ được có một địa bàn gốc (địa bàn đầu tiên): địa bàn {c} thiếu `parent`"
                    ),
                    format_args!("more than one root: unit {c} has no parent"),
                );
            }
            (_, Some(_)) => {}
        }
        out.push(Unit {
            code: code.unwrap_or_default(),
            name: name.unwrap_or_default(),
            parent: u.parent.as_ref().map(|p| p.get_ref().clone()),
            kind: kind.unwrap_or_default(),
        });
    }
    // Parents: known, and no cycle.
    let parent_of = |u: &RawUnit| -> Option<usize> {
        u.parent
            .as_ref()
            .and_then(|p| index.get(p.get_ref().as_str()).copied())
    };
    for u in raw.units.iter().skip(1) {
        if let Some(p) = &u.parent
            && !index.contains_key(p.get_ref().as_str())
        {
            let p = p.get_ref();
            problems.add(
                &u.parent.as_ref().map_or(u.at.clone(), |p| p.span()),
                format_args!("địa bàn cấp trên không tồn tại: {p}"),
                format_args!("unknown parent unit: {p}"),
            );
        }
    }
    let mut in_reported_cycle: HashSet<usize> = HashSet::new();
    for start in 0..raw.units.len() {
        let mut path = vec![start];
        let mut at = start;
        while let Some(next) = parent_of(&raw.units[at]) {
            if let Some(pos) = path.iter().position(|&n| n == next) {
                let cycle = &path[pos..];
                if cycle.iter().all(|n| !in_reported_cycle.contains(n)) {
                    in_reported_cycle.extend(cycle.iter().copied());
                    let first = cycle.iter().copied().min().unwrap_or(start);
                    let mut names: Vec<&str> = Vec::new();
                    let mut n = first;
                    loop {
                        names.push(raw.units[n].code.as_ref().map_or("?", |c| c.get_ref()));
                        match parent_of(&raw.units[n]) {
                            Some(p) if p != first => n = p,
                            _ => break,
                        }
                    }
                    names.push(names[0]);
                    let chain = names.join(" → ");
                    let u = &raw.units[first];
                    problems.add(
                        &u.parent.as_ref().map_or(u.at.clone(), |p| p.span()),
                        format_args!("các địa bàn lồng vòng vào nhau: {chain}"),
                        format_args!("units form a cycle: {chain}"),
                    );
                }
                break;
            }
            if path.len() > raw.units.len() {
                break;
            }
            path.push(next);
            at = next;
        }
    }
    out
}

/// Checks the target groups: known codes, no duplicate.
fn target_groups(raw: &RawCampaign, problems: &mut Problems<'_>) -> Vec<TargetGroup> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for g in &raw.target_groups {
        let code = g.get_ref();
        if !TargetGroup::KNOWN.contains(&code.as_str()) {
            let known = TargetGroup::KNOWN.join(", ");
            problems.add(
                &g.span(),
                format_args!(
                    "đối tượng không có trong danh sách: {code} (dùng một trong: {known})"
                ),
                format_args!("unknown target group: {code} (use one of: {known})"),
            );
        } else if !seen.insert(code.as_str()) {
            problems.add(
                &g.span(),
                format_args!("đối tượng trùng lặp: {code}"),
                format_args!("duplicate target group: {code}"),
            );
        } else {
            out.push(TargetGroup { code: code.clone() });
        }
    }
    out
}

/// Checks the sections: references, texts, duplicates.
fn sections(raw: &RawCampaign, problems: &mut Problems<'_>) -> Vec<Section> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for s in &raw.sections {
        let reference = check_code(
            problems,
            &s.reference,
            is_section_reference,
            ("số mục", "section reference"),
            (
                "số La Mã, có thể kèm số thứ tự: I, II, II.3",
                "a Roman numeral, then dotted numbers: I, II, II.3",
            ),
        );
        let title = text(problems, &s.title, "title", TITLE_MAX);
        let summary = text(problems, &s.summary, "summary", TEXT_MAX);
        if let (Some(r), Some(at)) = (&reference, &s.reference)
            && !seen.insert(r.clone())
        {
            problems.add(
                &at.span(),
                format_args!("số mục trùng lặp: {r}"),
                format_args!("duplicate section reference: {r}"),
            );
        }
        out.push(Section {
            reference: reference.unwrap_or_default(),
            title: title.unwrap_or_default(),
            summary: summary.unwrap_or_default(),
        });
    }
    out
}

/// Checks the topics: codes, texts, duplicates, and that every section they name exists.
/// A topic naming a section whose reference is malformed is not reported again: the section
/// itself already is.
fn topics(raw: &RawCampaign, problems: &mut Problems<'_>) -> Vec<Topic> {
    let known: HashSet<&str> = raw
        .sections
        .iter()
        .filter_map(|s| s.reference.as_ref().map(|r| r.get_ref().as_str()))
        .collect();
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for t in &raw.topics {
        let code = check_code(
            problems,
            &t.code,
            is_topic_code,
            ("mã nội dung", "topic code"),
            (
                "chữ thường không dấu, chữ số, dấu gạch ngang, tối đa 16 ký tự",
                "lower-case a-z, digits, hyphens, at most 16 characters",
            ),
        );
        let title = text(problems, &t.title, "title", TOPIC_TITLE_MAX);
        let question = text(problems, &t.question, "question", TEXT_MAX);
        if let (Some(c), Some(at)) = (&code, &t.code)
            && !seen.insert(c.clone())
        {
            problems.add(
                &at.span(),
                format_args!("mã nội dung trùng lặp: {c}"),
                format_args!("duplicate topic code: {c}"),
            );
        }
        let name = t.code.as_ref().map_or("?", |c| c.get_ref().as_str());
        let mut refs = Vec::new();
        for r in &t.sections {
            let reference = r.get_ref();
            if !known.contains(reference.as_str()) {
                problems.add(
                    &r.span(),
                    format_args!(
                        "nội dung {name} dẫn chiếu mục không có trong dự thảo: {reference}"
                    ),
                    format_args!("topic {name} refers to an unknown section: {reference}"),
                );
            } else if refs.contains(reference) {
                problems.add(
                    &r.span(),
                    format_args!("nội dung {name} nêu mục {reference} hai lần"),
                    format_args!("topic {name} lists section {reference} twice"),
                );
            } else {
                refs.push(reference.clone());
            }
        }
        out.push(Topic {
            code: code.unwrap_or_default(),
            title: title.unwrap_or_default(),
            question: question.unwrap_or_default(),
            sections: refs,
        });
    }
    out
}

/// A phase whose kind and dates could be read, with where it was written.
struct DatedPhase<'r> {
    /// The phase as written.
    raw: &'r RawPhase,
    /// The phase as read.
    phase: Phase,
}

/// Reads one date field of a phase, reporting it when it is not a date-time gopy reads.
fn phase_time(
    problems: &mut Problems<'_>,
    field: &Option<At<String>>,
    edge: Edge,
) -> Option<DateTime<Utc>> {
    let field = field.as_ref()?;
    let s = field.get_ref();
    let parsed = parse_local(s, edge);
    if parsed.is_none() {
        problems.add(
            &field.span(),
            format_args!(
                "thời điểm không hợp lệ: `{s}` (viết theo dạng 2025-07-13 07:00 hoặc 2025-07-13, giờ Việt Nam)"
            ),
            format_args!(
                "invalid date-time: `{s}` (write 2025-07-13 07:00 or 2025-07-13, Vietnam time)"
            ),
        );
    }
    parsed
}

/// The hour a report is due when its `[[reports]]` row gives none (Vietnam time).
pub const DEFAULT_REPORT_HOUR: i64 = 8;

/// Checks the optional `[[reports]]` rows: a readable day (or day and time, then without
/// `hour`), an hour from 0 to 23, a unit of the file's unit tree, no row twice. Each problem
/// names the row (counted from 1) and the field.
pub(super) fn reports(raw: &RawCampaign, problems: &mut Problems<'_>) -> Vec<super::ReportPlan> {
    let codes: HashSet<&str> = raw
        .units
        .iter()
        .filter_map(|u| u.code.as_ref().map(|c| c.get_ref().as_str()))
        .collect();
    let mut seen: HashSet<(Option<String>, DateTime<Utc>)> = HashSet::new();
    let mut out = Vec::new();
    for (i, r) in raw.reports.iter().enumerate() {
        let row = i + 1;
        let Some(date) = &r.date else {
            continue;
        };
        let text = date.get_ref();
        let day = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok();
        let hour = match &r.hour {
            Some(h) if day.is_none() => {
                problems.add(
                    &h.span(),
                    format_args!(
                        "báo cáo thứ {row}: `hour` chỉ dùng khi `date` là một ngày (2026-07-23); ngày giờ `{text}` đã có giờ"
                    ),
                    format_args!(
                        "report {row}: `hour` goes only with a `date` that is a day (2026-07-23); `{text}` has its time already"
                    ),
                );
                None
            }
            Some(h) if !(0..=23).contains(h.get_ref()) => {
                let v = h.get_ref();
                problems.add(
                    &h.span(),
                    format_args!(
                        "báo cáo thứ {row}: `hour` phải từ 0 đến 23 (giờ Việt Nam), không phải {v}"
                    ),
                    format_args!(
                        "report {row}: `hour` must be between 0 and 23 (Vietnam time), not {v}"
                    ),
                );
                None
            }
            Some(h) => Some(*h.get_ref()),
            None => Some(DEFAULT_REPORT_HOUR),
        };
        let due = match day {
            Some(d) => hour
                .and_then(|h| u32::try_from(h).ok())
                .and_then(|h| d.and_hms_opt(h, 0, 0))
                .and_then(|n| TZ.from_local_datetime(&n).earliest())
                .map(|t| t.with_timezone(&Utc)),
            None => {
                let parsed = parse_local(text, Edge::Start);
                if parsed.is_none() {
                    problems.add(
                        &date.span(),
                        format_args!(
                            "báo cáo thứ {row}: ngày không hợp lệ `{text}` (viết 2026-07-23, hoặc 2026-07-23 08:30, giờ Việt Nam)"
                        ),
                        format_args!(
                            "report {row}: invalid date `{text}` (write 2026-07-23, or 2026-07-23 08:30, Vietnam time)"
                        ),
                    );
                }
                parsed
            }
        };
        let unit = match &r.unit {
            Some(u) if !codes.contains(u.get_ref().as_str()) => {
                let v = u.get_ref();
                problems.add(
                    &u.span(),
                    format_args!("báo cáo thứ {row}: địa bàn `{v}` không có trong [[units]]"),
                    format_args!("report {row}: unit `{v}` is not among the [[units]]"),
                );
                continue;
            }
            Some(u) => Some(u.get_ref().clone()),
            None => None,
        };
        let Some(due_at) = due else {
            continue;
        };
        if !seen.insert((unit.clone(), due_at)) {
            problems.add(
                &r.at,
                format_args!(
                    "báo cáo thứ {row}: trùng ngày, giờ và địa bàn với một báo cáo ở trên"
                ),
                format_args!("report {row}: the same date, hour and unit as a report above"),
            );
            continue;
        }
        out.push(super::ReportPlan { unit, due_at });
    }
    out
}

/// Checks the phases: known kinds, readable dates, each closing after it opens, no duplicate,
/// in the order announce › collect › synthesise › report, not overlapping, and a collect phase.
fn phases(raw: &RawCampaign, problems: &mut Problems<'_>, whole: &Range<usize>) -> Vec<Phase> {
    let mut dated: Vec<DatedPhase<'_>> = Vec::new();
    let mut seen: HashSet<PhaseKind> = HashSet::new();
    let mut has_collect = false;
    for p in &raw.phases {
        let kind = p.kind.as_ref().and_then(|k| {
            let parsed = PhaseKind::parse(k.get_ref());
            if parsed.is_none() {
                let k = k.get_ref();
                problems.add(
                    &p.kind.as_ref().map_or(p.at.clone(), |k| k.span()),
                    format_args!(
                        "giai đoạn không hợp lệ: `{k}` (dùng announce, collect, synthesise, report)"
                    ),
                    format_args!(
                        "unknown phase kind: `{k}` (use announce, collect, synthesise, report)"
                    ),
                );
            }
            parsed
        });
        if let (Some(kind), Some(at)) = (kind, &p.kind) {
            has_collect |= kind == PhaseKind::Collect;
            if !seen.insert(kind) {
                problems.add(
                    &at.span(),
                    format_args!("giai đoạn trùng lặp: {}", kind.as_str()),
                    format_args!("duplicate phase: {}", kind.as_str()),
                );
                continue;
            }
        }
        let starts = phase_time(problems, &p.starts, Edge::Start);
        let ends = phase_time(problems, &p.ends, Edge::End);
        let (Some(kind), Some(starts_at), Some(ends_at)) = (kind, starts, ends) else {
            continue;
        };
        if ends_at <= starts_at {
            let (s, e) = (format_local(starts_at), format_local_end(ends_at));
            let k = kind.as_str();
            problems.add(
                &p.ends.as_ref().map_or(p.at.clone(), |e| e.span()),
                format_args!(
                    "giai đoạn {k} kết thúc trước khi bắt đầu (bắt đầu {s}, kết thúc {e})"
                ),
                format_args!("phase {k} closes before it opens (opens {s}, closes {e})"),
            );
            continue;
        }
        dated.push(DatedPhase {
            raw: p,
            phase: Phase {
                kind,
                starts_at,
                ends_at,
            },
        });
    }
    if !has_collect {
        let at = raw.phases_at.clone().unwrap_or(whole.clone());
        if !raw.phases.is_empty() {
            problems.add(
                &at,
                "thiếu giai đoạn lấy ý kiến (kind = \"collect\")",
                "no collect phase (kind = \"collect\")",
            );
        }
    }
    dated.sort_by_key(|d| d.phase.kind);
    for pair in dated.windows(2) {
        let (prev, next) = (&pair[0].phase, &pair[1].phase);
        let at = pair[1]
            .raw
            .starts
            .as_ref()
            .map_or(pair[1].raw.at.clone(), |s| s.span());
        let (pk, nk) = (prev.kind.as_str(), next.kind.as_str());
        if next.starts_at < prev.starts_at {
            problems.add(
                &at,
                format_args!(
                    "giai đoạn {nk} phải bắt đầu sau giai đoạn {pk} (thứ tự: announce, collect, synthesise, report)"
                ),
                format_args!(
                    "phases out of order: {nk} must start after {pk} (order: announce, collect, synthesise, report)"
                ),
            );
        } else if next.starts_at < prev.ends_at {
            let (s, e) = (format_local(next.starts_at), format_local_end(prev.ends_at));
            problems.add(
                &at,
                format_args!("giai đoạn {nk} bắt đầu ({s}) khi giai đoạn {pk} chưa kết thúc ({e})"),
                format_args!("phase {nk} (opens {s}) overlaps phase {pk} (closes {e})"),
            );
        }
    }
    dated.into_iter().map(|d| d.phase).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roman_numerals_are_read_in_canonical_form_only() {
        assert_eq!(roman("I"), Some(1));
        assert_eq!(roman("IV"), Some(4));
        assert_eq!(roman("XIV"), Some(14));
        assert_eq!(roman("IIII"), None);
        assert_eq!(roman("IL"), None);
        assert_eq!(roman("i"), None);
        assert_eq!(roman(""), None);
    }

    #[test]
    fn section_references_are_a_roman_numeral_then_dotted_numbers() {
        for ok in ["I", "II", "II.3", "IV.1.2", "X.10"] {
            assert!(is_section_reference(ok), "{ok}");
        }
        for bad in [
            "", "2", "II.", "II.03", "II..3", "ii.3", "II.a", "II.1000", "IIII",
        ] {
            assert!(!is_section_reference(bad), "{bad}");
        }
    }

    #[test]
    fn local_times_are_read_in_ho_chi_minh_time() {
        let utc = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        assert_eq!(
            parse_local("2025-07-13 07:00", Edge::Start),
            Some(utc("2025-07-13T00:00:00Z"))
        );
        assert_eq!(
            parse_local("2025-07-13T07:00", Edge::Start),
            Some(utc("2025-07-13T00:00:00Z"))
        );
        assert_eq!(
            parse_local("2025-07-13T07:00:00", Edge::End),
            Some(utc("2025-07-13T00:00:00Z"))
        );
        assert_eq!(
            parse_local("2025-07-13", Edge::Start),
            Some(utc("2025-07-12T17:00:00Z"))
        );
        // A date alone as an end means the end of that day.
        assert_eq!(
            parse_local("2025-07-20", Edge::End),
            Some(utc("2025-07-20T17:00:00Z"))
        );
        assert_eq!(
            parse_local("2025-07-13T07:00:00+07:00", Edge::Start),
            Some(utc("2025-07-13T00:00:00Z"))
        );
        assert_eq!(parse_local("13/7/2025", Edge::Start), None);
        assert_eq!(parse_local("2025-02-30", Edge::Start), None);
    }
}
