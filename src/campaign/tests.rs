//! Tests of the campaign file format: a valid file, one test per kind of problem (message and
//! line), several problems at once, and the demo campaign.

use chrono::{DateTime, TimeZone as _, Utc};

use super::*;
use crate::domain::{CollectionWindow, PhaseKind};

/// A small valid campaign file; tests break it one way at a time.
const BASE: &str = r#"slug = "px-2025"
issuer = "Đảng ủy phường X"
title = "Lấy ý kiến dự thảo"
document_title = "Dự thảo Báo cáo chính trị"
intro = "Giới thiệu ngắn."
purpose = "Văn phòng Đảng ủy tổng hợp ý kiến."
target_groups = ["woman", "youth"]

[[units]]
code = "px"
name = "Phường X"
kind = "ward"

[[units]]
code = "to-1"
name = "Tổ dân phố 1"
kind = "residential-group"
parent = "px"

[[units]]
code = "to-2"
name = "Tổ dân phố 2"
kind = "residential-group"
parent = "px"

[[sections]]
reference = "I"
title = "Kết quả nhiệm kỳ"
summary = "Tóm tắt phần I."

[[sections]]
reference = "II.3"
title = "Cải cách hành chính"
summary = "Tóm tắt mục II.3."

[[topics]]
code = "kinh-te"
title = "Kinh tế"
question = "Ý kiến về kinh tế?"
sections = ["I", "II.3"]

[[topics]]
code = "hanh-chinh"
title = "Hành chính"
question = "Ý kiến về hành chính?"
sections = ["II.3"]

[[phases]]
kind = "announce"
starts = "2025-07-07 07:00"
ends = "2025-07-12"

[[phases]]
kind = "collect"
starts = "2025-07-13"
ends = "2025-07-20"

[[phases]]
kind = "synthesise"
starts = "2025-07-21T07:30"
ends = "2025-07-23"
"#;

/// `BASE` with `from` replaced by `to` (which must occur exactly once).
fn with(from: &str, to: &str) -> String {
    assert_eq!(
        BASE.matches(from).count(),
        1,
        "{from:?} must occur once in BASE"
    );
    BASE.replacen(from, to, 1)
}

/// The 1-based line of the `nth` (1-based) occurrence of `needle` in `text`.
fn line_of(text: &str, needle: &str, nth: usize) -> usize {
    let (at, _) = text
        .match_indices(needle)
        .nth(nth - 1)
        .unwrap_or_else(|| panic!("{needle:?} occurs fewer than {nth} times"));
    text[..at].matches('\n').count() + 1
}

/// The problems in `text`; fails the test if it parses.
fn problems(text: &str) -> Vec<Problem> {
    match parse(text) {
        Ok(_) => panic!("expected problems, the file parsed:\n{text}"),
        Err(p) => p,
    }
}

/// Asserts that `text` has exactly one problem, on `line`, whose message contains `message`.
fn one_problem(text: &str, line: usize, message: &str) -> Problem {
    let found = problems(text);
    assert_eq!(found.len(), 1, "expected one problem, got {found:#?}");
    let p = found.into_iter().next().unwrap();
    assert_eq!(p.line, Some(line), "{p}");
    assert!(p.column.is_some(), "{p}");
    assert!(p.message.contains(message), "{p:?} should say {message:?}");
    p
}

/// A UTC instant from RFC 3339.
fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

#[test]
fn a_valid_file_is_read_with_every_field() {
    let c = parse(BASE).unwrap();
    assert_eq!(c.id, 0);
    assert_eq!(c.slug, "px-2025");
    assert_eq!(c.issuer, "Đảng ủy phường X");
    assert_eq!(c.retention_months, 12, "default retention");
    assert_eq!(c.notice_version, "1", "default notice version");
    assert_eq!(c.units.len(), 3);
    assert_eq!(c.root_unit().unwrap().code, "px");
    assert_eq!(c.unit("to-2").unwrap().parent.as_deref(), Some("px"));
    let groups: Vec<_> = c.target_groups.iter().map(|g| g.code.as_str()).collect();
    assert_eq!(groups, ["woman", "youth"]);
    assert_eq!(c.section("II.3").unwrap().title, "Cải cách hành chính");
    assert_eq!(c.topic("kinh-te").unwrap().sections, ["I", "II.3"]);
    let kinds: Vec<_> = c.phases.iter().map(|p| p.kind).collect();
    assert_eq!(
        kinds,
        [
            PhaseKind::Announce,
            PhaseKind::Collect,
            PhaseKind::Synthesise
        ]
    );
    let collect = c.phase(PhaseKind::Collect).unwrap();
    // 13/7 00:00 and the end of 20/7, Vietnam time (UTC+7).
    assert_eq!(collect.starts_at, utc("2025-07-12T17:00:00Z"));
    assert_eq!(collect.ends_at, utc("2025-07-20T17:00:00Z"));
    let announce = c.phase(PhaseKind::Announce).unwrap();
    assert_eq!(announce.starts_at, utc("2025-07-07T00:00:00Z"));
    let synthesise = c.phase(PhaseKind::Synthesise).unwrap();
    assert_eq!(synthesise.starts_at, utc("2025-07-21T00:30:00Z"));
}

#[test]
fn a_valid_file_round_trips_through_the_writer() {
    let c = parse(BASE).unwrap();
    let text = to_toml(&c).unwrap();
    assert_eq!(parse(&text).unwrap(), c, "{text}");
}

#[test]
fn the_demo_file_round_trips_through_the_writer() {
    let c = parse(DEMO_TOML).unwrap();
    let text = to_toml(&c).unwrap();
    assert_eq!(parse(&text).unwrap(), c);
}

#[test]
fn dates_may_be_written_as_toml_dates_too() {
    let text = with(
        "starts = \"2025-07-13\"\nends = \"2025-07-20\"",
        "starts = 2025-07-13\nends = 2025-07-20T17:00:00",
    );
    let c = parse(&text).unwrap();
    let collect = c.phase(PhaseKind::Collect).unwrap();
    assert_eq!(collect.starts_at, utc("2025-07-12T17:00:00Z"));
    assert_eq!(collect.ends_at, utc("2025-07-20T10:00:00Z"));
}

#[test]
fn text_is_normalised_to_nfc_and_trimmed() {
    // "Tổ" typed with combining marks (NFD), as some keyboards on macOS produce it.
    let nfd = "To\u{0302}\u{0309} da\u{0302}n pho\u{0302}\u{0301} 1";
    let text = with("name = \"Tổ dân phố 1\"", &format!("name = \"  {nfd} \""));
    let c = parse(&text).unwrap();
    assert_eq!(c.unit("to-1").unwrap().name, "Tổ dân phố 1");
}

#[test]
fn a_byte_order_mark_is_ignored() {
    let text = format!("\u{feff}{BASE}");
    assert_eq!(parse(&text).unwrap(), parse(BASE).unwrap());
}

#[test]
fn a_toml_syntax_error_is_reported_with_its_position() {
    let text = with(
        "title = \"Lấy ý kiến dự thảo\"",
        "title = \"Lấy ý kiến dự thảo",
    );
    let found = problems(&text);
    assert!(!found.is_empty());
    assert_eq!(found[0].line, Some(3), "{:?}", found[0]);
    assert!(
        found[0].message.contains("lỗi cú pháp TOML"),
        "{:?}",
        found[0]
    );
    assert!(
        found[0].message.contains("TOML syntax error"),
        "{:?}",
        found[0]
    );
}

#[test]
fn a_missing_top_level_field_is_reported() {
    let text = with("issuer = \"Đảng ủy phường X\"\n", "");
    one_problem(
        &text,
        1,
        "thiếu trường bắt buộc `issuer` / missing required field `issuer`",
    );
}

#[test]
fn a_missing_field_in_a_table_is_reported_at_its_header() {
    let text = with("name = \"Tổ dân phố 2\"\n", "");
    one_problem(
        &text,
        line_of(&text, "[[units]]", 3),
        "missing required field `name` in [[units]]",
    );
}

#[test]
fn an_empty_field_is_reported() {
    let text = with("title = \"Lấy ý kiến dự thảo\"", "title = \"   \"");
    one_problem(
        &text,
        3,
        "trường `title` không được để trống / field `title` must not be empty",
    );
}

#[test]
fn a_value_of_the_wrong_type_is_reported() {
    let text = with(
        "target_groups",
        "retention_months = \"mười hai\"\ntarget_groups",
    );
    one_problem(
        &text,
        7,
        "`retention_months` phải là số nguyên, không phải chuỗi ký tự",
    );
}

#[test]
fn an_unknown_field_is_reported() {
    let text = with("kind = \"ward\"", "kind = \"ward\"\nnmae = \"Phường X\"");
    one_problem(
        &text,
        line_of(&text, "nmae", 1),
        "trường không xác định `nmae` trong [[units]] / unknown field `nmae` in [[units]]",
    );
}

#[test]
fn a_bad_slug_is_reported() {
    let text = with("slug = \"px-2025\"", "slug = \"Phường_X\"");
    let p = one_problem(&text, 1, "mã đợt (slug)");
    assert!(p.message.contains("invalid slug"), "{p}");
    assert_eq!(p.column, Some(8), "the value's column");
}

#[test]
fn a_bad_unit_code_is_reported() {
    let text = with("code = \"to-1\"", "code = \"tổ 1\"");
    // The unit's children do not exist here, so only the code is wrong.
    one_problem(
        &text,
        line_of(&text, "tổ 1", 1),
        "invalid unit code: `tổ 1`",
    );
}

#[test]
fn a_duplicate_unit_code_is_reported() {
    let text = with("code = \"to-2\"", "code = \"to-1\"");
    one_problem(
        &text,
        line_of(&text, "code = \"to-1\"", 2),
        "mã địa bàn trùng lặp: to-1 / duplicate unit code: to-1",
    );
}

#[test]
fn an_unknown_parent_is_reported() {
    let text = with(
        "kind = \"residential-group\"\nparent = \"px\"\n\n[[units]]\ncode = \"to-2\"",
        "kind = \"residential-group\"\nparent = \"phuong-y\"\n\n[[units]]\ncode = \"to-2\"",
    );
    one_problem(
        &text,
        line_of(&text, "phuong-y", 1),
        "địa bàn cấp trên không tồn tại: phuong-y / unknown parent unit: phuong-y",
    );
}

#[test]
fn a_second_root_is_reported() {
    let text = with(
        "code = \"to-2\"\nname = \"Tổ dân phố 2\"\nkind = \"residential-group\"\nparent = \"px\"\n",
        "code = \"to-2\"\nname = \"Tổ dân phố 2\"\nkind = \"residential-group\"\n",
    );
    one_problem(
        &text,
        line_of(&text, "[[units]]", 3),
        "more than one root: unit to-2 has no parent",
    );
}

#[test]
fn a_root_with_a_parent_is_reported() {
    let text = with("kind = \"ward\"", "kind = \"ward\"\nparent = \"to-1\"");
    let found = problems(&text);
    // The root pointing at its own child is also a cycle: both are said.
    assert!(
        found.iter().any(|p| p.line == Some(13)
            && p.message
                .contains("the first unit is the root and must not have a parent")),
        "{found:#?}"
    );
}

#[test]
fn a_cycle_of_units_is_reported_once() {
    let text = with(
        "kind = \"residential-group\"\nparent = \"px\"\n\n[[units]]\ncode = \"to-2\"\nname = \"Tổ dân phố 2\"\nkind = \"residential-group\"\nparent = \"px\"",
        "kind = \"residential-group\"\nparent = \"to-2\"\n\n[[units]]\ncode = \"to-2\"\nname = \"Tổ dân phố 2\"\nkind = \"residential-group\"\nparent = \"to-1\"",
    );
    one_problem(
        &text,
        line_of(&text, "parent = \"to-2\"", 1),
        "các địa bàn lồng vòng vào nhau: to-1 → to-2 → to-1 / units form a cycle: to-1 → to-2 → to-1",
    );
}

#[test]
fn an_unknown_target_group_is_reported() {
    let text = with("[\"woman\", \"youth\"]", "[\"woman\", \"students\"]");
    one_problem(&text, 7, "unknown target group: students");
}

#[test]
fn a_duplicate_target_group_is_reported() {
    let text = with(
        "[\"woman\", \"youth\"]",
        "[\"woman\", \"youth\", \"woman\"]",
    );
    let p = one_problem(
        &text,
        7,
        "đối tượng trùng lặp: woman / duplicate target group: woman",
    );
    assert_eq!(p.column, Some(36), "points at the second \"woman\"");
}

#[test]
fn a_bad_section_reference_is_reported() {
    let text = with("reference = \"I\"", "reference = \"1.2\"");
    let found = problems(&text);
    // The topic that names "I" now names a section that does not exist: both are said.
    assert_eq!(found.len(), 2, "{found:#?}");
    assert_eq!(found[0].line, Some(line_of(&text, "\"1.2\"", 1)));
    assert!(
        found[0]
            .message
            .contains("invalid section reference: `1.2`")
    );
    assert!(
        found[1]
            .message
            .contains("topic kinh-te refers to an unknown section: I")
    );
}

#[test]
fn a_duplicate_section_reference_is_reported() {
    let text = with("reference = \"II.3\"", "reference = \"I\"");
    let found = problems(&text);
    assert!(
        found
            .iter()
            .any(|p| p.line == Some(line_of(&text, "reference = \"I\"", 2))
                && p.message == "số mục trùng lặp: I / duplicate section reference: I"),
        "{found:#?}"
    );
}

#[test]
fn a_topic_naming_an_unknown_section_is_reported() {
    let text = with("sections = [\"II.3\"]", "sections = [\"II.9\"]");
    one_problem(
        &text,
        line_of(&text, "II.9", 1),
        "nội dung hanh-chinh dẫn chiếu mục không có trong dự thảo: II.9 / topic hanh-chinh refers to an unknown section: II.9",
    );
}

#[test]
fn a_duplicate_topic_code_is_reported() {
    let text = with("code = \"hanh-chinh\"", "code = \"kinh-te\"");
    one_problem(
        &text,
        line_of(&text, "code = \"kinh-te\"", 2),
        "mã nội dung trùng lặp: kinh-te / duplicate topic code: kinh-te",
    );
}

#[test]
fn a_bad_topic_code_is_reported() {
    let text = with("code = \"hanh-chinh\"", "code = \"Hanh_Chinh\"");
    one_problem(&text, line_of(&text, "Hanh_Chinh", 1), "invalid topic code");
}

#[test]
fn an_unknown_phase_kind_is_reported() {
    let text = with("kind = \"announce\"", "kind = \"vote\"");
    one_problem(
        &text,
        line_of(&text, "vote", 1),
        "unknown phase kind: `vote`",
    );
}

#[test]
fn a_duplicate_phase_kind_is_reported() {
    let text = format!(
        "{BASE}\n[[phases]]\nkind = \"collect\"\nstarts = \"2025-08-01\"\nends = \"2025-08-02\"\n"
    );
    one_problem(
        &text,
        line_of(&text, "kind = \"collect\"", 2),
        "giai đoạn trùng lặp: collect / duplicate phase: collect",
    );
}

#[test]
fn a_date_gopy_cannot_read_is_reported() {
    let text = with("starts = \"2025-07-13\"", "starts = \"13/7/2025\"");
    one_problem(
        &text,
        line_of(&text, "13/7/2025", 1),
        "invalid date-time: `13/7/2025`",
    );
}

#[test]
fn a_phase_that_closes_before_it_opens_is_reported() {
    let text = with("ends = \"2025-07-20\"", "ends = \"2025-07-10\"");
    one_problem(
        &text,
        line_of(&text, "2025-07-10", 1),
        "phase collect closes before it opens (opens 13/07/2025 00:00, closes 10/07/2025 24:00)",
    );
}

#[test]
fn phases_out_of_order_are_reported() {
    let text = with(
        "starts = \"2025-07-21T07:30\"\nends = \"2025-07-23\"",
        "starts = \"2025-07-01\"\nends = \"2025-07-03\"",
    );
    one_problem(
        &text,
        line_of(&text, "2025-07-01", 1),
        "phases out of order: synthesise must start after collect",
    );
}

#[test]
fn overlapping_phases_are_reported() {
    let text = with(
        "starts = \"2025-07-21T07:30\"",
        "starts = \"2025-07-20 12:00\"",
    );
    one_problem(
        &text,
        line_of(&text, "2025-07-20 12:00", 1),
        "giai đoạn synthesise bắt đầu (20/07/2025 12:00) khi giai đoạn collect chưa kết thúc (20/07/2025 24:00)",
    );
}

#[test]
fn a_campaign_without_a_collect_phase_is_reported() {
    let text = with(
        "[[phases]]\nkind = \"collect\"\nstarts = \"2025-07-13\"\nends = \"2025-07-20\"\n\n",
        "",
    );
    one_problem(
        &text,
        line_of(&text, "[[phases]]", 1),
        "thiếu giai đoạn lấy ý kiến (kind = \"collect\") / no collect phase",
    );
}

#[test]
fn an_over_long_summary_is_reported() {
    let long = "ý".repeat(1001);
    let text = with(
        "summary = \"Tóm tắt phần I.\"",
        &format!("summary = \"{long}\""),
    );
    one_problem(
        &text,
        line_of(&text, &long, 1),
        "trường `summary` dài 1001 ký tự, tối đa 1000 / field `summary` is 1001 characters long; at most 1000",
    );
}

#[test]
fn an_over_long_topic_title_is_reported() {
    let long = "Kinh tế ".repeat(10);
    let text = with("title = \"Kinh tế\"", &format!("title = \"{long}\""));
    one_problem(
        &text,
        line_of(&text, &long, 1),
        "field `title` is 79 characters long",
    );
}

#[test]
fn a_retention_out_of_range_is_reported() {
    let text = with("target_groups", "retention_months = 0\ntarget_groups");
    one_problem(&text, 7, "`retention_months` must be between 1 and 120");
}

#[test]
fn every_problem_in_a_file_is_reported_in_file_order() {
    let text = BASE
        .replacen("slug = \"px-2025\"", "slug = \"PX 2025\"", 1)
        .replacen("code = \"to-2\"", "code = \"to-1\"", 1)
        .replacen("[\"woman\", \"youth\"]", "[\"woman\", \"aliens\"]", 1)
        .replacen("sections = [\"II.3\"]", "sections = [\"IV\"]", 1)
        .replacen("ends = \"2025-07-20\"", "ends = \"2025-07-01\"", 1)
        .replacen("kind = \"ward\"", "kind = \"ward\"\nnote = \"x\"", 1);
    let found = problems(&text);
    let expected = [
        (1, "invalid slug"),
        (7, "unknown target group: aliens"),
        (line_of(&text, "note", 1), "unknown field `note`"),
        (
            line_of(&text, "code = \"to-1\"", 2),
            "duplicate unit code: to-1",
        ),
        (line_of(&text, "\"IV\"", 1), "unknown section: IV"),
        (line_of(&text, "2025-07-01", 1), "closes before it opens"),
    ];
    assert_eq!(found.len(), expected.len(), "{found:#?}");
    for (p, (line, message)) in found.iter().zip(expected) {
        assert_eq!(p.line, Some(line), "{p}");
        assert!(p.message.contains(message), "{p} should say {message}");
    }
}

#[test]
fn problems_display_as_line_column_message() {
    let p = Problem {
        line: Some(3),
        column: Some(9),
        message: "x / y".to_owned(),
    };
    assert_eq!(p.to_string(), "3:9: x / y");
}

#[test]
fn the_demo_file_is_valid_and_follows_the_plan() {
    let c = parse(DEMO_TOML).unwrap_or_else(|p| panic!("{p:#?}"));
    assert_eq!(
        c.topics.len(),
        6,
        "six topics, from the plan's section II.3"
    );
    assert_eq!(c.target_groups.len(), 11);
    let root = c.root_unit().unwrap();
    assert_eq!(root.kind, "ward");
    let groups = c
        .units
        .iter()
        .filter(|u| matches!(u.kind.as_str(), "residential-group" | "village"))
        .count();
    assert!(
        (5..=6).contains(&groups),
        "{groups} residential groups and villages"
    );
    let collect = c.phase(PhaseKind::Collect).unwrap();
    assert_eq!(format_local(collect.starts_at), "13/07/2025 00:00");
    assert_eq!(format_local_end(collect.ends_at), "20/07/2025 24:00");
    let synthesise = c.phase(PhaseKind::Synthesise).unwrap();
    assert_eq!(format_local(synthesise.starts_at), "21/07/2025 00:00");
    assert_eq!(format_local_end(synthesise.ends_at), "23/07/2025 24:00");
    for t in &c.topics {
        assert!(
            !t.sections.is_empty(),
            "topic {} names its sections",
            t.code
        );
    }
    for s in &c.sections {
        assert!(s.summary.chars().count() <= validate::TEXT_MAX);
    }
}

#[test]
fn the_demo_is_open_from_yesterday_for_seven_days() {
    // 10:00 on 3 March 2026, Vietnam time.
    let now = utc("2026-03-03T03:00:00Z");
    let c = demo(now).unwrap();
    let collect = c.phase(PhaseKind::Collect).unwrap();
    assert_eq!(format_local(collect.starts_at), "02/03/2026 00:00");
    assert_eq!(format_local(collect.ends_at), "09/03/2026 00:00");
    assert_eq!(c.window(now), CollectionWindow::Open(collect.ends_at));
    // The other phases keep their order and distances: announce still ends when collection
    // opens, synthesis still starts when it closes.
    let announce = c.phase(PhaseKind::Announce).unwrap();
    assert_eq!(announce.ends_at, collect.starts_at);
    let synthesise = c.phase(PhaseKind::Synthesise).unwrap();
    assert_eq!(synthesise.starts_at, collect.ends_at);
    // The moved campaign is still a valid file.
    assert_eq!(parse(&to_toml(&c).unwrap()).unwrap(), c);
}

#[test]
fn the_demo_counts_days_in_vietnam_time() {
    // 00:30 on 1 January 2026 in Vietnam is still 31 December in UTC.
    let now = TZ
        .with_ymd_and_hms(2026, 1, 1, 0, 30, 0)
        .unwrap()
        .with_timezone(&Utc);
    let c = demo(now).unwrap();
    let collect = c.phase(PhaseKind::Collect).unwrap();
    assert_eq!(format_local(collect.starts_at), "31/12/2025 00:00");
    assert!(matches!(c.window(now), CollectionWindow::Open(_)));
}

#[test]
fn ends_at_midnight_read_as_the_end_of_the_day_before() {
    assert_eq!(
        format_local_end(utc("2025-07-20T17:00:00Z")),
        "20/07/2025 24:00"
    );
    assert_eq!(
        format_local_end(utc("2025-07-20T10:00:00Z")),
        "20/07/2025 17:00"
    );
}

/// `BASE` with `rows` appended (the `[[reports]]` section).
fn with_reports(rows: &str) -> String {
    format!("{BASE}\n{rows}")
}

#[test]
fn report_dates_are_read_at_their_hour_in_vietnam_time_and_written_back() {
    let text = with_reports(
        "[[reports]]\ndate = \"2025-07-23\"\n\n[[reports]]\ndate = 2025-07-24\nhour = 17\nunit = \"to-1\"\n\n\
         [[reports]]\ndate = \"2025-07-25 14:30\"\n",
    );
    let f = parse_file(&text).unwrap();
    assert_eq!(
        f.reports,
        vec![
            ReportPlan {
                unit: None,
                due_at: utc("2025-07-23T01:00:00Z")
            },
            ReportPlan {
                unit: Some("to-1".to_owned()),
                due_at: utc("2025-07-24T10:00:00Z")
            },
            ReportPlan {
                unit: None,
                due_at: utc("2025-07-25T07:30:00Z")
            },
        ]
    );
    // The campaign is the same with or without the dates.
    assert_eq!(f.campaign, parse(BASE).unwrap());
    let written = to_toml_with_reports(&f.campaign, &f.reports).unwrap();
    assert!(written.contains("[[reports]]"), "{written}");
    assert_eq!(parse_file(&written).unwrap(), f, "{written}");
    // Without dates nothing about reports is written.
    assert!(!to_toml(&f.campaign).unwrap().contains("reports"));
}

#[test]
fn wrong_report_rows_are_reported_with_their_row_and_field() {
    let text = with_reports(
        "[[reports]]\ndate = \"2025-07-23\"\nhour = 24\n\n\
         [[reports]]\ndate = \"23/07/2025\"\n\n\
         [[reports]]\ndate = \"2025-07-23\"\nunit = \"to-9\"\n\n\
         [[reports]]\ndate = \"2025-07-23 08:00\"\nhour = 9\n\n\
         [[reports]]\nhour = 9\n\n\
         [[reports]]\ndate = \"2025-07-23\"\nhours = 9\n",
    );
    let found = problems(&text);
    let messages: Vec<String> = found.iter().map(ToString::to_string).collect();
    let all = messages.join("\n");
    assert!(
        all.contains("báo cáo thứ 1: `hour` phải từ 0 đến 23"),
        "{all}"
    );
    assert!(
        all.contains("báo cáo thứ 2: ngày không hợp lệ `23/07/2025`"),
        "{all}"
    );
    assert!(
        all.contains("báo cáo thứ 3: địa bàn `to-9` không có"),
        "{all}"
    );
    assert!(all.contains("báo cáo thứ 4: `hour` chỉ dùng khi"), "{all}");
    assert!(all.contains("`date`"), "a missing date is named: {all}");
    assert!(all.contains("hours"), "an unknown field is named: {all}");
    let hour_line = line_of(&text, "hour = 24", 1);
    assert!(
        found.iter().any(|p| p.line == Some(hour_line)),
        "{found:#?}"
    );
}

#[test]
fn the_same_report_date_twice_is_refused() {
    let text = with_reports(
        "[[reports]]\ndate = \"2025-07-23\"\n\n[[reports]]\ndate = \"2025-07-23 08:00\"\n",
    );
    one_problem(
        &text,
        line_of(&text, "[[reports]]", 2),
        "báo cáo thứ 2: trùng ngày",
    );
}
