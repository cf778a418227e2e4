//! Plain domain types shared by every layer: campaigns, units, topics, contacts, opinions.
//! Nothing here does I/O or knows about a framework.

mod campaign;
mod contact;
mod link;
mod opinion;

pub use campaign::{
    Campaign, CampaignId, CollectionWindow, Phase, PhaseKind, Section, TargetGroup, Topic, Unit,
};
pub use contact::{Channel, Contact, ContactId, ContactKey, Identity, IdentityMode, Locale};
pub use link::{
    LINK_CODE_LEN, LINK_CODE_MINUTES, LinkCodeCheck, LinkStatus, link_code_hash,
    link_code_lifetime, normalize_link_code,
};
pub use opinion::{Opinion, OpinionSource, OpinionStatus, ReceiptCode};

/// A time as residents and officials read it: `13/07/2025 07:00`, Vietnam time.
pub fn format_local(at: chrono::DateTime<chrono::Utc>) -> String {
    at.with_timezone(&TZ).format("%d/%m/%Y %H:%M").to_string()
}

/// The end of a period as officials write it: an exclusive end at midnight is shown as 24:00
/// of the day before (`20/07/2025 24:00`), matching "đến hết ngày 20/7".
pub fn format_local_end(at: chrono::DateTime<chrono::Utc>) -> String {
    use chrono::Timelike;
    let local = at.with_timezone(&TZ);
    if local.hour() == 0 && local.minute() == 0 && local.second() == 0 {
        let day = local.date_naive() - chrono::Days::new(1);
        format!("{} 24:00", day.format("%d/%m/%Y"))
    } else {
        format_local(at)
    }
}

/// Ho Chi Minh City time, in which every date a resident or official sees is written.
pub const TZ: chrono_tz::Tz = chrono_tz::Asia::Ho_Chi_Minh;

/// The most characters one opinion may hold; longer text is refused with a clear message.
pub const MAX_OPINION_CHARS: usize = 4000;
