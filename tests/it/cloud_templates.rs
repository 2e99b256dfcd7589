//! A Cloud API bot's message templates and its 24-hour window, through the real app against
//! the fake Graph API: approved templates listed across Meta's pages and cached, a template
//! sent with its values as Meta's JSON (also outside the window), missing values refused with
//! what was typed kept, a free-form message refused before queueing outside the window and
//! sent inside it, and who may see or send what.

use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use chrono::Utc;
use diesel::prelude::*;
use serde_json::json;
use whatsdex::bots::transport::cloud_api::connection::{self, NewConnection};
use whatsdex::bots::transport::cloud_api::graph::{GRAPH_VERSION, PhoneNumber};
use whatsdex::db::schema::{bots, contacts, messages, outbox};
use whatsdex::ids::BotId;

use crate::common::browser::Browser;
use crate::common::graph::{FakeGraph, PHONE_NUMBER_ID, TOKEN, WABA_ID};
use crate::common::{Site, invite_and_join, sign_up};

/// Poll `probe` every 50 ms for up to 10 s.
macro_rules! eventually {
    ($what:expr, $probe:expr) => {{
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(value) = $probe {
                break value;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {}", $what);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }};
}

/// The customer the tests write to.
const CUSTOMER: &str = "447700900123";

fn site_with(fake: &FakeGraph) -> Site {
    Site::start_with(&[("META_GRAPH_URL", fake.base_url.as_str())])
}

/// Sign Ana up and create a sandbox bot; its id.
async fn new_bot<S, B>(owner: &mut Browser<S>, email: &str, workspace: &str) -> String
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    sign_up(owner, email, workspace).await;
    let created = owner.post("/bots", &[("name", "Shop bot")]).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    created
        .location()
        .trim_start_matches("/bots/")
        .trim_end_matches("/pair")
        .to_owned()
}

/// Turn `bot_id` into a Cloud API bot on the fake's number whose webhook Meta has reached,
/// as the connect service leaves it (the workspace scope it needs is the web layer's), and
/// run it.
async fn connect_to_cloud(site: &Site, bot_id: &str) {
    let id = BotId::from(bot_id);
    site.state.bots.stop(&id).await;
    let key = site.state.encryption_key.clone();
    let bot = bot_id.to_owned();
    site.query(move |conn| {
        let tenant: String = bots::table.find(&bot).select(bots::tenant_id).first(conn)?;
        let new = NewConnection {
            phone_number_id: PHONE_NUMBER_ID.into(),
            waba_id: WABA_ID.into(),
            access_token: TOKEN.into(),
            app_secret: "0123456789abcdef0123456789abcdef".into(),
            number: PhoneNumber {
                verified_name: "Acme Support".into(),
                display_phone_number: "+1 555-010-0100".into(),
                quality_rating: Some("GREEN".into()),
            },
        };
        connection::save_in(conn, &key, &tenant, &bot, &new)?;
        connection::mark_verified_in(conn, &bot)?;
        let now = Utc::now().naive_utc();
        diesel::update(bots::table.find(&bot))
            .set((
                bots::transport.eq("cloud"),
                bots::status.eq("connected"),
                bots::owner_number.eq(Some("15550100100")),
                bots::paired_at.eq(Some(now)),
            ))
            .execute(conn)
            .map(drop)
    })
    .await;
    site.state.bots.ensure_running(&id);
}

/// How many template pages the fake served.
fn template_calls(fake: &FakeGraph) -> usize {
    let path = format!("/{GRAPH_VERSION}/{WABA_ID}/message_templates");
    fake.requests()
        .iter()
        .filter(|r| r.path.starts_with(&path))
        .count()
}

/// The message bodies the fake was asked to send.
fn sent_bodies(fake: &FakeGraph) -> Vec<serde_json::Value> {
    let path = format!("/{GRAPH_VERSION}/{PHONE_NUMBER_ID}/messages");
    fake.requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == path)
        .filter_map(|r| r.body)
        .collect()
}

async fn outbox_count(site: &Site) -> i64 {
    site.query(|c| outbox::table.count().get_result(c)).await
}

/// The customer wrote `ago` before now.
async fn customer_wrote(site: &Site, bot_id: &str, ago: chrono::Duration) {
    let bot = bot_id.to_owned();
    site.query(move |conn| {
        let tenant: String = bots::table.find(&bot).select(bots::tenant_id).first(conn)?;
        let at = Utc::now().naive_utc() - ago;
        diesel::delete(contacts::table.filter(contacts::bot_id.eq(&bot))).execute(conn)?;
        diesel::insert_into(contacts::table)
            .values((
                contacts::id.eq(format!("contact-{bot}")),
                contacts::tenant_id.eq(tenant),
                contacts::bot_id.eq(&bot),
                contacts::number.eq(CUSTOMER),
                contacts::first_seen_at.eq(at),
                contacts::last_seen_at.eq(at),
            ))
            .execute(conn)
            .map(drop)
    })
    .await;
}

#[actix_web::test]
async fn approved_templates_are_listed_from_every_page_and_cached() {
    let fake = FakeGraph::start();
    let site = site_with(&fake);
    let app = site.app().await;
    let mut owner = Browser::new(app.clone());
    let bot_id = new_bot(&mut owner, "ana@example.com", "Lima Bakery").await;

    // Before the Cloud API, the page says what templates are and asks Meta nothing.
    let page = owner.get(&format!("/bots/{bot_id}/templates")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(r#"data-testid="templates-not-cloud""#));
    assert_eq!(template_calls(&fake), 0);
    let settings = owner.get(&format!("/bots/{bot_id}/settings")).await;
    assert!(
        settings
            .body
            .contains(&format!(r#"href="/bots/{bot_id}/templates""#))
    );

    connect_to_cloud(&site, &bot_id).await;
    let page = owner.get(&format!("/bots/{bot_id}/templates")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    // Both pages of Meta's answer, approved ones only.
    for key in [
        "order_shipped:en_US",
        "order_shipped:de",
        "spring_sale:en_US",
    ] {
        assert!(
            page.body.contains(&format!(r#"data-template="{key}""#)),
            "{key}"
        );
    }
    assert!(
        !page.body.contains("draft_offer"),
        "pending templates stay out"
    );
    assert!(
        page.body
            .contains("Hello {{1}}, your order {{2}} has shipped.")
    );
    assert!(page.body.contains("utility"));
    assert!(page.body.contains(r#"name="body_2""#));
    assert!(page.body.contains(r#"name="header_1""#));
    assert!(page.body.contains("cloud_templates.js"), "the live preview");
    assert_eq!(template_calls(&fake), 2, "two pages");

    // A second view comes from the cache.
    owner.get(&format!("/bots/{bot_id}/templates")).await;
    assert_eq!(template_calls(&fake), 2, "no call to Meta");

    // Reloading asks Meta again.
    let refreshed = owner
        .post(&format!("/bots/{bot_id}/templates/refresh"), &[])
        .await;
    assert_eq!(refreshed.status, StatusCode::OK);
    assert!(
        refreshed
            .body
            .contains(r#"data-template="spring_sale:en_US""#)
    );
    assert_eq!(template_calls(&fake), 4);

    // A refused token says so plainly and how to fix it; the stale list is not shown.
    fake.fail_next(190);
    let refused = owner
        .post(&format!("/bots/{bot_id}/templates/refresh"), &[])
        .await;
    assert_eq!(refused.status, StatusCode::OK);
    assert!(
        refused.body.contains(r#"data-testid="templates-error""#),
        "{}",
        refused.body
    );
    assert!(refused.body.contains("access token"));
    assert!(refused.body.contains("Connect the bot again"));
    assert!(!refused.body.contains(TOKEN));
    assert!(!refused.body.contains(r#"data-testid="cloud-template""#));
}

#[actix_web::test]
async fn a_template_goes_out_as_meta_expects_even_outside_the_window() {
    let fake = FakeGraph::start();
    let site = site_with(&fake);
    let app = site.app().await;
    let mut owner = Browser::new(app.clone());
    let bot_id = new_bot(&mut owner, "ana@example.com", "Lima Bakery").await;
    connect_to_cloud(&site, &bot_id).await;

    // The customer never wrote: only a template may reach them.
    let sent = owner
        .post(
            &format!("/bots/{bot_id}/templates/send"),
            &[
                ("template", "order_shipped:en_US"),
                ("to", "+44 7700 900123"),
                ("header_1", "A-17"),
                ("body_1", "Ana"),
                ("body_2", "A-17"),
            ],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    assert_eq!(
        sent.location(),
        format!("/bots/{bot_id}/templates?notice=template_queued")
    );
    let body = eventually!("the template at Meta", sent_bodies(&fake).pop());
    assert_eq!(
        body,
        json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": CUSTOMER,
            "type": "template",
            "template": {
                "name": "order_shipped",
                "language": {"code": "en_US"},
                "components": [
                    {"type": "header", "parameters": [{"type": "text", "text": "A-17"}]},
                    {"type": "body", "parameters": [
                        {"type": "text", "text": "Ana"},
                        {"type": "text", "text": "A-17"}
                    ]}
                ]
            }
        })
    );
    // Recorded as a sent template message with its filled-in text.
    let (kind, text, status) = eventually!("the message recorded", {
        let row: Option<(String, String, String)> = site
            .query(|c| {
                messages::table
                    .filter(messages::direction.eq("out"))
                    .select((messages::kind, messages::body, messages::status))
                    .first(c)
                    .optional()
            })
            .await;
        row
    });
    assert_eq!(kind, "template");
    assert_eq!(text, "Hello Ana, your order A-17 has shipped.");
    assert_eq!(status, "sent");
    let page = owner
        .get(&format!("/bots/{bot_id}/templates?notice=template_queued"))
        .await;
    assert!(page.body.contains("Template queued"));
}

#[actix_web::test]
async fn a_missing_value_is_refused_with_what_was_typed_kept() {
    let fake = FakeGraph::start();
    let site = site_with(&fake);
    let app = site.app().await;
    let mut owner = Browser::new(app.clone());
    let bot_id = new_bot(&mut owner, "ana@example.com", "Lima Bakery").await;
    connect_to_cloud(&site, &bot_id).await;

    let refused = owner
        .post(
            &format!("/bots/{bot_id}/templates/send"),
            &[
                ("template", "order_shipped:de"),
                ("to", "+44 7700 900123"),
                ("header_1", "A-17"),
                ("body_1", "Ana"),
                ("body_2", "  "),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let body = &refused.body;
    assert!(body.contains("Fill in {{2}}."), "{body}");
    assert!(body.contains(r#"aria-invalid="true" aria-describedby="t2-body_2-error""#));
    assert!(body.contains(r#"value="Ana""#), "typed value kept");
    assert!(body.contains(r#"value="+44 7700 900123""#));
    assert!(body.contains(r#"value="A-17""#));
    // The form that was sent stays open; the other templates' forms stay empty.
    assert_eq!(body.matches("<details open>").count(), 1);
    assert_eq!(body.matches(r#"value="Ana""#).count(), 1);

    // A value Meta would refuse (a new line) and a header over 60 characters.
    let long = "x".repeat(61);
    let refused = owner
        .post(
            &format!("/bots/{bot_id}/templates/send"),
            &[
                ("template", "order_shipped:en_US"),
                ("to", "12"),
                ("header_1", &long),
                ("body_1", "two\nlines"),
                ("body_2", "A-17"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("at most 60 characters"));
    assert!(refused.body.contains("new lines"));
    assert!(refused.body.contains("country code"));

    // An unknown template.
    let unknown = owner
        .post(
            &format!("/bots/{bot_id}/templates/send"),
            &[("template", "draft_offer:en_US"), ("to", CUSTOMER)],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        unknown
            .body
            .contains("Choose one of the approved templates.")
    );

    assert_eq!(outbox_count(&site).await, 0, "nothing queued");
    assert!(sent_bodies(&fake).is_empty(), "nothing sent");
}

#[actix_web::test]
async fn free_form_goes_out_only_inside_the_window() {
    let fake = FakeGraph::start();
    let site = site_with(&fake);
    let app = site.app().await;
    let mut owner = Browser::new(app.clone());
    let bot_id = new_bot(&mut owner, "ana@example.com", "Lima Bakery").await;
    connect_to_cloud(&site, &bot_id).await;
    let path = format!("/bots/{bot_id}/templates/text");
    let message = [("to", "+44 7700 900123"), ("text", "Your cake is ready!")];

    // Never wrote, then wrote 25 hours ago: refused before anything is queued.
    for ago in [None, Some(chrono::Duration::hours(25))] {
        if let Some(ago) = ago {
            customer_wrote(&site, &bot_id, ago).await;
        }
        let refused = owner.post(&path, &message).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{ago:?}");
        assert!(
            refused.body.contains("24-hour window is closed"),
            "{}",
            refused.body
        );
        assert!(
            refused
                .body
                .contains("Send one of the templates below instead.")
        );
        assert!(
            refused.body.contains("Your cake is ready!</textarea>"),
            "kept"
        );
        assert_eq!(outbox_count(&site).await, 0);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(sent_bodies(&fake).is_empty(), "nothing sent");

    // They wrote an hour ago: the message goes out.
    customer_wrote(&site, &bot_id, chrono::Duration::hours(1)).await;
    let sent = owner.post(&path, &message).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    assert_eq!(
        sent.location(),
        format!("/bots/{bot_id}/templates?notice=message_queued")
    );
    let body = eventually!("the text at Meta", sent_bodies(&fake).pop());
    assert_eq!(body["to"], CUSTOMER);
    assert_eq!(body["type"], "text");
    assert_eq!(
        body["text"],
        json!({"preview_url": false, "body": "Your cake is ready!"})
    );
}

#[actix_web::test]
async fn members_only_read_foreign_bots_are_not_found_and_forms_need_csrf() {
    let fake = FakeGraph::start();
    let site = site_with(&fake);
    let app = site.app().await;
    let mut owner = Browser::new(app.clone());
    let bot_id = new_bot(&mut owner, "ana@example.com", "Lima Bakery").await;
    connect_to_cloud(&site, &bot_id).await;
    let send = format!("/bots/{bot_id}/templates/send");
    let text = format!("/bots/{bot_id}/templates/text");
    let template = [
        ("template", "spring_sale:en_US"),
        ("to", CUSTOMER),
        ("header_1", "Spring"),
        ("body_1", "Ana"),
        ("body_2", "B-2"),
    ];

    // A member sees the templates without forms, and may not send.
    let mut member = Browser::new(app.clone());
    invite_and_join(&site, &mut owner, &mut member, "Mo", "mo@example.com").await;
    let page = member.get(&format!("/bots/{bot_id}/templates")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains(r#"data-template="spring_sale:en_US""#));
    assert!(!page.body.contains(&send));
    assert!(!page.body.contains(&text));
    assert!(page.body.contains("Owners and admins can send templates."));
    assert_eq!(
        member.post(&send, &template).await.status,
        StatusCode::FORBIDDEN
    );
    let message = [("to", CUSTOMER), ("text", "Hi")];
    assert_eq!(
        member.post(&text, &message).await.status,
        StatusCode::FORBIDDEN
    );

    // Another workspace's owner finds nothing there.
    let mut stranger = Browser::new(app.clone());
    new_bot(&mut stranger, "eve@example.com", "Elsewhere").await;
    let page = stranger.get(&format!("/bots/{bot_id}/templates")).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert_eq!(
        stranger.post(&send, &template).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        stranger.post(&text, &message).await.status,
        StatusCode::NOT_FOUND
    );
    let refresh = format!("/bots/{bot_id}/templates/refresh");
    assert_eq!(
        stranger.post(&refresh, &[]).await.status,
        StatusCode::NOT_FOUND
    );

    // Without the CSRF token, even the owner's form is refused.
    let forged = owner.post_raw(&send, &template).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(forged.body.contains("This form has expired"));

    assert_eq!(outbox_count(&site).await, 0, "nothing queued");
    assert!(sent_bodies(&fake).is_empty(), "nothing sent");
    // The page asked Meta once (two pages); nobody else's view reached Meta.
    assert_eq!(template_calls(&fake), 2);
}
