//! What the pairing page shows of a bot's Cloud API connection: the number as Meta knows it
//! and the two values the business pastes into Meta's dashboard (webhook URL, verify token).
//! No other secret leaves the database here.

use super::model;
use super::transport::cloud_api::connection::{self, CloudConnection};
use crate::context::Context;
use crate::error::{ServiceError, ServiceResult};
use crate::tenancy::TenantScope;

/// A bot's connection and its verify token, opened for its owners and admins.
#[derive(Debug, Clone)]
pub struct CloudSetup {
    pub connection: CloudConnection,
    /// What Meta's dashboard asks for under "Verify token" (only ever shown to the business).
    pub verify_token: String,
}

/// The connection of one of the scope's bots (owners and admins), `None` when it has none.
pub async fn for_bot(
    ctx: &Context,
    scope: &TenantScope,
    bot_id: &str,
) -> ServiceResult<Option<CloudSetup>> {
    let bot = model::find_to_change(ctx, scope, bot_id).await?;
    let key = ctx.encryption_key.clone();
    let found = ctx
        .db
        .run_in(scope.rows(), move |conn| {
            let Some(connection) = connection::find_in(conn, &bot.id)? else {
                return Ok(None);
            };
            let token = connection::verify_token_in(conn, &key, &bot.id)?;
            Ok(token.map(|token| (connection, token)))
        })
        .await?;
    match found {
        None => Ok(None),
        Some((connection, Ok(verify_token))) => Ok(Some(CloudSetup {
            connection,
            verify_token,
        })),
        Some((_, Err(unreadable))) => Err(ServiceError::internal(unreadable)),
    }
}

/// The connection of one of the scope's bots without any secret (owners and admins); `None`
/// when it has none. Polled by the page until Meta's first signed webhook arrives.
pub async fn connection_of(
    ctx: &Context,
    scope: &TenantScope,
    bot_id: &str,
) -> ServiceResult<Option<CloudConnection>> {
    let bot = model::find_to_change(ctx, scope, bot_id).await?;
    Ok(ctx
        .db
        .run_in(scope.rows(), move |conn| connection::find_in(conn, &bot.id))
        .await?)
}
