//! The access log: one line per request (its span closing), except health probes, which
//! platforms send every few seconds and which would drown everything else.

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use tracing::{Level, Span};
use tracing_actix_web::{DefaultRootSpanBuilder, RootSpanBuilder};

/// Root spans at INFO, probes at DEBUG (`RUST_LOG=debug` shows them).
pub struct AccessLog;

impl RootSpanBuilder for AccessLog {
    fn on_request_start(request: &ServiceRequest) -> Span {
        if matches!(request.path(), "/health" | "/api/health") {
            tracing_actix_web::root_span!(level = Level::DEBUG, request)
        } else {
            tracing_actix_web::root_span!(request)
        }
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}
