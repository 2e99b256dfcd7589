//! Public pages.

use actix_web::{HttpResponse, web};
use askama::Template;

use crate::web::layout::Layout;

use super::super::{AppError, AppState, render};
use crate::billing::plans::{self, Plan};
use crate::web::auth::Visitor;

/// A plan as the pricing teaser shows it.
struct PlanCard {
    name: String,
    price: String,
    is_free: bool,
    highlights: Vec<String>,
    featured: bool,
}

impl PlanCard {
    fn from_plan(plan: &Plan) -> Self {
        Self {
            name: plan.name.clone(),
            price: plan.price_label(),
            is_free: plan.monthly_price_cents == 0,
            highlights: plan.includes(),
            featured: plan.id == "pro",
        }
    }
}

#[derive(Template)]
#[template(path = "pages/landing.html")]
struct LandingPage {
    layout: Layout,
    plans: Vec<PlanCard>,
}

/// `GET /`: what the product does, the plans, and the way in.
pub async fn landing(
    state: web::Data<AppState>,
    visitor: Visitor,
) -> Result<HttpResponse, AppError> {
    let plans = state.db.run(plans::list).await?;
    render(&LandingPage {
        layout: visitor.layout("WhatsApp bots for your business"),
        plans: plans.iter().map(PlanCard::from_plan).collect(),
    })
}
