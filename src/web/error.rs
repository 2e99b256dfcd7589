//! Errors at the HTTP boundary: what the client sees, kept apart from what the log gets.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use askama::Template;
use serde_json::json;

use super::layout::Layout;
use crate::billing::entitlements::Denial;
use crate::error::ServiceError;

/// An error a page handler returns. The status is explicit for every variant.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Nothing there (or not yours: the two look the same).
    #[error("not found")]
    NotFound,
    /// Yours, but your role does not allow it; the message says who may.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// Too many attempts.
    #[error("too many requests")]
    TooManyRequests(Duration),
    /// The page needs a signed-in person: go to the sign-in page, then come back.
    #[error("sign-in required")]
    SignInRequired { next: String },
    /// Signed in, but in no workspace yet.
    #[error("no workspace")]
    NoWorkspace,
    /// The workspace in view is suspended: a page that says so and whom to contact.
    #[error("workspace suspended")]
    Suspended(SupportContact),
    /// The plan does not allow it: a page (or JSON) that names the limit and links to the
    /// upgrade page.
    #[error("plan limit reached")]
    PlanLimit(Box<Denial>),
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

impl From<ServiceError> for AppError {
    /// For errors a handler does not show inside its own form.
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::NotFound => Self::NotFound,
            ServiceError::Forbidden(message) => Self::Forbidden(message.to_owned()),
            ServiceError::RateLimited { retry_after } => Self::TooManyRequests(retry_after),
            ServiceError::Invalid(errors) => {
                Self::Internal(format!("unhandled invalid input: {errors:?}"))
            }
            ServiceError::PlanLimit(denial) => Self::PlanLimit(denial),
            ServiceError::Database(e) => Self::internal(e),
            ServiceError::Internal(cause) => Self::Internal(cause),
        }
    }
}

/// "in 3 minutes", for a retry time.
pub fn wait_phrase(wait: Duration) -> String {
    let minutes = wait.as_secs().div_ceil(60).max(1);
    if minutes == 1 {
        "in a minute".to_owned()
    } else {
        format!("in {minutes} minutes")
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Forbidden(_) | Self::PlanLimit(_) | Self::Suspended(_) => StatusCode::FORBIDDEN,
            Self::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::SignInRequired { .. } | Self::NoWorkspace => StatusCode::SEE_OTHER,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::NotFound => error_page(StatusCode::NOT_FOUND),
            Self::Forbidden(message) => {
                error_page_with(StatusCode::FORBIDDEN, "Not allowed", message)
            }
            Self::TooManyRequests(wait) => {
                let mut response = error_page_with(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many attempts",
                    &format!("Please wait and try again {}.", wait_phrase(*wait)),
                );
                if let Ok(value) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, value);
                }
                response
            }
            Self::SignInRequired { next } => {
                let target = format!(
                    "/login?next={}",
                    url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
                );
                redirect(&target)
            }
            Self::NoWorkspace => redirect("/workspaces/new"),
            Self::Suspended(support) => page_response(
                StatusCode::FORBIDDEN,
                "Workspace suspended",
                ErrorPage {
                    layout: Layout::new("Workspace suspended"),
                    status: StatusCode::FORBIDDEN.as_u16(),
                    heading: "Workspace suspended",
                    message: crate::tenants::suspension::SUSPENDED_WORKSPACE,
                    support: Some(support.clone()),
                },
            ),
            Self::PlanLimit(denial) => plan_limit_page(denial),
            Self::Internal(cause) => {
                tracing::error!(%cause, "request failed");
                error_page(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }
}

/// A 303 to `location` (after a POST, the browser GETs it).
pub fn redirect(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// Whom people write to for help: the operator's `SUPPORT_EMAIL`, if set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SupportContact {
    pub email: Option<String>,
}

impl SupportContact {
    /// This server's contact, from its settings.
    pub fn of(config: &crate::config::Config) -> Self {
        Self {
            email: config.support_email.clone(),
        }
    }
}

/// The error page's template.
#[derive(Template)]
#[template(path = "pages/error.html")]
struct ErrorPage<'a> {
    layout: Layout,
    status: u16,
    heading: &'a str,
    message: &'a str,
    /// Whom to contact about it, when someone can help.
    support: Option<SupportContact>,
}

/// A full HTML page for an error status, with the standard wording.
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
    error_page_with(status, heading, message)
}

/// A full HTML page for an error status with our own words.
pub fn error_page_with(status: StatusCode, heading: &str, message: &str) -> HttpResponse {
    let page = ErrorPage {
        layout: Layout::new(heading),
        status: status.as_u16(),
        heading,
        message,
        support: None,
    };
    page_response(status, heading, page)
}

fn page_response(status: StatusCode, heading: &str, page: ErrorPage<'_>) -> HttpResponse {
    match page.render() {
        Ok(html) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(html),
        Err(e) => {
            tracing::error!(error = %e, "error page did not render");
            HttpResponse::build(status)
                .content_type("text/plain; charset=utf-8")
                .body(heading.to_owned())
        }
    }
}

#[derive(Template)]
#[template(path = "pages/plan_limit.html")]
struct PlanLimitPage<'a> {
    layout: Layout,
    denial: &'a Denial,
}

/// The page for a refusal by the plan: what is limited, and the way to upgrade.
fn plan_limit_page(denial: &Denial) -> HttpResponse {
    let page = PlanLimitPage {
        layout: Layout::new("Upgrade needed"),
        denial,
    };
    match page.render() {
        Ok(html) => HttpResponse::Forbidden()
            .content_type("text/html; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(html),
        Err(e) => {
            tracing::error!(error = %e, "plan limit page did not render");
            error_page_with(StatusCode::FORBIDDEN, "Upgrade needed", &denial.message())
        }
    }
}

/// The API's answer to a refusal by the plan: 403 with the stable code
/// (`plan_limit_reached`, `feature_not_in_plan`), the limit and the `upgrade_url`.
pub fn plan_limit_json(denial: &Denial) -> HttpResponse {
    HttpResponse::Forbidden().json(denial.to_json())
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
