//! Fuzz target: the dialog engine's input handling. Random walks from every step, in every
//! phase of the campaign, with and without buttons: any text (typed the way the adapters pass
//! it: NFC, then command or text), offered and made-up buttons, stale buttons, labels,
//! numbers and media. After every step the invariants of [`check`] hold, the simulated shell
//! can apply every effect, the Telegram HTML carries no markup but ours, nothing stored is
//! longer than what was typed, and the persisted state stays small and round-trips.

use proptest::prelude::*;
use unicode_normalization::UnicodeNormalization as _;

use super::*;
use crate::fuzzing::{check as fuzz, hostile_string};

/// One thing the resident does.
#[derive(Debug, Clone)]
enum Act {
    /// Types this (a command when it starts with `/`).
    Type(String),
    /// Presses the n-th button on offer (modulo how many there are).
    Press(usize),
    /// Presses the n-th button of the message before (its nonce is old).
    PressOld(usize),
    /// Types the label of the n-th option on offer.
    Label(usize),
    /// Types a number.
    Number(u32),
    /// Sends button data of its own making.
    Data(String),
    /// Sends something that is not text.
    Media(MediaKind),
}

fn act() -> impl Strategy<Value = Act> {
    prop_oneof![
        4 => hostile_string().prop_map(Act::Type),
        4 => any::<usize>().prop_map(Act::Press),
        1 => any::<usize>().prop_map(Act::PressOld),
        2 => any::<usize>().prop_map(Act::Label),
        1 => (0u32..30).prop_map(Act::Number),
        1 => prop_oneof![hostile_string(), "[0-9]{1,10}:[a-z:_0-9-]{0,70}"].prop_map(Act::Data),
        1 => proptest::sample::select(vec![
            MediaKind::Sticker, MediaKind::Photo, MediaKind::Voice,
            MediaKind::Video, MediaKind::File, MediaKind::Other,
        ]).prop_map(Act::Media),
    ]
}

/// Whether every `<` in rendered Telegram HTML opens or closes one of the locale files'
/// tags, and every `&` starts an entity: what a resident typed cannot add markup.
fn only_our_markup(html: &str) -> bool {
    const TAGS: [&str; 4] = ["<b>", "</b>", "<i>", "</i>"];
    let tags_ok = html
        .match_indices('<')
        .all(|(i, _)| TAGS.iter().any(|t| html[i..].starts_with(t)));
    let entities_ok = html.match_indices('&').all(|(i, _)| {
        ["&amp;", "&lt;", "&gt;", "&quot;", "&#"]
            .iter()
            .any(|e| html[i..].starts_with(e))
    });
    tags_ok && entities_ok
}

fn walk(win: Win, start: Step, has_buttons: bool, acts: Vec<Act>) -> Result<(), TestCaseError> {
    let mut sim = sim_at(win, &start, has_buttons);
    let mut before: Vec<choices::Opt> = Vec::new();
    let mut old_nonce = sim.state.nonce;
    for a in acts {
        let offered = options(&sim);
        let pick = |opts: &[choices::Opt], n: usize| opts.get(n % opts.len().max(1)).cloned();
        let input = match a {
            Act::Type(t) => Input::from_text(&t.nfc().collect::<String>()),
            Act::Press(n) => match pick(&offered, n) {
                Some(o) => Input::Button(choices::data(sim.state.nonce, &o.action)),
                None => Input::Text(String::new()),
            },
            Act::PressOld(n) => match pick(&before, n) {
                Some(o) => Input::Button(choices::data(old_nonce, &o.action)),
                None => Input::Button(format!("{old_nonce}:next")),
            },
            Act::Label(n) => match pick(&offered, n) {
                Some(o) => Input::Text(l10n().msg(sim.state.locale, &o.label, Markup::Plain)),
                None => Input::Text("1".into()),
            },
            Act::Number(n) => Input::Text(n.to_string()),
            Act::Data(d) => Input::Button(d),
            Act::Media(m) => Input::Media(m),
        };
        let typed = match &input {
            Input::Text(t) | Input::Button(t) => t.len(),
            Input::Command(_) | Input::Media(_) => 0,
        };
        before = offered;
        old_nonce = sim.state.nonce;
        // `send` checks the invariants of every step and applies the effects.
        let effects = sim.send(input.clone());
        for e in &effects {
            match e {
                Effect::SaveOpinion { text, .. } | Effect::EditOpinion { text, .. } => {
                    prop_assert!(
                        text.len() <= typed,
                        "stored {} bytes of {typed}",
                        text.len()
                    );
                }
                Effect::Reply(r) => {
                    for buttons in [true, false] {
                        let html = l10n().reply(r, Markup::TelegramHtml, buttons).text;
                        prop_assert!(only_our_markup(&html), "markup injected: {html}");
                    }
                }
                _ => {}
            }
        }
        let json =
            serde_json::to_string(&sim.state).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(
            json.len() <= 2048,
            "the state grew to {} bytes: {json}",
            json.len()
        );
        let back: DialogState =
            serde_json::from_str(&json).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&back, &sim.state);
    }
    Ok(())
}

#[test]
fn fuzz_dialog_random_walks_from_every_step_keep_the_invariants() {
    let walks = (
        proptest::sample::select(WINDOWS.to_vec()),
        proptest::sample::select(every_step()),
        any::<bool>(),
        proptest::collection::vec(act(), 1..25),
    );
    fuzz("dialog_walk", walks, |(win, start, buttons, acts)| {
        walk(win, start, buttons, acts)
    });
}

#[test]
fn fuzz_dialog_commands_with_any_arguments_at_every_step() {
    let words = proptest::sample::select(vec![
        "start",
        "help",
        "trogiup",
        "cancel",
        "huy",
        "language",
        "ngonngu",
        "privacy",
        "my",
        "cuatoi",
        "delete_me",
        "xoa",
        "notices",
        "thongbao",
        "lienket",
        "liênkết",
        "link_account",
        "appeal",
        "START",
        "Start@gopy_bot",
    ]);
    let commands = (
        proptest::sample::select(WINDOWS.to_vec()),
        proptest::sample::select(every_step()),
        any::<bool>(),
        proptest::collection::vec((words, hostile_string()), 1..6),
    );
    fuzz(
        "dialog_commands",
        commands,
        |(win, start, buttons, cmds)| {
            let acts = cmds
                .into_iter()
                .map(|(w, arg)| Act::Type(format!("/{w} {arg}")))
                .collect();
            walk(win, start, buttons, acts)
        },
    );
}

#[test]
fn typed_markup_is_escaped_in_telegram_html() {
    assert!(only_our_markup("<b>Ý kiến</b> &lt;script&gt; &amp;"));
    assert!(!only_our_markup("<b>x</b><script>"));
    assert!(!only_our_markup("a & b"));
    let mut sim = sim_at(
        Win::Open,
        &Step::Topic {
            topic: "van-hoa".into(),
        },
        true,
    );
    sim.text("<script>alert(1)</script> & <a href=\"x\">");
    for r in sim.replies() {
        let html = l10n().reply(r, Markup::TelegramHtml, true).text;
        assert!(only_our_markup(&html), "{html}");
    }
}

#[test]
fn an_unknown_command_of_any_length_gets_a_reply_telegram_accepts() {
    // Found by `dialog_walk`: the reply named the whole command, 4,097 characters.
    for has_buttons in [true, false] {
        let mut sim = sim_at(Win::Open, &Step::Idle, has_buttons);
        // `send` checks that every reply stays within Telegram's 4,096 characters.
        sim.send(Input::from_text(&"/".repeat(5000)));
        sim.send(Input::from_text(&format!("/{}", "x".repeat(5000))));
        assert!(sim.shown().contains("/xxxxxxxx"), "{}", sim.shown());
        assert!(sim.shown().contains('…'), "{}", sim.shown());
    }
}
