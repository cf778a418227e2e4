//! Reports delivered on their due dates: every few seconds the dates that came due are taken
//! (each once, across processes), and every subscribed official with a linked Telegram account
//! gets the report for their scope — a short message with the totals, and the full synthesis
//! as a file — in their private chat. Decided and built by [`crate::reports`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use teloxide::payloads::SendDocumentSetters as _;
use teloxide::requests::{Request as _, Requester as _};
use teloxide::types::{ChatId, InputFile, ParseMode};
use tokio_util::sync::CancellationToken;

use crate::announce::access::UnitTree;
use crate::domain::Locale;
use crate::i18n::Markup;
use crate::reports::{Built, build, unit_for};
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
    }
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
