//! Choices offered to the resident: how they are encoded in button data, and how typed text
//! (a number or a label) selects one.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use super::Msg;
use crate::domain::Locale;
use crate::i18n::{self, Markup};

/// Telegram's limit on `callback_data`, in bytes.
pub const MAX_DATA_BYTES: usize = 64;

/// Typed text longer than this is never compared with labels (labels are short).
const MAX_LABEL_CHARS: usize = 120;

/// One option of a step before it is numbered and given a nonce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opt {
    /// The action, e.g. `next` or `t:kinh-te`; the button data is `<nonce>:<action>`.
    pub action: String,
    /// The label shown on the button or numbered line.
    pub label: Msg,
    /// Other texts a resident may type to choose it (a topic title without its progress mark,
    /// a unit's name or code, an opinion's reference).
    pub aliases: Vec<String>,
}

impl Opt {
    /// An option with no aliases.
    pub fn new(action: impl Into<String>, label: Msg) -> Opt {
        Opt {
            action: action.into(),
            label,
            aliases: Vec::new(),
        }
    }

    /// Adds a text a resident may type to choose this option.
    pub fn alias(mut self, alias: impl Into<String>) -> Opt {
        self.aliases.push(alias.into());
        self
    }
}

/// Button data for an action under a nonce.
pub fn data(nonce: u32, action: &str) -> String {
    format!("{nonce}:{action}")
}

/// Splits button data into its nonce and action; `None` for anything we did not write.
pub fn parse_data(data: &str) -> Option<(u32, &str)> {
    if data.len() > MAX_DATA_BYTES {
        return None;
    }
    let (nonce, action) = data.split_once(':')?;
    if nonce.is_empty() || !nonce.bytes().all(|b| b.is_ascii_digit()) || action.is_empty() {
        return None;
    }
    Some((nonce.parse().ok()?, action))
}

/// Folds text for comparison: NFD without combining marks (so accents do not matter), `đ` as
/// `d`, lower case, and every run of characters that are not letters or digits as one space.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.nfd().filter(|c| !is_combining_mark(*c)) {
        let c = match c {
            'đ' | 'Đ' => 'd',
            c => c,
        };
        if c.is_alphanumeric() {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.extend(c.to_lowercase());
        } else {
            space = true;
        }
    }
    out
}

/// The number a resident typed to pick the `n`-th choice (1-based), if the text is one.
fn typed_number(text: &str) -> Option<usize> {
    let t = text.trim();
    let t = t.strip_suffix('.').unwrap_or(t).trim();
    if t.is_empty() || t.len() > 3 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}

/// Whether folded typed text names this option: its label in either language, or an alias.
fn names(folded: &str, opt: &Opt) -> bool {
    if opt.aliases.iter().any(|a| fold(a) == folded) {
        return true;
    }
    let Some(l10n) = i18n::shared() else {
        return false;
    };
    [Locale::Vi, Locale::En]
        .into_iter()
        .any(|locale| fold(&l10n.msg(locale, &opt.label, Markup::Plain)) == folded)
}

/// The action typed text selects: the 1-based number of an option (only when `numbers`), or
/// an option's label or alias compared without case, accents or punctuation.
pub fn match_text(text: &str, options: &[Opt], numbers: bool) -> Option<String> {
    if options.is_empty() {
        return None;
    }
    if numbers && let Some(n) = typed_number(text) {
        return n
            .checked_sub(1)
            .and_then(|i| options.get(i))
            .map(|o| o.action.clone());
    }
    if text.chars().count() > MAX_LABEL_CHARS {
        return None;
    }
    let folded = fold(text);
    if folded.is_empty() {
        return None;
    }
    options
        .iter()
        .find(|o| names(&folded, o))
        .map(|o| o.action.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_ignores_case_accents_and_punctuation() {
        assert_eq!(fold("  Đồng Ý! "), "dong y");
        assert_eq!(fold("✅ Phát triển kinh tế (2)"), "phat trien kinh te 2");
        assert_eq!(fold("👍👍"), "");
        assert_eq!(fold("ẨN DANH"), "an danh");
    }

    #[test]
    fn data_round_trips_and_refuses_what_we_did_not_write() {
        assert_eq!(parse_data(&data(7, "t:kinh-te")), Some((7, "t:kinh-te")));
        assert_eq!(parse_data("zz"), None);
        assert_eq!(parse_data("x:next"), None);
        assert_eq!(parse_data("7:"), None);
        assert_eq!(parse_data(":next"), None);
        assert_eq!(parse_data("99999999999:next"), None);
        assert_eq!(parse_data(&"9".repeat(70)), None);
    }

    #[test]
    fn typed_text_picks_by_number_label_or_alias() {
        let options = vec![
            Opt::new("named", Msg::new("choice-named")),
            Opt::new("anon", Msg::new("choice-anonymous")),
            Opt::new("t:x", Msg::new("menu-topic-new").text("title", "Kinh tế")).alias("Kinh tế"),
        ];
        assert_eq!(match_text("2", &options, true).as_deref(), Some("anon"));
        assert_eq!(match_text(" 2. ", &options, true).as_deref(), Some("anon"));
        assert_eq!(match_text("2", &options, false), None);
        assert_eq!(match_text("99", &options, true), None);
        assert_eq!(
            match_text("kinh te", &options, true).as_deref(),
            Some("t:x")
        );
        assert_eq!(match_text("hello", &options, true), None);
        assert_eq!(match_text("", &options, true), None);
    }
}
