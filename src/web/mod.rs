//! The HTTP side: the actix app factory, its middleware and its routes.

pub mod assets;
mod error;
mod health;
mod layout;
mod pages;


use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::{Compress, DefaultHeaders};
use actix_web::{App, HttpMessage, HttpResponse, web};
use askama::Template;
use tracing_actix_web::{RequestId, TracingLogger};

pub use self::error::{AppError, json_error};
pub use self::layout::Layout;
pub use crate::state::AppState;

/// Content security policy: only our own origin. Pico draws its icons with `data:` SVGs.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; \
     object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// The whole application, as `serve` runs it and as tests drive it.
pub fn app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let behind_tls = state.config.app_base_url.scheme() == "https";
    App::new()
        .app_data(web::Data::new(state))
        .configure(routes)
        .default_service(web::to(error::not_found))
        .wrap(Compress::default())
        .wrap(security_headers(behind_tls))
        .wrap_fn(|req, srv| {
            // Echo the request id so a user's report can be matched with our log lines.
            let request_id = req.extensions().get::<RequestId>().map(|id| id.to_string());
            let response = srv.call(req);
            async move {
                let mut response = response.await?;
                if let Some(value) = request_id.and_then(|id| HeaderValue::from_str(&id).ok()) {
                    response
                        .headers_mut()
                        .insert(HeaderName::from_static("x-request-id"), value);
                }
                Ok(response)
            }
        })
        .wrap(TracingLogger::default())
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(pages::landing))
        .route("/health", web::get().to(health::liveness))
        .route("/api/health", web::get().to(health::readiness))
        .route("/static/{path:.*}", web::get().to(assets::serve));
}

fn security_headers(behind_tls: bool) -> DefaultHeaders {
    let headers = DefaultHeaders::new()
        .add((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::REFERRER_POLICY, "strict-origin-when-cross-origin"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((
            HeaderName::from_static("permissions-policy"),
            "camera=(), microphone=(), geolocation=()",
        ));
    if behind_tls {
        headers.add((
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        ))
    } else {
        headers
    }
}

/// Render a page template as a 200 HTML response.
pub fn render(page: &impl Template) -> Result<HttpResponse, AppError> {
    let html = page.render().map_err(AppError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(html))
}
