//! Bot runtime benchmark (see bench/README.md):
//! 1. N paired sandbox bots supervised in one process: time until every one runs and is
//!    connected, and resident memory per bot;
//! 2. inbound messages per second through the pipeline (store with dedup, contact upsert,
//!    route, outbox), half of them `ping` so that half queue a reply.
//!
//! cargo run --release --example bots_bench -- [--bots 10000] [--messages 20000]
//!     [--concurrency 8] [--database-url postgres://…]   (default: SQLite in a temp folder)

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::Utc;
use diesel::prelude::*;
use whatsdex::bots::pipeline;
use whatsdex::bots::transport::InboundMessage;
use whatsdex::db::RowScope;
use whatsdex::db::schema::{bots, tenants};

fn arg(args: &HashMap<String, String>, name: &str, default: &str) -> String {
    args.get(name)
        .cloned()
        .unwrap_or_else(|| default.to_owned())
}

/// Resident set size of this process, in KiB.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::main]
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
    let bot_count: usize = arg(&args, "bots", "10000").parse()?;
    let message_count: usize = arg(&args, "messages", "20000").parse()?;
    let concurrency: usize = arg(&args, "concurrency", "8").parse()?;

    let dir = tempfile::tempdir()?;
    let data_dir = dir.path().display().to_string();
    let database_url = args
        .get("database-url")
        .cloned()
        .unwrap_or_else(|| format!("sqlite://{data_dir}/bench.db"));
    let env: HashMap<&str, String> = HashMap::from([
        ("DATABASE_URL", database_url.clone()),
        ("DATA_DIR", data_dir.clone()),
        (
            "ENCRYPTION_KEY",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".to_owned(),
        ),
        ("DATABASE_POOL_SIZE", (concurrency + 4).to_string()),
    ]);
    let config = whatsdex::config::Config::from_lookup(|name| env.get(name).cloned())?;
    let backend = if database_url.starts_with("postgres") {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let state = whatsdex::server::prepare(config, true)?;

    // N paired sandbox bots in one workspace.
    let now = Utc::now().naive_utc();
    state
        .db
        .run_in(
            RowScope::across_tenants("the benchmark seeds and reads every workspace"),
            move |conn| {
                diesel::insert_into(tenants::table)
                    .values((
                        tenants::id.eq("bench"),
                        tenants::name.eq("Bench"),
                        tenants::created_at.eq(now),
                        tenants::updated_at.eq(now),
                    ))
                    .execute(conn)?;
                for i in 0..bot_count {
                    diesel::insert_into(bots::table)
                        .values((
                            bots::id.eq(format!("bot-{i:06}")),
                            bots::tenant_id.eq("bench"),
                            bots::name.eq(format!("Bot {i}")),
                            bots::transport.eq("sandbox"),
                            bots::status.eq("connected"),
                            bots::owner_number.eq(format!("44770{i:07}")),
                            bots::paired_at.eq(now),
                            bots::created_at.eq(now),
                            bots::updated_at.eq(now),
                        ))
                        .execute(conn)?;
                }
                Ok(())
            },
        )
        .await?;

    let rss_before = rss_kib();
    let started = Instant::now();
    state.bots.start_all().await?;
    let deadline = started + Duration::from_secs(600);
    loop {
        let running: i64 = state
            .db
            .run_in(
                RowScope::across_tenants("the benchmark seeds and reads every workspace"),
                |conn| {
                    bots::table
                        .filter(bots::running_on.is_not_null())
                        .filter(bots::status.eq("connected"))
                        .count()
                        .get_result(conn)
                },
            )
            .await?;
        if running as usize == bot_count && state.bots.running_count() == bot_count {
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "only {running} of {bot_count} bots running after 10 min"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let start_time = started.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_after = rss_kib();
    let per_bot_kib = (rss_after.saturating_sub(rss_before)) as f64 / bot_count as f64;

    // Pipeline throughput: messages from 1,000 contacts to 100 of the bots.
    let bot_rows: Vec<whatsdex::bots::Bot> = state
        .db
        .run_in(
            RowScope::across_tenants("the benchmark seeds and reads every workspace"),
            |conn| {
                bots::table
                    .limit(100)
                    .select(whatsdex::bots::Bot::as_select())
                    .load(conn)
            },
        )
        .await?;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..concurrency {
        let (db, meter, live, bot_rows) = (
            state.db.clone(),
            state.bots.meter().clone(),
            state.live.clone(),
            bot_rows.clone(),
        );
        tasks.spawn(async move {
            let mut i = worker;
            while i < message_count {
                let bot = &bot_rows[i % bot_rows.len()];
                let message = InboundMessage {
                    extras: Default::default(),
                    id: format!("BENCH-{i}"),
                    from: format!("35191{:07}", i % 1000),
                    from_name: None,
                    text: if i % 2 == 0 {
                        "ping".into()
                    } else {
                        "hello there".into()
                    },
                };
                let engine = pipeline::Engine {
                    db: &db,
                    meter: &meter,
                    live: &live,
                    base_url: "http://localhost:8080",
                };
                pipeline::handle_inbound(engine, bot, message).await?;
                i += concurrency;
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    let pipeline_time = started.elapsed();
    let per_second = message_count as f64 / pipeline_time.as_secs_f64();

    state.bots.shutdown(Duration::from_secs(30)).await;
    println!(
        "| backend | bots | time to run all | RSS before | RSS after | RSS per bot | messages | concurrency | pipeline msgs/s |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {backend} | {bot_count} | {:.2} s | {:.1} MiB | {:.1} MiB | {per_bot_kib:.1} KiB | {message_count} | {concurrency} | {per_second:.0} |",
        start_time.as_secs_f64(),
        rss_before as f64 / 1024.0,
        rss_after as f64 / 1024.0,
    );
    Ok(())
}
