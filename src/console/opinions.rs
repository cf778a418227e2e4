//! Opinions in the console: one campaign's opinions filtered by topic, unit, target group,
//! source and status, and searched without regard to accents or case (`dong y` finds
//! "Đồng ý"). Residents stay anonymous here: no contact or identity is shown. A unit lead
//! sees only their unit's subtree; an opinion with no unit is seen only by those whose scope
//! is the whole tree.

use axum::extract::{Query, State};
use axum::response::Response;
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::Console;
use super::web::{Failure, Signed};
use crate::announce::access::{UnitTree, in_scope};
use crate::domain::{Opinion, format_local};
use crate::text::fold;

/// How many opinions a page shows at most.
const PAGE: usize = 500;

/// The filters, as the form sends them (empty means any).
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct Filters {
    #[serde(default)]
    campaign: String,
    #[serde(default)]
    topic: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    group: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    q: String,
}

/// Whether an opinion passes the filters; `needle` is the folded search text.
pub fn matches(o: &Opinion, f: &Filters, needle: &str) -> bool {
    let eq = |want: &str, have: Option<&str>| want.is_empty() || have == Some(want);
    eq(&f.topic, Some(&o.topic))
        && eq(&f.unit, o.unit.as_deref())
        && eq(&f.group, o.target_group.as_deref())
        && eq(&f.source, Some(o.source.as_str()))
        && eq(&f.status, Some(o.status.as_str()))
        && (needle.is_empty() || fold(&o.text).contains(needle))
}

/// An opinion as the list shows it.
#[derive(Debug, Serialize)]
struct Line {
    reference: String,
    topic: String,
    unit: String,
    group: String,
    source: &'static str,
    status: &'static str,
    text: String,
    created: String,
}

/// `GET /console/opinions`
pub async fn list(
    State(console): State<Console>,
    signed: Signed,
    Query(f): Query<Filters>,
) -> Response {
    let result: Result<_, Failure> = async {
        let store = console.store();
        let campaigns = store.campaigns().await?;
        let Some(campaign) = campaigns
            .iter()
            .find(|c| c.slug == f.campaign)
            .or_else(|| campaigns.last())
        else {
            return Ok(context! { campaigns => Vec::<String>::new(), lines => Vec::<String>::new(), f => f });
        };
        let tree = UnitTree::new(store.unit_nodes().await?);
        let staff = &signed.session.staff;
        let needle = fold(f.q.trim());
        let opinions = store.campaign_opinions(campaign.id).await?;
        let visible = opinions.iter().filter(|o| match (&o.unit, &staff.unit) {
            (_, None) => true,
            (Some(u), Some(_)) => in_scope(staff, u, &tree),
            (None, Some(_)) => false,
        });
        let found: Vec<&Opinion> = visible.filter(|o| matches(o, &f, &needle)).collect();
        let total = found.len();
        let lines: Vec<Line> = found
            .into_iter()
            .rev()
            .take(PAGE)
            .map(|o| Line {
                reference: o.reference.clone(),
                topic: campaign
                    .topics
                    .iter()
                    .find(|t| t.code == o.topic)
                    .map(|t| t.title.clone())
                    .unwrap_or_else(|| o.topic.clone()),
                unit: o
                    .unit
                    .as_ref()
                    .map(|u| tree.name(u).unwrap_or(u).to_owned())
                    .unwrap_or_default(),
                group: o.target_group.clone().unwrap_or_default(),
                source: o.source.as_str(),
                status: o.status.as_str(),
                text: o.text.clone(),
                created: format_local(o.created_at),
            })
            .collect();
        let units: Vec<_> = campaign
            .units
            .iter()
            .filter(|u| staff.unit.is_none() || in_scope(staff, &u.code, &tree))
            .map(|u| context! { code => u.code.clone(), name => u.name.clone() })
            .collect();
        Ok(context! {
            campaigns => campaigns.iter().map(|c| context! { slug => c.slug.clone(), title => c.title.clone() }).collect::<Vec<_>>(),
            chosen => campaign.slug.clone(),
            topics => campaign.topics.iter().map(|t| context! { code => t.code.clone(), title => t.title.clone() }).collect::<Vec<_>>(),
            units => units,
            groups => campaign.target_groups.iter().map(|g| g.code.clone()).collect::<Vec<_>>(),
            lines => lines,
            total => total,
            shown => total.min(PAGE),
            f => f,
        })
    }
    .await;
    match result {
        Ok(page) => console.page(&signed.ctx, Some(&signed.session), "opinions.html", page),
        Err(f) => console.error_page(&signed.ctx, Some(&signed.session), f),
    }
}
