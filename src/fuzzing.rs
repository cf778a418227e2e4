//! The harness of the proptest-driven fuzz targets (the `…::fuzz` test modules next to each
//! parser): a runner with a case budget (`PROPTEST_CASES`, 256 by default, what `cargo test`
//! runs) or a time budget (`GOPY_FUZZ_SECONDS`, what `scripts/fuzz` runs), which prints one
//! summary line per target; and the inputs the targets share (arbitrary and mutated JSON,
//! hostile strings, deeply nested documents).
//!
//! Why proptest and not cargo-fuzz: cargo-fuzz needs a nightly compiler, and these targets
//! then run in every `cargo test` on the stable toolchain too. Shrinking gives the smallest
//! failing input, which each fix keeps as an ordinary unit test.

use std::fmt::Debug;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};
use serde_json::{Map, Value};

/// Runs `test` on inputs from `strategy`: `PROPTEST_CASES` cases (256 unless set), or, when
/// `GOPY_FUZZ_SECONDS` is set, rounds of that many cases until the time is spent. Prints
/// `fuzz <name>: <cases> cases in <seconds> s: ok` (seen with `--nocapture`), and panics
/// with the smallest failing input when a case fails or panics.
pub(crate) fn check<S>(
    name: &str,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) where
    S: Strategy,
    S::Value: Debug,
{
    let base = Config {
        failure_persistence: None,
        ..Config::default()
    };
    let budget = std::env::var("GOPY_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(Duration::from_secs_f64);
    let started = Instant::now();
    let mut cases = 0u64;
    loop {
        let mut runner = TestRunner::new(base.clone());
        match runner.run(&strategy, &test) {
            Ok(()) => cases += u64::from(base.cases),
            Err(TestError::Fail(why, input)) => panic!(
                "fuzz {name}: FAILED after {cases} cases in {:.1} s: {why}\nsmallest input: {input:#?}",
                started.elapsed().as_secs_f64()
            ),
            Err(TestError::Abort(why)) => {
                panic!("fuzz {name}: aborted after {cases} cases: {why}")
            }
        }
        if budget.is_none_or(|b| started.elapsed() >= b) {
            break;
        }
    }
    eprintln!(
        "fuzz {name}: {cases} cases in {:.1} s: ok",
        started.elapsed().as_secs_f64()
    );
}

/// Strings a parser should survive: anything at all, near-commands, Vietnamese with combining
/// marks, invisible and bidirectional characters, markup, and long runs.
pub(crate) fn hostile_string() -> BoxedStrategy<String> {
    let samples: Vec<String> = [
        "",
        " ",
        "/",
        "/start",
        "/start dh-2025_to-1",
        "/appeal vì sao?",
        "/link ABC123",
        "/lienket huy",
        "/notices bật",
        "/start@gopy_bot x",
        "ĐÃ ĐĂNG 12",
        "đã đăng 99999999999999999999",
        "<script>alert(1)</script>",
        "<b>&amp;</b>&lt;",
        "=HYPERLINK(\"http://x\")",
        "Nguye\u{302}\u{303}n Thi\u{323} Lan",
        "\u{200B}\u{200D}\u{FEFF}\u{202E}abc",
        "\u{0}\u{1}\u{7f}",
        "1",
        "-1",
        "9223372036854775808",
        "ǅ\u{301}\u{323}\u{31B}\u{309}",
        "ﷺ",
        "\u{1D160}\u{FB2C}\u{0390}",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    prop_oneof![
        4 => any::<String>(),
        2 => proptest::sample::select(samples),
        2 => "[/ @a-zđêơư0-9_\u{301}\u{303}\u{309}-]{0,40}",
        1 => (proptest::sample::select(vec!['a', '/', 'đ', '\u{301}', '<', ' ', '\u{200B}']), 1..5000usize)
            .prop_map(|(c, n)| std::iter::repeat_n(c, n).collect()),
    ]
    .boxed()
}

/// A JSON leaf: every type, with the extremes of numbers.
fn leaf() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        proptest::sample::select(vec![
            i64::MIN,
            i64::MAX,
            -1,
            0,
            99_999_999_999,
            100_000_000_000,
            1_700_000_000_000,
            8_210_266_876_799_999,
        ])
        .prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        hostile_string().prop_map(Value::String),
    ]
    .boxed()
}

/// Any JSON value (nested a few levels), with keys drawn from `keys` or anywhere.
pub(crate) fn any_json(keys: &'static [&'static str]) -> BoxedStrategy<Value> {
    let key = prop_oneof![
        3 => proptest::sample::select(keys.to_vec()).prop_map(str::to_owned),
        1 => any::<String>(),
    ];
    leaf()
        .prop_recursive(4, 48, 6, move |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::btree_map(key.clone(), inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
        .boxed()
}

/// `template` with some of its values replaced by others of any type, some keys dropped and
/// some added: what a platform that changed its format, or an attacker, might send.
pub(crate) fn mutate(template: &Value, keys: &'static [&'static str]) -> BoxedStrategy<Value> {
    let node = match template {
        Value::Object(fields) => {
            let kept: Vec<BoxedStrategy<Option<(String, Value)>>> = fields
                .iter()
                .map(|(k, v)| {
                    let k = k.clone();
                    prop_oneof![
                        8 => mutate(v, keys).prop_map(move |v| Some((k.clone(), v))),
                        1 => Just(None),
                    ]
                    .boxed()
                })
                .collect();
            let key = prop_oneof![
                proptest::sample::select(keys.to_vec()).prop_map(str::to_owned),
                any::<String>(),
            ];
            (kept, proptest::option::weighted(0.2, (key, any_json(keys))))
                .prop_map(|(kept, extra)| {
                    let mut out: Map<String, Value> = kept.into_iter().flatten().collect();
                    if let Some((k, v)) = extra {
                        out.insert(k, v);
                    }
                    Value::Object(out)
                })
                .boxed()
        }
        Value::Array(items) => items
            .iter()
            .map(|v| mutate(v, keys))
            .collect::<Vec<_>>()
            .prop_map(Value::Array)
            .boxed(),
        other => prop_oneof![3 => Just(other.clone()), 2 => leaf()].boxed(),
    };
    prop_oneof![12 => node, 1 => any_json(keys)].boxed()
}

/// The bytes of `template` with a few bytes changed, cut short, or padded with garbage: what
/// reaches a parser that reads raw bodies.
pub(crate) fn mutate_bytes(template: Vec<u8>) -> BoxedStrategy<Vec<u8>> {
    let len = template.len().max(1);
    (
        proptest::collection::vec((0..len, any::<u8>()), 0..6),
        proptest::option::of(0..len),
        proptest::collection::vec(any::<u8>(), 0..8),
    )
        .prop_map(move |(flips, cut, tail)| {
            let mut b = template.clone();
            for (i, x) in flips {
                if let Some(slot) = b.get_mut(i) {
                    *slot = x;
                }
            }
            if let Some(c) = cut {
                b.truncate(c);
            }
            b.extend(tail);
            b
        })
        .boxed()
}

/// A JSON document nested `depth` levels (arrays or objects), far beyond serde_json's
/// recursion limit of 128: it must be refused, not overflow the stack.
pub(crate) fn deeply_nested(depth: usize, objects: bool) -> String {
    if objects {
        format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth))
    } else {
        format!("{}{}", "[".repeat(depth), "]".repeat(depth))
    }
}
