//! `/invitations/{token}`: see what an invitation offers and accept it.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::{form_errors, redirect_with_notice, render_with_status};
use crate::error::ServiceError;
use crate::tenants::invitations::{self, InvitationPreview};
use crate::validation::FieldErrors;
use crate::web::AppError;
use crate::web::auth::Visitor;
use crate::web::layout::Layout;

#[derive(Template)]
#[template(path = "pages/invitation.html")]
struct InvitationPage {
    layout: Layout,
    token: String,
    invitation: Option<InvitationPreview>,
    signed_in_as: Option<String>,
    errors: FieldErrors,
}

fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// `GET /invitations/{token}`.
pub async fn show(visitor: Visitor, token: web::Path<String>) -> Result<HttpResponse, AppError> {
    let token = token.into_inner();
    let (invitation, status) = match invitations::preview(&visitor.state, &token).await {
        Ok(preview) => (Some(preview), StatusCode::OK),
        Err(ServiceError::NotFound) => (None, StatusCode::GONE),
        Err(e) => return Err(e.into()),
    };
    let page = InvitationPage {
        layout: visitor.layout("Invitation"),
        signed_in_as: visitor.account.as_ref().map(|a| a.user.email.clone()),
        token,
        invitation,
        errors: FieldErrors::new(),
    };
    render_with_status(status, &page)
}

/// `POST /invitations/{token}/accept`: signed in, join now; otherwise sign up (or in) first.
pub async fn accept(visitor: Visitor, token: web::Path<String>) -> Result<HttpResponse, AppError> {
    let token = token.into_inner();
    let Some(account) = &visitor.account else {
        let preview = invitations::preview(&visitor.state, &token).await?;
        return Ok(crate::web::error::redirect(&format!(
            "/signup?invitation={}&email={}",
            encode(&token),
            encode(&preview.email)
        )));
    };
    match invitations::accept(&visitor.state, &token, &account.user.id, &visitor.client).await {
        Ok(tenant_id) => {
            crate::accounts::sessions::switch_tenant(&visitor.state, &account.session, &tenant_id)
                .await?;
            Ok(redirect_with_notice("/dashboard", "joined"))
        }
        Err(e) => {
            let (status, errors) = form_errors(e)?;
            let invitation = invitations::preview(&visitor.state, &token).await.ok();
            let page = InvitationPage {
                layout: visitor.layout("Invitation"),
                signed_in_as: Some(account.user.email.clone()),
                token,
                invitation,
                errors,
            };
            render_with_status(status, &page)
        }
    }
}
