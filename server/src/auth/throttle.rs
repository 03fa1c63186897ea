//! Sign-in throttle: 5 failures per account or 20 per IP address within 15
//! minutes. The counters live in the database so they hold across nodes.

use crate::store::{FailureCounts, Store, StoreError, now_ms};

pub const WINDOW_MS: i64 = 15 * 60 * 1000;
pub const PER_ACCOUNT: i64 = 5;
pub const PER_IP: i64 = 20;

/// When sign-in is refused, until when (Unix ms).
pub async fn blocked_until(
    store: &Store,
    email: &str,
    ip: &str,
) -> Result<Option<i64>, StoreError> {
    let now = now_ms();
    let counts = store
        .login_failures_since(email, ip, now - WINDOW_MS)
        .await?;
    Ok(until(&counts))
}

fn until(c: &FailureCounts) -> Option<i64> {
    let account = (c.account >= PER_ACCOUNT)
        .then_some(c.account_oldest)
        .flatten();
    let ip = (c.ip >= PER_IP).then_some(c.ip_oldest).flatten();
    account
        .into_iter()
        .chain(ip)
        .map(|oldest| oldest + WINDOW_MS)
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_at_the_limits_until_the_oldest_failure_leaves_the_window() {
        let mut c = FailureCounts {
            account: 4,
            account_oldest: Some(1000),
            ip: 19,
            ip_oldest: Some(500),
        };
        assert_eq!(until(&c), None);
        c.account = 5;
        assert_eq!(until(&c), Some(1000 + WINDOW_MS));
        c.ip = 20;
        assert_eq!(until(&c), Some(1000 + WINDOW_MS));
        c.account = 0;
        assert_eq!(until(&c), Some(500 + WINDOW_MS));
    }
}
