//! Who is in a workspace: listing, roles, removal, leaving, ownership.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::context::Context;
use crate::db::schema::{memberships, tenants, users};
use crate::db::{DbConn, RowScope};
use crate::error::{ServiceError, ServiceResult};
use crate::ids::{TenantId, UserId};
use crate::tenancy::{Role, TenantScope};
use crate::tenants::audit::{self, Action, ClientInfo};

/// A workspace a person can switch to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceChoice {
    pub tenant_id: TenantId,
    pub name: String,
    pub role: Role,
}

/// A member as the members page shows them.
#[derive(Debug, Clone)]
pub struct MemberView {
    pub user_id: String,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub joined_at: NaiveDateTime,
}

/// Every workspace `user_id` belongs to, oldest membership first.
pub async fn workspaces_of(ctx: &Context, user_id: &str) -> ServiceResult<Vec<WorkspaceChoice>> {
    let user_id = user_id.to_owned();
    Ok(ctx
        .db
        .run_in(
            RowScope::across_tenants("a person's workspaces are read before one is chosen"),
            move |conn| workspaces_of_in(conn, &user_id),
        )
        .await?)
}

/// [`workspaces_of`] within the caller's transaction.
pub fn workspaces_of_in(conn: &mut DbConn, user_id: &str) -> QueryResult<Vec<WorkspaceChoice>> {
    memberships::table
        .inner_join(tenants::table)
        .filter(memberships::user_id.eq(user_id))
        .order(memberships::created_at.asc())
        .select((tenants::id, tenants::name, memberships::role))
        .load::<(TenantId, String, Role)>(conn)
        .map(|rows| {
            rows.into_iter()
                .map(|(tenant_id, name, role)| WorkspaceChoice {
                    tenant_id,
                    name,
                    role,
                })
                .collect()
        })
}

/// The role `user_id` holds in `tenant_id`, if a member. The authentication layer builds a
/// [`TenantScope`] from this.
pub async fn role_of(ctx: &Context, tenant_id: &str, user_id: &str) -> ServiceResult<Option<Role>> {
    let (tenant_id, user_id) = (tenant_id.to_owned(), user_id.to_owned());
    Ok(ctx
        .db
        .run_in(
            RowScope::across_tenants("a membership is read to build the scope itself"),
            move |conn| {
                memberships::table
                    .find((tenant_id, user_id))
                    .select(memberships::role)
                    .first::<Role>(conn)
                    .optional()
            },
        )
        .await?)
}

/// The scope of `user_id` in `tenant_id`, read from their membership; `None` for someone who
/// is not a member. For work done for a member outside a request (benchmarks, tests); a
/// request gets its scope from the authentication layer.
pub async fn scope_of(
    ctx: &Context,
    tenant_id: &TenantId,
    user_id: &UserId,
) -> ServiceResult<Option<TenantScope>> {
    let role = role_of(ctx, tenant_id.as_str(), user_id.as_str()).await?;
    Ok(role.map(|role| TenantScope::from_membership(tenant_id.clone(), user_id.clone(), role)))
}

/// The scope's workspace members, owner first.
pub async fn list(ctx: &Context, scope: &TenantScope) -> ServiceResult<Vec<MemberView>> {
    let tenant_id = scope.tenant_id().to_owned();
    let rows = ctx
        .db
        .run_in(scope.rows(), move |conn| {
            memberships::table
                .inner_join(users::table)
                .filter(memberships::tenant_id.eq(tenant_id))
                .order(memberships::created_at.asc())
                .select((
                    users::id,
                    users::name,
                    users::email,
                    memberships::role,
                    memberships::created_at,
                ))
                .load::<(String, String, String, Role, NaiveDateTime)>(conn)
        })
        .await?;
    let mut members: Vec<MemberView> = rows
        .into_iter()
        .map(|(user_id, name, email, role, joined_at)| MemberView {
            user_id,
            name,
            email,
            role,
            joined_at,
        })
        .collect();
    members.sort_by_key(|m| std::cmp::Reverse(m.role));
    Ok(members)
}

/// The role of `user_id` in the scope's workspace, or NotFound (a foreign id looks the same).
fn member_role(conn: &mut DbConn, scope: &TenantScope, user_id: &str) -> ServiceResult<Role> {
    memberships::table
        .find((scope.tenant_id(), user_id))
        .select(memberships::role)
        .first::<Role>(conn)
        .optional()?
        .ok_or(ServiceError::NotFound)
}

fn set_role(conn: &mut DbConn, scope: &TenantScope, user_id: &str, role: Role) -> QueryResult<()> {
    diesel::update(memberships::table.find((scope.tenant_id(), user_id)))
        .set(memberships::role.eq(role.as_str()))
        .execute(conn)
        .map(drop)
}

fn delete_membership(conn: &mut DbConn, scope: &TenantScope, user_id: &str) -> QueryResult<()> {
    diesel::delete(memberships::table.find((scope.tenant_id(), user_id)))
        .execute(conn)
        .map(drop)
}

/// Run `work` in one transaction of the scope's workspace; a refusal rolls it back.
async fn in_scope<T, F>(ctx: &Context, scope: &TenantScope, work: F) -> ServiceResult<T>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConn, &TenantScope) -> ServiceResult<T> + Send + 'static,
{
    let scope = scope.clone();
    ctx.db
        .transaction(scope.rows(), move |conn| work(conn, &scope))
        .await
}

/// Make a member an admin or a plain member (owner only; ownership moves by transfer).
pub async fn change_role(
    ctx: &Context,
    scope: &TenantScope,
    user_id: &str,
    new_role: &str,
    client: &ClientInfo,
) -> ServiceResult<()> {
    let new_role: Role = match new_role.parse() {
        Ok(role @ (Role::Admin | Role::Member)) => role,
        _ => return Err(ServiceError::invalid("role", "Choose Admin or Member.")),
    };
    let (user_id, client) = (user_id.to_owned(), client.clone());
    in_scope(ctx, scope, move |conn, scope| {
        let current = member_role(conn, scope, &user_id)?;
        if !scope.role().is_owner() {
            return Err(ServiceError::Forbidden("Only the owner can change roles."));
        }
        if current == Role::Owner {
            return Err(ServiceError::Forbidden(
                "The owner's role changes only by transferring ownership.",
            ));
        }
        set_role(conn, scope, &user_id, new_role)?;
        let email = email_of(conn, &user_id)?;
        audit::record(
            conn,
            Action::RoleChanged,
            Some(scope.tenant_id()),
            Some(scope.user_id()),
            &format!("{email} is now {}", new_role.label()),
            &client,
        )?;
        Ok(())
    })
    .await
}

fn email_of(conn: &mut DbConn, user_id: &str) -> QueryResult<String> {
    users::table.find(user_id).select(users::email).first(conn)
}

/// Whether the scope may remove `user_id`, who holds `their_role`.
fn may_remove(scope: &TenantScope, user_id: &str, their_role: Role) -> ServiceResult<()> {
    if scope.user_id().as_str() == user_id {
        return Err(ServiceError::Forbidden(
            "To leave the workspace, use Leave.",
        ));
    }
    if !scope.role().can_remove(their_role) {
        return Err(ServiceError::Forbidden(
            "Owners can remove anyone else; admins can remove members.",
        ));
    }
    Ok(())
}

/// Whether the scope's person may leave the workspace.
pub fn may_leave(scope: &TenantScope) -> ServiceResult<()> {
    if scope.role().is_owner() {
        return Err(ServiceError::Forbidden(
            "Transfer ownership to another member before you leave.",
        ));
    }
    Ok(())
}

/// Whether the scope may make `user_id` the owner.
fn may_transfer_to(scope: &TenantScope, user_id: &str) -> ServiceResult<()> {
    if !scope.role().is_owner() {
        return Err(ServiceError::Forbidden(
            "Only the owner can transfer ownership.",
        ));
    }
    if scope.user_id().as_str() == user_id {
        return Err(ServiceError::invalid(
            "user_id",
            "You already own this workspace.",
        ));
    }
    Ok(())
}

/// What a change to a member would be, for asking before it is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberChange {
    Remove,
    MakeOwner,
}

/// The member `change` would apply to, when the scope may make it: a foreign or unknown id
/// is NotFound, a change the role does not allow is Forbidden (as the change itself says).
pub async fn find_for_change(
    ctx: &Context,
    scope: &TenantScope,
    user_id: &str,
    change: MemberChange,
) -> ServiceResult<MemberView> {
    let user_id = user_id.to_owned();
    in_scope(ctx, scope, move |conn, scope| {
        let (id, name, email, role, joined_at) = memberships::table
            .inner_join(users::table)
            .filter(memberships::tenant_id.eq(scope.tenant_id()))
            .filter(memberships::user_id.eq(&user_id))
            .select((
                users::id,
                users::name,
                users::email,
                memberships::role,
                memberships::created_at,
            ))
            .first::<(String, String, String, Role, NaiveDateTime)>(conn)
            .optional()?
            .ok_or(ServiceError::NotFound)?;
        match change {
            MemberChange::Remove => may_remove(scope, &id, role)?,
            MemberChange::MakeOwner => may_transfer_to(scope, &id)?,
        }
        Ok(MemberView {
            user_id: id,
            name,
            email,
            role,
            joined_at,
        })
    })
    .await
}

/// Remove someone from the workspace.
pub async fn remove(
    ctx: &Context,
    scope: &TenantScope,
    user_id: &str,
    client: &ClientInfo,
) -> ServiceResult<()> {
    let (user_id, client) = (user_id.to_owned(), client.clone());
    in_scope(ctx, scope, move |conn, scope| {
        may_remove(scope, &user_id, member_role(conn, scope, &user_id)?)?;
        let email = email_of(conn, &user_id)?;
        delete_membership(conn, scope, &user_id)?;
        audit::record(
            conn,
            Action::MemberRemoved,
            Some(scope.tenant_id()),
            Some(scope.user_id()),
            &format!("removed {email}"),
            &client,
        )?;
        Ok(())
    })
    .await
}

/// Leave the workspace (anyone but the owner, who must transfer ownership first).
pub async fn leave(ctx: &Context, scope: &TenantScope, client: &ClientInfo) -> ServiceResult<()> {
    let client = client.clone();
    in_scope(ctx, scope, move |conn, scope| {
        may_leave(scope)?;
        audit::record(
            conn,
            Action::MemberLeft,
            Some(scope.tenant_id()),
            Some(scope.user_id()),
            "left the workspace",
            &client,
        )?;
        delete_membership(conn, scope, scope.user_id())?;
        Ok(())
    })
    .await
}

/// Make another member the owner; the previous owner becomes an admin.
pub async fn transfer_ownership(
    ctx: &Context,
    scope: &TenantScope,
    user_id: &str,
    client: &ClientInfo,
) -> ServiceResult<()> {
    let (user_id, client) = (user_id.to_owned(), client.clone());
    in_scope(ctx, scope, move |conn, scope| {
        member_role(conn, scope, &user_id)?;
        may_transfer_to(scope, &user_id)?;
        set_role(conn, scope, scope.user_id(), Role::Admin)?;
        set_role(conn, scope, &user_id, Role::Owner)?;
        let email = email_of(conn, &user_id)?;
        audit::record(
            conn,
            Action::OwnershipTransferred,
            Some(scope.tenant_id()),
            Some(scope.user_id()),
            &format!("ownership given to {email}"),
            &client,
        )?;
        Ok(())
    })
    .await
}
