//! Plans, entitlements, metering and Stripe billing through the real app: webhooks signed as
//! Stripe signs them, checkout and portal against a local fake of the Stripe API, every
//! quota at its boundary, exact metering, trials that lapse.

use std::rc::Rc;

use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use chrono::{Duration, Utc};
use diesel::prelude::*;
use serde_json::Value;
use whatsdex::billing::entitlements::{self, Action, Decision};
use whatsdex::billing::meter::counter_key;
use whatsdex::billing::plans::Feature;
use whatsdex::billing::subscriptions::{self, Status, StripeState};
use whatsdex::billing::trials;
use whatsdex::billing::usage::{self, Metric};
use whatsdex::bots::transport::InboundMessage;
use whatsdex::db::RowScope;
use whatsdex::db::schema::{
    bots, invitations, memberships, stripe_events, subscriptions as subs, users,
};

use crate::common::browser::Browser;
use crate::common::stripe::{self as fake, FakeStripe, WEBHOOK_SECRET};
use crate::common::{PASSWORD, Site};

/// A site pointed at a fake Stripe; trials as given.
fn billing_site(stripe: &FakeStripe, trial_days: &str) -> Site {
    let env = stripe.env();
    let mut extra: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    extra.push(("TRIAL_DAYS", trial_days));
    Site::start_with(&extra)
}

/// A workspace with an owner, made directly (no password hashing): its id.
async fn workspace(site: &Site, email: &str) -> String {
    let email = email.to_owned();
    site.query(move |conn| {
        let user_id = whatsdex::ids::new_id();
        let now = Utc::now().naive_utc();
        diesel::insert_into(users::table)
            .values((
                users::id.eq(&user_id),
                users::email.eq(&email),
                users::name.eq("Owner"),
                users::password_hash.eq("not a hash"),
                users::is_platform_admin.eq(false),
                users::created_at.eq(now),
                users::updated_at.eq(now),
            ))
            .execute(conn)?;
        whatsdex::tenants::workspaces::create_in(conn, "Shop", &user_id).map(String::from)
    })
    .await
}

/// Add `n` bots to a workspace, each a second newer than the last; their ids, oldest first.
async fn add_bots(site: &Site, tenant_id: &str, n: usize) -> Vec<String> {
    let tenant_id = tenant_id.to_owned();
    site.query(move |conn| {
        let start = Utc::now().naive_utc();
        let existing: i64 = bots::table
            .filter(bots::tenant_id.eq(&tenant_id))
            .count()
            .get_result(conn)?;
        let mut ids = Vec::new();
        for i in 0..n {
            let id = whatsdex::ids::new_id();
            let at = start + Duration::seconds(existing + i as i64);
            diesel::insert_into(bots::table)
                .values((
                    bots::id.eq(&id),
                    bots::tenant_id.eq(&tenant_id),
                    bots::name.eq(format!("Bot {i}")),
                    bots::transport.eq("sandbox"),
                    bots::status.eq("unpaired"),
                    bots::created_at.eq(at),
                    bots::updated_at.eq(at),
                ))
                .execute(conn)?;
            ids.push(id);
        }
        Ok(ids)
    })
    .await
}

async fn subscription_of(site: &Site, tenant_id: &str) -> Option<subscriptions::Subscription> {
    let tenant_id = tenant_id.to_owned();
    site.query(move |conn| subscriptions::find_in(conn, &tenant_id))
        .await
}

async fn plan_of(site: &Site, tenant_id: &str) -> String {
    let tenant_id = tenant_id.to_owned();
    site.query(move |conn| subscriptions::current_plan_in(conn, &tenant_id))
        .await
        .id
}

/// POST a webhook body with a `Stripe-Signature` header; the status and the JSON answer.
async fn deliver<S, B>(app: &Rc<S>, body: &str, signature: Option<&str>) -> (StatusCode, Value)
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let mut request = TestRequest::post()
        .uri("/webhooks/stripe")
        .insert_header(("content-type", "application/json"))
        .set_payload(body.to_owned());
    if let Some(signature) = signature {
        request = request.insert_header(("stripe-signature", signature.to_owned()));
    }
    let response = test::call_service(&**app, request.to_request()).await;
    let status = response.status();
    let bytes = test::read_body(response).await;
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, json)
}

/// Deliver an event signed now.
async fn deliver_signed<S, B>(app: &Rc<S>, body: &str) -> (StatusCode, Value)
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let signature = fake::signature(WEBHOOK_SECRET, Utc::now().timestamp(), body);
    deliver(app, body, Some(&signature)).await
}

fn created_event(
    id: &str,
    tenant: &str,
    customer: &str,
    sub: &str,
    price: &str,
    at: i64,
) -> String {
    fake::event(
        id,
        "customer.subscription.created",
        at,
        fake::subscription(sub, customer, tenant, price, "active", at + 2_592_000),
    )
}

/// Stripe's state moves on: the subscription an event carries (cancelled, for a deletion) is
/// what the fake API answers from now on. Events about something else change nothing there.
fn stripe_now_has(stripe: &FakeStripe, body: &str) {
    let event: Value = serde_json::from_str(body).unwrap();
    let object = &event["data"]["object"];
    if object["object"] == "subscription" {
        let mut subscription = object.clone();
        if event["type"] == "customer.subscription.deleted" {
            subscription["status"] = "canceled".into();
        }
        stripe.put_subscription(&subscription);
    }
}

/// Deliver an event signed now, Stripe's state having moved on with it (see `stripe_now_has`).
async fn deliver_now<S, B>(stripe: &FakeStripe, app: &Rc<S>, body: &str) -> (StatusCode, Value)
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    stripe_now_has(stripe, body);
    deliver_signed(app, body).await
}

#[actix_web::test]
async fn webhooks_are_verified_on_the_raw_body() {
    let stripe = FakeStripe::start();
    let site = billing_site(&stripe, "0");
    let app = site.app().await;
    let tenant = workspace(&site, "sig@example.com").await;
    let now = Utc::now().timestamp();
    let body = created_event(
        "evt_sig_1",
        &tenant,
        "cus_sig",
        "sub_sig",
        "price_starter_test",
        now,
    );

    // A wrong secret, a changed body, a stale timestamp, no header: refused, nothing changes.
    let wrong = fake::signature("whsec_not_ours", now, &body);
    assert_eq!(
        deliver(&app, &body, Some(&wrong)).await.0,
        StatusCode::BAD_REQUEST
    );
    let signed = fake::signature(WEBHOOK_SECRET, now, &body);
    let tampered = body.replace("price_starter_test", "price_business_test");
    let (status, answer) = deliver(&app, &tampered, Some(&signed)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["error"]["code"], "bad_signature");
    let stale = fake::signature(WEBHOOK_SECRET, now - 301, &body);
    assert_eq!(
        deliver(&app, &body, Some(&stale)).await.0,
        StatusCode::BAD_REQUEST
    );
    let from_the_future = fake::signature(WEBHOOK_SECRET, now + 3600, &body);
    assert_eq!(
        deliver(&app, &body, Some(&from_the_future)).await.0,
        StatusCode::BAD_REQUEST,
        "the tolerance holds both ways"
    );
    assert_eq!(deliver(&app, &body, None).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(plan_of(&site, &tenant).await, "free");
    let recorded: i64 = site
        .query(|conn| stripe_events::table.count().get_result(conn))
        .await;
    assert_eq!(recorded, 0, "a refused event is not recorded");

    // Signed as Stripe signs (and 299 s old is still fine): applied.
    stripe_now_has(&stripe, &body);
    let fresh_enough = fake::signature(WEBHOOK_SECRET, now - 299, &body);
    let (status, answer) = deliver(&app, &body, Some(&fresh_enough)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["result"], "applied");
    assert_eq!(plan_of(&site, &tenant).await, "starter");
    let stored = subscription_of(&site, &tenant).await.unwrap();
    assert_eq!(stored.stripe_customer_id.as_deref(), Some("cus_sig"));
    assert_eq!(stored.status(), Status::Active);
}

#[actix_web::test]
async fn a_replayed_or_concurrent_duplicate_has_one_effect() {
    let stripe = FakeStripe::start();
    let site = billing_site(&stripe, "0");
    let app = site.app().await;
    let tenant = workspace(&site, "dup@example.com").await;
    let now = Utc::now().timestamp();
    let body = created_event(
        "evt_dup_1",
        &tenant,
        "cus_dup",
        "sub_dup",
        "price_pro_test",
        now,
    );

    stripe_now_has(&stripe, &body);
    assert_eq!(
        deliver_now(&stripe, &app, &body).await.1["result"],
        "applied"
    );
    // Replayed later (Stripe retries, or an attacker replays a captured delivery).
    assert_eq!(
        deliver_now(&stripe, &app, &body).await.1["result"],
        "duplicate"
    );

    // A payment failure delivered eight times at once: one grace period, one record.
    let failed = fake::event(
        "evt_dup_2",
        "invoice.payment_failed",
        now + 1,
        fake::invoice("in_dup", "cus_dup", "sub_dup", "open"),
    );
    // The payment failed: Stripe has the subscription past due.
    stripe.put_subscription(&fake::subscription(
        "sub_dup",
        "cus_dup",
        &tenant,
        "price_pro_test",
        "past_due",
        now + 2_592_000,
    ));
    let deliveries = (0..8).map(|_| deliver_signed(&app, &failed));
    let answers = futures_join(deliveries).await;
    let applied = answers
        .iter()
        .filter(|(_, a)| a["result"] == "applied")
        .count();
    let duplicates = answers
        .iter()
        .filter(|(_, a)| a["result"] == "duplicate")
        .count();
    assert!(
        answers.iter().all(|(s, _)| *s == StatusCode::OK),
        "{answers:?}"
    );
    assert_eq!((applied, duplicates), (1, 7), "{answers:?}");
    let records: i64 = site
        .query(|conn| {
            stripe_events::table
                .filter(stripe_events::id.eq("evt_dup_2"))
                .count()
                .get_result(conn)
        })
        .await;
    assert_eq!(records, 1);
    let stored = subscription_of(&site, &tenant).await.unwrap();
    assert_eq!(stored.status(), Status::PastDue);
    assert!(stored.grace_ends_at.is_some());
    // During the grace period the plan still applies.
    assert_eq!(plan_of(&site, &tenant).await, "pro");
}

/// Run futures concurrently on this thread (the database work runs on blocking threads).
async fn futures_join<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut pinned: Vec<_> = futures.map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in pinned.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(|o| o.expect("finished")).collect()
}

/// The life of one subscription as Stripe reports it, for workspace `tenant`: checkout,
/// created on Starter, paid, upgraded to Business, a failed payment, paid again.
fn lifecycle(tenant: &str, tag: &str, start: i64) -> Vec<String> {
    let (customer, sub) = (format!("cus_{tag}"), format!("sub_{tag}"));
    let period = start + 2_592_000;
    vec![
        fake::event(
            &format!("evt_{tag}_1"),
            "checkout.session.completed",
            start,
            fake::completed_session(&format!("cs_{tag}"), tenant, &customer, &sub),
        ),
        fake::event(
            &format!("evt_{tag}_2"),
            "customer.subscription.created",
            start + 1,
            fake::subscription(
                &sub,
                &customer,
                tenant,
                "price_starter_test",
                "active",
                period,
            ),
        ),
        fake::event(
            &format!("evt_{tag}_3"),
            "invoice.paid",
            start + 2,
            fake::invoice(&format!("in_{tag}_1"), &customer, &sub, "paid"),
        ),
        fake::event(
            &format!("evt_{tag}_4"),
            "customer.subscription.updated",
            start + 3,
            fake::subscription(
                &sub,
                &customer,
                tenant,
                "price_business_test",
                "active",
                period,
            ),
        ),
        fake::event(
            &format!("evt_{tag}_5"),
            "customer.subscription.updated",
            start + 4,
            fake::subscription(
                &sub,
                &customer,
                tenant,
                "price_business_test",
                "active",
                period + 2_592_000,
            ),
        ),
    ]
}

#[actix_web::test]
async fn events_in_any_order_end_in_the_same_state() {
    let stripe = FakeStripe::start();
    let site = billing_site(&stripe, "0");
    let app = site.app().await;
    let start = Utc::now().timestamp() - 100;
    // The same story in order, reversed, and shuffled (a fixed permutation).
    let orders: [&[usize]; 3] = [&[0, 1, 2, 3, 4], &[4, 3, 2, 1, 0], &[3, 0, 4, 2, 1]];
    let mut finals = Vec::new();
    for (n, order) in orders.iter().enumerate() {
        let tenant = workspace(&site, &format!("order{n}@example.com")).await;
        let events = lifecycle(&tenant, &format!("ord{n}"), start);
        // The story has happened at Stripe; its events arrive afterwards, in any order.
        stripe_now_has(&stripe, &events[4]);
        for &i in *order {
            let (status, answer) = deliver_signed(&app, &events[i]).await;
            assert_eq!(status, StatusCode::OK, "{answer}");
        }
        let s = subscription_of(&site, &tenant)
            .await
            .expect("a subscription");
        finals.push((
            s.plan_id.clone(),
            s.status.clone(),
            s.current_period_end,
            s.grace_ends_at,
            s.stripe_customer_id
                .map(|c| c.replace(&format!("ord{n}"), "")),
        ));
    }
    assert_eq!(finals[0].0, "business");
    assert_eq!(finals[0].1, "active");
    assert_eq!(
        finals[0].2.map(|t| t.and_utc().timestamp()),
        Some(start + 2 * 2_592_000)
    );
    assert_eq!(finals[1], finals[0], "reversed order");
    assert_eq!(finals[2], finals[0], "shuffled order");
}

#[actix_web::test]
async fn a_downgrade_pauses_bots_and_an_upgrade_resumes_them() {
    let stripe = FakeStripe::start();
    let site = billing_site(&stripe, "0");
    let app = site.app().await;
    let tenant = workspace(&site, "down@example.com").await;
    let now = Utc::now().timestamp() - 50;
    let created = created_event(
        "evt_dn_1",
        &tenant,
        "cus_dn",
        "sub_dn",
        "price_pro_test",
        now,
    );
    deliver_now(&stripe, &app, &created).await;
    let ids = add_bots(&site, &tenant, 3).await;

    let cancelled = fake::event(
        "evt_dn_2",
        "customer.subscription.deleted",
        now + 1,
        fake::subscription(
            "sub_dn",
            "cus_dn",
            &tenant,
            "price_pro_test",
            "canceled",
            now,
        ),
    );
    assert_eq!(
        deliver_now(&stripe, &app, &cancelled).await.1["result"],
        "applied"
    );
    assert_eq!(plan_of(&site, &tenant).await, "free");
    let paused = || {
        let tenant = tenant.clone();
        site.query(move |conn| {
            bots::table
                .filter(bots::tenant_id.eq(&tenant))
                .order(bots::created_at.asc())
                .select((bots::id, bots::paused_for_plan))
                .load::<(String, bool)>(conn)
        })
    };
    let after_downgrade = paused().await;
    assert_eq!(after_downgrade.len(), 3, "no bot is deleted");
    assert_eq!(
        after_downgrade,
        vec![
            (ids[0].clone(), false),
            (ids[1].clone(), true),
            (ids[2].clone(), true)
        ],
        "the oldest bot keeps running, the others are paused"
    );

    let again = created_event(
        "evt_dn_3",
        &tenant,
        "cus_dn",
        "sub_dn2",
        "price_starter_test",
        now + 2,
    );
    assert_eq!(
        deliver_now(&stripe, &app, &again).await.1["result"],
        "applied"
    );
    assert_eq!(plan_of(&site, &tenant).await, "starter");
    assert!(paused().await.iter().all(|(_, p)| !p), "all bots resumed");
}

#[actix_web::test]
async fn checkout_and_portal_go_through_the_stripe_api() {
    let stripe = FakeStripe::start();
    let site = billing_site(&stripe, "0");
    let app = site.app().await;
    let mut ana = Browser::new(app.clone());
    let signed_up = ana
        .post(
            "/signup",
            &[
                ("name", "Ana"),
                ("email", "ana.billing@example.com"),
                ("password", PASSWORD),
                ("workspace_name", "Lima Bakery"),
            ],
        )
        .await;
    assert_eq!(
        signed_up.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_up.body
    );
    let tenant: String = site
        .query(|conn| {
            memberships::table
                .inner_join(users::table)
                .filter(users::email.eq("ana.billing@example.com"))
                .select(memberships::tenant_id)
                .first(conn)
        })
        .await;
    assert_eq!(plan_of(&site, &tenant).await, "free", "trials are off here");

    let upgrade = ana.get("/billing/upgrade").await;
    assert_eq!(upgrade.status, StatusCode::OK);
    assert!(
        upgrade.body.contains(r#"action="/billing/checkout""#),
        "{}",
        upgrade.body
    );

    // A bad plan is refused on the page, without calling Stripe.
    let bad = ana.post("/billing/checkout", &[("plan", "platinum")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("Choose one of the paid plans."));
    assert!(stripe.requests().is_empty());

    let first = ana.post("/billing/checkout", &[("plan", "starter")]).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.body);
    assert!(
        first
            .location()
            .starts_with(&format!("{}/c/pay/cs_test_", stripe.base_url)),
        "{}",
        first.location()
    );
    let requests = stripe.requests();
    let call = &requests[0];
    assert_eq!(call.path, "/v1/checkout/sessions");
    assert_eq!(call.form["mode"], "subscription");
    assert_eq!(call.form["line_items[0][price]"], "price_starter_test");
    assert_eq!(call.form["line_items[0][quantity]"], "1");
    assert_eq!(call.form["client_reference_id"], tenant);
    assert_eq!(call.form["subscription_data[metadata][tenant_id]"], tenant);
    assert_eq!(call.form["customer_email"], "ana.billing@example.com");
    assert_eq!(
        call.form["success_url"],
        "http://localhost:8080/billing?checkout=success"
    );
    let key = call.idempotency_key.clone().expect("an idempotency key");
    // A double click: the same key, so Stripe answers with the same session.
    let second = ana.post("/billing/checkout", &[("plan", "starter")]).await;
    assert_eq!(second.location(), first.location());
    assert_eq!(
        stripe.requests()[1].idempotency_key.as_deref(),
        Some(key.as_str())
    );
    // Another plan is another intent: another key.
    ana.post("/billing/checkout", &[("plan", "pro")]).await;
    assert_ne!(
        stripe.requests()[2].idempotency_key.as_deref(),
        Some(key.as_str())
    );

    // No customer yet: the portal explains instead of calling Stripe.
    let early = ana.post("/billing/portal", &[]).await;
    assert_eq!(early.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(stripe.requests().len(), 3);

    // Stripe reports the completed checkout; then the portal opens for that customer.
    let now = Utc::now().timestamp();
    let completed = fake::event(
        "evt_co_1",
        "checkout.session.completed",
        now,
        fake::completed_session("cs_test_0001", &tenant, "cus_ana", "sub_ana"),
    );
    let created = created_event(
        "evt_co_2",
        &tenant,
        "cus_ana",
        "sub_ana",
        "price_starter_test",
        now + 1,
    );
    // When the checkout completes, Stripe has the subscription already.
    stripe_now_has(&stripe, &created);
    deliver_now(&stripe, &app, &completed).await;
    deliver_now(&stripe, &app, &created).await;
    let billing = ana.get("/billing").await;
    assert!(
        billing.body.contains("<strong>Starter</strong>"),
        "{}",
        billing.body
    );
    let portal = ana.post("/billing/portal", &[]).await;
    assert_eq!(portal.status, StatusCode::SEE_OTHER, "{}", portal.body);
    assert!(
        portal
            .location()
            .starts_with(&format!("{}/p/session/", stripe.base_url))
    );
    let call = stripe.requests().last().cloned().unwrap();
    assert_eq!(call.path, "/v1/billing_portal/sessions");
    assert_eq!(call.form["customer"], "cus_ana");
    assert_eq!(call.form["return_url"], "http://localhost:8080/billing");
    assert!(call.idempotency_key.is_some());
    // A paying workspace that asks to check out again goes to the portal (one subscription).
    let change = ana.post("/billing/checkout", &[("plan", "pro")]).await;
    assert!(
        change
            .location()
            .starts_with(&format!("{}/p/session/", stripe.base_url))
    );
}

/// Take `action` through the meter as the pipeline does: open a tally, consume in a
/// transaction, commit, then flush, so the database shows the count (with Redis the count
/// lives there until a flush).
async fn consume_metered(site: &Site, tenant: &str, action: Action) -> Decision {
    let (meter, db) = (site.state.bots.meter().clone(), site.state.db.clone());
    let tally = meter.open(tenant).await;
    let tenant = tenant.to_owned();
    let (decision, tally) = db
        .run_in(RowScope::tenant(tenant.clone()), move |conn| {
            let mut tally = tally;
            let decision = entitlements::consume_in(conn, &mut tally, &tenant, action)?;
            Ok((decision, tally))
        })
        .await
        .expect("consume");
    tally.commit(&db).await;
    meter.flush(&db).await.expect("flush");
    decision
}

/// Check every quota of the Starter plan at limit − 1, limit and limit + 1.
#[actix_web::test]
async fn every_quota_holds_at_its_boundary() {
    let stripe = FakeStripe::start();
    let site = billing_site(&stripe, "0");
    let app = site.app().await;
    let tenant = workspace(&site, "quota@example.com").await;
    let now = Utc::now().timestamp();
    deliver_now(
        &stripe,
        &app,
        &created_event(
            "evt_q_1",
            &tenant,
            "cus_q",
            "sub_q",
            "price_starter_test",
            now,
        ),
    )
    .await;
    assert_eq!(plan_of(&site, &tenant).await, "starter");

    let check = |action: Action| {
        let tenant = tenant.clone();
        site.query(move |conn| entitlements::check_in(conn, &tenant, action))
    };
    let consume = |action: Action| consume_metered(&site, &tenant, action);
    let denied = |decision: Decision, limit: i64, used: i64| {
        let denial = decision.denial().expect("denied");
        assert_eq!(denial.code, "plan_limit_reached");
        assert_eq!((denial.limit, denial.used), (Some(limit), used));
        assert_eq!(denial.upgrade_url, "/billing/upgrade");
        assert!(denial.plan_needed.is_some());
        denial
    };

    // Bots: 3 on Starter.
    add_bots(&site, &tenant, 2).await;
    assert!(check(Action::CreateBot).await.is_allowed(), "2 of 3 bots");
    add_bots(&site, &tenant, 1).await;
    let denial = denied(check(Action::CreateBot).await, 3, 3);
    assert_eq!(denial.plan_needed.as_deref(), Some("pro"));
    assert_eq!(
        denial.message(),
        "Bots limit reached (3 of 3). Upgrade to Pro to unlock it."
    );
    add_bots(&site, &tenant, 1).await;
    denied(check(Action::CreateBot).await, 3, 4);

    // Members: 3 on Starter; a pending invitation holds a seat.
    let invite = |email: &'static str| {
        let tenant = tenant.clone();
        site.query(move |conn| {
            let now = Utc::now().naive_utc();
            diesel::insert_into(invitations::table)
                .values((
                    invitations::id.eq(whatsdex::ids::new_id()),
                    invitations::tenant_id.eq(&tenant),
                    invitations::email.eq(email),
                    invitations::role.eq("member"),
                    invitations::token_hash.eq(whatsdex::ids::new_id()),
                    invitations::created_at.eq(now),
                    invitations::expires_at.eq(now + Duration::days(7)),
                ))
                .execute(conn)
        })
    };
    invite("one@example.com").await;
    assert!(check(Action::AddMember).await.is_allowed(), "2 of 3 seats");
    invite("two@example.com").await;
    denied(check(Action::AddMember).await, 3, 3);
    invite("three@example.com").await;
    denied(check(Action::AddMember).await, 3, 4);

    // Metered quotas: counted by consume_in, which refuses (and counts nothing) at the limit.
    for (metric, action, limit) in [
        (Metric::Messages, Action::ReceiveMessage, 10_000),
        (Metric::AiReplies, Action::AiReply, 100),
        (
            Metric::BroadcastRecipients,
            Action::Broadcast { recipients: 1 },
            1_000,
        ),
    ] {
        // Set the stored total and drop Redis's copy, which then starts again from it.
        let set = |value: i64| {
            let (site, tenant) = (&site, tenant.clone());
            async move {
                let key = counter_key(&tenant, metric, &metric.current_period());
                site.query(move |conn| {
                    let current = usage::used_in(conn, &tenant, metric)?;
                    usage::add_in(conn, &tenant, metric, value - current)
                })
                .await;
                site.state.cache.delete(&key).await.expect("reset");
            }
        };
        set(limit - 1).await;
        assert!(
            consume(action).await.is_allowed(),
            "{metric:?} at limit - 1"
        );
        let used = {
            let tenant = tenant.clone();
            site.query(move |conn| usage::used_in(conn, &tenant, metric))
                .await
        };
        assert_eq!(used, limit, "{metric:?}: the allowed unit was counted");
        denied(consume(action).await, limit, limit);
        denied(check(action).await, limit, limit);
        set(limit + 1).await;
        denied(consume(action).await, limit, limit + 1);
        let used = {
            let tenant = tenant.clone();
            site.query(move |conn| usage::used_in(conn, &tenant, metric))
                .await
        };
        assert_eq!(used, limit + 1, "{metric:?}: a refused unit is not counted");
    }
    // A broadcast that would cross the limit is refused whole.
    let tenant_b = tenant.clone();
    site.query(move |conn| {
        let current = usage::used_in(conn, &tenant_b, Metric::BroadcastRecipients)?;
        usage::add_in(conn, &tenant_b, Metric::BroadcastRecipients, 999 - current)
    })
    .await;
    let key = counter_key(
        &tenant,
        Metric::BroadcastRecipients,
        &Metric::BroadcastRecipients.current_period(),
    );
    site.state.cache.delete(&key).await.expect("reset");
    denied(
        consume(Action::Broadcast { recipients: 2 }).await,
        1_000,
        999,
    );
    assert!(
        consume(Action::Broadcast { recipients: 1 })
            .await
            .is_allowed()
    );

    // Features: Starter has custom commands, not flows.
    assert!(
        check(Action::Use(Feature::CustomCommands))
            .await
            .is_allowed()
    );
    let flows = check(Action::Use(Feature::Flows))
        .await
        .denial()
        .expect("denied");
    assert_eq!(flows.code, "feature_not_in_plan");
    assert_eq!(flows.plan_needed.as_deref(), Some("pro"));
}

/// Eight tabs create a bot at the same moment on the free plan (one bot): one wins. On
/// PostgreSQL the others wait for the workspace's row lock, on SQLite for the write lock
/// (`BEGIN IMMEDIATE`), and are refused. Never two bots.
#[actix_web::test]
async fn bots_created_at_once_never_exceed_the_limit() {
    let stripe = FakeStripe::start();
    let site = billing_site(&stripe, "0");
    let app = site.app().await;
    let mut ana = Browser::new(app.clone());
    ana.post(
        "/signup",
        &[
            ("name", "Ana"),
            ("email", "ana.race@example.com"),
            ("password", PASSWORD),
            ("workspace_name", "Race Shop"),
        ],
    )
    .await;
    ana.get("/bots").await;
    let tabs = (0..8).map(|i| {
        let mut tab = Browser::new(app.clone());
        tab.cookies = ana.cookies.clone();
        async move {
            tab.post("/bots", &[("name", &format!("Bot {i}"))])
                .await
                .status
        }
    });
    let statuses = futures_util::future::join_all(tabs).await;
    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::SEE_OTHER)
        .count();
    assert_eq!(created, 1, "{statuses:?}");
    let count: i64 = site.query(|c| bots::table.count().get_result(c)).await;
    assert_eq!(count, 1);
}

#[actix_web::test]
async fn the_free_plan_refuses_a_second_bot_with_an_upgrade_link() {
    let stripe = FakeStripe::start();
    let site = billing_site(&stripe, "0");
    let app = site.app().await;
    let mut ana = Browser::new(app.clone());
    ana.post(
        "/signup",
        &[
            ("name", "Ana"),
            ("email", "ana.free@example.com"),
            ("password", PASSWORD),
            ("workspace_name", "Free Shop"),
        ],
    )
    .await;
    let first = ana.post("/bots", &[("name", "First bot")]).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.body);
    let second = ana.post("/bots", &[("name", "Second bot")]).await;
    assert_eq!(second.status, StatusCode::FORBIDDEN);
    assert!(
        second
            .body
            .contains("Bots limit reached (1 of 1). Upgrade to Starter to unlock it."),
        "{}",
        second.body
    );
    assert!(second.body.contains(r#"href="/billing/upgrade""#));
    assert!(
        second.body.contains(r#"value="Second bot""#),
        "what was typed is kept"
    );
    let count: i64 = site
        .query(|conn| bots::table.count().get_result(conn))
        .await;
    assert_eq!(count, 1);
    // The usage page shows it.
    let billing = ana.get("/billing").await;
    assert!(billing.body.contains("1 of 1"), "{}", billing.body);
    // The API's answer for a denial: 403, a stable code and the upgrade link.
    let denial = site
        .query(|conn| {
            let tenant: String = bots::table.select(bots::tenant_id).first(conn)?;
            entitlements::check_in(conn, &tenant, Action::CreateBot)
        })
        .await
        .denial()
        .expect("denied");
    let json = denial.to_json();
    assert_eq!(json["error"]["code"], "plan_limit_reached");
    assert_eq!(json["error"]["upgrade_url"], "/billing/upgrade");
    assert_eq!(json["error"]["limit"], 1);
}

#[actix_web::test]
async fn metering_is_exact_under_concurrency_and_redelivery() {
    let stripe = FakeStripe::start();
    let site = billing_site(&stripe, "0");
    let tenant = workspace(&site, "meter@example.com").await;

    // 40 increments at once, each in its own transaction on its own connection.
    let mut handles = Vec::new();
    for _ in 0..40 {
        let (db, tenant) = (site.state.db.clone(), tenant.clone());
        handles.push(tokio::spawn(async move {
            db.run_in(
                whatsdex::db::RowScope::tenant(tenant.clone()),
                move |conn| usage::add_in(conn, &tenant, Metric::AiReplies, 1),
            )
            .await
        }));
    }
    for handle in handles {
        handle.await.expect("task").expect("increment");
    }
    let tenant_q = tenant.clone();
    let total = site
        .query(move |conn| usage::used_in(conn, &tenant_q, Metric::AiReplies))
        .await;
    assert_eq!(total, 40);

    // The pipeline's path, through the meter (Redis when configured): 40 different
    // messages at once, flushing while they are counted (a flush must not lose or double a
    // unit), then once more at the end.
    let bot_id = add_bots(&site, &tenant, 1).await.remove(0);
    let bot = whatsdex::bots::model::find_for_runtime(&site.state.db, &bot_id)
        .await
        .unwrap()
        .unwrap();
    let meter = site.state.bots.meter();
    let inbound = (0..40).map(|i| {
        let message = InboundMessage {
            extras: Default::default(),
            id: format!("wamid.AT-ONCE-{i}"),
            from: format!("4477009{i:05}"),
            from_name: None,
            text: "hello".into(),
        };
        whatsdex::bots::pipeline::handle_inbound(site.state.bots.engine(), &bot, message)
    });
    let flushes = async {
        for _ in 0..5 {
            meter.flush(&site.state.db).await.expect("flush");
            tokio::task::yield_now().await;
        }
    };
    let (outcomes, ()) =
        futures_util::future::join(futures_util::future::join_all(inbound), flushes).await;
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    meter.flush(&site.state.db).await.expect("flush");
    let tenant_q = tenant.clone();
    let messages = site
        .query(move |conn| usage::used_in(conn, &tenant_q, Metric::Messages))
        .await;
    assert_eq!(messages, 40);
    if site.state.cache.is_redis() {
        // Counted in Redis, and flushed from there.
        let key = counter_key(
            &tenant,
            Metric::Messages,
            &Metric::Messages.current_period(),
        );
        let live = site.state.cache.get(&key).await.expect("redis");
        assert_eq!(live.as_deref(), Some("40"));
    }

    // An inbound message delivered twice is counted once.
    let message = InboundMessage {
        extras: Default::default(),
        id: "wamid.ABC123".into(),
        from: "447700900123".into(),
        from_name: None,
        text: "hello".into(),
    };
    for _ in 0..3 {
        whatsdex::bots::pipeline::handle_inbound(site.state.bots.engine(), &bot, message.clone())
            .await
            .unwrap();
    }
    site.state
        .bots
        .meter()
        .flush(&site.state.db)
        .await
        .expect("flush");
    let tenant_q = tenant.clone();
    let messages = site
        .query(move |conn| usage::used_in(conn, &tenant_q, Metric::Messages))
        .await;
    assert_eq!(messages, 41, "the 40 above and this message once");
}

#[actix_web::test]
async fn lapsed_trials_fall_to_free_pause_bots_and_tell_the_owner() {
    let stripe = FakeStripe::start();
    let site = billing_site(&stripe, "14");
    let app = site.app().await;
    let mut ana = Browser::new(app.clone());
    ana.post(
        "/signup",
        &[
            ("name", "Ana"),
            ("email", "ana.trial@example.com"),
            ("password", PASSWORD),
            ("workspace_name", "Trial Shop"),
        ],
    )
    .await;
    let tenant: String = site
        .query(|conn| subs::table.select(subs::tenant_id).first(conn))
        .await;
    let trial = subscription_of(&site, &tenant).await.unwrap();
    assert_eq!(
        (trial.plan_id.as_str(), trial.status()),
        ("pro", Status::Trialing)
    );
    let days = (trial.trial_ends_at.unwrap() - Utc::now().naive_utc()).num_days();
    assert!((13..=14).contains(&days), "{days}");
    // On the trial, a second bot is fine.
    for name in ["One", "Two"] {
        let created = ana.post("/bots", &[("name", name)]).await;
        assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    }

    // Not yet over: nothing happens.
    assert!(
        whatsdex::jobs::lapse_trials(&site.state)
            .await
            .unwrap()
            .is_empty()
    );
    let tenant_q = tenant.clone();
    site.query(move |conn| {
        diesel::update(subs::table.find(&tenant_q))
            .set(subs::trial_ends_at.eq(Utc::now().naive_utc() - Duration::minutes(1)))
            .execute(conn)
    })
    .await;
    let lapsed = whatsdex::jobs::lapse_trials(&site.state).await.unwrap();
    assert_eq!(lapsed.len(), 1);
    assert_eq!(lapsed[0].bots_paused, 1);
    assert_eq!(plan_of(&site, &tenant).await, "free");
    assert_eq!(
        subscription_of(&site, &tenant).await.unwrap().status(),
        Status::Expired
    );
    let mail = site
        .smtp
        .wait_for("ana.trial@example.com", "Free plan")
        .await;
    assert!(
        mail.text().contains("paused, not deleted"),
        "{}",
        mail.text()
    );
    // The bots page says which bot is paused and how to get it back.
    let page = ana.get("/bots").await;
    assert_eq!(
        page.body.matches(r#"data-testid="bot-paused""#).count(),
        1,
        "{}",
        page.body
    );
    assert!(page.body.contains("Your plan allows fewer bots."));
    // Running again changes nothing.
    assert!(
        whatsdex::jobs::lapse_trials(&site.state)
            .await
            .unwrap()
            .is_empty()
    );

    // One instance at a time.
    assert!(
        trials::acquire_lease(&site.state, "instance-a")
            .await
            .unwrap()
    );
    assert!(
        trials::acquire_lease(&site.state, "instance-a")
            .await
            .unwrap(),
        "renewal"
    );
    assert!(
        !trials::acquire_lease(&site.state, "instance-b")
            .await
            .unwrap()
    );
}

#[actix_web::test]
async fn an_older_state_never_overwrites_a_newer_one() {
    let stripe = FakeStripe::start();
    let site = billing_site(&stripe, "0");
    let tenant = workspace(&site, "older@example.com").await;
    let state = |plan: &str, status: Status| StripeState {
        customer_id: "cus_o".into(),
        subscription_id: "sub_o".into(),
        plan_id: plan.into(),
        status,
        current_period_end: None,
        trial_ends_at: None,
        grace_days: 7,
    };
    let (t, newer, older) = (
        tenant.clone(),
        state("pro", Status::Active),
        state("starter", Status::Active),
    );
    let applied = site
        .query(move |conn| {
            Ok((
                subscriptions::apply_stripe_state_in(conn, &t, &newer, 200)?,
                subscriptions::apply_stripe_state_in(conn, &t, &older, 100)?,
            ))
        })
        .await;
    assert_eq!(applied, (true, false));
    assert_eq!(plan_of(&site, &tenant).await, "pro");
}

/// The seven events of one subscription's life, in Stripe's order, each with the
/// subscription as Stripe has it right after: created incomplete → first invoice paid →
/// checkout completed → plan changed to Pro → an event we do not handle → a renewal payment
/// failed → the subscription deleted.
fn seven_event_story(tenant: &str, tag: &str, start: i64) -> Vec<(String, Value)> {
    let (customer, sub) = (format!("cus_{tag}"), format!("sub_{tag}"));
    let period = start + 2_592_000;
    let state = |price: &str, status: &str| {
        fake::subscription(&sub, &customer, tenant, price, status, period)
    };
    let incomplete = state("price_starter_test", "incomplete");
    let starter = state("price_starter_test", "active");
    let pro = state("price_pro_test", "active");
    let past_due = state("price_pro_test", "past_due");
    let canceled = state("price_pro_test", "canceled");
    let event = |n: u32, kind: &str, object: Value| {
        fake::event(
            &format!("evt_{tag}_{n}"),
            kind,
            start + i64::from(n),
            object,
        )
    };
    vec![
        (
            event(1, "customer.subscription.created", incomplete.clone()),
            incomplete,
        ),
        (
            event(
                2,
                "invoice.paid",
                fake::invoice(&format!("in_{tag}_1"), &customer, &sub, "paid"),
            ),
            starter.clone(),
        ),
        (
            event(
                3,
                "checkout.session.completed",
                fake::completed_session(&format!("cs_{tag}"), tenant, &customer, &sub),
            ),
            starter,
        ),
        (
            event(4, "customer.subscription.updated", pro.clone()),
            pro.clone(),
        ),
        (
            event(
                5,
                "customer.updated",
                serde_json::json!({"id": customer, "object": "customer", "email": "x@example.com"}),
            ),
            pro,
        ),
        (
            event(
                6,
                "invoice.payment_failed",
                fake::invoice(&format!("in_{tag}_2"), &customer, &sub, "open"),
            ),
            past_due,
        ),
        (
            event(7, "customer.subscription.deleted", canceled.clone()),
            canceled,
        ),
    ]
}

/// A small, seeded shuffle (xorshift), so a failing order can be replayed from its seed.
fn shuffled<T: Clone>(items: &[T], seed: u64) -> Vec<T> {
    let mut state = seed | 1;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut out = items.to_vec();
    for i in (1..out.len()).rev() {
        let j = usize::try_from(next() % (i as u64 + 1)).unwrap();
        out.swap(i, j);
    }
    out
}

/// The story ends in the same state whatever order Stripe delivers its events in, and however
/// often: plan, status, grace and paused bots as when they arrive in Stripe's order. Also for
/// the story cut before the deletion (paid plan kept, in its grace period).
#[actix_web::test]
async fn a_subscription_story_ends_the_same_in_any_order_and_with_repeats() {
    let stripe = FakeStripe::start();
    let site = billing_site(&stripe, "0");
    let app = site.app().await;
    let start = Utc::now().timestamp() - 1_000;

    async fn outcome(site: &Site, tenant: &str) -> (String, String, bool, Vec<bool>) {
        let stored = subscription_of(site, tenant).await.expect("a subscription");
        let tenant = tenant.to_owned();
        let paused = site
            .query(move |conn| {
                bots::table
                    .filter(bots::tenant_id.eq(&tenant))
                    .order(bots::created_at.asc())
                    .select(bots::paused_for_plan)
                    .load::<bool>(conn)
            })
            .await;
        (
            stored.effective_plan_id().to_owned(),
            stored.status.clone(),
            stored.grace_ends_at.is_some(),
            paused,
        )
    }

    for length in [7, 6] {
        // In Stripe's order, Stripe's state moving with each event.
        let tenant = workspace(&site, &format!("story{length}@example.com")).await;
        add_bots(&site, &tenant, 3).await;
        let story = seven_event_story(&tenant, &format!("s{length}"), start);
        for (event, after) in &story[..length] {
            stripe.put_subscription(after);
            let (status, answer) = deliver_signed(&app, event).await;
            assert_eq!(status, StatusCode::OK, "{answer}");
        }
        let expected = outcome(&site, &tenant).await;
        match length {
            7 => assert_eq!(
                expected,
                (
                    "free".into(),
                    "canceled".into(),
                    false,
                    vec![false, true, true]
                )
            ),
            _ => assert_eq!(
                expected,
                (
                    "pro".into(),
                    "past_due".into(),
                    true,
                    vec![false, false, false]
                )
            ),
        }

        // The same story, delivered after the fact: shuffled, each event one to three times.
        for seed in 1..=12u64 {
            let tenant = workspace(&site, &format!("story{length}.{seed}@example.com")).await;
            add_bots(&site, &tenant, 3).await;
            let story = seven_event_story(&tenant, &format!("s{length}x{seed}"), start);
            stripe.put_subscription(&story[length - 1].1);
            let mut deliveries = Vec::new();
            for (n, (event, _)) in story[..length].iter().enumerate() {
                for _ in 0..=(seed as usize + n) % 3 {
                    deliveries.push(event.clone());
                }
            }
            for event in shuffled(&deliveries, seed * 7919) {
                let (status, answer) = deliver_signed(&app, &event).await;
                assert_eq!(status, StatusCode::OK, "seed {seed}: {answer}");
            }
            assert_eq!(
                outcome(&site, &tenant).await,
                expected,
                "story of {length} events, seed {seed}"
            );
        }
    }
}
