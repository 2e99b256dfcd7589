//! Page handlers: each extracts, calls one service, renders.

pub mod account;
pub mod admin;
pub mod analytics;
pub mod billing;
pub mod bot_settings;
pub mod bots;
pub mod cloud_connect;
pub mod cloud_templates;
pub mod confirm;
pub mod contacts;
pub mod dashboard;
pub mod inbox;
pub mod inbox_upload;
pub mod invitations;
pub mod landing;
pub mod media;
pub mod members;
pub mod onboarding;
pub mod passwords;
pub mod sandbox;
pub mod sign_in;
pub mod sign_up;
pub mod template_picker;
pub mod whatsapp_webhooks;
pub mod workspace;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use serde::Deserialize;

use super::AppError;
use super::error::wait_phrase;
use crate::error::ServiceError;
use crate::validation::FieldErrors;

/// The `?notice=` a redirect leaves for the next page.
#[derive(Debug, Deserialize)]
pub struct NoticeQuery {
    pub notice: Option<String>,
}

/// Render a form page again with a status (422 for input to fix).
pub fn render_with_status(
    status: StatusCode,
    page: &impl askama::Template,
) -> Result<HttpResponse, AppError> {
    let html = page.render().map_err(AppError::internal)?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(html))
}

/// Split a service error into what the form shows (field errors, a throttle message) and
/// what the error pages handle.
pub fn form_errors(e: ServiceError) -> Result<(StatusCode, FieldErrors), AppError> {
    match e {
        ServiceError::Invalid(errors) => Ok((StatusCode::UNPROCESSABLE_ENTITY, errors)),
        ServiceError::RateLimited { retry_after } => Ok((
            StatusCode::TOO_MANY_REQUESTS,
            FieldErrors::single(
                "form",
                format!("Too many attempts. Try again {}.", wait_phrase(retry_after)),
            ),
        )),
        other => Err(other.into()),
    }
}

/// Show a form again with what was wrong, keeping what was typed: a validation or rate-limit
/// error becomes the page `with_errors` builds from the field errors (422 or 429); any other
/// error goes up as it is.
pub async fn form_with_errors<T: askama::Template>(
    e: ServiceError,
    with_errors: impl AsyncFnOnce(FieldErrors) -> Result<T, AppError>,
) -> Result<HttpResponse, AppError> {
    let (status, errors) = form_errors(e)?;
    render_with_status(status, &with_errors(errors).await?)
}

/// A 303 to `path` with a notice for the next page.
pub fn redirect_with_notice(path: &str, notice: &str) -> HttpResponse {
    let separator = if path.contains('?') { '&' } else { '?' };
    super::error::redirect(&format!("{path}{separator}notice={notice}"))
}

/// A local path to return to after sign-in; anything else becomes `fallback`.
///
/// Browsers resolve a `Location` the way the URL standard says: they drop tabs and newlines
/// and read `\\` as `/`, so `/\t/evil.example` leads to another site. Only a path that a URL
/// parser resolves on this site and writes back exactly as given is kept.
pub fn safe_next(next: Option<&str>, fallback: &str) -> String {
    const HERE: &str = "http://this.site.invalid/";
    let stays_here = |path: &str| {
        let Ok(base) = url::Url::parse(HERE) else {
            return false;
        };
        path.starts_with('/')
            && base.join(path).is_ok_and(|resolved| {
                resolved.origin() == base.origin()
                    && resolved.as_str().strip_prefix(HERE.trim_end_matches('/')) == Some(path)
            })
    };
    match next {
        Some(path) if stays_here(path) => path.to_owned(),
        _ => fallback.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn next_stays_on_this_site() {
        let safe_next = |next| super::safe_next(next, "/dashboard");
        assert_eq!(safe_next(Some("/workspace/members")), "/workspace/members");
        assert_eq!(safe_next(Some("//evil.example")), "/dashboard");
        assert_eq!(safe_next(Some("https://evil.example")), "/dashboard");
        assert_eq!(safe_next(Some("/\\evil.example")), "/dashboard");
        assert_eq!(safe_next(None), "/dashboard");
        assert_eq!(safe_next(Some("/\t/evil.example")), "/dashboard");
        assert_eq!(safe_next(Some("/\n/evil.example")), "/dashboard");
        assert_eq!(
            safe_next(Some("/dashboard\r\nSet-Cookie: x=1")),
            "/dashboard"
        );
        assert_eq!(safe_next(Some("/%2F/evil.example")), "/%2F/evil.example");
        assert_eq!(safe_next(Some("/bots?notice=x#top")), "/bots?notice=x#top");
    }
}
