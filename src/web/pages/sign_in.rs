//! `GET/POST /login`, `POST /logout`.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{form_errors, redirect_with_notice, render_with_status, safe_next};
use crate::accounts::{sessions, signin};
use crate::error::ServiceError;
use crate::validation::FieldErrors;
use crate::web::auth::{SESSION_COOKIE, Visitor, cleared_session_cookie, signed_in_redirect};
use crate::web::error::{SupportContact, redirect};
use crate::web::layout::Layout;
use crate::web::{AppError, render};

#[derive(Debug, Default, Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    remember: Option<String>,
    next: Option<String>,
}

#[derive(Template)]
#[template(path = "pages/login.html")]
struct SignInPage {
    layout: Layout,
    form: SignInForm,
    errors: FieldErrors,
    /// Whom a person of a suspended workspace contacts.
    support: SupportContact,
}

#[derive(Debug, Deserialize)]
pub struct SignInQuery {
    next: Option<String>,
    notice: Option<String>,
}

/// Where a sign-in lands without a `next`: a platform admin's work is the admin area (their
/// workspaces, if any, stay a click away in the header); everyone else's is the dashboard.
fn landing(is_platform_admin: bool) -> &'static str {
    if is_platform_admin {
        "/admin"
    } else {
        "/dashboard"
    }
}

/// The sign-in form; someone already signed in goes straight on.
pub async fn form(
    visitor: Visitor,
    query: web::Query<SignInQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    if let Some(account) = &visitor.account {
        return Ok(redirect(&safe_next(
            query.next.as_deref(),
            landing(account.user.is_platform_admin),
        )));
    }
    render(&SignInPage {
        layout: visitor
            .layout("Sign in")
            .with_notice(query.notice.as_deref()),
        form: SignInForm {
            next: query.next,
            ..SignInForm::default()
        },
        errors: FieldErrors::new(),
        support: SupportContact::of(&visitor.state.config),
    })
}

/// Check the credentials; on success a fresh session (and CSRF token) and on to `next`.
pub async fn submit(
    visitor: Visitor,
    form: web::Form<SignInForm>,
) -> Result<HttpResponse, AppError> {
    let mut form = form.into_inner();
    let password = std::mem::take(&mut form.password);
    let remember = form.remember.is_some();
    let state = visitor.state.clone();
    match signin::sign_in(&state, &form.email, &password, remember, &visitor.client).await {
        Ok(signed_in) => signed_in_redirect(
            &safe_next(form.next.as_deref(), landing(signed_in.is_platform_admin)),
            signed_in.token,
            remember,
            &state,
        ),
        Err(e) => {
            let retry_after = match &e {
                ServiceError::RateLimited { retry_after } => Some(retry_after.as_secs().max(1)),
                _ => None,
            };
            let (status, errors) = form_errors(e)?;
            let mut response = render_with_status(
                status,
                &SignInPage {
                    layout: visitor.layout("Sign in"),
                    form,
                    errors,
                    support: SupportContact::of(&visitor.state.config),
                },
            )?;
            if let Some(seconds) = retry_after {
                response.headers_mut().insert(
                    actix_web::http::header::RETRY_AFTER,
                    actix_web::http::header::HeaderValue::from(seconds),
                );
            }
            Ok(response)
        }
    }
}

/// Sign this browser out.
pub async fn sign_out(req: HttpRequest, visitor: Visitor) -> Result<HttpResponse, AppError> {
    if let Some(cookie) = req.cookie(SESSION_COOKIE) {
        sessions::end(&visitor.state, cookie.value()).await?;
    }
    let mut response = redirect_with_notice("/login", "signed_out");
    response
        .add_removal_cookie(&cleared_session_cookie())
        .map_err(AppError::internal)?;
    Ok(response)
}
