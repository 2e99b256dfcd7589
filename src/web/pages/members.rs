//! `/workspace/members`: who is in the workspace, invitations, roles, ownership.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::confirm::{self, Question};
use super::{NoticeQuery, form_with_errors, redirect_with_notice, render_with_status};
use crate::tenancy::Role;
use crate::tenants::invitations::{self, Invitation, InvitationState};
use crate::tenants::members::{self, MemberChange, MemberView};
use crate::validation::FieldErrors;
use crate::web::AppError;
use crate::web::auth::Member;
use crate::web::layout::Layout;

#[derive(Debug, Default, Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

#[derive(Template)]
#[template(path = "pages/members.html")]
struct MembersPage {
    layout: Layout,
    me: String,
    my_role: Role,
    members: Vec<MemberView>,
    invitations: Vec<Invitation>,
    form: InviteForm,
    errors: FieldErrors,
    sent_link: Option<String>,
}

async fn page(
    member: &Member,
    notice: Option<&str>,
    form: InviteForm,
    errors: FieldErrors,
    sent_link: Option<String>,
) -> Result<MembersPage, AppError> {
    let state = &member.visitor.state;
    let members = members::list(state, &member.scope).await?;
    let invitations = if member.scope.role().can_manage_members() {
        invitations::pending(state, &member.scope).await?
    } else {
        Vec::new()
    };
    Ok(MembersPage {
        layout: member.visitor.layout("Members").with_notice(notice),
        me: member.scope.user_id().to_string(),
        my_role: member.scope.role(),
        members,
        invitations,
        form,
        errors,
        sent_link,
    })
}

/// `GET /workspace/members`.
pub async fn list(
    member: Member,
    query: web::Query<NoticeQuery>,
) -> Result<HttpResponse, AppError> {
    let page = page(
        &member,
        query.notice.as_deref(),
        InviteForm {
            role: "member".into(),
            ..InviteForm::default()
        },
        FieldErrors::new(),
        None,
    )
    .await?;
    render_with_status(StatusCode::OK, &page)
}

/// `POST /workspace/members/invite`: email the link and show it once for copying.
pub async fn invite(member: Member, form: web::Form<InviteForm>) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let state = member.visitor.state.clone();
    match invitations::invite(
        &state,
        &member.scope,
        &form.email,
        &form.role,
        &member.visitor.client,
    )
    .await
    {
        Ok(sent) => {
            let fresh = InviteForm {
                role: "member".into(),
                ..InviteForm::default()
            };
            let page = page(
                &member,
                Some("invited"),
                fresh,
                FieldErrors::new(),
                Some(sent.link),
            )
            .await?;
            render_with_status(StatusCode::OK, &page)
        }
        Err(e) => {
            form_with_errors(e, async |errors| {
                page(&member, None, form, errors, None).await
            })
            .await
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
}

/// `POST /workspace/members/{user_id}/role`.
pub async fn change_role(
    member: Member,
    user_id: web::Path<String>,
    form: web::Form<RoleForm>,
) -> Result<HttpResponse, AppError> {
    members::change_role(
        &member.visitor.state,
        &member.scope,
        &user_id,
        &form.role,
        &member.visitor.client,
    )
    .await
    .map_err(invalid_as_forbidden)?;
    Ok(redirect_with_notice("/workspace/members", "role_changed"))
}

/// `POST /workspace/members/{user_id}/remove`.
pub async fn remove(member: Member, user_id: web::Path<String>) -> Result<HttpResponse, AppError> {
    members::remove(
        &member.visitor.state,
        &member.scope,
        &user_id,
        &member.visitor.client,
    )
    .await?;
    Ok(redirect_with_notice("/workspace/members", "member_removed"))
}

/// `POST /workspace/members/{user_id}/transfer`.
pub async fn transfer(
    member: Member,
    user_id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    members::transfer_ownership(
        &member.visitor.state,
        &member.scope,
        &user_id,
        &member.visitor.client,
    )
    .await
    .map_err(invalid_as_forbidden)?;
    Ok(redirect_with_notice("/workspace/members", "transferred"))
}

/// `POST /workspace/leave`.
pub async fn leave(member: Member) -> Result<HttpResponse, AppError> {
    members::leave(&member.visitor.state, &member.scope, &member.visitor.client).await?;
    Ok(redirect_with_notice("/dashboard", "left"))
}

/// `POST /workspace/invitations/{id}/revoke`.
pub async fn revoke(member: Member, id: web::Path<String>) -> Result<HttpResponse, AppError> {
    invitations::revoke(
        &member.visitor.state,
        &member.scope,
        &id,
        &member.visitor.client,
    )
    .await?;
    Ok(redirect_with_notice("/workspace/members", "revoked"))
}

/// The confirmation of a change to the workspace's members, cancelled back to the list.
fn ask(
    req: &HttpRequest,
    member: &Member,
    title: String,
    consequence: String,
    action: String,
    button: &'static str,
) -> Result<HttpResponse, AppError> {
    confirm::ask(
        req,
        member.visitor.layout(&title),
        Question {
            title,
            consequence,
            action,
            button,
            cancel: "/workspace/members".into(),
            csrf: member.visitor.csrf.clone(),
        },
    )
}

/// The name of the workspace in view.
fn workspace_name(member: &Member) -> String {
    member
        .visitor
        .account
        .as_ref()
        .and_then(|a| a.current())
        .map(|w| w.name.clone())
        .unwrap_or_default()
}

/// `GET /workspace/members/{user_id}/remove`: ask first.
pub async fn confirm_remove(
    req: HttpRequest,
    member: Member,
    user_id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let them = members::find_for_change(
        &member.visitor.state,
        &member.scope,
        &user_id,
        MemberChange::Remove,
    )
    .await?;
    ask(
        &req,
        &member,
        format!("Remove {} from {}?", them.name, workspace_name(&member)),
        format!(
            "{} ({}) loses access to the workspace's bots and conversations at once. Their \
             account stays; you can invite them again later.",
            them.name, them.email
        ),
        format!("/workspace/members/{}/remove", them.user_id),
        "Remove member",
    )
}

/// `GET /workspace/members/{user_id}/transfer`: ask first.
pub async fn confirm_transfer(
    req: HttpRequest,
    member: Member,
    user_id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let them = members::find_for_change(
        &member.visitor.state,
        &member.scope,
        &user_id,
        MemberChange::MakeOwner,
    )
    .await
    .map_err(invalid_as_forbidden)?;
    ask(
        &req,
        &member,
        format!("Make {} the owner?", them.name),
        "You become an admin. Only the new owner can then change roles, manage the plan or \
         delete the workspace, and only they can give ownership back."
            .into(),
        format!("/workspace/members/{}/transfer", them.user_id),
        "Make owner",
    )
}

/// `GET /workspace/leave`: ask first.
pub async fn confirm_leave(req: HttpRequest, member: Member) -> Result<HttpResponse, AppError> {
    members::may_leave(&member.scope)?;
    ask(
        &req,
        &member,
        format!("Leave {}?", workspace_name(&member)),
        "You lose access to its bots and conversations until someone invites you again.".into(),
        "/workspace/leave".into(),
        "Leave workspace",
    )
}

/// `GET /workspace/invitations/{id}/revoke`: ask first.
pub async fn confirm_revoke(
    req: HttpRequest,
    member: Member,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    match invitations::state_of(&member.visitor.state, &member.scope, &id).await? {
        InvitationState::Pending(invitation) => ask(
            &req,
            &member,
            format!("Withdraw the invitation to {}?", invitation.email),
            "The link in the email stops working. You can invite them again later.".into(),
            format!("/workspace/invitations/{}/revoke", invitation.id),
            "Withdraw invitation",
        ),
        InvitationState::Closed { email, what } => confirm::nothing_left(
            &req,
            member.visitor.layout("Nothing to withdraw"),
            format!("The invitation to {email} was {what}"),
            "There is nothing left to withdraw.".into(),
            "/workspace/members".into(),
        ),
    }
}

/// Buttons (not typed fields) carry these requests: a refusal reads as a page, not a form.
fn invalid_as_forbidden(e: crate::error::ServiceError) -> AppError {
    match e {
        crate::error::ServiceError::Invalid(errors) => {
            AppError::Forbidden(errors.first_message().unwrap_or("Not allowed.").to_owned())
        }
        other => other.into(),
    }
}
