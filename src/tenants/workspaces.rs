//! Workspaces: create, read, rename, delete.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::billing::subscriptions::{self, TrialTerms};
use crate::context::Context;
use crate::db::schema::{memberships, tenants};
use crate::db::{DbConn, RowScope};
use crate::error::{ServiceError, ServiceResult};
use crate::ids::TenantId;
use crate::tenancy::{Role, TenantScope};
use crate::tenants::audit::{self, Action, ClientInfo};
use crate::validation::normalize_name;

/// A workspace as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = tenants)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct Tenant {
    pub id: String,
    pub name: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Create a workspace owned by `owner_id`, in the caller's (system-scoped) transaction.
pub fn create_in(conn: &mut DbConn, name: &str, owner_id: &str) -> QueryResult<TenantId> {
    let id = TenantId::generate();
    let now = Utc::now().naive_utc();
    diesel::insert_into(tenants::table)
        .values((
            tenants::id.eq(&id),
            tenants::name.eq(name),
            tenants::created_at.eq(now),
            tenants::updated_at.eq(now),
        ))
        .execute(conn)?;
    diesel::insert_into(memberships::table)
        .values((
            memberships::tenant_id.eq(&id),
            memberships::user_id.eq(owner_id),
            memberships::role.eq(Role::Owner),
            memberships::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(id)
}

/// A further workspace for a signed-in person, who becomes its owner.
pub async fn create(ctx: &Context, user_id: &str, raw_name: &str) -> ServiceResult<TenantId> {
    let name = normalize_name(raw_name, "workspace name")
        .map_err(|m| ServiceError::invalid("workspace_name", m))?;
    let user_id = user_id.to_owned();
    let trial = TrialTerms::from(&ctx.config.billing);
    Ok(ctx
        .db
        .run_in(
            RowScope::across_tenants("a new workspace does not exist yet to scope to"),
            move |conn| {
                let id = create_in(conn, &name, &user_id)?;
                subscriptions::start_trial_in(conn, &id, &trial)?;
                Ok(id)
            },
        )
        .await?)
}

/// The scope's workspace.
pub async fn find(ctx: &Context, scope: &TenantScope) -> ServiceResult<Tenant> {
    let id = scope.tenant_id().to_owned();
    ctx.db
        .run_in(scope.rows(), move |conn| {
            tenants::table
                .find(id)
                .select(Tenant::as_select())
                .first(conn)
                .optional()
        })
        .await?
        .ok_or(ServiceError::NotFound)
}

/// Rename the workspace (owners and admins).
pub async fn rename(
    ctx: &Context,
    scope: &TenantScope,
    raw_name: &str,
    client: &ClientInfo,
) -> ServiceResult<()> {
    if !scope.role().can_edit_workspace() {
        return Err(ServiceError::Forbidden(
            "Only owners and admins can rename the workspace.",
        ));
    }
    let name =
        normalize_name(raw_name, "workspace name").map_err(|m| ServiceError::invalid("name", m))?;
    let (scope, client) = (scope.clone(), client.clone());
    ctx.db
        .run_in(scope.rows(), move |conn| {
            diesel::update(tenants::table.find(scope.tenant_id()))
                .set((
                    tenants::name.eq(&name),
                    tenants::updated_at.eq(Utc::now().naive_utc()),
                ))
                .execute(conn)?;
            audit::record(
                conn,
                Action::WorkspaceRenamed,
                Some(scope.tenant_id()),
                Some(scope.user_id()),
                &format!("renamed to {name}"),
                &client,
            )
        })
        .await?;
    Ok(())
}

/// Delete the workspace and everything it owns (owner only). `confirmation` must repeat
/// the workspace's name, so a slip of the mouse deletes nothing.
pub async fn delete(ctx: &Context, scope: &TenantScope, confirmation: &str) -> ServiceResult<()> {
    if !scope.role().is_owner() {
        return Err(ServiceError::Forbidden(
            "Only the owner can delete the workspace.",
        ));
    }
    let tenant = find(ctx, scope).await?;
    if confirmation.trim() != tenant.name {
        return Err(ServiceError::invalid(
            "confirmation",
            format!("Type the workspace name, {}, to confirm.", tenant.name),
        ));
    }
    let id = scope.tenant_id().to_owned();
    ctx.db
        .run_in(scope.rows(), move |conn| {
            // Tenant-owned rows go with it (ON DELETE CASCADE).
            diesel::delete(tenants::table.find(id)).execute(conn)
        })
        .await?;
    Ok(())
}
