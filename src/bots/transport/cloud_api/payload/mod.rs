//! Meta's webhook bodies, read leniently into a flat list of events.
//!
//! Meta adds fields and message types without notice, so nothing here fails a delivery for
//! what it does not know: unknown fields are ignored, an unknown or malformed message becomes
//! [`MessageKind::Unsupported`], and a change about anything but `messages` is skipped and
//! counted. Only a body that is not a WhatsApp delivery at all is an error.
//!
//! The entry point is [`events`]; [`StatusRank`] lets later code move statuses only forward.

mod flatten;
mod rank;
mod wire;

#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};

pub use rank::StatusRank;

/// What one webhook delivery said, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// Every message, status and error, grouped by `phone_number_id` (numbers in the order they
    /// first appear) and in Meta's order within a number, so messages are answered in order.
    pub events: Vec<CloudEvent>,
    /// Changes left out: a `field` other than `messages`, another messaging product, or no
    /// `phone_number_id` to route by. Worth a log line, never a refusal.
    pub skipped_changes: usize,
    /// Messages or statuses left out because they have no id (`wamid`) to store them by.
    pub skipped_items: usize,
}

/// One thing Meta told us about one of the business's phone numbers.
#[derive(Debug, Clone, PartialEq)]
pub enum CloudEvent {
    /// A customer wrote to the business.
    Message(CloudMessage),
    /// A message the business sent moved on (sent, delivered, read, failed).
    Status(CloudStatus),
    /// An `errors`-only change: Meta could not deliver something to us.
    Error(CloudError),
}

/// A customer's message.
#[derive(Debug, Clone, PartialEq)]
pub struct CloudMessage {
    /// The business number the message was sent to.
    pub phone_number_id: String,
    /// Meta's message id (`wamid.…`), unique per message: redeliveries repeat it.
    pub wamid: String,
    /// The sender's phone number, digits only. Absent when the customer hides their number
    /// behind a username; then `from_user_id` identifies them.
    pub from: Option<String>,
    /// Meta's business-scoped user id for the sender (added in 2026), from the message or its
    /// contact; present with or without `from`.
    pub from_user_id: Option<String>,
    /// The sender's WhatsApp profile name, when Meta sent their contact.
    pub contact_name: Option<String>,
    /// When the customer sent it; absent when Meta's timestamp is missing or unreadable.
    pub timestamp: Option<DateTime<Utc>>,
    /// Reply and forwarding details, when the message has a `context`.
    pub context: Option<MessageContext>,
    /// What the message holds.
    pub kind: MessageKind,
}

/// A message's `context`: what it replies to and whether it was forwarded.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MessageContext {
    /// The `wamid` of the message replied to.
    pub replied_to: Option<String>,
    /// Who sent the message replied to (the business's number for replies to us).
    pub replied_to_from: Option<String>,
    /// Forwarded (up to five times).
    pub forwarded: bool,
    /// Forwarded more than five times.
    pub frequently_forwarded: bool,
}

/// What a customer's message holds.
#[derive(Debug, Clone, PartialEq)]
pub enum MessageKind {
    /// Plain text.
    Text { body: String },
    /// A photo.
    Image(Media),
    /// A sound file or a voice note (`Media::voice`).
    Audio(Media),
    /// A video.
    Video(Media),
    /// A file, usually with its `filename`.
    Document(Media),
    /// A sticker.
    Sticker(Media),
    /// A shared location.
    Location(Location),
    /// One or more shared contact cards.
    Contacts(Vec<SharedContact>),
    /// A reaction to one of our messages; `emoji` is `None` when the reaction was removed.
    Reaction {
        message_id: String,
        emoji: Option<String>,
    },
    /// A tapped reply button of an interactive message.
    ButtonReply { id: String, title: String },
    /// A chosen row of an interactive list.
    ListReply {
        id: String,
        title: String,
        description: Option<String>,
    },
    /// A tapped quick-reply button of a template (Meta's older `button` type).
    Button {
        payload: Option<String>,
        text: Option<String>,
    },
    /// A type we do not handle (`raw_type` says which), Meta's own `unsupported`, or a known
    /// type whose content could not be read. Carries Meta's error when it sent one.
    Unsupported {
        raw_type: String,
        error: Option<MetaError>,
    },
}

/// Inbound media: fetched later from the Graph API by `id`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Media {
    /// The media id to download it with.
    pub id: String,
    pub mime_type: Option<String>,
    /// Meta's SHA-256 of the file, to check the download against.
    pub sha256: Option<String>,
    pub caption: Option<String>,
    /// A document's file name.
    pub filename: Option<String>,
    /// An audio message recorded as a voice note.
    pub voice: bool,
}

/// A shared location.
#[derive(Debug, Clone, PartialEq)]
pub struct Location {
    pub latitude: f64,
    pub longitude: f64,
    pub name: Option<String>,
    pub address: Option<String>,
}

/// One shared contact card.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SharedContact {
    /// The card's formatted name.
    pub name: Option<String>,
    pub phones: Vec<SharedPhone>,
}

/// One phone number on a shared contact card.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SharedPhone {
    /// The number as the customer's address book has it.
    pub phone: Option<String>,
    /// Its WhatsApp id, when the number is on WhatsApp.
    pub wa_id: Option<String>,
    /// `CELL`, `HOME`, `WORK`…
    pub label: Option<String>,
}

/// A status of a message the business sent.
#[derive(Debug, Clone, PartialEq)]
pub struct CloudStatus {
    /// The business number that sent the message.
    pub phone_number_id: String,
    /// The `wamid` of the message the status is about.
    pub wamid: String,
    pub status: DeliveryStatus,
    /// The customer's phone number, digits only.
    pub recipient_id: Option<String>,
    /// The customer's business-scoped user id (added in 2026).
    pub recipient_user_id: Option<String>,
    pub timestamp: Option<DateTime<Utc>>,
    /// Why a `failed` message failed (e.g. 131047: the 24-hour window is closed).
    pub errors: Vec<MetaError>,
    /// The conversation's origin type (`service`, `marketing`…), when Meta sent it.
    pub conversation_category: Option<String>,
    /// The pricing category, when Meta sent it.
    pub pricing_category: Option<String>,
}

/// Where a sent message got to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryStatus {
    Sent,
    Delivered,
    Read,
    Failed,
    /// A status we do not track (`played`, `deleted`…), kept by name.
    Other(String),
}

/// An `errors`-only change: Meta reporting a problem with the webhook or the number.
#[derive(Debug, Clone, PartialEq)]
pub struct CloudError {
    pub phone_number_id: String,
    pub code: Option<i64>,
    pub title: Option<String>,
    pub message: Option<String>,
    pub details: Option<String>,
}

/// One of Meta's error objects.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetaError {
    pub code: Option<i64>,
    pub title: Option<String>,
    pub message: Option<String>,
    pub details: Option<String>,
}

/// Why a body is not a delivery we can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// Not a JSON object.
    #[error("the body is not a JSON object")]
    NotJson,
    /// JSON, but `object` is not `whatsapp_business_account` (or missing).
    #[error("the body is not a WhatsApp Business Account webhook (object: {object:?})")]
    NotWhatsApp { object: Option<String> },
}

/// Reads a webhook body (the raw bytes, already verified) into its events.
pub fn events(raw: &[u8]) -> Result<Delivery, PayloadError> {
    let value: serde_json::Value =
        serde_json::from_slice(raw).map_err(|_| PayloadError::NotJson)?;
    if !value.is_object() {
        return Err(PayloadError::NotJson);
    }
    let body: wire::Body = serde_json::from_value(value).map_err(|_| PayloadError::NotJson)?;
    if body.object.as_deref() != Some(WHATSAPP_OBJECT) {
        return Err(PayloadError::NotWhatsApp {
            object: body.object,
        });
    }
    Ok(flatten::delivery(body))
}

/// The `object` of every WhatsApp Business Account webhook.
const WHATSAPP_OBJECT: &str = "whatsapp_business_account";
