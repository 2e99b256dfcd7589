//! Inbox benchmark (see bench/README.md): one workspace with one bot, N contacts with their
//! threads and M messages, then the server time of the inbox's reads, called as the app calls
//! them (services with a member's scope; on PostgreSQL as an app role under row-level
//! security, as in production).
//!
//! cargo run --release --example inbox_bench -- --backend sqlite|postgres
//!     [--messages 1000000] [--contacts 10000] [--runs 300]
//!     [--admin-url postgres://postgres@127.0.0.1:5432/postgres] [--keep yes]
//!
//! SQLite lives in a temporary folder. On PostgreSQL it creates a fresh database and a LOGIN
//! role through the admin URL, migrates as the admin (the tables' owner), runs the reads as
//! the role, and drops both at the end.

use std::collections::HashMap;
use std::time::Instant;

use chrono::{Duration, NaiveDateTime, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use url::Url;
use whatsdex::db::schema::messages;
use whatsdex::ids::{BotId, TenantId, UserId};
use whatsdex::inbox::search;
use whatsdex::inbox::threads::{self, ThreadFilter};

const APP_ROLE: &str = "wdx_inbox_bench_app";
const APP_PASSWORD: &str = "inboxbench";

/// Common words, most frequent first (picked with a skew, so the first ones are everywhere).
const WORDS: &[&str] = &[
    "the",
    "i",
    "you",
    "to",
    "is",
    "my",
    "a",
    "and",
    "it",
    "for",
    "order",
    "please",
    "hi",
    "thanks",
    "can",
    "of",
    "in",
    "when",
    "will",
    "delivery",
    "price",
    "do",
    "have",
    "what",
    "we",
    "today",
    "tomorrow",
    "ok",
    "yes",
    "no",
    "how",
    "much",
    "send",
    "address",
    "time",
    "open",
    "closed",
    "hello",
    "good",
    "morning",
    "evening",
    "pizza",
    "table",
    "booking",
    "size",
    "colour",
    "refund",
    "return",
    "invoice",
    "payment",
    "card",
    "cash",
    "change",
    "cancel",
    "late",
    "early",
    "store",
    "menu",
    "photo",
    "link",
    "number",
    "name",
    "week",
    "monday",
    "friday",
    "weekend",
    "available",
    "stock",
    "shoes",
    "shirt",
    "medium",
    "large",
    "small",
    "coffee",
    "cake",
    "birthday",
    "gift",
    "wrap",
    "tracking",
    "parcel",
    "courier",
    "driver",
    "arrived",
    "waiting",
    "minutes",
    "hours",
    "sorry",
    "great",
    "perfect",
    "love",
    "again",
    "question",
    "help",
    "support",
    "problem",
    "broken",
    "replace",
    "warranty",
];

/// Words a handful of messages carry.
const RARE: &[&str] = &["zanzibar", "quokka", "marzipan", "xylophone"];

fn arg(args: &HashMap<String, String>, name: &str, default: &str) -> String {
    args.get(name)
        .cloned()
        .unwrap_or_else(|| default.to_owned())
}

/// A small, fast, deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Skewed towards small numbers: the minimum of two draws, squared-ish.
    fn skewed(&mut self, n: usize) -> usize {
        let a = self.below(n);
        let b = self.below(n);
        a.min(b) * a.min(b) / n.max(1)
    }
}

/// A message's text: 4 to 16 words; one message in 50,000 carries a rare word (so each of
/// the four is in 5 of a million).
fn body(rng: &mut Rng, i: usize) -> String {
    let count = 4 + rng.below(13);
    let mut words: Vec<&str> = (0..count).map(|_| WORDS[rng.skewed(WORDS.len())]).collect();
    if i % 50_000 == 4_321 {
        words.push(RARE[(i / 50_000) % RARE.len()]);
    }
    words.join(" ")
}

/// How diesel writes a timestamp on SQLite (and PostgreSQL reads it the same).
fn ts(at: NaiveDateTime) -> String {
    at.format("%F %T%.f").to_string()
}

/// Nearest-rank percentile of sorted milliseconds.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    sorted[((n as f64 * p).ceil() as usize).clamp(1, n) - 1]
}

fn with_database(url: &str, database: &str, user: Option<(&str, &str)>) -> anyhow::Result<String> {
    let mut url = Url::parse(url)?;
    url.set_path(&format!("/{database}"));
    if let Some((name, password)) = user {
        url.set_username(name)
            .map_err(|()| anyhow::anyhow!("bad user"))?;
        url.set_password(Some(password))
            .map_err(|()| anyhow::anyhow!("bad password"))?;
    }
    Ok(url.to_string())
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
    let backend = arg(&args, "backend", "sqlite");
    let message_count: usize = arg(&args, "messages", "1000000").parse()?;
    let contact_count: usize = arg(&args, "contacts", "10000").parse()?;
    let runs: usize = arg(&args, "runs", "300").parse()?;
    let admin_url = arg(
        &args,
        "admin-url",
        "postgres://postgres@127.0.0.1:5432/postgres",
    );

    let dir = tempfile::tempdir()?;
    let data_dir = dir.path().display().to_string();
    let pg_name = format!("wdx_inbox_bench_{:08x}", rand::random::<u32>());
    let (database_url, migration_url) = match backend.as_str() {
        "sqlite" => {
            let url = format!("sqlite://{data_dir}/bench.db");
            (url.clone(), url)
        }
        "postgres" => {
            let mut admin = PgConnection::establish(&admin_url)?;
            admin.batch_execute(&format!(
                "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') \
                 THEN CREATE ROLE {APP_ROLE} LOGIN PASSWORD '{APP_PASSWORD}'; END IF; END $$"
            ))?;
            admin.batch_execute(&format!("CREATE DATABASE {pg_name}"))?;
            (
                with_database(&admin_url, &pg_name, Some((APP_ROLE, APP_PASSWORD)))?,
                with_database(&admin_url, &pg_name, None)?,
            )
        }
        other => anyhow::bail!("--backend sqlite|postgres, not {other}"),
    };
    let outcome = run(
        &backend,
        &data_dir,
        &database_url,
        &migration_url,
        message_count,
        contact_count,
        runs,
    )
    .await;
    if backend == "postgres" && args.contains_key("keep") {
        println!("kept database {pg_name} and role {APP_ROLE}: drop them yourself");
    } else if backend == "postgres" {
        let mut admin = PgConnection::establish(&admin_url)?;
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {pg_name} WITH (FORCE)"))?;
        admin.batch_execute(&format!("DROP ROLE IF EXISTS {APP_ROLE}"))?;
        println!("dropped database {pg_name} and role {APP_ROLE}");
    }
    outcome
}

#[allow(clippy::too_many_arguments)]
async fn run(
    backend: &str,
    data_dir: &str,
    database_url: &str,
    migration_url: &str,
    message_count: usize,
    contact_count: usize,
    runs: usize,
) -> anyhow::Result<()> {
    let env: HashMap<&str, String> = HashMap::from([
        ("DATABASE_URL", database_url.to_owned()),
        ("MIGRATION_DATABASE_URL", migration_url.to_owned()),
        ("DATA_DIR", data_dir.to_owned()),
        (
            "ENCRYPTION_KEY",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".to_owned(),
        ),
    ]);
    let config = whatsdex::config::Config::from_lookup(|name| env.get(name).cloned())?;
    let state = whatsdex::server::prepare(config, true)?;

    // Seed as the tables' owner (on SQLite, the one file), in big transactions of
    // multi-row inserts. Every value is generated here from letters, digits and spaces.
    let seeding = Instant::now();
    let mut owner = whatsdex::db::establish(&whatsdex::config::DatabaseUrl::parse(
        "MIGRATION_DATABASE_URL",
        migration_url,
    )?)?;
    let now = Utc::now().naive_utc();
    let start = now - Duration::days(90);
    let step = Duration::microseconds(90 * 86_400 * 1_000_000 / message_count.max(1) as i64);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut last_at: Vec<Option<(NaiveDateTime, String, bool)>> = vec![None; contact_count];
    owner.transaction(|conn| -> QueryResult<()> {
        let n = ts(now);
        diesel::sql_query(format!(
            "INSERT INTO tenants (id, name, created_at, updated_at) VALUES ('bench', 'Bench', '{n}', '{n}')"
        ))
        .execute(conn)?;
        diesel::sql_query(format!(
            "INSERT INTO users (id, email, name, password_hash, is_platform_admin, created_at, updated_at) \
             VALUES ('bench-user', 'bench@example.com', 'Bench', 'x', false, '{n}', '{n}')"
        ))
        .execute(conn)?;
        diesel::sql_query(format!(
            "INSERT INTO memberships (tenant_id, user_id, role, created_at) VALUES ('bench', 'bench-user', 'owner', '{n}')"
        ))
        .execute(conn)?;
        diesel::sql_query(format!(
            "INSERT INTO bots (id, tenant_id, name, transport, status, owner_number, paired_at, created_at, updated_at) \
             VALUES ('bench-bot', 'bench', 'Bench bot', 'sandbox', 'connected', '447700000000', '{n}', '{n}', '{n}')"
        ))
        .execute(conn)?;
        for chunk in (0..contact_count).collect::<Vec<_>>().chunks(1000) {
            let rows: Vec<String> = chunk
                .iter()
                .map(|i| {
                    let first = WORDS[i % WORDS.len()];
                    format!(
                        "('c{i:06}', 'bench', 'bench-bot', '4477{:08}', 'Customer {first} {i}', '{s}', '{s}')",
                        i * 7919 % 100_000_000,
                        s = ts(start)
                    )
                })
                .collect();
            diesel::sql_query(format!(
                "INSERT INTO contacts (id, tenant_id, bot_id, number, name, first_seen_at, last_seen_at) VALUES {}",
                rows.join(", ")
            ))
            .execute(conn)?;
        }
        Ok(())
    })?;
    const BATCH: usize = 1000;
    const PER_TRANSACTION: usize = 100_000;
    let mut i = 0;
    while i < message_count {
        let end = (i + PER_TRANSACTION).min(message_count);
        owner.transaction(|conn| -> QueryResult<()> {
            while i < end {
                let stop = (i + BATCH).min(end);
                let mut rows = Vec::with_capacity(stop - i);
                for m in i..stop {
                    let contact = rng.below(contact_count);
                    let at = start + step * m as i32;
                    let inbound = rng.below(2) == 0;
                    let text = body(&mut rng, m);
                    rows.push(format!(
                        "('m{m:08}', 'bench', 'bench-bot', '{}', 'wamid.{m}', '4477{:08}', '{text}', 'sent', '{}')",
                        if inbound { "in" } else { "out" },
                        contact * 7919 % 100_000_000,
                        ts(at)
                    ));
                    last_at[contact] = Some((at, text, inbound));
                }
                diesel::sql_query(format!(
                    "INSERT INTO messages (id, tenant_id, bot_id, direction, wa_message_id, contact_number, body, status, created_at) VALUES {}",
                    rows.join(", ")
                ))
                .execute(conn)?;
                i = stop;
            }
            Ok(())
        })?;
    }
    owner.transaction(|conn| -> QueryResult<()> {
        for (chunk_start, chunk) in last_at.chunks(1000).enumerate() {
            let rows: Vec<String> = chunk
                .iter()
                .enumerate()
                .map(|(k, last)| {
                    let c = chunk_start * 1000 + k;
                    let (at, preview, inbound) =
                        last.clone().unwrap_or((start, String::new(), true));
                    let unread = if inbound && c % 5 == 0 { 1 + c % 4 } else { 0 };
                    let preview: String = preview.chars().take(120).collect();
                    format!(
                        "('th_c{c:06}', 'bench', 'bench-bot', 'c{c:06}', {unread}, '{a}', '{preview}', '{}', '{s}', '{a}')",
                        if inbound { "in" } else { "out" },
                        a = ts(at),
                        s = ts(start)
                    )
                })
                .collect();
            diesel::sql_query(format!(
                "INSERT INTO threads (id, tenant_id, bot_id, contact_id, unread, last_message_at, last_preview, last_direction, created_at, updated_at) VALUES {}",
                rows.join(", ")
            ))
            .execute(conn)?;
        }
        Ok(())
    })?;
    match &mut owner {
        whatsdex::db::DbConn::Pg(c) => c.batch_execute("ANALYZE")?,
        whatsdex::db::DbConn::Sqlite(c) => c.batch_execute("ANALYZE")?,
    }
    drop(owner);
    let seeded_in = seeding.elapsed();
    println!(
        "seeded {contact_count} contacts with threads and {message_count} messages in {:.1} s",
        seeded_in.as_secs_f64()
    );

    let scope = whatsdex::tenants::members::scope_of(
        &state,
        &TenantId::from("bench"),
        &UserId::from("bench-user"),
    )
    .await?
    .ok_or_else(|| anyhow::anyhow!("the bench user is a member"))?;

    for typed in ["zanzibar", "order", "4477"] {
        println!("\nplan for search {typed:?}:");
        for line in search::explain(&state, &scope, typed).await? {
            println!("    {line}");
        }
    }
    let page_1 = threads::list(&state, &scope, &ThreadFilter::default(), None).await?;
    let mut deep = page_1.next.clone();
    for _ in 0..18 {
        let page = threads::list(&state, &scope, &ThreadFilter::default(), deep.as_ref()).await?;
        deep = page.next;
    }
    let later_page = deep.ok_or_else(|| anyhow::anyhow!("fewer than 20 pages of threads"))?;
    let found = search::search(&state, &scope, "order", None).await?;
    println!(
        "\nsearch \"order\": {} conversations, {} hits on page 1, next: {}",
        found.conversations.len(),
        found.messages.len(),
        found.next.is_some()
    );
    let order_page_2 = found.next.clone();
    let rare = search::search(&state, &scope, "zanzibar", None).await?;
    println!("search \"zanzibar\": {} hits", rare.messages.len());

    println!(
        "\n| backend | query | runs | p50 ms | p95 ms | p99 ms | max ms | rows |\n|---|---|---|---|---|---|---|---|"
    );
    let numbers: Vec<String> = (0..contact_count)
        .map(|c| format!("4477{:08}", c * 7919 % 100_000_000))
        .collect();
    let mut rng = Rng(42);
    let cases = [
        "inbox list, first page",
        "inbox list, unread only",
        "inbox list, page 20 (cursor)",
        "conversation, latest 50 messages",
        "search, rare word",
        "search, common word",
        "search, common word, page 2",
        "search, contact by name",
        "search, number prefix",
    ];
    for case in cases {
        let mut times = Vec::with_capacity(runs);
        let mut rows = 0usize;
        for run in 0..runs + 10 {
            let started = Instant::now();
            let count = match case {
                "inbox list, first page" => {
                    threads::list(&state, &scope, &ThreadFilter::default(), None)
                        .await?
                        .rows
                        .len()
                }
                "inbox list, unread only" => {
                    let filter = ThreadFilter {
                        unread_only: true,
                        ..ThreadFilter::default()
                    };
                    threads::list(&state, &scope, &filter, None)
                        .await?
                        .rows
                        .len()
                }
                "inbox list, page 20 (cursor)" => {
                    threads::list(&state, &scope, &ThreadFilter::default(), Some(&later_page))
                        .await?
                        .rows
                        .len()
                }
                "conversation, latest 50 messages" => {
                    let number = numbers[rng.below(numbers.len())].clone();
                    let bot = BotId::from("bench-bot");
                    let tenant = scope.tenant_id().clone();
                    state
                        .db
                        .run_in(scope.rows(), move |conn| {
                            messages::table
                                .filter(messages::tenant_id.eq(tenant))
                                .filter(messages::bot_id.eq(bot))
                                .filter(messages::contact_number.eq(number))
                                .order(messages::created_at.desc())
                                .limit(50)
                                .select((messages::id, messages::body, messages::created_at))
                                .load::<(String, String, NaiveDateTime)>(conn)
                        })
                        .await?
                        .len()
                }
                "search, rare word" => {
                    let word = RARE[run % RARE.len()];
                    search::search(&state, &scope, word, None)
                        .await?
                        .messages
                        .len()
                }
                "search, common word" => search::search(&state, &scope, "order", None)
                    .await?
                    .messages
                    .len(),
                "search, common word, page 2" => {
                    search::search(&state, &scope, "order", order_page_2.as_ref())
                        .await?
                        .messages
                        .len()
                }
                "search, contact by name" => {
                    let typed = format!("customer {}", WORDS[run % WORDS.len()]);
                    let found = search::search(&state, &scope, &typed, None).await?;
                    found.conversations.len()
                }
                "search, number prefix" => {
                    let typed = format!("+44 77{}", run % 100);
                    search::search(&state, &scope, &typed, None)
                        .await?
                        .conversations
                        .len()
                }
                _ => 0,
            };
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            if run >= 10 {
                times.push(ms);
                rows = count;
            }
        }
        times.sort_by(f64::total_cmp);
        println!(
            "| {backend} | {case} | {runs} | {:.2} | {:.2} | {:.2} | {:.2} | {rows} |",
            percentile(&times, 0.50),
            percentile(&times, 0.95),
            percentile(&times, 0.99),
            times.last().copied().unwrap_or(0.0),
        );
    }
    println!(
        "\nseeding: {:.1} s; nproc {}",
        seeded_in.as_secs_f64(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    Ok(())
}
