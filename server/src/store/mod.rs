//! The repository: one API over SQLite and PostgreSQL (sqlx). Every query is
//! written once with `$n` parameters, which both drivers accept, and runs on
//! whichever pool the database URL chose.

mod audit;
mod event_log;
mod events;
mod jobs;
mod keys;
mod messages;
mod outcomes;
mod portal;
mod replies;
mod retention;
mod rules;
mod settings;
mod status;
mod templates;
mod throttle;
mod tokens;
mod tx;
mod users;

pub use audit::{AuditEntry, AuditFilter, AuditRow};
pub use event_log::{EventLine, EventLog};
pub use events::{Event, MessageEventRow};
pub use jobs::{JobRow, MAX_OPEN_CLAIMS, OutboxRow, QueueFilter, QueuedJob, retry_delay};
pub use keys::{KeyRow, OrganizationRow};
pub use messages::{
    AcceptedMessage, MessageRow, NewJob, NewRecipient, PipelineOutcome, ProtectedRecord,
};
pub use outcomes::{JobOutcome, Outcome, OutcomeEvent, Outcomes};
pub use portal::{NewPasscode, PasscodeRow, PortalRow};
pub use replies::ReplyRow;
pub use retention::PurgeRow;
pub use rules::{RuleRow, RuleWrite};
pub use status::{InboxRow, SentRow, StatusRow, TraceRow};
pub use templates::{DEFAULT_TEMPLATE_NAME, TemplateFull, TemplateRow};
pub use throttle::{FailureCounts, TryKey};
pub use tokens::TokenRow;
pub use tx::Tx;
pub(crate) use tx::on_tx;
pub use users::{NewUser, UserRow};

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};
use std::str::FromStr;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database {url}: {source}")]
    Connect { url: String, source: sqlx::Error },
    #[error("cannot bring the database schema up to date: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Query(#[from] sqlx::Error),
    #[error("{0} already exists")]
    Conflict(String),
    /// A grouped write failed; the cause was logged once for the group.
    #[error("grouped write failed: {0}")]
    Batch(String),
}

impl StoreError {
    /// True when the database's disk is full (SQLite's `SQLITE_FULL`,
    /// PostgreSQL's `disk_full`): mail is refused with `452` (insufficient
    /// storage) rather than the generic `451`.
    pub fn is_full(&self) -> bool {
        match self {
            StoreError::Query(sqlx::Error::Database(e)) => {
                matches!(e.code().as_deref(), Some("13" | "53100"))
            }
            StoreError::Batch(cause) => cause.contains("database or disk is full"),
            _ => false,
        }
    }

    /// True when trying again later may work: the database away, restarting,
    /// busy, out of space or out of resources, or a transaction that lost a
    /// conflict. Anything else (a constraint, a value the column refuses, a
    /// row that is not there) fails the same way every time.
    pub fn is_transient(&self) -> bool {
        if self.is_unreachable() || self.is_full() {
            return true;
        }
        match self {
            StoreError::Batch(_) => true,
            StoreError::Query(sqlx::Error::WorkerCrashed) => true,
            StoreError::Query(sqlx::Error::Database(e)) => {
                let code = e.code().unwrap_or_default();
                // SQLite's primary code is the low byte of the extended one:
                // BUSY 5, LOCKED 6, NOMEM 7, IOERR 10, PROTOCOL 15.
                let sqlite = code
                    .parse::<i32>()
                    .is_ok_and(|c| matches!(c & 0xff, 5 | 6 | 7 | 10 | 15));
                // PostgreSQL classes: 08 connection, 40 transaction
                // rollback (serialization, deadlock), 53 insufficient
                // resources, 57 operator intervention (shutdown), 58 system.
                let postgres = code.len() == 5
                    && ["08", "40", "53", "57", "58"]
                        .iter()
                        .any(|c| code.starts_with(c));
                sqlite || postgres
            }
            _ => false,
        }
    }

    /// True when the database could not be reached at all (as opposed to a
    /// query that failed), so callers can say "try again" instead of "bug".
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            StoreError::Connect { .. }
                | StoreError::Query(
                    sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed
                )
        )
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// `($1, $2), ($3, $4), ...`: the VALUES of a multi-row statement, `rows`
/// rows of `columns` parameters each (both drivers take `$n`).
pub(crate) fn placeholders(columns: usize, rows: usize) -> String {
    (0..rows)
        .map(|row| {
            let values: Vec<String> = (1..=columns)
                .map(|c| format!("${}", row * columns + c))
                .collect();
            format!("({})", values.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the concrete pool: the body is compiled
/// once per driver, so one query text serves both.
macro_rules! on_pool {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::store::Db::Sqlite($pool) => $body,
            $crate::store::Db::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

#[derive(Clone, Debug)]
pub struct Store {
    db: Db,
    /// SQLite's writers take turns here: see [`Store::write_turn`].
    writer: std::sync::Arc<tokio::sync::Mutex<()>>,
}

/// What [`Store::probe`] found.
pub struct Probe {
    /// Migrations the next start applies; `None`: no database yet.
    pub pending: Option<usize>,
    /// How a PostgreSQL connection travels (`None` for SQLite).
    pub link: Option<DatabaseLink>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatabaseLink {
    Plain,
    /// Encrypted, but the server's certificate was not checked (`sslmode`
    /// `prefer` or `require`): safe from listeners, not from an impostor.
    TlsUnverified,
    /// `sslmode=verify-ca` or `verify-full`.
    TlsVerified,
}

impl std::fmt::Display for DatabaseLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DatabaseLink::Plain => "without TLS",
            DatabaseLink::TlsUnverified => {
                "over TLS, the server's certificate not verified (sslmode=verify-full checks it)"
            }
            DatabaseLink::TlsVerified => "over TLS, the server's certificate verified",
        })
    }
}

impl Store {
    /// Open the database, creating a SQLite file when missing, and run the
    /// migrations of its kind.
    pub async fn connect(url: &str) -> Result<Store> {
        Self::open(url, true).await
    }

    /// For `sealpost check`: an existing database, opened without running
    /// migrations or changing its files' modes.
    pub async fn connect_as_is(url: &str) -> Result<Store> {
        Self::open(url, false).await
    }

    async fn open(url: &str, migrate: bool) -> Result<Store> {
        let connect_err = |source| StoreError::Connect {
            url: crate::config::redact_url(url),
            source,
        };
        let db = if url.starts_with("sqlite:") {
            if let Some(parent) = sqlite_path(url)
                .as_deref()
                .and_then(|p| std::path::Path::new(p).parent())
                .filter(|p| !p.as_os_str().is_empty())
            {
                private_dir(parent).map_err(|e| connect_err(sqlx::Error::Io(e)))?;
            }
            // WAL with synchronous=FULL: a commit is on disk before we answer.
            let options = SqliteConnectOptions::from_str(url)
                .map_err(connect_err)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true);
            // A connection to a local file cannot go stale: no ping (one more
            // round trip to the connection's thread) before every query.
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                .test_before_acquire(false)
                .after_release(|conn, _| Box::pin(sqlite_reusable(conn)))
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await
                .map_err(connect_err)?;
            if migrate {
                sqlx::migrate!("../migrations/sqlite").run(&pool).await?;
            }
            // The database and its journal (WAL, shared memory) hold sealed
            // messages and hashed secrets: the service's user reads them, nobody else.
            if let Some(path) = sqlite_path(url).filter(|_| migrate) {
                for file in [path.clone(), format!("{path}-wal"), format!("{path}-shm")] {
                    private_file(std::path::Path::new(&file))
                        .map_err(|e| connect_err(sqlx::Error::Io(e)))?;
                }
            }
            Db::Sqlite(pool)
        } else {
            let options = PgConnectOptions::from_str(url)
                .map_err(connect_err)?
                .options([("synchronous_commit", "on")]);
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await
                .map_err(connect_err)?;
            if migrate {
                sqlx::migrate!("../migrations/postgres").run(&pool).await?;
            }
            Db::Postgres(pool)
        };
        Ok(Store {
            db,
            writer: Default::default(),
        })
    }

    /// For `sealpost check`: whether the database answers, and how many of
    /// this version's migrations it has not had yet (the next start applies
    /// them). Nothing is created or migrated; `pending` is `None` for a
    /// SQLite file that does not exist yet (the first start makes it).
    pub async fn probe(url: &str) -> Result<Probe> {
        use sqlx::Connection;
        let connect_err = |source| StoreError::Connect {
            url: crate::config::redact_url(url),
            source,
        };
        let query = "SELECT version FROM _sqlx_migrations WHERE success";
        // A database before its first start has no migrations table: all
        // are to come.
        let (applied, migrator, link): (Vec<i64>, sqlx::migrate::Migrator, _) =
            if url.starts_with("sqlite:") {
                if sqlite_path(url).is_some_and(|p| !std::path::Path::new(&p).exists()) {
                    return Ok(Probe {
                        pending: None,
                        link: None,
                    });
                }
                let options = SqliteConnectOptions::from_str(url)
                    .map_err(connect_err)?
                    .create_if_missing(false);
                let mut conn = sqlx::SqliteConnection::connect_with(&options)
                    .await
                    .map_err(connect_err)?;
                let applied = applied(sqlx::query_scalar(query).fetch_all(&mut conn).await)?;
                let _ = conn.close().await;
                (applied, sqlx::migrate!("../migrations/sqlite"), None)
            } else {
                let options = PgConnectOptions::from_str(url).map_err(connect_err)?;
                let mut conn = tokio::time::timeout(
                    Duration::from_secs(10),
                    sqlx::PgConnection::connect_with(&options),
                )
                .await
                .map_err(|_| connect_err(sqlx::Error::PoolTimedOut))?
                .map_err(connect_err)?;
                let applied = applied(sqlx::query_scalar(query).fetch_all(&mut conn).await)?;
                // What the connection is, not what the URL asked for: the
                // default (`sslmode=prefer`) falls back to plain text when the
                // server has no TLS.
                let tls: Option<bool> =
                    sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                        .fetch_optional(&mut conn)
                        .await
                        .map_err(StoreError::from)?;
                let _ = conn.close().await;
                let verified = matches!(
                    options.get_ssl_mode(),
                    sqlx::postgres::PgSslMode::VerifyCa | sqlx::postgres::PgSslMode::VerifyFull
                );
                let link = match (tls.unwrap_or(false), verified) {
                    (false, _) => DatabaseLink::Plain,
                    (true, false) => DatabaseLink::TlsUnverified,
                    (true, true) => DatabaseLink::TlsVerified,
                };
                (
                    applied,
                    sqlx::migrate!("../migrations/postgres"),
                    Some(link),
                )
            };
        Ok(Probe {
            pending: Some(
                migrator
                    .iter()
                    .filter(|m| !applied.contains(&m.version))
                    .count(),
            ),
            link,
        })
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// SQLite has one writer at a time, and a connection that finds the
    /// database locked sleeps in its busy handler (1, 2, 5, ... up to 100 ms)
    /// before it looks again. Under load the intake's group commit, the
    /// queues' claims and the outcomes' group commit kept finding each
    /// other's lock and sleeping, with the processor idle: a message took
    /// 45 ms to hand to the relay. The busy writers of this process take
    /// turns here instead, in order, each woken the moment the write before
    /// it ends. PostgreSQL writes concurrently: no turn.
    pub(crate) async fn write_turn(&self) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        match self.db {
            Db::Sqlite(_) => Some(self.writer.clone().lock_owned().await),
            Db::Postgres(_) => None,
        }
    }

    /// A round trip to the database, for `/healthz`.
    pub async fn ping(&self) -> Result<()> {
        on_pool!(&self.db, |pool| sqlx::query("SELECT 1")
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn close(&self) {
        on_pool!(&self.db, |pool| pool.close().await)
    }
}

/// Whether a SQLite connection handed back to the pool may serve again: only
/// outside any transaction, both as sqlx counts and as SQLite knows it.
///
/// When `COMMIT` (or a statement) fails with `SQLITE_FULL`, `SQLITE_IOERR`
/// or `SQLITE_BUSY`, SQLite may or may not have rolled the transaction back
/// itself, and sqlx's count of open transactions then disagrees with the
/// connection. Its next `BEGIN` becomes a `SAVEPOINT`, and the first
/// `ROLLBACK TO` of one (a transaction that changed its mind) leaves a
/// transaction open that nobody owns: later writes on that connection
/// "succeed" inside it (mail acknowledged with `250`), it holds the write
/// lock against every other connection, and it vanishes at exit. A
/// `ROLLBACK` probe settles it: "no transaction is active" is the only
/// answer that lets the connection back in; any other closes it, and
/// closing rolls back whatever it held. The probe runs after the rollback
/// that a dropped transaction queued (one channel to the connection's
/// thread), so the count read after it is current.
///
/// PostgreSQL needs no such hook: the server ends a transaction whose
/// `COMMIT` fails, sqlx queues a `ROLLBACK` for one dropped open, and the
/// pool's ping on release sends it or closes a broken connection.
async fn sqlite_reusable(
    conn: &mut sqlx::SqliteConnection,
) -> std::result::Result<bool, sqlx::Error> {
    use sqlx::{Connection, Executor};
    let clean = match conn.execute("ROLLBACK").await {
        Ok(_) => false,
        Err(sqlx::Error::Database(e)) if e.message().contains("no transaction is active") => true,
        Err(e) => return Err(e),
    };
    if !clean || conn.is_in_transaction() {
        tracing::warn!(
            "a database connection was left inside a transaction; it is closed, and what it held rolled back"
        );
        return Ok(false);
    }
    Ok(true)
}

fn sqlite_path(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then(|| path.to_string())
}

/// The migrations a database has had: none when it has no migrations
/// table yet (before the first start); any other error is the database's.
fn applied(read: std::result::Result<Vec<i64>, sqlx::Error>) -> Result<Vec<i64>> {
    match read {
        Ok(versions) => Ok(versions),
        Err(sqlx::Error::Database(e)) if e.message().contains("_sqlx_migrations") => Ok(Vec::new()),
        Err(e) => Err(e.into()),
    }
}

/// Milliseconds since the Unix epoch: every time column holds these.
pub fn now_ms() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp_nanos() as i64 / 1_000_000
}

pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Unique-constraint violations become [`StoreError::Conflict`].
fn conflict_or(e: sqlx::Error, what: impl Into<String>) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what.into()),
        _ => StoreError::Query(e),
    }
}

/// Makes a directory for sealpost's files with mode 0700 (those it makes;
/// an existing one is left as it is: it may be shared, like /tmp).
pub fn private_dir(path: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
}

/// A file of sealpost's own, when it exists: mode 0600.
fn private_file(path: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    match std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        done => done,
    }
}
