//! `GET /media/{id}`: a file a customer sent, for the members of its workspace.

use actix_web::http::header::{self, ContentDisposition, DispositionParam, DispositionType};
use actix_web::{HttpResponse, web};

use crate::bots::media;
use crate::web::AppError;
use crate::web::auth::Member;

/// A name for the download made only of safe characters (the customer chose the original).
fn download_name(filename: Option<&str>) -> String {
    let name: String = filename
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ' '))
        .take(100)
        .collect();
    let name = name.trim().trim_start_matches('.');
    if name.is_empty() {
        "file".to_owned()
    } else {
        name.to_owned()
    }
}

/// `GET /media/{id}`: the stored file with its checked type; a document downloads, the rest
/// shows in the page. Another workspace's id, or one not stored, is a 404.
pub async fn show(member: Member, id: web::Path<String>) -> Result<HttpResponse, AppError> {
    let state = &member.visitor.state;
    let file = media::open(state, state.bots.media_store(), &member.scope, &id).await?;
    let disposition = if file.kind == "document" {
        ContentDisposition {
            disposition: DispositionType::Attachment,
            parameters: vec![DispositionParam::Filename(download_name(
                file.filename.as_deref(),
            ))],
        }
    } else {
        ContentDisposition {
            disposition: DispositionType::Inline,
            parameters: vec![],
        }
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, file.mime_type))
        .insert_header(disposition)
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        // The member's own data: never in a shared cache, kept briefly in the browser.
        .insert_header((header::CACHE_CONTROL, "private, max-age=300"))
        .insert_header((header::VARY, "Cookie"))
        .body(file.bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn download_names_keep_only_safe_characters() {
        assert_eq!(download_name(Some("invoice 12.pdf")), "invoice 12.pdf");
        assert_eq!(download_name(Some("../\"evil\"\r\n.pdf")), "evil.pdf");
        assert_eq!(download_name(Some("..")), "file");
        assert_eq!(download_name(None), "file");
    }
}
