//! A transaction on either database, for the service layer: a change and
//! its audit line are written together or not at all.

use super::{Db, Result, Store};

pub enum Tx {
    /// With this process's write turn ([`Store::write_turn`]), held until
    /// the transaction ends.
    Sqlite(
        sqlx::Transaction<'static, sqlx::Sqlite>,
        Option<tokio::sync::OwnedMutexGuard<()>>,
    ),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// Runs `$body` with `$conn` bound to the transaction's connection of
/// either driver (use it as `&mut *$conn`), like `on_pool!` for pools.
macro_rules! on_tx {
    ($tx:expr, |$conn:ident| $body:expr) => {
        match $tx {
            $crate::store::Tx::Sqlite(t, _) => {
                let $conn: &mut sqlx::SqliteConnection = &mut **t;
                $body
            }
            $crate::store::Tx::Postgres(t) => {
                let $conn: &mut sqlx::PgConnection = &mut **t;
                $body
            }
        }
    };
}
pub(crate) use on_tx;

impl Store {
    /// Starts a transaction. Dropped without [`Tx::commit`], it rolls back.
    ///
    /// SQLite's transaction takes the write lock at once (`BEGIN
    /// IMMEDIATE`): a deferred one that reads first and writes later fails
    /// with `SQLITE_BUSY` at once, not after the busy timeout, when another
    /// connection wrote in between (the pipeline writes all the time). So a
    /// service reads what it needs from the pool before it begins, and
    /// inside only through the transaction.
    pub async fn begin(&self) -> Result<Tx> {
        Ok(match self.db() {
            Db::Sqlite(pool) => {
                let turn = self.write_turn().await;
                Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?, turn)
            }
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }
}

impl Tx {
    pub async fn commit(self) -> Result<()> {
        match self {
            Tx::Sqlite(t, _turn) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }
}
