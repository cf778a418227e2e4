//! gopy (*góp ý*, "to contribute an opinion"): a Telegram/Zalo chatbot with which Vietnamese
//! wards and communes collect residents' opinions on draft documents.
//!
//! # Layout
//! - [`domain`]: plain types (campaigns, units, topics, contacts, opinions); no I/O.
//! - [`dialog`]: the pure feedback-dialog engine, `step(state, input, context)`.
//! - [`announce`]: staff users, groups bound to units, and broadcasts.
//! - [`campaign`]: campaign files (TOML), their validation, and the demo campaign.
//! - [`i18n`]: Fluent bundles from `locales/` and rendering per channel.
//! - [`store`]: storage traits with SQLite and Postgres backends; the only place with SQL.
//! - [`service`]: the dialog shell, running one inbound event in one transaction.
//! - [`channels`]: Telegram and terminal adapters.
//! - [`http`]: the axum router (health, readiness, metrics).
//! - [`moderation`]: word lists, detection, the moderators' queue and log.
//! - [`synthesis`]: opinions recorded at meetings or imported, classification, the
//!   synthesis report and its exports.
//! - [`replies`]: replies in bound groups as opinions and agreements (threads, consent,
//!   acknowledgements).
//! - [`reports`]: report dates and who receives the reports on them.
//! - [`text`]: Vietnamese text normalisation shared by moderation and synthesis.
//! - [`config`], [`telemetry`], [`startup`], [`cli`]: process wiring.

pub mod announce;
pub mod campaign;
pub mod channels;
pub mod cli;
pub mod config;
pub mod console;
pub mod dialog;
pub mod domain;
#[cfg(test)]
mod fuzzing;
pub mod http;
pub mod i18n;
pub mod moderation;
pub mod replies;
pub mod reports;
pub mod retention;
pub mod service;
pub mod startup;
pub mod store;
pub mod synthesis;
pub mod telemetry;
pub mod text;
