//! A webhook delivery from Meta, from the request to the database: the signature checked over
//! the raw bytes, the body stored as received for every bot it concerns, and only then an
//! answer. The bots' tasks read the stored deliveries afterwards (`transport`), so Meta is
//! answered in the time of one insert and nothing acknowledged is ever lost.

use chrono::Utc;
use diesel::prelude::*;

use super::connection::{self, CloudConnection};
use super::payload;
use super::signature::{self, SignatureError};
use crate::bots::failures::{self, ErrorKind};
use crate::db::schema::webhook_deliveries;
use crate::db::{Db, DbConn, DbError, RowScope};
use crate::encryption::EncryptionKey;
use crate::ids::{BotId, new_id};

/// Why a delivery was not taken.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// No bot has this webhook URL (or the platform app is not configured).
    #[error("no such webhook")]
    NotFound,
    /// The signature is missing, malformed or wrong: refused, counted and recorded.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// Not stored: Meta is told to try again.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// The bots a stored delivery is for, to wake their tasks.
#[derive(Debug, Default)]
pub struct Stored {
    pub bots: Vec<BotId>,
}

/// `POST /webhooks/whatsapp/{key}`: a business's own Meta app calling its bot's URL.
pub async fn receive_for_bot(
    db: &Db,
    key: &EncryptionKey,
    webhook_key: &str,
    raw: &[u8],
    signature_header: Option<&str>,
) -> Result<Stored, WebhookError> {
    let open = connection::by_webhook_key(db, key, webhook_key)
        .await?
        .ok_or(WebhookError::NotFound)?;
    let connection = open.connection;
    if let Err(refused) =
        signature::verify(open.secrets.app_secret.as_bytes(), raw, signature_header)
    {
        refuse(db, Some(&connection), refused).await;
        return Err(refused.into());
    }
    store(db, vec![connection], raw).await
}

/// `POST /webhooks/whatsapp`: the operator's one Meta app, routed by each event's
/// `metadata.phone_number_id`.
pub async fn receive_for_platform(
    db: &Db,
    app_secret: &str,
    raw: &[u8],
    signature_header: Option<&str>,
) -> Result<Stored, WebhookError> {
    if let Err(refused) = signature::verify(app_secret.as_bytes(), raw, signature_header) {
        refuse(db, None, refused).await;
        return Err(refused.into());
    }
    let delivery = match payload::events(raw) {
        Ok(delivery) => delivery,
        Err(e) => {
            // Signed by Meta but nothing we read: answered, so Meta does not send it forever.
            tracing::warn!(error = %e, "a signed Meta delivery is not a WhatsApp delivery");
            return Ok(Stored::default());
        }
    };
    let mut numbers: Vec<String> = delivery
        .events
        .iter()
        .map(|event| phone_number_id_of(event).to_owned())
        .collect();
    numbers.dedup();
    let connections = connection::by_phone_number_ids(db, numbers.clone()).await?;
    for number in numbers
        .iter()
        .filter(|n| !connections.iter().any(|c| &c.phone_number_id == *n))
    {
        tracing::warn!(phone_number_id = %number, "a Meta delivery for a number no bot has");
    }
    store(db, connections, raw).await
}

fn phone_number_id_of(event: &payload::CloudEvent) -> &str {
    match event {
        payload::CloudEvent::Message(m) => &m.phone_number_id,
        payload::CloudEvent::Status(s) => &s.phone_number_id,
        payload::CloudEvent::Error(e) => &e.phone_number_id,
    }
}

/// Meta's verify handshake for a bot's own URL: the challenge to echo, or `None` for a wrong
/// token (403); `NotFound` when no bot has this URL (404, as for a delivery).
pub async fn handshake_for_bot(
    db: &Db,
    key: &EncryptionKey,
    webhook_key: &str,
    mode: Option<&str>,
    token: Option<&str>,
    challenge: Option<&str>,
) -> Result<Option<String>, WebhookError> {
    let open = connection::by_webhook_key(db, key, webhook_key)
        .await?
        .ok_or(WebhookError::NotFound)?;
    Ok(signature::handshake(
        mode,
        token,
        challenge,
        &open.secrets.verify_token,
    ))
}

/// A refused delivery: counted for `/metrics`, logged and listed for the operator, without
/// the body (it may hold anything) and without any secret.
async fn refuse(db: &Db, connection: Option<&CloudConnection>, refused: SignatureError) {
    crate::telemetry::metrics::webhook_verification_failed("meta");
    let bot_id = connection.map(|c| c.bot_id.to_string());
    tracing::warn!(
        bot_id = bot_id.as_deref().unwrap_or("-"),
        reason = refused.label(),
        "refused a Meta webhook: {refused}"
    );
    failures::record(
        db,
        ErrorKind::WebhookRejected,
        connection.map(|c| c.tenant_id.to_string()),
        bot_id,
        format!("Meta webhook refused: {refused}"),
    )
    .await;
}

/// Store the raw body once per bot, in one transaction (`run_in`'s), and note each bot's first verified
/// delivery.
async fn store(
    db: &Db,
    connections: Vec<CloudConnection>,
    raw: &[u8],
) -> Result<Stored, WebhookError> {
    if connections.is_empty() {
        return Ok(Stored::default());
    }
    let body = raw.to_vec();
    let scope = match connections.as_slice() {
        [one] => RowScope::tenant(one.tenant_id.clone()),
        _ => {
            RowScope::across_tenants("one Meta delivery can concern numbers of several workspaces")
        }
    };
    let bots = db
        .run_in(scope, move |conn| store_in(conn, &connections, &body))
        .await?;
    Ok(Stored { bots })
}

fn store_in(
    conn: &mut DbConn,
    connections: &[CloudConnection],
    body: &[u8],
) -> QueryResult<Vec<BotId>> {
    let now = Utc::now().naive_utc();
    let mut bots = Vec::with_capacity(connections.len());
    for connection in connections {
        diesel::insert_into(webhook_deliveries::table)
            .values((
                webhook_deliveries::id.eq(new_id()),
                webhook_deliveries::tenant_id.eq(&connection.tenant_id),
                webhook_deliveries::bot_id.eq(&connection.bot_id),
                webhook_deliveries::body.eq(body),
                webhook_deliveries::received_at.eq(now),
            ))
            .execute(conn)?;
        connection::mark_verified_in(conn, &connection.bot_id)?;
        bots.push(connection.bot_id.clone());
    }
    Ok(bots)
}
