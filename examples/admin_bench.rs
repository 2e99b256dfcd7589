//! Admin dashboard benchmark (see bench/README.md): server time of the admin pages over a
//! PostgreSQL database holding N tenants and M messages.
//!
//! cargo run --release --example admin_bench -- --owner-url postgres://OWNER@127.0.0.1/DB \
//!     --app-url postgres://APP@127.0.0.1/DB [--tenants 10000] [--messages 10000000] [--runs 50]
//!
//! The owner URL migrates and seeds (bench/admin_seed.sql, skipped when the tenants are there
//! already); the app URL is what the pages run as (row-level security applies, as in
//! production). Each page is requested through the real app factory (session lookup,
//! queries, charts, template) and timed from request to the last byte of the body.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use actix_web::http::header;
use actix_web::test::{self, TestRequest};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use whatsdex::db::schema::tenants;
use whatsdex::tenants::audit::ClientInfo;

const SEED: &str = include_str!("../bench/admin_seed.sql");
const ADMIN_EMAIL: &str = "bench-admin@example.com";

fn arg(args: &HashMap<String, String>, name: &str, default: &str) -> String {
    args.get(name)
        .cloned()
        .unwrap_or_else(|| default.to_owned())
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

/// (median, p95, max) in ms, nearest-rank.
fn summary(mut times: Vec<f64>) -> (f64, f64, f64) {
    times.sort_by(f64::total_cmp);
    let n = times.len();
    let p95 = times[((n as f64 * 0.95).ceil() as usize).clamp(1, n) - 1];
    (times[(n - 1) / 2], p95, times[n - 1])
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    let args: HashMap<String, String> = raw
        .chunks(2)
        .filter_map(|pair| {
            Some((
                pair.first()?.trim_start_matches("--").to_owned(),
                pair.get(1)?.clone(),
            ))
        })
        .collect();
    let owner_url = args
        .get("owner-url")
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("--owner-url postgres://… is required"))?;
    let app_url = arg(&args, "app-url", &owner_url);
    let tenant_count: i64 = arg(&args, "tenants", "10000").parse()?;
    let message_count: i64 = arg(&args, "messages", "10000000").parse()?;
    let runs: usize = arg(&args, "runs", "50").parse()?;

    let dir = tempfile::tempdir()?;
    let env: HashMap<&str, String> = HashMap::from([
        ("DATABASE_URL", app_url),
        ("MIGRATION_DATABASE_URL", owner_url.clone()),
        ("DATA_DIR", dir.path().display().to_string()),
        (
            "ENCRYPTION_KEY",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".to_owned(),
        ),
    ]);
    let config = whatsdex::config::Config::from_lookup(|name| env.get(name).cloned())?;
    let state = whatsdex::server::prepare(config, true)?;

    let mut owner = PgConnection::establish(&owner_url)?;
    let present: i64 = tenants::table.count().get_result(&mut owner)?;
    if present < tenant_count {
        println!("seeding {tenant_count} tenants and {message_count} messages …");
        let started = Instant::now();
        let sql = SEED
            .replace(":tenants", &tenant_count.to_string())
            .replace(":messages", &message_count.to_string());
        owner.batch_execute(&sql)?;
        println!("seeded in {:.0} s", started.elapsed().as_secs_f64());
    }
    let messages: i64 = diesel::sql_query("SELECT count(*) AS n FROM messages")
        .get_result::<Count>(&mut owner)?
        .n;
    let rollups: i64 = diesel::sql_query("SELECT count(*) AS n FROM message_rollups")
        .get_result::<Count>(&mut owner)?
        .n;
    let tenants_now: i64 = tenants::table.count().get_result(&mut owner)?;
    println!("database: {tenants_now} tenants, {messages} messages, {rollups} roll-up rows");

    let admin_id = state
        .db
        .run(|conn| {
            whatsdex::accounts::platform_admins::create_or_promote(
                conn,
                ADMIN_EMAIL,
                Some("bench lantern meadow 2026"),
            )
            .map_err(|e| diesel::result::Error::QueryBuilderError(e.into()))?;
            whatsdex::accounts::users::find_by_email(conn, ADMIN_EMAIL)
        })
        .await?
        .ok_or_else(|| anyhow::anyhow!("admin missing"))?
        .id;
    let (token, _) =
        whatsdex::accounts::sessions::start(&state, &admin_id, None, false, &ClientInfo::default())
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    let app = test::init_service(whatsdex::web::app(state.clone())).await;

    println!("page                          runs  median ms  p95 ms  max ms");
    for path in [
        "/admin/metrics",
        "/admin/tenants",
        "/admin/tenants?q=tenant%2099",
        "/admin/tenants/bench-t1",
    ] {
        let mut times = Vec::with_capacity(runs);
        for run in 0..runs + 3 {
            let request = TestRequest::get()
                .uri(path)
                .insert_header((header::COOKIE, format!("wdx_session={token}")))
                .to_request();
            let started = Instant::now();
            let response = test::call_service(&app, request).await;
            let status = response.status();
            let body = test::read_body(response).await;
            let took = started.elapsed();
            anyhow::ensure!(status.is_success(), "{path}: {status}");
            anyhow::ensure!(!body.is_empty(), "{path}: empty body");
            if run >= 3 {
                times.push(millis(took));
            }
        }
        let (median, p95, max) = summary(times);
        println!("{path:<30}{runs:>5}{median:>11.1}{p95:>8.1}{max:>8.1}");
    }
    Ok(())
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}
