//! Connecting a bot to a number on Meta's Cloud API: the form's four values checked here and
//! against the Graph API (the number and token belong together, the business account id
//! works with the token), then saved sealed, and the bot restarted on the `cloud` transport.

use chrono::Utc;
use diesel::prelude::*;

use super::connection::{self, CloudConnection, NewConnection};
use super::graph::{GraphClient, GraphError};
use crate::bots::model::{self, BotStatus, TransportKind};
use crate::bots::supervisor::BotSupervisor;
use crate::context::Context;
use crate::db::schema::{bots, cloud_connections};
use crate::error::{ServiceError, ServiceResult};
use crate::tenancy::TenantScope;
use crate::tenants::audit::{self, ClientInfo};
use crate::validation::FieldErrors;

/// What the connect form sends.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct ConnectForm {
    #[serde(default)]
    pub phone_number_id: String,
    #[serde(default)]
    pub waba_id: String,
    #[serde(default)]
    pub access_token: String,
    #[serde(default)]
    pub app_secret: String,
}

/// The form's values, trimmed and checked field by field (nothing is sent to Meta before).
fn checked(form: &ConnectForm) -> Result<ConnectForm, FieldErrors> {
    let mut errors = FieldErrors::new();
    let digits = |value: &str| {
        let value = value.trim();
        (5..=20).contains(&value.len()) && value.chars().all(|c| c.is_ascii_digit())
    };
    let secret = |value: &str, min: usize| {
        let value = value.trim();
        (min..=512).contains(&value.len()) && !value.contains(char::is_whitespace)
    };
    if !digits(&form.phone_number_id) {
        errors.add(
            "phone_number_id",
            "Paste the phone number ID from WhatsApp → API Setup in Meta's dashboard: digits only, not the phone number itself.",
        );
    }
    if !digits(&form.waba_id) {
        errors.add(
            "waba_id",
            "Paste the WhatsApp Business Account ID from the same page: digits only.",
        );
    }
    if !secret(&form.access_token, 20) {
        errors.add(
            "access_token",
            "Paste a permanent access token of a system user (Business settings → System users).",
        );
    }
    if !secret(&form.app_secret, 16) {
        errors.add(
            "app_secret",
            "Paste the app secret from App settings → Basic in Meta's dashboard.",
        );
    }
    errors.into_result()?;
    Ok(ConnectForm {
        phone_number_id: form.phone_number_id.trim().to_owned(),
        waba_id: form.waba_id.trim().to_owned(),
        access_token: form.access_token.trim().to_owned(),
        app_secret: form.app_secret.trim().to_owned(),
    })
}

/// Meta's refusal as a field to fix, or a failure to try again.
fn graph_refusal(error: GraphError, field: &'static str, what: &str) -> ServiceError {
    match error {
        GraphError::TokenInvalid(_) => ServiceError::invalid(
            "access_token",
            "Meta refused this access token: it is expired, revoked or mistyped.",
        ),
        GraphError::Invalid { .. } | GraphError::NotSent(_) => ServiceError::invalid(
            field,
            format!("Meta does not know this {what} for this access token."),
        ),
        other => ServiceError::invalid(
            field,
            format!(
                "Meta's Graph API could not be reached to check it ({other}). Try again in a minute."
            ),
        ),
    }
}

/// Connect one of the scope's bots to the Cloud API number in `form` (owners and admins),
/// and restart it on that transport. Audited.
pub async fn connect(
    ctx: &Context,
    bots_runtime: &BotSupervisor,
    scope: &TenantScope,
    bot_id: &str,
    form: &ConnectForm,
    client: &ClientInfo,
) -> ServiceResult<CloudConnection> {
    let bot = model::find_to_change(ctx, scope, bot_id).await?;
    let form = checked(form).map_err(ServiceError::Invalid)?;
    let graph: &GraphClient = bots_runtime.graph();
    let number = graph
        .phone_number(&form.phone_number_id, &form.access_token)
        .await
        .map_err(|e| graph_refusal(e, "phone_number_id", "phone number ID"))?;
    graph
        .message_templates(&form.waba_id, &form.access_token)
        .await
        .map_err(|e| graph_refusal(e, "waba_id", "WhatsApp Business Account ID"))?;
    let owner_number: String = number
        .display_phone_number
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let new = NewConnection {
        phone_number_id: form.phone_number_id,
        waba_id: form.waba_id,
        access_token: form.access_token,
        app_secret: form.app_secret,
        number,
    };
    let id = bot.id.clone();
    bots_runtime.stop(&id).await;
    let key = ctx.encryption_key.clone();
    let (scope_in, client) = (scope.clone(), client.clone());
    let saved = ctx
        .db
        .transaction(
            scope.rows(),
            move |conn| -> ServiceResult<CloudConnection> {
                let taken: Option<String> = cloud_connections::table
                    .filter(cloud_connections::phone_number_id.eq(&new.phone_number_id))
                    .filter(cloud_connections::bot_id.ne(&bot.id))
                    .select(cloud_connections::bot_id)
                    .first(conn)
                    .optional()?;
                let already_connected = || {
                    ServiceError::invalid(
                        "phone_number_id",
                        "This number is already connected to another bot. Unpair that bot first.",
                    )
                };
                if taken.is_some() {
                    return Err(already_connected());
                }
                // Another workspace's bot is hidden by row-level security on PostgreSQL:
                // there the unique phone number id is what refuses it.
                let saved = match connection::save_in(conn, &key, &bot.tenant_id, &bot.id, &new) {
                    Err(diesel::result::Error::DatabaseError(
                        diesel::result::DatabaseErrorKind::UniqueViolation,
                        info,
                    )) if info
                        .constraint_name()
                        .unwrap_or(info.message())
                        .contains("phone_number_id") =>
                    {
                        return Err(already_connected());
                    }
                    other => other?,
                };
                let now = Utc::now().naive_utc();
                diesel::update(bots::table.find(&bot.id))
                    .set((
                        bots::transport.eq(TransportKind::Cloud.as_str()),
                        bots::owner_number.eq(Some(&owner_number)),
                        bots::paired_at.eq(Some(now)),
                        // Until Meta's first signed webhook arrives, the bot is not reachable.
                        bots::status.eq(BotStatus::Pairing),
                        bots::status_reason.eq(None::<String>),
                        bots::updated_at.eq(now),
                    ))
                    .execute(conn)?;
                model::audit_bot_in(
                    conn,
                    &scope_in,
                    audit::Action::BotConnectedToCloud,
                    &bot,
                    &client,
                )?;
                Ok(saved)
            },
        )
        .await;
    // Another business account has other templates.
    super::templates::forget_cached(ctx, &id).await;
    // A failed save leaves the bot as it was: run it again either way.
    bots_runtime.ensure_running(&id);
    saved
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(phone: &str, waba: &str, token: &str, secret: &str) -> ConnectForm {
        ConnectForm {
            phone_number_id: phone.into(),
            waba_id: waba.into(),
            access_token: token.into(),
            app_secret: secret.into(),
        }
    }

    #[test]
    fn each_field_is_checked_before_meta_is_asked() {
        let good = form(
            " 106540352242922 ",
            "102290129340398",
            "EAAGtestTOKENdoNotLog0123456789",
            "0123456789abcdef0123456789abcdef",
        );
        let cleaned = checked(&good).unwrap();
        assert_eq!(cleaned.phone_number_id, "106540352242922");

        let errors =
            checked(&form("+1 555 0100", "abc", "short", "has space inside x")).unwrap_err();
        for field in ["phone_number_id", "waba_id", "access_token", "app_secret"] {
            assert!(errors.get(field).is_some(), "{field} should be refused");
        }
    }
}
