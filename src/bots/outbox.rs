//! The outbox: a reply is written here (in the same transaction as the message that caused
//! it) before it is sent, and marked sent after, so a crash in between loses nothing. Sending
//! is at least once: a crash after WhatsApp took a message but before it was marked sent
//! sends it again on restart.

use chrono::{Duration, NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::analytics::rollups::{self, MessageEvent};
use crate::bots::messages::{MessageDirection, MessageStatus};
use crate::bots::threads;
use crate::db::schema::{messages, outbox};
use crate::db::{Db, DbConn, DbError, RowScope};
use crate::ids::{BotId, TenantId, new_id};
use crate::live::{self, Live, LiveEvent, LiveKind};

/// Attempts before an entry is given up (marked failed, kept for inspection).
pub const MAX_ATTEMPTS: i32 = 8;

/// An entry to send.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct OutboxEntry {
    pub id: String,
    pub tenant_id: TenantId,
    pub bot_id: BotId,
    pub to_number: String,
    pub body: String,
    pub attempts: i32,
    /// A message that is more than text, as JSON; `body` is its text rendering.
    pub content: Option<String>,
    /// The team member who wrote it (none: the bot).
    pub author_id: Option<String>,
}

impl OutboxEntry {
    /// The entry as a transport sends it.
    pub fn outgoing(&self) -> crate::bots::transport::OutgoingMessage<'_> {
        crate::bots::transport::OutgoingMessage {
            to: &self.to_number,
            body: &self.body,
            content: self.content.as_deref(),
        }
    }

    /// What kind of message it is, as `messages.kind` stores it.
    fn kind(&self) -> String {
        self.content
            .as_deref()
            .and_then(|c| serde_json::from_str::<serde_json::Value>(c).ok())
            .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_owned))
            .unwrap_or_else(|| "text".into())
    }
}

/// Queue `body` to `to` within the caller's transaction.
pub fn enqueue_in(
    conn: &mut DbConn,
    tenant_id: &TenantId,
    bot_id: &BotId,
    to: &str,
    body: &str,
) -> QueryResult<String> {
    schedule_in(conn, tenant_id, bot_id, to, body, Utc::now().naive_utc())
}

/// Queue a message that is more than text (`content`, JSON the transport understands) to
/// `to`, with `body` as its text rendering, within the caller's transaction.
pub fn enqueue_content_in(
    conn: &mut DbConn,
    tenant_id: &TenantId,
    bot_id: &BotId,
    to: &str,
    body: &str,
    content: &str,
) -> QueryResult<String> {
    let message = Queued {
        to,
        body,
        content: Some(content),
        author_id: None,
    };
    insert_in(conn, tenant_id, bot_id, &message, Utc::now().naive_utc())
}

/// Queue a message a team member wrote in the inbox (`content` as for
/// [`enqueue_content_in`] when it is more than text), within the caller's transaction.
pub fn enqueue_from_team_in(
    conn: &mut DbConn,
    tenant_id: &TenantId,
    bot_id: &BotId,
    to: &str,
    body: &str,
    content: Option<&str>,
    author_id: &str,
) -> QueryResult<String> {
    let message = Queued {
        to,
        body,
        content,
        author_id: Some(author_id),
    };
    insert_in(conn, tenant_id, bot_id, &message, Utc::now().naive_utc())
}

/// Queue `body` to `to`, not to be sent before `at` (a reminder), within the caller's
/// transaction. The bot task sends it when it comes due.
pub fn schedule_in(
    conn: &mut DbConn,
    tenant_id: &TenantId,
    bot_id: &BotId,
    to: &str,
    body: &str,
    at: NaiveDateTime,
) -> QueryResult<String> {
    let message = Queued {
        to,
        body,
        content: None,
        author_id: None,
    };
    insert_in(conn, tenant_id, bot_id, &message, at)
}

/// A message on its way into the outbox.
struct Queued<'a> {
    to: &'a str,
    body: &'a str,
    content: Option<&'a str>,
    author_id: Option<&'a str>,
}

/// Write `message` to the outbox, due at `at` (or now, if that has passed).
fn insert_in(
    conn: &mut DbConn,
    tenant_id: &TenantId,
    bot_id: &BotId,
    message: &Queued<'_>,
    at: NaiveDateTime,
) -> QueryResult<String> {
    let id = new_id();
    let now = Utc::now().naive_utc();
    diesel::insert_into(outbox::table)
        .values((
            outbox::id.eq(&id),
            outbox::tenant_id.eq(tenant_id),
            outbox::bot_id.eq(bot_id),
            outbox::to_number.eq(message.to),
            outbox::body.eq(message.body),
            outbox::content.eq(message.content),
            outbox::author_id.eq(message.author_id),
            outbox::next_attempt_at.eq(at.max(now)),
            outbox::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(id)
}

/// Entries of `bot_id` due now, oldest first.
pub async fn due(
    db: &Db,
    tenant_id: &str,
    bot_id: &str,
    limit: i64,
) -> Result<Vec<OutboxEntry>, DbError> {
    let (tenant_id, bot_id) = (tenant_id.to_owned(), bot_id.to_owned());
    db.run_in(RowScope::tenant(tenant_id), move |conn| {
        outbox::table
            .filter(outbox::bot_id.eq(bot_id))
            .filter(outbox::sent_at.is_null())
            .filter(outbox::attempts.lt(MAX_ATTEMPTS))
            .filter(outbox::next_attempt_at.le(Utc::now().naive_utc()))
            .order(outbox::created_at.asc())
            .limit(limit)
            .select(OutboxEntry::as_select())
            .load(conn)
    })
    .await
}

/// How long until the bot's next unsent entry is due (zero if one is due now); `None` when
/// nothing waits.
pub async fn next_retry_in(
    db: &Db,
    tenant_id: &str,
    bot_id: &str,
) -> Result<Option<std::time::Duration>, DbError> {
    let (tenant_id, bot_id) = (tenant_id.to_owned(), bot_id.to_owned());
    let next: Option<NaiveDateTime> = db
        .run_in(RowScope::tenant(tenant_id), move |conn| {
            outbox::table
                .filter(outbox::bot_id.eq(bot_id))
                .filter(outbox::sent_at.is_null())
                .filter(outbox::attempts.lt(MAX_ATTEMPTS))
                .select(diesel::dsl::min(outbox::next_attempt_at))
                .first(conn)
        })
        .await?;
    Ok(next.map(|at| (at - Utc::now().naive_utc()).to_std().unwrap_or_default()))
}

/// The entry went out as WhatsApp message `wa_message_id`: mark it and record the message
/// (under the entry's id, so a page showing it as "sending" replaces it in place).
pub async fn mark_sent(
    db: &Db,
    live: &Live,
    entry: &OutboxEntry,
    wa_message_id: &str,
) -> Result<(), DbError> {
    let (entry, wa_id) = (entry.clone(), wa_message_id.to_owned());
    let events = db
        .run_in(RowScope::tenant(entry.tenant_id.clone()), move |conn| {
            let now = Utc::now().naive_utc();
            diesel::update(outbox::table.find(&entry.id))
                .set(outbox::sent_at.eq(Some(now)))
                .execute(conn)?;
            let queued_at: NaiveDateTime = outbox::table
                .find(&entry.id)
                .select(outbox::created_at)
                .first(conn)?;
            rollups::count_message(
                conn,
                &MessageEvent {
                    reply_after: Some(now - queued_at),
                    ..MessageEvent::outbound(&entry.tenant_id, &entry.bot_id, now)
                },
            )?;
            let sent = Recorded {
                wa_message_id: wa_id,
                status: MessageStatus::Sent,
                error: None,
            };
            record_in(conn, &entry, &sent, now)
        })
        .await?;
    live.publish(events).await;
    crate::telemetry::metrics::message_sent();
    Ok(())
}

/// How an entry ended, as its message row records it.
struct Recorded {
    wa_message_id: String,
    status: MessageStatus,
    /// The provider's code and the reason, for a failed one.
    error: Option<(Option<i64>, String)>,
}

/// The entry is now a message (under the entry's own id, so a page that showed it as
/// "sending" replaces it in place): store it, bring its thread up and tell the thread's pages.
fn record_in(
    conn: &mut DbConn,
    entry: &OutboxEntry,
    recorded: &Recorded,
    now: NaiveDateTime,
) -> QueryResult<Vec<LiveEvent>> {
    let (code, reason) = match &recorded.error {
        Some((code, reason)) => (*code, Some(reason.as_str())),
        None => (None, None),
    };
    diesel::insert_into(messages::table)
        .values((
            messages::id.eq(&entry.id),
            messages::tenant_id.eq(&entry.tenant_id),
            messages::bot_id.eq(&entry.bot_id),
            messages::direction.eq(MessageDirection::Out),
            messages::wa_message_id.eq(&recorded.wa_message_id),
            messages::contact_number.eq(&entry.to_number),
            messages::body.eq(&entry.body),
            messages::status.eq(recorded.status),
            messages::created_at.eq(now),
            messages::kind.eq(entry.kind()),
            messages::details.eq(&entry.content),
            messages::error_code.eq(code),
            messages::error_title.eq(reason),
            messages::author_id.eq(&entry.author_id),
        ))
        .execute(conn)?;
    let preview = threads::preview_of(&entry.kind(), &entry.body);
    let by_team = entry.author_id.is_some();
    let thread = threads::on_outbound_in(
        conn,
        &entry.bot_id,
        &entry.to_number,
        &preview,
        by_team,
        now,
    )?;
    match thread {
        Some(thread) => Ok(vec![live::append_in(
            conn,
            &entry.tenant_id,
            &thread,
            LiveKind::Message,
            &entry.id,
        )?]),
        None => Ok(Vec::new()),
    }
}

/// The entry will never go (the provider refused it for good): stop trying, and record it
/// as a failed message with the reason, so the business sees what did not reach whom.
pub async fn give_up(
    db: &Db,
    live: &Live,
    entry: &OutboxEntry,
    code: Option<i64>,
    reason: &str,
) -> Result<(), DbError> {
    let (entry, reason) = (entry.clone(), reason.to_owned());
    let events = db
        .run_in(RowScope::tenant(entry.tenant_id.clone()), move |conn| {
            let now = Utc::now().naive_utc();
            diesel::update(outbox::table.find(&entry.id))
                .set((
                    outbox::attempts.eq(MAX_ATTEMPTS),
                    outbox::last_error.eq(Some(&reason)),
                ))
                .execute(conn)?;
            record_failed_in(conn, &entry, code, &reason, now)
        })
        .await?;
    live.publish(events).await;
    Ok(())
}

/// Record the entry as an outbound message that failed for `reason`, so the business sees
/// what did not reach whom.
fn record_failed_in(
    conn: &mut DbConn,
    entry: &OutboxEntry,
    code: Option<i64>,
    reason: &str,
    now: NaiveDateTime,
) -> QueryResult<Vec<LiveEvent>> {
    let failed = Recorded {
        // Never sent, so WhatsApp gave it no id: the outbox's stands in.
        wa_message_id: format!("unsent:{}", entry.id),
        status: MessageStatus::Failed,
        error: Some((code, reason.to_owned())),
    };
    record_in(conn, entry, &failed, now)
}

/// Try the entry again, not before `after` from now (the provider asked us to wait). Waiting
/// is not a failed attempt: a number slowed down for a long while loses no message.
pub async fn wait(
    db: &Db,
    entry: &OutboxEntry,
    reason: &str,
    after: std::time::Duration,
) -> Result<(), DbError> {
    let (entry, reason) = (entry.clone(), reason.to_owned());
    let after = Duration::from_std(after).unwrap_or(Duration::seconds(60));
    db.run_in(RowScope::tenant(entry.tenant_id.clone()), move |conn| {
        diesel::update(outbox::table.find(&entry.id))
            .set((
                outbox::last_error.eq(Some(reason)),
                outbox::next_attempt_at.eq(Utc::now().naive_utc() + after),
            ))
            .execute(conn)
            .map(drop)
    })
    .await
}

/// When to try again after `attempts` failures: 2, 4, 8 … seconds, at most 5 minutes.
pub fn retry_at(now: NaiveDateTime, attempts: i32) -> NaiveDateTime {
    let seconds = 2_i64
        .saturating_pow(u32::try_from(attempts.clamp(1, 30)).unwrap_or(1))
        .min(300);
    now + Duration::seconds(seconds)
}

/// Sending failed: count the attempt and schedule the next; the last attempt is recorded as
/// a failed message, as a refusal is.
pub async fn mark_failed(
    db: &Db,
    live: &Live,
    entry: &OutboxEntry,
    error: &str,
) -> Result<(), DbError> {
    let (entry, error) = (entry.clone(), error.to_owned());
    let events = db
        .run_in(RowScope::tenant(entry.tenant_id.clone()), move |conn| {
            let now = Utc::now().naive_utc();
            let attempts = entry.attempts + 1;
            diesel::update(outbox::table.find(&entry.id))
                .set((
                    outbox::attempts.eq(attempts),
                    outbox::last_error.eq(Some(&error)),
                    outbox::next_attempt_at.eq(retry_at(now, attempts)),
                ))
                .execute(conn)?;
            if attempts >= MAX_ATTEMPTS {
                return record_failed_in(conn, &entry, None, &error, now);
            }
            Ok(Vec::new())
        })
        .await?;
    live.publish(events).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_to_five_minutes() {
        let now = Utc::now().naive_utc();
        assert_eq!(retry_at(now, 1) - now, Duration::seconds(2));
        assert_eq!(retry_at(now, 3) - now, Duration::seconds(8));
        assert_eq!(retry_at(now, 20) - now, Duration::seconds(300));
    }
}
