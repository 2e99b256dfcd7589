//! The database: one connection type over PostgreSQL and SQLite, a pool, and a way to run
//! queries off the async executor.

pub mod migrations;
pub mod schema;

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection, R2D2Connection};

use crate::config::{DatabaseUrl, redact_url};

/// A connection to either backend. Queries written against it run on both.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

/// Run `$body` with `$c` bound to the inner connection of either backend.
///
/// For the few queries diesel's `MultiConnection` cannot express (upserts, batch inserts),
/// the same query is built once and run on the concrete connection.
#[macro_export]
macro_rules! on_backend {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::db::DbConn::Pg($c) => $body,
            $crate::db::DbConn::Sqlite($c) => $body,
        }
    };
}

/// Store a type as text: `as_str` writes it. An enum (which derives `diesel::AsExpression`
/// and `diesel::FromSqlRow` with `sql_type = Text`) is read back through `FromStr`, and a CHECK
/// in the migrations keeps the column to the names it knows, on both backends; an id type
/// (`stored_as_text!(from_string Id)`) takes the text as it is, without a second copy.
#[macro_export]
macro_rules! stored_as_text {
    (@write $ty:ty) => {
        impl<DB> diesel::serialize::ToSql<diesel::sql_types::Text, DB> for $ty
        where
            DB: diesel::backend::Backend,
            str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
        {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, DB>,
            ) -> diesel::serialize::Result {
                self.as_str().to_sql(out)
            }
        }
    };
    (from_string $ty:ty) => {
        $crate::stored_as_text!(@write $ty);

        impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for $ty
        where
            DB: diesel::backend::Backend,
            String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                String::from_sql(bytes).map(<$ty>::from)
            }
        }
    };
    ($ty:ty) => {
        $crate::stored_as_text!(@write $ty);

        impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for $ty
        where
            DB: diesel::backend::Backend,
            String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                Ok(String::from_sql(bytes)?.parse::<$ty>()?)
            }
        }
    };
}

/// Which tenant rows a unit of work may see, for PostgreSQL's row-level security.
///
/// The tenant filter in each query is the first wall; these policies are the second. A
/// transaction that declares neither sees no tenant rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowScope(Rows);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Rows {
    Tenant(String),
    AcrossTenants,
}

impl RowScope {
    /// One workspace's rows (services build it from a `TenantScope`).
    pub fn tenant(tenant_id: impl Into<String>) -> Self {
        Self(Rows::Tenant(tenant_id.into()))
    }

    /// Every workspace's rows. The one way across tenants, so that each use is easy to find
    /// (`grep across_tenants`) and says why: sign-up and sign-in before a workspace is
    /// known, links that carry only a token, the bot runtime, the platform admin.
    pub fn across_tenants(why: &'static str) -> Self {
        tracing::trace!(why, "unit of work across tenants");
        Self(Rows::AcrossTenants)
    }

    /// Declare the scope for the current transaction (PostgreSQL; SQLite has no RLS).
    fn enter(&self, conn: &mut DbConn) -> QueryResult<()> {
        use diesel::sql_types::Text;
        let DbConn::Pg(pg) = conn else {
            return Ok(());
        };
        let (name, value) = match &self.0 {
            Rows::Tenant(id) => ("app.tenant_id", id.as_str()),
            Rows::AcrossTenants => ("app.scope", "system"),
        };
        diesel::sql_query("SELECT set_config($1, $2, true)")
            .bind::<Text, _>(name)
            .bind::<Text, _>(value)
            .execute(pg)
            .map(drop)
    }
}

/// Which database a pool talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// Why a database call failed. The message is for logs, never for clients.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("no database connection available: {0}")]
    Unavailable(#[from] r2d2::PoolError),
    #[error("query failed: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("database task did not finish: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Sets up each new connection: SQLite pragmas that make it safe and fast for a server.
#[derive(Debug, Clone)]
pub struct DbManager {
    url: DatabaseUrl,
}

impl ManageConnection for DbManager {
    type Connection = DbConn;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConn, r2d2::Error> {
        establish(&self.url)
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), r2d2::Error> {
        conn.ping().map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        std::thread::panicking() || conn.is_broken()
    }
}

/// Open one connection, choosing the backend by the URL's scheme.
///
/// diesel's derived `establish` tries PostgreSQL first and hides the real error when it is
/// down, so the scheme decides here.
pub fn establish(url: &DatabaseUrl) -> Result<DbConn, r2d2::Error> {
    match url {
        DatabaseUrl::Postgres(raw) => PgConnection::establish(raw)
            .map(DbConn::Pg)
            .map_err(r2d2::Error::ConnectionError),
        DatabaseUrl::Sqlite(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| {
                    r2d2::Error::ConnectionError(ConnectionError::BadConnection(format!(
                        "cannot create {}: {e}",
                        dir.display()
                    )))
                })?;
            }
            let mut conn = SqliteConnection::establish(&path.to_string_lossy())
                .map_err(r2d2::Error::ConnectionError)?;
            // The busy timeout comes first, so that even switching to WAL waits for another
            // connection's lock instead of failing with "database is locked"; WAL lets readers
            // work while one writer writes; foreign keys are off by default in SQLite.
            conn.batch_execute(
                "PRAGMA busy_timeout = 5000;
                 PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = NORMAL;
                 PRAGMA foreign_keys = ON;",
            )
            .map_err(r2d2::Error::QueryError)?;
            Ok(DbConn::Sqlite(conn))
        }
    }
}

type Pool = r2d2::Pool<DbManager>;

/// A pool of connections; cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    backend: Backend,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("backend", &self.backend)
            .finish()
    }
}

impl Db {
    /// Open a pool and its first connection, so a bad URL fails at start-up.
    pub fn connect(url: &DatabaseUrl, max_size: u32) -> Result<Self, String> {
        let pool = Self::builder(max_size)
            .build(DbManager { url: url.clone() })
            .map_err(|e| format!("cannot connect to {}: {e}", describe(url)))?;
        Ok(Self::from_pool(pool, url))
    }

    /// Open a pool without connecting yet (connections are made on first use).
    pub fn connect_lazily(url: &DatabaseUrl, max_size: u32) -> Self {
        let pool = Self::builder(max_size).build_unchecked(DbManager { url: url.clone() });
        Self::from_pool(pool, url)
    }

    fn builder(max_size: u32) -> r2d2::Builder<DbManager> {
        r2d2::Pool::builder()
            .max_size(max_size)
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(5))
    }

    fn from_pool(pool: Pool, url: &DatabaseUrl) -> Self {
        let backend = match url {
            DatabaseUrl::Postgres(_) => Backend::Postgres,
            DatabaseUrl::Sqlite(_) => Backend::Sqlite,
        };
        Self { pool, backend }
    }

    /// Which database this pool talks to.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Run `work` with a pooled connection on a blocking thread, off the async executor.
    pub async fn run<T, F>(&self, work: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> QueryResult<T> + Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get()?;
            Ok(work(&mut conn)?)
        })
        .await?
    }

    /// Run `work` in one transaction that sees the rows `scope` allows.
    pub async fn run_in<T, F>(&self, scope: RowScope, work: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> QueryResult<T> + Send + 'static,
    {
        self.transaction(scope, move |conn| Ok(work(conn)?)).await
    }

    /// Run `work` in one transaction that sees the rows `scope` allows, with the caller's
    /// error type: an `Err` from `work` rolls everything back.
    pub async fn transaction<T, E, F>(&self, scope: RowScope, work: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<diesel::result::Error> + From<DbError> + Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().map_err(DbError::from)?;
            in_transaction(&mut conn, |conn| {
                scope.enter(conn)?;
                work(conn)
            })
        })
        .await
        .map_err(DbError::from)?
    }

    /// Check that a connection can be had within `timeout` and answers a query.
    pub async fn ping(&self, timeout: Duration) -> Result<(), DbError> {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get_timeout(timeout)?;
            conn.ping()?;
            Ok(())
        })
        .await?
    }

    /// Connections open and idle, for metrics.
    pub fn pool_state(&self) -> (u32, u32) {
        let state = self.pool.state();
        (state.connections, state.idle_connections)
    }
}

/// Run `work` in one transaction. On SQLite it begins `IMMEDIATE`, taking the write lock at
/// once: a deferred transaction that reads and then writes fails with "database is locked"
/// when another writer commits in between (the busy timeout cannot help it), while an
/// immediate one waits its turn. Nested transactions inside `work` become savepoints.
fn in_transaction<T, E, F>(conn: &mut DbConn, work: F) -> Result<T, E>
where
    E: From<diesel::result::Error>,
    F: FnOnce(&mut DbConn) -> Result<T, E>,
{
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    let DbConn::Sqlite(sqlite) = conn else {
        return conn.transaction(work);
    };
    AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
    let result = work(conn);
    // `work` gets the connection itself, not the inner one; it is SQLite still.
    let DbConn::Sqlite(sqlite) = conn else {
        return result;
    };
    match result {
        Ok(value) => {
            AnsiTransactionManager::commit_transaction(sqlite)?;
            Ok(value)
        }
        Err(e) => {
            AnsiTransactionManager::rollback_transaction(sqlite)?;
            Err(e)
        }
    }
}

/// A database URL fit for a log line: a path, or a URL without its password.
pub fn describe(url: &DatabaseUrl) -> String {
    match url {
        DatabaseUrl::Sqlite(path) => format!("SQLite database {}", path.display()),
        DatabaseUrl::Postgres(raw) => format!("PostgreSQL {}", redact_url(raw)),
    }
}
