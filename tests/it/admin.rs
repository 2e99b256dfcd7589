//! The platform admin: 404 for everyone else on every admin route, the dashboard's numbers
//! against a known data set, suspension and a plan set by hand.

use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use chrono::{Duration as Days, NaiveDateTime, Utc};
use diesel::prelude::*;
use whatsdex::admin::platform_metrics;
use whatsdex::analytics::rollups::{self, MessageEvent};
use whatsdex::db::schema::{bots, subscriptions, tenants};

use crate::common::browser::{Browser, Page};
use crate::common::{PASSWORD, Site, make_admin, sign_up, signed_in_admin, tenant_id_of};

/// Every admin route, with a sample id. `every_admin_route_is_listed` keeps it complete.
const ADMIN_ROUTES: &[(&str, &str)] = &[
    ("GET", "/admin"),
    ("GET", "/admin/metrics"),
    ("GET", "/admin/tenants"),
    ("GET", "/admin/tenants/{id}"),
    ("POST", "/admin/tenants/{id}/suspend"),
    ("POST", "/admin/tenants/{id}/unsuspend"),
    ("POST", "/admin/tenants/{id}/plan"),
    ("POST", "/admin/tenants/{id}/resend-verification"),
];

#[test]
fn every_admin_route_is_listed() {
    let source = include_str!("../../src/web/mod.rs");
    let registered: Vec<&str> = source
        .split('"')
        .filter(|s| s.starts_with("/admin"))
        .collect();
    assert!(registered.len() >= ADMIN_ROUTES.len(), "{registered:?}");
    for path in registered {
        assert!(
            ADMIN_ROUTES.iter().any(|(_, p)| *p == path),
            "{path} is registered but not in ADMIN_ROUTES"
        );
    }
}

async fn call<S, B>(browser: &mut Browser<S>, method: &str, path: &str) -> Page
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    match method {
        "GET" => browser.get(path).await,
        _ => {
            browser
                .post(path, &[("reason", "testing"), ("plan", "pro")])
                .await
        }
    }
}

#[actix_web::test]
async fn non_admins_get_404_on_every_admin_route() {
    let site = Site::start();
    let app = site.app().await;
    let mut member = Browser::new(app.clone());
    sign_up(&mut member, "ana@example.com", "Lima Bakery").await;
    let tenant = tenant_id_of(&site, "Lima Bakery").await;
    let mut stranger = Browser::new(app.clone());

    for (method, pattern) in ADMIN_ROUTES {
        let path = pattern.replace("{id}", &tenant);
        for (who, browser) in [("signed out", &mut stranger), ("member", &mut member)] {
            let page = call(browser, method, &path).await;
            assert_eq!(
                page.status,
                StatusCode::NOT_FOUND,
                "{method} {path} as {who}: {}",
                page.body
            );
        }
    }
    // Nothing happened to the workspace.
    let suspended: Option<NaiveDateTime> = site
        .query(move |c| {
            tenants::table
                .find(tenant)
                .select(tenants::suspended_at)
                .first(c)
        })
        .await;
    assert_eq!(suspended, None);

    // The same routes do answer an admin (so the 404s above are the guard, not missing pages).
    let mut admin = Browser::new(app.clone());
    signed_in_admin(&site, &mut admin).await;
    let tenant = tenant_id_of(&site, "Lima Bakery").await;
    for (method, pattern) in ADMIN_ROUTES.iter().filter(|r| r.0 == "GET") {
        let page = call(&mut admin, method, &pattern.replace("{id}", &tenant)).await;
        assert_ne!(page.status, StatusCode::NOT_FOUND, "{pattern} as admin");
    }
    let foreign = admin.get("/admin/tenants/no-such-tenant").await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
}

/// The number inside `data-testid="{id}">…<`.
fn stat(body: &str, id: &str) -> String {
    let marker = format!("data-testid=\"{id}\">");
    let from = body.find(&marker).unwrap_or_else(|| panic!("no {id}")) + marker.len();
    let to = body[from..].find('<').unwrap() + from;
    body[from..to].to_owned()
}

#[actix_web::test]
async fn the_dashboard_shows_exactly_the_seeded_numbers() {
    let site = Site::start();
    let app = site.app().await;
    let now = Utc::now().naive_utc();
    let today = now.date();
    // Three tenants: A (new today, set to Pro by hand), B (two days old), C (40 days old,
    // suspended). Bots: A connected + error, B connected, C unpaired.
    site.query(move |c| {
        let tenant = |id: &str, age: i64, suspended: bool, plan: Option<&str>| {
            (
                tenants::id.eq(id.to_owned()),
                tenants::name.eq(format!("Tenant {id}")),
                tenants::created_at.eq(now - Days::days(age)),
                tenants::updated_at.eq(now),
                tenants::suspended_at.eq(suspended.then_some(now)),
                tenants::plan_override.eq(plan.map(str::to_owned)),
            )
        };
        diesel::insert_into(tenants::table)
            .values(tenant("A", 0, false, Some("pro")))
            .execute(c)?;
        diesel::insert_into(tenants::table)
            .values(tenant("B", 2, false, None))
            .execute(c)?;
        diesel::insert_into(tenants::table)
            .values(tenant("C", 40, true, None))
            .execute(c)?;
        // B is on a Pro trial: on Pro, but paying nothing yet. C's active Starter plan does
        // not count while it is suspended.
        for (tenant_id, plan, status) in [("B", "pro", "trialing"), ("C", "starter", "active")] {
            diesel::insert_into(subscriptions::table)
                .values((
                    subscriptions::tenant_id.eq(tenant_id),
                    subscriptions::plan_id.eq(plan),
                    subscriptions::status.eq(status),
                    subscriptions::state_at.eq(0_i64),
                    subscriptions::created_at.eq(now),
                    subscriptions::updated_at.eq(now),
                ))
                .execute(c)?;
        }
        for (id, tenant_id, status) in [
            ("a1", "A", "connected"),
            ("a2", "A", "error"),
            ("b1", "B", "connected"),
            ("c1", "C", "unpaired"),
        ] {
            diesel::insert_into(bots::table)
                .values((
                    bots::id.eq(id),
                    bots::tenant_id.eq(tenant_id),
                    bots::name.eq(id),
                    bots::transport.eq("sandbox"),
                    bots::status.eq(status),
                    bots::created_at.eq(now),
                    bots::updated_at.eq(now),
                ))
                .execute(c)?;
        }
        // Messages through the same function the pipeline and the outbox call.
        let mut count = |tenant: &str, bot: &str, age: i64, inbound: usize, outbound: usize| {
            let at = now - Days::days(age);
            for _ in 0..inbound {
                rollups::count_message(c, &MessageEvent::inbound(tenant, bot, at))?;
            }
            for _ in 0..outbound {
                rollups::count_message(c, &MessageEvent::outbound(tenant, bot, at))?;
            }
            QueryResult::Ok(())
        };
        count("A", "a1", 0, 5, 3)?;
        count("A", "a1", 3, 10, 0)?;
        count("B", "b1", 20, 7, 7)?;
        count("B", "b1", 40, 100, 0)?;
        count("C", "c1", 8, 2, 0)?;
        rollups::count_message(
            c,
            &MessageEvent {
                ai_reply: true,
                ..MessageEvent::outbound("A", "a1", now)
            },
        )
    })
    .await;

    let o = site
        .query(move |c| platform_metrics::load_in(c, today))
        .await;
    assert_eq!(o.tenants_total, 3);
    assert_eq!(o.tenants_suspended, 1);
    assert_eq!(
        o.tenants_active_7d, 1,
        "only A had messages in the last 7 days"
    );
    assert_eq!(o.messages_today, 9);
    assert_eq!(o.messages_7d, 19);
    assert_eq!(o.messages_30d, 35);
    assert_eq!(o.ai_replies_30d, 1);
    assert_eq!(
        o.bots_by_status,
        vec![
            ("connected".to_owned(), 2),
            ("error".to_owned(), 1),
            ("unpaired".to_owned(), 1)
        ]
    );
    // Top tenants count this calendar month: only the seeded days inside it.
    let this_month = |age: i64, n: i64| {
        if rollups::month_of(today - Days::days(age)) == rollups::month_of(today) {
            n
        } else {
            0
        }
    };
    let mut expected = vec![
        ("A", 9 + this_month(3, 10)),
        ("B", this_month(20, 14) + this_month(40, 100)),
        ("C", this_month(8, 2)),
    ];
    expected.retain(|t| t.1 > 0);
    expected.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let tops: Vec<(&str, i64)> = o
        .top_tenants
        .iter()
        .map(|t| (t.tenant_id.as_str(), t.messages))
        .collect();
    assert_eq!(tops, expected);
    let plans: Vec<(&str, i64)> = o
        .plans
        .iter()
        .map(|p| (p.plan_id.as_str(), p.tenants))
        .collect();
    assert_eq!(
        plans,
        vec![("free", 0), ("starter", 0), ("pro", 2), ("business", 0)]
    );
    assert_eq!(o.estimated_mrr_cents, 4_900, "the trial pays nothing");
    assert_eq!(o.tenants_on_trial, 1);
    assert_eq!(o.signups_per_day.len(), 30);
    assert_eq!(o.signups_per_day.iter().map(|d| d.1).sum::<i64>(), 2);
    assert_eq!(o.signups_per_day.last(), Some(&(today, 1)));
    assert_eq!(o.messages_per_day.last().map(|d| d.total()), Some(9));

    // The page shows the same numbers, and two charts.
    let mut admin = Browser::new(app.clone());
    signed_in_admin(&site, &mut admin).await;
    let page = admin.get("/admin/metrics").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for (id, expected) in [
        ("tenants-total", "3"),
        ("tenants-active", "1"),
        ("tenants-suspended", "1"),
        ("tenants-trial", "1"),
        ("messages-today", "9"),
        ("messages-7d", "19"),
        ("messages-30d", "35"),
        ("ai-replies", "1"),
        ("mrr", "$49"),
    ] {
        assert_eq!(stat(&page.body, id), expected, "{id}");
    }
    // Two charts, each drawn wide (desktop) and narrow (phones).
    assert_eq!(
        page.body.matches(r#"<div class="chart-wide"><svg"#).count(),
        2
    );
    assert_eq!(
        page.body
            .matches(r#"<div class="chart-narrow"><svg"#)
            .count(),
        2
    );
    assert!(page.body.contains("Messages per day"));
    assert!(page.body.contains("Tenant A"));
    assert_eq!(admin.get("/admin").await.location(), "/admin/metrics");
}

#[actix_web::test]
async fn suspending_stops_bots_and_blocks_sign_in_until_lifted() {
    let site = Site::start();
    let app = site.app().await;
    let mut owner = Browser::new(app.clone());
    sign_up(&mut owner, "ana@example.com", "Lima Bakery").await;
    let created = owner.post("/bots", &[("name", "Bakery bot")]).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let bot_id: String = site.query(|c| bots::table.select(bots::id).first(c)).await;
    // The pairing page starts the bot (it shows a QR code).
    owner.get(&format!("/bots/{bot_id}/pair")).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !site.state.bots.is_running(&bot_id.as_str().into()) {
        assert!(Instant::now() < deadline, "the bot never started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let tenant = tenant_id_of(&site, "Lima Bakery").await;
    let mut admin = Browser::new(app.clone());
    signed_in_admin(&site, &mut admin).await;
    let suspend = format!("/admin/tenants/{tenant}/suspend");

    // No reason: refused, the error next to the field.
    let refused = admin.post(&suspend, &[("reason", "   ")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("Give a reason"), "{}", refused.body);
    let too_long = "x".repeat(501);
    let refused = admin.post(&suspend, &[("reason", &too_long)]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains(&too_long), "the typed reason is kept");

    let done = admin
        .post(&suspend, &[("reason", "Spam complaints from customers")])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert!(
        !site.state.bots.is_running(&bot_id.as_str().into()),
        "the bot stopped"
    );
    let page = admin.get(&format!("/admin/tenants/{tenant}")).await;
    assert!(page.body.contains("Spam complaints from customers"));
    assert!(
        page.body
            .contains("Suspended the workspace (platform admin)"),
        "audited"
    );

    // The owner's open session is closed off, and a new sign-in says why.
    let closed = owner.get("/dashboard").await;
    assert_eq!(closed.status, StatusCode::FORBIDDEN);
    assert!(closed.body.contains("suspended"), "{}", closed.body);
    assert!(
        closed
            .body
            .contains("To restore it, contact the operator of this server."),
        "no SUPPORT_EMAIL: whom to ask all the same"
    );
    let mut again = Browser::new(app.clone());
    let refused = again
        .post(
            "/login",
            &[("email", "ana@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("Your workspace is suspended"));
    assert!(refused.body.contains("contact the operator of this server"));

    let lifted = admin
        .post(
            &format!("/admin/tenants/{tenant}/unsuspend"),
            &[("reason", "Sorted out with the owner")],
        )
        .await;
    assert_eq!(lifted.status, StatusCode::SEE_OTHER, "{}", lifted.body);
    let back = again
        .post(
            "/login",
            &[("email", "ana@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
    assert_eq!(owner.get("/dashboard").await.status, StatusCode::OK);
}

#[actix_web::test]
async fn a_plan_set_by_hand_is_what_entitlements_see_and_is_audited() {
    let site = Site::start_with(&[("TRIAL_DAYS", "0")]); // starts on Free
    let app = site.app().await;
    let mut owner = Browser::new(app.clone());
    sign_up(&mut owner, "ana@example.com", "Lima Bakery").await;
    let tenant = tenant_id_of(&site, "Lima Bakery").await;
    let mut admin = Browser::new(app.clone());
    signed_in_admin(&site, &mut admin).await;
    let plan_path = format!("/admin/tenants/{tenant}/plan");

    let bad = admin
        .post(&plan_path, &[("plan", "gold"), ("reason", "VIP")])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("Choose a plan from the list"));

    let done = admin
        .post(&plan_path, &[("plan", "pro"), ("reason", "Partner deal")])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let id = tenant.clone();
    let plan = site
        .query(move |c| whatsdex::billing::subscriptions::current_plan_in(c, &id))
        .await;
    assert_eq!(plan.id, "pro");
    let page = admin.get(&format!("/admin/tenants/{tenant}")).await;
    assert!(
        page.body.contains("Free → Pro (set by hand): Partner deal"),
        "{}",
        page.body
    );
    // The owner sees it in their own audit log too.
    let audit = owner.get("/workspace/audit").await;
    assert!(
        audit.body.contains("Set the plan by hand (platform admin)"),
        "{}",
        audit.body
    );

    let listed = admin.get("/admin/tenants?q=lima").await;
    assert!(listed.body.contains("Lima Bakery") && listed.body.contains("Pro"));
    let none = admin.get("/admin/tenants?q=zz%25").await;
    assert!(!none.body.contains("Lima Bakery"), "% is not a wildcard");

    let cleared = admin
        .post(&plan_path, &[("plan", ""), ("reason", "Deal ended")])
        .await;
    assert_eq!(cleared.status, StatusCode::SEE_OTHER);
    let plan = site
        .query(move |c| whatsdex::billing::subscriptions::current_plan_in(c, &tenant))
        .await;
    assert_eq!(plan.id, "free");
}

#[actix_web::test]
async fn a_platform_admin_lands_in_the_admin_area() {
    let site = Site::start();
    let app = site.app().await;
    // An admin without a workspace: the admin area, not "New workspace".
    let mut admin = Browser::new(app.clone());
    let signed_in = signed_in_admin(&site, &mut admin).await;
    assert_eq!(signed_in.location(), "/admin");
    assert_eq!(admin.get("/login").await.location(), "/admin");
    assert_eq!(
        admin.get("/login?next=/account").await.location(),
        "/account",
        "a page asked for still wins"
    );

    // An admin who is also in a workspace lands there too, the workspace a click away.
    let mut ana = Browser::new(app.clone());
    sign_up(&mut ana, "ana@example.com", "Lima Bakery").await;
    make_admin(&site, "ana@example.com").await;
    let mut ana_again = Browser::new(app.clone());
    let signed_in = ana_again
        .post(
            "/login",
            &[("email", "ana@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(signed_in.location(), "/admin");
    let metrics = ana_again.get("/admin/metrics").await;
    assert_eq!(metrics.status, StatusCode::OK);
    assert!(
        metrics
            .body
            .contains(r#"<a href="/dashboard">Dashboard</a>"#)
    );
    let dashboard = ana_again.get("/dashboard").await;
    assert_eq!(dashboard.status, StatusCode::OK);
    assert!(
        dashboard.body.contains("Lima Bakery"),
        "the workspace's own dashboard"
    );

    // Everyone else still starts on their dashboard.
    let mut bea = Browser::new(app.clone());
    sign_up(&mut bea, "bea@example.com", "Bea Flowers").await;
    let signed_in = Browser::new(app.clone())
        .post(
            "/login",
            &[("email", "bea@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(signed_in.location(), "/dashboard");
}

#[actix_web::test]
async fn a_suspended_workspace_is_told_whom_to_write_to() {
    let site = Site::start_with(&[("SUPPORT_EMAIL", "help@example.com")]);
    let app = site.app().await;
    let mut owner = Browser::new(app.clone());
    sign_up(&mut owner, "ana@example.com", "Lima Bakery").await;
    let tenant = tenant_id_of(&site, "Lima Bakery").await;
    let mut admin = Browser::new(app.clone());
    signed_in_admin(&site, &mut admin).await;
    let done = admin
        .post(
            &format!("/admin/tenants/{tenant}/suspend"),
            &[("reason", "Unpaid invoices")],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);

    let mailto =
        r#"<a href="mailto:help@example.com" data-testid="support-email">help@example.com</a>"#;
    let closed = owner.get("/bots").await;
    assert_eq!(closed.status, StatusCode::FORBIDDEN);
    assert!(closed.body.contains(mailto), "{}", closed.body);
    let refused = Browser::new(app.clone())
        .post(
            "/login",
            &[("email", "ana@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains(mailto), "{}", refused.body);
}
