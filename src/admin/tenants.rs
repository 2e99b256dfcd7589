//! Platform admin work on tenants: search, a tenant's page, suspension, a plan set by hand,
//! and resending an owner's verification email. Every action is audited with its reason.

use std::collections::HashMap;

use chrono::{Duration, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::platform_metrics::CHART_DAYS;
use crate::accounts::email_links;
use crate::billing::plans::{self, Plan};
use crate::billing::subscriptions::{self, BotChanges};
use crate::bots::{Bot, BotStatus};
use crate::context::Context;
use crate::db::schema::{
    audit_events, bots, memberships, message_rollups, tenant_rollups, tenants, users,
};
use crate::db::{DbConn, RowScope};
use crate::error::{ServiceError, ServiceResult};
use crate::ids::{BotId, UserId};
use crate::tenancy::Role;
use crate::tenants::audit::{self, Action, AuditEvent, ClientInfo};

/// Tenants per page of the list.
pub const PAGE_SIZE: i64 = 50;

/// The platform admin acting, for the audit trail.
#[derive(Debug, Clone)]
pub struct AdminActor {
    pub user_id: UserId,
    pub client: ClientInfo,
}

/// A tenant as the list shows it.
#[derive(Debug, Clone)]
pub struct TenantRow {
    pub id: String,
    pub name: String,
    pub created_at: NaiveDateTime,
    pub suspended: bool,
    pub plan_name: String,
    pub bots: i64,
    pub messages_this_month: i64,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = tenants)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct TenantRecord {
    id: String,
    name: String,
    created_at: NaiveDateTime,
    suspended_at: Option<NaiveDateTime>,
    suspended_reason: Option<String>,
    plan_override: Option<String>,
}

/// A member of the tenant, for its page.
#[derive(Debug, Clone)]
pub struct TenantMember {
    pub name: String,
    pub email: String,
    pub role: String,
    pub verified: bool,
}

/// Everything the tenant page shows.
#[derive(Debug, Clone)]
pub struct TenantDetail {
    pub id: String,
    pub name: String,
    pub created_at: NaiveDateTime,
    pub suspended_at: Option<NaiveDateTime>,
    pub suspended_reason: Option<String>,
    pub plan: Plan,
    pub plan_override: Option<String>,
    pub catalogue: Vec<Plan>,
    pub bots: Vec<Bot>,
    pub members: Vec<TenantMember>,
    /// Messages per day (in + out) over the chart window.
    pub messages_per_day: Vec<(NaiveDate, i64)>,
    pub messages_this_month: i64,
    pub audit: Vec<AuditEvent>,
}

fn first_of_month(today: NaiveDate) -> NaiveDate {
    crate::analytics::rollups::month_of(today)
}

/// Escape `%`, `_` and `\` for a LIKE pattern.
fn like_pattern(search: &str) -> String {
    let mut escaped = String::with_capacity(search.len() + 2);
    escaped.push('%');
    for c in search.trim().to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped.push('%');
    escaped
}

/// Tenants whose name contains `search` (or whose id is `search`), newest first.
pub async fn list(ctx: &Context, search: &str, page: i64) -> ServiceResult<Vec<TenantRow>> {
    let (search, page) = (search.trim().to_owned(), page.max(0));
    Ok(ctx
        .db
        .run_in(
            RowScope::across_tenants("a platform admin lists every workspace"),
            move |conn| list_in(conn, &search, page),
        )
        .await?)
}

fn list_in(conn: &mut DbConn, search: &str, page: i64) -> QueryResult<Vec<TenantRow>> {
    define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);
    let mut query = tenants::table
        .select(TenantRecord::as_select())
        .order((tenants::created_at.desc(), tenants::id.asc()))
        .limit(PAGE_SIZE)
        .offset(page * PAGE_SIZE)
        .into_boxed();
    if !search.is_empty() {
        query = query.filter(
            lower(tenants::name)
                .like(like_pattern(search))
                .escape('\\')
                .or(tenants::id.eq(search.to_owned())),
        );
    }
    let records: Vec<TenantRecord> = query.load(conn)?;
    let ids: Vec<String> = records.iter().map(|r| r.id.clone()).collect();

    let bot_counts: HashMap<String, i64> = bots::table
        .filter(bots::tenant_id.eq_any(&ids))
        .group_by(bots::tenant_id)
        .select((bots::tenant_id, diesel::dsl::count_star()))
        .load::<(String, i64)>(conn)?
        .into_iter()
        .collect();
    let usage: HashMap<String, i64> = tenant_rollups::table
        .filter(tenant_rollups::tenant_id.eq_any(&ids))
        .filter(tenant_rollups::month.eq(first_of_month(Utc::now().date_naive())))
        .select((tenant_rollups::tenant_id, tenant_rollups::messages))
        .load::<(String, i64)>(conn)?
        .into_iter()
        .collect();
    records
        .into_iter()
        .map(|record| {
            let plan = subscriptions::current_plan_in(conn, &record.id)?;
            Ok(TenantRow {
                bots: bot_counts.get(&record.id).copied().unwrap_or(0),
                messages_this_month: usage.get(&record.id).copied().unwrap_or(0),
                suspended: record.suspended_at.is_some(),
                plan_name: plan.name,
                id: record.id,
                name: record.name,
                created_at: record.created_at,
            })
        })
        .collect()
}

/// One tenant's page; an unknown id is NotFound.
pub async fn detail(ctx: &Context, tenant_id: &str) -> ServiceResult<TenantDetail> {
    let tenant_id = tenant_id.to_owned();
    ctx.db
        .run_in(
            RowScope::across_tenants("a platform admin opens any workspace"),
            move |conn| detail_in(conn, &tenant_id),
        )
        .await?
        .ok_or(ServiceError::NotFound)
}

fn detail_in(conn: &mut DbConn, tenant_id: &str) -> QueryResult<Option<TenantDetail>> {
    let Some(record) = tenants::table
        .find(tenant_id)
        .select(TenantRecord::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let plan = subscriptions::current_plan_in(conn, tenant_id)?;
    let catalogue = plans::list(conn)?;
    let tenant_bots = bots::table
        .filter(bots::tenant_id.eq(tenant_id))
        .order(bots::created_at.asc())
        .select(Bot::as_select())
        .load(conn)?;
    let members = memberships::table
        .inner_join(users::table)
        .filter(memberships::tenant_id.eq(tenant_id))
        .order(memberships::created_at.asc())
        .select((
            users::name,
            users::email,
            memberships::role,
            users::email_verified_at,
        ))
        .load::<(String, String, String, Option<NaiveDateTime>)>(conn)?
        .into_iter()
        .map(|(name, email, role, verified_at)| TenantMember {
            name,
            email,
            role,
            verified: verified_at.is_some(),
        })
        .collect();
    let today = Utc::now().date_naive();
    let window_start = today - Duration::days(CHART_DAYS - 1);
    let mut per_day: HashMap<NaiveDate, i64> = HashMap::new();
    for (day, inbound, outbound) in message_rollups::table
        .filter(message_rollups::tenant_id.eq(tenant_id))
        .filter(message_rollups::day.ge(window_start.min(first_of_month(today))))
        .select((
            message_rollups::day,
            message_rollups::messages_in,
            message_rollups::messages_out,
        ))
        .load::<(NaiveDate, i64, i64)>(conn)?
    {
        *per_day.entry(day).or_default() += inbound + outbound;
    }
    let month_start = first_of_month(today);
    let messages_this_month = per_day
        .iter()
        .filter(|(day, _)| **day >= month_start)
        .map(|(_, n)| n)
        .sum();
    let messages_per_day = window_start
        .iter_days()
        .take_while(|day| *day <= today)
        .map(|day| (day, per_day.get(&day).copied().unwrap_or(0)))
        .collect();
    let audit = audit_events::table
        .filter(audit_events::tenant_id.eq(tenant_id))
        .order(audit_events::created_at.desc())
        .limit(50)
        .select(AuditEvent::as_select())
        .load(conn)?;
    Ok(Some(TenantDetail {
        id: record.id,
        name: record.name,
        created_at: record.created_at,
        suspended_at: record.suspended_at,
        suspended_reason: record.suspended_reason,
        plan,
        plan_override: record.plan_override,
        catalogue,
        bots: tenant_bots,
        members,
        messages_per_day,
        messages_this_month,
        audit,
    }))
}

/// A reason an operator typed: required, one line, at most 500 characters.
fn reason(raw: &str) -> ServiceResult<String> {
    let reason = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if reason.is_empty() {
        return Err(ServiceError::invalid(
            "reason",
            "Give a reason: it goes into the audit trail.",
        ));
    }
    if reason.chars().count() > 500 {
        return Err(ServiceError::invalid(
            "reason",
            "Keep the reason under 500 characters.",
        ));
    }
    Ok(reason)
}

fn exists_in(conn: &mut DbConn, tenant_id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(tenants::table.find(tenant_id))).get_result(conn)
}

/// Suspend a tenant: its members cannot sign in to it. Returns its bots, for the caller to
/// stop.
pub async fn suspend(
    ctx: &Context,
    actor: &AdminActor,
    tenant_id: &str,
    raw_reason: &str,
) -> ServiceResult<Vec<BotId>> {
    let reason = reason(raw_reason)?;
    let (id, actor_id, client) = (
        tenant_id.to_owned(),
        actor.user_id.clone(),
        actor.client.clone(),
    );
    let stopped: Vec<BotId> = ctx
        .db
        .transaction(
            RowScope::across_tenants("a platform admin suspends any workspace"),
            move |conn| -> ServiceResult<Vec<BotId>> {
                if !exists_in(conn, &id)? {
                    return Err(ServiceError::NotFound);
                }
                let now = Utc::now().naive_utc();
                diesel::update(tenants::table.find(&id))
                    .set((
                        tenants::suspended_at.eq(Some(now)),
                        tenants::suspended_reason.eq(Some(&reason)),
                        tenants::updated_at.eq(now),
                    ))
                    .execute(conn)?;
                // Every bot stops (an unpaired one shows a QR code); paired ones say why.
                let all: Vec<BotId> = bots::table
                    .filter(bots::tenant_id.eq(&id))
                    .select(bots::id)
                    .load(conn)?;
                diesel::update(
                    bots::table
                        .filter(bots::tenant_id.eq(&id))
                        .filter(bots::status.ne(BotStatus::LoggedOut))
                        .filter(bots::owner_number.is_not_null()),
                )
                .set((
                    bots::status.eq(BotStatus::Error),
                    bots::status_reason.eq(Some(SUSPENDED_BOT_REASON)),
                    bots::updated_at.eq(now),
                ))
                .execute(conn)?;
                audit::record(
                    conn,
                    Action::TenantSuspended,
                    Some(&id),
                    Some(&actor_id),
                    &reason,
                    &client,
                )?;
                Ok(all)
            },
        )
        .await?;
    Ok(stopped)
}

/// Why a suspended tenant's bots are stopped, as their status says.
pub const SUSPENDED_BOT_REASON: &str = "Workspace suspended by the platform";

/// Lift a suspension: sign-in works again. Returns the paired bots, for the caller to start.
pub async fn unsuspend(
    ctx: &Context,
    actor: &AdminActor,
    tenant_id: &str,
    raw_reason: &str,
) -> ServiceResult<Vec<BotId>> {
    let reason = reason(raw_reason)?;
    let (id, actor_id, client) = (
        tenant_id.to_owned(),
        actor.user_id.clone(),
        actor.client.clone(),
    );
    let restart: Vec<BotId> = ctx
        .db
        .transaction(
            RowScope::across_tenants("a platform admin lifts any suspension"),
            move |conn| -> ServiceResult<Vec<BotId>> {
                if !exists_in(conn, &id)? {
                    return Err(ServiceError::NotFound);
                }
                let now = Utc::now().naive_utc();
                diesel::update(tenants::table.find(&id))
                    .set((
                        tenants::suspended_at.eq(None::<NaiveDateTime>),
                        tenants::suspended_reason.eq(None::<String>),
                        tenants::updated_at.eq(now),
                    ))
                    .execute(conn)?;
                let paired: Vec<BotId> = bots::table
                    .filter(bots::tenant_id.eq(&id))
                    .filter(bots::status.ne(BotStatus::LoggedOut))
                    .filter(bots::owner_number.is_not_null())
                    .select(bots::id)
                    .load(conn)?;
                diesel::update(
                    bots::table
                        .filter(bots::id.eq_any(&paired))
                        .filter(bots::status_reason.eq(SUSPENDED_BOT_REASON)),
                )
                .set((
                    bots::status.eq(BotStatus::Reconnecting),
                    bots::status_reason.eq(None::<String>),
                    bots::updated_at.eq(now),
                ))
                .execute(conn)?;
                audit::record(
                    conn,
                    Action::TenantUnsuspended,
                    Some(&id),
                    Some(&actor_id),
                    &reason,
                    &client,
                )?;
                Ok(paired)
            },
        )
        .await?;
    Ok(restart)
}

/// Put a tenant on `plan_id` by hand (empty: back to what billing says), with a reason.
/// Returns the bots the new plan's limit paused or resumed, for the caller to stop or start.
pub async fn change_plan(
    ctx: &Context,
    actor: &AdminActor,
    tenant_id: &str,
    plan_id: &str,
    raw_reason: &str,
) -> ServiceResult<BotChanges> {
    let reason = reason(raw_reason)?;
    let chosen = Some(plan_id.trim().to_owned()).filter(|p| !p.is_empty());
    let (id, actor_id, client) = (
        tenant_id.to_owned(),
        actor.user_id.clone(),
        actor.client.clone(),
    );
    ctx.db
        .transaction(
            RowScope::across_tenants("a platform admin sets any workspace's plan"),
            move |conn| -> ServiceResult<BotChanges> {
                if !exists_in(conn, &id)? {
                    return Err(ServiceError::NotFound);
                }
                if let Some(plan_id) = &chosen
                    && !plans::list(conn)?.iter().any(|p| &p.id == plan_id)
                {
                    return Err(ServiceError::invalid(
                        "plan",
                        "Choose a plan from the list.",
                    ));
                }
                let before = subscriptions::current_plan_in(conn, &id)?;
                diesel::update(tenants::table.find(&id))
                    .set((
                        tenants::plan_override.eq(&chosen),
                        tenants::updated_at.eq(Utc::now().naive_utc()),
                    ))
                    .execute(conn)?;
                let after = subscriptions::current_plan_in(conn, &id)?;
                let detail = match &chosen {
                    Some(_) => format!("{} → {} (set by hand): {reason}", before.name, after.name),
                    None => format!(
                        "{} → {} (back to billing): {reason}",
                        before.name, after.name
                    ),
                };
                audit::record(
                    conn,
                    Action::PlanChanged,
                    Some(&id),
                    Some(&actor_id),
                    &detail,
                    &client,
                )?;
                // The new plan's bot limit applies at once, as it does for a Stripe change.
                Ok(subscriptions::apply_bot_limit_in(conn, &id)?)
            },
        )
        .await
}

/// Send the tenant's unverified owners a new confirmation link; returns how many were sent.
pub async fn resend_verification(
    ctx: &Context,
    actor: &AdminActor,
    tenant_id: &str,
) -> ServiceResult<usize> {
    let (id, actor_id, client) = (
        tenant_id.to_owned(),
        actor.user_id.clone(),
        actor.client.clone(),
    );
    let owners: Vec<(String, String)> = ctx
        .db
        .transaction(
            RowScope::across_tenants("a platform admin resends any owner's verification"),
            move |conn| -> ServiceResult<Vec<(String, String)>> {
                if !exists_in(conn, &id)? {
                    return Err(ServiceError::NotFound);
                }
                let owners: Vec<(String, String)> = memberships::table
                    .inner_join(users::table)
                    .filter(memberships::tenant_id.eq(&id))
                    .filter(memberships::role.eq(Role::Owner))
                    .filter(users::email_verified_at.is_null())
                    .select((users::id, users::email))
                    .load(conn)?;
                if owners.is_empty() {
                    return Ok(owners);
                }
                let emails: Vec<&str> = owners.iter().map(|o| o.1.as_str()).collect();
                audit::record(
                    conn,
                    Action::VerificationResent,
                    Some(&id),
                    Some(&actor_id),
                    &emails.join(", "),
                    &client,
                )?;
                Ok(owners)
            },
        )
        .await?;
    for (user_id, email) in &owners {
        email_links::send_verification(ctx, user_id, email).await?;
    }
    Ok(owners.len())
}
