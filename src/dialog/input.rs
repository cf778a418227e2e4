//! What a resident can send, as the engine sees it (adapters parse platform events into this).

use serde::{Deserialize, Serialize};

/// A command a resident can type at any step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// `/start [payload]`: begin, or resume where they left off.
    Start {
        /// Deep-link payload (`<campaign-slug>` or `<campaign-slug>_<unit-code>`), already
        /// checked to be 1–64 chars of `[A-Za-z0-9_-]`.
        payload: Option<String>,
    },
    /// `/help`.
    Help,
    /// `/cancel`: leave the current step, back to the topic menu (or out, before consent).
    Cancel,
    /// `/language [vi|en]`.
    Language(Option<String>),
    /// `/privacy`: what is kept, why, for how long, and the resident's rights.
    Privacy,
    /// `/my`: list their opinions, change or withdraw one.
    My,
    /// `/delete_me`: erase identity and dialog state (asks for confirmation first).
    DeleteMe,
    /// `/notices on|off` (`/thongbao bat|tat`): start or stop announcements in private chat;
    /// `None` when the argument is missing or not understood.
    Notices(Option<bool>),
    /// `/lienket [CODE|huy]` (`/link_account [CODE|off]`): link this chat with the resident's
    /// chat on another channel, so that they are counted as one person (not `/link`, which is
    /// the staff command).
    LinkAccount(LinkArg),
    /// Any other `/word`.
    Unknown(String),
}

impl Command {
    /// Parses a message that starts with `/` (with an optional `@botname` suffix on the
    /// command word). Returns `None` when the text is not a command.
    pub fn parse(text: &str) -> Option<Command> {
        let text = text.trim();
        let rest = text.strip_prefix('/')?;
        let mut parts = rest.splitn(2, char::is_whitespace);
        let word = parts.next().unwrap_or_default();
        let word = word.split('@').next().unwrap_or_default().to_lowercase();
        let arg = parts.next().map(str::trim).filter(|a| !a.is_empty());
        Some(match word.as_str() {
            "start" => Command::Start {
                payload: arg.filter(|p| valid_payload(p)).map(str::to_owned),
            },
            "help" | "trogiup" => Command::Help,
            "cancel" | "huy" => Command::Cancel,
            "language" | "ngonngu" | "lang" => Command::Language(arg.map(str::to_owned)),
            "privacy" | "baomat" => Command::Privacy,
            "my" | "cuatoi" => Command::My,
            "delete_me" | "xoa" => Command::DeleteMe,
            "notices" | "thongbao" => Command::Notices(arg.and_then(on_off)),
            "lienket" | "link_account" => Command::LinkAccount(LinkArg::parse(arg)),
            w if crate::text::fold(w) == "lienket" => Command::LinkAccount(LinkArg::parse(arg)),
            _ => Command::Unknown(word),
        })
    }
}

/// What `/lienket` was asked to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LinkArg {
    /// No argument: give a one-time code to type on the other channel.
    Issue,
    /// `huy` / `off`: undo the link.
    Off,
    /// A code given on the other channel, as typed.
    Code(String),
}

impl LinkArg {
    /// Reads the argument of `/lienket`.
    fn parse(arg: Option<&str>) -> LinkArg {
        let Some(arg) = arg else {
            return LinkArg::Issue;
        };
        match crate::text::fold(arg.trim()).as_str() {
            "huy" | "off" | "tat" | "xoa" | "unlink" | "cancel" => LinkArg::Off,
            _ => LinkArg::Code(arg.to_owned()),
        }
    }
}

/// Reads "on"/"off" in English or Vietnamese, with or without accents.
fn on_off(arg: &str) -> Option<bool> {
    let word = crate::text::fold(arg.trim());
    match word.as_str() {
        "on" | "bat" | "co" | "1" | "yes" => Some(true),
        "off" | "tat" | "khong" | "0" | "no" => Some(false),
        _ => None,
    }
}

/// Whether a deep-link payload is 1–64 characters of `[A-Za-z0-9_-]` (Telegram's rule).
pub fn valid_payload(p: &str) -> bool {
    !p.is_empty()
        && p.len() <= 64
        && p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Kinds of non-text messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MediaKind {
    /// A sticker.
    Sticker,
    /// A photo.
    Photo,
    /// A voice note or audio file.
    Voice,
    /// A video or video note.
    Video,
    /// A document or other file.
    File,
    /// A location, contact card, poll or anything else that is not text.
    Other,
}

/// One thing a resident sent, in the engine's terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Input {
    /// A command.
    Command(Command),
    /// Free text (already NFC-normalised by the adapter; not trimmed).
    Text(String),
    /// A button press: the button's data exactly as the platform returned it.
    Button(String),
    /// Something that is not text.
    Media(MediaKind),
}

impl Input {
    /// Turns a text message into a command or text input.
    pub fn from_text(text: &str) -> Input {
        match Command::parse(text) {
            Some(cmd) => Input::Command(cmd),
            None => Input::Text(text.to_owned()),
        }
    }
}
