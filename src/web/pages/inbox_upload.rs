//! The composer's body: an ordinary form (`text`), or — when a file is attached, through htmx —
//! `multipart/form-data` with `text` and `file`. Files are read up to [`MAX_FILE_BYTES`].

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{HttpRequest, web};
use futures_util::StreamExt;

use crate::bots::transport::cloud_api::media_send::OutgoingFile;
use crate::error::ServiceError;
use crate::inbox::reply::Draft;
use crate::validation::without_control_chars;

/// The largest file the composer takes (Meta's limit for audio and video; images are checked
/// against their smaller limit later).
pub const MAX_FILE_BYTES: usize = 16 * 1024 * 1024;

/// The largest text part taken.
const MAX_TEXT_BYTES: usize = 64 * 1024;

/// Read what the composer sent.
/// What cannot be read is refused on the field it concerns.
pub async fn read_draft(req: &HttpRequest, payload: web::Payload) -> Result<Draft, ServiceError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if content_type.starts_with("multipart/form-data") {
        return read_multipart(req, payload).await;
    }
    let body = payload
        .to_bytes_limited(MAX_TEXT_BYTES)
        .await
        .map_err(|_| too_long())?
        .map_err(|_| unreadable())?;
    let text = url::form_urlencoded::parse(&body)
        .find(|(name, _)| name == "text")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    Ok(Draft { text, file: None })
}

fn unreadable() -> ServiceError {
    ServiceError::invalid("text", "The message could not be read; send it again.")
}

fn too_long() -> ServiceError {
    ServiceError::invalid("text", "The message is too long.")
}

async fn read_multipart(req: &HttpRequest, payload: web::Payload) -> Result<Draft, ServiceError> {
    let mut parts = Multipart::new(req.headers(), payload.into_inner());
    let mut draft = Draft::default();
    while let Some(part) = parts.next().await {
        let mut part = part.map_err(|_| unreadable())?;
        let name = part
            .content_disposition()
            .and_then(|d| d.get_name())
            .unwrap_or_default()
            .to_owned();
        let filename = part
            .content_disposition()
            .and_then(|d| d.get_filename())
            .map(str::to_owned);
        let mime_type = part
            .content_type()
            .map(|m| m.essence_str().to_owned())
            .unwrap_or_else(|| "application/octet-stream".to_owned());
        let limit = if name == "file" {
            MAX_FILE_BYTES
        } else {
            MAX_TEXT_BYTES
        };
        let mut bytes = Vec::new();
        while let Some(chunk) = part.next().await {
            let chunk = chunk.map_err(|_| unreadable())?;
            if bytes.len() + chunk.len() > limit {
                return Err(if name == "file" {
                    ServiceError::invalid("file", "Files of up to 16 MB can be sent.")
                } else {
                    too_long()
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        match name.as_str() {
            "text" => {
                let text = String::from_utf8(bytes).map_err(|_| unreadable())?;
                draft.text = without_control_chars(&text).into_owned();
            }
            // An empty file input sends a part with no name and no bytes.
            "file" if !bytes.is_empty() => {
                draft.file = Some(OutgoingFile {
                    bytes,
                    mime_type,
                    filename: filename.unwrap_or_else(|| "file".to_owned()),
                    caption: None,
                });
            }
            _ => {}
        }
    }
    Ok(draft)
}
