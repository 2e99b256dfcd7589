//! The liveness and readiness probes, including with the database or Redis down.

use std::time::Instant;

use actix_web::http::StatusCode;
use actix_web::test;
use serde_json::Value;
use whatsdex::cache::Cache;
use whatsdex::config::DatabaseUrl;
use whatsdex::db::Db;
use whatsdex::web::{self, AppState};

use crate::common::{self, TestDatabase};

async fn get_json(state: AppState, path: &str) -> (StatusCode, Value) {
    let app = test::init_service(web::app(state)).await;
    let response = test::call_service(&app, test::TestRequest::get().uri(path).to_request()).await;
    let status = response.status();
    let body = test::read_body(response).await;
    (status, serde_json::from_slice(&body).expect("JSON body"))
}

/// A database URL nothing answers at.
fn unreachable_database(data_dir: &std::path::Path) -> DatabaseUrl {
    if common::on_postgres() {
        DatabaseUrl::Postgres("postgres://nobody@127.0.0.1:1/none".into())
    } else {
        // A path below a regular file can never be opened.
        let file = data_dir.join("not-a-dir");
        std::fs::write(&file, b"x").unwrap();
        DatabaseUrl::Sqlite(file.join("whatsdex.db"))
    }
}

/// Nothing that identifies our infrastructure may appear in a probe's answer.
fn assert_no_leaks(body: &Value, db: &TestDatabase) {
    let text = body.to_string();
    for secret in [
        "127.0.0.1",
        "localhost",
        "postgres",
        "sqlite",
        "redis://",
        "password",
    ] {
        assert!(
            !text.contains(secret),
            "health answer leaks `{secret}`: {text}"
        );
    }
    assert!(!text.contains(&db.data_dir.path().display().to_string()));
}

#[actix_web::test]
async fn liveness_answers_ok() {
    let db = TestDatabase::new();
    let (status, body) = get_json(db.prepared_state(), "/health").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, serde_json::json!({ "status": "ok" }));
}

#[actix_web::test]
async fn readiness_reports_each_dependency() {
    let db = TestDatabase::new();
    let (status, body) = get_json(db.prepared_state(), "/api/health").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], "connected");
    let expected_redis = if common::on_postgres() {
        "connected"
    } else {
        "not_configured"
    };
    assert_eq!(body["redis"], expected_redis);
    assert!(body["uptime_s"].is_u64());
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert_no_leaks(&body, &db);
}

#[actix_web::test]
async fn readiness_is_503_when_the_database_is_unreachable() {
    let db = TestDatabase::new();
    let mut state = db.prepared_state();
    state.context.db = Db::connect_lazily(&unreachable_database(db.data_dir.path()), 2);
    let started = Instant::now();
    let (status, body) = get_json(state, "/api/health").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["database"], "unavailable");
    assert!(
        started.elapsed().as_secs() < 10,
        "the probe must give up quickly"
    );
    assert_no_leaks(&body, &db);
}

#[actix_web::test]
async fn readiness_is_503_after_the_database_goes_away() {
    if !common::on_postgres() {
        eprintln!("skipped: dropping a live database is a PostgreSQL scenario");
        return;
    }
    let mut db = TestDatabase::new();
    let state = db.prepared_state();
    let (status, _) = get_json(state.clone(), "/api/health").await;
    assert_eq!(status, StatusCode::OK);
    db.drop_now();
    let (status, body) = get_json(state, "/api/health").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["database"], "unavailable");
}

#[actix_web::test]
async fn readiness_is_503_when_redis_is_down() {
    let db = TestDatabase::new();
    let mut state = db.prepared_state();
    // Port 1 on loopback: connection refused, as when Redis has stopped.
    state.context.cache = Cache::redis("redis://:sekrit@127.0.0.1:1", "t:").unwrap();
    let (status, body) = get_json(state, "/api/health").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["database"], "connected");
    assert_eq!(body["redis"], "unavailable");
    assert!(!body.to_string().contains("sekrit"));
}

#[actix_web::test]
async fn probes_are_never_cached() {
    let db = TestDatabase::new();
    let app = test::init_service(web::app(db.prepared_state())).await;
    for path in ["/health", "/api/health"] {
        let response =
            test::call_service(&app, test::TestRequest::get().uri(path).to_request()).await;
        assert_eq!(
            response
                .headers()
                .get("cache-control")
                .map(|v| v.to_str().unwrap()),
            Some("no-store"),
            "{path}"
        );
    }
}

#[actix_web::test]
async fn probes_answer_head_requests_too() {
    let db = TestDatabase::new();
    let app = test::init_service(web::app(db.prepared_state())).await;
    for path in ["/health", "/api/health"] {
        let response = test::call_service(
            &app,
            test::TestRequest::default()
                .method(actix_web::http::Method::HEAD)
                .uri(path)
                .to_request(),
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK, "HEAD {path}");
    }
}
