//! What a workspace is told about its plan: every page gives the same plan, limits and usage
//! (a plan set by a platform admin included), the wizard keeps the trial unless the owner
//! chooses otherwise, plans advertise only what this server has, and without Stripe nobody
//! is shown a purchase button.

use actix_web::http::StatusCode;
use diesel::prelude::*;
use whatsdex::billing::subscriptions::{self, Status};
use whatsdex::db::schema::bots;

use crate::bots::paired_bot;
use crate::common::browser::Browser;
use crate::common::{Site, invite_and_join, sign_up, signed_in_admin, tenant_id_of};

/// The text of the element after `marker` up to the next tag, trimmed.
fn text_after<'a>(body: &'a str, marker: &str) -> &'a str {
    let start = body
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} not on the page:\n{body}"))
        + marker.len();
    let rest = &body[start..];
    rest[..rest.find('<').unwrap_or(rest.len())].trim()
}

#[actix_web::test]
async fn every_page_shows_the_plan_a_platform_admin_set_and_its_bot_limit_applies() {
    let site = Site::start_with(&[("TRIAL_DAYS", "0")]); // starts on Free
    let app = site.app().await;
    let mut owner = Browser::new(app.clone());
    sign_up(&mut owner, "ana@example.com", "Lima Bakery").await;
    let tenant = tenant_id_of(&site, "Lima Bakery").await;
    let mut admin = Browser::new(app.clone());
    signed_in_admin(&site, &mut admin).await;
    let set_plan = format!("/admin/tenants/{tenant}/plan");
    let done = admin
        .post(&set_plan, &[("plan", "pro"), ("reason", "Partner deal")])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);

    let billing = owner.get("/billing").await;
    assert!(
        billing
            .body
            .contains("You are on the <strong>Pro</strong> plan"),
        "{}",
        billing.body
    );
    assert!(billing.body.contains("set by the operator"));
    assert!(
        billing.body.contains("<td>1 of 10</td>"),
        "{}",
        billing.body
    );
    let upgrade = owner.get("/billing/upgrade").await;
    let pro_card = &upgrade.body[upgrade.body.find(r#"data-plan="pro""#).expect("a Pro card")..];
    assert!(
        pro_card[..pro_card.find("</article>").unwrap()].contains("Your plan"),
        "{}",
        upgrade.body
    );
    let dashboard = owner.get("/dashboard").await;
    assert!(
        dashboard.body.contains("<h3>Pro plan</h3>"),
        "{}",
        dashboard.body
    );

    // Two bots on Pro; back to Free (one bot) pauses the newer at once, as Stripe would.
    for name in ["Orders", "Bookings"] {
        let made = owner.post("/bots", &[("name", name)]).await;
        assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    }
    let back = admin
        .post(&set_plan, &[("plan", "free"), ("reason", "Deal ended")])
        .await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
    let paused: Vec<(String, bool)> = site
        .query(|c| {
            bots::table
                .order(bots::created_at.asc())
                .select((bots::name, bots::paused_for_plan))
                .load(c)
        })
        .await;
    assert_eq!(
        paused,
        [("Orders".to_owned(), false), ("Bookings".to_owned(), true)]
    );
    let billing = owner.get("/billing").await;
    assert!(
        billing
            .body
            .contains("You are on the <strong>Free</strong> plan")
    );
    assert!(
        billing.body.contains("1 bot(s) are paused"),
        "{}",
        billing.body
    );
}

#[actix_web::test]
async fn the_dashboard_and_billing_count_messages_alike_and_say_what_they_count() {
    let site = Site::start();
    let app = site.app().await;
    let mut owner = Browser::new(app.clone());
    let bot_id = paired_bot(&mut owner, app.clone()).await;
    let customer = owner
        .post(
            &format!("/bots/{bot_id}/sandbox-phone"),
            &[("name", "Carl"), ("number", "+351 912 345 678")],
        )
        .await;
    let mut carl = Browser::new(app.clone());
    let phone = customer.location().to_owned();
    for text in ["hello", "!menu", "thanks"] {
        let sent = carl.post(&format!("{phone}/send"), &[("text", text)]).await;
        assert_eq!(sent.status, StatusCode::OK);
    }
    let marker = r#"<label data-usage="Messages received this month">Messages received this month: <strong>"#;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let dashboard = loop {
        // With Redis the running total reaches the database at the next flush, as `serve`'s
        // flusher does every few seconds; pages read the database.
        site.state
            .bots
            .meter()
            .flush(&site.state.db)
            .await
            .expect("flush");
        let page = owner.get("/dashboard").await;
        if text_after(&page.body, marker) == "3 of 100,000" {
            break page;
        }
        assert!(std::time::Instant::now() < deadline, "{}", page.body);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let billing = owner.get("/billing").await;
    let on_dashboard = text_after(
        &dashboard.body,
        r#"<label data-usage="Messages received this month">Messages received this month: <strong>"#,
    );
    assert_eq!(on_dashboard, "3 of 100,000");
    assert!(
        billing.body.contains(&format!("<td>{on_dashboard}</td>")),
        "billing says the same: {}",
        billing.body
    );
    // The bot's own number counts both ways, and says so.
    assert!(
        dashboard.body.contains("messages today, received and sent"),
        "{}",
        dashboard.body
    );
}

#[actix_web::test]
async fn the_wizard_keeps_the_trial_and_says_when_it_ends() {
    let site = Site::start(); // every workspace starts on the 14-day Pro trial
    let app = site.app().await;
    let mut ana = Browser::new(app.clone());
    let signed_up = sign_up(&mut ana, "ana@example.com", "Lima Bakery").await;
    assert_eq!(signed_up.location(), "/onboarding/plan?notice=welcome");
    let tenant = tenant_id_of(&site, "Lima Bakery").await;

    let step = ana.get("/onboarding/plan").await;
    let explained = text_after(&step.body, r#"data-testid="trial-explained">"#);
    assert_eq!(explained, "Your workspace is on a");
    assert!(step.body.contains("free Pro trial"), "{}", step.body);
    assert!(step.body.contains("(14 days left)") || step.body.contains("(13 days left)"));
    assert!(step.body.contains("moves to Free"));
    assert!(
        step.body.contains(r#"value="keep" checked"#),
        "{}",
        step.body
    );

    // Continue as offered: still on the Pro trial, and the dashboard says so.
    let next = ana.post("/onboarding/plan", &[("plan", "keep")]).await;
    assert_eq!(next.location(), "/onboarding/bot");
    let id = tenant.clone();
    let subscription = site
        .query(move |c| subscriptions::find_in(c, &id))
        .await
        .expect("the trial is kept");
    assert_eq!(
        (subscription.plan_id.as_str(), subscription.status()),
        ("pro", Status::Trialing)
    );
    let dashboard = ana.get("/dashboard").await;
    assert!(dashboard.body.contains(r#"data-testid="trial-status""#));
    assert!(
        dashboard.body.contains("Pro plan (free trial)"),
        "{}",
        dashboard.body
    );

    // Choosing Free on purpose ends it.
    ana.get("/onboarding/plan").await;
    let free = ana.post("/onboarding/plan", &[("plan", "free")]).await;
    assert_eq!(free.location(), "/onboarding/bot");
    let plan = site
        .query(move |c| subscriptions::current_plan_in(c, &tenant))
        .await;
    assert_eq!(plan.id, "free");
}

#[actix_web::test]
async fn without_stripe_nobody_sees_a_purchase_button() {
    let site = Site::start_with(&[("SUPPORT_EMAIL", "help@example.com")]); // no Stripe keys
    let app = site.app().await;
    let mut owner = Browser::new(app.clone());
    sign_up(&mut owner, "ana@example.com", "Lima Bakery").await;

    let step = owner.get("/onboarding/plan").await;
    assert!(!step.body.contains(r#"value="starter""#), "{}", step.body);
    assert!(step.body.contains("changed by its operator"));
    let upgrade = owner.get("/billing/upgrade").await;
    assert!(!upgrade.body.contains("Choose Starter"), "{}", upgrade.body);
    assert!(!upgrade.body.contains("disabled>Choose"));
    assert_eq!(
        upgrade.body.matches("changed by its operator").count(),
        1,
        "said once"
    );
    assert!(
        upgrade.body.contains(r#"href="mailto:help@example.com""#),
        "and whom to ask: {}",
        upgrade.body
    );

    // A member is told who can change the plan, and offered no button for it.
    let mut bea = Browser::new(app.clone());
    invite_and_join(&site, &mut owner, &mut bea, "Bea", "bea@example.com").await;
    let billing = bea.get("/billing").await;
    assert_eq!(billing.status, StatusCode::OK);
    assert!(!billing.body.contains(">Change plan<"), "{}", billing.body);
    assert!(
        billing
            .body
            .contains("Only the workspace owner can change the plan")
    );
}

#[actix_web::test]
async fn plans_advertise_only_what_this_server_has() {
    let site = Site::start();
    let app = site.app().await;
    let mut visitor = Browser::new(app.clone());
    for path in ["/", "/pricing"] {
        let page = visitor.get(path).await;
        assert_eq!(page.status, StatusCode::OK);
        for missing in ["AI repl", "REST API", "branding"] {
            assert!(!page.body.contains(missing), "{path} advertises {missing}");
        }
        assert!(!page.body.contains("<li>0 "), "{path} lists a zero quota");
        assert!(
            page.body.contains("1,000 messages a month"),
            "{}",
            page.body
        );
        assert!(page.body.contains("$49"));
    }
    let mut owner = Browser::new(app.clone());
    sign_up(&mut owner, "ana@example.com", "Lima Bakery").await;
    let billing = owner.get("/billing").await;
    assert!(!billing.body.contains("AI replies"), "{}", billing.body);
}

#[actix_web::test]
async fn what_a_plan_lacks_is_said_with_the_way_to_a_plan_that_has_it() {
    let site = Site::start_with(&[("TRIAL_DAYS", "0")]); // the free plan
    let app = site.app().await;
    let mut owner = Browser::new(app.clone());
    sign_up(&mut owner, "ana@example.com", "Lima Bakery").await;
    let made = owner.post("/bots", &[("name", "Orders")]).await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let bot_id: String = site.query(|c| bots::table.select(bots::id).first(c)).await;

    let settings = owner.get(&format!("/bots/{bot_id}/settings")).await;
    let lock = text_after(&settings.body, r#"data-testid="command-lock">"#);
    assert_eq!(
        lock,
        "Custom commands is not included in your plan. Upgrade to Starter to unlock it."
    );
    assert!(
        settings
            .body
            .contains(r#"unlock it. <a href="/billing/upgrade">See plans</a>"#),
        "{}",
        settings.body
    );

    // Free has no broadcast recipients: said in words, not drawn as a full bar.
    let billing = owner.get("/billing").await;
    let row = &billing.body[billing
        .body
        .find(r#"data-quota="Broadcast recipients this month""#)
        .expect("the broadcast quota")..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains("Not in your plan"), "{row}");
    assert!(!row.contains("<progress"), "{row}");
}
