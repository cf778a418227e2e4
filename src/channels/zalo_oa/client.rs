//! The HTTP side of the OA: the Open API (`access_token` header, the envelope
//! `{"data":…,"error":0,"message":"Success"}` read from the body whatever the HTTP status) and
//! the OAuth refresh (`POST /v4/oa/access_token`, form-encoded, `secret_key` header). Errors
//! are sorted into the classes gopy acts on; no token or secret appears in any text.

use std::time::Duration;

use serde_json::Value;

/// How long one call may take.
pub(super) const CALL_TIMEOUT: Duration = Duration::from_secs(20);

/// A failed Open API or OAuth call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// Zalo answered with a non-zero `error` (usually with HTTP 200).
    #[error("Zalo error {code}: {message}")]
    Zalo {
        /// Zalo's code, e.g. -216.
        code: i64,
        /// Zalo's message.
        message: String,
    },
    /// A non-2xx status with a body that is not Zalo's envelope.
    #[error("HTTP {0}")]
    Http(u16),
    /// The request did not complete (connection, timeout).
    #[error("network: {0}")]
    Network(String),
    /// No usable access token (the refresh token is dead or missing, or the database is down).
    #[error("no access token: {0}")]
    Token(String),
}

/// What gopy does about an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// `-32`: over the rate limit; back off.
    RateLimited,
    /// `-216`/`-220`: the access token is invalid or expired; refresh.
    TokenRefused,
    /// `-230`/`-232`: outside the messaging window.
    Window,
    /// `-213`/`-217`/`-227`: the user does not follow, blocked the OA, or is inactive.
    Unreachable,
    /// `-237`/`-403`: the group is disabled or the OA is not in it.
    GroupLost,
    /// 5xx, 429 or a network error: may work later.
    Transient,
    /// No usable token: an administrator must re-authorise (or the database is down).
    NoToken,
    /// Anything else: trying again would fail the same way.
    Refused,
}

impl Failure {
    /// A short name for metrics.
    pub fn class(self) -> &'static str {
        match self {
            Failure::RateLimited => "rate_limited",
            Failure::TokenRefused => "token_refused",
            Failure::Window => "window",
            Failure::Unreachable => "unreachable",
            Failure::GroupLost => "group_lost",
            Failure::Transient => "transient",
            Failure::NoToken => "no_token",
            Failure::Refused => "refused",
        }
    }
}

impl ApiError {
    /// The class of this error.
    pub fn failure(&self) -> Failure {
        match self {
            ApiError::Zalo { code, .. } => match code {
                -32 => Failure::RateLimited,
                -216 | -220 => Failure::TokenRefused,
                -230 | -232 => Failure::Window,
                -213 | -217 | -227 => Failure::Unreachable,
                -237 | -403 => Failure::GroupLost,
                _ => Failure::Refused,
            },
            ApiError::Http(s) if *s >= 500 || *s == 429 || *s == 408 => Failure::Transient,
            ApiError::Http(_) => Failure::Refused,
            ApiError::Network(_) => Failure::Transient,
            ApiError::Token(_) => Failure::NoToken,
        }
    }

    /// Zalo's code, if Zalo gave one.
    pub fn code(&self) -> Option<i64> {
        match self {
            ApiError::Zalo { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// Reads Zalo's envelope from a response: `data` (or the whole body when it has none) on
/// `error: 0`, the error otherwise; a body that is not JSON is judged by the status.
pub(super) fn envelope(status: u16, body: &[u8]) -> Result<Value, ApiError> {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return Err(ApiError::Http(status));
    };
    let code = v.get("error").and_then(|e| {
        e.as_i64()
            .or_else(|| e.as_str().and_then(|s| s.trim().parse().ok()))
    });
    match code {
        Some(0) | None if (200..300).contains(&status) => Ok(v.get("data").cloned().unwrap_or(v)),
        Some(0) | None => Err(ApiError::Http(status)),
        Some(code) => Err(ApiError::Zalo {
            code,
            message: v
                .get("message")
                .or_else(|| v.get("error_description"))
                .or_else(|| v.get("error_name"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
        }),
    }
}

/// A network error as text, without the URL (which could carry nothing secret here, but
/// reqwest's text is long).
fn network(e: reqwest::Error) -> ApiError {
    ApiError::Network(if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "cannot connect".to_owned()
    } else {
        e.without_url().to_string()
    })
}

/// The Open API, without tokens (the caller gives one per call).
#[derive(Clone)]
pub(super) struct OpenApi {
    /// The HTTP client.
    http: reqwest::Client,
    /// `ZALO_OA_API_URL`.
    base: url::Url,
}

impl OpenApi {
    /// A client for the API at `base`.
    pub(super) fn new(http: reqwest::Client, base: &url::Url) -> Self {
        Self {
            http,
            base: base.clone(),
        }
    }

    /// POSTs `body` as JSON to `path` (e.g. `/v3.0/oa/message/cs`) with `access_token`.
    pub(super) async fn post(
        &self,
        path: &str,
        body: &Value,
        access_token: &str,
    ) -> Result<Value, ApiError> {
        let url = self
            .base
            .join(path)
            .map_err(|e| ApiError::Network(format!("bad path {path}: {e}")))?;
        let resp = self
            .http
            .post(url)
            .header("access_token", access_token)
            .json(body)
            .timeout(CALL_TIMEOUT)
            .send()
            .await
            .map_err(network)?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.map_err(network)?;
        envelope(status, &bytes)
    }
}

/// How long one upload may take (an image of up to 1 MB, a file of up to 5 MB).
pub(super) const UPLOAD_TIMEOUT: Duration = Duration::from_secs(60);

/// A file to upload to Zalo (`/v2.0/oa/upload/image` or `/v2.0/oa/upload/file`).
#[derive(Clone, Copy)]
pub(super) struct Upload<'a> {
    /// The file name Zalo shows.
    pub file_name: &'a str,
    /// Its media type.
    pub media_type: &'a str,
    /// Its bytes.
    pub bytes: &'a [u8],
}

impl OpenApi {
    /// Uploads a file as the multipart field `file` to `path` with `access_token`; Zalo
    /// answers with the envelope (an `attachment_id` for an image, a `token` for a file).
    pub(super) async fn upload(
        &self,
        path: &str,
        file: Upload<'_>,
        access_token: &str,
    ) -> Result<Value, ApiError> {
        let url = self
            .base
            .join(path)
            .map_err(|e| ApiError::Network(format!("bad path {path}: {e}")))?;
        let part = reqwest::multipart::Part::bytes(file.bytes.to_vec())
            .file_name(file.file_name.to_owned())
            .mime_str(file.media_type)
            .map_err(|e| ApiError::Network(format!("bad media type: {e}")))?;
        let form = reqwest::multipart::Form::new().part("file", part);
        let resp = self
            .http
            .post(url)
            .header("access_token", access_token)
            .multipart(form)
            .timeout(UPLOAD_TIMEOUT)
            .send()
            .await
            .map_err(network)?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.map_err(network)?;
        envelope(status, &bytes)
    }
}

/// Tokens from a refresh.
#[derive(Clone, PartialEq, Eq)]
pub(super) struct Refreshed {
    /// The new access token.
    pub access_token: String,
    /// The new refresh token (the one used is spent).
    pub refresh_token: String,
    /// Seconds the access token lives.
    pub expires_in: i64,
}

/// Why a refresh failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum RefreshError {
    /// Zalo refused the refresh token (spent, expired, revoked) or the app's credentials: an
    /// administrator must re-authorise. The text says what Zalo said.
    Refused(String),
    /// Zalo could not be reached or failed: try again later.
    Transient(String),
}

/// Zalo's OAuth server.
#[derive(Clone)]
pub(super) struct OAuth {
    /// The HTTP client.
    http: reqwest::Client,
    /// `ZALO_OA_OAUTH_URL`.
    base: url::Url,
    /// `ZALO_OA_APP_ID`.
    app_id: String,
    /// `ZALO_OA_APP_SECRET`.
    app_secret: String,
}

impl OAuth {
    /// A client of the OAuth server at `base` for one app.
    pub(super) fn new(http: reqwest::Client, base: &url::Url, app_id: &str, secret: &str) -> Self {
        Self {
            http,
            base: base.clone(),
            app_id: app_id.to_owned(),
            app_secret: secret.to_owned(),
        }
    }

    /// Exchanges a refresh token for new tokens (the refresh token is spent by this call
    /// when Zalo accepts it).
    pub(super) async fn refresh(&self, refresh_token: &str) -> Result<Refreshed, RefreshError> {
        let url = self
            .base
            .join("/v4/oa/access_token")
            .map_err(|e| RefreshError::Refused(format!("bad ZALO_OA_OAUTH_URL: {e}")))?;
        let form = [
            ("app_id", self.app_id.as_str()),
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ];
        let resp = self
            .http
            .post(url)
            .header("secret_key", &self.app_secret)
            .form(&form)
            .timeout(CALL_TIMEOUT)
            .send()
            .await
            .map_err(|e| RefreshError::Transient(network(e).to_string()))?;
        let status = resp.status().as_u16();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| RefreshError::Transient(network(e).to_string()))?;
        parse_refresh(status, &bytes)
    }
}

/// Reads a refresh answer: the tokens, with `expires_in` a string (as documented) or a
/// number; an error code means refused, except a rate limit; 5xx means try again.
pub(super) fn parse_refresh(status: u16, body: &[u8]) -> Result<Refreshed, RefreshError> {
    if status >= 500 || status == 429 {
        return Err(RefreshError::Transient(format!("HTTP {status}")));
    }
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return Err(if (200..300).contains(&status) {
            RefreshError::Transient("an answer that is not JSON".to_owned())
        } else {
            RefreshError::Refused(format!("HTTP {status}"))
        });
    };
    let text = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    if let (Some(access_token), Some(refresh_token)) = (text("access_token"), text("refresh_token"))
    {
        let expires_in = match v.get("expires_in") {
            Some(Value::String(s)) => s.trim().parse().ok(),
            Some(Value::Number(n)) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
            _ => None,
        }
        // Undocumented absence: the documented lifetime, 25 hours.
        .unwrap_or(90_000);
        return Ok(Refreshed {
            access_token,
            refresh_token,
            expires_in,
        });
    }
    let code = v.get("error").and_then(Value::as_i64);
    let said = text("error_description")
        .or_else(|| text("message"))
        .or_else(|| text("error_name"))
        .unwrap_or_default();
    match code {
        Some(-32) => Err(RefreshError::Transient(format!(
            "rate limited (-32) {said}"
        ))),
        Some(code) => Err(RefreshError::Refused(format!("error {code}: {said}"))),
        None => Err(RefreshError::Refused(format!(
            "HTTP {status}, no tokens: {said}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_envelope_is_read_from_the_body_whatever_the_status() {
        let ok = json!({"data": {"message_id": "m1"}, "error": 0, "message": "Success"});
        assert_eq!(
            envelope(200, ok.to_string().as_bytes()),
            Ok(json!({"message_id": "m1"}))
        );
        let err = json!({"error": -230, "message": "User has not interacted in 7 days"});
        let e = envelope(200, err.to_string().as_bytes()).unwrap_err();
        assert_eq!(e.code(), Some(-230));
        assert_eq!(e.failure(), Failure::Window);
        assert_eq!(
            envelope(502, b"<html>").unwrap_err().failure(),
            Failure::Transient
        );
        assert_eq!(
            envelope(404, b"nope").unwrap_err().failure(),
            Failure::Refused
        );
        for (code, class) in [
            (-32, Failure::RateLimited),
            (-216, Failure::TokenRefused),
            (-220, Failure::TokenRefused),
            (-232, Failure::Window),
            (-213, Failure::Unreachable),
            (-217, Failure::Unreachable),
            (-227, Failure::Unreachable),
            (-237, Failure::GroupLost),
            (-403, Failure::GroupLost),
            (-201, Failure::Refused),
        ] {
            let body = json!({"error": code.to_string(), "message": "x"}).to_string();
            assert_eq!(
                envelope(200, body.as_bytes()).unwrap_err().failure(),
                class,
                "{code}"
            );
        }
    }

    #[test]
    fn a_refresh_answer_has_expires_in_as_a_string_or_a_number() {
        for expires in [json!("90000"), json!(90000)] {
            let body = json!({"access_token": "A", "refresh_token": "R", "expires_in": expires});
            let r = parse_refresh(200, body.to_string().as_bytes()).expect("tokens");
            assert_eq!(
                (r.access_token.as_str(), r.refresh_token.as_str()),
                ("A", "R")
            );
            assert_eq!(r.expires_in, 90_000);
        }
        let spent = json!({"error": -14014, "error_name": "Invalid refresh token"});
        assert!(matches!(
            parse_refresh(200, spent.to_string().as_bytes()),
            Err(RefreshError::Refused(s)) if s.contains("-14014")
        ));
        assert!(matches!(
            parse_refresh(503, b""),
            Err(RefreshError::Transient(_))
        ));
        let limited = json!({"error": -32, "message": "rate limit"});
        assert!(matches!(
            parse_refresh(200, limited.to_string().as_bytes()),
            Err(RefreshError::Transient(_))
        ));
    }
}
