//! Fuzz target: splitting long Telegram HTML ([`split_html`]) made of residents' text (escaped
//! as the renderer escapes it) inside the locale files' `<b>` and `<i>`. Every part fits the
//! limit, has balanced tags and whole entities, and together the parts show the same text,
//! give or take the spaces and line breaks cut at. Run long by `scripts/fuzz`.

use proptest::prelude::*;

use super::{Token, split_html, tokenize};
use crate::fuzzing::{check, hostile_string};
use crate::i18n::escape_html;

/// The visible text of HTML as Telegram shows it, without the whitespace a cut may drop.
fn shown(html: &str) -> String {
    tokenize(html)
        .iter()
        .filter_map(|t| match t {
            Token::Char("&amp;", _) => Some("&"),
            Token::Char("&lt;", _) => Some("<"),
            Token::Char("&gt;", _) => Some(">"),
            Token::Char(s, _) => Some(*s),
            _ => None,
        })
        .collect::<String>()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

/// Whether every tag of `part` is closed in order.
fn balanced(part: &str) -> bool {
    let mut stack = Vec::new();
    for t in tokenize(part) {
        match t {
            Token::Open(_, name) => stack.push(name.to_owned()),
            Token::Close(src) => {
                if stack.pop().as_deref() != src.get(2..src.len() - 1) {
                    return false;
                }
            }
            Token::Char(..) => {}
        }
    }
    stack.is_empty()
}

#[test]
fn fuzz_telegram_split_parts_fit_balance_and_keep_the_text() {
    let segment = (
        proptest::sample::select(vec!["", "b", "i"]),
        prop_oneof![hostile_string(), "([a-zđơưáà&<> ]{1,12}[ \n]{0,2}){0,30}",],
    );
    let input = (
        proptest::collection::vec(segment, 1..12),
        proptest::sample::select(vec![8usize, 30, 200, 4000]),
    );
    check("telegram_split", input, |(segments, limit)| {
        let html: String = segments
            .iter()
            .map(|(tag, text)| {
                let text = escape_html(text);
                if tag.is_empty() {
                    text
                } else {
                    format!("<{tag}>{text}</{tag}>")
                }
            })
            .collect();
        let parts = split_html(&html, limit);
        // Parts with nothing visible are dropped on purpose (Telegram refuses them), so only
        // a text with nothing visible may give none.
        prop_assert!(!parts.is_empty() || shown(&html).is_empty());
        for p in &parts {
            let width: usize = tokenize(p).iter().map(Token::width).sum();
            prop_assert!(width <= limit, "{width} > {limit}: {p:?}");
            prop_assert!(balanced(p), "unbalanced: {p:?}");
        }
        prop_assert_eq!(
            parts.iter().map(|p| shown(p)).collect::<String>(),
            shown(&html)
        );
        Ok(())
    });
}
