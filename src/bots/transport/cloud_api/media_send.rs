//! Sending a file from a Cloud API bot: checked against Meta's limits (size by kind, allowed
//! types, first bytes) before anything leaves, uploaded to the Graph API, then queued in the
//! outbox as a media message by its new id, with a text rendering (`[image] caption`) for the
//! pages.

use super::connection;
use super::graph::{CloudBody, MediaKind, MediaSource, OutgoingCloudMessage};
use crate::bots::media_checks::{self, Kind};
use crate::bots::model::{self, Bot, TransportKind};
use crate::bots::outbox;
use crate::bots::supervisor::BotSupervisor;
use crate::context::Context;
use crate::db::RowScope;
use crate::error::{ServiceError, ServiceResult};
use crate::tenancy::TenantScope;

/// A file to send.
#[derive(Debug, Clone)]
pub struct OutgoingFile {
    pub bytes: Vec<u8>,
    pub mime_type: String,
    pub filename: String,
    pub caption: Option<String>,
}

/// The kind Meta's message takes for a file of `mime_type` (stickers are not sent from here).
fn message_kind(kind: Kind) -> MediaKind {
    match kind {
        Kind::Image => MediaKind::Image,
        Kind::Audio => MediaKind::Audio,
        Kind::Video => MediaKind::Video,
        Kind::Document | Kind::Sticker => MediaKind::Document,
    }
}

/// Upload `file` for the scope's Cloud API bot `bot_id` and queue it to `to`; answers the
/// outbox id. A file Meta would refuse is refused here (`Invalid` on `file`) before upload.
pub async fn queue_media(
    ctx: &Context,
    bots_runtime: &BotSupervisor,
    scope: &TenantScope,
    bot_id: &str,
    to: &str,
    file: OutgoingFile,
) -> ServiceResult<String> {
    let bot = model::find(ctx, scope, bot_id).await?;
    queue_media_for(ctx, bots_runtime, &bot, to, file).await
}

/// `queue_media` for a bot the caller already found in its workspace (its rows are read and
/// written in the bot's own workspace).
pub async fn queue_media_for(
    ctx: &Context,
    bots_runtime: &BotSupervisor,
    bot: &Bot,
    to: &str,
    file: OutgoingFile,
) -> ServiceResult<String> {
    let uploaded = upload(ctx, bots_runtime, bot, to, file).await?;
    let (tenant_id, bot_id, to) = (bot.tenant_id.clone(), bot.id.clone(), to.to_owned());
    let id = ctx
        .db
        .run_in(RowScope::tenant(bot.tenant_id.clone()), move |conn| {
            outbox::enqueue_content_in(
                conn,
                &tenant_id,
                &bot_id,
                &to,
                &uploaded.text,
                &uploaded.content,
            )
        })
        .await?;
    bots_runtime.nudge_outbox(&bot.id);
    Ok(id)
}

/// A file Meta took, ready to queue: the message as the outbox stores it (`content`) and its
/// text rendering for the pages (`text`).
#[derive(Debug, Clone)]
pub struct Uploaded {
    pub content: String,
    pub text: String,
}

/// Check `file` for the bot's Cloud API number and upload it to Meta; the caller queues it.
/// A file Meta would refuse is refused here (`Invalid` on `file`) before upload.
pub async fn upload(
    ctx: &Context,
    bots_runtime: &BotSupervisor,
    bot: &Bot,
    to: &str,
    file: OutgoingFile,
) -> ServiceResult<Uploaded> {
    if bot.transport != TransportKind::Cloud {
        return Err(ServiceError::invalid(
            "file",
            "Only a bot on the WhatsApp Cloud API sends files.",
        ));
    }
    let kind = Kind::for_type(&file.mime_type);
    let mime_type = media_checks::check_outgoing(kind, &file.mime_type, &file.bytes)
        .map_err(|why| ServiceError::invalid("file", why))?;
    // The bot was found in the caller's workspace just above; its secrets are read by id.
    let open = match connection::for_runtime(&ctx.db, &ctx.encryption_key, bot.id.as_str()).await? {
        Some(Ok(open)) => open,
        Some(Err(unreadable)) => return Err(ServiceError::internal(unreadable)),
        None => {
            return Err(ServiceError::invalid(
                "file",
                "Connect the bot to the Cloud API first.",
            ));
        }
    };
    // Audio takes no caption at Meta; the rest is checked against Meta's limits before upload.
    let caption = file
        .caption
        .filter(|c| !c.trim().is_empty() && kind != Kind::Audio);
    let mut body = CloudBody::Media {
        kind: message_kind(kind),
        // A stand-in id until the upload gives the real one.
        source: MediaSource::Id("0".into()),
        caption: caption.clone(),
        filename: (kind == Kind::Document).then(|| file.filename.clone()),
    };
    let draft = OutgoingCloudMessage {
        to: to.to_owned(),
        body: body.clone(),
    };
    draft
        .validate()
        .map_err(|e| ServiceError::invalid("message", e.to_string()))?;
    let media_id = bots_runtime
        .graph()
        .upload_media(
            &open.connection.phone_number_id,
            &open.secrets.access_token,
            file.bytes,
            mime_type,
            &file.filename,
        )
        .await
        .map_err(|e| {
            tracing::warn!(bot_id = %bot.id, error = %e, "media upload failed");
            ServiceError::invalid("file", "Meta did not take the file; try again later.")
        })?;
    if let CloudBody::Media { source, .. } = &mut body {
        *source = MediaSource::Id(media_id);
    }
    let content = serde_json::to_string(&body).map_err(ServiceError::internal)?;
    let text = match &caption {
        Some(caption) => format!("[{}] {caption}", kind.as_str()),
        None => format!("[{}] {}", kind.as_str(), file.filename),
    };
    Ok(Uploaded { content, text })
}
