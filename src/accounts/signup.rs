//! Sign-up: a person, their workspace and their ownership of it, in one transaction.
//! With an invitation token, the person joins the inviting workspace instead.

use chrono::Utc;

use super::users::{self, NewUser};
use super::{email_links, hash_password, password};
use crate::context::Context;
use crate::db::RowScope;
use crate::error::{ServiceError, ServiceResult};
use crate::ids::{TenantId, UserId};
use crate::tenants::audit::{self, Action, ClientInfo};
use crate::tenants::{invitations, workspaces};
use crate::validation::{FieldErrors, normalize_email, normalize_name};

/// What the sign-up form sends.
#[derive(Debug, Clone, Default)]
pub struct SignUp {
    pub name: String,
    pub email: String,
    pub password: String,
    pub workspace_name: String,
    /// An invitation being accepted on the way; no workspace is created then.
    pub invitation: Option<String>,
}

/// The new account and the workspace it lands in.
#[derive(Debug, Clone)]
pub struct SignedUp {
    pub user_id: UserId,
    pub tenant_id: TenantId,
}

/// The message for an email that already has an account.
pub const EMAIL_TAKEN: &str = "An account with this email already exists. Sign in instead.";

/// Create the account (and workspace, or membership by invitation); send the verification
/// link. Nothing is created when any field is wrong.
pub async fn sign_up(ctx: &Context, form: SignUp, client: &ClientInfo) -> ServiceResult<SignedUp> {
    let mut errors = FieldErrors::new();
    let name = normalize_name(&form.name, "name")
        .map_err(|m| errors.add("name", m))
        .ok();
    let email = normalize_email(&form.email)
        .map_err(|m| errors.add("email", m))
        .ok();
    let workspace_name = if form.invitation.is_some() {
        None
    } else {
        normalize_name(&form.workspace_name, "workspace name")
            .map_err(|m| errors.add("workspace_name", m))
            .ok()
    };
    let context = [
        email.as_deref().unwrap_or_default(),
        name.as_deref().unwrap_or_default(),
        workspace_name.as_deref().unwrap_or_default(),
    ];
    if let Some(why) = password::weakness(&form.password, &context) {
        errors.add("password", why);
    }
    errors.into_result()?;
    let (name, email) = (name.unwrap_or_default(), email.unwrap_or_default());

    let hash = hash_password(form.password).await?;
    let (client_in, email_in, invitation) = (client.clone(), email.clone(), form.invitation);
    let trial = crate::billing::subscriptions::TrialTerms::from(&ctx.config.billing);
    let signed_up = ctx
        .db
        .transaction(
            RowScope::across_tenants("sign-up creates the account and its first workspace"),
            move |conn| -> ServiceResult<SignedUp> {
                if users::find_by_email(conn, &email_in)?.is_some() {
                    return Err(ServiceError::invalid("email", EMAIL_TAKEN));
                }
                let now = Utc::now().naive_utc();
                let user_id = UserId::generate();
                diesel::RunQueryDsl::execute(
                    diesel::insert_into(crate::db::schema::users::table).values(NewUser {
                        id: &user_id,
                        email: &email_in,
                        name: &name,
                        password_hash: &hash,
                        // Holding the emailed invitation link proves the address.
                        email_verified_at: invitation.as_ref().map(|_| now),
                        is_platform_admin: false,
                        created_at: now,
                        updated_at: now,
                    }),
                    conn,
                )
                .map_err(|e| {
                    if users::is_duplicate_email(&e) {
                        ServiceError::invalid("email", EMAIL_TAKEN)
                    } else {
                        e.into()
                    }
                })?;
                let tenant_id = match (&invitation, &workspace_name) {
                    (Some(token), _) => invitations::accept_in(conn, token, &user_id, &client_in)?,
                    (None, Some(workspace)) => {
                        let tenant_id = workspaces::create_in(conn, workspace, &user_id)?;
                        crate::billing::subscriptions::start_trial_in(conn, &tenant_id, &trial)?;
                        tenant_id
                    }
                    (None, None) => {
                        return Err(ServiceError::invalid(
                            "workspace_name",
                            "Enter a workspace name.",
                        ));
                    }
                };
                audit::record(
                    conn,
                    Action::SignedUp,
                    Some(&tenant_id),
                    Some(&user_id),
                    "",
                    &client_in,
                )?;
                Ok(SignedUp { user_id, tenant_id })
            },
        )
        .await?;
    if signed_up_needs_verification(&ctx.db, &signed_up.user_id).await? {
        email_links::send_verification(ctx, &signed_up.user_id, &email).await?;
    }
    Ok(signed_up)
}

async fn signed_up_needs_verification(db: &crate::db::Db, user_id: &str) -> ServiceResult<bool> {
    let id = user_id.to_owned();
    let user = db.run(move |conn| users::find_by_id(conn, &id)).await?;
    Ok(user.is_some_and(|u| !u.is_verified()))
}
