//! A broadcast's attachment: what file gopy accepts (PDF, DOCX, JPEG, PNG, told apart by their
//! first bytes, never by their name; images up to 5 MB, documents up to 10 MB), its link token
//! (128 random bits), the public link it is served at (`GOPY_PUBLIC_URL` + `/tep/<token>`) and
//! the headers it is served with. [`check`] is pure but for the token.

use sha2::{Digest as _, Sha256};

use crate::store::announce::Attachment;

/// The largest image accepted.
pub const MAX_IMAGE_BYTES: usize = 5 * 1024 * 1024;

/// The largest document (PDF, DOCX) accepted.
pub const MAX_DOCUMENT_BYTES: usize = 10 * 1024 * 1024;

/// The variable holding the public base address of gopy (https), for links to attachments.
pub const PUBLIC_URL_VAR: &str = "GOPY_PUBLIC_URL";

/// The path attachments are served under.
pub const PATH: &str = "/tep/";

/// PDF.
pub const PDF: &str = "application/pdf";
/// DOCX.
pub const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
/// JPEG.
pub const JPEG: &str = "image/jpeg";
/// PNG.
pub const PNG: &str = "image/png";

/// Why a file is refused as an attachment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttachmentRefusal {
    /// Empty.
    #[error("tệp đính kèm trống / the attachment is empty")]
    Empty,
    /// Not a PDF, DOCX, JPEG or PNG.
    #[error(
        "chỉ nhận tệp PDF, DOCX, JPEG hoặc PNG (xét theo nội dung tệp, không theo tên) / only PDF, DOCX, JPEG or PNG files are accepted (judged by their content, not their name)"
    )]
    WrongType,
    /// Over the limit of its kind.
    #[error(
        "tệp quá lớn: {size} byte, tối đa {limit_mb} MB cho {kind} / the file is too large: {size} bytes, at most {limit_mb} MB for {kind_en}"
    )]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit, in MB.
        limit_mb: usize,
        /// "ảnh" or "tài liệu".
        kind: &'static str,
        /// "an image" or "a document".
        kind_en: &'static str,
    },
}

/// The media type of `bytes` by their first bytes (a DOCX is a zip holding
/// `word/document.xml`), or `None`.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"%PDF-") {
        Some(PDF)
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(JPEG)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(PNG)
    } else if bytes.starts_with(b"PK\x03\x04") {
        // The zip's directory names its entries in plain bytes.
        let needle = b"word/document.xml";
        bytes
            .windows(needle.len())
            .any(|w| w == needle)
            .then_some(DOCX)
    } else {
        None
    }
}

/// The extension that goes with a media type.
fn extension(media_type: &str) -> &'static str {
    match media_type {
        PDF => "pdf",
        DOCX => "docx",
        JPEG => "jpg",
        _ => "png",
    }
}

/// A file name safe to show and to put in a header: the last path segment, without control
/// characters or quotes, at most 100 characters, ending in the extension of what the file is.
pub fn clean_name(name: &str, media_type: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let mut clean: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | ';'))
        .take(100)
        .collect();
    clean = clean.trim().to_owned();
    let ext = extension(media_type);
    let has_ext = clean.rsplit_once('.').is_some_and(|(stem, e)| {
        !stem.is_empty()
            && (e.eq_ignore_ascii_case(ext) || (ext == "jpg" && e.eq_ignore_ascii_case("jpeg")))
    });
    if clean.is_empty() {
        clean = "tep".to_owned();
    }
    if !has_ext {
        clean = format!("{clean}.{ext}");
    }
    clean
}

/// A new random link token: 128 bits as 32 hex digits.
pub fn new_token() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// Whether `s` looks like a token (so that anything else is a 404 without a query).
pub fn is_token(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// Checks a file and makes it an attachment with a fresh token: its type by its content, its
/// size by the limit of its kind.
pub fn check(file_name: &str, bytes: Vec<u8>) -> Result<Attachment, AttachmentRefusal> {
    if bytes.is_empty() {
        return Err(AttachmentRefusal::Empty);
    }
    let media_type = sniff(&bytes).ok_or(AttachmentRefusal::WrongType)?;
    let image = media_type.starts_with("image/");
    let (limit, kind, kind_en) = if image {
        (MAX_IMAGE_BYTES, "ảnh", "an image")
    } else {
        (MAX_DOCUMENT_BYTES, "tài liệu", "a document")
    };
    if bytes.len() > limit {
        return Err(AttachmentRefusal::TooLarge {
            size: bytes.len(),
            limit_mb: limit / (1024 * 1024),
            kind,
            kind_en,
        });
    }
    Ok(Attachment {
        token: new_token(),
        file_name: clean_name(file_name, media_type),
        media_type: media_type.to_owned(),
        sha256: hex::encode(Sha256::digest(&bytes)),
        bytes,
    })
}

/// Checks `GOPY_PUBLIC_URL`, the public base address of gopy: https, or http for a loopback
/// host (a test or a local trial). Returns it without a trailing slash.
pub fn check_public_url(raw: &str) -> Result<String, String> {
    let url = raw.trim().trim_end_matches('/').to_owned();
    let ok = url.len() > "https://".len() && url.starts_with("https://")
        || ["http://127.0.0.1", "http://localhost", "http://[::1]"]
            .iter()
            .any(|p| url.starts_with(p));
    if ok {
        Ok(url)
    } else {
        Err(format!(
            "{PUBLIC_URL_VAR} phải là địa chỉ https, ví dụ https://gopy.phuong.gov.vn / must be an https address: {url}"
        ))
    }
}

/// The public link of an attachment.
pub fn link(base: &str, token: &str) -> String {
    format!("{base}{PATH}{token}")
}

/// The `Content-Disposition` of a served attachment: images inline, documents as downloads;
/// the name as ASCII and, percent-encoded, as UTF-8 (RFC 6266).
pub fn disposition(a: &Attachment) -> String {
    let kind = if a.is_image() { "inline" } else { "attachment" };
    let ascii: String = a
        .file_name
        .chars()
        .map(|c| if c.is_ascii() && c != '\\' { c } else { '_' })
        .collect();
    let encoded: String = a
        .file_name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_told_by_content_not_by_name() {
        assert_eq!(sniff(b"%PDF-1.7\n"), Some(PDF));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0]), Some(JPEG));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some(PNG));
        assert_eq!(sniff(b"MZ\x90\x00"), None);
        assert_eq!(sniff(b"PK\x03\x04not a zip"), None);
        // A renamed executable is refused whatever its name says.
        assert_eq!(
            check("du-thao.pdf", b"MZ\x90\x00".to_vec()),
            Err(AttachmentRefusal::WrongType)
        );
    }

    #[test]
    fn a_docx_is_a_zip_with_a_word_document() {
        use std::io::Write as _;
        let mut buf = std::io::Cursor::new(Vec::new());
        {
            let mut z = zip::ZipWriter::new(&mut buf);
            z.start_file(
                "word/document.xml",
                zip::write::SimpleFileOptions::default(),
            )
            .expect("entry");
            z.write_all(b"<w:document/>").expect("write");
            z.finish().expect("finish");
        }
        assert_eq!(sniff(buf.get_ref()), Some(DOCX));
    }

    #[test]
    fn limits_depend_on_the_kind() {
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.resize(MAX_IMAGE_BYTES + 1, 0);
        let e = check("a.png", png).expect_err("too large");
        assert!(e.to_string().contains("tối đa 5 MB"), "{e}");
        let mut pdf = b"%PDF-1.7\n".to_vec();
        pdf.resize(MAX_IMAGE_BYTES + 1, 0);
        let a = check("Dự thảo.pdf", pdf).expect("a document may be larger");
        assert_eq!(a.media_type, PDF);
        assert!(is_token(&a.token));
        assert_eq!(a.sha256.len(), 64);
    }

    #[test]
    fn the_public_address_must_be_https_but_for_a_local_trial() {
        assert_eq!(
            check_public_url("https://gopy.example.vn/"),
            Ok("https://gopy.example.vn".to_owned())
        );
        assert!(check_public_url("http://gopy.example.vn").is_err());
        assert!(check_public_url("http://127.0.0.1:8080").is_ok());
        assert!(check_public_url("https://").is_err());
    }

    #[test]
    fn names_are_cleaned_and_get_the_right_extension() {
        assert_eq!(clean_name("C:\\tmp\\Dự thảo.PDF", PDF), "Dự thảo.PDF");
        assert_eq!(clean_name("../../etc/passwd", PNG), "passwd.png");
        assert_eq!(clean_name("anh\".jpeg", JPEG), "anh.jpeg");
        assert_eq!(clean_name("", PDF), "tep.pdf");
    }

    #[test]
    fn the_disposition_carries_the_name_in_ascii_and_utf8() {
        let a = Attachment {
            token: new_token(),
            file_name: "Dự thảo.pdf".into(),
            media_type: PDF.into(),
            sha256: String::new(),
            bytes: Vec::new(),
        };
        assert_eq!(
            disposition(&a),
            "attachment; filename=\"D_ th_o.pdf\"; filename*=UTF-8''D%E1%BB%B1%20th%E1%BA%A3o.pdf"
        );
    }
}
