//! Announcements: staff users and what they may do, groups bound to units, and (later)
//! broadcasts with approval, schedules and delivery.
//!
//! Layout:
//! - `access.rs`: who may do what where — roles and unit scope over the administrative tree
//!   (pure, tested without a database), and one-time link codes.
//! - `groups.rs`: the group actions shared by the command line and the chat commands
//!   (`bind`, `unbind`, `link`), each checked and audited.
//! - `broadcast.rs`: the broadcast life cycle and who may move it (pure `decide`), targets,
//!   schedules in Vietnam time, and the audited actions behind `gopy broadcast …`.
//! - `limiter.rs`: the per-account rate limiter (pure, spaced slots, pauses on 429).
//! - `outbox.rs`: the worker that claims deliveries, sends them through the limiter and
//!   records each result; `decide_failure` sorts errors into retry / fail / follow.
//! - `cli.rs`: `gopy staff …`, `gopy groups …`, `gopy broadcast …`.
//!
//! Storage is [`crate::store::announce`]; the Telegram side is
//! `channels::telegram::groups`.

pub mod access;
pub mod attachment;
pub mod broadcast;
pub mod cli;
pub mod groups;
pub mod limiter;
pub mod outbox;
pub mod reminders;
