//! CSRF protection for every state-changing request.
//!
//! Each browser gets a random token in an `HttpOnly`, `SameSite=Lax` cookie; pages put the
//! same token in every form (`csrf_token`) and in htmx's headers (`X-CSRF-Token`). A POST,
//! PUT, PATCH or DELETE whose token is missing or differs is refused with 403 before any
//! handler runs, so nothing changes. A cross-site `Origin` is refused too.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, web};

use super::error::error_page_with;
use super::form_body::FormBody;
use crate::ids::{new_token, secrets_match};

/// The cookie holding the browser's token.
pub const COOKIE: &str = "wdx_csrf";
/// The form field forms send it in.
pub const FIELD: &str = "csrf_token";
/// The header htmx sends it in.
pub const HEADER: &str = "x-csrf-token";

/// The browser's token, for templates.
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

/// Paths with their own authentication instead (signed webhooks, API keys).
fn is_exempt(path: &str) -> bool {
    path.starts_with("/webhooks/") || path.starts_with("/api/v1/")
}

fn changes_state(method: &Method) -> bool {
    !matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// A fresh CSRF cookie; `secure` behind TLS.
pub fn cookie(token: String, secure: bool) -> Cookie<'static> {
    Cookie::build(COOKIE, token)
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .finish()
}

fn same_origin(req: &ServiceRequest) -> bool {
    let Some(origin) = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
    else {
        return true;
    };
    let host = req.connection_info().host().to_owned();
    url::Url::parse(origin).ok().is_some_and(|o| {
        let origin_host = match o.port() {
            Some(port) => format!("{}:{port}", o.host_str().unwrap_or_default()),
            None => o.host_str().unwrap_or_default().to_owned(),
        };
        origin_host == host
    })
}

/// The token the request presents: the header, else the form field (the form boundary has
/// read the body already).
fn presented_token(req: &ServiceRequest) -> Option<String> {
    if let Some(value) = req.headers().get(HEADER).and_then(|v| v.to_str().ok()) {
        return Some(value.to_owned());
    }
    let extensions = req.extensions();
    let FormBody(body) = extensions.get::<FormBody>()?;
    url::form_urlencoded::parse(body)
        .find(|(k, _)| k == FIELD)
        .map(|(_, v)| v.into_owned())
}

/// The middleware (`actix_web::middleware::from_fn`).
pub async fn guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let existing = req
        .cookie(COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|t| t.len() == 43);
    if changes_state(req.method()) && !is_exempt(req.path()) {
        let presented = presented_token(&req);
        let valid = match (&existing, &presented) {
            (Some(expected), Some(presented)) => secrets_match(expected, presented),
            _ => false,
        };
        if !valid || !same_origin(&req) {
            tracing::warn!(path = %req.path(), "refused a request without a valid CSRF token");
            let response = error_page_with(
                StatusCode::FORBIDDEN,
                "This form has expired",
                "For your security the request was not carried out. Go back, reload the page and try again.",
            );
            return Ok(req.into_response(response).map_into_right_body());
        }
    }
    let is_new = existing.is_none();
    let token = existing.unwrap_or_else(new_token);
    req.extensions_mut().insert(CsrfToken(token.clone()));
    let secure = req
        .app_data::<web::Data<crate::state::AppState>>()
        .is_some_and(|state| state.config.behind_tls());
    let mut response = next.call(req).await?;
    if is_new {
        response.response_mut().add_cookie(&cookie(token, secure))?;
    }
    Ok(response.map_into_left_body())
}
