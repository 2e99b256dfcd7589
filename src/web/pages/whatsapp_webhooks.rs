//! Meta's webhooks for Cloud API bots: `/webhooks/whatsapp/{key}` (a business's own Meta app,
//! one URL per bot) and `/webhooks/whatsapp` (the operator's app, routed by phone number id).
//! GET answers the subscribe handshake; POST checks the signature over the raw bytes, stores
//! the body and answers at once. The bot's task processes it afterwards.

use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::bots::transport::cloud_api::webhook::{self, Stored, WebhookError};
use crate::web::AppState;
use crate::web::error::json_error;

/// Meta's handshake parameters (`hub.mode`, `hub.verify_token`, `hub.challenge`).
#[derive(Debug, Deserialize)]
pub struct Handshake {
    #[serde(rename = "hub.mode")]
    mode: Option<String>,
    #[serde(rename = "hub.verify_token")]
    verify_token: Option<String>,
    #[serde(rename = "hub.challenge")]
    challenge: Option<String>,
}

/// Meta batches up to a thousand changes in one delivery and documents deliveries of up to
/// 3 MB; actix's default limit (256 kB) would refuse the large ones, and Meta would send them
/// again and again.
const MAX_DELIVERY_BYTES: usize = 3 * 1024 * 1024;

/// The delivery's raw bytes, up to [`MAX_DELIVERY_BYTES`].
async fn raw_body(payload: web::Payload) -> Result<Bytes, HttpResponse> {
    match payload.to_bytes_limited(MAX_DELIVERY_BYTES).await {
        Ok(Ok(body)) => Ok(body),
        Ok(Err(e)) => Err(json_error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            &format!("The body could not be read: {e}"),
        )),
        Err(_) => Err(json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            "A delivery may be at most 3 MB.",
        )),
    }
}

fn signature_of(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok())
}

fn challenge_answer(challenge: Option<String>) -> HttpResponse {
    match challenge {
        Some(challenge) => HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body(challenge),
        None => json_error(
            StatusCode::FORBIDDEN,
            "verification_failed",
            "The verify token does not match.",
        ),
    }
}

/// `GET /webhooks/whatsapp/{key}`: the handshake with the bot's verify token.
pub async fn bot_handshake(
    state: web::Data<AppState>,
    key: web::Path<String>,
    query: web::Query<Handshake>,
) -> HttpResponse {
    let query = query.into_inner();
    let answer = webhook::handshake_for_bot(
        &state.db,
        &state.encryption_key,
        &key,
        query.mode.as_deref(),
        query.verify_token.as_deref(),
        query.challenge.as_deref(),
    )
    .await;
    match answer {
        Ok(challenge) => challenge_answer(challenge),
        Err(WebhookError::NotFound) => {
            json_error(StatusCode::NOT_FOUND, "not_found", "No such webhook.")
        }
        Err(e) => {
            tracing::error!(error = %e, "could not answer Meta's handshake");
            json_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "Try again.",
            )
        }
    }
}

/// `GET /webhooks/whatsapp`: the handshake with `META_VERIFY_TOKEN`.
pub async fn platform_handshake(
    state: web::Data<AppState>,
    query: web::Query<Handshake>,
) -> HttpResponse {
    let Some(app) = &state.config.meta_app else {
        return not_configured();
    };
    let query = query.into_inner();
    challenge_answer(crate::bots::transport::cloud_api::signature::handshake(
        query.mode.as_deref(),
        query.verify_token.as_deref(),
        query.challenge.as_deref(),
        app.verify_token.expose(),
    ))
}

/// `POST /webhooks/whatsapp/{key}`.
pub async fn bot_delivery(
    state: web::Data<AppState>,
    key: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let body = match raw_body(payload).await {
        Ok(body) => body,
        Err(refused) => return refused,
    };
    let stored = webhook::receive_for_bot(
        &state.db,
        &state.encryption_key,
        &key,
        &body,
        signature_of(&req),
    )
    .await;
    answer(&state, stored)
}

/// `POST /webhooks/whatsapp`.
pub async fn platform_delivery(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let Some(app) = &state.config.meta_app else {
        return not_configured();
    };
    let body = match raw_body(payload).await {
        Ok(body) => body,
        Err(refused) => return refused,
    };
    let stored = webhook::receive_for_platform(
        &state.db,
        app.app_secret.expose(),
        &body,
        signature_of(&req),
    )
    .await;
    answer(&state, stored)
}

fn not_configured() -> HttpResponse {
    json_error(
        StatusCode::NOT_FOUND,
        "not_found",
        "This server has no platform Meta app (META_APP_SECRET, META_VERIFY_TOKEN).",
    )
}

/// Acknowledge a stored delivery and wake its bots; refuse anything else.
fn answer(state: &AppState, stored: Result<Stored, WebhookError>) -> HttpResponse {
    match stored {
        Ok(stored) => {
            for bot_id in &stored.bots {
                state.bots.nudge_deliveries(bot_id);
            }
            HttpResponse::Ok().json(serde_json::json!({ "received": true }))
        }
        Err(WebhookError::NotFound) => {
            json_error(StatusCode::NOT_FOUND, "not_found", "No such webhook.")
        }
        Err(WebhookError::Signature(_)) => json_error(
            StatusCode::UNAUTHORIZED,
            "bad_signature",
            "Signature verification failed.",
        ),
        Err(WebhookError::Db(e)) => {
            // Meta delivers again on a 5xx, so nothing is lost.
            tracing::error!(error = %e, "could not store a Meta webhook delivery");
            json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "internal_error",
                "Could not store the delivery; deliver again later.",
            )
        }
    }
}
