//! Static files (htmx, CSS, icons), embedded in the binary and served with fingerprinted URLs.

use std::collections::HashMap;
use std::sync::OnceLock;

use actix_web::http::header::{self, EntityTag, IfNoneMatch};
use actix_web::{HttpRequest, HttpResponse, web};
use rust_embed::Embed;

/// The `static/` folder, compiled in.
#[derive(Embed)]
#[folder = "static/"]
struct StaticFiles;

/// A year: fingerprinted URLs change whenever the file does, so browsers may keep them.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// For a URL without the current fingerprint: cache briefly, revalidate with the ETag.
const REVALIDATE: &str = "public, max-age=300";

/// Short content hashes of every embedded file, computed once.
fn fingerprints() -> &'static HashMap<String, String> {
    static FINGERPRINTS: OnceLock<HashMap<String, String>> = OnceLock::new();
    FINGERPRINTS.get_or_init(|| {
        StaticFiles::iter()
            .filter_map(|name| {
                let file = StaticFiles::get(&name)?;
                let hash = hex::encode(&file.metadata.sha256_hash()[..8]);
                Some((name.into_owned(), hash))
            })
            .collect()
    })
}

/// The URL of a static file, carrying its content hash so it can be cached for good.
pub fn url(name: &str) -> String {
    match fingerprints().get(name) {
        Some(hash) => format!("/static/{name}?v={hash}"),
        None => format!("/static/{name}"),
    }
}

/// `GET /static/{path}`.
pub async fn serve(req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let name = path.into_inner();
    let (Some(file), Some(hash)) = (StaticFiles::get(&name), fingerprints().get(&name)) else {
        return HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("not found");
    };
    let etag = EntityTag::new_strong(hash.clone());
    let cache_control = if req.query_string() == format!("v={hash}") {
        IMMUTABLE
    } else {
        REVALIDATE
    };
    let unchanged = match header::Header::parse(&req) {
        Ok(IfNoneMatch::Any) => true,
        Ok(IfNoneMatch::Items(tags)) => tags.iter().any(|t| t.weak_eq(&etag)),
        Err(_) => false,
    };
    let mut response = if unchanged {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header(header::ETag(etag))
        .insert_header((header::CACHE_CONTROL, cache_control));
    if unchanged {
        return response.finish();
    }
    let mime = mime_guess::from_path(&name).first_or_octet_stream();
    response
        .content_type(mime.as_ref())
        .body(file.data.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_carry_a_fingerprint() {
        let u = url("htmx.min.js");
        assert!(u.starts_with("/static/htmx.min.js?v="), "{u}");
        assert_eq!(u.len(), "/static/htmx.min.js?v=".len() + 16);
    }

    #[test]
    fn unknown_files_get_a_plain_url() {
        assert_eq!(url("nope.js"), "/static/nope.js");
    }
}
