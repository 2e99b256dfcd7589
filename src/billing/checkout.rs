//! Sending customers to Stripe: a Checkout Session to subscribe, the Billing Portal to change
//! plan, card or cancel. Stripe hosts both pages; we only create the sessions.
//!
//! Every call carries an idempotency key built from what the call is for, so a double click
//! or a retried request makes one session, not two.

use std::collections::HashMap;

use chrono::Utc;
use diesel::prelude::*;
use stripe::{Client, ClientBuilder, IdempotencyKey, RequestStrategy};
use stripe_billing::billing_portal_session::CreateBillingPortalSession;
use stripe_checkout::CheckoutSessionMode;
use stripe_checkout::checkout_session::{
    CreateCheckoutSession, CreateCheckoutSessionLineItems, CreateCheckoutSessionSubscriptionData,
};

use super::subscriptions;
use crate::config::BillingConfig;
use crate::context::Context;
use crate::db::schema::users;
use crate::error::{ServiceError, ServiceResult};
use crate::tenancy::TenantScope;

/// Where Stripe sends the customer back to.
const RETURN_PATH: &str = "/billing";

/// How long one idempotency key covers the same request: long enough for a double click or
/// a retry, short enough that a customer who comes back later gets a fresh session.
const IDEMPOTENCY_WINDOW_SECS: i64 = 600;

/// A Stripe client for this deployment's key and API base.
fn client(config: &BillingConfig, idempotency_key: &str) -> ServiceResult<Client> {
    let secret = config
        .stripe_secret_key
        .as_ref()
        .ok_or(ServiceError::Forbidden(
            "Billing is not set up on this server.",
        ))?;
    let key = IdempotencyKey::new(idempotency_key).map_err(ServiceError::internal)?;
    ClientBuilder::new(secret.expose())
        .url(config.stripe_api_base.as_str())
        .request_strategy(RequestStrategy::Idempotent(key))
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .map_err(ServiceError::internal)
}

/// The idempotency key of one intent, stable within a window.
fn idempotency_key(parts: &[&str]) -> String {
    let window = Utc::now().timestamp() / IDEMPOTENCY_WINDOW_SECS;
    format!("whatsdex-{}-{window}", parts.join("-"))
}

/// Start buying `plan_id`: the URL of Stripe's checkout page. A workspace that already pays
/// goes to the Billing Portal instead, where a plan change keeps one subscription.
pub async fn start_checkout(
    ctx: &Context,
    scope: &TenantScope,
    plan_id: &str,
) -> ServiceResult<String> {
    if !scope.role().is_owner() {
        return Err(ServiceError::Forbidden(
            "Only the workspace owner can change the plan.",
        ));
    }
    let billing = &ctx.config.billing;
    let price = billing
        .price_for(plan_id)
        .ok_or_else(|| ServiceError::invalid("plan", "Choose one of the paid plans."))?
        .to_owned();
    let (tenant_id, user_id) = (scope.tenant_id().to_owned(), scope.user_id().to_owned());
    let (subscription, email) = ctx
        .db
        .run_in(scope.rows(), move |conn| {
            let subscription = subscriptions::find_in(conn, &tenant_id)?;
            let email: String = users::table
                .find(&user_id)
                .select(users::email)
                .first(conn)?;
            Ok((subscription, email))
        })
        .await?;
    let paying = subscription.as_ref().is_some_and(|s| {
        s.stripe_subscription_id.is_some()
            && matches!(
                s.status(),
                subscriptions::Status::Active
                    | subscriptions::Status::PastDue
                    | subscriptions::Status::Trialing
            )
    });
    if paying {
        return open_portal(ctx, scope).await;
    }
    let tenant_id = scope.tenant_id();
    let metadata = HashMap::from([("tenant_id".to_owned(), tenant_id.to_string())]);
    let mut subscription_data = CreateCheckoutSessionSubscriptionData::new();
    subscription_data.metadata = Some(metadata.clone());
    let mut line = CreateCheckoutSessionLineItems::new();
    line.price = Some(price.clone());
    line.quantity = Some(1);
    let mut request = CreateCheckoutSession::new()
        .mode(CheckoutSessionMode::Subscription)
        .line_items(vec![line])
        .client_reference_id(tenant_id.as_str())
        .metadata(metadata)
        .subscription_data(subscription_data)
        .success_url(ctx.link(&format!("{RETURN_PATH}?checkout=success")))
        .cancel_url(ctx.link(&format!("{RETURN_PATH}/upgrade?checkout=cancelled")));
    let customer = subscription.and_then(|s| s.stripe_customer_id);
    request = match &customer {
        Some(customer) => request.customer(customer),
        None => request.customer_email(&email),
    };
    let client = client(
        billing,
        &idempotency_key(&["checkout", tenant_id, plan_id, &price]),
    )?;
    let session = request
        .send(&client)
        .await
        .map_err(|e| ServiceError::internal(format!("Stripe refused the checkout session: {e}")))?;
    session
        .url
        .ok_or_else(|| ServiceError::internal("Stripe's checkout session has no url"))
}

/// The URL of the Billing Portal for the scope's workspace (owners only).
pub async fn open_portal(ctx: &Context, scope: &TenantScope) -> ServiceResult<String> {
    if !scope.role().is_owner() {
        return Err(ServiceError::Forbidden(
            "Only the workspace owner can manage billing.",
        ));
    }
    let tenant_id = scope.tenant_id().to_owned();
    let customer = ctx
        .db
        .run_in(scope.rows(), move |conn| {
            subscriptions::find_in(conn, &tenant_id)
        })
        .await?
        .and_then(|s| s.stripe_customer_id)
        .ok_or_else(|| {
            ServiceError::invalid("plan", "Subscribe to a plan first; then you can manage it.")
        })?;
    let client = client(
        &ctx.config.billing,
        &idempotency_key(&["portal", scope.tenant_id(), &customer]),
    )?;
    let session = CreateBillingPortalSession::new()
        .customer(&customer)
        .return_url(ctx.link(RETURN_PATH))
        .send(&client)
        .await
        .map_err(|e| ServiceError::internal(format!("Stripe refused the portal session: {e}")))?;
    Ok(session.url)
}
