//! Single-use links sent by email: verify an address, reset a password.

use chrono::{Duration, Utc};
use diesel::prelude::*;

use super::{hash_password, password, sessions, users};
use crate::context::Context;
use crate::db::schema::{email_tokens, users as users_table};
use crate::db::{DbConn, RowScope};
use crate::error::{ServiceError, ServiceResult};
use crate::ids::{new_token, token_hash};
use crate::mail::Email;
use crate::tenants::audit::{self, Action, ClientInfo};
use crate::validation::normalize_email;

/// What a link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    VerifyEmail,
    ResetPassword,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::ResetPassword => "reset_password",
        }
    }

    fn valid_for(self) -> Duration {
        match self {
            Self::VerifyEmail => Duration::hours(48),
            Self::ResetPassword => Duration::hours(1),
        }
    }
}

/// The message for a link that is unknown, expired or already used.
pub const LINK_UNUSABLE: &str = "This link has expired or was already used. Ask for a new one.";

fn issue(conn: &mut DbConn, user_id: &str, email: &str, purpose: Purpose) -> QueryResult<String> {
    let token = new_token();
    let now = Utc::now().naive_utc();
    diesel::insert_into(email_tokens::table)
        .values((
            email_tokens::id.eq(token_hash(&token)),
            email_tokens::user_id.eq(user_id),
            email_tokens::purpose.eq(purpose.as_str()),
            email_tokens::email.eq(email),
            email_tokens::created_at.eq(now),
            email_tokens::expires_at.eq(now + purpose.valid_for()),
        ))
        .execute(conn)?;
    Ok(token)
}

/// Mark a usable token used; returns (user id, email) or `LINK_UNUSABLE`.
fn redeem(conn: &mut DbConn, token: &str, purpose: Purpose) -> ServiceResult<(String, String)> {
    let now = Utc::now().naive_utc();
    let id = token_hash(token);
    let found: Option<(String, String)> = email_tokens::table
        .find(&id)
        .filter(email_tokens::purpose.eq(purpose.as_str()))
        .filter(email_tokens::used_at.is_null())
        .filter(email_tokens::expires_at.gt(now))
        .select((email_tokens::user_id, email_tokens::email))
        .first(conn)
        .optional()?;
    let found = found.ok_or_else(|| ServiceError::invalid("token", LINK_UNUSABLE))?;
    // The `used_at IS NULL` guard makes two racing redemptions of one link yield one success.
    let claimed = diesel::update(
        email_tokens::table
            .find(&id)
            .filter(email_tokens::used_at.is_null()),
    )
    .set(email_tokens::used_at.eq(now))
    .execute(conn)?;
    if claimed == 0 {
        return Err(ServiceError::invalid("token", LINK_UNUSABLE));
    }
    Ok(found)
}

/// Email a link that confirms `email` for `user_id` (a new account, or a changed address:
/// the account's address becomes `email` only when the link is used).
pub async fn send_verification(ctx: &Context, user_id: &str, email: &str) -> ServiceResult<()> {
    let (user_id, email_in) = (user_id.to_owned(), email.to_owned());
    let token = ctx
        .db
        .run(move |conn| issue(conn, &user_id, &email_in, Purpose::VerifyEmail))
        .await?;
    let link = ctx.link(&format!("/verify-email/{token}"));
    ctx.mailer.send_later(Email {
        to: email.to_owned(),
        subject: "Confirm your email address for WhatsDeX".into(),
        body: format!(
            "Confirm that this address is yours: {link}\n\nThe link works once and expires in 48 hours. \
             If you did not ask for this, ignore this email."
        ),
    });
    Ok(())
}

/// Use a verification link: the address is confirmed (and becomes the account's address).
pub async fn verify_email(ctx: &Context, token: &str, client: &ClientInfo) -> ServiceResult<()> {
    let (token, client) = (token.to_owned(), client.clone());
    ctx.db
        .transaction(
            RowScope::across_tenants(
                "an emailed link's token finds its account before any workspace",
            ),
            move |conn| -> ServiceResult<()> {
                let (user_id, email) = redeem(conn, &token, Purpose::VerifyEmail)?;
                let previous: String = users_table::table
                    .find(&user_id)
                    .select(users_table::email)
                    .first(conn)?;
                if previous != email && users::find_by_email(conn, &email)?.is_some() {
                    return Err(ServiceError::invalid(
                        "token",
                        "Another account now uses that address.",
                    ));
                }
                let now = Utc::now().naive_utc();
                diesel::update(users_table::table.find(&user_id))
                    .set((
                        users_table::email.eq(&email),
                        users_table::email_verified_at.eq(Some(now)),
                        users_table::updated_at.eq(now),
                    ))
                    .execute(conn)?;
                let action = if previous == email {
                    Action::EmailVerified
                } else {
                    Action::EmailChanged
                };
                audit::record_in_workspaces_of(conn, action, &user_id, &email, &client)?;
                Ok(())
            },
        )
        .await
}

/// Email a password-reset link if the address has an account. Says nothing either way, so
/// the form cannot be used to find out who has an account.
pub async fn request_password_reset(ctx: &Context, raw_email: &str) -> ServiceResult<()> {
    let email = normalize_email(raw_email).map_err(|m| ServiceError::invalid("email", m))?;
    let lookup = email.clone();
    let token = ctx
        .db
        .run(move |conn| match users::find_by_email(conn, &lookup)? {
            Some(user) => issue(conn, &user.id, &user.email, Purpose::ResetPassword).map(Some),
            None => Ok(None),
        })
        .await?;
    match token {
        Some(token) => {
            let link = ctx.link(&format!("/password/reset/{token}"));
            ctx.mailer.send_later(Email {
                to: email,
                subject: "Reset your WhatsDeX password".into(),
                body: format!(
                    "Choose a new password: {link}\n\nThe link works once and expires in 1 hour. \
                     If you did not ask for this, ignore this email: your password stays as it is."
                ),
            });
        }
        None => tracing::info!("password reset asked for an address with no account"),
    }
    Ok(())
}

/// Make every unused reset link of `user_id` unusable, within the caller's transaction.
pub fn withdraw_reset_links_in(conn: &mut DbConn, user_id: &str) -> QueryResult<()> {
    diesel::update(
        email_tokens::table
            .filter(email_tokens::user_id.eq(user_id))
            .filter(email_tokens::purpose.eq(Purpose::ResetPassword.as_str()))
            .filter(email_tokens::used_at.is_null()),
    )
    .set(email_tokens::used_at.eq(Some(Utc::now().naive_utc())))
    .execute(conn)
    .map(drop)
}

/// Whether a reset link can still be used (for showing the form).
pub async fn reset_link_is_usable(ctx: &Context, token: &str) -> ServiceResult<bool> {
    let id = token_hash(token);
    let now = Utc::now().naive_utc();
    let count: i64 = ctx
        .db
        .run(move |conn| {
            email_tokens::table
                .find(id)
                .filter(email_tokens::purpose.eq(Purpose::ResetPassword.as_str()))
                .filter(email_tokens::used_at.is_null())
                .filter(email_tokens::expires_at.gt(now))
                .count()
                .get_result(conn)
        })
        .await?;
    Ok(count > 0)
}

/// Use a reset link: set the new password and end every session of the account.
pub async fn reset_password(
    ctx: &Context,
    token: &str,
    new_password: &str,
    client: &ClientInfo,
) -> ServiceResult<()> {
    if !reset_link_is_usable(ctx, token).await? {
        return Err(ServiceError::invalid("token", LINK_UNUSABLE));
    }
    if let Some(why) = password::weakness(new_password, &[]) {
        return Err(ServiceError::invalid("password", why));
    }
    let hash = hash_password(new_password.to_owned()).await?;
    let (token, client) = (token.to_owned(), client.clone());
    let user_id = ctx
        .db
        .transaction(
            RowScope::across_tenants("a reset link's token finds its account before any workspace"),
            move |conn| -> ServiceResult<String> {
                let (user_id, _) = redeem(conn, &token, Purpose::ResetPassword)?;
                users::set_password_hash_in(conn, &user_id, &hash)?;
                audit::record_in_workspaces_of(conn, Action::PasswordReset, &user_id, "", &client)?;
                Ok(user_id)
            },
        )
        .await?;
    sessions::end_all_for_user(ctx, &user_id, None).await?;
    Ok(())
}
