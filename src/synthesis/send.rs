//! Per-unit reports sent back to the units (`gopy synthesis send`): each unit of the campaign
//! (or of one unit's subtree) gets its own synthesis, built as any export and queued for each
//! of its leads — staff users with the unit-lead role scoped to that unit and a linked
//! Telegram account. The bot delivers each file once, in private chat, and records whether
//! Telegram took it (`channels::telegram::reports`). Units without such a lead are listed as
//! not delivered, on screen and in the audit line. [`plan`] decides who gets what, purely.

use std::process::ExitCode;

use chrono::Utc;
use clap::Args;

use super::cli::{
    ExportFormat, HeaderArgs, Resolved, Scope, default_place, resolve, say, write_export,
};
use crate::campaign::cli::actor;
use crate::config::Settings;
use crate::dialog::Msg;
use crate::domain::{Campaign, Unit};
use crate::store::synthesis::{NewUnitReport, UnitLead};

/// `gopy synthesis send`.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// Which campaign; with --unit, only that unit and the units below it get their reports.
    #[command(flatten)]
    pub scope: Scope,
    /// Định dạng tệp gửi / the file's format (default: docx).
    #[arg(long, value_enum, default_value = "docx")]
    pub format: ExportFormat,
    /// Địa danh ghi ở dòng ngày tháng / the place in the date line.
    #[arg(long)]
    pub place: Option<String>,
    /// The DOCX's number, signer and recipients (each unit's report names that unit among
    /// the default recipients).
    #[command(flatten)]
    pub header: HeaderArgs,
}

/// Why a unit gets no report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Missing {
    /// No staff user leads it.
    NoLead,
    /// Its leads have linked no chat account.
    NotLinked,
    /// Its leads linked Zalo only, which carries no files.
    ZaloOnly,
}

impl Missing {
    /// The message that says so.
    fn message(self, unit: &str, leads: &str) -> Msg {
        let key = match self {
            Missing::NoLead => "syn-send-no-lead",
            Missing::NotLinked => "syn-send-not-linked",
            Missing::ZaloOnly => "syn-send-zalo-only",
        };
        Msg::new(key).text("unit", unit).text("leads", leads)
    }
}

/// One unit's share of a send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned<'a> {
    /// The unit.
    pub unit: &'a Unit,
    /// Its leads.
    pub leads: Vec<&'a UnitLead>,
    /// Why nothing goes to it (`None`: its leads with Telegram get it).
    pub missing: Option<Missing>,
}

impl Planned<'_> {
    /// The leads the report goes to: those with a linked Telegram account.
    pub fn recipients(&self) -> impl Iterator<Item = &&UnitLead> {
        self.leads.iter().filter(|l| l.telegram_user_id.is_some())
    }
}

/// Who gets which unit's report: every unit of the campaign (below `root` and itself, when
/// given), in campaign order, with the leads scoped to exactly that unit.
pub fn plan<'a>(
    campaign: &'a Campaign,
    root: Option<&str>,
    leads: &'a [UnitLead],
) -> Vec<Planned<'a>> {
    let inside = root.map(|r| super::report::subtree(campaign, r));
    campaign
        .units
        .iter()
        .filter(|u| inside.as_ref().is_none_or(|codes| codes.contains(&u.code)))
        .map(|unit| {
            let mine: Vec<&UnitLead> = leads
                .iter()
                .filter(|l| l.unit.eq_ignore_ascii_case(&unit.code))
                .collect();
            let missing = if mine.is_empty() {
                Some(Missing::NoLead)
            } else if mine.iter().any(|l| l.telegram_user_id.is_some()) {
                None
            } else if mine.iter().any(|l| l.zalo_user_id.is_some()) {
                Some(Missing::ZaloOnly)
            } else {
                Some(Missing::NotLinked)
            };
            Planned {
                unit,
                leads: mine,
                missing,
            }
        })
        .collect()
}

/// The file name of a unit's report.
fn file_name(campaign: &Campaign, unit: &str, format: ExportFormat) -> String {
    format!(
        "tong-hop-{}-{}.{}",
        campaign.slug,
        unit.to_lowercase(),
        format.ext()
    )
}

/// Runs `gopy synthesis send`: builds each unit's file, queues it for its leads with one
/// audit line, and says which units get nothing and why.
pub async fn run(settings: &Settings, a: SendArgs) -> anyhow::Result<ExitCode> {
    let r = match resolve(settings, &a.scope).await? {
        Ok(r) => r,
        Err(code) => return Ok(code),
    };
    let leads = r.store.unit_leads().await?;
    let planned = plan(&r.campaign, r.unit.as_deref(), &leads);
    let now = Utc::now();
    let place = a
        .place
        .clone()
        .unwrap_or_else(|| default_place(&r.campaign));
    let header = a.header.header();
    let mut queued: Vec<NewUnitReport> = Vec::new();
    let mut lines: Vec<Msg> = Vec::new();
    let mut sent_units = Vec::new();
    let mut not_delivered = Vec::new();
    for p in &planned {
        let names = |all: bool| {
            p.leads
                .iter()
                .filter(|l| all || l.telegram_user_id.is_some())
                .map(|l| l.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        if let Some(why) = p.missing {
            lines.push(why.message(&p.unit.name, &names(true)));
            not_delivered.push(serde_json::json!({ "unit": p.unit.code, "reason": why }));
            continue;
        }
        let unit = Resolved {
            store: r.store.clone(),
            campaign: r.campaign.clone(),
            unit: Some(p.unit.code.clone()),
            units: Some(super::report::subtree(&r.campaign, &p.unit.code)),
            locale: r.locale,
        };
        let synthesis = unit.synthesis().await?;
        let input = super::export::Input {
            campaign: &r.campaign,
            synthesis: &synthesis,
            names: None,
            locale: r.locale,
            generated_at: now,
            place: place.clone(),
            header: header.clone(),
        };
        let path = std::env::temp_dir().join(format!(
            "gopy-send-{}-{}.{}",
            std::process::id(),
            p.unit.code.to_lowercase(),
            a.format.ext()
        ));
        let opinions = r.store.kept_opinions(r.campaign.id, unit.units.clone());
        let written = write_export(a.format, &input, opinions, &path).await;
        let bytes = match written {
            Ok(_) => std::fs::read(&path).map_err(anyhow::Error::from),
            Err(e) => Err(e),
        };
        let _ = std::fs::remove_file(&path);
        let bytes = bytes?;
        for lead in p.recipients() {
            queued.push(NewUnitReport {
                unit: p.unit.code.clone(),
                staff_id: lead.id,
                file_name: file_name(&r.campaign, &p.unit.code, a.format),
                bytes: bytes.clone(),
                opinions: synthesis.opinions,
            });
        }
        lines.push(
            Msg::new("syn-send-queued")
                .text("unit", &p.unit.name)
                .num("opinions", synthesis.opinions)
                .text("leads", names(false)),
        );
        sent_units.push(serde_json::json!({
            "unit": p.unit.code,
            "opinions": synthesis.opinions,
            "leads": p.recipients().map(|l| l.name.clone()).collect::<Vec<_>>(),
        }));
    }
    let detail = serde_json::json!({
        "campaign": r.campaign.id,
        "unit": r.unit,
        "format": a.format.ext(),
        "number": header.number,
        "units": sent_units,
        "not_delivered": not_delivered,
        "os_user": actor(),
    });
    r.store
        .queue_unit_reports(r.campaign.id, &queued, &detail, &actor(), now)
        .await?;
    for line in &lines {
        println!("{}", say(line));
    }
    println!(
        "{}",
        say(&Msg::new("syn-send-done")
            .num("queued", queued.len() as i64)
            .num("units", sent_units.len() as i64)
            .num("missing", not_delivered.len() as i64))
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn campaign() -> Campaign {
        let mut c = crate::synthesis::bench::bench_campaign("t");
        c.units.truncate(4);
        c
    }

    fn lead(id: i64, unit: &str, telegram: Option<i64>, zalo: Option<&str>) -> UnitLead {
        UnitLead {
            id,
            name: format!("lead{id}"),
            unit: unit.to_owned(),
            telegram_user_id: telegram,
            zalo_user_id: zalo.map(str::to_owned),
        }
    }

    #[test]
    fn each_unit_goes_to_its_own_linked_leads_and_the_others_say_why_not() {
        let c = campaign();
        let leads = vec![
            lead(1, "bench-tdp-1", Some(11), None),
            lead(2, "bench-tdp-1", None, None),
            lead(3, "bench-tdp-2", None, Some("z3")),
            lead(4, "bench-tdp-3", None, None),
            // A lead of the ward does not get a group's report, only the ward's.
            lead(5, "bench-ward", Some(15), None),
        ];
        let p = plan(&c, None, &leads);
        let got: Vec<(&str, Vec<i64>, Option<Missing>)> = p
            .iter()
            .map(|p| {
                (
                    p.unit.code.as_str(),
                    p.recipients().map(|l| l.id).collect(),
                    p.missing,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("bench-ward", vec![5], None),
                ("bench-tdp-1", vec![1], None),
                ("bench-tdp-2", vec![], Some(Missing::ZaloOnly)),
                ("bench-tdp-3", vec![], Some(Missing::NotLinked)),
            ]
        );
        let under = plan(&c, Some("bench-tdp-2"), &[]);
        assert_eq!(under.len(), 1);
        assert_eq!(under[0].missing, Some(Missing::NoLead));
    }
}
