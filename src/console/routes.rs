//! Every console route, with who may reach it, in one table: the router is built from it
//! and the access test enumerates it, so no route can be added without saying who may use
//! it. Roles are enforced here, before any handler runs (an administrator has every role's
//! rights); unit scope is enforced by each handler on what it reads or changes, since only
//! it knows which unit a broadcast, group or opinion belongs to.

use axum::Router;
use axum::extract::{FromRequestParts, Request, State};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::Response;
use axum::routing::{MethodRouter, get, post};

use super::web::{Failure, Signed};
use super::{
    Console, broadcasts, campaign_form, campaigns, groups, home, login, moderation, opinion_tools,
    opinions, staff, synthesis,
};
use crate::store::announce::Role;

/// Who may reach a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: the login page, the stylesheet, the language switch.
    Public,
    /// Any signed-in staff user.
    Staff,
    /// Signed-in staff with one of these roles (or an administrator).
    Roles(&'static [Role]),
}

/// A route as the access test sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteInfo {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// The axum path pattern.
    pub path: &'static str,
    /// Who may reach it.
    pub access: Access,
    /// The path with example ids filled in, for tests.
    pub example: &'static str,
}

/// Officials' work: campaigns, broadcasts, groups.
pub const OFFICIALS: &[Role] = &[Role::Official];

/// Administrators only (every role list implicitly includes them).
pub const ADMINS: &[Role] = &[];

/// Approvers.
pub const APPROVERS: &[Role] = &[Role::Approver];

/// Moderators.
pub const MODERATORS: &[Role] = &[Role::Moderator];

/// Who reads announcements: those who write, approve, or lead a unit that receives them.
pub const BROADCAST_READERS: &[Role] = &[Role::Official, Role::Approver, Role::UnitLead];

/// Who reads opinions: officials, approvers (leaders) and unit leads for their units.
pub const OPINION_READERS: &[Role] = &[Role::Official, Role::Approver, Role::UnitLead];

/// Who manages chat groups: officials and unit leads (for their units).
pub const GROUP_MANAGERS: &[Role] = &[Role::Official, Role::UnitLead];

/// Who may cancel an announcement.
pub const BROADCAST_CANCELLERS: &[Role] = &[Role::Official, Role::Approver];

/// One route: its description and its handler.
struct Entry {
    info: RouteInfo,
    handler: MethodRouter<Console>,
}

fn entry(
    method: &'static str,
    path: &'static str,
    access: Access,
    example: &'static str,
    handler: MethodRouter<Console>,
) -> Entry {
    Entry {
        info: RouteInfo {
            method,
            path,
            access,
            example,
        },
        handler,
    }
}

/// The table.
fn entries() -> Vec<Entry> {
    use Access::{Public, Roles, Staff};
    vec![
        entry(
            "GET",
            "/console/login",
            Public,
            "/console/login",
            get(login::form),
        ),
        entry(
            "POST",
            "/console/login",
            Public,
            "/console/login",
            post(login::submit),
        ),
        entry(
            "GET",
            "/console/lang/{code}",
            Public,
            "/console/lang/en",
            get(login::switch_lang),
        ),
        entry(
            "GET",
            "/console/static/console.css",
            Public,
            "/console/static/console.css",
            get(super::stylesheet),
        ),
        entry("GET", "/console", Staff, "/console", get(home::show)),
        entry(
            "POST",
            "/console/logout",
            Staff,
            "/console/logout",
            post(login::logout),
        ),
        entry(
            "GET",
            "/console/password",
            Staff,
            "/console/password",
            get(login::password_form),
        ),
        entry(
            "POST",
            "/console/password",
            Staff,
            "/console/password",
            post(login::password_submit),
        ),
        entry(
            "GET",
            "/console/broadcasts",
            Roles(BROADCAST_READERS),
            "/console/broadcasts",
            get(broadcasts::list),
        ),
        entry(
            "GET",
            "/console/broadcasts/new",
            Roles(OFFICIALS),
            "/console/broadcasts/new",
            get(broadcasts::new),
        ),
        entry(
            "POST",
            "/console/broadcasts",
            Roles(OFFICIALS),
            "/console/broadcasts",
            // A document may be 10 MB, over axum's default 2 MB body limit.
            post(broadcasts::create).layer(axum::extract::DefaultBodyLimit::max(
                crate::announce::attachment::MAX_DOCUMENT_BYTES + 64 * 1024,
            )),
        ),
        entry(
            "GET",
            "/console/broadcasts/{id}",
            Roles(BROADCAST_READERS),
            "/console/broadcasts/1",
            get(broadcasts::show),
        ),
        entry(
            "POST",
            "/console/broadcasts/{id}/submit",
            Roles(OFFICIALS),
            "/console/broadcasts/1/submit",
            post(broadcasts::submit),
        ),
        entry(
            "POST",
            "/console/broadcasts/{id}/approve",
            Roles(APPROVERS),
            "/console/broadcasts/1/approve",
            post(broadcasts::approve),
        ),
        entry(
            "POST",
            "/console/broadcasts/{id}/schedule",
            Roles(OFFICIALS),
            "/console/broadcasts/1/schedule",
            post(broadcasts::schedule),
        ),
        entry(
            "POST",
            "/console/broadcasts/{id}/cancel",
            Roles(BROADCAST_CANCELLERS),
            "/console/broadcasts/1/cancel",
            post(broadcasts::cancel),
        ),
        entry(
            "GET",
            "/console/moderation",
            Roles(MODERATORS),
            "/console/moderation",
            get(moderation::queue),
        ),
        entry(
            "GET",
            "/console/moderation/log",
            Roles(MODERATORS),
            "/console/moderation/log",
            get(moderation::log),
        ),
        entry(
            "POST",
            "/console/moderation/{id}",
            Roles(MODERATORS),
            "/console/moderation/1",
            post(moderation::decide),
        ),
        entry(
            "GET",
            "/console/opinions",
            Roles(OPINION_READERS),
            "/console/opinions",
            get(opinions::list),
        ),
        entry(
            "GET",
            "/console/staff",
            Roles(ADMINS),
            "/console/staff",
            get(staff::list),
        ),
        entry(
            "POST",
            "/console/staff",
            Roles(ADMINS),
            "/console/staff",
            post(staff::add),
        ),
        entry(
            "POST",
            "/console/staff/{id}/password",
            Roles(ADMINS),
            "/console/staff/1/password",
            post(staff::reset),
        ),
        entry(
            "GET",
            "/console/audit",
            Roles(ADMINS),
            "/console/audit",
            get(staff::audit),
        ),
        entry(
            "GET",
            "/console/campaigns",
            Staff,
            "/console/campaigns",
            get(campaigns::list),
        ),
        entry(
            "POST",
            "/console/campaigns",
            Roles(OFFICIALS),
            "/console/campaigns",
            post(campaigns::import),
        ),
        entry(
            "GET",
            "/console/campaigns/{slug}",
            Staff,
            "/console/campaigns/hoa-binh-dh-2025",
            get(campaigns::show),
        ),
        entry(
            "GET",
            "/console/groups",
            Roles(GROUP_MANAGERS),
            "/console/groups",
            get(groups::list),
        ),
        entry(
            "POST",
            "/console/groups/{id}/bind",
            Roles(GROUP_MANAGERS),
            "/console/groups/1/bind",
            post(groups::bind),
        ),
        entry(
            "GET",
            "/console/audit.csv",
            Roles(ADMINS),
            "/console/audit.csv",
            get(staff::audit_export),
        ),
        entry(
            "POST",
            "/console/broadcasts/{id}/edit",
            Roles(OFFICIALS),
            "/console/broadcasts/1/edit",
            post(broadcasts::edit),
        ),
        entry(
            "GET",
            "/console/static/console.js",
            Public,
            "/console/static/console.js",
            get(super::script),
        ),
        entry(
            "GET",
            "/console/opinions/new",
            Roles(OFFICIALS),
            "/console/opinions/new",
            get(opinions::record_form),
        ),
        entry(
            "POST",
            "/console/opinions",
            Roles(OFFICIALS),
            "/console/opinions",
            post(opinions::record),
        ),
        entry(
            "GET",
            "/console/campaigns/new",
            Roles(OFFICIALS),
            "/console/campaigns/new",
            get(campaign_form::new),
        ),
        entry(
            "POST",
            "/console/campaigns/new",
            Roles(OFFICIALS),
            "/console/campaigns/new",
            post(campaign_form::create),
        ),
        entry(
            "GET",
            "/console/campaigns/{slug}/edit",
            Roles(OFFICIALS),
            "/console/campaigns/hoa-binh-dh-2025/edit",
            get(campaign_form::edit),
        ),
        entry(
            "POST",
            "/console/campaigns/{slug}/edit",
            Roles(OFFICIALS),
            "/console/campaigns/hoa-binh-dh-2025/edit",
            post(campaign_form::update),
        ),
        entry(
            "GET",
            "/console/synthesis",
            Roles(OPINION_READERS),
            "/console/synthesis",
            get(synthesis::index),
        ),
        entry(
            "GET",
            "/console/campaigns/{slug}/synthesis",
            Roles(OPINION_READERS),
            "/console/campaigns/hoa-binh-dh-2025/synthesis",
            get(synthesis::show),
        ),
        entry(
            "POST",
            "/console/campaigns/{slug}/synthesis/build",
            Roles(OFFICIALS),
            "/console/campaigns/hoa-binh-dh-2025/synthesis/build",
            post(synthesis::build),
        ),
        entry(
            "POST",
            "/console/campaigns/{slug}/synthesis/export",
            Roles(OPINION_READERS),
            "/console/campaigns/hoa-binh-dh-2025/synthesis/export",
            post(synthesis::export),
        ),
        entry(
            "GET",
            "/console/campaigns/{slug}/groups",
            Roles(OFFICIALS),
            "/console/campaigns/hoa-binh-dh-2025/groups",
            get(synthesis::groups),
        ),
        entry(
            "POST",
            "/console/campaigns/{slug}/groups/merge",
            Roles(OFFICIALS),
            "/console/campaigns/hoa-binh-dh-2025/groups/merge",
            post(synthesis::merge),
        ),
        entry(
            "POST",
            "/console/campaigns/{slug}/groups/{id}",
            Roles(OFFICIALS),
            "/console/campaigns/hoa-binh-dh-2025/groups/1",
            post(synthesis::change),
        ),
        entry(
            "POST",
            "/console/opinions/{reference}/classify",
            Roles(OFFICIALS),
            "/console/opinions/GY-AAAA/classify",
            post(opinion_tools::classify),
        ),
        entry(
            "GET",
            "/console/opinions/import",
            Roles(OFFICIALS),
            "/console/opinions/import",
            get(opinion_tools::import_form),
        ),
        entry(
            "POST",
            "/console/opinions/import",
            Roles(OFFICIALS),
            "/console/opinions/import",
            // A unit's table may be larger than axum's default 2 MB body limit.
            post(opinion_tools::import).layer(axum::extract::DefaultBodyLimit::max(
                opinion_tools::MAX_TABLE_BYTES,
            )),
        ),
        entry(
            "GET",
            "/console/opinions/template",
            Roles(OFFICIALS),
            "/console/opinions/template?campaign=hoa-binh-dh-2025",
            get(opinion_tools::template),
        ),
    ]
}

/// Every console route, for tests and documentation.
pub fn routes() -> Vec<RouteInfo> {
    entries().into_iter().map(|e| e.info).collect()
}

/// The guard in front of a route that needs a session: no session → the login page; no
/// role → 403. The session it found is handed to the handler.
#[derive(Clone)]
struct Guard {
    console: Console,
    roles: Option<&'static [Role]>,
}

async fn guard(State(g): State<Guard>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let signed = match Signed::from_request_parts(&mut parts, &g.console).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    if let Some(roles) = g.roles
        && !signed.has_any(roles)
    {
        return g
            .console
            .error_page(&signed.ctx, Some(&signed.session), Failure::Forbidden);
    }
    parts.extensions.insert(signed);
    next.run(Request::from_parts(parts, body)).await
}

/// The router built from the table.
pub fn router(console: Console) -> Router {
    let mut router = Router::new();
    for e in entries() {
        let roles = match e.info.access {
            Access::Public => {
                router = router.route(e.info.path, e.handler);
                continue;
            }
            Access::Staff => None,
            Access::Roles(r) => Some(r),
        };
        let g = Guard {
            console: console.clone(),
            roles,
        };
        router = router.route(
            e.info.path,
            e.handler.route_layer(from_fn_with_state(g, guard)),
        );
    }
    router.with_state(console)
}
