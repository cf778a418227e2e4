//! Announcements in the console: the list, composing with a preview per channel and length
//! counters, and the life cycle (submit, approve by someone else, schedule, cancel) through
//! `announce::broadcast`, which decides roles, scope and the four-eyes rule and audits each
//! step in the transaction that makes it. The console adds one `console.request` audit line
//! per action with the address it came from.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization as _;

use super::Console;
use super::web::{Failure, Signed};
use crate::announce::access::{UnitTree, in_scope};
use crate::announce::broadcast::{
    self, Action, BroadcastError, BroadcastRefusal, CHANNEL_LIMITS, MAX_TEXT_CHARS,
};
use crate::domain::format_local;
use crate::store::announce::{
    Audience, Broadcast, ChatGroup, GroupState, Role, Schedule, StaffUser,
};

/// One channel's preview of a text.
#[derive(Debug, Serialize)]
struct ChannelPreview {
    /// The channel (and format).
    channel: &'static str,
    /// Characters in the text.
    chars: usize,
    /// The channel's limit.
    limit: usize,
    /// Whether the text is over it.
    over: bool,
}

/// Previews of a text on every channel; the caption limit counts only with an attachment.
fn previews(text: &str, with_file: bool) -> Vec<ChannelPreview> {
    let chars = text.trim().nfc().count();
    CHANNEL_LIMITS
        .iter()
        .filter(|(_, limit)| with_file || *limit != broadcast::CAPTION_CHARS)
        .map(|(channel, limit)| ChannelPreview {
            channel,
            chars,
            limit: *limit,
            over: chars > *limit,
        })
        .collect()
}

/// The Fluent message for a refusal or an error of a broadcast action.
fn problem(e: &BroadcastError) -> Option<&'static str> {
    Some(match e {
        BroadcastError::Refused(r) => match r {
            BroadcastRefusal::WrongState(_) => "console-broadcast-wrong-state",
            BroadcastRefusal::Role => "console-forbidden",
            BroadcastRefusal::Scope => "console-out-of-scope",
            BroadcastRefusal::SelfApproval => "console-broadcast-self-approval",
            BroadcastRefusal::NotApproved => "console-broadcast-not-approved",
            BroadcastRefusal::BadText => "console-broadcast-bad-text",
        },
        BroadcastError::UnknownUnit(_) => "console-broadcast-unknown-unit",
        BroadcastError::ButtonWithoutTarget => "console-broadcast-button-without-target",
        BroadcastError::Changed => "console-broadcast-changed",
        BroadcastError::UnknownBroadcast(_) | BroadcastError::UnknownStaff(_) => {
            "console-not-found"
        }
        BroadcastError::Store(_) => return None,
    })
}

/// Whether the user's scope covers every unit the broadcast names and the unit of every
/// group it names (a chosen group with no unit is outside the scope of a user with a unit).
fn visible_to(b: &Broadcast, staff: &StaffUser, tree: &UnitTree, groups: &[ChatGroup]) -> bool {
    b.audience.units.iter().all(|u| in_scope(staff, u, tree))
        && b.audience.groups.iter().all(|id| {
            staff.unit.is_none()
                || groups
                    .iter()
                    .find(|g| g.id == *id)
                    .and_then(|g| g.unit.as_deref())
                    .is_some_and(|u| in_scope(staff, u, tree))
        })
}

/// The bound groups an official may send to one by one: those whose unit is in scope.
fn choosable(staff: &StaffUser, tree: &UnitTree, groups: &[ChatGroup]) -> Vec<(i64, String)> {
    groups
        .iter()
        .filter(|g| g.state == GroupState::Bound && g.migrated_to.is_none())
        .filter(|g| {
            staff.unit.is_none() || g.unit.as_deref().is_some_and(|u| in_scope(staff, u, tree))
        })
        .map(|g| {
            let unit = g.unit.as_deref().and_then(|u| tree.name(u)).unwrap_or("");
            (
                g.id,
                format!("{} ({}, {})", g.title, g.channel.as_str(), unit),
            )
        })
        .collect()
}

/// A broadcast as the list shows it.
#[derive(Debug, Serialize)]
struct Line {
    id: i64,
    excerpt: String,
    state: &'static str,
    units: String,
    updated: String,
}

/// `GET /console/broadcasts`
pub async fn list(State(console): State<Console>, signed: Signed) -> Response {
    let result: Result<_, Failure> = async {
        let store = console.store();
        let tree = UnitTree::new(store.unit_nodes().await?);
        let staff = &signed.session.staff;
        let groups = store.groups().await?;
        let lines: Vec<Line> = store
            .recent_broadcasts(200)
            .await?
            .into_iter()
            .filter(|b| visible_to(b, staff, &tree, &groups))
            .map(|b| Line {
                id: b.id,
                excerpt: b.text.chars().take(100).collect(),
                state: b.state.as_str(),
                units: b.audience.units.join(", "),
                updated: format_local(b.updated_at),
            })
            .collect();
        Ok(context! {
            broadcasts => lines,
            may_compose => signed.has_any(&[Role::Official]),
        })
    }
    .await;
    match result {
        Ok(page) => console.page(&signed.ctx, Some(&signed.session), "broadcasts.html", page),
        Err(f) => console.error_page(&signed.ctx, Some(&signed.session), f),
    }
}

/// The compose form as posted.
#[derive(Debug, Deserialize)]
pub struct ComposeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    text: String,
    /// Unit codes, comma- or space-separated.
    #[serde(default)]
    units: String,
    /// `on` to include sub-units.
    #[serde(default)]
    subunits: Option<String>,
    /// `on` to send it also to residents who asked for notices (`/notices on`).
    #[serde(default)]
    residents: Option<String>,
    /// Campaign slug, optional.
    #[serde(default)]
    campaign: String,
    /// One chosen group's id (beside or instead of units), optional.
    #[serde(default)]
    group: String,
    /// `preview` or `save`.
    #[serde(default)]
    intent: String,
    /// `on` for the "Góp ý ngay" button to the campaign dialog of the audience's unit.
    #[serde(default)]
    button: Option<String>,
    /// The file chosen (multipart only), checked.
    #[serde(skip)]
    file: Option<crate::store::announce::Attachment>,
}

/// Reads the compose form: a multipart body (with the file field `file`) or, without a
/// file, a plain form. A file that is not accepted is the refusal's Fluent key.
async fn read_compose(
    console: &Console,
    req: axum::extract::Request,
) -> Result<(ComposeForm, Option<&'static str>), Failure> {
    use axum::extract::FromRequest as _;
    let headers = req.headers().clone();
    let multipart = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    if !multipart {
        let axum::Form(f) = axum::Form::<ComposeForm>::from_request(req, console)
            .await
            .map_err(|_| Failure::FormExpired)?;
        return Ok((f, None));
    }
    let body = axum::body::Bytes::from_request(req, console)
        .await
        .map_err(|_| Failure::FormExpired)?;
    let parts = super::upload::parts(&headers, &body).ok_or(Failure::FormExpired)?;
    let text = |name: &str| {
        parts
            .iter()
            .find(|p| p.name == name)
            .map(|p| String::from_utf8_lossy(&p.data).into_owned())
    };
    let mut f = ComposeForm {
        csrf: text("csrf").unwrap_or_default(),
        text: text("text").unwrap_or_default(),
        units: text("units").unwrap_or_default(),
        subunits: text("subunits"),
        residents: text("residents"),
        campaign: text("campaign").unwrap_or_default(),
        group: text("group").unwrap_or_default(),
        intent: text("intent").unwrap_or_default(),
        button: text("button"),
        file: None,
    };
    let mut refusal = None;
    if let Some(p) = parts
        .iter()
        .find(|p| p.name == "file" && !p.data.is_empty())
    {
        let name: String = p.file_name.clone().unwrap_or_default().nfc().collect();
        match crate::announce::attachment::check(&name, p.data.clone()) {
            Ok(a) => f.file = Some(a),
            Err(e) => refusal = Some(file_problem(&e)),
        }
    }
    Ok((f, refusal))
}

/// The Fluent message for a refused file.
fn file_problem(e: &crate::announce::attachment::AttachmentRefusal) -> &'static str {
    use crate::announce::attachment::AttachmentRefusal as R;
    match e {
        R::Empty | R::WrongType => "console-broadcast-file-type",
        R::TooLarge {
            kind_en: "an image",
            ..
        } => "console-broadcast-image-too-large",
        R::TooLarge { .. } => "console-broadcast-file-too-large",
    }
}

/// Renders the compose page.
async fn compose_page(
    console: &Console,
    signed: &Signed,
    form: Option<&ComposeForm>,
    error: Option<&'static str>,
) -> Response {
    let campaigns = match console.store().campaign_summaries().await {
        Ok(c) => c,
        Err(e) => return console.error_page(&signed.ctx, Some(&signed.session), e.into()),
    };
    let groups = match (
        console.store().unit_nodes().await,
        console.store().groups().await,
    ) {
        (Ok(nodes), Ok(groups)) => choosable(&signed.session.staff, &UnitTree::new(nodes), &groups),
        (Err(e), _) | (_, Err(e)) => {
            return console.error_page(&signed.ctx, Some(&signed.session), e.into());
        }
    };
    let text = form.map(|f| f.text.clone()).unwrap_or_default();
    let units = form
        .map(|f| f.units.clone())
        .or_else(|| signed.session.staff.unit.clone())
        .unwrap_or_default();
    let mut res = console.page(
        &signed.ctx,
        Some(&signed.session),
        "broadcast_new.html",
        context! {
            text => text,
            units => units,
            subunits => form.is_none_or(|f| f.subunits.is_some()),
            residents => form.is_some_and(|f| f.residents.is_some()),
            campaign => form.map(|f| f.campaign.clone()).unwrap_or_default(),
            group => form.map(|f| f.group.clone()).unwrap_or_default(),
            groups => groups.into_iter().map(|(id, name)| context! { id => id.to_string(), name => name }).collect::<Vec<_>>(),
            campaigns => campaigns.iter().map(|c| context! { slug => c.slug.clone(), title => c.title.clone() }).collect::<Vec<_>>(),
            previews => form.map(|f| previews(&f.text, f.file.is_some())),
            button => form.is_some_and(|f| f.button.is_some()),
            file => form.and_then(|f| f.file.as_ref()).map(|a| context! {
                name => a.file_name.clone(),
                image => a.is_image(),
                kb => a.bytes.len().div_ceil(1024),
                caption_fits => f_caption_fits(form),
            }),
            limits => CHANNEL_LIMITS.to_vec(),
            max => MAX_TEXT_CHARS,
            error => error,
        },
    );
    if error.is_some() {
        *res.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    res
}

/// `GET /console/broadcasts/new`
pub async fn new(State(console): State<Console>, signed: Signed) -> Response {
    compose_page(&console, &signed, None, None).await
}

/// Whether the form's text fits in a Telegram caption.
fn f_caption_fits(form: Option<&ComposeForm>) -> bool {
    form.is_some_and(|f| f.text.chars().count() <= broadcast::CAPTION_CHARS)
}

/// `POST /console/broadcasts` (a form, or multipart with a file): preview, or save as a
/// draft. A refused file is said on the page and nothing is stored.
pub async fn create(
    State(console): State<Console>,
    signed: Signed,
    req: axum::extract::Request,
) -> Response {
    let (f, refused) = match read_compose(&console, req).await {
        Ok(read) => read,
        Err(e) => return console.error_page(&signed.ctx, Some(&signed.session), e),
    };
    if !signed.csrf_ok(&f.csrf) {
        return console.error_page(&signed.ctx, Some(&signed.session), Failure::FormExpired);
    }
    if refused.is_some() {
        return compose_page(&console, &signed, Some(&f), refused).await;
    }
    if f.intent != "save" {
        return compose_page(&console, &signed, Some(&f), None).await;
    }
    let units: Vec<String> = f
        .units
        .split([',', ' ', ';'])
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_owned)
        .collect();
    let group: Option<i64> = f.group.trim().parse().ok();
    if units.is_empty() && group.is_none() {
        return compose_page(
            &console,
            &signed,
            Some(&f),
            Some("console-broadcast-no-units"),
        )
        .await;
    }
    let campaign_id = if f.campaign.is_empty() {
        None
    } else {
        match console.store().campaign_summaries().await {
            Ok(list) => list.iter().find(|c| c.slug == f.campaign).map(|c| c.id),
            Err(e) => return console.error_page(&signed.ctx, Some(&signed.session), e.into()),
        }
    };
    let audience = Audience {
        units,
        subunits: f.subunits.is_some(),
        groups: group.into_iter().collect(),
        residents: f.residents.is_some(),
    };
    let text: String = f.text.nfc().collect();
    let now = console.now();
    let extras = broadcast::Extras {
        attachment: f.file.clone(),
        button: f.button.is_some().then_some(None),
    };
    match broadcast::create_with(
        console.store(),
        &signed.session.staff.name,
        &text,
        audience,
        campaign_id,
        extras,
        now,
    )
    .await
    {
        Ok(b) => {
            audit_request(&console, &signed, "broadcast.create", b.id).await;
            Redirect::to(&format!("/console/broadcasts/{}", b.id)).into_response()
        }
        Err(BroadcastError::Store(e)) => {
            console.error_page(&signed.ctx, Some(&signed.session), e.into())
        }
        Err(e) => compose_page(&console, &signed, Some(&f), problem(&e)).await,
    }
}

/// Writes the console's own audit line for an action the domain layer audited without the
/// address; a failure here is logged, the action stands.
async fn audit_request(console: &Console, signed: &Signed, what: &str, id: i64) {
    let entry = signed.audit(
        "console.request",
        console.now(),
        serde_json::json!({ "action": what, "broadcast": id }),
    );
    if let Err(e) = console.store().audit(&entry).await {
        tracing::warn!(error = %e, "cannot write the console's audit line");
    }
}

/// `GET /console/broadcasts/{id}`
pub async fn show(State(console): State<Console>, signed: Signed, Path(id): Path<i64>) -> Response {
    show_with(&console, &signed, id, None).await
}

async fn show_with(
    console: &Console,
    signed: &Signed,
    id: i64,
    error: Option<&'static str>,
) -> Response {
    let result: Result<_, Failure> = async {
        let store = console.store();
        let b = store.broadcast(id).await?.ok_or(Failure::NotFound)?;
        let tree = UnitTree::new(store.unit_nodes().await?);
        let staff = &signed.session.staff;
        let groups = store.groups().await?;
        if !visible_to(&b, staff, &tree, &groups) {
            return Err(Failure::OutOfScope);
        }
        let counts = store.delivery_counts(id).await?;
        let report = store.delivery_report(id).await?;
        let attachment = store.broadcast_attachment(id).await?;
        let names = store.staff().await?;
        let name_of = |id: Option<i64>| {
            id.and_then(|id| names.iter().find(|s| s.id == id).map(|s| s.name.clone()))
        };
        let schedule = match &b.schedule {
            Schedule::Now => "now".to_owned(),
            Schedule::At { at } => format_local(*at),
            Schedule::Windows { windows } => windows
                .iter()
                .map(|(a, z)| format!("{}–{}", a.format("%H:%M"), z.format("%H:%M")))
                .collect::<Vec<_>>()
                .join(", "),
        };
        Ok(context! {
            b => context! {
                id => b.id,
                text => b.text.clone(),
                state => b.state.as_str(),
                revision => b.revision,
                units => b.audience.units.join(", "),
                groups => b.audience.groups.iter().map(|id| groups.iter().find(|g| g.id == *id).map_or_else(|| format!("#{id}"), |g| g.title.clone())).collect::<Vec<_>>().join(", "),
                subunits => b.audience.subunits,
                residents => b.audience.residents,
                author => name_of(Some(b.created_by)),
                approver => name_of(b.approved_by),
                schedule => schedule,
                updated => format_local(b.updated_at),
            },
            previews => previews(&b.text, attachment.is_some()),
            attachment => attachment.as_ref().map(|a| context! {
                name => a.file_name.clone(),
                kb => a.bytes.len().div_ceil(1024),
                link => format!("{}{}", crate::announce::attachment::PATH, a.token),
            }),
            button_unit => b.button_unit.clone(),
            counts => counts,
            report => report,
            may_submit => b.state.as_str() == "draft" && (b.created_by == staff.id || signed.has_any(&[Role::Official])),
            may_approve => b.state.as_str() == "submitted" && staff.has(Role::Approver) && b.created_by != staff.id,
            may_schedule => b.state.as_str() == "approved" && (b.created_by == staff.id || signed.has_any(&[Role::Official])),
            may_edit => matches!(b.state.as_str(), "draft" | "submitted" | "approved") && (b.created_by == staff.id || signed.has_any(&[Role::Official])),
            max => MAX_TEXT_CHARS,
            may_cancel => matches!(b.state.as_str(), "draft" | "submitted" | "approved" | "scheduled" | "sending"),
            error => error,
        })
    }
    .await;
    match result {
        Ok(page) => {
            let mut res = console.page(&signed.ctx, Some(&signed.session), "broadcast.html", page);
            if error.is_some() {
                *res.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            }
            res
        }
        Err(f) => console.error_page(&signed.ctx, Some(&signed.session), f),
    }
}

/// The form of a broadcast action.
#[derive(Debug, Deserialize)]
pub struct ActForm {
    #[serde(default)]
    csrf: String,
    /// For scheduling: `now`, `at` or `windows`.
    #[serde(default)]
    when: String,
    /// For `at`: `2026-11-22 07:00` (Vietnam time).
    #[serde(default)]
    at: String,
    /// For `windows`: `07:00-09:00, 19:00-21:00`.
    #[serde(default)]
    windows: String,
}

/// Runs one action and shows the broadcast again.
async fn run(
    console: Console,
    signed: Signed,
    id: i64,
    f: ActForm,
    action: Result<Action, &'static str>,
) -> Response {
    if !signed.csrf_ok(&f.csrf) {
        return console.error_page(&signed.ctx, Some(&signed.session), Failure::FormExpired);
    }
    let action = match action {
        Ok(a) => a,
        Err(key) => return show_with(&console, &signed, id, Some(key)).await,
    };
    let what = match &action {
        Action::Submit => "broadcast.submit",
        Action::Approve => "broadcast.approve",
        Action::Schedule(_) => "broadcast.schedule",
        Action::Cancel => "broadcast.cancel",
        Action::Edit(_) => "broadcast.edit",
        Action::Attach(_) => "broadcast.attach",
    };
    match broadcast::act(
        console.store(),
        id,
        &signed.session.staff.name,
        action,
        console.now(),
    )
    .await
    {
        Ok(_) => {
            audit_request(&console, &signed, what, id).await;
            Redirect::to(&format!("/console/broadcasts/{id}")).into_response()
        }
        Err(BroadcastError::Store(e)) => {
            console.error_page(&signed.ctx, Some(&signed.session), e.into())
        }
        Err(BroadcastError::UnknownBroadcast(_)) => {
            console.error_page(&signed.ctx, Some(&signed.session), Failure::NotFound)
        }
        Err(BroadcastError::Refused(BroadcastRefusal::Role)) => {
            console.error_page(&signed.ctx, Some(&signed.session), Failure::Forbidden)
        }
        Err(BroadcastError::Refused(BroadcastRefusal::Scope)) => {
            console.error_page(&signed.ctx, Some(&signed.session), Failure::OutOfScope)
        }
        Err(e) => show_with(&console, &signed, id, problem(&e)).await,
    }
}

/// `POST /console/broadcasts/{id}/submit`
pub async fn submit(
    State(console): State<Console>,
    signed: Signed,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<ActForm>,
) -> Response {
    run(console, signed, id, f, Ok(Action::Submit)).await
}

/// `POST /console/broadcasts/{id}/approve`
pub async fn approve(
    State(console): State<Console>,
    signed: Signed,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<ActForm>,
) -> Response {
    run(console, signed, id, f, Ok(Action::Approve)).await
}

/// `POST /console/broadcasts/{id}/cancel`
pub async fn cancel(
    State(console): State<Console>,
    signed: Signed,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<ActForm>,
) -> Response {
    run(console, signed, id, f, Ok(Action::Cancel)).await
}

/// The edit form.
#[derive(Debug, Deserialize)]
pub struct EditForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    text: String,
}

/// `POST /console/broadcasts/{id}/edit`: a new text; an approved announcement goes back for
/// approval (its revision grows).
pub async fn edit(
    State(console): State<Console>,
    signed: Signed,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<EditForm>,
) -> Response {
    let text: String = f.text.nfc().collect();
    let form = ActForm {
        csrf: f.csrf,
        when: String::new(),
        at: String::new(),
        windows: String::new(),
    };
    run(console, signed, id, form, Ok(Action::Edit(text))).await
}

/// `POST /console/broadcasts/{id}/schedule`
pub async fn schedule(
    State(console): State<Console>,
    signed: Signed,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<ActForm>,
) -> Response {
    let schedule = match f.when.as_str() {
        "at" => broadcast::parse_local(&f.at)
            .map(|at| Schedule::At { at })
            .ok_or("console-broadcast-bad-time"),
        "windows" => f
            .windows
            .split([',', ';'])
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .map(broadcast::parse_window)
            .collect::<Option<Vec<_>>>()
            .filter(|w| !w.is_empty())
            .map(|windows| Schedule::Windows { windows })
            .ok_or("console-broadcast-bad-windows"),
        _ => Ok(Schedule::Now),
    };
    run(console, signed, id, f, schedule.map(Action::Schedule)).await
}
