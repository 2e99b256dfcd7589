//! The messages of one conversation as the thread page shows them: bubbles oldest first, with
//! who wrote each (the customer, the bot or which member), its ticks, the file it brought, the
//! message it quotes, and the team's replies still on their way ("sending").

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::threads::{ThreadRow, member_names_in};
use crate::bots::media::{self, MessageMedia};
use crate::bots::messages::{MessageDirection, MessageStatus};
use crate::bots::outbox::MAX_ATTEMPTS;
use crate::context::Context;
use crate::db::DbConn;
use crate::db::schema::{messages, outbox};
use crate::error::{ServiceError, ServiceResult};
use crate::ids::{TenantId, UserId};
use crate::tenancy::TenantScope;

/// How many messages a page of a conversation shows.
pub const PAGE_SIZE: i64 = 50;

/// How far a message got, as its ticks show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tick {
    /// From the customer.
    Received,
    /// Queued by the team, not yet taken by WhatsApp.
    Sending,
    Sent,
    Delivered,
    Read,
    Failed,
}

impl Tick {
    fn of(status: MessageStatus) -> Self {
        match status {
            MessageStatus::Received => Self::Received,
            MessageStatus::Sent => Self::Sent,
            MessageStatus::Delivered => Self::Delivered,
            MessageStatus::Read => Self::Read,
            MessageStatus::Failed => Self::Failed,
        }
    }

    /// The word for it (also the CSS class).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Read => "read",
            Self::Failed => "failed",
        }
    }

    /// What a person reads: "Sending…", "Delivered".
    pub fn label(self) -> &'static str {
        match self {
            Self::Received => "Received",
            Self::Sending => "Sending…",
            Self::Sent => "Sent",
            Self::Delivered => "Delivered",
            Self::Read => "Read",
            Self::Failed => "Not delivered",
        }
    }

    /// The ticks drawn beside an outbound message.
    pub fn marks(self) -> &'static str {
        match self {
            Self::Received => "",
            Self::Sending => "◷",
            Self::Sent => "✓",
            Self::Delivered | Self::Read => "✓✓",
            Self::Failed => "!",
        }
    }
}

/// Who wrote a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Author {
    Customer,
    Bot,
    /// A member of the team, by name ("A former member" once they left).
    Member(String),
}

/// One message as a bubble.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bubble {
    pub id: String,
    pub author: Author,
    pub body: String,
    /// `text`, `image`, `audio`, `document`…
    pub kind: String,
    pub tick: Tick,
    /// Why it failed, for a failed one.
    pub error: Option<String>,
    pub created_at: NaiveDateTime,
    /// The file it brought, when it brought one.
    pub media: Option<MessageMedia>,
    /// The text of the message it replies to, when that one is known.
    pub quoted: Option<String>,
}

impl Bubble {
    /// Whether the business sent it (the bot or the team).
    pub fn is_outbound(&self) -> bool {
        self.author != Author::Customer
    }

    /// Who wrote it, in words.
    pub fn author_label(&self) -> &str {
        match &self.author {
            Author::Customer => "Customer",
            Author::Bot => "Bot",
            Author::Member(name) => name,
        }
    }

    /// The day it belongs to (UTC), for the day separators.
    pub fn day(&self) -> NaiveDate {
        self.created_at.date()
    }

    /// The time of day (UTC), as `14:05`.
    pub fn time(&self) -> String {
        self.created_at.format("%H:%M").to_string()
    }

    /// The file to show inline (`/media/{id}`), once stored.
    pub fn stored_media(&self) -> Option<&MessageMedia> {
        self.media.as_ref().filter(|m| m.status == "stored")
    }
}

/// Where a page of a conversation starts going back from: the oldest shown message's time
/// and id, written `{micros}_{id}` as the list's cursor is.
pub type MessageCursor = super::threads::Cursor;

/// A page of a conversation, oldest first, and the cursor of the earlier page if any.
#[derive(Debug, Clone)]
pub struct Conversation {
    pub bubbles: Vec<Bubble>,
    pub earlier: Option<MessageCursor>,
}

type MessageRow = (
    String,
    MessageDirection,
    String,
    String,
    MessageStatus,
    Option<String>,
    NaiveDateTime,
    Option<String>,
    Option<UserId>,
);

fn message_columns() -> (
    messages::id,
    messages::direction,
    messages::body,
    messages::kind,
    messages::status,
    messages::error_title,
    messages::created_at,
    messages::reply_to,
    messages::author_id,
) {
    (
        messages::id,
        messages::direction,
        messages::body,
        messages::kind,
        messages::status,
        messages::error_title,
        messages::created_at,
        messages::reply_to,
        messages::author_id,
    )
}

/// The latest messages of `thread` (before `before`, when paging back), with the team's
/// replies still queued at the end of the first page.
pub async fn of_thread(
    ctx: &Context,
    scope: &TenantScope,
    thread: &ThreadRow,
    before: Option<&MessageCursor>,
) -> ServiceResult<Conversation> {
    let tenant = scope.tenant_id().clone();
    let (bot_id, number, before) = (
        thread.bot_id.clone(),
        thread.number.clone(),
        before.cloned(),
    );
    let conversation = ctx
        .db
        .run_in(scope.rows(), move |conn| {
            let mut query = messages::table
                .filter(messages::tenant_id.eq(&tenant))
                .filter(messages::bot_id.eq(&bot_id))
                .filter(messages::contact_number.eq(&number))
                .select(message_columns())
                .into_boxed();
            if let Some(before) = &before {
                query = query.filter(
                    messages::created_at.lt(before.at).or(messages::created_at
                        .eq(before.at)
                        .and(messages::id.lt(before.id.clone()))),
                );
            }
            let rows: Vec<MessageRow> = query
                .order((messages::created_at.desc(), messages::id.desc()))
                .limit(PAGE_SIZE + 1)
                .load(conn)?;
            let (mut rows, earlier) =
                MessageCursor::page(rows, PAGE_SIZE, |row| (row.6, row.0.clone()));
            rows.reverse();
            let mut bubbles = bubbles_in(conn, &tenant, &bot_id, rows)?;
            if before.is_none() {
                bubbles.extend(queued_in(conn, &tenant, &bot_id, Some(&number), None)?);
            }
            Ok(Conversation { bubbles, earlier })
        })
        .await?;
    Ok(conversation)
}

/// One message of the scope as a bubble (a queued team reply too), with the thread it is in;
/// NotFound for anything else.
pub async fn one(ctx: &Context, scope: &TenantScope, id: &str) -> ServiceResult<Bubble> {
    let (tenant, id) = (scope.tenant_id().clone(), id.to_owned());
    ctx.db
        .run_in(scope.rows(), move |conn| {
            let row: Option<(MessageRow, crate::ids::BotId)> = messages::table
                .filter(messages::tenant_id.eq(&tenant))
                .filter(messages::id.eq(&id))
                .select((message_columns(), messages::bot_id))
                .first(conn)
                .optional()?;
            if let Some((row, bot_id)) = row {
                return Ok(bubbles_in(conn, &tenant, &bot_id, vec![row])?.pop());
            }
            let bot_id: Option<crate::ids::BotId> = outbox::table
                .filter(outbox::tenant_id.eq(&tenant))
                .filter(outbox::id.eq(&id))
                .select(outbox::bot_id)
                .first(conn)
                .optional()?;
            match bot_id {
                Some(bot_id) => Ok(queued_in(conn, &tenant, &bot_id, None, Some(&id))?.pop()),
                None => Ok(None),
            }
        })
        .await?
        .ok_or(ServiceError::NotFound)
}

/// Rows as bubbles: authors named, files and quoted messages looked up.
fn bubbles_in(
    conn: &mut DbConn,
    tenant: &TenantId,
    bot_id: &crate::ids::BotId,
    rows: Vec<MessageRow>,
) -> QueryResult<Vec<Bubble>> {
    let ids: Vec<String> = rows.iter().map(|row| row.0.clone()).collect();
    let mut files = media::for_messages(conn, tenant, &ids)?;
    let quoted_ids: Vec<String> = rows.iter().filter_map(|row| row.7.clone()).collect();
    let quoted: Vec<(String, String)> = if quoted_ids.is_empty() {
        Vec::new()
    } else {
        messages::table
            .filter(messages::tenant_id.eq(tenant))
            .filter(messages::bot_id.eq(bot_id))
            .filter(messages::wa_message_id.eq_any(&quoted_ids))
            .select((messages::wa_message_id, messages::body))
            .load(conn)?
    };
    let authors: Vec<UserId> = rows.iter().filter_map(|row| row.8.clone()).collect();
    let names = member_names_in(conn, tenant, &authors)?;
    Ok(rows
        .into_iter()
        .map(
            |(id, direction, body, kind, status, error, created_at, reply_to, author_id)| {
                let author = match (direction, author_id) {
                    (MessageDirection::In, _) => Author::Customer,
                    (MessageDirection::Out, None) => Author::Bot,
                    (MessageDirection::Out, Some(user)) => Author::Member(
                        names
                            .get(&user)
                            .cloned()
                            .unwrap_or_else(|| "A former member".to_owned()),
                    ),
                };
                Bubble {
                    media: files
                        .iter()
                        .position(|file| file.message_id == id)
                        .map(|at| files.swap_remove(at)),
                    quoted: reply_to.and_then(|wa| {
                        quoted
                            .iter()
                            .find(|(quoted_wa, _)| *quoted_wa == wa)
                            .map(|(_, body)| crate::bots::threads::preview_of("text", body))
                    }),
                    id,
                    author,
                    body,
                    kind,
                    tick: Tick::of(status),
                    error,
                    created_at,
                }
            },
        )
        .collect())
}

/// An outbox entry as a bubble needs it: id, body, content, queued at, author, last error.
type QueuedRow = (
    String,
    String,
    Option<String>,
    NaiveDateTime,
    Option<UserId>,
    Option<String>,
);

/// Team replies of the bot still in the outbox (to `number`, or the one entry `id`).
fn queued_in(
    conn: &mut DbConn,
    tenant: &TenantId,
    bot_id: &crate::ids::BotId,
    number: Option<&str>,
    id: Option<&str>,
) -> QueryResult<Vec<Bubble>> {
    let mut query = outbox::table
        .filter(outbox::tenant_id.eq(tenant))
        .filter(outbox::bot_id.eq(bot_id))
        .filter(outbox::sent_at.is_null())
        .filter(outbox::attempts.lt(MAX_ATTEMPTS))
        .filter(outbox::author_id.is_not_null())
        .select((
            outbox::id,
            outbox::body,
            outbox::content,
            outbox::created_at,
            outbox::author_id,
            outbox::last_error,
        ))
        .into_boxed();
    if let Some(number) = number {
        query = query.filter(outbox::to_number.eq(number.to_owned()));
    }
    if let Some(id) = id {
        query = query.filter(outbox::id.eq(id.to_owned()));
    }
    let rows: Vec<QueuedRow> = query.order(outbox::created_at.asc()).load(conn)?;
    let authors: Vec<UserId> = rows.iter().filter_map(|row| row.4.clone()).collect();
    let names = member_names_in(conn, tenant, &authors)?;
    Ok(rows
        .into_iter()
        .map(
            |(id, body, content, created_at, author, last_error)| Bubble {
                id,
                author: Author::Member(
                    author
                        .and_then(|user| names.get(&user).cloned())
                        .unwrap_or_else(|| "A former member".to_owned()),
                ),
                body,
                kind: content
                    .as_deref()
                    .and_then(|c| serde_json::from_str::<serde_json::Value>(c).ok())
                    .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_owned))
                    .unwrap_or_else(|| "text".into()),
                tick: Tick::Sending,
                // A retry pending: say why it has not gone yet.
                error: last_error,
                created_at,
                media: None,
                quoted: None,
            },
        )
        .collect())
}
