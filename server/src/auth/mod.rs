//! Organization users: passwords, sessions, CSRF tokens and the sign-in throttle.

pub mod csrf;
pub mod password;
pub mod session_store;
pub mod throttle;

/// Session keys.
pub const SESSION_USER_ID: &str = "uid";
