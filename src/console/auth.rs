//! The console's security decisions, pure: password hashing and checking (argon2id),
//! one-time passwords, session and CSRF tokens, login throttling, and where a login may send
//! the browser next. No I/O apart from the operating system's random numbers.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use chrono::Duration;
use rand::{Rng as _, RngCore as _};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use crate::store::console::LoginFailures;

/// The window in which failed logins are counted.
pub const THROTTLE_WINDOW: Duration = Duration::minutes(15);

/// Failed logins for one account within [`THROTTLE_WINDOW`] after which it is locked.
pub const MAX_FAILURES_PER_ACCOUNT: i64 = 5;

/// Failed logins from one address within [`THROTTLE_WINDOW`] after which it is locked out
/// (higher: a ward office's officials may share one address).
pub const MAX_FAILURES_PER_IP: i64 = 20;

/// Shortest password an official may choose.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// Longest password accepted (argon2 takes any length; this bounds the work per request).
pub const MAX_PASSWORD_CHARS: usize = 128;

/// Letters and digits of a one-time password: no 0/O, 1/I/L, easy to read out and type.
const OTP_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789abcdefghjkmnpqrstuvwxyz";

/// The argon2id hasher with OWASP's recommended parameters (19 MiB, 2 passes, 1 lane).
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password with argon2id and a fresh salt, as a PHC string. CPU-heavy: call it
/// off the async threads (`spawn_blocking`).
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    let hash = hasher()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))?;
    Ok(hash.to_string())
}

/// Whether the password matches the stored PHC hash. A hash that does not parse matches
/// nothing. CPU-heavy, like [`hash_password`].
pub fn verify_password(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash of a password nobody knows, checked when a login names nobody so that an unknown
/// name takes as long to refuse as a wrong password.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let mut junk = [0u8; 24];
        rand::rng().fill_bytes(&mut junk);
        hash_password(&hex(&junk)).unwrap_or_default()
    });
    &DECOY
}

/// A one-time password: 12 unambiguous characters in three groups, e.g. `Kq7M-x3Rt-9hPa`.
pub fn one_time_password() -> String {
    let mut rng = rand::rng();
    let chars: Vec<char> = (0..12)
        .map(|_| char::from(OTP_ALPHABET[rng.random_range(0..OTP_ALPHABET.len())]))
        .collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// A fresh random token (32 bytes, hex): session cookies and CSRF tokens.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex(&bytes)
}

/// The SHA-256 (hex) of a session token: what the database keeps instead of the token.
pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// Lower-case hex.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares two secrets in constant time.
pub fn same_secret(a: &str, b: &str) -> bool {
    !a.is_empty() && a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// Why a login is refused before its password is even looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttled {
    /// Too many failures for this account.
    Account,
    /// Too many failures from this address.
    Address,
}

/// Whether a login may be tried, given the failures counted in [`THROTTLE_WINDOW`].
pub fn throttle(failures: LoginFailures) -> Option<Throttled> {
    if failures.by_name >= MAX_FAILURES_PER_ACCOUNT {
        Some(Throttled::Account)
    } else if failures.by_ip >= MAX_FAILURES_PER_IP {
        Some(Throttled::Address)
    } else {
        None
    }
}

/// What is wrong with a new password; each is a message in `console.ftl`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordProblem {
    /// Fewer than [`MIN_PASSWORD_CHARS`] characters.
    TooShort,
    /// More than [`MAX_PASSWORD_CHARS`] characters.
    TooLong,
    /// The two copies differ.
    Mismatch,
    /// It contains the user's name.
    ContainsName,
    /// It is the password being replaced.
    Unchanged,
    /// Fewer than four different characters (`aaaaaaaaaa`, `1212121212`).
    TooSimple,
}

impl PasswordProblem {
    /// The Fluent message id that explains it.
    pub fn message(self) -> &'static str {
        match self {
            PasswordProblem::TooShort => "console-password-too-short",
            PasswordProblem::TooLong => "console-password-too-long",
            PasswordProblem::Mismatch => "console-password-mismatch",
            PasswordProblem::ContainsName => "console-password-contains-name",
            PasswordProblem::Unchanged => "console-password-unchanged",
            PasswordProblem::TooSimple => "console-password-too-simple",
        }
    }
}

/// Checks a new password an official chose.
pub fn check_new_password(
    name: &str,
    current: &str,
    new: &str,
    confirm: &str,
) -> Result<(), PasswordProblem> {
    let chars = new.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(PasswordProblem::TooShort);
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(PasswordProblem::TooLong);
    }
    if new != confirm {
        return Err(PasswordProblem::Mismatch);
    }
    if new == current {
        return Err(PasswordProblem::Unchanged);
    }
    let name = name.trim().to_lowercase();
    if name.chars().count() >= 3 && new.to_lowercase().contains(&name) {
        return Err(PasswordProblem::ContainsName);
    }
    let mut distinct: Vec<char> = new.chars().collect();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < 4 {
        return Err(PasswordProblem::TooSimple);
    }
    Ok(())
}

/// Where a login may send the browser afterwards: a path inside the console, nothing else
/// (no other site, no `//host`, no scheme).
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n)
            if (n == "/console" || n.starts_with("/console/"))
                && !n.contains("//")
                && !n.contains('\\')
                && !n.starts_with("/console/logout") =>
        {
            n
        }
        _ => "/console",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_hashed_with_argon2id_verifies_and_a_wrong_one_does_not() {
        let hash = hash_password("mật khẩu đủ dài 2025").expect("hash");
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_password("mật khẩu đủ dài 2025", &hash));
        assert!(!verify_password("mat khau du dai 2025", &hash));
        assert!(!verify_password("anything", "not a hash"));
        assert!(!verify_password("anything", decoy_hash()));
        assert_ne!(hash, hash_password("mật khẩu đủ dài 2025").expect("hash"));
    }

    #[test]
    fn one_time_passwords_are_three_groups_of_four_unambiguous_characters() {
        let a = one_time_password();
        assert_eq!(a.len(), 14);
        assert_eq!(a.split('-').count(), 3);
        assert!(
            a.bytes()
                .all(|c| c == b'-' || OTP_ALPHABET.contains(&c) && !b"0O1lI".contains(&c))
        );
        assert_ne!(a, one_time_password());
    }

    #[test]
    fn tokens_are_random_and_only_their_hash_is_kept() {
        let t = new_token();
        assert_eq!(t.len(), 64);
        assert_ne!(t, new_token());
        assert_eq!(token_hash(&t).len(), 64);
        assert_eq!(token_hash(&t), token_hash(&t));
        assert_ne!(token_hash(&t), t);
        assert!(same_secret(&t, &t.clone()));
        assert!(!same_secret(&t, &new_token()));
        assert!(!same_secret("", ""));
    }

    #[test]
    fn five_failures_lock_an_account_and_twenty_lock_an_address() {
        let f = |by_name, by_ip| LoginFailures { by_name, by_ip };
        assert_eq!(throttle(f(4, 19)), None);
        assert_eq!(throttle(f(5, 0)), Some(Throttled::Account));
        assert_eq!(throttle(f(0, 20)), Some(Throttled::Address));
    }

    #[test]
    fn new_passwords_must_be_long_matching_new_and_not_trivial() {
        let ok = "Lúa-chín-vàng-2025";
        assert_eq!(check_new_password("lan", "old", ok, ok), Ok(()));
        assert_eq!(
            check_new_password("lan", "old", "ngắn", "ngắn"),
            Err(PasswordProblem::TooShort)
        );
        assert_eq!(
            check_new_password("lan", "old", ok, "Lúa-chín-vàng-2024"),
            Err(PasswordProblem::Mismatch)
        );
        assert_eq!(
            check_new_password("lan", ok, ok, ok),
            Err(PasswordProblem::Unchanged)
        );
        assert_eq!(
            check_new_password("nguyenvana", "x", "NguyenVanA-123", "NguyenVanA-123"),
            Err(PasswordProblem::ContainsName)
        );
        assert_eq!(
            check_new_password("lan", "x", "1212121212", "1212121212"),
            Err(PasswordProblem::TooSimple)
        );
        let long = "a1b2c3d4".repeat(17);
        assert_eq!(
            check_new_password("lan", "x", &long, &long),
            Err(PasswordProblem::TooLong)
        );
    }

    #[test]
    fn after_login_the_browser_goes_only_to_a_console_page() {
        assert_eq!(
            safe_next(Some("/console/broadcasts")),
            "/console/broadcasts"
        );
        assert_eq!(safe_next(Some("/console")), "/console");
        assert_eq!(safe_next(Some("https://evil.example")), "/console");
        assert_eq!(safe_next(Some("//evil.example/console")), "/console");
        assert_eq!(safe_next(Some("/console//evil")), "/console");
        assert_eq!(safe_next(Some("/consoleevil")), "/console");
        assert_eq!(safe_next(Some("/console/logout")), "/console");
        assert_eq!(safe_next(None), "/console");
    }
}
