//! Errors at the HTTP boundary: what the client sees, kept apart from what the log gets.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use askama::Template;
use serde_json::json;

use super::layout::Layout;

/// An error a page handler returns. The status is explicit for every variant.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Nothing there (or not yours: the two look the same).
    #[error("not found")]
    NotFound,
    /// Our fault; the cause is logged, never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    /// An internal error from any displayable cause.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }
}

impl From<crate::db::DbError> for AppError {
    fn from(e: crate::db::DbError) -> Self {
        Self::internal(e)
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::NotFound => error_page(StatusCode::NOT_FOUND),
            Self::Internal(cause) => {
                tracing::error!(%cause, "request failed");
                error_page(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }
}

/// The error page's template.
#[derive(Template)]
#[template(path = "pages/error.html")]
struct ErrorPage {
    layout: Layout,
    status: u16,
    heading: &'static str,
    message: &'static str,
}

/// A full HTML page for an error status.
pub fn error_page(status: StatusCode) -> HttpResponse {
    let (heading, message) = match status {
        StatusCode::NOT_FOUND => (
            "Page not found",
            "The page you asked for does not exist, or it is not yours to see.",
        ),
        _ => (
            "Something went wrong",
            "We could not finish that request. It has been logged; please try again shortly.",
        ),
    };
    let page = ErrorPage {
        layout: Layout::new(heading),
        status: status.as_u16(),
        heading,
        message,
    };
    match page.render() {
        Ok(html) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(html),
        Err(e) => {
            tracing::error!(error = %e, "error page did not render");
            HttpResponse::build(status)
                .content_type("text/plain; charset=utf-8")
                .body(heading)
        }
    }
}

/// A JSON error with a stable machine-readable `code`, for `/api/*`.
pub fn json_error(status: StatusCode, code: &str, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "error": { "code": code, "message": message } }))
}

/// The answer for a route that does not exist: JSON under `/api/`, a page elsewhere.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    let mut response = if req.path().starts_with("/api/") {
        json_error(StatusCode::NOT_FOUND, "not_found", "No such endpoint.")
    } else {
        error_page(StatusCode::NOT_FOUND)
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
