//! The channel-agnostic feedback dialog: a pure state machine.
//!
//! [`step`] takes the resident's persisted [`DialogState`], one [`Input`] and a read-only
//! [`Context`] (the campaign, the clock, fresh random codes, what the channel can show) and
//! returns the new state and a list of [`Effect`]s. It does no I/O: the service layer applies
//! the storage effects inside one transaction and hands the [`Reply`]s to the channel adapter.
//!
//! Layout:
//! - `state.rs`: the persisted state and the step the resident is on.
//! - `input.rs`: what a resident can send, already parsed from the platform event.
//! - `effect.rs`: what the engine asks the shell to do, and the replies it renders.
//! - `engine.rs`: [`step`] and [`needs_opinions`].
//! - `render.rs`: what each step shows and which options it offers.
//! - `choices.rs`: button data, and typed numbers or labels that choose an option.

mod choices;
mod effect;
mod engine;
mod input;
mod render;
mod state;

pub use effect::{Arg, Choice, Effect, Msg, Reply};
pub use engine::{link_code, needs_link, needs_opinions, step};
pub use input::{Command, Input, LinkArg, MediaKind};
pub use state::{DialogState, Step};

use chrono::{DateTime, Utc};

use crate::domain::{Campaign, LinkStatus, Opinion};

/// Everything the engine may read besides the state and the input. Built by the shell.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The campaign the resident is in (or is about to enter), if any campaign exists.
    pub campaign: Option<&'a Campaign>,
    /// The present instant.
    pub now: DateTime<Utc>,
    /// The resident's opinions in this campaign (every status), newest last; loaded by the
    /// shell only when [`needs_opinions`] says so, empty otherwise.
    pub opinions: &'a [Opinion],
    /// A fresh random six-character code (`[A-Z0-9]`), for a new opinion reference.
    pub fresh_reference: &'a str,
    /// A fresh random receipt code, used if this step submits.
    pub fresh_receipt: &'a str,
    /// Whether the channel shows buttons (Telegram) or only numbered lists (terminal, Zalo).
    pub has_buttons: bool,
    /// The unit code and campaign slug from a deep-link payload, already resolved by the shell:
    /// `Some(campaign)` when `/start <payload>` named a campaign that exists.
    pub payload_unit: Option<&'a str>,
    /// The resident's cross-channel link (and the code this step redeems), read by the shell
    /// only when [`needs_link`] says so; `None` otherwise.
    pub link: Option<&'a LinkStatus>,
    /// A fresh random link code, given if this step is `/lienket` (empty when not needed).
    pub fresh_link_code: &'a str,
}
