//! The flood guard. A contact who sends more than the bot's flood limit in a minute (a script,
//! a long paste sent line by line, another bot answering this one) is told once that the bot
//! pauses for them, gets no answers for a minute, and is told when the bot answers again.
//! Nothing is lost: every message is stored before the router sees it. The owner is never
//! paused (the router does not ask).

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;

use crate::bots::messages::MessageDirection;
use crate::db::DbConn;
use crate::db::schema::{contacts, messages};

/// The window the flood limit counts messages in, and how long a pause lasts.
pub const WINDOW_SECONDS: i64 = 60;

/// The reply to the message that goes over the limit.
pub const PAUSED: &str = "You're sending messages faster than I can answer, so I'm pausing \
     for a minute. Everything you send is kept, and I'll tell you when I'm answering again.";

/// Sent when the pause ends.
pub const RESUMED: &str =
    "I'm answering again. If I didn't answer something you still need, please send it again.";

/// What the guard says about one inbound message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flood {
    /// Within the limit: route it.
    Clear,
    /// This message went over the limit: the contact is paused for `lasts`.
    Starts { lasts: Duration },
    /// The contact is paused: stored, not answered.
    Paused,
}

/// Check the message `from` just sent (already stored) against `limit` messages a minute,
/// and start a pause when it goes over.
pub fn check_in(
    conn: &mut DbConn,
    bot_id: &str,
    from: &str,
    now: DateTime<Utc>,
    limit: u32,
) -> QueryResult<Flood> {
    let contact = contacts::table
        .filter(contacts::bot_id.eq(bot_id))
        .filter(contacts::number.eq(from));
    let paused_until: Option<chrono::NaiveDateTime> = contact
        .select(contacts::paused_until)
        .first(conn)
        .optional()?
        .flatten();
    if paused_until.is_some_and(|until| now.naive_utc() < until) {
        return Ok(Flood::Paused);
    }
    let window = Duration::seconds(WINDOW_SECONDS);
    let recent: i64 = messages::table
        .filter(messages::bot_id.eq(bot_id))
        .filter(messages::direction.eq(MessageDirection::In))
        .filter(messages::contact_number.eq(from))
        .filter(messages::created_at.ge((now - window).naive_utc()))
        .count()
        .get_result(conn)?;
    if recent <= i64::from(limit) {
        return Ok(Flood::Clear);
    }
    diesel::update(contact)
        .set(contacts::paused_until.eq(Some((now + window).naive_utc())))
        .execute(conn)?;
    Ok(Flood::Starts { lasts: window })
}
