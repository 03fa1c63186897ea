use super::{Result, Store, now_ms, on_pool};

/// Failed sign-ins within the window, and the oldest of each, so the caller
/// can say when the next try is allowed.
#[derive(Clone, Debug, Default, sqlx::FromRow)]
pub struct FailureCounts {
    pub account: i64,
    pub account_oldest: Option<i64>,
    pub ip: i64,
    pub ip_oldest: Option<i64>,
}

impl Store {
    pub async fn record_login_failure(&self, email: &str, ip: &str) -> Result<()> {
        let sql = "INSERT INTO login_failures (email, ip, at) VALUES ($1, $2, $3)";
        on_pool!(self.db(), |pool| sqlx::query(sql)
            .bind(email)
            .bind(ip)
            .bind(now_ms())
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// One query for both counters: the sign-in path is hot under attack.
    pub async fn login_failures_since(
        &self,
        email: &str,
        ip: &str,
        since_ms: i64,
    ) -> Result<FailureCounts> {
        let sql = "SELECT \
            (SELECT COUNT(*) FROM login_failures WHERE email = $1 AND at > $3) AS account, \
            (SELECT MIN(at) FROM login_failures WHERE email = $1 AND at > $3) AS account_oldest, \
            (SELECT COUNT(*) FROM login_failures WHERE ip = $2 AND at > $3) AS ip, \
            (SELECT MIN(at) FROM login_failures WHERE ip = $2 AND at > $3) AS ip_oldest";
        Ok(on_pool!(self.db(), |pool| sqlx::query_as::<
            _,
            FailureCounts,
        >(sql)
        .bind(email)
        .bind(ip)
        .bind(since_ms)
        .fetch_one(pool)
        .await)?)
    }

    /// A successful sign-in forgets the account's failures (not the IP's).
    pub async fn clear_login_failures(&self, email: &str) -> Result<()> {
        let sql = "DELETE FROM login_failures WHERE email = $1";
        on_pool!(self.db(), |pool| sqlx::query(sql)
            .bind(email)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn prune_login_failures(&self, before_ms: i64) -> Result<u64> {
        let sql = "DELETE FROM login_failures WHERE at < $1";
        let done = on_pool!(self.db(), |pool| sqlx::query(sql)
            .bind(before_ms)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(done)
    }
}
