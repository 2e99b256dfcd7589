//! `GET/POST /signup`.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::form_with_errors;
use crate::accounts::sessions;
use crate::accounts::signup::{self, SignUp};
use crate::onboarding::Step;
use crate::validation::FieldErrors;
use crate::web::auth::{Visitor, signed_in_redirect};
use crate::web::layout::Layout;
use crate::web::{AppError, render};

#[derive(Debug, Default, Deserialize)]
pub struct SignUpForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    workspace_name: String,
    invitation: Option<String>,
}

#[derive(Template)]
#[template(path = "pages/signup.html")]
struct SignUpPage {
    layout: Layout,
    form: SignUpForm,
    errors: FieldErrors,
}

#[derive(Debug, Deserialize)]
pub struct SignUpQuery {
    invitation: Option<String>,
    email: Option<String>,
}

/// The sign-up form (with an invitation, its email is filled in and no workspace is asked).
pub async fn form(
    visitor: Visitor,
    query: web::Query<SignUpQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    render(&SignUpPage {
        layout: visitor.layout("Create your account"),
        form: SignUpForm {
            email: query.email.unwrap_or_default(),
            invitation: query.invitation,
            ..SignUpForm::default()
        },
        errors: FieldErrors::new(),
    })
}

/// Create the account, sign in, and start the onboarding wizard (or, joining by invitation,
/// land on the dashboard).
pub async fn submit(
    visitor: Visitor,
    form: web::Form<SignUpForm>,
) -> Result<HttpResponse, AppError> {
    let mut form = form.into_inner();
    let state = visitor.state.clone();
    let request = SignUp {
        name: form.name.clone(),
        email: form.email.clone(),
        password: std::mem::take(&mut form.password),
        workspace_name: form.workspace_name.clone(),
        invitation: form.invitation.clone().filter(|t| !t.is_empty()),
    };
    let joined = request.invitation.is_some();
    match signup::sign_up(&state, request, &visitor.client).await {
        Ok(created) => {
            let (token, _) = sessions::start(
                &state,
                &created.user_id,
                Some(created.tenant_id),
                false,
                &visitor.client,
            )
            .await?;
            // A new workspace goes through the onboarding wizard; a person joining one does not.
            let next = if joined {
                "/dashboard?notice=joined".to_owned()
            } else {
                format!("/onboarding/{}?notice=welcome", Step::FIRST.as_str())
            };
            signed_in_redirect(&next, token, false, &state)
        }
        Err(e) => {
            form_with_errors(e, async |errors| {
                Ok(SignUpPage {
                    layout: visitor.layout("Create your account"),
                    form,
                    errors,
                })
            })
            .await
        }
    }
}
