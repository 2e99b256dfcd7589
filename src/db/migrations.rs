//! Embedded migrations, one tree per backend, and the PostgreSQL role split.
//!
//! The schema owner (the migration role) applies DDL; the application role only reads and
//! writes. `grant_app_role` hands the application role exactly those rights.

use diesel::migration::MigrationSource;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel::sqlite::Sqlite;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::DbConn;

/// The PostgreSQL migrations, compiled into the binary.
pub const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");
/// The SQLite migrations, compiled into the binary; same names as the PostgreSQL ones.
pub const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// The table diesel records applied migrations in.
const MIGRATIONS_TABLE: &str = "__diesel_schema_migrations";

/// Why migrating failed.
pub type MigrationError = Box<dyn std::error::Error + Send + Sync>;

/// Apply every pending migration, each in its own transaction; returns the names applied.
pub fn run_pending(conn: &mut DbConn) -> Result<Vec<String>, MigrationError> {
    match conn {
        DbConn::Pg(c) => apply_pending(c, POSTGRES),
        DbConn::Sqlite(c) => apply_pending(c, SQLITE),
    }
}

fn apply_pending<C>(conn: &mut C, source: EmbeddedMigrations) -> Result<Vec<String>, MigrationError>
where
    C: MigrationHarness<C::Backend> + Connection,
    EmbeddedMigrations: MigrationSource<C::Backend>,
{
    let mut applied = Vec::new();
    for migration in conn.pending_migrations(source)? {
        conn.run_migration(&*migration)?;
        applied.push(migration.name().to_string());
    }
    Ok(applied)
}

/// An embedded migration: the version diesel records and the folder name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct EmbeddedMigration {
    pub version: String,
    pub name: String,
}

/// The embedded migrations for a connection's backend, oldest first.
pub fn embedded(conn: &DbConn) -> Vec<EmbeddedMigration> {
    fn list<DB: diesel::backend::Backend>(source: EmbeddedMigrations) -> Vec<EmbeddedMigration>
    where
        EmbeddedMigrations: MigrationSource<DB>,
    {
        let mut all: Vec<EmbeddedMigration> = MigrationSource::<DB>::migrations(&source)
            .map(|ms| {
                ms.iter()
                    .map(|m| EmbeddedMigration {
                        version: m.name().version().to_string(),
                        name: m.name().to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        all.sort();
        all
    }
    match conn {
        DbConn::Pg(_) => list::<Pg>(POSTGRES),
        DbConn::Sqlite(_) => list::<Sqlite>(SQLITE),
    }
}

#[derive(QueryableByName)]
struct AppliedVersion {
    #[diesel(sql_type = Text)]
    version: String,
}

#[derive(QueryableByName)]
struct TableCount {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Embedded migrations not yet applied, found without any DDL.
///
/// diesel's own `pending_migrations` first creates its bookkeeping table, which the
/// application role may not do; this reads the table directly instead.
pub fn pending_without_ddl(conn: &mut DbConn) -> QueryResult<Vec<String>> {
    let table_exists_sql = match conn {
        DbConn::Pg(_) => {
            "SELECT count(*) AS n FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = '__diesel_schema_migrations'"
        }
        DbConn::Sqlite(_) => {
            "SELECT count(*) AS n FROM sqlite_master \
             WHERE type = 'table' AND name = '__diesel_schema_migrations'"
        }
    };
    let exists = diesel::sql_query(table_exists_sql)
        .get_result::<TableCount>(conn)?
        .n
        > 0;
    let applied: Vec<String> = if exists {
        diesel::sql_query(format!("SELECT version FROM {MIGRATIONS_TABLE}"))
            .load::<AppliedVersion>(conn)?
            .into_iter()
            .map(|v| v.version)
            .collect()
    } else {
        Vec::new()
    };
    Ok(embedded(conn)
        .into_iter()
        .filter(|m| !applied.contains(&m.version))
        .map(|m| m.name)
        .collect())
}

/// Give `role` the rights the application needs on PostgreSQL: read and write every table and
/// sequence, now and for tables the migration role creates later, and nothing more.
/// Run as the migration role (the owner of the tables).
pub fn grant_app_role(conn: &mut PgConnection, role: &str) -> QueryResult<()> {
    let role = quote_identifier(role);
    conn.transaction(|conn| {
        for statement in [
            format!("GRANT USAGE ON SCHEMA public TO {role}"),
            format!("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}"),
            format!("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}"),
            format!(
                "ALTER DEFAULT PRIVILEGES IN SCHEMA public \
                 GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}"
            ),
            format!(
                "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {role}"
            ),
            // The app role reads the migration history (to refuse a stale schema) but never
            // writes it.
            format!("REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {MIGRATIONS_TABLE} FROM {role}"),
        ] {
            diesel::sql_query(statement).execute(conn)?;
        }
        Ok(())
    })
}

/// Quote a PostgreSQL identifier, doubling any embedded quote.
fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_identifier("app"), "\"app\"");
        assert_eq!(quote_identifier("a\"b"), "\"a\"\"b\"");
    }

    #[test]
    fn both_trees_have_the_same_migration_names() {
        let names = |m: Vec<Box<dyn diesel::migration::Migration<Pg>>>| {
            m.iter().map(|m| m.name().to_string()).collect::<Vec<_>>()
        };
        let mut pg = names(MigrationSource::<Pg>::migrations(&POSTGRES).unwrap());
        let mut sqlite: Vec<String> = MigrationSource::<Sqlite>::migrations(&SQLITE)
            .unwrap()
            .iter()
            .map(|m| m.name().to_string())
            .collect();
        pg.sort();
        sqlite.sort();
        assert!(!pg.is_empty());
        assert_eq!(pg, sqlite);
    }
}
