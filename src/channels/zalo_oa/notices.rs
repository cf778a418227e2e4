//! Moderation's notices to OA authors: an author whose opinion was hidden or restored is
//! told through the OA, within the messaging window like any message (outside it the
//! notice is recorded as not sent). The notices are written by the decision
//! ([`crate::store::ModerationStore::decide`]); this loop sends the ones owed to OA contacts
//! (`oa:` external ids on the Zalo channel), each taken before it is sent (at most once).

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::outbound::Outbound;
use crate::domain::Channel;
use crate::moderation::notice;
use crate::store::{Store, StoreResult};

/// How often the loop looks for notices to send.
const PAUSE: Duration = Duration::from_secs(2);

/// Notices looked at per round (Bot API ones among them are left alone).
const LOOK_AT: i64 = 200;

/// Sends owed notices until shutdown.
pub(super) async fn deliver(out: &Outbound, store: Arc<dyn Store>, shutdown: CancellationToken) {
    let mut failing = false;
    loop {
        match deliver_once(out, store.as_ref()).await {
            Ok(()) => failing = false,
            Err(e) => {
                if !failing {
                    tracing::warn!(error = %e, "cannot deliver moderation notices through the Zalo OA right now; retrying");
                }
                failing = true;
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(PAUSE) => {}
        }
    }
}

async fn deliver_once(out: &Outbound, store: &dyn Store) -> StoreResult<()> {
    for n in store.unsent_notices(Channel::Zalo, LOOK_AT).await? {
        let Some(user) = n.external_id.strip_prefix("oa:") else {
            continue;
        };
        if !store.take_notice(n.id, (out.clock)()).await? {
            continue;
        }
        if let Some(reply) = notice::owed(&n) {
            out.send_replies(user, &[reply]).await;
        }
    }
    Ok(())
}
