//! The buttons on a moderator's card, pure: what a press asks (`mod:<item>:<round>:<action>`,
//! well under Telegram's 64 bytes) and whether it may be carried out — by whom, on an item in
//! which state. The channel adapter reads the item and the presser, asks [`decide_press`],
//! and does what the answer says; a stale or double-tapped button gets a clear answer.
//!
//! The round is 0 before an appeal and 1 after it: a card sent before the appeal is out of
//! date once the item is back in the queue (the appeal goes to a different moderator).

use super::queue::{Item, Status, Verdict};

/// What button data of a moderator's card starts with.
pub const PREFIX: &str = "mod:";

/// What a button asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardAction {
    /// No violation: the post stays (the item is dismissed).
    Keep,
    /// A violation: hidden in gopy, deleted from the group where the bot may.
    Hide,
    /// Hide, and restrict the author in the group for a time.
    Restrict,
    /// Hide, and ban the author from the group.
    Ban,
    /// The flag was unfounded (a mistaken report): closed without a violation.
    Dismiss,
    /// Undo a hide: restored in gopy always, and on the platform what can be undone.
    Undo(Undone),
}

/// What an undo reverses on the platform, besides the hide itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Undone {
    /// Only the hide (a deleted Telegram message cannot be brought back).
    Hide,
    /// The restriction is lifted.
    Restrict,
    /// The ban is lifted.
    Ban,
}

impl CardAction {
    /// The action's letters in button data.
    fn code(self) -> &'static str {
        match self {
            CardAction::Keep => "k",
            CardAction::Hide => "h",
            CardAction::Restrict => "r",
            CardAction::Ban => "b",
            CardAction::Dismiss => "d",
            CardAction::Undo(Undone::Hide) => "uh",
            CardAction::Undo(Undone::Restrict) => "ur",
            CardAction::Undo(Undone::Ban) => "ub",
        }
    }

    fn parse(code: &str) -> Option<Self> {
        Some(match code {
            "k" => CardAction::Keep,
            "h" => CardAction::Hide,
            "r" => CardAction::Restrict,
            "b" => CardAction::Ban,
            "d" => CardAction::Dismiss,
            "uh" => CardAction::Undo(Undone::Hide),
            "ur" => CardAction::Undo(Undone::Restrict),
            "ub" => CardAction::Undo(Undone::Ban),
            _ => return None,
        })
    }

    /// The verdict this action records.
    pub fn verdict(self) -> Verdict {
        match self {
            CardAction::Hide | CardAction::Restrict | CardAction::Ban => Verdict::Uphold,
            CardAction::Keep | CardAction::Dismiss | CardAction::Undo(_) => Verdict::Dismiss,
        }
    }

    /// The undo that reverses this action, for the button shown after it.
    pub fn undo(self) -> Option<CardAction> {
        match self {
            CardAction::Hide => Some(CardAction::Undo(Undone::Hide)),
            CardAction::Restrict => Some(CardAction::Undo(Undone::Restrict)),
            CardAction::Ban => Some(CardAction::Undo(Undone::Ban)),
            _ => None,
        }
    }

    /// The action's name in the moderation log.
    pub fn log_name(self) -> &'static str {
        match self {
            CardAction::Keep => "keep",
            CardAction::Hide => "hide",
            CardAction::Restrict => "restrict",
            CardAction::Ban => "ban",
            CardAction::Dismiss => "dismiss",
            CardAction::Undo(_) => "undo",
        }
    }
}

/// A press of a card's button.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Press {
    /// The item.
    pub item: i64,
    /// The round the card was sent in (0 before an appeal, 1 after).
    pub round: u8,
    /// What the button asks.
    pub action: CardAction,
}

impl Press {
    /// The button data.
    pub fn encode(&self) -> String {
        format!(
            "{PREFIX}{}:{}:{}",
            self.item,
            self.round,
            self.action.code()
        )
    }

    /// Reads button data; `None` for anything that is not a card's button.
    pub fn parse(data: &str) -> Option<Press> {
        let mut parts = data.strip_prefix(PREFIX)?.split(':');
        let item = parts.next()?.parse().ok()?;
        let round = parts.next()?.parse().ok()?;
        let action = CardAction::parse(parts.next()?)?;
        if parts.next().is_some() {
            return None;
        }
        Some(Press {
            item,
            round,
            action,
        })
    }
}

/// The round an item is in: 1 once appealed.
pub fn round_of(item: &Item) -> u8 {
    u8::from(item.appeal.is_some())
}

/// Who pressed, as the adapter found them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presser {
    /// Their staff name (what the log records).
    pub name: String,
    /// Whether they have the moderator role (or are an administrator).
    pub moderator: bool,
    /// Whether they are an administrator (the only ones who act on staff posts).
    pub admin: bool,
    /// Whether the item's group lies within their unit.
    pub in_scope: bool,
}

/// What a press comes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PressOutcome {
    /// Carry it out: record this verdict, then do the action on the platform.
    Go(Verdict),
    /// The presser is not (or no longer) a moderator.
    NotModerator,
    /// The item's group is outside the presser's unit.
    OutOfScope,
    /// The card was sent before the item was appealed: a newer card exists.
    OldCard,
    /// Already decided (by this moderator's double tap, or by another one).
    AlreadyDecided {
        /// How it was decided.
        status: Status,
        /// By whom.
        by: Option<String>,
    },
    /// An undo of something that is no longer hidden.
    NothingToUndo,
    /// The author is staff (or runs the group): only an administrator acts on their posts.
    StaffAuthor,
    /// The item was appealed against this moderator's decision: another must decide.
    SameModerator,
}

/// Decides whether a press may be carried out.
pub fn decide_press(
    press: &Press,
    item: &Item,
    presser: &Presser,
    author_is_staff: bool,
) -> PressOutcome {
    if !presser.moderator {
        return PressOutcome::NotModerator;
    }
    if !presser.in_scope {
        return PressOutcome::OutOfScope;
    }
    if press.round != round_of(item) {
        return PressOutcome::OldCard;
    }
    if let CardAction::Undo(_) = press.action {
        return if item.status == Status::Upheld {
            PressOutcome::Go(Verdict::Dismiss)
        } else {
            PressOutcome::NothingToUndo
        };
    }
    if item.status != Status::Queued {
        return PressOutcome::AlreadyDecided {
            status: item.status,
            by: item.decision.as_ref().map(|(by, _, _)| by.clone()),
        };
    }
    if item.previous_moderator.as_deref() == Some(presser.name.as_str()) {
        return PressOutcome::SameModerator;
    }
    if press.action.verdict() == Verdict::Uphold && author_is_staff && !presser.admin {
        return PressOutcome::StaffAuthor;
    }
    PressOutcome::Go(press.action.verdict())
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::moderation::{Source, Target};

    fn item(status: Status) -> Item {
        Item {
            id: 7,
            target: Target::Opinion { opinion_id: 1 },
            text: "x".to_owned(),
            author: Some(1),
            source: Source::Detector,
            categories: Vec::new(),
            score: 3,
            matches: Vec::new(),
            status,
            created_at: Utc::now(),
            decision: (status != Status::Queued)
                .then(|| ("lan".to_owned(), Utc::now(), "r".into())),
            appeal: None,
            previous_moderator: None,
        }
    }

    fn moderator(name: &str) -> Presser {
        Presser {
            name: name.to_owned(),
            moderator: true,
            admin: false,
            in_scope: true,
        }
    }

    fn press(action: CardAction) -> Press {
        Press {
            item: 7,
            round: 0,
            action,
        }
    }

    #[test]
    fn button_data_round_trips_and_stays_short_and_nothing_else_parses() {
        for action in [
            CardAction::Keep,
            CardAction::Hide,
            CardAction::Restrict,
            CardAction::Ban,
            CardAction::Dismiss,
            CardAction::Undo(Undone::Hide),
            CardAction::Undo(Undone::Restrict),
            CardAction::Undo(Undone::Ban),
        ] {
            let p = Press {
                item: i64::MAX,
                round: 1,
                action,
            };
            let data = p.encode();
            assert!(data.len() <= 64, "{data}");
            assert_eq!(Press::parse(&data), Some(p));
        }
        for junk in [
            "",
            "mod:",
            "mod:x:0:h",
            "mod:1:0:zz",
            "mod:1:0:h:extra",
            "ab12:next",
        ] {
            assert_eq!(Press::parse(junk), None, "{junk}");
        }
    }

    #[test]
    fn a_queued_item_is_decided_once_and_a_second_tap_is_told_who_decided() {
        let lan = moderator("lan");
        assert_eq!(
            decide_press(&press(CardAction::Hide), &item(Status::Queued), &lan, false),
            PressOutcome::Go(Verdict::Uphold)
        );
        assert_eq!(
            decide_press(&press(CardAction::Keep), &item(Status::Queued), &lan, false),
            PressOutcome::Go(Verdict::Dismiss)
        );
        assert_eq!(
            decide_press(&press(CardAction::Ban), &item(Status::Upheld), &lan, false),
            PressOutcome::AlreadyDecided {
                status: Status::Upheld,
                by: Some("lan".to_owned())
            }
        );
    }

    #[test]
    fn undo_applies_to_a_hidden_item_only() {
        let lan = moderator("lan");
        let undo = press(CardAction::Undo(Undone::Restrict));
        assert_eq!(
            decide_press(&undo, &item(Status::Upheld), &lan, false),
            PressOutcome::Go(Verdict::Dismiss)
        );
        assert_eq!(
            decide_press(&undo, &item(Status::Dismissed), &lan, false),
            PressOutcome::NothingToUndo
        );
    }

    #[test]
    fn staff_posts_need_an_administrator_and_keeping_them_does_not() {
        let lan = moderator("lan");
        let queued = item(Status::Queued);
        assert_eq!(
            decide_press(&press(CardAction::Restrict), &queued, &lan, true),
            PressOutcome::StaffAuthor
        );
        assert_eq!(
            decide_press(&press(CardAction::Keep), &queued, &lan, true),
            PressOutcome::Go(Verdict::Dismiss)
        );
        let admin = Presser {
            admin: true,
            ..moderator("chi")
        };
        assert_eq!(
            decide_press(&press(CardAction::Hide), &queued, &admin, true),
            PressOutcome::Go(Verdict::Uphold)
        );
    }

    #[test]
    fn outsiders_old_cards_and_the_appealed_moderator_are_refused() {
        let queued = item(Status::Queued);
        let stranger = Presser {
            moderator: false,
            ..moderator("x")
        };
        assert_eq!(
            decide_press(&press(CardAction::Hide), &queued, &stranger, false),
            PressOutcome::NotModerator
        );
        let elsewhere = Presser {
            in_scope: false,
            ..moderator("y")
        };
        assert_eq!(
            decide_press(&press(CardAction::Hide), &queued, &elsewhere, false),
            PressOutcome::OutOfScope
        );
        let appealed = Item {
            appeal: Some(("sai".to_owned(), Utc::now())),
            previous_moderator: Some("lan".to_owned()),
            ..queued
        };
        assert_eq!(
            decide_press(
                &press(CardAction::Keep),
                &appealed,
                &moderator("lan"),
                false
            ),
            PressOutcome::OldCard
        );
        let fresh = Press {
            round: 1,
            ..press(CardAction::Keep)
        };
        assert_eq!(
            decide_press(&fresh, &appealed, &moderator("lan"), false),
            PressOutcome::SameModerator
        );
        assert_eq!(
            decide_press(&fresh, &appealed, &moderator("minh"), false),
            PressOutcome::Go(Verdict::Dismiss)
        );
    }
}
