//! Moderation: flag abusive, hostile, spam and scam messages for a human to decide.
//!
//! Principles: automation only queues for a person; nothing is ever deleted from gopy's own
//! records (a hidden opinion keeps its text, author and reason and is counted as "excluded,
//! with reason"); every decision goes to an append-only moderation log; criticism of a draft
//! is an opinion, not a violation.
//!
//! Layout:
//! - `lexicon.rs`: the word lists (`data/moderation/*.txt`), [`Category`], [`Lexicon`].
//! - `detect.rs`: [`Detector::assess`], pure: a score, the categories and the spans matched.
//! - `eval.rs`: precision and recall on a labelled file (ViHOS).
//! - `flood.rs`: [`FloodGate`] (messages per person per chat per minute) and [`ActionCap`]
//!   (automatic actions per window), pure, time passed in.
//! - `limits.rs`: [`Limits`], flood control and the cap as every process sees them (in
//!   memory on SQLite, shared counters in Postgres).
//! - `queue.rs`: the moderators' queue as plain types (items, decisions, the log, the watch
//!   list, how an opinion stands); stored by [`crate::store::ModerationStore`].
//! - `group.rs`: pure decisions about group posts (screening with flood control; what may be
//!   done automatically after reports).
//! - `appeal.rs`: `/appeal` on any channel ([`appeal_latest`]).
//! - `card.rs`: the buttons on a moderator's card and whether a press may be carried out
//!   (stale, double-tapped, out of scope, a staff author), pure.
//! - `notice.rs`: what moderation says to authors, reporters and moderators (localised).
//! - `scan.rs`: the shell that assesses a campaign's unscanned opinions and queues the
//!   flagged ones ([`scan_campaign`]).
//! - `screen.rs`: the background task that screens opinions as the dialog saves them
//!   ([`Screener`]).
//! - `cli.rs`: `gopy moderation …`.

mod appeal;
pub mod card;
pub mod cli;
mod detect;
mod eval;
mod flood;
pub mod group;
mod lexicon;
pub mod limits;
pub mod notice;
mod queue;
mod scan;
mod screen;

pub use appeal::appeal_latest;
pub use detect::{Assessment, DEFAULT_THRESHOLD, Detector, Match, highlight};
pub use eval::{Evaluation, Labelled, read_vihos};
pub use flood::{ActionCap, FloodGate};
pub use lexicon::{Category, Entry, Lexicon, LexiconError, ReloadingLexicon};
pub use limits::Limits;
pub use queue::{
    Decision, Item, LogEntry, NewItem, OpinionModeration, OpinionState, OpinionToScan, Source,
    Status, StoredMatch, Target, Verdict, WatchTerm,
};
pub use scan::{ScanReport, rescreen_opinion, scan_campaign, screen_opinion, with_watch_list};
pub use screen::{ScreenTask, Screener, screener};
