//! One piece of feedback and its life cycle.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{CampaignId, Channel, ContactId};

/// Where an opinion came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OpinionSource {
    /// The private-chat dialog.
    Chat,
    /// The public web page.
    Web,
    /// Recorded by an official at a meeting.
    Meeting,
    /// Imported from a table a union sent.
    Import,
    /// A resident's reply to one of gopy's posts in a bound group.
    GroupReply,
}

impl OpinionSource {
    /// Name used in the database and in exports.
    pub fn as_str(self) -> &'static str {
        match self {
            OpinionSource::Chat => "chat",
            OpinionSource::Web => "web",
            OpinionSource::Meeting => "meeting",
            OpinionSource::Import => "import",
            OpinionSource::GroupReply => "group-reply",
        }
    }

    /// Parses the database name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "chat" => Some(OpinionSource::Chat),
            "web" => Some(OpinionSource::Web),
            "meeting" => Some(OpinionSource::Meeting),
            "import" => Some(OpinionSource::Import),
            "group-reply" => Some(OpinionSource::GroupReply),
            _ => None,
        }
    }
}

/// Life cycle of an opinion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpinionStatus {
    /// Given and acknowledged in the dialog, not yet submitted in the review step.
    Draft,
    /// Submitted; counts in the synthesis.
    Submitted,
    /// Withdrawn by the resident; kept for the record, never counted.
    Withdrawn,
}

impl OpinionStatus {
    /// Name used in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            OpinionStatus::Draft => "draft",
            OpinionStatus::Submitted => "submitted",
            OpinionStatus::Withdrawn => "withdrawn",
        }
    }

    /// Parses the database name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "draft" => Some(OpinionStatus::Draft),
            "submitted" => Some(OpinionStatus::Submitted),
            "withdrawn" => Some(OpinionStatus::Withdrawn),
            _ => None,
        }
    }
}

/// A short code a resident receives when they submit, e.g. `GY-7K3QH2`.
pub type ReceiptCode = String;

/// One piece of feedback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Opinion {
    /// Database id.
    pub id: i64,
    /// A short reference unique within the campaign (`[A-Z0-9]{6}`), used in the dialog
    /// to point at this opinion without exposing the database id.
    pub reference: String,
    /// The campaign.
    pub campaign_id: CampaignId,
    /// The resident, while they have not erased themselves; `None` after `/delete_me` kept it.
    pub contact_id: Option<ContactId>,
    /// Topic code.
    pub topic: String,
    /// Section reference, when the topic points at one.
    pub section: Option<String>,
    /// Unit code the resident chose, if any.
    pub unit: Option<String>,
    /// Target group code, if the resident gave one.
    pub target_group: Option<String>,
    /// The channel it came through.
    pub channel: Channel,
    /// Where it came from.
    pub source: OpinionSource,
    /// Whether the resident chose to give it anonymously.
    pub anonymous: bool,
    /// The text, NFC-normalised, at most [`crate::domain::MAX_OPINION_CHARS`] characters.
    pub text: String,
    /// Life cycle status.
    pub status: OpinionStatus,
    /// Receipt code of the submission that included it.
    pub receipt: Option<ReceiptCode>,
    /// When it was given.
    pub created_at: DateTime<Utc>,
    /// When its text was last changed by the resident.
    pub edited_at: Option<DateTime<Utc>>,
    /// When it was withdrawn.
    pub withdrawn_at: Option<DateTime<Utc>>,
}
