//! Each bot's own settings: a copy of a template that its workspace edits. Applying a
//! template, saving the settings form (validated field by field) and adding custom commands
//! live here; the router reads the result.

use chrono::Utc;
use diesel::prelude::*;

use super::behaviour::{
    BotConfig, BusinessHours, CommandDef, DEFAULT_FLOOD_LIMIT, DEFAULT_TAKEOVER_IDLE, FLOOD_LIMITS,
    KeywordReply, MenuItem, TAKEOVER_IDLE_MINUTES,
};
use super::presets::merge::Merged;
use super::presets::{self, Template};
use super::router::hours;
use super::{config_changes, model};
use crate::billing::entitlements::{self, Action, Decision};
use crate::billing::plans::Feature;
use crate::context::Context;
use crate::db::DbConn;
use crate::db::schema::bot_configs;
use crate::error::{ServiceError, ServiceResult};
use crate::tenancy::TenantScope;
use crate::tenants::audit::{self, ClientInfo};
use crate::validation::FieldErrors;

/// The languages a bot can be set to.
pub const LANGUAGES: [(&str, &str); 5] = [
    ("en", "English"),
    ("es", "Español"),
    ("pt", "Português"),
    ("fr", "Français"),
    ("de", "Deutsch"),
];

/// A bot's settings as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredConfig {
    pub config: BotConfig,
    pub template_id: Option<String>,
    pub paused: bool,
}

/// The bot's settings (a plain bot's when none are stored yet).
pub fn load_in(conn: &mut DbConn, bot_id: &str) -> QueryResult<StoredConfig> {
    let row: Option<(Option<String>, String, bool)> = bot_configs::table
        .find(bot_id)
        .select((
            bot_configs::template_id,
            bot_configs::config,
            bot_configs::paused,
        ))
        .first(conn)
        .optional()?;
    Ok(match row {
        Some((template_id, config, paused)) => StoredConfig {
            config: serde_json::from_str(&config).unwrap_or_else(|e| {
                tracing::error!(bot_id = %bot_id, error = %e, "stored bot settings do not parse");
                BotConfig::default()
            }),
            template_id,
            paused,
        },
        None => StoredConfig {
            config: BotConfig::default(),
            template_id: None,
            paused: false,
        },
    })
}

/// Store the bot's settings (insert or replace).
pub fn save_in(
    conn: &mut DbConn,
    tenant_id: &str,
    bot_id: &str,
    template_id: Option<&str>,
    config: &BotConfig,
) -> QueryResult<()> {
    let json = serde_json::to_string(config).unwrap_or_default();
    let now = Utc::now().naive_utc();
    let upsert = diesel::insert_into(bot_configs::table)
        .values((
            bot_configs::bot_id.eq(bot_id),
            bot_configs::tenant_id.eq(tenant_id),
            bot_configs::template_id.eq(template_id),
            bot_configs::config.eq(&json),
            bot_configs::paused.eq(false),
            bot_configs::updated_at.eq(now),
        ))
        .on_conflict(bot_configs::bot_id)
        .do_update()
        .set((
            bot_configs::template_id.eq(template_id),
            bot_configs::config.eq(&json),
            bot_configs::updated_at.eq(now),
        ));
    crate::on_backend!(conn, c => upsert.execute(c)).map(drop)
}

/// Pause or resume the bot (its owner's `!pause` / `!resume`).
pub fn set_paused_in(
    conn: &mut DbConn,
    tenant_id: &str,
    bot_id: &str,
    paused: bool,
) -> QueryResult<()> {
    let current = load_in(conn, bot_id)?;
    save_in(
        conn,
        tenant_id,
        bot_id,
        current.template_id.as_deref(),
        &current.config,
    )?;
    diesel::update(bot_configs::table.find(bot_id))
        .set(bot_configs::paused.eq(paused))
        .execute(conn)
        .map(drop)
}

/// The settings after applying `template` to `current`, and what that changes: the
/// workspace's edits stay unless `reset` (see [`presets::merge`]). The template the bot's
/// settings came from tells an edit from what that template gave.
pub fn merge(current: &StoredConfig, template: &Template, reset: bool) -> Merged {
    let base = current
        .template_id
        .as_deref()
        .and_then(presets::find)
        .map(|t| t.config);
    presets::merge::apply(&current.config, base.as_ref(), &template.config, reset)
}

/// Record a change of a bot's settings by the scope's person.
fn audit_settings_in(
    conn: &mut DbConn,
    scope: &TenantScope,
    detail: &str,
    client: &ClientInfo,
) -> QueryResult<()> {
    audit::record(
        conn,
        audit::Action::BotSettingsChanged,
        Some(scope.tenant_id()),
        Some(scope.user_id()),
        detail,
        client,
    )
}

fn require_editor(scope: &TenantScope) -> ServiceResult<()> {
    if scope.role().can_edit_workspace() {
        Ok(())
    } else {
        Err(ServiceError::Forbidden(
            "Only owners and admins can change a bot's settings.",
        ))
    }
}

/// A refusal of the plan as a form error on `field`.
fn plan_error(field: &'static str, decision: Decision) -> ServiceResult<()> {
    match decision {
        Decision::Allowed => Ok(()),
        Decision::Denied(denial) => Err(ServiceError::invalid(field, denial.message())),
    }
}

/// What applying a template to a bot would change, for the confirmation step.
#[derive(Debug, Clone)]
pub struct TemplatePreview {
    pub bot: model::Bot,
    pub template: Template,
    pub reset: bool,
    pub merged: Merged,
}

/// The template, once the plan allows it (premium templates need their feature).
fn allowed_template(
    conn: &mut DbConn,
    tenant_id: &str,
    template_id: &str,
) -> ServiceResult<Template> {
    let template = presets::find(template_id).ok_or(ServiceError::NotFound)?;
    if let Some(feature) = template.premium {
        plan_error(
            "template",
            entitlements::check_in(conn, tenant_id, Action::Use(feature))?,
        )?;
    }
    Ok(template)
}

/// Whether one of the scope's bots has settings of its own yet (then applying a template
/// is shown before it is done; before, there is nothing to lose).
pub async fn has_settings(ctx: &Context, scope: &TenantScope, bot_id: &str) -> ServiceResult<bool> {
    let bot = model::find(ctx, scope, bot_id).await?;
    Ok(ctx
        .db
        .run_in(scope.rows(), move |conn| {
            bot_configs::table
                .find(&bot.id)
                .count()
                .get_result::<i64>(conn)
        })
        .await?
        > 0)
}

/// What applying `template_id` to one of the scope's bots would change; nothing is saved.
pub async fn preview_template(
    ctx: &Context,
    scope: &TenantScope,
    bot_id: &str,
    template_id: &str,
    reset: bool,
) -> ServiceResult<TemplatePreview> {
    require_editor(scope)?;
    let bot = model::find(ctx, scope, bot_id).await?;
    let (tenant_id, template_id) = (scope.tenant_id().to_owned(), template_id.to_owned());
    let id = bot.id.clone();
    let (template, merged) = ctx
        .db
        .transaction(scope.rows(), move |conn| {
            let template = allowed_template(conn, &tenant_id, &template_id)?;
            let merged = merge(&load_in(conn, &id)?, &template, reset);
            Ok::<_, ServiceError>((template, merged))
        })
        .await?;
    Ok(TemplatePreview {
        bot,
        template,
        reset,
        merged,
    })
}

/// Apply a template to one of the scope's bots, keeping the workspace's edits unless
/// `reset`. Premium templates need their feature.
pub async fn apply_template(
    ctx: &Context,
    scope: &TenantScope,
    bot_id: &str,
    template_id: &str,
    reset: bool,
) -> ServiceResult<()> {
    require_editor(scope)?;
    let bot = model::find(ctx, scope, bot_id).await?;
    let (tenant_id, template_id) = (scope.tenant_id().to_owned(), template_id.to_owned());
    ctx.db
        .transaction(scope.rows(), move |conn| {
            let template = allowed_template(conn, &tenant_id, &template_id)?;
            let merged = merge(&load_in(conn, &bot.id)?, &template, reset);
            save_in(
                conn,
                &tenant_id,
                &bot.id,
                Some(&template.id),
                &merged.config,
            )?;
            Ok::<_, ServiceError>(())
        })
        .await
}

/// A bot's settings for its settings page.
pub async fn for_bot(
    ctx: &Context,
    scope: &TenantScope,
    bot_id: &str,
) -> ServiceResult<(model::Bot, StoredConfig)> {
    let bot = model::find(ctx, scope, bot_id).await?;
    let id = bot.id.clone();
    let stored = ctx
        .db
        .run_in(scope.rows(), move |conn| load_in(conn, &id))
        .await?;
    Ok((bot, stored))
}

/// What the settings form sends, already split into fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SettingsInput {
    pub prefix: String,
    pub language: String,
    pub welcome: String,
    pub hours_enabled: bool,
    pub utc_offset: String,
    pub days: Vec<u8>,
    pub open: String,
    pub close: String,
    pub away_message: String,
    pub fallback: String,
    pub anti_link: bool,
    /// Messages a minute from one contact before the bot pauses for them; blank: the default.
    pub flood_limit: String,
    /// Per command, in the stored order: (enabled, reply).
    pub commands: Vec<(bool, String)>,
    /// `keyword, keyword => reply`, one per line.
    pub keywords: String,
    pub menu_title: String,
    /// `Label => reply` or `Label => flow:<id>`, one per line.
    pub menu: String,
    /// What a customer writes to reach a person, comma-separated; `None` (not sent): kept.
    pub handoff_words: Option<String>,
    /// What a customer writes to stop broadcasts, comma-separated; `None`: kept.
    pub opt_out_words: Option<String>,
    /// What a customer writes to get broadcasts again, comma-separated; `None`: kept.
    pub opt_in_words: Option<String>,
    /// Minutes a takeover silences the bot; blank: the default; `None`: kept.
    pub takeover_idle_minutes: Option<String>,
}

/// The most words a word list (handoff, opt-out, opt-in) holds.
pub const MAX_WORDS: usize = 10;

/// The longest word of a word list, in characters.
pub const MAX_WORD_CHARS: usize = 20;

/// A word list as the settings form shows it: `stop, unsubscribe`.
pub fn words_text(words: &[String]) -> String {
    words.join(", ")
}

/// A comma-separated word list typed in the form: each word trimmed (inner spaces kept as
/// one), lowercase, 1 to 20 characters, at most 10, each once; else what is wrong.
pub fn parse_words(raw: &str) -> Result<Vec<String>, String> {
    let mut words: Vec<String> = Vec::new();
    for word in raw.split(',') {
        let word = word
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase();
        if word.is_empty() {
            continue;
        }
        if word.chars().count() > MAX_WORD_CHARS || word.chars().any(|c| c.is_control()) {
            return Err(format!(
                "Keep each word to {MAX_WORD_CHARS} characters, separated by commas (\"{}\" is \
                 too long).",
                word.chars().take(MAX_WORD_CHARS + 10).collect::<String>()
            ));
        }
        if !words.contains(&word) {
            words.push(word);
        }
    }
    if words.len() > MAX_WORDS {
        return Err(format!("Use at most {MAX_WORDS} words."));
    }
    Ok(words)
}

/// The takeover silence typed in the form (blank: the default), or what is wrong with it.
fn parse_takeover_idle(raw: &str) -> Result<u32, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(DEFAULT_TAKEOVER_IDLE);
    }
    raw.parse::<u32>()
        .ok()
        .filter(|n| TAKEOVER_IDLE_MINUTES.contains(n))
        .ok_or_else(|| {
            format!(
                "Use a whole number of minutes from {} to {} (the default is \
                 {DEFAULT_TAKEOVER_IDLE}).",
                TAKEOVER_IDLE_MINUTES.start(),
                TAKEOVER_IDLE_MINUTES.end()
            )
        })
}

/// The keyword replies as the settings form shows them.
pub fn keywords_text(config: &BotConfig) -> String {
    config
        .keywords
        .iter()
        .map(|k| {
            format!(
                "{} => {}",
                k.keywords.join(", "),
                k.reply.replace('\n', " ")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The menu as the settings form shows it.
pub fn menu_text(config: &BotConfig) -> String {
    config
        .menu
        .items
        .iter()
        .map(|i| match &i.flow {
            Some(flow) => format!("{} => flow:{flow}", i.label),
            None => format!("{} => {}", i.label, i.reply.replace('\n', " ")),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

const MAX_TEXT: usize = 1000;

fn text_field(errors: &mut FieldErrors, field: &'static str, value: &str) -> String {
    let value = value.trim().replace("\r\n", "\n");
    if value.chars().count() > MAX_TEXT {
        errors.add(field, format!("Keep it under {MAX_TEXT} characters."));
    }
    value
}

/// The settings `input` describes, applied over `current`, or every field's problem.
pub fn validate(current: &BotConfig, input: &SettingsInput) -> Result<BotConfig, FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut config = current.clone();
    let prefix = input.prefix.trim();
    if prefix.is_empty()
        || prefix.chars().count() > 3
        || prefix
            .chars()
            .any(|c| c.is_alphanumeric() || c.is_whitespace())
    {
        errors.add(
            "prefix",
            "Use one to three symbols, like ! or /, without letters or spaces.",
        );
    }
    config.prefix = prefix.to_owned();
    if !LANGUAGES.iter().any(|(code, _)| *code == input.language) {
        errors.add("language", "Choose a language from the list.");
    }
    config.language = input.language.clone();
    config.welcome = text_field(&mut errors, "welcome", &input.welcome);
    config.away_message = text_field(&mut errors, "away_message", &input.away_message);
    config.fallback = text_field(&mut errors, "fallback", &input.fallback);
    config.anti_link = input.anti_link;
    match parse_flood_limit(&input.flood_limit) {
        Ok(limit) => config.flood_limit = limit,
        Err(m) => errors.add("flood_limit", m),
    }
    for (field, typed, target) in [
        (
            "handoff_words",
            &input.handoff_words,
            &mut config.handoff_words,
        ),
        (
            "opt_out_words",
            &input.opt_out_words,
            &mut config.opt_out_words,
        ),
        (
            "opt_in_words",
            &input.opt_in_words,
            &mut config.opt_in_words,
        ),
    ] {
        if let Some(typed) = typed {
            match parse_words(typed) {
                Ok(words) => *target = words,
                Err(m) => errors.add(field, m),
            }
        }
    }
    if let Some(typed) = &input.takeover_idle_minutes {
        match parse_takeover_idle(typed) {
            Ok(minutes) => config.takeover_idle_minutes = minutes,
            Err(m) => errors.add("takeover_idle_minutes", m),
        }
    }
    if config
        .opt_out_words
        .iter()
        .any(|w| config.opt_in_words.contains(w))
    {
        errors.add(
            "opt_in_words",
            "A word cannot both stop and start broadcasts.",
        );
    }

    config.hours.enabled = input.hours_enabled;
    config.hours.utc_offset = input.utc_offset.trim().to_owned();
    config.hours.open = input.open.trim().to_owned();
    config.hours.close = input.close.trim().to_owned();
    config.hours.days = input
        .days
        .iter()
        .copied()
        .filter(|d| (1..=7).contains(d))
        .collect();
    config.hours.days.sort_unstable();
    config.hours.days.dedup();
    if let Err(m) = hours::parse_offset(&config.hours.utc_offset) {
        errors.add("utc_offset", m);
    }
    let open = hours::parse_time(&config.hours.open).map_err(|m| errors.add("open", m));
    let close = hours::parse_time(&config.hours.close).map_err(|m| errors.add("close", m));
    if let (Ok(open), Ok(close)) = (open, close)
        && close <= open
    {
        errors.add("close", "Closing time must be after opening time.");
    }
    if input.hours_enabled && config.away_message.is_empty() {
        errors.add(
            "away_message",
            "Write an away message: customers get it outside business hours.",
        );
    }
    if input.hours_enabled && config.hours.days.is_empty() {
        errors.add("days", "Tick at least one day the business is open.");
    }
    if let Some(m) = stale_hours(&current.hours, &config.hours, &config.away_message) {
        errors.add("away_message", m);
    }

    for (command, (enabled, reply)) in config.commands.iter_mut().zip(&input.commands) {
        command.enabled = *enabled;
        if command.action.is_none() {
            let reply = reply.trim().replace("\r\n", "\n");
            if command.enabled && reply.is_empty() {
                errors.add(
                    "commands",
                    format!(
                        "Write a reply for {}{}, or switch it off.",
                        prefix, command.name
                    ),
                );
            }
            command.reply = reply;
        }
    }

    match parse_keywords(&input.keywords) {
        Ok(keywords) => config.keywords = keywords,
        Err(m) => errors.add("keywords", m),
    }
    config.menu.title = input.menu_title.trim().to_owned();
    match parse_menu(&input.menu, &config) {
        Ok(items) => config.menu.items = items,
        Err(m) => errors.add("menu", m),
    }
    errors.into_result().map(|()| config)
}

/// The flood limit typed in the form (blank: the default), or what is wrong with it.
fn parse_flood_limit(raw: &str) -> Result<u32, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(DEFAULT_FLOOD_LIMIT);
    }
    raw.parse::<u32>()
        .ok()
        .filter(|n| FLOOD_LIMITS.contains(n))
        .ok_or_else(|| {
            format!(
                "Use a whole number from {} to {} (the default is {DEFAULT_FLOOD_LIMIT}).",
                FLOOD_LIMITS.start(),
                FLOOD_LIMITS.end()
            )
        })
}

/// When the opening or closing time changes but the away message still names the old one,
/// customers would be told the old hours: say so, and point to `{hours}`.
fn stale_hours(
    before: &BusinessHours,
    after: &BusinessHours,
    away_message: &str,
) -> Option<String> {
    let changed = before.open != after.open || before.close != after.close;
    let names_old = [&before.open, &before.close]
        .iter()
        .any(|time| !time.is_empty() && away_message.contains(time.as_str()));
    (changed && names_old).then(|| {
        format!(
            "This still names the old hours ({} to {}). Write {} where the hours go, and \
             customers always get the hours set above.",
            before.open,
            before.close,
            hours::PLACEHOLDER
        )
    })
}

fn split_line(line: &str) -> Option<(&str, &str)> {
    let (left, right) = line.split_once("=>")?;
    let (left, right) = (left.trim(), right.trim());
    (!left.is_empty() && !right.is_empty()).then_some((left, right))
}

fn parse_keywords(text: &str) -> Result<Vec<KeywordReply>, String> {
    let mut replies = Vec::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let (words, reply) = split_line(line)
            .ok_or_else(|| format!("Line {}: write keywords, then =>, then the reply.", n + 1))?;
        replies.push(KeywordReply {
            keywords: words
                .split(',')
                .map(|w| w.trim().to_lowercase())
                .filter(|w| !w.is_empty())
                .collect(),
            reply: reply.to_owned(),
        });
    }
    Ok(replies)
}

fn parse_menu(text: &str, config: &BotConfig) -> Result<Vec<MenuItem>, String> {
    let mut items = Vec::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let (label, target) = split_line(line)
            .ok_or_else(|| format!("Line {}: write the label, then =>, then the reply.", n + 1))?;
        let item = match target.strip_prefix("flow:") {
            Some(flow) if config.flow(flow.trim()).is_some() => MenuItem {
                label: label.to_owned(),
                reply: String::new(),
                flow: Some(flow.trim().to_owned()),
            },
            Some(flow) => return Err(format!("Line {}: there is no flow {flow}.", n + 1)),
            None => MenuItem {
                label: label.to_owned(),
                reply: target.to_owned(),
                flow: None,
            },
        };
        items.push(item);
    }
    if items.len() > 9 {
        return Err("A menu can have up to 9 items.".into());
    }
    Ok(items)
}

/// Save the settings form for one of the scope's bots; the stored settings on success. A save
/// that changes something is audited, naming what changed.
pub async fn update(
    ctx: &Context,
    scope: &TenantScope,
    bot_id: &str,
    input: SettingsInput,
    client: &ClientInfo,
) -> ServiceResult<BotConfig> {
    require_editor(scope)?;
    let bot = model::find(ctx, scope, bot_id).await?;
    let tenant_id = scope.tenant_id().to_owned();
    let (scope_in, client) = (scope.clone(), client.clone());
    ctx.db
        .transaction(scope.rows(), move |conn| {
            let current = load_in(conn, &bot.id)?;
            let config = validate(&current.config, &input)?;
            let changed = config_changes::changed_parts(&current.config, &config);
            if !changed.is_empty() {
                let detail = config_changes::describe(&bot.name, &changed);
                audit_settings_in(conn, &scope_in, &detail, &client)?;
            }
            save_in(
                conn,
                &tenant_id,
                &bot.id,
                current.template_id.as_deref(),
                &config,
            )?;
            Ok::<_, ServiceError>(config)
        })
        .await
}

/// Add the workspace's own command (plan feature: custom commands). Audited.
pub async fn add_custom_command(
    ctx: &Context,
    scope: &TenantScope,
    bot_id: &str,
    raw_name: &str,
    reply: &str,
    client: &ClientInfo,
) -> ServiceResult<()> {
    require_editor(scope)?;
    let bot = model::find(ctx, scope, bot_id).await?;
    let name = raw_name
        .trim()
        .trim_start_matches(['!', '/', '.', '#'])
        .to_lowercase();
    let reply = reply.trim().to_owned();
    let mut errors = FieldErrors::new();
    if name.is_empty()
        || name.len() > 20
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        errors.add("command_name", "Use 1 to 20 letters, digits or _.");
    }
    if super::router::BUILT_IN.contains(&name.as_str()) {
        errors.add("command_name", "That name is taken by a built-in command.");
    }
    if reply.is_empty() || reply.chars().count() > MAX_TEXT {
        errors.add("command_reply", "Write the reply (up to 1000 characters).");
    }
    errors.into_result()?;
    let tenant_id = scope.tenant_id().to_owned();
    let (scope_in, client) = (scope.clone(), client.clone());
    ctx.db
        .transaction(scope.rows(), move |conn| {
            plan_error(
                "command_name",
                entitlements::check_in(conn, &tenant_id, Action::Use(Feature::CustomCommands))?,
            )?;
            let current = load_in(conn, &bot.id)?;
            let mut config = current.config;
            if config.commands.iter().any(|c| c.name == name) {
                return Err(ServiceError::invalid(
                    "command_name",
                    "This bot already has a command with that name.",
                ));
            }
            let detail = format!("{}: added the command {}{name}", bot.name, config.prefix);
            audit_settings_in(conn, &scope_in, &detail, &client)?;
            config.commands.push(CommandDef {
                name,
                description: "Your own command".into(),
                reply,
                action: None,
                owner_only: false,
                premium: None,
                enabled: true,
                custom: true,
            });
            save_in(
                conn,
                &tenant_id,
                &bot.id,
                current.template_id.as_deref(),
                &config,
            )?;
            Ok(())
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input_for(config: &BotConfig) -> SettingsInput {
        SettingsInput {
            prefix: config.prefix.clone(),
            language: config.language.clone(),
            welcome: config.welcome.clone(),
            hours_enabled: config.hours.enabled,
            utc_offset: config.hours.utc_offset.clone(),
            days: config.hours.days.clone(),
            open: config.hours.open.clone(),
            close: config.hours.close.clone(),
            away_message: config.away_message.clone(),
            fallback: config.fallback.clone(),
            anti_link: config.anti_link,
            flood_limit: config.flood_limit.to_string(),
            commands: config
                .commands
                .iter()
                .map(|c| (c.enabled, c.reply.clone()))
                .collect(),
            keywords: keywords_text(config),
            menu_title: config.menu.title.clone(),
            menu: menu_text(config),
            handoff_words: Some(words_text(&config.handoff_words)),
            opt_out_words: Some(words_text(&config.opt_out_words)),
            opt_in_words: Some(words_text(&config.opt_in_words)),
            takeover_idle_minutes: Some(config.takeover_idle_minutes.to_string()),
        }
    }

    #[test]
    fn the_form_round_trips_every_template() {
        for template in presets::catalogue() {
            let config = &template.config;
            assert_eq!(
                validate(config, &input_for(config)).as_ref(),
                Ok(config),
                "{}",
                template.id
            );
        }
    }

    #[test]
    fn bad_fields_are_named() {
        let config = presets::find("customer_support").unwrap().config;
        let mut input = input_for(&config);
        input.prefix = "go".into();
        input.open = "9am".into();
        input.hours_enabled = true;
        input.away_message = String::new();
        input.keywords = "refund without arrow".into();
        input.menu = "Order => flow:nope".into();
        let errors = validate(&config, &input).unwrap_err();
        for field in ["prefix", "open", "away_message", "keywords", "menu"] {
            assert!(errors.get(field).is_some(), "{field}: {errors:?}");
        }
    }

    #[test]
    fn word_lists_and_the_takeover_silence_are_checked() {
        let config = BotConfig::default();
        let mut input = input_for(&config);
        input.handoff_words = Some(" Human ,  talk   to me, human,, ".into());
        input.takeover_idle_minutes = Some("90".into());
        let saved = validate(&config, &input).unwrap();
        assert_eq!(saved.handoff_words, ["human", "talk to me"]);
        assert_eq!(saved.takeover_idle_minutes, 90);

        input.opt_out_words = Some("a-very-long-word-indeed-too-long".into());
        input.opt_in_words = Some(
            (1..=11)
                .map(|n| format!("w{n}"))
                .collect::<Vec<_>>()
                .join(","),
        );
        input.takeover_idle_minutes = Some("2".into());
        let errors = validate(&config, &input).unwrap_err();
        for field in ["opt_out_words", "opt_in_words", "takeover_idle_minutes"] {
            assert!(errors.get(field).is_some(), "{field}: {errors:?}");
        }

        let untouched = SettingsInput {
            handoff_words: None,
            opt_out_words: None,
            opt_in_words: None,
            takeover_idle_minutes: None,
            ..input_for(&config)
        };
        assert_eq!(validate(&config, &untouched), Ok(config));
    }

    #[test]
    fn reapplying_keeps_edits_and_reset_restores() {
        let template = presets::find("restaurant_orders").unwrap();
        let mut edited = template.config.clone();
        edited.welcome = "Ciao!".into();
        let current = StoredConfig {
            config: edited,
            template_id: Some(template.id.clone()),
            paused: false,
        };
        assert_eq!(merge(&current, &template, false).config.welcome, "Ciao!");
        assert_eq!(
            merge(&current, &template, true).config.welcome,
            template.config.welcome
        );
    }
}
