//! Liveness and readiness probes. They name no host, user, password or dependency version.

use std::time::Duration;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde::Serialize;

use super::AppState;

/// A probe answers about now; no proxy may keep it.
const NO_STORE: (header::HeaderName, &str) = (header::CACHE_CONTROL, "no-store");

/// How long a readiness check waits for each dependency.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// `GET /health`: the process is up. No I/O, so a slow database never restarts the process.
pub async fn liveness() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(NO_STORE)
        .json(serde_json::json!({ "status": "ok" }))
}

#[derive(Debug, Serialize, PartialEq, Eq)]
struct Readiness {
    status: &'static str,
    database: &'static str,
    redis: &'static str,
    uptime_s: u64,
    version: &'static str,
}

/// `GET /api/health`: 200 when the database (and Redis, if configured) answer, else 503
/// naming what failed. Causes go to the log, not to the client.
pub async fn readiness(state: web::Data<AppState>) -> HttpResponse {
    let (db, cache) = tokio::join!(
        state.db.ping(CHECK_TIMEOUT),
        state.cache.ping(CHECK_TIMEOUT)
    );
    let database = match db {
        Ok(()) => "connected",
        Err(e) => {
            tracing::warn!(error = %e, "readiness: database check failed");
            "unavailable"
        }
    };
    let redis = match (state.cache.is_redis(), cache) {
        (false, _) => "not_configured",
        (true, Ok(())) => "connected",
        (true, Err(e)) => {
            tracing::warn!(error = %e, "readiness: redis check failed");
            "unavailable"
        }
    };
    let healthy = database == "connected" && redis != "unavailable";
    let body = Readiness {
        status: if healthy { "ok" } else { "degraded" },
        database,
        redis,
        uptime_s: state.started_at.elapsed().as_secs(),
        version: env!("CARGO_PKG_VERSION"),
    };
    let mut response = if healthy {
        HttpResponse::Ok()
    } else {
        HttpResponse::ServiceUnavailable()
    };
    response.insert_header(NO_STORE).json(body)
}
