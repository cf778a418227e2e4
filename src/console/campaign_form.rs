//! Creating and editing a campaign in the browser: title, slug, units, target groups,
//! phases with their dates, sections with summaries, topics with their questions and
//! sections. The form is checked by the campaign file's own rules
//! ([`crate::campaign::form::Draft::check`]) and every problem is shown beside its field, in
//! the page's language. A creation and an edit are audited (`campaign.create`,
//! `campaign.edit`) in the transaction that makes it. Works without JavaScript:
//! "more rows" sends the form back with blank rows added.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;

use super::Console;
use super::web::{Failure, Signed};
use crate::announce::access::{UnitTree, in_scope};
use crate::campaign::form::{
    Draft, DraftPhase, DraftSection, DraftTopic, DraftUnit, FieldProblem, PHASE_KINDS,
};
use crate::domain::{Campaign, Locale, TargetGroup};
use crate::store::StoreError;
use crate::store::console::CampaignEdit;

/// Blank rows offered below the filled ones.
const BLANK_ROWS: usize = 2;

/// The posted form as name/value pairs (rows are parallel lists of same-named fields).
type Pairs = Vec<(String, String)>;

/// Reads the posted form into a draft; returns it with the CSRF token and the button used.
fn read(pairs: &Pairs) -> (Draft, String, String) {
    let one = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let all = |name: &str| -> Vec<String> {
        pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    };
    let column = |name: &str, n: usize| -> Vec<String> {
        let mut v = all(name);
        v.resize(n, String::new());
        v
    };
    let n = all("unit_code").len();
    let units = itertools_zip4(
        column("unit_code", n),
        column("unit_name", n),
        column("unit_kind", n),
        column("unit_parent", n),
    )
    .map(|(code, name, kind, parent)| DraftUnit {
        code,
        name,
        kind,
        parent,
    })
    .collect();
    let n = all("section_reference").len();
    let sections = column("section_reference", n)
        .into_iter()
        .zip(column("section_title", n))
        .zip(column("section_summary", n))
        .map(|((reference, title), summary)| DraftSection {
            reference,
            title,
            summary,
        })
        .collect();
    let n = all("topic_code").len();
    let topics = itertools_zip4(
        column("topic_code", n),
        column("topic_title", n),
        column("topic_question", n),
        column("topic_sections", n),
    )
    .map(|(code, title, question, sections)| DraftTopic {
        code,
        title,
        question,
        sections,
    })
    .collect();
    let mut phases: [DraftPhase; 4] = Default::default();
    for (i, kind) in PHASE_KINDS.iter().enumerate() {
        phases[i] = DraftPhase {
            starts: one(&format!("phase_{}_starts", kind.as_str())),
            ends: one(&format!("phase_{}_ends", kind.as_str())),
        };
    }
    let draft = Draft {
        slug: one("slug"),
        issuer: one("issuer"),
        title: one("title"),
        document_title: one("document_title"),
        intro: one("intro"),
        purpose: one("purpose"),
        retention_months: one("retention_months"),
        notice_version: one("notice_version"),
        target_groups: all("target_group"),
        units,
        sections,
        topics,
        phases,
    };
    (draft, one("csrf"), one("op"))
}

/// Four lists of one length, zipped.
fn itertools_zip4(
    a: Vec<String>,
    b: Vec<String>,
    c: Vec<String>,
    d: Vec<String>,
) -> impl Iterator<Item = (String, String, String, String)> {
    a.into_iter()
        .zip(b)
        .zip(c)
        .zip(d)
        .map(|(((a, b), c), d)| (a, b, c, d))
}

/// Where the form posts to and what it is for.
enum Mode {
    /// A new campaign.
    Create,
    /// The stored campaign with this slug.
    Edit(String),
}

/// Renders the form with `blank` empty rows of each kind and the problems found.
fn form_page(
    console: &Console,
    signed: &Signed,
    mode: &Mode,
    draft: &Draft,
    blank: usize,
    problems: &[FieldProblem],
) -> Response {
    let lang = signed.ctx.lang;
    let say = |p: &FieldProblem| match lang {
        Locale::Vi => p.vi.clone(),
        Locale::En => p.en.clone(),
    };
    let mut errors: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    let mut general: Vec<String> = Vec::new();
    for p in problems {
        match &p.field {
            Some(f) => errors.entry(f.clone()).or_default().push(say(p)),
            None => general.push(say(p)),
        }
    }
    let mut units: Vec<DraftUnit> = draft.units.clone();
    units.extend(std::iter::repeat_n(DraftUnit::default(), blank));
    let mut sections = draft.sections.clone();
    sections.extend(std::iter::repeat_n(DraftSection::default(), blank));
    let mut topics = draft.topics.clone();
    topics.extend(std::iter::repeat_n(DraftTopic::default(), blank));
    let ticked = &draft.target_groups;
    let page = context! {
        editing => matches!(mode, Mode::Edit(_)),
        action => match mode {
            Mode::Create => "/console/campaigns/new".to_owned(),
            Mode::Edit(slug) => format!("/console/campaigns/{slug}/edit"),
        },
        d => context! {
            slug => draft.slug.clone(),
            issuer => draft.issuer.clone(),
            title => draft.title.clone(),
            document_title => draft.document_title.clone(),
            intro => draft.intro.clone(),
            purpose => draft.purpose.clone(),
            retention_months => draft.retention_months.clone(),
            notice_version => draft.notice_version.clone(),
        },
        groups => TargetGroup::KNOWN.iter().map(|g| context! {
            code => *g,
            name => crate::synthesis::report::group_name(lang, g),
            ticked => ticked.iter().any(|t| t == g),
        }).collect::<Vec<_>>(),
        units => units.into_iter().map(|u| context! { code => u.code, name => u.name, kind => u.kind, parent => u.parent }).collect::<Vec<_>>(),
        sections => sections.into_iter().map(|s| context! { reference => s.reference, title => s.title, summary => s.summary }).collect::<Vec<_>>(),
        topics => topics.into_iter().map(|t| context! { code => t.code, title => t.title, question => t.question, sections => t.sections }).collect::<Vec<_>>(),
        phases => PHASE_KINDS.iter().zip(draft.phases.iter()).map(|(k, p)| context! {
            kind => k.as_str(), starts => p.starts.clone(), ends => p.ends.clone(),
        }).collect::<Vec<_>>(),
        errors => errors,
        general => general,
        failed => !problems.is_empty(),
    };
    let mut res = console.page(
        &signed.ctx,
        Some(&signed.session),
        "campaign_form.html",
        page,
    );
    if !problems.is_empty() {
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    res
}

/// Whether the user's unit scope holds this campaign's root unit (the whole campaign).
pub(super) fn may_change(signed: &Signed, c: &Campaign, tree: &UnitTree) -> bool {
    let staff = &signed.session.staff;
    match (&staff.unit, c.units.first()) {
        (None, _) => true,
        (Some(_), Some(root)) => in_scope(staff, &root.code, tree),
        (Some(_), None) => false,
    }
}

/// `GET /console/campaigns/new`
pub async fn new(State(console): State<Console>, signed: Signed) -> Response {
    let draft = Draft {
        retention_months: "12".to_owned(),
        notice_version: "1".to_owned(),
        units: vec![DraftUnit::default()],
        ..Draft::default()
    };
    form_page(&console, &signed, &Mode::Create, &draft, 2, &[])
}

/// `POST /console/campaigns/new`: more rows, or create the campaign.
pub async fn create(
    State(console): State<Console>,
    signed: Signed,
    axum::Form(pairs): axum::Form<Pairs>,
) -> Response {
    let (mut draft, csrf, op) = read(&pairs);
    if !signed.csrf_ok(&csrf) {
        return console.error_page(&signed.ctx, Some(&signed.session), Failure::FormExpired);
    }
    draft.compact();
    if op == "rows" {
        return form_page(&console, &signed, &Mode::Create, &draft, BLANK_ROWS, &[]);
    }
    let campaign = match draft.check() {
        Ok(c) => c,
        Err(problems) => {
            return form_page(
                &console,
                &signed,
                &Mode::Create,
                &draft,
                BLANK_ROWS,
                &problems,
            );
        }
    };
    let result: Result<Response, Failure> = async {
        let tree = UnitTree::new(console.store().unit_nodes().await?);
        if !may_change(&signed, &campaign, &tree) {
            return Err(Failure::OutOfScope);
        }
        let entry = signed.audit(
            "campaign.create",
            console.now(),
            serde_json::json!({ "slug": campaign.slug, "title": campaign.title }),
        );
        match console.store().create_campaign(&campaign, &entry).await {
            Ok(_) => {
                Ok(Redirect::to(&format!("/console/campaigns/{}", campaign.slug)).into_response())
            }
            Err(StoreError::Conflict(_)) => {
                let problem = FieldProblem {
                    field: Some("slug".to_owned()),
                    vi: say(&console, Locale::Vi, "console-campaign-exists"),
                    en: say(&console, Locale::En, "console-campaign-exists"),
                };
                Ok(form_page(
                    &console,
                    &signed,
                    &Mode::Create,
                    &draft,
                    BLANK_ROWS,
                    &[problem],
                ))
            }
            Err(e) => Err(e.into()),
        }
    }
    .await;
    result.unwrap_or_else(|f| console.error_page(&signed.ctx, Some(&signed.session), f))
}

/// One message in one language.
fn say(console: &Console, lang: Locale, key: &str) -> String {
    console.views().text(
        lang,
        &crate::dialog::Msg::new(key),
        crate::i18n::Markup::Plain,
    )
}

/// The stored campaign with this slug, if the user may change it.
async fn editable(console: &Console, signed: &Signed, slug: &str) -> Result<Campaign, Failure> {
    let campaigns = console.store().campaigns().await?;
    let c = campaigns
        .into_iter()
        .find(|c| c.slug == slug)
        .ok_or(Failure::NotFound)?;
    let tree = UnitTree::new(console.store().unit_nodes().await?);
    if !may_change(signed, &c, &tree) {
        return Err(Failure::OutOfScope);
    }
    Ok(c)
}

/// `GET /console/campaigns/{slug}/edit`
pub async fn edit(
    State(console): State<Console>,
    signed: Signed,
    Path(slug): Path<String>,
) -> Response {
    match editable(&console, &signed, &slug).await {
        Ok(c) => form_page(
            &console,
            &signed,
            &Mode::Edit(slug),
            &Draft::from_campaign(&c),
            1,
            &[],
        ),
        Err(f) => console.error_page(&signed.ctx, Some(&signed.session), f),
    }
}

/// `POST /console/campaigns/{slug}/edit`: more rows, or save the changes (the slug stays:
/// it is in every link already handed out).
pub async fn update(
    State(console): State<Console>,
    signed: Signed,
    Path(slug): Path<String>,
    axum::Form(pairs): axum::Form<Pairs>,
) -> Response {
    let (mut draft, csrf, op) = read(&pairs);
    if !signed.csrf_ok(&csrf) {
        return console.error_page(&signed.ctx, Some(&signed.session), Failure::FormExpired);
    }
    let result: Result<Response, Failure> = async {
        let stored = editable(&console, &signed, &slug).await?;
        draft.slug = stored.slug.clone();
        draft.compact();
        let mode = Mode::Edit(slug.clone());
        if op == "rows" {
            return Ok(form_page(&console, &signed, &mode, &draft, BLANK_ROWS, &[]));
        }
        let mut campaign = match draft.check() {
            Ok(c) => c,
            Err(problems) => {
                return Ok(form_page(
                    &console, &signed, &mode, &draft, BLANK_ROWS, &problems,
                ));
            }
        };
        let tree = UnitTree::new(console.store().unit_nodes().await?);
        if !may_change(&signed, &campaign, &tree) {
            return Err(Failure::OutOfScope);
        }
        campaign.id = stored.id;
        let entry = signed.audit(
            "campaign.edit",
            console.now(),
            serde_json::json!({
                "campaign": stored.id,
                "slug": stored.slug,
                "changed": changed_parts(&stored, &campaign),
            }),
        );
        match console.store().update_campaign(&campaign, &entry).await? {
            CampaignEdit::Saved => {
                Ok(Redirect::to(&format!("/console/campaigns/{slug}")).into_response())
            }
            CampaignEdit::NotFound => Err(Failure::NotFound),
            CampaignEdit::InUse { what } => {
                let msg = |lang| {
                    console.views().text(
                        lang,
                        &crate::dialog::Msg::new("console-campaign-in-use").text("what", &what),
                        crate::i18n::Markup::Plain,
                    )
                };
                let problem = FieldProblem {
                    field: None,
                    vi: msg(Locale::Vi),
                    en: msg(Locale::En),
                };
                Ok(form_page(
                    &console,
                    &signed,
                    &mode,
                    &draft,
                    BLANK_ROWS,
                    &[problem],
                ))
            }
        }
    }
    .await;
    result.unwrap_or_else(|f| console.error_page(&signed.ctx, Some(&signed.session), f))
}

/// Which parts of a campaign an edit changes, for the audit line.
fn changed_parts(before: &Campaign, after: &Campaign) -> Vec<&'static str> {
    let mut out = Vec::new();
    let texts = |c: &Campaign| {
        (
            c.issuer.clone(),
            c.title.clone(),
            c.document_title.clone(),
            c.intro.clone(),
            c.purpose.clone(),
            c.retention_months,
            c.notice_version.clone(),
        )
    };
    if texts(before) != texts(after) {
        out.push("texts");
    }
    if before.units != after.units {
        out.push("units");
    }
    if before.target_groups != after.target_groups {
        out.push("target_groups");
    }
    if before.sections != after.sections {
        out.push("sections");
    }
    if before.topics != after.topics {
        out.push("topics");
    }
    if before.phases != after.phases {
        out.push("phases");
    }
    out
}
