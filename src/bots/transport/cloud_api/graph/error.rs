//! What can go wrong calling the Graph API, sorted by what the sender should do about it.
//!
//! Meta answers a failed call with `{"error": {"message", "type", "code", "error_subcode",
//! "error_data": {"details"}, "fbtrace_id"}}`; the code, not the HTTP status, says what
//! happened. Nothing here ever holds the access token: it travels in a header only.

use std::fmt;

use serde::Deserialize;

/// Meta's own account of a failure, kept for the log.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MetaError {
    /// Meta's error code (130429, 190, …); 0 when the answer had no error body.
    pub code: i64,
    /// `error_subcode`, when given.
    pub subcode: Option<i64>,
    /// `message`: Meta's short title of the error.
    pub message: String,
    /// `error_data.details`: the longer explanation, when given.
    pub details: Option<String>,
    /// `fbtrace_id`: what Meta support asks for.
    pub fbtrace_id: Option<String>,
}

impl fmt::Display for MetaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Meta error {}: {}", self.code, self.message)?;
        if let Some(details) = &self.details {
            write!(f, " ({details})")?;
        }
        if let Some(trace) = &self.fbtrace_id {
            write!(f, " [fbtrace_id {trace}]")?;
        }
        Ok(())
    }
}

/// A failed Graph API call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    /// The business number sends faster than its throughput allows (130429; also the
    /// app/account rate limits 4 and 80007): retry later, slower.
    #[error("sending too fast for this number: {0}")]
    Throughput(MetaError),
    /// Too many messages to the same recipient in a short time (131056): wait before
    /// writing to this person again.
    #[error("too many messages to this recipient: {0}")]
    PairRateLimit(MetaError),
    /// The 24-hour customer service window is closed (131047): only a template can go out.
    #[error("the 24-hour window is closed, send a template: {0}")]
    WindowClosed(MetaError),
    /// The access token is expired, revoked or wrong (190, or HTTP 401): the bot needs a new
    /// token; retrying will not help.
    #[error("the access token was refused: {0}")]
    TokenInvalid(MetaError),
    /// Meta refused the request for good (any other 4xx): do not retry.
    #[error("Meta refused the request: error {code}: {title}{}", details.as_ref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Invalid {
        code: i64,
        title: String,
        details: Option<String>,
    },
    /// Meta or the network failed (5xx, timeout, connection): retry with backoff.
    #[error("Graph API unavailable: {0}")]
    Unavailable(MetaError),
    /// The request breaks one of Meta's documented limits (or an id is malformed); it was
    /// checked here and never sent.
    #[error("not sent to Meta: {0}")]
    NotSent(String),
    /// A download was larger than allowed; it was not read.
    #[error("the media is larger than {max_bytes} bytes")]
    TooLarge { max_bytes: u64 },
}

impl GraphError {
    /// Meta's error code, when Meta gave one.
    pub fn code(&self) -> Option<i64> {
        match self {
            Self::Throughput(e)
            | Self::PairRateLimit(e)
            | Self::WindowClosed(e)
            | Self::TokenInvalid(e)
            | Self::Unavailable(e) => (e.code != 0).then_some(e.code),
            Self::Invalid { code, .. } => (*code != 0).then_some(*code),
            Self::NotSent(_) | Self::TooLarge { .. } => None,
        }
    }

    /// Whether sending the same request again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Throughput(_) | Self::PairRateLimit(_) | Self::Unavailable(_)
        )
    }

    /// A network-level failure (no answer from Meta).
    pub(super) fn network(e: reqwest::Error) -> Self {
        // The URL may carry a signed media link: keep it out of the log.
        let e = e.without_url();
        let what = if e.is_timeout() {
            "timed out"
        } else if e.is_connect() {
            "could not connect"
        } else {
            "request failed"
        };
        Self::Unavailable(MetaError {
            message: format!("{what}: {e}"),
            ..MetaError::default()
        })
    }

    /// Sort Meta's answer `body` with HTTP `status` (not 2xx).
    pub(super) fn from_response(status: u16, body: &[u8]) -> Self {
        let meta = serde_json::from_slice::<ErrorBody>(body)
            .ok()
            .map(|b| MetaError {
                code: b.error.code,
                subcode: b.error.error_subcode,
                message: b.error.message,
                details: b.error.error_data.and_then(|d| d.details),
                fbtrace_id: b.error.fbtrace_id,
            })
            .unwrap_or_else(|| MetaError {
                message: format!("HTTP {status} without an error body"),
                ..MetaError::default()
            });
        match meta.code {
            130429 | 80007 | 4 => return Self::Throughput(meta),
            131056 => return Self::PairRateLimit(meta),
            131047 => return Self::WindowClosed(meta),
            190 => return Self::TokenInvalid(meta),
            _ => {}
        }
        match status {
            401 => Self::TokenInvalid(meta),
            429 => Self::Throughput(meta),
            400..=499 => Self::Invalid {
                code: meta.code,
                title: meta.message,
                details: meta.details,
            },
            _ => Self::Unavailable(meta),
        }
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorFields,
}

#[derive(Deserialize)]
struct ErrorFields {
    #[serde(default)]
    message: String,
    #[serde(default)]
    code: i64,
    error_subcode: Option<i64>,
    error_data: Option<ErrorData>,
    fbtrace_id: Option<String>,
}

#[derive(Deserialize)]
struct ErrorData {
    details: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(code: i64) -> Vec<u8> {
        format!(
            r#"{{"error":{{"message":"m","type":"OAuthException","code":{code},"error_data":{{"messaging_product":"whatsapp","details":"d"}},"fbtrace_id":"T"}}}}"#
        )
        .into_bytes()
    }

    #[test]
    fn codes_decide_before_statuses() {
        assert!(matches!(
            GraphError::from_response(400, &body(130429)),
            GraphError::Throughput(_)
        ));
        assert!(matches!(
            GraphError::from_response(400, &body(131056)),
            GraphError::PairRateLimit(_)
        ));
        assert!(matches!(
            GraphError::from_response(400, &body(131047)),
            GraphError::WindowClosed(_)
        ));
        assert!(matches!(
            GraphError::from_response(401, &body(190)),
            GraphError::TokenInvalid(_)
        ));
        assert!(matches!(
            GraphError::from_response(401, b""),
            GraphError::TokenInvalid(_)
        ));
        assert_eq!(
            GraphError::from_response(400, &body(100)),
            GraphError::Invalid {
                code: 100,
                title: "m".into(),
                details: Some("d".into())
            }
        );
        let unavailable = GraphError::from_response(503, b"<html>");
        assert!(matches!(unavailable, GraphError::Unavailable(_)));
        assert!(unavailable.is_retryable());
        assert_eq!(unavailable.code(), None);
    }
}
