//! The platform at a glance: the numbers of `/admin/metrics`, all read from roll-ups and
//! indexed columns in one read-only transaction.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Text};

use crate::analytics::rollups;
use crate::billing::plans::{self, Plan};
use crate::bots::failures::{self, PlatformError};
use crate::db::schema::{bots, tenants};
use crate::db::{Db, DbConn, DbError, RowScope};

/// How many days the charts cover.
pub const CHART_DAYS: i64 = 30;

/// Messages on one day, platform-wide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, QueryableByName)]
pub struct DayMessages {
    #[diesel(sql_type = Date)]
    pub day: NaiveDate,
    #[diesel(sql_type = BigInt)]
    pub messages_in: i64,
    #[diesel(sql_type = BigInt)]
    pub messages_out: i64,
    #[diesel(sql_type = BigInt)]
    pub ai_replies: i64,
}

impl DayMessages {
    /// In and out together.
    pub fn total(&self) -> i64 {
        self.messages_in + self.messages_out
    }
}

/// A tenant among the busiest.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct TopTenant {
    #[diesel(sql_type = Text)]
    pub tenant_id: String,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = BigInt)]
    pub messages: i64,
}

/// How many tenants are on a plan, and what they pay together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanShare {
    pub plan_id: String,
    pub plan_name: String,
    pub tenants: i64,
    pub monthly_cents: i64,
}

#[derive(QueryableByName)]
struct PlanCount {
    #[diesel(sql_type = Text)]
    plan_id: String,
    #[diesel(sql_type = BigInt)]
    tenants: i64,
    /// Of those, how many pay: an active (or past-due) subscription, or a plan set by hand.
    #[diesel(sql_type = BigInt)]
    paying: i64,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Everything the dashboard shows.
#[derive(Debug, Clone)]
pub struct PlatformMetrics {
    pub today: NaiveDate,
    pub tenants_total: i64,
    pub tenants_active_7d: i64,
    /// Tenants in a trial (not suspended, no plan set by hand).
    pub tenants_on_trial: i64,
    pub tenants_suspended: i64,
    /// (status, bots), every status present.
    pub bots_by_status: Vec<(String, i64)>,
    pub messages_today: i64,
    pub messages_7d: i64,
    pub messages_30d: i64,
    pub ai_replies_30d: i64,
    pub plans: Vec<PlanShare>,
    pub estimated_mrr_cents: i64,
    /// One entry per day of the chart window, oldest first, zero-filled.
    pub messages_per_day: Vec<DayMessages>,
    /// New workspaces per day, oldest first, zero-filled.
    pub signups_per_day: Vec<(NaiveDate, i64)>,
    /// The busiest tenants this month.
    pub top_tenants: Vec<TopTenant>,
    pub recent_errors: Vec<PlatformError>,
}

/// Read the overview as of now.
pub async fn load(db: &Db) -> Result<PlatformMetrics, DbError> {
    let today = Utc::now().date_naive();
    db.run_in(
        RowScope::across_tenants("the platform dashboard adds up every workspace"),
        move |conn| load_in(conn, today),
    )
    .await
}

/// Read the overview as of `today` (UTC) within the caller's system-scoped transaction.
pub fn load_in(conn: &mut DbConn, today: NaiveDate) -> QueryResult<PlatformMetrics> {
    let window_start = today - Duration::days(CHART_DAYS - 1);
    let week_start = today - Duration::days(6);

    let tenants_total: i64 = tenants::table.count().get_result(conn)?;
    let tenants_suspended: i64 = tenants::table
        .filter(tenants::suspended_at.is_not_null())
        .count()
        .get_result(conn)?;
    let tenants_active_7d = diesel::sql_query(
        "SELECT COUNT(DISTINCT tenant_id) AS n FROM tenant_rollups WHERE last_day >= $1",
    )
    .bind::<Date, _>(week_start)
    .get_result::<Count>(conn)?
    .n;
    let bots_by_status: Vec<(String, i64)> = bots::table
        .group_by(bots::status)
        .select((bots::status, diesel::dsl::count_star()))
        .order(bots::status.asc())
        .load(conn)?;

    let stored: Vec<DayMessages> = diesel::sql_query(
        "SELECT day, CAST(SUM(messages_in) AS BIGINT) AS messages_in, \
                CAST(SUM(messages_out) AS BIGINT) AS messages_out, \
                CAST(SUM(ai_replies) AS BIGINT) AS ai_replies \
         FROM platform_rollups WHERE day >= $1 GROUP BY day ORDER BY day",
    )
    .bind::<Date, _>(window_start)
    .load(conn)?;
    let messages_per_day = zero_filled_messages(&stored, window_start, today);
    let since = |start: NaiveDate| -> i64 {
        messages_per_day
            .iter()
            .filter(|d| d.day >= start)
            .map(DayMessages::total)
            .sum()
    };
    let messages_today = since(today);
    let messages_7d = since(week_start);
    let messages_30d = since(window_start);
    let ai_replies_30d = messages_per_day.iter().map(|d| d.ai_replies).sum();

    let signups: Vec<NaiveDateTime> = tenants::table
        .filter(tenants::created_at.ge(window_start.and_time(chrono::NaiveTime::MIN)))
        .select(tenants::created_at)
        .load(conn)?;
    let signups_per_day = per_day(signups.iter().map(|t| t.date()), window_start, today);

    let top_tenants: Vec<TopTenant> = diesel::sql_query(
        "SELECT r.tenant_id, t.name, r.messages FROM tenant_rollups r \
         JOIN tenants t ON t.id = r.tenant_id \
         WHERE r.month = $1 ORDER BY r.messages DESC, r.tenant_id LIMIT 10",
    )
    .bind::<Date, _>(rollups::month_of(today))
    .load(conn)?;

    let (plans, estimated_mrr_cents) = plan_distribution_in(conn)?;
    let tenants_on_trial = diesel::sql_query(
        "SELECT COUNT(*) AS n FROM subscriptions s JOIN tenants t ON t.id = s.tenant_id \
         WHERE s.status = 'trialing' AND t.plan_override IS NULL AND t.suspended_at IS NULL",
    )
    .get_result::<Count>(conn)?
    .n;
    let recent_errors = failures::recent_in(conn, 10)?;

    Ok(PlatformMetrics {
        today,
        tenants_total,
        tenants_active_7d,
        tenants_on_trial,
        tenants_suspended,
        bots_by_status,
        messages_today,
        messages_7d,
        messages_30d,
        ai_replies_30d,
        plans,
        estimated_mrr_cents,
        messages_per_day,
        signups_per_day,
        top_tenants,
        recent_errors,
    })
}

/// Tenants per plan (suspended ones excluded) and the monthly revenue they imply.
///
/// The plan is the admin's override, else the subscription's plan, else the default plan, as
/// `billing::subscriptions::current_plan_in` decides per tenant (one grouped query here, for
/// 10,000 tenants).
fn plan_distribution_in(conn: &mut DbConn) -> QueryResult<(Vec<PlanShare>, i64)> {
    // A subscription grants its plan while trialing, active or past due (as
    // `Subscription::effective_plan_id`); trials count under their plan but pay nothing.
    let counts: Vec<PlanCount> = diesel::sql_query(
        "SELECT COALESCE(t.plan_override, \
                  CASE WHEN s.status IN ('trialing', 'active', 'past_due') THEN s.plan_id END, $1) \
                  AS plan_id, \
                COUNT(*) AS tenants, \
                CAST(SUM(CASE WHEN t.plan_override IS NOT NULL \
                              OR s.status IN ('active', 'past_due') THEN 1 ELSE 0 END) AS BIGINT) \
                  AS paying \
         FROM tenants t LEFT JOIN subscriptions s ON s.tenant_id = t.id \
         WHERE t.suspended_at IS NULL \
         GROUP BY COALESCE(t.plan_override, \
                  CASE WHEN s.status IN ('trialing', 'active', 'past_due') THEN s.plan_id END, $1)",
    )
    .bind::<Text, _>(crate::billing::entitlements::DEFAULT_PLAN_ID)
    .load(conn)?;
    let catalogue: Vec<Plan> = plans::list(conn)?;
    let by_id: BTreeMap<&str, &PlanCount> =
        counts.iter().map(|c| (c.plan_id.as_str(), c)).collect();
    let shares: Vec<PlanShare> = catalogue
        .iter()
        .map(|plan| {
            let (tenants, paying) = by_id
                .get(plan.id.as_str())
                .map_or((0, 0), |c| (c.tenants, c.paying));
            PlanShare {
                plan_id: plan.id.clone(),
                plan_name: plan.name.clone(),
                tenants,
                monthly_cents: paying * i64::from(plan.monthly_price_cents),
            }
        })
        .collect();
    let mrr = shares.iter().map(|s| s.monthly_cents).sum();
    Ok((shares, mrr))
}

fn zero_filled_messages(
    stored: &[DayMessages],
    start: NaiveDate,
    end: NaiveDate,
) -> Vec<DayMessages> {
    let by_day: BTreeMap<NaiveDate, DayMessages> = stored.iter().map(|d| (d.day, *d)).collect();
    start
        .iter_days()
        .take_while(|day| *day <= end)
        .map(|day| {
            by_day.get(&day).copied().unwrap_or(DayMessages {
                day,
                messages_in: 0,
                messages_out: 0,
                ai_replies: 0,
            })
        })
        .collect()
}

/// Count `days` per day from `start` to `end`, zero-filled.
pub fn per_day(
    days: impl Iterator<Item = NaiveDate>,
    start: NaiveDate,
    end: NaiveDate,
) -> Vec<(NaiveDate, i64)> {
    let mut counts: BTreeMap<NaiveDate, i64> = start
        .iter_days()
        .take_while(|day| *day <= end)
        .map(|day| (day, 0))
        .collect();
    for day in days {
        if let Some(n) = counts.get_mut(&day) {
            *n += 1;
        }
    }
    counts.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_counted_and_zero_filled() {
        let start = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let end = NaiveDate::from_ymd_opt(2026, 11, 3).unwrap();
        let days = [end, end, start, end + Duration::days(1)];
        assert_eq!(
            per_day(days.into_iter(), start, end),
            vec![(start, 1), (start + Duration::days(1), 0), (end, 2)]
        );
    }
}
