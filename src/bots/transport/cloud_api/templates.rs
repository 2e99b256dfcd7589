//! A Cloud API bot's approved message templates, as the business sends them by hand: listed
//! from its WhatsApp Business Account (kept in the cache for a few minutes, so a page view does
//! not always reach Meta), each template's placeholders described, the values a person typed
//! checked against Meta's limits and queued through the outbox. Also a free-form text to one
//! customer, refused before it is queued when their 24-hour window is closed.

use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::connection;
use super::graph::{
    CloudBody, GraphError, MediaKind, MediaSource, MessageTemplate, TemplateComponent,
    TemplateParameter,
};
use super::window;
use crate::bots::model::{self, Bot, TransportKind};
use crate::bots::outbox;
use crate::bots::sandbox_phones::normalize_number;
use crate::bots::supervisor::BotSupervisor;
use crate::context::Context;
use crate::error::{ServiceError, ServiceResult};
use crate::tenancy::TenantScope;
use crate::validation::{FieldErrors, without_control_chars};

/// How long a bot's template list is reused before Meta is asked again.
pub const CACHE_FOR: std::time::Duration = std::time::Duration::from_secs(300);

/// Form field names of a template's body values, `body_1` … (FieldErrors keys are static).
pub const BODY_FIELDS: [&str; 20] = [
    "body_1", "body_2", "body_3", "body_4", "body_5", "body_6", "body_7", "body_8", "body_9",
    "body_10", "body_11", "body_12", "body_13", "body_14", "body_15", "body_16", "body_17",
    "body_18", "body_19", "body_20",
];

/// Meta's limits on a template's values, in characters: a header variable, a body variable,
/// and the body once filled in.
const HEADER_PARAM_MAX: usize = 60;
const BODY_PARAM_MAX: usize = 1024;
const FILLED_BODY_MAX: usize = 1024;
/// A media header's link.
const LINK_MAX: usize = 2000;
/// A free-form text (Meta's text message limit).
const TEXT_MAX: usize = 4096;

/// One approved template as the page shows it and the form fills it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateView {
    pub name: String,
    pub language: String,
    pub category: String,
    /// `TEXT`, `IMAGE`, `VIDEO`, `DOCUMENT` or `LOCATION`, when the template has a header.
    pub header_format: Option<String>,
    pub header_text: Option<String>,
    pub body: String,
    pub footer: Option<String>,
    /// The buttons' labels.
    pub buttons: Vec<String>,
    /// How many `{{n}}` the header text and the body have.
    pub header_params: usize,
    pub body_params: usize,
    /// Why it cannot be sent from here, when it cannot.
    pub unsupported: Option<String>,
}

impl TemplateView {
    /// What the picker submits: name and language together name one template.
    pub fn key(&self) -> String {
        format!("{}:{}", self.name, self.language)
    }

    /// The kind of media the header needs a link for.
    pub fn header_media(&self) -> Option<MediaKind> {
        match self.header_format.as_deref() {
            Some("IMAGE") => Some(MediaKind::Image),
            Some("VIDEO") => Some(MediaKind::Video),
            Some("DOCUMENT") => Some(MediaKind::Document),
            _ => None,
        }
    }

    /// The header media's name for a label ("image", "video", "document").
    pub fn header_media_name(&self) -> &'static str {
        match self.header_media() {
            Some(MediaKind::Image) => "image",
            Some(MediaKind::Video) => "video",
            Some(MediaKind::Document) => "document",
            _ => "",
        }
    }

    /// The form fields of the body's values, with their placeholder number.
    pub fn body_fields(&self) -> Vec<(usize, &'static str)> {
        (1..=self.body_params.min(BODY_FIELDS.len()))
            .map(|n| (n, BODY_FIELDS[n - 1]))
            .collect()
    }

    /// The view of a template as Meta defines it.
    pub fn of(template: &MessageTemplate) -> Self {
        let part = |kind: &str| template.components.iter().find(|c| c.kind == kind);
        let header = part("HEADER");
        let header_format = header.and_then(|h| h.format.clone());
        let header_text = header
            .filter(|_| header_format.as_deref().unwrap_or("TEXT") == "TEXT")
            .and_then(|h| h.text.clone());
        let body = part("BODY")
            .and_then(|b| b.text.clone())
            .unwrap_or_default();
        let header_shape = placeholders(header_text.as_deref().unwrap_or_default());
        let body_shape = placeholders(&body);
        let unsupported = match (&header_shape, &body_shape) {
            (Err(why), _) | (_, Err(why)) => Some(why.clone()),
            _ if header_format.as_deref() == Some("LOCATION") => {
                Some("Its header is a location, which this page cannot fill in.".into())
            }
            (_, Ok(n)) if *n > BODY_FIELDS.len() => Some(format!(
                "Its body has {n} variables; this page fills in up to {}.",
                BODY_FIELDS.len()
            )),
            _ => None,
        };
        Self {
            name: template.name.clone(),
            language: template.language.clone(),
            category: template.category.clone(),
            header_format,
            header_text,
            body,
            footer: part("FOOTER").and_then(|f| f.text.clone()),
            buttons: part("BUTTONS")
                .map(|b| b.buttons.iter().map(|b| b.text.clone()).collect())
                .unwrap_or_default(),
            header_params: header_shape.unwrap_or(0),
            body_params: body_shape.unwrap_or(0),
            unsupported,
        }
    }
}

/// How many numbered placeholders `{{1}}` … `{{n}}` `text` has; refused when they are named
/// (`{{first_name}}`) or skip a number, which the form could not fill in the right order.
pub fn placeholders(text: &str) -> Result<usize, String> {
    let mut numbers = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        let inner = after[..end].trim();
        match inner.parse::<usize>() {
            Ok(n) if n >= 1 => numbers.push(n),
            _ => {
                return Err(format!(
                    "It uses the named variable {{{{{inner}}}}}; this page fills in numbered ones only."
                ));
            }
        }
        rest = &after[end + 2..];
    }
    numbers.sort_unstable();
    numbers.dedup();
    let count = numbers.len();
    if numbers.last().is_some_and(|&last| last != count) {
        return Err("Its variables are not numbered 1, 2, 3 … in order.".into());
    }
    Ok(count)
}

/// `text` with `{{n}}` replaced by `values[n - 1]` (missing values stay as placeholders).
pub fn fill(text: &str, values: &[String]) -> String {
    let mut filled = text.to_owned();
    for (i, value) in values.iter().enumerate().rev() {
        filled = filled.replace(&format!("{{{{{}}}}}", i + 1), value);
    }
    filled
}

/// A bot's templates, or why there are none to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateList {
    /// The bot is not on the Cloud API: templates do not apply.
    NotCloud,
    /// Meta's approved templates, in Meta's order.
    Ready(Vec<TemplateView>),
    /// They could not be read; the sentence says what to do.
    Failed(String),
}

/// Meta's refusal in words a business can act on.
pub fn plain_graph_error(error: &GraphError) -> String {
    match error {
        GraphError::TokenInvalid(_) => "Meta refused this bot's access token: it is expired, revoked or was replaced. Connect the bot again with a new token on its pairing page.".into(),
        GraphError::Invalid { title, details, .. } => match details {
            Some(details) => format!("Meta refused the request: {title} ({details})."),
            None => format!("Meta refused the request: {title}."),
        },
        GraphError::Throughput(_) | GraphError::PairRateLimit(_) => {
            "Meta asks this number to slow down. Try again in a minute.".into()
        }
        GraphError::Unavailable(_) => {
            "Meta's Graph API could not be reached. Try again in a minute.".into()
        }
        GraphError::WindowClosed(_) => window::CLOSED.into(),
        GraphError::NotSent(why) => format!("Not sent to Meta: {why}."),
        GraphError::TooLarge { .. } => error.to_string(),
    }
}

/// Forget the bot's cached templates (it was connected to another business account).
pub async fn forget_cached(ctx: &Context, bot_id: &str) {
    if let Err(e) = ctx.cache.delete(&cache_key(bot_id)).await {
        tracing::warn!(error = %e, "could not clear the template cache");
    }
}

fn cache_key(bot_id: &str) -> String {
    format!("cloud_templates:{bot_id}")
}

/// The approved templates of one of the scope's bots. From the cache when it holds them
/// (unless `refresh`), else from Meta, then kept for [`CACHE_FOR`].
pub async fn list(
    ctx: &Context,
    runtime: &BotSupervisor,
    scope: &TenantScope,
    bot_id: &str,
    refresh: bool,
) -> ServiceResult<(Bot, TemplateList)> {
    let bot = model::find(ctx, scope, bot_id).await?;
    let list = list_for(ctx, runtime, &bot, refresh).await?;
    Ok((bot, list))
}

/// [`list`] for a bot already found in the caller's scope.
async fn list_for(
    ctx: &Context,
    runtime: &BotSupervisor,
    bot: &Bot,
    refresh: bool,
) -> ServiceResult<TemplateList> {
    if bot.transport != TransportKind::Cloud {
        return Ok(TemplateList::NotCloud);
    }
    let key = cache_key(&bot.id);
    if !refresh {
        match ctx.cache.get(&key).await {
            Ok(Some(json)) => {
                if let Ok(views) = serde_json::from_str::<Vec<TemplateView>>(&json) {
                    return Ok(TemplateList::Ready(views));
                }
            }
            Ok(None) => {}
            // The cache only saves a call to Meta: without it, ask Meta.
            Err(e) => tracing::warn!(error = %e, "template cache unreadable"),
        }
    }
    let open = match connection::for_runtime(&ctx.db, &ctx.encryption_key, &bot.id).await? {
        None => {
            return Ok(TemplateList::Failed(
                "This bot has no Cloud API connection. Connect it on its pairing page.".into(),
            ));
        }
        Some(Err(_)) => {
            return Ok(TemplateList::Failed(
                "This bot's stored access token cannot be opened. Connect the bot again on its pairing page.".into(),
            ));
        }
        Some(Ok(open)) => open,
    };
    let fetched = runtime
        .graph()
        .message_templates(&open.connection.waba_id, &open.secrets.access_token)
        .await;
    let views: Vec<TemplateView> = match fetched {
        Ok(templates) => templates.iter().map(TemplateView::of).collect(),
        Err(e) => {
            tracing::warn!(bot_id = %bot.id, error = %e, "could not list message templates");
            return Ok(TemplateList::Failed(plain_graph_error(&e)));
        }
    };
    match serde_json::to_string(&views) {
        Ok(json) => {
            if let Err(e) = ctx.cache.set(&key, &json, Some(CACHE_FOR)).await {
                tracing::warn!(error = %e, "could not keep the template list");
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not write the template list"),
    }
    Ok(TemplateList::Ready(views))
}

/// What the template form sends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateInput {
    /// `name:language`, as [`TemplateView::key`] writes it.
    pub template: String,
    pub to: String,
    /// The header's `{{1}}`, when it has one.
    pub header_text: String,
    /// The header's media link, when it is an image, video or document.
    pub header_media: String,
    /// `body_1` … in order.
    pub body: Vec<String>,
}

/// Check `input` against `template` and Meta's limits; the message to queue and its text.
pub fn build(
    template: &TemplateView,
    input: &TemplateInput,
) -> Result<(String, CloudBody, String), FieldErrors> {
    let mut errors = FieldErrors::new();
    if let Some(why) = &template.unsupported {
        errors.add(
            "template",
            format!("This template cannot be sent from here: {why}"),
        );
    }
    let to = normalize_number(&input.to)
        .map_err(|m| errors.add("to", m))
        .unwrap_or_default();
    let mut components = Vec::new();
    if template.header_params > 0 {
        let value = input.header_text.trim();
        if value.is_empty() {
            errors.add("header_1", "Fill in the header's {{1}}.");
        } else if value.chars().count() > HEADER_PARAM_MAX {
            errors.add(
                "header_1",
                format!("The header's value may have at most {HEADER_PARAM_MAX} characters."),
            );
        } else if let Some(why) = format_problem(value) {
            errors.add("header_1", why);
        }
        components.push(TemplateComponent::Header(vec![TemplateParameter::Text(
            value.to_owned(),
        )]));
    }
    if let Some(kind) = template.header_media() {
        let link = input.header_media.trim();
        let is_https = url::Url::parse(link).is_ok_and(|u| u.scheme() == "https");
        if !is_https || link.len() > LINK_MAX {
            errors.add(
                "header_media",
                format!(
                    "Give the https:// link of the {} the header shows.",
                    template.header_media_name()
                ),
            );
        }
        components.push(TemplateComponent::Header(vec![TemplateParameter::Media {
            kind,
            source: MediaSource::Link(link.to_owned()),
        }]));
    }
    let mut values = Vec::new();
    for (n, field) in template.body_fields() {
        let value = input
            .body
            .get(n - 1)
            .map(|v| v.trim().to_owned())
            .unwrap_or_default();
        if value.is_empty() {
            errors.add(field, format!("Fill in {{{{{n}}}}}."));
        } else if value.chars().count() > BODY_PARAM_MAX {
            errors.add(
                field,
                format!("A value may have at most {BODY_PARAM_MAX} characters."),
            );
        } else if let Some(why) = format_problem(&value) {
            errors.add(field, why);
        }
        values.push(value);
    }
    let filled = fill(&template.body, &values);
    if errors.is_empty() && filled.chars().count() > FILLED_BODY_MAX {
        errors.add(
            "form",
            format!(
                "Filled in, the message has {} characters; WhatsApp allows {FILLED_BODY_MAX}. Shorten the values.",
                filled.chars().count()
            ),
        );
    }
    errors.into_result()?;
    if !values.is_empty() {
        components.push(TemplateComponent::Body(
            values.into_iter().map(TemplateParameter::Text).collect(),
        ));
    }
    let body = CloudBody::Template {
        name: template.name.clone(),
        language: template.language.clone(),
        components,
    };
    Ok((to, body, filled))
}

/// Meta refuses a variable with a new line, a tab or more than four spaces in a row (132018).
fn format_problem(value: &str) -> Option<&'static str> {
    if value.contains(['\n', '\r', '\t']) {
        Some("A value cannot contain new lines or tabs.")
    } else if value.contains("     ") {
        Some("A value cannot contain more than four spaces in a row.")
    } else {
        None
    }
}

/// The bot of the scope that may send (owners and admins, Cloud API bots).
async fn sending_bot(ctx: &Context, scope: &TenantScope, bot_id: &str) -> ServiceResult<Bot> {
    let bot = model::find_to_change(ctx, scope, bot_id).await?;
    if bot.transport != TransportKind::Cloud {
        return Err(ServiceError::invalid(
            "form",
            "Templates and the 24-hour window are part of the WhatsApp Cloud API; this bot is not connected to it.",
        ));
    }
    Ok(bot)
}

/// Queue the approved template `input.template` with the values typed to `input.to`, for
/// one of the scope's Cloud API bots (owners and admins). A template may open a conversation,
/// so the 24-hour window does not apply. Answers the outbox entry's id.
pub async fn send_template(
    ctx: &Context,
    runtime: &BotSupervisor,
    scope: &TenantScope,
    bot_id: &str,
    input: &TemplateInput,
) -> ServiceResult<String> {
    let bot = sending_bot(ctx, scope, bot_id).await?;
    let templates = match list_for(ctx, runtime, &bot, false).await? {
        TemplateList::Ready(templates) => templates,
        TemplateList::Failed(why) => return Err(ServiceError::invalid("form", why)),
        TemplateList::NotCloud => return Err(ServiceError::NotFound),
    };
    let template = templates
        .iter()
        .find(|t| t.key() == input.template)
        .ok_or_else(|| {
            ServiceError::invalid("template", "Choose one of the approved templates.")
        })?;
    let (to, body, text) = build(template, input)?;
    let content = serde_json::to_string(&body).map_err(ServiceError::internal)?;
    let (tenant_id, id) = (bot.tenant_id.clone(), bot.id.clone());
    let entry = ctx
        .db
        .run_in(scope.rows(), move |conn| {
            outbox::enqueue_content_in(conn, &tenant_id, &id, &to, &text, &content)
        })
        .await?;
    runtime.nudge_outbox(&bot.id);
    Ok(entry)
}

/// Queue a free-form text to `to` from one of the scope's Cloud API bots (owners and admins);
/// refused before anything is queued when that customer's 24-hour window is closed.
pub async fn send_text(
    ctx: &Context,
    runtime: &BotSupervisor,
    scope: &TenantScope,
    bot_id: &str,
    to: &str,
    text: &str,
) -> ServiceResult<String> {
    let bot = sending_bot(ctx, scope, bot_id).await?;
    let mut errors = FieldErrors::new();
    let to = normalize_number(to)
        .map_err(|m| errors.add("to", m))
        .unwrap_or_default();
    let text = without_control_chars(text.trim()).into_owned();
    if text.is_empty() {
        errors.add("text", "Write the message.");
    } else if text.chars().count() > TEXT_MAX {
        errors.add(
            "text",
            format!("A message may have at most {TEXT_MAX} characters."),
        );
    }
    errors.into_result()?;
    let (tenant_id, id) = (bot.tenant_id.clone(), bot.id.clone());
    let entry = ctx
        .db
        .transaction(scope.rows(), move |conn| -> ServiceResult<String> {
            // Checked and queued in one transaction: the window is read where the entry is written.
            if !window::is_open_in(conn, &id, &to, Utc::now().naive_utc())? {
                return Err(ServiceError::invalid(
                    "text",
                    format!(
                        "Not sent. {} Send one of the templates below instead.",
                        window::CLOSED
                    ),
                ));
            }
            Ok(outbox::enqueue_in(conn, &tenant_id, &id, &to, &text)?)
        })
        .await?;
    runtime.nudge_outbox(&bot.id);
    Ok(entry)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bots::transport::cloud_api::graph::{TemplateButton, TemplatePart};

    fn part(kind: &str, format: Option<&str>, text: &str) -> TemplatePart {
        TemplatePart {
            kind: kind.into(),
            format: format.map(str::to_owned),
            text: Some(text.into()),
            buttons: Vec::new(),
        }
    }

    fn shipped() -> TemplateView {
        TemplateView::of(&MessageTemplate {
            name: "order_shipped".into(),
            language: "en_US".into(),
            category: "UTILITY".into(),
            status: "APPROVED".into(),
            components: vec![
                part("HEADER", Some("TEXT"), "Order {{1}}"),
                part("BODY", None, "Hello {{1}}, your order {{2}} has shipped."),
                part("FOOTER", None, "Reply STOP to opt out"),
                TemplatePart {
                    kind: "BUTTONS".into(),
                    format: None,
                    text: None,
                    buttons: vec![TemplateButton {
                        kind: "QUICK_REPLY".into(),
                        text: "Thanks".into(),
                    }],
                },
            ],
        })
    }

    #[test]
    fn placeholders_are_counted_and_odd_ones_refused() {
        assert_eq!(placeholders("no variables"), Ok(0));
        assert_eq!(placeholders("{{1}} and {{2}} and {{1}} again"), Ok(2));
        assert_eq!(placeholders("{{ 1 }}"), Ok(1));
        assert!(placeholders("Hi {{first_name}}").is_err());
        assert!(placeholders("{{1}} then {{3}}").is_err());
        assert!(placeholders("{{0}}").is_err());
    }

    #[test]
    fn a_template_is_described_for_its_form() {
        let view = shipped();
        assert_eq!(view.key(), "order_shipped:en_US");
        assert_eq!((view.header_params, view.body_params), (1, 2));
        assert_eq!(view.header_text.as_deref(), Some("Order {{1}}"));
        assert_eq!(view.buttons, vec!["Thanks".to_owned()]);
        assert_eq!(view.unsupported, None);
        assert_eq!(view.body_fields(), vec![(1, "body_1"), (2, "body_2")]);
    }

    #[test]
    fn values_fill_the_body_and_build_meta_components() {
        let input = TemplateInput {
            template: "order_shipped:en_US".into(),
            to: "+44 7700 900123".into(),
            header_text: "A-17".into(),
            header_media: String::new(),
            body: vec!["Ana".into(), "A-17".into()],
        };
        let (to, body, text) = build(&shipped(), &input).unwrap();
        assert_eq!(to, "447700900123");
        assert_eq!(text, "Hello Ana, your order A-17 has shipped.");
        assert_eq!(
            body,
            CloudBody::Template {
                name: "order_shipped".into(),
                language: "en_US".into(),
                components: vec![
                    TemplateComponent::Header(vec![TemplateParameter::Text("A-17".into())]),
                    TemplateComponent::Body(vec![
                        TemplateParameter::Text("Ana".into()),
                        TemplateParameter::Text("A-17".into()),
                    ]),
                ],
            }
        );
    }

    #[test]
    fn every_placeholder_must_be_filled_within_meta_limits() {
        let input = TemplateInput {
            template: "order_shipped:en_US".into(),
            to: "12".into(),
            header_text: "x".repeat(61),
            header_media: String::new(),
            body: vec!["two\nlines".into()],
        };
        let errors = build(&shipped(), &input).unwrap_err();
        for field in ["to", "header_1", "body_1", "body_2"] {
            assert!(errors.get(field).is_some(), "{field}: {errors:?}");
        }
    }

    #[test]
    fn a_media_header_needs_an_https_link() {
        let mut view = shipped();
        view.header_format = Some("IMAGE".into());
        view.header_params = 0;
        let mut input = TemplateInput {
            template: view.key(),
            to: "447700900123".into(),
            body: vec!["Ana".into(), "A-17".into()],
            header_media: "http://example.com/a.png".into(),
            ..TemplateInput::default()
        };
        assert!(
            build(&view, &input)
                .unwrap_err()
                .get("header_media")
                .is_some()
        );
        input.header_media = "https://example.com/a.png".into();
        let (_, body, _) = build(&view, &input).unwrap();
        let CloudBody::Template { components, .. } = body else {
            panic!("a template");
        };
        assert_eq!(
            components[0],
            TemplateComponent::Header(vec![TemplateParameter::Media {
                kind: MediaKind::Image,
                source: MediaSource::Link("https://example.com/a.png".into()),
            }])
        );
    }
}
