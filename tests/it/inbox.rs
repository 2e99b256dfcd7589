//! The inbox through the app and the real pipeline on the sandbox transport: a customer's
//! conversation appears with its unread count, a member takes it over (the bot falls silent),
//! answers through the outbox, and gives it back (the bot answers again); a customer can ask
//! for a person; refused replies say why and keep the text; assignments and closing; and a
//! foreign workspace's conversation is 404 on every inbox route.

use actix_web::http::StatusCode;
use chrono::{Duration, Utc};
use diesel::prelude::*;
use whatsdex::bots::router::HANDED_OVER;
use whatsdex::db::schema::{audit_events, bots, messages, outbox, threads};

use crate::common::browser::Browser;
use crate::common::{PASSWORD, Site};
use crate::templates::{CARL, Chat, bot_with_template};

/// The id of the only thread (the one customer who wrote).
async fn thread_id(site: &Site) -> String {
    site.query(|c| threads::table.select(threads::id).first(c))
        .await
}

/// The audit log's actions, oldest first.
async fn audited(site: &Site) -> Vec<String> {
    site.query(|c| {
        audit_events::table
            .order(audit_events::created_at.asc())
            .select(audit_events::action)
            .load(c)
    })
    .await
}

#[actix_web::test]
async fn a_member_takes_over_answers_and_gives_the_conversation_back() {
    let site = Site::start();
    let (bot_id, mut owner) = bot_with_template(&site, site.app().await, "faq_assistant").await;
    let mut chat = Chat::new(&site, &bot_id);
    assert_eq!(chat.say(CARL, "ping").await, [(CARL.into(), "pong".into())]);

    // The conversation is listed, unread, with the customer's name and the last message.
    let list = owner.get("/inbox").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains("Carl"), "{}", list.body);
    assert!(
        list.body.contains(r#"data-testid="unread-count""#),
        "unread shown"
    );
    let id = thread_id(&site).await;
    assert!(list.body.contains(&format!("/inbox/{id}")));

    // Opening it shows the messages, and reads them.
    let page = owner.get(&format!("/inbox/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains(">ping<") && page.body.contains(">pong<"),
        "{}",
        page.body
    );
    assert!(page.body.contains(r#"data-testid="bot-answers""#));
    let unread: i32 = site
        .query(|c| threads::table.select(threads::unread).first(c))
        .await;
    assert_eq!(unread, 0, "opening the conversation read it");
    assert!(
        !owner
            .get("/inbox")
            .await
            .body
            .contains(r#"data-testid="unread-count""#)
    );

    // Taken over: the bot says nothing more to Carl.
    let taken = owner.post(&format!("/inbox/{id}/takeover"), &[]).await;
    assert_eq!(taken.status, StatusCode::SEE_OTHER, "{}", taken.body);
    assert!(chat.say(CARL, "ping").await.is_empty(), "the bot is silent");
    let page = owner.get(&format!("/inbox/{id}")).await;
    assert!(
        page.body.contains(r#"data-testid="held-by""#),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("Waiting for the team"),
        "Carl waits for a person"
    );

    // The member's reply goes through the outbox with its author, and is shown as theirs.
    let sent = owner
        .post(
            &format!("/inbox/{id}/reply"),
            &[("text", "Hi Carl, Ana here")],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let authored: Vec<Option<String>> = site
        .query(|c| {
            outbox::table
                .filter(outbox::body.eq("Hi Carl, Ana here"))
                .select(outbox::author_id)
                .load(c)
        })
        .await;
    assert_eq!(authored.len(), 1);
    assert!(authored[0].is_some(), "the reply names its author");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let recorded = loop {
        let rows: Vec<Option<String>> = site
            .query(|c| {
                messages::table
                    .filter(messages::body.eq("Hi Carl, Ana here"))
                    .select(messages::author_id)
                    .load(c)
            })
            .await;
        if let Some(author) = rows.into_iter().next() {
            break author;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the reply was not sent"
        );
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    };
    assert!(
        recorded.is_some(),
        "sent, and stored as the member's message"
    );
    let page = owner.get(&format!("/inbox/{id}")).await;
    assert!(
        page.body.contains(">Ana<"),
        "the bubble names the member: {}",
        page.body
    );
    assert!(page.body.contains("Open"), "answered: no longer waiting");

    // Given back: the bot answers again. (The chat reads the outbox, where the member's
    // reply is new to it too.)
    let released = owner.post(&format!("/inbox/{id}/release"), &[]).await;
    assert_eq!(released.status, StatusCode::SEE_OTHER);
    assert_eq!(
        chat.say(CARL, "ping").await,
        [
            (CARL.into(), "Hi Carl, Ana here".into()),
            (CARL.into(), "pong".into())
        ]
    );

    let actions = audited(&site).await;
    for action in ["conversation_taken_over", "conversation_released"] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} audited: {actions:?}"
        );
    }
}

#[actix_web::test]
async fn a_takeover_ends_after_the_idle_time() {
    let site = Site::start();
    let (bot_id, mut owner) = bot_with_template(&site, site.app().await, "faq_assistant").await;
    let mut chat = Chat::new(&site, &bot_id);
    chat.say(CARL, "hello").await;
    let id = thread_id(&site).await;
    owner.post(&format!("/inbox/{id}/takeover"), &[]).await;
    assert!(chat.say(CARL, "ping").await.is_empty());
    // The idle time passes without a word from the team.
    site.query(|c| {
        diesel::update(threads::table)
            .set(threads::held_until.eq(Some(Utc::now().naive_utc() - Duration::minutes(1))))
            .execute(c)
    })
    .await;
    assert_eq!(chat.say(CARL, "ping").await, [(CARL.into(), "pong".into())]);
}

#[actix_web::test]
async fn a_customer_who_asks_for_a_person_waits_for_one() {
    let site = Site::start();
    let (bot_id, mut owner) = bot_with_template(&site, site.app().await, "faq_assistant").await;
    let mut chat = Chat::new(&site, &bot_id);
    assert_eq!(
        chat.say(CARL, "Human").await,
        [(CARL.into(), HANDED_OVER.into())]
    );
    assert!(
        chat.say(CARL, "ping").await.is_empty(),
        "the bot leaves it to a person"
    );
    let waiting = owner.get("/inbox?status=waiting").await;
    assert!(waiting.body.contains("Carl"), "{}", waiting.body);
    assert!(waiting.body.contains("Asked for a person"));
    assert!(
        !owner
            .get("/inbox?status=closed")
            .await
            .body
            .contains("Carl")
    );
}

#[actix_web::test]
async fn refused_replies_say_why_and_keep_the_text() {
    let site = Site::start();
    let (bot_id, mut owner) = bot_with_template(&site, site.app().await, "faq_assistant").await;
    Chat::new(&site, &bot_id).say(CARL, "hello").await;
    let id = thread_id(&site).await;
    let path = format!("/inbox/{id}/reply");

    let empty = owner.post(&path, &[("text", "   ")]).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.body.contains("Write a message"), "{}", empty.body);

    // The bot lost its connection: nothing can reach the customer, and the text stays.
    let bot = bot_id.clone();
    site.query(move |c| {
        diesel::update(bots::table.find(bot))
            .set(bots::status.eq("reconnecting"))
            .execute(c)
    })
    .await;
    let offline = owner
        .post(&path, &[("text", "Your order ships today")])
        .await;
    assert_eq!(offline.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        offline.body.contains("nothing can reach the customer"),
        "{}",
        offline.body
    );
    assert!(offline.body.contains(">Your order ships today</textarea>"));
    let queued: i64 = site
        .query(|c| {
            outbox::table
                .filter(outbox::author_id.is_not_null())
                .count()
                .get_result(c)
        })
        .await;
    assert_eq!(queued, 0, "nothing was queued");

    // The same through htmx: the composer comes back alone, with the reason and the text.
    let token = owner.cookies.get("wdx_csrf").cloned().unwrap();
    let request = actix_web::test::TestRequest::post()
        .uri(&path)
        .insert_header(("HX-Request", "true"))
        .insert_header(("X-CSRF-Token", token.as_str()))
        .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
        .set_payload("text=Still+here");
    let fragment = owner.send_request(request).await;
    assert_eq!(fragment.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        fragment
            .body
            .trim_start()
            .starts_with("<form id=\"composer\""),
        "{}",
        fragment.body
    );
    assert!(fragment.body.contains(">Still here</textarea>"));
}

#[actix_web::test]
async fn conversations_are_assigned_closed_and_reopened() {
    let site = Site::start();
    let (bot_id, mut owner) = bot_with_template(&site, site.app().await, "faq_assistant").await;
    let mut chat = Chat::new(&site, &bot_id);
    chat.say(CARL, "hello").await;
    let id = thread_id(&site).await;
    let me: String = site
        .query(|c| {
            whatsdex::db::schema::users::table
                .select(whatsdex::db::schema::users::id)
                .first(c)
        })
        .await;

    owner
        .post(&format!("/inbox/{id}/assign"), &[("assignee", &me)])
        .await;
    assert!(owner.get("/inbox?assigned=me").await.body.contains("Carl"));
    assert!(
        !owner
            .get("/inbox?assigned=nobody")
            .await
            .body
            .contains("Carl")
    );
    // Not a member: refused, nothing changes.
    let stranger = owner
        .post(
            &format!("/inbox/{id}/assign"),
            &[("assignee", "someone-else")],
        )
        .await;
    assert_eq!(stranger.status, StatusCode::SEE_OTHER);
    assert!(owner.get("/inbox?assigned=me").await.body.contains("Carl"));

    owner.post(&format!("/inbox/{id}/close"), &[]).await;
    assert!(
        owner
            .get("/inbox?status=closed")
            .await
            .body
            .contains("Carl")
    );
    // The customer writing again opens it again.
    chat.say(CARL, "one more thing").await;
    assert!(owner.get("/inbox?status=open").await.body.contains("Carl"));
    owner.post(&format!("/inbox/{id}/close"), &[]).await;
    owner.post(&format!("/inbox/{id}/reopen"), &[]).await;
    assert!(owner.get("/inbox?status=open").await.body.contains("Carl"));

    let actions = audited(&site).await;
    for action in [
        "conversation_assigned",
        "conversation_closed",
        "conversation_reopened",
    ] {
        assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
    }
}

#[actix_web::test]
async fn the_list_pages_by_cursor() {
    let site = Site::start();
    let (bot_id, mut owner) = bot_with_template(&site, site.app().await, "faq_assistant").await;
    let mut chat = Chat::new(&site, &bot_id);
    let numbers: Vec<String> = (0..55).map(|i| format!("3519100{i:05}")).collect();
    for number in &numbers {
        chat.say(number, "hi").await;
    }
    let first = owner.get("/inbox").await;
    let rows = first.body.matches(r#"data-testid="inbox-row""#).count();
    assert_eq!(rows, 50, "a page holds fifty");
    let next = first
        .body
        .split("href=\"/inbox?after=")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a link to older conversations");
    let second = owner.get(&format!("/inbox?after={next}")).await;
    assert_eq!(second.body.matches(r#"data-testid="inbox-row""#).count(), 5);
    // The oldest customer is on the second page only.
    let oldest = format!("+{}", numbers[0]);
    assert!(second.body.contains(&oldest) && !first.body.contains(&oldest));
}

#[actix_web::test]
async fn a_foreign_conversation_is_404_on_every_inbox_route() {
    let site = Site::start();
    let app = site.app().await;
    let (bot_id, _owner) = bot_with_template(&site, app.clone(), "faq_assistant").await;
    Chat::new(&site, &bot_id).say(CARL, "hello").await;
    let id = thread_id(&site).await;

    let mut other = Browser::new(app);
    other
        .post(
            "/signup",
            &[
                ("name", "Zed"),
                ("email", "zed@example.com"),
                ("password", PASSWORD),
                ("workspace_name", "Elsewhere"),
            ],
        )
        .await;
    let before: Vec<(String, i32, Option<String>)> = site
        .query(|c| {
            threads::table
                .select((threads::status, threads::unread, threads::held_by))
                .load(c)
        })
        .await;
    for path in [
        format!("/inbox/{id}"),
        format!("/inbox/{id}/messages?before="),
    ] {
        let page = other.get(&path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "GET {path}");
    }
    for action in ["reply", "takeover", "release", "assign", "close", "reopen"] {
        let path = format!("/inbox/{id}/{action}");
        let page = other.post(&path, &[("text", "hi"), ("assignee", "")]).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "POST {path}");
    }
    let after: Vec<(String, i32, Option<String>)> = site
        .query(|c| {
            threads::table
                .select((threads::status, threads::unread, threads::held_by))
                .load(c)
        })
        .await;
    assert_eq!(before, after, "nothing changed");
    assert!(!other.get("/inbox").await.body.contains("Carl"));
    let queued: i64 = site
        .query(|c| {
            outbox::table
                .filter(outbox::body.eq("hi"))
                .count()
                .get_result(c)
        })
        .await;
    assert_eq!(queued, 0);
}

#[actix_web::test]
async fn the_inbox_searches_names_numbers_and_words() {
    let site = Site::start();
    let (bot_id, mut owner) = bot_with_template(&site, site.app().await, "faq_assistant").await;
    let mut chat = Chat::new(&site, &bot_id);
    chat.say(CARL, "Where is my parcel? Tracking says Rotterdam")
        .await;
    let id = thread_id(&site).await;

    let by_word = owner.get("/inbox?q=rotterd").await;
    assert_eq!(by_word.status, StatusCode::OK);
    assert_eq!(
        by_word.body.matches(r#"data-testid="search-hit""#).count(),
        1,
        "{}",
        by_word.body
    );
    assert!(
        by_word.body.contains(&format!("/inbox/{id}#m-")),
        "the hit opens its conversation"
    );
    let by_name = owner.get("/inbox?q=carl").await;
    assert!(
        by_name.body.contains(&format!("href=\"/inbox/{id}\"")),
        "{}",
        by_name.body
    );
    let by_number = owner.get(&format!("/inbox?q=%2B{}", &CARL[..6])).await;
    assert!(by_number.body.contains(&format!("href=\"/inbox/{id}\"")));
    let nothing = owner.get("/inbox?q=amsterdam").await;
    assert_eq!(
        nothing.body.matches(r#"data-testid="search-hit""#).count(),
        0
    );
    assert!(nothing.body.contains("No message has these words."));
}
