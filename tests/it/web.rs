//! The web shell through the real app factory: pages, assets, headers, errors.

use actix_web::http::{StatusCode, header};
use actix_web::test::{self, TestRequest};

use crate::common::TestDatabase;

async fn fetch(db: &TestDatabase, request: TestRequest) -> (StatusCode, header::HeaderMap, String) {
    let app = test::init_service(whatsdex::web::app(db.prepared_state())).await;
    let response = test::call_service(&app, request.to_request()).await;
    let status = response.status();
    let headers = response.headers().clone();
    let body = test::read_body(response).await;
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

fn header_value<'a>(headers: &'a header::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[actix_web::test]
async fn landing_page_shows_the_plans_from_the_database() {
    let db = TestDatabase::new();
    let (status, headers, body) = fetch(&db, TestRequest::get().uri("/")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        header_value(&headers, "content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(body.contains("<h1>"), "{body}");
    for plan in ["Free", "Starter", "Pro", "Business"] {
        assert!(
            body.contains(&format!("<h3>{plan}</h3>")),
            "missing plan {plan}"
        );
    }
    assert!(body.contains("$49"), "Pro's price");
    assert!(
        body.contains("10,000 messages a month"),
        "Starter's quota, formatted"
    );
    assert!(body.contains(r#"href="/signup""#));
    assert!(body.contains("/static/htmx.min.js?v="));
    assert!(body.contains("/static/pico.min.css?v="));
}

#[actix_web::test]
async fn every_response_carries_the_security_headers() {
    let db = TestDatabase::new();
    for path in ["/", "/health", "/no-such-page", "/static/app.css"] {
        let (_, headers, _) = fetch(&db, TestRequest::get().uri(path)).await;
        let csp = header_value(&headers, "content-security-policy").unwrap_or_default();
        assert!(csp.contains("default-src 'self'"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(
            header_value(&headers, "x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert!(
            header_value(&headers, "referrer-policy").is_some(),
            "{path}"
        );
        let request_id = header_value(&headers, "x-request-id").unwrap_or_default();
        assert_eq!(request_id.len(), 36, "{path}: request id {request_id:?}");
        assert!(
            header_value(&headers, "strict-transport-security").is_none(),
            "plain http"
        );
    }
}

#[actix_web::test]
async fn hsts_is_sent_behind_tls() {
    let db = TestDatabase::new();
    let mut state = db.prepared_state();
    state.context.config =
        std::sync::Arc::new(db.config_with(&[("APP_BASE_URL", "https://bots.example.com")]));
    let app = test::init_service(whatsdex::web::app(state)).await;
    let response = test::call_service(&app, TestRequest::get().uri("/health").to_request()).await;
    assert!(response.headers().contains_key("strict-transport-security"));
}

#[actix_web::test]
async fn unknown_pages_get_a_styled_404() {
    let db = TestDatabase::new();
    let (status, headers, body) = fetch(&db, TestRequest::get().uri("/no/such/page")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        header_value(&headers, "content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(body.contains("Page not found"));
    assert!(body.contains(r#"href="/""#));
    assert!(body.contains("/static/app.css?v="));
}

#[actix_web::test]
async fn unknown_api_routes_answer_json() {
    let db = TestDatabase::new();
    let (status, headers, body) = fetch(&db, TestRequest::get().uri("/api/v1/nothing")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        header_value(&headers, "content-type"),
        Some("application/json")
    );
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["error"]["code"], "not_found");
}

#[actix_web::test]
async fn fingerprinted_assets_are_cached_for_good() {
    let db = TestDatabase::new();
    let url = whatsdex::web::assets::url("htmx.min.js");
    let (status, headers, body) = fetch(&db, TestRequest::get().uri(&url)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        header_value(&headers, "content-type"),
        Some("text/javascript")
    );
    assert!(
        header_value(&headers, "cache-control")
            .unwrap()
            .contains("immutable")
    );
    assert!(body.contains("htmx"));
    let etag = header_value(&headers, "etag").expect("etag").to_owned();

    let revalidate = TestRequest::get()
        .uri("/static/htmx.min.js")
        .insert_header((header::IF_NONE_MATCH, etag));
    let (status, headers, body) = fetch(&db, revalidate).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert!(body.is_empty());
    assert!(
        !header_value(&headers, "cache-control")
            .unwrap()
            .contains("immutable")
    );
}

#[actix_web::test]
async fn missing_assets_are_404() {
    let db = TestDatabase::new();
    let (status, _, _) = fetch(&db, TestRequest::get().uri("/static/nope.js")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = fetch(&db, TestRequest::get().uri("/static/../Cargo.toml")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn pages_are_compressed_when_the_client_accepts_it() {
    let db = TestDatabase::new();
    let request = TestRequest::get()
        .uri("/")
        .insert_header((header::ACCEPT_ENCODING, "gzip"));
    let app = test::init_service(whatsdex::web::app(db.prepared_state())).await;
    let response = test::call_service(&app, request.to_request()).await;
    assert_eq!(
        response.headers().get(header::CONTENT_ENCODING).unwrap(),
        "gzip"
    );
}
