//! WhatsApp's customer service window: for 24 hours after a customer's last message the
//! business may write freely; after that only an approved template may open the conversation
//! again. Checked before sending, so a message that would be refused is not sent at all.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::contacts;
use crate::db::{Db, DbConn, DbError, RowScope};

/// How long the window stays open after the customer's last message.
pub const WINDOW_HOURS: i64 = 24;

/// Why a free-form message was not sent.
pub const CLOSED: &str = "The customer's 24-hour window is closed: they last wrote more than 24 hours ago, so WhatsApp only lets an approved message template reach them.";

/// Whether `number` wrote to `bot_id` within the window before `now`.
pub fn is_open_in(
    conn: &mut DbConn,
    bot_id: &str,
    number: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let last: Option<NaiveDateTime> = contacts::table
        .filter(contacts::bot_id.eq(bot_id))
        .filter(contacts::number.eq(number).or(contacts::user_id.eq(number)))
        .select(diesel::dsl::max(contacts::last_seen_at))
        .first(conn)?;
    Ok(last.is_some_and(|last| now - last < Duration::hours(WINDOW_HOURS)))
}

/// [`is_open_in`] in its own transaction.
pub async fn is_open(
    db: &Db,
    tenant_id: &str,
    bot_id: &str,
    number: &str,
    now: NaiveDateTime,
) -> Result<bool, DbError> {
    let (bot_id, number) = (bot_id.to_owned(), number.to_owned());
    db.run_in(RowScope::tenant(tenant_id.to_owned()), move |conn| {
        is_open_in(conn, &bot_id, &number, now)
    })
    .await
}
