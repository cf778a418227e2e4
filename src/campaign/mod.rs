//! Campaign files: the TOML format officials write, its validation with file positions, and
//! the demo campaign shipped under `examples/`.

pub mod cli;

use chrono::{DateTime, Utc};

use crate::domain::Campaign;

/// One problem found in a campaign file, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// What is wrong, in Vietnamese then English.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "{l}:{c}: {}", self.message),
            (Some(l), None) => write!(f, "{l}: {}", self.message),
            _ => write!(f, "{}", self.message),
        }
    }
}

/// Parses and validates a campaign file. Returns every problem found, or the campaign
/// (with `id` 0) when there is none.
pub fn parse(_text: &str) -> Result<Campaign, Vec<Problem>> {
    Err(vec![Problem {
        line: None,
        column: None,
        message: "not written yet".to_owned(),
    }])
}

/// The demo campaign from `examples/demo-campaign.toml`, with its phases moved so that
/// collection opened a day before `now` and closes six days after.
pub fn demo(_now: DateTime<Utc>) -> Campaign {
    unimplemented!()
}
