//! A local stand-in for the Stripe API: it answers the calls we make (create a Checkout
//! Session, create a Billing Portal Session, read a subscription: the state a test put there
//! with `put_subscription`) with Stripe's own response shapes (the JSON
//! fixtures under `tests/fixtures/stripe/`), honours idempotency keys as Stripe does, and
//! records every request for assertions. Plus helpers to sign webhook events exactly as
//! Stripe signs them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::{HttpRequest, HttpResponse, web};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

/// The signing secret tests configure for `/webhooks/stripe`.
pub const WEBHOOK_SECRET: &str = "whsec_test_0123456789abcdef";
/// The API key tests configure.
pub const SECRET_KEY: &str = "sk_test_fake_4eC39HqLyjWDarjtT1zdp7dc";

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub path: String,
    pub form: HashMap<String, String>,
    pub idempotency_key: Option<String>,
    pub authorization: Option<String>,
}

#[derive(Default)]
struct State {
    requests: Vec<Recorded>,
    by_key: HashMap<String, Value>,
    sessions: u32,
    subscriptions: HashMap<String, Value>,
}

/// The running fake.
pub struct FakeStripe {
    pub base_url: String,
    state: Arc<Mutex<State>>,
}

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/stripe/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("fixture JSON")
}

async fn handle(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<Arc<Mutex<State>>>,
    base: web::Data<String>,
) -> HttpResponse {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let recorded = Recorded {
        path: req.path().to_owned(),
        form: form.clone(),
        idempotency_key: header("idempotency-key"),
        authorization: header("authorization"),
    };
    let mut state = state.lock().unwrap();
    state.requests.push(recorded.clone());
    if recorded.authorization.as_deref() != Some(&format!("Bearer {SECRET_KEY}")) {
        return HttpResponse::Unauthorized().json(json!({"error": {
            "type": "invalid_request_error",
            "message": "Invalid API Key provided"
        }}));
    }
    if let Some(id) = req.path().strip_prefix("/v1/subscriptions/") {
        return match state.subscriptions.get(id) {
            Some(subscription) => HttpResponse::Ok().json(subscription),
            None => HttpResponse::NotFound().json(json!({"error": {
                "type": "invalid_request_error",
                "code": "resource_missing",
                "message": format!("No such subscription: '{id}'")
            }})),
        };
    }
    // Stripe answers a repeated idempotency key with the first response.
    if let Some(previous) = recorded
        .idempotency_key
        .as_ref()
        .and_then(|k| state.by_key.get(&format!("{}{k}", recorded.path)))
    {
        return HttpResponse::Ok().json(previous.clone());
    }
    state.sessions += 1;
    let n = state.sessions;
    let now = chrono::Utc::now().timestamp();
    let response = match req.path() {
        "/v1/checkout/sessions" => {
            let mut session = fixture("checkout_session.json");
            let id = format!("cs_test_{n:04}");
            session["id"] = json!(id);
            session["created"] = json!(now);
            session["expires_at"] = json!(now + 86_400);
            session["url"] = json!(format!("{base}/c/pay/{id}", base = base.get_ref()));
            session["client_reference_id"] = json!(form.get("client_reference_id"));
            session["customer"] = json!(form.get("customer"));
            session["customer_email"] = json!(form.get("customer_email"));
            session["success_url"] = json!(form.get("success_url"));
            session["cancel_url"] = json!(form.get("cancel_url"));
            session["metadata"] = json!({"tenant_id": form.get("metadata[tenant_id]")});
            session
        }
        "/v1/billing_portal/sessions" => {
            let mut session = fixture("billing_portal_session.json");
            session["id"] = json!(format!("bps_test_{n:04}"));
            session["created"] = json!(now);
            session["customer"] = json!(form.get("customer"));
            session["return_url"] = json!(form.get("return_url"));
            session["url"] = json!(format!("{}/p/session/test_{n:04}", base.get_ref()));
            session
        }
        _ => {
            return HttpResponse::NotFound().json(json!({"error": {
                "type": "invalid_request_error",
                "message": format!("Unrecognized request URL (POST: {})", req.path())
            }}));
        }
    };
    if let Some(key) = &recorded.idempotency_key {
        state
            .by_key
            .insert(format!("{}{key}", recorded.path), response.clone());
    }
    HttpResponse::Ok().json(response)
}

impl FakeStripe {
    /// Listen on a free local port, in a thread of its own.
    pub fn start() -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        // Stripe's events are small: actix's default limit.
        let base_url = super::fake_server::serve("fake Stripe", state.clone(), 256 << 10, handle);
        Self { base_url, state }
    }

    /// Make `subscription` (a Stripe subscription object) what the API answers for its id
    /// from now on, as Stripe's state moves on.
    pub fn put_subscription(&self, subscription: &Value) {
        let id = subscription["id"]
            .as_str()
            .expect("a subscription id")
            .to_owned();
        self.state
            .lock()
            .unwrap()
            .subscriptions
            .insert(id, subscription.clone());
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    /// The settings that point the app at this fake.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("STRIPE_SECRET_KEY", SECRET_KEY.to_owned()),
            ("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET.to_owned()),
            ("STRIPE_API_BASE", self.base_url.clone()),
            ("STRIPE_PRICE_STARTER", "price_starter_test".to_owned()),
            ("STRIPE_PRICE_PRO", "price_pro_test".to_owned()),
            ("STRIPE_PRICE_BUSINESS", "price_business_test".to_owned()),
        ]
    }
}

/// The `Stripe-Signature` header Stripe would send for `body` at time `t`.
pub fn signature(secret: &str, t: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(format!("{t}.{body}").as_bytes());
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// An event envelope as Stripe sends it (API version 2025-10-29.clover shape).
pub fn event(id: &str, kind: &str, created: i64, object: Value) -> String {
    json!({
        "id": id,
        "object": "event",
        "api_version": "2025-10-29.clover",
        "created": created,
        "data": { "object": object },
        "livemode": false,
        "pending_webhooks": 1,
        "request": { "id": null, "idempotency_key": null },
        "type": kind
    })
    .to_string()
}

/// A subscription object as Stripe sends it in events: the billing period on the item
/// (2025 and later), metadata carrying our workspace id.
pub fn subscription(
    id: &str,
    customer: &str,
    tenant_id: &str,
    price: &str,
    status: &str,
    period_end: i64,
) -> Value {
    json!({
        "id": id,
        "object": "subscription",
        "application": null,
        "billing_cycle_anchor": period_end - 2_592_000,
        "cancel_at": null,
        "cancel_at_period_end": false,
        "canceled_at": null,
        "collection_method": "charge_automatically",
        "created": period_end - 2_592_000,
        "currency": "usd",
        "customer": customer,
        "items": {
            "object": "list",
            "data": [{
                "id": format!("si_{id}"),
                "object": "subscription_item",
                "current_period_end": period_end,
                "current_period_start": period_end - 2_592_000,
                "price": {
                    "id": price,
                    "object": "price",
                    "active": true,
                    "currency": "usd",
                    "recurring": { "interval": "month", "interval_count": 1, "usage_type": "licensed" },
                    "type": "recurring"
                },
                "quantity": 1,
                "subscription": id
            }],
            "has_more": false,
            "url": format!("/v1/subscription_items?subscription={id}")
        },
        "livemode": false,
        "metadata": { "tenant_id": tenant_id },
        "status": status,
        "trial_end": null,
        "trial_start": null
    })
}

/// An invoice object (2025 shape: the subscription under `parent.subscription_details`).
pub fn invoice(id: &str, customer: &str, subscription: &str, status: &str) -> Value {
    json!({
        "id": id,
        "object": "invoice",
        "amount_due": 1900,
        "amount_paid": if status == "paid" { 1900 } else { 0 },
        "billing_reason": "subscription_cycle",
        "currency": "usd",
        "customer": customer,
        "livemode": false,
        "parent": {
            "quote_details": null,
            "subscription_details": { "metadata": {}, "subscription": subscription },
            "type": "subscription_details"
        },
        "status": status
    })
}

/// A completed Checkout Session as `checkout.session.completed` carries it.
pub fn completed_session(id: &str, tenant_id: &str, customer: &str, subscription: &str) -> Value {
    let mut session = fixture("checkout_session.json");
    session["id"] = json!(id);
    session["client_reference_id"] = json!(tenant_id);
    session["customer"] = json!(customer);
    session["subscription"] = json!(subscription);
    session["status"] = json!("complete");
    session["payment_status"] = json!("paid");
    session["metadata"] = json!({ "tenant_id": tenant_id });
    session
}
