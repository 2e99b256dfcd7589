//! The one answer to "which plan, which limits, how much used" that every page shows (the
//! dashboard, billing, upgrade, the wizard), so no two pages can disagree.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;

use super::entitlements::Quota;
use super::plans::{self, Plan};
use super::subscriptions::{self, Status};
use super::usage;
use crate::context::Context;
use crate::db::schema::bots;
use crate::error::ServiceResult;
use crate::numbers::thousands;
use crate::tenancy::TenantScope;

/// One quota's use, ready for a bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaUse {
    pub label: &'static str,
    pub used: i64,
    /// None: unlimited.
    pub limit: Option<i64>,
}

impl QuotaUse {
    /// How full the bar is, 0–100.
    pub fn percent(&self) -> i64 {
        match self.limit {
            Some(limit) if limit > 0 => (self.used * 100 / limit).clamp(0, 100),
            _ => 0,
        }
    }

    /// Whether the plan allows none of it (drawn as "not in your plan", never as a full bar).
    pub fn is_excluded(&self) -> bool {
        self.limit == Some(0)
    }

    /// Whether nothing is left.
    pub fn is_full(&self) -> bool {
        self.limit.is_some_and(|l| l > 0 && self.used >= l)
    }

    /// "35 of 1,000", "4 (unlimited)".
    pub fn summary(&self) -> String {
        match self.limit {
            Some(limit) => format!("{} of {}", thousands(self.used), thousands(limit)),
            None => format!("{} (unlimited)", thousands(self.used)),
        }
    }
}

/// The trial a workspace is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trial {
    pub ends_at: NaiveDateTime,
    /// Whole days left, 0 on the last day.
    pub days_left: i64,
}

/// A metric's last periods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricHistory {
    pub label: &'static str,
    pub periods: Vec<(String, i64)>,
}

/// The billing page of a workspace.
#[derive(Debug, Clone)]
pub struct PlanUsage {
    pub plan: Plan,
    pub status: Option<Status>,
    pub trial_ends_at: Option<NaiveDateTime>,
    pub grace_ends_at: Option<NaiveDateTime>,
    pub renews_at: Option<NaiveDateTime>,
    pub has_stripe_customer: bool,
    /// The trial, while the workspace is in one and it decides the plan.
    pub trial: Option<Trial>,
    /// A platform admin chose the plan by hand.
    pub set_by_operator: bool,
    /// The quotas this server has features for, in display order.
    pub quotas: Vec<QuotaUse>,
    pub history: Vec<MetricHistory>,
    pub paused_bots: i64,
}

/// The scope's plan, use and history.
pub async fn load(ctx: &Context, scope: &TenantScope) -> ServiceResult<PlanUsage> {
    let tenant_id = scope.tenant_id().to_owned();
    Ok(ctx
        .db
        .run_in(scope.rows(), move |conn| {
            let plan = subscriptions::current_plan_in(conn, &tenant_id)?;
            let subscription = subscriptions::find_in(conn, &tenant_id)?;
            let set_by_operator = subscriptions::plan_override_in(conn, &tenant_id)?.is_some();
            let trial = subscription
                .as_ref()
                .filter(|s| s.status() == Status::Trialing && !set_by_operator)
                .and_then(|s| s.trial_ends_at)
                .map(|ends_at| Trial {
                    ends_at,
                    days_left: (ends_at - Utc::now().naive_utc()).num_days().max(0),
                });
            let shown: Vec<Quota> = Quota::ALL
                .into_iter()
                .filter(|q| q.is_available())
                .collect();
            let mut quotas = Vec::new();
            for &quota in &shown {
                quotas.push(QuotaUse {
                    label: quota.label(),
                    used: quota.used_in(conn, &tenant_id)?,
                    limit: quota.limit_of(&plan),
                });
            }
            let mut history = Vec::new();
            for metric in shown.iter().filter_map(|q| q.metric()) {
                history.push(MetricHistory {
                    label: metric.label(),
                    periods: usage::history_in(conn, &tenant_id, metric, 6)?,
                });
            }
            let paused_bots = bots::table
                .filter(bots::tenant_id.eq(&tenant_id))
                .filter(bots::paused_for_plan.eq(true))
                .count()
                .get_result(conn)?;
            Ok(PlanUsage {
                plan,
                status: subscription.as_ref().map(|s| s.status()),
                trial_ends_at: subscription.as_ref().and_then(|s| s.trial_ends_at),
                grace_ends_at: subscription.as_ref().and_then(|s| s.grace_ends_at),
                renews_at: subscription.as_ref().and_then(|s| s.current_period_end),
                has_stripe_customer: subscription
                    .as_ref()
                    .is_some_and(|s| s.stripe_customer_id.is_some()),
                trial,
                set_by_operator,
                quotas,
                history,
                paused_bots,
            })
        })
        .await?)
}

/// The plan catalogue, cheapest first, for the pricing and upgrade pages.
pub async fn catalogue(ctx: &Context) -> ServiceResult<Vec<Plan>> {
    Ok(ctx
        .db
        .run_in(
            crate::db::RowScope::across_tenants("the plan catalogue belongs to no workspace"),
            plans::list,
        )
        .await?)
}
