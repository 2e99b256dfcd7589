//! The typed shape of a bot's behaviour: settings, commands, keyword replies, a numbered menu
//! and multi-step flows. A template carries one; each bot keeps its own copy (edited by its
//! workspace) as JSON in `bot_configs`.

use serde::{Deserialize, Serialize};

use crate::billing::plans::Feature;

/// Everything a bot does, as its workspace configured it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BotConfig {
    /// What starts a command, usually `!`.
    pub prefix: String,
    /// The language customers are answered in (a BCP 47 tag, e.g. `en`).
    pub language: String,
    /// Sent to a contact the first time they write (empty: none).
    #[serde(default)]
    pub welcome: String,
    /// When the business answers.
    pub hours: BusinessHours,
    /// Sent instead of answers outside business hours.
    #[serde(default)]
    pub away_message: String,
    /// The answer to text nothing else matched (empty: stay silent).
    #[serde(default)]
    pub fallback: String,
    /// Warn strangers who post links.
    #[serde(default)]
    pub anti_link: bool,
    /// Commands the bot knows besides the built-in ones.
    #[serde(default)]
    pub commands: Vec<CommandDef>,
    /// Replies to messages containing a keyword.
    #[serde(default)]
    pub keywords: Vec<KeywordReply>,
    /// The numbered menu.
    #[serde(default)]
    pub menu: Menu,
    /// Multi-step conversations.
    #[serde(default)]
    pub flows: Vec<Flow>,
    /// Messages one contact may send in a minute before the bot pauses for them (the owner
    /// never is); see [`FLOOD_LIMITS`].
    #[serde(default = "default_flood_limit")]
    pub flood_limit: u32,
    /// The ISO 4217 code prices are in (`USD`, `EUR` …).
    #[serde(default = "default_currency")]
    pub currency: String,
    /// What a customer writes to reach a person (the whole message, any case): the thread
    /// then waits for the team and the bot is silent for a while.
    #[serde(default = "default_handoff_words")]
    pub handoff_words: Vec<String>,
    /// Minutes the bot stays silent after a person took a conversation over (or after the
    /// team's last reply in it), unless released sooner; see [`TAKEOVER_IDLE_MINUTES`].
    #[serde(default = "default_takeover_idle")]
    pub takeover_idle_minutes: u32,
    /// What a customer writes to stop broadcasts (the whole message, any case).
    #[serde(default = "default_opt_out_words")]
    pub opt_out_words: Vec<String>,
    /// What a customer writes to get broadcasts again.
    #[serde(default = "default_opt_in_words")]
    pub opt_in_words: Vec<String>,
}

/// The default silence after a takeover: an hour without a word from the team.
pub const DEFAULT_TAKEOVER_IDLE: u32 = 60;

/// The takeover silences a workspace may choose, in minutes: five minutes to a day.
pub const TAKEOVER_IDLE_MINUTES: std::ops::RangeInclusive<u32> = 5..=1440;

fn default_takeover_idle() -> u32 {
    DEFAULT_TAKEOVER_IDLE
}

fn default_handoff_words() -> Vec<String> {
    vec!["human".into(), "agent".into()]
}

fn default_opt_out_words() -> Vec<String> {
    vec!["stop".into(), "unsubscribe".into()]
}

fn default_opt_in_words() -> Vec<String> {
    vec!["start".into()]
}

/// Whether `text`, the whole message, is one of `words` (trimmed, any case).
pub fn says_one_of(text: &str, words: &[String]) -> bool {
    let text = text.trim();
    !text.is_empty() && words.iter().any(|w| w.trim().eq_ignore_ascii_case(text))
}

/// The default flood limit: one message a second for a whole minute. Someone typing (even
/// "ok", "yes", a digit) needs a few seconds per message, so a person never gets near it; a
/// script, a paste of a long text line by line or two bots answering each other do.
pub const DEFAULT_FLOOD_LIMIT: u32 = 60;

/// The flood limits a workspace may choose. Below 30 a fast typist in a hurry could trip it;
/// above 600 (ten a second) it would no longer stop anything.
pub const FLOOD_LIMITS: std::ops::RangeInclusive<u32> = 30..=600;

fn default_flood_limit() -> u32 {
    DEFAULT_FLOOD_LIMIT
}

fn default_currency() -> String {
    "USD".into()
}

/// Opening hours in one fixed UTC offset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusinessHours {
    /// Off: the bot answers at any time.
    pub enabled: bool,
    /// The business's offset from UTC, `+HH:MM` or `-HH:MM`.
    pub utc_offset: String,
    /// Open days, 1 = Monday … 7 = Sunday.
    pub days: Vec<u8>,
    /// Opening time, `HH:MM`.
    pub open: String,
    /// Closing time, `HH:MM` (after `open`).
    pub close: String,
}

/// A command such as `!hours`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandDef {
    /// Without the prefix, lowercase.
    pub name: String,
    /// One line for `!help`.
    pub description: String,
    /// The reply (for commands without an action).
    #[serde(default)]
    pub reply: String,
    /// What the command does besides replying.
    #[serde(default)]
    pub action: Option<CommandAction>,
    /// Only the bot's owner may use it.
    #[serde(default)]
    pub owner_only: bool,
    /// The plan feature it needs, if premium.
    #[serde(default)]
    pub premium: Option<Feature>,
    /// Switched on.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Added by the workspace (not from the template).
    #[serde(default)]
    pub custom: bool,
}

fn yes() -> bool {
    true
}

/// What a command does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CommandAction {
    /// Start the named flow.
    Flow { flow: String },
    /// Show the menu.
    Menu,
    /// Keep the text after the command as a note.
    SaveNote,
    /// List the notes.
    ListNotes,
    /// `remind <minutes> <text>`: send the text back later.
    Remind,
}

/// A reply to any message containing one of the keywords.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeywordReply {
    /// Lowercase words or phrases.
    pub keywords: Vec<String>,
    pub reply: String,
}

/// The numbered menu: a customer answers with the number.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Menu {
    pub title: String,
    pub items: Vec<MenuItem>,
}

/// One menu entry: a reply, or a flow to start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MenuItem {
    pub label: String,
    #[serde(default)]
    pub reply: String,
    #[serde(default)]
    pub flow: Option<String>,
}

/// A multi-step conversation (an order, a booking).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flow {
    pub id: String,
    pub steps: Vec<Step>,
    /// The reply when done; `{answers}` is replaced by the answers.
    pub done: String,
    /// Sent to the owner when done; `{name}`, `{number}` and `{answers}` are filled in.
    #[serde(default)]
    pub notify_owner: Option<String>,
}

/// One question of a flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub id: String,
    /// The question; `{answers}` is replaced by the answers so far.
    pub prompt: String,
    /// What an answer is recorded as ("Item"); empty: not recorded.
    #[serde(default)]
    pub label: String,
    /// Add the answer to the previous one with this separator (`" × "`) instead.
    #[serde(default)]
    pub append_to_previous: Option<String>,
    #[serde(flatten)]
    pub kind: StepKind,
}

/// What answer a step takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StepKind {
    /// Any text.
    Text,
    /// A whole number in a range.
    Number { min: i64, max: i64 },
    /// One of numbered options.
    Choice { options: Vec<ChoiceOption> },
    /// Yes (1) or no (2); yes finishes the flow, no cancels it.
    Confirm,
}

/// An option of a choice step; `goto` jumps to another step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChoiceOption {
    pub label: String,
    #[serde(default)]
    pub goto: Option<String>,
    /// What it costs, in cents of the bot's currency. A number step appended to a priced
    /// answer is its quantity; the answers then show each line's price and the total.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<i64>,
}

impl BotConfig {
    /// The flow with this id.
    pub fn flow(&self, id: &str) -> Option<&Flow> {
        self.flows.iter().find(|f| f.id == id)
    }

    /// The enabled command with this name.
    pub fn command(&self, name: &str) -> Option<&CommandDef> {
        self.commands.iter().find(|c| c.enabled && c.name == name)
    }
}

impl Default for BotConfig {
    /// A plain bot: built-in commands only.
    fn default() -> Self {
        Self {
            prefix: "!".into(),
            language: "en".into(),
            welcome: String::new(),
            hours: BusinessHours {
                enabled: false,
                utc_offset: "+00:00".into(),
                days: vec![1, 2, 3, 4, 5],
                open: "09:00".into(),
                close: "17:00".into(),
            },
            away_message: String::new(),
            fallback: String::new(),
            anti_link: false,
            commands: Vec::new(),
            keywords: Vec::new(),
            menu: Menu::default(),
            flows: Vec::new(),
            flood_limit: DEFAULT_FLOOD_LIMIT,
            currency: default_currency(),
            handoff_words: default_handoff_words(),
            takeover_idle_minutes: DEFAULT_TAKEOVER_IDLE,
            opt_out_words: default_opt_out_words(),
            opt_in_words: default_opt_in_words(),
        }
    }
}
