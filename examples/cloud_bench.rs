//! Cloud API webhook benchmark (see bench/README.md): signed Meta deliveries sent to the real
//! server (`whatsdex::server::serve`, release build) by an open-loop generator at fixed
//! rates, so queueing shows in the latency instead of slowing the sender down.
//!
//! For each rate it reports the deliveries acknowledged per second and the time to
//! acknowledge (p50, p99, max; measured from when each request was due, not when it was
//! sent), then the messages per second fully processed: stored, routed, and the reply queued
//! in the outbox, counted from the first request until the last delivery is processed.
//!
//! cargo run --release --example cloud_bench -- [--rates 250,500,1000] [--seconds 10]
//!     [--bots 10] [--pool-size N] [--database-url postgres://APP@…/DB --migration-url postgres://OWNER@…/DB]
//!
//! Without `--database-url` it runs on SQLite in a temporary folder. Replies go to a minimal
//! Graph API stand-in inside this process, which answers every send at once.

use std::collections::HashMap;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use actix_web::{App, HttpResponse, HttpServer, web};
use chrono::Utc;
use diesel::prelude::*;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use whatsdex::bots::transport::cloud_api::connection::{self, NewConnection};
use whatsdex::bots::transport::cloud_api::graph::PhoneNumber;
use whatsdex::db::RowScope;
use whatsdex::db::schema::{bots, outbox, subscriptions, tenants, webhook_deliveries};

const APP_SECRET: &str = "bench-app-secret-0123456789abcdef";
const TOKEN: &str = "EAAGbenchTOKEN0123456789";
const ACROSS: &str = "the benchmark seeds and reads every workspace";

fn arg(args: &HashMap<String, String>, name: &str, default: &str) -> String {
    args.get(name)
        .cloned()
        .unwrap_or_else(|| default.to_owned())
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn sign(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(APP_SECRET.as_bytes()).expect("any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// One delivery with one `ping` from a customer, as Meta sends it.
fn delivery(phone_number_id: &str, wamid: &str, from: &str) -> Vec<u8> {
    serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{
            "id": "102290129340398",
            "changes": [{
                "field": "messages",
                "value": {
                    "messaging_product": "whatsapp",
                    "metadata": {"display_phone_number": "15550100100", "phone_number_id": phone_number_id},
                    "contacts": [{"profile": {"name": "Bench Customer"}, "wa_id": from}],
                    "messages": [{
                        "from": from, "id": wamid, "timestamp": Utc::now().timestamp().to_string(),
                        "type": "text", "text": {"body": "ping"}
                    }]
                }
            }]
        }]
    })
    .to_string()
    .into_bytes()
}

/// The Graph API's answer to a send, and nothing else.
async fn fake_graph() -> anyhow::Result<String> {
    let port = free_port()?;
    let server = HttpServer::new(|| {
        App::new().default_service(web::to(|| async {
            HttpResponse::Ok().json(serde_json::json!({
                "messaging_product": "whatsapp",
                "contacts": [{"input": "1", "wa_id": "1"}],
                "messages": [{"id": format!("wamid.bench.{}", uuid::Uuid::new_v4())}]
            }))
        }))
    })
    .workers(1)
    .bind(("127.0.0.1", port))?
    .run();
    tokio::spawn(server);
    Ok(format!("http://127.0.0.1:{port}"))
}

/// Nearest-rank percentile of sorted milliseconds.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    sorted[((n as f64 * p).ceil() as usize).clamp(1, n) - 1]
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
    let rates: Vec<u32> = arg(&args, "rates", "250,500,1000")
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let seconds: u32 = arg(&args, "seconds", "10").parse()?;
    let bot_count: usize = arg(&args, "bots", "10").parse()?;
    let pool_size = args.get("pool-size").cloned();

    let dir = tempfile::tempdir()?;
    let data_dir = dir.path().display().to_string();
    let database_url = arg(
        &args,
        "database-url",
        &format!("sqlite://{data_dir}/bench.db"),
    );
    let migration_url = arg(&args, "migration-url", &database_url);
    let backend = if database_url.starts_with("postgres") {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let port = free_port()?;
    let base_url = format!("http://127.0.0.1:{port}");
    let mut env: HashMap<&str, String> = HashMap::from([
        ("DATABASE_URL", database_url.clone()),
        ("MIGRATION_DATABASE_URL", migration_url),
        ("DATA_DIR", data_dir.clone()),
        ("HOST", "127.0.0.1".to_owned()),
        ("PORT", port.to_string()),
        ("APP_BASE_URL", base_url.clone()),
        ("META_GRAPH_URL", fake_graph().await?),
        (
            "ENCRYPTION_KEY",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".to_owned(),
        ),
    ]);
    if let Some(size) = pool_size {
        env.insert("DATABASE_POOL_SIZE", size);
    }
    let config = whatsdex::config::Config::from_lookup(|name| env.get(name).cloned())?;
    let state = whatsdex::server::prepare(config, true)?;

    // One workspace on the Business plan (no quota in the way) with N connected Cloud API bots.
    let key = state.encryption_key.clone();
    let keys: Vec<(String, String)> = state
        .db
        .run_in(RowScope::across_tenants(ACROSS), move |conn| {
            let now = Utc::now().naive_utc();
            diesel::insert_into(tenants::table)
                .values((
                    tenants::id.eq("bench"),
                    tenants::name.eq("Bench"),
                    tenants::created_at.eq(now),
                    tenants::updated_at.eq(now),
                ))
                .execute(conn)?;
            diesel::insert_into(subscriptions::table)
                .values((
                    subscriptions::tenant_id.eq("bench"),
                    subscriptions::plan_id.eq("business"),
                    subscriptions::status.eq("active"),
                    subscriptions::created_at.eq(now),
                    subscriptions::updated_at.eq(now),
                ))
                .execute(conn)?;
            let mut keys = Vec::new();
            for i in 0..bot_count {
                let bot_id = format!("bot-{i:04}");
                let phone_number_id = format!("10654035224{i:04}");
                diesel::insert_into(bots::table)
                    .values((
                        bots::id.eq(&bot_id),
                        bots::tenant_id.eq("bench"),
                        bots::name.eq(format!("Bot {i}")),
                        bots::transport.eq("cloud"),
                        bots::status.eq("connected"),
                        bots::owner_number.eq(format!("1555010{i:04}")),
                        bots::paired_at.eq(now),
                        bots::created_at.eq(now),
                        bots::updated_at.eq(now),
                    ))
                    .execute(conn)?;
                let new = NewConnection {
                    phone_number_id: phone_number_id.clone(),
                    waba_id: "102290129340398".into(),
                    access_token: TOKEN.into(),
                    app_secret: APP_SECRET.into(),
                    number: PhoneNumber {
                        verified_name: format!("Bench {i}"),
                        display_phone_number: format!("+1 555-010-{i:04}"),
                        quality_rating: Some("GREEN".into()),
                    },
                };
                let saved = connection::save_in(conn, &key, "bench", &bot_id, &new)?;
                keys.push((saved.webhook_key, phone_number_id));
            }
            Ok(keys)
        })
        .await?;

    let server = tokio::spawn(whatsdex::server::serve(state.clone()));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(512)
        .build()?;
    for _ in 0..200 {
        if client
            .get(format!("{base_url}/api/health"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    println!(
        "| backend | bots | offered/s | sent | acknowledged | ack/s | ack p50 ms | ack p99 ms | ack max ms | processed msgs/s | drained after |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let mut sent_before = 0usize;
    for rate in rates {
        let count = (rate * seconds) as usize;
        // Bodies are built and signed before the clock starts.
        let requests: Vec<(String, Vec<u8>, String)> = (0..count)
            .map(|i| {
                let n = sent_before + i;
                let (webhook_key, phone_number_id) = &keys[n % keys.len()];
                let body = delivery(
                    phone_number_id,
                    &format!("wamid.BENCH{n:09}"),
                    &format!("35191{:07}", n % 5000),
                );
                let signature = sign(&body);
                (
                    format!("{base_url}/webhooks/whatsapp/{webhook_key}"),
                    body,
                    signature,
                )
            })
            .collect();
        let interval = Duration::from_secs_f64(1.0 / f64::from(rate));
        let started = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for (i, (url, body, signature)) in requests.into_iter().enumerate() {
            let due = started + interval * i as u32;
            tokio::time::sleep_until(due.into()).await;
            let client = client.clone();
            tasks.spawn(async move {
                let ok = client
                    .post(url)
                    .header("content-type", "application/json")
                    .header("x-hub-signature-256", signature)
                    .body(body)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success());
                (ok, due.elapsed(), Instant::now())
            });
        }
        let mut latencies = Vec::with_capacity(count);
        let mut acknowledged = 0usize;
        let mut last_ack = started;
        while let Some(done) = tasks.join_next().await {
            let (ok, latency, at) = done?;
            if ok {
                acknowledged += 1;
                latencies.push(latency.as_secs_f64() * 1000.0);
                last_ack = last_ack.max(at);
            }
        }
        let ack_window = last_ack.duration_since(started);
        sent_before += count;
        let expected = sent_before as i64;

        // Processed: every delivery read, its message stored and routed, its reply queued.
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            let (processed, queued): (i64, i64) = state
                .db
                .run_in(RowScope::across_tenants(ACROSS), |conn| {
                    let processed = webhook_deliveries::table
                        .filter(webhook_deliveries::processed_at.is_not_null())
                        .count()
                        .get_result(conn)?;
                    let queued = outbox::table.count().get_result(conn)?;
                    Ok((processed, queued))
                })
                .await?;
            if processed >= expected && queued >= expected {
                break;
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "only {processed} of {expected} deliveries processed after 10 min"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let processed_in = started.elapsed();
        latencies.sort_by(f64::total_cmp);
        let (p50, p99, max) = if latencies.is_empty() {
            (0.0, 0.0, 0.0)
        } else {
            (
                percentile(&latencies, 0.50),
                percentile(&latencies, 0.99),
                percentile(&latencies, 1.0),
            )
        };
        println!(
            "| {backend} | {bot_count} | {rate} | {count} | {acknowledged} | {:.0} | {p50:.1} | {p99:.1} | {max:.1} | {:.0} | {:.2} s |",
            acknowledged as f64 / ack_window.as_secs_f64().max(1e-9),
            count as f64 / processed_in.as_secs_f64(),
            processed_in.saturating_sub(ack_window).as_secs_f64(),
        );
    }
    server.abort();
    state.bots.shutdown(Duration::from_secs(10)).await;
    Ok(())
}
