//! The audit trail: who did what, from where. Owners read their workspace's events.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{audit_events, users};
use crate::db::{Db, DbError};
use crate::ids::new_id;
use crate::tenancy::TenantScope;

/// Where a request came from, for the trail.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// The actions we record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    SignedUp,
    SignedIn,
    SignInFailed,
    SignedOutEverywhere,
    PasswordChanged,
    PasswordReset,
    EmailChanged,
    EmailVerified,
    MemberInvited,
    InvitationRevoked,
    InvitationAccepted,
    MemberRemoved,
    MemberLeft,
    RoleChanged,
    OwnershipTransferred,
    WorkspaceRenamed,
    /// A platform admin suspended the workspace.
    TenantSuspended,
    /// A platform admin lifted the suspension.
    TenantUnsuspended,
    /// A platform admin set the workspace's plan by hand.
    PlanChanged,
    /// A platform admin resent the owners' confirmation email.
    VerificationResent,
}

impl Action {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignedUp => "signed_up",
            Self::SignedIn => "signed_in",
            Self::SignInFailed => "sign_in_failed",
            Self::SignedOutEverywhere => "signed_out_everywhere",
            Self::PasswordChanged => "password_changed",
            Self::PasswordReset => "password_reset",
            Self::EmailChanged => "email_changed",
            Self::EmailVerified => "email_verified",
            Self::MemberInvited => "member_invited",
            Self::InvitationRevoked => "invitation_revoked",
            Self::InvitationAccepted => "invitation_accepted",
            Self::MemberRemoved => "member_removed",
            Self::MemberLeft => "member_left",
            Self::RoleChanged => "role_changed",
            Self::OwnershipTransferred => "ownership_transferred",
            Self::WorkspaceRenamed => "workspace_renamed",
            Self::TenantSuspended => "tenant_suspended",
            Self::TenantUnsuspended => "tenant_unsuspended",
            Self::PlanChanged => "plan_changed",
            Self::VerificationResent => "verification_resent",
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = audit_events)]
struct NewAuditEvent<'a> {
    id: String,
    tenant_id: Option<&'a str>,
    user_id: Option<&'a str>,
    actor_email: Option<String>,
    action: &'static str,
    detail: &'a str,
    ip: Option<&'a str>,
    user_agent: Option<String>,
    created_at: NaiveDateTime,
}

/// Record that `user_id` did `action` in `tenant_id`, within the caller's transaction.
/// The actor's email is copied so the trail stays readable after the account is gone.
pub fn record(
    conn: &mut DbConn,
    action: Action,
    tenant_id: Option<&str>,
    user_id: Option<&str>,
    detail: &str,
    client: &ClientInfo,
) -> QueryResult<()> {
    let actor_email = match user_id {
        Some(id) => users::table
            .find(id)
            .select(users::email)
            .first::<String>(conn)
            .optional()?,
        None => None,
    };
    record_as(
        conn,
        action,
        tenant_id,
        user_id,
        actor_email,
        detail,
        client,
    )
}

/// Record an account event (a password change, a failed sign-in) in every workspace the
/// person belongs to, so each owner sees it; once without a workspace if they have none.
pub fn record_in_workspaces_of(
    conn: &mut DbConn,
    action: Action,
    user_id: &str,
    detail: &str,
    client: &ClientInfo,
) -> QueryResult<()> {
    let workspaces = crate::tenants::members::workspaces_of_in(conn, user_id)?;
    if workspaces.is_empty() {
        return record(conn, action, None, Some(user_id), detail, client);
    }
    for workspace in workspaces {
        record(
            conn,
            action,
            Some(&workspace.tenant_id),
            Some(user_id),
            detail,
            client,
        )?;
    }
    Ok(())
}

/// Like [`record`], naming the actor by the email they typed (a failed sign-in).
pub fn record_as(
    conn: &mut DbConn,
    action: Action,
    tenant_id: Option<&str>,
    user_id: Option<&str>,
    actor_email: Option<String>,
    detail: &str,
    client: &ClientInfo,
) -> QueryResult<()> {
    diesel::insert_into(audit_events::table)
        .values(NewAuditEvent {
            id: new_id(),
            tenant_id,
            user_id,
            actor_email,
            action: action.as_str(),
            detail,
            ip: client.ip.as_deref(),
            user_agent: client
                .user_agent
                .as_ref()
                .map(|ua| ua.chars().take(300).collect()),
            created_at: Utc::now().naive_utc(),
        })
        .execute(conn)
        .map(drop)
}

/// An event as the audit page shows it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct AuditEvent {
    pub action: String,
    pub actor_email: Option<String>,
    pub detail: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: NaiveDateTime,
}

/// The newest events of the scope's workspace.
pub async fn list_for_tenant(
    db: &Db,
    scope: &TenantScope,
    limit: i64,
) -> Result<Vec<AuditEvent>, DbError> {
    let tenant_id = scope.tenant_id().to_owned();
    db.run_in(scope.rows(), move |conn| {
        audit_events::table
            .filter(audit_events::tenant_id.eq(tenant_id))
            .order(audit_events::created_at.desc())
            .limit(limit)
            .select(AuditEvent::as_select())
            .load(conn)
    })
    .await
}
