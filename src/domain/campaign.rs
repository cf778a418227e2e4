//! A consultation campaign: the draft document, its sections and topics, the units it covers,
//! and the dated phases that decide what the bot may do.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Database id of a campaign.
pub type CampaignId = i64;

/// One node of the administrative tree (ward, village, residential group) or a union.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    /// Stable code from the campaign file, `[A-Za-z0-9-]{1,24}`; used in deep links.
    pub code: String,
    /// Name as residents know it, e.g. "Tổ dân phố 1".
    pub name: String,
    /// Code of the parent unit; `None` for the root the campaign covers.
    pub parent: Option<String>,
    /// Kind of unit: "ward", "commune", "village", "residential-group", "union", ...
    pub kind: String,
}

/// An audience a resident may say they belong to (farmer, worker, veteran, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetGroup {
    /// One of the codes in [`TargetGroup::KNOWN`]; its name comes from `locales/`.
    pub code: String,
}

impl TargetGroup {
    /// The target groups PRODUCT.md names; campaign files choose among these.
    pub const KNOWN: [&'static str; 11] = [
        "farmer",
        "worker",
        "woman",
        "veteran",
        "youth",
        "intellectual",
        "business",
        "ethnic-minority",
        "religious",
        "party-member",
        "other",
    ];
}

/// A numbered section of the draft document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Section {
    /// Stable reference as printed in the draft, e.g. `II.3`.
    pub reference: String,
    /// Section title.
    pub title: String,
    /// A short summary a resident can read in a chat message.
    pub summary: String,
}

/// What residents are asked about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Topic {
    /// Stable code from the campaign file, `[a-z0-9-]{1,16}`; short so it fits callback data.
    pub code: String,
    /// Short title shown in the topic menu.
    pub title: String,
    /// The question put to residents.
    pub question: String,
    /// References of the sections this topic is about (may be empty).
    pub sections: Vec<String>,
}

/// The phases of a campaign, in the order they must come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PhaseKind {
    /// The draft is announced; nothing collected yet.
    Announce,
    /// Opinions are collected.
    Collect,
    /// Officials synthesise the opinions.
    Synthesise,
    /// The report is delivered.
    Report,
}

impl PhaseKind {
    /// Name used in files and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            PhaseKind::Announce => "announce",
            PhaseKind::Collect => "collect",
            PhaseKind::Synthesise => "synthesise",
            PhaseKind::Report => "report",
        }
    }

    /// Parses the name used in files and in the database.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "announce" => Some(PhaseKind::Announce),
            "collect" => Some(PhaseKind::Collect),
            "synthesise" | "synthesize" => Some(PhaseKind::Synthesise),
            "report" => Some(PhaseKind::Report),
            _ => None,
        }
    }
}

/// One dated phase; `starts_at` inclusive, `ends_at` exclusive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phase {
    /// Which phase this is.
    pub kind: PhaseKind,
    /// When it starts (stored in UTC, shown in Asia/Ho_Chi_Minh).
    pub starts_at: DateTime<Utc>,
    /// When it ends.
    pub ends_at: DateTime<Utc>,
}

/// Where `now` stands against the collection window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CollectionWindow {
    /// Collection has not opened; it opens at the given time.
    NotYetOpen(DateTime<Utc>),
    /// Collection is open until the given time.
    Open(DateTime<Utc>),
    /// Collection closed at the given time.
    Closed(DateTime<Utc>),
}

/// A consultation on one draft document, scoped to one unit subtree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Campaign {
    /// Database id.
    pub id: CampaignId,
    /// Stable slug, `[a-z0-9-]{1,32}`; used in deep links.
    pub slug: String,
    /// The issuing body, e.g. "Đảng ủy phường Bắc Kạn".
    pub issuer: String,
    /// Title of the consultation.
    pub title: String,
    /// Title of the draft document.
    pub document_title: String,
    /// One or two sentences introducing the consultation.
    pub intro: String,
    /// Who collects the opinions and for what purpose (shown in the consent notice).
    pub purpose: String,
    /// Months identity is kept after the campaign closes.
    pub retention_months: u32,
    /// Version of the privacy notice residents consent to; bump when the notice text changes.
    pub notice_version: String,
    /// The units covered; the first is the root.
    pub units: Vec<Unit>,
    /// Target groups residents may choose from.
    pub target_groups: Vec<TargetGroup>,
    /// Sections of the draft document.
    pub sections: Vec<Section>,
    /// Topics residents are asked about, in menu order.
    pub topics: Vec<Topic>,
    /// Dated phases, in order.
    pub phases: Vec<Phase>,
}

impl Campaign {
    /// The phase of the given kind, if the campaign has it.
    pub fn phase(&self, kind: PhaseKind) -> Option<&Phase> {
        self.phases.iter().find(|p| p.kind == kind)
    }

    /// Where `now` stands against the collection window. A campaign without a collect phase is
    /// treated as closed since its creation (nothing may be collected).
    pub fn window(&self, now: DateTime<Utc>) -> CollectionWindow {
        match self.phase(PhaseKind::Collect) {
            Some(p) if now < p.starts_at => CollectionWindow::NotYetOpen(p.starts_at),
            Some(p) if now < p.ends_at => CollectionWindow::Open(p.ends_at),
            Some(p) => CollectionWindow::Closed(p.ends_at),
            None => CollectionWindow::Closed(now),
        }
    }

    /// When collection closes, if there is a collect phase.
    pub fn closes_at(&self) -> Option<DateTime<Utc>> {
        self.phase(PhaseKind::Collect).map(|p| p.ends_at)
    }

    /// The topic with this code.
    pub fn topic(&self, code: &str) -> Option<&Topic> {
        self.topics.iter().find(|t| t.code == code)
    }

    /// The section with this reference.
    pub fn section(&self, reference: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.reference == reference)
    }

    /// The unit with this code.
    pub fn unit(&self, code: &str) -> Option<&Unit> {
        self.units.iter().find(|u| u.code == code)
    }

    /// The root unit the campaign covers.
    pub fn root_unit(&self) -> Option<&Unit> {
        self.units.first()
    }
}
