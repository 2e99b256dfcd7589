//! `/account`: the signed-in person's own settings.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::confirm::{self, Question};
use super::{NoticeQuery, form_with_errors, redirect_with_notice};
use crate::accounts::sessions;
use crate::accounts::settings::{self, DELETE_ACCOUNT_PHRASE};
use crate::validation::FieldErrors;
use crate::web::auth::{SignedIn, Visitor, cleared_session_cookie};
use crate::web::layout::Layout;
use crate::web::{AppError, render};

#[derive(Template)]
#[template(path = "pages/account.html")]
struct AccountPage {
    layout: Layout,
    name: String,
    email: String,
    new_email: String,
    errors: FieldErrors,
    delete_phrase: &'static str,
}

fn page(
    visitor: &Visitor,
    notice: Option<&str>,
    errors: FieldErrors,
    name: Option<String>,
    new_email: String,
) -> Result<AccountPage, AppError> {
    let account = visitor.account.as_ref().ok_or(AppError::NotFound)?;
    Ok(AccountPage {
        layout: visitor.layout("Your account").with_notice(notice),
        name: name.unwrap_or_else(|| account.user.name.clone()),
        email: account.user.email.clone(),
        new_email,
        errors,
        delete_phrase: DELETE_ACCOUNT_PHRASE,
    })
}

/// `GET /account`.
pub async fn show(
    SignedIn { visitor, .. }: SignedIn,
    query: web::Query<NoticeQuery>,
) -> Result<HttpResponse, AppError> {
    render(&page(
        &visitor,
        query.notice.as_deref(),
        FieldErrors::new(),
        None,
        String::new(),
    )?)
}

#[derive(Debug, Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    name: String,
}

/// `POST /account/profile`.
pub async fn save_profile(
    SignedIn { visitor, account }: SignedIn,
    form: web::Form<ProfileForm>,
) -> Result<HttpResponse, AppError> {
    let user_id = account.user.id.clone();
    match settings::change_name(&visitor.state, &user_id, &form.name).await {
        Ok(()) => Ok(redirect_with_notice("/account", "profile_saved")),
        Err(e) => {
            form_with_errors(e, async |errors| {
                page(
                    &visitor,
                    None,
                    errors,
                    Some(form.into_inner().name),
                    String::new(),
                )
            })
            .await
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct EmailForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    current_password: String,
}

/// `POST /account/email`.
pub async fn change_email(
    SignedIn { visitor, account }: SignedIn,
    form: web::Form<EmailForm>,
) -> Result<HttpResponse, AppError> {
    let user_id = account.user.id.clone();
    match settings::change_email(
        &visitor.state,
        &user_id,
        &form.email,
        &form.current_password,
    )
    .await
    {
        Ok(_) => Ok(redirect_with_notice("/account", "email_sent")),
        Err(e) => {
            form_with_errors(e, async |errors| {
                page(&visitor, None, errors, None, form.into_inner().email)
            })
            .await
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
}

/// `POST /account/password`.
pub async fn change_password(
    SignedIn { visitor, account }: SignedIn,
    form: web::Form<PasswordForm>,
) -> Result<HttpResponse, AppError> {
    let session = account.session.clone();
    match settings::change_password(
        &visitor.state,
        &session,
        &form.current_password,
        &form.new_password,
        &visitor.client,
    )
    .await
    {
        Ok(()) => Ok(redirect_with_notice("/account", "password_changed")),
        Err(e) => {
            form_with_errors(e, async |errors| {
                page(&visitor, None, errors, None, String::new())
            })
            .await
        }
    }
}

/// `GET /account/sign-out-everywhere`: ask first.
pub async fn confirm_sign_out_everywhere(
    req: HttpRequest,
    SignedIn { visitor, .. }: SignedIn,
) -> Result<HttpResponse, AppError> {
    let title = "Sign out everywhere?".to_owned();
    confirm::ask(
        &req,
        visitor.layout(&title),
        Question {
            title,
            consequence: "Every session of your account ends, on every device, this one \
                 included. You sign in again with your password."
                .into(),
            action: "/account/sign-out-everywhere".into(),
            button: "Sign out everywhere",
            cancel: "/account".into(),
            csrf: visitor.csrf.clone(),
        },
    )
}
/// `POST /account/sign-out-everywhere`.
pub async fn sign_out_everywhere(
    SignedIn { visitor, account }: SignedIn,
) -> Result<HttpResponse, AppError> {
    let session = account.session.clone();
    sessions::sign_out_everywhere(&visitor.state, &session, &visitor.client).await?;
    let mut response = redirect_with_notice("/login", "signed_out_everywhere");
    response
        .add_removal_cookie(&cleared_session_cookie())
        .map_err(AppError::internal)?;
    Ok(response)
}

#[derive(Debug, Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    confirmation: String,
    #[serde(default)]
    current_password: String,
}

/// `POST /account/delete`.
pub async fn delete(
    SignedIn { visitor, account }: SignedIn,
    form: web::Form<DeleteForm>,
) -> Result<HttpResponse, AppError> {
    let user_id = account.user.id.clone();
    match settings::delete_account(
        &visitor.state,
        &user_id,
        &form.confirmation,
        &form.current_password,
    )
    .await
    {
        Ok(()) => {
            let mut response = redirect_with_notice("/login", "account_deleted");
            response
                .add_removal_cookie(&cleared_session_cookie())
                .map_err(AppError::internal)?;
            Ok(response)
        }
        Err(e) => {
            form_with_errors(e, async |errors| {
                page(&visitor, None, errors, None, String::new())
            })
            .await
        }
    }
}
