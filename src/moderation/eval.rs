//! Measuring the detector on a labelled file (ViHOS's CSV: `,content,index_spans`, where a
//! comment with any span should be flagged): precision, recall and the share of clean
//! comments flagged, at comment level.

use std::path::Path;

use serde::Serialize;

use super::detect::Detector;

/// One labelled comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Labelled {
    /// The comment.
    pub text: String,
    /// Whether annotators marked any span in it (it should be flagged).
    pub offensive: bool,
}

/// Reads a ViHOS CSV file (`,content,index_spans`).
pub fn read_vihos(path: &Path) -> anyhow::Result<Vec<Labelled>> {
    use anyhow::Context;
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("cannot open {}", path.display()))?;
    let headers = reader.headers()?.clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .with_context(|| format!("{} has no `{name}` column", path.display()))
    };
    let (content, spans) = (col("content")?, col("index_spans")?);
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.with_context(|| format!("bad CSV in {}", path.display()))?;
        let text = record.get(content).unwrap_or("").to_owned();
        let spans = record.get(spans).unwrap_or("").trim();
        out.push(Labelled {
            text,
            offensive: !(spans.is_empty() || spans == "[]"),
        });
    }
    Ok(out)
}

/// Counts and rates at comment level.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Evaluation {
    /// Offensive and flagged.
    pub true_positives: usize,
    /// Clean but flagged.
    pub false_positives: usize,
    /// Clean and not flagged.
    pub true_negatives: usize,
    /// Offensive but not flagged.
    pub false_negatives: usize,
}

impl Evaluation {
    /// Runs the detector over every comment.
    pub fn run(detector: &Detector, data: &[Labelled]) -> Self {
        let mut e = Evaluation::default();
        for item in data {
            let flagged = detector.assess(&item.text).flagged;
            match (item.offensive, flagged) {
                (true, true) => e.true_positives += 1,
                (false, true) => e.false_positives += 1,
                (false, false) => e.true_negatives += 1,
                (true, false) => e.false_negatives += 1,
            }
        }
        e
    }

    /// Of the flagged comments, the share that were offensive.
    pub fn precision(&self) -> f64 {
        ratio(
            self.true_positives,
            self.true_positives + self.false_positives,
        )
    }

    /// Of the offensive comments, the share flagged.
    pub fn recall(&self) -> f64 {
        ratio(
            self.true_positives,
            self.true_positives + self.false_negatives,
        )
    }

    /// Of the clean comments, the share flagged.
    pub fn false_positive_rate(&self) -> f64 {
        ratio(
            self.false_positives,
            self.false_positives + self.true_negatives,
        )
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}
