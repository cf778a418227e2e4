//! Fuzz target: the Vietnamese normaliser ([`normalize`], [`fold`]) on hostile text (any
//! Unicode, combining marks in runs, invisible and compatibility characters, long repeats).
//! Never a panic; idempotent; NFC; spans inside the input on character boundaries; output
//! linear in the input. Run long by `scripts/fuzz`.

use proptest::prelude::*;

use super::{fold, normalize};
use crate::fuzzing::{check, hostile_string};

/// Unicode's worst compatibility expansion (U+FDFA, 3 bytes, becomes 33) bounds how much
/// longer a normalised text may be than its input.
const MAX_GROWTH: usize = 18;

fn texts() -> BoxedStrategy<String> {
    let marks: Vec<char> =
        "\u{300}\u{301}\u{303}\u{309}\u{323}\u{302}\u{306}\u{31B}\u{200B}\u{FE0F}"
            .chars()
            .collect();
    prop_oneof![
        3 => hostile_string(),
        // A letter under a pile of combining marks.
        1 => (proptest::sample::select(vec!['a', 'o', 'u', 'đ', 'y']),
              proptest::collection::vec(proptest::sample::select(marks), 0..64))
            .prop_map(|(c, ms)| std::iter::once(c).chain(ms).collect()),
        // Words spelled letter by letter with separators.
        1 => proptest::collection::vec(("[a-zđ0-9]", "[ .\\-_*]{1,2}"), 0..200)
            .prop_map(|v| v.into_iter().map(|(a, b)| a + &b).collect()),
    ]
    .boxed()
}

#[test]
fn fuzz_normaliser_is_idempotent_nfc_and_linear() {
    check("normaliser", texts(), |s| {
        let once = normalize(&s);
        let text = once.text();
        prop_assert!(unicode_normalization::is_nfc(&text));
        // One character may be several words (U+FDFA is four), never more than it grows.
        prop_assert!(once.tokens().len() <= MAX_GROWTH * s.chars().count());
        prop_assert!(
            text.len() <= MAX_GROWTH * s.len() + 16,
            "{} → {}",
            s.len(),
            text.len()
        );
        prop_assert!(once.folded().len() <= MAX_GROWTH * s.len() + 16);
        for t in once.tokens() {
            prop_assert!(t.span.start <= t.span.end && t.span.end <= s.len());
            prop_assert!(s.is_char_boundary(t.span.start) && s.is_char_boundary(t.span.end));
            prop_assert!(!t.text.is_empty());
        }
        let twice = normalize(&text);
        prop_assert_eq!(twice.text(), text);
        prop_assert_eq!(twice.folded(), once.folded());
        Ok(())
    });
}

#[test]
fn fuzz_fold_is_idempotent_and_strips_every_mark() {
    check("fold", texts(), |s| {
        let f = fold(&s);
        prop_assert_eq!(fold(&f), f.clone());
        prop_assert!(
            !f.chars()
                .any(unicode_normalization::char::is_combining_mark)
        );
        prop_assert!(f.len() <= MAX_GROWTH * s.len() + 16);
        Ok(())
    });
}

#[test]
fn long_hostile_runs_are_normalised_in_linear_time() {
    for unit in ["a", "đ.", "v ", "\u{301}", "aa\u{200B}", "ko ", "1", "ﷺ"] {
        let s = unit.repeat(20_000);
        let started = std::time::Instant::now();
        let n = normalize(&s);
        assert!(n.text().len() <= MAX_GROWTH * s.len() + 16);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{unit:?}: {:?}",
            started.elapsed()
        );
    }
}
