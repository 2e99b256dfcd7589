//! STOP and START: a customer opts out of broadcasts (and is told so), and back in. The words
//! are the bot's settings; the whole message must be one of them, so "stop the order" is not
//! an opt-out.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::bots::behaviour::{BotConfig, says_one_of};
use crate::db::DbConn;
use crate::db::schema::contacts;

/// Told to a customer who opted out; `{start}` is the first opt-in word.
const OPTED_OUT: &str = "You will get no more broadcasts from us. Send {start} to get them again.";
/// Told to a customer who opted in again; `{stop}` is the first opt-out word.
const OPTED_IN: &str = "You will get our broadcasts again. Send {stop} to stop them.";

/// If `text` is an opt-out or opt-in word, record it on the contact and return the answer.
pub fn answer_in(
    conn: &mut DbConn,
    contact_id: &str,
    text: &str,
    config: &BotConfig,
    now: NaiveDateTime,
) -> QueryResult<Option<String>> {
    let first = |words: &[String], or: &str| {
        words
            .first()
            .map_or_else(|| or.to_owned(), |w| w.trim().to_uppercase())
    };
    if says_one_of(text, &config.opt_out_words) {
        set_opted_out_in(conn, contact_id, true, now)?;
        let start = first(&config.opt_in_words, "START");
        return Ok(Some(OPTED_OUT.replace("{start}", &start)));
    }
    if says_one_of(text, &config.opt_in_words) {
        set_opted_out_in(conn, contact_id, false, now)?;
        let stop = first(&config.opt_out_words, "STOP");
        return Ok(Some(OPTED_IN.replace("{stop}", &stop)));
    }
    Ok(None)
}

/// Opt the contact `contact_id` out of broadcasts (`true`; a second opt-out keeps the first
/// time) or back in, within the caller's transaction: what STOP and START do, and what a
/// member does for a customer who asked them.
pub fn set_opted_out_in(
    conn: &mut DbConn,
    contact_id: &str,
    opted_out: bool,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let target = contacts::table.find(contact_id);
    if opted_out {
        diesel::update(target.filter(contacts::opted_out_at.is_null()))
            .set(contacts::opted_out_at.eq(Some(now)))
            .execute(conn)?;
    } else {
        diesel::update(target)
            .set(contacts::opted_out_at.eq(None::<NaiveDateTime>))
            .execute(conn)?;
    }
    Ok(())
}
