//! CSRF tokens: an HMAC of the session id with the derived CSRF key. The
//! token changes when the session id rotates at sign-in.

use crate::crypto::{SecretKey, hmac_sha256};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use subtle::ConstantTimeEq;

pub fn token(key: &SecretKey, session_id: &str) -> String {
    B64URL.encode(hmac_sha256(key, &[b"csrf", session_id.as_bytes()]))
}

pub fn verify(key: &SecretKey, session_id: Option<&str>, presented: &str) -> bool {
    match session_id {
        Some(id) => token(key, id).as_bytes().ct_eq(presented.as_bytes()).into(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_valid_only_for_its_session() {
        let key = SecretKey::random();
        let t = token(&key, "session-a");
        assert!(verify(&key, Some("session-a"), &t));
        assert!(!verify(&key, Some("session-b"), &t));
        assert!(!verify(&key, None, &t));
        assert!(!verify(&SecretKey::random(), Some("session-a"), &t));
    }
}
