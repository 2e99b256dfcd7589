//! Media customers send: recorded as pending with the message, fetched from the provider
//! afterwards (so a slow download never holds up the message or its answer).

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;

use super::media_store::MediaStore;
use super::model::Bot;
use super::transport::InboundMedia;
use crate::context::Context;
use crate::db::schema::{media, messages};
use crate::db::{Db, DbConn, DbError, RowScope};
use crate::error::{ServiceError, ServiceResult};
use crate::ids::{BotId, TenantId, new_id};
use crate::tenancy::TenantScope;

/// Where a media file is in its life (`media.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaStatus {
    /// Known by the provider's id; not fetched yet.
    Pending,
    /// Fetched, checked and kept.
    Stored,
    /// Fetched but not kept: too large, or not a type we keep.
    Refused,
    /// Could not be fetched after every attempt.
    Failed,
}

impl MediaStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Stored => "stored",
            Self::Refused => "refused",
            Self::Failed => "failed",
        }
    }
}

/// Record, within the pipeline's transaction, that message `message_id` brought `file`.
pub fn expect_in(
    conn: &mut DbConn,
    bot: &Bot,
    message_id: &str,
    file: &InboundMedia,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(media::table)
        .values((
            media::id.eq(new_id()),
            media::tenant_id.eq(&bot.tenant_id),
            media::bot_id.eq(&bot.id),
            media::message_id.eq(message_id),
            media::provider_media_id.eq(&file.provider_id),
            media::mime_type.eq(&file.mime_type),
            media::sha256.eq(&file.sha256),
            media::filename.eq(&file.filename),
            media::status.eq(MediaStatus::Pending.as_str()),
            media::created_at.eq(now),
        ))
        .execute(conn)
        .map(drop)
}

/// A pending media file the fetcher is to download.
#[derive(Debug, Clone)]
pub struct PendingMedia {
    pub id: String,
    pub provider_media_id: String,
    /// The message's kind (`image`, `audio`, …), which sets the size limit.
    pub kind: String,
    /// The SHA-256 the webhook announced, when it did.
    pub sha256: Option<String>,
    pub attempts: i32,
}

/// Up to `limit` pending media of a bot, oldest first.
pub async fn pending_for_bot(
    db: &Db,
    tenant_id: &TenantId,
    bot_id: &BotId,
    limit: i64,
) -> Result<Vec<PendingMedia>, DbError> {
    let (tenant, bot) = (tenant_id.clone(), bot_id.clone());
    let rows: Vec<(String, String, String, Option<String>, i32)> = db
        .run_in(RowScope::tenant(tenant_id.clone()), move |conn| {
            media::table
                .inner_join(messages::table.on(messages::id.eq(media::message_id)))
                .filter(media::tenant_id.eq(&tenant))
                .filter(media::bot_id.eq(&bot))
                .filter(media::status.eq(MediaStatus::Pending.as_str()))
                .order((media::created_at.asc(), media::id.asc()))
                .limit(limit)
                .select((
                    media::id,
                    media::provider_media_id,
                    messages::kind,
                    media::sha256,
                    media::attempts,
                ))
                .load(conn)
        })
        .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, provider_media_id, kind, sha256, attempts)| PendingMedia {
                id,
                provider_media_id,
                kind,
                sha256,
                attempts,
            },
        )
        .collect())
}

/// The file is kept at `stored_path`: `size` bytes of the allowed `mime_type`. False when
/// the row is gone (its bot or workspace was deleted meanwhile).
pub async fn mark_stored(
    db: &Db,
    tenant_id: &TenantId,
    id: &str,
    stored_path: String,
    size: u64,
    mime_type: &'static str,
) -> Result<bool, DbError> {
    let (tenant, id) = (tenant_id.clone(), id.to_owned());
    let size = i64::try_from(size).unwrap_or(i64::MAX);
    db.run_in(RowScope::tenant(tenant_id.clone()), move |conn| {
        diesel::update(
            media::table
                .filter(media::id.eq(&id))
                .filter(media::tenant_id.eq(&tenant)),
        )
        .set((
            media::status.eq(MediaStatus::Stored.as_str()),
            media::stored_path.eq(Some(stored_path)),
            media::file_size.eq(Some(size)),
            media::mime_type.eq(Some(mime_type)),
            media::stored_at.eq(Some(Utc::now().naive_utc())),
            media::error.eq(None::<String>),
            media::attempts.eq(media::attempts + 1),
        ))
        .execute(conn)
        .map(|updated| updated > 0)
    })
    .await
}

/// The file was not kept (`Refused`, for good) or not fetched this time: `Failed` when
/// `status` says so, else it stays `Pending` with one more attempt counted.
pub async fn mark_not_stored(
    db: &Db,
    tenant_id: &TenantId,
    id: &str,
    status: MediaStatus,
    reason: &str,
) -> Result<(), DbError> {
    let (tenant, id, reason) = (tenant_id.clone(), id.to_owned(), reason.to_owned());
    db.run_in(RowScope::tenant(tenant_id.clone()), move |conn| {
        diesel::update(
            media::table
                .filter(media::id.eq(&id))
                .filter(media::tenant_id.eq(&tenant)),
        )
        .set((
            media::status.eq(status.as_str()),
            media::error.eq(Some(reason)),
            media::attempts.eq(media::attempts + 1),
        ))
        .execute(conn)
        .map(drop)
    })
    .await
}

/// A message's media as a page shows it: link `/media/{id}` when `status` is `stored`.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct MessageMedia {
    pub id: String,
    pub message_id: String,
    /// `image`, `audio`, `video`, `document` or `sticker`.
    pub kind: String,
    /// `pending`, `stored`, `refused` or `failed`.
    pub status: String,
    pub filename: Option<String>,
}

/// The media of the messages `message_ids` of the workspace `tenant_id`, within the caller's
/// (tenant-scoped) transaction; messages without media have no entry.
pub fn for_messages(
    conn: &mut DbConn,
    tenant_id: &TenantId,
    message_ids: &[String],
) -> QueryResult<Vec<MessageMedia>> {
    media::table
        .inner_join(messages::table.on(messages::id.eq(media::message_id)))
        .filter(media::tenant_id.eq(tenant_id))
        .filter(media::message_id.eq_any(message_ids))
        .order((media::created_at.asc(), media::id.asc()))
        .select((
            media::id,
            media::message_id,
            messages::kind,
            media::status,
            media::filename,
        ))
        .load(conn)
}

/// A stored file as `/media/{id}` serves it.
#[derive(Debug, Clone)]
pub struct StoredMedia {
    pub kind: String,
    /// One of the allowed types (set by the fetcher).
    pub mime_type: String,
    pub filename: Option<String>,
    pub bytes: Vec<u8>,
}

/// The message kind, type, file name and stored path of a stored file.
type StoredRow = (String, Option<String>, Option<String>, Option<String>);

/// The stored media `id` of the scope's workspace with its bytes; a foreign, unknown or not
/// (yet) stored id is `NotFound`.
pub async fn open(
    ctx: &Context,
    store: &MediaStore,
    scope: &TenantScope,
    id: &str,
) -> ServiceResult<StoredMedia> {
    let (tenant, id) = (scope.tenant_id().clone(), id.to_owned());
    let row: Option<StoredRow> = ctx
        .db
        .run_in(scope.rows(), move |conn| {
            media::table
                .inner_join(messages::table.on(messages::id.eq(media::message_id)))
                .filter(media::id.eq(&id))
                .filter(media::tenant_id.eq(&tenant))
                .filter(media::status.eq(MediaStatus::Stored.as_str()))
                .select((
                    messages::kind,
                    media::mime_type,
                    media::filename,
                    media::stored_path,
                ))
                .first(conn)
                .optional()
        })
        .await?;
    let Some((kind, Some(mime_type), filename, Some(path))) = row else {
        return Err(ServiceError::NotFound);
    };
    let bytes = store
        .read(&path)
        .await
        .map_err(|e| ServiceError::internal(format!("stored media {path} cannot be read: {e}")))?;
    Ok(StoredMedia {
        kind,
        mime_type,
        filename,
        bytes,
    })
}
