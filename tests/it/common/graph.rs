//! A local stand-in for Meta's Graph API (WhatsApp Cloud API): it answers the calls the
//! Graph client makes with Meta's own response shapes (phone number details, sent message
//! ids, templates over two pages, media URLs and bytes, media uploads as multipart forms),
//! records every request for assertions, and can be told to answer the next calls with one of
//! Meta's errors.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

/// The access token tests give the client; any other is refused with 190.
pub const TOKEN: &str = "EAAGtestTOKENdoNotLog0123456789";
/// The phone number id and business account id the fake knows.
pub const PHONE_NUMBER_ID: &str = "106540352242922";
pub const WABA_ID: &str = "102290129340398";
/// A media id whose bytes are `MEDIA_BYTES`.
pub const MEDIA_ID: &str = "1037543291543636";
pub const MEDIA_BYTES: &[u8] = b"\x89PNG fake image bytes for the Graph fake";

/// The size of the large media bodies (`/media-bytes/big` and `/media-bytes/stream`).
pub const BIG_MEDIA: usize = 64 * 1024;

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// The path and query.
    pub path: String,
    pub body: Option<Value>,
    pub authorization: Option<String>,
    /// The parts of a `multipart/form-data` body (an upload).
    pub form: Vec<FormPart>,
}

/// One part of a multipart form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormPart {
    pub name: String,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

/// A media file the fake serves: `GET /{id}` answers its URL, type, hash and size.
#[derive(Clone)]
struct FakeMedia {
    mime_type: String,
    bytes: Vec<u8>,
    sha256: String,
}

/// The parts of `body`, a `multipart/form-data` body with `content_type`'s boundary.
fn form_parts(content_type: &str, body: &[u8]) -> Vec<FormPart> {
    let Some(boundary) = content_type
        .strip_prefix("multipart/form-data; boundary=")
        .map(|b| format!("--{b}"))
    else {
        return Vec::new();
    };
    let text = body;
    let mut parts = Vec::new();
    let find = |hay: &[u8], needle: &[u8], from: usize| {
        hay.get(from..)
            .and_then(|h| h.windows(needle.len()).position(|w| w == needle))
            .map(|i| i + from)
    };
    let mut at = match find(text, boundary.as_bytes(), 0) {
        Some(i) => i + boundary.len(),
        None => return parts,
    };
    loop {
        if text.get(at..at + 2) == Some(b"--") {
            return parts;
        }
        let head_start = at + 2; // after CRLF
        let Some(head_end) = find(text, b"\r\n\r\n", head_start) else {
            return parts;
        };
        let Some(next) = find(text, format!("\r\n{boundary}").as_bytes(), head_end + 4) else {
            return parts;
        };
        let head = String::from_utf8_lossy(&text[head_start..head_end]).to_string();
        let quoted = |key: &str| {
            head.split(&format!("{key}=\""))
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .map(str::to_owned)
        };
        parts.push(FormPart {
            name: quoted("name").unwrap_or_default(),
            filename: quoted("filename"),
            content_type: head
                .lines()
                .find_map(|l| l.strip_prefix("Content-Type: "))
                .map(str::to_owned),
            bytes: text[head_end + 4..next].to_vec(),
        });
        at = next + 2 + boundary.len();
    }
}

#[derive(Default)]
struct State {
    requests: Vec<Recorded>,
    /// Errors to answer the next calls with, by Meta code.
    failures: VecDeque<i64>,
    sent: u32,
    media: std::collections::HashMap<String, FakeMedia>,
    uploads: u32,
}

/// The running fake.
pub struct FakeGraph {
    pub base_url: String,
    state: Arc<Mutex<State>>,
}

/// Meta's error body for `code`, with the HTTP status Meta uses for it.
fn meta_error(code: i64) -> HttpResponse {
    let (status, message, details, kind) = match code {
        130429 => (
            400,
            "Rate limit hit",
            "Cloud API message throughput has been reached.",
            "OAuthException",
        ),
        131056 => (
            400,
            "(Business Account, Consumer Account) pair rate limit hit",
            "Too many messages sent from the sender phone number to the same recipient phone number in a short period of time.",
            "OAuthException",
        ),
        131047 => (
            400,
            "Re-engagement message",
            "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
            "OAuthException",
        ),
        190 => (
            401,
            "Error validating access token: Session has expired.",
            "The access token has expired.",
            "OAuthException",
        ),
        100 => (
            400,
            "Invalid parameter",
            "Parameter value is not valid",
            "OAuthException",
        ),
        _ => (
            500,
            "An unknown error has occurred.",
            "Service temporarily unavailable",
            "OAuthException",
        ),
    };
    let body = json!({"error": {
        "message": message,
        "type": kind,
        "code": code,
        "error_subcode": if code == 190 { json!(463) } else { Value::Null },
        "error_data": {"messaging_product": "whatsapp", "details": details},
        "fbtrace_id": "AbCdEfGhIjKlMnOpQrStUv"
    }});
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).expect("status")).json(body)
}

fn template(name: &str, language: &str, category: &str, status: &str) -> Value {
    json!({
        "name": name,
        "language": language,
        "category": category,
        "status": status,
        "id": format!("{}", 900_000 + name.len()),
        "components": [
            {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}"},
            {"type": "BODY", "text": "Hello {{1}}, your order {{2}} has shipped."},
            {"type": "FOOTER", "text": "Reply STOP to opt out"},
            {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Thanks"}]}
        ]
    })
}

async fn handle(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<Arc<Mutex<State>>>,
    base: web::Data<String>,
) -> HttpResponse {
    let path = req.path().to_owned();
    let query = req.query_string().to_owned();
    let recorded = Recorded {
        method: req.method().to_string(),
        path: if query.is_empty() {
            path.clone()
        } else {
            format!("{path}?{query}")
        },
        body: serde_json::from_slice(&body).ok(),
        authorization: req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        form: form_parts(
            req.headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default(),
            &body,
        ),
    };
    let mut state = state.lock().unwrap();
    state.requests.push(recorded.clone());
    if let Some(code) = state.failures.pop_front() {
        return meta_error(code);
    }
    if recorded.authorization.as_deref() != Some(&format!("Bearer {TOKEN}")) {
        return meta_error(190);
    }
    let base = base.get_ref();
    let version = whatsdex::bots::transport::cloud_api::graph::GRAPH_VERSION;
    let Some(rest) = path.strip_prefix(&format!("/{version}/")) else {
        // The media bytes live outside the versioned API, as Meta's lookaside URLs do.
        if path == format!("/media-bytes/{MEDIA_ID}") {
            return HttpResponse::Ok()
                .content_type("image/png")
                .body(MEDIA_BYTES.to_vec());
        }
        if let Some(media) = path
            .strip_prefix("/media-bytes/")
            .and_then(|id| state.media.get(id))
        {
            return HttpResponse::Ok()
                .content_type(media.mime_type.as_str())
                .body(media.bytes.clone());
        }
        // 64 KiB with a Content-Length, and 64 KiB streamed in chunks without one.
        if path == "/media-bytes/big" {
            return HttpResponse::Ok().body(vec![7u8; BIG_MEDIA]);
        }
        if path == "/media-bytes/stream" {
            let chunks = (0..BIG_MEDIA / 4096)
                .map(|_| Ok::<_, actix_web::Error>(web::Bytes::from(vec![7u8; 4096])));
            return HttpResponse::Ok().streaming(futures_util::stream::iter(chunks));
        }
        return meta_error(100);
    };
    let parts: Vec<&str> = rest.split('/').collect();
    match (req.method().as_str(), parts.as_slice()) {
        ("GET", [id]) if *id == PHONE_NUMBER_ID => HttpResponse::Ok().json(json!({
            "verified_name": "Acme Support",
            "display_phone_number": "+1 555-010-0100",
            "quality_rating": "GREEN",
            "id": PHONE_NUMBER_ID
        })),
        ("GET", [id]) if *id == MEDIA_ID => HttpResponse::Ok().json(json!({
            "messaging_product": "whatsapp",
            "url": format!("{base}/media-bytes/{MEDIA_ID}"),
            "mime_type": "image/png",
            "sha256": "c2ZvbWUgaGFzaCBvZiB0aGUgYnl0ZXM=",
            // Meta's reference shows the size as a string.
            "file_size": MEDIA_BYTES.len().to_string(),
            "id": MEDIA_ID
        })),
        ("GET", [id]) if state.media.contains_key(*id) => {
            let media = &state.media[*id];
            HttpResponse::Ok().json(json!({
                "messaging_product": "whatsapp",
                "url": format!("{base}/media-bytes/{id}"),
                "mime_type": media.mime_type,
                "sha256": media.sha256,
                "file_size": media.bytes.len(),
                "id": id
            }))
        }
        // Meta's upload: a multipart form with messaging_product, type and file.
        ("POST", [id, "media"]) if *id == PHONE_NUMBER_ID => {
            let field = |name: &str| recorded.form.iter().find(|p| p.name == name);
            let product = field("messaging_product").map(|p| p.bytes.as_slice());
            let kind = field("type").map(|p| String::from_utf8_lossy(&p.bytes).to_string());
            let file = field("file");
            let complete = product == Some(b"whatsapp".as_slice())
                && file.is_some_and(|f| {
                    !f.bytes.is_empty()
                        && f.filename.is_some()
                        && f.content_type.as_deref() == kind.as_deref()
                });
            if !complete {
                return meta_error(100);
            }
            state.uploads += 1;
            HttpResponse::Ok().json(
                json!({"id": format!("{}", 4_490_000_000_000_000u64 + u64::from(state.uploads))}),
            )
        }
        ("POST", [id, "messages"]) if *id == PHONE_NUMBER_ID => {
            state.sent += 1;
            let to = recorded
                .body
                .as_ref()
                .and_then(|b| b["to"].as_str())
                .unwrap_or_default()
                .to_owned();
            HttpResponse::Ok().json(json!({
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to.trim_start_matches('+')}],
                "messages": [{"id": format!("wamid.HBgLMTU1NTAxMDAxMDAVAgARGBI{:04}", state.sent)}]
            }))
        }
        ("GET", [id, "message_templates"]) if *id == WABA_ID => {
            if query.contains("after=PAGE2") {
                HttpResponse::Ok().json(json!({
                    "data": [
                        template("order_shipped", "de", "UTILITY", "APPROVED"),
                        template("spring_sale", "en_US", "MARKETING", "APPROVED"),
                    ],
                    "paging": {"cursors": {"before": "PAGE2", "after": "END"}}
                }))
            } else {
                HttpResponse::Ok().json(json!({
                    "data": [
                        template("order_shipped", "en_US", "UTILITY", "APPROVED"),
                        template("draft_offer", "en_US", "MARKETING", "PENDING"),
                    ],
                    "paging": {
                        "cursors": {"before": "PAGE1", "after": "PAGE2"},
                        "next": format!("{base}/{version}/{WABA_ID}/message_templates?limit=2&after=PAGE2")
                    }
                }))
            }
        }
        _ => meta_error(100),
    }
}

impl FakeGraph {
    /// Listen on a free local port, in a thread of its own.
    pub fn start() -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let base_url = super::fake_server::serve("fake Graph", state.clone(), 1 << 20, handle);
        Self { base_url, state }
    }

    /// Answer the next call with Meta's error `code` (130429, 131056, 131047, 190, 100;
    /// anything else is a 500); queued codes answer one call each, in order.
    pub fn fail_next(&self, code: i64) {
        self.state.lock().unwrap().failures.push_back(code);
    }

    /// Serve `bytes` as media `id` of `mime_type`, announcing `sha256` (Meta's hex digest).
    pub fn add_media(&self, id: &str, mime_type: &str, bytes: &[u8], sha256: &str) {
        self.state.lock().unwrap().media.insert(
            id.to_owned(),
            FakeMedia {
                mime_type: mime_type.to_owned(),
                bytes: bytes.to_vec(),
                sha256: sha256.to_owned(),
            },
        );
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    /// The JSON body of the last request.
    pub fn last_body(&self) -> Value {
        self.requests()
            .last()
            .and_then(|r| r.body.clone())
            .expect("a request with a JSON body")
    }
}
