//! Fuzz target: the campaign file parser ([`parse`], so `file.rs` and `validate.rs`). Any
//! text, and the demo file with lines changed, dropped, doubled or replaced by values of
//! other types and hostile strings: never a panic, a bounded list of bounded problems, and a
//! campaign that parses always writes back ([`to_toml`]) to the same campaign. Run long by
//! `scripts/fuzz`.

use proptest::prelude::*;

use super::{DEMO_TOML, Problem, parse, to_toml};
use crate::fuzzing::{check, hostile_string};

/// One change to one line of the demo file.
#[derive(Debug, Clone)]
enum Change {
    /// The line's value replaced by this TOML value (kept as written: it may be invalid).
    Value(String),
    /// The line dropped.
    Drop,
    /// The line written twice.
    Double,
    /// The line replaced by this text.
    Line(String),
}

/// `s` as a TOML basic string (control characters as `\uXXXX`).
fn quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// TOML values of every type, some invalid.
fn toml_value() -> BoxedStrategy<String> {
    prop_oneof![
        3 => hostile_string().prop_map(|s| quoted(&s)),
        1 => any::<i64>().prop_map(|n| n.to_string()),
        1 => any::<f64>().prop_map(|f| format!("{f:?}")),
        1 => Just("true".to_owned()),
        1 => proptest::sample::select(vec![
            "2025-07-01T08:00:00", "2025-02-30T08:00:00", "1979-05-27T07:32:00Z",
            "2025-07-01", "07:32:00", "\"2025-07-01 08:00\"", "\"31/12/2025 23:59\"",
            "[]", "[1, \"a\", {}]", "{}", "{ a = 1 }", "\"\"\"\n\"\"\"", "'''x'''", "nan", "inf",
            "\"\\u0000\"", "\"\\uD800\"", "9999999999999999999999",
        ]).prop_map(str::to_owned),
        1 => hostile_string(),
    ]
    .boxed()
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        6 => toml_value().prop_map(Change::Value),
        2 => Just(Change::Drop),
        2 => Just(Change::Double),
        1 => prop_oneof![
            hostile_string(),
            Just("[[units]]".to_owned()),
            Just("[[topics]]".to_owned()),
            Just("[[phases]]".to_owned()),
            Just("[[sections]]".to_owned()),
            Just("[units]".to_owned()),
            "[a-z_]{1,15} = [0-9]{1,5}",
        ].prop_map(Change::Line),
    ]
}

/// The demo file without its comments, as lines.
fn demo_lines() -> Vec<String> {
    DEMO_TOML
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// The demo with `changes` applied (each at a line index modulo the line count).
fn changed_demo(changes: &[(usize, Change)]) -> String {
    let mut lines = demo_lines();
    for (at, c) in changes {
        let i = at % lines.len().max(1);
        match c {
            Change::Value(v) => {
                if let Some((key, _)) = lines[i].split_once('=') {
                    lines[i] = format!("{key}= {v}");
                }
            }
            Change::Drop => {
                lines.remove(i);
            }
            Change::Double => lines.insert(i, lines[i].clone()),
            Change::Line(l) => lines[i] = l.clone(),
        }
        if lines.is_empty() {
            break;
        }
    }
    lines.join("\n")
}

/// What must hold for any text.
fn parse_checked(text: &str) -> Result<(), TestCaseError> {
    match parse(text) {
        Ok(c) => {
            let written = to_toml(&c).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let back = parse(&written).map_err(|p| TestCaseError::fail(format!("{p:?}")))?;
            prop_assert_eq!(back, c);
        }
        Err(problems) => {
            prop_assert!(!problems.is_empty());
            let lines = text.lines().count() + 1;
            prop_assert!(
                problems.len() <= 8 * lines + 64,
                "{} problems for {lines} lines",
                problems.len()
            );
            for Problem { line, message, .. } in &problems {
                prop_assert!(line.is_none_or(|l| l >= 1 && l <= lines + 1));
                prop_assert!(message.len() <= 4 * text.len() + 2048, "{message}");
            }
        }
    }
    Ok(())
}

#[test]
fn fuzz_campaign_changed_demo_files() {
    let changes = proptest::collection::vec((any::<usize>(), change()), 1..6);
    check("campaign_file_changed", changes, |cs| {
        parse_checked(&changed_demo(&cs))
    });
}

#[test]
fn fuzz_campaign_any_text() {
    let texts = prop_oneof![
        hostile_string(),
        proptest::collection::vec(any::<u8>(), 0..400)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        "([a-z_]{1,12} = (\"[^\"\\\\]{0,20}\"|[0-9]{1,4}|\\[\\]|\\{\\})\n|\\[\\[[a-z]{1,8}\\]\\]\n){0,12}",
    ];
    check("campaign_file_any", texts, |t| parse_checked(&t));
}

#[test]
fn the_demo_without_changes_parses_and_round_trips() {
    let text = changed_demo(&[]);
    assert!(parse(&text).is_ok());
    parse_checked(&text).expect("round trip");
}

#[test]
fn deeply_nested_toml_is_refused_without_overflowing_the_stack() {
    let depth = 100_000;
    for text in [
        format!("slug = {}{}", "[".repeat(depth), "]".repeat(depth)),
        format!("slug = {}1{}", "{ a = ".repeat(depth), " }".repeat(depth)),
        format!("{}\n", "[a.".repeat(depth)),
        format!("slug = {}", "[".repeat(depth)),
    ] {
        assert!(parse(&text).is_err());
    }
}
