//! The audit trail: who did what, from where. Owners read their workspace's events.
//! Actions are stored by name and shown in words; the client by a short browser summary.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{audit_events, users};
use crate::db::{Db, DbError};
use crate::ids::new_id;
use crate::tenancy::TenantScope;
use crate::tenants::user_agent;

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
    /// A bot was deleted with its messages and contacts.
    BotDeleted,
    /// A bot's pairing was forgotten: its phone must scan again.
    BotUnpaired,
    /// A bot's settings were saved with a change, or a command was added.
    BotSettingsChanged,
    /// A bot was connected (or reconnected) to a number on Meta's WhatsApp Cloud API.
    BotConnectedToCloud,
    /// A team member took a conversation over: the bot is silent in it.
    ConversationTakenOver,
    /// A team member gave a conversation back to the bot.
    ConversationReleased,
    /// A conversation was assigned to a member (or to nobody).
    ConversationAssigned,
    /// A conversation was closed.
    ConversationClosed,
    /// A closed conversation was opened again.
    ConversationReopened,
    /// A contact was deleted with its messages.
    ContactDeleted,
    /// The workspace's contacts were exported to CSV.
    ContactsExported,
}

impl Action {
    /// Every action, for reading stored names back.
    pub const ALL: [Action; 31] = [
        Self::SignedUp,
        Self::SignedIn,
        Self::SignInFailed,
        Self::SignedOutEverywhere,
        Self::PasswordChanged,
        Self::PasswordReset,
        Self::EmailChanged,
        Self::EmailVerified,
        Self::MemberInvited,
        Self::InvitationRevoked,
        Self::InvitationAccepted,
        Self::MemberRemoved,
        Self::MemberLeft,
        Self::RoleChanged,
        Self::OwnershipTransferred,
        Self::WorkspaceRenamed,
        Self::TenantSuspended,
        Self::TenantUnsuspended,
        Self::PlanChanged,
        Self::VerificationResent,
        Self::BotDeleted,
        Self::BotUnpaired,
        Self::BotSettingsChanged,
        Self::BotConnectedToCloud,
        Self::ConversationTakenOver,
        Self::ConversationReleased,
        Self::ConversationAssigned,
        Self::ConversationClosed,
        Self::ConversationReopened,
        Self::ContactDeleted,
        Self::ContactsExported,
    ];

    /// The action stored as `name`, if it is one we know.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == name)
    }

    /// What happened, in words, as the audit log shows it.
    pub fn wording(self) -> &'static str {
        match self {
            Self::SignedUp => "Signed up",
            Self::SignedIn => "Signed in",
            Self::SignInFailed => "Sign-in failed",
            Self::SignedOutEverywhere => "Signed out on every device",
            Self::PasswordChanged => "Changed their password",
            Self::PasswordReset => "Reset their password by email",
            Self::EmailChanged => "Changed their email address",
            Self::EmailVerified => "Confirmed their email address",
            Self::MemberInvited => "Invited someone to the workspace",
            Self::InvitationRevoked => "Withdrew an invitation",
            Self::InvitationAccepted => "Accepted an invitation and joined",
            Self::MemberRemoved => "Removed a member",
            Self::MemberLeft => "Left the workspace",
            Self::RoleChanged => "Changed a member's role",
            Self::OwnershipTransferred => "Handed over ownership",
            Self::WorkspaceRenamed => "Renamed the workspace",
            Self::TenantSuspended => "Suspended the workspace (platform admin)",
            Self::TenantUnsuspended => "Lifted the suspension (platform admin)",
            Self::PlanChanged => "Set the plan by hand (platform admin)",
            Self::VerificationResent => "Resent the confirmation email (platform admin)",
            Self::BotDeleted => "Deleted a bot",
            Self::BotUnpaired => "Unpaired a bot",
            Self::BotSettingsChanged => "Changed a bot's settings",
            Self::BotConnectedToCloud => "Connected a bot to the WhatsApp Cloud API",
            Self::ConversationTakenOver => "Took a conversation over from the bot",
            Self::ConversationReleased => "Gave a conversation back to the bot",
            Self::ConversationAssigned => "Assigned a conversation",
            Self::ConversationClosed => "Closed a conversation",
            Self::ConversationReopened => "Reopened a conversation",
            Self::ContactDeleted => "Deleted a contact",
            Self::ContactsExported => "Exported the contacts",
        }
    }

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
            Self::BotDeleted => "bot_deleted",
            Self::BotUnpaired => "bot_unpaired",
            Self::BotSettingsChanged => "bot_settings_changed",
            Self::BotConnectedToCloud => "bot_connected_to_cloud",
            Self::ConversationTakenOver => "conversation_taken_over",
            Self::ConversationReleased => "conversation_released",
            Self::ConversationAssigned => "conversation_assigned",
            Self::ConversationClosed => "conversation_closed",
            Self::ConversationReopened => "conversation_reopened",
            Self::ContactDeleted => "contact_deleted",
            Self::ContactsExported => "contacts_exported",
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

impl AuditEvent {
    /// What happened, in words; a name this version does not know, with its underscores
    /// turned to spaces.
    pub fn what(&self) -> String {
        match Action::from_name(&self.action) {
            Some(action) => action.wording().to_owned(),
            None => {
                let words = self.action.replace('_', " ");
                let mut chars = words.chars();
                chars
                    .next()
                    .map(|first| first.to_uppercase().chain(chars).collect())
                    .unwrap_or_default()
            }
        }
    }

    /// The browser and system the request came from, e.g. "Chrome on Linux" (empty if the
    /// request named none).
    pub fn client(&self) -> String {
        self.user_agent
            .as_deref()
            .map(user_agent::summary)
            .unwrap_or_default()
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn event(action: &str, user_agent: Option<&str>) -> AuditEvent {
        AuditEvent {
            action: action.to_owned(),
            actor_email: None,
            detail: String::new(),
            ip: None,
            user_agent: user_agent.map(str::to_owned),
            created_at: Utc::now().naive_utc(),
        }
    }

    #[test]
    fn every_action_reads_back_from_its_stored_name() {
        for action in Action::ALL {
            assert_eq!(Action::from_name(action.as_str()), Some(action));
            assert!(!action.wording().contains('_'), "{}", action.wording());
        }
        assert_eq!(Action::from_name("dancing"), None);
    }

    #[test]
    fn events_are_worded_for_people() {
        assert_eq!(event("bot_unpaired", None).what(), "Unpaired a bot");
        assert_eq!(event("signed_in", None).what(), "Signed in");
        // A name from a newer version still reads as words.
        assert_eq!(event("api_key_created", None).what(), "Api key created");
    }

    #[test]
    fn the_client_is_a_short_summary() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
                      Chrome/131.0.0.0 Safari/537.36";
        assert_eq!(event("signed_in", Some(chrome)).client(), "Chrome on Linux");
        assert_eq!(event("signed_in", None).client(), "");
    }
}
