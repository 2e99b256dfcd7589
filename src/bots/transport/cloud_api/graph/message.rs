//! An outgoing Cloud API message, checked against Meta's documented limits and written as the
//! JSON body of `POST /{version}/{phone-number-id}/messages`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::GraphError;

/// Meta's limits, in characters.
const TEXT_MAX: usize = 4096;
const CAPTION_MAX: usize = 1024;
const BUTTONS_BODY_MAX: usize = 1024;
const LIST_BODY_MAX: usize = 4096;
const HEADER_FOOTER_MAX: usize = 60;
const BUTTON_TITLE_MAX: usize = 20;
const BUTTON_ID_MAX: usize = 256;
const BUTTONS_MAX: usize = 3;
const LIST_BUTTON_MAX: usize = 20;
const LIST_SECTIONS_MAX: usize = 10;
const LIST_ROWS_MAX: usize = 10;
const ROW_TITLE_MAX: usize = 24;
const ROW_ID_MAX: usize = 200;
const ROW_DESCRIPTION_MAX: usize = 72;
const SECTION_TITLE_MAX: usize = 24;

/// One message to one WhatsApp user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingCloudMessage {
    /// The recipient's WhatsApp id or phone number (digits, optionally with a leading `+`).
    pub to: String,
    pub body: CloudBody,
}

/// What the message carries. Serialised (tagged by `type`) when it waits in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CloudBody {
    /// Plain text; `preview_url` lets WhatsApp render a preview of the first link.
    Text { body: String, preview_url: bool },
    /// An image, audio, video or document. Captions fit image, video and document; a file
    /// name fits a document only.
    Media {
        kind: MediaKind,
        source: MediaSource,
        caption: Option<String>,
        filename: Option<String>,
    },
    /// Up to three reply buttons under a text.
    Buttons {
        header: Option<String>,
        body: String,
        footer: Option<String>,
        buttons: Vec<ReplyButton>,
    },
    /// A list opened by `button`, with up to ten rows across its sections.
    List {
        header: Option<String>,
        body: String,
        footer: Option<String>,
        button: String,
        sections: Vec<ListSection>,
    },
    /// A reaction to an earlier message; an empty emoji removes it.
    Reaction { message_id: String, emoji: String },
    /// An approved template, the only thing that may open a conversation.
    Template {
        name: String,
        language: String,
        components: Vec<TemplateComponent>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    Image,
    Audio,
    Video,
    Document,
}

impl MediaKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Image => "image",
            Self::Audio => "audio",
            Self::Video => "video",
            Self::Document => "document",
        }
    }
}

/// Media uploaded to Meta (its id) or fetched by Meta from a public URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaSource {
    Id(String),
    Link(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyButton {
    pub id: String,
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListSection {
    /// Required when there is more than one section.
    pub title: Option<String>,
    pub rows: Vec<ListRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListRow {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
}

/// The parameters for one part of a template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TemplateComponent {
    Header(Vec<TemplateParameter>),
    Body(Vec<TemplateParameter>),
    /// The button at `index` (0-based); `sub_type` is `quick_reply` or `url`.
    Button {
        sub_type: String,
        index: u32,
        parameters: Vec<TemplateParameter>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TemplateParameter {
    Text(String),
    /// A quick-reply button's payload.
    Payload(String),
    Media {
        kind: MediaKind,
        source: MediaSource,
    },
}

fn too_long(what: &str, text: &str, max: usize) -> Result<(), GraphError> {
    let len = text.chars().count();
    if len > max {
        return Err(GraphError::NotSent(format!(
            "{what} has {len} characters, Meta allows {max}"
        )));
    }
    Ok(())
}

fn required(what: &str, text: &str, max: usize) -> Result<(), GraphError> {
    if text.trim().is_empty() {
        return Err(GraphError::NotSent(format!("{what} is empty")));
    }
    too_long(what, text, max)
}

fn optional(what: &str, text: &Option<String>, max: usize) -> Result<(), GraphError> {
    text.as_deref().map_or(Ok(()), |t| required(what, t, max))
}

/// `n` of `what` where Meta allows 1 to `max` (`scope`: how they are counted).
fn counted(what: &str, n: usize, max: usize, scope: &str) -> Result<(), GraphError> {
    if (1..=max).contains(&n) {
        Ok(())
    } else {
        Err(GraphError::NotSent(format!(
            "{n} {what}: Meta allows 1 to {max}{scope}"
        )))
    }
}

/// Replies name the button or row chosen by its id, so no two may share one.
fn unique_ids<'a>(what: &str, ids: impl Iterator<Item = &'a str>) -> Result<(), GraphError> {
    let mut seen = std::collections::HashSet::new();
    for id in ids {
        if !seen.insert(id) {
            return Err(GraphError::NotSent(format!(
                "two {what} share the id `{id}`"
            )));
        }
    }
    Ok(())
}

fn media_object(source: &MediaSource) -> Map<String, Value> {
    let mut object = Map::new();
    match source {
        MediaSource::Id(id) => object.insert("id".into(), json!(id)),
        MediaSource::Link(link) => object.insert("link".into(), json!(link)),
    };
    object
}

fn interactive_frame(
    kind: &str,
    header: &Option<String>,
    body: &str,
    footer: &Option<String>,
    action: Value,
) -> Value {
    let mut interactive = json!({"type": kind, "body": {"text": body}, "action": action});
    if let Some(header) = header {
        interactive["header"] = json!({"type": "text", "text": header});
    }
    if let Some(footer) = footer {
        interactive["footer"] = json!({"text": footer});
    }
    interactive
}

impl TemplateParameter {
    fn to_json(&self) -> Value {
        match self {
            Self::Text(text) => json!({"type": "text", "text": text}),
            Self::Payload(payload) => json!({"type": "payload", "payload": payload}),
            Self::Media { kind, source } => {
                json!({"type": kind.as_str(), kind.as_str(): media_object(source)})
            }
        }
    }
}

impl TemplateComponent {
    fn to_json(&self) -> Value {
        let params = |p: &[TemplateParameter]| p.iter().map(|p| p.to_json()).collect::<Vec<_>>();
        match self {
            Self::Header(p) => json!({"type": "header", "parameters": params(p)}),
            Self::Body(p) => json!({"type": "body", "parameters": params(p)}),
            Self::Button {
                sub_type,
                index,
                parameters,
            } => json!({
                "type": "button",
                "sub_type": sub_type,
                // Meta's examples send the index as a string.
                "index": index.to_string(),
                "parameters": params(parameters),
            }),
        }
    }
}

impl OutgoingCloudMessage {
    /// Check the message against Meta's documented limits, so a bad one fails here with a
    /// clear reason instead of at Meta.
    pub fn validate(&self) -> Result<(), GraphError> {
        if recipient_field(&self.to).is_none() {
            return Err(GraphError::NotSent(
                "the recipient must be a phone number (digits) or a business-scoped user id (like US.1349…)".into(),
            ));
        }
        match &self.body {
            CloudBody::Text { body, .. } => required("the text", body, TEXT_MAX),
            CloudBody::Media {
                kind,
                source,
                caption,
                filename,
            } => {
                let (MediaSource::Id(s) | MediaSource::Link(s)) = source;
                if s.trim().is_empty() {
                    return Err(GraphError::NotSent("the media id or link is empty".into()));
                }
                if caption.is_some() && *kind == MediaKind::Audio {
                    return Err(GraphError::NotSent("audio cannot have a caption".into()));
                }
                if filename.is_some() && *kind != MediaKind::Document {
                    return Err(GraphError::NotSent(
                        "only a document has a file name".into(),
                    ));
                }
                optional("the caption", caption, CAPTION_MAX)
            }
            CloudBody::Buttons {
                header,
                body,
                footer,
                buttons,
            } => {
                optional("the header", header, HEADER_FOOTER_MAX)?;
                required("the body", body, BUTTONS_BODY_MAX)?;
                optional("the footer", footer, HEADER_FOOTER_MAX)?;
                counted("buttons", buttons.len(), BUTTONS_MAX, "")?;
                for button in buttons {
                    required("a button title", &button.title, BUTTON_TITLE_MAX)?;
                    required("a button id", &button.id, BUTTON_ID_MAX)?;
                }
                unique_ids("buttons", buttons.iter().map(|b| b.id.as_str()))
            }
            CloudBody::List {
                header,
                body,
                footer,
                button,
                sections,
            } => {
                optional("the header", header, HEADER_FOOTER_MAX)?;
                required("the body", body, LIST_BODY_MAX)?;
                optional("the footer", footer, HEADER_FOOTER_MAX)?;
                required("the list button", button, LIST_BUTTON_MAX)?;
                counted("sections", sections.len(), LIST_SECTIONS_MAX, "")?;
                let rows: Vec<&ListRow> = sections.iter().flat_map(|s| &s.rows).collect();
                counted("rows", rows.len(), LIST_ROWS_MAX, " in all")?;
                for section in sections {
                    if sections.len() > 1 && section.title.is_none() {
                        return Err(GraphError::NotSent(
                            "with several sections, each needs a title".into(),
                        ));
                    }
                    optional("a section title", &section.title, SECTION_TITLE_MAX)?;
                }
                for row in &rows {
                    required("a row title", &row.title, ROW_TITLE_MAX)?;
                    required("a row id", &row.id, ROW_ID_MAX)?;
                    optional("a row description", &row.description, ROW_DESCRIPTION_MAX)?;
                }
                unique_ids("rows", rows.iter().map(|r| r.id.as_str()))
            }
            CloudBody::Reaction { message_id, .. } => {
                required("the reacted-to message id", message_id, usize::MAX)
            }
            CloudBody::Template { name, language, .. } => {
                required("the template name", name, 512)?;
                required("the template language", language, 15)
            }
        }
    }

    /// The request body Meta expects.
    pub fn to_json(&self) -> Value {
        let (kind, content) = match &self.body {
            CloudBody::Text { body, preview_url } => {
                ("text", json!({"preview_url": preview_url, "body": body}))
            }
            CloudBody::Media {
                kind,
                source,
                caption,
                filename,
            } => {
                let mut object = media_object(source);
                if let Some(caption) = caption {
                    object.insert("caption".into(), json!(caption));
                }
                if let Some(filename) = filename {
                    object.insert("filename".into(), json!(filename));
                }
                (kind.as_str(), Value::Object(object))
            }
            CloudBody::Buttons {
                header,
                body,
                footer,
                buttons,
            } => {
                let buttons: Vec<Value> = buttons
                    .iter()
                    .map(|b| json!({"type": "reply", "reply": {"id": b.id, "title": b.title}}))
                    .collect();
                let action = json!({ "buttons": buttons });
                let frame = interactive_frame("button", header, body, footer, action);
                ("interactive", frame)
            }
            CloudBody::List {
                header,
                body,
                footer,
                button,
                sections,
            } => {
                let sections: Vec<Value> = sections
                    .iter()
                    .map(|s| {
                        let rows: Vec<Value> = s
                            .rows
                            .iter()
                            .map(|r| {
                                let mut row = json!({"id": r.id, "title": r.title});
                                if let Some(d) = &r.description {
                                    row["description"] = json!(d);
                                }
                                row
                            })
                            .collect();
                        let mut section = json!({ "rows": rows });
                        if let Some(title) = &s.title {
                            section["title"] = json!(title);
                        }
                        section
                    })
                    .collect();
                let action = json!({"button": button, "sections": sections});
                (
                    "interactive",
                    interactive_frame("list", header, body, footer, action),
                )
            }
            CloudBody::Reaction { message_id, emoji } => (
                "reaction",
                json!({"message_id": message_id, "emoji": emoji}),
            ),
            CloudBody::Template {
                name,
                language,
                components,
            } => {
                let mut template = json!({"name": name, "language": {"code": language}});
                if !components.is_empty() {
                    let components: Vec<Value> = components.iter().map(|c| c.to_json()).collect();
                    template["components"] = json!(components);
                }
                ("template", template)
            }
        };
        // A phone number goes in `to`; a customer known only by Meta's business-scoped user
        // id (one who hides their number behind a username) in `recipient`.
        let field = recipient_field(&self.to).unwrap_or("to");
        json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            field: self.to,
            "type": kind,
            kind: content,
        })
    }
}

/// Which field of the request names `to`: `to` for a phone number (digits, optionally after
/// `+`), `recipient` for a business-scoped user id (a country code, a dot, then letters and
/// digits, e.g. `US.13491208655302741918`, or `US.ENT.…` for a parent id); `None` for
/// anything else.
fn recipient_field(to: &str) -> Option<&'static str> {
    let digits = to.strip_prefix('+').unwrap_or(to);
    if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
        return Some("to");
    }
    let (country, rest) = to.split_once('.')?;
    let is_user_id = country.len() == 2
        && country.chars().all(|c| c.is_ascii_uppercase())
        && !rest.is_empty()
        && rest.len() <= 140
        && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '.');
    is_user_id.then_some("recipient")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_to(to: &str) -> OutgoingCloudMessage {
        OutgoingCloudMessage {
            to: to.into(),
            body: CloudBody::Text {
                body: "Hello".into(),
                preview_url: false,
            },
        }
    }

    #[test]
    fn a_number_goes_in_to_and_a_business_scoped_user_id_in_recipient() {
        let by_number = text_to("+447700900123").to_json();
        assert_eq!(by_number["to"], "+447700900123");
        assert!(by_number.get("recipient").is_none());
        let by_user_id = text_to("US.13491208655302741918").to_json();
        assert_eq!(by_user_id["recipient"], "US.13491208655302741918");
        assert!(by_user_id.get("to").is_none());
        assert!(text_to("US.ENT.11815799212886844830").validate().is_ok());
        for bad in ["", "+", "us.123", "USA.1", "US.", "12 34", "US.12/../3"] {
            assert!(text_to(bad).validate().is_err(), "{bad:?} must be refused");
        }
    }
}
