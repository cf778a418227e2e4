//! What every console request shares: the client's language and address, the signed-in
//! session (an extractor that sends everyone else to the login page), cookies, CSRF checks,
//! page rendering with the common frame, and error pages. No SQL: sessions come from the
//! store's [`ConsoleStore`](crate::store::console::ConsoleStore).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{AppendHeaders, Html, IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use serde::Serialize;

use super::Console;
use super::auth;
use crate::domain::Locale;
use crate::store::AuditEntry;
use crate::store::announce::Role;
use crate::store::console::Session;

/// The session cookie: the random token whose hash the database keeps.
pub const SESSION_COOKIE: &str = "gopy_session";

/// The cookie that carries the login form's CSRF token (no session exists yet).
pub const LOGIN_COOKIE: &str = "gopy_login";

/// The language cookie (`vi` or `en`), shared with the public page.
pub const LANG_COOKIE: &str = "gopy_lang";

/// The value of a cookie in the request, if sent.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// A `Set-Cookie` value: HttpOnly and SameSite=Strict always, Secure when configured.
/// `max_age` `None` removes the cookie.
pub fn set_cookie(
    name: &str,
    value: &str,
    path: &str,
    max_age: Option<i64>,
    secure: bool,
) -> HeaderValue {
    let age = max_age.unwrap_or(0);
    let value = if max_age.is_some() { value } else { "" };
    let secure = if secure { "; Secure" } else { "" };
    let text =
        format!("{name}={value}; Path={path}; Max-Age={age}; HttpOnly; SameSite=Strict{secure}");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Who is asking, in which language, from where, for which page.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The language of the page (cookie, else Vietnamese).
    pub lang: Locale,
    /// The client's address (see `GOPY_CONSOLE_BEHIND_PROXY`).
    pub ip: String,
    /// The path and query asked for.
    pub path: String,
}

impl FromRequestParts<Console> for Ctx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Console,
    ) -> Result<Self, Self::Rejection> {
        let lang = cookie(&parts.headers, LANG_COOKIE)
            .and_then(Locale::parse)
            .unwrap_or(Locale::Vi);
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string());
        let forwarded = state
            .settings()
            .behind_proxy
            .then(|| {
                parts
                    .headers
                    .get_all("x-forwarded-for")
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .next_back()?
                    .rsplit(',')
                    .map(str::trim)
                    .find(|v| v.parse::<std::net::IpAddr>().is_ok())
                    .map(str::to_owned)
            })
            .flatten();
        let ip = forwarded.or(peer).unwrap_or_else(|| "unknown".to_owned());
        let path = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| parts.uri.path().to_owned());
        Ok(Ctx { lang, ip, path })
    }
}

impl Ctx {
    /// An audit line for what this request did, with the address it came from.
    pub fn audit(
        &self,
        actor: &str,
        action: &str,
        at: chrono::DateTime<chrono::Utc>,
        detail: serde_json::Value,
    ) -> AuditEntry {
        let mut detail = match detail {
            serde_json::Value::Object(map) => map,
            serde_json::Value::Null => serde_json::Map::new(),
            other => {
                let mut map = serde_json::Map::new();
                map.insert("detail".to_owned(), other);
                map
            }
        };
        detail.insert("ip".to_owned(), serde_json::Value::String(self.ip.clone()));
        detail.insert(
            "via".to_owned(),
            serde_json::Value::String("console".to_owned()),
        );
        AuditEntry {
            at,
            actor: actor.to_owned(),
            action: action.to_owned(),
            detail: serde_json::Value::Object(detail),
        }
    }
}

/// A signed-in official, with the request's context. Extracting it sends anyone without a
/// live session to the login page, and anyone holding a one-time password to the password
/// page.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The request's context.
    pub ctx: Ctx,
    /// The session and its user.
    pub session: Session,
}

/// Paths a user who must change their password may still reach.
const WHILE_MUST_CHANGE: [&str; 3] = ["/console/password", "/console/logout", "/console/lang/"];

impl FromRequestParts<Console> for Signed {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Console,
    ) -> Result<Self, Self::Rejection> {
        if let Some(signed) = parts.extensions.get::<Signed>() {
            return Ok(signed.clone());
        }
        let Ok(ctx) = Ctx::from_request_parts(parts, state).await;
        let to_login = || {
            let next = if parts.method == axum::http::Method::GET {
                ctx.path.clone()
            } else {
                "/console".to_owned()
            };
            let url = format!("/console/login?next={}", urlencode(&next));
            Redirect::to(&url).into_response()
        };
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(to_login());
        };
        let session = match state
            .store()
            .session(
                &auth::token_hash(token),
                state.now(),
                state.now() - chrono::Duration::minutes(state.settings().idle_minutes),
            )
            .await
        {
            Ok(Some(s)) => s,
            Ok(None) => return Err(to_login()),
            Err(e) => return Err(state.error_page(&ctx, None, Failure::Store(e))),
        };
        if session.must_change
            && !WHILE_MUST_CHANGE
                .iter()
                .any(|p| parts.uri.path().starts_with(p))
        {
            return Err(Redirect::to("/console/password").into_response());
        }
        Ok(Signed { ctx, session })
    }
}

impl Signed {
    /// Whether the form's CSRF token is this session's.
    pub fn csrf_ok(&self, token: &str) -> bool {
        auth::same_secret(token, &self.session.csrf)
    }

    /// The user has one of these roles (an administrator has every role's rights).
    pub fn has_any(&self, roles: &[Role]) -> bool {
        self.session.staff.has(Role::Admin) || roles.iter().any(|r| self.session.staff.has(*r))
    }

    /// An audit line for what this user did in this request.
    pub fn audit(
        &self,
        action: &str,
        at: chrono::DateTime<chrono::Utc>,
        detail: serde_json::Value,
    ) -> AuditEntry {
        self.ctx.audit(&self.session.staff.name, action, at, detail)
    }
}

/// Percent-encodes a query value.
pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Why a console request failed, as the error page says it.
#[derive(Debug)]
pub enum Failure {
    /// No role of the user allows it (403).
    Forbidden,
    /// The unit is outside the user's scope (403).
    OutOfScope,
    /// Nothing with that id (404).
    NotFound,
    /// The form's CSRF token is missing or wrong (403).
    FormExpired,
    /// Storage failed (503; logged).
    Store(crate::store::StoreError),
    /// Anything else unexpected (500; logged).
    Internal(anyhow::Error),
}

impl Failure {
    fn status_and_key(&self) -> (StatusCode, &'static str) {
        match self {
            Failure::Forbidden => (StatusCode::FORBIDDEN, "console-forbidden"),
            Failure::OutOfScope => (StatusCode::FORBIDDEN, "console-out-of-scope"),
            Failure::NotFound => (StatusCode::NOT_FOUND, "console-not-found"),
            Failure::FormExpired => (StatusCode::FORBIDDEN, "console-form-expired"),
            Failure::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, "console-unavailable"),
            Failure::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "console-unavailable"),
        }
    }
}

impl From<crate::store::StoreError> for Failure {
    fn from(e: crate::store::StoreError) -> Self {
        Failure::Store(e)
    }
}

/// One entry of the menu.
#[derive(Debug, Clone, Serialize)]
pub struct NavItem {
    /// Where it goes.
    pub href: &'static str,
    /// Its Fluent label.
    pub label: &'static str,
    /// Whether it is the page shown.
    pub current: bool,
}

/// The console's sections, who sees each in the menu, and where it lives.
pub const SECTIONS: [(&str, &str, &[Role]); 9] = [
    ("/console", "console-nav-home", &[]),
    ("/console/campaigns", "console-nav-campaigns", &[]),
    (
        "/console/synthesis",
        "console-nav-synthesis",
        super::routes::OPINION_READERS,
    ),
    (
        "/console/groups",
        "console-nav-units",
        super::routes::GROUP_MANAGERS,
    ),
    (
        "/console/opinions",
        "console-nav-opinions",
        super::routes::OPINION_READERS,
    ),
    (
        "/console/broadcasts",
        "console-nav-broadcasts",
        super::routes::BROADCAST_READERS,
    ),
    (
        "/console/moderation",
        "console-nav-moderation",
        super::routes::MODERATORS,
    ),
    ("/console/staff", "console-nav-staff", super::routes::ADMINS),
    ("/console/audit", "console-nav-audit", super::routes::ADMINS),
];

/// Whether a path is one of a campaign's synthesis pages (the menu's "Synthesis" entry).
fn synthesis_page(path: &str) -> bool {
    let path = path.split('?').next().unwrap_or("");
    path.starts_with("/console/campaigns/")
        && (path.ends_with("/synthesis") || path.ends_with("/groups"))
}

impl Console {
    /// Renders a page with the common frame: language, menu, the signed-in user and the
    /// session's CSRF token for the logout form.
    pub fn page(
        &self,
        ctx: &Ctx,
        signed: Option<&Session>,
        template: &str,
        page: Value,
    ) -> Response {
        let me = signed.map(|s| {
            let roles: Vec<String> = s
                .staff
                .roles
                .iter()
                .map(|r| format!("console-role-{}", r.as_str()))
                .collect();
            context! {
                name => s.staff.name.clone(),
                roles => roles,
                unit => s.staff.unit.clone(),
            }
        });
        let nav: Vec<NavItem> = match signed {
            Some(s) if !s.must_change => SECTIONS
                .iter()
                .filter(|(href, _, roles)| {
                    matches!(*href, "/console" | "/console/campaigns")
                        || s.staff.has(Role::Admin)
                        || roles.iter().any(|r| s.staff.has(*r))
                })
                .map(|(href, label, _)| NavItem {
                    href,
                    label,
                    current: ctx.path.split('?').next() == Some(*href)
                        || (*href != "/console"
                            && ctx.path.starts_with(href)
                            && !(*href == "/console/campaigns" && synthesis_page(&ctx.path)))
                        || (*href == "/console/synthesis" && synthesis_page(&ctx.path)),
                })
                .collect(),
            _ => Vec::new(),
        };
        let base = context! {
            lang => ctx.lang.as_str(),
            other_lang => match ctx.lang { Locale::Vi => "en", Locale::En => "vi" },
            path => ctx.path.clone(),
            me => me,
            nav => nav,
            csrf => signed.map(|s| s.csrf.clone()),
        };
        match self.views().render(template, context! { ..page, ..base }) {
            Ok(html) => Html(html).into_response(),
            Err(e) => {
                tracing::error!(template, error = %e, "a console template failed to render");
                (StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response()
            }
        }
    }

    /// The error page for a failure (logged when it is ours, not the user's).
    pub fn error_page(&self, ctx: &Ctx, signed: Option<&Session>, failure: Failure) -> Response {
        match &failure {
            Failure::Store(e) => {
                tracing::warn!(error = %e, path = %ctx.path.split('?').next().unwrap_or(""), "console request failed in storage")
            }
            Failure::Internal(e) => {
                tracing::error!(error = %format!("{e:#}"), "console request failed")
            }
            _ => {}
        }
        let (status, key) = failure.status_and_key();
        let mut res = self.page(ctx, signed, "error.html", context! { message => key });
        *res.status_mut() = status;
        res
    }

    /// A redirect that also sets cookies.
    pub fn redirect_with(&self, to: &str, cookies: Vec<HeaderValue>) -> Response {
        let headers: Vec<_> = cookies.into_iter().map(|c| (SET_COOKIE, c)).collect();
        (AppendHeaders(headers), Redirect::to(to)).into_response()
    }
}
