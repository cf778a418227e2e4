//! `gopy campaign …` and `gopy opinions export`: import, list, show, and the minimal export.

use std::process::ExitCode;

use crate::cli::{CampaignCmd, OpinionsCmd};
use crate::config::Settings;

/// Runs `gopy campaign …`.
pub async fn run(_settings: &Settings, _cmd: CampaignCmd) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not written yet")
}

/// Runs `gopy opinions …`.
pub async fn run_opinions(_settings: &Settings, _cmd: OpinionsCmd) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not written yet")
}
