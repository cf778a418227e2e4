//! The pure dialog engine: one resident's input in, the next state and effects out.

use super::{Context, DialogState, Effect, Input};

/// Whether the shell must load the resident's opinions into [`Context::opinions`] before
/// calling [`step`] with this state and input.
pub fn needs_opinions(_state: &DialogState, _input: &Input) -> bool {
    true
}

/// Advances the dialog by one input. Pure: no I/O, no clock, no randomness beyond `ctx`.
pub fn step(state: &DialogState, _input: &Input, _ctx: &Context<'_>) -> (DialogState, Vec<Effect>) {
    (state.clone(), Vec::new())
}
