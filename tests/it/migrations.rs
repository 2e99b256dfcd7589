//! Migrations on the run's backend: apply, no-op twice, up → down → up, and the seed.

use diesel::prelude::*;
use diesel_migrations::MigrationHarness;
use whatsdex::billing::plans;
use whatsdex::commands;
use whatsdex::db::{DbConn, migrations};

use crate::common::TestDatabase;

fn migrator_connection(db: &TestDatabase) -> DbConn {
    whatsdex::db::establish(db.config().migration_url()).expect("migrator connection")
}

fn revert_all(conn: &mut DbConn) {
    match conn {
        DbConn::Pg(c) => c.revert_all_migrations(migrations::POSTGRES).map(drop),
        DbConn::Sqlite(c) => c.revert_all_migrations(migrations::SQLITE).map(drop),
    }
    .expect("revert all migrations");
}

#[test]
fn migrating_twice_applies_nothing_the_second_time() {
    let db = TestDatabase::new();
    let mut conn = migrator_connection(&db);
    let embedded: Vec<String> = migrations::embedded(&conn)
        .into_iter()
        .map(|m| m.name)
        .collect();
    assert_eq!(
        migrations::pending_without_ddl(&mut conn).unwrap(),
        embedded
    );
    assert_eq!(commands::apply_migrations(&mut conn).unwrap(), embedded);
    assert!(commands::apply_migrations(&mut conn).unwrap().is_empty());
    assert!(
        migrations::pending_without_ddl(&mut conn)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn migrations_go_up_down_and_up_again() {
    let db = TestDatabase::new();
    let mut conn = migrator_connection(&db);
    commands::apply_migrations(&mut conn).unwrap();
    revert_all(&mut conn);
    assert!(
        plans::list(&mut conn).is_err(),
        "after reverting everything the plans table is gone"
    );
    let again = commands::apply_migrations(&mut conn).unwrap();
    assert_eq!(again.len(), migrations::embedded(&conn).len());
    commands::seed_catalogue(&mut conn).unwrap();
    assert_eq!(plans::list(&mut conn).unwrap().len(), 4);
}

#[test]
fn seeding_twice_changes_nothing_and_repairs_drift() {
    use whatsdex::db::schema::plans as p;
    let db = TestDatabase::new();
    let mut conn = migrator_connection(&db);
    commands::apply_migrations(&mut conn).unwrap();

    let first = commands::seed_catalogue(&mut conn).unwrap();
    assert_eq!((first.inserted, first.updated, first.unchanged), (4, 0, 0));
    let stamps: Vec<_> = plans::list(&mut conn)
        .unwrap()
        .into_iter()
        .map(|p| p.updated_at)
        .collect();

    let second = commands::seed_catalogue(&mut conn).unwrap();
    assert_eq!(
        (second.inserted, second.updated, second.unchanged),
        (0, 0, 4)
    );
    let again: Vec<_> = plans::list(&mut conn)
        .unwrap()
        .into_iter()
        .map(|p| p.updated_at)
        .collect();
    assert_eq!(stamps, again, "an unchanged plan is not rewritten");

    // Someone edited a price by hand: the next seed puts the shipped catalogue back.
    diesel::update(p::table.find("pro"))
        .set(p::monthly_price_cents.eq(1))
        .execute(&mut conn)
        .unwrap();
    let third = commands::seed_catalogue(&mut conn).unwrap();
    assert_eq!((third.inserted, third.updated, third.unchanged), (0, 1, 3));
    let pro = plans::list(&mut conn)
        .unwrap()
        .into_iter()
        .find(|p| p.id == "pro")
        .unwrap();
    assert_eq!(pro.monthly_price_cents, 4_900);
}

#[test]
fn plans_are_listed_cheapest_first() {
    let db = TestDatabase::new();
    let _state = db.prepared_state();
    let listed = plans::list(&mut db.app_connection()).unwrap();
    let ids: Vec<_> = listed.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["free", "starter", "pro", "business"]);
    assert!(
        listed
            .windows(2)
            .all(|w| w[0].monthly_price_cents < w[1].monthly_price_cents)
    );
}
