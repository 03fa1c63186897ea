//! Sessions live in the same database as everything else, SQLite or
//! PostgreSQL; this picks the matching tower-sessions store at run time.

use crate::store::{Db, Store};
use async_trait::async_trait;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

#[derive(Clone, Debug)]
pub enum DbSessionStore {
    /// With the store whose write turn its writes take.
    Sqlite(SqliteStore, Store),
    Postgres(PostgresStore),
}

impl DbSessionStore {
    pub async fn new(store: &Store) -> Result<Self, sqlx::Error> {
        Ok(match store.db() {
            Db::Sqlite(pool) => {
                let s = SqliteStore::new(pool.clone());
                s.migrate().await?;
                DbSessionStore::Sqlite(s, store.clone())
            }
            Db::Postgres(pool) => {
                let s = PostgresStore::new(pool.clone());
                s.migrate().await?;
                DbSessionStore::Postgres(s)
            }
        })
    }
}

macro_rules! delegate {
    ($self:ident, |$s:ident| $body:expr) => {
        match $self {
            DbSessionStore::Sqlite($s, _) => $body,
            DbSessionStore::Postgres($s) => $body,
        }
    };
}

impl DbSessionStore {
    /// SQLite's writers take turns ([`Store::write_turn`]).
    async fn write_turn(&self) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        match self {
            DbSessionStore::Sqlite(_, store) => store.write_turn().await,
            DbSessionStore::Postgres(_) => None,
        }
    }
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let _turn = self.write_turn().await;
        delegate!(self, |s| s.create(record).await)
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let _turn = self.write_turn().await;
        // Whatever saved the session, it keeps the idle timeout it was opened
        // with (see `SESSION_IDLE`).
        let idle = record
            .data
            .get(super::SESSION_IDLE)
            .and_then(|v| v.as_i64());
        if let Some(idle) = idle {
            let mut record = record.clone();
            record.expiry_date =
                time::OffsetDateTime::now_utc().saturating_add(time::Duration::seconds(idle));
            return delegate!(self, |s| s.save(&record).await);
        }
        delegate!(self, |s| s.save(record).await)
    }

    async fn load(&self, session_id: &Id) -> session_store::Result<Option<Record>> {
        delegate!(self, |s| s.load(session_id).await)
    }

    async fn delete(&self, session_id: &Id) -> session_store::Result<()> {
        let _turn = self.write_turn().await;
        delegate!(self, |s| s.delete(session_id).await)
    }
}

#[async_trait]
impl ExpiredDeletion for DbSessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        let _turn = self.write_turn().await;
        delegate!(self, |s| s.delete_expired().await)
    }
}
