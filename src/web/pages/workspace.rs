//! The workspace itself: settings, rename, delete, audit log, switching, creating.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{NoticeQuery, form_errors, form_with_errors, redirect_with_notice, render_with_status};
use crate::accounts::sessions;
use crate::tenants::audit::{self, AuditEvent};
use crate::tenants::workspaces;
use crate::validation::FieldErrors;
use crate::web::auth::{Member, SignedIn};
use crate::web::layout::Layout;
use crate::web::{AppError, render};

#[derive(Template)]
#[template(path = "pages/workspace_settings.html")]
struct SettingsPage {
    layout: Layout,
    name: String,
    can_edit: bool,
    is_owner: bool,
    errors: FieldErrors,
}

async fn settings_page(
    member: &Member,
    notice: Option<&str>,
    name: Option<String>,
    errors: FieldErrors,
) -> Result<SettingsPage, AppError> {
    let tenant = workspaces::find(&member.visitor.state, &member.scope).await?;
    Ok(SettingsPage {
        layout: member
            .visitor
            .layout("Workspace settings")
            .with_notice(notice),
        name: name.unwrap_or(tenant.name),
        can_edit: member.scope.role().can_edit_workspace(),
        is_owner: member.scope.role().is_owner(),
        errors,
    })
}

/// `GET /workspace/settings`.
pub async fn settings(
    member: Member,
    query: web::Query<NoticeQuery>,
) -> Result<HttpResponse, AppError> {
    render(&settings_page(&member, query.notice.as_deref(), None, FieldErrors::new()).await?)
}

#[derive(Debug, Deserialize)]
pub struct RenameForm {
    #[serde(default)]
    name: String,
}

/// `POST /workspace/settings`.
pub async fn rename(member: Member, form: web::Form<RenameForm>) -> Result<HttpResponse, AppError> {
    match workspaces::rename(
        &member.visitor.state,
        &member.scope,
        &form.name,
        &member.visitor.client,
    )
    .await
    {
        Ok(()) => Ok(redirect_with_notice("/workspace/settings", "renamed")),
        Err(e) => {
            form_with_errors(e, async |errors| {
                settings_page(&member, None, Some(form.into_inner().name), errors).await
            })
            .await
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    confirmation: String,
}

/// `POST /workspace/delete`.
pub async fn delete(member: Member, form: web::Form<DeleteForm>) -> Result<HttpResponse, AppError> {
    match workspaces::delete(&member.visitor.state, &member.scope, &form.confirmation).await {
        Ok(()) => {
            // The rows are gone; the workspace's media files go after them.
            let tenant_id = member.scope.tenant_id().as_str();
            let store = member.visitor.state.bots.media_store();
            if let Err(e) = store.remove_workspace(tenant_id).await {
                tracing::error!(%tenant_id, error = %e, "a deleted workspace's media files were not removed");
            }
            Ok(redirect_with_notice("/dashboard", "workspace_deleted"))
        }
        Err(e) => {
            form_with_errors(e, async |errors| {
                settings_page(&member, None, None, errors).await
            })
            .await
        }
    }
}

#[derive(Template)]
#[template(path = "pages/audit.html")]
struct AuditPage {
    layout: Layout,
    events: Vec<AuditEvent>,
}

/// `GET /workspace/audit` (owners).
pub async fn audit_log(member: Member) -> Result<HttpResponse, AppError> {
    if !member.scope.role().is_owner() {
        return Err(AppError::Forbidden(
            "Only the workspace owner can read the audit log.".into(),
        ));
    }
    let events = audit::list_for_tenant(&member.visitor.state.db, &member.scope, 200).await?;
    render(&AuditPage {
        layout: member.visitor.layout("Audit log"),
        events,
    })
}

#[derive(Debug, Deserialize)]
pub struct SwitchForm {
    #[serde(default)]
    tenant_id: String,
}

/// `POST /workspaces/switch`: only to a workspace the person belongs to; any other id is 404.
pub async fn switch(
    SignedIn { visitor, account }: SignedIn,
    form: web::Form<SwitchForm>,
) -> Result<HttpResponse, AppError> {
    if !account
        .workspaces
        .iter()
        .any(|w| w.tenant_id.as_str() == form.tenant_id)
    {
        return Err(AppError::NotFound);
    }
    sessions::switch_tenant(&visitor.state, &account.session, &form.tenant_id).await?;
    Ok(redirect_with_notice("/dashboard", "switched"))
}

#[derive(Template)]
#[template(path = "pages/new_workspace.html")]
struct NewWorkspacePage {
    layout: Layout,
    name: String,
    errors: FieldErrors,
}

/// `GET /workspaces/new`.
pub async fn new_form(SignedIn { visitor, .. }: SignedIn) -> Result<HttpResponse, AppError> {
    render(&NewWorkspacePage {
        layout: visitor.layout("New workspace"),
        name: String::new(),
        errors: FieldErrors::new(),
    })
}

#[derive(Debug, Deserialize)]
pub struct NewWorkspaceForm {
    #[serde(default)]
    workspace_name: String,
}

/// `POST /workspaces/new`: create it and put it in view.
pub async fn create(
    SignedIn { visitor, account }: SignedIn,
    form: web::Form<NewWorkspaceForm>,
) -> Result<HttpResponse, AppError> {
    match workspaces::create(&visitor.state, &account.user.id, &form.workspace_name).await {
        Ok(tenant_id) => {
            sessions::switch_tenant(&visitor.state, &account.session, &tenant_id).await?;
            Ok(redirect_with_notice("/dashboard", "switched"))
        }
        Err(e) => {
            let (status, errors) = form_errors(e)?;
            let page = NewWorkspacePage {
                layout: visitor.layout("New workspace"),
                name: form.into_inner().workspace_name,
                errors,
            };
            render_with_status(
                if status == StatusCode::OK {
                    StatusCode::UNPROCESSABLE_ENTITY
                } else {
                    status
                },
                &page,
            )
        }
    }
}
