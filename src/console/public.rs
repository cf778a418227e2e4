//! The public opinion page, `/y-kien/<campaign>`: the ward portal channel for residents
//! without Zalo or Telegram. It shows the draft's sections and summaries, the same consent
//! notice as the chat, and a form per topic with an optional unit and target group; a
//! submission is stored like a chat opinion (an anonymous web contact, consent recorded,
//! opinions submitted with a receipt code, source `web`) and handed to moderation screening
//! like one. It works without JavaScript, can be framed by the ward's website, keeps no
//! address with the opinions, limits submissions per address (in memory, per process), and
//! silently drops what fills the honeypot field.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, Duration, Utc};
use minijinja::context;
use unicode_normalization::UnicodeNormalization as _;

use super::Console;
use super::web::Ctx;
use crate::dialog::Msg;
use crate::domain::{
    Campaign, Channel, CollectionWindow, ContactKey, IdentityMode, Locale, MAX_OPINION_CHARS,
    OpinionSource, format_local, format_local_end,
};
use crate::i18n::Markup;
use crate::moderation::OpinionToScan;
use crate::service::random_code;
use crate::store::{NewOpinion, StoreError};

/// Submissions one address may make within [`RATE_WINDOW`].
pub const RATE_LIMIT: usize = 5;

/// The window of [`RATE_LIMIT`].
pub const RATE_WINDOW: Duration = Duration::minutes(10);

/// Addresses remembered at most (the oldest are forgotten first past this).
const RATE_MEMORY: usize = 10_000;

/// Recent submissions per address. Only times are kept, never what was sent.
#[derive(Debug, Default)]
pub struct RateLimiter {
    /// Submission times per address, oldest first.
    seen: Mutex<HashMap<String, VecDeque<DateTime<Utc>>>>,
}

impl RateLimiter {
    /// Whether `ip` may submit at `now`; counts the submission when it may.
    pub fn allow(&self, ip: &str, now: DateTime<Utc>) -> bool {
        let Ok(mut seen) = self.seen.lock() else {
            return true;
        };
        if seen.len() >= RATE_MEMORY {
            seen.retain(|_, times| times.back().is_some_and(|t| now - *t < RATE_WINDOW));
        }
        let times = seen.entry(ip.to_owned()).or_default();
        while times.front().is_some_and(|t| now - *t >= RATE_WINDOW) {
            times.pop_front();
        }
        if times.len() >= RATE_LIMIT {
            return false;
        }
        times.push_back(now);
        true
    }
}

/// The public routes (framable, unlike the console).
pub fn router(console: Console) -> Router {
    Router::new()
        .route("/y-kien/{slug}", get(form).post(submit))
        .layer(axum::middleware::map_response(public_headers))
        .with_state(console)
}

/// The public page loads nothing from elsewhere but may be framed by the ward's website.
async fn public_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; form-action 'self'; base-uri 'none'",
        ),
    );
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.insert("cache-control", HeaderValue::from_static("no-store"));
    res
}

/// What the resident typed, kept to show the form again when something is missing.
#[derive(Debug, Default, serde::Serialize)]
struct Typed {
    texts: HashMap<String, String>,
    unit: String,
    group: String,
    consent: bool,
}

impl Typed {
    /// Reads the urlencoded form: `topic-<code>` texts, `unit`, `group`, `consent`, and the
    /// honeypot `website` (returned apart).
    fn parse(body: &[u8]) -> (Self, bool) {
        let mut t = Typed::default();
        let mut honeypot = false;
        for (k, v) in url::form_urlencoded::parse(body) {
            match k.as_ref() {
                "unit" => t.unit = v.into_owned(),
                "group" => t.group = v.into_owned(),
                "consent" => t.consent = true,
                "website" => honeypot |= !v.trim().is_empty(),
                other => {
                    if let Some(code) = other.strip_prefix("topic-") {
                        t.texts.insert(code.to_owned(), v.nfc().collect());
                    }
                }
            }
        }
        (t, honeypot)
    }
}

/// Renders the page for a campaign.
fn page(
    console: &Console,
    ctx: &Ctx,
    c: &Campaign,
    typed: &Typed,
    error: Option<&'static str>,
    status: StatusCode,
) -> Response {
    let now = console.now();
    let (open, opens, closes) = match c.window(now) {
        CollectionWindow::Open(until) => (true, None, Some(format_local_end(until))),
        CollectionWindow::NotYetOpen(at) => (false, Some(format_local(at)), None),
        CollectionWindow::Closed(_) => (false, None, None),
    };
    let notice = Msg::new("consent-notice")
        .text("issuer", &c.issuer)
        .text("document", &c.document_title)
        .text("purpose", &c.purpose)
        .num("months", i64::from(c.retention_months));
    let notice = console.views().text(ctx.lang, &notice, Markup::Plain);
    let mut res = console.page(
        ctx,
        None,
        "public.html",
        context! {
            c => context! {
                slug => c.slug.clone(),
                title => c.title.clone(),
                issuer => c.issuer.clone(),
                document => c.document_title.clone(),
                intro => c.intro.clone(),
                sections => c.sections.iter().map(|s| context! { reference => s.reference.clone(), title => s.title.clone(), summary => s.summary.clone() }).collect::<Vec<_>>(),
                topics => c.topics.iter().map(|t| context! { code => t.code.clone(), title => t.title.clone(), question => t.question.clone(), sections => t.sections.join(", ") }).collect::<Vec<_>>(),
                units => c.units.iter().skip(1).map(|u| context! { code => u.code.clone(), name => u.name.clone() }).collect::<Vec<_>>(),
                groups => c.target_groups.iter().map(|g| g.code.clone()).collect::<Vec<_>>(),
            },
            notice => notice,
            open => open,
            opens => opens,
            closes => closes,
            typed => typed,
            error => error,
            max => MAX_OPINION_CHARS,
            public => true,
        },
    );
    *res.status_mut() = status;
    res
}

/// The campaign with this slug.
async fn campaign(console: &Console, slug: &str) -> Result<Option<Campaign>, StoreError> {
    Ok(console
        .store()
        .campaigns()
        .await?
        .into_iter()
        .find(|c| c.slug == slug))
}

/// A page saying the campaign does not exist or storage failed.
fn failure(console: &Console, ctx: &Ctx, key: &'static str, status: StatusCode) -> Response {
    let mut res = console.page(
        ctx,
        None,
        "public_message.html",
        context! { message => key, receipt => (), count => 0, public => true },
    );
    *res.status_mut() = status;
    res
}

/// `GET /y-kien/{slug}`
pub async fn form(State(console): State<Console>, ctx: Ctx, Path(slug): Path<String>) -> Response {
    match campaign(&console, &slug).await {
        Ok(Some(c)) => page(&console, &ctx, &c, &Typed::default(), None, StatusCode::OK),
        Ok(None) => failure(&console, &ctx, "public-not-found", StatusCode::NOT_FOUND),
        Err(e) => {
            tracing::warn!(error = %e, "the public page cannot read the campaign");
            failure(
                &console,
                &ctx,
                "public-unavailable",
                StatusCode::SERVICE_UNAVAILABLE,
            )
        }
    }
}

/// `POST /y-kien/{slug}`
pub async fn submit(
    State(console): State<Console>,
    ctx: Ctx,
    Path(slug): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let c = match campaign(&console, &slug).await {
        Ok(Some(c)) => c,
        Ok(None) => return failure(&console, &ctx, "public-not-found", StatusCode::NOT_FOUND),
        Err(e) => {
            tracing::warn!(error = %e, "the public page cannot read the campaign");
            return failure(
                &console,
                &ctx,
                "public-unavailable",
                StatusCode::SERVICE_UNAVAILABLE,
            );
        }
    };
    let (typed, honeypot) = Typed::parse(&body);
    if honeypot {
        metrics::counter!("gopy_web_opinions_dropped_total", "why" => "honeypot").increment(1);
        return console.page(
            &ctx,
            None,
            "public_message.html",
            context! { message => "public-thanks", receipt => (), count => 0, public => true },
        );
    }
    let now = console.now();
    if !matches!(c.window(now), CollectionWindow::Open(_)) {
        return page(
            &console,
            &ctx,
            &c,
            &typed,
            Some("public-closed"),
            StatusCode::CONFLICT,
        );
    }
    if !typed.consent {
        return page(
            &console,
            &ctx,
            &c,
            &typed,
            Some("public-need-consent"),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let texts: Vec<(String, String)> = c
        .topics
        .iter()
        .filter_map(|t| {
            let text = typed.texts.get(&t.code)?.trim().to_owned();
            (!text.is_empty()).then(|| (t.code.clone(), text))
        })
        .collect();
    if texts.is_empty() {
        return page(
            &console,
            &ctx,
            &c,
            &typed,
            Some("public-need-text"),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    if texts
        .iter()
        .any(|(_, t)| t.chars().count() > MAX_OPINION_CHARS)
    {
        return page(
            &console,
            &ctx,
            &c,
            &typed,
            Some("public-too-long"),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let unit = Some(typed.unit.clone()).filter(|u| c.units.iter().any(|x| &x.code == u));
    let group = Some(typed.group.clone()).filter(|g| c.target_groups.iter().any(|x| &x.code == g));
    if !console.public_limiter().allow(&ctx.ip, now) {
        metrics::counter!("gopy_web_opinions_dropped_total", "why" => "rate").increment(1);
        return page(
            &console,
            &ctx,
            &c,
            &typed,
            Some("public-rate-limited"),
            StatusCode::TOO_MANY_REQUESTS,
        );
    }
    let mut last = None;
    for _ in 0..3 {
        match store_opinions(
            &console,
            &c,
            &texts,
            unit.as_deref(),
            group.as_deref(),
            ctx.lang,
            now,
            OpinionSource::Web,
        )
        .await
        {
            Ok(done) => {
                last = Some(Ok(done));
                break;
            }
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => {
                last = Some(Err(e));
                break;
            }
        }
    }
    match last {
        Some(Ok((receipt, saved))) => {
            metrics::counter!("gopy_opinions_total", "channel" => "web")
                .increment(saved.len() as u64);
            if let Some(screener) = console.screener() {
                saved.into_iter().for_each(|o| screener.submit(o));
            }
            console.page(
                &ctx,
                None,
                "public_message.html",
                context! { message => "public-receipt", receipt => receipt, count => texts.len(), slug => c.slug.clone(), public => true },
            )
        }
        Some(Err(e)) => {
            tracing::warn!(error = %e, "a web opinion could not be stored");
            page(
                &console,
                &ctx,
                &c,
                &typed,
                Some("public-unavailable"),
                StatusCode::SERVICE_UNAVAILABLE,
            )
        }
        None => page(
            &console,
            &ctx,
            &c,
            &typed,
            Some("public-unavailable"),
            StatusCode::SERVICE_UNAVAILABLE,
        ),
    }
}

/// Stores one submission in one transaction: an anonymous web contact, its consent (a
/// resident on the public page), the opinions, submitted together under one receipt, with
/// `source` (`web`, or `meeting` when an official records what a meeting said). Returns the
/// receipt and what to screen.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn store_opinions(
    console: &Console,
    c: &Campaign,
    texts: &[(String, String)],
    unit: Option<&str>,
    group: Option<&str>,
    lang: Locale,
    now: DateTime<Utc>,
    source: OpinionSource,
) -> Result<(String, Vec<OpinionToScan>), StoreError> {
    let mut tx = console.store().begin().await?;
    let key = ContactKey {
        channel: Channel::Web,
        external_id: format!("{}-{}", source.as_str(), super::auth::new_token()),
    };
    let contact = tx.contact(&key, lang).await?;
    if source == OpinionSource::Web {
        // A resident on the public page consents as in the chat; what a meeting said is
        // recorded by an official and names no one.
        tx.record_consent(
            contact.id,
            c.id,
            IdentityMode::Anonymous,
            &c.notice_version,
            now,
        )
        .await?;
    }
    let mut saved = Vec::new();
    for (topic, text) in texts {
        let section = c
            .topics
            .iter()
            .find(|t| &t.code == topic)
            .and_then(|t| (t.sections.len() == 1).then(|| t.sections[0].clone()));
        let id = tx
            .insert_opinion(&NewOpinion {
                reference: random_code(6),
                campaign_id: c.id,
                contact_id: Some(contact.id),
                topic: topic.clone(),
                section,
                unit: unit.map(str::to_owned),
                target_group: group.map(str::to_owned),
                channel: Channel::Web,
                source,
                anonymous: true,
                text: text.clone(),
                created_at: now,
            })
            .await?;
        saved.push(OpinionToScan {
            opinion_id: id,
            author: Some(contact.id),
            text: text.clone(),
        });
    }
    let receipt = format!("GY-{}", random_code(6));
    tx.submit_drafts(contact.id, c.id, &receipt, now).await?;
    tx.commit().await?;
    Ok((receipt, saved))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_may_submit_five_times_in_ten_minutes() {
        let limiter = RateLimiter::default();
        let t0 = Utc::now();
        for i in 0..5 {
            assert!(limiter.allow("10.0.0.1", t0 + Duration::seconds(i)));
        }
        assert!(!limiter.allow("10.0.0.1", t0 + Duration::minutes(5)));
        assert!(
            limiter.allow("10.0.0.2", t0 + Duration::minutes(5)),
            "another address"
        );
        assert!(limiter.allow(
            "10.0.0.1",
            t0 + Duration::minutes(10) + Duration::seconds(1)
        ));
    }
}
