//! The PostgreSQL role split, through the real binary: `whatsdex migrate` as the migration
//! role leaves an app role that can work but cannot change the schema, and `serve` refuses a
//! schema that is behind.

use std::process::{Command, Output};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use crate::common::{self, TestDatabase};

fn whatsdex(db: &TestDatabase, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_whatsdex"))
        .args(args)
        .env_clear()
        .envs(db.env())
        .env("PORT", "1") // never reached: these runs exit before binding or bind nothing
        .output()
        .expect("run whatsdex")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn app_pg(db: &TestDatabase) -> PgConnection {
    PgConnection::establish(&db.app_url).expect("app role connection")
}

fn refused(conn: &mut PgConnection, sql: &str) {
    let err = conn
        .batch_execute(sql)
        .expect_err(&format!("app role may not run: {sql}"));
    let text = err.to_string();
    assert!(
        text.contains("permission denied") || text.contains("must be owner"),
        "{sql}: unexpected error {text}"
    );
}

#[test]
fn migrate_leaves_an_app_role_that_works_but_cannot_alter_the_schema() {
    if !common::on_postgres() {
        eprintln!("skipped: the role split is a PostgreSQL feature");
        return;
    }
    let db = TestDatabase::new();
    let first = whatsdex(&db, &["migrate"]);
    assert!(first.status.success(), "migrate failed: {}", stderr(&first));
    let out = stdout(&first);
    assert!(
        out.contains("applied 2026-11-23-000001_create_plans"),
        "{out}"
    );
    assert!(out.contains("granted read/write (no DDL) to role"), "{out}");

    let second = whatsdex(&db, &["migrate"]);
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(
        stdout(&second).contains("database is up to date"),
        "{}",
        stdout(&second)
    );

    let seed = whatsdex(&db, &["seed"]);
    assert!(
        seed.status.success(),
        "seed as the app role: {}",
        stderr(&seed)
    );
    assert!(stdout(&seed).contains("4 inserted"), "{}", stdout(&seed));

    let mut app = app_pg(&db);
    app.batch_execute(
        "INSERT INTO plans (id, name, position, monthly_price_cents, features, updated_at)
         VALUES ('trial', 'Trial', 9, 0, '[]', now());
         UPDATE plans SET name = 'Trial plan' WHERE id = 'trial';
         DELETE FROM plans WHERE id = 'trial';",
    )
    .expect("the app role reads and writes");
    for sql in [
        "CREATE TABLE intruder (id INTEGER)",
        "CREATE TEMP TABLE intruder (id INTEGER)",
        "DROP TABLE plans",
        "ALTER TABLE plans ADD COLUMN extra TEXT",
        "CREATE INDEX plans_by_name ON plans (name)",
        "TRUNCATE plans",
        "DELETE FROM __diesel_schema_migrations",
        "INSERT INTO __diesel_schema_migrations (version) VALUES ('99999999999999')",
    ] {
        refused(&mut app, sql);
    }
}

#[test]
fn serve_refuses_a_schema_that_is_behind() {
    if !common::on_postgres() {
        eprintln!("skipped: SQLite migrates itself on serve");
        return;
    }
    let db = TestDatabase::new();
    let output = whatsdex(&db, &["serve"]);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(err.contains("run `whatsdex migrate`"), "{err}");
    assert!(
        !err.contains(&db.app_url),
        "the URL (with password) must not be logged: {err}"
    );

    // The app role's failed start left nothing behind.
    let mut app = app_pg(&db);
    let tables: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
        "(SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public')",
    ))
    .get_result(&mut app)
    .unwrap();
    assert_eq!(tables, 0);
}

#[test]
fn serve_with_migrate_flag_migrates_as_the_migration_role() {
    if !common::on_postgres() {
        eprintln!("skipped: PostgreSQL only");
        return;
    }
    let db = TestDatabase::new();
    // prepare(migrate = true) is what `serve --migrate` runs before binding.
    let state = whatsdex::server::prepare(db.config(), true).expect("serve --migrate");
    drop(state);
    let mut app = app_pg(&db);
    refused(&mut app, "DROP TABLE plans");
    let owner: String = diesel::select(diesel::dsl::sql::<diesel::sql_types::Text>(
        "(SELECT tableowner::text FROM pg_tables WHERE tablename = 'plans')",
    ))
    .get_result(&mut app)
    .unwrap();
    let migrator = url::Url::parse(&db.migrator_url)
        .unwrap()
        .username()
        .to_owned();
    assert_eq!(owner, migrator);
}

#[test]
fn serve_on_sqlite_migrates_itself() {
    if common::on_postgres() {
        eprintln!("skipped: SQLite only");
        return;
    }
    let db = TestDatabase::new();
    let state = whatsdex::server::prepare(db.config(), false).expect("prepare");
    drop(state);
    let mut conn = db.app_connection();
    assert!(
        whatsdex::db::migrations::pending_without_ddl(&mut conn)
            .unwrap()
            .is_empty()
    );
}
