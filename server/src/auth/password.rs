//! Argon2id with the OWASP parameters (argon2's defaults: m=19 MiB, t=2, p=1).

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

pub const MIN_LENGTH: usize = 12;
pub const MAX_LENGTH: usize = 1024;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PasswordError {
    #[error("The password must be at least {MIN_LENGTH} characters long.")]
    TooShort,
    #[error("The password must be at most {MAX_LENGTH} characters long.")]
    TooLong,
}

pub fn check_policy(password: &str) -> Result<(), PasswordError> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        Err(PasswordError::TooShort)
    } else if length > MAX_LENGTH {
        Err(PasswordError::TooLong)
    } else {
        Ok(())
    }
}

/// Hashing costs tens of milliseconds of CPU: run it off the async workers.
pub async fn hash(password: String) -> String {
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .expect("password hashing does not panic")
}

pub fn hash_blocking(password: &str) -> String {
    Argon2::default()
        .hash_password(password.as_bytes())
        .expect("Argon2 with default parameters hashes any password")
        .to_string()
}

/// Verifies against a stored PHC string. With no stored hash (unknown
/// account) it still spends the same work, so timing does not tell which
/// accounts exist.
pub async fn verify(password: String, stored: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let stored = stored.unwrap_or_else(|| dummy_hash().to_string());
        match PasswordHash::new(&stored) {
            Ok(parsed) => Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok(),
            Err(_) => false,
        }
    })
    .await
    .unwrap_or(false)
}

/// One per process, made before the first sign-in can ask for it: made
/// per thread, the first unknown address on each blocking thread paid for
/// a hash and a verification, and so took twice as long as a known one.
fn dummy_hash() -> &'static str {
    static DUMMY_HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY_HASH.get_or_init(|| hash_blocking("sealpost: no such account"))
}

/// Makes the dummy hash now (at start-up), not during a sign-in.
pub fn prepare() {
    let _ = dummy_hash();
}

/// A random password for the first administrator: 20 characters from an
/// alphabet without look-alikes, about 100 bits.
pub fn generate_one_time() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let bytes: [u8; 20] = crate::crypto::random_bytes();
    let chars: Vec<char> = bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect();
    chars
        .chunks(5)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_only_its_password() {
        let stored = hash("correct horse battery".into()).await;
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify("correct horse battery".into(), Some(stored.clone())).await);
        assert!(!verify("wrong horse battery".into(), Some(stored)).await);
        assert!(!verify("anything".into(), None).await);
    }

    #[test]
    fn the_policy_names_what_is_wrong() {
        assert_eq!(check_policy("short"), Err(PasswordError::TooShort));
        assert!(check_policy("long enough password").is_ok());
    }

    #[test]
    fn one_time_passwords_are_random_and_readable() {
        let a = generate_one_time();
        assert_eq!(a.len(), 23);
        assert_ne!(a, generate_one_time());
    }
}
