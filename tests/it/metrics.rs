//! `/metrics`: off without a token, refused without the right one, Prometheus text with it,
//! and its counters (and the daily roll-ups) move when messages flow through the pipeline.

use actix_web::http::{StatusCode, header};
use actix_web::test::TestRequest;
use chrono::Utc;
use diesel::prelude::*;
use whatsdex::bots::transport::InboundMessage;
use whatsdex::bots::{outbox, pipeline};
use whatsdex::db::schema::{bots, message_rollups, tenants};

use crate::common::browser::Browser;
use crate::common::{Site, TestDatabase};

const TOKEN: &str = "metrics-token-for-tests-0123456789";

fn site_with_token() -> Site {
    whatsdex::telemetry::init(whatsdex::config::LogFormat::Pretty, "warn");
    let db = TestDatabase::new();
    let smtp = crate::common::smtp::FakeSmtp::start();
    let config = db.config_with(&[("METRICS_TOKEN", TOKEN), ("SMTP_URL", &smtp.url())]);
    let state = whatsdex::server::prepare(config, true).expect("prepare");
    Site { db, smtp, state }
}

/// The value of the sample `name` with the labels `labels`, in a parsed scrape.
fn sample(scrape: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name)
        .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            _ => 0.0,
        })
        .sum()
}

/// The value on the line starting `name ` (a sample without labels), from the raw text.
fn raw_value(body: &str, name: &str) -> f64 {
    body.lines()
        .find_map(|line| line.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {body}"))
}

async fn scrape<S, B>(browser: &mut Browser<S>) -> (prometheus_parse::Scrape, String)
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let page = browser
        .send_request(
            TestRequest::get()
                .uri("/metrics")
                .insert_header((header::AUTHORIZATION, format!("Bearer {TOKEN}"))),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/openmetrics-text")),
    );
    let lines = page
        .body
        .lines()
        .map(|l| Ok::<_, std::io::Error>(l.to_owned()));
    let parsed = prometheus_parse::Scrape::parse(lines).expect("Prometheus text");
    assert!(!parsed.samples.is_empty());
    (parsed, page.body)
}

#[actix_web::test]
async fn metrics_are_off_without_a_token() {
    let site = Site::start();
    let mut browser = Browser::new(site.app().await);
    let page = browser
        .send_request(
            TestRequest::get()
                .uri("/metrics")
                .insert_header((header::AUTHORIZATION, "Bearer anything-at-all-here")),
        )
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn metrics_need_the_token_and_count_messages_as_they_flow() {
    let site = site_with_token();
    let mut browser = Browser::new(site.app().await);
    for auth in [None, Some("Bearer wrong-token-of-some-length"), Some(TOKEN)] {
        let mut request = TestRequest::get().uri("/metrics");
        if let Some(value) = auth {
            request = request.insert_header((header::AUTHORIZATION, value));
        }
        let page = browser.send_request(request).await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{auth:?}");
        assert!(page.headers.contains_key(header::WWW_AUTHENTICATE));
    }

    // A workspace with a paired bot, made directly in the database.
    let now = Utc::now().naive_utc();
    let bot = site
        .query(move |c| {
            diesel::insert_into(tenants::table)
                .values((
                    tenants::id.eq("t1"),
                    tenants::name.eq("Metrics Bakery"),
                    tenants::created_at.eq(now),
                    tenants::updated_at.eq(now),
                ))
                .execute(c)?;
            diesel::insert_into(bots::table)
                .values((
                    bots::id.eq("b1"),
                    bots::tenant_id.eq("t1"),
                    bots::name.eq("Bakery bot"),
                    bots::transport.eq("sandbox"),
                    bots::status.eq("connected"),
                    bots::owner_number.eq("447700900123"),
                    bots::created_at.eq(now),
                    bots::updated_at.eq(now),
                ))
                .execute(c)?;
            whatsdex::bots::model::find_in(c, "b1")
        })
        .await
        .expect("the bot");

    let (before, before_text) = scrape(&mut browser).await;
    let inbound_before = sample(&before, "whatsdex_messages_total", &[("direction", "in")]);
    let outbound_before = sample(&before, "whatsdex_messages_total", &[("direction", "out")]);
    let pipeline_before = raw_value(&before_text, "whatsdex_pipeline_duration_seconds_count");
    assert_eq!(
        sample(&before, "whatsdex_bots", &[("status", "connected")]),
        1.0
    );
    assert!(sample(&before, "whatsdex_db_pool_max_connections", &[]) >= 1.0);
    assert_eq!(sample(&before, "whatsdex_build_info", &[]), 1.0);

    // Two messages in (one a command the bot answers), the reply out.
    for (id, text) in [("m1", "hello"), ("m2", "ping")] {
        pipeline::handle_inbound(
            site.state.bots.engine(),
            &bot,
            InboundMessage {
                extras: Default::default(),
                id: id.into(),
                from: "351912345678".into(),
                from_name: None,
                text: text.into(),
            },
        )
        .await
        .expect("pipeline");
    }
    let due = outbox::due(&site.state.db, "t1", "b1", 10).await.unwrap();
    assert_eq!(due.len(), 1, "one reply queued");
    outbox::mark_sent(&site.state.db, &site.state.live, &due[0], "wamid.out.1")
        .await
        .unwrap();

    let (after, after_text) = scrape(&mut browser).await;
    // Other tests in this process may add messages too: at least ours moved the counters.
    assert!(
        sample(&after, "whatsdex_messages_total", &[("direction", "in")]) >= inbound_before + 2.0
    );
    assert!(
        sample(&after, "whatsdex_messages_total", &[("direction", "out")]) >= outbound_before + 1.0
    );
    assert!(
        raw_value(&after_text, "whatsdex_pipeline_duration_seconds_count") >= pipeline_before + 2.0
    );
    assert!(
        sample(
            &after,
            "whatsdex_http_requests_total",
            &[("route", "/metrics"), ("status", "200")]
        ) >= 1.0
    );
    assert!(
        sample(
            &after,
            "whatsdex_http_requests_total",
            &[("route", "/metrics"), ("status", "401")]
        ) >= 2.0
    );

    // And in this test's own database, the roll-ups counted exactly these messages.
    let rollup: (i64, i64) = site
        .query(|c| {
            message_rollups::table
                .filter(message_rollups::bot_id.eq("b1"))
                .select((message_rollups::messages_in, message_rollups::messages_out))
                .first(c)
        })
        .await;
    assert_eq!(rollup, (2, 1));
    let analytics = site
        .query(|c| whatsdex::analytics::load_in(c, "t1", Utc::now().date_naive()))
        .await;
    assert_eq!(analytics.top_commands, vec![("ping".to_owned(), 1)]);
    assert_eq!(analytics.replies, 1);
    assert!(analytics.median_reply_ms.is_some());
    assert_eq!(analytics.bots[0].total, 3);
}
