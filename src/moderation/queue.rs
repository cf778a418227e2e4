//! The moderators' queue as plain types: what was flagged, its status, a decision, a line of
//! the moderation log, a watch-list term, and how moderation stands for an opinion.
//!
//! Moderators are named by a string (a staff user name or `cli:<os user>`) and group chats by
//! channel and the platform's chat id, so this module depends on no staff or group tables.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::detect::{Assessment, highlight};
use super::lexicon::Category;
use crate::domain::{Channel, ContactId};

/// What a queue item is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Target {
    /// An opinion (database id).
    Opinion {
        /// The opinion.
        opinion_id: i64,
    },
    /// A post in a group chat.
    GroupPost {
        /// The platform.
        channel: Channel,
        /// The platform's id of the group chat.
        chat_id: String,
        /// The platform's id of the message in that chat.
        message_id: String,
    },
}

/// Who raised an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The detector (word lists, numbers, links, flooding).
    Detector,
    /// Residents' reports (`/report`).
    Report,
    /// A moderator (`/flag`).
    Moderator,
}

impl Source {
    /// The database code.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Detector => "detector",
            Source::Report => "report",
            Source::Moderator => "moderator",
        }
    }

    /// Parses a database code.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "detector" => Some(Source::Detector),
            "report" => Some(Source::Report),
            "moderator" => Some(Source::Moderator),
            _ => None,
        }
    }
}

/// Where an item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Waiting for a moderator. A queued opinion is "pending review": stored, not yet counted.
    Queued,
    /// A moderator found a violation: the opinion or post is hidden (kept in gopy's records,
    /// counted in the synthesis as excluded, with the reason).
    Upheld,
    /// A moderator found no violation: the opinion or post stays.
    Dismissed,
}

impl Status {
    /// The database code.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Upheld => "upheld",
            Status::Dismissed => "dismissed",
        }
    }

    /// Parses a database code.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "queued" => Some(Status::Queued),
            "upheld" => Some(Status::Upheld),
            "dismissed" => Some(Status::Dismissed),
            _ => None,
        }
    }
}

/// A moderator's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// A violation: hide it.
    Uphold,
    /// No violation: keep it.
    Dismiss,
}

impl Verdict {
    /// The status an item gets.
    pub fn status(self) -> Status {
        match self {
            Verdict::Uphold => Status::Upheld,
            Verdict::Dismiss => Status::Dismissed,
        }
    }
}

/// A span that matched, as stored (byte offsets into the item's text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct StoredMatch {
    /// Category code.
    pub category: String,
    /// The phrase or signal.
    pub term: String,
    /// Its weight.
    pub weight: u8,
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

/// An item to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewItem {
    /// What it is about.
    pub target: Target,
    /// The text, in full.
    pub text: String,
    /// The author, if known.
    pub author: Option<ContactId>,
    /// Who raised it.
    pub source: Source,
    /// The categories that fired.
    pub categories: Vec<Category>,
    /// The detector's score.
    pub score: u32,
    /// What matched.
    pub matches: Vec<StoredMatch>,
    /// When it was queued.
    pub at: DateTime<Utc>,
}

impl NewItem {
    /// An item raised by the detector from its assessment of `text`.
    pub fn detected(
        target: Target,
        text: &str,
        author: Option<ContactId>,
        assessment: &Assessment,
        at: DateTime<Utc>,
    ) -> Self {
        NewItem {
            target,
            text: text.to_owned(),
            author,
            source: Source::Detector,
            categories: assessment.categories.clone(),
            score: assessment.score,
            matches: assessment
                .matches
                .iter()
                .map(|m| StoredMatch {
                    category: m.category.as_str().to_owned(),
                    term: m.term.clone(),
                    weight: m.weight,
                    start: m.span.start,
                    end: m.span.end,
                })
                .collect(),
            at,
        }
    }
}

/// A queue item as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    /// Database id.
    pub id: i64,
    /// What it is about.
    pub target: Target,
    /// The text, in full.
    pub text: String,
    /// The author, if known (unset after they erased themselves).
    pub author: Option<ContactId>,
    /// Who raised it.
    pub source: Source,
    /// The categories (codes).
    pub categories: Vec<String>,
    /// The detector's score.
    pub score: i64,
    /// What matched.
    pub matches: Vec<StoredMatch>,
    /// Where it stands.
    pub status: Status,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// The moderator who decided last, when, and why.
    pub decision: Option<(String, DateTime<Utc>, String)>,
    /// The author's appeal and when it was made.
    pub appeal: Option<(String, DateTime<Utc>)>,
    /// After an appeal: the moderator who decided before, who may not decide again.
    pub previous_moderator: Option<String>,
}

impl Item {
    /// The text with every match wrapped in `[[…]]`.
    pub fn highlighted(&self) -> String {
        highlight(&self.text, self.matches.iter().map(|m| m.start..m.end))
    }
}

/// A decision on an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The item.
    pub item: i64,
    /// The verdict.
    pub verdict: Verdict,
    /// The moderator, by name.
    pub by: String,
    /// Why (shown to the author later, and in the synthesis as the exclusion reason).
    pub reason: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// One line of the moderation log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogEntry {
    /// When.
    pub at: DateTime<Utc>,
    /// Who: a moderator's name, `cli:<os user>`, `system` (the detector, reports) or
    /// `author` (an appeal; the log never names a resident).
    pub actor: String,
    /// What: `queued`, `upheld`, `dismissed`, `appealed`, `watch.add`, `watch.remove`.
    pub action: String,
    /// The item, if the line is about one.
    pub item: Option<i64>,
    /// Details as JSON (never a resident's identity).
    pub detail: serde_json::Value,
}

/// A term on the watch list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WatchTerm {
    /// The normalised term (the key).
    pub term: String,
    /// As the official typed it.
    pub phrase: String,
    /// Who added it.
    pub added_by: String,
    /// When.
    pub added_at: DateTime<Utc>,
}

/// How moderation stands for one opinion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OpinionState {
    /// Queued: stored, not counted in the synthesis until a moderator keeps it.
    Pending,
    /// Upheld: excluded from the synthesis, counted as "excluded, with reason".
    Hidden,
    /// Dismissed: counted like any other opinion.
    Kept,
}

impl OpinionState {
    /// Parses the view's code.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(OpinionState::Pending),
            "hidden" => Some(OpinionState::Hidden),
            "kept" => Some(OpinionState::Kept),
            _ => None,
        }
    }

    /// Whether the opinion counts in the synthesis.
    pub fn counts(self) -> bool {
        self == OpinionState::Kept
    }
}

/// Moderation of one opinion, for the synthesis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpinionModeration {
    /// The opinion.
    pub opinion_id: i64,
    /// Where it stands.
    pub state: OpinionState,
    /// The moderator's reason, once decided.
    pub reason: Option<String>,
}

/// An opinion the scan should look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpinionToScan {
    /// The opinion.
    pub opinion_id: i64,
    /// Its author, if still linked.
    pub author: Option<ContactId>,
    /// Its text.
    pub text: String,
}
