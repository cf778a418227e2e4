//! Who may do what where: staff roles checked against the unit tree, and one-time link codes.
//! Pure: the tree and the time are passed in.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use rand::Rng as _;

use crate::store::announce::{LinkCode, Role, StaffUser, UnitNode};

/// How long a link code works after it is issued.
pub const LINK_CODE_TTL: Duration = Duration::hours(24);

/// Letters and digits a link code is made of: no 0/O, 1/I/L, easy to read out and type.
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";

/// Characters in a link code.
const CODE_LEN: usize = 8;

/// A fresh one-time link code, valid for [`LINK_CODE_TTL`] from `now`.
pub fn new_link_code(now: DateTime<Utc>) -> LinkCode {
    let mut rng = rand::rng();
    let code = (0..CODE_LEN)
        .map(|_| char::from(CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())]))
        .collect();
    LinkCode {
        code,
        expires_at: now + LINK_CODE_TTL,
    }
}

/// A code as typed: trimmed, upper-cased, spaces and dashes removed.
pub fn normalise_code(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_uppercase)
        .collect()
}

/// The administrative tree, for scope checks.
#[derive(Debug, Clone, Default)]
pub struct UnitTree {
    /// Parent of each unit (`None` for a root).
    parent: HashMap<String, Option<String>>,
    /// Name of each unit.
    name: HashMap<String, String>,
}

impl UnitTree {
    /// Builds the tree from the stored units.
    pub fn new(nodes: Vec<UnitNode>) -> Self {
        let mut tree = Self::default();
        for n in nodes {
            tree.name.insert(n.code.clone(), n.name);
            tree.parent.insert(n.code, n.parent);
        }
        tree
    }

    /// Whether the unit exists.
    pub fn contains(&self, code: &str) -> bool {
        self.parent.contains_key(code)
    }

    /// The unit's name.
    pub fn name(&self, code: &str) -> Option<&str> {
        self.name.get(code).map(String::as_str)
    }

    /// The stored spelling of a code typed in any case.
    pub fn find(&self, typed: &str) -> Option<&str> {
        let typed = typed.trim();
        self.parent
            .get_key_value(typed)
            .map(|(k, _)| k.as_str())
            .or_else(|| {
                self.parent
                    .keys()
                    .find(|k| k.eq_ignore_ascii_case(typed))
                    .map(String::as_str)
            })
    }

    /// Whether `unit` is `scope` or lies below it. Stops on a cycle.
    pub fn is_within(&self, unit: &str, scope: &str) -> bool {
        let mut at = Some(unit.to_owned());
        let mut steps = 0;
        while let Some(code) = at {
            if code == scope {
                return true;
            }
            steps += 1;
            if steps > self.parent.len() {
                return false;
            }
            at = self.parent.get(&code).cloned().flatten();
        }
        false
    }

    /// The unit and every unit below it.
    pub fn subtree(&self, root: &str) -> Vec<String> {
        let mut codes: Vec<String> = self
            .parent
            .keys()
            .filter(|c| self.is_within(c, root))
            .cloned()
            .collect();
        codes.sort();
        codes
    }
}

/// Why a staff user may not do something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// None of their roles allows it.
    Role,
    /// The unit is outside their scope.
    Scope,
}

/// Whether the staff user's scope covers the unit.
pub fn in_scope(staff: &StaffUser, unit: &str, tree: &UnitTree) -> bool {
    staff
        .unit
        .as_deref()
        .is_none_or(|scope| tree.is_within(unit, scope))
}

/// Whether the staff user may bind a group to `unit` or unbind a group bound to it
/// (`None`: a group bound to no unit). Admins, officials and unit leads may, within their
/// scope.
pub fn may_manage_group(
    staff: &StaffUser,
    unit: Option<&str>,
    tree: &UnitTree,
) -> Result<(), Refusal> {
    if ![Role::Admin, Role::Official, Role::UnitLead]
        .iter()
        .any(|r| staff.has(*r))
    {
        return Err(Refusal::Role);
    }
    match unit {
        Some(u) if !in_scope(staff, u, tree) => Err(Refusal::Scope),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> UnitTree {
        let n = |code: &str, parent: Option<&str>| UnitNode {
            code: code.to_owned(),
            name: format!("Đơn vị {code}"),
            parent: parent.map(str::to_owned),
        };
        UnitTree::new(vec![
            n("P", None),
            n("TDP-1", Some("P")),
            n("TDP-2", Some("P")),
            n("TDP-1A", Some("TDP-1")),
        ])
    }

    fn staff(roles: &[Role], unit: Option<&str>) -> StaffUser {
        StaffUser {
            id: 1,
            name: "lan".to_owned(),
            roles: roles.to_vec(),
            unit: unit.map(str::to_owned),
            telegram_user_id: None,
            linked_at: None,
            zalo_user_id: None,
            created_at: Utc::now(),
        }
    }

    #[test]
    fn a_unit_lead_manages_groups_of_their_unit_and_below_only() {
        let t = tree();
        let lead = staff(&[Role::UnitLead], Some("TDP-1"));
        assert_eq!(may_manage_group(&lead, Some("TDP-1"), &t), Ok(()));
        assert_eq!(may_manage_group(&lead, Some("TDP-1A"), &t), Ok(()));
        assert_eq!(
            may_manage_group(&lead, Some("TDP-2"), &t),
            Err(Refusal::Scope)
        );
        assert_eq!(may_manage_group(&lead, Some("P"), &t), Err(Refusal::Scope));
    }

    #[test]
    fn approvers_and_moderators_do_not_manage_groups() {
        let t = tree();
        for role in [Role::Approver, Role::Moderator] {
            let s = staff(&[role], None);
            assert_eq!(may_manage_group(&s, Some("TDP-1"), &t), Err(Refusal::Role));
        }
        let admin = staff(&[Role::Admin], None);
        assert_eq!(may_manage_group(&admin, Some("TDP-2"), &t), Ok(()));
    }

    #[test]
    fn the_subtree_holds_the_unit_and_everything_below_it() {
        let t = tree();
        assert_eq!(t.subtree("TDP-1"), vec!["TDP-1", "TDP-1A"]);
        assert_eq!(t.subtree("P").len(), 4);
        assert_eq!(t.find("tdp-1a"), Some("TDP-1A"));
        assert_eq!(t.find("nowhere"), None);
    }

    #[test]
    fn link_codes_are_eight_unambiguous_characters_valid_for_a_day() {
        let now = Utc::now();
        let a = new_link_code(now);
        let b = new_link_code(now);
        assert_eq!(a.code.len(), 8);
        assert!(a.code.bytes().all(|c| CODE_ALPHABET.contains(&c)));
        assert_ne!(a.code, b.code);
        assert_eq!(a.expires_at, now + Duration::hours(24));
        assert_eq!(normalise_code(" abcd-efgh "), "ABCDEFGH");
    }
}
