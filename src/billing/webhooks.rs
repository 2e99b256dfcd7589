//! `POST /webhooks/stripe`: Stripe tells us what happened to a customer's subscription.
//!
//! The signature is checked on the raw body before anything is parsed. Then only the fields
//! we need are read from the JSON (never Stripe's whole typed object: its shape moves with
//! API versions, and a missing field must not turn a paid subscription into a retry loop).
//! Each event id is recorded in the same transaction as its effect, so a redelivered or
//! concurrently delivered event has exactly one effect; subscription states carry the
//! event's creation time and an older state never overwrites a newer one.

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
    let billing = billing.clone();
    let (received, changes) = ctx
        .db
        .transaction(
            RowScope::across_tenants("a Stripe event names its workspace only inside its payload"),
            move |conn| apply_in(conn, &billing, &event),
        )
        .await?;
    Ok((received, changes))
}

/// The parts of an event we use.
#[derive(Debug, Clone)]
struct Event {
    id: String,
    kind: String,
    created: i64,
    object: Value,
}

impl Event {
    fn read(json: &Value) -> Result<Self, WebhookError> {
        let text = |v: &Value| v.as_str().map(str::to_owned);
        let id = text(&json["id"]).filter(|id| id.starts_with("evt_"));
        let kind = text(&json["type"]);
        match (id, kind, json["created"].as_i64()) {
            (Some(id), Some(kind), Some(created)) if json["data"]["object"].is_object() => {
                Ok(Self {
                    id,
                    kind,
                    created,
                    object: json["data"]["object"].clone(),
                })
            }
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
    let object = &event.object;
    let tenant = match event.kind.as_str() {
        "checkout.session.completed" => {
            let tenant = existing_tenant(conn, str_at(object, &["client_reference_id"]))?;
            match (tenant, str_at(object, &["customer"])) {
                (Some(tenant), Some(customer)) => {
                    subscriptions::link_customer_in(conn, &tenant, customer)?;
                    Some(tenant)
                }
                _ => None,
            }
        }
        "customer.subscription.created"
        | "customer.subscription.updated"
        | "customer.subscription.deleted" => {
            let tenant = match existing_tenant(conn, str_at(object, &["metadata", "tenant_id"]))? {
                Some(tenant) => Some(tenant),
                None => customer_tenant(conn, object)?,
            };
            match (tenant, subscription_state(billing, object, &event.kind)) {
                (Some(tenant), Some(state)) => {
                    subscriptions::apply_stripe_state_in(conn, &tenant, &state, event.created)?;
                    Some(tenant)
                }
                (_, None) => {
                    tracing::warn!(event = %event.id, "subscription event with an unknown price; ignored");
                    None
                }
                (None, Some(_)) => None,
            }
        }
        "invoice.paid" => {
            let tenant = customer_tenant(conn, object)?;
            if let Some(tenant) = &tenant {
                subscriptions::end_grace_in(conn, tenant)?;
            }
            tenant
        }
        "invoice.payment_failed" => {
            let tenant = customer_tenant(conn, object)?;
            if let Some(tenant) = &tenant {
                subscriptions::start_grace_in(conn, tenant, GRACE_DAYS)?;
            }
            tenant
        }
        _ => None,
    };
    let Some(tenant) = tenant else {
        return Ok((Received::Ignored, BotChanges::default()));
    };
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
/// end moved from the subscription to its items in 2025: either is taken).
fn subscription_state(billing: &BillingConfig, object: &Value, kind: &str) -> Option<StripeState> {
    let item = &object["items"]["data"][0];
    let price = str_at(item, &["price", "id"])?;
    let plan_id = billing.plan_for_price(price)?;
    let status = if kind == "customer.subscription.deleted" {
        Status::Canceled
    } else {
        Status::parse(str_at(object, &["status"])?)
    };
    Some(StripeState {
        customer_id: str_at(object, &["customer"])?.to_owned(),
        subscription_id: str_at(object, &["id"])?.to_owned(),
        plan_id: plan_id.to_owned(),
        status,
        current_period_end: timestamp(&object["current_period_end"])
            .or_else(|| timestamp(&item["current_period_end"])),
        trial_ends_at: timestamp(&object["trial_end"]),
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
