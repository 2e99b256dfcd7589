//! Transports turn the outside world into events for a bot task and carry its replies out.
//!
//! `sandbox` is the built-in phone simulator (the embedded default). The WhatsApp Web
//! transport (whatsapp-rust) and the Cloud API transport plug in as further variants.

pub mod sandbox;

use std::time::Duration;

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

/// How far an outbound message got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Delivered,
    Read,
}

impl Delivery {
    /// The stored message status.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Read => "read",
        }
    }
}

/// What a transport tells its bot task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportEvent {
    /// A QR payload to show; replaced by the next one after `valid_for`.
    Qr {
        payload: String,
        valid_for: Duration,
    },
    /// A phone scanned the code: its number owns the bot now.
    Paired {
        owner_number: String,
    },
    /// Online.
    Connected,
    Message(InboundMessage),
    Receipt {
        message_id: String,
        delivery: Delivery,
    },
    /// Connection lost; the transport (or the supervisor) will try again.
    Disconnected {
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
}

impl Transport {
    /// Send a text to `to`; returns WhatsApp's id for the sent message.
    pub async fn send_text(&self, to: &str, text: &str) -> Result<String, SendError> {
        match self {
            Self::Sandbox(t) => t.send_text(to, text).await,
        }
    }

    /// A phone paired: stop showing QR codes.
    pub fn paired(&self) {
        match self {
            Self::Sandbox(t) => t.paired(),
        }
    }

    /// Close the connection (the bot is stopping).
    pub async fn close(&self) {
        match self {
            Self::Sandbox(t) => t.close().await,
        }
    }
}
