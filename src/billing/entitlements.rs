//! The one answer to "may this tenant do this now?", asked by the command router, every page
//! and the API. A refusal carries what a customer needs to act on it: the limit, how much is
//! used, the cheapest plan that allows it and where to upgrade.
//!
//! `check_in` only reads; `consume_in` checks and counts metered actions (messages, AI
//! replies, broadcast recipients) in one step.

use chrono::Utc;
use diesel::prelude::*;

use super::meter::Tally;
use super::plans::{self, Feature, Plan};
use super::subscriptions;
use super::usage::{self, Metric};
use crate::context::Context;
use crate::db::DbConn;
use crate::db::schema::{bots, invitations, memberships, tenants};
use crate::error::ServiceResult;
use crate::tenancy::TenantScope;

/// Where a customer goes to upgrade.
pub const UPGRADE_PATH: &str = "/billing/upgrade";

/// The plan every workspace is on until it subscribes.
pub const DEFAULT_PLAN_ID: &str = subscriptions::FREE_PLAN_ID;

/// Something a tenant may or may not be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Create one more bot.
    CreateBot,
    /// Add one more member (invitation).
    AddMember,
    /// Take one more inbound message this month.
    ReceiveMessage,
    /// Send one more AI reply today.
    AiReply,
    /// Broadcast to this many recipients this month.
    Broadcast { recipients: i64 },
    /// Use a premium feature.
    Use(Feature),
}

/// A plan's quota, named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quota {
    Bots,
    Members,
    Messages,
    AiReplies,
    BroadcastRecipients,
}

impl Quota {
    /// Every quota, in display order.
    pub const ALL: [Quota; 5] = [
        Self::Bots,
        Self::Members,
        Self::Messages,
        Self::AiReplies,
        Self::BroadcastRecipients,
    ];

    /// The plan's limit (None: unlimited).
    pub fn limit_of(self, plan: &Plan) -> Option<i64> {
        let limit = match self {
            Self::Bots => plan.max_bots,
            Self::Members => plan.max_members,
            Self::Messages => plan.max_messages_per_month,
            Self::AiReplies => plan.max_ai_replies_per_day,
            Self::BroadcastRecipients => plan.max_broadcast_recipients_per_month,
        };
        limit.map(i64::from)
    }

    /// How a customer names it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Bots => "Bots",
            Self::Members => "Team members",
            Self::Messages => "Messages received this month",
            Self::AiReplies => "AI replies today",
            Self::BroadcastRecipients => "Broadcast recipients this month",
        }
    }

    /// The feature it belongs to, if any: a quota is shown only where its feature is.
    pub fn feature(self) -> Option<Feature> {
        match self {
            Self::AiReplies => Some(Feature::AiReplies),
            Self::BroadcastRecipients => Some(Feature::Broadcasts),
            Self::Bots | Self::Members | Self::Messages => None,
        }
    }

    /// Whether this server has what the quota counts.
    pub fn is_available(self) -> bool {
        self.feature().is_none_or(Feature::is_available)
    }

    /// The metered counter behind it, if it is metered.
    pub fn metric(self) -> Option<Metric> {
        match self {
            Self::Messages => Some(Metric::Messages),
            Self::AiReplies => Some(Metric::AiReplies),
            Self::BroadcastRecipients => Some(Metric::BroadcastRecipients),
            Self::Bots | Self::Members => None,
        }
    }

    /// How much of it the workspace uses now.
    pub fn used_in(self, conn: &mut DbConn, tenant_id: &str) -> QueryResult<i64> {
        match self {
            Self::Bots => bots::table
                .filter(bots::tenant_id.eq(tenant_id))
                .count()
                .get_result(conn),
            Self::Members => {
                let members: i64 = memberships::table
                    .filter(memberships::tenant_id.eq(tenant_id))
                    .count()
                    .get_result(conn)?;
                // A pending invitation holds a seat: otherwise inviting ten people at once
                // would get round the limit.
                let pending: i64 = invitations::table
                    .filter(invitations::tenant_id.eq(tenant_id))
                    .filter(invitations::accepted_at.is_null())
                    .filter(invitations::revoked_at.is_null())
                    .filter(invitations::expires_at.gt(Utc::now().naive_utc()))
                    .count()
                    .get_result(conn)?;
                Ok(members + pending)
            }
            Self::Messages | Self::AiReplies | Self::BroadcastRecipients => {
                let metric = self.metric().unwrap_or(Metric::Messages);
                usage::used_in(conn, tenant_id, metric)
            }
        }
    }
}

impl Action {
    /// The quota it uses and how many units, and the feature it needs, if any.
    fn needs(self) -> (Option<(Quota, i64)>, Option<Feature>) {
        match self {
            Self::CreateBot => (Some((Quota::Bots, 1)), None),
            Self::AddMember => (Some((Quota::Members, 1)), None),
            Self::ReceiveMessage => (Some((Quota::Messages, 1)), None),
            Self::AiReply => (Some((Quota::AiReplies, 1)), Some(Feature::AiReplies)),
            Self::Broadcast { recipients } => (
                Some((Quota::BroadcastRecipients, recipients.max(0))),
                Some(Feature::Broadcasts),
            ),
            Self::Use(feature) => (None, Some(feature)),
        }
    }
}

pub use crate::error::Denial;

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    Denied(Denial),
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        matches!(self, Self::Allowed)
    }

    /// The refusal, if any.
    pub fn denial(self) -> Option<Denial> {
        match self {
            Self::Allowed => None,
            Self::Denied(denial) => Some(denial),
        }
    }
}

/// Check a counted quota (bots, members) before adding one, so that two requests at once
/// cannot both take the last unit: on PostgreSQL the workspace's row stays locked until the
/// caller's transaction ends; on SQLite every transaction holds the write lock from its start
/// (`BEGIN IMMEDIATE`), so the second request counts after the first has committed.
pub fn check_to_add_in(
    conn: &mut DbConn,
    tenant_id: &str,
    action: Action,
) -> QueryResult<Decision> {
    if let DbConn::Pg(pg) = conn {
        tenants::table
            .find(tenant_id)
            .select(tenants::id)
            .for_update()
            .execute(pg)?;
    }
    check_in(conn, tenant_id, action)
}

/// Answer on a connection (inside the caller's transaction), counting nothing.
pub fn check_in(conn: &mut DbConn, tenant_id: &str, action: Action) -> QueryResult<Decision> {
    let plan = subscriptions::current_plan_in(conn, tenant_id)?;
    let (quota, feature) = action.needs();
    if let Some(denial) = feature_denial(conn, &plan, feature)? {
        return Ok(Decision::Denied(denial));
    }
    let Some((quota, units)) = quota else {
        return Ok(Decision::Allowed);
    };
    let used = quota.used_in(conn, tenant_id)?;
    quota_decision(conn, &plan, quota, used, units)
}

/// Check a metered action and, when allowed, count it on `tally`: in the caller's
/// transaction for a database tally, in Redis once that transaction committed otherwise
/// (see [`super::meter`]). Actions that are not metered (bots, members, features) are only
/// checked.
pub fn consume_in(
    conn: &mut DbConn,
    tally: &mut Tally,
    tenant_id: &str,
    action: Action,
) -> QueryResult<Decision> {
    let (quota, feature) = action.needs();
    let Some((quota, metric, units)) = quota.and_then(|(q, n)| q.metric().map(|m| (q, m, n)))
    else {
        return check_in(conn, tenant_id, action);
    };
    let plan = subscriptions::current_plan_in(conn, tenant_id)?;
    if let Some(denial) = feature_denial(conn, &plan, feature)? {
        return Ok(Decision::Denied(denial));
    }
    if !tally.counts_in_database() {
        debug_assert_eq!(
            tally.tenant_id(),
            tenant_id,
            "a tally counts for one workspace"
        );
        let baseline = tally.baseline_in(conn, metric)?;
        let used = baseline + tally.taken(metric);
        let decision = quota_decision(conn, &plan, quota, used, units)?;
        if decision.is_allowed() {
            tally.take(metric, units, baseline);
        }
        return Ok(decision);
    }
    // Count first: the counter's row lock then serialises concurrent callers, and a unit
    // over the limit is taken back before anyone else can see it.
    let after = usage::add_in(conn, tenant_id, metric, units)?;
    let decision = quota_decision(conn, &plan, quota, after - units, units)?;
    if !decision.is_allowed() {
        usage::add_in(conn, tenant_id, metric, -units)?;
    }
    Ok(decision)
}

fn feature_denial(
    conn: &mut DbConn,
    plan: &Plan,
    feature: Option<Feature>,
) -> QueryResult<Option<Denial>> {
    let Some(feature) = feature.filter(|f| !plan.feature_list().contains(f)) else {
        return Ok(None);
    };
    let needed = plans::list(conn)?
        .into_iter()
        .find(|p| p.feature_list().contains(&feature));
    Ok(Some(Denial {
        code: "feature_not_in_plan",
        what: feature.label().to_string(),
        limit: None,
        used: 0,
        plan_needed: needed.as_ref().map(|p| p.id.clone()),
        plan_needed_name: needed.map(|p| p.name),
        upgrade_url: UPGRADE_PATH.to_string(),
    }))
}

fn quota_decision(
    conn: &mut DbConn,
    plan: &Plan,
    quota: Quota,
    used: i64,
    units: i64,
) -> QueryResult<Decision> {
    let Some(limit) = quota.limit_of(plan) else {
        return Ok(Decision::Allowed);
    };
    if used + units <= limit {
        return Ok(Decision::Allowed);
    }
    let needed = plans::list(conn)?
        .into_iter()
        .filter(|p| p.position > plan.position)
        .find(|p| quota.limit_of(p).is_none_or(|l| used + units <= l));
    Ok(Decision::Denied(Denial {
        code: "plan_limit_reached",
        what: quota.label().to_string(),
        limit: Some(limit),
        used,
        plan_needed: needed.as_ref().map(|p| p.id.clone()),
        plan_needed_name: needed.map(|p| p.name),
        upgrade_url: UPGRADE_PATH.to_string(),
    }))
}

/// [`check_in`] for pages and the API, in the scope's own transaction.
pub async fn check(ctx: &Context, scope: &TenantScope, action: Action) -> ServiceResult<Decision> {
    let tenant_id = scope.tenant_id().to_owned();
    Ok(ctx
        .db
        .run_in(scope.rows(), move |conn| check_in(conn, &tenant_id, action))
        .await?)
}
