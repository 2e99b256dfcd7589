//! A workspace's own analytics, read from the daily roll-ups: messages per day per bot, the
//! commands its customers use most, and how fast its bots reply.

use std::collections::{BTreeMap, HashMap};

use chrono::{Duration, NaiveDate, Utc};
use diesel::prelude::*;

use crate::analytics::rollups::median_ms;
pub mod rollups;

use crate::context::Context;
use crate::db::DbConn;
use crate::db::schema::{bots, command_rollups, message_rollups, reply_time_rollups};
use crate::error::ServiceResult;
use crate::tenancy::TenantScope;

/// How many days the analytics cover.
pub const DAYS: i64 = 30;

/// One bot's messages per day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotSeries {
    pub bot_id: String,
    pub bot_name: String,
    /// (day, in + out), oldest first, zero-filled.
    pub days: Vec<(NaiveDate, i64)>,
    pub total: i64,
}

/// What the analytics page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Analytics {
    pub since: NaiveDate,
    pub bots: Vec<BotSeries>,
    /// (command, uses), most used first, at most ten.
    pub top_commands: Vec<(String, i64)>,
    /// Median time from a message to the bot's reply being sent, in milliseconds.
    pub median_reply_ms: Option<i64>,
    pub replies: i64,
}

/// The scope's analytics over the last [`DAYS`] days (UTC).
pub async fn for_workspace(ctx: &Context, scope: &TenantScope) -> ServiceResult<Analytics> {
    let tenant_id = scope.tenant_id().to_owned();
    let today = Utc::now().date_naive();
    Ok(ctx
        .db
        .run_in(scope.rows(), move |conn| load_in(conn, &tenant_id, today))
        .await?)
}

/// Analytics of `tenant_id` as of `today`, within the caller's tenant-scoped transaction.
pub fn load_in(conn: &mut DbConn, tenant_id: &str, today: NaiveDate) -> QueryResult<Analytics> {
    let since = today - Duration::days(DAYS - 1);
    let names: HashMap<String, String> = bots::table
        .filter(bots::tenant_id.eq(tenant_id))
        .select((bots::id, bots::name))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    let mut per_bot: BTreeMap<String, BTreeMap<NaiveDate, i64>> = BTreeMap::new();
    for (bot_id, day, inbound, outbound) in message_rollups::table
        .filter(message_rollups::tenant_id.eq(tenant_id))
        .filter(message_rollups::day.ge(since))
        .select((
            message_rollups::bot_id,
            message_rollups::day,
            message_rollups::messages_in,
            message_rollups::messages_out,
        ))
        .load::<(String, NaiveDate, i64, i64)>(conn)?
    {
        *per_bot.entry(bot_id).or_default().entry(day).or_default() += inbound + outbound;
    }
    let mut series: Vec<BotSeries> = per_bot
        .into_iter()
        .map(|(bot_id, counts)| {
            let days: Vec<(NaiveDate, i64)> = since
                .iter_days()
                .take_while(|day| *day <= today)
                .map(|day| (day, counts.get(&day).copied().unwrap_or(0)))
                .collect();
            BotSeries {
                bot_name: names
                    .get(&bot_id)
                    .cloned()
                    .unwrap_or_else(|| "Deleted bot".to_owned()),
                total: days.iter().map(|d| d.1).sum(),
                bot_id,
                days,
            }
        })
        .collect();
    series.sort_by(|a, b| b.total.cmp(&a.total).then(a.bot_name.cmp(&b.bot_name)));

    let mut commands: HashMap<String, i64> = HashMap::new();
    for (command, uses) in command_rollups::table
        .filter(command_rollups::tenant_id.eq(tenant_id))
        .filter(command_rollups::day.ge(since))
        .select((command_rollups::command, command_rollups::uses))
        .load::<(String, i64)>(conn)?
    {
        *commands.entry(command).or_default() += uses;
    }
    let mut top_commands: Vec<(String, i64)> = commands.into_iter().collect();
    top_commands.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    top_commands.truncate(10);

    let mut buckets: BTreeMap<i64, i64> = BTreeMap::new();
    for (bucket, replies) in reply_time_rollups::table
        .filter(reply_time_rollups::tenant_id.eq(tenant_id))
        .filter(reply_time_rollups::day.ge(since))
        .select((reply_time_rollups::bucket_ms, reply_time_rollups::replies))
        .load::<(i64, i64)>(conn)?
    {
        *buckets.entry(bucket).or_default() += replies;
    }
    let histogram: Vec<(i64, i64)> = buckets.into_iter().collect();
    Ok(Analytics {
        since,
        bots: series,
        top_commands,
        median_reply_ms: median_ms(&histogram),
        replies: histogram.iter().map(|b| b.1).sum(),
    })
}

/// A reply time for people: "850 ms", "1.4 s", "2 min".
pub fn human_duration(ms: i64) -> String {
    if ms < 1_000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.1} s", ms as f64 / 1_000.0)
    } else {
        format!("{} min", (ms as f64 / 60_000.0).round() as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::human_duration;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(850), "850 ms");
        assert_eq!(human_duration(1_400), "1.4 s");
        assert_eq!(human_duration(125_000), "2 min");
    }
}
