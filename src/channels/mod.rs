//! Channel adapters: each turns its platform's events into [`crate::service::Inbound`] and
//! renders the engine's replies for its platform. Platform payload types never leave their
//! folder.
//!
//! - `telegram/`: teloxide client, our own long-polling loop (the offset advances only after
//!   a batch is committed), inline keyboards.
//! - `zalo/`: the Zalo Bot API over reqwest, by long polling or webhook; numbered choices.
//! - `zalo_oa/`: the Zalo Official Account (Open API v3): signed webhook into an inbox,
//!   processed in the background; tokens refreshed with rotation; GMF group messages.
//! - `inbox.rs`: the shared webhook inbox's processor — claims deliveries (one resident's in
//!   order, across replicas), hands each to its channel, records the outcome.
//! - `terminal.rs`: `gopy chat`, the same dialog with numbered choices on stdin/stdout.

pub mod inbox;
pub mod telegram;
pub mod terminal;
pub mod zalo;
pub mod zalo_oa;
