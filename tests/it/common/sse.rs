//! Reading a `text/event-stream` response as it arrives: the body never ends, so every read
//! has a timeout.

use std::pin::Pin;
use std::time::Duration;

use actix_web::body::MessageBody;

/// One server-sent event (comments and `retry:`-only frames are not events).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SseEvent {
    pub id: Option<String>,
    pub event: String,
    pub data: String,
}

impl SseEvent {
    /// The id as a sequence number.
    pub fn seq(&self) -> i64 {
        self.id
            .as_deref()
            .and_then(|id| id.parse().ok())
            .expect("an event id that is a number")
    }
}

/// Parse one frame (the text between blank lines) as the SSE spec reads it; `None` for a
/// frame without data (a comment, a `retry:`).
pub fn parse_frame(frame: &str) -> Option<SseEvent> {
    let mut event = SseEvent::default();
    let mut data: Vec<&str> = Vec::new();
    for line in frame.split('\n') {
        if line.is_empty() || line.starts_with(':') {
            continue;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "id" => event.id = Some(value.to_owned()),
            "event" => event.event = value.to_owned(),
            "data" => data.push(value),
            _ => {}
        }
    }
    if data.is_empty() {
        return None;
    }
    if event.event.is_empty() {
        event.event = "message".into();
    }
    event.data = data.join("\n");
    Some(event)
}

/// An open stream.
pub struct SseReader<B> {
    body: Pin<Box<B>>,
    buffer: String,
    /// Everything read so far, frames and comments (a test may look at `retry:`).
    pub raw: String,
}

impl<B: MessageBody> SseReader<B> {
    pub fn new(body: B) -> Self {
        Self {
            body: Box::pin(body),
            buffer: String::new(),
            raw: String::new(),
        }
    }

    /// The next event within `limit`, or `None` if none came (or the stream ended).
    pub async fn next_within(&mut self, limit: Duration) -> Option<SseEvent> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let frame: String = self.buffer.drain(..end + 2).collect();
                if let Some(event) = parse_frame(&frame) {
                    return Some(event);
                }
            }
            let chunk = tokio::time::timeout_at(
                deadline,
                std::future::poll_fn(|cx| self.body.as_mut().poll_next(cx)),
            )
            .await;
            match chunk {
                Ok(Some(Ok(bytes))) => {
                    let text = String::from_utf8_lossy(&bytes).into_owned();
                    self.raw.push_str(&text);
                    self.buffer.push_str(&text);
                }
                Ok(Some(Err(_))) | Ok(None) | Err(_) => return None,
            }
        }
    }

    /// The next event, failing the test if none comes within `limit`.
    pub async fn expect(&mut self, what: &str, limit: Duration) -> SseEvent {
        match self.next_within(limit).await {
            Some(event) => event,
            None => panic!(
                "{what}: no event within {limit:?} (read so far: {:?})",
                self.raw
            ),
        }
    }

    /// Events until one satisfies `wanted` (returned with those before it); fails past `limit`.
    pub async fn until(
        &mut self,
        what: &str,
        limit: Duration,
        wanted: impl Fn(&SseEvent) -> bool,
    ) -> (SseEvent, Vec<SseEvent>) {
        let deadline = tokio::time::Instant::now() + limit;
        let mut before = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let Some(event) = self.next_within(left).await else {
                panic!("{what}: not within {limit:?}; heard {before:?}");
            };
            if wanted(&event) {
                return (event, before);
            }
            before.push(event);
        }
    }
}

#[test]
fn frames_parse_as_the_spec_reads_them() {
    let event = parse_frame("id: 4\nevent: message\ndata: <li>\ndata:  x\ndata: </li>\n\n")
        .expect("an event");
    assert_eq!(event.seq(), 4);
    assert_eq!(event.event, "message");
    assert_eq!(event.data, "<li>\n x\n</li>");
    assert_eq!(parse_frame("retry: 2000\n\n"), None);
    assert_eq!(parse_frame(": heartbeat\n\n"), None);
}
