//! The `multipart/form-data` body of a media upload (RFC 7578): three parts, built here so the
//! client needs no multipart feature for one call.

use super::GraphError;
use crate::ids::new_id;

/// An upload form: `messaging_product=whatsapp`, `type` and the `file`.
pub struct Form {
    boundary: String,
    body: Vec<u8>,
}

/// A header value we write inside the form: no quotes, line breaks or control characters.
fn header_safe(what: &str, value: &str) -> Result<(), GraphError> {
    if value.is_empty()
        || value
            .chars()
            .any(|c| c.is_control() || c == '"' || c == '\\')
    {
        return Err(GraphError::NotSent(format!(
            "{what} cannot be sent as written"
        )));
    }
    Ok(())
}

impl Form {
    /// The form for `bytes` of `mime_type`, named `filename`.
    pub fn new(mime_type: &str, filename: &str, bytes: Vec<u8>) -> Result<Self, GraphError> {
        header_safe("the file type", mime_type)?;
        header_safe("the file name", filename)?;
        let boundary = format!("whatsdex-{}", new_id());
        let mut body = Vec::with_capacity(bytes.len() + 512);
        let mut field = |name: &str, value: &str| {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .as_bytes(),
            );
        };
        field("messaging_product", "whatsapp");
        field("type", mime_type);
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: {mime_type}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(&bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        Ok(Self { boundary, body })
    }

    /// The request's `Content-Type`, with the boundary.
    pub fn content_type(&self) -> String {
        format!("multipart/form-data; boundary={}", self.boundary)
    }

    pub fn into_body(self) -> Vec<u8> {
        self.body
    }
}
