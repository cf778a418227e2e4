//! A small Zalo Bot API client over reqwest: `POST <api>/bot<TOKEN>/<method>` with a JSON
//! body, and the envelope read from the body whatever the HTTP status (Zalo often reports an
//! error with HTTP 200). The token is kept out of every error text.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

/// How long an ordinary call may take.
pub(super) const CALL_TIMEOUT: Duration = Duration::from_secs(20);

/// A failed call, with the token already removed from every text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum ApiError {
    /// Zalo answered `{"ok":false,"error_code":N,"description":…}` (or an HTTP error status
    /// without an envelope, then `code` is the status).
    #[error("Zalo error {code}: {description}")]
    Api {
        /// `error_code` (400, 401, 403, 404, 408, 429, …).
        code: i64,
        /// `description`.
        description: String,
    },
    /// No answer: connection, TLS or timeout.
    #[error("cannot reach the Zalo Bot API: {0}")]
    Network(String),
    /// A success status with a body that is not JSON.
    #[error("the Zalo Bot API answered HTTP {0} with a body that is not JSON")]
    Unreadable(u16),
}

/// What to do about a failed call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Failure {
    /// 408 on `getUpdates`: nothing arrived during the long poll. Not a failure.
    Idle,
    /// 429 quota exceeded: back off, then try again.
    RateLimited,
    /// 401: the token is wrong or was reset. A configuration error: stop loudly.
    Unauthorized,
    /// 403 (Zalo labels it an internal server error), 5xx, network: retry with a pause.
    Transient,
    /// 400, 404, 409 and anything else: the request itself was refused.
    Refused,
}

impl Failure {
    /// The `class` label of `gopy_zalo_send_errors_total`.
    pub(super) fn class(self) -> &'static str {
        match self {
            Failure::Idle => "idle",
            Failure::RateLimited => "rate_limited",
            Failure::Unauthorized => "unauthorized",
            Failure::Transient => "transient",
            Failure::Refused => "refused",
        }
    }
}

impl ApiError {
    /// Sorts the error into what to do about it.
    pub(super) fn failure(&self) -> Failure {
        match self {
            ApiError::Api { code, .. } => match code {
                408 => Failure::Idle,
                429 => Failure::RateLimited,
                401 => Failure::Unauthorized,
                403 | 500..=599 => Failure::Transient,
                _ => Failure::Refused,
            },
            ApiError::Network(_) | ApiError::Unreadable(_) => Failure::Transient,
        }
    }

    /// The API error code, if Zalo gave one.
    pub(super) fn code(&self) -> Option<i64> {
        match self {
            ApiError::Api { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// Reads an answer: the envelope's `result` on success, its error otherwise. An error status
/// with a body that is not an envelope becomes an error with the status as its code; a body
/// without `ok` on a success status is taken as the result itself.
pub(super) fn read_envelope(status: u16, body: &[u8]) -> Result<Value, ApiError> {
    let success = (200..300).contains(&status);
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return Err(if success {
            ApiError::Unreadable(status)
        } else {
            ApiError::Api {
                code: i64::from(status),
                description: format!("HTTP {status}"),
            }
        });
    };
    let ok = v.get("ok").and_then(Value::as_bool);
    let code = v.get("error_code").and_then(int);
    match (ok, code) {
        (Some(true), None) | (None, None) if success => Ok(v
            .get("result")
            .cloned()
            .unwrap_or(if ok.is_some() { Value::Null } else { v })),
        _ => Err(ApiError::Api {
            code: code.unwrap_or(i64::from(if success { 400 } else { status })),
            description: v
                .get("description")
                .or_else(|| v.get("message"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
        }),
    }
}

/// An integer written as a number or as a string.
fn int(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

/// Removes the bot token from a text before it is logged or returned.
pub(super) fn redact(text: &str, token: &str) -> String {
    if token.is_empty() {
        text.to_owned()
    } else {
        text.replace(token, "<token>")
    }
}

/// The hosts (and their subdomains) Zalo serves users' files from.
const ZALO_FILE_HOSTS: &[&str] = &[
    "zalo.me",
    "zadn.vn",
    "zdn.vn",
    "zaloapp.com",
    "zaloplatforms.com",
    "zapps.me",
];

/// A link to a file gopy may fetch: http(s) on one of Zalo's hosts (or a subdomain), or on
/// the configured API's host (a proxy, or the fake in tests).
fn file_link(link: &str, api_host: Option<&str>) -> Option<url::Url> {
    let parsed = url::Url::parse(link).ok()?;
    let host = parsed.host_str()?.to_ascii_lowercase();
    let zalo = ZALO_FILE_HOSTS
        .iter()
        .any(|h| host == *h || host.ends_with(&format!(".{h}")));
    let ours = api_host.is_some_and(|a| a.eq_ignore_ascii_case(&host));
    (matches!(parsed.scheme(), "http" | "https") && (zalo || ours)).then_some(parsed)
}

/// The client. Cheap to clone.
#[derive(Clone)]
pub(super) struct Client {
    /// reqwest, with no overall timeout (each call sets its own).
    http: reqwest::Client,
    /// `ZALO_BOT_API_URL`, without a trailing slash.
    base: Arc<str>,
    /// The bot token (never logged).
    token: Arc<str>,
}

impl Client {
    /// A client for the bot with `token` on the API at `api_url`.
    pub(super) fn new(api_url: &url::Url, token: &str) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| anyhow::anyhow!("cannot build the HTTP client for Zalo: {e}"))?;
        Ok(Self {
            http,
            base: api_url.as_str().trim_end_matches('/').into(),
            token: token.into(),
        })
    }

    /// Calls `method` with a JSON body and returns the envelope's `result`.
    pub(super) async fn call(
        &self,
        method: &str,
        body: &Value,
        timeout: Duration,
    ) -> Result<Value, ApiError> {
        let url = format!("{}/bot{}/{method}", self.base, self.token);
        let answer = self.http.post(url).json(body).timeout(timeout).send().await;
        let response = answer.map_err(|e| self.network(e))?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(|e| self.network(e))?;
        read_envelope(status, &bytes)
    }

    /// Downloads a file Zalo gave a link to, refusing more than `max` bytes (`Ok(None)`).
    /// Only links on Zalo's hosts (or the configured API's host) are followed: a message's
    /// payload cannot make gopy fetch an arbitrary address.
    pub(super) async fn download(
        &self,
        link: &str,
        max: u64,
        timeout: Duration,
    ) -> Result<Option<Vec<u8>>, ApiError> {
        let api_host = url::Url::parse(&self.base)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned));
        let Some(parsed) = file_link(link, api_host.as_deref()) else {
            return Err(ApiError::Network(
                "a file link that is not to Zalo's hosts".to_owned(),
            ));
        };
        let mut response = self
            .http
            .get(parsed)
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| self.network(e))?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            return Err(ApiError::Api {
                code: i64::from(status),
                description: format!("HTTP {status} for a file"),
            });
        }
        if response.content_length().is_some_and(|n| n > max) {
            return Ok(None);
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.network(e))? {
            bytes.extend_from_slice(&chunk);
            if bytes.len() as u64 > max {
                return Ok(None);
            }
        }
        Ok(Some(bytes))
    }

    /// A transport error as text without the URL (which holds the token).
    fn network(&self, e: reqwest::Error) -> ApiError {
        let timeout = e.is_timeout();
        let text = redact(&e.without_url().to_string(), &self.token);
        ApiError::Network(if timeout {
            format!("timed out ({text})")
        } else {
            text
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn files_are_fetched_only_from_zalos_hosts_or_the_api_host() {
        let api = Some("127.0.0.1");
        assert!(file_link("https://photo-stal-1.zadn.vn/a.jpg", api).is_some());
        assert!(file_link("https://zalo.me/f", api).is_some());
        assert!(file_link("http://127.0.0.1:9/files/a.jpg", api).is_some());
        assert!(file_link("https://evilzadn.vn/a.jpg", api).is_none());
        assert!(file_link("http://169.254.169.254/latest", api).is_none());
        assert!(file_link("file:///etc/passwd", api).is_none());
        assert!(file_link("not a link", None).is_none());
    }

    fn body(v: Value) -> Vec<u8> {
        v.to_string().into_bytes()
    }

    #[test]
    fn a_wrapped_result_is_unwrapped_and_a_flat_one_taken_as_is() {
        let me = json!({"id": "1459232241454765289", "account_name": "bot.VDKyGxQvc"});
        assert_eq!(
            read_envelope(200, &body(json!({"ok": true, "result": me.clone()}))),
            Ok(me.clone())
        );
        assert_eq!(read_envelope(200, &body(me.clone())), Ok(me));
        assert_eq!(
            read_envelope(200, &body(json!({"ok": true}))),
            Ok(Value::Null)
        );
    }

    #[test]
    fn errors_are_read_from_the_body_even_with_http_200() {
        let e = read_envelope(
            200,
            &body(json!({"ok": false, "error_code": 429, "description": "Quota exceeded"})),
        )
        .expect_err("an error");
        assert_eq!(
            e,
            ApiError::Api {
                code: 429,
                description: "Quota exceeded".into()
            }
        );
        assert_eq!(e.failure(), Failure::RateLimited);
        let e = read_envelope(200, &body(json!({"ok": false, "error_code": "401"}))).expect_err("");
        assert_eq!(e.failure(), Failure::Unauthorized);
        let e = read_envelope(200, &body(json!({"ok": false}))).expect_err("");
        assert_eq!(e.failure(), Failure::Refused);
    }

    #[test]
    fn http_statuses_without_an_envelope_become_error_codes() {
        assert_eq!(
            read_envelope(408, b"").expect_err("idle").failure(),
            Failure::Idle
        );
        assert_eq!(
            read_envelope(502, b"<html>Bad Gateway</html>")
                .expect_err("")
                .failure(),
            Failure::Transient
        );
        assert_eq!(
            read_envelope(200, b"<html>").expect_err(""),
            ApiError::Unreadable(200)
        );
        let e = read_envelope(
            409,
            &body(
                json!({"ok": false, "error_code": 409, "description": "Conflict: webhook is set"}),
            ),
        )
        .expect_err("");
        assert_eq!(e.code(), Some(409));
        assert_eq!(e.failure(), Failure::Refused);
    }

    #[test]
    fn every_error_code_maps_to_a_class() {
        let class = |code| {
            ApiError::Api {
                code,
                description: String::new(),
            }
            .failure()
        };
        assert_eq!(class(403), Failure::Transient);
        assert_eq!(class(500), Failure::Transient);
        assert_eq!(class(503), Failure::Transient);
        assert_eq!(class(400), Failure::Refused);
        assert_eq!(class(404), Failure::Refused);
        assert_eq!(
            ApiError::Network("reset".into()).failure(),
            Failure::Transient
        );
    }

    #[test]
    fn the_token_never_survives_redaction() {
        let token = "1234567890:abc-XYZ";
        let text = format!("error for https://bot-api.zaloplatforms.com/bot{token}/getMe");
        let clean = redact(&text, token);
        assert!(!clean.contains("abc-XYZ"), "{clean}");
        assert!(clean.contains("bot<token>/getMe"));
    }
}
