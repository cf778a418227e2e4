//! What a broadcast's attachment and its "Góp ý ngay" button become on the Zalo OA (pure):
//! Zalo's upload endpoints and limits, the `message` objects of `/v3.0/oa/message/cs` and
//! `/v3.0/oa/group/message` for an image (the `attachment_id` of an upload, or by URL), a
//! file (the upload's `token`) and a text with an `oa.query.show` button, and the text line
//! that stands in for the button where a message cannot carry one (GMF groups).
//!
//! The button sends `/start <campaign>_<unit>` into the OA chat as the resident's own message
//! when tapped: the same dialog start as Telegram's `?start=` link, without leaving Zalo.

use serde_json::{Value, json};

use crate::store::announce::{Attachment, DeepLink};

/// Where images are uploaded (JPEG or PNG, at most [`MAX_UPLOAD_IMAGE`]).
pub const IMAGE_UPLOAD_PATH: &str = "/v2.0/oa/upload/image";

/// Where files are uploaded (PDF, DOC or DOCX, at most [`MAX_UPLOAD_FILE`]).
pub const FILE_UPLOAD_PATH: &str = "/v2.0/oa/upload/file";

/// The largest image Zalo takes as an upload; a larger one goes by URL.
pub const MAX_UPLOAD_IMAGE: usize = 1024 * 1024;

/// The largest file Zalo takes as an upload; a larger one goes as a link in the text.
pub const MAX_UPLOAD_FILE: usize = 5 * 1024 * 1024;

/// The button's title, as on Telegram.
pub const BUTTON_LABEL: &str = "Góp ý ngay";

/// How an attachment reaches an OA chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Upload the image, then send it as a media message by its `attachment_id`.
    UploadImage,
    /// Send the image as a media message by gopy's public link to it.
    ImageByUrl(String),
    /// Upload the file, then send it as a file message by its `token`.
    UploadFile,
    /// Put gopy's public link to the file under the text.
    LinkInText,
    /// Nothing can carry it (no `GOPY_PUBLIC_URL` and no upload): the text goes alone.
    Nothing,
}

/// How `a` goes, first choice: an upload when Zalo takes its size, else a link.
pub fn plan(a: &Attachment, public_url: Option<&str>) -> Plan {
    if a.is_image() && a.bytes.len() <= MAX_UPLOAD_IMAGE {
        Plan::UploadImage
    } else if !a.is_image() && a.bytes.len() <= MAX_UPLOAD_FILE {
        Plan::UploadFile
    } else {
        fallback(a, public_url)
    }
}

/// How `a` goes when it cannot be uploaded: by gopy's public link, if gopy has one.
pub fn fallback(a: &Attachment, public_url: Option<&str>) -> Plan {
    match public_url {
        Some(base) if a.is_image() => {
            Plan::ImageByUrl(crate::announce::attachment::link(base, &a.token))
        }
        Some(_) => Plan::LinkInText,
        None => Plan::Nothing,
    }
}

/// An image as it is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Image {
    /// The `attachment_id` of an upload.
    Uploaded(String),
    /// A public URL Zalo fetches.
    Url(String),
}

/// The media message of one image.
pub fn image_message(image: &Image) -> Value {
    let element = match image {
        Image::Uploaded(id) => json!({"media_type": "image", "attachment_id": id}),
        Image::Url(url) => json!({"media_type": "image", "url": url}),
    };
    json!({"attachment": {"type": "template",
        "payload": {"template_type": "media", "elements": [element]}}})
}

/// The file message of an uploaded file (a file message has no text).
pub fn file_message(token: &str) -> Value {
    json!({"attachment": {"type": "file", "payload": {"token": token}}})
}

/// What the resident sends when they tap the button: `/start <campaign>_<unit>`.
pub fn start_text(link: &DeepLink) -> String {
    format!("/start {}", link.payload())
}

/// A text of at most 2,000 characters with the "Góp ý ngay" button under it.
pub fn button_message(text: &str, link: &DeepLink) -> Value {
    json!({"text": text, "attachment": {"type": "template", "payload": {"buttons": [
        {"title": BUTTON_LABEL, "type": "oa.query.show", "payload": start_text(link)}
    ]}}})
}

/// The line that stands in for the button where a message cannot carry one.
pub fn button_line(link: &DeepLink) -> String {
    format!(
        "\n\nGóp ý: nhắn {} cho Official Account này",
        start_text(link)
    )
}

/// The id in an upload's answer: `attachment_id` (images) or `token` (files), a string or a
/// number; `None` when there is none.
pub fn upload_id(data: &Value) -> Option<String> {
    ["attachment_id", "token"]
        .iter()
        .filter_map(|k| data.get(*k))
        .find_map(|v| match v {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attachment(media_type: &str, size: usize) -> Attachment {
        Attachment {
            token: "0123456789abcdef0123456789abcdef".to_owned(),
            file_name: "du-thao.pdf".to_owned(),
            media_type: media_type.to_owned(),
            sha256: "00".repeat(32),
            bytes: vec![0; size],
        }
    }

    #[test]
    fn uploads_within_zalos_limits_and_links_beyond_them() {
        let base = Some("https://gopy.example.vn");
        let png = attachment("image/png", MAX_UPLOAD_IMAGE);
        assert_eq!(plan(&png, None), Plan::UploadImage);
        let big_png = attachment("image/png", MAX_UPLOAD_IMAGE + 1);
        assert_eq!(
            plan(&big_png, base),
            Plan::ImageByUrl(
                "https://gopy.example.vn/tep/0123456789abcdef0123456789abcdef".to_owned()
            )
        );
        assert_eq!(plan(&big_png, None), Plan::Nothing);
        let pdf = attachment(crate::announce::attachment::PDF, MAX_UPLOAD_FILE);
        assert_eq!(plan(&pdf, None), Plan::UploadFile);
        let big_pdf = attachment(crate::announce::attachment::PDF, MAX_UPLOAD_FILE + 1);
        assert_eq!(plan(&big_pdf, base), Plan::LinkInText);
        assert_eq!(plan(&big_pdf, None), Plan::Nothing);
        assert_eq!(fallback(&pdf, base), Plan::LinkInText);
    }

    #[test]
    fn messages_have_zalos_shapes() {
        let link = DeepLink {
            campaign: "bk-2026".to_owned(),
            unit: "TDP-1".to_owned(),
        };
        let m = button_message("Kính mời góp ý", &link);
        assert_eq!(m["text"], "Kính mời góp ý");
        let b = &m["attachment"]["payload"]["buttons"][0];
        assert_eq!(b["type"], "oa.query.show");
        assert_eq!(b["payload"], "/start bk-2026_TDP-1");
        assert_eq!(b["title"], BUTTON_LABEL);
        let img = image_message(&Image::Uploaded("a1".to_owned()));
        assert_eq!(img["attachment"]["payload"]["template_type"], "media");
        assert_eq!(
            img["attachment"]["payload"]["elements"][0]["attachment_id"],
            "a1"
        );
        assert_eq!(file_message("t1")["attachment"]["payload"]["token"], "t1");
        assert!(button_line(&link).contains("/start bk-2026_TDP-1"));
        assert_eq!(
            upload_id(&json!({"attachment_id": "x"})),
            Some("x".to_owned())
        );
        assert_eq!(upload_id(&json!({"token": 12})), Some("12".to_owned()));
        assert_eq!(upload_id(&json!({"token": ""})), None);
    }
}
