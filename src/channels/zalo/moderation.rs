//! Moderation's notices on Zalo: an author whose opinion was hidden or restored is told in
//! their chat with the bot (Zalo delivers no group posts to gopy, so there is nothing else
//! to moderate here). The notices are written by the decision ([`crate::store::ModerationStore::decide`]);
//! this loop sends the ones owed to Zalo contacts, each taken before it is sent (at most once).

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use super::outbound::Outbound;
use crate::domain::Channel;
use crate::moderation::notice;
use crate::store::{Store, StoreResult};

/// How often the loop looks for notices to send.
const PAUSE: Duration = Duration::from_secs(1);

/// Sends owed notices until shutdown.
pub(super) async fn deliver(out: &Outbound, store: Arc<dyn Store>, shutdown: CancellationToken) {
    let mut failing = false;
    loop {
        match deliver_once(out, store.as_ref()).await {
            Ok(()) if failing => {
                failing = false;
                tracing::info!("moderation notices reach Zalo again");
            }
            Ok(()) => {}
            Err(e) => {
                if !failing {
                    tracing::warn!(error = %e, "cannot deliver moderation notices on Zalo right now; retrying");
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
    for n in store.unsent_notices(Channel::Zalo, 20).await? {
        // The Zalo OA's followers (`oa:` ids) are told through the OA.
        if n.external_id.starts_with("oa:") {
            continue;
        }
        if !store.take_notice(n.id, Utc::now()).await? {
            continue;
        }
        if let Some(reply) = notice::owed(&n) {
            out.send_replies(&n.external_id, &[reply]).await;
        }
    }
    Ok(())
}
