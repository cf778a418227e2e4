//! Campaigns in the console: the list, one campaign with its units, sections, topics and
//! phases, its links (the public page, a chat deep link per unit) and a preview of what the
//! dialog shows residents first; and importing a campaign file pasted into the page, with
//! every problem reported by line and column as `gopy campaign import` reports them.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Deserialize;

use super::Console;
use super::web::{Failure, Signed};
use crate::dialog::Msg;
use crate::domain::{Campaign, format_local, format_local_end};
use crate::i18n::Markup;
use crate::store::StoreError;
use crate::store::announce::Role;

/// `GET /console/campaigns`
pub async fn list(State(console): State<Console>, signed: Signed) -> Response {
    list_with(&console, &signed, "", None).await
}

async fn list_with(
    console: &Console,
    signed: &Signed,
    toml: &str,
    problems: Option<Vec<String>>,
) -> Response {
    match console.store().campaign_summaries().await {
        Ok(list) => {
            let lines: Vec<_> = list
                .into_iter()
                .map(|c| {
                    context! {
                        slug => c.slug,
                        title => c.title,
                        opinions => c.opinions,
                        collect => c.collect.map(|(a, z)| (format_local(a), format_local_end(z))),
                    }
                })
                .collect();
            let failed = problems.is_some();
            let mut res = console.page(
                &signed.ctx,
                Some(&signed.session),
                "campaigns.html",
                context! {
                    campaigns => lines,
                    may_import => signed.has_any(&[Role::Official]),
                    toml => toml,
                    problems => problems,
                },
            );
            if failed {
                *res.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            }
            res
        }
        Err(e) => console.error_page(&signed.ctx, Some(&signed.session), e.into()),
    }
}

/// The consent notice and topic menu as the dialog shows them.
fn dialog_preview(console: &Console, signed: &Signed, c: &Campaign) -> Vec<String> {
    let lang = signed.ctx.lang;
    let v = console.views();
    let mut lines = vec![
        v.text(
            lang,
            &Msg::new("consent-welcome")
                .text("title", &c.title)
                .text("intro", &c.intro),
            Markup::Plain,
        ),
        v.text(
            lang,
            &Msg::new("consent-notice")
                .text("issuer", &c.issuer)
                .text("document", &c.document_title)
                .text("purpose", &c.purpose)
                .num("months", i64::from(c.retention_months)),
            Markup::Plain,
        ),
        v.text(lang, &Msg::new("consent-question"), Markup::Plain),
    ];
    for (i, t) in c.topics.iter().enumerate() {
        lines.push(format!("{}. {}\n{}", i + 1, t.title, t.question));
    }
    lines
}

/// `GET /console/campaigns/{slug}`
pub async fn show(
    State(console): State<Console>,
    signed: Signed,
    Path(slug): Path<String>,
) -> Response {
    let result: Result<_, Failure> = async {
        let campaigns = console.store().campaigns().await?;
        let c = campaigns.iter().find(|c| c.slug == slug).ok_or(Failure::NotFound)?;
        let tree = crate::announce::access::UnitTree::new(console.store().unit_nodes().await?);
        let may_edit = signed.has_any(&[Role::Official])
            && super::campaign_form::may_change(&signed, c, &tree);
        Ok(context! {
            c => context! {
                slug => c.slug.clone(),
                title => c.title.clone(),
                issuer => c.issuer.clone(),
                document => c.document_title.clone(),
                intro => c.intro.clone(),
                units => c.units.iter().map(|u| context! {
                    code => u.code.clone(),
                    name => u.name.clone(),
                    parent => u.parent.clone(),
                    link => crate::campaign::deep_link(&c.slug, &u.code),
                }).collect::<Vec<_>>(),
                sections => c.sections.iter().map(|s| context! { reference => s.reference.clone(), title => s.title.clone(), summary => s.summary.clone() }).collect::<Vec<_>>(),
                topics => c.topics.iter().map(|t| context! { code => t.code.clone(), title => t.title.clone(), question => t.question.clone() }).collect::<Vec<_>>(),
                phases => c.phases.iter().map(|p| context! { kind => p.kind.as_str(), from => format_local(p.starts_at), to => format_local_end(p.ends_at) }).collect::<Vec<_>>(),
            },
            preview => dialog_preview(&console, &signed, c),
            may_edit => may_edit,
            may_synthesis => signed.has_any(super::routes::OPINION_READERS),
        })
    }
    .await;
    match result {
        Ok(page) => console.page(&signed.ctx, Some(&signed.session), "campaign.html", page),
        Err(f) => console.error_page(&signed.ctx, Some(&signed.session), f),
    }
}

/// The import form.
#[derive(Debug, Deserialize)]
pub struct ImportForm {
    #[serde(default)]
    csrf: String,
    /// The campaign file's text.
    #[serde(default)]
    toml: String,
}

/// `POST /console/campaigns`: imports a pasted campaign file.
pub async fn import(
    State(console): State<Console>,
    signed: Signed,
    axum::Form(f): axum::Form<ImportForm>,
) -> Response {
    if !signed.csrf_ok(&f.csrf) {
        return console.error_page(&signed.ctx, Some(&signed.session), Failure::FormExpired);
    }
    let (campaign, reports) = match crate::campaign::parse_file(&f.toml) {
        Ok(f) => (f.campaign, f.reports),
        Err(problems) => {
            let problems = problems.iter().map(ToString::to_string).collect();
            return list_with(&console, &signed, &f.toml, Some(problems)).await;
        }
    };
    match console.store().insert_campaign(&campaign).await {
        Ok(id) => {
            let entry = signed.audit(
                "campaign.import",
                console.now(),
                serde_json::json!({ "campaign": id, "slug": campaign.slug }),
            );
            if let Err(e) = console.store().audit(&entry).await {
                tracing::warn!(error = %e, "cannot audit a campaign import");
            }
            // The file's report dates, each audited as the official who imported it.
            let by = entry.actor.clone();
            if let Err(e) = crate::reports::import_dates(
                console.store().as_ref(),
                id,
                &reports,
                &by,
                console.now(),
            )
            .await
            {
                tracing::warn!(error = %e, "cannot store a campaign file's report dates");
            }
            Redirect::to(&format!("/console/campaigns/{}", campaign.slug)).into_response()
        }
        Err(StoreError::Conflict(_)) => {
            let key = console.views().text(
                signed.ctx.lang,
                &Msg::new("console-campaign-exists"),
                Markup::Plain,
            );
            list_with(&console, &signed, &f.toml, Some(vec![key])).await
        }
        Err(e) => console.error_page(&signed.ctx, Some(&signed.session), e.into()),
    }
}
