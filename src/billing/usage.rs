//! Usage metering: one counter per workspace, metric and period, added to with a single
//! atomic upsert inside the caller's transaction.
//!
//! Counting in the same transaction as the thing counted (an inbound message is counted in
//! the transaction that stores it) is what makes a redelivery count nothing: the message
//! insert is refused, the transaction stops, and the counter is never touched. Concurrent
//! increments are serialised by the row's lock, so the total is exact.

use chrono::{NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};

use crate::db::DbConn;
use crate::db::schema::usage_counters;

/// What is metered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    /// Inbound messages, per calendar month.
    Messages,
    /// AI replies, per day.
    AiReplies,
    /// Broadcast recipients, per calendar month.
    BroadcastRecipients,
}

impl Metric {
    /// Every metric, in display order.
    pub const ALL: [Metric; 3] = [Self::Messages, Self::AiReplies, Self::BroadcastRecipients];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Messages => "messages",
            Self::AiReplies => "ai_replies",
            Self::BroadcastRecipients => "broadcast_recipients",
        }
    }

    /// The metric stored under `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == name)
    }

    /// How it reads on a page.
    pub fn label(self) -> &'static str {
        match self {
            Self::Messages => "Messages received",
            Self::AiReplies => "AI replies",
            Self::BroadcastRecipients => "Broadcast recipients",
        }
    }

    /// Whether the counter restarts every day (else every month).
    pub fn is_daily(self) -> bool {
        matches!(self, Self::AiReplies)
    }

    /// The period `at` falls in: `2026-11` or, for daily metrics, `2026-11-23`.
    pub fn period_of(self, at: NaiveDate) -> String {
        if self.is_daily() {
            at.format("%Y-%m-%d").to_string()
        } else {
            at.format("%Y-%m").to_string()
        }
    }

    /// The period now.
    pub fn current_period(self) -> String {
        self.period_of(Utc::now().date_naive())
    }
}

/// Add `by` to a counter; one statement, atomic under concurrency on both databases.
const ADD: &str = "INSERT INTO usage_counters (tenant_id, metric, period, used, updated_at) \
     VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (tenant_id, metric, period) \
     DO UPDATE SET used = usage_counters.used + excluded.used, updated_at = excluded.updated_at";

/// Raise a counter to `total` unless it already holds more (Redis's flush: idempotent).
const RAISE: &str = "INSERT INTO usage_counters (tenant_id, metric, period, used, updated_at) \
     VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (tenant_id, metric, period) \
     DO UPDATE SET used = CASE WHEN excluded.used > usage_counters.used \
     THEN excluded.used ELSE usage_counters.used END, updated_at = excluded.updated_at";

/// Add `by` to the workspace's counter for this period; returns the new total.
pub fn add_in(conn: &mut DbConn, tenant_id: &str, metric: Metric, by: i64) -> QueryResult<i64> {
    add_at_in(conn, tenant_id, metric, &metric.current_period(), by)
}

/// Add `by` to the counter of a given period; returns the new total.
pub fn add_at_in(
    conn: &mut DbConn,
    tenant_id: &str,
    metric: Metric,
    period: &str,
    by: i64,
) -> QueryResult<i64> {
    let now: NaiveDateTime = Utc::now().naive_utc();
    diesel::sql_query(ADD)
        .bind::<Text, _>(tenant_id)
        .bind::<Text, _>(metric.as_str())
        .bind::<Text, _>(period)
        .bind::<BigInt, _>(by)
        .bind::<Timestamp, _>(now)
        .execute(conn)?;
    used_at_in(conn, tenant_id, metric, period)
}

/// Raise the counter of a period to `total` if it holds less.
pub fn raise_to_in(
    conn: &mut DbConn,
    tenant_id: &str,
    metric: Metric,
    period: &str,
    total: i64,
) -> QueryResult<()> {
    diesel::sql_query(RAISE)
        .bind::<Text, _>(tenant_id)
        .bind::<Text, _>(metric.as_str())
        .bind::<Text, _>(period)
        .bind::<BigInt, _>(total)
        .bind::<Timestamp, _>(Utc::now().naive_utc())
        .execute(conn)?;
    Ok(())
}

/// The workspace's use of `metric` this period.
pub fn used_in(conn: &mut DbConn, tenant_id: &str, metric: Metric) -> QueryResult<i64> {
    used_at_in(conn, tenant_id, metric, &metric.current_period())
}

fn used_at_in(
    conn: &mut DbConn,
    tenant_id: &str,
    metric: Metric,
    period: &str,
) -> QueryResult<i64> {
    Ok(usage_counters::table
        .find((tenant_id, metric.as_str(), period))
        .select(usage_counters::used)
        .first::<i64>(conn)
        .optional()?
        .unwrap_or(0))
}

/// The last `count` periods of a metric with their totals, newest first (periods without
/// use are left out).
pub fn history_in(
    conn: &mut DbConn,
    tenant_id: &str,
    metric: Metric,
    count: i64,
) -> QueryResult<Vec<(String, i64)>> {
    usage_counters::table
        .filter(usage_counters::tenant_id.eq(tenant_id))
        .filter(usage_counters::metric.eq(metric.as_str()))
        .order(usage_counters::period.desc())
        .limit(count)
        .select((usage_counters::period, usage_counters::used))
        .load(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_months_or_days() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        assert_eq!(Metric::Messages.period_of(day), "2026-11");
        assert_eq!(Metric::BroadcastRecipients.period_of(day), "2026-11");
        assert_eq!(Metric::AiReplies.period_of(day), "2026-11-23");
    }

    #[test]
    fn metrics_parse_from_their_stored_names() {
        for metric in Metric::ALL {
            assert_eq!(Metric::parse(metric.as_str()), Some(metric));
        }
        assert_eq!(Metric::parse("bots"), None);
    }
}
