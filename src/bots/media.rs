//! Media customers send: recorded as pending with the message, fetched from the provider
//! afterwards (so a slow download never holds up the message or its answer).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::Bot;
use super::transport::InboundMedia;
use crate::db::DbConn;
use crate::db::schema::media;
use crate::ids::new_id;

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
