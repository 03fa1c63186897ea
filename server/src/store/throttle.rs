use super::{Db, Result, Store, now_ms, on_pool};

/// Failed sign-ins within the window, and the oldest of each, so the caller
/// can say when the next try is allowed.
#[derive(Clone, Debug, Default, sqlx::FromRow)]
pub struct FailureCounts {
    pub account: i64,
    pub account_oldest: Option<i64>,
    pub ip: i64,
    pub ip_oldest: Option<i64>,
}

/// One try of one surface, before it is checked.
#[derive(Clone, Copy, Debug)]
pub struct TryKey<'a> {
    /// `web`, `smtp` or `portal`: each keeps its own counters.
    pub surface: &'a str,
    pub account: &'a str,
    /// The client's address key (IPv6: its /64).
    pub ip: &'a str,
}

impl Store {
    /// Reserves one try: records it as a failure now, unless the account
    /// already has `per_account` or the address `per_ip` tries within the
    /// window, and returns its row (None: refused). Counting and recording
    /// are one statement, so parallel tries cannot all pass a check made
    /// before any of them is recorded. SQLite runs it under its single
    /// writer lock; PostgreSQL first takes a transaction-scoped advisory
    /// lock on each counter (in a fixed order), since its snapshot would
    /// otherwise miss the tries of concurrent transactions.
    pub async fn reserve_try(
        &self,
        key: TryKey<'_>,
        since_ms: i64,
        per_account: i64,
        per_ip: i64,
    ) -> Result<Option<i64>> {
        let reserve = "INSERT INTO login_failures (surface, email, ip, at) SELECT $1, $2, $3, $4 \
             WHERE (SELECT COUNT(*) FROM login_failures WHERE surface = $1 AND email = $2 AND at > $5) < $6 \
             AND (SELECT COUNT(*) FROM login_failures WHERE surface = $1 AND ip = $3 AND at > $5) < $7 \
             RETURNING id";
        let now = now_ms();
        // A macro: the two databases' queries are different types.
        macro_rules! query {
            () => {
                sqlx::query_scalar::<_, i64>(reserve)
                    .bind(key.surface)
                    .bind(key.account)
                    .bind(key.ip)
                    .bind(now)
                    .bind(since_ms)
                    .bind(per_account)
                    .bind(per_ip)
            };
        }
        match self.db() {
            // To the statement's end, so its commit's error is seen (claim_job).
            Db::Sqlite(pool) => Ok(query!().fetch_all(pool).await?.pop()),
            Db::Postgres(pool) => {
                let mut locks = [
                    lock_key(&[key.surface, "account", key.account]),
                    lock_key(&[key.surface, "ip", key.ip]),
                ];
                locks.sort_unstable();
                let mut tx = pool.begin().await?;
                for lock in locks {
                    sqlx::query("SELECT pg_advisory_xact_lock($1)")
                        .bind(lock)
                        .execute(&mut *tx)
                        .await?;
                }
                let id = query!().fetch_optional(&mut *tx).await?;
                tx.commit().await?;
                Ok(id)
            }
        }
    }

    /// A try that turned out right is not a failure.
    pub async fn release_try(&self, id: i64) -> Result<()> {
        let sql = "DELETE FROM login_failures WHERE id = $1";
        on_pool!(self.db(), |pool| sqlx::query(sql)
            .bind(id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Both counters of one surface.
    pub async fn login_failures_since(
        &self,
        key: TryKey<'_>,
        since_ms: i64,
    ) -> Result<FailureCounts> {
        let sql = "SELECT \
            (SELECT COUNT(*) FROM login_failures WHERE surface = $1 AND email = $2 AND at > $4) AS account, \
            (SELECT MIN(at) FROM login_failures WHERE surface = $1 AND email = $2 AND at > $4) AS account_oldest, \
            (SELECT COUNT(*) FROM login_failures WHERE surface = $1 AND ip = $3 AND at > $4) AS ip, \
            (SELECT MIN(at) FROM login_failures WHERE surface = $1 AND ip = $3 AND at > $4) AS ip_oldest";
        Ok(on_pool!(self.db(), |pool| sqlx::query_as::<
            _,
            FailureCounts,
        >(sql)
        .bind(key.surface)
        .bind(key.account)
        .bind(key.ip)
        .bind(since_ms)
        .fetch_one(pool)
        .await)?)
    }

    /// A successful sign-in forgets the account's failures on that surface
    /// (not the address's others).
    pub async fn clear_login_failures(&self, surface: &str, email: &str) -> Result<()> {
        let sql = "DELETE FROM login_failures WHERE surface = $1 AND email = $2";
        on_pool!(self.db(), |pool| sqlx::query(sql)
            .bind(surface)
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

/// A PostgreSQL advisory lock key for one counter.
fn lock_key(parts: &[&str]) -> i64 {
    let digest = crate::crypto::sha256(parts.join("\0").as_bytes());
    i64::from_be_bytes(digest[..8].try_into().expect("8 bytes"))
}
