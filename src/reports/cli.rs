//! `gopy reports …`: a campaign's report dates and who receives the reports. Every change is
//! audited as `cli:<os user>`.

use std::process::ExitCode;

use chrono::{DateTime, NaiveDateTime, TimeZone as _, Utc};
use clap::Subcommand;

use crate::announce::access::UnitTree;
use crate::cli::exit;
use crate::config::Settings;

/// `gopy reports …`
#[derive(Debug, Subcommand)]
pub enum ReportsCmd {
    /// Thêm một ngày báo cáo cho đợt / add a report date to a campaign.
    Date {
        /// Mã đợt lấy ý kiến / the campaign's slug.
        #[arg(long)]
        campaign: String,
        /// Giờ Việt Nam, "YYYY-MM-DD HH:MM" / Vietnam time.
        #[arg(long)]
        at: String,
        /// Mã địa bàn (mặc định: cả đợt) / the unit (default: the whole campaign).
        #[arg(long)]
        unit: Option<String>,
    },
    /// Cán bộ nhận báo cáo của đợt / a staff user receives the campaign's reports.
    Subscribe {
        /// Mã đợt lấy ý kiến / the campaign's slug.
        #[arg(long)]
        campaign: String,
        /// Tên cán bộ / the staff user's name.
        #[arg(long = "staff")]
        staff: String,
    },
    /// Bản tin hằng ngày cho cán bộ phụ trách địa bàn trong thời gian lấy ý kiến / a daily
    /// digest for unit leads during collection.
    Digest {
        /// Mã đợt lấy ý kiến / the campaign's slug.
        #[arg(long)]
        campaign: String,
        /// Giờ gửi (0–23, giờ Việt Nam) / the hour to send it (Vietnam time).
        #[arg(long, required_unless_present = "off", value_parser = clap::value_parser!(i64).range(0..=23))]
        hour: Option<i64>,
        /// Tắt bản tin / stop the digest.
        #[arg(long, conflicts_with = "hour")]
        off: bool,
    },
    /// Nhập (lại) các ngày báo cáo `[[reports]]` từ tệp của một đợt đã có; ngày đã có không
    /// thêm lần nữa / import (again) the `[[reports]]` of an existing campaign's file; dates
    /// it has already are not added twice.
    Import {
        /// Tệp đợt lấy ý kiến (TOML) / the campaign file.
        file: std::path::PathBuf,
    },
    /// Liệt kê ngày báo cáo / list the report dates.
    List {
        /// Mã đợt lấy ý kiến / the campaign's slug.
        #[arg(long)]
        campaign: String,
    },
}

/// Reads "YYYY-MM-DD HH:MM" (or with seconds) as Vietnam time.
pub fn parse_local(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S"))
        .ok()?;
    chrono_tz::Asia::Ho_Chi_Minh
        .from_local_datetime(&naive)
        .single()
        .map(|d| d.with_timezone(&Utc))
}

/// `gopy reports import FILE`: the file's report dates into its (existing) campaign.
async fn import(
    store: &dyn crate::store::Store,
    file: &std::path::Path,
    by: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<ExitCode> {
    let shown = file.display();
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{shown}: không đọc được tệp / cannot read the file: {e}");
            return Ok(ExitCode::from(exit::NOINPUT));
        }
    };
    let parsed = match crate::campaign::parse_file(&text) {
        Ok(f) => f,
        Err(problems) => {
            for p in &problems {
                eprintln!("{shown}: {p}");
            }
            let n = problems.len();
            eprintln!("Có {n} lỗi; chưa nhập gì. / {n} problem(s); nothing imported.");
            return Ok(ExitCode::from(exit::DATA));
        }
    };
    let slug = &parsed.campaign.slug;
    let Some(c) = store
        .campaigns()
        .await?
        .into_iter()
        .find(|c| &c.slug == slug)
    else {
        eprintln!(
            "Chưa có đợt lấy ý kiến mã {slug}: hãy nhập tệp bằng `gopy campaign import` / no campaign {slug}: import the file with `gopy campaign import`"
        );
        return Ok(ExitCode::from(exit::DATA));
    };
    let done = crate::reports::import_dates(store, c.id, &parsed.reports, by, now).await?;
    crate::campaign::cli::print_imported(done);
    if done.added + done.known + done.past == 0 {
        println!("Tệp không có [[reports]] / the file has no [[reports]]");
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `gopy reports …`.
pub async fn run(settings: &Settings, cmd: ReportsCmd) -> anyhow::Result<ExitCode> {
    let store = match crate::startup::open_store(settings).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("Không mở được cơ sở dữ liệu / cannot open the database: {e:#}");
            return Ok(ExitCode::from(exit::UNAVAILABLE));
        }
    };
    let by = crate::announce::cli::actor();
    let now = Utc::now();
    if let ReportsCmd::Import { file } = &cmd {
        return import(store.as_ref(), file, &by, now).await;
    }
    let slug = match &cmd {
        ReportsCmd::Import { .. } => String::new(),
        ReportsCmd::Date { campaign, .. }
        | ReportsCmd::Subscribe { campaign, .. }
        | ReportsCmd::Digest { campaign, .. }
        | ReportsCmd::List { campaign } => campaign.clone(),
    };
    let Some(c) = store
        .campaigns()
        .await?
        .into_iter()
        .find(|c| c.slug == slug)
    else {
        eprintln!("Không có đợt lấy ý kiến mã {slug} / no campaign {slug}");
        return Ok(ExitCode::from(exit::DATA));
    };
    match cmd {
        ReportsCmd::Date { at, unit, .. } => {
            let Some(due) = parse_local(&at) else {
                eprintln!("Thời điểm không hợp lệ / not a time: {at} (YYYY-MM-DD HH:MM)");
                return Ok(ExitCode::from(exit::DATA));
            };
            let tree = UnitTree::new(store.unit_nodes().await?);
            let unit = match unit {
                Some(u) => match tree.find(&u) {
                    Some(code) => Some(code.to_owned()),
                    None => {
                        eprintln!("Không có địa bàn mang mã `{u}` / no unit with code `{u}`");
                        return Ok(ExitCode::from(exit::DATA));
                    }
                },
                None => None,
            };
            store
                .add_report_date(c.id, unit.as_deref(), due, &by, now)
                .await?;
            println!("Đã thêm ngày báo cáo / report date added: {at}");
        }
        ReportsCmd::Subscribe { staff, .. } => {
            let Some(user) = store.staff_by_name(&staff).await? else {
                eprintln!("Không có cán bộ `{staff}` / no staff user `{staff}`");
                return Ok(ExitCode::from(exit::DATA));
            };
            store.subscribe_reports(user.id, c.id, &by, now).await?;
            if user.telegram_user_id.is_none() {
                println!(
                    "{staff} chưa liên kết Telegram (/link) nên chưa nhận được báo cáo / \
                     {staff} has not linked Telegram yet, so reports cannot reach them"
                );
            } else {
                println!("{staff} sẽ nhận báo cáo / {staff} will receive the reports");
            }
        }
        ReportsCmd::Digest { hour, .. } => {
            store.set_digest(c.id, hour, &by, now).await?;
            match hour {
                Some(h) => println!(
                    "Bản tin hằng ngày lúc {h}:00 / daily digest at {h}:00 (Asia/Ho_Chi_Minh)"
                ),
                None => println!("Đã tắt bản tin hằng ngày / daily digest off"),
            }
        }
        ReportsCmd::List { .. } => {
            for d in store.report_dates(c.id).await? {
                let local = d.due_at.with_timezone(&chrono_tz::Asia::Ho_Chi_Minh);
                println!(
                    "{}\t{}\t{}",
                    local.format("%Y-%m-%d %H:%M"),
                    d.unit.as_deref().unwrap_or("*"),
                    if d.taken_at.is_some() {
                        "đã gửi / sent"
                    } else {
                        "chờ / due"
                    }
                );
            }
        }
        // Handled above, before the campaign is looked up by slug.
        ReportsCmd::Import { .. } => {}
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_read_as_vietnam_time() {
        let t = parse_local("2026-07-23 08:00").expect("a time");
        assert_eq!(t.to_rfc3339(), "2026-07-23T01:00:00+00:00");
        assert!(parse_local("23/07/2026").is_none());
    }
}
