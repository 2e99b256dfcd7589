//! The owner's commands: status and statistics, pausing the bot, blocking numbers and
//! choosing broadcast recipients. Who the owner is comes from the database (the number that
//! paired the bot), never from configuration.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use diesel::prelude::*;

use crate::bots::messages::MessageDirection;
use crate::bots::model::Bot;
use crate::bots::sandbox_phones::normalize_number;
use crate::bots::settings;
use crate::bots::wording::counted;
use crate::db::DbConn;
use crate::db::schema::{blocked_numbers, contacts, messages};

/// The owner's commands, for `!help`.
pub const HELP: [(&str, &str); 7] = [
    ("status", "Is the bot up?"),
    ("stats", "Messages and contacts today and this month"),
    ("pause", "Stop answering customers"),
    ("resume", "Answer customers again"),
    ("block", "Ignore a number: !block +44 7700 900123"),
    ("unblock", "Answer a blocked number again"),
    (
        "broadcast",
        "Send a message to recent contacts (paid plans)",
    ),
];

/// How far back a broadcast reaches.
pub const BROADCAST_DAYS: i64 = 30;

/// Whether `name` is one of the owner's commands.
pub fn is_owner_command(name: &str) -> bool {
    HELP.iter().any(|(n, _)| *n == name)
}

/// Whether the owner blocked `number`.
pub fn is_blocked_in(conn: &mut DbConn, bot_id: &str, number: &str) -> QueryResult<bool> {
    let found: i64 = blocked_numbers::table
        .filter(blocked_numbers::bot_id.eq(bot_id))
        .filter(blocked_numbers::number.eq(number))
        .count()
        .get_result(conn)?;
    Ok(found > 0)
}

/// Contacts seen in the last [`BROADCAST_DAYS`] days, without the owner and blocked numbers.
pub fn broadcast_recipients_in(
    conn: &mut DbConn,
    bot: &Bot,
    now: DateTime<Utc>,
) -> QueryResult<Vec<String>> {
    let since = (now - Duration::days(BROADCAST_DAYS)).naive_utc();
    let blocked: Vec<String> = blocked_numbers::table
        .filter(blocked_numbers::bot_id.eq(&bot.id))
        .select(blocked_numbers::number)
        .load(conn)?;
    let numbers: Vec<String> = contacts::table
        .filter(contacts::bot_id.eq(&bot.id))
        .filter(contacts::last_seen_at.ge(since))
        .order(contacts::last_seen_at.desc())
        .select(contacts::number)
        .load(conn)?;
    Ok(numbers
        .into_iter()
        .filter(|n| Some(n) != bot.owner_number.as_ref() && !blocked.contains(n))
        .collect())
}

fn count_in(
    conn: &mut DbConn,
    bot_id: &str,
    direction: MessageDirection,
    since: chrono::NaiveDateTime,
) -> QueryResult<i64> {
    messages::table
        .filter(messages::bot_id.eq(bot_id))
        .filter(messages::direction.eq(direction))
        .filter(messages::created_at.ge(since))
        .count()
        .get_result(conn)
}

fn stats(conn: &mut DbConn, bot: &Bot, now: DateTime<Utc>) -> QueryResult<String> {
    let today = now.date_naive().and_hms_opt(0, 0, 0).unwrap_or_default();
    let month = NaiveDate::from_ymd_opt(now.year(), now.month(), 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap_or_default();
    let in_today = count_in(conn, &bot.id, MessageDirection::In, today)?;
    let out_today = count_in(conn, &bot.id, MessageDirection::Out, today)?;
    let in_month = count_in(conn, &bot.id, MessageDirection::In, month)?;
    // Contacts are the people the bot serves: the owner is not one of them.
    let owner = bot.owner_number.clone().unwrap_or_default();
    let contacts_today: i64 = contacts::table
        .filter(contacts::bot_id.eq(&bot.id))
        .filter(contacts::number.ne(&owner))
        .filter(contacts::last_seen_at.ge(today))
        .count()
        .get_result(conn)?;
    let total_contacts: i64 = contacts::table
        .filter(contacts::bot_id.eq(&bot.id))
        .filter(contacts::number.ne(&owner))
        .count()
        .get_result(conn)?;
    let messages = |n| counted(n, "message", "messages");
    Ok(format!(
        "Today: {} in, {out_today} sent, {}.\n\
         This month: {} in. Contacts in all: {total_contacts}.",
        messages(in_today),
        counted(contacts_today, "contact", "contacts"),
        messages(in_month),
    ))
}

/// Run an owner command (the sender is the owner) and give the reply.
pub fn run(
    conn: &mut DbConn,
    bot: &Bot,
    name: &str,
    args: &str,
    prefix: &str,
    now: DateTime<Utc>,
) -> QueryResult<String> {
    Ok(match name {
        "status" => {
            let received = count_in(
                conn,
                &bot.id,
                MessageDirection::In,
                now.date_naive().and_hms_opt(0, 0, 0).unwrap_or_default(),
            )?;
            let paused = settings::load_in(conn, &bot.id)?.paused;
            format!(
                "{} is {}{}. Messages received today: {received}.",
                bot.name,
                bot.status().label().to_lowercase(),
                if paused { " (paused)" } else { "" }
            )
        }
        "stats" => stats(conn, bot, now)?,
        "pause" => {
            settings::set_paused_in(conn, &bot.tenant_id, &bot.id, true)?;
            format!("Paused. Customers get no replies until you send {prefix}resume.")
        }
        "resume" => {
            settings::set_paused_in(conn, &bot.tenant_id, &bot.id, false)?;
            "Resumed. The bot answers customers again.".to_owned()
        }
        "block" | "unblock" => match normalize_number(args) {
            Err(_) => format!("Write the number after the command: {prefix}{name} +44 7700 900123"),
            Ok(number) if name == "block" => {
                if !is_blocked_in(conn, &bot.id, &number)? {
                    diesel::insert_into(blocked_numbers::table)
                        .values((
                            blocked_numbers::bot_id.eq(&bot.id),
                            blocked_numbers::number.eq(&number),
                            blocked_numbers::tenant_id.eq(&bot.tenant_id),
                            blocked_numbers::created_at.eq(now.naive_utc()),
                        ))
                        .execute(conn)?;
                }
                format!(
                    "Blocked +{number}. The bot ignores them until you send {prefix}unblock +{number}."
                )
            }
            Ok(number) => {
                diesel::delete(
                    blocked_numbers::table
                        .filter(blocked_numbers::bot_id.eq(&bot.id))
                        .filter(blocked_numbers::number.eq(&number)),
                )
                .execute(conn)?;
                format!("Unblocked +{number}.")
            }
        },
        other => format!("I don't know {prefix}{other}."),
    })
}
