//! `GET /inbox/events`: the inbox's server-sent events, read as a browser's EventSource reads
//! them, with a sandbox bot's real pipeline producing the events.

use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::{StatusCode, header};
use actix_web::test::{self, TestRequest};
use diesel::prelude::*;
use whatsdex::bots::transport::{Delivery, InboundMessage, TransportEvent};
use whatsdex::db::schema::{live_events, messages, threads};
use whatsdex::web::AppState;

use crate::bots::sandbox_link;
use crate::common::browser::Browser;
use crate::common::sse::{SseEvent, SseReader};
use crate::common::{Site, sign_up};

const CARL: &str = "351912345678";
const WAIT: Duration = Duration::from_secs(10);
/// How long a stream is watched for something that must not come.
const QUIET: Duration = Duration::from_millis(1500);

macro_rules! eventually {
    ($what:expr, $probe:expr) => {{
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(value) = $probe {
                break value;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {}", $what);
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }};
}

/// Sign up `email` with a workspace `workspace`, create a sandbox bot and pair it to the
/// simulated phone `number`; the owner's browser and the bot's id.
async fn workspace_with_bot<S, B>(
    app: std::rc::Rc<S>,
    email: &str,
    workspace: &str,
    number: &str,
) -> (Browser<S>, String)
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let mut owner = Browser::new(app.clone());
    sign_up(&mut owner, email, workspace).await;
    let created = owner.post("/bots", &[("name", "Live bot")]).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let bot_id = created
        .location()
        .trim_start_matches("/bots/")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let page = eventually!("a pairing link", {
        let page = owner.get(&format!("/bots/{bot_id}/pair")).await;
        page.body.contains("sandbox-link").then_some(page)
    });
    Browser::new(app)
        .post(
            &sandbox_link(&page),
            &[("name", "Owner"), ("number", number)],
        )
        .await;
    eventually!("connected", {
        let status = owner.get(&format!("/bots/{bot_id}/pair/status")).await;
        status.body.contains("Connected as").then_some(())
    });
    (owner, bot_id)
}

/// A customer's message through the bot's transport, as WhatsApp would deliver it; waits
/// until the pipeline stored it.
async fn customer_says(state: &AppState, bot_id: &str, wa_id: &str, text: &str) {
    let message = InboundMessage {
        extras: Default::default(),
        id: wa_id.to_owned(),
        from: CARL.into(),
        from_name: Some("Carl".into()),
        text: text.into(),
    };
    eventually!("the bot running", {
        state
            .bots
            .sandbox()
            .deliver(bot_id, TransportEvent::Message(message.clone()))
            .await
            .ok()
    });
    eventually!(format!("{text:?} stored"), {
        let wa = wa_id.to_owned();
        let stored: i64 = query(state, move |c| {
            messages::table
                .filter(messages::wa_message_id.eq(wa))
                .count()
                .get_result(c)
        })
        .await;
        (stored == 1).then_some(())
    });
}

async fn query<T, F>(state: &AppState, work: F) -> T
where
    T: Send + 'static,
    F: FnOnce(&mut whatsdex::db::DbConn) -> diesel::QueryResult<T> + Send + 'static,
{
    state
        .db
        .run_in(
            whatsdex::db::RowScope::across_tenants("test set-up reads any row"),
            work,
        )
        .await
        .expect("query")
}

/// The bot's (one) conversation.
async fn thread_of(state: &AppState, bot_id: &str) -> String {
    let bot = bot_id.to_owned();
    query(state, move |c| {
        threads::table
            .filter(threads::bot_id.eq(bot))
            .select(threads::id)
            .first(c)
    })
    .await
}

/// Sequence numbers in the log of the workspace owning `thread`, after `after`.
async fn logged_after(state: &AppState, thread: &str, after: i64) -> Vec<i64> {
    let thread = thread.to_owned();
    query(state, move |c| {
        live_events::table
            .filter(live_events::thread_id.eq(thread))
            .filter(live_events::seq.gt(after))
            .select(live_events::seq)
            .order(live_events::seq.asc())
            .load(c)
    })
    .await
}

/// Wait until the pipeline's after-effects (replies, receipts) stop adding events.
async fn log_settles(state: &AppState, thread: &str) -> Vec<i64> {
    let mut last = logged_after(state, thread, 0).await;
    loop {
        tokio::time::sleep(Duration::from_millis(600)).await;
        let now = logged_after(state, thread, 0).await;
        if now == last {
            return now;
        }
        last = now;
    }
}

/// A GET of `path` with `browser`'s cookies (and a `Last-Event-ID`).
fn request<S>(browser: &Browser<S>, path: &str, last_event_id: Option<i64>) -> TestRequest {
    let jar = browser
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let mut request = TestRequest::get()
        .uri(path)
        .insert_header((header::COOKIE, jar))
        .insert_header((header::ACCEPT, "text/event-stream"))
        .insert_header((header::ACCEPT_ENCODING, "gzip, br"))
        .peer_addr("203.0.113.10:40000".parse().unwrap());
    if let Some(id) = last_event_id {
        request = request.insert_header(("Last-Event-ID", id.to_string()));
    }
    request
}

/// Open the event stream at `path` as `browser`; checks it is one.
async fn open<S, B>(
    app: &S,
    browser: &Browser<S>,
    path: &str,
    last_event_id: Option<i64>,
) -> SseReader<B>
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let response =
        test::call_service(app, request(browser, path, last_event_id).to_request()).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    let headers = response.headers();
    assert_eq!(
        headers.get(header::CONTENT_TYPE).unwrap(),
        "text/event-stream"
    );
    assert_eq!(headers.get(header::CACHE_CONTROL).unwrap(), "no-store");
    // Not compressed, so events are not held back in a compressor's buffer.
    assert!(
        headers
            .get(header::CONTENT_ENCODING)
            .is_none_or(|v| v == "identity"),
        "{headers:?}"
    );
    SseReader::new(response.into_body())
}

fn is_message_with(text: &str) -> impl Fn(&SseEvent) -> bool + '_ {
    move |e| e.event == "message" && e.data.contains(text)
}

#[actix_web::test]
async fn a_conversation_hears_new_messages_and_ticks() {
    let site = Site::start();
    let app = site.app().await;
    let (mut owner, bot_id) = workspace_with_bot(
        app.clone(),
        "ana@example.com",
        "Lima Bakery",
        "447700900123",
    )
    .await;
    customer_says(&site.state, &bot_id, "LIVE-A1", "Hello there").await;
    let thread = thread_of(&site.state, &bot_id).await;
    log_settles(&site.state, &thread).await;

    let mut stream = open(
        &*app,
        &owner,
        &format!("/inbox/events?thread={thread}"),
        None,
    )
    .await;
    assert_eq!(stream.next_within(Duration::from_millis(300)).await, None);
    assert!(
        stream.raw.starts_with("retry: 2000\n\n"),
        "{:?}",
        stream.raw
    );
    customer_says(&site.state, &bot_id, "LIVE-A2", "Where is my parcel?").await;
    let (heard, _) = stream
        .until(
            "the new message",
            WAIT,
            is_message_with("Where is my parcel?"),
        )
        .await;
    assert!(
        heard.data.contains(r#"data-live="replace""#),
        "{}",
        heard.data
    );
    assert!(heard.data.starts_with("<li id=\"m-"), "{}", heard.data);

    // A reply from the team; the sandbox phone says delivered, then WhatsApp says read.
    let sent = owner
        .post(
            &format!("/inbox/{thread}/reply"),
            &[("text", "It ships today")],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    // Each event is rendered as the message stands when it is sent: the delivered tick.
    let (delivered, _) = stream
        .until("the delivered tick", WAIT, |e| {
            e.event == "message"
                && e.data.contains("It ships today")
                && e.data.contains(r#"data-tick="delivered""#)
        })
        .await;
    let (id, wa_id): (String, String) = query(&site.state, |c| {
        messages::table
            .filter(messages::body.eq("It ships today"))
            .select((messages::id, messages::wa_message_id))
            .first(c)
    })
    .await;
    let bubble = format!("<li id=\"m-{id}\"");
    assert!(delivered.data.starts_with(&bubble), "{}", delivered.data);
    let bot = whatsdex::bots::model::find_for_runtime(&site.state.db, &bot_id)
        .await
        .expect("bot read")
        .expect("bot");
    whatsdex::bots::pipeline::record_receipt(
        &site.state.db,
        &site.state.live,
        &bot,
        &wa_id,
        Delivery::Read,
        None,
    )
    .await
    .expect("receipt recorded");
    // The same bubble (same id: the page replaces it in place) with the new tick.
    let (read, _) = stream
        .until("the read tick", WAIT, |e| {
            e.event == "message" && e.data.contains(r#"data-tick="read""#)
        })
        .await;
    assert!(read.data.starts_with(&bubble), "{}", read.data);
    assert!(read.data.contains("It ships today"));
}

#[actix_web::test]
async fn a_reconnecting_page_gets_exactly_what_it_missed() {
    let site = Site::start();
    let app = site.app().await;
    let (owner, bot_id) = workspace_with_bot(
        app.clone(),
        "ana@example.com",
        "Lima Bakery",
        "447700900123",
    )
    .await;
    customer_says(&site.state, &bot_id, "LIVE-B0", "First").await;
    let thread = thread_of(&site.state, &bot_id).await;
    let path = format!("/inbox/events?thread={thread}");

    let mut stream = open(&*app, &owner, &path, None).await;
    customer_says(&site.state, &bot_id, "LIVE-B1", "Seen one").await;
    let (seen, _) = stream
        .until("the message seen", WAIT, is_message_with("Seen one"))
        .await;
    let settled = log_settles(&site.state, &thread).await;
    let seen_up_to = seen.seq();
    drop(stream); // the browser lost its connection

    let last_seen = *settled.last().expect("events");
    assert!(last_seen >= seen_up_to);
    // What the page saw is made older than the log's resume overlap (five seconds), so a
    // correct replay sends none of it again.
    let old = last_seen;
    query(&site.state, move |c| {
        let now = chrono::Utc::now().naive_utc();
        diesel::update(live_events::table.filter(live_events::seq.lt(old)))
            .set(live_events::created_at.eq(now - chrono::Duration::seconds(120)))
            .execute(c)?;
        diesel::update(live_events::table.filter(live_events::seq.eq(old)))
            .set(live_events::created_at.eq(now - chrono::Duration::seconds(60)))
            .execute(c)
    })
    .await;

    customer_says(&site.state, &bot_id, "LIVE-B2", "Missed one").await;
    customer_says(&site.state, &bot_id, "LIVE-B3", "Missed two").await;
    log_settles(&site.state, &thread).await;
    let missed = logged_after(&site.state, &thread, last_seen).await;
    assert!(missed.len() >= 2, "{missed:?}");

    let mut stream = open(&*app, &owner, &path, Some(last_seen)).await;
    let mut got = Vec::new();
    let mut texts = String::new();
    while let Some(event) = stream.next_within(QUIET).await {
        got.push(event.seq());
        texts.push_str(&event.data);
    }
    assert_eq!(got, missed, "exactly the missed events, in order");
    let (one, two) = (
        texts.find("Missed one").expect("the first missed message"),
        texts.find("Missed two").expect("the second missed message"),
    );
    assert!(one < two);
    assert!(!texts.contains("Seen one"), "{texts}");

    // A page that opens a fresh stream (no Last-Event-ID) names its place in the address.
    let fresh = format!("{path}&after={last_seen}");
    let mut stream = open(&*app, &owner, &fresh, None).await;
    let mut again = Vec::new();
    while let Some(event) = stream.next_within(QUIET).await {
        again.push(event.seq());
    }
    assert_eq!(again, missed, "`after` resumes like Last-Event-ID");
}

#[actix_web::test]
async fn an_event_of_one_instance_reaches_a_page_on_another() {
    // SQLite runs get no Redis from the harness by default; this test brings its own, so it
    // runs on both backends (two processes sharing one SQLite file and one Redis).
    let redis = crate::common::redis_url();
    let prefix = crate::common::unique_name("wdx_live");
    let prefix = format!("{prefix}:");
    let extra = [
        ("REDIS_URL", redis.as_str()),
        ("REDIS_KEY_PREFIX", prefix.as_str()),
        ("APP_BASE_URL", "http://localhost:8080"),
    ];
    let site = Site::start_with(&extra);
    assert!(site.state.live.is_shared());
    let other = whatsdex::server::prepare(site.db.config_with(&extra), false).expect("prepare");
    assert!(other.live.is_shared());
    let app = site.app().await;
    let other_app = std::rc::Rc::new(test::init_service(whatsdex::web::app(other.clone())).await);

    let (owner, bot_id) = workspace_with_bot(
        app.clone(),
        "ana@example.com",
        "Lima Bakery",
        "447700900123",
    )
    .await;
    customer_says(&site.state, &bot_id, "LIVE-C1", "Hello").await;
    let thread = thread_of(&site.state, &bot_id).await;
    log_settles(&site.state, &thread).await;

    // The same browser (session cookie) on the other instance.
    let mut elsewhere = Browser::new(other_app.clone());
    elsewhere.cookies = owner.cookies.clone();
    let mut stream = open(
        &*other_app,
        &elsewhere,
        &format!("/inbox/events?thread={thread}"),
        None,
    )
    .await;
    // Let its Redis subscription stand (and its first catch-up from the log pass), so what
    // follows can only arrive through Redis.
    assert!(
        stream
            .next_within(Duration::from_millis(1500))
            .await
            .is_none()
    );

    customer_says(&site.state, &bot_id, "LIVE-C2", "Across instances").await;
    stream
        .until(
            "the other instance's message",
            WAIT,
            is_message_with("Across instances"),
        )
        .await;
}

#[actix_web::test]
async fn a_workspace_never_hears_another_workspace() {
    let site = Site::start();
    let app = site.app().await;
    let (owner, bot_id) = workspace_with_bot(
        app.clone(),
        "ana@example.com",
        "Lima Bakery",
        "447700900123",
    )
    .await;
    let (stranger, _) =
        workspace_with_bot(app.clone(), "bo@example.com", "Porto Books", "447700900456").await;

    let mut ours = open(&*app, &owner, "/inbox/events", None).await;
    let mut theirs = open(&*app, &stranger, "/inbox/events", None).await;
    customer_says(&site.state, &bot_id, "LIVE-D1", "Only for Lima").await;
    let (row, _) = ours
        .until("the row on our list", WAIT, |e| {
            e.event == "thread" && e.data.contains("Only for Lima")
        })
        .await;
    assert!(row.data.contains(r#"data-live="move""#), "{}", row.data);
    customer_says(&site.state, &bot_id, "LIVE-D2", "Still only for Lima").await;
    ours.until("the second message on our list", WAIT, |e| {
        e.data.contains("Still only for Lima")
    })
    .await;
    let heard = theirs.next_within(QUIET).await;
    assert_eq!(heard, None, "another workspace's event");
}

#[actix_web::test]
async fn a_foreign_or_unknown_thread_is_not_found() {
    let site = Site::start();
    let app = site.app().await;
    let (_owner, bot_id) = workspace_with_bot(
        app.clone(),
        "ana@example.com",
        "Lima Bakery",
        "447700900123",
    )
    .await;
    customer_says(&site.state, &bot_id, "LIVE-E1", "Hello").await;
    let thread = thread_of(&site.state, &bot_id).await;
    let (stranger, _) =
        workspace_with_bot(app.clone(), "bo@example.com", "Porto Books", "447700900456").await;
    for path in [
        format!("/inbox/events?thread={thread}"),
        "/inbox/events?thread=no-such-thread".to_owned(),
    ] {
        let response =
            test::call_service(&*app, request(&stranger, &path, None).to_request()).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    // Signed out: to the sign-in page, no stream.
    let response =
        test::call_service(&*app, TestRequest::get().uri("/inbox/events").to_request()).await;
    assert_ne!(response.status(), StatusCode::OK);
}
