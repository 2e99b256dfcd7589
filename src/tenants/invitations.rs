//! Invitations: an emailed, single-use link that makes its holder a member.

use chrono::{Duration, NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::billing::entitlements::{self, Decision};
use crate::context::Context;
use crate::db::schema::{invitations, memberships, tenants, users};
use crate::db::{DbConn, RowScope};
use crate::error::{ServiceError, ServiceResult};
use crate::ids::{TenantId, new_id, new_token, token_hash};
use crate::mail::Email;
use crate::tenancy::{Role, TenantScope};
use crate::tenants::audit::{self, Action, ClientInfo};
use crate::validation::normalize_email;

/// How long an invitation link works.
pub const VALID_FOR_DAYS: i64 = 7;

/// A pending invitation, as the members page lists it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = invitations)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct Invitation {
    pub id: String,
    pub email: String,
    pub role: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

/// What the person holding a link is told before accepting.
#[derive(Debug, Clone)]
pub struct InvitationPreview {
    pub workspace_name: String,
    pub email: String,
    pub role: Role,
}

/// A sent invitation: its id and the link (shown once to the inviter, for copying).
#[derive(Debug, Clone)]
pub struct SentInvitation {
    pub id: String,
    pub link: String,
}

/// Invite `raw_email` as `raw_role`; emails the link and returns it. A newer invitation to
/// the same address replaces an older pending one.
pub async fn invite(
    ctx: &Context,
    scope: &TenantScope,
    raw_email: &str,
    raw_role: &str,
    client: &ClientInfo,
) -> ServiceResult<SentInvitation> {
    if !scope.role().can_manage_members() {
        return Err(ServiceError::Forbidden(
            "Only owners and admins can invite people.",
        ));
    }
    let email = normalize_email(raw_email).map_err(|m| ServiceError::invalid("email", m))?;
    let role = match raw_role.parse() {
        Ok(Role::Member) => Role::Member,
        Ok(Role::Admin) if scope.role().is_owner() => Role::Admin,
        Ok(Role::Admin) => {
            return Err(ServiceError::invalid(
                "role",
                "Only the owner can invite admins.",
            ));
        }
        _ => return Err(ServiceError::invalid("role", "Choose Admin or Member.")),
    };
    let token = new_token();
    let id = new_id();
    let (scope_in, client, hash) = (scope.clone(), client.clone(), token_hash(&token));
    let (email_in, id_in) = (email.clone(), id.clone());
    let workspace = ctx
        .db
        .transaction(scope.rows(), move |conn| -> ServiceResult<String> {
            let scope = scope_in;
            let already_member = memberships::table
                .inner_join(users::table)
                .filter(memberships::tenant_id.eq(scope.tenant_id()))
                .filter(users::email.eq(&email_in))
                .count()
                .get_result::<i64>(conn)?
                > 0;
            if already_member {
                return Err(ServiceError::invalid(
                    "email",
                    "This person is already a member.",
                ));
            }
            // A replaced invitation to the same address frees its seat first.
            let replaces_pending = invitations::table
                .filter(invitations::tenant_id.eq(scope.tenant_id()))
                .filter(invitations::email.eq(&email_in))
                .filter(invitations::accepted_at.is_null())
                .filter(invitations::revoked_at.is_null())
                .filter(invitations::expires_at.gt(Utc::now().naive_utc()))
                .count()
                .get_result::<i64>(conn)?
                > 0;
            if !replaces_pending
                && let Decision::Denied(denial) = entitlements::check_to_add_in(
                    conn,
                    scope.tenant_id(),
                    entitlements::Action::AddMember,
                )?
            {
                return Err(ServiceError::PlanLimit(Box::new(denial)));
            }
            let now = Utc::now().naive_utc();
            diesel::update(
                invitations::table
                    .filter(invitations::tenant_id.eq(scope.tenant_id()))
                    .filter(invitations::email.eq(&email_in))
                    .filter(invitations::accepted_at.is_null())
                    .filter(invitations::revoked_at.is_null()),
            )
            .set(invitations::revoked_at.eq(now))
            .execute(conn)?;
            diesel::insert_into(invitations::table)
                .values((
                    invitations::id.eq(&id_in),
                    invitations::tenant_id.eq(scope.tenant_id()),
                    invitations::email.eq(&email_in),
                    invitations::role.eq(role.as_str()),
                    invitations::token_hash.eq(&hash),
                    invitations::invited_by.eq(scope.user_id()),
                    invitations::created_at.eq(now),
                    invitations::expires_at.eq(now + Duration::days(VALID_FOR_DAYS)),
                ))
                .execute(conn)?;
            audit::record(
                conn,
                Action::MemberInvited,
                Some(scope.tenant_id()),
                Some(scope.user_id()),
                &format!("invited {email_in} as {}", role.label()),
                &client,
            )?;
            Ok(tenants::table
                .find(scope.tenant_id())
                .select(tenants::name)
                .first(conn)?)
        })
        .await?;
    let link = ctx.link(&format!("/invitations/{token}"));
    ctx.mailer.send_later(Email {
        to: email,
        subject: format!("You are invited to {workspace} on WhatsDeX"),
        body: format!(
            "You have been invited to join the workspace \"{workspace}\" on WhatsDeX as {}.\n\n\
             Accept the invitation: {link}\n\n\
             The link works once and expires in {VALID_FOR_DAYS} days.",
            role.label()
        ),
    });
    Ok(SentInvitation { id, link })
}

/// Pending invitations of the scope's workspace, newest first.
pub async fn pending(ctx: &Context, scope: &TenantScope) -> ServiceResult<Vec<Invitation>> {
    let tenant_id = scope.tenant_id().to_owned();
    Ok(ctx
        .db
        .run_in(scope.rows(), move |conn| {
            invitations::table
                .filter(invitations::tenant_id.eq(tenant_id))
                .filter(invitations::accepted_at.is_null())
                .filter(invitations::revoked_at.is_null())
                .filter(invitations::expires_at.gt(Utc::now().naive_utc()))
                .order(invitations::created_at.desc())
                .select(Invitation::as_select())
                .load(conn)
        })
        .await?)
}

/// Where an invitation stands, for asking before it is withdrawn.
#[derive(Debug, Clone)]
pub enum InvitationState {
    /// Still open: it can be withdrawn.
    Pending(Invitation),
    /// Accepted, withdrawn or expired since the page that offered it was shown.
    Closed { email: String, what: &'static str },
}

/// One of the scope's invitations and whether it can still be withdrawn, when the scope may
/// withdraw invitations (owners and admins); a foreign or unknown id is NotFound.
pub async fn state_of(
    ctx: &Context,
    scope: &TenantScope,
    invitation_id: &str,
) -> ServiceResult<InvitationState> {
    let (tenant_id, id) = (scope.tenant_id().to_owned(), invitation_id.to_owned());
    type Row = (Invitation, Option<NaiveDateTime>, Option<NaiveDateTime>);
    let (invitation, accepted_at, revoked_at) = ctx
        .db
        .run_in(scope.rows(), move |conn| {
            invitations::table
                .filter(invitations::id.eq(id))
                .filter(invitations::tenant_id.eq(tenant_id))
                .select((
                    Invitation::as_select(),
                    invitations::accepted_at,
                    invitations::revoked_at,
                ))
                .first::<Row>(conn)
                .optional()
        })
        .await?
        .ok_or(ServiceError::NotFound)?;
    if !scope.role().can_manage_members() {
        return Err(ServiceError::Forbidden(
            "Only owners and admins can revoke invitations.",
        ));
    }
    let closed = if accepted_at.is_some() {
        Some("accepted")
    } else if revoked_at.is_some() {
        Some("withdrawn")
    } else if invitation.expires_at <= Utc::now().naive_utc() {
        Some("expired")
    } else {
        None
    };
    Ok(match closed {
        Some(what) => InvitationState::Closed {
            email: invitation.email,
            what,
        },
        None => InvitationState::Pending(invitation),
    })
}

/// Withdraw a pending invitation (owners and admins).
pub async fn revoke(
    ctx: &Context,
    scope: &TenantScope,
    invitation_id: &str,
    client: &ClientInfo,
) -> ServiceResult<()> {
    let (scope_in, id, client) = (scope.clone(), invitation_id.to_owned(), client.clone());
    ctx.db
        .transaction(scope.rows(), move |conn| -> ServiceResult<()> {
            let scope = scope_in;
            let email: String = invitations::table
                .filter(invitations::id.eq(&id))
                .filter(invitations::tenant_id.eq(scope.tenant_id()))
                .filter(invitations::accepted_at.is_null())
                .filter(invitations::revoked_at.is_null())
                .select(invitations::email)
                .first(conn)
                .optional()?
                .ok_or(ServiceError::NotFound)?;
            if !scope.role().can_manage_members() {
                return Err(ServiceError::Forbidden(
                    "Only owners and admins can revoke invitations.",
                ));
            }
            diesel::update(invitations::table.find(&id))
                .set(invitations::revoked_at.eq(Utc::now().naive_utc()))
                .execute(conn)?;
            audit::record(
                conn,
                Action::InvitationRevoked,
                Some(scope.tenant_id()),
                Some(scope.user_id()),
                &format!("revoked the invitation of {email}"),
                &client,
            )?;
            Ok(())
        })
        .await
}

/// A usable invitation by its link's token, inside a system-scoped transaction.
fn usable(conn: &mut DbConn, token: &str) -> ServiceResult<(String, String, String, String)> {
    invitations::table
        .inner_join(tenants::table)
        .filter(invitations::token_hash.eq(token_hash(token)))
        .filter(invitations::accepted_at.is_null())
        .filter(invitations::revoked_at.is_null())
        .filter(invitations::expires_at.gt(Utc::now().naive_utc()))
        .select((
            invitations::id,
            invitations::tenant_id,
            tenants::name,
            invitations::email,
        ))
        .first(conn)
        .optional()?
        .ok_or(ServiceError::NotFound)
}

/// What an invitation link offers; NotFound when unknown, expired, revoked or used.
pub async fn preview(ctx: &Context, token: &str) -> ServiceResult<InvitationPreview> {
    let token = token.to_owned();
    ctx.db
        .transaction(
            RowScope::across_tenants("an invitation link's token finds its workspace"),
            move |conn| -> ServiceResult<_> {
                let (id, _, workspace_name, email) = usable(conn, &token)?;
                let role: Role = invitations::table
                    .find(id)
                    .select(invitations::role)
                    .first(conn)?;
                Ok(InvitationPreview {
                    workspace_name,
                    email,
                    role,
                })
            },
        )
        .await
}

/// Make `user_id` a member through the invitation, in the caller's system-scoped
/// transaction; returns the workspace id. The invitation must be for the user's email.
pub fn accept_in(
    conn: &mut DbConn,
    token: &str,
    user_id: &str,
    client: &ClientInfo,
) -> ServiceResult<TenantId> {
    let (id, tenant_id, _, invited_email) = usable(conn, token)?;
    let user_email: String = users::table
        .find(user_id)
        .select(users::email)
        .first(conn)?;
    if user_email != invited_email {
        return Err(ServiceError::invalid(
            "invitation",
            format!(
                "This invitation was sent to {invited_email}. Sign in with that address to accept it."
            ),
        ));
    }
    let role: String = invitations::table
        .find(&id)
        .select(invitations::role)
        .first(conn)?;
    let now = Utc::now().naive_utc();
    let already = memberships::table
        .find((&tenant_id, user_id))
        .count()
        .get_result::<i64>(conn)?
        > 0;
    if !already {
        diesel::insert_into(memberships::table)
            .values((
                memberships::tenant_id.eq(&tenant_id),
                memberships::user_id.eq(user_id),
                memberships::role.eq(&role),
                memberships::created_at.eq(now),
            ))
            .execute(conn)?;
    }
    diesel::update(invitations::table.find(&id))
        .set(invitations::accepted_at.eq(now))
        .execute(conn)?;
    audit::record(
        conn,
        Action::InvitationAccepted,
        Some(&tenant_id),
        Some(user_id),
        &format!("joined as {role}"),
        client,
    )?;
    Ok(tenant_id.into())
}

/// Accept an invitation as a signed-in person; returns the workspace id.
pub async fn accept(
    ctx: &Context,
    token: &str,
    user_id: &str,
    client: &ClientInfo,
) -> ServiceResult<TenantId> {
    let (token, user_id, client) = (token.to_owned(), user_id.to_owned(), client.clone());
    ctx.db
        .transaction(
            RowScope::across_tenants(
                "accepting an invitation joins a workspace the person is not in yet",
            ),
            move |conn| accept_in(conn, &token, &user_id, &client),
        )
        .await
}
