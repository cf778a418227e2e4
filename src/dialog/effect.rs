//! What the engine asks the shell to do, and the replies it renders for a channel to show.

use serde::{Deserialize, Serialize};

use chrono::{DateTime, Utc};

use crate::domain::{ContactId, IdentityMode, Locale};

/// An argument to a localised message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Arg {
    /// Text that did not come from `locales/` (resident input, campaign content): the channel
    /// escapes it before it is placed in the message.
    Text(String),
    /// A number (Fluent selects plural forms on it).
    Num(i64),
}

/// One localised message: a Fluent message id from `locales/*/*.ftl` and its arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Msg {
    /// Fluent message id, e.g. `consent-notice`.
    pub key: String,
    /// Named arguments.
    pub args: Vec<(String, Arg)>,
}

impl Msg {
    /// A message with no arguments.
    pub fn new(key: &str) -> Msg {
        Msg {
            key: key.to_owned(),
            args: Vec::new(),
        }
    }

    /// Adds a text argument.
    pub fn text(mut self, name: &str, value: impl Into<String>) -> Msg {
        self.args.push((name.to_owned(), Arg::Text(value.into())));
        self
    }

    /// Adds a number argument.
    pub fn num(mut self, name: &str, value: i64) -> Msg {
        self.args.push((name.to_owned(), Arg::Num(value)));
        self
    }
}

/// One choice offered to the resident: a button where the channel has buttons, a numbered
/// line where it does not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    /// Button data, at most 64 bytes (Telegram's `callback_data` limit): `<nonce>:<action>`.
    pub data: String,
    /// The label.
    pub label: Msg,
}

/// One message to the resident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    /// Language to render in.
    pub locale: Locale,
    /// Paragraphs, rendered and joined by a blank line.
    pub paragraphs: Vec<Msg>,
    /// Choices, in order; numbered from 1 on channels without buttons.
    pub choices: Vec<Choice>,
}

/// A thing the shell must do, in order, inside the step's transaction (storage effects) or
/// after it commits (replies).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Effect {
    /// Send a message to the resident, after the transaction commits.
    Reply(Reply),
    /// Record the resident's consent to the campaign's notice.
    RecordConsent {
        /// Named or anonymous.
        mode: IdentityMode,
        /// The notice version consented to.
        notice_version: String,
    },
    /// Store a new opinion as a draft (committed before the acknowledgement is sent).
    SaveOpinion {
        /// The fresh reference from the context.
        reference: String,
        /// Topic code.
        topic: String,
        /// Section reference (the topic's first section), if any.
        section: Option<String>,
        /// The text, NFC, trimmed, 1..=4000 characters.
        text: String,
    },
    /// Mark every draft of this resident in this campaign as submitted with this receipt.
    SubmitDrafts {
        /// The receipt code.
        receipt: String,
    },
    /// Replace an opinion's text (only while collection is open).
    EditOpinion {
        /// The opinion's reference.
        reference: String,
        /// The new text.
        text: String,
    },
    /// Withdraw an opinion (only while collection is open).
    WithdrawOpinion {
        /// The opinion's reference.
        reference: String,
    },
    /// Erase the resident: identity, consents' link, dialog state and contact row. Their
    /// opinions are withdrawn, or kept with no link to them, as they chose.
    EraseContact {
        /// Withdraw the opinions (true) or keep them anonymously (false).
        withdraw_opinions: bool,
    },
    /// Remember the resident's language on the contact.
    SetLocale(Locale),
    /// Start or stop sending the resident announcements in private chat.
    SetNotices {
        /// On or off.
        on: bool,
        /// The unit they chose in the dialog, so broadcasts to it reach them.
        unit: Option<String>,
    },
    /// Keep a new one-time link code (hashed) for the resident until `expires_at`.
    IssueLinkCode {
        /// The code as shown to the resident.
        code: String,
        /// When it stops working.
        expires_at: DateTime<Utc>,
    },
    /// Use the code typed and link the resident's contact with the code's owner (one person).
    LinkContacts {
        /// The code as typed.
        code: String,
        /// The contact the code was given to.
        other: ContactId,
    },
    /// Undo the resident's link to their contacts on other channels.
    UnlinkContact,
}
