//! `/bots/{id}/templates`: a Cloud API bot's approved message templates, a form per template
//! to send one with its values, and a free-form message that only goes out inside the
//! customer's 24-hour window. Members see the templates without forms.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{NoticeQuery, form_errors, redirect_with_notice, render_with_status};
use crate::bots::transport::cloud_api::templates::{
    self, BODY_FIELDS, TemplateInput, TemplateList, TemplateView,
};
use crate::validation::FieldErrors;
use crate::web::auth::Member;
use crate::web::layout::Layout;
use crate::web::{AppError, render};

#[derive(Template)]
#[template(path = "pages/cloud_templates.html")]
struct TemplatesPage {
    layout: Layout,
    bot_id: String,
    bot_name: String,
    can_edit: bool,
    list: TemplateList,
    /// The template form last submitted, as typed, and its errors.
    sent: TemplateInput,
    errors: FieldErrors,
    /// The free-form form, as typed, and its errors.
    text_to: String,
    text: String,
    text_errors: FieldErrors,
}

impl TemplatesPage {
    /// Whether `template`'s form is the one submitted (its values and errors are shown).
    fn is_sent(&self, template: &TemplateView) -> bool {
        self.sent.template == template.key()
    }

    /// The value typed into `field` of `template`'s form.
    fn value(&self, template: &TemplateView, field: &str) -> String {
        if !self.is_sent(template) {
            return String::new();
        }
        match field {
            "to" => self.sent.to.clone(),
            "header_1" => self.sent.header_text.clone(),
            "header_media" => self.sent.header_media.clone(),
            _ => BODY_FIELDS
                .iter()
                .position(|f| *f == field)
                .and_then(|i| self.sent.body.get(i).cloned())
                .unwrap_or_default(),
        }
    }

    /// The error of `field` in `template`'s form.
    fn error(&self, template: &TemplateView, field: &str) -> Option<String> {
        self.is_sent(template)
            .then(|| self.errors.get(field).map(str::to_owned))
            .flatten()
    }

    /// The error about the page's forms as a whole (Meta unreachable, an unknown template).
    fn form_error(&self) -> Option<&str> {
        self.errors.get("form").or(self.errors.get("template"))
    }
}

async fn page(
    member: &Member,
    id: &str,
    refresh: bool,
    notice: Option<&str>,
) -> Result<TemplatesPage, AppError> {
    let state = &member.visitor.state;
    let (bot, list) = templates::list(state, &state.bots, &member.scope, id, refresh).await?;
    Ok(TemplatesPage {
        layout: member
            .visitor
            .layout(&format!("{} message templates", bot.name))
            .with_notice(notice),
        bot_id: bot.id.to_string(),
        bot_name: bot.name,
        can_edit: member.scope.role().can_edit_workspace(),
        list,
        sent: TemplateInput::default(),
        errors: FieldErrors::new(),
        text_to: String::new(),
        text: String::new(),
        text_errors: FieldErrors::new(),
    })
}

/// `GET /bots/{id}/templates`.
pub async fn show(
    member: Member,
    id: web::Path<String>,
    query: web::Query<NoticeQuery>,
) -> Result<HttpResponse, AppError> {
    render(&page(&member, &id, false, query.notice.as_deref()).await?)
}

/// `POST /bots/{id}/templates/refresh`: read the templates from Meta again, not the cache.
/// Rendered, not redirected: a failed refresh must not fall back to the cached list.
pub async fn refresh(member: Member, id: web::Path<String>) -> Result<HttpResponse, AppError> {
    render(&page(&member, &id, true, None).await?)
}

/// The template form's fields (`body_n` vary with the template).
fn template_input(fields: &[(String, String)]) -> TemplateInput {
    let get = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let mut body: Vec<String> = BODY_FIELDS.iter().map(|f| get(f)).collect();
    while body.last().is_some_and(String::is_empty) {
        body.pop();
    }
    TemplateInput {
        template: get("template"),
        to: get("to"),
        header_text: get("header_1"),
        header_media: get("header_media"),
        body,
    }
}

/// `POST /bots/{id}/templates/send`: queue the template with its values (owners, admins).
pub async fn send(
    member: Member,
    id: web::Path<String>,
    fields: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let state = &member.visitor.state;
    let input = template_input(&fields);
    match templates::send_template(state, &state.bots, &member.scope, &id, &input).await {
        Ok(_) => Ok(redirect_with_notice(
            &format!("/bots/{id}/templates"),
            "template_queued",
        )),
        Err(e) => {
            let (status, errors) = form_errors(e)?;
            let mut shown = page(&member, &id, false, None).await?;
            shown.sent = input;
            shown.errors = errors;
            render_with_status(status, &shown)
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct TextForm {
    #[serde(default)]
    to: String,
    #[serde(default)]
    text: String,
}

/// `POST /bots/{id}/templates/text`: a free-form message, only inside the customer's window.
pub async fn send_text(
    member: Member,
    id: web::Path<String>,
    form: web::Form<TextForm>,
) -> Result<HttpResponse, AppError> {
    let state = &member.visitor.state;
    let sent =
        templates::send_text(state, &state.bots, &member.scope, &id, &form.to, &form.text).await;
    match sent {
        Ok(_) => Ok(redirect_with_notice(
            &format!("/bots/{id}/templates"),
            "message_queued",
        )),
        Err(e) => {
            let (status, errors) = form_errors(e)?;
            let mut shown = page(&member, &id, false, None).await?;
            let form = form.into_inner();
            shown.text_to = form.to;
            shown.text = form.text;
            shown.text_errors = errors;
            render_with_status(status, &shown)
        }
    }
}
