//! Screening opinions as residents give them: after a dialog step commits, its new opinions
//! are handed to one background task that assesses them and queues the flagged ones for a
//! moderator. Nothing in the dialog waits for it, and nothing is lost when it cannot keep up
//! or the process stops: an opinion it never saw is caught by the scan every start begins
//! with (and by `gopy moderation scan`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{
    Detector, OpinionToScan, rescreen_opinion, scan_campaign, screen_opinion, with_watch_list,
};
use crate::store::Store;
use crate::store::jobs::Job;

/// Opinions waiting to be screened before new ones are left to the next start's scan.
const BACKLOG: usize = 10_000;

/// How long the officials' watch list is trusted before it is read again.
const WATCH_LIST_TTL: Duration = Duration::from_secs(30);

/// Where the dialog hands its new opinions. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Screener {
    /// The screening task's inbox: an opinion, and whether it was edited (screened again).
    tx: mpsc::Sender<(OpinionToScan, bool)>,
}

/// The screening task's side: [`ScreenTask::run`] it once the process runs.
pub struct ScreenTask {
    /// The inbox.
    rx: mpsc::Receiver<(OpinionToScan, bool)>,
    /// The built-in or configured word lists.
    base: Detector,
}

/// A screener and the task that serves it.
pub fn screener(base: Detector) -> (Screener, ScreenTask) {
    let (tx, rx) = mpsc::channel(BACKLOG);
    (Screener { tx }, ScreenTask { rx, base })
}

impl Screener {
    /// Hands an opinion over without waiting. When the backlog is full the opinion is left
    /// for the next start's scan (counted in `gopy_moderation_screen_deferred_total`).
    pub fn submit(&self, opinion: OpinionToScan) {
        if self.tx.try_send((opinion, false)).is_err() {
            metrics::counter!("gopy_moderation_screen_deferred_total").increment(1);
        }
    }

    /// Hands over an opinion its author edited: flagged words send it back to the queue
    /// (pending review again) whatever was decided before. Without waiting; when the backlog
    /// is full the edit is not screened (counted in `gopy_moderation_screen_deferred_total`).
    pub fn submit_edit(&self, opinion: OpinionToScan) {
        if self.tx.try_send((opinion, true)).is_err() {
            metrics::counter!("gopy_moderation_screen_deferred_total").increment(1);
        }
    }
}

impl ScreenTask {
    /// First scans every campaign's opinions that were never screened (those given while
    /// gopy was down or too busy), then screens what the dialog hands over, until shutdown.
    pub async fn run(mut self, store: Arc<dyn Store>, shutdown: CancellationToken) {
        let now = chrono::Utc::now();
        // One process scans at a time: a replica starting while another scans leaves it to
        // that one (the scan is idempotent, an item is queued once, but it reads everything).
        let turn = match store
            .take_turn(Job::ModerationScan, now, chrono::Duration::zero())
            .await
        {
            Ok(Some(turn)) => Some(turn),
            Ok(None) => {
                tracing::debug!("another process is scanning unscreened opinions");
                None
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot take the start-up scan's turn; the next start will");
                None
            }
        };
        let listed = match &turn {
            Some(_) => store.campaign_summaries().await.map(Some),
            None => Ok(None),
        };
        match listed {
            Ok(None) => {}
            Ok(Some(campaigns)) => {
                for c in campaigns {
                    if shutdown.is_cancelled() {
                        return;
                    }
                    match scan_campaign(store.as_ref(), &self.base, c.id, now).await {
                        Ok(r) if r.queued > 0 => tracing::info!(
                            campaign = c.id,
                            scanned = r.scanned,
                            queued = r.queued,
                            "opinions given while gopy was not screening are queued for moderators"
                        ),
                        Ok(_) => {}
                        Err(e) => {
                            tracing::warn!(campaign = c.id, error = %e, "cannot scan a campaign's opinions now; the next start will")
                        }
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot list campaigns to scan; the next start will")
            }
        }
        if let Some(turn) = turn
            && let Err(e) = turn.finish().await
        {
            tracing::debug!(error = %e, "cannot record the start-up scan");
        }
        let mut detector: Option<(Instant, Detector)> = None;
        loop {
            let (opinion, edited) = tokio::select! {
                _ = shutdown.cancelled() => return,
                o = self.rx.recv() => match o { Some(o) => o, None => return },
            };
            if detector
                .as_ref()
                .is_none_or(|(at, _)| at.elapsed() > WATCH_LIST_TTL)
            {
                match with_watch_list(store.as_ref(), &self.base).await {
                    Ok(d) => detector = Some((Instant::now(), d)),
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot read the watch list; using the last one")
                    }
                }
            }
            let d = detector.as_ref().map_or(&self.base, |(_, d)| d);
            let now = chrono::Utc::now();
            let screened = if edited {
                rescreen_opinion(store.as_ref(), d, &opinion, now).await
            } else {
                screen_opinion(store.as_ref(), d, &opinion, now).await
            };
            match screened {
                Ok(Some(_)) => {
                    metrics::counter!("gopy_moderation_queued_total", "source" => "dialog")
                        .increment(1)
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(opinion = opinion.opinion_id, error = %e, "cannot queue an opinion for moderation; the next start's scan will")
                }
            }
        }
    }
}
