//! `whatsdex admin create`: platform admins come from the command line only.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use diesel::prelude::*;
use whatsdex::db::schema::users;

use crate::common::TestDatabase;

fn admin_create(db: &TestDatabase, email: &str, stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_whatsdex"))
        .args(["admin", "create", "--email", email])
        .env_clear()
        .envs(db.env())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    child.wait_with_output().unwrap()
}

fn admin_flag(db: &TestDatabase, email: &'static str) -> Option<(bool, String)> {
    users::table
        .filter(users::email.eq(email))
        .select((users::is_platform_admin, users::password_hash))
        .first(&mut db.app_connection())
        .optional()
        .unwrap()
}

#[test]
fn creates_an_admin_with_a_password_from_stdin_then_reports_it_exists() {
    let db = TestDatabase::new();
    drop(db.prepared_state());
    let output = admin_create(&db, "Root@Example.com", Some("sturdy lantern meadow 31\n"));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("created a platform admin"));
    let (is_admin, hash) = admin_flag(&db, "root@example.com").unwrap();
    assert!(is_admin);
    assert!(whatsdex::accounts::password::verify(
        "sturdy lantern meadow 31",
        &hash
    ));

    let again = admin_create(&db, "root@example.com", None);
    assert!(String::from_utf8_lossy(&again.stdout).contains("already a platform admin"));
}

#[test]
fn refuses_a_missing_or_weak_password_and_creates_nothing() {
    let db = TestDatabase::new();
    drop(db.prepared_state());
    let no_stdin = admin_create(&db, "root@example.com", None);
    assert!(!no_stdin.status.success());
    assert!(String::from_utf8_lossy(&no_stdin.stderr).contains("no password given"));
    let weak = admin_create(&db, "root@example.com", Some("password1\n"));
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("password refused"));
    assert!(admin_flag(&db, "root@example.com").is_none());
}

#[test]
fn promotes_an_existing_account_without_asking_for_a_password() {
    let db = TestDatabase::new();
    drop(db.prepared_state());
    let mut conn = db.app_connection();
    whatsdex::accounts::platform_admins::create_or_promote(
        &mut conn,
        "ana@example.com",
        Some("sturdy lantern meadow 31"),
    )
    .unwrap();
    diesel::update(users::table)
        .set(users::is_platform_admin.eq(false))
        .execute(&mut conn)
        .unwrap();
    let output = admin_create(&db, "ana@example.com", None);
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("promoted"),
        "{output:?}"
    );
    assert!(admin_flag(&db, "ana@example.com").unwrap().0);
}
