//! A resident on one channel, kept apart from what they said, and the language they read.

use serde::{Deserialize, Serialize};

/// Database id of a contact.
pub type ContactId = i64;

/// The channel a contact or an opinion came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// Telegram private chat.
    Telegram,
    /// Zalo Bot API or Official Account.
    Zalo,
    /// The public web page.
    Web,
    /// `gopy chat` in a terminal.
    Terminal,
    /// Written down by an official: heard at a meeting or imported from a unit's table.
    Office,
}

impl Channel {
    /// Name used in the database and in exports.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Telegram => "telegram",
            Channel::Zalo => "zalo",
            Channel::Web => "web",
            Channel::Terminal => "terminal",
            Channel::Office => "office",
        }
    }

    /// Parses the database name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "telegram" => Some(Channel::Telegram),
            "zalo" => Some(Channel::Zalo),
            "web" => Some(Channel::Web),
            "terminal" => Some(Channel::Terminal),
            "office" => Some(Channel::Office),
            _ => None,
        }
    }
}

/// How a contact is found again: the channel and the platform's id for the person.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ContactKey {
    /// The channel.
    pub channel: Channel,
    /// The platform's id for the person (Telegram user id, Zalo user id, terminal user name).
    pub external_id: String,
}

/// The language a resident reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    /// Vietnamese, the first language of every user-facing string.
    #[default]
    Vi,
    /// English.
    En,
}

impl Locale {
    /// BCP 47 tag.
    pub fn as_str(self) -> &'static str {
        match self {
            Locale::Vi => "vi",
            Locale::En => "en",
        }
    }

    /// Parses a tag such as `vi`, `en`, `en-US`; anything else is `None`.
    pub fn parse(s: &str) -> Option<Self> {
        let lang = s.split(['-', '_']).next().unwrap_or_default();
        match lang.to_ascii_lowercase().as_str() {
            "vi" => Some(Locale::Vi),
            "en" => Some(Locale::En),
            _ => None,
        }
    }
}

/// Whether a resident gives opinions with their name or anonymously.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdentityMode {
    /// The resident's platform display name is kept (apart from the opinions) for officials.
    Named,
    /// No identity is kept; opinions are reported without any link to a person.
    Anonymous,
}

impl IdentityMode {
    /// Name used in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityMode::Named => "named",
            IdentityMode::Anonymous => "anonymous",
        }
    }
}

/// Identity details a platform gave us; stored only for named residents, in its own table.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Identity {
    /// Display name on the platform.
    pub display_name: Option<String>,
    /// Username on the platform (Telegram `@name`).
    pub username: Option<String>,
}

/// One person on one channel. Holds no identity: names live in the identities table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// Database id.
    pub id: ContactId,
    /// How the contact is found again.
    pub key: ContactKey,
    /// The language they chose (Vietnamese unless they said otherwise).
    pub locale: Locale,
}
