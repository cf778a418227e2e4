//! Decisions about posts in managed group chats, pure: whether a post goes to the queue (its
//! text, flooding, a forwarded link), and what may be done automatically after residents'
//! reports. The channel adapters do what these say; nothing here talks to a platform.
//!
//! Automation only queues. The one automatic action is Decidim's rule: a post that reaches
//! the report threshold is hidden pending review, where the bot has the right to, never for a
//! staff member's post (an administrator decides those), and within the cap on automatic
//! actions.

use chrono::{DateTime, Utc};

use super::detect::{Detector, Match};
use super::flood::{ActionCap, FloodGate};
use super::lexicon::Category;
use super::queue::{NewItem, Target};
use crate::domain::{Channel, ContactId};

/// A post seen in a managed group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupPost {
    /// The platform.
    pub channel: Channel,
    /// The platform's chat id.
    pub chat_id: String,
    /// The platform's message id.
    pub message_id: String,
    /// The platform's id of the author (for flood control only; never stored by this).
    pub author_platform_id: String,
    /// The author's contact, if gopy knows them.
    pub author: Option<ContactId>,
    /// The text (or caption).
    pub text: String,
    /// Whether it was forwarded from elsewhere.
    pub forwarded: bool,
    /// When it was posted.
    pub at: DateTime<Utc>,
}

/// Screens a group post: the detector's assessment, plus flooding (more posts from this
/// person in this chat than the gate allows) and a forwarded post carrying a link. Returns
/// the item to queue, if any.
pub fn screen_post(
    detector: &Detector,
    flood: &mut FloodGate,
    post: &GroupPost,
) -> Option<NewItem> {
    let flooding = flood.record(&post.chat_id, &post.author_platform_id, post.at);
    screen_counted(detector, flooding, post)
}

/// [`screen_post`] with the post already counted: `flooding` is how many its author sent in
/// the chat within the window when that is over the limit (see [`super::Limits`], which
/// counts across processes).
pub fn screen_counted(
    detector: &Detector,
    flooding: Option<usize>,
    post: &GroupPost,
) -> Option<NewItem> {
    let mut assessment = detector.assess(&post.text);
    let mut extra = Vec::new();
    if let Some(count) = flooding {
        extra.push(Match {
            category: Category::Spam,
            term: format!("gửi {count} tin trong thời gian ngắn"),
            weight: 2,
            span: 0..0,
        });
    }
    let has_link = assessment
        .matches
        .iter()
        .any(|m| m.term.starts_with("đường link"));
    if post.forwarded && has_link {
        extra.push(Match {
            category: Category::Spam,
            term: "tin chuyển tiếp có đường link".to_owned(),
            weight: 1,
            span: 0..0,
        });
    }
    for m in extra {
        assessment.score += u32::from(m.weight);
        if !assessment.categories.contains(&m.category) {
            assessment.categories.push(m.category);
            assessment.categories.sort();
        }
        assessment.matches.push(m);
    }
    assessment.flagged = assessment.flagged || assessment.score >= detector.threshold();
    if !assessment.flagged {
        return None;
    }
    let target = Target::GroupPost {
        channel: post.channel,
        chat_id: post.chat_id.clone(),
        message_id: post.message_id.clone(),
    };
    Some(NewItem::detected(
        target,
        &post.text,
        post.author,
        &assessment,
        post.at,
    ))
}

/// What the bot may do about a reported post once it is queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterReports {
    /// Below the threshold, or already queued: nothing more.
    Nothing,
    /// Hide (delete from the group) pending review; gopy keeps the text.
    HidePendingReview,
    /// Queued, but left visible: say why, for the moderator.
    LeaveVisible(WhyNotHidden),
}

/// Why a post that reached the threshold was not hidden automatically.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhyNotHidden {
    /// The bot may not delete messages in that chat.
    NoRight,
    /// The author is staff: only an administrator acts on staff posts.
    StaffAuthor,
    /// Too many automatic actions lately: a person must look first.
    CapReached,
}

/// Decides what follows a report: only the report that queued the post (reached the
/// threshold) can hide it, and only if the bot has the right, the author is not staff, and
/// the cap on automatic actions allows it.
pub fn after_reports(
    queued_now: bool,
    bot_can_delete: bool,
    author_is_staff: bool,
    cap: &mut ActionCap,
    at: DateTime<Utc>,
) -> AfterReports {
    before_cap(queued_now, bot_can_delete, author_is_staff).unwrap_or_else(|| {
        if cap.try_take(at) {
            AfterReports::HidePendingReview
        } else {
            AfterReports::LeaveVisible(WhyNotHidden::CapReached)
        }
    })
}

/// What follows a report when that does not depend on the cap; `None` when the post would be
/// hidden if the cap allows one more automatic action (the caller asks it: see
/// [`super::Limits::take_action`], shared by every process).
pub fn before_cap(
    queued_now: bool,
    bot_can_delete: bool,
    author_is_staff: bool,
) -> Option<AfterReports> {
    if !queued_now {
        return Some(AfterReports::Nothing);
    }
    if !bot_can_delete {
        return Some(AfterReports::LeaveVisible(WhyNotHidden::NoRight));
    }
    if author_is_staff {
        return Some(AfterReports::LeaveVisible(WhyNotHidden::StaffAuthor));
    }
    None
}

/// How group moderation is tuned, from the environment (each has a default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupSettings {
    /// `GOPY_MOD_REPORT_THRESHOLD`: distinct reports that queue a post and hide it pending
    /// review where the bot may (Decidim's rule; default 3).
    pub report_threshold: i64,
    /// `GOPY_MOD_RESTRICT_HOURS`: how long "restrict" keeps an author from posting (24).
    pub restrict_hours: i64,
    /// `GOPY_MOD_FLOOD_PER_MINUTE`: posts per person per group per minute before the next
    /// one is queued as flooding (10).
    pub flood_per_minute: usize,
    /// `GOPY_MOD_AUTO_ACTIONS_PER_HOUR`: automatic hides per hour, all groups together (10).
    pub auto_actions_per_hour: usize,
}

impl Default for GroupSettings {
    fn default() -> Self {
        GroupSettings {
            report_threshold: 3,
            restrict_hours: 24,
            flood_per_minute: 10,
            auto_actions_per_hour: 10,
        }
    }
}

impl GroupSettings {
    /// Reads the settings; a value that is missing, not a number or below 1 keeps its
    /// default (logged, so a typo is noticed).
    pub fn from_env() -> Self {
        fn read<T: std::str::FromStr + PartialOrd + From<u8> + Copy>(name: &str, default: T) -> T {
            match std::env::var(name) {
                Err(_) => default,
                Ok(v) => match v.trim().parse::<T>() {
                    Ok(n) if n >= T::from(1) => n,
                    _ => {
                        tracing::warn!(
                            "{name} is not a whole number of at least 1; the default is used"
                        );
                        default
                    }
                },
            }
        }
        let d = GroupSettings::default();
        GroupSettings {
            report_threshold: read("GOPY_MOD_REPORT_THRESHOLD", d.report_threshold),
            restrict_hours: read("GOPY_MOD_RESTRICT_HOURS", d.restrict_hours),
            flood_per_minute: read("GOPY_MOD_FLOOD_PER_MINUTE", d.flood_per_minute),
            auto_actions_per_hour: read("GOPY_MOD_AUTO_ACTIONS_PER_HOUR", d.auto_actions_per_hour),
        }
    }

    /// The flood gate these settings ask for.
    pub fn flood_gate(&self) -> FloodGate {
        FloodGate::new(self.flood_per_minute, chrono::Duration::minutes(1))
    }

    /// The cap on automatic actions these settings ask for.
    pub fn action_cap(&self) -> ActionCap {
        ActionCap::new(self.auto_actions_per_hour, chrono::Duration::hours(1))
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::moderation::{DEFAULT_THRESHOLD, Lexicon};

    fn detector() -> Detector {
        Detector::new(Lexicon::built_in().expect("lists"), DEFAULT_THRESHOLD)
    }

    fn post(message_id: u32, text: &str, seconds: i64) -> GroupPost {
        GroupPost {
            channel: Channel::Telegram,
            chat_id: "-100".to_owned(),
            message_id: message_id.to_string(),
            author_platform_id: "42".to_owned(),
            author: None,
            text: text.to_owned(),
            forwarded: false,
            at: DateTime::<Utc>::UNIX_EPOCH + Duration::seconds(1_750_000_000 + seconds),
        }
    }

    #[test]
    fn an_ordinary_post_is_left_alone_and_an_abusive_one_is_queued_by_chat_and_message() {
        let d = detector();
        let mut gate = FloodGate::new(10, Duration::minutes(1));
        assert!(screen_post(&d, &mut gate, &post(1, "Mai họp tổ dân phố lúc 19h", 0)).is_none());
        let item = screen_post(&d, &mut gate, &post(2, "đm bọn mày", 1)).expect("queued");
        assert_eq!(
            item.target,
            Target::GroupPost {
                channel: Channel::Telegram,
                chat_id: "-100".to_owned(),
                message_id: "2".to_owned(),
            }
        );
        assert!(item.categories.contains(&Category::Insult));
    }

    #[test]
    fn flooding_a_group_queues_the_post_over_the_limit() {
        let d = detector();
        let mut gate = FloodGate::new(3, Duration::minutes(1));
        for i in 0..3 {
            assert!(
                screen_post(&d, &mut gate, &post(i, "xin chào cả nhà", i64::from(i))).is_none()
            );
        }
        let item = screen_post(&d, &mut gate, &post(9, "xin chào cả nhà", 5)).expect("flood");
        assert_eq!(item.categories, [Category::Spam]);
        assert!(item.matches[0].term.contains("gửi 4 tin"));
        assert_eq!(
            crate::moderation::highlight(&item.text, item.matches.iter().map(|m| m.start..m.end)),
            "xin chào cả nhà",
            "a signal about the whole post marks no words"
        );
    }

    #[test]
    fn a_forwarded_link_counts_more_than_a_link() {
        let d = detector();
        let mut gate = FloodGate::new(10, Duration::minutes(1));
        let plain = post(1, "xem https://vi-du.com/bai-viet", 0);
        assert!(screen_post(&d, &mut gate, &plain).is_none());
        let forwarded = GroupPost {
            forwarded: true,
            ..post(2, "xem https://vi-du.com/bai-viet", 1)
        };
        let item = screen_post(&d, &mut gate, &forwarded).expect("queued");
        assert_eq!(item.score, 2);
    }

    #[test]
    fn only_the_threshold_report_hides_and_only_where_allowed() {
        let at = DateTime::<Utc>::UNIX_EPOCH;
        let mut cap = ActionCap::new(1, Duration::minutes(10));
        // (queued by this report, bot may delete, author is staff) → what follows; in order,
        // so the cap of one is used by the fourth row and refuses the fifth.
        let table = [
            ((false, true, false), AfterReports::Nothing),
            (
                (true, false, false),
                AfterReports::LeaveVisible(WhyNotHidden::NoRight),
            ),
            (
                (true, true, true),
                AfterReports::LeaveVisible(WhyNotHidden::StaffAuthor),
            ),
            ((true, true, false), AfterReports::HidePendingReview),
            (
                (true, true, false),
                AfterReports::LeaveVisible(WhyNotHidden::CapReached),
            ),
        ];
        for ((queued, right, staff), want) in table {
            assert_eq!(after_reports(queued, right, staff, &mut cap, at), want);
        }
    }
}
