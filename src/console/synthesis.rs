//! The synthesis in the console: one campaign's figures per topic, unit, target group and
//! source (for a unit lead, their unit's subtree), building the synthesis (exact duplicates
//! marked, near-duplicate groups rebuilt, the figures recorded), inspecting the
//! near-duplicate groups (merge, split, choose the representative), and exports in CSV,
//! JSON, XLSX and DOCX — anonymous unless a leader asks for names and says why.
//!
//! Nothing here computes a figure or writes a file format: it calls what `gopy synthesis`
//! calls (`synthesis::cli::{build_groups, write_export, named_refusal}`,
//! `synthesis::report::Synthesis`, the synthesis store). The store audits each change in its
//! transaction with the staff user's name; the console adds a `console.*` line with the
//! address the request came from. An export is audited (`synthesis.export` or
//! `synthesis.export.named` with the reason, the address inside) before its file is sent.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use serde::Deserialize;

use super::Console;
use super::web::{Failure, Signed};
use crate::announce::access::{UnitTree, in_scope};
use crate::dialog::Msg;
use crate::domain::{Campaign, Locale};
use crate::i18n::Markup;
use crate::store::announce::Role;
use crate::synthesis::cli::{ExportFormat, Resolved};

/// The campaign with this slug.
async fn campaign(console: &Console, slug: &str) -> Result<Campaign, Failure> {
    console
        .store()
        .campaigns()
        .await?
        .into_iter()
        .find(|c| c.slug == slug)
        .ok_or(Failure::NotFound)
}

/// The unit a synthesis is for: the one asked for (inside the user's scope), else the
/// user's own unit, else the whole campaign (`None`); with the units it covers.
fn scope(
    signed: &Signed,
    c: &Campaign,
    asked: &str,
) -> Result<(Option<String>, Option<Vec<String>>), Failure> {
    let staff = &signed.session.staff;
    let unit = match (asked.trim(), &staff.unit) {
        ("", None) => return Ok((None, None)),
        ("", Some(own)) => own.clone(),
        (u, _) => u.to_owned(),
    };
    let stored = c
        .units
        .iter()
        .find(|x| x.code.eq_ignore_ascii_case(&unit))
        .map(|x| x.code.clone())
        .ok_or(Failure::OutOfScope)?;
    if let Some(own) = &staff.unit
        && !crate::synthesis::report::subtree(c, own).contains(&stored)
    {
        return Err(Failure::OutOfScope);
    }
    let units = crate::synthesis::report::subtree(c, &stored);
    Ok((Some(stored), Some(units)))
}

/// Whether the user's scope holds the whole campaign (its root unit): building and
/// regrouping change the whole campaign's synthesis.
async fn whole_campaign(console: &Console, signed: &Signed, c: &Campaign) -> Result<(), Failure> {
    let staff = &signed.session.staff;
    let Some(root) = c.units.first() else {
        return Ok(());
    };
    let tree = UnitTree::new(console.store().unit_nodes().await?);
    if staff.unit.is_none() || in_scope(staff, &root.code, &tree) {
        Ok(())
    } else {
        Err(Failure::OutOfScope)
    }
}

/// A message in the page's language.
fn say(console: &Console, lang: Locale, msg: &Msg) -> String {
    console.views().text(lang, msg, Markup::Plain)
}

/// The console's own audit line for a change the store audited, adding where it came from.
async fn audit_from(console: &Console, signed: &Signed, action: &str, detail: serde_json::Value) {
    let entry = signed.audit(action, console.now(), detail);
    if let Err(e) = console.store().audit(&entry).await {
        tracing::warn!(error = %e, action, "cannot write the console's audit line");
    }
}

/// `?unit=` on the synthesis page.
#[derive(Debug, Default, Deserialize)]
pub struct UnitQuery {
    #[serde(default)]
    unit: String,
    /// A message to show (after an action).
    #[serde(default)]
    done: String,
}

/// `GET /console/synthesis`: the campaigns, each with a link to its synthesis.
pub async fn index(State(console): State<Console>, signed: Signed) -> Response {
    match console.store().campaign_summaries().await {
        Ok(list) => console.page(
            &signed.ctx,
            Some(&signed.session),
            "synthesis_index.html",
            context! {
                campaigns => list.into_iter().map(|c| context! { slug => c.slug, title => c.title, opinions => c.opinions }).collect::<Vec<_>>(),
            },
        ),
        Err(e) => console.error_page(&signed.ctx, Some(&signed.session), e.into()),
    }
}

/// `GET /console/campaigns/{slug}/synthesis`
pub async fn show(
    State(console): State<Console>,
    signed: Signed,
    Path(slug): Path<String>,
    Query(q): Query<UnitQuery>,
) -> Response {
    page(&console, &signed, &slug, &q.unit, &q.done, None).await
}

/// Renders the synthesis page, with an error about the export form when there is one.
async fn page(
    console: &Console,
    signed: &Signed,
    slug: &str,
    unit: &str,
    done: &str,
    error: Option<String>,
) -> Response {
    let result: Result<Response, Failure> = async {
        let c = campaign(console, slug).await?;
        let (unit, units) = scope(signed, &c, unit)?;
        let lang = signed.ctx.lang;
        let r = Resolved {
            store: console.store().clone(),
            campaign: c.clone(),
            unit: unit.clone(),
            units,
            locale: lang,
        };
        let synthesis = r.synthesis().await.map_err(Failure::Internal)?;
        let staff = &signed.session.staff;
        let tree = UnitTree::new(console.store().unit_nodes().await?);
        let whole = staff.unit.is_none()
            || c.units
                .first()
                .is_some_and(|root| in_scope(staff, &root.code, &tree));
        let groups = if whole {
            console.store().opinion_groups(c.id).await?.len()
        } else {
            0
        };
        let done = match done {
            "built" => Some("console-synthesis-built"),
            _ => None,
        };
        let failed = error.is_some();
        // The DOCX fields, prefilled with this unit's defaults (the official edits them).
        let header =
            crate::synthesis::export::DocHeader::default().resolved(&c, unit.as_deref(), lang);
        let mut res = console.page(
            &signed.ctx,
            Some(&signed.session),
            "synthesis.html",
            context! {
                c => context! { slug => c.slug.clone(), title => c.title.clone() },
                s => Value::from_serialize(&synthesis),
                unit => unit,
                units => c.units.iter()
                    .filter(|u| staff.unit.is_none() || in_scope(staff, &u.code, &tree))
                    .map(|u| context! { code => u.code.clone(), name => u.name.clone() })
                    .collect::<Vec<_>>(),
                may_build => whole && signed.has_any(&[Role::Official]),
                may_name => crate::synthesis::cli::NAMED_EXPORT_ROLES.iter().any(|r| staff.has(*r)),
                groups => groups,
                doc => context! {
                    signer_title => header.signer_title.join("\n"),
                    recipients => header.recipients.join("\n"),
                },
                done => done,
                error => error,
            },
        );
        if failed {
            *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        }
        Ok(res)
    }
    .await;
    result.unwrap_or_else(|f| console.error_page(&signed.ctx, Some(&signed.session), f))
}

/// A form with only its CSRF token.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /console/campaigns/{slug}/synthesis/build`: marks exact duplicates, rebuilds the
/// near-duplicate groups (keeping what officials confirmed) and records the figures, as
/// `gopy synthesis build` does.
pub async fn build(
    State(console): State<Console>,
    signed: Signed,
    Path(slug): Path<String>,
    axum::Form(f): axum::Form<CsrfForm>,
) -> Response {
    if !signed.csrf_ok(&f.csrf) {
        return console.error_page(&signed.ctx, Some(&signed.session), Failure::FormExpired);
    }
    let result: Result<Response, Failure> = async {
        let c = campaign(&console, &slug).await?;
        whole_campaign(&console, &signed, &c).await?;
        let store = console.store();
        let by = signed.session.staff.name.clone();
        let marked = store.mark_duplicates(c.id).await?;
        let (groups, grouped) = crate::synthesis::cli::build_groups(
            store,
            &c,
            crate::synthesis::similar::DEFAULT_THRESHOLD,
            &by,
        )
        .await
        .map_err(Failure::Internal)?;
        let r = Resolved {
            store: store.clone(),
            campaign: c.clone(),
            unit: None,
            units: None,
            locale: signed.ctx.lang,
        };
        let synthesis = r.synthesis().await.map_err(Failure::Internal)?;
        let summary = serde_json::to_value(&synthesis).map_err(|e| Failure::Internal(e.into()))?;
        let id = store
            .save_build(c.id, None, &summary, &by, console.now())
            .await?;
        audit_from(
            &console,
            &signed,
            "console.synthesis.build",
            serde_json::json!({
                "campaign": c.id, "build": id, "duplicates": marked,
                "groups": groups, "grouped": grouped,
            }),
        )
        .await;
        Ok(
            Redirect::to(&format!("/console/campaigns/{slug}/synthesis?done=built"))
                .into_response(),
        )
    }
    .await;
    result.unwrap_or_else(|f| console.error_page(&signed.ctx, Some(&signed.session), f))
}

/// The export form.
#[derive(Debug, Default, Deserialize)]
pub struct ExportForm {
    #[serde(default)]
    csrf: String,
    /// csv, json, xlsx or docx.
    #[serde(default)]
    format: String,
    /// The unit (empty: the user's scope).
    #[serde(default)]
    unit: String,
    /// Ticked to include names.
    #[serde(default)]
    named: String,
    /// Why names are needed.
    #[serde(default)]
    reason: String,
    /// The DOCX's number and symbol ("12/BC-UBND"); empty leaves the blank.
    #[serde(default)]
    number: String,
    /// The signer's capacity, one line each.
    #[serde(default)]
    signer_title: String,
    /// The signer's full name.
    #[serde(default)]
    signer_name: String,
    /// The "Nơi nhận" lines.
    #[serde(default)]
    recipients: String,
}

/// `POST /console/campaigns/{slug}/synthesis/export`: the file, as a download.
pub async fn export(
    State(console): State<Console>,
    signed: Signed,
    Path(slug): Path<String>,
    axum::Form(f): axum::Form<ExportForm>,
) -> Response {
    if !signed.csrf_ok(&f.csrf) {
        return console.error_page(&signed.ctx, Some(&signed.session), Failure::FormExpired);
    }
    let lang = signed.ctx.lang;
    let result: Result<Response, Failure> = async {
        let c = campaign(&console, &slug).await?;
        let (unit, units) = scope(&signed, &c, &f.unit)?;
        let format = match f.format.as_str() {
            "csv" => ExportFormat::Csv,
            "json" => ExportFormat::Json,
            "xlsx" => ExportFormat::Xlsx,
            "docx" => ExportFormat::Docx,
            _ => {
                let msg = say(&console, lang, &Msg::new("console-synthesis-format"));
                return Ok(page(&console, &signed, &slug, &f.unit, "", Some(msg)).await);
            }
        };
        let named = !f.named.is_empty();
        let reason = f.reason.trim();
        if named {
            if let Some(refusal) =
                crate::synthesis::cli::named_refusal(&signed.session.staff, &c, unit.as_deref())
            {
                let msg = say(&console, lang, &refusal);
                return Ok(page(&console, &signed, &slug, &f.unit, "", Some(msg)).await);
            }
            if reason.chars().count() < 10 {
                let msg = say(&console, lang, &Msg::new("console-synthesis-reason"));
                return Ok(page(&console, &signed, &slug, &f.unit, "", Some(msg)).await);
            }
        }
        let store = console.store();
        let r = Resolved {
            store: store.clone(),
            campaign: c.clone(),
            unit: unit.clone(),
            units: units.clone(),
            locale: lang,
        };
        let synthesis = r.synthesis().await.map_err(Failure::Internal)?;
        let names = match named {
            true => Some(store.opinion_names(c.id).await?),
            false => None,
        };
        let now = console.now();
        let input = crate::synthesis::export::Input {
            campaign: &c,
            synthesis: &synthesis,
            names: names.as_ref(),
            locale: lang,
            generated_at: now,
            place: crate::synthesis::cli::default_place(&c),
            header: crate::synthesis::export::DocHeader::from_fields(
                &f.number,
                std::slice::from_ref(&f.signer_title),
                &f.signer_name,
                std::slice::from_ref(&f.recipients),
            ),
        };
        let file_name = format!(
            "tong-hop-{}{}.{}",
            c.slug,
            unit.as_deref()
                .map(|u| format!("-{}", u.to_lowercase()))
                .unwrap_or_default(),
            format.ext()
        );
        // The writers are the CLI's; they write a file, read back and removed at once.
        let path = std::env::temp_dir().join(format!(
            "gopy-export-{}.{}",
            super::auth::new_token(),
            format.ext()
        ));
        let opinions = store.kept_opinions(c.id, units.clone());
        let written = crate::synthesis::cli::write_export(format, &input, opinions, &path).await;
        let read = match written {
            Ok(n) => tokio::fs::read(&path)
                .await
                .map(|b| (n, b))
                .map_err(|e| Failure::Internal(e.into())),
            Err(e) => Err(Failure::Internal(e)),
        };
        let _ = tokio::fs::remove_file(&path).await;
        let (count, bytes) = read?;
        let detail = serde_json::json!({
            "campaign": c.id,
            "unit": unit,
            "format": format.ext(),
            "file": file_name,
            "opinions": count,
            "named": named,
            "reason": named.then_some(reason),
            "number": input.header.number,
            "ip": signed.ctx.ip,
            "via": "console",
        });
        let action = if named {
            "synthesis.export.named"
        } else {
            "synthesis.export"
        };
        store
            .synthesis_audited(action, &detail, &signed.session.staff.name, now)
            .await?;
        let content_type = match format {
            ExportFormat::Csv => "text/csv; charset=utf-8",
            ExportFormat::Json => "application/json",
            ExportFormat::Xlsx => {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
            ExportFormat::Docx => {
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            }
        };
        let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\""))
            .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
        let mut res = bytes.into_response();
        let h = res.headers_mut();
        h.insert("content-type", HeaderValue::from_static(content_type));
        h.insert("content-disposition", disposition);
        Ok(res)
    }
    .await;
    result.unwrap_or_else(|f| console.error_page(&signed.ctx, Some(&signed.session), f))
}

/// `GET /console/campaigns/{slug}/groups`: the near-duplicate groups, largest first.
pub async fn groups(
    State(console): State<Console>,
    signed: Signed,
    Path(slug): Path<String>,
    Query(q): Query<UnitQuery>,
) -> Response {
    let result: Result<Response, Failure> = async {
        let c = campaign(&console, &slug).await?;
        whole_campaign(&console, &signed, &c).await?;
        let groups = console.store().opinion_groups(c.id).await?;
        let topic = |code: &str| {
            c.topics
                .iter()
                .find(|t| t.code == code)
                .map(|t| t.title.clone())
                .unwrap_or_else(|| code.to_owned())
        };
        let list: Vec<Value> = groups
            .iter()
            .map(|g| {
                let rep = g
                    .representative
                    .and_then(|r| g.members.iter().find(|m| m.0 == r))
                    .or_else(|| g.members.first());
                context! {
                    id => g.id,
                    count => g.members.len(),
                    confirmed => g.confirmed,
                    chosen_by => g.chosen_by.clone(),
                    topic => g.members.first().map(|m| topic(&m.2)),
                    representative => rep.map(|m| m.3.clone()),
                    members => g.members.iter().map(|m| context! {
                        id => m.0, reference => m.1.clone(), text => m.3.clone(),
                        representative => Some(m.0) == g.representative,
                    }).collect::<Vec<_>>(),
                }
            })
            .collect();
        let done = match q.done.as_str() {
            "merged" => Some("console-groups-merged"),
            "split" => Some("console-groups-split"),
            "represent" => Some("console-groups-represented"),
            "none" => Some("console-groups-nothing"),
            _ => None,
        };
        Ok(console.page(
            &signed.ctx,
            Some(&signed.session),
            "synthesis_groups.html",
            context! {
                c => context! { slug => c.slug.clone(), title => c.title.clone() },
                groups => list,
                may_change => signed.has_any(&[Role::Official]),
                done => done,
            },
        ))
    }
    .await;
    result.unwrap_or_else(|f| console.error_page(&signed.ctx, Some(&signed.session), f))
}

/// The merge form: the groups ticked.
#[derive(Debug, Default)]
struct Ticked {
    csrf: String,
    op: String,
    ids: Vec<i64>,
    representative: Option<i64>,
}

fn ticked(pairs: &[(String, String)]) -> Ticked {
    let mut t = Ticked::default();
    for (k, v) in pairs {
        match k.as_str() {
            "csrf" => t.csrf = v.clone(),
            "op" => t.op = v.clone(),
            "id" => t.ids.extend(v.parse::<i64>().ok()),
            "representative" => t.representative = v.parse().ok(),
            _ => {}
        }
    }
    t
}

/// `POST /console/campaigns/{slug}/groups/merge`: the ticked groups become one group an
/// official confirms (the first one's representative kept).
pub async fn merge(
    State(console): State<Console>,
    signed: Signed,
    Path(slug): Path<String>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let t = ticked(&pairs);
    if !signed.csrf_ok(&t.csrf) {
        return console.error_page(&signed.ctx, Some(&signed.session), Failure::FormExpired);
    }
    let result: Result<Response, Failure> = async {
        let c = campaign(&console, &slug).await?;
        whole_campaign(&console, &signed, &c).await?;
        let all = console.store().opinion_groups(c.id).await?;
        let chosen: Vec<_> = all.iter().filter(|g| t.ids.contains(&g.id)).collect();
        if chosen.len() < 2 {
            return Ok(
                Redirect::to(&format!("/console/campaigns/{slug}/groups?done=none"))
                    .into_response(),
            );
        }
        let representative = chosen.iter().find_map(|g| g.representative);
        let members: Vec<i64> = chosen
            .iter()
            .flat_map(|g| g.members.iter().map(|m| m.0))
            .collect();
        let id = console
            .store()
            .regroup(
                c.id,
                &members,
                representative,
                &signed.session.staff.name,
                console.now(),
            )
            .await?;
        audit_from(
            &console,
            &signed,
            "console.opinions.group.merge",
            serde_json::json!({
                "campaign": c.id, "groups": t.ids, "group": id, "opinions": members.len(),
            }),
        )
        .await;
        Ok(Redirect::to(&format!("/console/campaigns/{slug}/groups?done=merged")).into_response())
    }
    .await;
    result.unwrap_or_else(|f| console.error_page(&signed.ctx, Some(&signed.session), f))
}

/// `POST /console/campaigns/{slug}/groups/{id}`: `op=split` takes the ticked members out
/// of the group; `op=represent` makes the chosen member its representative.
pub async fn change(
    State(console): State<Console>,
    signed: Signed,
    Path((slug, group)): Path<(String, i64)>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let t = ticked(&pairs);
    if !signed.csrf_ok(&t.csrf) {
        return console.error_page(&signed.ctx, Some(&signed.session), Failure::FormExpired);
    }
    let result: Result<Response, Failure> = async {
        let c = campaign(&console, &slug).await?;
        whole_campaign(&console, &signed, &c).await?;
        let all = console.store().opinion_groups(c.id).await?;
        let g = all
            .iter()
            .find(|g| g.id == group)
            .ok_or(Failure::NotFound)?;
        let by = signed.session.staff.name.clone();
        let now = console.now();
        let done = match t.op.as_str() {
            "split" => {
                let members: Vec<i64> = t
                    .ids
                    .iter()
                    .copied()
                    .filter(|id| g.members.iter().any(|m| m.0 == *id))
                    .collect();
                if members.is_empty() {
                    "none"
                } else {
                    let n = console.store().ungroup(c.id, &members, &by, now).await?;
                    audit_from(
                        &console,
                        &signed,
                        "console.opinions.group.split",
                        serde_json::json!({
                            "campaign": c.id, "group": group, "opinions": n,
                        }),
                    )
                    .await;
                    "split"
                }
            }
            "represent" => match t.representative {
                Some(o)
                    if console
                        .store()
                        .choose_representative(group, o, &by, now)
                        .await? =>
                {
                    audit_from(
                        &console,
                        &signed,
                        "console.opinions.group.represent",
                        serde_json::json!({
                            "campaign": c.id, "group": group, "opinion": o,
                        }),
                    )
                    .await;
                    "represent"
                }
                _ => "none",
            },
            _ => "none",
        };
        Ok(Redirect::to(&format!("/console/campaigns/{slug}/groups?done={done}")).into_response())
    }
    .await;
    result.unwrap_or_else(|f| console.error_page(&signed.ctx, Some(&signed.session), f))
}
