//! The command router: what the bot answers to one inbound message. Runs inside the
//! pipeline's transaction, so what it decides (replies, flow state, blocks, notes) is stored
//! together with the message or not at all.
//!
//! Order of rules: blocked senders get nothing; a contact writing too fast is paused for a
//! minute (told when it starts and when it ends) while the bot answers; a paused bot answers
//! only its owner;
//! outside business hours strangers get the away message once per closed period; then
//! commands (`!menu`, `!help`, owner commands, the template's), an open flow, anti-link, the
//! numbered menu, keyword replies, the welcome and the fallback. The owner is never paused
//! nor sent away.

mod away;
pub mod consent;
pub mod flood;
pub mod flow;
pub mod hours;
mod owner;

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;

use self::flood::Flood;
use self::flow::{Progress, Voice};
use super::behaviour::{BotConfig, CommandAction, CommandDef, says_one_of};
use super::conversation;
use super::model::Bot;
use super::settings;
use super::threads::{self, Landed};
use super::wording::counted;
use crate::billing::entitlements::{self, Action, Decision};
use crate::billing::meter::Tally;
use crate::billing::plans::Feature;
use crate::db::DbConn;
use crate::db::schema::bot_notes;
use crate::ids::new_id;

/// Commands every bot knows, whatever its template.
pub const BUILT_IN: [&str; 11] = [
    "ping",
    "help",
    "menu",
    "cancel",
    "status",
    "stats",
    "pause",
    "resume",
    "block",
    "unblock",
    "broadcast",
];

/// The warning to a stranger who posts a link where links are not allowed.
pub const NO_LINKS: &str = "Please don't post links here. Send !rules to read the rules.";

/// One inbound message, as the router sees it.
#[derive(Debug, Clone)]
pub struct Inbound<'a> {
    /// The sender's number (digits).
    pub from: &'a str,
    /// The sender's WhatsApp name, if known.
    pub name: Option<&'a str>,
    pub text: &'a str,
    /// The first message this contact ever sent the bot.
    pub first_contact: bool,
    /// The contact's id.
    pub contact_id: &'a str,
    /// The inbox thread the message landed in (none for the bot's owner).
    pub thread: Option<&'a Landed>,
    /// The sender is the bot's owner (the number that paired it).
    pub owner: bool,
}

/// Told to a customer who asked for a person.
pub const HANDED_OVER: &str = "Thank you. Someone from our team will answer you here shortly.";

/// A message the bot sends because of the inbound one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub to: String,
    pub body: String,
    /// Send later (a reminder), not now.
    pub delay: Option<Duration>,
}

impl Outgoing {
    fn now(to: &str, body: impl Into<String>) -> Self {
        Self {
            to: to.to_owned(),
            body: body.into(),
            delay: None,
        }
    }
}

/// Everything one turn needs.
struct Turn<'a> {
    conn: &'a mut DbConn,
    tally: &'a mut Tally,
    bot: &'a Bot,
    config: BotConfig,
    paused: bool,
    owner: bool,
    msg: &'a Inbound<'a>,
    now: DateTime<Utc>,
    base_url: &'a str,
    out: Vec<Outgoing>,
    /// The command the message invoked, for analytics (flow answers and chat are not).
    command: Option<String>,
}

/// What the router decided for one message.
#[derive(Debug, Default)]
pub struct Routed {
    pub replies: Vec<Outgoing>,
    /// The command invoked (`ping`, `!order` …), if the message was one.
    pub command: Option<String>,
}

/// Decide the replies to `msg` (within the pipeline's transaction); metered actions (a
/// broadcast's recipients) are counted on `tally`. `base_url` makes the upgrade link absolute.
pub fn route_in(
    conn: &mut DbConn,
    tally: &mut Tally,
    bot: &Bot,
    msg: &Inbound<'_>,
    now: DateTime<Utc>,
    base_url: &str,
) -> QueryResult<Routed> {
    let owner = msg.owner;
    if !owner && owner::is_blocked_in(conn, &bot.id, msg.from)? {
        return Ok(Routed::default());
    }
    let stored = settings::load_in(conn, &bot.id)?;
    if !owner {
        let at = now.naive_utc();
        if let Some(answer) =
            consent::answer_in(conn, msg.contact_id, msg.text, &stored.config, at)?
        {
            return Ok(Routed {
                replies: vec![Outgoing::now(msg.from, answer)],
                command: None,
            });
        }
        if let Some(thread) = msg.thread {
            // A person holds the conversation: the bot says nothing.
            if thread.held {
                return Ok(Routed::default());
            }
            if says_one_of(msg.text, &stored.config.handoff_words) {
                let idle = i64::from(stored.config.takeover_idle_minutes);
                threads::hand_over_in(conn, &thread.thread_id, at + Duration::minutes(idle), at)?;
                return Ok(Routed {
                    replies: vec![Outgoing::now(msg.from, HANDED_OVER)],
                    command: None,
                });
            }
        }
    }
    // The guard limits answers: a paused or closed bot gives a stranger none to limit.
    let answers = !stored.paused && hours::is_open(&stored.config.hours, now);
    if !owner && answers {
        match flood::check_in(conn, &bot.id, msg.from, now, stored.config.flood_limit)? {
            Flood::Clear => {}
            Flood::Paused => return Ok(Routed::default()),
            Flood::Starts { lasts } => {
                // The notice that the pause is over waits in the outbox, so it goes out
                // even if the contact writes nothing more (and after a restart).
                let resumed = Outgoing {
                    delay: Some(lasts),
                    ..Outgoing::now(msg.from, flood::RESUMED)
                };
                return Ok(Routed {
                    replies: vec![Outgoing::now(msg.from, flood::PAUSED), resumed],
                    command: None,
                });
            }
        }
    }
    let mut turn = Turn {
        conn,
        tally,
        bot,
        config: stored.config,
        paused: stored.paused,
        owner,
        msg,
        now,
        base_url,
        out: Vec::new(),
        command: None,
    };
    turn.route()?;
    Ok(Routed {
        replies: turn.out,
        command: turn.command,
    })
}

/// Whether `text` contains a web link.
fn has_link(text: &str) -> bool {
    let lower = text.to_lowercase();
    lower.contains("http://") || lower.contains("https://") || lower.contains("www.")
}

impl Turn<'_> {
    fn reply(&mut self, body: impl Into<String>) {
        let to = self.msg.from;
        self.out.push(Outgoing::now(to, body));
    }

    /// A reply the workspace wrote, with `{hours}` filled in from the current hours.
    fn reply_configured(&mut self, text: &str) {
        let filled = hours::fill(text, &self.config.hours);
        self.reply(filled);
    }

    fn voice(&self) -> Voice<'_> {
        Voice {
            prefix: &self.config.prefix,
            currency: &self.config.currency,
        }
    }

    /// Whether `name` (lowercase, without the prefix) is a command this bot knows.
    fn knows(&self, name: &str) -> bool {
        BUILT_IN.contains(&name) || self.config.command(name).is_some()
    }

    fn route(&mut self) -> QueryResult<()> {
        if self.paused && !self.owner {
            return Ok(());
        }
        if !self.owner && !hours::is_open(&self.config.hours, self.now) {
            let due = away::due_in(
                self.conn,
                &self.bot.id,
                self.msg.from,
                &self.config,
                self.now,
            )?;
            if let Some(away) = due {
                self.reply(away);
            }
            return Ok(());
        }
        let text = self.msg.text.trim();
        if text.eq_ignore_ascii_case("ping") {
            self.command = Some("ping".to_owned());
            self.reply("pong");
            return Ok(());
        }
        if let Some(command) = text.strip_prefix(self.config.prefix.as_str()) {
            let (name, args) = command
                .trim_start()
                .split_once(char::is_whitespace)
                .unwrap_or((command.trim(), ""));
            if !name.is_empty() {
                let name = name.to_lowercase();
                // Only commands the bot knows are counted: "!foo" is not a command.
                if self.knows(&name) {
                    self.command = Some(format!("{}{}", self.config.prefix, name));
                }
                return self.command(&name, args.trim());
            }
        }
        if let Some(state) = conversation::load_in(self.conn, &self.bot.id, self.msg.from)? {
            return self.continue_flow(state, text);
        }
        if self.config.anti_link && !self.owner && has_link(text) {
            self.reply(NO_LINKS.replace('!', &self.config.prefix));
            return Ok(());
        }
        if let Ok(number) = text.parse::<usize>()
            && !self.config.menu.items.is_empty()
        {
            return self.menu_choice(number);
        }
        let lower = text.to_lowercase();
        let keyword = self
            .config
            .keywords
            .iter()
            .find(|k| k.keywords.iter().any(|w| lower.contains(w.as_str())))
            .map(|k| k.reply.clone());
        let welcome = self.msg.first_contact && !self.owner && !self.config.welcome.is_empty();
        if welcome {
            let text = self.config.welcome.clone();
            self.reply_configured(&text);
        }
        match keyword {
            Some(reply) => self.reply_configured(&reply),
            None if !welcome && !self.config.fallback.is_empty() => {
                let fallback = self.config.fallback.clone();
                self.reply_configured(&fallback);
            }
            None => {}
        }
        Ok(())
    }

    fn command(&mut self, name: &str, args: &str) -> QueryResult<()> {
        let p = self.config.prefix.clone();
        match name {
            "ping" => self.reply("pong"),
            "help" => {
                let help = self.help();
                self.reply(help);
            }
            "menu" => self.show_menu(),
            "cancel" => {
                let had = conversation::load_in(self.conn, &self.bot.id, self.msg.from)?.is_some();
                conversation::clear_in(self.conn, &self.bot.id, self.msg.from)?;
                self.reply(if had {
                    flow::CANCELLED.to_owned()
                } else {
                    format!("There is nothing to cancel. Send {p}menu to see what I can do.")
                });
            }
            _ if owner::is_owner_command(name) => {
                if !self.owner {
                    self.reply(format!("Only this bot's owner can use {p}{name}."));
                } else if name == "broadcast" {
                    if self.allowed(Feature::Broadcasts)? {
                        self.broadcast(args)?;
                    }
                } else {
                    let reply = owner::run(self.conn, self.bot, name, args, &p, self.now)?;
                    self.reply(reply);
                }
            }
            _ => match self.config.command(name).cloned() {
                Some(command) => self.configured_command(&command, args)?,
                None => self.reply(format!(
                    "I don't know {p}{name}. Send {p}help to see what I can do."
                )),
            },
        }
        Ok(())
    }

    /// Whether the plan allows `feature`; if not, the refusal is the reply.
    fn allowed(&mut self, feature: Feature) -> QueryResult<bool> {
        self.decide(Action::Use(feature))
    }

    /// Check `action` and, for a metered one, count it; a refusal is answered with the
    /// upgrade link.
    fn decide(&mut self, action: Action) -> QueryResult<bool> {
        match entitlements::consume_in(self.conn, self.tally, &self.bot.tenant_id, action)? {
            Decision::Allowed => Ok(true),
            Decision::Denied(denial) => {
                let url = format!("{}{}", self.base_url, denial.upgrade_url);
                self.reply(format!("{} Upgrade here: {url}", denial.message()));
                Ok(false)
            }
        }
    }

    fn configured_command(&mut self, command: &CommandDef, args: &str) -> QueryResult<()> {
        let p = self.config.prefix.clone();
        if command.owner_only && !self.owner {
            self.reply(format!(
                "Only this bot's owner can use {p}{}.",
                command.name
            ));
            return Ok(());
        }
        if let Some(feature) = command.premium
            && !self.allowed(feature)?
        {
            return Ok(());
        }
        match &command.action {
            None => self.reply_configured(&command.reply),
            Some(CommandAction::Menu) => self.show_menu(),
            Some(CommandAction::Flow { flow }) => self.start_flow(flow)?,
            Some(CommandAction::SaveNote) => {
                let reply = save_note(self.conn, self.bot, args, &p)?;
                self.reply(reply);
            }
            Some(CommandAction::ListNotes) => {
                let reply = list_notes(self.conn, &self.bot.id)?;
                self.reply(reply);
            }
            Some(CommandAction::Remind) => self.remind(args, &p),
        }
        Ok(())
    }

    fn help(&self) -> String {
        let p = &self.config.prefix;
        let mut lines = vec![
            "Commands:".to_owned(),
            format!("{p}help — This list"),
            format!("{p}ping — Check the bot is up"),
        ];
        if !self.config.menu.items.is_empty() {
            lines.push(format!("{p}menu — The menu"));
        }
        if !self.config.flows.is_empty() {
            lines.push(format!(
                "{p}cancel — Stop an order, booking or request you started"
            ));
        }
        for command in self.config.commands.iter().filter(|c| c.enabled) {
            if !command.owner_only || self.owner {
                lines.push(format!("{p}{} — {}", command.name, command.description));
            }
        }
        if self.owner {
            lines.extend(
                owner::HELP
                    .iter()
                    .map(|(name, what)| format!("{p}{name} — {what}")),
            );
        }
        lines.join("\n")
    }

    fn show_menu(&mut self) {
        let menu = &self.config.menu;
        let text = if menu.items.is_empty() {
            format!(
                "This bot has no menu. Send {}help to see what I can do.",
                self.config.prefix
            )
        } else {
            let items: Vec<String> = menu
                .items
                .iter()
                .enumerate()
                .map(|(i, item)| format!("{}. {}", i + 1, item.label))
                .collect();
            format!("{}\n{}", menu.title, items.join("\n"))
        };
        self.reply(text);
    }

    fn menu_choice(&mut self, number: usize) -> QueryResult<()> {
        let count = self.config.menu.items.len();
        let Some(item) = number
            .checked_sub(1)
            .and_then(|i| self.config.menu.items.get(i))
            .cloned()
        else {
            self.reply(format!("Please choose a number from 1 to {count}."));
            return Ok(());
        };
        match item.flow {
            Some(flow) => self.start_flow(&flow),
            None => {
                self.reply_configured(&item.reply);
                Ok(())
            }
        }
    }

    fn start_flow(&mut self, id: &str) -> QueryResult<()> {
        let voice = self.voice();
        let Some((state, question)) = self.config.flow(id).and_then(|f| flow::start(f, voice))
        else {
            tracing::warn!(bot_id = %self.bot.id, flow = id, "a command names a missing flow");
            self.reply("Sorry, that is not available right now.");
            return Ok(());
        };
        conversation::save_in(
            self.conn,
            &self.bot.tenant_id,
            &self.bot.id,
            self.msg.from,
            &state,
        )?;
        self.reply(question);
        Ok(())
    }

    fn continue_flow(&mut self, state: flow::FlowState, text: &str) -> QueryResult<()> {
        let (bot_id, from) = (self.bot.id.clone(), self.msg.from);
        let Some(definition) = self.config.flow(&state.flow).cloned() else {
            conversation::clear_in(self.conn, &bot_id, from)?;
            return Ok(());
        };
        let name = self.msg.name.unwrap_or("a customer");
        match flow::answer(&definition, state, text, (name, from), self.voice()) {
            Progress::Ask { state, text } => {
                conversation::save_in(self.conn, &self.bot.tenant_id, &bot_id, from, &state)?;
                self.reply(text);
            }
            Progress::Done { reply, to_owner } => {
                conversation::clear_in(self.conn, &bot_id, from)?;
                self.reply(reply);
                if let (Some(body), Some(owner)) = (to_owner, self.bot.owner_number.clone()) {
                    self.out.push(Outgoing::now(&owner, body));
                }
            }
            Progress::Cancelled(reply) => {
                conversation::clear_in(self.conn, &bot_id, from)?;
                self.reply(reply);
            }
            Progress::GaveUp => {
                conversation::clear_in(self.conn, &bot_id, from)?;
                let again = self.how_to_start(&definition.id);
                self.reply(format!(
                    "Sorry, I didn't understand, so I've stopped here. Nothing was sent. {again}"
                ));
            }
        }
        Ok(())
    }

    /// How a customer starts flow `id` again: its command, else the menu, else `!help`.
    fn how_to_start(&self, id: &str) -> String {
        let p = &self.config.prefix;
        let starts = |action: &Option<CommandAction>| matches!(action, Some(CommandAction::Flow { flow }) if flow == id);
        if let Some(command) = self
            .config
            .commands
            .iter()
            .find(|c| c.enabled && !c.owner_only && starts(&c.action))
        {
            return format!(
                "Send {p}{} to start again, or {p}help to see what I can do.",
                command.name
            );
        }
        if self
            .config
            .menu
            .items
            .iter()
            .any(|i| i.flow.as_deref() == Some(id))
        {
            return format!("Send {p}menu to start again, or {p}help to see what I can do.");
        }
        format!("Send {p}help to see what I can do.")
    }

    fn broadcast(&mut self, text: &str) -> QueryResult<()> {
        let p = self.config.prefix.clone();
        if text.is_empty() {
            self.reply(format!(
                "Write the message after the command: {p}broadcast <text>"
            ));
            return Ok(());
        }
        let recipients = owner::broadcast_recipients_in(self.conn, self.bot, self.now)?;
        let count = i64::try_from(recipients.len()).unwrap_or(i64::MAX);
        if !self.decide(Action::Broadcast { recipients: count })? {
            return Ok(());
        }
        for to in &recipients {
            self.out.push(Outgoing::now(to, text));
        }
        self.reply(format!(
            "Broadcast queued to {}.",
            counted(count, "contact", "contacts")
        ));
        Ok(())
    }

    fn remind(&mut self, args: &str, p: &str) {
        let usage = format!("Write it as {p}remind <minutes> <text>, e.g. {p}remind 30 Call Ana");
        let Some((minutes, text)) = args.split_once(char::is_whitespace) else {
            self.reply(usage);
            return;
        };
        match minutes.parse::<i64>() {
            Ok(m) if (1..=10_080).contains(&m) && !text.trim().is_empty() => {
                self.out.push(Outgoing {
                    to: self.msg.from.to_owned(),
                    body: format!("Reminder: {}", text.trim()),
                    delay: Some(Duration::minutes(m)),
                });
                let unit = if m == 1 { "minute" } else { "minutes" };
                self.reply(format!("I'll remind you in {m} {unit}."));
            }
            _ => self.reply(usage),
        }
    }
}

fn save_note(conn: &mut DbConn, bot: &Bot, text: &str, p: &str) -> QueryResult<String> {
    if text.is_empty() {
        return Ok(format!("Write the note after the command: {p}note <text>"));
    }
    diesel::insert_into(bot_notes::table)
        .values((
            bot_notes::id.eq(new_id()),
            bot_notes::tenant_id.eq(&bot.tenant_id),
            bot_notes::bot_id.eq(&bot.id),
            bot_notes::body.eq(text.chars().take(1000).collect::<String>()),
            bot_notes::created_at.eq(Utc::now().naive_utc()),
        ))
        .execute(conn)?;
    let count: i64 = bot_notes::table
        .filter(bot_notes::bot_id.eq(&bot.id))
        .count()
        .get_result(conn)?;
    let unit = if count == 1 { "note" } else { "notes" };
    Ok(format!("Noted ({count} {unit})."))
}

fn list_notes(conn: &mut DbConn, bot_id: &str) -> QueryResult<String> {
    let notes: Vec<String> = bot_notes::table
        .filter(bot_notes::bot_id.eq(bot_id))
        .order((bot_notes::created_at.asc(), bot_notes::id.asc()))
        .select(bot_notes::body)
        .load(conn)?;
    if notes.is_empty() {
        return Ok("No notes yet.".into());
    }
    let lines: Vec<String> = notes
        .iter()
        .enumerate()
        .map(|(i, n)| format!("{}. {n}", i + 1))
        .collect();
    Ok(format!("Your notes:\n{}", lines.join("\n")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_spotted() {
        assert!(has_link("deals at https://spam.example"));
        assert!(has_link("WWW.example.com"));
        assert!(!has_link("see you at 5"));
    }
}
