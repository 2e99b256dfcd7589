//! `/templates`: the template picker, and applying a template to a bot.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{form_errors, redirect_with_notice, render_with_status};
use crate::bots::model::{self, Bot};
use crate::bots::picker::{self, TemplateCard};
use crate::bots::presets::merge::{Change, Outcome};
use crate::bots::settings::TemplatePreview;
use crate::bots::{presets, settings};
use crate::error::ServiceError;
use crate::validation::FieldErrors;
use crate::web::auth::Member;
use crate::web::error::redirect;
use crate::web::layout::Layout;
use crate::web::{AppError, render};

/// The cards, shared by the picker page and the wizard's template step.
#[derive(Template)]
#[template(path = "partials/template_cards.html")]
pub struct TemplateCards {
    pub cards: Vec<TemplateCard>,
    pub csrf: String,
    /// Where the apply buttons post.
    pub action: String,
    /// The bot the cards apply to (a hidden field), if any.
    pub bot_id: Option<String>,
    /// Offer "reset to template" (the bot already has settings).
    pub offer_reset: bool,
    /// Whether this person may apply templates (owners and admins); others only browse.
    pub can_apply: bool,
    pub errors: FieldErrors,
}

#[derive(Template)]
#[template(path = "pages/templates.html")]
struct PickerPage {
    layout: Layout,
    bots: Vec<Bot>,
    bot_id: Option<String>,
    categories: Vec<String>,
    category: Option<String>,
    cards: TemplateCards,
}

#[derive(Debug, Deserialize)]
pub struct PickerQuery {
    bot: Option<String>,
    category: Option<String>,
    notice: Option<String>,
}

async fn picker_page(
    member: &Member,
    query: &PickerQuery,
    errors: FieldErrors,
) -> Result<PickerPage, AppError> {
    let state = &member.visitor.state;
    let bots = model::list(state, &member.scope).await?;
    let bot_id = query
        .bot
        .clone()
        .filter(|id| bots.iter().any(|b| b.id.as_str() == id.as_str()))
        .or_else(|| bots.first().map(|b| b.id.to_string()));
    let category = query.category.clone().filter(|c| !c.is_empty());
    let cards = picker::cards(state, &member.scope, category.as_deref()).await?;
    Ok(PickerPage {
        layout: member
            .visitor
            .layout("Bot templates")
            .with_notice(query.notice.as_deref()),
        bots,
        categories: presets::categories(),
        category,
        cards: TemplateCards {
            cards,
            csrf: member.visitor.csrf.clone(),
            action: "/templates/apply".into(),
            bot_id: bot_id.clone(),
            offer_reset: true,
            can_apply: member.scope.role().can_edit_workspace(),
            errors,
        },
        bot_id,
    })
}

/// `GET /templates?bot=…&category=…`.
pub async fn list(
    member: Member,
    query: web::Query<PickerQuery>,
) -> Result<HttpResponse, AppError> {
    render(&picker_page(&member, &query, FieldErrors::new()).await?)
}

#[derive(Debug, Deserialize)]
pub struct ApplyForm {
    #[serde(default)]
    bot_id: String,
    #[serde(default)]
    template_id: String,
    /// "reset to template": drop the workspace's edits.
    reset: Option<String>,
    /// Sent by the preview's button: the changes were shown.
    confirm: Option<String>,
}

/// The preview of applying a template, with the button that does it.
fn preview_path(bot_id: &str, template_id: &str, reset: bool) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("bot", bot_id)
        .append_pair("template", template_id)
        .extend_pairs(reset.then_some(("reset", "1")))
        .finish();
    format!("/templates/preview?{query}")
}

/// The picker again with why the template cannot be applied (422), or the error's own page.
async fn refused(member: &Member, bot_id: &str, e: ServiceError) -> Result<HttpResponse, AppError> {
    let (status, errors) = form_errors(e)?;
    let query = PickerQuery {
        bot: Some(bot_id.to_owned()),
        category: None,
        notice: None,
    };
    let status = if status == StatusCode::OK {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        status
    };
    render_with_status(status, &picker_page(member, &query, errors).await?)
}

/// `POST /templates/apply`: apply a template to a bot, then its settings page. A bot that
/// already has settings goes through the preview first, unless the preview sent it.
pub async fn apply(member: Member, form: web::Form<ApplyForm>) -> Result<HttpResponse, AppError> {
    let state = &member.visitor.state;
    let reset = form.reset.is_some();
    if form.confirm.is_none() && settings::has_settings(state, &member.scope, &form.bot_id).await? {
        return Ok(redirect(&preview_path(
            &form.bot_id,
            &form.template_id,
            reset,
        )));
    }
    match settings::apply_template(state, &member.scope, &form.bot_id, &form.template_id, reset)
        .await
    {
        Ok(()) => Ok(redirect_with_notice(
            &format!("/bots/{}/settings", form.bot_id),
            "template_applied",
        )),
        Err(e) => refused(&member, &form.bot_id, e).await,
    }
}

#[derive(Template)]
#[template(path = "pages/template_preview.html")]
struct PreviewPage {
    layout: Layout,
    preview: TemplatePreview,
    kept: Vec<Change>,
    added: Vec<Change>,
    replaced: Vec<Change>,
    removed: Vec<Change>,
}

#[derive(Debug, Deserialize)]
pub struct PreviewQuery {
    #[serde(default)]
    bot: String,
    #[serde(default)]
    template: String,
    reset: Option<String>,
}

/// `GET /templates/preview?bot=…&template=…&reset=1`: what applying would keep, add, replace
/// (and, with reset, remove), with the button that applies it. Nothing changes here.
pub async fn preview(
    member: Member,
    query: web::Query<PreviewQuery>,
) -> Result<HttpResponse, AppError> {
    let state = &member.visitor.state;
    let reset = query.reset.is_some();
    let preview =
        match settings::preview_template(state, &member.scope, &query.bot, &query.template, reset)
            .await
        {
            Ok(preview) => preview,
            Err(e) => return refused(&member, &query.bot, e).await,
        };
    let of =
        |outcome| -> Vec<Change> { preview.merged.with(outcome).into_iter().cloned().collect() };
    render(&PreviewPage {
        layout: member.visitor.layout(&format!(
            "Apply {} to {}",
            preview.template.name, preview.bot.name
        )),
        kept: of(Outcome::Kept),
        added: of(Outcome::Added),
        replaced: of(Outcome::Replaced),
        removed: of(Outcome::Removed),
        preview,
    })
}

impl TemplateCards {
    /// Where a locked card sends the customer.
    fn upgrade_path(&self) -> &'static str {
        crate::billing::entitlements::UPGRADE_PATH
    }
}
