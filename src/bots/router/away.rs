//! The away message: sent to a contact once per closed period (not for every message while
//! the business is closed), and written from the hours as they are set when it is sent.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::hours;
use crate::bots::behaviour::BotConfig;
use crate::db::DbConn;
use crate::db::schema::contacts;

/// The away message for `from` if the business is closed at `now` and `from` has not had it
/// in this closed period yet (remembered on the contact); `None` otherwise.
pub fn due_in(
    conn: &mut DbConn,
    bot_id: &str,
    from: &str,
    config: &BotConfig,
    now: DateTime<Utc>,
) -> QueryResult<Option<String>> {
    let Some(closed_since) = hours::closed_since(&config.hours, now) else {
        return Ok(None);
    };
    if config.away_message.is_empty() {
        return Ok(None);
    }
    let period = closed_since.naive_utc();
    let contact = contacts::table
        .filter(contacts::bot_id.eq(bot_id))
        .filter(contacts::number.eq(from));
    let sent_for: Option<NaiveDateTime> = contact
        .select(contacts::away_sent_for)
        .first(conn)
        .optional()?
        .flatten();
    if sent_for == Some(period) {
        return Ok(None);
    }
    diesel::update(contact)
        .set(contacts::away_sent_for.eq(Some(period)))
        .execute(conn)?;
    Ok(Some(hours::fill(&config.away_message, &config.hours)))
}
