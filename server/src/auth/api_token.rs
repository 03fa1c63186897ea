//! API tokens: `sp_` and 32 random bytes in base64url. Only the SHA-256 is
//! stored, so a database dump does not hand out API access.

use crate::crypto::{random_bytes, sha256};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;

pub const PREFIX: &str = "sp_";

/// A new token and the hash to store.
pub fn generate() -> (String, [u8; 32]) {
    let token = format!("{PREFIX}{}", B64URL.encode(random_bytes::<32>()));
    let hash = sha256(token.as_bytes());
    (token, hash)
}

/// The stored form of a presented token; `None` when it cannot be one.
pub fn hash(presented: &str) -> Option<[u8; 32]> {
    let body = presented.strip_prefix(PREFIX)?;
    (body.len() == 43
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    .then(|| sha256(presented.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_token_hashes_to_what_is_stored() {
        let (token, stored) = generate();
        assert_eq!(hash(&token), Some(stored));
        assert_ne!(generate().0, token);
        assert_eq!(hash("sp_short"), None);
        assert_eq!(hash(&token.replacen("sp_", "xx_", 1)), None);
    }
}
