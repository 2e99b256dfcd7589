//! A customer's Cloud API message as the pipeline takes it: the text the router reads (the
//! text, a caption, a tapped button's title), the kind and its fields for the record, and the
//! media to fetch afterwards.

use serde_json::{Value, json};

use super::payload::{CloudMessage, Media, MessageKind};
use crate::bots::transport::{InboundExtras, InboundMedia, InboundMessage};

/// The pipeline's message for `message`.
pub fn to_inbound(message: CloudMessage) -> InboundMessage {
    // Meta sends the number, the business-scoped user id, or both; the contact is found by
    // either, and the number is preferred as the address to answer.
    let from = message
        .from
        .clone()
        .or_else(|| message.from_user_id.clone())
        .unwrap_or_default();
    let reply_to = message.context.as_ref().and_then(|c| c.replied_to.clone());
    let read = read_kind(message.kind);
    InboundMessage {
        id: message.wamid,
        from,
        from_name: message.contact_name,
        text: read.text,
        extras: InboundExtras {
            kind: read.kind,
            details: read.details.map(|d| d.to_string()),
            reply_to: read.reply_to.or(reply_to),
            user_id: message.from_user_id,
            media: read.media,
            answerable: read.answerable,
        },
    }
}

/// What one kind of message amounts to.
struct Read {
    kind: &'static str,
    text: String,
    details: Option<Value>,
    media: Option<InboundMedia>,
    reply_to: Option<String>,
    answerable: bool,
}

impl Read {
    fn new(kind: &'static str, text: impl Into<String>, details: Value) -> Self {
        Self {
            kind,
            text: text.into(),
            details: Some(details),
            media: None,
            reply_to: None,
            answerable: true,
        }
    }
}

fn read_kind(kind: MessageKind) -> Read {
    match kind {
        MessageKind::Text { body } => Read {
            details: None,
            ..Read::new("text", body, Value::Null)
        },
        MessageKind::Image(media) => read_media("image", media),
        MessageKind::Audio(media) => read_media("audio", media),
        MessageKind::Video(media) => read_media("video", media),
        MessageKind::Document(media) => read_media("document", media),
        MessageKind::Sticker(media) => read_media("sticker", media),
        MessageKind::Location(place) => {
            let text = place
                .name
                .clone()
                .or(place.address.clone())
                .unwrap_or_default();
            let details = json!({
                "latitude": place.latitude,
                "longitude": place.longitude,
                "name": place.name,
                "address": place.address,
            });
            Read::new("location", text, details)
        }
        MessageKind::Contacts(cards) => {
            let cards: Vec<Value> = cards
                .iter()
                .map(|card| {
                    let phones: Vec<Value> = card
                        .phones
                        .iter()
                        .map(|p| json!({"phone": p.phone, "wa_id": p.wa_id, "label": p.label}))
                        .collect();
                    json!({"name": card.name, "phones": phones})
                })
                .collect();
            let text = cards
                .first()
                .and_then(|c| c["name"].as_str())
                .unwrap_or_default()
                .to_owned();
            Read::new("contacts", text, json!({ "contacts": cards }))
        }
        MessageKind::Reaction { message_id, emoji } => Read {
            reply_to: Some(message_id.clone()),
            // A reaction is kept, never answered.
            answerable: false,
            ..Read::new(
                "reaction",
                emoji.clone().unwrap_or_default(),
                json!({"message_id": message_id, "emoji": emoji}),
            )
        },
        MessageKind::ButtonReply { id, title } => Read::new(
            "interactive",
            title.clone(),
            json!({"reply": "button", "id": id, "title": title}),
        ),
        MessageKind::ListReply {
            id,
            title,
            description,
        } => Read::new(
            "interactive",
            title.clone(),
            json!({"reply": "list", "id": id, "title": title, "description": description}),
        ),
        MessageKind::Button { payload, text } => Read::new(
            "button",
            text.clone().or(payload.clone()).unwrap_or_default(),
            json!({"payload": payload, "text": text}),
        ),
        MessageKind::Unsupported { raw_type, error } => Read {
            // Nothing the router could read: kept for the team, not answered.
            answerable: false,
            ..Read::new(
                "unsupported",
                "",
                json!({
                    "type": raw_type,
                    "error_code": error.as_ref().and_then(|e| e.code),
                    "error_title": error.as_ref().and_then(|e| e.title.clone()),
                }),
            )
        },
    }
}

fn read_media(kind: &'static str, media: Media) -> Read {
    let details = json!({
        "media_id": media.id,
        "mime_type": media.mime_type,
        "sha256": media.sha256,
        "caption": media.caption,
        "filename": media.filename,
        "voice": media.voice,
    });
    Read {
        media: Some(InboundMedia {
            provider_id: media.id,
            mime_type: media.mime_type,
            sha256: media.sha256,
            filename: media.filename,
        }),
        ..Read::new(kind, media.caption.unwrap_or_default(), details)
    }
}
