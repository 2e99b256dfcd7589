//! `GET /metrics`: Prometheus metrics behind a bearer token (`METRICS_TOKEN`). Without a
//! configured token the endpoint is off and answers 404, like any unknown path.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use super::{AppError, AppState};
use crate::bots::model;
use crate::telemetry::metrics;

/// The metrics, for a scraper that shows the token.
pub async fn scrape(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let Some(token) = &state.config.metrics_token else {
        return Err(AppError::NotFound);
    };
    let offered = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if !token.matches(offered) {
        return Ok(HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"metrics\""))
            .finish());
    }
    let (pool_open, pool_idle) = state.db.pool_state();
    let snapshot = metrics::Snapshot {
        bot_statuses: model::ALL_STATUSES.iter().map(|s| s.as_str()).collect(),
        bots_by_status: model::count_by_status(&state.db).await?,
        bots_running: i64::try_from(state.bots.running_count()).unwrap_or(i64::MAX),
        pool_open,
        pool_idle,
        pool_max: state.config.database_pool_size,
    };
    let text = metrics::render(&snapshot).map_err(AppError::internal)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .content_type(metrics::CONTENT_TYPE)
        .body(text))
}
