//! `/inbox`: the workspace's conversations, live; one conversation with its messages, the
//! composer and what the team does with it (take over, release, assign, close, reopen).
//! [`live_fragment`] renders what an event on `/inbox/events` shows.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::{NaiveDateTime, Utc};
use serde::Deserialize;

use super::render_with_status;
use crate::bots::threads::ThreadStatus;
use crate::error::{Denial, ServiceError};
use crate::ids::{BotId, UserId};
use crate::inbox::messages::{self, Bubble, MessageCursor};
use crate::inbox::reply;
use crate::inbox::search::{self, MessageHit};
use crate::inbox::threads::{self, Assigned, Cursor, TeamAction, ThreadFilter, ThreadRow};
use crate::live::{LiveEvent, LiveKind};
use crate::tenancy::TenantScope;
use crate::validation::FieldErrors;
use crate::web::auth::Member;
use crate::web::layout::Layout;
use crate::web::{AppError, AppState, render};

/// The list's filters as the query string carries them.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    pub bot: String,
    #[serde(default)]
    pub status: String,
    /// `me` or `nobody`.
    #[serde(default)]
    pub assigned: String,
    #[serde(default)]
    pub unread: String,
    #[serde(default)]
    pub after: String,
    /// Words to search for (a name, a number, words of a message).
    #[serde(default)]
    pub q: String,
    /// Where the next page of search hits starts.
    #[serde(default)]
    pub before: String,
}

impl ListQuery {
    /// The filter these parameters ask for; what is not understood is ignored.
    pub fn filter(&self, me: &UserId) -> ThreadFilter {
        ThreadFilter {
            bot: Some(self.bot.trim())
                .filter(|b| !b.is_empty())
                .map(BotId::from),
            status: self.status.parse::<ThreadStatus>().ok(),
            assigned: match self.assigned.as_str() {
                "me" => Some(Assigned::To(me.clone())),
                "nobody" => Some(Assigned::Nobody),
                _ => None,
            },
            unread_only: self.unread == "1",
        }
    }

    /// The same filters as a query string (for the live stream and the next page).
    pub fn filter_query(&self) -> String {
        let mut parts = Vec::new();
        for (name, value) in [
            ("bot", &self.bot),
            ("status", &self.status),
            ("assigned", &self.assigned),
            ("unread", &self.unread),
        ] {
            if !value.is_empty() {
                parts.push(format!(
                    "{name}={}",
                    percent_encoding::utf8_percent_encode(
                        value,
                        percent_encoding::NON_ALPHANUMERIC
                    )
                ));
            }
        }
        parts.join("&")
    }
}

/// One row of the list.
#[derive(Template)]
#[template(path = "partials/inbox_row.html")]
pub struct InboxRow {
    pub row: ThreadRow,
    pub now: NaiveDateTime,
}

impl InboxRow {
    /// Whether a person holds the conversation now.
    pub fn held(&self) -> bool {
        self.row.is_held(self.now)
    }
}

#[derive(Template)]
#[template(path = "pages/inbox.html")]
struct InboxPage {
    layout: Layout,
    rows: Vec<InboxRow>,
    query: ListQuery,
    bots: Vec<(String, String)>,
    next: Option<String>,
    statuses: [ThreadStatus; 3],
    /// What a search found, when the page is a search.
    found: Option<Found>,
    /// The live log's position when the page was read: its stream resumes from there.
    live_after: i64,
}

/// A search's results as the page lists them.
pub struct Found {
    pub hits: Vec<MessageHit>,
    /// The link to more hits.
    pub more: Option<String>,
}

/// `GET /inbox`: the conversations, newest activity first; with `q`, what a search finds.
pub async fn list(member: Member, query: web::Query<ListQuery>) -> Result<HttpResponse, AppError> {
    let state = &member.visitor.state;
    let query = query.into_inner();
    let bots = crate::bots::model::list(state, &member.scope)
        .await?
        .into_iter()
        .map(|bot| (bot.id.to_string(), bot.name))
        .collect();
    let now = Utc::now().naive_utc();
    // Read before the rows: an event in between is replayed, never lost.
    let live_after = crate::live::latest(&state.db, member.scope.tenant_id()).await?;
    let (rows, next, found) = if query.q.trim().is_empty() {
        let filter = query.filter(member.scope.user_id());
        let cursor = Cursor::decode(&query.after);
        let page = threads::list(state, &member.scope, &filter, cursor.as_ref()).await?;
        let next = page.next.map(|cursor| {
            let filters = query.filter_query();
            let sep = if filters.is_empty() { "" } else { "&" };
            format!("/inbox?{filters}{sep}after={}", cursor.encode())
        });
        (page.rows, next, None)
    } else {
        let before = Cursor::decode(&query.before);
        let results = search::search(state, &member.scope, &query.q, before.as_ref()).await?;
        let more = results.next.map(|cursor| {
            let q = percent_encoding::utf8_percent_encode(
                query.q.trim(),
                percent_encoding::NON_ALPHANUMERIC,
            );
            format!("/inbox?q={q}&before={}", cursor.encode())
        });
        let found = Found {
            hits: results.messages,
            more,
        };
        (results.conversations, None, Some(found))
    };
    render(&InboxPage {
        live_after,
        layout: member.visitor.layout("Inbox"),
        rows: rows.into_iter().map(|row| InboxRow { row, now }).collect(),
        query,
        bots,
        next,
        statuses: ThreadStatus::ALL,
        found,
    })
}

/// One message bubble.
#[derive(Template)]
#[template(path = "partials/inbox_bubble.html")]
pub struct BubblePartial {
    pub bubble: Bubble,
}

/// The conversation's state and the team's buttons.
#[derive(Template)]
#[template(path = "partials/inbox_thread_state.html")]
pub struct ThreadState {
    pub thread: ThreadRow,
    pub now: NaiveDateTime,
    pub members: Vec<(UserId, String)>,
    pub csrf: String,
    /// Set after a refused change: why.
    pub error: Option<String>,
}

impl ThreadState {
    /// Whether the signed-in member is the one holding it.
    pub fn held(&self) -> bool {
        self.thread.is_held(self.now)
    }

    /// The time the hold ends, as `14:05` (UTC).
    pub fn held_until(&self) -> String {
        self.thread
            .held_until
            .map(|until| until.format("%H:%M").to_string())
            .unwrap_or_default()
    }

    /// Whether `id` is the current assignee.
    pub fn is_assignee(&self, id: &UserId) -> bool {
        self.thread.assignee_id.as_ref() == Some(id)
    }
}

/// The composer: what was typed is kept when a send is refused.
#[derive(Template)]
#[template(path = "partials/inbox_composer.html")]
pub struct Composer {
    pub thread_id: String,
    pub text: String,
    pub errors: FieldErrors,
    /// A plan refusal, with the way to upgrade.
    pub limit: Option<Denial>,
    /// Whether the bot can send files (Cloud API).
    pub files: bool,
    pub csrf: String,
}

/// A day's messages under its date.
pub struct Day {
    pub label: String,
    pub bubbles: Vec<BubblePartial>,
}

#[derive(Template)]
#[template(path = "pages/inbox_thread.html")]
struct ThreadPage {
    layout: Layout,
    /// The live log's position when the page was read: its stream resumes from there.
    live_after: i64,
    state: ThreadState,
    days: Vec<Day>,
    earlier: Option<String>,
    composer: Composer,
    contact: ContactPanel,
}

/// What the side panel shows of the contact.
pub struct ContactPanel {
    pub id: String,
    pub name: String,
    pub number: String,
    pub first_seen: String,
    pub opted_out: bool,
    pub tags: Vec<String>,
    pub notes: Vec<String>,
}

/// Messages grouped under their days.
fn by_day(bubbles: Vec<Bubble>) -> Vec<Day> {
    let mut days: Vec<Day> = Vec::new();
    for bubble in bubbles {
        let label = bubble.day().format("%A %-d %B %Y").to_string();
        match days.last_mut() {
            Some(day) if day.label == label => day.bubbles.push(BubblePartial { bubble }),
            _ => days.push(Day {
                label,
                bubbles: vec![BubblePartial { bubble }],
            }),
        }
    }
    days
}

/// `GET /inbox/{id}`: one conversation; opening it reads what was unread.
pub async fn show(member: Member, path: web::Path<String>) -> Result<HttpResponse, AppError> {
    let page = thread_page(&member, &path, String::new(), FieldErrors::new(), None).await?;
    render(&page)
}

async fn thread_page(
    member: &Member,
    id: &str,
    text: String,
    errors: FieldErrors,
    limit: Option<Denial>,
) -> Result<ThreadPage, AppError> {
    let state = &member.visitor.state;
    let scope = &member.scope;
    let live_after = crate::live::latest(&state.db, scope.tenant_id()).await?;
    let thread = threads::find(state, scope, id).await?;
    let thread = if thread.unread > 0 {
        // Reading is not audited: the client is not recorded.
        threads::act(state, scope, id, TeamAction::Read, &member.visitor.client).await?
    } else {
        thread
    };
    let conversation = messages::of_thread(state, scope, &thread, None).await?;
    let contact = contact_panel(state, scope, &thread).await?;
    let layout = member.visitor.layout(thread.display_name());
    let csrf = layout.csrf.clone();
    Ok(ThreadPage {
        live_after,
        composer: composer(member, &thread, text, errors, limit).await?,
        earlier: conversation
            .earlier
            .map(|c| format!("/inbox/{}/messages?before={}", thread.id, c.encode())),
        days: by_day(conversation.bubbles),
        state: ThreadState {
            members: threads::members(state, scope).await?,
            now: Utc::now().naive_utc(),
            thread,
            csrf,
            error: None,
        },
        contact,
        layout,
    })
}

/// How many notes the side panel shows.
const PANEL_NOTES: usize = 5;

/// The side panel: the contact's details, tags and latest notes.
async fn contact_panel(
    state: &AppState,
    scope: &TenantScope,
    thread: &ThreadRow,
) -> Result<ContactPanel, AppError> {
    let details = crate::inbox::contacts::detail(state, scope, &thread.contact_id).await?;
    Ok(ContactPanel {
        id: thread.contact_id.clone(),
        name: thread.display_name().to_owned(),
        number: thread.number.clone(),
        first_seen: details
            .contact
            .first_seen_at
            .format("%-d %b %Y")
            .to_string(),
        opted_out: details.contact.opted_out_at.is_some(),
        tags: details.contact.tags,
        notes: details
            .notes
            .into_iter()
            .rev()
            .take(PANEL_NOTES)
            .map(|note| note.body)
            .collect(),
    })
}

#[derive(Template)]
#[template(path = "partials/inbox_earlier.html")]
struct Earlier {
    days: Vec<Day>,
    earlier: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct EarlierQuery {
    #[serde(default)]
    before: String,
}

/// `GET /inbox/{id}/messages?before=…`: the page of messages before the oldest shown (htmx
/// puts it above them).
pub async fn earlier(
    member: Member,
    path: web::Path<String>,
    query: web::Query<EarlierQuery>,
) -> Result<HttpResponse, AppError> {
    let state = &member.visitor.state;
    let thread = threads::find(state, &member.scope, &path).await?;
    let before: Option<MessageCursor> = Cursor::decode(&query.before);
    let conversation = messages::of_thread(state, &member.scope, &thread, before.as_ref()).await?;
    render(&Earlier {
        days: by_day(conversation.bubbles),
        earlier: conversation
            .earlier
            .map(|c| format!("/inbox/{}/messages?before={}", thread.id, c.encode())),
    })
}

/// The composer's answer to htmx: the queued bubble (out of band, into the messages) and an
/// empty composer.
#[derive(Template)]
#[template(path = "partials/inbox_sent.html")]
struct Sent {
    bubble: BubblePartial,
    composer: Composer,
}

/// `POST /inbox/{id}/reply`: send the team's reply (a form, or multipart with a file).
pub async fn send_reply(
    req: HttpRequest,
    member: Member,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let state = &member.visitor.state;
    let draft = match super::inbox_upload::read_draft(&req, payload).await {
        Ok(draft) => draft,
        Err(e) => return refused(&req, &member, &path, String::new(), e).await,
    };
    let client = &member.visitor.client;
    let typed = draft.text.clone();
    let queued = match reply::send(state, &state.bots, &member.scope, &path, draft, client).await {
        Ok(queued) => queued,
        Err(e) => return refused(&req, &member, &path, typed, e).await,
    };
    if !req.headers().contains_key("hx-request") {
        return Ok(crate::web::error::redirect(&format!(
            "/inbox/{}",
            queued.thread.id
        )));
    }
    let bubble = messages::one(state, &member.scope, &queued.id).await?;
    render(&Sent {
        bubble: BubblePartial { bubble },
        composer: composer(
            &member,
            &queued.thread,
            String::new(),
            FieldErrors::new(),
            None,
        )
        .await?,
    })
}

/// The composer for `thread`.
async fn composer(
    member: &Member,
    thread: &ThreadRow,
    text: String,
    errors: FieldErrors,
    limit: Option<Denial>,
) -> Result<Composer, AppError> {
    let state = &member.visitor.state;
    let bot = crate::bots::model::find(state, &member.scope, &thread.bot_id).await?;
    Ok(Composer {
        thread_id: thread.id.clone(),
        text,
        errors,
        limit,
        files: bot.transport == crate::bots::model::TransportKind::Cloud,
        csrf: member.visitor.csrf.clone(),
    })
}

/// A refused reply: the composer again with the reason and the typed text (htmx), or the
/// whole page.
async fn refused(
    req: &HttpRequest,
    member: &Member,
    thread_id: &str,
    typed: String,
    e: ServiceError,
) -> Result<HttpResponse, AppError> {
    let (errors, limit, status) = match e {
        ServiceError::PlanLimit(denial) => (
            FieldErrors::new(),
            Some(*denial),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        other => {
            let (status, errors) = super::form_errors(other)?;
            (errors, None, status)
        }
    };
    if req.headers().contains_key("hx-request") {
        let thread = threads::find(&member.visitor.state, &member.scope, thread_id).await?;
        let composer = composer(member, &thread, typed, errors, limit).await?;
        return render_with_status(status, &composer);
    }
    let page = thread_page(member, thread_id, typed, errors, limit).await?;
    render_with_status(status, &page)
}

#[derive(Debug, Deserialize)]
pub struct AssignForm {
    #[serde(default)]
    assignee: String,
}

/// `POST /inbox/{id}/{action}` for take-over, release, close and reopen; `assign` takes the
/// `assignee` field (empty: nobody). htmx gets the state panel back, a plain form the page.
pub async fn act(
    req: HttpRequest,
    member: Member,
    path: web::Path<(String, String)>,
    form: Option<web::Form<AssignForm>>,
) -> Result<HttpResponse, AppError> {
    let (id, verb) = path.into_inner();
    let action = match verb.as_str() {
        "takeover" => TeamAction::TakeOver,
        "release" => TeamAction::Release,
        "close" => TeamAction::Close,
        "reopen" => TeamAction::Reopen,
        "assign" => {
            let assignee = form.map(|f| f.into_inner().assignee).unwrap_or_default();
            let assignee = assignee.trim();
            TeamAction::Assign((!assignee.is_empty()).then(|| UserId::from(assignee)))
        }
        _ => return Err(AppError::NotFound),
    };
    let state = &member.visitor.state;
    let client = &member.visitor.client;
    let result = threads::act(state, &member.scope, &id, action, client).await;
    let (thread, error) = match result {
        Ok(thread) => (thread, None),
        Err(ServiceError::Invalid(errors)) => (
            threads::find(state, &member.scope, &id).await?,
            errors.first_message().map(str::to_owned),
        ),
        Err(other) => return Err(other.into()),
    };
    if !req.headers().contains_key("hx-request") {
        return Ok(crate::web::error::redirect(&format!(
            "/inbox/{}",
            thread.id
        )));
    }
    render(&ThreadState {
        members: threads::members(state, &member.scope).await?,
        now: Utc::now().naive_utc(),
        thread,
        csrf: member.visitor.csrf.clone(),
        error,
    })
}

/// What one open inbox page follows on `/inbox/events`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveView {
    /// One conversation's page.
    Thread(String),
    /// The list, with its filters.
    List(ThreadFilter),
}

/// An SSE event for a page: its name (`message` or `thread`) and its HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveFragment {
    pub event: &'static str,
    pub html: String,
}

/// What `event` shows on a page following `view`, or `None` when that page shows nothing of
/// it (another conversation, a row the list's filters leave out, something since deleted).
/// Reads as `scope`, so nothing of another workspace can be rendered.
pub async fn live_fragment(
    state: &AppState,
    scope: &TenantScope,
    event: &LiveEvent,
    view: &LiveView,
) -> Result<Option<LiveFragment>, AppError> {
    if event.tenant_id != *scope.tenant_id() {
        return Ok(None);
    }
    let now = Utc::now().naive_utc();
    match view {
        LiveView::Thread(thread_id) => {
            if event.thread_id != *thread_id {
                return Ok(None);
            }
            match event.kind {
                LiveKind::Message => match messages::one(state, scope, &event.ref_id).await {
                    Ok(bubble) => Ok(Some(LiveFragment {
                        event: "message",
                        html: BubblePartial { bubble }
                            .render()
                            .map_err(AppError::internal)?,
                    })),
                    Err(ServiceError::NotFound) => Ok(None),
                    Err(other) => Err(other.into()),
                },
                LiveKind::Thread => match threads::find(state, scope, thread_id).await {
                    Ok(thread) => {
                        let panel = ThreadState {
                            members: threads::members(state, scope).await?,
                            now,
                            thread,
                            csrf: String::new(),
                            error: None,
                        };
                        Ok(Some(LiveFragment {
                            event: "thread",
                            html: panel.render().map_err(AppError::internal)?,
                        }))
                    }
                    Err(ServiceError::NotFound) => Ok(None),
                    Err(other) => Err(other.into()),
                },
            }
        }
        LiveView::List(filter) => match threads::find(state, scope, &event.thread_id).await {
            Ok(row) if filter.admits(&row) => Ok(Some(LiveFragment {
                event: "thread",
                html: InboxRow { row, now }.render().map_err(AppError::internal)?,
            })),
            Ok(_) | Err(ServiceError::NotFound) => Ok(None),
            Err(other) => Err(other.into()),
        },
    }
}
