//! Text tools shared by moderation and synthesis: Vietnamese normalisation for matching.
//!
//! Layout:
//! - `normalize.rs`: [`normalize`] turns any string into canonical, lower-case tokens (one
//!   tone placement, evasions undone) with an accent-stripped form of each; [`fold`] strips
//!   accents from a string.

mod normalize;

pub use normalize::{Normalized, Token, fold, normalize};
