//! `/templates`: the template picker, and applying a template to a bot.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{form_errors, redirect_with_notice, render_with_status};
use crate::bots::model::{self, Bot};
use crate::bots::picker::{self, TemplateCard};
use crate::bots::{presets, settings};
use crate::validation::FieldErrors;
use crate::web::auth::Member;
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
}

/// `POST /templates/apply`: apply a template to a bot, then its settings page.
pub async fn apply(member: Member, form: web::Form<ApplyForm>) -> Result<HttpResponse, AppError> {
    let state = &member.visitor.state;
    let reset = form.reset.is_some();
    match settings::apply_template(state, &member.scope, &form.bot_id, &form.template_id, reset)
        .await
    {
        Ok(()) => Ok(redirect_with_notice(
            &format!("/bots/{}/settings", form.bot_id),
            "template_applied",
        )),
        Err(e) => {
            let (status, errors) = form_errors(e)?;
            let query = PickerQuery {
                bot: Some(form.bot_id.clone()),
                category: None,
                notice: None,
            };
            let status = if status == StatusCode::OK {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                status
            };
            render_with_status(status, &picker_page(&member, &query, errors).await?)
        }
    }
}

impl TemplateCards {
    /// Where a locked card sends the customer.
    fn upgrade_path(&self) -> &'static str {
        crate::billing::entitlements::UPGRADE_PATH
    }
}
