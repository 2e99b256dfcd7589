//! `POST /webhooks/stripe`: Stripe tells us what happened to a customer's subscription.
//!
//! The signature is checked on the raw body before anything is parsed. Then only the fields
//! we need are read from the JSON (never Stripe's whole typed object: its shape moves with
//! API versions, and a missing field must not turn a paid subscription into a retry loop).
//! Stripe neither orders its events nor sends each once, so an event is taken as a signal
//! only: the subscription it is about is read from Stripe's API and its current state is
//! applied (a late `invoice.paid` cannot revive a cancelled subscription, an early event is
//! not lost before the checkout links the workspace: the subscription names it). Each event
//! id is recorded in the same transaction as its effect, so a redelivery has no second
//! effect; of two racing reads, the later one wins.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;

use super::subscriptions::{self, BotChanges, Status, StripeState};
use crate::config::BillingConfig;
use crate::context::Context;
use crate::db::schema::{stripe_events, tenants};
use crate::db::{DbConn, DbError, RowScope};

/// How old a signed timestamp may be (Stripe's own libraries use the same 5 minutes).
pub const TOLERANCE_SECS: i64 = 300;

/// How long paid features last after a failed payment before the plan falls to free.
pub const GRACE_DAYS: i64 = 7;

/// Why a signature is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no Stripe-Signature header")]
    Missing,
    #[error("the Stripe-Signature header has no t= or v1= part")]
    Malformed,
    #[error("the signed timestamp is {age_secs} s old (more than {TOLERANCE_SECS} s)")]
    Stale { age_secs: i64 },
    #[error("the signed timestamp is {ahead_secs} s in the future (more than {TOLERANCE_SECS} s)")]
    FromTheFuture { ahead_secs: i64 },
    #[error("no v1 signature matches the body")]
    Mismatch,
}

/// Check a `Stripe-Signature` header (`t=…,v1=…[,v1=…]`) against the raw body: HMAC-SHA256
/// of `"{t}.{body}"` with the endpoint's signing secret, any `v1` may match, and `t` must
/// be at most [`TOLERANCE_SECS`] old at `now`.
pub fn verify_signature(
    body: &[u8],
    header: Option<&str>,
    secret: &str,
    now: i64,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => signatures.extend(hex::decode(value).ok()),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    // The tolerance holds both ways: a timestamp far ahead is as suspect as an old one.
    let age_secs = now - timestamp;
    if age_secs > TOLERANCE_SECS {
        return Err(SignatureError::Stale { age_secs });
    }
    if -age_secs > TOLERANCE_SECS {
        return Err(SignatureError::FromTheFuture {
            ahead_secs: -age_secs,
        });
    }
    let matches = signatures.iter().any(|signature| {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
            return false;
        };
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.verify_slice(signature).is_ok()
    });
    if matches {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// Why a webhook delivery was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// `STRIPE_WEBHOOK_SECRET` is not set: nothing can be verified, so nothing is accepted.
    #[error("STRIPE_WEBHOOK_SECRET is not set")]
    NotConfigured,
    #[error("bad signature: {0}")]
    Signature(#[from] SignatureError),
    #[error("not a Stripe event: {0}")]
    Malformed(String),
    /// The subscription could not be read from Stripe's API; Stripe delivers again later.
    #[error("cannot read the subscription from Stripe: {0}")]
    StripeUnavailable(String),
    #[error(transparent)]
    Database(#[from] DbError),
}

impl From<diesel::result::Error> for WebhookError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Database(DbError::Query(e))
    }
}

/// What a delivery did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// Handled now.
    Applied,
    /// Handled before: nothing done.
    Duplicate,
    /// Verified and recorded, but not about anything we act on.
    Ignored,
}

/// Verify, record and apply one delivery. Returns what it did and the bots the plan now
/// pauses or resumes, for the caller to stop and start.
pub async fn receive(
    ctx: &Context,
    body: &[u8],
    signature: Option<&str>,
) -> Result<(Received, BotChanges), WebhookError> {
    let billing = &ctx.config.billing;
    let secret = billing
        .stripe_webhook_secret
        .as_ref()
        .ok_or(WebhookError::NotConfigured)?;
    verify_signature(body, signature, secret.expose(), Utc::now().timestamp())?;
    let event: Value =
        serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
    let event = Event::read(&event)?;
    // An event only says that a subscription changed. What it is now is read from Stripe, so
    // the outcome is the same whatever order (and however often) the events arrive in.
    let current = match subscription_of(&event) {
        Some(id) => Some(fetch_subscription(billing, id).await?),
        None => None,
    };
    let observed_at = Utc::now().timestamp_millis();
    let billing = billing.clone();
    let (received, changes) = ctx
        .db
        .transaction(
            RowScope::across_tenants("a Stripe event names its workspace only inside its payload"),
            move |conn| apply_in(conn, &billing, &event, current.as_ref(), observed_at),
        )
        .await?;
    Ok((received, changes))
}

/// The subscription an event is about: the object itself, a checkout's, or an invoice's (the
/// field moved under `parent.subscription_details` in 2025; either is read).
fn subscription_of(event: &Event) -> Option<&str> {
    let object = &event.object;
    match event.kind.as_str() {
        "customer.subscription.created"
        | "customer.subscription.updated"
        | "customer.subscription.deleted"
        | "customer.subscription.paused"
        | "customer.subscription.resumed" => str_at(object, &["id"]),
        "checkout.session.completed" => str_at(object, &["subscription"]),
        "invoice.paid" | "invoice.payment_failed" | "invoice.payment_succeeded" => {
            str_at(object, &["subscription"])
                .or_else(|| str_at(object, &["parent", "subscription_details", "subscription"]))
        }
        _ => None,
    }
}

/// The subscription as Stripe has it now, read as plain JSON (only the fields we use), so an
/// API version we were not built for cannot fail the read.
async fn fetch_subscription(billing: &BillingConfig, id: &str) -> Result<Value, WebhookError> {
    use stripe_client_core::{RequestBuilder, StripeMethod};
    let secret = billing
        .stripe_secret_key
        .as_ref()
        .ok_or_else(|| WebhookError::StripeUnavailable("STRIPE_SECRET_KEY is not set".into()))?;
    let client = stripe::ClientBuilder::new(secret.expose())
        .url(billing.stripe_api_base.as_str())
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .map_err(|e| WebhookError::StripeUnavailable(e.to_string()))?;
    let id: String = id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    let raw: miniserde::json::Value =
        RequestBuilder::new(StripeMethod::Get, format!("/subscriptions/{id}"))
            .customize()
            .send(&client)
            .await
            .map_err(|e| WebhookError::StripeUnavailable(e.to_string()))?;
    serde_json::from_str(&miniserde::json::to_string(&raw))
        .map_err(|e| WebhookError::StripeUnavailable(e.to_string()))
}

/// The parts of an event we use.
#[derive(Debug, Clone)]
struct Event {
    id: String,
    kind: String,
    object: Value,
}

impl Event {
    fn read(json: &Value) -> Result<Self, WebhookError> {
        let text = |v: &Value| v.as_str().map(str::to_owned);
        let id = text(&json["id"]).filter(|id| id.starts_with("evt_"));
        let kind = text(&json["type"]);
        // `created` is not used (the subscription is read fresh), but an event without it is
        // not one of Stripe's.
        match (id, kind, json["created"].as_i64()) {
            (Some(id), Some(kind), Some(_)) if json["data"]["object"].is_object() => Ok(Self {
                id,
                kind,
                object: json["data"]["object"].clone(),
            }),
            _ => Err(WebhookError::Malformed(
                "an event needs id, type, created and data.object".into(),
            )),
        }
    }
}

fn apply_in(
    conn: &mut DbConn,
    billing: &BillingConfig,
    event: &Event,
    current: Option<&Value>,
    observed_at: i64,
) -> Result<(Received, BotChanges), WebhookError> {
    let first_time = diesel::insert_into(stripe_events::table)
        .values((
            stripe_events::id.eq(&event.id),
            stripe_events::event_type.eq(&event.kind),
            stripe_events::received_at.eq(Utc::now().naive_utc()),
        ))
        .on_conflict(stripe_events::id)
        .do_nothing();
    if crate::on_backend!(conn, c => first_time.execute(c))? == 0 {
        return Ok((Received::Duplicate, BotChanges::default()));
    }
    let Some(subscription) = current else {
        return Ok((Received::Ignored, BotChanges::default()));
    };
    // Our checkout puts the workspace on the subscription; a checkout names it too; a
    // customer we know names it last.
    let mut tenant = existing_tenant(conn, str_at(subscription, &["metadata", "tenant_id"]))?;
    if tenant.is_none() && event.kind == "checkout.session.completed" {
        tenant = existing_tenant(conn, str_at(&event.object, &["client_reference_id"]))?;
    }
    if tenant.is_none() {
        tenant = customer_tenant(conn, subscription)?;
    }
    let Some(tenant) = tenant else {
        tracing::warn!(event = %event.id, "a subscription of no workspace we know; ignored");
        return Ok((Received::Ignored, BotChanges::default()));
    };
    let Some(state) = subscription_state(billing, subscription) else {
        tracing::warn!(event = %event.id, "subscription with an unknown price or not yet paid; ignored");
        if let Some(customer) = str_at(subscription, &["customer"]) {
            subscriptions::link_customer_in(conn, &tenant, customer)?;
        }
        return Ok((Received::Ignored, BotChanges::default()));
    };
    subscriptions::apply_stripe_state_in(conn, &tenant, &state, observed_at)?;
    let changes = subscriptions::apply_bot_limit_in(conn, &tenant)?;
    Ok((Received::Applied, changes))
}

/// The string at a path of keys, if there is one.
fn str_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(value, |v, key| v.get(key))
        .and_then(Value::as_str)
}

/// `id` if it names a workspace that exists (a deleted workspace's events are ignored).
fn existing_tenant(conn: &mut DbConn, id: Option<&str>) -> QueryResult<Option<String>> {
    let Some(id) = id else { return Ok(None) };
    tenants::table
        .find(id)
        .select(tenants::id)
        .first(conn)
        .optional()
}

fn customer_tenant(conn: &mut DbConn, object: &Value) -> QueryResult<Option<String>> {
    match str_at(object, &["customer"]) {
        Some(customer) => subscriptions::tenant_of_customer_in(conn, customer),
        None => Ok(None),
    }
}

fn timestamp(value: &Value) -> Option<NaiveDateTime> {
    value
        .as_i64()
        .and_then(|secs| DateTime::from_timestamp(secs, 0))
        .map(|t| t.naive_utc())
}

/// A subscription object's state, read from the fields every API version has (the period
/// end moved from the subscription to its items in 2025: either is taken). None for an
/// unknown price, and for `incomplete`: the first payment is not made yet, so nothing changes
/// (a trial goes on).
fn subscription_state(billing: &BillingConfig, object: &Value) -> Option<StripeState> {
    let item = &object["items"]["data"][0];
    let price = str_at(item, &["price", "id"])?;
    let plan_id = billing.plan_for_price(price)?;
    let status = match str_at(object, &["status"])? {
        "incomplete" => return None,
        other => Status::parse(other),
    };
    Some(StripeState {
        customer_id: str_at(object, &["customer"])?.to_owned(),
        subscription_id: str_at(object, &["id"])?.to_owned(),
        plan_id: plan_id.to_owned(),
        status,
        current_period_end: timestamp(&object["current_period_end"])
            .or_else(|| timestamp(&item["current_period_end"])),
        trial_ends_at: timestamp(&object["trial_end"]),
        grace_days: GRACE_DAYS,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &str, t: i64, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{t}.").as_bytes());
        mac.update(body);
        format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
    }

    #[test]
    fn a_signature_is_checked_on_the_raw_bytes_and_the_time() {
        let body = br#"{"id":"evt_1","note":"caf\u00e9 \/"}"#;
        let now = 1_800_000_000;
        let header = sign("whsec_abc", now - 10, body);
        assert_eq!(
            verify_signature(body, Some(&header), "whsec_abc", now),
            Ok(())
        );
        // One byte changed, another secret, too old, no header.
        let mut changed = body.to_vec();
        changed[5] = b'2';
        assert_eq!(
            verify_signature(&changed, Some(&header), "whsec_abc", now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature(body, Some(&header), "whsec_other", now),
            Err(SignatureError::Mismatch)
        );
        let old = sign("whsec_abc", now - 301, body);
        assert_eq!(
            verify_signature(body, Some(&old), "whsec_abc", now),
            Err(SignatureError::Stale { age_secs: 301 })
        );
        let ahead = sign("whsec_abc", now + 3600, body);
        assert_eq!(
            verify_signature(body, Some(&ahead), "whsec_abc", now),
            Err(SignatureError::FromTheFuture { ahead_secs: 3600 })
        );
        let slightly_ahead = sign("whsec_abc", now + 30, body);
        assert_eq!(
            verify_signature(body, Some(&slightly_ahead), "whsec_abc", now),
            Ok(()),
            "clocks differ a little"
        );
        assert_eq!(
            verify_signature(body, None, "whsec_abc", now),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify_signature(body, Some("t=1"), "whsec_abc", now),
            Err(SignatureError::Malformed)
        );
        // During secret rotation Stripe sends two v1 signatures: either may match.
        let both = format!("{},v1={}", sign("whsec_abc", now, body), "00".repeat(32));
        assert_eq!(
            verify_signature(body, Some(&both), "whsec_abc", now),
            Ok(())
        );
    }
}
