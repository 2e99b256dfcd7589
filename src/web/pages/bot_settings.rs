//! `/bots/{id}/settings`: prefix, welcome, business hours and away message, commands on/off
//! with their replies, keyword replies and the menu; saved with htmx, checked on the server.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::{NoticeQuery, form_errors, render_with_status};
use crate::billing::entitlements::{self, Action, Denial};
use crate::billing::plans::Feature;
use crate::bots::behaviour::BotConfig;
use crate::bots::settings::{self, LANGUAGES, SettingsInput};
use crate::validation::FieldErrors;
use crate::web::auth::Member;
use crate::web::layout::Layout;
use crate::web::{AppError, render};

/// The settings form (also the htmx fragment that replaces itself).
#[derive(Template)]
#[template(path = "partials/bot_settings_form.html")]
struct SettingsForm {
    bot_id: String,
    csrf: String,
    config: BotConfig,
    keywords: String,
    menu: String,
    /// As typed (a bad value is shown back).
    flood_limit: String,
    /// The word lists, comma-separated, and the takeover silence, as typed.
    handoff_words: String,
    opt_out_words: String,
    opt_in_words: String,
    takeover_idle_minutes: String,
    languages: Vec<(&'static str, &'static str)>,
    errors: FieldErrors,
    saved: bool,
    can_edit: bool,
    days: Vec<(u8, &'static str)>,
}

/// The settings as those who may not change them see them: no fields, no buttons.
#[derive(Template)]
#[template(path = "partials/bot_settings_view.html")]
struct SettingsView {
    config: BotConfig,
}

impl SettingsView {
    /// The language's name.
    fn language(&self) -> &str {
        LANGUAGES
            .iter()
            .find(|(code, _)| *code == self.config.language)
            .map_or(self.config.language.as_str(), |(_, name)| name)
    }

    /// The open days, "Mon, Tue, …".
    fn days(&self) -> String {
        DAYS.iter()
            .filter(|(d, _)| self.config.hours.days.contains(d))
            .map(|(_, name)| *name)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[derive(Template)]
#[template(path = "pages/bot_settings.html")]
pub(super) struct SettingsPage {
    layout: Layout,
    bot_name: String,
    bot_id: String,
    template_name: Option<String>,
    /// Owners and admins: the form and the actions. Members: `view` instead.
    can_edit: bool,
    form: SettingsForm,
    view: SettingsView,
    command_name: String,
    command_reply: String,
    command_errors: FieldErrors,
    /// Why the plan refuses custom commands, with the way to a plan that has them.
    command_lock: Option<Denial>,
    /// The name field of the rename form, as typed, and its error.
    pub(super) new_name: String,
    pub(super) rename_errors: FieldErrors,
}

impl SettingsForm {
    fn new(member: &Member, bot_id: &str, config: BotConfig) -> Self {
        Self {
            bot_id: bot_id.to_owned(),
            csrf: member.visitor.csrf.clone(),
            keywords: settings::keywords_text(&config),
            menu: settings::menu_text(&config),
            flood_limit: config.flood_limit.to_string(),
            handoff_words: settings::words_text(&config.handoff_words),
            opt_out_words: settings::words_text(&config.opt_out_words),
            opt_in_words: settings::words_text(&config.opt_in_words),
            takeover_idle_minutes: config.takeover_idle_minutes.to_string(),
            config,
            languages: LANGUAGES.to_vec(),
            errors: FieldErrors::new(),
            saved: false,
            can_edit: member.scope.role().can_edit_workspace(),
            days: DAYS.to_vec(),
        }
    }

    /// Whether day `d` (1 = Monday) is ticked.
    fn has_day(&self, d: &u8) -> bool {
        self.config.hours.days.contains(d)
    }

    /// The flood limits the form accepts, lowest and highest.
    fn flood_limits(&self) -> (u32, u32) {
        let limits = crate::bots::behaviour::FLOOD_LIMITS;
        (*limits.start(), *limits.end())
    }

    /// The takeover silences the form accepts, in minutes, shortest and longest.
    fn takeover_limits(&self) -> (u32, u32) {
        let limits = crate::bots::behaviour::TAKEOVER_IDLE_MINUTES;
        (*limits.start(), *limits.end())
    }
}

/// Monday … Sunday with their numbers, for the form.
const DAYS: [(u8, &str); 7] = [
    (1, "Mon"),
    (2, "Tue"),
    (3, "Wed"),
    (4, "Thu"),
    (5, "Fri"),
    (6, "Sat"),
    (7, "Sun"),
];

pub(super) async fn settings_page(
    member: &Member,
    id: &str,
    notice: Option<&str>,
) -> Result<SettingsPage, AppError> {
    let state = &member.visitor.state;
    let (bot, stored) = settings::for_bot(state, &member.scope, id).await?;
    let command_lock =
        entitlements::check(state, &member.scope, Action::Use(Feature::CustomCommands))
            .await?
            .denial();
    Ok(SettingsPage {
        layout: member
            .visitor
            .layout(&format!("{} settings", bot.name))
            .with_notice(notice),
        template_name: stored
            .template_id
            .as_deref()
            .and_then(crate::bots::presets::find)
            .map(|t| t.name),
        can_edit: member.scope.role().can_edit_workspace(),
        view: SettingsView {
            config: stored.config.clone(),
        },
        form: SettingsForm::new(member, &bot.id, stored.config),
        new_name: bot.name.clone(),
        bot_name: bot.name,
        bot_id: bot.id.to_string(),
        command_name: String::new(),
        command_reply: String::new(),
        command_errors: FieldErrors::new(),
        command_lock,
        rename_errors: FieldErrors::new(),
    })
}

/// `GET /bots/{id}/settings`.
pub async fn show(
    member: Member,
    id: web::Path<String>,
    query: web::Query<NoticeQuery>,
) -> Result<HttpResponse, AppError> {
    render(&settings_page(&member, &id, query.notice.as_deref()).await?)
}

/// The posted fields, in order (checkboxes and per-command fields repeat or vary).
fn settings_input(fields: &[(String, String)], commands: usize) -> SettingsInput {
    let get = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let has = |name: &str| fields.iter().any(|(k, _)| k == name);
    // A field the form did not send keeps its stored value.
    let sent = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    SettingsInput {
        handoff_words: sent("handoff_words"),
        opt_out_words: sent("opt_out_words"),
        opt_in_words: sent("opt_in_words"),
        takeover_idle_minutes: sent("takeover_idle_minutes"),
        prefix: get("prefix"),
        language: get("language"),
        welcome: get("welcome"),
        hours_enabled: has("hours_enabled"),
        utc_offset: get("utc_offset"),
        days: fields
            .iter()
            .filter(|(k, _)| k == "days")
            .filter_map(|(_, v)| v.parse().ok())
            .collect(),
        open: get("open"),
        close: get("close"),
        away_message: get("away_message"),
        fallback: get("fallback"),
        anti_link: has("anti_link"),
        flood_limit: get("flood_limit"),
        commands: (0..commands)
            .map(|i| {
                (
                    has(&format!("cmd_{i}_enabled")),
                    get(&format!("cmd_{i}_reply")),
                )
            })
            .collect(),
        keywords: get("keywords"),
        menu_title: get("menu_title"),
        menu: get("menu"),
    }
}

fn is_htmx(req: &HttpRequest) -> bool {
    req.headers().contains_key("hx-request")
}

/// `POST /bots/{id}/settings`: save; htmx gets the form back (with "Saved" or the errors),
/// a plain browser the whole page.
pub async fn save(
    req: HttpRequest,
    member: Member,
    id: web::Path<String>,
    fields: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let state = &member.visitor.state;
    let (bot, stored) = settings::for_bot(state, &member.scope, &id).await?;
    let input = settings_input(&fields, stored.config.commands.len());
    let client = &member.visitor.client;
    let updated = settings::update(state, &member.scope, &bot.id, input.clone(), client).await;
    let (status, form) = match updated {
        Ok(config) => {
            let mut form = SettingsForm::new(&member, &bot.id, config);
            form.saved = true;
            (StatusCode::OK, form)
        }
        Err(e) => {
            let (status, errors) = form_errors(e)?;
            // Show what was typed, not what is stored.
            let mut shown = stored.config.clone();
            shown.prefix = input.prefix;
            shown.language = input.language;
            shown.welcome = input.welcome;
            shown.hours.enabled = input.hours_enabled;
            shown.hours.utc_offset = input.utc_offset;
            shown.hours.days = input.days;
            shown.hours.open = input.open;
            shown.hours.close = input.close;
            shown.away_message = input.away_message;
            shown.fallback = input.fallback;
            shown.anti_link = input.anti_link;
            for (command, (enabled, reply)) in shown.commands.iter_mut().zip(input.commands) {
                command.enabled = enabled;
                if command.action.is_none() {
                    command.reply = reply;
                }
            }
            shown.menu.title = input.menu_title;
            let mut form = SettingsForm::new(&member, &bot.id, shown);
            form.keywords = input.keywords;
            form.menu = input.menu;
            form.flood_limit = input.flood_limit;
            if let Some(typed) = input.handoff_words {
                form.handoff_words = typed;
            }
            if let Some(typed) = input.opt_out_words {
                form.opt_out_words = typed;
            }
            if let Some(typed) = input.opt_in_words {
                form.opt_in_words = typed;
            }
            if let Some(typed) = input.takeover_idle_minutes {
                form.takeover_idle_minutes = typed;
            }
            form.errors = errors;
            (status, form)
        }
    };
    if is_htmx(&req) {
        // htmx swaps only successful responses: the errors come back with 200.
        return render(&form);
    }
    let mut page = settings_page(&member, &bot.id, None).await?;
    page.form = form;
    render_with_status(status, &page)
}

#[derive(Debug, serde::Deserialize)]
pub struct CommandForm {
    #[serde(default)]
    command_name: String,
    #[serde(default)]
    command_reply: String,
}

/// `POST /bots/{id}/commands`: add the workspace's own command (paid plans).
pub async fn add_command(
    member: Member,
    id: web::Path<String>,
    form: web::Form<CommandForm>,
) -> Result<HttpResponse, AppError> {
    let state = &member.visitor.state;
    match settings::add_custom_command(
        state,
        &member.scope,
        &id,
        &form.command_name,
        &form.command_reply,
        &member.visitor.client,
    )
    .await
    {
        Ok(()) => Ok(super::redirect_with_notice(
            &format!("/bots/{id}/settings"),
            "command_added",
        )),
        Err(e) => {
            let (status, errors) = form_errors(e)?;
            let mut page = settings_page(&member, &id, None).await?;
            let form = form.into_inner();
            page.command_name = form.command_name;
            page.command_reply = form.command_reply;
            page.command_errors = errors;
            render_with_status(status, &page)
        }
    }
}
