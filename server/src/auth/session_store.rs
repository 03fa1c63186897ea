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

tokio::task_local! {
    /// A session record already read by the request's own query (the
    /// message page reads it with the link: [`Store::portal_with_session`]).
    static PRELOADED: std::cell::RefCell<Option<(Id, Option<Record>)>>;
}

/// Runs `work` with the record of session `id` as `data` says (the bytes
/// tower-sessions-sqlx-store keeps; `None`: no live session of that id), so
/// the session's first read in `work` costs no query. Only this task sees
/// it, once; undecodable bytes are left for the store to read as usual.
pub async fn with_preloaded<F: Future>(id: Id, data: Option<Vec<u8>>, work: F) -> F::Output {
    let record = match data {
        None => Some(None),
        Some(bytes) => rmp_serde::from_slice::<Record>(&bytes).ok().map(Some),
    };
    match record {
        Some(record) => {
            PRELOADED
                .scope(std::cell::RefCell::new(Some((id, record))), work)
                .await
        }
        None => work.await,
    }
}

fn take_preloaded(id: &Id) -> Option<Option<Record>> {
    PRELOADED
        .try_with(|p| {
            let mut p = p.borrow_mut();
            match p.as_ref() {
                Some((preloaded, _)) if preloaded == id => p.take().map(|(_, r)| r),
                _ => None,
            }
        })
        .ok()
        .flatten()
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
        if let Some(record) = take_preloaded(session_id) {
            return Ok(record);
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The message page reads the session record with the link; the
    /// session then loads from those bytes, once, without a query.
    #[tokio::test]
    async fn a_preloaded_record_is_served_once_without_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("s.db").display());
        let store = Store::connect(&url).await.unwrap();
        let sessions = DbSessionStore::new(&store).await.unwrap();
        let mut record = Record {
            id: Id::default(),
            data: [(
                "recipient".to_string(),
                serde_json::json!("bob@gmail.example"),
            )]
            .into_iter()
            .collect(),
            expiry_date: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
        };
        sessions.create(&mut record).await.unwrap();
        let id = record.id;
        let Db::Sqlite(pool) = store.db() else {
            unreachable!()
        };
        let (bytes,): (Vec<u8>,) = sqlx::query_as("SELECT data FROM tower_sessions WHERE id = ?")
            .bind(id.to_string())
            .fetch_one(pool)
            .await
            .unwrap();
        // Gone from the database: what loads now can only be the preload.
        sessions.delete(&id).await.unwrap();
        let (first, second, other) = with_preloaded(id, Some(bytes), async {
            (
                sessions.load(&id).await.unwrap(),
                sessions.load(&id).await.unwrap(),
                sessions.load(&Id::default()).await.unwrap(),
            )
        })
        .await;
        let first = first.expect("served from the preload");
        assert_eq!(first.data["recipient"], "bob@gmail.example");
        assert!(second.is_none(), "once only: then the database answers");
        assert!(other.is_none());
        // No live session of that id: the preload says so, too.
        let none = with_preloaded(id, None, sessions.load(&id)).await.unwrap();
        assert!(none.is_none());
    }
}
