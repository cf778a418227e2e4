//! Roll-up between levels: a ward's kept opinions as a signed JSON bundle, imported by the
//! district's gopy so that its synthesis is built from its wards' without re-typing.
//!
//! A bundle is `{"bundle": "gopy.rollup/1", "alg": "HMAC-SHA256", "signature": "<hex>",
//! "payload": "<JSON text>"}`: the payload is kept as the exact text that was signed (no
//! canonical form to agree on), and signed with a key both levels share
//! (`GOPY_ROLLUP_KEY`). The payload is anonymous like every export: topic, section, unit,
//! target group, source, time, stance and text of each kept opinion, with its reference there
//! (its provenance here). Pure: bytes and a key in, a verified payload or a reason out.

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// The name and version of the bundle format.
pub const BUNDLE: &str = "gopy.rollup/1";

/// The environment variable holding the shared key.
pub const KEY_VAR: &str = "GOPY_ROLLUP_KEY";

/// The shortest key accepted, in bytes.
pub const MIN_KEY_BYTES: usize = 16;

/// The signed envelope.
#[derive(Debug, Serialize, Deserialize)]
pub struct Envelope {
    /// [`BUNDLE`].
    pub bundle: String,
    /// Always `HMAC-SHA256`.
    pub alg: String,
    /// The HMAC of `payload`'s bytes, hex.
    pub signature: String,
    /// The payload as signed (JSON text of [`Payload`]).
    pub payload: String,
}

/// What a lower level sends up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payload {
    /// Who issued it (the campaign's issuer there).
    pub issuer: String,
    /// The campaign's slug there.
    pub campaign: String,
    /// The campaign's title there.
    pub title: String,
    /// The unit the bundle is for there (its root, or `--unit`).
    pub unit: String,
    /// That unit's name.
    pub unit_name: String,
    /// When it was made (RFC 3339).
    pub generated_at: String,
    /// Every kept opinion.
    pub opinions: Vec<BundledOpinion>,
}

/// One opinion in a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundledOpinion {
    /// Its reference at the lower level.
    pub reference: String,
    /// Topic code (the levels share topic codes).
    pub topic: String,
    /// Section reference.
    pub section: Option<String>,
    /// Unit code at the lower level.
    pub unit: Option<String>,
    /// Target group code.
    pub target_group: Option<String>,
    /// Source at the lower level.
    pub source: String,
    /// When it was given.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Stance, if set.
    pub stance: Option<String>,
    /// The text.
    pub text: String,
}

/// Why a bundle is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    /// Not a bundle, or another format or version.
    #[error("not a {BUNDLE} bundle")]
    Format,
    /// The signature does not match: altered, or signed with another key.
    #[error("the signature does not match")]
    Signature,
    /// The key is missing or too short.
    #[error("the key is missing or shorter than {MIN_KEY_BYTES} bytes")]
    Key,
}

fn mac(key: &[u8]) -> Result<Hmac<Sha256>, BundleError> {
    if key.len() < MIN_KEY_BYTES {
        return Err(BundleError::Key);
    }
    <Hmac<Sha256> as KeyInit>::new_from_slice(key).map_err(|_| BundleError::Key)
}

/// Signs a payload into a bundle (JSON bytes).
pub fn sign(payload: &Payload, key: &[u8]) -> Result<Vec<u8>, BundleError> {
    let text = serde_json::to_string(payload).map_err(|_| BundleError::Format)?;
    let mut m = mac(key)?;
    m.update(text.as_bytes());
    let envelope = Envelope {
        bundle: BUNDLE.to_owned(),
        alg: "HMAC-SHA256".to_owned(),
        signature: hex::encode(m.finalize().into_bytes()),
        payload: text,
    };
    let mut out = serde_json::to_vec_pretty(&envelope).map_err(|_| BundleError::Format)?;
    out.push(b'\n');
    Ok(out)
}

/// Verifies a bundle (in constant time) and returns its payload.
pub fn verify(bytes: &[u8], key: &[u8]) -> Result<Payload, BundleError> {
    let envelope: Envelope = serde_json::from_slice(bytes).map_err(|_| BundleError::Format)?;
    if envelope.bundle != BUNDLE || envelope.alg != "HMAC-SHA256" {
        return Err(BundleError::Format);
    }
    let signature = hex::decode(&envelope.signature).map_err(|_| BundleError::Signature)?;
    let mut m = mac(key)?;
    m.update(envelope.payload.as_bytes());
    m.verify_slice(&signature)
        .map_err(|_| BundleError::Signature)?;
    serde_json::from_str(&envelope.payload).map_err(|_| BundleError::Format)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload() -> Payload {
        Payload {
            issuer: "Đảng ủy phường Bắc Kạn".to_owned(),
            campaign: "bk".to_owned(),
            title: "Lấy ý kiến".to_owned(),
            unit: "P-BK".to_owned(),
            unit_name: "Phường Bắc Kạn".to_owned(),
            generated_at: "2026-11-21T10:00:00+07:00".to_owned(),
            opinions: vec![BundledOpinion {
                reference: "ABC123".to_owned(),
                topic: "do-thi".to_owned(),
                section: None,
                unit: Some("TDP-1".to_owned()),
                target_group: None,
                source: "zalo".to_owned(),
                created_at: chrono::Utc::now(),
                stance: None,
                text: "Đề nghị nâng cấp đường ngõ 5.".to_owned(),
            }],
        }
    }

    const KEY: &[u8] = b"a shared key of the ward and district";

    #[test]
    fn a_signed_bundle_verifies_and_round_trips_vietnamese() {
        let p = payload();
        let bytes = sign(&p, KEY).expect("sign");
        assert_eq!(verify(&bytes, KEY).expect("verify"), p);
    }

    #[test]
    fn an_altered_bundle_or_another_key_is_refused() {
        let bytes = sign(&payload(), KEY).expect("sign");
        let altered = String::from_utf8(bytes.clone())
            .expect("utf-8")
            .replace("ngõ 5", "ngõ 6");
        assert_eq!(verify(altered.as_bytes(), KEY), Err(BundleError::Signature));
        assert_eq!(
            verify(&bytes, b"another key, also long enough"),
            Err(BundleError::Signature)
        );
        assert_eq!(verify(&bytes, b"short"), Err(BundleError::Key));
        assert_eq!(verify(b"{}", KEY), Err(BundleError::Format));
    }
}
