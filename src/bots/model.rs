//! The `bots` table and the workspace-facing operations on it.

use std::fmt;
use std::str::FromStr;

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;

use super::supervisor::BotSupervisor;
use crate::billing::entitlements::{self, Action, Decision};
use crate::context::Context;
use crate::db::schema::bots;
use crate::db::{Db, DbConn, DbError, RowScope};
use crate::error::{ServiceError, ServiceResult};
use crate::ids::{BotId, TenantId, new_id};
use crate::tenancy::TenantScope;
use crate::tenants::audit::{self, ClientInfo};
use crate::validation::normalize_name;

/// Where a bot is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum BotStatus {
    /// Created; no phone has scanned its QR code yet.
    Unpaired,
    /// Showing a QR code, waiting for a scan.
    Pairing,
    /// Paired and online.
    Connected,
    /// Paired, connection lost, trying again.
    Reconnecting,
    /// The phone removed the linked device: a new scan is needed.
    LoggedOut,
    /// Stopped by a failure (see the reason).
    Error,
}

/// Every status, in the order pages list them.
pub const ALL_STATUSES: [BotStatus; 6] = [
    BotStatus::Unpaired,
    BotStatus::Pairing,
    BotStatus::Connected,
    BotStatus::Reconnecting,
    BotStatus::LoggedOut,
    BotStatus::Error,
];

impl BotStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unpaired => "unpaired",
            Self::Pairing => "pairing",
            Self::Connected => "connected",
            Self::Reconnecting => "reconnecting",
            Self::LoggedOut => "logged_out",
            Self::Error => "error",
        }
    }

    /// How the status reads on a page.
    pub fn label(self) -> &'static str {
        match self {
            Self::Unpaired => "Not paired",
            Self::Pairing => "Waiting for scan",
            Self::Connected => "Connected",
            Self::Reconnecting => "Reconnecting",
            Self::LoggedOut => "Logged out",
            Self::Error => "Error",
        }
    }
}

impl FromStr for BotStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "unpaired" => Self::Unpaired,
            "pairing" => Self::Pairing,
            "connected" => Self::Connected,
            "reconnecting" => Self::Reconnecting,
            "logged_out" => Self::LoggedOut,
            "error" => Self::Error,
            other => return Err(format!("unknown bot status `{other}`")),
        })
    }
}

crate::stored_as_text!(BotStatus);

impl fmt::Display for BotStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A bot as stored.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = bots)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct Bot {
    pub id: BotId,
    pub tenant_id: TenantId,
    pub name: String,
    pub transport: TransportKind,
    pub status: BotStatus,
    pub status_reason: Option<String>,
    pub owner_number: Option<String>,
    pub paired_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The instance running it now.
    pub running_on: Option<String>,
    /// Stopped because the plan allows fewer bots; an upgrade resumes it.
    pub paused_for_plan: bool,
}

impl Bot {
    /// The status.
    pub fn status(&self) -> BotStatus {
        self.status
    }

    /// Whether a phone has paired it.
    pub fn is_paired(&self) -> bool {
        self.owner_number.is_some()
    }
}

/// How many bots have each status, platform-wide (statuses no bot has are left out).
pub async fn count_by_status(db: &Db) -> Result<Vec<(String, i64)>, DbError> {
    db.run_in(
        RowScope::across_tenants("the platform's own gauge counts bots of every workspace"),
        |conn| {
            bots::table
                .group_by(bots::status)
                .select((bots::status, diesel::dsl::count_star()))
                .load::<(String, i64)>(conn)
        },
    )
    .await
}

/// A bot by id, within the caller's transaction, for the supervisor (no tenant scope).
pub fn find_in(conn: &mut DbConn, id: &str) -> QueryResult<Option<Bot>> {
    bots::table
        .find(id)
        .select(Bot::as_select())
        .first(conn)
        .optional()
}

/// Record a new status (and its reason) for a bot.
pub fn set_status_in(
    conn: &mut DbConn,
    id: &str,
    status: BotStatus,
    reason: Option<&str>,
) -> QueryResult<()> {
    diesel::update(bots::table.find(id))
        .set((
            bots::status.eq(status.as_str()),
            bots::status_reason.eq(reason),
            bots::updated_at.eq(Utc::now().naive_utc()),
        ))
        .execute(conn)
        .map(drop)
}

/// Record the number that paired the bot: from now on, its owner.
pub fn set_owner_in(conn: &mut DbConn, id: &str, owner_number: &str) -> QueryResult<()> {
    let now = Utc::now().naive_utc();
    diesel::update(bots::table.find(id))
        .set((
            bots::owner_number.eq(Some(owner_number)),
            bots::paired_at.eq(Some(now)),
            bots::status.eq(BotStatus::Connected),
            bots::status_reason.eq(None::<String>),
            bots::updated_at.eq(now),
        ))
        .execute(conn)
        .map(drop)
}

/// Forget the bot's owner after the phone unlinked it: it shows as logged out and may be
/// paired again.
pub fn clear_owner_in(conn: &mut DbConn, id: &str) -> QueryResult<()> {
    diesel::update(bots::table.find(id))
        .set((
            bots::owner_number.eq(None::<String>),
            bots::paired_at.eq(None::<NaiveDateTime>),
            bots::updated_at.eq(Utc::now().naive_utc()),
        ))
        .execute(conn)
        .map(drop)
}

/// Record which instance runs the bot (`None`: none).
pub fn set_running_on_in(conn: &mut DbConn, id: &str, instance: Option<&str>) -> QueryResult<()> {
    diesel::update(bots::table.find(id))
        .set(bots::running_on.eq(instance))
        .execute(conn)
        .map(drop)
}

/// What a connected bot's status reads while its task starts: it does not answer until its
/// transport connects.
pub const STARTING: &str = "Starting";

/// Mark a connected bot as starting ("Reconnecting: Starting"). With `last_run_by`, only if
/// no instance, or that one, ran it last: a bot that another instance runs is left alone.
pub fn mark_starting_in(conn: &mut DbConn, id: &str, last_run_by: Option<&str>) -> QueryResult<()> {
    let connected = bots::table
        .filter(bots::id.eq(id))
        .filter(bots::status.eq(BotStatus::Connected));
    let values = (
        bots::status.eq(BotStatus::Reconnecting),
        bots::status_reason.eq(Some(STARTING)),
        bots::updated_at.eq(Utc::now().naive_utc()),
    );
    match last_run_by {
        Some(instance) => diesel::update(
            connected.filter(bots::running_on.is_null().or(bots::running_on.eq(instance))),
        )
        .set(values)
        .execute(conn),
        None => diesel::update(connected).set(values).execute(conn),
    }
    .map(drop)
}

/// Whether `sender` is the bot's owner: asked of the database, never of configuration.
pub fn is_owner_in(conn: &mut DbConn, bot_id: &str, sender: &str) -> QueryResult<bool> {
    let owner: Option<String> = bots::table
        .find(bot_id)
        .select(bots::owner_number)
        .first::<Option<String>>(conn)
        .optional()?
        .flatten();
    Ok(owner.as_deref() == Some(sender))
}

/// Bots the supervisor should run at start-up: every paired bot not logged out, except in a
/// suspended workspace.
pub fn runnable_in(conn: &mut DbConn) -> QueryResult<Vec<Bot>> {
    bots::table
        .inner_join(crate::db::schema::tenants::table)
        .filter(crate::db::schema::tenants::suspended_at.is_null())
        .filter(bots::owner_number.is_not_null())
        .filter(bots::status.ne(BotStatus::LoggedOut))
        .filter(bots::paused_for_plan.eq(false))
        .select(Bot::as_select())
        .load(conn)
}

/// The scope's bots, newest first.
pub async fn list(ctx: &Context, scope: &TenantScope) -> ServiceResult<Vec<Bot>> {
    let tenant_id = scope.tenant_id().to_owned();
    Ok(ctx
        .db
        .run_in(scope.rows(), move |conn| {
            bots::table
                .filter(bots::tenant_id.eq(tenant_id))
                .order(bots::created_at.desc())
                .select(Bot::as_select())
                .load(conn)
        })
        .await?)
}

/// One of the scope's bots; a foreign or missing id is NotFound.
pub async fn find(ctx: &Context, scope: &TenantScope, id: &str) -> ServiceResult<Bot> {
    let (tenant_id, id) = (scope.tenant_id().to_owned(), id.to_owned());
    ctx.db
        .run_in(scope.rows(), move |conn| {
            bots::table
                .filter(bots::id.eq(id))
                .filter(bots::tenant_id.eq(tenant_id))
                .select(Bot::as_select())
                .first(conn)
                .optional()
        })
        .await?
        .ok_or(ServiceError::NotFound)
}

/// How a bot reaches WhatsApp. Stored as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum TransportKind {
    /// The built-in phone simulator.
    Sandbox,
    /// WhatsApp Web multi-device: a real phone scans the QR code.
    WhatsappWeb,
    /// Meta's WhatsApp Cloud API: webhooks in, the Graph API out.
    Cloud,
}

impl TransportKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sandbox => "sandbox",
            Self::WhatsappWeb => "web",
            Self::Cloud => "cloud",
        }
    }
}

impl FromStr for TransportKind {
    type Err = String;

    /// From a stored or submitted name; anything unknown is refused.
    fn from_str(raw: &str) -> Result<Self, String> {
        match raw {
            "sandbox" => Ok(Self::Sandbox),
            "web" => Ok(Self::WhatsappWeb),
            "cloud" => Ok(Self::Cloud),
            other => Err(format!("unknown transport `{other}`")),
        }
    }
}

crate::stored_as_text!(TransportKind);

/// Create a sandbox bot in the scope's workspace (owners and admins). It starts unpaired.
pub async fn create(ctx: &Context, scope: &TenantScope, raw_name: &str) -> ServiceResult<Bot> {
    create_with_transport(ctx, scope, raw_name, TransportKind::Sandbox).await
}

/// Create a bot on `transport` in the scope's workspace (owners and admins).
pub async fn create_with_transport(
    ctx: &Context,
    scope: &TenantScope,
    raw_name: &str,
    transport: TransportKind,
) -> ServiceResult<Bot> {
    if !scope.role().can_edit_workspace() {
        return Err(ServiceError::Forbidden(
            "Only owners and admins can add bots.",
        ));
    }
    let name =
        normalize_name(raw_name, "bot name").map_err(|m| ServiceError::invalid("name", m))?;
    let tenant_id = scope.tenant_id().to_owned();
    let id = new_id();
    let now = Utc::now().naive_utc();
    ctx.db
        .transaction(scope.rows(), move |conn| -> ServiceResult<Bot> {
            if let Decision::Denied(denial) =
                entitlements::check_to_add_in(conn, &tenant_id, Action::CreateBot)?
            {
                return Err(ServiceError::PlanLimit(Box::new(denial)));
            }
            diesel::insert_into(bots::table)
                .values((
                    bots::id.eq(&id),
                    bots::tenant_id.eq(&tenant_id),
                    bots::name.eq(&name),
                    bots::transport.eq(transport.as_str()),
                    bots::status.eq(BotStatus::Unpaired),
                    bots::created_at.eq(now),
                    bots::updated_at.eq(now),
                ))
                .execute(conn)?;
            Ok(find_in(conn, &id)?.ok_or(diesel::result::Error::NotFound)?)
        })
        .await
}

/// One of the scope's bots, when the scope may change it (owners and admins): a foreign id
/// is NotFound, a member's request Forbidden.
pub async fn find_to_change(ctx: &Context, scope: &TenantScope, id: &str) -> ServiceResult<Bot> {
    let bot = find(ctx, scope, id).await?;
    if !scope.role().can_edit_workspace() {
        return Err(ServiceError::Forbidden(
            "Only owners and admins can change bots.",
        ));
    }
    Ok(bot)
}

/// Rename one of the scope's bots.
pub async fn rename(
    ctx: &Context,
    scope: &TenantScope,
    id: &str,
    raw_name: &str,
) -> ServiceResult<()> {
    let bot = find(ctx, scope, id).await?;
    if !scope.role().can_edit_workspace() {
        return Err(ServiceError::Forbidden(
            "Only owners and admins can rename bots.",
        ));
    }
    let name =
        normalize_name(raw_name, "bot name").map_err(|m| ServiceError::invalid("name", m))?;
    ctx.db
        .run_in(scope.rows(), move |conn| {
            diesel::update(bots::table.find(&bot.id))
                .set((
                    bots::name.eq(name),
                    bots::updated_at.eq(Utc::now().naive_utc()),
                ))
                .execute(conn)
        })
        .await?;
    Ok(())
}

/// Forget the pairing: stop the bot, clear its owner; it must be scanned again. Audited.
pub async fn unpair(
    ctx: &Context,
    bots: &BotSupervisor,
    scope: &TenantScope,
    id: &str,
    client: &ClientInfo,
) -> ServiceResult<()> {
    let bot = find(ctx, scope, id).await?;
    if !scope.role().can_edit_workspace() {
        return Err(ServiceError::Forbidden(
            "Only owners and admins can unpair bots.",
        ));
    }
    bots.logout_and_stop(&bot.id).await;
    let (scope_in, client) = (scope.clone(), client.clone());
    ctx.db
        .run_in(scope.rows(), move |conn| {
            audit_bot_in(conn, &scope_in, audit::Action::BotUnpaired, &bot, &client)?;
            crate::bots::transport::whatsapp_web::store::clear_in(conn, &bot.id)?;
            crate::bots::transport::cloud_api::connection::forget_in(conn, &bot.id)?;
            diesel::update(bots::table.find(&bot.id))
                .set((
                    bots::owner_number.eq(None::<String>),
                    bots::paired_at.eq(None::<NaiveDateTime>),
                    bots::status.eq(BotStatus::Unpaired),
                    bots::status_reason.eq(None::<String>),
                    bots::updated_at.eq(Utc::now().naive_utc()),
                ))
                .execute(conn)?;
            crate::bots::sandbox_phones::close_all_in(conn, &bot.id)
        })
        .await?;
    Ok(())
}

/// Delete a bot: stop it and remove it with its messages, contacts and session. Audited.
pub async fn delete(
    ctx: &Context,
    bots: &BotSupervisor,
    scope: &TenantScope,
    id: &str,
    client: &ClientInfo,
) -> ServiceResult<()> {
    let bot = find(ctx, scope, id).await?;
    if !scope.role().can_edit_workspace() {
        return Err(ServiceError::Forbidden(
            "Only owners and admins can delete bots.",
        ));
    }
    bots.stop(&bot.id).await;
    let (scope_in, client, bot_in) = (scope.clone(), client.clone(), bot.clone());
    ctx.db
        .run_in(scope.rows(), move |conn| {
            audit_bot_in(conn, &scope_in, audit::Action::BotDeleted, &bot_in, &client)?;
            diesel::delete(bots::table.find(&bot_in.id)).execute(conn)
        })
        .await?;
    // The media rows went with the bot; now its files.
    if let Err(e) = bots
        .media_store()
        .remove_bot(bot.tenant_id.as_str(), bot.id.as_str())
        .await
    {
        tracing::error!(bot_id = %bot.id, error = %e, "a deleted bot's media files were not removed");
    }
    Ok(())
}

/// Record `action` on `bot` by the scope's person; the detail names the bot, which may be gone
/// by the time the log is read.
pub(crate) fn audit_bot_in(
    conn: &mut DbConn,
    scope: &TenantScope,
    action: audit::Action,
    bot: &Bot,
    client: &ClientInfo,
) -> QueryResult<()> {
    audit::record(
        conn,
        action,
        Some(scope.tenant_id()),
        Some(scope.user_id()),
        &bot.name,
        client,
    )
}

/// The bot a supervisor task runs, read with the system scope.
pub async fn find_for_runtime(
    db: &crate::db::Db,
    id: &str,
) -> Result<Option<Bot>, crate::db::DbError> {
    let id = id.to_owned();
    // A bot paused by its workspace's plan does not run until the plan allows it again.
    db.run_in(
        RowScope::across_tenants(
            "the runtime loads the bot it runs, by id, before any workspace is known",
        ),
        move |conn| {
            Ok(find_in(conn, &id)?.filter(|_| {
                !crate::billing::subscriptions::is_paused_in(conn, &id).unwrap_or(false)
            }))
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip() {
        for status in [
            BotStatus::Unpaired,
            BotStatus::Pairing,
            BotStatus::Connected,
            BotStatus::Reconnecting,
            BotStatus::LoggedOut,
            BotStatus::Error,
        ] {
            assert_eq!(status.as_str().parse::<BotStatus>().unwrap(), status);
        }
        assert!("dancing".parse::<BotStatus>().is_err());
    }
}
