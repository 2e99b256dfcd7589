//! Connecting a bot to the WhatsApp Cloud API from its pairing page, through the real app and
//! a local fake of Meta's Graph API: the form checked with Meta, the connection shown without
//! its secrets, Meta's handshake with the shown verify token, "Connected" after a signed
//! webhook, the latest messages; refusals for wrong values, members, foreign bots, missing
//! CSRF tokens and a number another bot has; secrets sealed at rest.

use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use diesel::prelude::*;
use hmac::{Hmac, KeyInit, Mac};
use whatsdex::db::schema::{bots, cloud_connections};

use crate::common::browser::{Browser, Page};
use crate::common::graph::{FakeGraph, PHONE_NUMBER_ID, TOKEN, WABA_ID};
use crate::common::{Site, invite_and_join, sign_up};

const APP_SECRET: &str = "0123456789abcdef0123456789abcdef";
const CUSTOMER: &str = "15550100200";

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

fn site_with(fake: &FakeGraph) -> Site {
    Site::start_with(&[("META_GRAPH_URL", fake.base_url.as_str())])
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let to = text[from..].find(end)? + from;
    Some(&text[from..to])
}

/// The four values the fake Graph API accepts.
fn good_form() -> [(&'static str, &'static str); 4] {
    [
        ("phone_number_id", PHONE_NUMBER_ID),
        ("waba_id", WABA_ID),
        ("access_token", TOKEN),
        ("app_secret", APP_SECRET),
    ]
}

/// Create a bot in the signed-in workspace; its id.
async fn new_bot<S, B>(owner: &mut Browser<S>, name: &str) -> String
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let created = owner.post("/bots", &[("name", name)]).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    between(created.location(), "/bots/", "/pair")
        .expect("a pairing page")
        .to_owned()
}

/// The value of the read-only field `id` on a page.
fn field_value(page: &Page, id: &str) -> String {
    let field = between(&page.body, &format!(r#"id="{id}""#), ">").expect(id);
    between(field, r#"value=""#, r#"""#)
        .expect("a value")
        .to_owned()
}

/// A Meta delivery with one text message from the customer, signed with `secret` as Meta
/// signs: `sha256=` + hex HMAC-SHA256 of the exact bytes.
fn signed_delivery(secret: &str, text: &str) -> (String, String) {
    let now = chrono::Utc::now().timestamp();
    let body = format!(
        r#"{{"object":"whatsapp_business_account","entry":[{{"id":"{WABA_ID}","changes":[{{"value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"15550100100","phone_number_id":"{PHONE_NUMBER_ID}"}},"contacts":[{{"profile":{{"name":"Maria"}},"wa_id":"{CUSTOMER}"}}],"messages":[{{"from":"{CUSTOMER}","id":"wamid.HBgLMTU1NTAxMDAyMDAVAgASGBQzQUM4QzY5","timestamp":"{now}","text":{{"body":"{text}"}},"type":"text"}}]}},"field":"messages"}}]}}]}}"#
    );
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(body.as_bytes());
    let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    (body, signature)
}

#[actix_web::test]
async fn a_bot_connects_then_turns_connected_and_answers_through_meta() {
    let fake = FakeGraph::start();
    let site = site_with(&fake);
    let app = site.app().await;
    let mut owner = Browser::new(app.clone());
    sign_up(&mut owner, "ana@example.com", "Lima Bakery").await;
    let bot_id = new_bot(&mut owner, "Bakery bot").await;

    // The choice: the Cloud API form, with no QR code and no talk of scanning.
    let choice = owner.get(&format!("/bots/{bot_id}/pair?via=cloud")).await;
    assert_eq!(choice.status, StatusCode::OK);
    assert!(choice.body.contains(r#"data-testid="cloud-form""#));
    assert!(choice.body.contains("Link a phone"));
    assert!(!choice.body.contains(r#"data-testid="qr""#));

    let connected = owner
        .post(&format!("/bots/{bot_id}/cloud"), &good_form())
        .await;
    assert_eq!(
        connected.status,
        StatusCode::SEE_OTHER,
        "{}",
        connected.body
    );
    assert_eq!(connected.location(), format!("/bots/{bot_id}/pair"));
    // Meta was asked about the number and the business account, with the token.
    let asked: Vec<String> = fake.requests().iter().map(|r| r.path.clone()).collect();
    assert!(
        asked
            .iter()
            .any(|p| p.contains(&format!("/{PHONE_NUMBER_ID}?fields=")))
    );
    assert!(
        asked
            .iter()
            .any(|p| p.contains(&format!("/{WABA_ID}/message_templates")))
    );

    let page = owner.get(&format!("/bots/{bot_id}/pair")).await;
    assert_eq!(page.status, StatusCode::OK);
    let webhook_key: String = site
        .query(|c| {
            cloud_connections::table
                .select(cloud_connections::webhook_key)
                .first(c)
        })
        .await;
    let webhook_url = field_value(&page, "webhook-url");
    assert_eq!(
        webhook_url,
        format!("http://localhost:8080/webhooks/whatsapp/{webhook_key}")
    );
    let verify_token = field_value(&page, "verify-token");
    assert!(verify_token.len() >= 20, "{verify_token}");
    for shown in [
        "Acme Support",
        "+1 555-010-0100",
        "GREEN",
        "…6789",
        "Waiting for Meta",
    ] {
        assert!(page.body.contains(shown), "{shown} missing");
    }
    // Neither the token nor the app secret, anywhere; no QR; no platform URL (no META_APP_*).
    assert!(!page.body.contains(TOKEN));
    assert!(!page.body.contains(APP_SECRET));
    assert!(!page.body.contains(r#"data-testid="qr""#));
    assert!(!page.body.contains("/webhooks/whatsapp<"));
    let transport: String = site
        .query(|c| bots::table.select(bots::transport).first(c))
        .await;
    assert_eq!(transport, "cloud");

    // Meta's handshake with the shown token echoes the challenge; another token is refused.
    let path = webhook_url.trim_start_matches("http://localhost:8080");
    let mut meta = Browser::new(app.clone());
    let handshake = |token: &str| {
        format!("{path}?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444")
    };
    let echoed = meta.get(&handshake(&verify_token)).await;
    assert_eq!(echoed.status, StatusCode::OK);
    assert_eq!(echoed.body, "1158201444");
    let refused = meta.get(&handshake("not-the-token")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    // Still waiting; then a signed delivery turns the status to "Connected".
    let status = owner.get(&format!("/bots/{bot_id}/cloud/status")).await;
    assert!(
        status.body.contains(r#"data-state="waiting""#),
        "{}",
        status.body
    );
    let (body, signature) = signed_delivery(APP_SECRET, "ping");
    let delivered = meta
        .send_request(
            TestRequest::post()
                .uri(path)
                .insert_header(("content-type", "application/json"))
                .insert_header(("x-hub-signature-256", signature))
                .set_payload(body),
        )
        .await;
    assert_eq!(delivered.status, StatusCode::OK, "{}", delivered.body);
    let status = owner.get(&format!("/bots/{bot_id}/cloud/status")).await;
    assert!(
        status.body.contains(r#"data-state="connected""#),
        "{}",
        status.body
    );
    assert!(status.body.contains("Connected"));

    // The customer's message and the bot's answer, in the panel; the answer went to Meta.
    let panel = eventually!("ping and pong in the panel", {
        let panel = owner.get(&format!("/bots/{bot_id}/cloud/messages")).await;
        (panel.body.contains("pong") && panel.body.contains(">sent<")).then_some(panel)
    });
    assert_eq!(panel.status, StatusCode::OK);
    let ping = panel.body.find(">ping<").expect("the customer's message");
    let pong = panel.body.find("pong").expect("the answer");
    assert!(ping < pong, "oldest first");
    assert!(
        panel.body.contains("Maria (+15550100200)"),
        "{}",
        panel.body
    );
    let reply = fake
        .requests()
        .into_iter()
        .find(|r| r.method == "POST" && r.path.ends_with("/messages"))
        .expect("the reply went to the Graph API");
    let reply = reply.body.expect("JSON");
    assert_eq!(reply["messaging_product"], "whatsapp");
    assert_eq!(reply["to"], CUSTOMER);
    assert_eq!(reply["type"], "text");
    assert!(
        reply["text"]["body"]
            .as_str()
            .unwrap_or_default()
            .contains("pong")
    );

    // Unpair forgets the connection and its secrets.
    let unpaired = owner.post(&format!("/bots/{bot_id}/unpair"), &[]).await;
    assert_eq!(unpaired.status, StatusCode::SEE_OTHER);
    let left: i64 = site
        .query(|c| cloud_connections::table.count().get_result(c))
        .await;
    assert_eq!(left, 0);
    let again = owner.get(&format!("/bots/{bot_id}/pair")).await;
    assert!(again.body.contains(r#"data-testid="cloud-form""#));
}

#[actix_web::test]
async fn wrong_values_come_back_with_their_errors_and_what_was_typed() {
    let fake = FakeGraph::start();
    let site = site_with(&fake);
    let app = site.app().await;
    let mut owner = Browser::new(app.clone());
    sign_up(&mut owner, "ana@example.com", "Lima Bakery").await;
    let bot_id = new_bot(&mut owner, "Bakery bot").await;

    // Formats: all four refused before Meta is asked.
    let bad = owner
        .post(
            &format!("/bots/{bot_id}/cloud"),
            &[
                ("phone_number_id", "+1 555 0100"),
                ("waba_id", "acme"),
                ("access_token", "short"),
                ("app_secret", "has a space"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    for field in ["phone_number_id", "waba_id", "access_token", "app_secret"] {
        assert!(
            bad.body.contains(&format!(r#"id="{field}-error""#)),
            "{field}: {}",
            bad.body
        );
    }
    assert!(bad.body.contains(r#"value="+1 555 0100""#));
    assert!(bad.body.contains(r#"value="acme""#));
    assert!(fake.requests().is_empty(), "nothing sent to Meta");

    // A token Meta refuses (190): the token's field says so, the rest is kept.
    let wrong_token = "EAAGwrongTOKENwrongTOKEN9999";
    let mut form = good_form();
    form[2].1 = wrong_token;
    let refused = owner.post(&format!("/bots/{bot_id}/cloud"), &form).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains(r#"id="access_token-error""#));
    assert!(refused.body.contains("Meta refused this access token"));
    assert!(!refused.body.contains(r#"id="phone_number_id-error""#));
    assert!(
        refused
            .body
            .contains(&format!(r#"value="{PHONE_NUMBER_ID}""#))
    );
    assert!(refused.body.contains(&format!(r#"value="{WABA_ID}""#)));
    assert!(refused.body.contains(&format!(r#"value="{wrong_token}""#)));
    // The whole page came back (no JavaScript); with htmx, just the form, still 422.
    assert!(refused.body.contains("<h1>"));
    let token = owner.cookies["wdx_csrf"].clone();
    let fields: Vec<(&str, &str)> = [("csrf_token", token.as_str())]
        .into_iter()
        .chain(form)
        .collect();
    let htmx = owner
        .send_request(
            TestRequest::post()
                .uri(&format!("/bots/{bot_id}/cloud"))
                .insert_header(("hx-request", "true"))
                .set_form(fields),
        )
        .await;
    assert_eq!(htmx.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(htmx.body.starts_with("<form"), "{}", htmx.body);
    assert!(htmx.body.contains("Meta refused this access token"));

    // An unknown phone number id for this token.
    let mut form = good_form();
    form[0].1 = "999999999999";
    let unknown = owner.post(&format!("/bots/{bot_id}/cloud"), &form).await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unknown.body.contains(r#"id="phone_number_id-error""#));

    let saved: i64 = site
        .query(|c| cloud_connections::table.count().get_result(c))
        .await;
    assert_eq!(saved, 0, "nothing saved");
    let transport: String = site
        .query(|c| bots::table.select(bots::transport).first(c))
        .await;
    assert_eq!(transport, "sandbox");

    // With htmx, a connect is a redirect to the page that shows it.
    let token = owner.cookies["wdx_csrf"].clone();
    let fields: Vec<(&str, &str)> = [("csrf_token", token.as_str())]
        .into_iter()
        .chain(good_form())
        .collect();
    let done = owner
        .send_request(
            TestRequest::post()
                .uri(&format!("/bots/{bot_id}/cloud"))
                .insert_header(("hx-request", "true"))
                .set_form(fields),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK);
    assert_eq!(
        done.headers
            .get("hx-redirect")
            .and_then(|v| v.to_str().ok()),
        Some(format!("/bots/{bot_id}/pair").as_str())
    );
}

#[actix_web::test]
async fn members_foreign_workspaces_and_forged_forms_are_refused() {
    let fake = FakeGraph::start();
    let site = site_with(&fake);
    let app = site.app().await;
    let mut owner = Browser::new(app.clone());
    sign_up(&mut owner, "ana@example.com", "Lima Bakery").await;
    let bot_id = new_bot(&mut owner, "Bakery bot").await;

    // No CSRF token: refused, nothing asked or saved.
    let forged = owner
        .post_raw(&format!("/bots/{bot_id}/cloud"), &good_form())
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(fake.requests().is_empty());

    // A member of the workspace may not connect, nor see the connection.
    let mut member = Browser::new(app.clone());
    invite_and_join(&site, &mut owner, &mut member, "Bo", "bo@example.com").await;
    let denied = member
        .post(&format!("/bots/{bot_id}/cloud"), &good_form())
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN, "{}", denied.body);
    assert!(fake.requests().is_empty());

    let connected = owner
        .post(&format!("/bots/{bot_id}/cloud"), &good_form())
        .await;
    assert_eq!(
        connected.status,
        StatusCode::SEE_OTHER,
        "{}",
        connected.body
    );
    for path in ["pair", "cloud/status", "cloud/messages"] {
        let page = member.get(&format!("/bots/{bot_id}/{path}")).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
    }

    // Another workspace: the bot does not exist there.
    let mut stranger = Browser::new(app.clone());
    sign_up(&mut stranger, "cy@example.com", "Other Shop").await;
    let foreign = stranger
        .post(&format!("/bots/{bot_id}/cloud"), &good_form())
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    for path in ["pair", "cloud/status", "cloud/messages"] {
        let page = stranger.get(&format!("/bots/{bot_id}/{path}")).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
        assert!(!page.body.contains("Acme Support"));
    }

    // The stranger's own bot may not take a number another bot has.
    let other_bot = new_bot(&mut stranger, "Shop bot").await;
    let taken = stranger
        .post(&format!("/bots/{other_bot}/cloud"), &good_form())
        .await;
    assert_eq!(
        taken.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        taken.body
    );
    assert!(taken.body.contains("already connected to another bot"));
    let owners: Vec<String> = site
        .query(|c| {
            cloud_connections::table
                .select(cloud_connections::bot_id)
                .load(c)
        })
        .await;
    assert_eq!(owners, vec![bot_id]);
}

#[actix_web::test]
async fn the_secrets_are_sealed_in_the_database() {
    let fake = FakeGraph::start();
    let site = site_with(&fake);
    let app = site.app().await;
    let mut owner = Browser::new(app.clone());
    sign_up(&mut owner, "ana@example.com", "Lima Bakery").await;
    let bot_id = new_bot(&mut owner, "Bakery bot").await;
    let connected = owner
        .post(&format!("/bots/{bot_id}/cloud"), &good_form())
        .await;
    assert_eq!(
        connected.status,
        StatusCode::SEE_OTHER,
        "{}",
        connected.body
    );
    let page = owner.get(&format!("/bots/{bot_id}/pair")).await;
    let verify_token = field_value(&page, "verify-token");

    let (token, secret, verify, hint): (Vec<u8>, Vec<u8>, Vec<u8>, String) = site
        .query(|c| {
            cloud_connections::table
                .select((
                    cloud_connections::access_token,
                    cloud_connections::app_secret,
                    cloud_connections::verify_token,
                    cloud_connections::token_hint,
                ))
                .first(c)
        })
        .await;
    let contains = |haystack: &[u8], needle: &str| {
        haystack
            .windows(needle.len())
            .any(|w| w == needle.as_bytes())
    };
    for (sealed, plain) in [
        (&token, TOKEN),
        (&secret, APP_SECRET),
        (&verify, verify_token.as_str()),
    ] {
        assert!(!sealed.is_empty());
        assert!(!contains(sealed, plain), "stored in plain text");
        assert!(!contains(sealed, &plain[..12]), "partly in plain text");
    }
    assert_eq!(hint, "…6789");
}
