//! One instance per bot, proven with two real `whatsdex serve` processes on one database:
//! only one runs the bot, and when it dies the other takes over within 30 s.

use std::time::{Duration, Instant};

use chrono::Utc;
use diesel::prelude::*;
use whatsdex::db::RowScope;
use whatsdex::db::schema::{bots, tenants};

use crate::common::TestDatabase;
use crate::process::Server;

fn running_on(db: &TestDatabase) -> Option<String> {
    let mut conn = db.app_connection();
    // A system-scoped read, as the supervisor does (row-level security on PostgreSQL).
    conn.transaction(|conn| {
        if let whatsdex::db::DbConn::Pg(pg) = conn {
            diesel::sql_query("SELECT set_config('app.scope', 'system', true)").execute(pg)?;
        }
        bots::table
            .select(bots::running_on)
            .first::<Option<String>>(conn)
    })
    .unwrap()
}

fn wait_until(what: &str, limit: Duration, mut probe: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !probe() {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    started.elapsed()
}

#[test]
fn a_bot_runs_on_one_instance_and_moves_when_it_dies() {
    let db = TestDatabase::new();
    let state = db.prepared_state();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(state.db.run_in(
        RowScope::across_tenants("test set-up reads and writes any row"),
        |conn| {
            let now = Utc::now().naive_utc();
            diesel::insert_into(tenants::table)
                .values((
                    tenants::id.eq("t1"),
                    tenants::name.eq("Lease test"),
                    tenants::created_at.eq(now),
                    tenants::updated_at.eq(now),
                ))
                .execute(conn)?;
            diesel::insert_into(bots::table)
                .values((
                    bots::id.eq("b1"),
                    bots::tenant_id.eq("t1"),
                    bots::name.eq("Leased bot"),
                    bots::transport.eq("sandbox"),
                    bots::status.eq("connected"),
                    bots::owner_number.eq("447700900123"),
                    bots::paired_at.eq(now),
                    bots::created_at.eq(now),
                    bots::updated_at.eq(now),
                ))
                .execute(conn)
        },
    ))
    .unwrap();
    drop(state);

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
