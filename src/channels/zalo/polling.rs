//! The long-polling loop. Zalo's `getUpdates` hands out ONE update per call, answers 408 when
//! nothing came during the long poll, and has no offset: an update is acknowledged by nothing
//! and never delivered again once handed out. So each update is processed to its commit (and
//! its replies sent) before the next is asked for, and while the database is down the same
//! update is kept in memory and retried until it commits or gopy shuts down. Long polling does
//! not work while a webhook is set: the loop refuses to start then, and says how to fix it.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::client::{ApiError, CALL_TIMEOUT, Failure};
use super::inbound::{Route, route};
use super::outbound::Sent;
use super::{Core, unauthorized};

/// How long one `getUpdates` waits for something to arrive (Zalo takes it as a string).
pub(super) const POLL_TIMEOUT: Duration = Duration::from_secs(30);

/// The longest pause between two tries (a failing poll, or an update while storage is down).
const MAX_PAUSE: Duration = Duration::from_secs(30);

/// Why the loop stopped processing.
enum Stop {
    /// Shutdown.
    ShutDown,
    /// Zalo refused the token.
    Unauthorized,
}

/// Polls until shutdown; an error when Zalo refuses the token, or a webhook is set.
pub(super) async fn run(
    core: std::sync::Arc<Core>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    if let Some(url) = webhook_url(&core).await? {
        return Err(webhook_is_set(&url));
    }
    let fatal = core.out.fatal.clone();
    let body = json!({"timeout": POLL_TIMEOUT.as_secs().to_string()});
    let mut pause: Option<Duration> = None;
    loop {
        let answer = tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            _ = fatal.cancelled() => return Err(unauthorized()),
            a = core.out.client.call("getUpdates", &body, POLL_TIMEOUT + Duration::from_secs(15)) => a,
        };
        let err = match answer {
            Ok(result) => {
                if pause.take().is_some() {
                    tracing::info!("the Zalo Bot API answers again");
                }
                for update in updates(&result) {
                    match process(&core, update, &shutdown).await {
                        Ok(()) => {}
                        Err(Stop::ShutDown) => return Ok(()),
                        Err(Stop::Unauthorized) => return Err(unauthorized()),
                    }
                }
                continue;
            }
            Err(e) => e,
        };
        let wait = match err.failure() {
            Failure::Idle => continue,
            Failure::Unauthorized => return Err(unauthorized()),
            Failure::Refused if matches!(err.code(), Some(400 | 409)) => {
                // Zalo reports a webhook set this way; look before guessing.
                if let Ok(Some(url)) = webhook_url(&core).await {
                    return Err(webhook_is_set(&url));
                }
                next_pause(&mut pause, &err)
            }
            _ => next_pause(&mut pause, &err),
        };
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// The updates in a `getUpdates` result: one object (what Zalo sends), or each element of an
/// array (tolerated), or none.
fn updates(result: &Value) -> Vec<&Value> {
    match result {
        Value::Array(items) => items.iter().collect(),
        Value::Object(o) if !o.is_empty() => vec![result],
        _ => Vec::new(),
    }
}

/// The pause after a failed poll, doubling up to [`MAX_PAUSE`]; a run of failures is logged
/// once.
fn next_pause(pause: &mut Option<Duration>, err: &ApiError) -> Duration {
    if pause.is_none() {
        tracing::warn!(error = %err, "cannot get updates from Zalo; retrying");
    }
    let next = pause.map_or(Duration::from_millis(500), |p| (p * 2).min(MAX_PAUSE));
    *pause = Some(next);
    next
}

/// Processes one update to the end: committed and answered, answered only, or skipped.
async fn process(core: &Core, update: &Value, shutdown: &CancellationToken) -> Result<(), Stop> {
    let started = Instant::now();
    let (kind, route) = match route(update) {
        Ok(r) => r,
        Err(e) => {
            metrics::counter!("gopy_zalo_updates_total", "kind" => "malformed").increment(1);
            tracing::warn!(error = %e, "an update from getUpdates is not understood; skipped");
            return Ok(());
        }
    };
    metrics::counter!("gopy_zalo_updates_total", "kind" => kind).increment(1);
    let sent = match route {
        Route::Ignore(why) => {
            tracing::debug!(kind, "Zalo update ignored: {why}");
            Sent::Ok
        }
        Route::Unsupported { chat, message_id } => {
            core.answer_unsupported(&chat, message_id.as_deref()).await
        }
        Route::Dialog(ev) => {
            let mut pause = Duration::from_millis(100);
            let mut down = false;
            loop {
                match core.step(&ev).await {
                    Ok(replies) => {
                        if down {
                            tracing::info!("storage is back; Zalo updates are processed again");
                        }
                        break core.deliver(&ev.chat, &replies, started).await;
                    }
                    Err(e) if e.is_transient() => {
                        if !down {
                            tracing::warn!(error = %e, "cannot store a Zalo update right now; it is kept and retried");
                            down = true;
                        }
                        tokio::select! {
                            _ = shutdown.cancelled() => {
                                tracing::warn!("shutting down with a Zalo update not stored; Zalo will not send it again");
                                return Err(Stop::ShutDown);
                            }
                            _ = tokio::time::sleep(pause) => {}
                        }
                        pause = (pause * 2).min(MAX_PAUSE);
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "cannot handle a Zalo update; it is skipped");
                        break core.apologise(&ev.chat).await;
                    }
                }
            }
        }
    };
    if sent == Sent::Unauthorized {
        return Err(Stop::Unauthorized);
    }
    Ok(())
}

/// The webhook Zalo has for this bot, if any (`getWebhookInfo`). Only a refused token is an
/// error; when Zalo cannot say, polling is tried (and `getUpdates` tells).
async fn webhook_url(core: &Core) -> anyhow::Result<Option<String>> {
    match core
        .out
        .client
        .call("getWebhookInfo", &json!({}), CALL_TIMEOUT)
        .await
    {
        Ok(info) => Ok(info
            .get("url")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(str::to_owned)),
        Err(e) if e.failure() == Failure::Unauthorized => Err(unauthorized()),
        Err(e) => {
            tracing::debug!(error = %e, "getWebhookInfo failed; trying to poll anyway");
            Ok(None)
        }
    }
}

/// The error that refuses to poll while a webhook is set, saying how to fix it.
fn webhook_is_set(url: &str) -> anyhow::Error {
    let host = url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned());
    anyhow::anyhow!(
        "Bot Zalo đang đặt webhook (tới {host}) nên không nhận tin bằng long polling được. Cách \
         sửa: chạy gopy ở chế độ webhook (đặt ZALO_WEBHOOK_SECRET, và ZALO_WEBHOOK_URL), hoặc \
         xóa webhook: curl -X POST \"$ZALO_BOT_API_URL/bot$ZALO_BOT_TOKEN/deleteWebhook\" rồi \
         chạy lại. / A webhook is set for this Zalo bot (to {host}), so long polling cannot \
         work. To fix it: run gopy in webhook mode (set ZALO_WEBHOOK_SECRET, and \
         ZALO_WEBHOOK_URL), or delete the webhook: curl -X POST \
         \"$ZALO_BOT_API_URL/bot$ZALO_BOT_TOKEN/deleteWebhook\", then start again."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poll_result_holds_one_update_or_tolerably_several_or_none() {
        let one = json!({"event_name": "message.text.received", "message": {}});
        assert_eq!(updates(&one), vec![&one]);
        let two = json!([one.clone(), one.clone()]);
        assert_eq!(updates(&two).len(), 2);
        for none in [Value::Null, json!({}), json!([])] {
            assert!(updates(&none).is_empty(), "{none}");
        }
    }
}
