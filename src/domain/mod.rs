//! Plain domain types shared by every layer: campaigns, units, topics, contacts, opinions.
//! Nothing here does I/O or knows about a framework.

mod campaign;
mod contact;
mod opinion;

pub use campaign::{
    Campaign, CampaignId, CollectionWindow, Phase, PhaseKind, Section, TargetGroup, Topic, Unit,
};
pub use contact::{Channel, Contact, ContactId, ContactKey, Identity, IdentityMode, Locale};
pub use opinion::{Opinion, OpinionSource, OpinionStatus, ReceiptCode};

/// Ho Chi Minh City time, in which every date a resident or official sees is written.
pub const TZ: chrono_tz::Tz = chrono_tz::Asia::Ho_Chi_Minh;

/// The most characters one opinion may hold; longer text is refused with a clear message.
pub const MAX_OPINION_CHARS: usize = 4000;
