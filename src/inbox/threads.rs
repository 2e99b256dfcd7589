//! The conversations of a workspace as its team sees them: the list (newest activity first,
//! filtered, paged by cursor), one thread, and what the team does with it — read it, take it
//! over from the bot, give it back, assign it, close and reopen it. Every change is audited and
//! announced to the open pages.

use std::collections::HashMap;

use chrono::{Duration, NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::bots::settings;
use crate::bots::threads::ThreadStatus;
use crate::context::Context;
use crate::db::DbConn;
use crate::db::schema::{bots, contacts, memberships, threads, users};
use crate::error::{ServiceError, ServiceResult};
use crate::ids::{BotId, TenantId, UserId};
use crate::live::{self, LiveEvent, LiveKind};
use crate::tenancy::TenantScope;
use crate::tenants::audit::{self, Action, ClientInfo};

/// How many conversations a page of the list shows.
pub const PAGE_SIZE: i64 = 50;

/// One conversation as the list and the thread page show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadRow {
    pub id: String,
    pub bot_id: BotId,
    pub bot_name: String,
    pub contact_id: String,
    /// The name the contact gave WhatsApp, when known.
    pub contact_name: Option<String>,
    pub number: String,
    pub status: ThreadStatus,
    pub assignee_id: Option<UserId>,
    pub assignee_name: Option<String>,
    pub held_by: Option<UserId>,
    pub held_by_name: Option<String>,
    pub held_until: Option<NaiveDateTime>,
    pub unread: i32,
    pub last_message_at: NaiveDateTime,
    pub last_preview: String,
    /// `in` or `out`: who spoke last.
    pub last_direction: String,
}

impl ThreadRow {
    /// Whether a person holds the conversation now (the bot is silent).
    pub fn is_held(&self, now: NaiveDateTime) -> bool {
        self.held_until.is_some_and(|until| until > now)
    }

    /// The contact's name, else its number.
    pub fn display_name(&self) -> &str {
        self.contact_name.as_deref().unwrap_or(&self.number)
    }
}

/// Which conversations the list shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThreadFilter {
    pub bot: Option<BotId>,
    pub status: Option<ThreadStatus>,
    pub assigned: Option<Assigned>,
    pub unread_only: bool,
}

/// The assignment filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assigned {
    /// Assigned to this member.
    To(UserId),
    /// Assigned to nobody.
    Nobody,
}

impl ThreadFilter {
    /// Whether `row` passes the filter (what the live list uses for a changed thread).
    pub fn admits(&self, row: &ThreadRow) -> bool {
        self.bot.as_ref().is_none_or(|bot| *bot == row.bot_id)
            && self.status.is_none_or(|status| status == row.status)
            && match &self.assigned {
                None => true,
                Some(Assigned::To(user)) => row.assignee_id.as_ref() == Some(user),
                Some(Assigned::Nobody) => row.assignee_id.is_none(),
            }
            && (!self.unread_only || row.unread > 0)
    }
}

/// Where a page of the list ends: the last row's activity time and id. Written into links
/// as `{micros}_{id}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub at: NaiveDateTime,
    pub id: String,
}

impl Cursor {
    /// The cursor after `row`.
    pub fn after(row: &ThreadRow) -> Self {
        Self {
            at: row.last_message_at,
            id: row.id.clone(),
        }
    }

    /// Split `rows`, read one more than a page of `size`, into the page and the cursor after
    /// its last row (`at_of` gives a row's time and id) when more rows follow.
    pub fn page<T>(
        mut rows: Vec<T>,
        size: i64,
        at_of: impl Fn(&T) -> (NaiveDateTime, String),
    ) -> (Vec<T>, Option<Self>) {
        let size = usize::try_from(size).unwrap_or(0);
        if rows.len() <= size {
            return (rows, None);
        }
        rows.truncate(size);
        let next = rows.last().map(|row| {
            let (at, id) = at_of(row);
            Self { at, id }
        });
        (rows, next)
    }

    /// As a link writes it.
    pub fn encode(&self) -> String {
        format!("{}_{}", self.at.and_utc().timestamp_micros(), self.id)
    }

    /// Read a cursor from a link; `None` for anything else.
    pub fn decode(raw: &str) -> Option<Self> {
        let (micros, id) = raw.split_once('_')?;
        let at = chrono::DateTime::from_timestamp_micros(micros.parse().ok()?)?.naive_utc();
        (!id.is_empty()).then(|| Self {
            at,
            id: id.to_owned(),
        })
    }
}

/// One page of the list, and the cursor of the next when there is one.
#[derive(Debug, Clone)]
pub struct ThreadPage {
    pub rows: Vec<ThreadRow>,
    pub next: Option<Cursor>,
}

type Row = (
    (
        String,
        BotId,
        String,
        ThreadStatus,
        Option<UserId>,
        Option<UserId>,
    ),
    (Option<NaiveDateTime>, i32, NaiveDateTime, String, String),
    (Option<String>, String),
    String,
);

/// The scope's conversations that pass `filter`, newest activity first, after `cursor`.
pub async fn list(
    ctx: &Context,
    scope: &TenantScope,
    filter: &ThreadFilter,
    cursor: Option<&Cursor>,
) -> ServiceResult<ThreadPage> {
    let (tenant, filter, cursor) = (scope.tenant_id().clone(), filter.clone(), cursor.cloned());
    let rows = ctx
        .db
        .run_in(scope.rows(), move |conn| {
            let mut query = base_query(&tenant).into_boxed();
            if let Some(bot) = &filter.bot {
                query = query.filter(threads::bot_id.eq(bot.clone()));
            }
            if let Some(status) = filter.status {
                query = query.filter(threads::status.eq(status));
            }
            match &filter.assigned {
                Some(Assigned::To(user)) => {
                    query = query.filter(threads::assignee_id.eq(user.clone()));
                }
                Some(Assigned::Nobody) => query = query.filter(threads::assignee_id.is_null()),
                None => {}
            }
            if filter.unread_only {
                query = query.filter(threads::unread.gt(0));
            }
            if let Some(cursor) = &cursor {
                query = query.filter(
                    threads::last_message_at
                        .lt(cursor.at)
                        .or(threads::last_message_at
                            .eq(cursor.at)
                            .and(threads::id.lt(cursor.id.clone()))),
                );
            }
            let rows: Vec<Row> = query
                .order((threads::last_message_at.desc(), threads::id.desc()))
                .limit(PAGE_SIZE + 1)
                .load(conn)?;
            with_names(conn, &tenant, rows)
        })
        .await?;
    let (rows, next) = Cursor::page(rows, PAGE_SIZE, |row| (row.last_message_at, row.id.clone()));
    Ok(ThreadPage { rows, next })
}

/// The query every read of threads starts from: a thread with its contact and bot.
#[allow(clippy::type_complexity)]
fn base_query(
    tenant: &TenantId,
) -> diesel::dsl::Select<
    diesel::dsl::Filter<
        diesel::dsl::InnerJoin<
            diesel::dsl::InnerJoin<threads::table, contacts::table>,
            bots::table,
        >,
        diesel::dsl::Eq<threads::tenant_id, TenantId>,
    >,
    (
        (
            threads::id,
            threads::bot_id,
            threads::contact_id,
            threads::status,
            threads::assignee_id,
            threads::held_by,
        ),
        (
            threads::held_until,
            threads::unread,
            threads::last_message_at,
            threads::last_preview,
            threads::last_direction,
        ),
        (contacts::name, contacts::number),
        bots::name,
    ),
> {
    threads::table
        .inner_join(contacts::table)
        .inner_join(bots::table)
        .filter(threads::tenant_id.eq(tenant.clone()))
        .select((
            (
                threads::id,
                threads::bot_id,
                threads::contact_id,
                threads::status,
                threads::assignee_id,
                threads::held_by,
            ),
            (
                threads::held_until,
                threads::unread,
                threads::last_message_at,
                threads::last_preview,
                threads::last_direction,
            ),
            (contacts::name, contacts::number),
            bots::name,
        ))
}

/// Turn rows into [`ThreadRow`]s, with the names of the members they mention.
fn with_names(conn: &mut DbConn, tenant: &TenantId, rows: Vec<Row>) -> QueryResult<Vec<ThreadRow>> {
    let mut people: Vec<UserId> = rows
        .iter()
        .flat_map(|((.., assignee, held_by), ..)| [assignee.clone(), held_by.clone()])
        .flatten()
        .collect();
    people.sort();
    people.dedup();
    let names = member_names_in(conn, tenant, &people)?;
    let name_of = |id: &Option<UserId>| id.as_ref().and_then(|id| names.get(id).cloned());
    Ok(rows
        .into_iter()
        .map(
            |(
                (id, bot_id, contact_id, status, assignee_id, held_by),
                (held_until, unread, last_message_at, last_preview, last_direction),
                (contact_name, number),
                bot_name,
            )| ThreadRow {
                assignee_name: name_of(&assignee_id),
                held_by_name: name_of(&held_by),
                id,
                bot_id,
                bot_name,
                contact_id,
                contact_name,
                number,
                status,
                assignee_id,
                held_by,
                held_until,
                unread,
                last_message_at,
                last_preview,
                last_direction,
            },
        )
        .collect())
}

/// The names (else emails) of the given members of `tenant`.
pub fn member_names_in(
    conn: &mut DbConn,
    tenant: &TenantId,
    ids: &[UserId],
) -> QueryResult<HashMap<UserId, String>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(UserId, String, String)> = users::table
        .inner_join(memberships::table)
        .filter(memberships::tenant_id.eq(tenant))
        .filter(users::id.eq_any(ids))
        .select((users::id, users::name, users::email))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, name, email)| (id, person_name(name, email)))
        .collect())
}

/// What a member is called: their name, else their email.
fn person_name(name: String, email: String) -> String {
    if name.trim().is_empty() { email } else { name }
}

/// One of the scope's conversations (a foreign id is NotFound).
pub async fn find(ctx: &Context, scope: &TenantScope, id: &str) -> ServiceResult<ThreadRow> {
    let (tenant, id) = (scope.tenant_id().clone(), id.to_owned());
    ctx.db
        .run_in(scope.rows(), move |conn| find_in(conn, &tenant, &id))
        .await?
        .ok_or(ServiceError::NotFound)
}

/// One thread of `tenant`, within the caller's transaction.
pub fn find_in(conn: &mut DbConn, tenant: &TenantId, id: &str) -> QueryResult<Option<ThreadRow>> {
    let rows: Vec<Row> = base_query(tenant)
        .filter(threads::id.eq(id.to_owned()))
        .load(conn)?;
    Ok(with_names(conn, tenant, rows)?.pop())
}

/// The threads `ids` of `tenant` (others are skipped), newest activity first, within the
/// caller's transaction.
pub(crate) fn find_many_in(
    conn: &mut DbConn,
    tenant: &TenantId,
    ids: &[String],
) -> QueryResult<Vec<ThreadRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<Row> = base_query(tenant)
        .filter(threads::id.eq_any(ids))
        .order((threads::last_message_at.desc(), threads::id.desc()))
        .load(conn)?;
    with_names(conn, tenant, rows)
}

/// The thread of one of the scope's contacts, if it has one.
pub async fn of_contact(
    ctx: &Context,
    scope: &TenantScope,
    contact_id: &str,
) -> ServiceResult<Option<ThreadRow>> {
    let (tenant, contact) = (scope.tenant_id().clone(), contact_id.to_owned());
    let found = ctx
        .db
        .run_in(scope.rows(), move |conn| {
            let rows: Vec<Row> = base_query(&tenant)
                .filter(threads::contact_id.eq(contact))
                .load(conn)?;
            Ok(with_names(conn, &tenant, rows)?.pop())
        })
        .await?;
    Ok(found)
}

/// How many conversations of the scope have unread messages (the navigation's badge).
pub async fn unread_count(ctx: &Context, scope: &TenantScope) -> ServiceResult<i64> {
    let tenant = scope.tenant_id().clone();
    let count = ctx
        .db
        .run_in(scope.rows(), move |conn| {
            threads::table
                .filter(threads::tenant_id.eq(tenant))
                .filter(threads::unread.gt(0))
                .count()
                .get_result(conn)
        })
        .await?;
    Ok(count)
}

/// What the team does with a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TeamAction {
    /// The team has seen what came in.
    Read,
    /// The member takes it over: the bot is silent until released (or the idle time passes
    /// without a word from the team).
    TakeOver,
    /// The bot answers again.
    Release,
    /// Assign it to a member of the workspace, or to nobody.
    Assign(Option<UserId>),
    Close,
    Reopen,
}

/// Do `action` to the scope's thread `id` as the scope's member; returns the thread as it is
/// now. Each change but reading is audited; all are announced to the open pages.
pub async fn act(
    ctx: &Context,
    scope: &TenantScope,
    id: &str,
    action: TeamAction,
    client: &ClientInfo,
) -> ServiceResult<ThreadRow> {
    let (tenant, id, user, client) = (
        scope.tenant_id().clone(),
        id.to_owned(),
        scope.user_id().clone(),
        client.clone(),
    );
    let (row, events) = ctx
        .db
        .transaction(scope.rows(), move |conn| -> ServiceResult<_> {
            let before = find_in(conn, &tenant, &id)?.ok_or(ServiceError::NotFound)?;
            let now = Utc::now().naive_utc();
            let changed = match apply_in(conn, &tenant, &before, &action, &user, now)? {
                Some((what, extra)) => {
                    let detail = format!("{} ({})", before.display_name(), before.bot_name);
                    let detail = match extra {
                        Some(extra) => format!("{detail}: {extra}"),
                        None => detail,
                    };
                    let (tenant, user) = (Some(tenant.as_str()), Some(user.as_str()));
                    audit::record(conn, what, tenant, user, &detail, &client)?;
                    true
                }
                None => action == TeamAction::Read && before.unread > 0,
            };
            let mut events: Vec<LiveEvent> = Vec::new();
            if changed {
                events.push(live::append_in(conn, &tenant, &id, LiveKind::Thread, &id)?);
            }
            let after = find_in(conn, &tenant, &id)?.ok_or(ServiceError::NotFound)?;
            Ok((after, events))
        })
        .await?;
    ctx.live.publish(events).await;
    Ok(row)
}

/// The audit entry of a change: the action and what to add to its detail.
type Audited = (Action, Option<String>);

/// Write `action`'s change; `None` when nothing is audited (reading, or no change).
fn apply_in(
    conn: &mut DbConn,
    tenant: &TenantId,
    thread: &ThreadRow,
    action: &TeamAction,
    user: &UserId,
    now: NaiveDateTime,
) -> ServiceResult<Option<Audited>> {
    let target = threads::table
        .filter(threads::id.eq(&thread.id))
        .filter(threads::tenant_id.eq(tenant));
    match action {
        TeamAction::Read => {
            diesel::update(target)
                .set(threads::unread.eq(0))
                .execute(conn)?;
            Ok(None)
        }
        TeamAction::TakeOver => {
            let until = now + idle_of_in(conn, &thread.bot_id)?;
            diesel::update(target)
                .set((
                    threads::held_by.eq(Some(user)),
                    threads::held_until.eq(Some(until)),
                    threads::assignee_id.eq(Some(user)),
                    threads::status.eq(ThreadStatus::Open),
                    threads::updated_at.eq(now),
                ))
                .execute(conn)?;
            Ok(Some((Action::ConversationTakenOver, None)))
        }
        TeamAction::Release => {
            if !thread.is_held(now) && thread.held_by.is_none() {
                return Ok(None);
            }
            diesel::update(target)
                .set((
                    threads::held_by.eq(None::<UserId>),
                    threads::held_until.eq(None::<NaiveDateTime>),
                    threads::status.eq(match thread.status {
                        ThreadStatus::Waiting => ThreadStatus::Open,
                        other => other,
                    }),
                    threads::updated_at.eq(now),
                ))
                .execute(conn)?;
            Ok(Some((Action::ConversationReleased, None)))
        }
        TeamAction::Assign(assignee) => {
            let name = match assignee {
                Some(member) => {
                    let names = member_names_in(conn, tenant, std::slice::from_ref(member))?;
                    match names.get(member) {
                        Some(name) => Some(name.clone()),
                        None => {
                            return Err(ServiceError::invalid(
                                "assignee",
                                "Choose a member of this workspace.",
                            ));
                        }
                    }
                }
                None => None,
            };
            if thread.assignee_id == *assignee {
                return Ok(None);
            }
            diesel::update(target)
                .set((
                    threads::assignee_id.eq(assignee),
                    threads::updated_at.eq(now),
                ))
                .execute(conn)?;
            let to = name.map_or_else(|| "to nobody".to_owned(), |name| format!("to {name}"));
            Ok(Some((Action::ConversationAssigned, Some(to))))
        }
        TeamAction::Close => {
            if thread.status == ThreadStatus::Closed {
                return Ok(None);
            }
            // Closing hands the conversation back to the bot.
            diesel::update(target)
                .set((
                    threads::status.eq(ThreadStatus::Closed),
                    threads::held_by.eq(None::<UserId>),
                    threads::held_until.eq(None::<NaiveDateTime>),
                    threads::unread.eq(0),
                    threads::updated_at.eq(now),
                ))
                .execute(conn)?;
            Ok(Some((Action::ConversationClosed, None)))
        }
        TeamAction::Reopen => {
            if thread.status != ThreadStatus::Closed {
                return Ok(None);
            }
            diesel::update(target)
                .set((
                    threads::status.eq(ThreadStatus::Open),
                    threads::updated_at.eq(now),
                ))
                .execute(conn)?;
            Ok(Some((Action::ConversationReopened, None)))
        }
    }
}

/// How long a takeover silences the bot without a word from the team (the bot's setting).
pub fn idle_of_in(conn: &mut DbConn, bot_id: &BotId) -> QueryResult<Duration> {
    let stored = settings::load_in(conn, bot_id)?;
    Ok(Duration::minutes(i64::from(
        stored.config.takeover_idle_minutes,
    )))
}

/// The members of the scope's workspace, for the assignment menu: id and name.
pub async fn members(ctx: &Context, scope: &TenantScope) -> ServiceResult<Vec<(UserId, String)>> {
    let tenant = scope.tenant_id().clone();
    let mut people: Vec<(UserId, String)> = ctx
        .db
        .run_in(scope.rows(), move |conn| {
            let rows: Vec<(UserId, String, String)> = users::table
                .inner_join(memberships::table)
                .filter(memberships::tenant_id.eq(&tenant))
                .select((users::id, users::name, users::email))
                .load(conn)?;
            Ok(rows
                .into_iter()
                .map(|(id, name, email)| (id, person_name(name, email)))
                .collect::<Vec<_>>())
        })
        .await?;
    people.sort_by_key(|(_, name)| name.to_lowercase());
    Ok(people)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_junk() {
        let at = chrono::DateTime::from_timestamp_micros(1_765_000_000_123_456)
            .unwrap()
            .naive_utc();
        let cursor = Cursor {
            at,
            id: "0193-abc".into(),
        };
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        assert_eq!(Cursor::decode("nonsense"), None);
        assert_eq!(Cursor::decode("12_"), None);
        assert_eq!(Cursor::decode("x_abc"), None);
    }
}
