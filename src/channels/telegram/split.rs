//! Splits a long Telegram HTML message into messages Telegram accepts (at most 4,096
//! characters each, counted after the markup is parsed), at paragraph, line or word breaks,
//! closing the tags open at a cut and opening them again in the next part.

/// What Telegram's limit counts: UTF-16 code units of the visible text. We keep a margin.
pub(super) const MAX_VISIBLE: usize = 4000;

/// One piece of the HTML source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token<'a> {
    /// `<name ...>`: the whole tag and its name.
    Open(&'a str, &'a str),
    /// `</name>`.
    Close(&'a str),
    /// A character or an entity (`&amp;`), with how much of the limit it uses.
    Char(&'a str, usize),
}

impl<'a> Token<'a> {
    /// The source text of the token.
    fn src(&self) -> &'a str {
        match self {
            Token::Open(s, _) | Token::Close(s) | Token::Char(s, _) => s,
        }
    }

    /// How much of the limit it uses.
    fn width(&self) -> usize {
        match self {
            Token::Char(_, w) => *w,
            _ => 0,
        }
    }
}

/// A place where a part may end.
struct Break<'a> {
    /// 3 for a blank line, 2 for a line break, 1 for a space: higher is better.
    priority: u8,
    /// The first token of the next part.
    next: usize,
    /// The first token left out of this part.
    at: usize,
    /// The tags open at the break: (start tag, name).
    open: Vec<(&'a str, &'a str)>,
}

/// Splits `html` (Telegram's HTML subset, well formed) into parts of at most `limit` visible
/// characters. Returns one part when it fits. Break preference: a blank line, then a line
/// break, then a space; a part is cut hard only when none of these lies in its second half.
pub(super) fn split_html(html: &str, limit: usize) -> Vec<String> {
    let tokens = tokenize(html);
    let total: usize = tokens.iter().map(Token::width).sum();
    if total <= limit {
        return vec![html.to_owned()];
    }
    let mut parts = Vec::new();
    // Tags open at the start of the current part.
    let mut open: Vec<(&str, &str)> = Vec::new();
    let mut start = 0;
    while start < tokens.len() {
        // Walk forward until the part is full, remembering the best break seen.
        let mut width = 0;
        let mut stack = open.clone();
        let mut best: Option<Break<'_>> = None;
        let mut end = start;
        while end < tokens.len() {
            let t = tokens[end];
            if width + t.width() > limit {
                break;
            }
            width += t.width();
            match t {
                Token::Open(src, name) => stack.push((src, name)),
                Token::Close(_) => {
                    stack.pop();
                }
                Token::Char(c, _) => {
                    let priority = match c {
                        "\n" if end > start && tokens[end - 1].src() == "\n" => Some(3),
                        "\n" => Some(2),
                        " " => Some(1),
                        _ => None,
                    };
                    if let Some(p) = priority
                        && width * 2 >= limit
                        && best.as_ref().is_none_or(|b| p >= b.priority)
                    {
                        let brk = if p == 3 { end - 1 } else { end };
                        best = Some(Break {
                            priority: p,
                            next: end + 1,
                            at: brk,
                            open: stack.clone(),
                        });
                    }
                }
            }
            end += 1;
        }
        if end >= tokens.len() {
            parts.push(render(&open, &tokens[start..], &[]));
            break;
        }
        let (next, cut, at_cut) = match best {
            Some(b) => (b.next, b.at, b.open),
            None => {
                let st = stack_after(&open, &tokens[start..end]);
                (end.max(start + 1), end.max(start + 1), st)
            }
        };
        parts.push(render(&open, &tokens[start..cut], &at_cut));
        open = at_cut;
        start = next;
        // A part does not start with the spaces or line breaks of the break it follows.
        while start < tokens.len() && matches!(tokens[start].src(), " " | "\n") {
            start += 1;
        }
    }
    parts.retain(|p| !visible_is_blank(p));
    parts
}

/// The tags open after `tokens`, given those open before.
fn stack_after<'a>(open: &[(&'a str, &'a str)], tokens: &[Token<'a>]) -> Vec<(&'a str, &'a str)> {
    let mut stack = open.to_vec();
    for t in tokens {
        match t {
            Token::Open(src, name) => stack.push((src, name)),
            Token::Close(_) => {
                stack.pop();
            }
            Token::Char(..) => {}
        }
    }
    stack
}

/// One part: the tags open before it, its tokens, and closing tags for those open at its end.
fn render(open: &[(&str, &str)], tokens: &[Token<'_>], open_at_end: &[(&str, &str)]) -> String {
    let mut s = String::new();
    for (src, _) in open {
        s.push_str(src);
    }
    for t in tokens {
        s.push_str(t.src());
    }
    for (_, name) in open_at_end.iter().rev() {
        s.push_str("</");
        s.push_str(name);
        s.push('>');
    }
    s
}

/// Whether a part shows nothing but whitespace.
fn visible_is_blank(part: &str) -> bool {
    tokenize(part)
        .iter()
        .all(|t| !matches!(t, Token::Char(c, _) if !c.trim().is_empty()))
}

/// Cuts the HTML into tags, entities and characters.
fn tokenize(html: &str) -> Vec<Token<'_>> {
    let mut tokens = Vec::with_capacity(html.len());
    let mut i = 0;
    while i < html.len() {
        let rest = &html[i..];
        let c = rest.chars().next().unwrap_or_default();
        let len = match c {
            '<' => match rest.find('>') {
                Some(end) => {
                    let tag = &rest[..=end];
                    let inner = &tag[1..tag.len() - 1];
                    if inner.starts_with('/') {
                        tokens.push(Token::Close(tag));
                    } else {
                        let name_end = inner.find(char::is_whitespace).unwrap_or(inner.len());
                        tokens.push(Token::Open(tag, &inner[..name_end]));
                    }
                    end + 1
                }
                None => {
                    tokens.push(Token::Char(&rest[..1], 1));
                    1
                }
            },
            '&' => match rest.bytes().take(12).position(|b| b == b';') {
                Some(end) => {
                    let entity = &rest[..=end];
                    let width = entity_width(entity);
                    tokens.push(Token::Char(entity, width));
                    end + 1
                }
                None => {
                    tokens.push(Token::Char(&rest[..1], 1));
                    1
                }
            },
            _ => {
                let n = c.len_utf8();
                tokens.push(Token::Char(&rest[..n], c.len_utf16()));
                n
            }
        };
        i += len;
    }
    tokens
}

/// How many UTF-16 units an entity shows as.
fn entity_width(entity: &str) -> usize {
    let code = entity
        .strip_prefix("&#")
        .and_then(|n| n.strip_suffix(';'))
        .and_then(|n| match n.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok(),
            None => n.parse().ok(),
        });
    code.and_then(char::from_u32).map_or(1, char::len_utf16)
}

#[cfg(test)]
mod fuzz;

#[cfg(test)]
mod tests {
    use super::*;

    /// The visible length of a part, as Telegram counts it.
    fn visible(part: &str) -> usize {
        tokenize(part).iter().map(Token::width).sum()
    }

    /// Checks that tags are balanced in a part.
    fn balanced(part: &str) -> bool {
        let mut stack = Vec::new();
        for t in tokenize(part) {
            match t {
                Token::Open(_, name) => stack.push(name.to_owned()),
                Token::Close(src) => {
                    if stack.pop().as_deref() != Some(&src[2..src.len() - 1]) {
                        return false;
                    }
                }
                Token::Char(..) => {}
            }
        }
        stack.is_empty()
    }

    #[test]
    fn a_short_message_is_one_part_unchanged() {
        let html = "<b>Chủ đề 1</b>\n\nÝ kiến &amp; đề xuất";
        assert_eq!(split_html(html, 100), vec![html.to_owned()]);
    }

    #[test]
    fn paragraphs_are_kept_whole_when_they_fit() {
        let p = "Ý kiến ".repeat(10); // 70 characters.
        let html = format!("<b>A</b>\n\n{p}\n\n{p}\n\n{p}");
        let parts = split_html(&html, 160);
        assert_eq!(parts.len(), 2, "{parts:#?}");
        for part in &parts {
            assert!(visible(part) <= 160, "{part}");
            assert!(balanced(part), "{part}");
            assert!(!part.starts_with('\n') && !part.ends_with('\n'), "{part:?}");
        }
        assert!(parts[0].starts_with("<b>A</b>\n\n"));
    }

    #[test]
    fn a_long_bold_paragraph_is_cut_at_words_with_tags_closed_and_reopened() {
        let words = "đường ".repeat(300);
        let html = format!("<b>{}</b>", words.trim_end());
        let parts = split_html(&html, 500);
        assert!(parts.len() >= 4, "{}", parts.len());
        for part in &parts {
            assert!(visible(part) <= 500);
            assert!(part.starts_with("<b>") && part.ends_with("</b>"), "{part}");
            assert!(balanced(part));
        }
        let rejoined: String = parts
            .iter()
            .map(|p| p.trim_start_matches("<b>").trim_end_matches("</b>"))
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(rejoined, words.trim_end());
    }

    #[test]
    fn entities_count_as_one_character_and_are_never_cut() {
        let html = "&amp;".repeat(1000);
        let parts = split_html(&html, 300);
        assert_eq!(parts.len(), 4);
        for part in &parts {
            assert!(visible(part) <= 300);
            assert!(part.starts_with("&amp;") && part.ends_with("&amp;"));
        }
    }

    #[test]
    fn entities_next_to_vietnamese_letters_are_read_whole() {
        let html = "&gt; Ý kiến &amp; &lt;đề xuất&gt; ".repeat(100);
        let parts = split_html(&html, 250);
        assert!(parts.len() > 1);
        for part in &parts {
            assert!(visible(part) <= 250);
            for (i, _) in part.match_indices('&') {
                let rest = &part[i..];
                assert!(
                    ["&gt;", "&lt;", "&amp;"]
                        .iter()
                        .any(|e| rest.starts_with(e)),
                    "a cut entity in {part}"
                );
            }
        }
    }

    #[test]
    fn text_without_breaks_is_cut_hard() {
        let html = "x".repeat(1001);
        let parts = split_html(&html, 500);
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            vec![500, 500, 1]
        );
    }
}
