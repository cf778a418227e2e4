//! Encryption at rest of the OA's tokens: ChaCha20-Poly1305 with a key derived from
//! `GOPY_SECRET_KEY` (HKDF-SHA256), a fresh random nonce for every write, and the app id as
//! associated data (a token sealed for one app does not open as another's). A sealed value is
//! text: `v1:` then the hex of the nonce and the ciphertext.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::Rng as _;

/// What HKDF is told the key is for.
const KEY_INFO: &[u8] = b"gopy/zalo-oa/tokens/v1";

/// The prefix of a sealed value (the format's version).
const PREFIX: &str = "v1:";

/// Nonce length of ChaCha20-Poly1305.
const NONCE_LEN: usize = 12;

/// Why a sealed value does not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// Not a value this code wrote.
    #[error("not a sealed value")]
    Format,
    /// The key differs from the one that sealed it (GOPY_SECRET_KEY changed), or the value
    /// was altered.
    #[error(
        "cannot decrypt the stored Zalo OA token: GOPY_SECRET_KEY is not the key it was \
         stored with, or the value was altered"
    )]
    Key,
}

/// Seals and opens the tokens of one OA app.
#[derive(Clone)]
pub struct Sealer {
    /// The cipher, keyed.
    cipher: ChaCha20Poly1305,
    /// The associated data: the app id.
    aad: Vec<u8>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(***)")
    }
}

impl Sealer {
    /// A sealer keyed from `secret` (GOPY_SECRET_KEY) for the app `app_id`.
    pub fn new(secret: &str, app_id: &str) -> Self {
        let hk = hkdf::Hkdf::<sha2::Sha256>::new(Some(b"gopy"), secret.as_bytes());
        let mut key = [0u8; 32];
        // 32 bytes is far below HKDF-SHA256's limit (255 × 32): this cannot fail.
        if hk.expand(KEY_INFO, &mut key).is_err() {
            unreachable!("HKDF-SHA256 expands to 32 bytes");
        }
        Self {
            cipher: ChaCha20Poly1305::new(&Key::from(key)),
            aad: format!("zalo-oa:{app_id}").into_bytes(),
        }
    }

    /// Encrypts `plain` with a fresh nonce.
    pub fn seal(&self, plain: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill(&mut nonce);
        let payload = Payload {
            msg: plain.as_bytes(),
            aad: &self.aad,
        };
        // Encryption fails only for messages of more than 256 GiB.
        let Ok(sealed) = self.cipher.encrypt(&Nonce::from(nonce), payload) else {
            unreachable!("a token is far shorter than ChaCha20-Poly1305's limit");
        };
        let mut out = String::with_capacity(PREFIX.len() + 2 * (NONCE_LEN + sealed.len()));
        out.push_str(PREFIX);
        out.push_str(&hex::encode(nonce));
        out.push_str(&hex::encode(sealed));
        out
    }

    /// Decrypts a value [`Sealer::seal`] wrote.
    pub fn open(&self, sealed: &str) -> Result<String, OpenError> {
        let bytes = sealed
            .strip_prefix(PREFIX)
            .and_then(|h| hex::decode(h).ok())
            .ok_or(OpenError::Format)?;
        if bytes.len() < NONCE_LEN + 16 {
            return Err(OpenError::Format);
        }
        let (nonce, ct) = bytes.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| OpenError::Format)?;
        let payload = Payload {
            msg: ct,
            aad: &self.aad,
        };
        let plain = self
            .cipher
            .decrypt(&Nonce::from(nonce), payload)
            .map_err(|_| OpenError::Key)?;
        String::from_utf8(plain).map_err(|_| OpenError::Format)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_token_opens_with_the_same_key_and_app_only() {
        let s = Sealer::new("mot-khoa-bi-mat-rat-dai-0123456789", "360846524940903967");
        let a = s.seal("refresh-token-ABC");
        let b = s.seal("refresh-token-ABC");
        assert_ne!(a, b, "a fresh nonce for every write");
        assert!(!a.contains("refresh-token"), "{a}");
        assert_eq!(s.open(&a).as_deref(), Ok("refresh-token-ABC"));
        let other_key = Sealer::new("another-key-another-key-another", "360846524940903967");
        assert_eq!(other_key.open(&a), Err(OpenError::Key));
        let other_app = Sealer::new("mot-khoa-bi-mat-rat-dai-0123456789", "1");
        assert_eq!(other_app.open(&a), Err(OpenError::Key));
        assert_eq!(s.open("plain-token"), Err(OpenError::Format));
        let mut tampered = a.clone();
        tampered.pop();
        tampered.push(if a.ends_with('0') { '1' } else { '0' });
        assert_eq!(s.open(&tampered), Err(OpenError::Key));
        assert_eq!(format!("{s:?}"), "Sealer(***)");
    }
}
