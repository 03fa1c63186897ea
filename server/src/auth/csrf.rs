//! CSRF tokens: an HMAC of the session id with the derived CSRF key. The
//! token changes when the session id rotates at sign-in. A visitor who has
//! not signed in has no stored session: the sign-in and passcode forms bind
//! their token to a random `sealpost_visitor` cookie instead (a cross-site
//! page can neither read that cookie nor compute the HMAC).

use crate::crypto::{SecretKey, hmac_sha256};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use subtle::ConstantTimeEq;

pub fn token(key: &SecretKey, session_id: &str) -> String {
    B64URL.encode(hmac_sha256(key, &[b"csrf", session_id.as_bytes()]))
}

/// The cookie that binds a visitor's forms; it holds no state on the server.
pub const VISITOR_COOKIE: &str = "sealpost_visitor";

/// A visitor's cookie value, as a request extension.
#[derive(Clone, Debug)]
pub struct Visitor(pub String);

impl Visitor {
    pub fn new() -> Visitor {
        Visitor(B64URL.encode(crate::crypto::SecretKey::random().as_bytes()))
    }

    /// The visitor cookie a request carries, if it is well formed.
    pub fn from_headers(headers: &http::HeaderMap) -> Option<Visitor> {
        super::cookie(headers, VISITOR_COOKIE)
            .map(str::to_string)
            .filter(|v| {
                v.len() == 43
                    && v.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            })
            .map(Visitor)
    }
}

impl Default for Visitor {
    fn default() -> Self {
        Visitor::new()
    }
}

pub fn visitor_token(key: &SecretKey, visitor: &Visitor) -> String {
    B64URL.encode(hmac_sha256(key, &[b"csrf-visitor", visitor.0.as_bytes()]))
}

/// The token the page's forms carry: bound to the session when there is
/// one, else to the visitor cookie.
pub fn token_for(key: &SecretKey, session_id: Option<&str>, visitor: Option<&Visitor>) -> String {
    match (session_id, visitor) {
        (Some(id), _) => token(key, id),
        (None, Some(visitor)) => visitor_token(key, visitor),
        (None, None) => String::new(),
    }
}

/// Valid for the session, or for the visitor cookie of a form filled in
/// before sign-in.
pub fn verify(
    key: &SecretKey,
    session_id: Option<&str>,
    visitor: Option<&Visitor>,
    presented: &str,
) -> bool {
    let session = session_id
        .is_some_and(|id| bool::from(token(key, id).as_bytes().ct_eq(presented.as_bytes())));
    let visitor = visitor
        .is_some_and(|v| bool::from(visitor_token(key, v).as_bytes().ct_eq(presented.as_bytes())));
    session || visitor
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_valid_only_for_its_session() {
        let key = SecretKey::random();
        let t = token(&key, "session-a");
        assert!(verify(&key, Some("session-a"), None, &t));
        assert!(!verify(&key, Some("session-b"), None, &t));
        assert!(!verify(&key, None, None, &t));
        assert!(!verify(&SecretKey::random(), Some("session-a"), None, &t));
        let visitor = Visitor::new();
        let v = visitor_token(&key, &visitor);
        assert!(verify(&key, None, Some(&visitor), &v));
        assert!(verify(&key, Some("session-a"), Some(&visitor), &v));
        assert!(!verify(&key, None, Some(&Visitor::new()), &v));
        assert!(!verify(&key, None, Some(&visitor), &t));
    }
}
