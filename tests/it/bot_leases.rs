//! One instance per bot, proven with two real `whatsdex serve` processes on one database:
//! only one runs the bot, and when it dies the other takes over within 30 s.

use std::time::Duration;

use diesel::prelude::*;
use whatsdex::db::schema::bots;

use crate::common::{TestDatabase, wait_until};
use crate::process::Server;

fn running_on(db: &TestDatabase) -> Option<String> {
    db.query_across_tenants(|conn| {
        bots::table
            .select(bots::running_on)
            .first::<Option<String>>(conn)
    })
}

#[test]
fn a_bot_runs_on_one_instance_and_moves_when_it_dies() {
    let db = TestDatabase::new();
    db.with_paired_bot();

    // Each instance is named by the platform here (INSTANCE_ID), so the test can tell them apart.
    let mut first = Server::start_with(&db, &[("INSTANCE_ID", "first")]);
    let first_name = "first".to_owned();
    wait_until(
        "the first instance takes the bot",
        Duration::from_secs(15),
        || running_on(&db).is_some_and(|holder| holder == first_name),
    );

    let second = Server::start_with(&db, &[("INSTANCE_ID", "second")]);
    let second_name = "second".to_owned();
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        running_on(&db).is_some_and(|holder| holder == first_name),
        "the second instance must not run a bot the first one holds: {:?} (first {first_name}, second {second_name})",
        running_on(&db)
    );

    // The first instance dies without a chance to let go.
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    let took = wait_until(
        "the second instance takes over",
        Duration::from_secs(30),
        || running_on(&db).is_some_and(|holder| holder == second_name),
    );
    eprintln!("takeover after {took:?}");
    drop(second);
}
