//! Daily roll-ups, kept in the same transaction as the message they count, so the admin and
//! analytics pages read a few rows per bot and day instead of scanning `messages`.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::upsert::excluded;

use crate::db::DbConn;
use crate::db::schema::{
    command_rollups, message_rollups, platform_rollups, reply_time_rollups, tenant_rollups,
};

/// How many rows the platform totals of one day are spread over.
pub const PLATFORM_SHARDS: i32 = 8;

/// Upper bounds of the reply-time buckets, in milliseconds; the last catches everything.
pub const REPLY_BUCKETS_MS: [i64; 14] = [
    250,
    500,
    1_000,
    2_000,
    3_000,
    5_000,
    10_000,
    20_000,
    30_000,
    60_000,
    120_000,
    300_000,
    900_000,
    i64::MAX,
];

/// Which way a message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    In,
    Out,
}

/// One stored message, as the roll-ups count it.
#[derive(Debug, Clone)]
pub struct MessageEvent<'a> {
    pub tenant_id: &'a str,
    pub bot_id: &'a str,
    pub direction: Direction,
    /// When it was stored (UTC); its day is the roll-up's day.
    pub at: NaiveDateTime,
    /// For an inbound message the router answered: the command it used.
    pub command: Option<String>,
    /// For an outbound reply: how long it waited between being queued and being sent.
    pub reply_after: Option<Duration>,
    /// For an outbound reply written by the AI.
    pub ai_reply: bool,
}

impl<'a> MessageEvent<'a> {
    /// An inbound message stored at `at`.
    pub fn inbound(tenant_id: &'a str, bot_id: &'a str, at: NaiveDateTime) -> Self {
        Self {
            tenant_id,
            bot_id,
            direction: Direction::In,
            at,
            command: None,
            reply_after: None,
            ai_reply: false,
        }
    }

    /// An outbound message sent at `at`.
    pub fn outbound(tenant_id: &'a str, bot_id: &'a str, at: NaiveDateTime) -> Self {
        Self {
            direction: Direction::Out,
            ..Self::inbound(tenant_id, bot_id, at)
        }
    }
}

/// The name a command is counted under: its first word, lower case, at most 32 characters.
pub fn command_of(text: &str) -> Option<String> {
    let word = text.split_whitespace().next()?.to_lowercase();
    Some(word.chars().take(32).collect())
}

/// The bucket (upper bound, ms) a reply time falls in.
pub fn reply_bucket(waited: Duration) -> i64 {
    let ms = waited.num_milliseconds().max(0);
    REPLY_BUCKETS_MS
        .into_iter()
        .find(|upper| ms <= *upper)
        .unwrap_or(i64::MAX)
}

/// The first day of `day`'s month: the key of the monthly roll-up.
pub fn month_of(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

/// The platform shard a bot's messages are counted in (stable across processes).
fn shard_of(bot_id: &str) -> i32 {
    let sum = bot_id
        .bytes()
        .fold(0_u32, |acc, b| acc.wrapping_add(u32::from(b)));
    i32::try_from(sum % PLATFORM_SHARDS.unsigned_abs()).unwrap_or(0)
}

/// Count one stored message in the roll-ups, within the caller's transaction.
pub fn count_message(conn: &mut DbConn, event: &MessageEvent<'_>) -> QueryResult<()> {
    let day = event.at.date();
    let (inbound, outbound) = match event.direction {
        Direction::In => (1_i64, 0_i64),
        Direction::Out => (0, 1),
    };
    let messages = diesel::insert_into(message_rollups::table)
        .values((
            message_rollups::tenant_id.eq(event.tenant_id),
            message_rollups::bot_id.eq(event.bot_id),
            message_rollups::day.eq(day),
            message_rollups::messages_in.eq(inbound),
            message_rollups::messages_out.eq(outbound),
            message_rollups::ai_replies.eq(i64::from(event.ai_reply)),
        ))
        .on_conflict((message_rollups::bot_id, message_rollups::day))
        .do_update()
        .set((
            message_rollups::messages_in
                .eq(message_rollups::messages_in + excluded(message_rollups::messages_in)),
            message_rollups::messages_out
                .eq(message_rollups::messages_out + excluded(message_rollups::messages_out)),
            message_rollups::ai_replies
                .eq(message_rollups::ai_replies + excluded(message_rollups::ai_replies)),
        ));
    crate::on_backend!(conn, c => messages.execute(c))?;

    let platform = diesel::insert_into(platform_rollups::table)
        .values((
            platform_rollups::day.eq(day),
            platform_rollups::shard.eq(shard_of(event.bot_id)),
            platform_rollups::messages_in.eq(inbound),
            platform_rollups::messages_out.eq(outbound),
            platform_rollups::ai_replies.eq(i64::from(event.ai_reply)),
        ))
        .on_conflict((platform_rollups::day, platform_rollups::shard))
        .do_update()
        .set((
            platform_rollups::messages_in
                .eq(platform_rollups::messages_in + excluded(platform_rollups::messages_in)),
            platform_rollups::messages_out
                .eq(platform_rollups::messages_out + excluded(platform_rollups::messages_out)),
            platform_rollups::ai_replies
                .eq(platform_rollups::ai_replies + excluded(platform_rollups::ai_replies)),
        ));
    crate::on_backend!(conn, c => platform.execute(c))?;

    let tenant = diesel::insert_into(tenant_rollups::table)
        .values((
            tenant_rollups::tenant_id.eq(event.tenant_id),
            tenant_rollups::month.eq(month_of(day)),
            tenant_rollups::messages.eq(1_i64),
            tenant_rollups::last_day.eq(day),
        ))
        .on_conflict((tenant_rollups::tenant_id, tenant_rollups::month))
        .do_update()
        .set((
            tenant_rollups::messages.eq(tenant_rollups::messages + 1_i64),
            tenant_rollups::last_day.eq(excluded(tenant_rollups::last_day)),
        ));
    crate::on_backend!(conn, c => tenant.execute(c))?;

    if let Some(command) = &event.command {
        count_command(conn, event, day, command)?;
    }
    if let Some(waited) = event.reply_after {
        count_reply_time(conn, event, day, waited)?;
    }
    Ok(())
}

fn count_command(
    conn: &mut DbConn,
    event: &MessageEvent<'_>,
    day: NaiveDate,
    command: &str,
) -> QueryResult<()> {
    let query = diesel::insert_into(command_rollups::table)
        .values((
            command_rollups::tenant_id.eq(event.tenant_id),
            command_rollups::bot_id.eq(event.bot_id),
            command_rollups::day.eq(day),
            command_rollups::command.eq(command),
            command_rollups::uses.eq(1_i64),
        ))
        .on_conflict((
            command_rollups::bot_id,
            command_rollups::day,
            command_rollups::command,
        ))
        .do_update()
        .set(command_rollups::uses.eq(command_rollups::uses + 1_i64));
    crate::on_backend!(conn, c => query.execute(c)).map(drop)
}

fn count_reply_time(
    conn: &mut DbConn,
    event: &MessageEvent<'_>,
    day: NaiveDate,
    waited: Duration,
) -> QueryResult<()> {
    let query = diesel::insert_into(reply_time_rollups::table)
        .values((
            reply_time_rollups::tenant_id.eq(event.tenant_id),
            reply_time_rollups::bot_id.eq(event.bot_id),
            reply_time_rollups::day.eq(day),
            reply_time_rollups::bucket_ms.eq(reply_bucket(waited)),
            reply_time_rollups::replies.eq(1_i64),
        ))
        .on_conflict((
            reply_time_rollups::bot_id,
            reply_time_rollups::day,
            reply_time_rollups::bucket_ms,
        ))
        .do_update()
        .set(reply_time_rollups::replies.eq(reply_time_rollups::replies + 1_i64));
    crate::on_backend!(conn, c => query.execute(c)).map(drop)
}

/// The median of a histogram given as (bucket upper bound ms, count), interpolated linearly
/// inside the bucket that holds it; `None` without data. The open last bucket reports its
/// lower bound.
pub fn median_ms(buckets: &[(i64, i64)]) -> Option<i64> {
    let mut sorted: Vec<(i64, i64)> = buckets.iter().copied().filter(|b| b.1 > 0).collect();
    sorted.sort_unstable();
    let total: i64 = sorted.iter().map(|b| b.1).sum();
    if total == 0 {
        return None;
    }
    let half = total as f64 / 2.0;
    let mut below = 0_i64;
    let mut lower = 0_i64;
    for (upper, count) in sorted {
        if (below + count) as f64 >= half {
            if upper == i64::MAX {
                return Some(lower);
            }
            let fraction = (half - below as f64) / count as f64;
            return Some(lower + ((upper - lower) as f64 * fraction).round() as i64);
        }
        below += count;
        lower = upper;
    }
    Some(lower)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_the_first_word_in_lower_case() {
        assert_eq!(command_of("  !Status please"), Some("!status".into()));
        assert_eq!(command_of("PING"), Some("ping".into()));
        assert_eq!(command_of("   "), None);
        assert_eq!(command_of(&"x".repeat(50)).map(|c| c.len()), Some(32));
    }

    #[test]
    fn reply_times_fall_in_their_bucket() {
        assert_eq!(reply_bucket(Duration::milliseconds(-5)), 250);
        assert_eq!(reply_bucket(Duration::milliseconds(250)), 250);
        assert_eq!(reply_bucket(Duration::milliseconds(251)), 500);
        assert_eq!(reply_bucket(Duration::seconds(4)), 5_000);
        assert_eq!(reply_bucket(Duration::hours(2)), i64::MAX);
    }

    #[test]
    fn the_median_is_interpolated_inside_its_bucket() {
        assert_eq!(median_ms(&[]), None);
        // 4 replies: 1 under 250 ms, 3 in the 250 ms–2 s span (the buckets between are
        // empty); the median (2nd of 4) sits a third into that span.
        assert_eq!(median_ms(&[(2_000, 3), (250, 1)]), Some(833));
        assert_eq!(median_ms(&[(500, 2)]), Some(250));
        assert_eq!(median_ms(&[(i64::MAX, 3), (900_000, 1)]), Some(900_000));
    }
}
