//! Counts every HTTP request and its latency, by route pattern and status, for `/metrics`.

use std::time::Instant;

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

use crate::telemetry::metrics;

/// The middleware (wrapped with `from_fn`).
pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let method = req.method().as_str().to_owned();
    let result = next.call(req).await;
    match &result {
        Ok(response) => {
            // The pattern, not the path: `/bots/{id}/pair`, never one series per bot.
            let route = response
                .request()
                .match_pattern()
                .unwrap_or_else(|| "unmatched".to_owned());
            metrics::http_request(
                &method,
                &route,
                response.status().as_u16(),
                started.elapsed(),
            );
        }
        Err(e) => {
            let status = e.as_response_error().status_code().as_u16();
            metrics::http_request(&method, "unmatched", status, started.elapsed());
        }
    }
    result
}
