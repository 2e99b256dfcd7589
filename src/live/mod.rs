//! Live updates for the pages that show what happens as it happens (the inbox). A change that a
//! page shows writes a [`LiveEvent`] in the same transaction as the change itself
//! ([`append_in`]), so the log holds exactly what was committed, in order; after the commit
//! the producer hands the events to the [`Live`] bus, which reaches every open page of every
//! instance (through Redis pub/sub when configured). A page that lost its connection asks for
//! what came after the last sequence number it saw ([`since`]): nothing is missed.
//!
//! Ground floor: an event names a tenant, a thread, a kind and the id of what changed, nothing
//! of what it means.

mod bus;

use chrono::{Duration, NaiveDateTime, Utc};
use diesel::prelude::*;

pub use self::bus::{Heard, Live};
use crate::db::schema::live_events;
use crate::db::{Db, DbConn, DbError, RowScope};
use crate::ids::TenantId;

/// How long events are kept for reconnecting pages.
pub const KEPT_FOR: Duration = Duration::days(1);

/// On PostgreSQL two transactions can commit in the other order than they took their sequence
/// numbers; a page resuming after number N is also sent the events of the few seconds before
/// N's, so one that committed late is not lost. Pages apply events idempotently.
const RESUME_OVERLAP: Duration = Duration::seconds(5);

/// At most this many events are replayed to one reconnecting page; more means the page is
/// better reloaded (it is told so by the last event's kind).
pub const REPLAY_LIMIT: i64 = 500;

/// What changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LiveKind {
    /// A message was stored, queued or changed status: `ref_id` is its id.
    Message,
    /// The thread itself changed (status, holder, assignee, unread): `ref_id` is its id.
    Thread,
}

impl LiveKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Message => "message",
            Self::Thread => "thread",
        }
    }

    fn parse(raw: &str) -> Option<Self> {
        match raw {
            "message" => Some(Self::Message),
            "thread" => Some(Self::Thread),
            _ => None,
        }
    }
}

/// One committed change, as pages hear of it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LiveEvent {
    /// Its place in the log; pages resume after the last one they saw.
    pub seq: i64,
    pub tenant_id: TenantId,
    pub thread_id: String,
    pub kind: LiveKind,
    pub ref_id: String,
}

/// Record that `ref_id` (of `kind`) changed in `thread_id`, within the caller's transaction;
/// publish what this returns with [`Live::publish`] once the transaction committed.
pub fn append_in(
    conn: &mut DbConn,
    tenant_id: &TenantId,
    thread_id: &str,
    kind: LiveKind,
    ref_id: &str,
) -> QueryResult<LiveEvent> {
    let seq = diesel::insert_into(live_events::table)
        .values((
            live_events::tenant_id.eq(tenant_id),
            live_events::thread_id.eq(thread_id),
            live_events::kind.eq(kind.as_str()),
            live_events::ref_id.eq(ref_id),
            live_events::created_at.eq(Utc::now().naive_utc()),
        ))
        .returning(live_events::seq)
        .get_result(conn)?;
    Ok(LiveEvent {
        seq,
        tenant_id: tenant_id.clone(),
        thread_id: thread_id.to_owned(),
        kind,
        ref_id: ref_id.to_owned(),
    })
}

/// A stored event row: seq, tenant, thread, kind, ref.
type EventRow = (i64, String, String, String, String);

/// The tenant's events after `after` (and those of the moments before it, see
/// [`RESUME_OVERLAP`]), oldest first, at most [`REPLAY_LIMIT`].
pub async fn since(db: &Db, tenant_id: &TenantId, after: i64) -> Result<Vec<LiveEvent>, DbError> {
    let tenant = tenant_id.clone();
    let rows: Vec<EventRow> = db
        .run_in(RowScope::tenant(tenant.clone()), move |conn| {
            let at: Option<NaiveDateTime> = live_events::table
                .filter(live_events::tenant_id.eq(&tenant))
                .filter(live_events::seq.eq(after))
                .select(live_events::created_at)
                .first(conn)
                .optional()?;
            let query = live_events::table
                .filter(live_events::tenant_id.eq(&tenant))
                .select((
                    live_events::seq,
                    live_events::tenant_id,
                    live_events::thread_id,
                    live_events::kind,
                    live_events::ref_id,
                ))
                .order(live_events::seq.asc())
                .limit(REPLAY_LIMIT)
                .into_boxed();
            match at {
                Some(at) => query
                    .filter(
                        live_events::seq
                            .gt(after)
                            .or(live_events::created_at.ge(at - RESUME_OVERLAP)),
                    )
                    .filter(live_events::seq.ne(after))
                    .load(conn),
                None => query.filter(live_events::seq.gt(after)).load(conn),
            }
        })
        .await?;
    Ok(rows.into_iter().filter_map(event_of).collect())
}

fn event_of((seq, tenant_id, thread_id, kind, ref_id): EventRow) -> Option<LiveEvent> {
    Some(LiveEvent {
        seq,
        tenant_id: tenant_id.into(),
        thread_id,
        kind: LiveKind::parse(&kind)?,
        ref_id,
    })
}

/// The newest sequence number of the tenant (0 when none): where a freshly opened page starts.
pub async fn latest(db: &Db, tenant_id: &TenantId) -> Result<i64, DbError> {
    let tenant = tenant_id.clone();
    db.run_in(RowScope::tenant(tenant.clone()), move |conn| {
        live_events::table
            .filter(live_events::tenant_id.eq(&tenant))
            .select(diesel::dsl::max(live_events::seq))
            .first::<Option<i64>>(conn)
            .map(Option::unwrap_or_default)
    })
    .await
}

/// Delete events older than [`KEPT_FOR`]; how many went.
pub async fn prune(db: &Db) -> Result<usize, DbError> {
    let before = Utc::now().naive_utc() - KEPT_FOR;
    db.run_in(
        RowScope::across_tenants("pruning old live events is the same for every workspace"),
        move |conn| {
            diesel::delete(live_events::table.filter(live_events::created_at.lt(before)))
                .execute(conn)
        },
    )
    .await
}
