//! Reports delivered on their due dates: every few seconds the dates that came due are taken
//! (each once, across processes), and every subscribed official with a linked Telegram account
//! gets the report for their scope — a short message with the totals, and the full synthesis
//! as a file — in their private chat; and, during collection, the daily digest at the hour
//! set. Decided and built by [`crate::reports`].

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
    }
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
