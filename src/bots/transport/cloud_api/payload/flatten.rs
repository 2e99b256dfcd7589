//! From Meta's nested body to the flat, ordered event list.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::{
    CloudError, CloudEvent, CloudMessage, CloudStatus, Delivery, DeliveryStatus, Location, Media,
    MessageContext, MessageKind, MetaError, SharedContact, SharedPhone, wire,
};

/// The only `field` whose changes carry messages, statuses and errors.
const MESSAGES_FIELD: &str = "messages";
const WHATSAPP_PRODUCT: &str = "whatsapp";

pub(super) fn delivery(body: wire::Body) -> Delivery {
    let mut events = Vec::new();
    let mut skipped_changes = 0;
    let mut skipped_items = 0;
    for change in body.entry.into_iter().flat_map(|entry| entry.changes) {
        let Some((phone_number_id, value)) = routable(change) else {
            skipped_changes += 1;
            continue;
        };
        for raw in &value.messages {
            match message(&phone_number_id, &value.contacts, raw) {
                Some(message) => events.push(CloudEvent::Message(message)),
                None => skipped_items += 1,
            }
        }
        for raw in value.statuses {
            match status(&phone_number_id, raw) {
                Some(status) => events.push(CloudEvent::Status(status)),
                None => skipped_items += 1,
            }
        }
        for raw in value.errors {
            // An error that is not an object still says something went wrong: keep it, empty.
            let error = meta_error(wire::Error::deserialize(&raw).ok());
            events.push(CloudEvent::Error(CloudError {
                phone_number_id: phone_number_id.clone(),
                code: error.code,
                title: error.title,
                message: error.message,
                details: error.details,
            }));
        }
    }
    Delivery {
        events: grouped_by_number(events),
        skipped_changes,
        skipped_items,
    }
}

/// The change's number and value, when it is a WhatsApp `messages` change we can route.
fn routable(change: wire::Change) -> Option<(String, wire::ChangeValue)> {
    if change.field.as_deref() != Some(MESSAGES_FIELD) {
        return None;
    }
    let mut value = change.value?;
    // Absent is fine (a minimal body); another product is not ours.
    if value
        .messaging_product
        .as_deref()
        .is_some_and(|product| product != WHATSAPP_PRODUCT)
    {
        return None;
    }
    let phone_number_id = value.metadata.take()?.phone_number_id?;
    Some((phone_number_id, value))
}

/// Stable grouping: numbers in order of first appearance, each number's events in order.
fn grouped_by_number(events: Vec<CloudEvent>) -> Vec<CloudEvent> {
    let mut numbers: Vec<String> = Vec::new();
    for event in &events {
        let number = phone_number_id(event);
        if !numbers.iter().any(|seen| seen == number) {
            numbers.push(number.to_owned());
        }
    }
    if numbers.len() <= 1 {
        return events;
    }
    let mut keyed: Vec<(usize, CloudEvent)> = events
        .into_iter()
        .map(|event| {
            let rank = numbers
                .iter()
                .position(|number| number == phone_number_id(&event))
                .unwrap_or(numbers.len());
            (rank, event)
        })
        .collect();
    keyed.sort_by_key(|(rank, _)| *rank);
    keyed.into_iter().map(|(_, event)| event).collect()
}

fn phone_number_id(event: &CloudEvent) -> &str {
    match event {
        CloudEvent::Message(message) => &message.phone_number_id,
        CloudEvent::Status(status) => &status.phone_number_id,
        CloudEvent::Error(error) => &error.phone_number_id,
    }
}

/// One message, or `None` when it has no id to store it by.
fn message(phone_number_id: &str, contacts: &[wire::Contact], raw: &Value) -> Option<CloudMessage> {
    let head = wire::MessageHead::deserialize(raw).ok()?;
    let wamid = head.id?;
    let from = head.from.as_deref().and_then(digits);
    let contact = contacts.iter().find(|contact| {
        let same_phone = from.is_some() && contact.wa_id.as_deref().and_then(digits) == from;
        let same_user = head.from_user_id.is_some()
            && contact.user_id.as_deref() == head.from_user_id.as_deref();
        same_phone || same_user
    });
    // One id missing on the message but present on its contact is filled in, so a customer
    // is known by both ids whenever Meta gave both anywhere in the change.
    let from = from.or_else(|| contact?.wa_id.as_deref().and_then(digits));
    let from_user_id = head.from_user_id.or_else(|| contact?.user_id.clone());
    let contact_name = contact
        .and_then(|contact| contact.profile.as_ref())
        .and_then(|profile| profile.name.clone());
    let raw_type = head.kind.unwrap_or_default();
    let error = head
        .errors
        .into_iter()
        .next()
        .map(|error| meta_error(Some(error)));
    let kind = kind(&raw_type, raw).unwrap_or(MessageKind::Unsupported { raw_type, error });
    Some(CloudMessage {
        phone_number_id: phone_number_id.to_owned(),
        wamid,
        from,
        from_user_id,
        contact_name,
        timestamp: head.timestamp.as_deref().and_then(unix_seconds),
        context: head.context.map(|context| MessageContext {
            replied_to: context.id,
            replied_to_from: context.from,
            forwarded: context.forwarded,
            frequently_forwarded: context.frequently_forwarded,
        }),
        kind,
    })
}

/// The content of a message of a type we handle; `None` for any other type, or content that
/// does not have what the type needs (a media without id, a location without coordinates).
fn kind(raw_type: &str, raw: &Value) -> Option<MessageKind> {
    let content = raw.get(raw_type)?;
    let media = || wire::Media::deserialize(content).ok().map(media);
    Some(match raw_type {
        "text" => MessageKind::Text {
            body: wire::Text::deserialize(content)
                .ok()?
                .body
                .unwrap_or_default(),
        },
        "image" => MessageKind::Image(media()?),
        "audio" => MessageKind::Audio(media()?),
        "video" => MessageKind::Video(media()?),
        "document" => MessageKind::Document(media()?),
        "sticker" => MessageKind::Sticker(media()?),
        "location" => {
            let location = wire::Location::deserialize(content).ok()?;
            MessageKind::Location(Location {
                latitude: location.latitude,
                longitude: location.longitude,
                name: location.name,
                address: location.address,
            })
        }
        "contacts" => {
            let cards = Vec::<Value>::deserialize(content).ok()?;
            MessageKind::Contacts(
                cards
                    .iter()
                    .filter_map(|card| wire::ContactCard::deserialize(card).ok())
                    .map(shared_contact)
                    .collect(),
            )
        }
        "reaction" => {
            let reaction = wire::Reaction::deserialize(content).ok()?;
            MessageKind::Reaction {
                message_id: reaction.message_id,
                emoji: reaction.emoji,
            }
        }
        "interactive" => {
            let interactive = wire::Interactive::deserialize(content).ok()?;
            match interactive.kind.as_deref()? {
                "button_reply" => {
                    let reply = interactive.button_reply?;
                    MessageKind::ButtonReply {
                        id: reply.id,
                        title: reply.title.unwrap_or_default(),
                    }
                }
                "list_reply" => {
                    let reply = interactive.list_reply?;
                    MessageKind::ListReply {
                        id: reply.id,
                        title: reply.title.unwrap_or_default(),
                        description: reply.description,
                    }
                }
                _ => return None,
            }
        }
        "button" => {
            let button = wire::Button::deserialize(content).ok()?;
            MessageKind::Button {
                payload: button.payload,
                text: button.text,
            }
        }
        _ => return None,
    })
}

fn media(media: wire::Media) -> Media {
    Media {
        id: media.id,
        mime_type: media.mime_type,
        sha256: media.sha256,
        caption: media.caption,
        filename: media.filename,
        voice: media.voice,
    }
}

fn shared_contact(card: wire::ContactCard) -> SharedContact {
    SharedContact {
        name: card.name.and_then(|name| name.formatted_name),
        phones: card
            .phones
            .into_iter()
            .map(|phone| SharedPhone {
                phone: phone.phone,
                wa_id: phone.wa_id,
                label: phone.label,
            })
            .collect(),
    }
}

/// One status, or `None` when it has no message id to apply to.
fn status(phone_number_id: &str, raw: Value) -> Option<CloudStatus> {
    let status: wire::Status = serde_json::from_value(raw).ok()?;
    Some(CloudStatus {
        phone_number_id: phone_number_id.to_owned(),
        wamid: status.id?,
        status: match status.status.as_deref() {
            Some("sent") => DeliveryStatus::Sent,
            Some("delivered") => DeliveryStatus::Delivered,
            Some("read") => DeliveryStatus::Read,
            Some("failed") => DeliveryStatus::Failed,
            other => DeliveryStatus::Other(other.unwrap_or_default().to_owned()),
        },
        recipient_id: status.recipient_id.as_deref().and_then(digits),
        recipient_user_id: status.recipient_user_id,
        timestamp: status.timestamp.as_deref().and_then(unix_seconds),
        errors: status
            .errors
            .into_iter()
            .map(|error| meta_error(Some(error)))
            .collect(),
        conversation_category: status
            .conversation
            .and_then(|conversation| conversation.origin)
            .and_then(|origin| origin.kind),
        pricing_category: status.pricing.and_then(|pricing| pricing.category),
    })
}

fn meta_error(error: Option<wire::Error>) -> MetaError {
    let Some(error) = error else {
        return MetaError::default();
    };
    MetaError {
        code: error.code,
        title: error.title,
        message: error.message,
        details: error.error_data.and_then(|data| data.details),
    }
}

/// A phone number as digits only (`+1 555-0100` → `15550100`); `None` when none are left.
fn digits(phone: &str) -> Option<String> {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    (!digits.is_empty()).then_some(digits)
}

/// Meta's timestamps: unix seconds, as a string.
fn unix_seconds(text: &str) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(text.trim().parse().ok()?, 0)
}
