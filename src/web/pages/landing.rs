//! Public pages.

use actix_web::{HttpResponse, web};
use askama::Template;

use crate::web::layout::Layout;

use super::super::{AppError, AppState, render};
use crate::billing::plans::{self, Feature, Plan};
use crate::web::auth::Visitor;

/// A plan as the pricing teaser shows it.
struct PlanCard {
    name: String,
    monthly_price: i32,
    highlights: Vec<String>,
    featured: bool,
}

impl PlanCard {
    fn from_plan(plan: &Plan) -> Self {
        let limit = |n: Option<i32>, unit: &str| match n {
            Some(n) => format!("{} {unit}", group_thousands(n)),
            None => format!("Unlimited {unit}"),
        };
        let mut highlights = vec![
            limit(
                plan.max_bots,
                if plan.max_bots == Some(1) {
                    "bot"
                } else {
                    "bots"
                },
            ),
            limit(plan.max_messages_per_month, "messages a month"),
            limit(
                plan.max_members,
                if plan.max_members == Some(1) {
                    "team member"
                } else {
                    "team members"
                },
            ),
        ];
        highlights.extend(
            plan.feature_list()
                .into_iter()
                .map(Feature::label)
                .map(String::from),
        );
        Self {
            name: plan.name.clone(),
            monthly_price: plan.monthly_price(),
            highlights,
            featured: plan.id == "pro",
        }
    }
}

/// 12345 → "12,345".
pub(super) fn group_thousands(n: i32) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
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

#[cfg(test)]
mod tests {
    use super::group_thousands;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(group_thousands(0), "0");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(1_000), "1,000");
        assert_eq!(group_thousands(1_000_000), "1,000,000");
        assert_eq!(group_thousands(-12_345), "-12,345");
    }
}
