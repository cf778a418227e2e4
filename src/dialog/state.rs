//! The persisted dialog state: which step a resident is on and what they chose so far.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::domain::{CampaignId, IdentityMode, Locale};

/// The step a resident is on.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// Nothing started (or the previous dialog ended or expired).
    #[default]
    Idle,
    /// The privacy notice is shown; waiting for named / anonymous / leave.
    Consent,
    /// Choosing a unit.
    ChooseUnit,
    /// Choosing a target group (skippable).
    ChooseTargetGroup,
    /// Asked once after consent: announcements in this chat, yes or no.
    AskNotices,
    /// The topic menu.
    Menu,
    /// Giving opinions on one topic.
    Topic {
        /// Topic code.
        topic: String,
    },
    /// Reviewing everything given before submitting.
    Review,
    /// The resident's list of opinions (`/my`).
    MyOpinions,
    /// One opinion chosen from the list: change or withdraw.
    MyOpinion {
        /// The opinion's reference.
        reference: String,
    },
    /// Waiting for the new text of an opinion.
    EditOpinion {
        /// The opinion's reference.
        reference: String,
    },
    /// Asking to confirm withdrawing an opinion.
    ConfirmWithdraw {
        /// The opinion's reference.
        reference: String,
    },
    /// Asking to confirm `/delete_me` and whether to withdraw or keep opinions anonymously.
    ConfirmDelete,
    /// Choosing a language.
    ChooseLanguage,
}

/// Everything persisted about one resident's dialog. Serialised as JSON in the store.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DialogState {
    /// The campaign the resident is in.
    pub campaign: Option<CampaignId>,
    /// The step they are on.
    pub step: Step,
    /// Where to go back to after a command that interrupts the flow (language, privacy, my).
    pub resume: Option<Box<Step>>,
    /// Their consent, once given.
    pub identity: Option<IdentityMode>,
    /// Unit code they chose (or the deep link gave).
    pub unit: Option<String>,
    /// Target group code they chose; `None` if skipped or not yet asked.
    pub target_group: Option<String>,
    /// Whether the target group question was answered or skipped.
    pub target_group_asked: bool,
    /// Whether the announcements question was answered (asked once, after consent).
    #[serde(default)]
    pub notices_asked: bool,
    /// Number of opinions given per topic code in this dialog.
    pub given: BTreeMap<String, u32>,
    /// Topics the resident skipped.
    pub skipped: Vec<String>,
    /// The language they read.
    pub locale: Locale,
    /// Increases with every reply that carries choices; button data carries it, so a button
    /// from an older message is recognised as stale.
    pub nonce: u32,
    /// The receipt of their last submission, shown again on `/start` after submitting.
    pub last_receipt: Option<String>,
}
