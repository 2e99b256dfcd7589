//! `GET /dashboard`: the workspace at a glance: bots with live status and today's messages,
//! the plan (and its trial) with usage against its limits, recent conversations, quick actions and analytics.

use actix_web::{HttpResponse, web};
use askama::Template;

use super::NoticeQuery;
use super::analytics::AnalyticsView;
use crate::billing::plan_usage::{self, PlanUsage};
use crate::bots::dashboard::{self, BotSummary, Dashboard};
use crate::onboarding::{self, Step};
use crate::web::auth::Member;
use crate::web::layout::Layout;
use crate::web::{AppError, render};

/// The bots panel, polled for live status.
#[derive(Template)]
#[template(path = "partials/dashboard_bots.html")]
struct BotsPanel {
    bots: Vec<BotSummary>,
    csrf: String,
    /// Owners and admins pair bots; members see them.
    can_edit: bool,
}

#[derive(Template)]
#[template(path = "pages/dashboard.html")]
struct DashboardPage {
    layout: Layout,
    workspace_name: String,
    overview: Dashboard,
    /// The plan, its trial and usage: the same answer the billing page gives.
    plan: PlanUsage,
    bots: BotsPanel,
    /// The wizard's step, while it is not finished.
    onboarding: Option<Step>,
    upgrade_path: &'static str,
    /// Messages per day per bot, top commands and median reply time.
    view: AnalyticsView,
}

/// The dashboard of the workspace in view.
pub async fn show(
    member: Member,
    query: web::Query<NoticeQuery>,
) -> Result<HttpResponse, AppError> {
    let state = &member.visitor.state;
    let mut overview = dashboard::load(state, &member.scope).await?;
    let plan = plan_usage::load(state, &member.scope).await?;
    let progress = onboarding::progress(state, &member.scope).await?;
    let analytics = crate::analytics::for_workspace(state, &member.scope).await?;
    let layout = member
        .visitor
        .layout("Dashboard")
        .with_notice(query.notice.as_deref());
    let workspace_name = layout
        .current_workspace
        .as_ref()
        .map(|w| w.name.clone())
        .unwrap_or_default();
    let bots = BotsPanel {
        bots: std::mem::take(&mut overview.bots),
        csrf: member.visitor.csrf.clone(),
        can_edit: member.scope.role().can_edit_workspace(),
    };
    render(&DashboardPage {
        layout,
        workspace_name,
        overview,
        plan,
        bots,
        onboarding: Some(progress.step).filter(|s| *s != Step::Done),
        upgrade_path: crate::billing::entitlements::UPGRADE_PATH,
        view: AnalyticsView::new(analytics),
    })
}

/// `GET /dashboard/bots`: the bots panel alone.
pub async fn bots_panel(member: Member) -> Result<HttpResponse, AppError> {
    let overview = dashboard::load(&member.visitor.state, &member.scope).await?;
    render(&BotsPanel {
        bots: overview.bots,
        csrf: member.visitor.csrf.clone(),
        can_edit: member.scope.role().can_edit_workspace(),
    })
}
