//! The pure dialog engine: one resident's input in, the next state and effects out.
//!
//! Every input is answered with at least one reply. Storage effects are produced only while
//! the collection window is open, and only from options the current view offers, so a stale
//! or forged button can never act. Only the last reply of a step carries choices, and it takes
//! a fresh nonce, which makes the buttons of every earlier message stale.

use std::borrow::Cow;

use unicode_normalization::UnicodeNormalization;

use super::choices::{self, Opt};
use super::render::{self, Detail, View};
use super::{Choice, Command, Context, DialogState, Effect, Input, LinkArg, Msg, Reply, Step};
use crate::domain::{
    IdentityMode, LINK_CODE_MINUTES, LinkCodeCheck, Locale, MAX_OPINION_CHARS, Opinion,
    OpinionStatus, link_code_lifetime,
};

/// Whether the shell must load the resident's opinions into [`Context::opinions`] before
/// calling [`step`] with this state and input.
///
/// They are needed by the review, by `/my` and its sub-steps, and by the topic menu (from
/// which the review is one tap away); and when the input may choose "my opinions" from the
/// message shown after the collection closed. An opinion given on a topic needs none.
pub fn needs_opinions(state: &DialogState, input: &Input) -> bool {
    if render::uses_opinions(&state.step)
        || state.resume.as_deref().is_some_and(render::uses_opinions)
    {
        return true;
    }
    match input {
        Input::Command(Command::My) => true,
        Input::Command(_) | Input::Media(_) => false,
        Input::Button(data) => choices::parse_data(data).is_some_and(|(_, a)| a == "my"),
        Input::Text(text) => {
            let my = [Opt::new("my", Msg::new("choice-my"))];
            choices::match_text(text, &my, true).is_some()
        }
    }
}

/// Whether the shell must read the resident's cross-channel link into [`Context::link`]
/// before calling [`step`]: for `/lienket`, `/delete_me` and the deletion question (which
/// offers to undo a link).
pub fn needs_link(state: &DialogState, input: &Input) -> bool {
    state.step == Step::ConfirmDelete
        || matches!(
            input,
            Input::Command(Command::LinkAccount(_) | Command::DeleteMe)
        )
}

/// The link code this input redeems, if it is `/lienket CODE`: the shell looks it up for
/// [`Context::link`].
pub fn link_code(input: &Input) -> Option<&str> {
    match input {
        Input::Command(Command::LinkAccount(LinkArg::Code(code))) => Some(code),
        _ => None,
    }
}

/// Advances the dialog by one input. Pure: no I/O, no clock, no randomness beyond `ctx`.
pub fn step(state: &DialogState, input: &Input, ctx: &Context<'_>) -> (DialogState, Vec<Effect>) {
    let mut run = Run::new(state, ctx);
    match input {
        Input::Command(cmd) => run.command(cmd),
        Input::Button(data) => run.button(data),
        Input::Text(text) => run.text(text),
        Input::Media(_) => run.show(vec![Msg::new("error-media")], Detail::Compact),
    }
    (run.s, run.effects)
}

/// One step in progress: the state being changed and the effects so far.
struct Run<'a> {
    /// The state, changed as the step goes.
    s: DialogState,
    /// What the engine may read.
    ctx: &'a Context<'a>,
    /// The resident's opinions as this step leaves them (edits and withdrawals applied), so
    /// that what is shown after a change already shows it.
    opinions: Cow<'a, [Opinion]>,
    /// Effects in the order the shell must apply them.
    effects: Vec<Effect>,
    /// Whether this step started the campaign afresh (a new or different campaign).
    fresh: bool,
}

impl<'a> Run<'a> {
    /// Starts a step; a resident whose state names another campaign than the context's starts
    /// the context's campaign afresh (consent is given per campaign).
    fn new(state: &DialogState, ctx: &'a Context<'a>) -> Self {
        let mut s = state.clone();
        let mut fresh = false;
        if let Some(c) = ctx.campaign
            && s.campaign != Some(c.id)
        {
            s = DialogState {
                campaign: Some(c.id),
                unit: ctx
                    .payload_unit
                    .filter(|u| c.unit(u).is_some())
                    .map(str::to_owned),
                locale: state.locale,
                nonce: state.nonce,
                ..DialogState::default()
            };
            fresh = true;
        }
        Run {
            s,
            ctx,
            opinions: Cow::Borrowed(ctx.opinions),
            effects: Vec::new(),
            fresh,
        }
    }

    /// The view of the current step.
    fn view(&self, detail: Detail) -> View {
        render::view(&self.s, self.ctx, &self.opinions, detail)
    }

    /// Sends paragraphs with no choices.
    fn say(&mut self, paragraphs: Vec<Msg>) {
        self.effects.push(Effect::Reply(Reply {
            locale: self.s.locale,
            paragraphs,
            choices: Vec::new(),
        }));
    }

    /// Sends `pre` followed by the current step's view, with its choices under a fresh nonce.
    fn show(&mut self, pre: Vec<Msg>, detail: Detail) {
        let view = self.view(detail);
        if !view.lead.is_empty() {
            self.say(view.lead);
        }
        let mut paragraphs = pre;
        paragraphs.extend(view.paragraphs);
        let mut choices = Vec::new();
        if !view.options.is_empty() {
            self.s.nonce = self.s.nonce.wrapping_add(1);
            for o in view.options {
                let data = choices::data(self.s.nonce, &o.action);
                if data.len() > choices::MAX_DATA_BYTES {
                    tracing::warn!(action = %o.action, "choice data over 64 bytes left out");
                    continue;
                }
                choices.push(Choice {
                    data,
                    label: o.label,
                });
            }
        }
        self.effects.push(Effect::Reply(Reply {
            locale: self.s.locale,
            paragraphs,
            choices,
        }));
    }

    /// Moves into an interrupting step, remembering the flow step to come back to.
    fn enter(&mut self, step: Step) {
        if !render::is_interrupt(&self.s.step) {
            self.s.resume = Some(Box::new(std::mem::take(&mut self.s.step)));
        }
        self.s.step = step;
    }

    /// Leaves an interrupting step for the flow step remembered, and shows it.
    fn back_to_resume(&mut self, pre: Vec<Msg>) {
        self.s.step = match self.s.resume.take() {
            Some(step) => *step,
            None if self.s.identity.is_some() => Step::Menu,
            None => Step::Idle,
        };
        self.show(pre, Detail::Full);
    }

    /// A command, at any step.
    fn command(&mut self, cmd: &Command) {
        match cmd {
            Command::Start { .. } => self.start(),
            Command::Help => {
                self.say(vec![Msg::new("help")]);
                self.show(Vec::new(), Detail::Compact);
            }
            Command::Privacy => {
                self.say(vec![render::privacy(self.ctx)]);
                self.show(Vec::new(), Detail::Compact);
            }
            Command::Unknown(word) => {
                // Named back at most 40 characters long: a 4,000-character "command" would
                // make a reply Telegram refuses (found by the dialog fuzz target).
                let shown = render::preview(&format!("/{word}"), 40);
                let pre = vec![Msg::new("unknown-command").text("command", shown)];
                self.show(pre, Detail::Compact);
            }
            Command::Cancel => self.cancel(),
            Command::Language(arg) => match arg.as_deref().and_then(Locale::parse) {
                Some(locale) => self.set_locale(locale),
                None => {
                    self.enter(Step::ChooseLanguage);
                    self.show(Vec::new(), Detail::Full);
                }
            },
            Command::My => {
                self.enter(Step::MyOpinions);
                self.show(Vec::new(), Detail::Full);
            }
            Command::DeleteMe => {
                self.enter(Step::ConfirmDelete);
                self.show(Vec::new(), Detail::Full);
            }
            Command::Notices(Some(on)) => {
                self.effects.push(Effect::SetNotices {
                    on: *on,
                    unit: self.s.unit.clone(),
                });
                let key = if *on { "notices-on" } else { "notices-off" };
                self.show(vec![Msg::new(key)], Detail::Compact);
            }
            Command::Notices(None) => {
                self.show(vec![Msg::new("notices-usage")], Detail::Compact);
            }
            Command::LinkAccount(arg) => self.link_account(arg),
        }
    }

    /// `/lienket`: give a code, redeem one, or undo the link. Linking only makes the synthesis
    /// count the resident once; opinions keep their channel and nothing else is shared.
    fn link_account(&mut self, arg: &LinkArg) {
        let Some(link) = self.ctx.link else {
            tracing::warn!("/lienket stepped without the link status");
            return self.show(vec![Msg::new("link-unknown")], Detail::Compact);
        };
        let linked = link.person.is_some();
        let pre = match arg {
            LinkArg::Issue => {
                let code = self.ctx.fresh_link_code.to_owned();
                self.effects.push(Effect::IssueLinkCode {
                    code: code.clone(),
                    expires_at: self.ctx.now + link_code_lifetime(),
                });
                let mut pre = vec![
                    Msg::new("link-code")
                        .text("code", code)
                        .num("minutes", LINK_CODE_MINUTES),
                ];
                if linked {
                    pre.push(Msg::new("link-status-linked"));
                }
                pre
            }
            LinkArg::Off if linked => {
                self.effects.push(Effect::UnlinkContact);
                vec![Msg::new("link-removed")]
            }
            LinkArg::Off => vec![Msg::new("link-none")],
            LinkArg::Code(code) => match link.code {
                None | Some(LinkCodeCheck::Unknown) => vec![Msg::new("link-unknown")],
                Some(LinkCodeCheck::Expired) => {
                    vec![Msg::new("link-expired").num("minutes", LINK_CODE_MINUTES)]
                }
                Some(LinkCodeCheck::Used) => vec![Msg::new("link-used")],
                Some(LinkCodeCheck::Valid { contact, .. }) if contact == link.contact => {
                    vec![Msg::new("link-own-code")]
                }
                Some(LinkCodeCheck::Valid { person, .. })
                    if person.is_some() && person == link.person =>
                {
                    vec![Msg::new("link-already")]
                }
                Some(LinkCodeCheck::Valid { contact, .. }) => {
                    self.effects.push(Effect::LinkContacts {
                        code: code.clone(),
                        other: contact,
                    });
                    vec![Msg::new("link-done")]
                }
            },
        };
        self.show(pre, Detail::Compact);
    }

    /// `/start`: begin the campaign, or show again exactly where the resident is.
    fn start(&mut self) {
        let Some(c) = self.ctx.campaign else {
            self.show(Vec::new(), Detail::Full);
            return;
        };
        if !self.fresh
            && self.s.unit.is_none()
            && let Some(unit) = self.ctx.payload_unit.filter(|u| c.unit(u).is_some())
        {
            self.s.unit = Some(unit.to_owned());
            if self.s.step == Step::ChooseUnit {
                self.s.step = self.next_flow_step();
            }
        }
        if self.s.step == Step::Idle && render::is_open(self.ctx) {
            self.s.step = Step::Consent;
        }
        let mut pre = Vec::new();
        if self.s.step == Step::Menu
            && let Some(receipt) = &self.s.last_receipt
        {
            pre.push(Msg::new("menu-last-receipt").text("receipt", receipt));
        }
        self.show(pre, Detail::Full);
    }

    /// `/cancel`: leave the current step.
    fn cancel(&mut self) {
        if render::is_interrupt(&self.s.step) {
            self.back_to_resume(vec![Msg::new("cancelled")]);
        } else if self.s.identity.is_some() {
            self.s.step = Step::Menu;
            self.show(vec![Msg::new("cancelled-to-menu")], Detail::Full);
        } else {
            self.s.step = Step::Idle;
            self.show(vec![Msg::new("cancelled-out")], Detail::Full);
        }
    }

    /// Switches the language, then shows where the resident was, in that language.
    fn set_locale(&mut self, locale: Locale) {
        self.s.locale = locale;
        self.effects.push(Effect::SetLocale(locale));
        let pre = vec![Msg::new("language-set")];
        if self.s.step == Step::ChooseLanguage {
            self.back_to_resume(pre);
        } else {
            self.show(pre, Detail::Compact);
        }
    }

    /// A button press: acts only if it carries the current nonce and an option the current
    /// view offers; anything else is out of date (or forged) and the step is shown afresh.
    fn button(&mut self, data: &str) {
        let action = match choices::parse_data(data) {
            Some((nonce, action)) if nonce == self.s.nonce && !self.fresh => action,
            _ => return self.stale(),
        };
        let offered = self
            .view(Detail::Compact)
            .options
            .iter()
            .any(|o| o.action == action);
        if offered {
            self.act(action);
        } else {
            self.stale();
        }
    }

    /// Says a button is out of date and shows the current step with fresh buttons.
    fn stale(&mut self) {
        self.show(vec![Msg::new("button-stale")], Detail::Compact);
    }

    /// Typed text: an option by number or label, else content where the step takes it.
    fn text(&mut self, text: &str) {
        let view = self.view(Detail::Compact);
        let numbers = !view.free_text || !self.ctx.has_buttons;
        if let Some(action) = choices::match_text(text, &view.options, numbers) {
            return self.act(&action);
        }
        if view.free_text {
            match self.s.step.clone() {
                Step::Topic { topic } => return self.save_opinion(&topic, text),
                Step::EditOpinion { reference } => return self.edit(&reference, text),
                _ => {}
            }
        }
        if self.s.step == Step::Idle && render::is_open(self.ctx) {
            return self.start();
        }
        let hint = if view.options.is_empty() {
            Vec::new()
        } else if self.s.step == Step::Menu {
            vec![Msg::new("error-choose-topic-first")]
        } else {
            vec![Msg::new("error-choose")]
        };
        self.show(hint, Detail::Compact);
    }

    /// Carries out an option the current view offers.
    fn act(&mut self, action: &str) {
        let (verb, arg) = action.split_once(':').unwrap_or((action, ""));
        match verb {
            "start" => self.start(),
            "named" => self.consent(IdentityMode::Named),
            "anon" => self.consent(IdentityMode::Anonymous),
            "leave" => {
                self.s.identity = None;
                self.s.step = Step::Idle;
                self.say(vec![Msg::new("consent-left")]);
            }
            "u" => {
                self.s.unit = Some(arg.to_owned());
                self.s.step = self.next_flow_step();
                let name = self
                    .ctx
                    .campaign
                    .and_then(|c| c.unit(arg))
                    .map_or(arg, |u| u.name.as_str());
                self.show(
                    vec![Msg::new("unit-chosen").text("name", name)],
                    Detail::Full,
                );
            }
            "g" | "gskip" => {
                self.s.target_group = (verb == "g").then(|| arg.to_owned());
                self.s.target_group_asked = true;
                self.s.step = self.next_flow_step();
                self.show(Vec::new(), Detail::Full);
            }
            "t" => {
                self.s.step = Step::Topic {
                    topic: arg.to_owned(),
                };
                self.show(Vec::new(), Detail::Full);
            }
            "next" | "skip" => self.next_topic(verb == "skip"),
            "menu" => {
                self.s.step = Step::Menu;
                self.show(Vec::new(), Detail::Full);
            }
            "review" => {
                self.s.step = Step::Review;
                self.show(Vec::new(), Detail::Full);
            }
            "submit" => self.submit(),
            "my" => {
                self.enter(Step::MyOpinions);
                self.show(Vec::new(), Detail::Full);
            }
            "o" => {
                self.s.step = Step::MyOpinion {
                    reference: arg.to_owned(),
                };
                self.show(Vec::new(), Detail::Full);
            }
            "back" => self.back(),
            "edit" | "wd" => {
                if let Step::MyOpinion { reference } = &self.s.step {
                    let reference = reference.clone();
                    self.s.step = if verb == "edit" {
                        Step::EditOpinion { reference }
                    } else {
                        Step::ConfirmWithdraw { reference }
                    };
                }
                self.show(Vec::new(), Detail::Full);
            }
            "wdyes" => self.withdraw(),
            "unlink" => {
                self.effects.push(Effect::UnlinkContact);
                self.back_to_resume(vec![Msg::new("link-removed")]);
            }
            "notices" => {
                let on = arg == "on";
                self.effects.push(Effect::SetNotices {
                    on,
                    unit: self.s.unit.clone(),
                });
                self.s.notices_asked = true;
                self.s.step = self.next_flow_step();
                let key = if on { "notices-on" } else { "notices-declined" };
                self.show(vec![Msg::new(key)], Detail::Full);
            }
            "delw" | "delk" => {
                let withdraw = verb == "delw";
                self.effects.push(Effect::EraseContact {
                    withdraw_opinions: withdraw,
                });
                self.s = DialogState {
                    locale: self.s.locale,
                    nonce: self.s.nonce,
                    ..DialogState::default()
                };
                let key = if withdraw {
                    "deleted-withdrawn"
                } else {
                    "deleted-kept"
                };
                self.say(vec![Msg::new(key)]);
            }
            "lang" => match Locale::parse(arg) {
                Some(locale) => self.set_locale(locale),
                None => self.stale(),
            },
            _ => self.stale(),
        }
    }

    /// The resident consents, named or anonymous; the flow goes on.
    fn consent(&mut self, mode: IdentityMode) {
        let Some(c) = self.ctx.campaign else {
            return self.stale();
        };
        self.effects.push(Effect::RecordConsent {
            mode,
            notice_version: c.notice_version.clone(),
        });
        self.s.identity = Some(mode);
        self.s.step = self.next_flow_step();
        let key = match mode {
            IdentityMode::Named => "consent-thanks-named",
            IdentityMode::Anonymous => "consent-thanks-anonymous",
        };
        self.show(vec![Msg::new(key)], Detail::Full);
    }

    /// The first flow step after consent still to do: unit, target group, the announcements
    /// question, then the menu.
    /// Questions with a single or no possible answer are settled without asking.
    fn next_flow_step(&mut self) -> Step {
        let Some(c) = self.ctx.campaign else {
            return Step::Menu;
        };
        if self.s.unit.is_none() {
            if c.units.len() > 1 {
                return Step::ChooseUnit;
            }
            self.s.unit = c.root_unit().map(|u| u.code.clone());
        }
        if !self.s.target_group_asked {
            if !render::target_groups(c).is_empty() {
                return Step::ChooseTargetGroup;
            }
            self.s.target_group_asked = true;
        }
        if !self.s.notices_asked {
            return Step::AskNotices;
        }
        Step::Menu
    }

    /// "Next topic" or "skip": on to the next topic not yet answered or skipped, after this one
    /// in menu order; the menu when every topic has been visited.
    fn next_topic(&mut self, skip: bool) {
        let Step::Topic { topic } = self.s.step.clone() else {
            return self.stale();
        };
        let given = |s: &DialogState, code: &str| s.given.get(code).is_some_and(|n| *n > 0);
        if skip && !given(&self.s, &topic) && !self.s.skipped.contains(&topic) {
            self.s.skipped.push(topic.clone());
        }
        let topics = self
            .ctx
            .campaign
            .map(|c| c.topics.as_slice())
            .unwrap_or(&[]);
        let at = topics.iter().position(|t| t.code == topic).unwrap_or(0);
        let next = topics
            .iter()
            .cycle()
            .skip(at + 1)
            .take(topics.len())
            .find(|t| {
                t.code != topic && !given(&self.s, &t.code) && !self.s.skipped.contains(&t.code)
            });
        match next {
            Some(t) => {
                self.s.step = Step::Topic {
                    topic: t.code.clone(),
                };
                self.show(Vec::new(), Detail::Full);
            }
            None => {
                self.s.step = Step::Menu;
                self.show(vec![Msg::new("menu-all-visited")], Detail::Full);
            }
        }
    }

    /// An opinion typed on a topic: checked, saved as a draft, acknowledged.
    fn save_opinion(&mut self, code: &str, text: &str) {
        let text = match clean(text) {
            Ok(t) => t,
            Err(m) => return self.show(vec![m], Detail::Compact),
        };
        let section = self
            .ctx
            .campaign
            .and_then(|c| c.topic(code))
            .and_then(|t| t.sections.first().cloned());
        let reference = self.ctx.fresh_reference.to_owned();
        let preview = render::preview(&text, render::PREVIEW_CHARS);
        self.effects.push(Effect::SaveOpinion {
            reference: reference.clone(),
            topic: code.to_owned(),
            section,
            text,
        });
        let n = self.s.given.entry(code.to_owned()).or_insert(0);
        *n = n.saturating_add(1);
        let n = *n;
        self.s.skipped.retain(|t| t != code);
        let ack = Msg::new("opinion-saved")
            .text("reference", reference)
            .text("preview", preview)
            .num("count", i64::from(n));
        self.show_options(vec![ack]);
    }

    /// Sends paragraphs with the current step's options only (after an acknowledgement the
    /// step itself needs no repeating).
    fn show_options(&mut self, paragraphs: Vec<Msg>) {
        let options = self.view(Detail::Compact).options;
        let mut choices = Vec::new();
        if !options.is_empty() {
            self.s.nonce = self.s.nonce.wrapping_add(1);
            choices = options
                .into_iter()
                .map(|o| Choice {
                    data: choices::data(self.s.nonce, &o.action),
                    label: o.label,
                })
                .filter(|c| c.data.len() <= choices::MAX_DATA_BYTES)
                .collect();
        }
        self.effects.push(Effect::Reply(Reply {
            locale: self.s.locale,
            paragraphs,
            choices,
        }));
    }

    /// Submits every draft; the receipt, then the menu for anything more.
    fn submit(&mut self) {
        let drafts = self
            .opinions
            .iter()
            .filter(|o| o.status == OpinionStatus::Draft)
            .count();
        if drafts == 0 || !render::is_open(self.ctx) {
            return self.show(Vec::new(), Detail::Full);
        }
        let receipt = self.ctx.fresh_receipt.to_owned();
        self.effects.push(Effect::SubmitDrafts {
            receipt: receipt.clone(),
        });
        for o in self.opinions.to_mut().iter_mut() {
            if o.status == OpinionStatus::Draft {
                o.status = OpinionStatus::Submitted;
                o.receipt = Some(receipt.clone());
            }
        }
        self.s.last_receipt = Some(receipt.clone());
        self.s.step = Step::Menu;
        let closes = self
            .ctx
            .campaign
            .and_then(|c| c.closes_at())
            .map(render::local_end)
            .unwrap_or_default();
        let msg = Msg::new("receipt")
            .text("receipt", receipt)
            .num("count", render::count(drafts))
            .text("closes", closes);
        self.show(vec![msg], Detail::Full);
    }

    /// "Back" from a step of `/my`, the language choice or the deletion question.
    fn back(&mut self) {
        match self.s.step.clone() {
            Step::MyOpinion { .. } => self.s.step = Step::MyOpinions,
            Step::EditOpinion { reference } | Step::ConfirmWithdraw { reference } => {
                self.s.step = if render::find(&self.opinions, &reference).is_some() {
                    Step::MyOpinion { reference }
                } else {
                    Step::MyOpinions
                };
            }
            _ => return self.back_to_resume(Vec::new()),
        }
        self.show(Vec::new(), Detail::Full);
    }

    /// The new text of an opinion: checked, saved, and the opinion shown as it is now.
    fn edit(&mut self, reference: &str, text: &str) {
        let text = match clean(text) {
            Ok(t) => t,
            Err(m) => return self.show(vec![m], Detail::Compact),
        };
        let Some(i) = self.opinions.iter().position(|o| o.reference == reference) else {
            return self.stale();
        };
        self.effects.push(Effect::EditOpinion {
            reference: reference.to_owned(),
            text: text.clone(),
        });
        let o = &mut self.opinions.to_mut()[i];
        o.text = text;
        o.edited_at = Some(self.ctx.now);
        self.s.step = Step::MyOpinion {
            reference: reference.to_owned(),
        };
        let done = Msg::new("edit-done").text("reference", reference);
        self.show(vec![done], Detail::Full);
    }

    /// Withdraws the opinion being confirmed, then lists the opinions again.
    fn withdraw(&mut self) {
        let Step::ConfirmWithdraw { reference } = self.s.step.clone() else {
            return self.stale();
        };
        let Some(i) = self.opinions.iter().position(|o| o.reference == reference) else {
            return self.stale();
        };
        self.effects.push(Effect::WithdrawOpinion {
            reference: reference.clone(),
        });
        let o = &mut self.opinions.to_mut()[i];
        o.status = OpinionStatus::Withdrawn;
        o.withdrawn_at = Some(self.ctx.now);
        let topic = o.topic.clone();
        if let Some(n) = self.s.given.get_mut(&topic) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.s.given.remove(&topic);
            }
        }
        self.s.step = Step::MyOpinions;
        let done = Msg::new("withdraw-done").text("reference", reference);
        self.show(vec![done], Detail::Full);
    }
}

/// An opinion's text as it is kept: NFC, trimmed, 1 to 4,000 characters, with at least one
/// letter or digit. Otherwise the message that says what is wrong.
fn clean(text: &str) -> Result<String, Msg> {
    let nfc: String = text.nfc().collect();
    let text = nfc.trim();
    if text.is_empty() {
        return Err(Msg::new("error-empty"));
    }
    let length = text.chars().count();
    if length > MAX_OPINION_CHARS {
        return Err(Msg::new("error-too-long")
            .num("length", render::count(length))
            .num("max", render::count(MAX_OPINION_CHARS)));
    }
    if !text.chars().any(char::is_alphanumeric) {
        return Err(Msg::new("error-no-letters"));
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests;
