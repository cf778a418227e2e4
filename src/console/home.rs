//! The overview (dashboard): for the chosen campaign, its phase and the time left, opinions
//! per topic and per day and participation by unit as server-drawn charts, the latest
//! broadcasts' progress, and the moderation queue's size. A unit lead's figures count only
//! their unit's subtree.

use axum::extract::{Query, State};
use axum::response::Response;
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::Console;
use super::charts::{figures, phase_now};
use super::web::{Failure, Signed};
use crate::announce::access::{UnitTree, in_scope};
use crate::domain::format_local;
use crate::moderation::Status;
use crate::store::ItemFilter;
use crate::store::announce::Role;

/// `?campaign=<slug>`
#[derive(Debug, Deserialize)]
pub struct Choose {
    /// The campaign to show (the newest by default).
    campaign: Option<String>,
}

/// A campaign in the chooser.
#[derive(Debug, Serialize)]
struct CampaignLink {
    slug: String,
    title: String,
    chosen: bool,
}

/// A broadcast's progress line.
#[derive(Debug, Serialize)]
struct Progress {
    id: i64,
    excerpt: String,
    state: &'static str,
    sent: i64,
    failed: i64,
    pending: i64,
    total: i64,
    percent: i64,
}

/// How many queue items the overview counts at most.
const QUEUE_COUNT_LIMIT: i64 = 10_000;

/// `GET /console`
pub async fn show(
    State(console): State<Console>,
    signed: Signed,
    Query(q): Query<Choose>,
) -> Response {
    match build(&console, &signed, q).await {
        Ok(page) => console.page(&signed.ctx, Some(&signed.session), "home.html", page),
        Err(f) => console.error_page(&signed.ctx, Some(&signed.session), f),
    }
}

async fn build(console: &Console, signed: &Signed, q: Choose) -> Result<minijinja::Value, Failure> {
    let store = console.store();
    let staff = &signed.session.staff;
    let now = console.now();
    let campaigns = store.campaigns().await?;
    let chosen = q
        .campaign
        .as_deref()
        .and_then(|slug| campaigns.iter().find(|c| c.slug == slug))
        .or_else(|| campaigns.last());
    let tree = UnitTree::new(store.unit_nodes().await?);
    let visible = |unit: Option<&str>| match (unit, staff.unit.as_deref()) {
        (_, None) => true,
        (Some(u), Some(_)) => in_scope(staff, u, &tree),
        (None, Some(_)) => false,
    };
    let (campaign, figs, phase) = match chosen {
        Some(c) => {
            let opinions = store.campaign_opinions(c.id).await?;
            let collect = c.phase(crate::domain::PhaseKind::Collect).map(|p| {
                (
                    format_local(p.starts_at),
                    crate::domain::format_local_end(p.ends_at),
                )
            });
            (
                Some(
                    context! { slug => c.slug.clone(), title => c.title.clone(), collect => collect },
                ),
                Some(figures(c, &opinions, visible)),
                Some(phase_now(c, now)),
            )
        }
        None => (None, None, None),
    };
    let links: Vec<CampaignLink> = campaigns
        .iter()
        .map(|c| CampaignLink {
            slug: c.slug.clone(),
            title: c.title.clone(),
            chosen: chosen.is_some_and(|x| x.id == c.id),
        })
        .collect();
    let mut progress = Vec::new();
    for b in store.recent_broadcasts(5).await? {
        let reaches_outside = b.audience.units.iter().any(|u| !in_scope(staff, u, &tree))
            || (!b.audience.groups.is_empty() && staff.unit.is_some());
        if reaches_outside {
            continue;
        }
        let counts = store.delivery_counts(b.id).await?;
        let total = counts.pending + counts.sent + counts.failed + counts.cancelled;
        let excerpt: String = b.text.chars().take(80).collect();
        progress.push(Progress {
            id: b.id,
            excerpt,
            state: b.state.as_str(),
            sent: counts.sent,
            failed: counts.failed,
            pending: counts.pending,
            total,
            percent: if total > 0 {
                (counts.sent + counts.failed) * 100 / total
            } else {
                0
            },
        });
    }
    let queue = if signed.has_any(&[Role::Moderator]) {
        let items = store
            .moderation_items(ItemFilter {
                status: Some(Status::Queued),
                limit: QUEUE_COUNT_LIMIT,
            })
            .await?;
        Some(items.len())
    } else {
        None
    };
    Ok(context! {
        campaigns => links,
        campaign => campaign,
        figures => figs,
        phase => phase,
        broadcasts => progress,
        queue => queue,
    })
}
