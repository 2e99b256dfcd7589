//! Meta's webhook body as serde types, every field lenient: a field of the wrong shape reads as
//! absent instead of failing the delivery. Messages, statuses and errors stay raw JSON here so
//! one odd item is read on its own (`flatten`) and never takes its neighbours down with it.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// The whole body: `{"object": "whatsapp_business_account", "entry": [...]}`.
#[derive(Debug, Deserialize)]
pub(super) struct Body {
    #[serde(default, deserialize_with = "lenient_string")]
    pub object: Option<String>,
    #[serde(default, deserialize_with = "lenient_list")]
    pub entry: Vec<Entry>,
}

/// One business account's part of the delivery.
#[derive(Debug, Deserialize)]
pub(super) struct Entry {
    /// The WhatsApp Business Account id; kept for the log, routing goes by phone number id.
    #[serde(default, deserialize_with = "lenient_string")]
    #[allow(dead_code)]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "lenient_list")]
    pub changes: Vec<Change>,
}

/// One change: `field` says what it is about; only `messages` carries what we handle.
#[derive(Debug, Deserialize)]
pub(super) struct Change {
    #[serde(default, deserialize_with = "lenient_string")]
    pub field: Option<String>,
    #[serde(default, deserialize_with = "lenient_value")]
    pub value: Option<ChangeValue>,
}

/// The `value` of a `messages` change.
#[derive(Debug, Deserialize)]
pub(super) struct ChangeValue {
    #[serde(default, deserialize_with = "lenient_string")]
    pub messaging_product: Option<String>,
    #[serde(default, deserialize_with = "lenient_value")]
    pub metadata: Option<Metadata>,
    #[serde(default, deserialize_with = "lenient_list")]
    pub contacts: Vec<Contact>,
    #[serde(default, deserialize_with = "lenient_list")]
    pub messages: Vec<Value>,
    #[serde(default, deserialize_with = "lenient_list")]
    pub statuses: Vec<Value>,
    #[serde(default, deserialize_with = "lenient_list")]
    pub errors: Vec<Value>,
}

/// Which of the business's numbers the change is for.
#[derive(Debug, Deserialize)]
pub(super) struct Metadata {
    #[serde(default, deserialize_with = "lenient_string")]
    #[allow(dead_code)]
    pub display_phone_number: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub phone_number_id: Option<String>,
}

/// The sender as Meta knows them: phone (`wa_id`), business-scoped id (`user_id`), name.
#[derive(Debug, Deserialize)]
pub(super) struct Contact {
    #[serde(default, deserialize_with = "lenient_value")]
    pub profile: Option<Profile>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub wa_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub user_id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Profile {
    #[serde(default, deserialize_with = "lenient_string")]
    pub name: Option<String>,
}

/// What every message has, whatever its type.
#[derive(Debug, Deserialize)]
pub(super) struct MessageHead {
    #[serde(default, deserialize_with = "lenient_string")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub from: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub from_user_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub timestamp: Option<String>,
    #[serde(default, rename = "type", deserialize_with = "lenient_string")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "lenient_value")]
    pub context: Option<Context>,
    #[serde(default, deserialize_with = "lenient_list")]
    pub errors: Vec<Error>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Context {
    #[serde(default, deserialize_with = "lenient_string")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub from: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub forwarded: bool,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub frequently_forwarded: bool,
}

#[derive(Debug, Deserialize)]
pub(super) struct Text {
    #[serde(default, deserialize_with = "lenient_string")]
    pub body: Option<String>,
}

/// image, audio, video, document and sticker share this shape.
#[derive(Debug, Deserialize)]
pub(super) struct Media {
    pub id: String,
    #[serde(default, deserialize_with = "lenient_string")]
    pub mime_type: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub sha256: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub caption: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub filename: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub voice: bool,
}

#[derive(Debug, Deserialize)]
pub(super) struct Location {
    pub latitude: f64,
    pub longitude: f64,
    #[serde(default, deserialize_with = "lenient_string")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub address: Option<String>,
}

/// One card of a `contacts` message.
#[derive(Debug, Deserialize)]
pub(super) struct ContactCard {
    #[serde(default, deserialize_with = "lenient_value")]
    pub name: Option<CardName>,
    #[serde(default, deserialize_with = "lenient_list")]
    pub phones: Vec<CardPhone>,
}

#[derive(Debug, Deserialize)]
pub(super) struct CardName {
    #[serde(default, deserialize_with = "lenient_string")]
    pub formatted_name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct CardPhone {
    #[serde(default, deserialize_with = "lenient_string")]
    pub phone: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub wa_id: Option<String>,
    #[serde(default, rename = "type", deserialize_with = "lenient_string")]
    pub label: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Reaction {
    pub message_id: String,
    #[serde(default, deserialize_with = "lenient_string")]
    pub emoji: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Interactive {
    #[serde(default, rename = "type", deserialize_with = "lenient_string")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "lenient_value")]
    pub button_reply: Option<Reply>,
    #[serde(default, deserialize_with = "lenient_value")]
    pub list_reply: Option<Reply>,
}

/// A tapped reply button or list row.
#[derive(Debug, Deserialize)]
pub(super) struct Reply {
    pub id: String,
    #[serde(default, deserialize_with = "lenient_string")]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub description: Option<String>,
}

/// The legacy quick-reply button of a template.
#[derive(Debug, Deserialize)]
pub(super) struct Button {
    #[serde(default, deserialize_with = "lenient_string")]
    pub payload: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub text: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Status {
    #[serde(default, deserialize_with = "lenient_string")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub timestamp: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub recipient_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub recipient_user_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_value")]
    pub conversation: Option<Conversation>,
    #[serde(default, deserialize_with = "lenient_value")]
    pub pricing: Option<Pricing>,
    #[serde(default, deserialize_with = "lenient_list")]
    pub errors: Vec<Error>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Conversation {
    #[serde(default, deserialize_with = "lenient_value")]
    pub origin: Option<Origin>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Origin {
    #[serde(default, rename = "type", deserialize_with = "lenient_string")]
    pub kind: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Pricing {
    #[serde(default, deserialize_with = "lenient_string")]
    pub category: Option<String>,
}

/// Meta's error object, in statuses, unsupported messages and errors-only changes.
#[derive(Debug, Deserialize)]
pub(super) struct Error {
    #[serde(default, deserialize_with = "lenient_i64")]
    pub code: Option<i64>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub message: Option<String>,
    #[serde(default, deserialize_with = "lenient_value")]
    pub error_data: Option<ErrorData>,
}

#[derive(Debug, Deserialize)]
pub(super) struct ErrorData {
    #[serde(default, deserialize_with = "lenient_string")]
    pub details: Option<String>,
}

/// A string, or a number written as one (Meta's timestamps and ids are strings, but a number
/// must not fail the delivery); anything else, and an empty string, reads as absent.
fn lenient_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::String(text) if !text.is_empty() => Some(text),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    })
}

fn lenient_i64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::Number(number) => number.as_i64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    })
}

fn lenient_bool<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    Ok(matches!(
        Value::deserialize(deserializer)?,
        Value::Bool(true)
    ))
}

/// An object of the expected shape, or absent.
fn lenient_value<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    Ok(serde_json::from_value(Value::deserialize(deserializer)?).ok())
}

/// A list whose items of the wrong shape are left out; not a list at all reads as empty.
fn lenient_list<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    Ok(match Value::deserialize(deserializer)? {
        Value::Array(items) => items
            .into_iter()
            .filter_map(|item| serde_json::from_value(item).ok())
            .collect(),
        _ => Vec::new(),
    })
}
