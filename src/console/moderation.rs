//! The moderators' queue and log in the console: items with their reasons and highlighted
//! matches, and the two decisions (hide: a violation, the opinion or post is kept but not
//! shown or counted; keep: no violation). Decisions go through the `ModerationStore`, which
//! writes the moderation log and the audit log in the transaction that records them. A
//! moderator with a unit scope sees only the items about their units.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::Console;
use super::web::{Failure, Signed};
use crate::announce::access::{UnitTree, in_scope};
use crate::domain::format_local;
use crate::moderation::{Decision, Item, Status, Target, Verdict};
use crate::store::{DecideOutcome, ItemFilter};

/// How many items a page lists.
const PAGE: i64 = 200;

/// `?status=queued|upheld|dismissed|all`
#[derive(Debug, Deserialize)]
pub struct QueueQuery {
    status: Option<String>,
}

/// An item as the queue shows it.
#[derive(Debug, Serialize)]
struct Line {
    id: i64,
    text: String,
    highlighted: String,
    categories: String,
    source: &'static str,
    score: i64,
    status: &'static str,
    created: String,
    what: String,
    decision: Option<(String, String, String)>,
    appeal: Option<String>,
}

/// The unit each opinion belongs to, for scope checks.
async fn opinion_units(console: &Console) -> Result<HashMap<i64, Option<String>>, Failure> {
    let store = console.store();
    let mut units = HashMap::new();
    for c in store.campaigns().await? {
        for o in store.campaign_opinions(c.id).await? {
            units.insert(o.id, o.unit);
        }
    }
    Ok(units)
}

/// Whether the moderator's scope covers the item.
async fn item_in_scope(
    console: &Console,
    signed: &Signed,
    item: &Item,
    tree: &UnitTree,
    opinions: &HashMap<i64, Option<String>>,
) -> Result<bool, Failure> {
    let staff = &signed.session.staff;
    if staff.unit.is_none() {
        return Ok(true);
    }
    let unit = match &item.target {
        Target::Opinion { opinion_id } => opinions.get(opinion_id).cloned().flatten(),
        Target::GroupPost {
            channel, chat_id, ..
        } => console
            .store()
            .group_by_external(*channel, chat_id)
            .await?
            .and_then(|g| g.unit),
    };
    Ok(unit.is_some_and(|u| in_scope(staff, &u, tree)))
}

/// `GET /console/moderation`
pub async fn queue(
    State(console): State<Console>,
    signed: Signed,
    Query(q): Query<QueueQuery>,
) -> Response {
    let status = match q.status.as_deref() {
        None | Some("queued") => Some(Status::Queued),
        Some("all") => None,
        Some(s) => Status::parse(s),
    };
    let result: Result<_, Failure> = async {
        let store = console.store();
        let tree = UnitTree::new(store.unit_nodes().await?);
        let opinions = opinion_units(&console).await?;
        let mut lines = Vec::new();
        for item in store
            .moderation_items(ItemFilter {
                status,
                limit: PAGE,
            })
            .await?
        {
            if !item_in_scope(&console, &signed, &item, &tree, &opinions).await? {
                continue;
            }
            lines.push(Line {
                id: item.id,
                highlighted: item.highlighted(),
                text: item.text.clone(),
                categories: item.categories.join(", "),
                source: item.source.as_str(),
                score: item.score,
                status: item.status.as_str(),
                created: format_local(item.created_at),
                what: match &item.target {
                    Target::Opinion { opinion_id } => format!("#{opinion_id}"),
                    Target::GroupPost {
                        channel,
                        chat_id,
                        message_id,
                    } => {
                        format!("{} {chat_id}/{message_id}", channel.as_str())
                    }
                },
                decision: item
                    .decision
                    .map(|(by, at, reason)| (by, format_local(at), reason)),
                appeal: item.appeal.map(|(text, _)| text),
            });
        }
        Ok(context! {
            items => lines,
            status => status.map(|s| s.as_str()).unwrap_or("all"),
        })
    }
    .await;
    match result {
        Ok(page) => console.page(&signed.ctx, Some(&signed.session), "moderation.html", page),
        Err(f) => console.error_page(&signed.ctx, Some(&signed.session), f),
    }
}

/// A decision as posted.
#[derive(Debug, Deserialize)]
pub struct DecideForm {
    #[serde(default)]
    csrf: String,
    /// `hide` or `keep`.
    #[serde(default)]
    verdict: String,
    /// Why (required to hide: it is the exclusion reason in the synthesis).
    #[serde(default)]
    reason: String,
}

/// `POST /console/moderation/{id}`
pub async fn decide(
    State(console): State<Console>,
    signed: Signed,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<DecideForm>,
) -> Response {
    if !signed.csrf_ok(&f.csrf) {
        return console.error_page(&signed.ctx, Some(&signed.session), Failure::FormExpired);
    }
    let result: Result<Response, Failure> = async {
        let store = console.store();
        let item = store.moderation_item(id).await?.ok_or(Failure::NotFound)?;
        let tree = UnitTree::new(store.unit_nodes().await?);
        let opinions = opinion_units(&console).await?;
        if !item_in_scope(&console, &signed, &item, &tree, &opinions).await? {
            return Err(Failure::OutOfScope);
        }
        let verdict = match f.verdict.as_str() {
            "hide" => Verdict::Uphold,
            "keep" => Verdict::Dismiss,
            _ => return Ok(notice(&console, &signed, "console-moderation-choose")),
        };
        let reason = f.reason.trim().to_owned();
        if verdict == Verdict::Uphold && reason.is_empty() {
            return Ok(notice(
                &console,
                &signed,
                "console-moderation-reason-needed",
            ));
        }
        let decision = Decision {
            item: id,
            verdict,
            by: signed.session.staff.name.clone(),
            reason,
            at: console.now(),
        };
        match store.decide(&decision).await? {
            DecideOutcome::Decided(_) => {
                let entry = signed.audit(
                    "console.request",
                    console.now(),
                    serde_json::json!({ "action": "moderation.decide", "item": id }),
                );
                if let Err(e) = store.audit(&entry).await {
                    tracing::warn!(error = %e, "cannot write the console's audit line");
                }
                Ok(Redirect::to("/console/moderation").into_response())
            }
            DecideOutcome::NotFound => Err(Failure::NotFound),
            DecideOutcome::SameModeratorAfterAppeal => Ok(notice(
                &console,
                &signed,
                "console-moderation-other-moderator",
            )),
        }
    }
    .await;
    result.unwrap_or_else(|f| console.error_page(&signed.ctx, Some(&signed.session), f))
}

/// A short page explaining why a decision was not recorded.
fn notice(console: &Console, signed: &Signed, key: &'static str) -> Response {
    let mut res = console.page(
        &signed.ctx,
        Some(&signed.session),
        "error.html",
        context! { message => key },
    );
    *res.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    res
}

/// `GET /console/moderation/log`
pub async fn log(State(console): State<Console>, signed: Signed) -> Response {
    match console.store().moderation_log(PAGE).await {
        Ok(entries) => {
            let lines: Vec<_> = entries
                .into_iter()
                .map(|e| {
                    context! {
                        at => format_local(e.at),
                        actor => e.actor,
                        action => e.action,
                        item => e.item,
                        detail => e.detail.to_string(),
                    }
                })
                .collect();
            console.page(
                &signed.ctx,
                Some(&signed.session),
                "moderation_log.html",
                context! { entries => lines },
            )
        }
        Err(e) => console.error_page(&signed.ctx, Some(&signed.session), e.into()),
    }
}
