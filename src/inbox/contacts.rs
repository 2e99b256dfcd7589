//! The contacts of a workspace as its team sees them: the list (newest seen first, searched by
//! name or number through the full-text index, filtered by tag, paged by cursor), one contact
//! with its tags and notes, what the team keeps about it (tags, notes, opted out of
//! broadcasts), and what only owners and admins may do: delete a contact with its messages,
//! and export every contact to CSV. Deleting and exporting are audited.

use std::collections::BTreeMap;

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};

use super::fts;
use super::threads::{Cursor, member_names_in};
use crate::bots::router::consent;
use crate::context::Context;
use crate::db::schema::{bots, contact_notes, contact_tags, contacts, media, messages, threads};
use crate::db::{Backend, DbConn};
use crate::error::{ServiceError, ServiceResult};
use crate::ids::{BotId, TenantId, UserId, new_id};
use crate::tenancy::TenantScope;
use crate::tenants::audit::{self, Action, ClientInfo};
use crate::validation::{FieldErrors, without_control_chars};

/// How many contacts a page of the list shows.
pub const PAGE_SIZE: i64 = 50;

/// The longest tag, in characters.
pub const MAX_TAG_CHARS: usize = 32;

/// The most tags one contact carries.
pub const MAX_TAGS: i64 = 20;

/// The longest note, in characters.
pub const MAX_NOTE_CHARS: usize = 2000;

/// One contact as the list and its page show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactRow {
    pub id: String,
    pub bot_id: BotId,
    pub bot_name: String,
    pub number: String,
    /// The name the contact gave WhatsApp, when known.
    pub name: Option<String>,
    pub first_seen_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    /// When the contact asked for no broadcasts (by STOP, or a member for them).
    pub opted_out_at: Option<NaiveDateTime>,
    /// Sorted.
    pub tags: Vec<String>,
}

impl ContactRow {
    /// The contact's name, else its number.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.number)
    }
}

/// A note the team keeps about a contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteView {
    pub id: String,
    /// The author's name; `None` when they are gone from the workspace.
    pub author_name: Option<String>,
    pub body: String,
    pub created_at: NaiveDateTime,
}

/// One contact with everything its page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactDetail {
    pub contact: ContactRow,
    /// Oldest first.
    pub notes: Vec<NoteView>,
    /// Its conversation in the inbox, if it has one.
    pub thread_id: Option<String>,
}

/// Which contacts the list shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactFilter {
    /// What was typed in the search box: words of the name, or the start of the number.
    pub search: String,
    /// Only contacts with this tag (normalised as tags are).
    pub tag: Option<String>,
}

/// One page of the list, and the cursor of the next when there is one.
#[derive(Debug, Clone)]
pub struct ContactPage {
    pub rows: Vec<ContactRow>,
    pub next: Option<Cursor>,
}

type Row = (
    String,
    BotId,
    String,
    String,
    Option<String>,
    NaiveDateTime,
    NaiveDateTime,
    Option<NaiveDateTime>,
);

/// The query every read of contacts starts from: a contact of `tenant` with its bot's name.
#[allow(clippy::type_complexity)]
fn base_query(
    tenant: &TenantId,
) -> diesel::dsl::Select<
    diesel::dsl::Filter<
        diesel::dsl::InnerJoinOn<
            contacts::table,
            bots::table,
            diesel::dsl::Eq<bots::id, contacts::bot_id>,
        >,
        diesel::dsl::Eq<contacts::tenant_id, TenantId>,
    >,
    (
        contacts::id,
        contacts::bot_id,
        bots::name,
        contacts::number,
        contacts::name,
        contacts::first_seen_at,
        contacts::last_seen_at,
        contacts::opted_out_at,
    ),
> {
    contacts::table
        .inner_join(bots::table.on(bots::id.eq(contacts::bot_id)))
        .filter(contacts::tenant_id.eq(tenant.clone()))
        .select((
            contacts::id,
            contacts::bot_id,
            bots::name,
            contacts::number,
            contacts::name,
            contacts::first_seen_at,
            contacts::last_seen_at,
            contacts::opted_out_at,
        ))
}

/// Turn rows into [`ContactRow`]s with their tags (one query for all of them).
fn with_tags(conn: &mut DbConn, tenant: &TenantId, rows: Vec<Row>) -> QueryResult<Vec<ContactRow>> {
    let ids: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    let mut tags: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if !ids.is_empty() {
        let found: Vec<(String, String)> = contact_tags::table
            .filter(contact_tags::tenant_id.eq(tenant))
            .filter(contact_tags::contact_id.eq_any(&ids))
            .order((contact_tags::contact_id, contact_tags::tag))
            .select((contact_tags::contact_id, contact_tags::tag))
            .load(conn)?;
        for (contact, tag) in found {
            tags.entry(contact).or_default().push(tag);
        }
    }
    Ok(rows
        .into_iter()
        .map(
            |(id, bot_id, bot_name, number, name, first_seen_at, last_seen_at, opted_out_at)| {
                ContactRow {
                    tags: tags.remove(&id).unwrap_or_default(),
                    id,
                    bot_id,
                    bot_name,
                    number,
                    name,
                    first_seen_at,
                    last_seen_at,
                    opted_out_at,
                }
            },
        )
        .collect())
}

/// What to search for: a number typed with spaces, dashes or a `+` is one number; anything
/// else is words.
fn search_text(typed: &str) -> String {
    let typed = typed.trim();
    let number_like = typed.chars().any(|c| c.is_ascii_digit())
        && typed
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '(' | ')' | '.'));
    if number_like {
        typed.chars().filter(char::is_ascii_digit).collect()
    } else {
        typed.to_owned()
    }
}

/// The scope's contacts that pass `filter`, newest seen first, after `cursor`.
pub async fn list(
    ctx: &Context,
    scope: &TenantScope,
    filter: &ContactFilter,
    cursor: Option<&Cursor>,
) -> ServiceResult<ContactPage> {
    let tenant = scope.tenant_id().clone();
    let cursor = cursor.cloned();
    let tag = match &filter.tag {
        Some(raw) if !raw.trim().is_empty() => {
            Some(normalize_tag(raw).ok_or_else(|| ServiceError::invalid("tag", TAG_RULE))?)
        }
        _ => None,
    };
    let typed = search_text(&filter.search);
    let query_text = match ctx.db.backend() {
        Backend::Postgres => fts::postgres_query(&typed),
        Backend::Sqlite => fts::sqlite_query(&typed),
    };
    let rows = ctx
        .db
        .run_in(scope.rows(), move |conn| {
            let mut query = base_query(&tenant).into_boxed();
            if let Some(text) = query_text {
                // Diesel's DSL has no full-text match: the condition is written per backend,
                // with the typed text bound, never spliced.
                let condition = match conn {
                    DbConn::Pg(_) => diesel::dsl::sql::<Bool>(
                        "to_tsvector('simple', coalesce(contacts.name, '') || ' ' || \
                         contacts.number) @@ to_tsquery('simple', ",
                    )
                    .bind::<Text, _>(text)
                    .sql(")"),
                    DbConn::Sqlite(_) => diesel::dsl::sql::<Bool>(
                        "contacts.rowid IN (SELECT rowid FROM contacts_fts WHERE contacts_fts \
                         MATCH ",
                    )
                    .bind::<Text, _>(text)
                    .sql(")"),
                };
                query = query.filter(condition);
            }
            if let Some(tag) = tag {
                query = query.filter(
                    contacts::id.eq_any(
                        contact_tags::table
                            .filter(contact_tags::tenant_id.eq(tenant.clone()))
                            .filter(contact_tags::tag.eq(tag))
                            .select(contact_tags::contact_id),
                    ),
                );
            }
            if let Some(cursor) = &cursor {
                query = query.filter(
                    contacts::last_seen_at
                        .lt(cursor.at)
                        .or(contacts::last_seen_at
                            .eq(cursor.at)
                            .and(contacts::id.lt(cursor.id.clone()))),
                );
            }
            let rows: Vec<Row> = query
                .order((contacts::last_seen_at.desc(), contacts::id.desc()))
                .limit(PAGE_SIZE + 1)
                .load(conn)?;
            with_tags(conn, &tenant, rows)
        })
        .await?;
    let (rows, next) = Cursor::page(rows, PAGE_SIZE, |row| (row.last_seen_at, row.id.clone()));
    Ok(ContactPage { rows, next })
}

/// Every tag the scope's contacts carry, sorted (the list's filter).
pub async fn tags_in_use(ctx: &Context, scope: &TenantScope) -> ServiceResult<Vec<String>> {
    let tenant = scope.tenant_id().clone();
    let tags = ctx
        .db
        .run_in(scope.rows(), move |conn| {
            contact_tags::table
                .filter(contact_tags::tenant_id.eq(tenant))
                .select(contact_tags::tag)
                .distinct()
                .order(contact_tags::tag)
                .load::<String>(conn)
        })
        .await?;
    Ok(tags)
}

/// One contact of `tenant`, within the caller's transaction.
fn find_in(conn: &mut DbConn, tenant: &TenantId, id: &str) -> QueryResult<Option<ContactRow>> {
    let rows: Vec<Row> = base_query(tenant)
        .filter(contacts::id.eq(id.to_owned()))
        .load(conn)?;
    Ok(with_tags(conn, tenant, rows)?.pop())
}

/// One of the scope's contacts (a foreign id is NotFound).
pub async fn find(ctx: &Context, scope: &TenantScope, id: &str) -> ServiceResult<ContactRow> {
    let (tenant, id) = (scope.tenant_id().clone(), id.to_owned());
    ctx.db
        .run_in(scope.rows(), move |conn| find_in(conn, &tenant, &id))
        .await?
        .ok_or(ServiceError::NotFound)
}

/// One of the scope's contacts with its notes (authors named) and its thread.
pub async fn detail(ctx: &Context, scope: &TenantScope, id: &str) -> ServiceResult<ContactDetail> {
    let (tenant, id) = (scope.tenant_id().clone(), id.to_owned());
    ctx.db
        .transaction(scope.rows(), move |conn| -> ServiceResult<_> {
            let contact = find_in(conn, &tenant, &id)?.ok_or(ServiceError::NotFound)?;
            let notes: Vec<(String, Option<UserId>, String, NaiveDateTime)> = contact_notes::table
                .filter(contact_notes::tenant_id.eq(&tenant))
                .filter(contact_notes::contact_id.eq(&contact.id))
                .order((contact_notes::created_at, contact_notes::id))
                .select((
                    contact_notes::id,
                    contact_notes::author_id,
                    contact_notes::body,
                    contact_notes::created_at,
                ))
                .load::<(String, Option<String>, String, NaiveDateTime)>(conn)?
                .into_iter()
                .map(|(id, author, body, at)| (id, author.map(UserId::from), body, at))
                .collect();
            let mut authors: Vec<UserId> = notes.iter().filter_map(|n| n.1.clone()).collect();
            authors.sort();
            authors.dedup();
            let names = member_names_in(conn, &tenant, &authors)?;
            let thread_id = threads::table
                .filter(threads::tenant_id.eq(&tenant))
                .filter(threads::contact_id.eq(&contact.id))
                .select(threads::id)
                .first::<String>(conn)
                .optional()?;
            Ok(ContactDetail {
                notes: notes
                    .into_iter()
                    .map(|(id, author, body, created_at)| NoteView {
                        id,
                        author_name: author.and_then(|a| names.get(&a).cloned()),
                        body,
                        created_at,
                    })
                    .collect(),
                contact,
                thread_id,
            })
        })
        .await
}

/// What a tag may be, for a person.
pub const TAG_RULE: &str =
    "Use 1 to 32 letters, digits, - or _ (no spaces), like vip or follow-up.";

/// A tag as stored: trimmed and lowercase, 1 to 32 letters, digits, `-` or `_`; `None` for
/// anything else.
pub fn normalize_tag(raw: &str) -> Option<String> {
    let tag = raw.trim().to_lowercase();
    let count = tag.chars().count();
    ((1..=MAX_TAG_CHARS).contains(&count)
        && tag
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_'))
    .then_some(tag)
}

/// Tag one of the scope's contacts (again is no change).
pub async fn add_tag(ctx: &Context, scope: &TenantScope, id: &str, raw: &str) -> ServiceResult<()> {
    let tag = normalize_tag(raw).ok_or_else(|| ServiceError::invalid("tag", TAG_RULE))?;
    let (tenant, id) = (scope.tenant_id().clone(), id.to_owned());
    ctx.db
        .transaction(scope.rows(), move |conn| -> ServiceResult<()> {
            let contact = find_in(conn, &tenant, &id)?.ok_or(ServiceError::NotFound)?;
            if contact.tags.contains(&tag) {
                return Ok(());
            }
            if contact.tags.len() as i64 >= MAX_TAGS {
                return Err(ServiceError::invalid(
                    "tag",
                    format!("A contact can have up to {MAX_TAGS} tags. Remove one first."),
                ));
            }
            diesel::insert_into(contact_tags::table)
                .values((
                    contact_tags::contact_id.eq(&contact.id),
                    contact_tags::tag.eq(&tag),
                    contact_tags::tenant_id.eq(&tenant),
                    contact_tags::created_at.eq(Utc::now().naive_utc()),
                ))
                .execute(conn)?;
            Ok(())
        })
        .await
}

/// Take a tag off one of the scope's contacts (one it does not carry is no change).
pub async fn remove_tag(
    ctx: &Context,
    scope: &TenantScope,
    id: &str,
    raw: &str,
) -> ServiceResult<()> {
    let tag = raw.trim().to_lowercase();
    let (tenant, id) = (scope.tenant_id().clone(), id.to_owned());
    ctx.db
        .transaction(scope.rows(), move |conn| -> ServiceResult<()> {
            let contact = find_in(conn, &tenant, &id)?.ok_or(ServiceError::NotFound)?;
            diesel::delete(
                contact_tags::table
                    .filter(contact_tags::tenant_id.eq(&tenant))
                    .filter(contact_tags::contact_id.eq(&contact.id))
                    .filter(contact_tags::tag.eq(tag)),
            )
            .execute(conn)?;
            Ok(())
        })
        .await
}

/// A note's text as stored: without control characters (line breaks stay), trimmed, 1 to
/// 2000 characters; else what is wrong.
pub fn normalize_note(raw: &str) -> Result<String, FieldErrors> {
    let body = without_control_chars(raw).trim().replace("\r\n", "\n");
    match body.chars().count() {
        0 => Err(FieldErrors::single("body", "Write the note.")),
        n if n > MAX_NOTE_CHARS => Err(FieldErrors::single(
            "body",
            format!("Keep the note to {MAX_NOTE_CHARS} characters (this one has {n})."),
        )),
        _ => Ok(body),
    }
}

/// Add a note to one of the scope's contacts, written by the scope's member.
pub async fn add_note(
    ctx: &Context,
    scope: &TenantScope,
    id: &str,
    raw: &str,
) -> ServiceResult<()> {
    let body = normalize_note(raw)?;
    let (tenant, id, author) = (
        scope.tenant_id().clone(),
        id.to_owned(),
        scope.user_id().clone(),
    );
    ctx.db
        .transaction(scope.rows(), move |conn| -> ServiceResult<()> {
            let contact = find_in(conn, &tenant, &id)?.ok_or(ServiceError::NotFound)?;
            diesel::insert_into(contact_notes::table)
                .values((
                    contact_notes::id.eq(new_id()),
                    contact_notes::tenant_id.eq(&tenant),
                    contact_notes::contact_id.eq(&contact.id),
                    contact_notes::author_id.eq(Some(author.as_str())),
                    contact_notes::body.eq(&body),
                    contact_notes::created_at.eq(Utc::now().naive_utc()),
                ))
                .execute(conn)?;
            Ok(())
        })
        .await
}

/// Opt one of the scope's contacts out of broadcasts (`true`) or back in, as a member does
/// for a customer who asked them. Opting out again keeps the first time.
pub async fn set_opted_out(
    ctx: &Context,
    scope: &TenantScope,
    id: &str,
    opted_out: bool,
) -> ServiceResult<()> {
    let (tenant, id) = (scope.tenant_id().clone(), id.to_owned());
    ctx.db
        .transaction(scope.rows(), move |conn| -> ServiceResult<()> {
            // Found in the scope's workspace first: a foreign id changes nothing.
            let contact = find_in(conn, &tenant, &id)?.ok_or(ServiceError::NotFound)?;
            let now = Utc::now().naive_utc();
            consent::set_opted_out_in(conn, &contact.id, opted_out, now)?;
            Ok(())
        })
        .await
}

fn require_admin(scope: &TenantScope, refusal: &'static str) -> ServiceResult<()> {
    if scope.role().can_edit_workspace() {
        Ok(())
    } else {
        Err(ServiceError::Forbidden(refusal))
    }
}

const DELETE_REFUSAL: &str = "Only owners and admins can delete contacts.";
const EXPORT_REFUSAL: &str = "Only owners and admins can export contacts.";

/// One of the scope's contacts, for the delete confirmation (owners and admins only).
pub async fn find_to_delete(
    ctx: &Context,
    scope: &TenantScope,
    id: &str,
) -> ServiceResult<ContactRow> {
    let contact = find(ctx, scope, id).await?;
    require_admin(scope, DELETE_REFUSAL)?;
    Ok(contact)
}

/// What deleting a contact leaves for the edge to do: the stored media files of its
/// messages (their rows went with the messages).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeletedContact {
    pub media_paths: Vec<String>,
}

/// Delete one of the scope's contacts with its messages; its thread, tags and notes go with
/// it. Owners and admins only; audited.
pub async fn delete(
    ctx: &Context,
    scope: &TenantScope,
    id: &str,
    client: &ClientInfo,
) -> ServiceResult<DeletedContact> {
    let (tenant, id, user, client) = (
        scope.tenant_id().clone(),
        id.to_owned(),
        scope.user_id().clone(),
        client.clone(),
    );
    let role_ok = require_admin(scope, DELETE_REFUSAL);
    ctx.db
        .transaction(scope.rows(), move |conn| -> ServiceResult<_> {
            let contact = find_in(conn, &tenant, &id)?.ok_or(ServiceError::NotFound)?;
            role_ok?;
            // Messages name their contact by bot and number, not by id.
            let its_messages = messages::table
                .filter(messages::tenant_id.eq(&tenant))
                .filter(messages::bot_id.eq(&contact.bot_id))
                .filter(messages::contact_number.eq(&contact.number));
            let media_paths: Vec<Option<String>> = media::table
                .filter(media::tenant_id.eq(&tenant))
                .filter(media::message_id.eq_any(its_messages.select(messages::id)))
                .select(media::stored_path)
                .load(conn)?;
            diesel::delete(its_messages).execute(conn)?;
            diesel::delete(
                contacts::table
                    .filter(contacts::tenant_id.eq(&tenant))
                    .filter(contacts::id.eq(&contact.id)),
            )
            .execute(conn)?;
            let detail = format!(
                "{} (+{}, {})",
                contact.display_name(),
                contact.number,
                contact.bot_name
            );
            audit::record(
                conn,
                Action::ContactDeleted,
                Some(tenant.as_str()),
                Some(user.as_str()),
                &detail,
                &client,
            )?;
            Ok(DeletedContact {
                media_paths: media_paths.into_iter().flatten().collect(),
            })
        })
        .await
}

/// The CSV's columns.
pub const CSV_HEADER: [&str; 7] = [
    "name",
    "number",
    "bot",
    "first seen",
    "last seen",
    "tags",
    "opted out",
];

/// A cell a spreadsheet would read as a formula is written as text (a leading `'`): names
/// come from customers.
fn csv_cell(value: &str) -> String {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    }
}

fn csv_time(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// Every contact of the scope's workspace as CSV (UTF-8, a header row, newest seen first).
/// Owners and admins only; audited.
pub async fn export_csv(
    ctx: &Context,
    scope: &TenantScope,
    client: &ClientInfo,
) -> ServiceResult<Vec<u8>> {
    require_admin(scope, EXPORT_REFUSAL)?;
    let (tenant, user, client) = (
        scope.tenant_id().clone(),
        scope.user_id().clone(),
        client.clone(),
    );
    let rows = ctx
        .db
        .transaction(scope.rows(), move |conn| -> ServiceResult<_> {
            let rows: Vec<Row> = base_query(&tenant)
                .order((contacts::last_seen_at.desc(), contacts::id.desc()))
                .load(conn)?;
            let rows = with_tags(conn, &tenant, rows)?;
            let detail = match rows.len() {
                1 => "1 contact".to_owned(),
                n => format!("{n} contacts"),
            };
            audit::record(
                conn,
                Action::ContactsExported,
                Some(tenant.as_str()),
                Some(user.as_str()),
                &detail,
                &client,
            )?;
            Ok(rows)
        })
        .await?;
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(CSV_HEADER)
        .map_err(ServiceError::internal)?;
    for row in &rows {
        out.write_record([
            csv_cell(row.name.as_deref().unwrap_or("")),
            csv_cell(&row.number),
            csv_cell(&row.bot_name),
            csv_time(row.first_seen_at),
            csv_time(row.last_seen_at),
            csv_cell(&row.tags.join(" ")),
            row.opted_out_at.map(csv_time).unwrap_or_default(),
        ])
        .map_err(ServiceError::internal)?;
    }
    out.into_inner().map_err(ServiceError::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_normalised_or_refused() {
        assert_eq!(normalize_tag("  VIP "), Some("vip".into()));
        assert_eq!(normalize_tag("follow-up_2"), Some("follow-up_2".into()));
        assert_eq!(normalize_tag("café"), Some("café".into()));
        assert_eq!(normalize_tag(""), None);
        assert_eq!(normalize_tag("two words"), None);
        assert_eq!(normalize_tag("<b>"), None);
        assert_eq!(normalize_tag(&"a".repeat(32)), Some("a".repeat(32)));
        assert_eq!(normalize_tag(&"a".repeat(33)), None);
    }

    #[test]
    fn notes_lose_control_characters_and_keep_to_their_length() {
        assert_eq!(
            normalize_note(" call\u{7} back\r\nsoon "),
            Ok("call back\nsoon".into())
        );
        assert!(normalize_note("  \u{0} ").is_err());
        assert!(normalize_note(&"x".repeat(MAX_NOTE_CHARS)).is_ok());
        assert!(normalize_note(&"x".repeat(MAX_NOTE_CHARS + 1)).is_err());
    }

    #[test]
    fn a_typed_number_is_one_number() {
        assert_eq!(search_text("+351 912-345"), "351912345");
        assert_eq!(search_text("Carl 3"), "Carl 3");
        assert_eq!(search_text("  "), "");
    }

    #[test]
    fn formulas_become_text_in_the_csv() {
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(csv_cell("Carl"), "Carl");
    }
}
