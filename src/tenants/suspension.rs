//! Whether a workspace is suspended: asked by sign-in, by every workspace page and by the bot
//! supervisor at start-up.

use std::collections::HashSet;

use diesel::prelude::*;

use crate::db::schema::tenants;
use crate::db::{Db, DbConn, DbError, RowScope};
use crate::ids::TenantId;

/// What a member of a suspended workspace is told (the page adds whom to contact).
pub const SUSPENDED_WORKSPACE: &str = "This workspace is suspended by the operator of this \
     server, so its bots are stopped and its pages closed.";

/// What sign-in says when every workspace of the person is suspended (the page adds whom to
/// contact).
pub const SUSPENDED_SIGN_IN: &str = "Your workspace is suspended, so you cannot sign in to it.";

/// Whether `tenant_id` is suspended.
pub async fn is_suspended(db: &Db, tenant_id: &TenantId) -> Result<bool, DbError> {
    let id = tenant_id.clone();
    db.run_in(RowScope::tenant(id.as_str()), move |conn| {
        Ok(!suspended_among_in(conn, std::slice::from_ref(&id))?.is_empty())
    })
    .await
}

/// Which of `tenant_ids` are suspended, within the caller's transaction.
pub fn suspended_among_in(
    conn: &mut DbConn,
    tenant_ids: &[TenantId],
) -> QueryResult<HashSet<TenantId>> {
    Ok(tenants::table
        .filter(tenants::id.eq_any(tenant_ids))
        .filter(tenants::suspended_at.is_not_null())
        .select(tenants::id)
        .load::<TenantId>(conn)?
        .into_iter()
        .collect())
}

/// Which of `tenant_ids` are suspended.
pub async fn suspended_among(
    db: &Db,
    tenant_ids: Vec<TenantId>,
) -> Result<HashSet<TenantId>, DbError> {
    db.run_in(
        RowScope::across_tenants("sign-in checks the workspaces of a person not yet scoped to one"),
        move |conn| suspended_among_in(conn, &tenant_ids),
    )
    .await
}
