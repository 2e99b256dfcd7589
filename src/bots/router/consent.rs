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
        diesel::update(
            contacts::table
                .find(contact_id)
                .filter(contacts::opted_out_at.is_null()),
        )
        .set(contacts::opted_out_at.eq(Some(now)))
        .execute(conn)?;
        let start = first(&config.opt_in_words, "START");
        return Ok(Some(OPTED_OUT.replace("{start}", &start)));
    }
    if says_one_of(text, &config.opt_in_words) {
        diesel::update(contacts::table.find(contact_id))
            .set(contacts::opted_out_at.eq(None::<NaiveDateTime>))
            .execute(conn)?;
        let stop = first(&config.opt_out_words, "STOP");
        return Ok(Some(OPTED_IN.replace("{stop}", &stop)));
    }
    Ok(None)
}
