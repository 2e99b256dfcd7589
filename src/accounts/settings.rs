//! A person's own account: name, email, password, deletion.

use chrono::Utc;
use diesel::prelude::*;

use super::{email_links, hash_password, password, password_matches, sessions, users};
use crate::context::Context;
use crate::db::RowScope;
use crate::db::schema::{memberships, tenants, users as users_table};
use crate::error::{ServiceError, ServiceResult};
use crate::tenancy::Role;
use crate::tenants::audit::{self, Action, ClientInfo};
use crate::tenants::members;
use crate::validation::{normalize_email, normalize_name};

/// What a person types to delete their account.
pub const DELETE_ACCOUNT_PHRASE: &str = "delete my account";

async fn load(ctx: &Context, user_id: &str) -> ServiceResult<users::User> {
    let id = user_id.to_owned();
    ctx.db
        .run(move |conn| users::find_by_id(conn, &id))
        .await?
        .ok_or(ServiceError::NotFound)
}

async fn check_current_password(user: &users::User, current: &str) -> ServiceResult<()> {
    if password_matches(current.to_owned(), Some(user.password_hash.clone())).await {
        Ok(())
    } else {
        Err(ServiceError::invalid(
            "current_password",
            "That is not your current password.",
        ))
    }
}

/// Change the display name.
pub async fn change_name(ctx: &Context, user_id: &str, raw_name: &str) -> ServiceResult<()> {
    let name = normalize_name(raw_name, "name").map_err(|m| ServiceError::invalid("name", m))?;
    let id = user_id.to_owned();
    ctx.db
        .run(move |conn| {
            diesel::update(users_table::table.find(id))
                .set((
                    users_table::name.eq(name),
                    users_table::updated_at.eq(Utc::now().naive_utc()),
                ))
                .execute(conn)
        })
        .await?;
    Ok(())
}

/// Ask to change the email address: a link goes to the new address, and the change happens
/// when it is used. Needs the current password.
pub async fn change_email(
    ctx: &Context,
    user_id: &str,
    raw_email: &str,
    current_password: &str,
) -> ServiceResult<String> {
    let email = normalize_email(raw_email).map_err(|m| ServiceError::invalid("email", m))?;
    let user = load(ctx, user_id).await?;
    check_current_password(&user, current_password).await?;
    if email == user.email {
        return Err(ServiceError::invalid(
            "email",
            "That is already your email address.",
        ));
    }
    let lookup = email.clone();
    if ctx
        .db
        .run(move |conn| users::find_by_email(conn, &lookup))
        .await?
        .is_some()
    {
        return Err(ServiceError::invalid(
            "email",
            "Another account uses that address.",
        ));
    }
    email_links::send_verification(ctx, user_id, &email).await?;
    Ok(email)
}

/// Change the password (needs the current one); every other session is ended.
pub async fn change_password(
    ctx: &Context,
    session: &sessions::Session,
    current_password: &str,
    new_password: &str,
    client: &ClientInfo,
) -> ServiceResult<()> {
    let user = load(ctx, &session.user_id).await?;
    check_current_password(&user, current_password).await?;
    if let Some(why) = password::weakness(new_password, &[&user.email, &user.name]) {
        return Err(ServiceError::invalid("new_password", why));
    }
    let hash = hash_password(new_password.to_owned()).await?;
    let (user_id, client) = (user.id.clone(), client.clone());
    ctx.db
        .transaction(
            RowScope::across_tenants(
                "a password change is logged in every workspace of the person",
            ),
            move |conn| -> ServiceResult<()> {
                users::set_password_hash_in(conn, &user_id, &hash)?;
                Ok(audit::record_in_workspaces_of(
                    conn,
                    Action::PasswordChanged,
                    &user_id,
                    "",
                    &client,
                )?)
            },
        )
        .await?;
    sessions::end_all_for_user(ctx, &session.user_id, Some(&session.id)).await?;
    Ok(())
}

/// Delete the account. Workspaces where the person is the only member go with it; a
/// workspace they own with other members must be handed over first.
pub async fn delete_account(
    ctx: &Context,
    user_id: &str,
    confirmation: &str,
    current_password: &str,
) -> ServiceResult<()> {
    if confirmation.trim().to_lowercase() != DELETE_ACCOUNT_PHRASE {
        return Err(ServiceError::invalid(
            "confirmation",
            format!("Type \"{DELETE_ACCOUNT_PHRASE}\" to confirm."),
        ));
    }
    let user = load(ctx, user_id).await?;
    check_current_password(&user, current_password).await?;
    let id = user.id.clone();
    ctx
        .db
        .transaction(RowScope::across_tenants("deleting an account leaves every workspace of the person"), move |conn| -> ServiceResult<()> {
            for workspace in members::workspaces_of_in(conn, &id)? {
                let others: i64 = memberships::table
                    .filter(memberships::tenant_id.eq(&workspace.tenant_id))
                    .filter(memberships::user_id.ne(&id))
                    .count()
                    .get_result(conn)?;
                match (workspace.role, others) {
                    (_, 0) => {
                        diesel::delete(tenants::table.find(&workspace.tenant_id)).execute(conn)?;
                    }
                    (Role::Owner, _) => {
                        return Err(ServiceError::invalid(
                            "confirmation",
                            format!(
                                "You own \"{}\", which has other members: transfer its ownership first.",
                                workspace.name
                            ),
                        ));
                    }
                    _ => {}
                }
            }
            diesel::delete(users_table::table.find(&id)).execute(conn)?;
            Ok(())
        })
        .await?;
    sessions::end_all_for_user(ctx, user_id, None).await?;
    Ok(())
}
