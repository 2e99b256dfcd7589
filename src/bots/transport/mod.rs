//! Transports turn the outside world into events for a bot task and carry its replies out.
//!
//! `sandbox` is the built-in phone simulator (the embedded default); `web` is WhatsApp Web
//! multi-device through whatsapp-rust; `cloud_api` is Meta's WhatsApp Cloud API (webhooks in,
//! the Graph API out).

pub mod cloud_api;
pub mod sandbox;
pub mod whatsapp_web;

use std::borrow::Cow;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;

use super::messages::MessageStatus;
use crate::validation::without_control_chars;

/// A message received by the bot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundMessage {
    /// WhatsApp's id for it; a redelivery carries the same id.
    pub id: String,
    /// The sender's number, digits only with country code.
    pub from: String,
    /// The sender's display name, when known.
    pub from_name: Option<String>,
    /// What the router reads: the text, a caption, the title of a tapped button.
    pub text: String,
    /// What it is beyond its text; text-only transports leave the default.
    pub extras: InboundExtras,
}

/// What a message is beyond its text (the Cloud API's many kinds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundExtras {
    /// `text`, `image`, `location`, `reaction`… as stored in `messages.kind`.
    pub kind: &'static str,
    /// The kind's fields as JSON (a location's coordinates, a reaction's emoji…).
    pub details: Option<String>,
    /// WhatsApp's id of the message this one replies to.
    pub reply_to: Option<String>,
    /// Meta's business-scoped id of the sender, kept beside (or instead of) the number.
    pub user_id: Option<String>,
    /// A file to fetch from the provider after the message is stored.
    pub media: Option<InboundMedia>,
    /// Whether the bot may answer it (a reaction is not answered).
    pub answerable: bool,
}

impl Default for InboundExtras {
    fn default() -> Self {
        Self {
            kind: "text",
            details: None,
            reply_to: None,
            user_id: None,
            media: None,
            answerable: true,
        }
    }
}

/// A file someone sent, known by the provider's id until it is downloaded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InboundMedia {
    pub provider_id: String,
    pub mime_type: Option<String>,
    pub sha256: Option<String>,
    pub filename: Option<String>,
}

impl InboundMessage {
    /// A plain text message.
    pub fn text(id: &str, from: &str, from_name: Option<&str>, text: &str) -> Self {
        Self {
            id: id.to_owned(),
            from: from.to_owned(),
            from_name: from_name.map(str::to_owned),
            text: text.to_owned(),
            extras: InboundExtras::default(),
        }
    }

    /// The message with control characters dropped from its text and sender name: no content
    /// may fail the database write, and with it the bot's task.
    pub fn cleaned(mut self) -> Self {
        if let Cow::Owned(text) = without_control_chars(&self.text) {
            self.text = text;
        }
        if let Some(Cow::Owned(name)) = self.from_name.as_deref().map(without_control_chars) {
            self.from_name = Some(name);
        }
        self
    }
}

/// How far an outbound message got. Statuses only move forward (sent < delivered < read);
/// `Failed` ends the story and keeps the provider's error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Sent,
    Delivered,
    Read,
    Failed {
        code: Option<i64>,
        title: Option<String>,
    },
}

impl Delivery {
    /// The message status it records.
    pub fn status(&self) -> MessageStatus {
        match self {
            Self::Sent => MessageStatus::Sent,
            Self::Delivered => MessageStatus::Delivered,
            Self::Read => MessageStatus::Read,
            Self::Failed { .. } => MessageStatus::Failed,
        }
    }

    /// The stored statuses this one replaces: the ones before it.
    pub fn replaces(&self) -> &'static [MessageStatus] {
        match self {
            Self::Sent => &[],
            Self::Delivered => &[MessageStatus::Sent],
            Self::Read => &[MessageStatus::Sent, MessageStatus::Delivered],
            Self::Failed { .. } => &[
                MessageStatus::Sent,
                MessageStatus::Delivered,
                MessageStatus::Read,
            ],
        }
    }
}

/// The answer a transport waits for before acknowledging a message to WhatsApp: whether the
/// bot task stored it. Cloning shares the one answer.
#[derive(Debug, Clone)]
pub struct StoredAnswer(Arc<Mutex<Option<oneshot::Sender<bool>>>>);

impl StoredAnswer {
    /// A new answer and the receiver the transport awaits.
    pub fn new() -> (Self, oneshot::Receiver<bool>) {
        let (tx, rx) = oneshot::channel();
        (Self(Arc::new(Mutex::new(Some(tx)))), rx)
    }

    /// Answer (only the first answer counts).
    pub fn send(&self, stored: bool) {
        let sender = self.0.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(sender) = sender {
            let _ = sender.send(stored);
        }
    }
}

impl PartialEq for StoredAnswer {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for StoredAnswer {}

/// What a transport tells its bot task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportEvent {
    /// A QR payload to show; replaced by the next one after `valid_for`.
    Qr {
        payload: String,
        valid_for: Duration,
    },
    /// An 8-character code to type on the phone (linking by phone number).
    PairCode {
        code: String,
        valid_for: Duration,
    },
    /// A phone scanned the code: its number owns the bot now.
    Paired {
        owner_number: String,
    },
    /// Online.
    Connected,
    Message(InboundMessage),
    /// A message the transport acknowledges to WhatsApp only once `stored` answers `true`.
    MessageToStore {
        message: InboundMessage,
        stored: StoredAnswer,
    },
    Receipt {
        message_id: String,
        delivery: Delivery,
        /// The recipient's business-scoped user id, when the provider names it (Meta's
        /// `recipient_user_id`): kept with the message beside the number.
        recipient_user_id: Option<String>,
    },
    /// Connection lost; the supervisor restarts the transport.
    Disconnected {
        reason: String,
    },
    /// Connection lost; the transport reconnects by itself.
    Reconnecting {
        reason: String,
    },
    /// The phone removed the linked device.
    LoggedOut,
    /// Several events that arrived together (one webhook delivery), handled in order;
    /// `done` answers `true` once all of them are stored, and the transport lets go of the
    /// delivery only then.
    Batch {
        events: Vec<TransportEvent>,
        done: StoredAnswer,
    },
    /// The provider reported a problem that concerns no one message (Meta's `errors`).
    ProviderError {
        code: Option<i64>,
        detail: String,
    },
}

/// Why sending failed, and what the sender should do about it.
#[derive(Debug, thiserror::Error)]
#[error("send failed: {reason}")]
pub struct SendError {
    pub reason: String,
    pub action: SendAction,
}

/// What to do after a failed send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendAction {
    /// Try again later, backing off.
    Retry,
    /// Try again, not before `after`: this recipient (`whole_number: false`) or everyone
    /// (the number sends too fast) must wait.
    Wait {
        after: std::time::Duration,
        whole_number: bool,
    },
    /// It will never go: give the message up and record why.
    GiveUp { code: Option<i64>, title: String },
    /// The bot's credentials are refused: stop sending until they are renewed.
    StopBot,
}

impl SendError {
    /// A failure worth retrying with backoff.
    pub fn retry(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            action: SendAction::Retry,
        }
    }
}

/// A connected transport.
pub enum Transport {
    Sandbox(sandbox::SandboxTransport),
    WhatsappWeb(whatsapp_web::WebTransport),
    Cloud(cloud_api::CloudTransport),
}

impl Transport {
    /// Send a queued message; returns WhatsApp's id for it. Transports that send text only
    /// send `body`; the Cloud API sends `content` when there is one.
    pub async fn send(&self, message: &OutgoingMessage<'_>) -> Result<String, SendError> {
        match self {
            Self::Sandbox(t) => t.send_text(message.to, message.body).await,
            Self::WhatsappWeb(t) => t.send_text(message.to, message.body).await,
            Self::Cloud(t) => t.send(message).await,
        }
    }

    /// A phone paired: stop showing QR codes.
    pub fn paired(&self) {
        match self {
            Self::Sandbox(t) => t.paired(),
            // The client stops issuing codes by itself; the Cloud API has none.
            Self::WhatsappWeb(_) | Self::Cloud(_) => {}
        }
    }

    /// Close the connection (the bot is stopping).
    pub async fn close(&self) {
        match self {
            Self::Sandbox(t) => t.close().await,
            Self::WhatsappWeb(t) => t.close().await,
            Self::Cloud(t) => t.close(),
        }
    }

    /// Unlink from the phone and forget the session (the bot is being unpaired).
    pub async fn logout(&self) {
        match self {
            Self::Sandbox(t) => t.close().await,
            Self::WhatsappWeb(t) => t.logout().await,
            Self::Cloud(t) => t.close(),
        }
    }

    /// The phone unlinked us: forget the session so the next start asks for a new scan.
    pub async fn forget_session(&self) {
        match self {
            Self::Sandbox(_) | Self::Cloud(_) => {}
            Self::WhatsappWeb(t) => t.forget_session().await,
        }
    }

    /// Ask for a code to link by phone number, where the transport supports it.
    pub async fn request_pair_code(&self, phone_number: &str) -> Result<String, String> {
        match self {
            Self::Sandbox(_) => Err("the sandbox pairs by its QR code only".into()),
            Self::WhatsappWeb(t) => t.request_pair_code(phone_number).await,
            Self::Cloud(_) => Err("a Cloud API number is connected with its access token".into()),
        }
    }
}

/// A queued message on its way out.
#[derive(Debug, Clone, Copy)]
pub struct OutgoingMessage<'a> {
    pub to: &'a str,
    /// The text, or a text rendering of `content`.
    pub body: &'a str,
    /// A message that is more than text, as JSON (the Cloud API's message body).
    pub content: Option<&'a str>,
}
