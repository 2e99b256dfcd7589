//! Sign-in: throttled, with one message for a wrong email or a wrong password.

use super::users::{self, User};
use super::{password_matches, sessions, throttle};
use crate::context::Context;
use crate::db::RowScope;
use crate::error::{ServiceError, ServiceResult};
use crate::tenants::audit::{self, Action, ClientInfo};
use crate::tenants::members;
use crate::tenants::suspension;
use crate::validation::normalize_email;

/// The one message for any wrong credential, so the form never tells who has an account.
pub const WRONG_CREDENTIALS: &str = "That email and password do not match an account.";

/// A successful sign-in: the new session's cookie token and who it is.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub token: String,
    pub session: sessions::Session,
    /// A platform admin (who starts in the admin area).
    pub is_platform_admin: bool,
}

/// Check the credentials and start a session in the person's first workspace.
pub async fn sign_in(
    ctx: &Context,
    raw_email: &str,
    password: &str,
    remember: bool,
    client: &ClientInfo,
) -> ServiceResult<SignedIn> {
    let email = normalize_email(raw_email).map_err(|m| ServiceError::invalid("email", m))?;
    throttle::before_attempt(&ctx.cache, client.ip.as_deref(), &email).await?;

    let lookup = email.clone();
    let user: Option<User> = ctx
        .db
        .run(move |conn| users::find_by_email(conn, &lookup))
        .await?;
    let stored_hash = user.as_ref().map(|u| u.password_hash.clone());
    let matches = password_matches(password.to_owned(), stored_hash).await;
    let user = match user {
        Some(user) if matches => user,
        known => {
            // The failure was counted before the check (`before_attempt`).
            if let Some(user) = known {
                record_failure(ctx, &user, client).await?;
            }
            return Err(ServiceError::invalid("form", WRONG_CREDENTIALS));
        }
    };

    throttle::after_success(&ctx.cache, &email).await;
    let workspaces = members::workspaces_of(ctx, &user.id).await?;
    let ids = workspaces.iter().map(|w| w.tenant_id.clone()).collect();
    let suspended = suspension::suspended_among(&ctx.db, ids).await?;
    let open = workspaces
        .iter()
        .find(|w| !suspended.contains(&w.tenant_id));
    if open.is_none() && !workspaces.is_empty() && !user.is_platform_admin {
        // Its own field: the sign-in page adds whom to contact.
        return Err(ServiceError::invalid(
            "suspended",
            suspension::SUSPENDED_SIGN_IN,
        ));
    }
    let tenant_id = open.map(|w| w.tenant_id.clone());
    let (token, session) =
        sessions::start(ctx, &user.id, tenant_id.clone(), remember, client).await?;
    let (user_id, client) = (user.id.clone(), client.clone());
    ctx.db
        .transaction(
            RowScope::across_tenants("sign-in finds the account by email before any workspace"),
            move |conn| -> ServiceResult<()> {
                Ok(audit::record(
                    conn,
                    Action::SignedIn,
                    tenant_id.as_deref(),
                    Some(&user_id),
                    "",
                    &client,
                )?)
            },
        )
        .await?;
    Ok(SignedIn {
        token,
        session,
        is_platform_admin: user.is_platform_admin,
    })
}

/// Tell each workspace owner about a failed attempt on their member's account.
async fn record_failure(ctx: &Context, user: &User, client: &ClientInfo) -> ServiceResult<()> {
    let (user_id, client) = (user.id.clone(), client.clone());
    ctx.db
        .transaction(
            RowScope::across_tenants("a failed sign-in is logged in every workspace of the person"),
            move |conn| -> ServiceResult<()> {
                Ok(audit::record_in_workspaces_of(
                    conn,
                    Action::SignInFailed,
                    &user_id,
                    "wrong password",
                    &client,
                )?)
            },
        )
        .await
}
