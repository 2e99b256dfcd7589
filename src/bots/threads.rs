//! The inbox's thread with each contact, as the engine keeps it: every message in or out moves
//! its thread to the top with a preview, an inbound one counts as unread and reopens a closed
//! thread, and a thread a person holds (a takeover, or a customer who asked for one) keeps the
//! bot silent until `held_until`. The team's side (taking over, assigning, closing) is the
//! `inbox` domain's; this is what the pipeline and the outbox need, inside their transactions.

use std::str::FromStr;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{contacts, threads};
use crate::ids::{BotId, TenantId, new_id};

/// How many characters of a message the inbox list shows.
pub const PREVIEW_CHARS: usize = 120;

/// Where a thread stands for the team.
#[derive(Debug, Clone, Copy, PartialEq, Eq, diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum ThreadStatus {
    /// In progress: the bot answers, or the team does.
    Open,
    /// The customer waits for a person (asked for one, or wrote while a person holds it).
    Waiting,
    /// Done; the customer's next message opens it again.
    Closed,
}

impl ThreadStatus {
    /// Every status, in the order the filters list them.
    pub const ALL: [ThreadStatus; 3] = [Self::Open, Self::Waiting, Self::Closed];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Waiting => "waiting",
            Self::Closed => "closed",
        }
    }

    /// The name people read.
    pub fn label(self) -> &'static str {
        match self {
            Self::Open => "Open",
            Self::Waiting => "Waiting for the team",
            Self::Closed => "Closed",
        }
    }
}

impl FromStr for ThreadStatus {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == raw)
            .ok_or_else(|| format!("unknown thread status `{raw}`"))
    }
}

crate::stored_as_text!(ThreadStatus);

/// The thread an inbound message landed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Landed {
    pub thread_id: String,
    /// A person holds the thread: the bot stays silent.
    pub held: bool,
}

/// What the list shows of a message: its text, or what kind of message it is.
pub fn preview_of(kind: &str, text: &str) -> String {
    let text = text.trim();
    if text.is_empty() {
        return match kind {
            "image" => "Photo",
            "audio" | "voice" => "Voice message",
            "video" => "Video",
            "document" => "Document",
            "sticker" => "Sticker",
            "location" => "Location",
            "contacts" => "Contact card",
            "reaction" => "Reaction",
            _ => "Message",
        }
        .to_owned();
    }
    text.chars().take(PREVIEW_CHARS).collect()
}

/// An inbound message from `contact_id` arrived: bring its thread up (creating it), count it
/// unread, reopen it if it was closed, and mark it waiting if a person holds it.
pub fn on_inbound_in(
    conn: &mut DbConn,
    tenant_id: &TenantId,
    bot_id: &BotId,
    contact_id: &str,
    preview: &str,
    now: NaiveDateTime,
) -> QueryResult<Landed> {
    let existing: Option<(String, ThreadStatus, Option<NaiveDateTime>)> = threads::table
        .filter(threads::contact_id.eq(contact_id))
        .select((threads::id, threads::status, threads::held_until))
        .first(conn)
        .optional()?;
    let Some((thread_id, status, held_until)) = existing else {
        let thread_id = new_id();
        diesel::insert_into(threads::table)
            .values((
                threads::id.eq(&thread_id),
                threads::tenant_id.eq(tenant_id),
                threads::bot_id.eq(bot_id),
                threads::contact_id.eq(contact_id),
                threads::status.eq(ThreadStatus::Open),
                threads::unread.eq(1),
                threads::last_message_at.eq(now),
                threads::last_preview.eq(preview),
                threads::last_direction.eq("in"),
                threads::created_at.eq(now),
                threads::updated_at.eq(now),
            ))
            .execute(conn)?;
        return Ok(Landed {
            thread_id,
            held: false,
        });
    };
    let held = held_until.is_some_and(|until| until > now);
    let status = match status {
        _ if held => ThreadStatus::Waiting,
        ThreadStatus::Closed => ThreadStatus::Open,
        other => other,
    };
    diesel::update(threads::table.find(&thread_id))
        .set((
            threads::status.eq(status),
            threads::unread.eq(threads::unread + 1),
            threads::last_message_at.eq(now),
            threads::last_preview.eq(preview),
            threads::last_direction.eq("in"),
            threads::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(Landed { thread_id, held })
}

/// An outbound message to `number` was recorded (sent, or given up): bring the thread up. One
/// a team member wrote answers the customer: nothing is unread any more and it no longer
/// waits. `None` when the number has no thread (the bot's owner).
pub fn on_outbound_in(
    conn: &mut DbConn,
    bot_id: &BotId,
    number: &str,
    preview: &str,
    by_team: bool,
    now: NaiveDateTime,
) -> QueryResult<Option<String>> {
    let Some(thread_id) = thread_of_number_in(conn, bot_id, number)? else {
        return Ok(None);
    };
    let bring_up = diesel::update(threads::table.find(&thread_id));
    if by_team {
        bring_up
            .set((
                threads::status.eq(ThreadStatus::Open),
                threads::unread.eq(0),
                threads::last_message_at.eq(now),
                threads::last_preview.eq(preview),
                threads::last_direction.eq("out"),
                threads::updated_at.eq(now),
            ))
            .execute(conn)?;
    } else {
        bring_up
            .set((
                threads::last_message_at.eq(now),
                threads::last_preview.eq(preview),
                threads::last_direction.eq("out"),
                threads::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(Some(thread_id))
}

/// The thread of the bot's contact with `number`, if it has one.
pub fn thread_of_number_in(
    conn: &mut DbConn,
    bot_id: &BotId,
    number: &str,
) -> QueryResult<Option<String>> {
    threads::table
        .inner_join(contacts::table)
        .filter(contacts::bot_id.eq(bot_id))
        .filter(contacts::number.eq(number))
        .select(threads::id)
        .first(conn)
        .optional()
}

/// The customer asked for a person: the thread waits for the team, and the bot is silent
/// until `until` (or until someone takes it over, or releases it).
pub fn hand_over_in(
    conn: &mut DbConn,
    thread_id: &str,
    until: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(threads::table.find(thread_id))
        .set((
            threads::status.eq(ThreadStatus::Waiting),
            threads::held_until.eq(Some(until)),
            threads::updated_at.eq(now),
        ))
        .execute(conn)
        .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip() {
        for status in ThreadStatus::ALL {
            assert_eq!(status.as_str().parse::<ThreadStatus>(), Ok(status));
        }
        assert!("archived".parse::<ThreadStatus>().is_err());
    }

    #[test]
    fn a_preview_is_the_text_or_the_kind() {
        assert_eq!(preview_of("text", "  hello "), "hello");
        assert_eq!(preview_of("image", ""), "Photo");
        assert_eq!(preview_of("image", "look at this"), "look at this");
        assert_eq!(
            preview_of("text", &"é".repeat(500)).chars().count(),
            PREVIEW_CHARS
        );
    }
}
