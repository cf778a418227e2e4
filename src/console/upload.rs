//! Reading a `multipart/form-data` body (a file chosen in a form, beside text fields), for
//! the one form that uploads a file. Small and strict: the boundary from the content type,
//! each part's name and file name from its `Content-Disposition`, nothing else; anything
//! malformed is `None`. The body's size is bounded by axum's default body limit.

use axum::http::HeaderMap;

/// One part of the form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The field's name.
    pub name: String,
    /// The file's name, for a file.
    pub file_name: Option<String>,
    /// The content.
    pub data: Vec<u8>,
}

/// The parts of a multipart body, or `None` when it is not one.
pub fn parts(headers: &HeaderMap, body: &[u8]) -> Option<Vec<Part>> {
    let content_type = headers.get("content-type")?.to_str().ok()?;
    let (kind, params) = content_type.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    let boundary = params
        .split(';')
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v.trim().trim_matches('"').to_owned())
        .filter(|b| !b.is_empty())?;
    let delimiter = format!("--{boundary}").into_bytes();
    let mut out = Vec::new();
    let mut rest = body;
    // Skip the preamble up to the first delimiter.
    let start = find(rest, &delimiter)?;
    rest = &rest[start + delimiter.len()..];
    loop {
        if rest.starts_with(b"--") {
            return Some(out);
        }
        rest = rest.strip_prefix(b"\r\n")?;
        let head_end = find(rest, b"\r\n\r\n")?;
        let head = std::str::from_utf8(&rest[..head_end]).ok()?;
        rest = &rest[head_end + 4..];
        let mut boundary_line = b"\r\n".to_vec();
        boundary_line.extend_from_slice(&delimiter);
        let end = find(rest, &boundary_line)?;
        let data = rest[..end].to_vec();
        rest = &rest[end + boundary_line.len()..];
        let disposition = head
            .split("\r\n")
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-disposition"))
            .map(|(_, v)| v)?;
        let mut name = None;
        let mut file_name = None;
        for p in disposition.split(';').skip(1) {
            if let Some((k, v)) = p.trim().split_once('=') {
                let v = v.trim().trim_matches('"').to_owned();
                match k.trim() {
                    "name" => name = Some(v),
                    "filename" => file_name = Some(v),
                    _ => {}
                }
            }
        }
        out.push(Part {
            name: name?,
            file_name,
            data,
        });
    }
}

/// Where `needle` first occurs in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(ct: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("content-type", ct.parse().expect("header"));
        h
    }

    #[test]
    fn a_browser_form_with_a_file_is_read_part_by_part() {
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\ntok\r\n\
                    --XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"y kien.csv\"\r\n\
                    Content-Type: text/csv\r\n\r\nChủ đề,Nội dung\r\na,b\r\n\r\n--XyZ--\r\n";
        let parts = parts(
            &headers("multipart/form-data; boundary=XyZ"),
            body.as_bytes(),
        )
        .expect("parts");
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "csrf");
        assert_eq!(parts[0].data, b"tok");
        assert_eq!(parts[1].file_name.as_deref(), Some("y kien.csv"));
        assert_eq!(parts[1].data, "Chủ đề,Nội dung\r\na,b\r\n".as_bytes());
    }

    #[test]
    fn anything_else_is_not_a_multipart_form() {
        assert!(parts(&headers("application/x-www-form-urlencoded"), b"csrf=x").is_none());
        assert!(parts(&headers("multipart/form-data; boundary=A"), b"garbage").is_none());
    }
}
