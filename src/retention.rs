//! The retention purge: residents' names and usernames, and meeting speakers' names and phones,
//! are erased once every campaign they took part in is past the time its consent notice
//! promised (`retention_months` after collection closed; 12 by default). Opinions are kept:
//! they are the record of the consultation, and anonymous in every report by default.
//! `gopy purge --dry-run` shows what would go; `gopy serve` purges by itself every hour (one
//! process of several on one database: the housekeeping turn).

use std::process::ExitCode;

use chrono::Utc;

use crate::config::Settings;
use crate::domain::format_local;
use crate::store::Store;
use crate::store::retention::CampaignPurge;

/// Who the job acts as in the audit log.
pub const SYSTEM_ACTOR: &str = "gopy-system";

/// Purges what is due at `now` (the hourly job, run by one process at a time: see
/// `startup::housekeep`); logs what went.
pub async fn purge_due(store: &dyn Store, now: chrono::DateTime<Utc>) {
    match store.purge_identities(now, false, SYSTEM_ACTOR).await {
        Ok(done) => {
            for p in done {
                tracing::info!(
                    campaign = p.campaign_id,
                    identities = p.identities,
                    speakers = p.speakers,
                    "identities erased: the campaign's retention time is over"
                );
                metrics::counter!("gopy_retention_identities_erased_total")
                    .increment(u64::try_from(p.identities + p.speakers).unwrap_or(0));
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot run the retention purge; trying again later"),
    }
}

/// One line per campaign, in Vietnamese and English.
fn describe(p: &CampaignPurge, dry_run: bool) -> String {
    let verb = if dry_run {
        "sẽ xóa / would erase"
    } else {
        "đã xóa / erased"
    };
    format!(
        "{}: hết hạn góp ý / closed {}, hết thời hạn lưu / retention over {}; {verb}: {} danh tính người dân / residents' identities, {} tên/điện thoại người phát biểu / speakers' names or phones",
        p.slug,
        format_local(p.closed_at),
        format_local(p.due_at),
        p.identities,
        p.speakers
    )
}

/// `gopy purge [--dry-run]`.
pub async fn run(settings: &Settings, dry_run: bool) -> anyhow::Result<ExitCode> {
    let store = match crate::startup::open_store(settings).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("Không mở được cơ sở dữ liệu / cannot open the database: {e:#}");
            return Ok(ExitCode::from(crate::cli::exit::UNAVAILABLE));
        }
    };
    let actor = crate::announce::cli::actor();
    let done = store.purge_identities(Utc::now(), dry_run, &actor).await?;
    if done.is_empty() {
        println!("Không có gì đến hạn xóa / nothing is due for erasure");
    }
    for p in &done {
        println!("{}", describe(p, dry_run));
    }
    if dry_run && !done.is_empty() {
        println!("(chạy thử, chưa xóa gì / dry run: nothing was erased)");
    }
    Ok(ExitCode::SUCCESS)
}
