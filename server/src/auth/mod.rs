//! Organization users: passwords, sessions, CSRF tokens and the sign-in throttle.

pub mod api_token;
pub mod csrf;
pub mod password;
pub mod session_store;
pub mod throttle;

/// Session keys.
pub const SESSION_USER_ID: &str = "uid";

/// The idle timeout a session was opened with, in seconds, kept in the
/// session itself: tower-sessions restores a loaded session with the layer's
/// default expiry, so without it every later save would stretch a 30-minute
/// recipient session to the default.
pub const SESSION_IDLE: &str = "idle_s";
/// When the session's expiry was last pushed forward (unix ms).
const SESSION_TOUCHED: &str = "touched";
/// A session in use is saved again at most this often.
const TOUCH_EVERY_MS: i64 = 60_000;

/// Opens a session with its own idle timeout.
pub async fn set_idle_timeout(
    session: &tower_sessions::Session,
    idle: time::Duration,
) -> Result<(), tower_sessions::session::Error> {
    session.set_expiry(Some(tower_sessions::Expiry::OnInactivity(idle)));
    session.insert(SESSION_IDLE, idle.whole_seconds()).await?;
    session
        .insert(SESSION_TOUCHED, crate::store::now_ms())
        .await
}

/// Idle timeouts count from the last use, but the store only learns of a
/// use when the session is saved: a session in use is saved (and its cookie
/// renewed) once a minute, instead of on every request.
pub async fn keep_alive(session: &tower_sessions::Session) {
    let now = crate::store::now_ms();
    let touched = session
        .get::<i64>(SESSION_TOUCHED)
        .await
        .ok()
        .flatten()
        .unwrap_or(0);
    if now - touched < TOUCH_EVERY_MS {
        return;
    }
    if let Ok(Some(idle)) = session.get::<i64>(SESSION_IDLE).await {
        session.set_expiry(Some(tower_sessions::Expiry::OnInactivity(
            time::Duration::seconds(idle),
        )));
    }
    let _ = session.insert(SESSION_TOUCHED, now).await;
}

/// The value of the request's cookie `name`, if it sent one.
pub fn cookie<'a>(headers: &'a http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value)
}
