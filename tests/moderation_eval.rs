//! The detector measured on data that lives beside the repository (`../shared`): ViHOS (MIT)
//! must reach the floors recorded in BENCHMARKS.md, and the five real plans in
//! `../shared/plans` — ordinary administrative Vietnamese — must raise no flag at all.
//!
//! The folder is found from `GOPY_SHARED_DIR`, else `../shared` or `../../shared` from the
//! repository root. Without it (a clone on its own) these tests are reported as ignored, never
//! as passed; CI has it beside the repository and `.ci/run` fails if it does not.

use std::path::PathBuf;

use gopy::moderation::{DEFAULT_THRESHOLD, Detector, Evaluation, Lexicon, read_vihos};

fn shared_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("GOPY_SHARED_DIR") {
        return PathBuf::from(dir);
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for candidate in [root.join("../shared"), root.join("../../shared")] {
        if candidate.join("data/vihos").is_dir() {
            return candidate;
        }
    }
    panic!(
        "the shared data folder (../shared with data/vihos and plans) is not beside the \
         repository; set GOPY_SHARED_DIR"
    );
}

fn detector() -> Detector {
    Detector::new(
        Lexicon::built_in().expect("built-in lists parse"),
        DEFAULT_THRESHOLD,
    )
}

fn evaluate(file: &str) -> Evaluation {
    let data = read_vihos(&shared_dir().join("data/vihos").join(file)).expect("ViHOS file");
    assert!(data.len() > 1000, "{file}: {} rows", data.len());
    Evaluation::run(&detector(), &data)
}

#[test]
#[cfg_attr(
    not(gopy_shared),
    ignore = "put ../shared (data/vihos, plans) beside the repository or set GOPY_SHARED_DIR"
)]
fn vihos_test_recall_is_at_least_60_percent_with_at_most_5_percent_of_clean_comments_flagged() {
    let e = evaluate("test.csv");
    assert!(e.recall() >= 0.60, "recall {:.3} ({e:?})", e.recall());
    assert!(
        e.false_positive_rate() <= 0.05,
        "false-positive rate {:.3} ({e:?})",
        e.false_positive_rate()
    );
    assert!(e.precision() >= 0.95, "precision {:.3}", e.precision());
}

#[test]
#[cfg_attr(
    not(gopy_shared),
    ignore = "put ../shared (data/vihos, plans) beside the repository or set GOPY_SHARED_DIR"
)]
fn vihos_dev_stays_where_the_lists_were_tuned() {
    let e = evaluate("dev.csv");
    assert!(e.recall() >= 0.60, "recall {:.3} ({e:?})", e.recall());
    assert!(
        e.false_positive_rate() <= 0.02,
        "FPR {:.3}",
        e.false_positive_rate()
    );
}

#[test]
#[cfg_attr(
    not(gopy_shared),
    ignore = "put ../shared (data/vihos, plans) beside the repository or set GOPY_SHARED_DIR"
)]
fn the_real_plans_raise_no_flag_line_by_line_or_whole() {
    let dir = shared_dir().join("plans");
    let d = detector();
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).expect("plans folder") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "txt") {
            continue;
        }
        files += 1;
        let text = std::fs::read_to_string(&path).expect("plan text");
        let whole = d.assess(&text);
        assert!(whole.matches.is_empty(), "{}: {whole:?}", path.display());
        for line in text.lines() {
            let a = d.assess(line);
            assert!(a.matches.is_empty(), "{}: {line:?}: {a:?}", path.display());
        }
    }
    assert!(files >= 5, "expected the five plans in {}", dir.display());
}
