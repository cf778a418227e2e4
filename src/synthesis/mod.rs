//! Synthesis: opinions officials record at meetings or import from the tables units send,
//! their classification, and the report officials deliver (counts, full listing, exports).
//!
//! Layout:
//! - `mod.rs`: the plain types shared by the store and the commands (meetings, recorded
//!   opinions, stances) and the keys that decide what counts once.
//! - `import.rs`: the documented template and the row-by-row validation of CSV/XLSX files
//!   (pure: bytes in, rows or every problem with its row number out).
//! - `report.rs`: the synthesis as officials read it, built from the store's GROUP BY rows
//!   (roll-up over the unit tree is done here on aggregates, never on opinions).
//! - `cli.rs`: `gopy opinions record|import|template` and `gopy synthesis …`.
//! - `send.rs`: `gopy synthesis send`, each unit's own report queued for its leads.

pub mod bench;
pub mod cli;
pub mod export;
pub mod import;
pub mod report;
pub mod rollup;
pub mod send;
pub mod similar;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::CampaignId;

/// The stance an official reads in an opinion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stance {
    /// Tán thành: agrees with the draft.
    Agree,
    /// Đề nghị sửa đổi: suggests a change.
    Change,
    /// Không tán thành: disagrees.
    Disagree,
    /// Khác: anything else.
    Other,
}

impl Stance {
    /// Every stance, in report order.
    pub const ALL: [Stance; 4] = [
        Stance::Agree,
        Stance::Change,
        Stance::Disagree,
        Stance::Other,
    ];

    /// Name used in the database, on the command line and in exports.
    pub fn as_str(self) -> &'static str {
        match self {
            Stance::Agree => "agree",
            Stance::Change => "change",
            Stance::Disagree => "disagree",
            Stance::Other => "other",
        }
    }

    /// Parses the English name or the Vietnamese words officials write in a table
    /// (accents and case ignored).
    pub fn parse(s: &str) -> Option<Self> {
        let folded = crate::text::fold(s.trim()).to_lowercase();
        match folded.as_str() {
            "agree" | "tan thanh" | "dong y" => Some(Stance::Agree),
            "change" | "de nghi sua doi" | "sua doi" | "gop y sua doi" => Some(Stance::Change),
            "disagree" | "khong tan thanh" | "khong dong y" => Some(Stance::Disagree),
            "other" | "khac" => Some(Stance::Other),
            _ => None,
        }
    }
}

/// A meeting or conference where officials heard opinions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewMeeting {
    /// The campaign.
    pub campaign_id: CampaignId,
    /// Its name, e.g. "Hội nghị lấy ý kiến Tổ dân phố 1".
    pub name: String,
    /// The day it was held.
    pub held_on: NaiveDate,
    /// Where.
    pub place: String,
    /// The unit that held it, if one.
    pub unit: Option<String>,
    /// The audience (a target group code of the campaign), if one.
    pub target_group: Option<String>,
    /// Who wrote the opinions down.
    pub recorder: String,
}

/// A stored meeting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Meeting {
    /// Database id.
    pub id: i64,
    /// What was recorded.
    #[serde(flatten)]
    pub meeting: NewMeeting,
}

/// Who gave an opinion at a meeting or in an imported row, when the table names them. Kept
/// apart from the opinion; only a named export reads it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Speaker {
    /// Their name as written.
    pub name: Option<String>,
    /// Their phone number as written.
    pub phone: Option<String>,
}

impl Speaker {
    /// The key that counts one person once: the normalised name and the phone's digits.
    /// `None` when neither is given (an unnamed speaker is never anyone's duplicate).
    pub fn person_key(&self) -> Option<String> {
        let name = self
            .name
            .as_deref()
            .map(|n| crate::text::normalize(n).folded())
            .unwrap_or_default();
        let phone: String = self
            .phone
            .as_deref()
            .unwrap_or_default()
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        // 0912… and +84912… are one number.
        let phone = phone
            .strip_prefix("84")
            .map(|rest| format!("0{rest}"))
            .unwrap_or(phone);
        (!name.is_empty() || !phone.is_empty()).then(|| format!("{name}|{phone}"))
    }
}

/// One opinion an official records or imports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedOpinion {
    /// The row of the imported file (1 = the header), if it came from one.
    pub row: Option<i64>,
    /// Topic code of the campaign.
    pub topic: String,
    /// Section reference of the campaign, if one.
    pub section: Option<String>,
    /// Unit code, if one.
    pub unit: Option<String>,
    /// Target group code, if one.
    pub target_group: Option<String>,
    /// The text (NFC, trimmed).
    pub text: String,
    /// When it was given.
    pub given_at: DateTime<Utc>,
    /// Who gave it, if the table says.
    pub speaker: Speaker,
    /// The stance, if the official noted one.
    pub stance: Option<Stance>,
    /// Where a rolled-up opinion came from (`<unit>/<campaign>/<reference>` at the lower
    /// level); `None` for everything else.
    pub origin: Option<String>,
}

/// A batch written in one transaction: every opinion or none. Opinions heard at a meeting
/// name it (and the file they were typed into, if any); imported ones name their file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordBatch {
    /// The campaign.
    pub campaign_id: CampaignId,
    /// The meeting they were heard at (source `meeting`); `None` for an import.
    pub meeting: Option<i64>,
    /// The file they come from (its name as given), with each opinion's row.
    pub file: Option<String>,
    /// The opinions, in order.
    pub opinions: Vec<RecordedOpinion>,
    /// Who records them (for the audit log and provenance).
    pub actor: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// What a recorded batch did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordOutcome {
    /// The new opinions' ids, in the batch's order.
    pub ids: Vec<i64>,
    /// How many of them repeat an earlier text of the same person (kept, counted once).
    pub duplicates: u64,
}

/// A change an official makes to an opinion's classification (each one audited).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Classification {
    /// Files the opinion under another topic (and section) of the campaign.
    Topic {
        /// Topic code.
        topic: String,
        /// Section reference.
        section: Option<String>,
    },
    /// Files it also under this topic (and section).
    AddLabel {
        /// Topic code.
        topic: String,
        /// Section reference.
        section: Option<String>,
    },
    /// Takes back an extra topic (and section).
    RemoveLabel {
        /// Topic code.
        topic: String,
        /// Section reference.
        section: Option<String>,
    },
    /// Sets or clears the stance.
    Stance {
        /// The stance; `None` clears it.
        stance: Option<Stance>,
    },
}

/// A near-duplicate group as officials see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupView {
    /// Database id.
    pub id: i64,
    /// Its representative opinion's id.
    pub representative: Option<i64>,
    /// Who chose the representative (`None`: the most central member).
    pub chosen_by: Option<String>,
    /// Whether an official made or changed it (a rebuild leaves it alone).
    pub confirmed: bool,
    /// Members: (id, reference, topic, text), by id.
    pub members: Vec<(i64, String, String, String)>,
}

/// The text as compared for exact duplicates: normalised (tones, case, spacing, evasions).
pub fn text_key(text: &str) -> String {
    crate::text::normalize(text).text()
}

/// Given `(id, person, text)` in id order, the opinions that repeat an earlier text of the
/// same person, each with the earliest one it repeats.
pub fn exact_duplicates(rows: &[(i64, String, String)]) -> Vec<(i64, i64)> {
    let mut first: std::collections::HashMap<(&str, String), i64> =
        std::collections::HashMap::new();
    let mut dups = Vec::new();
    for (id, person, text) in rows {
        let key = (person.as_str(), text_key(text));
        match first.get(&key) {
            Some(&of) => dups.push((*id, of)),
            None => {
                first.insert(key, *id);
            }
        }
    }
    dups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_person_is_one_key_however_their_name_and_phone_are_written() {
        let a = Speaker {
            name: Some("Nguyễn Văn  An".to_owned()),
            phone: Some("0912 345 678".to_owned()),
        };
        let b = Speaker {
            name: Some("NGUYỄN VĂN AN".to_owned()),
            phone: Some("+84 912-345-678".to_owned()),
        };
        assert_eq!(a.person_key(), b.person_key());
        assert_eq!(Speaker::default().person_key(), None);
    }

    #[test]
    fn a_repeated_text_of_one_person_points_at_their_first() {
        let rows = vec![
            (1, "c1".to_owned(), "Cần sửa đường ngõ 3".to_owned()),
            (2, "c2".to_owned(), "Cần sửa đường ngõ 3".to_owned()),
            (3, "c1".to_owned(), "cần  SỬA đường ngõ 3".to_owned()),
            (4, "c1".to_owned(), "Cần thêm đèn".to_owned()),
        ];
        assert_eq!(exact_duplicates(&rows), vec![(3, 1)]);
    }

    #[test]
    fn stances_are_read_in_vietnamese_or_english() {
        assert_eq!(Stance::parse("Tán thành"), Some(Stance::Agree));
        assert_eq!(Stance::parse("đề nghị sửa đổi"), Some(Stance::Change));
        assert_eq!(Stance::parse("disagree"), Some(Stance::Disagree));
        assert_eq!(Stance::parse("maybe"), None);
    }
}
