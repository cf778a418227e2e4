//! Reports delivered on their due dates: every few seconds the dates that came due are taken
//! (each once, across processes), and every subscribed official with a linked Telegram account
//! gets the report for their scope — a short message with the totals, and the full synthesis
//! as a file — in their private chat; and, during collection, the daily digest at the hour
//! set. Decided and built by [`crate::reports`]. The per-unit reports `gopy synthesis send`
//! queued go out on the same tick, each to its unit's lead, recorded sent or failed.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use teloxide::payloads::SendDocumentSetters as _;
use teloxide::requests::{Request as _, Requester as _};
use teloxide::types::{ChatId, InputFile, ParseMode};
use tokio_util::sync::CancellationToken;

use crate::announce::access::UnitTree;
use crate::domain::{CollectionWindow, Locale};
use crate::i18n::Markup;
use crate::reports::{Built, build, digest, unit_for};
use crate::store::replies::DueReport;
use crate::store::{Store, StoreResult};

use super::outbound::{Outbound, redact};

/// How often due dates are looked for.
const TICK: Duration = Duration::from_secs(2);

/// Takes and delivers due reports until shutdown.
pub(super) async fn deliver(out: Outbound, store: Arc<dyn Store>, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(TICK) => {}
        }
        let due = match store.take_due_reports(Utc::now()).await {
            Ok(d) => d,
            Err(e) => {
                tracing::debug!(error = %e, "cannot look for due reports now");
                continue;
            }
        };
        for report in due {
            if let Err(e) = deliver_one(&out, store.as_ref(), &report).await {
                tracing::warn!(report = report.id, error = %e, "a due report could not be built; it is not sent again");
            }
        }
        if let Err(e) = digests(&out, store.as_ref()).await {
            tracing::warn!(error = %e, "the daily digests could not be sent now");
        }
        if let Err(e) = unit_reports(&out, store.as_ref()).await {
            tracing::warn!(error = %e, "the units' reports could not be sent now");
        }
    }
}

/// How long a unit report taken by a process may stay unfinished before another takes it.
const UNIT_REPORT_LEASE: chrono::Duration = chrono::Duration::minutes(5);

/// Sends the per-unit reports `gopy synthesis send` queued: to each lead, a short message
/// and the unit's file, in private chat; each recorded as sent or failed (audited).
async fn unit_reports(out: &Outbound, store: &dyn Store) -> StoreResult<()> {
    let now = Utc::now();
    let taken = store
        .take_unit_reports(now, now - UNIT_REPORT_LEASE, 20)
        .await?;
    if taken.is_empty() {
        return Ok(());
    }
    let campaigns = store.campaigns().await?;
    let staff = store.staff().await?;
    for report in taken {
        let chat = staff
            .iter()
            .find(|s| s.id == report.staff_id)
            .and_then(|s| s.telegram_user_id)
            .map(ChatId);
        let campaign = campaigns.iter().find(|c| c.id == report.campaign);
        let result = match (chat, campaign) {
            (Some(chat), Some(campaign)) => {
                let unit = campaign
                    .units
                    .iter()
                    .find(|u| u.code == report.unit)
                    .map(|u| u.name.clone())
                    .unwrap_or_else(|| report.unit.clone());
                let message = crate::dialog::Msg::new("rp-unit-report")
                    .text("unit", unit.clone())
                    .text("title", campaign.title.clone())
                    .num("opinions", report.opinions);
                let caption = crate::dialog::Msg::new("rp-unit-report-file").text("unit", unit);
                let file =
                    InputFile::memory(report.bytes.clone()).file_name(report.file_name.clone());
                send_file(out, chat, &message, file, &caption).await
            }
            (None, _) => Err("the lead has no linked Telegram account any more".to_owned()),
            (_, None) => Err("the campaign no longer exists".to_owned()),
        };
        store
            .finish_unit_report(
                report.id,
                result.as_ref().err().map(String::as_str),
                Utc::now(),
            )
            .await?;
        metrics::counter!("gopy_unit_reports_total", "result" => if result.is_ok() { "sent" } else { "failed" })
            .increment(1);
    }
    Ok(())
}

/// Takes today's digests that came due and sends each subscriber theirs, during collection.
async fn digests(out: &Outbound, store: &dyn Store) -> StoreResult<()> {
    let now = Utc::now();
    let local = now.with_timezone(&chrono_tz::Asia::Ho_Chi_Minh);
    let day = local.format("%Y-%m-%d").to_string();
    let taken = store
        .take_digests(&day, i64::from(chrono::Timelike::hour(&local)))
        .await?;
    if taken.is_empty() {
        return Ok(());
    }
    let campaigns = store.campaigns().await?;
    let tree = UnitTree::new(store.unit_nodes().await?);
    let staff = store.staff().await?;
    for id in taken {
        let Some(campaign) = campaigns.iter().find(|c| c.id == id) else {
            continue;
        };
        if !matches!(campaign.window(now), CollectionWindow::Open(_)) {
            continue;
        }
        let subscribers = store.report_subscribers(id).await?;
        for user in staff.iter().filter(|s| subscribers.contains(&s.id)) {
            let Some(chat) = user.telegram_user_id.map(ChatId) else {
                continue;
            };
            let msg = digest(store, campaign, user.unit.as_deref(), &tree).await?;
            out.send_notice(chat, Locale::Vi, &msg).await;
            metrics::counter!("gopy_reports_digests_total").increment(1);
        }
    }
    Ok(())
}

/// Builds and sends one due report to each subscriber, for their scope.
async fn deliver_one(out: &Outbound, store: &dyn Store, report: &DueReport) -> StoreResult<()> {
    let Some(campaign) = store
        .campaigns()
        .await?
        .into_iter()
        .find(|c| c.id == report.campaign)
    else {
        return Ok(());
    };
    let tree = UnitTree::new(store.unit_nodes().await?);
    let staff = store.staff().await?;
    let subscribers = store.report_subscribers(campaign.id).await?;
    let mut built: HashMap<Option<String>, Built> = HashMap::new();
    for user in staff.iter().filter(|s| subscribers.contains(&s.id)) {
        let Some(chat) = user.telegram_user_id.map(ChatId) else {
            continue;
        };
        let Some(unit) = unit_for(report.unit.as_deref(), user.unit.as_deref(), &tree) else {
            continue;
        };
        let b = match built.get(&unit) {
            Some(b) => b.clone(),
            None => {
                let b = build(store, &campaign, unit.as_deref(), &tree, report.due_at).await?;
                built.insert(unit.clone(), b.clone());
                b
            }
        };
        send(out, chat, &b).await;
        metrics::counter!("gopy_reports_delivered_total").increment(1);
    }
    Ok(())
}

/// Sends the message, then the file through the account's limiter; `Err` with what Telegram
/// said (token redacted) when the file was not taken.
async fn send_file(
    out: &Outbound,
    chat: ChatId,
    message: &crate::dialog::Msg,
    file: InputFile,
    caption: &crate::dialog::Msg,
) -> Result<(), String> {
    let text = out.l10n.msg(Locale::Vi, message, Markup::TelegramHtml);
    out.send(chat, text, None, None).await;
    if let Some(limiter) = &out.limiter {
        let at = limiter
            .lock()
            .await
            .reserve(chat.0, tokio::time::Instant::now());
        tokio::time::sleep_until(at).await;
    }
    let caption = out.l10n.msg(Locale::Vi, caption, Markup::TelegramHtml);
    out.bot
        .send_document(chat, file)
        .caption(caption)
        .parse_mode(ParseMode::Html)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| redact(&e.to_string(), &out.token))
}

/// Sends the message, then the file (its failures are logged only).
async fn send(out: &Outbound, chat: ChatId, b: &Built) {
    let text = out.l10n.msg(Locale::Vi, &b.message, Markup::TelegramHtml);
    out.send(chat, text, None, None).await;
    if let Some(limiter) = &out.limiter {
        let at = limiter
            .lock()
            .await
            .reserve(chat.0, tokio::time::Instant::now());
        tokio::time::sleep_until(at).await;
    }
    let file = InputFile::memory(b.text.clone().into_bytes()).file_name(b.file_name.clone());
    let caption = out.l10n.msg(
        Locale::Vi,
        &crate::dialog::Msg::new("rp-report-file"),
        Markup::TelegramHtml,
    );
    let sent = out
        .bot
        .send_document(chat, file)
        .caption(caption)
        .parse_mode(ParseMode::Html)
        .send()
        .await;
    if let Err(e) = sent {
        let d = redact(&e.to_string(), &out.token);
        tracing::warn!(error = %d, "cannot send a report's file");
    }
}
