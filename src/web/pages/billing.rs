//! Billing pages: the public pricing page, the workspace's plan and usage, the upgrade page,
//! the ways to Stripe (checkout, portal) and Stripe's webhook.

use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::render_with_status;
use crate::billing::checkout;
use crate::billing::plan_usage::{self, PlanUsage};
use crate::billing::plans::Plan;
use crate::billing::webhooks::{self, WebhookError};
use crate::error::ServiceError;
use crate::web::auth::{Member, Visitor};
use crate::web::error::SupportContact;
use crate::web::layout::Layout;
use crate::web::{AppError, AppState, json_error, render};

/// A plan as the pricing and upgrade pages show it.
pub struct PlanCard {
    pub id: String,
    pub name: String,
    pub price: String,
    pub is_free: bool,
    pub lines: Vec<String>,
    pub featured: bool,
    pub is_current: bool,
}

impl PlanCard {
    pub(super) fn new(plan: &Plan, current: Option<&str>) -> Self {
        Self {
            id: plan.id.clone(),
            name: plan.name.clone(),
            price: plan.price_label(),
            is_free: plan.monthly_price_cents == 0,
            lines: plan.includes(),
            featured: plan.id == "pro",
            is_current: current == Some(plan.id.as_str()),
        }
    }
}

#[derive(Template)]
#[template(path = "pages/pricing.html")]
struct PricingPage {
    layout: Layout,
    plans: Vec<PlanCard>,
}

/// `GET /pricing`: every plan, for anyone.
pub async fn pricing(
    state: web::Data<AppState>,
    visitor: Visitor,
) -> Result<HttpResponse, AppError> {
    let plans = plan_usage::catalogue(&state).await?;
    render(&PricingPage {
        layout: visitor.layout("Pricing"),
        plans: plans.iter().map(|p| PlanCard::new(p, None)).collect(),
    })
}

/// `?checkout=` after a trip to Stripe.
#[derive(Debug, Deserialize)]
pub struct ReturnQuery {
    checkout: Option<String>,
}

#[derive(Template)]
#[template(path = "pages/billing.html")]
struct BillingPage {
    layout: Layout,
    overview: PlanUsage,
    is_owner: bool,
    just_paid: bool,
    error: Option<String>,
}

async fn billing_page(
    member: &Member,
    just_paid: bool,
    error: Option<String>,
) -> Result<BillingPage, AppError> {
    let overview = plan_usage::load(&member.visitor.state, &member.scope).await?;
    Ok(BillingPage {
        layout: member.visitor.layout("Plan and usage"),
        overview,
        is_owner: member.scope.role().is_owner(),
        just_paid,
        error,
    })
}

/// `GET /billing`: the plan, each quota's use and the last periods.
pub async fn show(
    member: Member,
    query: web::Query<ReturnQuery>,
) -> Result<HttpResponse, AppError> {
    let just_paid = query.checkout.as_deref() == Some("success");
    render(&billing_page(&member, just_paid, None).await?)
}

#[derive(Template)]
#[template(path = "pages/upgrade.html")]
struct UpgradePage {
    layout: Layout,
    plans: Vec<PlanCard>,
    is_owner: bool,
    checkout_enabled: bool,
    /// Whether this person may buy here: the owner, with Stripe configured.
    can_buy: bool,
    /// Whom to ask for another plan when this server sells none.
    support: SupportContact,
    cancelled: bool,
    error: Option<String>,
}

async fn upgrade_page(
    member: &Member,
    cancelled: bool,
    error: Option<String>,
) -> Result<UpgradePage, AppError> {
    let state = &member.visitor.state;
    let overview = plan_usage::load(state, &member.scope).await?;
    let plans = plan_usage::catalogue(state).await?;
    let is_owner = member.scope.role().is_owner();
    let checkout_enabled = state.config.billing.checkout_enabled();
    Ok(UpgradePage {
        layout: member.visitor.layout("Choose a plan"),
        plans: plans
            .iter()
            .map(|p| PlanCard::new(p, Some(&overview.plan.id)))
            .collect(),
        is_owner,
        checkout_enabled,
        can_buy: is_owner && checkout_enabled,
        support: SupportContact::of(&state.config),
        cancelled,
        error,
    })
}

/// `GET /billing/upgrade`: the plans, with a way to buy each.
pub async fn upgrade(
    member: Member,
    query: web::Query<ReturnQuery>,
) -> Result<HttpResponse, AppError> {
    let cancelled = query.checkout.as_deref() == Some("cancelled");
    render(&upgrade_page(&member, cancelled, None).await?)
}

#[derive(Debug, Deserialize)]
pub struct PlanForm {
    #[serde(default)]
    plan: String,
}

/// `POST /billing/checkout`: off to Stripe's checkout page for the chosen plan.
pub async fn start_checkout(
    member: Member,
    form: web::Form<PlanForm>,
) -> Result<HttpResponse, AppError> {
    match checkout::start_checkout(&member.visitor.state, &member.scope, &form.plan).await {
        Ok(url) => Ok(crate::web::error::redirect(&url)),
        Err(ServiceError::Invalid(errors)) => render_with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &upgrade_page(&member, false, errors.get("plan").map(str::to_owned)).await?,
        ),
        Err(ServiceError::Internal(cause)) => {
            tracing::error!(%cause, "checkout failed");
            render_with_status(
                StatusCode::BAD_GATEWAY,
                &upgrade_page(
                    &member,
                    false,
                    Some(
                        "We could not reach our payment provider. Please try again in a minute."
                            .into(),
                    ),
                )
                .await?,
            )
        }
        Err(other) => Err(other.into()),
    }
}

/// `POST /billing/portal`: off to Stripe's Billing Portal (change plan, card, cancel).
pub async fn open_portal(member: Member) -> Result<HttpResponse, AppError> {
    match checkout::open_portal(&member.visitor.state, &member.scope).await {
        Ok(url) => Ok(crate::web::error::redirect(&url)),
        Err(ServiceError::Invalid(errors)) => render_with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &billing_page(&member, false, errors.get("plan").map(str::to_owned)).await?,
        ),
        Err(ServiceError::Internal(cause)) => {
            tracing::error!(%cause, "billing portal failed");
            render_with_status(
                StatusCode::BAD_GATEWAY,
                &billing_page(
                    &member,
                    false,
                    Some(
                        "We could not reach our payment provider. Please try again in a minute."
                            .into(),
                    ),
                )
                .await?,
            )
        }
        Err(other) => Err(other.into()),
    }
}

/// `POST /webhooks/stripe`: verified on the raw body, applied once per event id.
pub async fn stripe_webhook(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Bytes,
) -> HttpResponse {
    let signature = req
        .headers()
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok());
    match webhooks::receive(&state, &body, signature).await {
        Ok((received, changes)) => {
            state.bots.apply_plan_changes(&changes).await;
            HttpResponse::Ok().json(serde_json::json!({
                "received": true,
                "result": format!("{received:?}").to_lowercase(),
            }))
        }
        Err(WebhookError::Signature(e)) => {
            tracing::warn!(error = %e, "refused a Stripe webhook with a bad signature");
            json_error(
                StatusCode::BAD_REQUEST,
                "bad_signature",
                "Signature verification failed.",
            )
        }
        Err(WebhookError::Malformed(e)) => {
            tracing::warn!(error = %e, "refused a malformed Stripe webhook");
            json_error(
                StatusCode::BAD_REQUEST,
                "malformed_event",
                "Not a Stripe event.",
            )
        }
        Err(WebhookError::NotConfigured) => {
            tracing::error!("a Stripe webhook arrived but STRIPE_WEBHOOK_SECRET is not set");
            json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "webhooks_not_configured",
                "Webhooks are not configured.",
            )
        }
        Err(WebhookError::StripeUnavailable(e)) => {
            // Stripe retries a 5xx: the subscription is read again then.
            tracing::warn!(error = %e, "could not read a webhook's subscription from Stripe");
            json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "stripe_unavailable",
                "Could not read the subscription from Stripe; deliver again later.",
            )
        }
        Err(WebhookError::Database(e)) => {
            // Stripe retries a 5xx, so the event is not lost.
            tracing::error!(error = %e, "could not apply a Stripe webhook");
            json_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "Could not process the event.",
            )
        }
    }
}
