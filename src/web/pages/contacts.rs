//! `/contacts`: the workspace's contacts (searched, filtered by tag, paged), one contact with
//! its tags, notes and broadcast opt-out; deleting a contact and exporting them all to CSV
//! (owners and admins).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::confirm::{self, Question};
use super::{form_with_errors, redirect_with_notice, render_with_status};
use crate::inbox::contacts::{self, ContactDetail, ContactFilter, ContactRow};
use crate::inbox::threads::Cursor;
use crate::validation::FieldErrors;
use crate::web::AppError;
use crate::web::auth::Member;
use crate::web::layout::Layout;

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    tag: String,
    after: Option<String>,
    notice: Option<String>,
}

#[derive(Template)]
#[template(path = "pages/contacts.html")]
struct ContactsPage {
    layout: Layout,
    rows: Vec<ContactRow>,
    /// What was typed in the search box.
    q: String,
    /// The tag filter as chosen.
    tag: String,
    tags: Vec<String>,
    /// The "Older" link's query, when there are more.
    older: Option<String>,
    /// Whether this page follows a cursor (then a way back to the newest shows).
    paged: bool,
    /// The query of the first page, keeping the search and the filter.
    newest: String,
    can_admin: bool,
    errors: FieldErrors,
}

fn encoded(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// The query string of the first page, keeping the search and the filter.
fn newest_query(q: &str, tag: &str) -> String {
    format!("q={}&tag={}", encoded(q), encoded(tag))
}

/// The query string of the page after `cursor`, keeping the search and the filter.
fn older_query(q: &str, tag: &str, cursor: &Cursor) -> String {
    format!(
        "{}&after={}",
        newest_query(q, tag),
        encoded(&cursor.encode())
    )
}

/// `GET /contacts`: newest seen first; `q` searches names and numbers, `tag` filters,
/// `after` is the cursor of the "Older" link.
pub async fn list(member: Member, query: web::Query<ListQuery>) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let state = &member.visitor.state;
    let cursor = query.after.as_deref().and_then(Cursor::decode);
    let filter = ContactFilter {
        search: query.q.clone(),
        tag: Some(query.tag.clone()).filter(|t| !t.trim().is_empty()),
    };
    let tags = contacts::tags_in_use(state, &member.scope).await?;
    let (rows, older, errors, status) =
        match contacts::list(state, &member.scope, &filter, cursor.as_ref()).await {
            Ok(page) => {
                let older = page
                    .next
                    .as_ref()
                    .map(|c| older_query(&query.q, &query.tag, c));
                (page.rows, older, FieldErrors::new(), StatusCode::OK)
            }
            Err(crate::error::ServiceError::Invalid(errors)) => {
                (Vec::new(), None, errors, StatusCode::UNPROCESSABLE_ENTITY)
            }
            Err(e) => return Err(e.into()),
        };
    let newest = newest_query(&query.q, &query.tag);
    let page = ContactsPage {
        newest,
        layout: member
            .visitor
            .layout("Contacts")
            .with_notice(query.notice.as_deref()),
        rows,
        q: query.q,
        tag: query.tag,
        tags,
        older,
        paged: cursor.is_some(),
        can_admin: member.scope.role().can_edit_workspace(),
        errors,
    };
    render_with_status(status, &page)
}

/// `GET /contacts/export.csv`: every contact of the workspace, as a download (owners and
/// admins; audited).
pub async fn export(member: Member) -> Result<HttpResponse, AppError> {
    let csv =
        contacts::export_csv(&member.visitor.state, &member.scope, &member.visitor.client).await?;
    let filename = format!("contacts-{}.csv", chrono::Utc::now().format("%Y-%m-%d"));
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(csv))
}

#[derive(Template)]
#[template(path = "pages/contact.html")]
struct ContactPage {
    layout: Layout,
    detail: ContactDetail,
    can_admin: bool,
    /// The tag field as typed, and the note as typed.
    tag: String,
    note: String,
    errors: FieldErrors,
}

async fn contact_page(
    member: &Member,
    id: &str,
    notice: Option<&str>,
    tag: String,
    note: String,
    errors: FieldErrors,
) -> Result<ContactPage, AppError> {
    let detail = contacts::detail(&member.visitor.state, &member.scope, id).await?;
    Ok(ContactPage {
        layout: member
            .visitor
            .layout(detail.contact.display_name())
            .with_notice(notice),
        detail,
        can_admin: member.scope.role().can_edit_workspace(),
        tag,
        note,
        errors,
    })
}

#[derive(Debug, Deserialize)]
pub struct ShowQuery {
    notice: Option<String>,
}

/// `GET /contacts/{id}`.
pub async fn show(
    member: Member,
    id: web::Path<String>,
    query: web::Query<ShowQuery>,
) -> Result<HttpResponse, AppError> {
    let page = contact_page(
        &member,
        &id,
        query.notice.as_deref(),
        String::new(),
        String::new(),
        FieldErrors::new(),
    )
    .await?;
    render_with_status(StatusCode::OK, &page)
}

#[derive(Debug, Default, Deserialize)]
pub struct TagForm {
    #[serde(default)]
    tag: String,
}

/// `POST /contacts/{id}/tags`: add a tag; a bad one shows the page again with it.
pub async fn add_tag(
    member: Member,
    id: web::Path<String>,
    form: web::Form<TagForm>,
) -> Result<HttpResponse, AppError> {
    let tag = form.into_inner().tag;
    match contacts::add_tag(&member.visitor.state, &member.scope, &id, &tag).await {
        Ok(()) => Ok(redirect_with_notice(
            &format!("/contacts/{id}"),
            "tag_added",
        )),
        Err(e) => {
            form_with_errors(e, async |errors| {
                contact_page(&member, &id, None, tag, String::new(), errors).await
            })
            .await
        }
    }
}

/// `POST /contacts/{id}/tags/remove`.
pub async fn remove_tag(
    member: Member,
    id: web::Path<String>,
    form: web::Form<TagForm>,
) -> Result<HttpResponse, AppError> {
    contacts::remove_tag(&member.visitor.state, &member.scope, &id, &form.tag).await?;
    Ok(redirect_with_notice(
        &format!("/contacts/{id}"),
        "tag_removed",
    ))
}

#[derive(Debug, Default, Deserialize)]
pub struct NoteForm {
    #[serde(default)]
    body: String,
}

/// `POST /contacts/{id}/notes`: add a note by the signed-in member.
pub async fn add_note(
    member: Member,
    id: web::Path<String>,
    form: web::Form<NoteForm>,
) -> Result<HttpResponse, AppError> {
    let body = form.into_inner().body;
    match contacts::add_note(&member.visitor.state, &member.scope, &id, &body).await {
        Ok(()) => Ok(redirect_with_notice(
            &format!("/contacts/{id}"),
            "note_added",
        )),
        Err(e) => {
            form_with_errors(e, async |errors| {
                contact_page(&member, &id, None, String::new(), body, errors).await
            })
            .await
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct OptOutForm {
    #[serde(default)]
    opted_out: String,
}

/// `POST /contacts/{id}/opt-out`: `opted_out=1` stops broadcasts to the contact, `0` lets
/// them through again.
pub async fn opt_out(
    member: Member,
    id: web::Path<String>,
    form: web::Form<OptOutForm>,
) -> Result<HttpResponse, AppError> {
    let opted_out = match form.opted_out.as_str() {
        "1" => true,
        "0" => false,
        _ => return Err(AppError::NotFound),
    };
    contacts::set_opted_out(&member.visitor.state, &member.scope, &id, opted_out).await?;
    Ok(redirect_with_notice(
        &format!("/contacts/{id}"),
        if opted_out { "opted_out" } else { "opted_in" },
    ))
}

/// `GET /contacts/{id}/delete`: ask first (owners and admins).
pub async fn confirm_delete(
    req: HttpRequest,
    member: Member,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let contact = contacts::find_to_delete(&member.visitor.state, &member.scope, &id).await?;
    let title = format!("Delete {}?", contact.display_name());
    confirm::ask(
        &req,
        member.visitor.layout(&title),
        Question {
            consequence: format!(
                "This removes +{} from {} for good, with its messages, conversation, tags and \
                 notes. If they write again, they come back as a new contact. It cannot be \
                 undone.",
                contact.number, contact.bot_name
            ),
            title,
            action: format!("/contacts/{}/delete", contact.id),
            button: "Delete contact",
            cancel: format!("/contacts/{}", contact.id),
            csrf: member.visitor.csrf.clone(),
        },
    )
}

/// `POST /contacts/{id}/delete` (owners and admins; audited).
pub async fn delete(member: Member, id: web::Path<String>) -> Result<HttpResponse, AppError> {
    let state = &member.visitor.state;
    let deleted = contacts::delete(state, &member.scope, &id, &member.visitor.client).await?;
    // The rows are gone; now the files of their media.
    for path in &deleted.media_paths {
        if let Err(e) = state.bots.media_store().remove(path).await {
            tracing::error!(error = %e, "a deleted contact's media file was not removed");
        }
    }
    Ok(redirect_with_notice("/contacts", "contact_deleted"))
}
