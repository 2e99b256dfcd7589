//! Search in the inbox: the conversations whose contact matches what was typed (by name or by
//! the start of the number), and the messages whose text matches it, newest first, a page at
//! a time. Both go through the full-text indexes of the inbox migration, never a scan of the
//! text: on PostgreSQL the GIN indexes (through the `*_searchable` views, so row-level
//! security does not keep the planner from them), on SQLite the FTS5 tables.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};

use crate::context::Context;
use crate::db::DbConn;
use crate::error::ServiceResult;
use crate::ids::{BotId, TenantId};
use crate::inbox::fts;
use crate::inbox::threads::{self, Cursor, ThreadRow};
use crate::tenancy::TenantScope;

/// How many conversations a search shows.
pub const CONVERSATIONS: i64 = 10;

/// How many message hits a page shows.
pub const PAGE_SIZE: i64 = 30;

/// How much of a message a hit shows around the word found, in characters.
const SNIPPET_BEFORE: usize = 40;
const SNIPPET_AFTER: usize = 100;

/// What a search found.
#[derive(Debug, Clone, Default)]
pub struct SearchResults {
    /// Conversations whose contact matches, newest activity first (only on the first page).
    pub conversations: Vec<ThreadRow>,
    /// Messages whose text matches, newest first.
    pub messages: Vec<MessageHit>,
    /// Where the next page of messages starts, when there is one.
    pub next: Option<Cursor>,
}

/// A message whose text matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageHit {
    pub message_id: String,
    pub thread_id: String,
    pub bot_id: BotId,
    pub bot_name: String,
    /// The contact's name, else its number.
    pub contact_name: String,
    /// `in` or `out`.
    pub direction: String,
    pub created_at: NaiveDateTime,
    /// The part of the text around the first word found (plain text; the page escapes it).
    pub snippet: String,
}

/// Search the scope's workspace for `typed`. `before` is the cursor of a later page of
/// messages (from [`SearchResults::next`]); conversations come only with the first page.
/// Nothing searchable typed (only punctuation, say) finds nothing.
pub async fn search(
    ctx: &Context,
    scope: &TenantScope,
    typed: &str,
    before: Option<&Cursor>,
) -> ServiceResult<SearchResults> {
    let Some(terms) = Terms::of(typed) else {
        return Ok(SearchResults::default());
    };
    let words = fts::words(typed);
    let (tenant, before) = (scope.tenant_id().clone(), before.cloned());
    let found = ctx
        .db
        .run_in(scope.rows(), move |conn| {
            let conversations = match (&before, &terms.contacts) {
                (None, Some(contacts)) => {
                    let ids = matching_threads_in(conn, &tenant, contacts)?;
                    threads::find_many_in(conn, &tenant, &ids)?
                }
                _ => Vec::new(),
            };
            let rows = match &terms.messages {
                Some(messages) => matching_messages_in(conn, &tenant, messages, before.as_ref())?,
                None => Vec::new(),
            };
            Ok((conversations, rows))
        })
        .await?;
    let (conversations, rows) = found;
    let (rows, next) = Cursor::page(rows, PAGE_SIZE, |row| (row.created_at, row.id.clone()));
    let messages = rows
        .into_iter()
        // A message to a number that never wrote has no conversation to open.
        .filter_map(|row| {
            Some(MessageHit {
                snippet: snippet(&row.body, &words),
                thread_id: row.thread_id?,
                contact_name: row.contact_name.unwrap_or(row.contact_number),
                message_id: row.id,
                bot_id: row.bot_id.into(),
                bot_name: row.bot_name,
                direction: row.direction,
                created_at: row.created_at,
            })
        })
        .collect();
    Ok(SearchResults {
        conversations,
        messages,
        next,
    })
}

/// What typed text becomes, per backend and per index.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Terms {
    /// For the contacts' index; `None` when nothing there can match.
    contacts: Option<Query>,
    /// For the messages' index.
    messages: Option<Query>,
}

/// One full-text query in both backends' languages.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Query {
    postgres: String,
    sqlite: String,
}

impl Query {
    fn of(typed: &str) -> Option<Self> {
        Some(Self {
            postgres: fts::postgres_query(typed)?,
            sqlite: fts::sqlite_query(typed)?,
        })
    }

    fn for_backend(&self, conn: &DbConn) -> &str {
        match conn {
            DbConn::Pg(_) => &self.postgres,
            DbConn::Sqlite(_) => &self.sqlite,
        }
    }
}

impl Terms {
    fn of(typed: &str) -> Option<Self> {
        let messages = Query::of(typed)?;
        // A number is stored as one run of digits, so "+44 7700 900" is searched as one word.
        let contacts = match as_number(typed) {
            Some(digits) => Query::of(&digits),
            None => Some(messages.clone()),
        };
        Some(Self {
            contacts,
            messages: Some(messages),
        })
    }
}

/// The digits of `typed` when it looks like a phone number written for people (digits with
/// spaces, `+`, `-`, dots or brackets) and has a space or sign inside it.
fn as_number(typed: &str) -> Option<String> {
    let typed = typed.trim();
    let allowed = |c: char| c.is_ascii_digit() || " +-.()".contains(c);
    if typed.is_empty() || !typed.chars().all(allowed) {
        return None;
    }
    let digits: String = typed.chars().filter(char::is_ascii_digit).collect();
    (!digits.is_empty()).then_some(digits)
}

/// The far end of the first page: later than any message.
fn far_future() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(9999, 12, 31)
        .and_then(|day| day.and_hms_opt(23, 59, 59))
        .unwrap_or(NaiveDateTime::MAX)
}

#[derive(QueryableByName)]
struct ThreadIdRow {
    #[diesel(sql_type = Text)]
    id: String,
}

/// A message hit as the query returns it.
#[derive(Debug, QueryableByName)]
struct HitRow {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    bot_id: String,
    #[diesel(sql_type = Text)]
    contact_number: String,
    #[diesel(sql_type = Text)]
    direction: String,
    #[diesel(sql_type = Timestamp)]
    created_at: NaiveDateTime,
    #[diesel(sql_type = Text)]
    body: String,
    #[diesel(sql_type = Text)]
    bot_name: String,
    #[diesel(sql_type = Nullable<Text>)]
    contact_name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    thread_id: Option<String>,
}

// The backend-specific SQL of search, and only it. Placeholders appear in number order
// (SQLite numbers `$n` by first appearance).

/// PostgreSQL: the `doc` column of the views is the indexed expression itself.
const PG_THREADS: &str = "\
    SELECT t.id FROM contacts_searchable c JOIN threads t ON t.contact_id = c.id \
    WHERE c.tenant_id = $1 AND c.doc @@ to_tsquery('simple', $2) \
    ORDER BY t.last_message_at DESC, t.id DESC LIMIT $3";

const SQLITE_THREADS: &str = "\
    SELECT t.id FROM contacts_fts JOIN contacts c ON c.rowid = contacts_fts.rowid \
    JOIN threads t ON t.contact_id = c.id \
    WHERE c.tenant_id = $1 AND contacts_fts MATCH $2 \
    ORDER BY t.last_message_at DESC, t.id DESC LIMIT $3";

/// The page of messages is chosen first, then named: the joins run for 31 rows only.
const HIT_NAMES: &str = "\
    JOIN bots b ON b.id = h.bot_id \
    LEFT JOIN contacts c ON c.bot_id = h.bot_id AND c.number = h.contact_number \
    LEFT JOIN threads t ON t.contact_id = c.id";

const HIT_COLUMNS: &str = "\
    SELECT h.id, h.bot_id, h.contact_number, h.direction, h.created_at, h.body, \
           b.name AS bot_name, c.name AS contact_name, t.id AS thread_id FROM";

/// PostgreSQL, first: the newest 2,000 messages in order (`messages_by_tenant_time`), and
/// those that match. A common word fills a page here in a few
/// milliseconds; anything rarer falls through to [`PG_MESSAGES`]. The planner cannot make
/// this choice itself: it estimates a prefix (`word:*`) it has no statistics for at 2 % of
/// the rows, and walks the time index through every message for a word that is in five.
const PG_MESSAGES_RECENT: &str = "\
    (SELECT r.id, r.bot_id, r.contact_number, r.direction, r.created_at, r.body \
     FROM (SELECT m.id, m.bot_id, m.contact_number, m.direction, m.created_at, m.body, m.doc \
           FROM messages_searchable m \
           WHERE m.tenant_id = $1 AND (m.created_at, m.id) < ($3, $4) \
           ORDER BY m.created_at DESC, m.id DESC LIMIT 2000) r \
     WHERE r.doc @@ to_tsquery('simple', $2) \
     ORDER BY r.created_at DESC, r.id DESC LIMIT $5) h";

/// PostgreSQL, then: every match from the GIN index, sorted. MATERIALIZED keeps the planner
/// from walking the time index instead (fewer than a page of the newest messages matched,
/// so the matches are few).
const PG_MESSAGES: &str = "\
    (WITH found AS MATERIALIZED ( \
         SELECT m.id, m.bot_id, m.contact_number, m.direction, m.created_at, m.body \
         FROM messages_searchable m \
         WHERE m.tenant_id = $1 AND m.doc @@ to_tsquery('simple', $2) \
           AND (m.created_at, m.id) < ($3, $4)) \
     SELECT * FROM found ORDER BY created_at DESC, id DESC LIMIT $5) h";

/// SQLite: FTS5 reads a match list in rowid order, newest first, and stops once a page is
/// full, where sorting by `created_at` would read every match of a common word first. The
/// rowid is the order messages were stored, which is `created_at`'s order (a message is
/// stored with the time it is stored, one writer at a time), so SQLite pages by rowid: after
/// the cursor's message.
const SQLITE_MESSAGES: &str = "\
    (SELECT m.rowid AS seq, m.id, m.bot_id, m.contact_number, m.direction, m.created_at, m.body \
     FROM messages_fts JOIN messages m ON m.rowid = messages_fts.rowid \
     WHERE m.tenant_id = $1 AND messages_fts MATCH $2 \
       AND messages_fts.rowid < coalesce((SELECT rowid FROM messages WHERE id = $3), 9223372036854775807) \
     ORDER BY messages_fts.rowid DESC LIMIT $4) h";

/// The SQL of a page of messages on this connection's backend, in the order to try them:
/// the first that fills a page, else the last, gives the page.
fn messages_sql(conn: &DbConn) -> Vec<String> {
    match conn {
        DbConn::Pg(_) => [PG_MESSAGES_RECENT, PG_MESSAGES]
            .iter()
            .map(|inner| {
                format!("{HIT_COLUMNS} {inner} {HIT_NAMES} ORDER BY h.created_at DESC, h.id DESC")
            })
            .collect(),
        DbConn::Sqlite(_) => vec![format!(
            "{HIT_COLUMNS} {SQLITE_MESSAGES} {HIT_NAMES} ORDER BY h.seq DESC"
        )],
    }
}

/// Bind a page's parameters to `$sql` and run `$run` on the bound query (the backends
/// take different parameters, so the two bound queries have different types).
macro_rules! with_page {
    ($conn:expr, $sql:expr, $tenant:expr, $query:expr, $before:expr, |$page:ident| $run:expr) => {{
        let sql: String = $sql;
        let (tenant, text): (String, String) =
            ($tenant.to_string(), $query.for_backend($conn).to_owned());
        let before: Option<&Cursor> = $before;
        if matches!($conn, DbConn::Pg(_)) {
            let (at, id) = before.map_or_else(
                || (far_future(), String::new()),
                |cursor| (cursor.at, cursor.id.clone()),
            );
            let $page = diesel::sql_query(sql)
                .bind::<Text, _>(tenant)
                .bind::<Text, _>(text)
                .bind::<Timestamp, _>(at)
                .bind::<Text, _>(id)
                .bind::<BigInt, _>(PAGE_SIZE + 1);
            $run
        } else {
            let $page = diesel::sql_query(sql)
                .bind::<Text, _>(tenant)
                .bind::<Text, _>(text)
                .bind::<Text, _>(before.map(|cursor| cursor.id.clone()).unwrap_or_default())
                .bind::<BigInt, _>(PAGE_SIZE + 1);
            $run
        }
    }};
}

/// The database's plans for the two queries a first page of searching `typed` runs in the
/// scope (PostgreSQL's `EXPLAIN`, SQLite's `EXPLAIN QUERY PLAN`), one line each: for the
/// benchmark and for an operator checking that the full-text indexes are used.
pub async fn explain(
    ctx: &Context,
    scope: &TenantScope,
    typed: &str,
) -> ServiceResult<Vec<String>> {
    let Some(terms) = Terms::of(typed) else {
        return Ok(Vec::new());
    };
    let tenant = scope.tenant_id().clone();
    let lines = ctx
        .db
        .run_in(scope.rows(), move |conn| {
            let (prefix, threads_sql) = match conn {
                DbConn::Pg(_) => ("EXPLAIN", PG_THREADS),
                DbConn::Sqlite(_) => ("EXPLAIN QUERY PLAN", SQLITE_THREADS),
            };
            let mut lines = Vec::new();
            if let Some(query) = &terms.contacts {
                let plan = diesel::sql_query(format!("{prefix} {threads_sql}"))
                    .bind::<Text, _>(tenant.to_string())
                    .bind::<Text, _>(query.for_backend(conn).to_owned())
                    .bind::<BigInt, _>(CONVERSATIONS);
                lines.extend(plan_lines(conn, plan)?);
            }
            if let Some(query) = &terms.messages {
                for sql in messages_sql(conn) {
                    let sql = format!("{prefix} {sql}");
                    let plan = with_page!(conn, sql, &tenant, query, None, |page| plan_lines(
                        conn, page
                    ))?;
                    lines.extend(plan);
                }
            }
            Ok(lines)
        })
        .await?;
    Ok(lines)
}

/// A line of PostgreSQL's plan.
#[derive(QueryableByName)]
struct PgPlanLine {
    #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
    line: String,
}

/// A line of SQLite's plan.
#[derive(QueryableByName)]
struct SqlitePlanLine {
    #[diesel(sql_type = Text)]
    detail: String,
}

/// Run an `EXPLAIN` and read its lines, which the two backends name differently.
fn plan_lines<Q>(conn: &mut DbConn, plan: Q) -> QueryResult<Vec<String>>
where
    Q: diesel::query_dsl::RunQueryDsl<DbConn>
        + diesel::query_dsl::LoadQuery<'static, DbConn, PgPlanLine>
        + diesel::query_dsl::LoadQuery<'static, DbConn, SqlitePlanLine>,
{
    if matches!(conn, DbConn::Pg(_)) {
        let rows: Vec<PgPlanLine> = plan.load(conn)?;
        Ok(rows.into_iter().map(|row| row.line).collect())
    } else {
        let rows: Vec<SqlitePlanLine> = plan.load(conn)?;
        Ok(rows.into_iter().map(|row| row.detail).collect())
    }
}

/// The ids of `tenant`'s threads whose contact matches, newest activity first.
fn matching_threads_in(
    conn: &mut DbConn,
    tenant: &TenantId,
    query: &Query,
) -> QueryResult<Vec<String>> {
    let sql = match conn {
        DbConn::Pg(_) => PG_THREADS,
        DbConn::Sqlite(_) => SQLITE_THREADS,
    };
    let rows: Vec<ThreadIdRow> = diesel::sql_query(sql)
        .bind::<Text, _>(tenant.as_str())
        .bind::<Text, _>(query.for_backend(conn).to_owned())
        .bind::<BigInt, _>(CONVERSATIONS)
        .load(conn)?;
    Ok(rows.into_iter().map(|row| row.id).collect())
}

/// One page of `tenant`'s messages that match (one more than a page, to know if another
/// follows), newest first, before `before`.
fn matching_messages_in(
    conn: &mut DbConn,
    tenant: &TenantId,
    query: &Query,
    before: Option<&Cursor>,
) -> QueryResult<Vec<HitRow>> {
    let mut rows = Vec::new();
    for sql in messages_sql(conn) {
        rows = with_page!(conn, sql, tenant, query, before, |page| page.load(conn))?;
        if rows.len() as i64 > PAGE_SIZE {
            break;
        }
    }
    Ok(rows)
}

/// The part of `body` around the first word that starts with one of `words` (lowercase), or
/// its start when none does; with "…" where text was cut.
fn snippet(body: &str, words: &[String]) -> String {
    let chars: Vec<char> = body.chars().collect();
    let lower: Vec<char> = chars
        .iter()
        .map(|c| c.to_lowercase().next().unwrap_or(*c))
        .collect();
    let starts_with = |at: usize, word: &str| {
        let mut i = at;
        word.chars().all(|w| {
            let ok = lower.get(i) == Some(&w);
            i += 1;
            ok
        })
    };
    let found = (0..chars.len())
        .filter(|&i| chars[i].is_alphanumeric() && (i == 0 || !chars[i - 1].is_alphanumeric()))
        .find(|&i| words.iter().any(|w| starts_with(i, w)))
        .unwrap_or(0);
    let start = found.saturating_sub(SNIPPET_BEFORE);
    let end = (found + SNIPPET_AFTER).min(chars.len());
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    out.extend(&chars[start..end]);
    if end < chars.len() {
        out.push('…');
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_show_the_word_found() {
        let words = vec!["refund".to_owned()];
        assert_eq!(
            snippet("Can I get a Refund?", &words),
            "Can I get a Refund?"
        );
        let long = format!("{} refunded now {}", "x".repeat(100), "y".repeat(200));
        let cut = snippet(&long, &words);
        assert!(cut.starts_with('…') && cut.ends_with('…'), "{cut}");
        assert!(cut.contains("refunded now"), "{cut}");
        // No word found: the start of the text.
        assert_eq!(snippet("hello  there", &["zzz".to_owned()]), "hello there");
        // Inside a word does not count as its start.
        assert_eq!(snippet("prefund refund", &words), "prefund refund");
        assert_eq!(snippet("", &words), "");
    }

    #[test]
    fn a_number_written_for_people_is_one_word() {
        assert_eq!(as_number("+44 7700 900"), Some("447700900".to_owned()));
        assert_eq!(as_number("(351) 91-234"), Some("35191234".to_owned()));
        assert_eq!(as_number("ana 44"), None);
        assert_eq!(as_number(" + - "), None);
        let terms = Terms::of("+44 7700").unwrap();
        assert_eq!(terms.contacts.unwrap().postgres, "447700:*");
        assert_eq!(terms.messages.unwrap().postgres, "44:* & 7700:*");
        assert_eq!(Terms::of("\"'&|!"), None);
    }
}
