//! Sign-in throttle: 5 failures per account or 20 per client address within
//! 15 minutes, counted per surface (web sign-in, SMTP AUTH, the portal) so
//! an attack on one locks none of the others. The counters live in the
//! database so they hold across nodes, and each try is reserved (counted as
//! a failure) before its password or code is checked, so parallel tries
//! cannot all slip past the limit.

use crate::store::{FailureCounts, Store, StoreError, TryKey, now_ms};
use std::net::IpAddr;

pub const WINDOW_MS: i64 = 15 * 60 * 1000;
pub const PER_ACCOUNT: i64 = 5;
pub const PER_IP: i64 = 20;

/// Where a sign-in is tried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Surface {
    Web,
    Smtp,
    /// The recipient portal's passcode form: counted per address only
    /// (each recipient copy has its own limits on codes and tries).
    Portal,
}

impl Surface {
    fn as_str(self) -> &'static str {
        match self {
            Surface::Web => "web",
            Surface::Smtp => "smtp",
            Surface::Portal => "portal",
        }
    }

    fn per_account(self) -> i64 {
        match self {
            Surface::Portal => i64::MAX,
            _ => PER_ACCOUNT,
        }
    }
}

/// A try that was let through: a failure unless `succeeded` says otherwise.
#[derive(Debug)]
pub struct Reserved {
    id: i64,
    surface: Surface,
    account: String,
}

/// Reserves one try of `account` from `ip`, or says until when (Unix ms)
/// tries are refused.
pub async fn reserve(
    store: &Store,
    surface: Surface,
    account: &str,
    ip: IpAddr,
) -> Result<Result<Reserved, i64>, StoreError> {
    let ip = crate::client_addr::client_key(ip);
    // The portal counts addresses only: its "account" is the address too,
    // so tries from different addresses never wait on one lock.
    let account = match surface {
        Surface::Portal => ip.as_str(),
        _ => account,
    };
    let key = TryKey {
        surface: surface.as_str(),
        account,
        ip: &ip,
    };
    let since = now_ms() - WINDOW_MS;
    match store
        .reserve_try(key, since, surface.per_account(), PER_IP)
        .await?
    {
        Some(id) => Ok(Ok(Reserved {
            id,
            surface,
            account: account.to_string(),
        })),
        None => {
            let counts = store.login_failures_since(key, since).await?;
            Ok(Err(
                until(&counts, surface.per_account()).unwrap_or_else(|| now_ms() + WINDOW_MS)
            ))
        }
    }
}

/// The reserved try was right: a password sign-in forgets the account's
/// failures on its surface, a portal try is no longer counted.
pub async fn succeeded(store: &Store, reserved: Reserved) -> Result<(), StoreError> {
    match reserved.surface {
        Surface::Portal => store.release_try(reserved.id).await,
        surface => {
            store
                .clear_login_failures(surface.as_str(), &reserved.account)
                .await
        }
    }
}

fn until(c: &FailureCounts, per_account: i64) -> Option<i64> {
    let account = (c.account >= per_account)
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
        assert_eq!(until(&c, PER_ACCOUNT), None);
        c.account = 5;
        assert_eq!(until(&c, PER_ACCOUNT), Some(1000 + WINDOW_MS));
        c.ip = 20;
        assert_eq!(until(&c, PER_ACCOUNT), Some(1000 + WINDOW_MS));
        c.account = 0;
        assert_eq!(until(&c, PER_ACCOUNT), Some(500 + WINDOW_MS));
    }
}
