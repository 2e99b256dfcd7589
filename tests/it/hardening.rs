//! What an outside probe of the release build found (issue 12), each pinned here: open
//! redirects, control characters and broken text in forms, oversized forms, HEAD requests,
//! unknown choices in a form. Every test runs on both backends.

use std::time::{Duration, Instant};

use actix_web::http::{StatusCode, header};
use actix_web::test::TestRequest;
use diesel::prelude::*;
use whatsdex::bots::transport::{InboundMessage, TransportEvent};
use whatsdex::db::schema::{bots, messages, outbox, users};

use crate::bots::paired_bot;
use crate::common::browser::Browser;
use crate::common::{PASSWORD, Site};

fn sign_up_fields<'a>(name: &'a str, email: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("name", name),
        ("email", email),
        ("password", PASSWORD),
        ("workspace_name", "Lima Bakery"),
    ]
}

/// `next` may only lead to a path on this site that survives URL parsing unchanged.
#[actix_web::test]
async fn sign_in_never_redirects_off_the_site() {
    let site = Site::start();
    let app = site.app().await;
    let mut ana = Browser::new(app.clone());
    ana.post("/signup", &sign_up_fields("Ana", "ana@example.com"))
        .await;
    ana.post("/logout", &[]).await;

    for next in ["/\t/evil.example", "/\n/evil.example", "/\\evil.example"] {
        let signed_in = ana
            .post(
                "/login",
                &[
                    ("email", "ana@example.com"),
                    ("password", PASSWORD),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(signed_in.status, StatusCode::SEE_OTHER, "{next:?}");
        assert_eq!(signed_in.location(), "/dashboard", "{next:?}");
        // Signed in, the sign-in page sends on to `next` at once.
        let encoded: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
        let again = ana.get(&format!("/login?next={encoded}")).await;
        assert_eq!(again.status, StatusCode::SEE_OTHER, "{next:?}");
        assert_eq!(again.location(), "/dashboard", "{next:?}");
        ana.post("/logout", &[]).await;
    }
    // A newline in `next` is no reason for a 500.
    let newline = ana
        .post(
            "/login",
            &[
                ("email", "ana@example.com"),
                ("password", PASSWORD),
                ("next", "/bots\r\nSet-Cookie: evil=1"),
            ],
        )
        .await;
    assert_eq!(newline.status, StatusCode::SEE_OTHER);
    assert_eq!(newline.location(), "/dashboard");
    // A real path on this site is kept.
    ana.post("/logout", &[]).await;
    let kept = ana
        .post(
            "/login",
            &[
                ("email", "ana@example.com"),
                ("password", PASSWORD),
                ("next", "/workspace/members?tab=1"),
            ],
        )
        .await;
    assert_eq!(kept.location(), "/workspace/members?tab=1");
}

/// A NUL (or any control character but tabs and line breaks) never reaches the database,
/// the same on both backends, and never answers 5xx.
#[actix_web::test]
async fn control_characters_in_forms_are_dropped_at_the_boundary() {
    let site = Site::start();
    let app = site.app().await;
    let mut ana = Browser::new(app.clone());
    let signed_up = ana
        .post(
            "/signup",
            &sign_up_fields("Ana\0 Lima\u{7}", "ana@example.com"),
        )
        .await;
    assert_eq!(
        signed_up.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_up.body
    );
    let name: String = site
        .query(|c| users::table.select(users::name).first(c))
        .await;
    assert_eq!(name, "Ana Lima");

    let renamed = ana
        .post("/workspace/settings", &[("name", "Bakery\0")])
        .await;
    assert!(renamed.status.as_u16() < 500, "{}", renamed.status);
    let created = ana.post("/bots", &[("name", "Shop\0 bot")]).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let bot_name: String = site
        .query(|c| bots::table.select(bots::name).first(c))
        .await;
    assert_eq!(bot_name, "Shop bot");
}

/// A form whose text is not UTF-8 is refused with a page that says so; nothing is stored.
#[actix_web::test]
async fn a_form_that_is_not_utf8_is_refused() {
    let site = Site::start();
    let app = site.app().await;
    let mut ana = Browser::new(app.clone());
    ana.get("/signup").await;
    let token = ana.cookies.get("wdx_csrf").cloned().unwrap();
    let mut body = format!(
        "csrf_token={token}&email=ana%40example.com&password=a+long+harbour+2026&workspace_name=Shop&name="
    )
    .into_bytes();
    body.extend_from_slice(b"Ana%FF%FE");
    let refused = ana
        .send_request(
            TestRequest::post()
                .uri("/signup")
                .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"))
                .set_payload(body),
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.body.contains("UTF-8"), "{}", refused.body);
    let accounts: i64 = site.query(|c| users::table.count().get_result(c)).await;
    assert_eq!(accounts, 0);
}

/// Over 64 kB a form is refused with 413 and a clear page, whatever the route.
#[actix_web::test]
async fn an_oversized_form_is_413_on_every_route() {
    let site = Site::start();
    let app = site.app().await;
    let mut ana = Browser::new(app.clone());
    ana.post("/signup", &sign_up_fields("Ana", "ana@example.com"))
        .await;
    let long = "x".repeat(70 * 1024);
    for path in [
        "/login",
        "/signup",
        "/bots",
        "/workspace/settings",
        "/account/profile",
    ] {
        let page = ana.post(path, &[("name", long.as_str())]).await;
        assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE, "{path}");
        assert!(page.body.contains("This form is too large"), "{path}");
    }
    // Between the old 16 kB extractor limit and 64 kB a form is read (and judged on its
    // content, here a name too long for a bot).
    let mid = "y".repeat(40 * 1024);
    let page = ana.post("/bots", &[("name", mid.as_str())]).await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.status
    );
}

/// HEAD is answered wherever GET is, with the same status and content type.
#[actix_web::test]
async fn head_is_answered_wherever_get_is() {
    let site = Site::start();
    let app = site.app().await;
    let mut ana = Browser::new(app.clone());
    ana.post("/signup", &sign_up_fields("Ana", "ana@example.com"))
        .await;
    for path in [
        "/",
        "/login",
        "/pricing",
        "/dashboard",
        "/bots",
        "/static/app.css",
        "/health",
        "/api/health",
        "/no-such-page",
    ] {
        let get = ana.get(path).await;
        let head = ana
            .send_request(
                TestRequest::default()
                    .method(actix_web::http::Method::HEAD)
                    .uri(path),
            )
            .await;
        assert_eq!(head.status, get.status, "{path}");
        assert_ne!(head.status, StatusCode::METHOD_NOT_ALLOWED, "{path}");
        assert_eq!(
            head.headers.get(header::CONTENT_TYPE),
            get.headers.get(header::CONTENT_TYPE),
            "{path}"
        );
    }
}

/// An unknown transport is a form error, not a silent sandbox bot.
#[actix_web::test]
async fn an_unknown_transport_is_refused_with_a_form_error() {
    let site = Site::start();
    let app = site.app().await;
    let mut ana = Browser::new(app.clone());
    ana.post("/signup", &sign_up_fields("Ana", "ana@example.com"))
        .await;
    let refused = ana
        .post("/bots", &[("name", "Shop bot"), ("transport", "bogus")])
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("Choose how the bot connects."));
    assert!(
        refused.body.contains("value=\"Shop bot\""),
        "what was typed stays"
    );
    let count: i64 = site.query(|c| bots::table.count().get_result(c)).await;
    assert_eq!(count, 0);
    let created = ana
        .post("/bots", &[("name", "Shop bot"), ("transport", "sandbox")])
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER);
}

/// A message with a NUL is stored without it and answered; the bot task lives on.
#[actix_web::test]
async fn a_message_with_control_characters_is_stored_and_answered() {
    let site = Site::start();
    let app = site.app().await;
    let mut owner = Browser::new(app.clone());
    let bot_id = paired_bot(&mut owner, app.clone()).await;
    for (id, text) in [("3EB0NUL", "pi\0ng"), ("3EB0AFTER", "ping")] {
        site.state
            .bots
            .sandbox()
            .deliver(
                &bot_id,
                TransportEvent::Message(InboundMessage {
                    extras: Default::default(),
                    id: id.into(),
                    from: "351912345678".into(),
                    from_name: Some("Rui\0".into()),
                    text: text.into(),
                }),
            )
            .await
            .expect("the bot task takes the message");
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let sent: i64 = site
            .query(|c| {
                outbox::table
                    .filter(outbox::to_number.eq("351912345678"))
                    .filter(outbox::sent_at.is_not_null())
                    .count()
                    .get_result(c)
            })
            .await;
        if sent == 2 {
            break;
        }
        assert!(Instant::now() < deadline, "both messages answered ({sent})");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stored: String = site
        .query(|c| {
            messages::table
                .filter(messages::wa_message_id.eq("3EB0NUL"))
                .select(messages::body)
                .first(c)
        })
        .await;
    assert_eq!(stored, "ping");
}

/// What a status says about a server error, for the messages below.
fn server_errors(statuses: &[StatusCode]) -> Vec<u16> {
    statuses
        .iter()
        .filter(|s| s.is_server_error())
        .map(StatusCode::as_u16)
        .collect()
}

/// 50 sign-ins, sign-ups, bot creations and phone messages at once: no 5xx on either
/// backend ("database is locked" was one on SQLite), and the per-account sign-in limit holds:
/// only 5 wrong passwords are ever checked.
#[actix_web::test]
async fn fifty_at_once_never_answer_5xx_and_limits_hold() {
    use futures_util::future::join_all;
    use whatsdex::db::schema::audit_events;

    let site = Site::start();
    let app = site.app().await;

    // Sign-ups, each its own browser.
    let mut browsers: Vec<_> = (0..50).map(|_| Browser::new(app.clone())).collect();
    for browser in &mut browsers {
        browser.get("/signup").await;
    }
    let emails: Vec<String> = (0..50).map(|i| format!("owner{i}@example.com")).collect();
    let forms: Vec<Vec<(&str, &str)>> = emails.iter().map(|e| sign_up_fields("Owner", e)).collect();
    let pages = join_all(
        browsers
            .iter_mut()
            .zip(&forms)
            .map(|(browser, form)| browser.post("/signup", form)),
    )
    .await;
    let statuses: Vec<StatusCode> = pages.iter().map(|p| p.status).collect();
    assert_eq!(server_errors(&statuses), Vec::<u16>::new(), "sign-ups");
    let accounts: i64 = site.query(|c| users::table.count().get_result(c)).await;
    assert_eq!(accounts, 50);

    // Wrong passwords for one account, all at once.
    let mut guessers: Vec<_> = (0..50).map(|_| Browser::new(app.clone())).collect();
    for guesser in &mut guessers {
        guesser.get("/login").await;
    }
    let pages = join_all(guessers.iter_mut().map(|guesser| {
        guesser.post(
            "/login",
            &[
                ("email", "owner0@example.com"),
                ("password", "not the password 1"),
            ],
        )
    }))
    .await;
    let statuses: Vec<StatusCode> = pages.iter().map(|p| p.status).collect();
    assert_eq!(server_errors(&statuses), Vec::<u16>::new(), "sign-ins");
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::UNPROCESSABLE_ENTITY || *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    let checked: i64 = site
        .query(|c| {
            audit_events::table
                .filter(audit_events::action.eq("sign_in_failed"))
                .count()
                .get_result(c)
        })
        .await;
    assert_eq!(checked, 5, "passwords checked");

    // One owner creates bots from 50 tabs at once.
    let owner = &mut browsers[1];
    let mut tabs: Vec<_> = (0..50)
        .map(|_| {
            let mut tab = Browser::new(app.clone());
            tab.cookies = owner.cookies.clone();
            tab
        })
        .collect();
    let pages = join_all(
        tabs.iter_mut()
            .map(|tab| tab.post("/bots", &[("name", "Shop bot")])),
    )
    .await;
    let statuses: Vec<StatusCode> = pages.iter().map(|p| p.status).collect();
    assert_eq!(server_errors(&statuses), Vec::<u16>::new(), "bot creations");
    assert!(statuses.contains(&StatusCode::SEE_OTHER), "{statuses:?}");

    // A paired sandbox phone sends 50 messages at once.
    let mut ana = Browser::new(app.clone());
    let (_, page) = crate::bots::bot_on_pairing_page(&mut ana).await;
    let mut phone = Browser::new(app.clone());
    let paired = phone
        .post(
            &crate::bots::sandbox_link(&page),
            &[("name", "Rui"), ("number", "351912345678")],
        )
        .await;
    let send = format!("{}/send", paired.location());
    let mut fingers: Vec<_> = (0..50)
        .map(|_| {
            let mut finger = Browser::new(app.clone());
            finger.cookies = phone.cookies.clone();
            finger
        })
        .collect();
    let texts: Vec<String> = (0..50).map(|i| format!("message {i}")).collect();
    let forms: Vec<[(&str, &str); 1]> = texts.iter().map(|t| [("text", t.as_str())]).collect();
    let pages = join_all(
        fingers
            .iter_mut()
            .zip(&forms)
            .map(|(finger, form)| finger.post(&send, form)),
    )
    .await;
    let statuses: Vec<StatusCode> = pages.iter().map(|p| p.status).collect();
    assert_eq!(
        server_errors(&statuses),
        Vec::<u16>::new(),
        "phone messages"
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let stored: i64 = site
            .query(|c| {
                messages::table
                    .filter(messages::body.like("message %"))
                    .count()
                    .get_result(c)
            })
            .await;
        if stored == 50 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "all 50 messages stored ({stored})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
