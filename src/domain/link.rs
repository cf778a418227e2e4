//! Identity across channels: a resident's contacts on several channels linked to one person
//! by a one-time code, used only to count that person once. Plain types, no I/O.

use chrono::Duration;
use sha2::{Digest, Sha256};

use super::ContactId;

/// How long a link code can be used after it is given.
pub const LINK_CODE_MINUTES: i64 = 15;

/// Characters in a link code (from the same alphabet as receipts, without look-alikes).
pub const LINK_CODE_LEN: usize = 6;

/// How long a link code can be used after it is given.
pub fn link_code_lifetime() -> Duration {
    Duration::minutes(LINK_CODE_MINUTES)
}

/// A typed code as it is compared: spaces and dashes dropped, upper case.
pub fn normalize_link_code(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_uppercase)
        .collect()
}

/// The SHA-256 hash (hex) of a normalised link code: the only form in which codes are kept.
pub fn link_code_hash(code: &str) -> String {
    let digest = Sha256::digest(normalize_link_code(code).as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// What a link code typed by a resident turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkCodeCheck {
    /// No such code was ever given.
    Unknown,
    /// The code was given but its time ran out.
    Expired,
    /// The code was used already (a code works once).
    Used,
    /// The code is good: it was given to this contact, which is linked to this person if any.
    Valid {
        /// The contact that asked for the code.
        contact: ContactId,
        /// The person that contact is already linked to.
        person: Option<i64>,
    },
}

/// A contact's cross-channel link as the shell read it before a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkStatus {
    /// The contact taking the step.
    pub contact: ContactId,
    /// The person it is linked to, if it is linked.
    pub person: Option<i64>,
    /// What the code typed in this step is, when the step redeems one.
    pub code: Option<LinkCodeCheck>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_compared_whatever_its_case_spaces_or_dashes() {
        assert_eq!(normalize_link_code(" ab3-k7 p "), "AB3K7P");
        assert_eq!(link_code_hash("ab3 k7p"), link_code_hash("AB3K7P"));
        assert_ne!(link_code_hash("AB3K7P"), link_code_hash("AB3K7Q"));
        assert_eq!(link_code_hash("AB3K7P").len(), 64);
    }
}
