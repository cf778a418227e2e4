//! Replies in a bound group become opinions: what a thread posts, what counts as an
//! agreement rather than an opinion, how gopy acknowledges a reply, and the resident's choices
//! in the private notice. Pure: the Telegram adapter (`channels::telegram::replies`) does the
//! I/O and `store::replies` the storage.
//!
//! Layout:
//! - `mod.rs`: the plain types and decisions ([`is_agreement`], [`AckMode`], [`Choice`],
//!   [`thread_plan`], [`thread_texts`]).
//! - `files.rs`: voice notes, photos and documents given with replies: what is accepted and
//!   the local directory they are kept in.
//! - `cli.rs`: `gopy thread …` (post a campaign's thread into a group, set how a group is
//!   acknowledged, show what was recorded).

pub mod cli;
pub mod files;

use unicode_normalization::UnicodeNormalization as _;

use crate::dialog::Msg;
use crate::domain::{Campaign, Topic};

/// The topic code of a reply to a campaign's own post: an opinion officials classify.
pub const UNCLASSIFIED: &str = "unclassified";

/// The prefix of the buttons of the private notice (`gr:<choice>:<campaign>`).
pub const PREFIX: &str = "gr:";

/// How gopy acknowledges a recorded reply in its group: at most once per resident per post.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AckMode {
    /// A 👍 reaction on the reply (nothing added to the conversation).
    #[default]
    Reaction,
    /// One short reply ("Đã ghi nhận ý kiến").
    Reply,
    /// Nothing at all.
    Silent,
}

impl AckMode {
    /// Name used in the database and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            AckMode::Reaction => "reaction",
            AckMode::Reply => "reply",
            AckMode::Silent => "silent",
        }
    }

    /// Parses the database or command-line name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "reaction" => Some(AckMode::Reaction),
            "reply" => Some(AckMode::Reply),
            "silent" => Some(AckMode::Silent),
            _ => None,
        }
    }
}

/// What a resident chose in the private notice about their replies in a campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// Keep them as given (reported anonymously, as the thread says).
    Keep,
    /// Cut every link between them and the resident's account.
    Anonymous,
    /// Withdraw them: kept for the record, never counted.
    Withdraw,
}

impl Choice {
    /// Name used in the database and in button data.
    pub fn as_str(self) -> &'static str {
        match self {
            Choice::Keep => "keep",
            Choice::Anonymous => "anonymous",
            Choice::Withdraw => "withdraw",
        }
    }

    /// Parses the database name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "keep" => Some(Choice::Keep),
            "anonymous" => Some(Choice::Anonymous),
            "withdraw" => Some(Choice::Withdraw),
            _ => None,
        }
    }

    /// The button data for this choice about a campaign (well under 64 bytes).
    pub fn data(self, campaign: i64) -> String {
        format!("{PREFIX}{}:{campaign}", self.as_str())
    }

    /// Reads button data written by [`Choice::data`].
    pub fn from_data(data: &str) -> Option<(Choice, i64)> {
        let rest = data.strip_prefix(PREFIX)?;
        let (choice, campaign) = rest.split_once(':')?;
        Some((Choice::parse(choice)?, campaign.parse().ok()?))
    }
}

/// Words that, alone, say "I agree" (compared after lower-casing, NFC and trimming
/// punctuation).
const AGREEING: [&str; 12] = [
    "đồng ý",
    "dong y",
    "đồng ý ạ",
    "em đồng ý",
    "tôi đồng ý",
    "nhất trí",
    "nhat tri",
    "rất đồng ý",
    "+1",
    "ok",
    "đồng tình",
    "tán thành",
];

/// Whether a reply's text is only an agreement: emoji alone (👍, ❤️, 👏…), or one of the
/// agreeing words above ("đồng ý", "+1", …). A sticker is one too (the caller decides that).
pub fn is_agreement(text: &str) -> bool {
    let t: String = text.nfc().collect::<String>().trim().to_lowercase();
    if t.is_empty() {
        return false;
    }
    if t.chars().all(|c| is_emoji(c) || c.is_whitespace()) {
        return true;
    }
    let words = t
        .trim_matches(|c: char| (c.is_ascii_punctuation() && c != '+') || is_emoji(c))
        .trim();
    let words = words.split_whitespace().collect::<Vec<_>>().join(" ");
    AGREEING.contains(&words.as_str())
}

/// Whether a character is part of an emoji (pictographs, symbols, their modifiers and joiners).
fn is_emoji(c: char) -> bool {
    matches!(u32::from(c),
        0x1F000..=0x1FAFF // pictographs, emoticons, transport, supplemental symbols
        | 0x2600..=0x27BF // miscellaneous symbols and dingbats (❤, ✅, ✌)
        | 0x2B00..=0x2BFF // arrows and stars (⭐)
        | 0x2190..=0x21FF // arrows
        | 0x2300..=0x23FF // technical (⌛)
        | 0xFE0E..=0xFE0F // variation selectors
        | 0x200D          // zero-width joiner
        | 0x20E3          // keycap
        | 0xE0020..=0xE007F // tags
    )
}

/// One post of a thread: the campaign's (`topic` None) or a topic's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedPost {
    /// The topic, `None` for the campaign's post.
    pub topic: Option<String>,
    /// The topic's first section, if it has one.
    pub section: Option<String>,
}

/// The posts of a campaign's thread, in the order they go: the campaign's, then each topic's.
pub fn thread_plan(campaign: &Campaign) -> Vec<PlannedPost> {
    std::iter::once(PlannedPost {
        topic: None,
        section: None,
    })
    .chain(campaign.topics.iter().map(|t| PlannedPost {
        topic: Some(t.code.clone()),
        section: t.sections.first().cloned(),
    }))
    .collect()
}

/// The message a thread's post shows (Fluent, `locales/*/telegram.ftl`): the campaign's post
/// says what the consultation is, that replies are recorded as opinions and reported
/// anonymously, and links to the full dialog; a topic's post gives the topic, its sections'
/// summaries and the question.
pub fn thread_texts(campaign: &Campaign, topic: Option<&str>, link: &str) -> Vec<Msg> {
    let Some(code) = topic else {
        return vec![
            Msg::new("gr-thread-campaign")
                .text("title", campaign.title.clone())
                .text("issuer", campaign.issuer.clone())
                .text("intro", campaign.intro.clone()),
            Msg::new("gr-thread-consent"),
            Msg::new("gr-thread-link").text("link", link.to_owned()),
        ];
    };
    let Some(t) = campaign.topics.iter().find(|t| t.code == code) else {
        return vec![Msg::new("gr-thread-topic-gone").text("code", code.to_owned())];
    };
    let mut out = vec![Msg::new("gr-thread-topic").text("title", t.title.clone())];
    out.extend(summaries(campaign, t));
    out.push(Msg::new("gr-thread-question").text("question", t.question.clone()));
    out.push(Msg::new("gr-thread-reply-here"));
    out
}

/// The summaries of a topic's sections, one paragraph each.
fn summaries(campaign: &Campaign, topic: &Topic) -> Vec<Msg> {
    topic
        .sections
        .iter()
        .filter_map(|r| campaign.sections.iter().find(|s| &s.reference == r))
        .map(|s| {
            Msg::new("gr-thread-section")
                .text("reference", s.reference.clone())
                .text("title", s.title.clone())
                .text("summary", s.summary.clone())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emoji_alone_and_agreeing_words_are_agreements() {
        for t in [
            "👍",
            "👍👍👍",
            "❤️",
            "👏🏻",
            "  🙏 ",
            "Đồng ý",
            "đồng ý!",
            "Đồng ý ạ",
            "+1",
            "OK",
            "Nhất trí 👍",
            // NFD "đồng ý"
            "\u{111}o\u{302}\u{300}ng y\u{301}",
        ] {
            assert!(is_agreement(t), "{t:?}");
        }
    }

    #[test]
    fn words_that_say_more_are_opinions() {
        for t in [
            "Đồng ý nhưng cần thêm đèn đường",
            "Không đồng ý",
            "Cần sửa đường ngõ 5 👍",
            "",
            "   ",
            "?",
            "1",
        ] {
            assert!(!is_agreement(t), "{t:?}");
        }
    }

    #[test]
    fn choices_round_trip_through_button_data() {
        for c in [Choice::Keep, Choice::Anonymous, Choice::Withdraw] {
            let data = c.data(123_456);
            assert!(data.len() <= 64);
            assert_eq!(Choice::from_data(&data), Some((c, 123_456)));
        }
        assert_eq!(Choice::from_data("gr:other:1"), None);
        assert_eq!(Choice::from_data("3:topic:a"), None);
        assert_eq!(AckMode::parse("silent"), Some(AckMode::Silent));
        assert_eq!(AckMode::default().as_str(), "reaction");
    }
}
