//! The web console for officials, approvers, unit leads and moderators, served under
//! `/console` by the same axum server as health and webhooks, and the public opinion page
//! for residents under `/y-kien/<campaign>`.
//!
//! Pages are rendered on the server from minijinja templates embedded in the binary
//! (`templates/console/`), in Vietnamese first with an English switch; every string comes from
//! `locales/*/console.ftl`. The one stylesheet is vendored and served by gopy: no page loads
//! anything from elsewhere, and every page works without JavaScript (one small vendored
//! script only updates the length counters while an announcement is typed).
//!
//! Layout:
//! - `auth.rs`: the security decisions, pure (argon2id, tokens, throttling, password rules).
//! - `web.rs`: the request context, the signed-in extractor, cookies, CSRF, the page frame
//!   and error pages.
//! - `views.rs`: the template environment and its `t()` function.
//! - `login.rs`: login, logout, password change, the language switch.
//! - `home.rs`: the overview (dashboard); `charts.rs` its figures and SVG bar geometry.
//! - `broadcasts.rs`: compose, preview, submit, approve, schedule, cancel, progress.
//! - `campaigns.rs`: campaigns, a dialog preview, importing a campaign file.
//! - `campaign_form.rs`: creating and editing a campaign in a form, checked by the campaign
//!   file's rules, problems shown beside their fields.
//! - `groups.rs`: the unit tree, the bot's groups and rights, binding a group to a unit.
//! - `moderation.rs`: the moderators' queue (hide / keep) and log.
//! - `opinions.rs`: opinions filtered and searched without regard to accents.
//! - `opinion_tools.rs`: classifying an opinion, importing a table of opinions (all or
//!   nothing, problems by row), the import template; `upload.rs` reads the file form.
//! - `synthesis.rs`: a campaign's synthesis (figures, build), its near-duplicate groups
//!   (merge, split, representative) and exports (anonymous unless a leader gives a reason).
//! - `staff.rs`: staff and one-time passwords, and the audit log (administrators).
//! - `public.rs`: the public opinion page `/y-kien/<campaign>` (framable, no session).
//! - `routes.rs`: every route and who may reach it; roles are checked there.
//!
//! Handlers hold no SQL: they call the store's traits, and every action an official takes is
//! written to `audit_log` (who, when, what, from which address) by the store in the
//! transaction that makes the change.

pub mod auth;
mod broadcasts;
mod campaign_form;
mod campaigns;
mod charts;
mod groups;
mod home;
mod login;
mod moderation;
mod opinion_tools;
mod opinions;
pub mod public;
pub mod routes;
mod staff;
mod synthesis;
mod upload;
mod views;
pub mod web;

use std::sync::Arc;

use axum::Router;
use axum::http::HeaderValue;
use axum::response::Response;

use crate::config::ConsoleSettings;
use crate::i18n::Localizer;
use crate::moderation::Screener;
use crate::service::Clock;
use crate::store::Store;

pub use views::Views;

/// What the console's handlers share.
#[derive(Clone)]
pub struct Console {
    /// Shared, immutable.
    inner: Arc<Inner>,
}

/// The console's state.
struct Inner {
    /// The store.
    store: Arc<dyn Store>,
    /// The templates.
    views: Views,
    /// Cookies and client addresses.
    settings: ConsoleSettings,
    /// The clock (tests move it).
    clock: Clock,
    /// Where web opinions go to be screened for moderation, as chat opinions do.
    screener: Option<Screener>,
    /// Submissions per address on the public page.
    limiter: public::RateLimiter,
}

impl Console {
    /// The console over this store.
    pub fn new(
        store: Arc<dyn Store>,
        l10n: Arc<Localizer>,
        settings: ConsoleSettings,
        clock: Clock,
        screener: Option<Screener>,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                views: Views::new(l10n)?,
                settings,
                clock,
                screener,
                limiter: public::RateLimiter::default(),
            }),
        })
    }

    /// The moderation screener, when screening runs.
    pub fn screener(&self) -> Option<&Screener> {
        self.inner.screener.as_ref()
    }

    /// The public page's per-address limiter.
    pub fn public_limiter(&self) -> &public::RateLimiter {
        &self.inner.limiter
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// The templates.
    pub fn views(&self) -> &Views {
        &self.inner.views
    }

    /// Cookie and address settings.
    pub fn settings(&self) -> &ConsoleSettings {
        &self.inner.settings
    }

    /// Now.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        (self.inner.clock)()
    }

    /// The console's routes, under `/console` (see `routes.rs`).
    pub fn router(self) -> Router {
        let public = public::router(self.clone());
        routes::router(self)
            .layer(axum::middleware::map_response(security_headers))
            .merge(public)
    }
}

/// The vendored stylesheet.
pub(crate) async fn stylesheet() -> impl axum::response::IntoResponse {
    (
        [
            ("content-type", "text/css; charset=utf-8"),
            ("cache-control", "public, max-age=3600"),
        ],
        include_str!("../../templates/console/console.css"),
    )
}

/// The one optional script: live length counters while composing.
pub(crate) async fn script() -> impl axum::response::IntoResponse {
    (
        [
            ("content-type", "text/javascript; charset=utf-8"),
            ("cache-control", "public, max-age=3600"),
        ],
        include_str!("../../templates/console/console.js"),
    )
}

/// Headers every console response carries: nothing loads from elsewhere, the console is
/// never framed, and no page is cached by a shared computer's browser.
async fn security_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; \
             frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
    );
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    if !h.contains_key("cache-control") {
        h.insert("cache-control", HeaderValue::from_static("no-store"));
    }
    res
}
