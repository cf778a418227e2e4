//! `gopy campaign …` and `gopy opinions export`: import, list, show, and the minimal export.
//!
//! Problems with what the user asked for (a file with mistakes, an unknown campaign, a slug
//! that exists already) are printed in Vietnamese then English and end with exit code 65
//! ([`exit::DATA`]); an unreachable database ends with 69 ([`exit::UNAVAILABLE`]).

use std::collections::HashMap;
use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use chrono::Utc;
use serde_json::json;

use super::{deep_link, export, format_local, format_local_end};
use crate::cli::{CampaignCmd, ExportFormat, OpinionsCmd, exit};
use crate::config::Settings;
use crate::domain::{Campaign, OpinionStatus, PhaseKind, Unit};
use crate::store::{AuditEntry, Store, StoreError};

/// Runs `gopy campaign …`.
pub async fn run(settings: &Settings, cmd: CampaignCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        CampaignCmd::Import { file } => import(settings, &file).await,
        CampaignCmd::List => list(settings).await,
        CampaignCmd::Show { campaign } => show(settings, &campaign).await,
        CampaignCmd::File { campaign } => write_file(settings, &campaign).await,
    }
}

/// Runs `gopy opinions …`.
pub async fn run_opinions(settings: &Settings, cmd: OpinionsCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        OpinionsCmd::Export {
            campaign,
            format,
            output,
        } => export_opinions(settings, &campaign, format, output.as_deref()).await,
        OpinionsCmd::Synthesis(cmd) => crate::synthesis::cli::run_opinions(settings, cmd).await,
    }
}

/// Who is acting, for the audit log: `cli:<os user>`.
pub(crate) fn actor() -> String {
    let user = ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.trim().is_empty()))
        .unwrap_or_else(|| "unknown".to_owned());
    format!("cli:{user}")
}

/// Opens the store, or says why not and gives the exit code to end with.
pub(crate) async fn store(settings: &Settings) -> Result<Arc<dyn Store>, ExitCode> {
    match crate::startup::open_store(settings).await {
        Ok(s) => Ok(s),
        Err(e) => {
            eprintln!("Không mở được cơ sở dữ liệu / cannot open the database: {e:#}");
            Err(ExitCode::from(exit::UNAVAILABLE))
        }
    }
}

/// `gopy campaign import FILE`: everything is checked first; nothing is imported when
/// anything is wrong.
async fn import(settings: &Settings, path: &Path) -> anyhow::Result<ExitCode> {
    let shown = path.display();
    let text = match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(_) => {
                eprintln!(
                    "{shown}: tệp không phải văn bản UTF-8 / the file is not UTF-8 text; chưa nhập gì / nothing imported"
                );
                return Ok(ExitCode::from(exit::DATA));
            }
        },
        Err(e) => {
            eprintln!("{shown}: không đọc được tệp / cannot read the file: {e}");
            return Ok(ExitCode::from(exit::NOINPUT));
        }
    };
    let (campaign, reports) = match super::parse_file(&text) {
        Ok(f) => (f.campaign, f.reports),
        Err(problems) => {
            for p in &problems {
                match (p.line, p.column) {
                    (Some(l), Some(c)) => eprintln!("{shown}:{l}:{c}: {}", p.message),
                    (Some(l), None) => eprintln!("{shown}:{l}: {}", p.message),
                    _ => eprintln!("{shown}: {}", p.message),
                }
            }
            let n = problems.len();
            eprintln!("Có {n} lỗi; chưa nhập gì. / {n} problem(s); nothing imported.");
            return Ok(ExitCode::from(exit::DATA));
        }
    };
    let store = match store(settings).await {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let slug = &campaign.slug;
    let exists = store
        .campaigns()
        .await
        .context("cannot read the campaigns")?
        .iter()
        .any(|c| &c.slug == slug);
    let id = match exists {
        false => store.insert_campaign(&campaign).await,
        true => Err(StoreError::Conflict(format!("slug {slug}"))),
    };
    let id = match id {
        Ok(id) => id,
        Err(StoreError::Conflict(_)) => {
            eprintln!(
                "{shown}: đã có đợt lấy ý kiến mang mã `{slug}`; hãy đặt `slug` khác / a campaign with slug `{slug}` exists already; choose another slug"
            );
            return Ok(ExitCode::from(exit::DATA));
        }
        Err(e) => return Err(e).context("cannot store the campaign"),
    };
    store
        .audit(&AuditEntry {
            at: Utc::now(),
            actor: actor(),
            action: "campaign.import".to_owned(),
            detail: json!({
                "campaign": id,
                "slug": slug,
                "file": shown.to_string(),
                "units": campaign.units.len(),
                "sections": campaign.sections.len(),
                "topics": campaign.topics.len(),
            }),
        })
        .await
        .context("cannot write the audit log")?;
    println!("Đã nhập đợt lấy ý kiến / imported campaign: id {id}, slug {slug}");
    let dates = crate::reports::import_dates(store.as_ref(), id, &reports, &actor(), Utc::now())
        .await
        .context("cannot store the report dates")?;
    print_imported(dates);
    Ok(ExitCode::SUCCESS)
}

/// Says what importing a file's report dates did (nothing when it has none).
pub(crate) fn print_imported(d: crate::reports::Imported) {
    if d.added + d.known + d.past == 0 {
        return;
    }
    println!(
        "Ngày báo cáo / report dates: thêm {} / added, đã có {} / already there, đã qua {} (bỏ qua) / past (left out)",
        d.added, d.known, d.past
    );
}

/// `gopy campaign file`: the campaign as its file, with its report dates, on standard output.
async fn write_file(settings: &Settings, wanted: &str) -> anyhow::Result<ExitCode> {
    let store = match store(settings).await {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let Some(c) = find(&store, wanted).await? else {
        return Ok(ExitCode::from(exit::DATA));
    };
    let reports = crate::reports::plans_of(store.as_ref(), c.id)
        .await
        .context("cannot read the report dates")?;
    print!("{}", super::to_toml_with_reports(&c, &reports)?);
    Ok(ExitCode::SUCCESS)
}

/// Cuts `s` to `max` characters, ending with "…" when cut.
fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

/// `s` padded with spaces to `width` characters (Vietnamese text is NFC, one character per
/// letter, so characters are columns).
fn pad(s: &str, width: usize) -> String {
    let n = s.chars().count();
    format!("{s}{}", " ".repeat(width.saturating_sub(n)))
}

/// The collection window as officials read it.
fn window(opens: chrono::DateTime<Utc>, closes: chrono::DateTime<Utc>) -> String {
    format!("{} – {}", format_local(opens), format_local_end(closes))
}

/// `gopy campaign list`.
async fn list(settings: &Settings) -> anyhow::Result<ExitCode> {
    let store = match store(settings).await {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let campaigns = store
        .campaign_summaries()
        .await
        .context("cannot read the campaigns")?;
    if campaigns.is_empty() {
        println!(
            "Chưa có đợt lấy ý kiến nào. / No campaigns yet. (gopy campaign import examples/demo-campaign.toml)"
        );
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<[String; 5]> = campaigns
        .iter()
        .map(|c| {
            [
                c.id.to_string(),
                c.slug.clone(),
                cut(&c.title, 48),
                c.collect
                    .map(|(o, e)| window(o, e))
                    .unwrap_or_else(|| "—".to_owned()),
                c.opinions.to_string(),
            ]
        })
        .collect();
    let header = [
        "ID",
        "MÃ / SLUG",
        "TIÊU ĐỀ / TITLE",
        "THỜI GIAN LẤY Ý KIẾN / COLLECTION (giờ VN)",
        "Ý KIẾN / OPINIONS",
    ];
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .zip(widths)
            .map(|(c, w)| pad(c, w))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", line(header.to_vec()))?;
    for row in &rows {
        writeln!(out, "{}", line(row.iter().map(String::as_str).collect()))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Finds a campaign by id or slug, or says it does not exist.
pub(crate) async fn find(store: &Arc<dyn Store>, wanted: &str) -> anyhow::Result<Option<Campaign>> {
    let campaigns = store
        .campaigns()
        .await
        .context("cannot read the campaigns")?;
    let id: Option<i64> = wanted.parse().ok();
    let found = campaigns
        .into_iter()
        .find(|c| Some(c.id) == id || c.slug == wanted);
    if found.is_none() {
        eprintln!(
            "Không có đợt lấy ý kiến `{wanted}` (xem: gopy campaign list) / no campaign `{wanted}` (see: gopy campaign list)"
        );
    }
    Ok(found)
}

/// Vietnamese name of a phase.
fn phase_name(kind: PhaseKind) -> &'static str {
    match kind {
        PhaseKind::Announce => "Thông báo",
        PhaseKind::Collect => "Lấy ý kiến",
        PhaseKind::Synthesise => "Tổng hợp",
        PhaseKind::Report => "Báo cáo",
    }
}

/// The whole campaign as text, for `gopy campaign show`.
pub fn describe(c: &Campaign) -> String {
    let mut s = String::new();
    let mut line = |text: String| {
        s.push_str(&text);
        s.push('\n');
    };
    line(format!("Đợt lấy ý kiến / campaign #{} · {}", c.id, c.slug));
    line(format!("Tiêu đề / title: {}", c.title));
    line(format!("Cơ quan ban hành / issuer: {}", c.issuer));
    line(format!("Dự thảo / document: {}", c.document_title));
    line(format!("Giới thiệu / intro: {}", c.intro));
    line(format!("Mục đích / purpose: {}", c.purpose));
    line(format!(
        "Lưu thông tin định danh / identity kept: {} tháng sau khi kết thúc / months after the close; phiên bản thông báo / notice version: {}",
        c.retention_months, c.notice_version
    ));

    line(String::new());
    line("Địa bàn / units:".to_owned());
    let mut children: HashMap<&str, Vec<&Unit>> = HashMap::new();
    for u in c.units.iter().skip(1) {
        if let Some(p) = &u.parent {
            children.entry(p.as_str()).or_default().push(u);
        }
    }
    let mut shown = std::collections::HashSet::new();
    let mut stack: Vec<(&Unit, usize)> = c.root_unit().map(|r| (r, 0)).into_iter().collect();
    while let Some((u, depth)) = stack.pop() {
        if !shown.insert(u.code.as_str()) {
            continue;
        }
        line(format!(
            "  {}{} ({}, {})",
            "    ".repeat(depth),
            u.name,
            u.code,
            u.kind
        ));
        if let Some(kids) = children.get(u.code.as_str()) {
            stack.extend(kids.iter().rev().map(|k| (*k, depth + 1)));
        }
    }
    for u in &c.units {
        if !shown.contains(u.code.as_str()) {
            line(format!("  ? {} ({}, {})", u.name, u.code, u.kind));
        }
    }

    line(String::new());
    line("Liên kết mời góp ý / deep links (t.me/<bot>?start=…):".to_owned());
    let links: Vec<String> = c
        .units
        .iter()
        .map(|u| deep_link(&c.slug, &u.code))
        .collect();
    let width = links.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    for (link, u) in links.iter().zip(&c.units) {
        line(format!("  {}  {}", pad(link, width), u.name));
    }

    line(String::new());
    let groups: Vec<&str> = c.target_groups.iter().map(|g| g.code.as_str()).collect();
    line(format!("Đối tượng / target groups: {}", groups.join(", ")));

    line(String::new());
    line("Các mục của dự thảo / sections:".to_owned());
    for sec in &c.sections {
        line(format!("  {}. {}", sec.reference, sec.title));
        line(format!("      {}", sec.summary));
    }

    line(String::new());
    line("Nội dung xin ý kiến / topics:".to_owned());
    for (i, t) in c.topics.iter().enumerate() {
        let sections = if t.sections.is_empty() {
            "—".to_owned()
        } else {
            t.sections.join(", ")
        };
        line(format!(
            "  {}. {} [{}] — mục / sections: {}",
            i + 1,
            t.title,
            t.code,
            sections
        ));
        line(format!("      {}", t.question));
    }

    line(String::new());
    line("Các giai đoạn / phases (giờ Việt Nam / Asia/Ho_Chi_Minh):".to_owned());
    for p in &c.phases {
        line(format!(
            "  {:<11} {:<11} {}",
            p.kind.as_str(),
            phase_name(p.kind),
            window(p.starts_at, p.ends_at)
        ));
    }
    s
}

/// `gopy campaign show ID|SLUG`.
async fn show(settings: &Settings, wanted: &str) -> anyhow::Result<ExitCode> {
    let store = match store(settings).await {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let Some(campaign) = find(&store, wanted).await? else {
        return Ok(ExitCode::from(exit::DATA));
    };
    print!("{}", describe(&campaign));
    Ok(ExitCode::SUCCESS)
}

/// `gopy opinions export --campaign ID|SLUG --format csv|json [-o FILE]`. The audit entry is
/// written before the data leaves gopy, so no export goes unrecorded.
async fn export_opinions(
    settings: &Settings,
    wanted: &str,
    format: ExportFormat,
    output: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let store = match store(settings).await {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let Some(campaign) = find(&store, wanted).await? else {
        return Ok(ExitCode::from(exit::DATA));
    };
    let opinions = store
        .campaign_opinions(campaign.id)
        .await
        .context("cannot read the opinions")?;
    // Moderation holds back opinions pending review and those a moderator hid.
    let moderation = store
        .opinion_moderation(campaign.id)
        .await
        .context("cannot read how moderation stands")?;
    let (opinions, held) = export::moderated(opinions, &moderation);
    let count = opinions
        .iter()
        .filter(|o| o.status != OpinionStatus::Withdrawn)
        .count();
    let now = Utc::now();
    let (bytes, name) = match format {
        ExportFormat::Csv => (export::csv(&campaign, &opinions)?, "csv"),
        ExportFormat::Json => (
            export::json_moderated(&campaign, &opinions, now, held.clone())?,
            "json",
        ),
    };
    let target = output.map_or_else(|| "stdout".to_owned(), |p| p.display().to_string());
    store
        .audit(&AuditEntry {
            at: now,
            actor: actor(),
            action: "opinions.export".to_owned(),
            detail: json!({
                "campaign": campaign.id,
                "slug": campaign.slug,
                "format": name,
                "count": count,
                "pending_review": held.pending_review,
                "excluded": held.excluded.len(),
                "output": target,
            }),
        })
        .await
        .context("cannot write the audit log")?;
    match output {
        Some(path) => std::fs::write(path, &bytes)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(&bytes)?;
            out.flush()?;
        }
    }
    eprintln!(
        "Đã xuất {count} ý kiến của đợt {} ({name}) vào {target} / exported {count} opinions.",
        campaign.slug
    );
    if !held.is_empty() {
        eprintln!(
            "Kiểm duyệt: {} ý kiến chờ xem xét (chưa tính), {} ý kiến bị loại ra có lý do / \
             moderation: {} pending review (not counted), {} excluded with reason.",
            held.pending_review,
            held.excluded.len(),
            held.pending_review,
            held.excluded.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}
