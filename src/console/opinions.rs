//! Opinions in the console: one campaign's opinions filtered by topic, unit, target group,
//! source and status, and searched without regard to accents or case (`dong y` finds
//! "Đồng ý"). Residents stay anonymous here: no contact or identity is shown. A unit lead
//! sees only their unit's subtree; an opinion with no unit is seen only by those whose scope
//! is the whole tree. Officials also record what was said at a meeting (source `meeting`).

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
    /// What a classification just did (shown once).
    #[serde(default)]
    done: String,
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
    topic_code: String,
    section: String,
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
                topic_code: o.topic.clone(),
                section: o.section.clone().unwrap_or_default(),
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
            may_record => signed.has_any(&[crate::store::announce::Role::Official]),
            sections => campaign.sections.iter().map(|s| context! { reference => s.reference.clone(), title => s.title.clone() }).collect::<Vec<_>>(),
            done => Some(f.done.clone()).filter(|d| !d.is_empty()),
            f => f,
        })
    }
    .await;
    match result {
        Ok(page) => console.page(&signed.ctx, Some(&signed.session), "opinions.html", page),
        Err(f) => console.error_page(&signed.ctx, Some(&signed.session), f),
    }
}

/// The form to record what a meeting said.
#[derive(Debug, Default, Deserialize)]
pub struct RecordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    campaign: String,
    #[serde(default)]
    topic: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    group: String,
    /// The meeting, e.g. "Hội nghị lấy ý kiến Hội Cựu chiến binh, 15/7".
    #[serde(default)]
    meeting: String,
    /// One opinion per paragraph (blank lines separate them).
    #[serde(default)]
    text: String,
}

/// Renders the recording form.
async fn record_page(
    console: &Console,
    signed: &Signed,
    f: &RecordForm,
    error: Option<&'static str>,
    done: Option<(String, usize)>,
) -> Response {
    let result: Result<_, Failure> = async {
        let store = console.store();
        let campaigns = store.campaigns().await?;
        let tree = UnitTree::new(store.unit_nodes().await?);
        let staff = &signed.session.staff;
        let c = campaigns
            .iter()
            .find(|c| c.slug == f.campaign)
            .or_else(|| campaigns.last());
        Ok(context! {
            campaigns => campaigns.iter().map(|c| context! { slug => c.slug.clone(), title => c.title.clone() }).collect::<Vec<_>>(),
            chosen => c.map(|c| c.slug.clone()),
            topics => c.map(|c| c.topics.iter().map(|t| context! { code => t.code.clone(), title => t.title.clone() }).collect::<Vec<_>>()),
            units => c.map(|c| c.units.iter().filter(|u| in_scope(staff, &u.code, &tree)).map(|u| context! { code => u.code.clone(), name => u.name.clone() }).collect::<Vec<_>>()),
            groups => c.map(|c| c.target_groups.iter().map(|g| g.code.clone()).collect::<Vec<_>>()),
            f => context! { topic => f.topic.clone(), unit => f.unit.clone(), group => f.group.clone(), meeting => f.meeting.clone(), text => f.text.clone() },
            error => error,
            done => done.map(|(receipt, count)| context! { receipt => receipt, count => count }),
        })
    }
    .await;
    match result {
        Ok(page) => {
            let mut res = console.page(
                &signed.ctx,
                Some(&signed.session),
                "opinion_record.html",
                page,
            );
            if error.is_some() {
                *res.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            }
            res
        }
        Err(f) => console.error_page(&signed.ctx, Some(&signed.session), f),
    }
}

/// `GET /console/opinions/new`
pub async fn record_form(State(console): State<Console>, signed: Signed) -> Response {
    record_page(&console, &signed, &RecordForm::default(), None, None).await
}

/// `POST /console/opinions`: records the opinions heard at a meeting (source `meeting`),
/// one per paragraph, under one receipt, screened by moderation like any other.
pub async fn record(
    State(console): State<Console>,
    signed: Signed,
    axum::Form(f): axum::Form<RecordForm>,
) -> Response {
    use unicode_normalization::UnicodeNormalization as _;
    if !signed.csrf_ok(&f.csrf) {
        return console.error_page(&signed.ctx, Some(&signed.session), Failure::FormExpired);
    }
    let result: Result<Response, Failure> = async {
        let store = console.store();
        let campaigns = store.campaigns().await?;
        let c = campaigns
            .iter()
            .find(|c| c.slug == f.campaign)
            .ok_or(Failure::NotFound)?;
        let staff = &signed.session.staff;
        let tree = UnitTree::new(store.unit_nodes().await?);
        if !c.topics.iter().any(|t| t.code == f.topic) {
            return Ok(
                record_page(&console, &signed, &f, Some("console-record-topic"), None).await,
            );
        }
        let unit = match f.unit.trim() {
            "" => staff.unit.clone(),
            u if c.units.iter().any(|x| x.code == u) => Some(u.to_owned()),
            _ => {
                return Ok(record_page(
                    &console,
                    &signed,
                    &f,
                    Some("console-broadcast-unknown-unit"),
                    None,
                )
                .await);
            }
        };
        if let Some(u) = &unit
            && !in_scope(staff, u, &tree)
        {
            return Err(Failure::OutOfScope);
        }
        let group = Some(f.group.clone()).filter(|g| c.target_groups.iter().any(|x| &x.code == g));
        let texts: Vec<(String, String)> = f
            .text
            .split("\n\n")
            .map(|p| p.trim().nfc().collect::<String>())
            .filter(|p| !p.is_empty())
            .map(|p| (f.topic.clone(), p))
            .collect();
        if texts.is_empty() {
            return Ok(record_page(&console, &signed, &f, Some("public-need-text"), None).await);
        }
        if texts
            .iter()
            .any(|(_, t)| t.chars().count() > crate::domain::MAX_OPINION_CHARS)
        {
            return Ok(record_page(&console, &signed, &f, Some("public-too-long"), None).await);
        }
        let now = console.now();
        let (receipt, saved) = super::public::store_opinions(
            &console,
            c,
            &texts,
            unit.as_deref(),
            group.as_deref(),
            signed.ctx.lang,
            now,
            crate::domain::OpinionSource::Meeting,
        )
        .await?;
        let entry = signed.audit(
            "opinion.record",
            now,
            serde_json::json!({
                "campaign": c.id, "topic": f.topic, "unit": unit, "meeting": f.meeting.trim(),
                "opinions": saved.len(), "receipt": receipt,
            }),
        );
        if let Err(e) = store.audit(&entry).await {
            tracing::warn!(error = %e, "cannot audit recorded opinions");
        }
        if let Some(screener) = console.screener() {
            saved.into_iter().for_each(|o| screener.submit(o));
        }
        let fresh = RecordForm {
            campaign: f.campaign.clone(),
            topic: f.topic.clone(),
            unit: f.unit.clone(),
            meeting: f.meeting.clone(),
            ..RecordForm::default()
        };
        Ok(record_page(
            &console,
            &signed,
            &fresh,
            None,
            Some((receipt, texts.len())),
        )
        .await)
    }
    .await;
    result.unwrap_or_else(|f| console.error_page(&signed.ctx, Some(&signed.session), f))
}
