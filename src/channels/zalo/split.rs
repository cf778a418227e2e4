//! Splits a long plain-text message into messages Zalo accepts: at most 2,000 characters each,
//! counted after NFC normalisation, cut at a paragraph break, else a line break, else the end
//! of a sentence, else a space — and only when none of these lies in the second half of a part,
//! in the middle of a word.

use unicode_normalization::UnicodeNormalization as _;

/// Zalo's `sendMessage` limit, in characters after NFC.
pub(crate) const MAX_CHARS: usize = 2000;

/// Splits `text` (normalised to NFC first) into parts of at most `limit` characters, none of
/// them blank, with no leading or trailing whitespace at a cut. Returns one part when it fits.
pub(crate) fn split_plain(text: &str, limit: usize) -> Vec<String> {
    let text: String = text.nfc().collect();
    let limit = limit.max(1);
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= limit {
        return if text.trim().is_empty() {
            Vec::new()
        } else {
            vec![text]
        };
    }
    let mut parts = Vec::new();
    let mut start = 0;
    while start < chars.len() {
        // Skip the whitespace of the break this part follows.
        while start < chars.len() && chars[start].is_whitespace() {
            start += 1;
        }
        if start >= chars.len() {
            break;
        }
        if chars.len() - start <= limit {
            let rest: String = chars[start..].iter().collect();
            parts.push(rest.trim_end().to_owned());
            break;
        }
        let end = start + limit;
        // The best break: (priority, index of the first character left out).
        let mut best: Option<(u8, usize)> = None;
        for i in (start + limit / 2).max(start + 1)..=end {
            let priority = break_priority(&chars, i);
            if priority > 0 && best.is_none_or(|(p, _)| priority >= p) {
                best = Some((priority, i));
            }
        }
        let cut = best.map_or(end, |(_, i)| i);
        let part: String = chars[start..cut].iter().collect();
        let part = part.trim_end().to_owned();
        if !part.is_empty() {
            parts.push(part);
        }
        start = cut;
    }
    parts
}

/// How good a cut just before `chars[i]` is: 4 a blank line, 3 a line break, 2 the end of a
/// sentence, 1 a space, 0 not a break.
fn break_priority(chars: &[char], i: usize) -> u8 {
    let (Some(&before), Some(&at)) = (chars.get(i.wrapping_sub(1)), chars.get(i)) else {
        return 0;
    };
    if at == '\n' && before == '\n' {
        4
    } else if at == '\n' {
        3
    } else if at.is_whitespace() && matches!(before, '.' | '!' | '?' | '…' | ':' | ';') {
        2
    } else if at.is_whitespace() {
        1
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn len(s: &str) -> usize {
        s.chars().count()
    }

    #[test]
    fn a_short_message_is_one_part_in_nfc() {
        // "Góp ý" typed with combining marks (NFD) is sent composed.
        let nfd = "Go\u{301}p y\u{301}";
        assert_eq!(split_plain(nfd, MAX_CHARS), vec!["Góp ý".to_owned()]);
        assert!(split_plain("  \n ", MAX_CHARS).is_empty());
    }

    #[test]
    fn the_limit_counts_characters_after_nfc_not_bytes_or_combining_marks() {
        // 2,000 composed Vietnamese letters, typed decomposed: 4,000 code points before NFC,
        // 2,000 after, so they fit in one message.
        let nfd = "a\u{306}".repeat(2000);
        let parts = split_plain(&nfd, MAX_CHARS);
        assert_eq!(parts.len(), 1);
        assert_eq!(len(&parts[0]), 2000);
        assert_eq!(split_plain(&"ă".repeat(2001), MAX_CHARS).len(), 2);
    }

    #[test]
    fn paragraphs_are_kept_whole_when_they_fit() {
        let p = "Đề nghị phường nâng cấp đường ngõ 5 và lắp thêm đèn chiếu sáng. ".repeat(10);
        let p = p.trim_end();
        let text = format!("{p}\n\n{p}\n\n{p}");
        let parts = split_plain(&text, 1000);
        assert_eq!(parts.len(), 3, "{parts:#?}");
        for part in &parts {
            assert_eq!(part, p);
        }
    }

    #[test]
    fn a_long_paragraph_is_cut_at_sentence_ends_before_spaces() {
        let sentence = "Cần thu gom rác thải sinh hoạt hai lần mỗi tuần ở tổ dân phố. ";
        let text = sentence.repeat(100);
        let parts = split_plain(&text, MAX_CHARS);
        assert!(parts.len() >= 3, "{}", parts.len());
        for part in &parts {
            assert!(len(part) <= MAX_CHARS, "{}", len(part));
            assert!(part.ends_with('.'), "cut mid-sentence: {part}");
            assert!(part.starts_with("Cần"), "{part}");
        }
        assert_eq!(parts.join(" "), text.trim_end());
    }

    #[test]
    fn words_are_kept_whole_when_there_is_no_sentence_end() {
        let text = "đường ngõ xóm ".repeat(400);
        let parts = split_plain(&text, MAX_CHARS);
        assert!(parts.len() >= 3);
        for part in &parts {
            assert!(len(part) <= MAX_CHARS);
            assert!(
                part.split(' ')
                    .all(|w| ["đường", "ngõ", "xóm"].contains(&w)),
                "a word was cut: {:?}",
                part.split(' ')
                    .find(|w| !["đường", "ngõ", "xóm"].contains(w))
            );
        }
        assert_eq!(parts.join(" "), text.trim_end());
    }

    #[test]
    fn text_without_any_break_is_cut_hard() {
        let parts = split_plain(&"ư".repeat(4001), MAX_CHARS);
        assert_eq!(
            parts.iter().map(|p| len(p)).collect::<Vec<_>>(),
            vec![2000, 2000, 1]
        );
    }
}
