//! `/appeal` on any channel: the author's newest hidden item that was not appealed yet goes
//! back to the queue, for a moderator other than the one who decided. The channel answers
//! with [`super::notice::appeal_answer`] and sends the new cards.

use chrono::{DateTime, Utc};

use super::Item;
use crate::domain::ContactKey;
use crate::store::{Store, StoreResult};

/// Appeals the newest hidden, unappealed item of the person with this key; `None` when there
/// is none (nothing hidden, or appealed once already).
pub async fn appeal_latest(
    store: &dyn Store,
    author: &ContactKey,
    text: &str,
    at: DateTime<Utc>,
) -> StoreResult<Option<Item>> {
    let Some(contact) = store.find_contact(author).await? else {
        return Ok(None);
    };
    let Some(item) = store.appealable_item(contact.id).await? else {
        return Ok(None);
    };
    store.appeal(item.id, text.trim(), at).await
}
