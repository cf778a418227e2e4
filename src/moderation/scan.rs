//! The shell around detection for opinions: read what was not scanned yet, assess it with the
//! word lists plus the officials' watch list, queue what is flagged. Flagged opinions stay
//! stored as they are; being queued is what makes them "pending review".

use chrono::{DateTime, Utc};

use super::{Detector, NewItem, OpinionToScan, Target};
use crate::domain::CampaignId;
use crate::store::{Store, StoreResult};

/// What a scan did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScanReport {
    /// Opinions assessed (those never scanned before, not withdrawn).
    pub scanned: usize,
    /// Of those, how many were queued.
    pub queued: usize,
}

/// The detector with the store's watch list merged in.
pub async fn with_watch_list(store: &dyn Store, base: &Detector) -> StoreResult<Detector> {
    let watch = store.watch_list().await?;
    Ok(Detector::new(
        base.lexicon()
            .with_watch_terms(watch.iter().map(|w| w.phrase.as_str())),
        base.threshold(),
    ))
}

/// Screens one opinion just saved (the hook for the dialog, after its transaction commits):
/// queues it when flagged. Returns the item, or `None` when it was not flagged or was queued
/// before.
pub async fn screen_opinion(
    store: &dyn Store,
    detector: &Detector,
    opinion: &OpinionToScan,
    at: DateTime<Utc>,
) -> StoreResult<Option<i64>> {
    let assessment = detector.assess(&opinion.text);
    if !assessment.flagged {
        return Ok(None);
    }
    let target = Target::Opinion {
        opinion_id: opinion.opinion_id,
    };
    let item = NewItem::detected(target, &opinion.text, opinion.author, &assessment, at);
    store.queue_item(&item).await
}

/// Screens an opinion its author edited: when the new text is flagged the opinion goes back
/// to the queue (pending review, out of the synthesis until kept) with the new words, even if
/// a moderator kept or hid the old ones. Returns the item, or `None` when not flagged.
pub async fn rescreen_opinion(
    store: &dyn Store,
    detector: &Detector,
    opinion: &OpinionToScan,
    at: DateTime<Utc>,
) -> StoreResult<Option<i64>> {
    let assessment = detector.assess(&opinion.text);
    if !assessment.flagged {
        return Ok(None);
    }
    let target = Target::Opinion {
        opinion_id: opinion.opinion_id,
    };
    let item = NewItem::detected(target, &opinion.text, opinion.author, &assessment, at);
    store.requeue(&item).await.map(Some)
}

/// Scans a campaign's opinions that were never scanned and queues the flagged ones.
pub async fn scan_campaign(
    store: &dyn Store,
    base: &Detector,
    campaign: CampaignId,
    at: DateTime<Utc>,
) -> StoreResult<ScanReport> {
    let detector = with_watch_list(store, base).await?;
    let opinions = store.opinions_to_scan(campaign).await?;
    let mut report = ScanReport {
        scanned: opinions.len(),
        queued: 0,
    };
    for o in &opinions {
        if screen_opinion(store, &detector, o, at).await?.is_some() {
            report.queued += 1;
        }
    }
    Ok(report)
}
