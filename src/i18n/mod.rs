//! Localised text: the Fluent bundles from `locales/` and rendering of engine messages for a
//! channel (Telegram HTML, or plain text for the terminal and Zalo).
//!
//! Locale strings may hold only the tags `<b>` and `<i>`. Arguments that did not come from
//! `locales/` ([`Arg::Text`]: resident input, campaign content) are escaped for Telegram HTML
//! before they are placed in a message, so a resident's `<3 & >` can neither break the markup
//! nor inject any; [`Markup::Plain`] then strips the tags and unescapes the entities, so the
//! text comes out exactly as typed.

use std::collections::HashMap;
use std::sync::LazyLock;

use anyhow::Context as _;
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use unic_langid::LanguageIdentifier;

use crate::dialog::{Arg, Msg, Reply};
use crate::domain::Locale;

/// How a channel shows text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Markup {
    /// Telegram `parse_mode=HTML`: `<b>`/`<i>` from the locale files kept, arguments escaped.
    TelegramHtml,
    /// Plain text: tags from the locale files removed, arguments as they are.
    Plain,
}

/// A reply rendered for one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The message text (for a channel without buttons, the numbered choices are appended).
    pub text: String,
    /// Buttons as (data, label), for channels that show buttons; empty otherwise.
    pub buttons: Vec<(String, String)>,
}

/// Every locale and its embedded Fluent files, in load order.
const SOURCES: [(Locale, &str, &str); 14] = [
    (
        Locale::Vi,
        "locales/vi/dialog.ftl",
        include_str!("../../locales/vi/dialog.ftl"),
    ),
    (
        Locale::Vi,
        "locales/vi/telegram.ftl",
        include_str!("../../locales/vi/telegram.ftl"),
    ),
    (
        Locale::Vi,
        "locales/vi/moderation.ftl",
        include_str!("../../locales/vi/moderation.ftl"),
    ),
    (
        Locale::Vi,
        "locales/vi/zalo.ftl",
        include_str!("../../locales/vi/zalo.ftl"),
    ),
    (
        Locale::En,
        "locales/en/dialog.ftl",
        include_str!("../../locales/en/dialog.ftl"),
    ),
    (
        Locale::En,
        "locales/en/telegram.ftl",
        include_str!("../../locales/en/telegram.ftl"),
    ),
    (
        Locale::Vi,
        "locales/vi/announce.ftl",
        include_str!("../../locales/vi/announce.ftl"),
    ),
    (
        Locale::En,
        "locales/en/announce.ftl",
        include_str!("../../locales/en/announce.ftl"),
    ),
    (
        Locale::En,
        "locales/en/moderation.ftl",
        include_str!("../../locales/en/moderation.ftl"),
    ),
    (
        Locale::En,
        "locales/en/zalo.ftl",
        include_str!("../../locales/en/zalo.ftl"),
    ),
    (
        Locale::Vi,
        "locales/vi/synthesis.ftl",
        include_str!("../../locales/vi/synthesis.ftl"),
    ),
    (
        Locale::En,
        "locales/en/synthesis.ftl",
        include_str!("../../locales/en/synthesis.ftl"),
    ),
    (
        Locale::Vi,
        "locales/vi/console.ftl",
        include_str!("../../locales/vi/console.ftl"),
    ),
    (
        Locale::En,
        "locales/en/console.ftl",
        include_str!("../../locales/en/console.ftl"),
    ),
];

/// The tags locale strings may contain; everything else in them is plain text.
const TAGS: [&str; 4] = ["<b>", "</b>", "<i>", "</i>"];

/// The Fluent bundles for every locale, loaded once at start-up from the embedded files.
pub struct Localizer {
    /// One bundle per locale, holding that locale's `dialog.ftl` and `telegram.ftl`.
    bundles: HashMap<Locale, FluentBundle<FluentResource>>,
}

impl std::fmt::Debug for Localizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Localizer").finish_non_exhaustive()
    }
}

/// The process-wide localizer the dialog engine uses to compare typed text with choice labels;
/// `None` only if the embedded files do not parse (start-up fails loudly in that case anyway).
static SHARED: LazyLock<Option<Localizer>> = LazyLock::new(|| Localizer::new().ok());

/// The process-wide localizer built from the embedded files, if they parse.
pub fn shared() -> Option<&'static Localizer> {
    SHARED.as_ref()
}

impl Localizer {
    /// Loads the embedded `locales/*/*.ftl`. Fails at start-up if a file does not parse.
    pub fn new() -> anyhow::Result<Self> {
        let mut bundles: HashMap<Locale, FluentBundle<FluentResource>> = HashMap::new();
        for (locale, path, source) in SOURCES {
            let resource = FluentResource::try_new(source.to_owned())
                .map_err(|(_, errors)| anyhow::anyhow!("{path} does not parse: {errors:?}"))?;
            let bundle = bundles.entry(locale).or_insert_with(|| {
                let lang: LanguageIdentifier = match locale {
                    Locale::Vi => unic_langid::langid!("vi"),
                    Locale::En => unic_langid::langid!("en"),
                };
                let mut b = FluentBundle::new_concurrent(vec![lang]);
                b.set_use_isolating(false);
                b.set_formatter(Some(match locale {
                    Locale::Vi => group_vi,
                    Locale::En => group_en,
                }));
                b
            });
            bundle
                .add_resource(resource)
                .map_err(|errors| anyhow::anyhow!("{errors:?}"))
                .with_context(|| format!("{path} redefines a message"))?;
        }
        Ok(Self { bundles })
    }

    /// Whether the locale has a message with this id (for tests and checks).
    pub fn has(&self, locale: Locale, key: &str) -> bool {
        self.bundles
            .get(&locale)
            .is_some_and(|b| b.has_message(key))
    }

    /// Renders one message.
    pub fn msg(&self, locale: Locale, msg: &Msg, markup: Markup) -> String {
        let html = self.html(locale, msg);
        match markup {
            Markup::TelegramHtml => html,
            Markup::Plain => to_plain(&html),
        }
    }

    /// Renders a message as Telegram HTML: locale tags kept, text arguments escaped.
    fn html(&self, locale: Locale, msg: &Msg) -> String {
        let Some(bundle) = self.bundles.get(&locale) else {
            tracing::warn!(key = %msg.key, locale = locale.as_str(), "no bundle for locale");
            return escape_html(&msg.key);
        };
        let Some(pattern) = bundle.get_message(&msg.key).and_then(|m| m.value()) else {
            tracing::warn!(key = %msg.key, locale = locale.as_str(), "missing message id");
            return escape_html(&msg.key);
        };
        let mut args = FluentArgs::new();
        for (name, value) in &msg.args {
            let value = match value {
                Arg::Text(t) => FluentValue::from(escape_html(t)),
                Arg::Num(n) => FluentValue::from(*n),
            };
            args.set(name.clone(), value);
        }
        let mut errors = Vec::new();
        let text = bundle.format_pattern(pattern, Some(&args), &mut errors);
        if !errors.is_empty() {
            tracing::warn!(key = %msg.key, locale = locale.as_str(), ?errors, "message did not format cleanly");
        }
        text.into_owned()
    }

    /// Renders a whole reply: paragraphs joined by blank lines, then the choices as buttons
    /// (`buttons == true`) or as numbered lines `1. …`. Button labels are always plain text.
    pub fn reply(&self, reply: &Reply, markup: Markup, buttons: bool) -> Rendered {
        let mut text = reply
            .paragraphs
            .iter()
            .map(|m| self.msg(reply.locale, m, markup))
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join("\n\n");
        let labels = reply.choices.iter().map(|c| {
            (
                c.data.clone(),
                self.msg(reply.locale, &c.label, Markup::Plain),
            )
        });
        if buttons {
            return Rendered {
                text,
                buttons: labels.collect(),
            };
        }
        let lines = labels
            .enumerate()
            .map(|(i, (_, label))| {
                let label = match markup {
                    Markup::TelegramHtml => escape_html(&label),
                    Markup::Plain => label,
                };
                format!("{}. {label}", i + 1)
            })
            .collect::<Vec<_>>();
        if !lines.is_empty() {
            if !text.is_empty() {
                text.push_str("\n\n");
            }
            text.push_str(&lines.join("\n"));
        }
        Rendered {
            text,
            buttons: Vec::new(),
        }
    }
}

/// Writes whole numbers with the thousands separator a Vietnamese reader expects (`4.000`).
fn group_vi<M>(value: &FluentValue, _: &M) -> Option<String> {
    group(value, '.')
}

/// Writes whole numbers with the English thousands separator (`4,000`).
fn group_en<M>(value: &FluentValue, _: &M) -> Option<String> {
    group(value, ',')
}

/// Whole numbers of four digits or more with `sep` between groups of three; anything else is
/// left to Fluent.
fn group(value: &FluentValue, sep: char) -> Option<String> {
    let FluentValue::Number(n) = value else {
        return None;
    };
    if n.value.fract() != 0.0 || n.value.abs() < 1000.0 || n.value.abs() >= 1e15 {
        return None;
    }
    let digits = format!("{}", n.value.abs() as u64);
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n.value < 0.0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(sep);
        }
        out.push(c);
    }
    Some(out)
}

/// Escapes text for Telegram HTML (`&`, `<`, `>`; quotes need no escaping outside attributes).
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Turns rendered Telegram HTML back into plain text: the locale tags removed, the entities
/// that [`escape_html`] wrote turned back into the characters.
fn to_plain(html: &str) -> String {
    let mut text = html.to_owned();
    for tag in TAGS {
        text = text.replace(tag, "");
    }
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialog::Choice;

    /// Message ids defined in a Fluent file (lines that start a message).
    fn ids(source: &str) -> Vec<String> {
        source
            .lines()
            .filter(|l| l.chars().next().is_some_and(|c| c.is_ascii_alphabetic()))
            .filter_map(|l| l.split_once('=').map(|(id, _)| id.trim().to_owned()))
            .collect()
    }

    fn source(locale: Locale, file: &str) -> &'static str {
        SOURCES
            .iter()
            .find(|(l, p, _)| *l == locale && p.ends_with(file))
            .map(|(_, _, s)| *s)
            .expect("source")
    }

    #[test]
    fn every_locale_file_parses() {
        for (_, path, source) in SOURCES {
            assert!(
                FluentResource::try_new(source.to_owned()).is_ok(),
                "{path} does not parse"
            );
        }
        Localizer::new().expect("localizer");
        assert!(shared().is_some());
    }

    #[test]
    fn every_message_id_in_vi_exists_in_en_and_vice_versa() {
        let l = Localizer::new().expect("localizer");
        for file in [
            "dialog.ftl",
            "telegram.ftl",
            "announce.ftl",
            "moderation.ftl",
            "zalo.ftl",
            "synthesis.ftl",
            "console.ftl",
        ] {
            let vi = ids(source(Locale::Vi, file));
            let en = ids(source(Locale::En, file));
            for id in &vi {
                assert!(en.contains(id), "{id} is in vi/{file} but not in en/{file}");
                assert!(l.has(Locale::En, id));
            }
            for id in &en {
                assert!(vi.contains(id), "{id} is in en/{file} but not in vi/{file}");
                assert!(l.has(Locale::Vi, id));
            }
        }
        assert!(!ids(source(Locale::Vi, "dialog.ftl")).is_empty());
    }

    #[test]
    fn locale_files_are_nfc_and_hold_only_b_and_i_tags() {
        use unicode_normalization::UnicodeNormalization;
        for (_, path, source) in SOURCES {
            let nfc: String = source.nfc().collect();
            assert_eq!(nfc, source, "{path} is not NFC");
        }
        let l = Localizer::new().expect("localizer");
        for locale in [Locale::Vi, Locale::En] {
            for id in ids(source(locale, "dialog.ftl")) {
                let html = l.msg(locale, &Msg::new(&id), Markup::TelegramHtml);
                let mut stripped = html.clone();
                for tag in TAGS {
                    stripped = stripped.replace(tag, "");
                }
                assert!(
                    !stripped.contains(['<', '>', '&']),
                    "{id} ({}) holds markup other than <b>/<i>: {html}",
                    locale.as_str()
                );
            }
        }
    }

    #[test]
    fn telegram_html_escapes_text_arguments_and_keeps_the_tags() {
        let l = Localizer::new().expect("localizer");
        let m = Msg::new("unit-chosen").text("name", "<3 & <b>x</b> >");
        let html = l.msg(Locale::Vi, &m, Markup::TelegramHtml);
        assert_eq!(
            html,
            "Đã ghi nhận địa bàn: <b>&lt;3 &amp; &lt;b&gt;x&lt;/b&gt; &gt;</b>."
        );
    }

    #[test]
    fn plain_strips_tags_and_gives_text_arguments_back_exactly() {
        let l = Localizer::new().expect("localizer");
        let m = Msg::new("unit-chosen").text("name", "<3 & <b>x</b> > &amp;");
        let plain = l.msg(Locale::En, &m, Markup::Plain);
        assert_eq!(plain, "Area noted: <3 & <b>x</b> > &amp;.");
    }

    #[test]
    fn a_missing_message_renders_as_its_id() {
        let l = Localizer::new().expect("localizer");
        assert!(!l.has(Locale::Vi, "no-such-message"));
        assert_eq!(
            l.msg(Locale::Vi, &Msg::new("no-such-message"), Markup::Plain),
            "no-such-message"
        );
    }

    #[test]
    fn numbers_select_plural_forms_in_english() {
        let l = Localizer::new().expect("localizer");
        let one = l.msg(
            Locale::En,
            &Msg::new("review-topic")
                .text("title", "T")
                .num("count", 1)
                .text("items", "• a"),
            Markup::Plain,
        );
        let two = l.msg(
            Locale::En,
            &Msg::new("review-topic")
                .text("title", "T")
                .num("count", 2)
                .text("items", "• a"),
            Markup::Plain,
        );
        assert!(
            one.contains("1 opinion") && !one.contains("opinions"),
            "{one}"
        );
        assert!(two.contains("2 opinions"), "{two}");
    }

    #[test]
    fn numbers_are_grouped_as_each_language_writes_them() {
        let l = Localizer::new().expect("localizer");
        let m = Msg::new("error-too-long")
            .num("length", 4001)
            .num("max", 4000);
        let vi = l.msg(Locale::Vi, &m, Markup::Plain);
        let en = l.msg(Locale::En, &m, Markup::Plain);
        assert!(vi.contains("4.001 ký tự") && vi.contains("4.000"), "{vi}");
        assert!(
            en.contains("4,001 characters") && en.contains("4,000"),
            "{en}"
        );
        let small = l.msg(
            Locale::Vi,
            &Msg::new("my-older").num("count", 12),
            Markup::Plain,
        );
        assert!(small.starts_with("12 "), "{small}");
        assert_eq!(
            group(&FluentValue::from(1234567), '.').as_deref(),
            Some("1.234.567")
        );
        assert_eq!(
            group(&FluentValue::from(-1000), ',').as_deref(),
            Some("-1,000")
        );
        assert_eq!(group(&FluentValue::from(999), ','), None);
    }

    #[test]
    fn reply_gives_buttons_or_numbered_lines() {
        let l = Localizer::new().expect("localizer");
        let reply = Reply {
            locale: Locale::Vi,
            paragraphs: vec![Msg::new("my-opinion-text").text("text", "a < b")],
            choices: vec![
                Choice {
                    data: "1:next".into(),
                    label: Msg::new("choice-next-topic"),
                },
                Choice {
                    data: "1:t:x".into(),
                    label: Msg::new("menu-topic-new").text("title", "Tôm & <cua>"),
                },
            ],
        };
        let with = l.reply(&reply, Markup::TelegramHtml, true);
        assert_eq!(with.buttons.len(), 2);
        assert_eq!(with.buttons[0].0, "1:next");
        assert!(
            with.buttons[1].1.contains("Tôm & <cua>"),
            "{:?}",
            with.buttons
        );
        assert!(with.text.contains("a &lt; b"));
        let without = l.reply(&reply, Markup::Plain, false);
        assert!(without.buttons.is_empty());
        assert!(without.text.contains("a < b"));
        assert!(without.text.contains("\n1. "), "{}", without.text);
        assert!(
            without.text.contains("\n2. ▫️ Tôm & <cua>"),
            "{}",
            without.text
        );
        let html_lines = l.reply(&reply, Markup::TelegramHtml, false);
        assert!(
            html_lines.text.contains("2. ▫️ Tôm &amp; &lt;cua&gt;"),
            "{}",
            html_lines.text
        );
    }
}
