//! A cookie-keeping client over the real app factory: what a browser does, minus the
//! rendering. Forms get the CSRF token from the page's cookie, as a real form would.

use std::collections::HashMap;
use std::rc::Rc;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::{StatusCode, header};
use actix_web::test::{self, TestRequest};

/// What came back.
#[derive(Debug, Clone)]
pub struct Page {
    pub status: StatusCode,
    pub headers: header::HeaderMap,
    pub body: String,
}

impl Page {
    /// The redirect target.
    pub fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// Every `Set-Cookie` line.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect()
    }
}

/// A browser: a cookie jar in front of the app.
pub struct Browser<S> {
    app: Rc<S>,
    pub cookies: HashMap<String, String>,
}

impl<S, B> Browser<S>
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    /// A fresh browser (no cookies).
    pub fn new(app: Rc<S>) -> Self {
        Self {
            app,
            cookies: HashMap::new(),
        }
    }

    fn with_cookies(&self, mut request: TestRequest) -> TestRequest {
        if !self.cookies.is_empty() {
            let jar = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            request = request.insert_header((header::COOKIE, jar));
        }
        request.peer_addr("203.0.113.10:40000".parse().unwrap())
    }

    /// Send a hand-built request with the browser's cookies.
    pub async fn send_request(&mut self, request: TestRequest) -> Page {
        self.send(request).await
    }

    async fn send(&mut self, request: TestRequest) -> Page {
        let response =
            test::call_service(&*self.app, self.with_cookies(request).to_request()).await;
        let status = response.status();
        let headers = response.headers().clone();
        for cookie in headers.get_all(header::SET_COOKIE) {
            let Ok(parsed) = actix_web::cookie::Cookie::parse(cookie.to_str().unwrap().to_owned())
            else {
                continue;
            };
            let expired = parsed
                .max_age()
                .is_some_and(|age| age.is_zero() || age.is_negative())
                || parsed.value().is_empty();
            if expired {
                self.cookies.remove(parsed.name());
            } else {
                self.cookies
                    .insert(parsed.name().to_owned(), parsed.value().to_owned());
            }
        }
        let body = test::read_body(response).await;
        Page {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    /// GET `path`.
    pub async fn get(&mut self, path: &str) -> Page {
        self.send(TestRequest::get().uri(path)).await
    }

    /// POST a form with the browser's CSRF token, as a page's form would (first visiting the
    /// page that carries it, if the browser has no token yet).
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        if !self.cookies.contains_key("wdx_csrf") {
            self.get("/").await;
        }
        let token = self.cookies.get("wdx_csrf").cloned().unwrap_or_default();
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", token.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all).await
    }

    /// POST exactly these fields (no CSRF token added).
    pub async fn post_raw(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let request = TestRequest::post()
            .uri(path)
            .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"))
            .set_payload(body);
        self.send(request).await
    }
}
