//! `whatsdex serve`: prepare the database, cache and keys, then answer HTTP until told to stop.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::HttpServer;
use anyhow::Context as _;

use url::Url;

use crate::bots::BotSupervisor;
use crate::bots::media_store::MediaStore;
use crate::bots::supervisor::CloudSettings;
use crate::bots::transport::cloud_api::graph::GraphClient;
use crate::bots::transport::whatsapp_web::WebSettings;
use crate::cache::Cache;
use crate::commands;
use crate::config::{Config, DatabaseUrl};
use crate::context::Context;
use crate::db::{self, Db, migrations};
use crate::encryption::{self, KeyOrigin};
use crate::instance::Instance;
use crate::live::Live;
use crate::mail::Mailer;
use crate::web::{self, AppState};

/// How long in-flight requests get to finish after SIGTERM.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Everything `serve` needs before it binds: a migrated database (SQLite migrates itself;
/// PostgreSQL only with `migrate`), the seeded catalogue, the cache and the encryption key.
///
/// Runs blocking database calls: call it before the server starts taking requests.
pub fn prepare(config: Config, migrate: bool) -> anyhow::Result<AppState> {
    let started_at = Instant::now();
    let encryption_key = match &config.encryption_key {
        Some(key) => key.clone(),
        None => {
            let path = config.key_file();
            let (key, origin) = encryption::load_or_generate(&path)
                .with_context(|| format!("cannot read or create {}", path.display()))?;
            if origin == KeyOrigin::Generated {
                tracing::info!(file = %path.display(), "generated a new encryption key; back it up with the data");
            }
            key
        }
    };

    let mut conn = db::establish(&config.database_url)
        .with_context(|| format!("cannot open {}", db::describe(&config.database_url)))?;
    match &config.database_url {
        DatabaseUrl::Sqlite(_) => {
            commands::apply_migrations(&mut conn)?;
        }
        DatabaseUrl::Postgres(_) if migrate => commands::migrate(&config)?,
        DatabaseUrl::Postgres(_) => {}
    }
    let pending =
        migrations::pending_without_ddl(&mut conn).context("cannot read the migration history")?;
    if let Some(next) = pending.first() {
        anyhow::bail!(
            "the database schema is {} migration(s) behind this binary (next: {next}); \
             run `whatsdex migrate`, or start with `whatsdex serve --migrate`",
            pending.len()
        );
    }
    let report = commands::seed_catalogue(&mut conn)?;
    tracing::debug!(?report, "seeded catalogue");
    drop(conn);
    let db =
        Db::connect(&config.database_url, config.database_pool_size).map_err(anyhow::Error::msg)?;

    let cache = match &config.redis_url {
        Some(url) => Cache::redis(url.expose(), &config.redis_key_prefix).context("REDIS_URL")?,
        None => Cache::memory(),
    };

    tracing::info!(
        database = %db::describe(&config.database_url),
        cache = if cache.is_redis() { "redis" } else { "in-process" },
        ready_in_ms = started_at.elapsed().as_millis() as u64,
        "prepared"
    );
    let mailer = Mailer::from_config(&config)?;
    let instance = Instance::resolve(config.instance_id.as_deref(), &config.data_dir)
        .with_context(|| format!("cannot name this instance in {}", config.data_dir.display()))?;
    tracing::debug!(instance = instance.name(), "instance");
    let live = match &config.redis_url {
        Some(url) => {
            Live::over_redis(url.expose(), &config.redis_key_prefix).context("REDIS_URL")?
        }
        None => Live::in_process(),
    };
    let web_settings = WebSettings {
        server_url: config.whatsapp_ws_url.as_ref().map(Url::to_string),
        version: config.whatsapp_version,
    };
    let cloud = CloudSettings {
        graph: GraphClient::new(config.meta_graph_url.clone()).context("META_GRAPH_URL")?,
        media: match &config.media_bucket {
            None => MediaStore::under(&config.data_dir),
            Some(bucket) => MediaStore::in_bucket(bucket).context("MEDIA_BUCKET_URL")?,
        },
    };
    let context = Context {
        config: Arc::new(config),
        db,
        cache,
        live,
        mailer,
        encryption_key: Arc::new(encryption_key),
        started_at,
    };
    let bots = BotSupervisor::new(instance, &context, web_settings, cloud);
    Ok(AppState { context, bots })
}

/// Start the bots, bind and serve until SIGTERM or Ctrl-C, then let in-flight requests finish
/// and the bots flush their outboxes.
pub async fn serve(state: AppState) -> anyhow::Result<()> {
    let started = state
        .bots
        .start_all()
        .await
        .context("cannot start the bots")?;
    tracing::info!(bots = started, "bots started");
    let lapse_job = crate::jobs::spawn_trial_lapses(state.clone());
    let usage_flush = state.bots.meter().clone().spawn_flusher(state.db.clone());
    let address = (state.config.host.clone(), state.config.port);
    let factory_state = state.clone();
    let server = HttpServer::new(move || web::app(factory_state.clone()))
        .shutdown_timeout(SHUTDOWN_GRACE.as_secs())
        .bind(address.clone())
        .with_context(|| format!("cannot listen on {}:{}", address.0, address.1))?
        .run();
    tracing::info!(
        url = %state.config.app_base_url,
        listen = %format!("{}:{}", address.0, address.1),
        "serving"
    );
    server.await.context("server stopped with an error")?;
    lapse_job.abort();
    state.bots.shutdown(SHUTDOWN_GRACE).await;
    // The bots have stopped counting: write what Redis holds before going.
    usage_flush.abort();
    if let Err(e) = state.bots.meter().flush(&state.db).await {
        tracing::warn!(error = %e, "last usage flush failed; another instance will write it");
    }
    tracing::info!("stopped");
    Ok(())
}
