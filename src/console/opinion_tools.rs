//! What officials do to opinions besides reading them: classify one from the opinions list
//! (file it under another topic or section, add or take back an extra topic, set its
//! stance), import a table of opinions (CSV or XLSX, the documented template, checked row by
//! row: every problem is shown with its row number and nothing is stored unless every row is
//! right), and download that template for a campaign.
//!
//! The rules are the CLI's: `synthesis::cli::classification_changes` and
//! `synthesis::import::{read_csv, read_xlsx, validate, template_csv, template_xlsx}`; the
//! store audits each classification and each import in its transaction with the staff
//! user's name, and the console adds a `console.*` line with the address it came from.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Deserialize;

use super::Console;
use super::web::{Failure, Signed};
use crate::announce::access::{UnitTree, in_scope};
use crate::dialog::Msg;
use crate::domain::Campaign;
use crate::i18n::Markup;
use crate::synthesis::RecordBatch;
use crate::synthesis::import::{self, Defaults};

/// The largest table file (with the form around it) the import accepts.
pub const MAX_TABLE_BYTES: usize = 20 * 1024 * 1024;

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

/// The classification form of one opinion.
#[derive(Debug, Default, Deserialize)]
pub struct ClassifyForm {
    #[serde(default)]
    csrf: String,
    /// The campaign's slug.
    #[serde(default)]
    campaign: String,
    /// The topic to file it under (empty: unchanged).
    #[serde(default)]
    topic: String,
    /// The section (with `topic`, `add_topic`, `remove_topic`).
    #[serde(default)]
    section: String,
    /// An extra topic to add (empty: none).
    #[serde(default)]
    add_topic: String,
    /// An extra topic to take back (empty: none).
    #[serde(default)]
    remove_topic: String,
    /// The stance: empty leaves it, `none` clears it.
    #[serde(default)]
    stance: String,
}

/// `POST /console/opinions/{reference}/classify`: each change asked for is applied and
/// audited; then back to the list with what happened.
pub async fn classify(
    State(console): State<Console>,
    signed: Signed,
    Path(reference): Path<String>,
    axum::Form(f): axum::Form<ClassifyForm>,
) -> Response {
    if !signed.csrf_ok(&f.csrf) {
        return console.error_page(&signed.ctx, Some(&signed.session), Failure::FormExpired);
    }
    let result: Result<Response, Failure> = async {
        let store = console.store();
        let c = campaign(&console, &f.campaign).await?;
        let opinion = store
            .campaign_opinions(c.id)
            .await?
            .into_iter()
            .find(|o| o.reference == reference)
            .ok_or(Failure::NotFound)?;
        let staff = &signed.session.staff;
        let tree = UnitTree::new(store.unit_nodes().await?);
        let visible = match (&opinion.unit, &staff.unit) {
            (_, None) => true,
            (Some(u), Some(_)) => in_scope(staff, u, &tree),
            (None, Some(_)) => false,
        };
        if !visible {
            return Err(Failure::OutOfScope);
        }
        let some = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        let (topic, add, remove, stance) = (
            some(&f.topic).filter(|t| *t != opinion.topic || !f.section.trim().is_empty()),
            some(&f.add_topic),
            some(&f.remove_topic),
            some(&f.stance),
        );
        let back = |msg: &str| {
            format!(
                "/console/opinions?campaign={}&done={}&ref={}#o-{}",
                super::web::urlencode(&c.slug),
                super::web::urlencode(msg),
                super::web::urlencode(&reference),
                super::web::urlencode(&reference),
            )
        };
        let changes = match crate::synthesis::cli::classification_changes(
            &c,
            topic.as_deref(),
            &f.section,
            add.as_deref(),
            remove.as_deref(),
            stance.as_deref(),
        ) {
            Ok(changes) => changes,
            Err(msgs) => {
                let text = msgs
                    .iter()
                    .map(|m| console.views().text(signed.ctx.lang, m, Markup::Plain))
                    .collect::<Vec<_>>()
                    .join(" ");
                return Ok(Redirect::to(&back(&text)).into_response());
            }
        };
        if changes.is_empty() {
            let text = console.views().text(
                signed.ctx.lang,
                &Msg::new("console-classify-nothing"),
                Markup::Plain,
            );
            return Ok(Redirect::to(&back(&text)).into_response());
        }
        let by = staff.name.clone();
        let mut applied = 0;
        for change in &changes {
            if store
                .classify(opinion.id, change, &by, console.now())
                .await?
            {
                applied += 1;
            }
        }
        let entry = signed.audit(
            "console.opinions.classify",
            console.now(),
            serde_json::json!({
                "campaign": c.id, "opinion": opinion.id, "reference": reference,
                "changes": changes, "applied": applied,
            }),
        );
        if let Err(e) = store.audit(&entry).await {
            tracing::warn!(error = %e, "cannot write the console's audit line");
        }
        let text = console.views().text(
            signed.ctx.lang,
            &Msg::new("console-classified")
                .text("reference", &reference)
                .num("changes", applied),
            Markup::Plain,
        );
        Ok(Redirect::to(&back(&text)).into_response())
    }
    .await;
    result.unwrap_or_else(|f| console.error_page(&signed.ctx, Some(&signed.session), f))
}

/// `?campaign=` on the import page and the template download.
#[derive(Debug, Default, Deserialize)]
pub struct CampaignQuery {
    #[serde(default)]
    campaign: String,
    /// `xlsx` (default) or `csv`, for the template.
    #[serde(default)]
    format: String,
}

/// Renders the import page.
async fn import_page(
    console: &Console,
    signed: &Signed,
    chosen: &str,
    problems: &[String],
    done: Option<(usize, String, u64)>,
) -> Response {
    let result: Result<Response, Failure> = async {
        let campaigns = console.store().campaigns().await?;
        let chosen = campaigns
            .iter()
            .find(|c| c.slug == chosen)
            .or_else(|| campaigns.last())
            .map(|c| c.slug.clone());
        let columns: Vec<_> = import::TEMPLATE
            .iter()
            .map(|(_, vi, en)| context! { vi => *vi, en => *en })
            .collect();
        let mut res = console.page(
            &signed.ctx,
            Some(&signed.session),
            "opinion_import.html",
            context! {
                campaigns => campaigns.iter().map(|c| context! { slug => c.slug.clone(), title => c.title.clone() }).collect::<Vec<_>>(),
                chosen => chosen,
                columns => columns,
                problems => problems,
                done => done.map(|(count, file, duplicates)| context! { count => count, file => file, duplicates => duplicates }),
            },
        );
        if !problems.is_empty() {
            *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        }
        Ok(res)
    }
    .await;
    result.unwrap_or_else(|f| console.error_page(&signed.ctx, Some(&signed.session), f))
}

/// `GET /console/opinions/import`
pub async fn import_form(
    State(console): State<Console>,
    signed: Signed,
    Query(q): Query<CampaignQuery>,
) -> Response {
    import_page(&console, &signed, &q.campaign, &[], None).await
}

/// `GET /console/opinions/template`: the import template of a campaign (XLSX, or CSV).
pub async fn template(
    State(console): State<Console>,
    signed: Signed,
    Query(q): Query<CampaignQuery>,
) -> Response {
    let result: Result<Response, Failure> = async {
        let c = campaign(&console, &q.campaign).await?;
        let (bytes, ext, content_type) = if q.format == "csv" {
            (
                import::template_csv(&c).map_err(Failure::Internal)?,
                "csv",
                "text/csv; charset=utf-8",
            )
        } else {
            let path = std::env::temp_dir()
                .join(format!("gopy-template-{}.xlsx", super::auth::new_token()));
            let written = import::template_xlsx(&c, &path);
            let read = match written {
                Ok(()) => tokio::fs::read(&path)
                    .await
                    .map_err(|e| Failure::Internal(e.into())),
                Err(e) => Err(Failure::Internal(e)),
            };
            let _ = tokio::fs::remove_file(&path).await;
            (
                read?,
                "xlsx",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
        };
        let mut res = bytes.into_response();
        let h = res.headers_mut();
        h.insert("content-type", HeaderValue::from_static(content_type));
        if let Ok(v) = HeaderValue::from_str(&format!(
            "attachment; filename=\"mau-nhap-y-kien-{}.{ext}\"",
            c.slug
        )) {
            h.insert("content-disposition", v);
        }
        Ok(res)
    }
    .await;
    result.unwrap_or_else(|f| console.error_page(&signed.ctx, Some(&signed.session), f))
}

/// `POST /console/opinions/import` (multipart: `csrf`, `campaign`, `file`): every row is
/// checked first; nothing is stored when anything is wrong. A body that is not a multipart
/// form cannot carry the form's token and is refused as an expired form.
pub async fn import(
    State(console): State<Console>,
    signed: Signed,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let Some(parts) = super::upload::parts(&headers, &body) else {
        return console.error_page(&signed.ctx, Some(&signed.session), Failure::FormExpired);
    };
    let text = |name: &str| {
        parts
            .iter()
            .find(|p| p.name == name)
            .map(|p| String::from_utf8_lossy(&p.data).into_owned())
            .unwrap_or_default()
    };
    let csrf = text("csrf");
    let slug = text("campaign");
    let file = parts
        .iter()
        .find(|p| p.name == "file")
        .map(|p| (p.file_name.clone().unwrap_or_default(), p.data.clone()));
    if !signed.csrf_ok(&csrf) {
        return console.error_page(&signed.ctx, Some(&signed.session), Failure::FormExpired);
    }
    let lang = signed.ctx.lang;
    let say = |m: &Msg| console.views().text(lang, m, Markup::Plain);
    let result: Result<Response, Failure> = async {
        let c = campaign(&console, &slug).await?;
        // An import files opinions under any unit of the campaign: whole-campaign scope.
        let staff = &signed.session.staff;
        let tree = UnitTree::new(console.store().unit_nodes().await?);
        if staff.unit.is_some()
            && !c
                .units
                .first()
                .is_some_and(|root| in_scope(staff, &root.code, &tree))
        {
            return Err(Failure::OutOfScope);
        }
        let Some((name, bytes)) = file.filter(|(_, b)| !b.is_empty()) else {
            let p = say(&Msg::new("console-import-no-file"));
            return Ok(import_page(&console, &signed, &slug, &[p], None).await);
        };
        let lower = name.to_lowercase();
        let rows = if lower.ends_with(".xlsx") {
            import::read_xlsx(&bytes)
        } else if lower.ends_with(".csv") || lower.ends_with(".txt") {
            import::read_csv(&bytes)
        } else {
            Err(import::Problem {
                row: None,
                msg: Msg::new("syn-unknown-extension"),
            })
        };
        let show = |p: &import::Problem| match p.row {
            Some(row) => say(&Msg::new("syn-import-row")
                .num("row", row as i64)
                .text("problem", say(&p.msg))),
            None => say(&p.msg),
        };
        let rows = match rows {
            Ok(rows) => rows,
            Err(p) => return Ok(import_page(&console, &signed, &slug, &[show(&p)], None).await),
        };
        let now = console.now();
        let opinions = match import::validate(&c, &rows, &Defaults::default(), now) {
            Ok(o) => o,
            Err(problems) => {
                let mut shown: Vec<String> = vec![say(
                    &Msg::new("syn-import-refused").num("count", problems.len() as i64)
                )];
                shown.extend(problems.iter().map(show));
                return Ok(import_page(&console, &signed, &slug, &shown, None).await);
            }
        };
        let count = opinions.len();
        let outcome = console
            .store()
            .record_opinions(&RecordBatch {
                campaign_id: c.id,
                meeting: None,
                file: Some(name.clone()),
                opinions,
                actor: staff.name.clone(),
                at: now,
            })
            .await?;
        let entry = signed.audit(
            "console.opinions.import",
            now,
            serde_json::json!({ "campaign": c.id, "file": name, "opinions": count }),
        );
        if let Err(e) = console.store().audit(&entry).await {
            tracing::warn!(error = %e, "cannot write the console's audit line");
        }
        // Screened as every other opinion is: a flagged one waits for a moderator.
        if let Some(screener) = console.screener() {
            let fresh = console.store().opinions_to_scan(c.id).await?;
            fresh
                .into_iter()
                .filter(|o| outcome.ids.contains(&o.opinion_id))
                .for_each(|o| screener.submit(o));
        }
        Ok(import_page(
            &console,
            &signed,
            &slug,
            &[],
            Some((count, name, outcome.duplicates)),
        )
        .await)
    }
    .await;
    result.unwrap_or_else(|f| console.error_page(&signed.ctx, Some(&signed.session), f))
}
