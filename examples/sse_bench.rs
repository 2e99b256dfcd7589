//! Live inbox benchmark (see bench/README.md): the real server (`whatsdex::server::serve`,
//! release build), one workspace with a sandbox bot and a conversation, N open
//! `/inbox/events?thread=…` streams with the owner's session cookie, then customer messages
//! stored through the pipeline at a fixed rate.
//!
//! For each message it measures, from the moment its event is handed to the bus (just before
//! `Live::publish`), the time until each stream received it; it reports p50/p95/p99/max of
//! those per-stream times and of the time until the last stream had it.
//!
//! cargo run --release --example sse_bench -- [--streams 1000] [--rate 10] [--seconds 20]
//!     [--pg-admin-url postgres://postgres@…/postgres --pg-migrator-url postgres://OWNER:…@…
//!      --pg-app-url postgres://APP:…@… --redis-url redis://127.0.0.1:6379]
//!
//! Without the PostgreSQL URLs it runs on SQLite in a temporary folder. With them it creates a
//! database of its own (dropped at the end) and uses Redis with a key prefix of its own (its
//! keys deleted at the end). 1,000 streams need about 2,100 open files (`ulimit -n 4096`).

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use whatsdex::bots::pipeline::{self, Engine};
use whatsdex::bots::transport::InboundMessage;
use whatsdex::db::RowScope;
use whatsdex::db::schema::{bots, tenants, threads};
use whatsdex::live::{Heard, Live};

const ACROSS: &str = "the benchmark seeds and reads every workspace";
const PASSWORD: &str = "violet kettle harbour 1987";

fn arg(args: &HashMap<String, String>, name: &str, default: &str) -> String {
    args.get(name)
        .cloned()
        .unwrap_or_else(|| default.to_owned())
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn with_database(url: &str, database: &str) -> anyhow::Result<String> {
    let mut url = url::Url::parse(url)?;
    url.set_path(&format!("/{database}"));
    Ok(url.to_string())
}

/// A PostgreSQL database for this run, set up as an operator would; dropped on drop.
struct PgDatabase {
    admin_url: String,
    name: String,
}

impl PgDatabase {
    fn create(admin_url: &str, migrator_url: &str, app_url: &str) -> anyhow::Result<Self> {
        let name = format!("wdx_sse_bench_{:08x}", rand::random::<u32>());
        let migrator = url::Url::parse(migrator_url)?.username().to_owned();
        let app = url::Url::parse(app_url)?.username().to_owned();
        let mut admin = PgConnection::establish(admin_url)?;
        admin.batch_execute(&format!("CREATE DATABASE \"{name}\" OWNER \"{migrator}\""))?;
        let db = Self {
            admin_url: admin_url.to_owned(),
            name,
        };
        let mut inside = PgConnection::establish(&with_database(admin_url, &db.name)?)?;
        inside.batch_execute(&format!(
            "REVOKE CREATE ON SCHEMA public FROM PUBLIC;
             GRANT USAGE ON SCHEMA public TO \"{app}\";
             GRANT CREATE ON SCHEMA public TO \"{migrator}\";"
        ))?;
        Ok(db)
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let dropped = PgConnection::establish(&self.admin_url).and_then(|mut admin| {
            admin
                .batch_execute(&format!(
                    "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                    self.name
                ))
                .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))
        });
        if let Err(e) = dropped {
            eprintln!("could not drop {}: {e}", self.name);
        }
    }
}

/// The `name=value` of a `Set-Cookie` named `name`.
fn cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
}

/// Sign up through the real pages; the session's cookie header.
async fn sign_up(client: &reqwest::Client, base_url: &str) -> anyhow::Result<String> {
    let login = client.get(format!("{base_url}/login")).send().await?;
    let csrf = cookie(&login, "wdx_csrf").ok_or_else(|| anyhow::anyhow!("no CSRF cookie"))?;
    let token = csrf.trim_start_matches("wdx_csrf=").to_owned();
    let signed_up = client
        .post(format!("{base_url}/signup"))
        .header(reqwest::header::COOKIE, &csrf)
        .header(reqwest::header::ORIGIN, base_url)
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(
            url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs([
                    ("csrf_token", token.as_str()),
                    ("name", "Bench"),
                    ("email", "bench@example.com"),
                    ("password", PASSWORD),
                    ("workspace_name", "Bench"),
                ])
                .finish(),
        )
        .send()
        .await?;
    let session = cookie(&signed_up, "wdx_session")
        .ok_or_else(|| anyhow::anyhow!("sign-up failed: {}", signed_up.status()))?;
    Ok(format!("{csrf}; {session}"))
}

fn message(n: usize) -> InboundMessage {
    InboundMessage {
        extras: Default::default(),
        id: format!("BENCH{n:06}"),
        from: "351912345678".into(),
        from_name: Some("Bench customer".into()),
        text: format!("bench message {n}"),
    }
}

/// Read one stream until `until`; when each event id arrived.
async fn listen(response: reqwest::Response, until: tokio::time::Instant) -> Vec<(i64, Instant)> {
    let mut response = response;
    let mut heard = Vec::new();
    let mut buffer = String::new();
    while let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(until, response.chunk()).await {
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let frame: String = buffer.drain(..end + 2).collect();
            let id = frame.lines().find_map(|l| l.strip_prefix("id: "));
            if let Some(Ok(seq)) = id.map(|id| id.trim().parse()) {
                heard.push((seq, Instant::now()));
            }
        }
    }
    heard
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
    let streams: usize = arg(&args, "streams", "1000").parse()?;
    let rate: u32 = arg(&args, "rate", "10").parse()?;
    let seconds: u32 = arg(&args, "seconds", "20").parse()?;

    let dir = tempfile::tempdir()?;
    let data_dir = dir.path().display().to_string();
    let port = free_port()?;
    let base_url = format!("http://127.0.0.1:{port}");
    let mut env: HashMap<&str, String> = HashMap::from([
        ("DATA_DIR", data_dir.clone()),
        ("HOST", "127.0.0.1".to_owned()),
        ("PORT", port.to_string()),
        ("APP_BASE_URL", base_url.clone()),
        ("LOG_LEVEL", "warn".to_owned()),
        (
            "ENCRYPTION_KEY",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".to_owned(),
        ),
    ]);
    let mut pg = None;
    let backend = if let Some(admin) = args.get("pg-admin-url") {
        let migrator = arg(&args, "pg-migrator-url", "");
        let app = arg(&args, "pg-app-url", "");
        let db = PgDatabase::create(admin, &migrator, &app)?;
        env.insert("DATABASE_URL", with_database(&app, &db.name)?);
        env.insert(
            "MIGRATION_DATABASE_URL",
            with_database(&migrator, &db.name)?,
        );
        pg = Some(db);
        "PostgreSQL"
    } else {
        env.insert("DATABASE_URL", format!("sqlite://{data_dir}/bench.db"));
        "SQLite"
    };
    let prefix = format!("wdx_sse_bench_{:08x}:", rand::random::<u32>());
    let redis_url = args.get("redis-url").cloned();
    if let Some(url) = &redis_url {
        env.insert("REDIS_URL", url.clone());
        env.insert("REDIS_KEY_PREFIX", prefix.clone());
    }
    let result = run(env, backend, &base_url, streams, rate, seconds).await;
    if let Some(url) = &redis_url {
        // Sessions, CSRF throttles and the like: everything under our prefix goes.
        let client = redis::Client::open(url.as_str())?;
        let mut conn = client.get_multiplexed_async_connection().await?;
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{prefix}*"))
            .query_async(&mut conn)
            .await?;
        if !keys.is_empty() {
            let _: i64 = redis::cmd("DEL").arg(&keys).query_async(&mut conn).await?;
        }
    }
    drop(pg);
    drop(dir);
    result
}

async fn run(
    env: HashMap<&str, String>,
    backend: &str,
    base_url: &str,
    streams: usize,
    rate: u32,
    seconds: u32,
) -> anyhow::Result<()> {
    let config = whatsdex::config::Config::from_lookup(|name| env.get(name).cloned())?;
    let state = whatsdex::server::prepare(config, true)?;
    let server = tokio::spawn(whatsdex::server::serve(state.clone()));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(streams + 16)
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
    let cookies = sign_up(&client, base_url).await?;

    // A sandbox bot of the workspace, and the conversation its first message opens.
    let bot_id = "bench-bot";
    state
        .db
        .run_in(RowScope::across_tenants(ACROSS), move |conn| {
            let tenant: String = tenants::table
                .filter(tenants::name.eq("Bench"))
                .select(tenants::id)
                .first(conn)?;
            let now = chrono::Utc::now().naive_utc();
            diesel::insert_into(bots::table)
                .values((
                    bots::id.eq(bot_id),
                    bots::tenant_id.eq(tenant),
                    bots::name.eq("Bench bot"),
                    bots::transport.eq("sandbox"),
                    bots::status.eq("connected"),
                    bots::owner_number.eq("447700900123"),
                    bots::paired_at.eq(now),
                    bots::created_at.eq(now),
                    bots::updated_at.eq(now),
                ))
                .execute(conn)
        })
        .await?;
    let bot = whatsdex::bots::model::find_for_runtime(&state.db, bot_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("bench bot not found"))?;
    // The pipeline publishes to a bus of its own, which this benchmark relays to the real
    // one: the clock starts just before `publish`.
    let relay = Live::in_process();
    let mut relayed = relay.subscribe();
    let engine = Engine {
        db: &state.db,
        meter: state.bots.meter(),
        live: &relay,
        base_url,
    };
    pipeline::handle_inbound(engine, &bot, message(0)).await?;
    let thread: String = state
        .db
        .run_in(RowScope::across_tenants(ACROSS), move |conn| {
            threads::table
                .filter(threads::bot_id.eq(bot_id))
                .select(threads::id)
                .first(conn)
        })
        .await?;
    while relayed.try_recv().is_ok() {}

    // Open every stream (a few at a time, as pages would over a moment).
    let url = format!("{base_url}/inbox/events?thread={thread}");
    let opened_at = Instant::now();
    // Every stream stops reading this long after the last message is due.
    let until = tokio::time::Instant::now()
        + Duration::from_secs(u64::from(seconds) + 15 + streams as u64 / 50);
    let mut readers = tokio::task::JoinSet::new();
    for _ in 0..streams {
        let response = client
            .get(&url)
            .header(reqwest::header::COOKIE, &cookies)
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .send()
            .await?;
        anyhow::ensure!(
            response.status().is_success(),
            "stream refused: {}",
            response.status()
        );
        readers.spawn_local(listen(response, until));
    }
    let opened_in = opened_at.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;

    // Messages at a fixed rate; each event's publish time is noted as it is relayed.
    let published: Arc<Mutex<HashMap<i64, Instant>>> = Arc::default();
    let relay_task = {
        let live = state.live.clone();
        let published = published.clone();
        tokio::task::spawn_local(async move {
            while let Ok(heard) = relayed.recv().await {
                if let Heard::Event(event) = heard {
                    let event = (*event).clone();
                    if let Ok(mut map) = published.lock() {
                        map.insert(event.seq, Instant::now());
                    }
                    live.publish(vec![event]).await;
                }
            }
        })
    };
    let count = (rate * seconds) as usize;
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate));
    let started = Instant::now();
    for n in 1..=count {
        tokio::time::sleep_until((started + interval * (n as u32 - 1)).into()).await;
        pipeline::handle_inbound(engine, &bot, message(n)).await?;
    }
    // The readers stop at `until`, well after the last event arrived.
    let mut arrivals: HashMap<i64, Vec<Instant>> = HashMap::new();
    let mut finished = 0usize;
    while let Some(done) = readers.join_next().await {
        finished += 1;
        for (seq, at) in done? {
            arrivals.entry(seq).or_default().push(at);
        }
    }

    relay_task.abort();
    server.abort();
    state.bots.shutdown(Duration::from_secs(5)).await;
    let published = published
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .clone();
    let mut per_stream = Vec::new();
    let mut last_stream = Vec::new();
    let mut complete = 0usize;
    for (seq, at) in &published {
        let Some(got) = arrivals.get(seq) else {
            continue;
        };
        let times: Vec<f64> = got
            .iter()
            .map(|t| t.saturating_duration_since(*at).as_secs_f64() * 1000.0)
            .collect();
        if got.len() == streams {
            complete += 1;
        }
        last_stream.push(times.iter().copied().fold(0.0, f64::max));
        per_stream.extend(times);
    }
    per_stream.sort_by(f64::total_cmp);
    last_stream.sort_by(f64::total_cmp);
    println!(
        "{backend}{}: {streams} streams opened in {:.1} s ({finished} closed at the end); {} events published, {complete} reached every stream",
        if state.live.is_shared() {
            " + Redis"
        } else {
            ""
        },
        opened_in.as_secs_f64(),
        published.len(),
    );
    println!(
        "| backend | streams | rate/s | events | measure | p50 ms | p95 ms | p99 ms | max ms |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (name, values) in [("per stream", &per_stream), ("last stream", &last_stream)] {
        println!(
            "| {backend} | {streams} | {rate} | {} | {name} | {:.1} | {:.1} | {:.1} | {:.1} |",
            published.len(),
            percentile(values, 0.50),
            percentile(values, 0.95),
            percentile(values, 0.99),
            percentile(values, 1.0),
        );
    }
    Ok(())
}
