//! The HTTP side: the actix app factory, its middleware and its routes.

mod access_log;
pub mod assets;
pub mod auth;
mod client;
pub mod csrf;
pub mod error;
pub mod form_body;
mod head;
mod health;
mod http_metrics;
pub mod layout;
mod live_events;
mod metrics_endpoint;
mod pages;
mod qr;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::{Compress, DefaultHeaders, from_fn};
use actix_web::{App, HttpMessage, HttpResponse, web};
use askama::Template;
use tracing_actix_web::{RequestId, TracingLogger};

pub use self::error::{AppError, json_error};
pub use self::layout::Layout;
pub use crate::state::AppState;

/// Content security policy: only our own origin. Pico draws its icons with `data:` SVGs.
/// Forms may also lead to Stripe's hosted pages (a checkout or portal redirect is a form
/// submission's navigation, which `form-action` governs).
fn content_security_policy(stripe_api_base: &url::Url) -> String {
    let mut stripe = "https://checkout.stripe.com https://billing.stripe.com".to_owned();
    let origin = stripe_api_base.origin().ascii_serialization();
    if origin != "https://api.stripe.com" {
        // A Stripe stand-in (tests, a mock) serves its hosted pages from its own origin.
        stripe = format!("{stripe} {origin}");
    }
    format!(
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; \
         form-action 'self' {stripe}; frame-ancestors 'none'"
    )
}

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
    let behind_tls = state.config.behind_tls();
    let csp = content_security_policy(&state.config.billing.stripe_api_base);
    App::new()
        .app_data(web::Data::new(state))
        .configure(routes)
        .app_data(web::FormConfig::default().limit(form_body::MAX_FORM_BYTES))
        .default_service(web::to(error::not_found))
        .wrap(from_fn(head::as_get))
        .wrap(from_fn(csrf::guard))
        .wrap(from_fn(form_body::boundary))
        .wrap(Compress::default())
        .wrap(security_headers(behind_tls, csp))
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
        .wrap(from_fn(http_metrics::record))
        .wrap(TracingLogger::<access_log::AccessLog>::new())
}

fn routes(cfg: &mut web::ServiceConfig) {
    use pages::*;
    cfg.route("/", web::get().to(landing::landing))
        .route("/health", web::get().to(health::liveness))
        .route("/api/health", web::get().to(health::readiness))
        .route("/static/{path:.*}", web::get().to(assets::serve))
        .route("/metrics", web::get().to(metrics_endpoint::scrape))
        // Accounts
        .route("/signup", web::get().to(sign_up::form))
        .route("/signup", web::post().to(sign_up::submit))
        .route("/login", web::get().to(sign_in::form))
        .route("/login", web::post().to(sign_in::submit))
        .route("/logout", web::post().to(sign_in::sign_out))
        .route("/password/forgot", web::get().to(passwords::forgot_form))
        .route("/password/forgot", web::post().to(passwords::forgot_submit))
        .route(
            "/password/reset/{token}",
            web::get().to(passwords::reset_form),
        )
        .route(
            "/password/reset/{token}",
            web::post().to(passwords::reset_submit),
        )
        .route(
            "/verify-email/resend",
            web::post().to(passwords::resend_verification),
        )
        .route(
            "/verify-email/{token}",
            web::get().to(passwords::verify_email),
        )
        .route("/account", web::get().to(account::show))
        .route("/account/profile", web::post().to(account::save_profile))
        .route("/account/email", web::post().to(account::change_email))
        .route(
            "/account/password",
            web::post().to(account::change_password),
        )
        .route(
            "/account/sign-out-everywhere",
            web::get().to(account::confirm_sign_out_everywhere),
        )
        .route(
            "/account/sign-out-everywhere",
            web::post().to(account::sign_out_everywhere),
        )
        .route("/account/delete", web::post().to(account::delete))
        // Workspaces
        .route("/dashboard", web::get().to(dashboard::show))
        .route("/dashboard/bots", web::get().to(dashboard::bots_panel))
        // Onboarding wizard
        .route("/onboarding", web::get().to(onboarding::resume))
        .route("/onboarding/{step}", web::get().to(onboarding::show))
        .route("/onboarding/{step}", web::post().to(onboarding::submit))
        // Templates and bot settings
        .route("/templates", web::get().to(template_picker::list))
        .route("/templates/apply", web::post().to(template_picker::apply))
        .route(
            "/templates/preview",
            web::get().to(template_picker::preview),
        )
        .route("/bots/{id}/settings", web::get().to(bot_settings::show))
        .route("/bots/{id}/settings", web::post().to(bot_settings::save))
        .route(
            "/bots/{id}/commands",
            web::post().to(bot_settings::add_command),
        )
        .route("/workspaces/new", web::get().to(workspace::new_form))
        .route("/workspaces/new", web::post().to(workspace::create))
        .route("/workspaces/switch", web::post().to(workspace::switch))
        .route("/workspace/settings", web::get().to(workspace::settings))
        .route("/workspace/settings", web::post().to(workspace::rename))
        .route("/workspace/delete", web::post().to(workspace::delete))
        .route("/workspace/audit", web::get().to(workspace::audit_log))
        .route("/workspace/leave", web::get().to(members::confirm_leave))
        .route("/workspace/leave", web::post().to(members::leave))
        .route("/workspace/members", web::get().to(members::list))
        .route("/workspace/members/invite", web::post().to(members::invite))
        .route(
            "/workspace/members/{user_id}/role",
            web::post().to(members::change_role),
        )
        .route(
            "/workspace/members/{user_id}/remove",
            web::get().to(members::confirm_remove),
        )
        .route(
            "/workspace/members/{user_id}/remove",
            web::post().to(members::remove),
        )
        .route(
            "/workspace/members/{user_id}/transfer",
            web::get().to(members::confirm_transfer),
        )
        .route(
            "/workspace/members/{user_id}/transfer",
            web::post().to(members::transfer),
        )
        .route(
            "/workspace/invitations/{id}/revoke",
            web::get().to(members::confirm_revoke),
        )
        .route(
            "/workspace/invitations/{id}/revoke",
            web::post().to(members::revoke),
        )
        .route("/invitations/{token}", web::get().to(invitations::show))
        .route(
            "/invitations/{token}/accept",
            web::post().to(invitations::accept),
        )
        // Bots
        .route("/bots", web::get().to(bots::list))
        .route("/bots", web::post().to(bots::create))
        .route("/bots/rows", web::get().to(bots::rows))
        .route("/bots/{id}/pair", web::get().to(bots::pair))
        .route("/bots/{id}/pair/code", web::post().to(bots::pair_code))
        .route("/bots/{id}/cloud", web::post().to(cloud_connect::connect))
        .route(
            "/bots/{id}/cloud/status",
            web::get().to(cloud_connect::status),
        )
        .route(
            "/bots/{id}/cloud/messages",
            web::get().to(cloud_connect::messages),
        )
        .route(
            "/bots/{id}/pair/status",
            web::get().to(bots::pair_status_fragment),
        )
        .route("/bots/{id}/rename", web::post().to(bots::rename))
        .route("/bots/{id}/unpair", web::get().to(bots::confirm_unpair))
        .route("/bots/{id}/unpair", web::post().to(bots::unpair))
        .route("/bots/{id}/delete", web::get().to(bots::confirm_delete))
        .route("/bots/{id}/delete", web::post().to(bots::delete))
        .route("/bots/{id}/templates", web::get().to(cloud_templates::show))
        .route(
            "/bots/{id}/templates/refresh",
            web::post().to(cloud_templates::refresh),
        )
        .route(
            "/bots/{id}/templates/send",
            web::post().to(cloud_templates::send),
        )
        .route(
            "/bots/{id}/templates/text",
            web::post().to(cloud_templates::send_text),
        )
        .route(
            "/bots/{id}/sandbox-phone",
            web::post().to(bots::customer_phone),
        )
        // The inbox
        .route("/inbox", web::get().to(inbox::list))
        // Before `/inbox/{id}`, which would take `events` for a thread id.
        .route("/inbox/events", web::get().to(live_events::stream))
        .route("/inbox/{id}", web::get().to(inbox::show))
        .route("/inbox/{id}/messages", web::get().to(inbox::earlier))
        .route("/inbox/{id}/reply", web::post().to(inbox::send_reply))
        .route("/inbox/{id}/{action}", web::post().to(inbox::act))
        // Media customers sent
        .route("/media/{id}", web::get().to(media::show))
        .route("/contacts", web::get().to(contacts::list))
        // Before `/contacts/{id}`, which would take `export.csv` for an id.
        .route("/contacts/export.csv", web::get().to(contacts::export))
        .route("/contacts/{id}", web::get().to(contacts::show))
        .route("/contacts/{id}/tags", web::post().to(contacts::add_tag))
        .route(
            "/contacts/{id}/tags/remove",
            web::post().to(contacts::remove_tag),
        )
        .route("/contacts/{id}/notes", web::post().to(contacts::add_note))
        .route("/contacts/{id}/opt-out", web::post().to(contacts::opt_out))
        .route(
            "/contacts/{id}/delete",
            web::get().to(contacts::confirm_delete),
        )
        .route("/contacts/{id}/delete", web::post().to(contacts::delete))
        // Plans and billing
        .route("/pricing", web::get().to(billing::pricing))
        .route("/billing", web::get().to(billing::show))
        .route("/billing/upgrade", web::get().to(billing::upgrade))
        .route("/billing/checkout", web::post().to(billing::start_checkout))
        .route("/billing/portal", web::post().to(billing::open_portal))
        .route("/webhooks/stripe", web::post().to(billing::stripe_webhook))
        .route(
            "/webhooks/whatsapp",
            web::get().to(whatsapp_webhooks::platform_handshake),
        )
        .route(
            "/webhooks/whatsapp",
            web::post().to(whatsapp_webhooks::platform_delivery),
        )
        .route(
            "/webhooks/whatsapp/{key}",
            web::get().to(whatsapp_webhooks::bot_handshake),
        )
        .route(
            "/webhooks/whatsapp/{key}",
            web::post().to(whatsapp_webhooks::bot_delivery),
        )
        // The sandbox phone (reached by link tokens, no account)
        .route("/sandbox/pair/{token}", web::get().to(sandbox::pair_form))
        .route("/sandbox/pair/{token}", web::post().to(sandbox::pair))
        .route("/sandbox/phone/{token}", web::get().to(sandbox::phone))
        .route("/sandbox/phone/{token}/chat", web::get().to(sandbox::chat))
        .route("/sandbox/phone/{token}/send", web::post().to(sandbox::send))
        .route("/analytics", web::get().to(analytics::show))
        .configure(admin_routes);
}

/// Every `/admin` route; `tests/it/admin.rs` checks that each answers 404 to non-admins.
fn admin_routes(cfg: &mut web::ServiceConfig) {
    use pages::admin;
    cfg.route("/admin", web::get().to(admin::home))
        .route("/admin/metrics", web::get().to(admin::metrics))
        .route("/admin/tenants", web::get().to(admin::tenant_list))
        .route("/admin/tenants/{id}", web::get().to(admin::tenant))
        .route(
            "/admin/tenants/{id}/suspend",
            web::post().to(admin::suspend),
        )
        .route(
            "/admin/tenants/{id}/unsuspend",
            web::post().to(admin::unsuspend),
        )
        .route(
            "/admin/tenants/{id}/plan",
            web::post().to(admin::change_plan),
        )
        .route(
            "/admin/tenants/{id}/resend-verification",
            web::post().to(admin::resend_verification),
        );
}

fn security_headers(behind_tls: bool, csp: String) -> DefaultHeaders {
    let headers = DefaultHeaders::new()
        .add((header::CONTENT_SECURITY_POLICY, csp))
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
