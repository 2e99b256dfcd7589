//! Emailed links: forgot/reset password, verify email.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{NoticeQuery, form_errors, form_with_errors, redirect_with_notice, render_with_status};
use crate::accounts::email_links;
use crate::validation::FieldErrors;
use crate::web::auth::{SignedIn, Visitor};
use crate::web::layout::Layout;
use crate::web::{AppError, render};

#[derive(Debug, Default, Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    email: String,
}

#[derive(Template)]
#[template(path = "pages/forgot.html")]
struct ForgotPage {
    layout: Layout,
    form: ForgotForm,
    errors: FieldErrors,
}

/// `GET /password/forgot`.
pub async fn forgot_form(
    visitor: Visitor,
    query: web::Query<NoticeQuery>,
) -> Result<HttpResponse, AppError> {
    render(&ForgotPage {
        layout: visitor
            .layout("Reset your password")
            .with_notice(query.notice.as_deref()),
        form: ForgotForm::default(),
        errors: FieldErrors::new(),
    })
}

/// `POST /password/forgot`: the same answer whether or not the address has an account.
pub async fn forgot_submit(
    visitor: Visitor,
    form: web::Form<ForgotForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    match email_links::request_password_reset(&visitor.state, &form.email).await {
        Ok(()) => Ok(redirect_with_notice("/password/forgot", "reset_sent")),
        Err(e) => {
            form_with_errors(e, async |errors| {
                Ok(ForgotPage {
                    layout: visitor.layout("Reset your password"),
                    form,
                    errors,
                })
            })
            .await
        }
    }
}

#[derive(Template)]
#[template(path = "pages/reset.html")]
struct ResetPage {
    layout: Layout,
    token: String,
    usable: bool,
    errors: FieldErrors,
}

#[derive(Debug, Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    password: String,
}

/// `GET /password/reset/{token}`.
pub async fn reset_form(
    visitor: Visitor,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let token = token.into_inner();
    let usable = email_links::reset_link_is_usable(&visitor.state, &token).await?;
    let page = ResetPage {
        layout: visitor.layout("Choose a new password"),
        token,
        usable,
        errors: FieldErrors::new(),
    };
    let status = if usable {
        StatusCode::OK
    } else {
        StatusCode::GONE
    };
    render_with_status(status, &page)
}

/// `POST /password/reset/{token}`.
pub async fn reset_submit(
    visitor: Visitor,
    token: web::Path<String>,
    form: web::Form<ResetForm>,
) -> Result<HttpResponse, AppError> {
    let token = token.into_inner();
    match email_links::reset_password(&visitor.state, &token, &form.password, &visitor.client).await
    {
        Ok(()) => Ok(redirect_with_notice("/login", "password_reset")),
        Err(e) => {
            let (status, errors) = form_errors(e)?;
            let usable = errors.get("token").is_none();
            render_with_status(
                status,
                &ResetPage {
                    layout: visitor.layout("Choose a new password"),
                    token,
                    usable,
                    errors,
                },
            )
        }
    }
}

#[derive(Template)]
#[template(path = "pages/message.html")]
struct MessagePage<'a> {
    layout: Layout,
    heading: &'a str,
    message: &'a str,
}

/// `GET /verify-email/{token}`.
pub async fn verify_email(
    visitor: Visitor,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    match email_links::verify_email(&visitor.state, &token, &visitor.client).await {
        Ok(()) => Ok(redirect_with_notice(
            if visitor.account.is_some() {
                "/dashboard"
            } else {
                "/login"
            },
            "email_verified",
        )),
        Err(e) => {
            let (_, errors) = form_errors(e)?;
            render_with_status(
                StatusCode::GONE,
                &MessagePage {
                    layout: visitor.layout("Link expired"),
                    heading: "This link cannot be used",
                    message: errors.get("token").unwrap_or(email_links::LINK_UNUSABLE),
                },
            )
        }
    }
}

/// `POST /verify-email/resend`.
pub async fn resend_verification(
    SignedIn { visitor, account }: SignedIn,
) -> Result<HttpResponse, AppError> {
    if !account.user.is_verified() {
        email_links::send_verification(&visitor.state, &account.user.id, &account.user.email)
            .await?;
    }
    Ok(redirect_with_notice("/dashboard", "verification_sent"))
}
