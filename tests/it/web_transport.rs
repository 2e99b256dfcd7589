//! The WhatsApp Web transport end to end, against the offline WhatsApp server: the real
//! whatsapp-rust client (in the app, then in `whatsdex serve` processes) pairs by a QR code
//! read off our pairing page, keeps its session in our database, and stores what it receives
//! exactly once.
//!
//! The client only accepts the fake server's certificate when built with the
//! `fake-whatsapp` feature (scripts/test builds tests with it; release builds never do).

use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use diesel::prelude::*;
use whatsdex::db::schema::{bots, messages, whatsapp_store};

use crate::common::browser::Browser;
use crate::common::{PASSWORD, Site, TestDatabase};
use crate::fake_whatsapp::FakeWhatsApp;
use crate::process::Server;

const OWNER: &str = "447700900123";
const CUSTOMER: &str = "5511987654321";
/// Any version will do for the offline server; setting one skips the online lookup.
const VERSION: &str = "2.3000.1023456789";

/// Poll `probe` every 100 ms until it gives a value, for up to `secs` seconds.
macro_rules! eventually {
    ($what:expr, $secs:expr, $probe:expr) => {{
        let deadline = Instant::now() + Duration::from_secs($secs);
        loop {
            if let Some(value) = $probe {
                break value;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {}", $what);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }};
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let to = text[from..].find(end)? + from;
    Some(&text[from..to])
}

/// The QR payload the pairing page shows, HTML entities undone.
fn qr_payload(html: &str) -> Option<String> {
    let raw = between(html, "data-qr-payload=\"", "\"")?;
    Some(
        raw.replace("&#x2f;", "/")
            .replace("&#x2F;", "/")
            .replace("&#43;", "+")
            .replace("&#x3d;", "=")
            .replace("&#x3D;", "=")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&"),
    )
}

fn bot_column<T>(
    db: &TestDatabase,
    column: impl Fn(&mut whatsdex::db::DbConn) -> QueryResult<T>,
) -> T {
    db.query_across_tenants(column)
}

fn status_of(db: &TestDatabase) -> String {
    bot_column(db, |conn| bots::table.select(bots::status).first(conn))
}

fn stored_copies(db: &TestDatabase, wa_id_suffix: &str) -> i64 {
    let pattern = format!("%:{wa_id_suffix}");
    bot_column(db, move |conn| {
        messages::table
            .filter(messages::wa_message_id.like(&pattern))
            .filter(messages::direction.eq("in"))
            .count()
            .get_result(conn)
    })
}

#[actix_web::test]
async fn a_whatsapp_bot_pairs_by_qr_resumes_after_restarts_and_stores_each_message_once() {
    let whatsapp = FakeWhatsApp::start().await;
    let url = whatsapp.url();
    let site = Site::start_with(&[("WHATSAPP_WS_URL", &url), ("WHATSAPP_VERSION", VERSION)]);
    let app = site.app().await;
    let mut owner = Browser::new(app);
    owner
        .post(
            "/signup",
            &[
                ("name", "Ana"),
                ("email", "ana@example.com"),
                ("password", PASSWORD),
                ("workspace_name", "Lima Bakery"),
            ],
        )
        .await;
    let created = owner
        .post("/bots", &[("name", "Bakery bot"), ("transport", "web")])
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let bot_id = between(created.location(), "/bots/", "/pair")
        .unwrap()
        .to_owned();

    // The page shows the client's real QR payloads, and a new one when WhatsApp rotates it.
    let status_path = format!("/bots/{bot_id}/pair/status");
    let first = eventually!("a QR code on the pairing page", 20, {
        qr_payload(&owner.get(&status_path).await.body)
    });
    assert!(
        first.split(',').count() >= 4,
        "ref,noise,identity,adv…: {first}"
    );
    assert!(whatsapp.rotate_qr(), "a client is waiting for a scan");
    let second = eventually!("a rotated QR code", 30, {
        qr_payload(&owner.get(&status_path).await.body).filter(|p| *p != first)
    });
    assert_ne!(first, second);

    // The phone scans what the page shows; the page says who the bot is connected as.
    let phone = whatsapp.phone(OWNER);
    phone.scan(&second).await.expect("the phone pairs");
    eventually!("Connected as +owner", 40, {
        let body = owner.get(&status_path).await.body;
        body.contains(&format!("Connected as +{OWNER}"))
            .then_some(())
    });
    assert!(whatsapp.wait_logged_in(Duration::from_secs(40)).await);
    eventually!("status connected", 20, {
        (status_of(&site.db) == "connected").then_some(())
    });
    let owner_number: Option<String> = bot_column(&site.db, |conn| {
        bots::table.select(bots::owner_number).first(conn)
    });
    assert_eq!(owner_number.as_deref(), Some(OWNER));

    // The session is in our database, sealed: the device's keys are not there in the clear.
    let items: Vec<(String, String, Vec<u8>)> = bot_column(&site.db, |conn| {
        whatsapp_store::table
            .select((
                whatsapp_store::kind,
                whatsapp_store::item_key,
                whatsapp_store::sealed,
            ))
            .load(conn)
    });
    assert!(
        items
            .iter()
            .any(|(kind, key, _)| kind == "meta" && key == "device"),
        "the linked device is stored: {:?}",
        items.iter().map(|(k, i, _)| (k, i)).collect::<Vec<_>>()
    );
    assert!(
        items
            .iter()
            .all(|(_, _, v)| !v.windows(9).any(|w| w == b"noise_key")),
        "session items are sealed"
    );

    // A message delivered twice (WhatsApp redelivers until acknowledged) is stored once.
    for delivery in 1..=2 {
        whatsapp
            .send_text(CUSTOMER, "3EB0DUPLICATE01", "Do you deliver?")
            .await
            .expect("deliver");
        assert!(
            whatsapp
                .wait_acked("3EB0DUPLICATE01", Duration::from_secs(20))
                .await,
            "delivery {delivery} acknowledged"
        );
        assert_eq!(
            stored_copies(&site.db, "3EB0DUPLICATE01"),
            1,
            "after delivery {delivery}"
        );
    }

    // The bot answers through WhatsApp: the reply leaves the outbox and reaches the contact.
    whatsapp
        .send_text(CUSTOMER, "3EB0PING0000001", "ping")
        .await
        .expect("deliver");
    eventually!("pong on the customer's phone", 30, {
        whatsapp
            .received_texts()
            .contains(&(CUSTOMER.to_owned(), "pong".to_owned()))
            .then_some(())
    });

    // Hand the bot to a real server process, then kill that process outright and start
    // another: each resumes the stored session, with no new QR code.
    drop(owner);
    let Site { db, state, .. } = site;
    state.bots.shutdown(Duration::from_secs(5)).await;
    drop(state);
    let refs_before = whatsapp.qr_refs_issued();
    for round in 1..=2 {
        let logins_before = whatsapp.connections();
        let mut server = Server::start_with(
            &db,
            &[("WHATSAPP_WS_URL", &url), ("WHATSAPP_VERSION", VERSION)],
        );
        eventually!(format!("login after start {round}"), 60, {
            (whatsapp.connections() > logins_before).then_some(())
        });
        eventually!(format!("connected after start {round}"), 30, {
            (status_of(&db) == "connected").then_some(())
        });
        assert_eq!(whatsapp.qr_refs_issued(), refs_before, "no new QR code");
        if round == 1 {
            server.kill();
            continue;
        }
        // The phone removes the linked device: the bot says so, forgets the session and
        // its owner, and can be paired again.
        whatsapp.logout_device().await;
        eventually!("logged out", 30, {
            (status_of(&db) == "logged_out").then_some(())
        });
        let owner: Option<String> = bot_column(&db, |conn| {
            bots::table.select(bots::owner_number).first(conn)
        });
        assert_eq!(owner, None);
        let items: Vec<(String, String)> = bot_column(&db, |conn| {
            whatsapp_store::table
                .select((whatsapp_store::kind, whatsapp_store::item_key))
                .load(conn)
        });
        assert_eq!(items, Vec::new(), "the session is forgotten");
    }
}

#[actix_web::test]
async fn a_whatsapp_bot_links_by_phone_number_with_the_code_the_page_shows() {
    let whatsapp = FakeWhatsApp::start().await;
    let url = whatsapp.url();
    let site = Site::start_with(&[("WHATSAPP_WS_URL", &url), ("WHATSAPP_VERSION", VERSION)]);
    let mut owner = Browser::new(site.app().await);
    owner
        .post(
            "/signup",
            &[
                ("name", "Ana"),
                ("email", "ana@example.com"),
                ("password", PASSWORD),
                ("workspace_name", "Lima Bakery"),
            ],
        )
        .await;
    let created = owner
        .post("/bots", &[("name", "Bakery bot"), ("transport", "web")])
        .await;
    let bot_id = between(created.location(), "/bots/", "/pair")
        .unwrap()
        .to_owned();
    let page = owner.get(&format!("/bots/{bot_id}/pair")).await;
    assert!(
        page.body.contains("Link with phone number instead"),
        "{}",
        page.body
    );
    // Wait for the client to be up (it shows a QR code first).
    eventually!("a QR code", 20, {
        qr_payload(&owner.get(&format!("/bots/{bot_id}/pair/status")).await.body)
    });

    // A number that is not one is refused next to the field, keeping what was typed.
    let refused = owner
        .post(
            &format!("/bots/{bot_id}/pair/code"),
            &[("phone_number", "12ab")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("country code") && refused.body.contains("12ab"));

    let answer = owner
        .post(
            &format!("/bots/{bot_id}/pair/code"),
            &[("phone_number", "+44 7700 900123")],
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let code = between(&answer.body, r#"data-testid="pair-code-value">"#, "<")
        .expect("a code on the page")
        .to_owned();
    assert_eq!(code.replace('-', "").len(), 8, "{code}");

    whatsapp
        .phone(OWNER)
        .enter_code(&code)
        .await
        .expect("the phone links with the code");
    eventually!("Connected as +owner", 60, {
        let body = owner.get(&format!("/bots/{bot_id}/pair/status")).await.body;
        body.contains(&format!("Connected as +{OWNER}"))
            .then_some(())
    });
}
