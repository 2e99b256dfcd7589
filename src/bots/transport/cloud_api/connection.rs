//! A bot's link to Meta's Cloud API (`cloud_connections`): the business number, and the access
//! token, app secret and verify token sealed with `ENCRYPTION_KEY`. Each secret is bound to
//! its bot and to what it is, so a sealed value copied to another row or column fails to open.

use std::fmt;

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;

use super::graph::PhoneNumber;
use crate::db::schema::cloud_connections;
use crate::db::{Db, DbConn, DbError, RowScope};
use crate::encryption::EncryptionKey;
use crate::ids::{BotId, TenantId, new_token};

/// What may be shown of a connection: no secret.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = cloud_connections)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct CloudConnection {
    pub bot_id: BotId,
    pub tenant_id: TenantId,
    pub phone_number_id: String,
    pub waba_id: String,
    /// The access token's last characters, to recognise it.
    pub token_hint: String,
    /// The random part of the bot's own webhook URL.
    pub webhook_key: String,
    pub verified_name: String,
    pub display_phone_number: String,
    pub quality_rating: Option<String>,
    /// When the first webhook with a valid signature arrived.
    pub verified_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

impl CloudConnection {
    /// The path of the bot's own webhook, `/webhooks/whatsapp/{key}`.
    pub fn webhook_path(&self) -> String {
        format!("/webhooks/whatsapp/{}", self.webhook_key)
    }
}

/// The opened secrets of a connection. `Debug` shows none of them.
#[derive(Clone, PartialEq, Eq)]
pub struct CloudSecrets {
    pub access_token: String,
    pub app_secret: String,
    pub verify_token: String,
}

impl fmt::Debug for CloudSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CloudSecrets(…)")
    }
}

/// A connection with its secrets open.
#[derive(Debug, Clone)]
pub struct OpenConnection {
    pub connection: CloudConnection,
    pub secrets: CloudSecrets,
}

/// What a business typed into the connect form, checked against the Graph API.
#[derive(Debug, Clone)]
pub struct NewConnection {
    pub phone_number_id: String,
    pub waba_id: String,
    pub access_token: String,
    pub app_secret: String,
    /// What the Graph API said about the number.
    pub number: PhoneNumber,
}

/// A sealed secret could not be opened (another `ENCRYPTION_KEY`, or a tampered row).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the Cloud API secrets of this bot cannot be opened with this ENCRYPTION_KEY")]
pub struct SecretsUnreadable;

type SealedRow = (CloudConnection, Vec<u8>, Vec<u8>, Vec<u8>);

fn context(bot_id: &str, what: &str) -> Vec<u8> {
    format!("cloud_connections:{bot_id}:{what}").into_bytes()
}

fn open_one(
    key: &EncryptionKey,
    bot_id: &str,
    what: &str,
    sealed: &[u8],
) -> Result<String, SecretsUnreadable> {
    let plain = key
        .open(sealed, &context(bot_id, what))
        .map_err(|_| SecretsUnreadable)?;
    String::from_utf8(plain).map_err(|_| SecretsUnreadable)
}

fn open_row(key: &EncryptionKey, row: SealedRow) -> Result<OpenConnection, SecretsUnreadable> {
    let (connection, token, app_secret, verify_token) = row;
    let bot_id = connection.bot_id.to_string();
    let secrets = CloudSecrets {
        access_token: open_one(key, &bot_id, "access_token", &token)?,
        app_secret: open_one(key, &bot_id, "app_secret", &app_secret)?,
        verify_token: open_one(key, &bot_id, "verify_token", &verify_token)?,
    };
    Ok(OpenConnection {
        connection,
        secrets,
    })
}

/// The last four characters of a token, the only part a page shows.
pub fn hint_of(token: &str) -> String {
    let chars: Vec<char> = token.chars().collect();
    let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
    format!("…{tail}")
}

/// The bot's connection, without secrets, in the caller's transaction.
pub fn find_in(conn: &mut DbConn, bot_id: &str) -> QueryResult<Option<CloudConnection>> {
    cloud_connections::table
        .find(bot_id)
        .select(CloudConnection::as_select())
        .first(conn)
        .optional()
}

/// Save (or replace) the bot's connection in the caller's transaction. A reconnect keeps the
/// webhook URL and verify token Meta already has, and waits for a new verified webhook.
pub fn save_in(
    conn: &mut DbConn,
    key: &EncryptionKey,
    tenant_id: &str,
    bot_id: &str,
    new: &NewConnection,
) -> QueryResult<CloudConnection> {
    let now = Utc::now().naive_utc();
    let existing: Option<(String, Vec<u8>)> = cloud_connections::table
        .find(bot_id)
        .select((
            cloud_connections::webhook_key,
            cloud_connections::verify_token,
        ))
        .first(conn)
        .optional()?;
    let (webhook_key, verify_token) = match existing {
        Some(kept) => kept,
        None => (
            new_token(),
            key.seal(new_token().as_bytes(), &context(bot_id, "verify_token")),
        ),
    };
    let seal = |what: &str, value: &str| key.seal(value.as_bytes(), &context(bot_id, what));
    diesel::delete(cloud_connections::table.find(bot_id)).execute(conn)?;
    diesel::insert_into(cloud_connections::table)
        .values((
            cloud_connections::bot_id.eq(bot_id),
            cloud_connections::tenant_id.eq(tenant_id),
            cloud_connections::phone_number_id.eq(&new.phone_number_id),
            cloud_connections::waba_id.eq(&new.waba_id),
            cloud_connections::access_token.eq(seal("access_token", &new.access_token)),
            cloud_connections::app_secret.eq(seal("app_secret", &new.app_secret)),
            cloud_connections::verify_token.eq(verify_token),
            cloud_connections::token_hint.eq(hint_of(&new.access_token)),
            cloud_connections::webhook_key.eq(webhook_key),
            cloud_connections::verified_name.eq(&new.number.verified_name),
            cloud_connections::display_phone_number.eq(&new.number.display_phone_number),
            cloud_connections::quality_rating.eq(&new.number.quality_rating),
            cloud_connections::created_at.eq(now),
            cloud_connections::updated_at.eq(now),
        ))
        .execute(conn)?;
    find_in(conn, bot_id)?.ok_or(diesel::result::Error::NotFound)
}

/// The verify token to paste into Meta's dashboard, opened for the bot's page.
pub fn verify_token_in(
    conn: &mut DbConn,
    key: &EncryptionKey,
    bot_id: &str,
) -> QueryResult<Option<Result<String, SecretsUnreadable>>> {
    let sealed: Option<Vec<u8>> = cloud_connections::table
        .find(bot_id)
        .select(cloud_connections::verify_token)
        .first(conn)
        .optional()?;
    Ok(sealed.map(|sealed| open_one(key, bot_id, "verify_token", &sealed)))
}

/// The connection and its three sealed secrets, as `SealedRow` reads them.
macro_rules! sealed_columns {
    () => {
        (
            CloudConnection::as_select(),
            cloud_connections::access_token,
            cloud_connections::app_secret,
            cloud_connections::verify_token,
        )
    };
}

/// The connection of the bot the runtime runs, secrets open; `None` when the bot has none.
pub async fn for_runtime(
    db: &Db,
    key: &EncryptionKey,
    bot_id: &str,
) -> Result<Option<Result<OpenConnection, SecretsUnreadable>>, DbError> {
    let id = bot_id.to_owned();
    let row: Option<SealedRow> = db
        .run_in(
            RowScope::across_tenants("the runtime loads the Cloud API link of the bot it runs"),
            move |conn| {
                cloud_connections::table
                    .find(&id)
                    .select(sealed_columns!())
                    .first(conn)
                    .optional()
            },
        )
        .await?;
    Ok(row.map(|row| open_row(key, row)))
}

/// The connection whose webhook URL carries `webhook_key`, secrets open.
pub async fn by_webhook_key(
    db: &Db,
    key: &EncryptionKey,
    webhook_key: &str,
) -> Result<Option<OpenConnection>, DbError> {
    let webhook_key = webhook_key.to_owned();
    let row: Option<SealedRow> = db
        .run_in(
            RowScope::across_tenants(
                "a webhook names its bot by the key in its URL, not a workspace",
            ),
            move |conn| {
                cloud_connections::table
                    .filter(cloud_connections::webhook_key.eq(&webhook_key))
                    .select(sealed_columns!())
                    .first(conn)
                    .optional()
            },
        )
        .await?;
    // Unreadable secrets verify nothing: the webhook is answered as if the key were unknown.
    Ok(row.and_then(|row| {
        let bot_id = row.0.bot_id.clone();
        open_row(key, row)
            .inspect_err(|e| tracing::error!(bot_id = %bot_id, error = %e, "cloud connection"))
            .ok()
    }))
}

/// The connections of the given business numbers (the platform webhook routes by them).
pub async fn by_phone_number_ids(
    db: &Db,
    phone_number_ids: Vec<String>,
) -> Result<Vec<CloudConnection>, DbError> {
    db.run_in(
        RowScope::across_tenants("the platform webhook routes by Meta's phone number id"),
        move |conn| {
            cloud_connections::table
                .filter(cloud_connections::phone_number_id.eq_any(&phone_number_ids))
                .select(CloudConnection::as_select())
                .load(conn)
        },
    )
    .await
}

/// Note the first webhook with a valid signature (the page turns to "Connected"); true the
/// first time.
pub fn mark_verified_in(conn: &mut DbConn, bot_id: &str) -> QueryResult<bool> {
    let now = Utc::now().naive_utc();
    diesel::update(
        cloud_connections::table
            .find(bot_id)
            .filter(cloud_connections::verified_at.is_null()),
    )
    .set(cloud_connections::verified_at.eq(Some(now)))
    .execute(conn)
    .map(|changed| changed > 0)
}

/// Forget the bot's connection and its secrets (the bot is unpaired), in the caller's
/// transaction.
pub fn forget_in(conn: &mut DbConn, bot_id: &str) -> QueryResult<()> {
    diesel::delete(cloud_connections::table.find(bot_id))
        .execute(conn)
        .map(drop)
}
