//! Login, logout, password change and the language switch.
//!
//! A login is refused before its password is looked at when the account or the address has
//! failed too often lately (`auth::throttle`); an unknown name is checked against a decoy
//! hash so it takes as long as a wrong password. A success opens a session in the database
//! (the cookie holds a random token, the database its hash), audited as `console.login`. A
//! one-time password lets its holder do nothing but choose a new one.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use serde::Deserialize;

use super::Console;
use super::auth::{self, Throttled};
use super::web::{Ctx, Failure, LANG_COOKIE, LOGIN_COOKIE, SESSION_COOKIE, Signed, set_cookie};
use crate::domain::Locale;
use crate::store::console::{LoginAttempt, NewSession};

/// `?next=` on the login page.
#[derive(Debug, Deserialize)]
pub struct NextQuery {
    /// Where to go after login.
    next: Option<String>,
    /// Set after a logout, to say so.
    bye: Option<String>,
}

/// The login form as posted.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    /// User name.
    #[serde(default)]
    name: String,
    /// Password.
    #[serde(default)]
    password: String,
    /// The login CSRF token (also in the login cookie).
    #[serde(default)]
    csrf: String,
    /// Where to go after login.
    #[serde(default)]
    next: String,
}

/// Renders the login page with a fresh CSRF token in a cookie and in the form.
fn login_page(
    console: &Console,
    ctx: &Ctx,
    name: &str,
    next: &str,
    error: Option<(&'static str, i64)>,
    bye: bool,
    status: axum::http::StatusCode,
) -> Response {
    let token = auth::new_token();
    let secure = console.settings().secure_cookies;
    let mut res = console.page(
        ctx,
        None,
        "login.html",
        context! {
            name => name,
            next => auth::safe_next(Some(next)),
            login_csrf => token.clone(),
            error => error.map(|(key, _)| key),
            minutes => error.map(|(_, m)| m),
            bye => bye,
        },
    );
    *res.status_mut() = status;
    res.headers_mut().append(
        axum::http::header::SET_COOKIE,
        set_cookie(LOGIN_COOKIE, &token, "/console/login", Some(1800), secure),
    );
    res
}

/// `GET /console/login`
pub async fn form(
    State(console): State<Console>,
    ctx: Ctx,
    Query(q): Query<NextQuery>,
) -> Response {
    let next = q.next.as_deref().unwrap_or("/console");
    let bye = q.bye.is_some();
    login_page(
        &console,
        &ctx,
        "",
        next,
        None,
        bye,
        axum::http::StatusCode::OK,
    )
}

/// `POST /console/login`
pub async fn submit(
    State(console): State<Console>,
    ctx: Ctx,
    headers: axum::http::HeaderMap,
    axum::Form(f): axum::Form<LoginForm>,
) -> Response {
    use axum::http::StatusCode;
    let name = f.name.trim().to_owned();
    let cookie_token = super::web::cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if !auth::same_secret(&f.csrf, cookie_token) {
        return login_page(
            &console,
            &ctx,
            &name,
            &f.next,
            Some(("console-form-expired", 0)),
            false,
            StatusCode::FORBIDDEN,
        );
    }
    let store = console.store();
    let now = console.now();
    let since = now - auth::THROTTLE_WINDOW;
    let failures = match store.login_failures(&name, &ctx.ip, since).await {
        Ok(f) => f,
        Err(e) => return console.error_page(&ctx, None, Failure::Store(e)),
    };
    if let Some(why) = auth::throttle(failures) {
        let key = match why {
            Throttled::Account => "console-login-throttled-account",
            Throttled::Address => "console-login-throttled-address",
        };
        tracing::info!(why = ?why, "a console login was throttled");
        metrics::counter!("gopy_console_logins_total", "result" => "throttled").increment(1);
        return login_page(
            &console,
            &ctx,
            &name,
            &f.next,
            Some((key, auth::THROTTLE_WINDOW.num_minutes())),
            false,
            StatusCode::TOO_MANY_REQUESTS,
        );
    }
    let creds = match store.credentials(&name).await {
        Ok(c) => c,
        Err(e) => return console.error_page(&ctx, None, Failure::Store(e)),
    };
    let usable = creds.filter(|c| !c.disabled && c.password_hash.is_some());
    let hash = usable
        .as_ref()
        .and_then(|c| c.password_hash.clone())
        .unwrap_or_else(|| auth::decoy_hash().to_owned());
    let password = f.password;
    let matches = tokio::task::spawn_blocking(move || auth::verify_password(&password, &hash))
        .await
        .unwrap_or(false);
    let attempt = LoginAttempt {
        name: name.clone(),
        ip: ctx.ip.clone(),
        at: now,
        success: matches && usable.is_some(),
    };
    let Some(creds) = usable.filter(|_| matches) else {
        metrics::counter!("gopy_console_logins_total", "result" => "failed").increment(1);
        if let Err(e) = store.record_login(&attempt, None).await {
            return console.error_page(&ctx, None, Failure::Store(e));
        }
        return login_page(
            &console,
            &ctx,
            &name,
            &f.next,
            Some(("console-login-failed", 0)),
            false,
            StatusCode::UNAUTHORIZED,
        );
    };
    let token = auth::new_token();
    let session = NewSession {
        token_hash: auth::token_hash(&token),
        staff_id: creds.staff.id,
        csrf: auth::new_token(),
        ip: ctx.ip.clone(),
        created_at: now,
        expires_at: now + chrono::Duration::hours(console.settings().session_hours),
    };
    let audit = ctx.audit(
        &creds.staff.name,
        "console.login",
        now,
        serde_json::json!({}),
    );
    if let Err(e) = store.record_login(&attempt, Some((&session, &audit))).await {
        return console.error_page(&ctx, None, Failure::Store(e));
    }
    metrics::counter!("gopy_console_logins_total", "result" => "ok").increment(1);
    let secure = console.settings().secure_cookies;
    let to = if creds.must_change {
        "/console/password"
    } else {
        auth::safe_next(Some(&f.next))
    };
    console.redirect_with(
        to,
        vec![
            set_cookie(
                SESSION_COOKIE,
                &token,
                "/console",
                Some(console.settings().session_hours * 3600),
                secure,
            ),
            set_cookie(LOGIN_COOKIE, "", "/console/login", None, secure),
        ],
    )
}

/// A form that carries only its CSRF token.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    /// The session's CSRF token.
    #[serde(default)]
    csrf: String,
}

/// `POST /console/logout`
pub async fn logout(
    State(console): State<Console>,
    signed: Signed,
    axum::Form(f): axum::Form<CsrfForm>,
) -> Response {
    if !signed.csrf_ok(&f.csrf) {
        return console.error_page(&signed.ctx, Some(&signed.session), Failure::FormExpired);
    }
    let audit = signed.audit("console.logout", console.now(), serde_json::json!({}));
    if let Err(e) = console
        .store()
        .end_session(&signed.session.token_hash, &audit)
        .await
    {
        return console.error_page(&signed.ctx, Some(&signed.session), Failure::Store(e));
    }
    let secure = console.settings().secure_cookies;
    console.redirect_with(
        "/console/login?bye=1",
        vec![set_cookie(SESSION_COOKIE, "", "/console", None, secure)],
    )
}

/// The password change form as posted.
#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    /// The session's CSRF token.
    #[serde(default)]
    csrf: String,
    /// The current (possibly one-time) password.
    #[serde(default)]
    current: String,
    /// The new password.
    #[serde(default)]
    new: String,
    /// The new password again.
    #[serde(default)]
    confirm: String,
}

/// Renders the password page.
fn password_page(
    console: &Console,
    signed: &Signed,
    error: Option<&'static str>,
    done: bool,
) -> Response {
    let status = if error.is_some() {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        axum::http::StatusCode::OK
    };
    let mut res = console.page(
        &signed.ctx,
        Some(&signed.session),
        "password.html",
        context! {
            must_change => signed.session.must_change,
            error => error,
            done => done,
            min => auth::MIN_PASSWORD_CHARS,
            max => auth::MAX_PASSWORD_CHARS,
        },
    );
    *res.status_mut() = status;
    res
}

/// `?done=1` after a change.
#[derive(Debug, Deserialize)]
pub struct DoneQuery {
    /// Set after a successful change.
    done: Option<String>,
}

/// `GET /console/password`
pub async fn password_form(
    State(console): State<Console>,
    signed: Signed,
    Query(q): Query<DoneQuery>,
) -> Response {
    password_page(&console, &signed, None, q.done.is_some())
}

/// `POST /console/password`
pub async fn password_submit(
    State(console): State<Console>,
    signed: Signed,
    axum::Form(f): axum::Form<PasswordForm>,
) -> Response {
    if !signed.csrf_ok(&f.csrf) {
        return console.error_page(&signed.ctx, Some(&signed.session), Failure::FormExpired);
    }
    let store = console.store();
    let staff = &signed.session.staff;
    let creds = match store.credentials(&staff.name).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            return console.error_page(&signed.ctx, Some(&signed.session), Failure::NotFound);
        }
        Err(e) => return console.error_page(&signed.ctx, Some(&signed.session), Failure::Store(e)),
    };
    let hash = creds
        .password_hash
        .unwrap_or_else(|| auth::decoy_hash().to_owned());
    let current = f.current.clone();
    let right = tokio::task::spawn_blocking(move || auth::verify_password(&current, &hash))
        .await
        .unwrap_or(false);
    if !right {
        return password_page(&console, &signed, Some("console-password-wrong"), false);
    }
    if let Err(problem) = auth::check_new_password(&staff.name, &f.current, &f.new, &f.confirm) {
        return password_page(&console, &signed, Some(problem.message()), false);
    }
    let new = f.new;
    let hash = match tokio::task::spawn_blocking(move || auth::hash_password(&new)).await {
        Ok(Ok(h)) => h,
        Ok(Err(e)) => {
            return console.error_page(&signed.ctx, Some(&signed.session), Failure::Internal(e));
        }
        Err(e) => {
            return console.error_page(
                &signed.ctx,
                Some(&signed.session),
                Failure::Internal(e.into()),
            );
        }
    };
    let audit = signed.audit(
        "console.password_change",
        console.now(),
        serde_json::json!({ "staff": staff.id }),
    );
    match store
        .set_password(
            staff.id,
            &hash,
            false,
            Some(&signed.session.token_hash),
            &audit,
        )
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            return console.error_page(&signed.ctx, Some(&signed.session), Failure::NotFound);
        }
        Err(e) => return console.error_page(&signed.ctx, Some(&signed.session), Failure::Store(e)),
    }
    axum::response::Redirect::to("/console/password?done=1").into_response()
}

/// `GET /console/lang/{code}?next=…`: remembers the language in a cookie.
pub async fn switch_lang(
    State(console): State<Console>,
    Path(code): Path<String>,
    Query(q): Query<NextQuery>,
) -> Response {
    let lang = Locale::parse(&code).unwrap_or(Locale::Vi);
    let next = q
        .next
        .as_deref()
        .filter(|n| n.starts_with("/y-kien/") && !n.contains("//"));
    let to = next.unwrap_or_else(|| auth::safe_next(q.next.as_deref()));
    let secure = console.settings().secure_cookies;
    console.redirect_with(
        to,
        vec![set_cookie(
            LANG_COOKIE,
            lang.as_str(),
            "/",
            Some(365 * 24 * 3600),
            secure,
        )],
    )
}
