//! Platform errors the bots domain records (a bot task that failed, a refused webhook), which
//! the admin dashboard lists.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::db::schema::platform_errors;
use crate::db::{Db, DbConn, DbError, RowScope};
use crate::ids::new_id;

/// What failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A bot's task failed and is being restarted.
    BotCrash,
    /// A webhook (Stripe, Meta) was refused: bad or missing signature.
    WebhookRejected,
    /// A provider (Meta) reported a problem with a bot's number or webhook.
    ProviderError,
}

impl ErrorKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BotCrash => "bot_crash",
            Self::WebhookRejected => "webhook_rejected",
            Self::ProviderError => "provider_error",
        }
    }
}

/// An error as the dashboard lists it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = platform_errors)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct PlatformError {
    pub kind: String,
    pub tenant_id: Option<String>,
    pub subject: Option<String>,
    pub detail: String,
    pub created_at: NaiveDateTime,
}

/// Record an error within the caller's transaction. `detail` must hold no secret.
pub fn record_in(
    conn: &mut DbConn,
    kind: ErrorKind,
    tenant_id: Option<&str>,
    subject: Option<&str>,
    detail: &str,
) -> QueryResult<()> {
    diesel::insert_into(platform_errors::table)
        .values((
            platform_errors::id.eq(new_id()),
            platform_errors::kind.eq(kind.as_str()),
            platform_errors::tenant_id.eq(tenant_id),
            platform_errors::subject.eq(subject),
            platform_errors::detail.eq(detail.chars().take(500).collect::<String>()),
            platform_errors::created_at.eq(Utc::now().naive_utc()),
        ))
        .execute(conn)
        .map(drop)
}

/// Record an error in its own transaction; a failure to record is logged, never raised, so
/// that reporting an error cannot cause another.
pub async fn record(
    db: &Db,
    kind: ErrorKind,
    tenant_id: Option<String>,
    subject: Option<String>,
    detail: String,
) {
    let result = db
        .run_in(
            RowScope::across_tenants("platform errors are the operator's, not a workspace's"),
            move |conn| {
                record_in(
                    conn,
                    kind,
                    tenant_id.as_deref(),
                    subject.as_deref(),
                    &detail,
                )
            },
        )
        .await;
    if let Err(e) = result {
        tracing::warn!(error = %e, kind = kind.as_str(), "could not record a platform error");
    }
}

/// The newest errors, within the caller's (system-scoped) transaction.
pub fn recent_in(conn: &mut DbConn, limit: i64) -> QueryResult<Vec<PlatformError>> {
    platform_errors::table
        .order(platform_errors::created_at.desc())
        .limit(limit)
        .select(PlatformError::as_select())
        .load(conn)
}

/// The newest errors.
pub async fn recent(db: &Db, limit: i64) -> Result<Vec<PlatformError>, DbError> {
    db.run_in(
        RowScope::across_tenants("the platform dashboard lists every workspace's errors"),
        move |conn| recent_in(conn, limit),
    )
    .await
}

/// Record that a bot's task failed (its workspace looked up); never fails the caller.
pub async fn record_bot_failure(db: &Db, bot_id: &str, reason: &str) {
    let (bot_id, reason) = (bot_id.to_owned(), reason.to_owned());
    let result = db
        .run_in(
            RowScope::across_tenants("the runtime looks up a failed bot's workspace"),
            move |conn| {
                let tenant_id: Option<String> = crate::db::schema::bots::table
                    .find(&bot_id)
                    .select(crate::db::schema::bots::tenant_id)
                    .first(conn)
                    .optional()?;
                record_in(
                    conn,
                    ErrorKind::BotCrash,
                    tenant_id.as_deref(),
                    Some(&bot_id),
                    &reason,
                )
            },
        )
        .await;
    if let Err(e) = result {
        tracing::warn!(error = %e, "could not record a bot failure");
    }
}
