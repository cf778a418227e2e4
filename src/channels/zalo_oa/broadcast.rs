//! The Zalo OA's outbox worker: announcements to the groups the OA owns (GMF, through
//! [`super::groups::GroupSender`]) and to followers who asked for notices (through the
//! messaging window's replies, `/v3.0/oa/message/cs`). A follower outside the window is not
//! sent to: the delivery fails with that reason, recorded by the outbox.
//!
//! A broadcast's attachment goes first, as its own message ([`super::media`]): an image of
//! up to 1 MB uploaded once per process (`/v2.0/oa/upload/image`) and sent by its
//! `attachment_id`, a larger one by gopy's public link; a PDF or DOCX of up to 5 MB uploaded
//! once (`/v2.0/oa/upload/file`) and sent as a file, a larger one as a link under the text.
//! Then the text; for a follower its last part carries the "Góp ý ngay" button, in a GMF
//! group (text, image, file and sticker only) a line says what to send instead.

use std::collections::HashMap;

use async_trait::async_trait;
use serde_json::{Value, json};

use super::client::{Failure, Upload};
use super::groups::{GroupSender, escape_mentions};
use super::media::{self, Image, Plan};
use super::outbound::{Outbound, Sent};
use crate::announce::broadcast::zalo_text;
use crate::announce::outbox::{OutboxSettings, SendError, Sender};
use crate::channels::zalo::split::{MAX_CHARS, split_plain};
use crate::store::announce::{Attachment, ClaimedDelivery};

/// Messages a second the OA's outbox sends: Zalo allows about 4,000 requests a minute.
const PER_SECOND: u32 = 50;

/// How long the outbox waits after `-32` on an upload.
const RATE_LIMIT_PAUSE: std::time::Duration = std::time::Duration::from_secs(15);

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
    /// gopy's public base address (`GOPY_PUBLIC_URL`), for links to attachments.
    pub public_url: Option<String>,
    /// What each attachment became on Zalo, by upload path and SHA-256: its id, or `None`
    /// when Zalo refused it (the link is used instead). Held across an upload, so the
    /// deliveries of one broadcast upload its file once.
    pub uploads: tokio::sync::Mutex<HashMap<String, Option<String>>>,
}

/// Where a delivery goes.
#[derive(Clone, Copy)]
enum To<'a> {
    /// A GMF group.
    Group(&'a str),
    /// A follower (their OA user id).
    Follower(&'a str),
}

impl OaSender {
    /// A sender; nothing uploaded yet.
    pub(super) fn new(groups: GroupSender, out: Outbound, public_url: Option<String>) -> Self {
        Self {
            groups,
            out,
            public_url,
            uploads: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// Sends one message object.
    async fn send_one(&self, to: To<'_>, message: Value) -> Result<String, SendError> {
        match to {
            To::Group(chat) => self.groups.send_message(chat, message).await,
            To::Follower(user) => match self.out.send_message(user, message).await {
                Sent::Ok => Ok(String::new()),
                Sent::Withheld => Err(SendError::Refused(
                    "outside the Zalo OA messaging window, or the follower cannot be reached"
                        .to_owned(),
                )),
                Sent::Failed => Err(SendError::Transient(
                    "the Zalo OA did not take the message".to_owned(),
                )),
            },
        }
    }

    /// The id Zalo gave `a` uploaded to `path`, uploading it the first time; `None` when Zalo
    /// refuses the file (kept, so it is not tried again for every delivery).
    async fn uploaded(&self, path: &str, a: &Attachment) -> Result<Option<String>, SendError> {
        let key = format!("{path} {}", a.sha256);
        let mut uploads = self.uploads.lock().await;
        if let Some(known) = uploads.get(&key) {
            return Ok(known.clone());
        }
        let file = Upload {
            file_name: &a.file_name,
            media_type: &a.media_type,
            bytes: &a.bytes,
        };
        let id = match self.out.api.upload(path, file).await {
            Ok(data) => {
                let id = media::upload_id(&data);
                if id.is_none() {
                    tracing::warn!(path, "Zalo answered an OA upload without an id");
                }
                id
            }
            Err(e) => {
                let why = e.to_string();
                match e.failure() {
                    Failure::RateLimited => return Err(SendError::RetryAfter(RATE_LIMIT_PAUSE)),
                    Failure::Transient | Failure::NoToken | Failure::TokenRefused => {
                        return Err(SendError::Transient(why));
                    }
                    Failure::Window
                    | Failure::Unreachable
                    | Failure::GroupLost
                    | Failure::Refused => {
                        tracing::warn!(path, error = %why, "Zalo refused an OA upload; sending a link instead");
                        None
                    }
                }
            }
        };
        uploads.insert(key, id.clone());
        Ok(id)
    }

    /// The attachment's message, if it goes as one, and whether its link goes under the text
    /// instead.
    async fn attachment(&self, a: &Attachment) -> Result<(Option<Value>, bool), SendError> {
        let base = self.public_url.as_deref();
        let mut how = media::plan(a, base);
        if how == Plan::UploadImage || how == Plan::UploadFile {
            let path = if how == Plan::UploadImage {
                media::IMAGE_UPLOAD_PATH
            } else {
                media::FILE_UPLOAD_PATH
            };
            match self.uploaded(path, a).await? {
                Some(id) if how == Plan::UploadImage => {
                    return Ok((Some(media::image_message(&Image::Uploaded(id))), false));
                }
                Some(token) => return Ok((Some(media::file_message(&token)), false)),
                None => how = media::fallback(a, base),
            }
        }
        Ok(match how {
            Plan::ImageByUrl(url) => (Some(media::image_message(&Image::Url(url))), false),
            Plan::LinkInText => (None, true),
            Plan::Nothing => {
                tracing::warn!(
                    "tệp đính kèm không gửi được qua Zalo OA (chưa đặt GOPY_PUBLIC_URL): chỉ gửi \
                     nội dung / the attachment cannot go to the Zalo OA (no GOPY_PUBLIC_URL): \
                     only the text does"
                );
                (None, false)
            }
            Plan::UploadImage | Plan::UploadFile => (None, false),
        })
    }
}

#[async_trait]
impl Sender for OaSender {
    async fn send(&self, chat: &str, text: &str) -> Result<String, SendError> {
        self.groups.send(chat, text).await
    }

    async fn send_delivery(&self, d: &ClaimedDelivery) -> Result<String, SendError> {
        let to = if d.group_id.is_some() {
            To::Group(&d.chat)
        } else {
            let user = d.chat.strip_prefix("oa:").unwrap_or(&d.chat);
            if !self.out.window_open(user).await {
                return Err(SendError::Refused(
                    "outside the Zalo OA messaging window (48 h free, 7 days billed)".to_owned(),
                ));
            }
            To::Follower(user)
        };
        let mut first: Option<String> = None;
        let mut link = None;
        if let Some(a) = d.attachment.as_deref() {
            let (message, in_text) = self.attachment(a).await?;
            if let Some(message) = message {
                first = Some(self.send_one(to, message).await?);
            }
            link = in_text.then_some(a);
        }
        let mut text = zalo_text(&d.text, link, self.public_url.as_deref(), None);
        let button = match (to, &d.button) {
            (To::Group(_), Some(b)) => {
                text.push_str(&media::button_line(b));
                None
            }
            (_, b) => b.as_ref(),
        };
        let text = match to {
            To::Group(_) => escape_mentions(&text),
            To::Follower(_) => text,
        };
        let parts = split_plain(&text, MAX_CHARS);
        let last = parts.len().saturating_sub(1);
        for (k, part) in parts.into_iter().enumerate() {
            let message = match button {
                Some(b) if k == last => media::button_message(&part, b),
                _ => json!({"text": part}),
            };
            let id = self.send_one(to, message).await?;
            first.get_or_insert(id);
        }
        Ok(first.unwrap_or_default())
    }
}
