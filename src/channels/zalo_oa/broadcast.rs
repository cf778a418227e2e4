//! The Zalo OA's outbox worker: announcements to the groups the OA owns (GMF, through
//! [`super::groups::GroupSender`]) and to followers who asked for notices (through the
//! messaging window's replies, `/v3.0/oa/message/cs`). A follower outside the window is not
//! sent to: the delivery fails with that reason, recorded by the outbox.

use async_trait::async_trait;

use super::groups::GroupSender;
use super::outbound::{Outbound, Sent};
use crate::announce::outbox::{OutboxSettings, SendError, Sender};
use crate::channels::zalo::split::{MAX_CHARS, split_plain};
use crate::store::announce::ClaimedDelivery;

/// Messages a second the OA's outbox sends: Zalo allows about 4,000 requests a minute.
const PER_SECOND: u32 = 50;

/// The OA outbox's settings: the outbox defaults at [`PER_SECOND`].
pub(super) fn settings() -> OutboxSettings {
    let mut s = OutboxSettings::from_env();
    s.paid = false;
    s.limits.per_second = PER_SECOND;
    s.batch = i64::from(PER_SECOND);
    s
}

/// Sends OA deliveries: groups by GMF, followers by a window reply.
pub(super) struct OaSender {
    /// GMF group messages.
    pub groups: GroupSender,
    /// Replies to followers.
    pub out: Outbound,
}

#[async_trait]
impl Sender for OaSender {
    async fn send(&self, chat: &str, text: &str) -> Result<String, SendError> {
        self.groups.send(chat, text).await
    }

    async fn send_delivery(&self, d: &ClaimedDelivery) -> Result<String, SendError> {
        if d.group_id.is_some() {
            return self.groups.send(&d.chat, &d.text).await;
        }
        let user = d.chat.strip_prefix("oa:").unwrap_or(&d.chat);
        for part in split_plain(&d.text, MAX_CHARS) {
            match self.out.send_text(user, &part).await {
                Sent::Ok => {}
                Sent::Withheld => {
                    return Err(SendError::Refused(
                        "outside the Zalo OA messaging window, or the follower cannot be reached"
                            .to_owned(),
                    ));
                }
                Sent::Failed => {
                    return Err(SendError::Transient(
                        "the Zalo OA did not take the message".to_owned(),
                    ));
                }
            }
        }
        Ok(String::new())
    }
}
