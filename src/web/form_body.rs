//! The boundary every submitted form crosses before a handler sees it: at most 64 kB (more is
//! a 413 page that says so, whatever the route), UTF-8 text (else a 400 page), and no control
//! characters but tabs and line breaks (dropped, the same on both backends). The cleaned body
//! is put back for the handler and kept for the CSRF guard, so a body is read once.

use std::borrow::Cow;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{StatusCode, header};
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes};
use actix_web::{Error, HttpMessage};

use super::error::error_page_with;
use crate::validation::without_control_chars;

/// The largest form body taken.
pub const MAX_FORM_BYTES: usize = 64 * 1024;

/// A submitted form's body, as the handler gets it.
#[derive(Debug, Clone)]
pub struct FormBody(pub Bytes);

fn is_form(req: &ServiceRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"))
}

/// One part of a form body (`a+b%20c`) as text; None when it is not UTF-8.
fn decode(part: &[u8]) -> Option<String> {
    let spaced: Vec<u8> = part
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    let text = percent_encoding::percent_decode(&spaced)
        .decode_utf8()
        .ok()?;
    Some(text.into_owned())
}

/// The body with control characters dropped from every field; None when a field is not
/// UTF-8. An unchanged body is given back as it came.
pub fn clean(body: &Bytes) -> Option<Bytes> {
    let mut fields = Vec::new();
    let mut changed = false;
    for pair in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        let mut halves = pair.splitn(2, |&b| b == b'=');
        let key = decode(halves.next().unwrap_or_default())?;
        let value = decode(halves.next().unwrap_or_default())?;
        let (key_clean, value_clean) = (without_control_chars(&key), without_control_chars(&value));
        changed |= matches!(key_clean, Cow::Owned(_)) || matches!(value_clean, Cow::Owned(_));
        fields.push((key_clean.into_owned(), value_clean.into_owned()));
    }
    if !changed {
        return Some(body.clone());
    }
    let encoded = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    Some(Bytes::from(encoded))
}

/// The middleware (`actix_web::middleware::from_fn`).
pub async fn boundary(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    if !is_form(&req) {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let payload = req.extract::<web::Payload>().await?;
    let body = match payload.to_bytes_limited(MAX_FORM_BYTES).await {
        Ok(read) => read?,
        Err(_) => {
            tracing::info!(path = %req.path(), "refused a form over {MAX_FORM_BYTES} bytes");
            let page = error_page_with(
                StatusCode::PAYLOAD_TOO_LARGE,
                "This form is too large",
                "A form can hold at most 64 kB of text, and nothing was saved. Shorten the \
                 longest field and send it again.",
            );
            return Ok(req.into_response(page).map_into_right_body());
        }
    };
    let Some(body) = clean(&body) else {
        tracing::info!(path = %req.path(), "refused a form that is not UTF-8");
        let page = error_page_with(
            StatusCode::BAD_REQUEST,
            "This form could not be read",
            "Its text did not arrive as UTF-8, so nothing was saved. Reload the page and send \
             it again.",
        );
        return Ok(req.into_response(page).map_into_right_body());
    };
    req.extensions_mut().insert(FormBody(body.clone()));
    req.set_payload(Payload::from(body));
    Ok(next.call(req).await?.map_into_left_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cleaned(raw: &str) -> Option<String> {
        clean(&Bytes::from(raw.to_owned())).map(|b| String::from_utf8(b.to_vec()).unwrap())
    }

    #[test]
    fn clean_forms_pass_unchanged() {
        let raw = "csrf_token=abc&name=Caf%C3%A9+Lisboa&note=line%0D%0Anext";
        assert_eq!(cleaned(raw).as_deref(), Some(raw));
    }

    #[test]
    fn control_characters_are_dropped() {
        assert_eq!(
            cleaned("name=Ana%00+Lima&x=%07ok").as_deref(),
            Some("name=Ana+Lima&x=ok")
        );
    }

    #[test]
    fn text_that_is_not_utf8_is_refused() {
        assert_eq!(cleaned("name=%FF%FE"), None);
        assert_eq!(cleaned("%C3=x"), None);
    }
}
