//! The bot runtime on the sandbox transport, through the real app: create, pair by the QR
//! link, chat, owner-only commands, dedup, the outbox, restarts.

use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use diesel::prelude::*;
use whatsdex::bots::transport::{InboundMessage, TransportEvent};
use whatsdex::db::schema::{bots, messages, outbox};

use crate::common::browser::{Browser, Page};
use crate::common::{PASSWORD, Site};

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

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let to = text[from..].find(end)? + from;
    Some(&text[from..to])
}

/// Sign up, create a bot, open its pairing page; returns (bot id, pairing page).
pub(crate) async fn bot_on_pairing_page<S, B>(owner: &mut Browser<S>) -> (String, Page)
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
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
    let created = owner.post("/bots", &[("name", "Bakery bot")]).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let bot_id = between(created.location(), "/bots/", "/pair")
        .unwrap()
        .to_owned();
    let page = eventually!("a QR code", {
        let page = owner.get(&format!("/bots/{bot_id}/pair")).await;
        page.body.contains("<svg").then_some(page)
    });
    (bot_id, page)
}

/// The sandbox pairing link on a pairing page.
pub(crate) fn sandbox_link(page: &Page) -> String {
    between(&page.body, r#"data-testid="sandbox-link" href=""#, "\"")
        .expect("a sandbox link on the pairing page")
        .trim_start_matches("http://localhost:8080")
        .to_owned()
}

/// Sign up, create a bot and pair it to the sandbox phone +447700900123; returns its id.
pub(crate) async fn paired_bot<S, B>(owner: &mut Browser<S>, app: std::rc::Rc<S>) -> String
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let (bot_id, page) = bot_on_pairing_page(owner).await;
    Browser::new(app)
        .post(
            &sandbox_link(&page),
            &[("name", "Ana"), ("number", "447700900123")],
        )
        .await;
    eventually!("connected", {
        let status = owner.get(&format!("/bots/{bot_id}/pair/status")).await;
        status.body.contains("Connected as").then_some(())
    });
    bot_id
}

#[actix_web::test]
async fn pair_with_the_sandbox_phone_then_ping_pong() {
    let site = Site::start();
    let app = site.app().await;
    let mut owner = Browser::new(app.clone());
    let (bot_id, page) = bot_on_pairing_page(&mut owner).await;
    // A sandbox bot pairs with a simulated phone: no talk of WhatsApp's linked devices.
    assert!(page.body.contains(r#"data-testid="sandbox-pair-steps""#));
    assert!(!page.body.contains("Linked devices"), "{}", page.body);
    let path = sandbox_link(&page);
    assert!(path.starts_with("/sandbox/pair/"), "{path}");
    assert!(
        page.body
            .contains(r#"href="http://localhost:8080/sandbox/pair/"#),
        "absolute URL"
    );

    let mut phone = Browser::new(app.clone());
    let form = phone.get(&path).await;
    assert!(form.body.contains("Bakery bot"));
    let bad = phone
        .post(&path, &[("name", "Ana"), ("number", "12")])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("country code"));
    let paired = phone
        .post(&path, &[("name", "Ana"), ("number", "+44 7700 900123")])
        .await;
    assert_eq!(paired.status, StatusCode::SEE_OTHER, "{}", paired.body);
    let phone_path = paired.location().to_owned();
    assert_eq!(
        phone.get(&path).await.status,
        StatusCode::NOT_FOUND,
        "a QR link pairs once"
    );

    eventually!("connected", {
        let status = owner.get(&format!("/bots/{bot_id}/pair/status")).await;
        status
            .body
            .contains("Connected as +447700900123")
            .then_some(())
    });
    let owner_number: Option<String> = site
        .query(|c| bots::table.select(bots::owner_number).first(c))
        .await;
    assert_eq!(owner_number.as_deref(), Some("447700900123"));

    let sent = phone
        .post(&format!("{phone_path}/send"), &[("text", "ping")])
        .await;
    assert_eq!(sent.status, StatusCode::OK);
    eventually!("pong", {
        let chat = phone.get(&format!("{phone_path}/chat")).await;
        chat.body
            .contains(r#"data-direction="out""#)
            .then_some(())
            .filter(|_| chat.body.contains("pong"))
    });
    let owner_status = phone
        .post(&format!("{phone_path}/send"), &[("text", "!status")])
        .await;
    assert_eq!(owner_status.status, StatusCode::OK);
    eventually!("status line", {
        let chat = phone.get(&format!("{phone_path}/chat")).await;
        chat.body.contains("Bakery bot is connected").then_some(())
    });
}

#[actix_web::test]
async fn owner_only_commands_are_refused_to_strangers() {
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
    let carl_path = customer.location().to_owned();
    assert!(
        carl_path.starts_with("/sandbox/phone/"),
        "{}",
        customer.body
    );
    let sent = carl
        .post(&format!("{carl_path}/send"), &[("text", "!status")])
        .await;
    assert_eq!(sent.status, StatusCode::OK);
    eventually!("refusal", {
        let chat = carl.get(&format!("{carl_path}/chat")).await;
        // The apostrophe is HTML-escaped in the page.
        chat.body.contains("owner can use !status.").then_some(())
    });
}

#[actix_web::test]
async fn an_inbound_message_is_stored_once_even_when_delivered_twice() {
    let site = Site::start();
    let app = site.app().await;
    let mut owner = Browser::new(app.clone());
    let bot_id = paired_bot(&mut owner, app.clone()).await;
    let message = InboundMessage {
        extras: Default::default(),
        id: "3EB0REDELIVERED".into(),
        from: "351912345678".into(),
        from_name: None,
        text: "ping".into(),
    };
    for _ in 0..2 {
        site.state
            .bots
            .sandbox()
            .deliver(&bot_id, TransportEvent::Message(message.clone()))
            .await
            .unwrap();
    }
    let counts = eventually!("one reply", {
        let counts: (i64, i64) = site
            .query(|c| {
                let inbound = messages::table
                    .filter(messages::wa_message_id.eq("3EB0REDELIVERED"))
                    .count()
                    .get_result(c)?;
                let replies = outbox::table
                    .filter(outbox::sent_at.is_not_null())
                    .count()
                    .get_result(c)?;
                Ok((inbound, replies))
            })
            .await;
        (counts.1 >= 1).then_some(counts)
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let replies: i64 = site.query(|c| outbox::table.count().get_result(c)).await;
    assert_eq!(counts.0, 1, "stored once");
    assert_eq!(replies, 1, "answered once");
}

#[actix_web::test]
async fn a_queued_reply_is_sent_after_a_restart_and_paired_bots_resume() {
    let site = Site::start();
    let app = site.app().await;
    let mut owner = Browser::new(app.clone());
    let bot_id = paired_bot(&mut owner, app.clone()).await;
    // The process "crashes": its bots stop without sending anything more.
    site.state.bots.shutdown(Duration::from_secs(5)).await;
    // A reply had been decided (written to the outbox) but not sent.
    let (tenant_id, bot): (whatsdex::ids::TenantId, whatsdex::ids::BotId) = site
        .query(|c| bots::table.select((bots::tenant_id, bots::id)).first(c))
        .await;
    let (t, b) = (tenant_id.clone(), bot.clone());
    site.query(move |c| {
        whatsdex::bots::outbox::enqueue_in(c, &t, &b, "351912345678", "sorry for the wait")
    })
    .await;

    // A new process on the same database.
    let restarted = whatsdex::server::prepare(site.state.config.as_ref().clone(), false).unwrap();
    assert_eq!(restarted.bots.start_all().await.unwrap(), 1);
    assert!(restarted.bots.is_running(&bot_id.as_str().into()));
    eventually!("the queued reply sent", {
        let sent: Option<String> = site
            .query(|c| {
                messages::table
                    .filter(messages::direction.eq("out"))
                    .filter(messages::body.eq("sorry for the wait"))
                    .select(messages::status)
                    .first(c)
                    .optional()
            })
            .await;
        sent.filter(|status| status == "delivered")
    });
    let status: String = site
        .query(|c| bots::table.select(bots::status).first(c))
        .await;
    assert_eq!(status, "connected");
    restarted.bots.shutdown(Duration::from_secs(5)).await;
}

#[actix_web::test]
async fn foreign_bot_ids_are_404() {
    let site = Site::start();
    let app = site.app().await;
    let mut owner = Browser::new(app.clone());
    let (bot_id, _) = bot_on_pairing_page(&mut owner).await;
    let mut other = Browser::new(app.clone());
    other
        .post(
            "/signup",
            &[
                ("name", "Bob"),
                ("email", "bob@example.com"),
                ("password", PASSWORD),
                ("workspace_name", "Bob's"),
            ],
        )
        .await;
    for path in [
        format!("/bots/{bot_id}/pair"),
        format!("/bots/{bot_id}/pair/status"),
    ] {
        assert_eq!(
            other.get(&path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    for path in ["rename", "unpair", "delete", "sandbox-phone"] {
        let page = other
            .post(
                &format!("/bots/{bot_id}/{path}"),
                &[("name", "X"), ("number", "447700900999")],
            )
            .await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
    }
    let left: i64 = site
        .query(|c| {
            bots::table
                .filter(bots::name.eq("Bakery bot"))
                .count()
                .get_result(c)
        })
        .await;
    assert_eq!(left, 1);
}

/// The enums' names are the only ones the database takes, on both backends.
#[actix_web::test]
async fn the_database_refuses_an_unknown_bot_or_message_status() {
    let site = Site::start();
    let app = site.app().await;
    let mut owner = Browser::new(app.clone());
    let bot_id = paired_bot(&mut owner, app.clone()).await;
    let customer_text = InboundMessage {
        extras: Default::default(),
        id: "3EB0STATUSCHECK".into(),
        from: "351912345678".into(),
        from_name: None,
        text: "ping".into(),
    };
    site.state
        .bots
        .sandbox()
        .deliver(&bot_id, TransportEvent::Message(customer_text))
        .await
        .unwrap();
    eventually!("the message is stored", {
        let stored: i64 = site.query(|c| messages::table.count().get_result(c)).await;
        (stored >= 1).then_some(())
    });

    let bot = bot_id.clone();
    let refused = site
        .state
        .db
        .run_in(
            whatsdex::db::RowScope::across_tenants("the test writes a bad status on purpose"),
            move |c| {
                diesel::update(bots::table.find(&bot))
                    .set(bots::status.eq("sleeping"))
                    .execute(c)
            },
        )
        .await;
    assert!(refused.is_err(), "an unknown bot status was stored");
    let refused = site
        .state
        .db
        .run_in(
            whatsdex::db::RowScope::across_tenants("the test writes a bad status on purpose"),
            |c| {
                diesel::update(messages::table)
                    .set(messages::status.eq("lost"))
                    .execute(c)
            },
        )
        .await;
    assert!(refused.is_err(), "an unknown message status was stored");

    // Known names still go in.
    let bot = bot_id.clone();
    let changed = site
        .query(move |c| {
            diesel::update(bots::table.find(&bot))
                .set(bots::status.eq(whatsdex::bots::BotStatus::Reconnecting))
                .execute(c)
        })
        .await;
    assert_eq!(changed, 1);
}

/// While a bot's task waits to start (here: another holder keeps its lease), its status says
/// it is starting, not "connected"; once it runs, connected again.
#[actix_web::test]
async fn a_starting_bot_says_so_until_it_runs() {
    use whatsdex::bots::lease::Leases;
    use whatsdex::ids::BotId;

    let site = Site::start();
    let app = site.app().await;
    let mut owner = Browser::new(app.clone());
    let bot_id = paired_bot(&mut owner, app.clone()).await;
    let id = BotId::from(bot_id.clone());
    let status = || {
        let bot_id = bot_id.clone();
        site.query(move |c| {
            bots::table
                .find(&bot_id)
                .select((bots::status, bots::status_reason))
                .first::<(String, Option<String>)>(c)
        })
    };
    eventually!("connected", (status().await.0 == "connected").then_some(()));

    // The task stops; something else holds the lease for a while (a dying instance's).
    site.state.bots.stop(&id).await;
    assert_eq!(
        status().await.0,
        "connected",
        "a stop alone changes nothing"
    );
    let leases = Leases::for_deployment(&site.state.cache, &site.state.db);
    assert!(leases.acquire(&bot_id, "ghost").await.unwrap());
    site.state.bots.ensure_running(&id);
    let waiting = eventually!("the status says starting", {
        let now = status().await;
        (now.0 != "connected").then_some(now)
    });
    assert_eq!(
        waiting,
        ("reconnecting".to_owned(), Some("Starting".to_owned()))
    );

    leases.release(&bot_id, "ghost").await.unwrap();
    eventually!("connected once it runs", {
        (status().await.0 == "connected").then_some(())
    });
}
