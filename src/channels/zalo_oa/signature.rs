//! Checks `X-ZEvent-Signature` on a webhook call: the hex SHA-256 (plain, not HMAC) of
//! `app_id + raw body + timestamp + OA secret key`, where the timestamp is the body's
//! `timestamp` field. Variants reported by working clients are accepted: a `mac=` prefix on
//! the header value, and the OA id in place of the app id. Computed over the raw bytes and
//! compared in constant time. Pure: no I/O.

use serde_json::Value;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

/// Which id the signature was made with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdVariant {
    /// The app id (documented).
    AppId,
    /// The OA id (reported).
    OaId,
}

/// How a valid signature was written, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Matched {
    /// The id it was made with.
    pub id: IdVariant,
    /// Whether the header had the `mac=` prefix.
    pub mac_prefix: bool,
}

impl Matched {
    /// A short name for logs and metrics (no secret in it).
    pub fn label(self) -> &'static str {
        match (self.id, self.mac_prefix) {
            (IdVariant::AppId, false) => "app_id",
            (IdVariant::AppId, true) => "mac=app_id",
            (IdVariant::OaId, false) => "oa_id",
            (IdVariant::OaId, true) => "mac=oa_id",
        }
    }
}

/// Why a signature is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The header is not 64 hex digits (after an optional `mac=`).
    #[error("the signature is not a hex SHA-256")]
    Format,
    /// The body has no `timestamp` to sign with.
    #[error("the body has no timestamp")]
    NoTimestamp,
    /// It matches no variant.
    #[error("the signature does not match")]
    Mismatch,
}

/// What signatures are checked with.
#[derive(Clone)]
pub struct Verifier {
    /// `ZALO_OA_APP_ID`.
    app_id: String,
    /// `ZALO_OA_SECRET_KEY`.
    secret: String,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("app_id", &self.app_id)
            .field("secret", &"***")
            .finish()
    }
}

/// The signature of `raw` as Zalo computes it, with `id` (for tests and the fake).
pub fn sign(id: &str, raw: &[u8], timestamp: &str, secret: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(id.as_bytes());
    h.update(raw);
    h.update(timestamp.as_bytes());
    h.update(secret.as_bytes());
    h.finalize().into()
}

/// The body's `timestamp` as it was written (a string, or a number's digits).
pub fn timestamp_of(body: &Value) -> Option<String> {
    match body.get("timestamp")? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The OA id a body names: `oa_id`, else the recipient of a user's event or the sender of
/// the OA's own.
fn oa_id_of(body: &Value) -> Option<String> {
    let as_id = |v: &Value| match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    if let Some(id) = body.get("oa_id").and_then(as_id) {
        return Some(id);
    }
    let name = body.get("event_name").and_then(Value::as_str).unwrap_or("");
    let side = if name.starts_with("oa_send") {
        "sender"
    } else {
        "recipient"
    };
    body.get(side).and_then(|s| s.get("id")).and_then(as_id)
}

impl Verifier {
    /// A verifier for the app with the OA secret key.
    pub fn new(app_id: &str, secret: &str) -> Self {
        Self {
            app_id: app_id.to_owned(),
            secret: secret.to_owned(),
        }
    }

    /// Checks `header` against the raw body (`body` is the same bytes, parsed).
    pub fn verify(
        &self,
        header: &str,
        raw: &[u8],
        body: &Value,
    ) -> Result<Matched, SignatureError> {
        let header = header.trim();
        let (mac_prefix, hex_part) = match header.get(..4) {
            Some(p) if p.eq_ignore_ascii_case("mac=") => (true, &header[4..]),
            _ => (false, header),
        };
        let given: [u8; 32] = hex::decode(hex_part.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(SignatureError::Format)?;
        let ts = timestamp_of(body).ok_or(SignatureError::NoTimestamp)?;
        let by_app = sign(&self.app_id, raw, &ts, &self.secret);
        let app_ok = bool::from(given.ct_eq(&by_app));
        let oa_ok = oa_id_of(body).is_some_and(|oa| {
            let by_oa = sign(&oa, raw, &ts, &self.secret);
            bool::from(given.ct_eq(&by_oa))
        });
        let id = if app_ok {
            IdVariant::AppId
        } else if oa_ok {
            IdVariant::OaId
        } else {
            return Err(SignatureError::Mismatch);
        };
        Ok(Matched { id, mac_prefix })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const APP: &str = "360846524940903967";
    const OA: &str = "388613280878808645";
    const SECRET: &str = "oa-secret-key";

    fn body() -> (Vec<u8>, Value) {
        let v = json!({"app_id": APP, "sender": {"id": "246845883529197922"},
            "recipient": {"id": OA}, "event_name": "user_send_text",
            "message": {"text": "Xin chào", "msg_id": "96d3cdf3af150460909"},
            "timestamp": "1543908534740"});
        // Spacing as Zalo might write it: the signature is over these exact bytes.
        let raw = serde_json::to_vec_pretty(&v).expect("json");
        (raw, v)
    }

    #[test]
    fn the_documented_signature_and_its_reported_variants_are_accepted() {
        let (raw, v) = body();
        let verifier = Verifier::new(APP, SECRET);
        let app = hex::encode(sign(APP, &raw, "1543908534740", SECRET));
        let oa = hex::encode(sign(OA, &raw, "1543908534740", SECRET));
        for (header, label) in [
            (app.clone(), "app_id"),
            (app.to_uppercase(), "app_id"),
            (format!("mac={app}"), "mac=app_id"),
            (oa.clone(), "oa_id"),
            (format!("mac={oa}"), "mac=oa_id"),
        ] {
            let m = verifier.verify(&header, &raw, &v).expect(&header);
            assert_eq!(m.label(), label);
        }
    }

    #[test]
    fn forged_altered_or_malformed_signatures_are_refused() {
        let (raw, v) = body();
        let verifier = Verifier::new(APP, SECRET);
        let good = hex::encode(sign(APP, &raw, "1543908534740", SECRET));
        let wrong_key = hex::encode(sign(APP, &raw, "1543908534740", "guess"));
        assert_eq!(
            verifier.verify(&wrong_key, &raw, &v),
            Err(SignatureError::Mismatch)
        );
        // The same JSON written differently is other bytes: signed over the raw body only.
        let compact = serde_json::to_vec(&v).expect("json");
        assert_eq!(
            verifier.verify(&good, &compact, &v),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verifier.verify("mac=xyz", &raw, &v),
            Err(SignatureError::Format)
        );
        assert_eq!(verifier.verify("", &raw, &v), Err(SignatureError::Format));
        let no_ts = json!({"event_name": "follow"});
        assert_eq!(
            verifier.verify(&good, &raw, &no_ts),
            Err(SignatureError::NoTimestamp)
        );
        assert!(!format!("{verifier:?}").contains(SECRET));
    }
}
