//! `GET /analytics`: the workspace's own numbers (messages per day per bot, top commands,
//! median reply time), read from the roll-ups.

use actix_web::HttpResponse;
use askama::Template;

use crate::admin::charts;
use crate::analytics::{self, Analytics};
use crate::web::auth::Member;
use crate::web::layout::Layout;
use crate::web::{AppError, render};

/// The analytics block; the dashboard can include `partials/analytics.html` with it.
pub struct AnalyticsView {
    pub a: Analytics,
    /// One chart per bot, in the order of `a.bots`.
    pub charts: Vec<String>,
}

impl AnalyticsView {
    /// Draw the charts for `a`.
    pub fn new(a: Analytics) -> Self {
        let charts = a
            .bots
            .iter()
            .map(|bot| charts::daily_bars(&bot.bot_name, &bot.days, charts::MESSAGES))
            .collect();
        Self { a, charts }
    }

    /// The median reply time for people, or a dash.
    pub fn median_reply(&self) -> String {
        self.a
            .median_reply_ms
            .map_or_else(|| "—".to_owned(), analytics::human_duration)
    }
}

#[derive(Template)]
#[template(path = "pages/analytics.html")]
struct AnalyticsPage {
    layout: Layout,
    view: AnalyticsView,
}

/// `GET /analytics`.
pub async fn show(member: Member) -> Result<HttpResponse, AppError> {
    let a = analytics::for_workspace(&member.visitor.state, &member.scope).await?;
    render(&AnalyticsPage {
        layout: member.visitor.layout("Analytics"),
        view: AnalyticsView::new(a),
    })
}
