//! `GET /inbox/events`: the inbox's server-sent events. An open inbox page listens here and
//! htmx-ext-sse swaps what arrives (`static/live.js` makes it idempotent).
//!
//! Nothing is missed: the stream subscribes to the [`Live`](crate::live::Live) bus before it
//! reads the log, resumes from the log after a browser's `Last-Event-ID`, and reads the log
//! again whenever the bus may have dropped events (Redis reconnected, or this stream lagged).
//! Replays overlap, so a sequence number already sent on this connection is skipped.
//!
//! The stream is the response body itself (no task of its own): when the browser goes,
//! actix drops the body and with it the bus subscription. It also ends when the member's
//! session ends or they are no longer a member of the workspace.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use tokio::sync::OnceCell;
use tokio::sync::broadcast::{self, error::RecvError};

use crate::accounts::sessions;
use crate::live::{self, Heard, LiveEvent};
use crate::tenancy::TenantScope;
use crate::web::auth::{Member, SESSION_COOKIE};
use crate::web::pages::inbox::{ListQuery, LiveFragment, LiveView, live_fragment};
use crate::web::{AppError, AppState};

/// A comment line every so often keeps proxies from closing an idle stream, and lets us
/// notice a browser that went away.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(15);

/// The session is checked at every heartbeat (it is cached); the membership, a database
/// read, at every this many heartbeats (once a minute).
const MEMBERSHIP_EVERY_BEATS: u32 = 4;

/// How long a browser waits before reconnecting (sent as `retry:`), in milliseconds.
const RETRY_MS: u32 = 2000;

/// How many sent sequence numbers a stream remembers to skip repeats; replays overlap by a
/// few seconds, so the newest few thousand are plenty.
const REMEMBERED: usize = 4096;

/// Replays are read in pages of [`live::REPLAY_LIMIT`]; at most this many pages at once.
const REPLAY_PAGES: usize = 4;

/// The conversation a page follows (else the list's filters, read as [`ListQuery`]).
#[derive(Debug, Default, Deserialize)]
pub struct ThreadParam {
    #[serde(default)]
    thread: String,
    /// The last sequence number the page has, for a page that opens its stream anew (the
    /// page as rendered, or the SSE extension's fresh connection after an error, which sends
    /// no `Last-Event-ID`): resumed from there like a reconnect.
    #[serde(default)]
    after: String,
}

/// `GET /inbox/events?thread=<id>` (a conversation) or `?bot=…&status=…&assigned=…&unread=1`
/// (the list): a `text/event-stream` of what changes there. A foreign or unknown thread is
/// 404 before the stream starts.
pub async fn stream(
    req: HttpRequest,
    member: Member,
    thread: web::Query<ThreadParam>,
    list: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let state = member.visitor.state.clone();
    let scope = member.scope.clone();
    let thread_id = thread.thread.trim();
    let view = if thread_id.is_empty() {
        LiveView::List(list.filter(scope.user_id()))
    } else {
        let thread = crate::inbox::threads::find(&state, &scope, thread_id).await?;
        LiveView::Thread(thread.id)
    };
    // Subscribed before the log is read: whatever commits from now on is heard.
    let heard = state.live.subscribe();
    let resume_after = req
        .headers()
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .or_else(|| thread.after.trim().parse::<i64>().ok());
    let mut feed = Feed {
        token: req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned()),
        state,
        scope,
        view,
        heard,
        last_seq: 0,
        sent: BTreeSet::new(),
        backlog: VecDeque::new(),
        out: VecDeque::from([Bytes::from(format!("retry: {RETRY_MS}\n\n"))]),
        heartbeat: heartbeat(),
        beats: 0,
        ended: false,
    };
    match resume_after {
        Some(after) => {
            feed.last_seq = after;
            feed.read_log().await?;
        }
        None => feed.last_seq = live::latest(&feed.state.db, feed.scope.tenant_id()).await?,
    }
    let body = futures_util::stream::unfold(feed, |mut feed| async move {
        let chunk = feed.next_chunk().await?;
        Some((Ok::<_, std::convert::Infallible>(chunk), feed))
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        // Compress would hold events back until its buffer fills; identity passes them on.
        .insert_header((header::CONTENT_ENCODING, "identity"))
        .insert_header((header::HeaderName::from_static("x-accel-buffering"), "no"))
        .streaming(body))
}

/// The first tick one period from now (an interval's first tick is immediate).
fn heartbeat() -> tokio::time::Interval {
    let mut tick = tokio::time::interval_at(
        tokio::time::Instant::now() + HEARTBEAT_EVERY,
        HEARTBEAT_EVERY,
    );
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick
}

/// One open stream's state.
struct Feed {
    state: web::Data<AppState>,
    scope: TenantScope,
    view: LiveView,
    heard: broadcast::Receiver<Heard>,
    /// The session cookie, to notice the session ending.
    token: Option<String>,
    /// The newest sequence number of this workspace seen: where a catch-up reads from.
    last_seq: i64,
    /// Sequence numbers already handled on this connection (the newest [`REMEMBERED`]).
    sent: BTreeSet<i64>,
    /// Events read from the log, to handle before listening again.
    backlog: VecDeque<Arc<LiveEvent>>,
    /// Frames ready to go.
    out: VecDeque<Bytes>,
    heartbeat: tokio::time::Interval,
    beats: u32,
    ended: bool,
}

/// What woke a stream up.
enum Woke {
    Heard(Result<Heard, RecvError>),
    Beat,
}

impl Feed {
    /// The next bytes to send, or `None` when the stream is over.
    async fn next_chunk(&mut self) -> Option<Bytes> {
        loop {
            if let Some(chunk) = self.out.pop_front() {
                return Some(chunk);
            }
            if self.ended {
                return None;
            }
            if let Some(event) = self.backlog.pop_front() {
                self.take(&event).await;
                continue;
            }
            let woke = tokio::select! {
                heard = self.heard.recv() => Woke::Heard(heard),
                _ = self.heartbeat.tick() => Woke::Beat,
            };
            match woke {
                Woke::Heard(Ok(Heard::Event(event))) => self.take(&event).await,
                Woke::Heard(Ok(Heard::Resync) | Err(RecvError::Lagged(_))) => {
                    if let Err(e) = self.read_log().await {
                        tracing::warn!(error = %e, "live events: cannot read the log; ending the stream");
                        self.ended = true;
                    }
                }
                Woke::Heard(Err(RecvError::Closed)) => self.ended = true,
                Woke::Beat => {
                    self.beats += 1;
                    if self.still_member().await {
                        self.out.push_back(Bytes::from_static(b": heartbeat\n\n"));
                    } else {
                        self.ended = true;
                    }
                }
            }
        }
    }

    /// Queue the log's events after the last one seen (all of them, page by page).
    async fn read_log(&mut self) -> Result<(), AppError> {
        for _ in 0..REPLAY_PAGES {
            let events = live::since(&self.state.db, self.scope.tenant_id(), self.last_seq).await?;
            let full = events.len() as i64 >= live::REPLAY_LIMIT;
            let before = self.last_seq;
            for event in events {
                self.last_seq = self.last_seq.max(event.seq);
                self.backlog.push_back(Arc::new(event));
            }
            if !full || self.last_seq == before {
                break;
            }
        }
        Ok(())
    }

    /// Render one event for this page and queue its frame; skip other workspaces' events
    /// and those already handled.
    async fn take(&mut self, event: &LiveEvent) {
        if event.tenant_id != *self.scope.tenant_id() || self.sent.contains(&event.seq) {
            return;
        }
        match rendered(&self.state, &self.scope, event, &self.view).await {
            Ok(Some(fragment)) => self.out.push_back(frame(event.seq, &fragment)),
            Ok(None) => {}
            Err(e) => {
                // Ending makes the browser reconnect with the last id it got: the log
                // replays this event then.
                tracing::warn!(error = ?e, seq = event.seq, "live events: cannot render; ending the stream");
                self.ended = true;
                return;
            }
        }
        self.last_seq = self.last_seq.max(event.seq);
        self.sent.insert(event.seq);
        while self.sent.len() > REMEMBERED {
            self.sent.pop_first();
        }
    }

    /// Whether the session behind the stream is still signed in to this workspace.
    async fn still_member(&self) -> bool {
        let Some(token) = &self.token else {
            return false;
        };
        // Reading the session counts as activity, as the page being open is.
        let session = match sessions::resolve(&self.state, token).await {
            Ok(Some(session)) => session,
            Ok(None) => return false,
            Err(e) => {
                // A passing database hiccup should not drop every open page at once.
                tracing::warn!(error = ?e, "live events: cannot check a session");
                return true;
            }
        };
        if session.tenant_id.as_ref() != Some(self.scope.tenant_id()) {
            return false;
        }
        if !self.beats.is_multiple_of(MEMBERSHIP_EVERY_BEATS) {
            return true;
        }
        match crate::tenants::members::workspaces_of(&self.state, self.scope.user_id().as_str())
            .await
        {
            Ok(workspaces) => workspaces
                .iter()
                .any(|w| w.tenant_id == *self.scope.tenant_id()),
            Err(e) => {
                tracing::warn!(error = ?e, "live events: cannot check a membership");
                true
            }
        }
    }
}

/// One SSE event: `id`, `event` and the HTML as one `data:` line per line.
fn frame(seq: i64, fragment: &LiveFragment) -> Bytes {
    let mut text = format!("id: {seq}\nevent: {}\n", fragment.event);
    // A lone CR also ends a line in SSE; HTML needs none.
    let html = fragment.html.replace('\r', "");
    let mut lines = html.split('\n').peekable();
    if lines.peek().is_none() {
        text.push_str("data: \n");
    }
    for line in lines {
        text.push_str("data: ");
        text.push_str(line);
        text.push('\n');
    }
    text.push('\n');
    Bytes::from(text)
}

/// How long a rendered event is kept for the other streams following the same view.
const MEMO_FOR: Duration = Duration::from_secs(10);

/// The workspace, the event and the view (as its debug text: views are few and small).
type MemoKey = (crate::ids::TenantId, i64, String);
type Memo = Mutex<HashMap<MemoKey, (Instant, Arc<OnceCell<Option<LiveFragment>>>)>>;

/// This process's rendered events: every stream of a conversation (or of a list with the
/// same filters) renders an event once between them. Keyed by workspace too, since sequence
/// numbers are only unique within one database.
fn memo() -> &'static Memo {
    static MEMO: OnceLock<Memo> = OnceLock::new();
    MEMO.get_or_init(|| Mutex::new(HashMap::new()))
}

/// [`live_fragment`], rendered once per event and view in this process.
async fn rendered(
    state: &AppState,
    scope: &TenantScope,
    event: &LiveEvent,
    view: &LiveView,
) -> Result<Option<LiveFragment>, AppError> {
    let key = (event.tenant_id.clone(), event.seq, format!("{view:?}"));
    let cell = {
        let mut map = memo()
            .lock()
            .map_err(|_| AppError::internal("live events: the render memo is poisoned"))?;
        if !map.contains_key(&key) {
            map.retain(|_, (at, _)| at.elapsed() < MEMO_FOR);
        }
        map.entry(key)
            .or_insert_with(|| (Instant::now(), Arc::new(OnceCell::new())))
            .1
            .clone()
    };
    // The first stream renders; the others wait for it. A failed render is not kept.
    cell.get_or_try_init(|| live_fragment(state, scope, event, view))
        .await
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_has_one_data_line_per_line() {
        let fragment = LiveFragment {
            event: "message",
            html: "<li id=\"m-1\">\r\n  <p>hi</p>\n</li>".into(),
        };
        let text = frame(7, &fragment);
        assert_eq!(
            &text[..],
            b"id: 7\nevent: message\ndata: <li id=\"m-1\">\ndata:   <p>hi</p>\ndata: </li>\n\n"
        );
    }
}
