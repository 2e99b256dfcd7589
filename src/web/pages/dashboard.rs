//! `GET /dashboard`: the workspace at a glance.

use actix_web::{HttpResponse, web};
use askama::Template;

use super::NoticeQuery;
use crate::tenants::members::{self, MemberView};
use crate::web::auth::Member;
use crate::web::layout::Layout;
use crate::web::{AppError, render};

#[derive(Template)]
#[template(path = "pages/dashboard.html")]
struct DashboardPage {
    layout: Layout,
    workspace_name: String,
    role: String,
    members: Vec<MemberView>,
}

/// The dashboard of the workspace in view.
pub async fn show(
    member: Member,
    query: web::Query<NoticeQuery>,
) -> Result<HttpResponse, AppError> {
    let members = members::list(&member.visitor.state, &member.scope).await?;
    let layout = member
        .visitor
        .layout("Dashboard")
        .with_notice(query.notice.as_deref());
    let workspace_name = layout
        .current_workspace
        .as_ref()
        .map(|w| w.name.clone())
        .unwrap_or_default();
    render(&DashboardPage {
        layout,
        workspace_name,
        role: member.scope.role().label().to_owned(),
        members,
    })
}
