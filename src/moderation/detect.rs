//! Detection: a score for one message, the categories that fired and the spans that matched.
//! Pure: the lexicon and the threshold come in, an [`Assessment`] goes out. Detection only
//! ever proposes; a moderator decides.
//!
//! Signals:
//! - phrases of the word lists, matched on normalised words (whole words only, longest match
//!   wins, accent-stripped forms only when the message was typed without accents);
//! - Vietnamese phone numbers and identity-card numbers (personal data);
//! - links (suspicious unless they point at a `.gov.vn` site; link shorteners count more);
//! - a message that repeats the same few words over and over (spam).

use std::collections::BTreeSet;
use std::ops::Range;

use serde::Serialize;

use super::lexicon::{Category, Lexicon};
use crate::text::{Normalized, normalize};

/// The score from which a message is queued for a moderator.
pub const DEFAULT_THRESHOLD: u32 = 2;

/// One reason a message was scored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Match {
    /// What it is evidence of.
    pub category: Category,
    /// The phrase of the list (or the kind of signal, e.g. `số điện thoại`).
    pub term: String,
    /// How much it counted.
    pub weight: u8,
    /// The bytes of the message that matched (for highlighting).
    pub span: Range<usize>,
}

/// What detection says about one message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assessment {
    /// The sum of the weights of what matched (each phrase once).
    pub score: u32,
    /// Whether the message goes to the moderators' queue: the score reached the threshold or
    /// a watch-list term matched.
    pub flagged: bool,
    /// The categories that fired, in order.
    pub categories: Vec<Category>,
    /// What matched, in the order it appears in the message.
    pub matches: Vec<Match>,
}

impl Assessment {
    /// The message with every match wrapped in `[[…]]`, for a moderator reading plain text.
    pub fn highlight(&self, text: &str) -> String {
        highlight(text, self.matches.iter().map(|m| m.span.clone()))
    }
}

/// A text with each span wrapped in `[[…]]`; spans that are empty (signals about the whole
/// post, like flooding), overlap an earlier one, or do not fall on character boundaries inside
/// the text, are left out.
pub fn highlight(text: &str, spans: impl IntoIterator<Item = Range<usize>>) -> String {
    let mut spans: Vec<Range<usize>> = spans.into_iter().collect();
    spans.sort_by_key(|s| (s.start, std::cmp::Reverse(s.end)));
    let mut out = String::with_capacity(text.len() + spans.len() * 4);
    let mut at = 0;
    for s in spans {
        if s.start < at || s.start >= s.end {
            continue;
        }
        let (Some(before), Some(inside)) = (text.get(at..s.start), text.get(s.clone())) else {
            continue;
        };
        out.push_str(before);
        out.push_str("[[");
        out.push_str(inside);
        out.push_str("]]");
        at = s.end;
    }
    out.push_str(text.get(at..).unwrap_or(""));
    out
}

/// The detector: word lists plus the threshold.
#[derive(Debug, Clone)]
pub struct Detector {
    /// The word lists (with the watch list merged in).
    lexicon: Lexicon,
    /// The score from which a message is flagged.
    threshold: u32,
}

impl Detector {
    /// A detector over these lists with this threshold.
    pub fn new(lexicon: Lexicon, threshold: u32) -> Self {
        Detector { lexicon, threshold }
    }

    /// The lexicon in use.
    pub fn lexicon(&self) -> &Lexicon {
        &self.lexicon
    }

    /// The score from which a message is flagged.
    pub fn threshold(&self) -> u32 {
        self.threshold
    }

    /// Assesses one message.
    pub fn assess(&self, text: &str) -> Assessment {
        let normalized = normalize(text);
        let mut matches = self.phrase_matches(&normalized);
        matches.extend(number_matches(text));
        matches.extend(link_matches(text));
        matches.extend(repetition_match(&normalized, text));
        matches.sort_by_key(|m| (m.span.start, m.span.end));

        let mut seen = BTreeSet::new();
        let mut score = 0u32;
        for m in &matches {
            if seen.insert((m.category, m.term.as_str())) {
                score += u32::from(m.weight);
            }
        }
        let categories: BTreeSet<Category> = matches.iter().map(|m| m.category).collect();
        let watched = categories.contains(&Category::Watch);
        Assessment {
            score,
            flagged: score >= self.threshold || watched,
            categories: categories.into_iter().collect(),
            matches,
        }
    }

    /// Phrases of the lists, whole words, the longest match winning where matches overlap.
    fn phrase_matches(&self, n: &Normalized) -> Vec<Match> {
        let tokens = n.tokens();
        let folded_allowed = !n.has_diacritics();
        // (entry, first token, end token)
        let mut found: Vec<(usize, usize, usize)> = Vec::new();
        for i in 0..tokens.len() {
            let exact = self.lexicon.starting_with(&tokens[i].text).iter();
            let folded: &[usize] = if folded_allowed {
                self.lexicon.starting_with_folded(&tokens[i].folded)
            } else {
                &[]
            };
            for &e in exact.chain(folded.iter()) {
                let entry = self.lexicon.entry(e);
                if !entry.matches_folded() && folded_allowed {
                    // `=` phrases: only in a message typed with accents, where the spelling
                    // was chosen (`lon` among accented words is not `lớn`).
                    continue;
                }
                let len = entry.tokens().len();
                if i + len > tokens.len() {
                    continue;
                }
                let window = &tokens[i..i + len];
                let exact_hit = window.iter().zip(entry.tokens()).all(|(t, w)| &t.text == w);
                let folded_hit = folded_allowed
                    && entry.matches_folded()
                    && window
                        .iter()
                        .zip(entry.folded())
                        .all(|(t, w)| &t.folded == w);
                if (exact_hit || folded_hit) && !found.contains(&(e, i, i + len)) {
                    found.push((e, i, i + len));
                }
            }
        }
        let kept: Vec<&(usize, usize, usize)> = found
            .iter()
            .filter(|(_, s, t)| {
                !found
                    .iter()
                    .any(|(_, s2, t2)| s2 <= s && t <= t2 && (t2 - s2) > (t - s))
            })
            .collect();
        kept.into_iter()
            .filter_map(|&(e, s, t)| {
                let entry = self.lexicon.entry(e);
                Some(Match {
                    category: entry.category?,
                    term: entry.phrase.clone(),
                    weight: entry.weight,
                    span: tokens[s].span.start..tokens[t - 1].span.end,
                })
            })
            .collect()
    }
}

/// Runs of digits in the text, allowing single spaces, dots or dashes between groups and a
/// leading `+`: (digits, span, whether separators were used).
fn digit_runs(text: &str) -> Vec<(String, Range<usize>, bool)> {
    let mut out = Vec::new();
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (start, c) = chars[i];
        if !c.is_ascii_digit() {
            i += 1;
            continue;
        }
        let mut digits = String::new();
        let mut end = start;
        let mut separated = false;
        while i < chars.len() {
            let (at, c) = chars[i];
            if c.is_ascii_digit() {
                digits.push(c);
                end = at + 1;
                i += 1;
            } else if matches!(c, ' ' | '.' | '-')
                && chars.get(i + 1).is_some_and(|(_, n)| n.is_ascii_digit())
                && !digits.is_empty()
            {
                separated = true;
                i += 1;
            } else {
                break;
            }
        }
        // A number glued to letters (`abc123`, `123abc`) is a code, not a phone number.
        let glued_before = text[..start]
            .chars()
            .next_back()
            .is_some_and(char::is_alphanumeric);
        let glued_after = text[end..]
            .chars()
            .next()
            .is_some_and(char::is_alphanumeric);
        let plus = text[..start].ends_with('+');
        let span_start = if plus { start - 1 } else { start };
        if !glued_before && !glued_after {
            out.push((digits, span_start..end, separated));
        }
    }
    out
}

/// Vietnamese phone numbers (mobile `0[35789]` + 8 digits or `84…`, landline `02…` + 9) and
/// identity numbers (12-digit citizen identity cards; 9-digit old identity cards count less).
fn number_matches(text: &str) -> Vec<Match> {
    let mut out = Vec::new();
    for (digits, span, separated) in digit_runs(text) {
        let b = digits.as_bytes();
        let mobile =
            |rest: &[u8]| rest.len() == 9 && matches!(rest[0], b'3' | b'5' | b'7' | b'8' | b'9');
        let phone = (b.first() == Some(&b'0')
            && (mobile(&b[1..]) || (b.len() == 11 && b[1] == b'2')))
            || (b.starts_with(b"84") && mobile(&b[2..]));
        let (term, weight) = if phone {
            ("số điện thoại", 2)
        } else if !separated && b.len() == 12 && b[0] == b'0' {
            ("số căn cước", 2)
        } else if !separated && b.len() == 9 {
            ("số chứng minh nhân dân", 1)
        } else {
            continue;
        };
        out.push(Match {
            category: Category::PersonalData,
            term: term.to_owned(),
            weight,
            span,
        });
    }
    out
}

/// Top-level domains that make `word.tld` a link even without `http`.
const TLDS: [&str; 16] = [
    "com", "net", "org", "vn", "info", "xyz", "top", "io", "me", "ly", "cc", "club", "site",
    "online", "link", "biz",
];

/// Link shorteners: where a link goes is hidden.
const SHORTENERS: [&str; 9] = [
    "bit.ly",
    "tinyurl.com",
    "t.ly",
    "cutt.ly",
    "rb.gy",
    "shorturl.at",
    "is.gd",
    "goo.gl",
    "s.id",
];

/// Links: any link that does not point at a government site is suspicious (1); a shortened
/// one counts 2.
fn link_matches(text: &str) -> Vec<Match> {
    let mut out = Vec::new();
    let mut offset = 0;
    for word in text.split_whitespace() {
        let at = text[offset..].find(word).map_or(offset, |p| offset + p);
        offset = at + word.len();
        let trimmed = word.trim_matches(|c: char| !c.is_alphanumeric() && c != '/');
        let lower = trimmed.to_lowercase();
        let rest = lower
            .strip_prefix("https://")
            .or_else(|| lower.strip_prefix("http://"))
            .unwrap_or(&lower);
        let explicit = rest.len() != lower.len() || rest.starts_with("www.");
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        let host = host.strip_prefix("www.").unwrap_or(host);
        let Some((name, tld)) = host.rsplit_once('.') else {
            continue;
        };
        let looks_like_domain = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
            && name.chars().any(|c| c.is_ascii_alphabetic());
        if !looks_like_domain || !(explicit || TLDS.contains(&tld)) {
            continue;
        }
        if host.ends_with(".gov.vn") {
            continue;
        }
        let (term, weight) = if SHORTENERS.contains(&host) {
            ("đường link rút gọn", 2)
        } else {
            ("đường link", 1)
        };
        let start = at + word.find(trimmed).unwrap_or(0);
        out.push(Match {
            category: Category::Scam,
            term: term.to_owned(),
            weight,
            span: start..start + trimmed.len(),
        });
    }
    out
}

/// A message of eight words or more made of very few different words (at most three, or a
/// sixth of its length, and never more than twenty): the same short thing typed over and
/// over, flooding. Long ordinary texts repeat words too, but use hundreds of different ones.
fn repetition_match(n: &Normalized, text: &str) -> Option<Match> {
    let tokens = n.tokens();
    if tokens.len() < 8 {
        return None;
    }
    let distinct: BTreeSet<&str> = tokens.iter().map(|t| t.text.as_str()).collect();
    if distinct.len() > 3.max(tokens.len() / 6).min(20) {
        return None;
    }
    Some(Match {
        category: Category::Spam,
        term: "lặp lại".to_owned(),
        weight: 2,
        span: 0..text.len(),
    })
}

#[cfg(test)]
mod tests;
