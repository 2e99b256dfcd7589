//! Transports turn the outside world into events for a bot task and carry its replies out.
//!
//! `sandbox` is the built-in phone simulator (the embedded default); `web` is WhatsApp Web
//! multi-device through whatsapp-rust; `cloud_api` is Meta's WhatsApp Cloud API (being built:
//! its webhook payloads, signatures and Graph API client come first).

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
    pub text: String,
}

impl InboundMessage {
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

/// How far an outbound message got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Delivered,
    Read,
}

impl Delivery {
    /// The message status it records.
    pub fn status(self) -> MessageStatus {
        match self {
            Self::Delivered => MessageStatus::Delivered,
            Self::Read => MessageStatus::Read,
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
}

/// Why sending failed.
#[derive(Debug, thiserror::Error)]
#[error("send failed: {0}")]
pub struct SendError(pub String);

/// A connected transport.
pub enum Transport {
    Sandbox(sandbox::SandboxTransport),
    WhatsappWeb(whatsapp_web::WebTransport),
}

impl Transport {
    /// Send a text to `to`; returns WhatsApp's id for the sent message.
    pub async fn send_text(&self, to: &str, text: &str) -> Result<String, SendError> {
        match self {
            Self::Sandbox(t) => t.send_text(to, text).await,
            Self::WhatsappWeb(t) => t.send_text(to, text).await,
        }
    }

    /// A phone paired: stop showing QR codes.
    pub fn paired(&self) {
        match self {
            Self::Sandbox(t) => t.paired(),
            // The client stops issuing codes by itself.
            Self::WhatsappWeb(_) => {}
        }
    }

    /// Close the connection (the bot is stopping).
    pub async fn close(&self) {
        match self {
            Self::Sandbox(t) => t.close().await,
            Self::WhatsappWeb(t) => t.close().await,
        }
    }

    /// Unlink from the phone and forget the session (the bot is being unpaired).
    pub async fn logout(&self) {
        match self {
            Self::Sandbox(t) => t.close().await,
            Self::WhatsappWeb(t) => t.logout().await,
        }
    }

    /// The phone unlinked us: forget the session so the next start asks for a new scan.
    pub async fn forget_session(&self) {
        match self {
            Self::Sandbox(_) => {}
            Self::WhatsappWeb(t) => t.forget_session().await,
        }
    }

    /// Ask for a code to link by phone number, where the transport supports it.
    pub async fn request_pair_code(&self, phone_number: &str) -> Result<String, String> {
        match self {
            Self::Sandbox(_) => Err("the sandbox pairs by its QR code only".into()),
            Self::WhatsappWeb(t) => t.request_pair_code(phone_number).await,
        }
    }
}
