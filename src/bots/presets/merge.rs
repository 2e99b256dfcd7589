//! Applying a template over a bot's own settings, and the list of what that changes.
//!
//! Without "reset" nothing the workspace wrote is lost: a setting it edited stays, a
//! non-empty text is never emptied, its commands, keyword replies and flows stay, and what
//! the template brings that the bot lacks is added. What the bot still holds exactly as an
//! earlier template (the `base`) gave it is not an edit: the new template replaces it.
//! With "reset" the result is the template itself.

use super::super::behaviour::{BotConfig, BusinessHours, CommandDef, Flow, KeywordReply, Menu};

/// What applying does to one item of the settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The bot's own version stays although the template's differs (or it has none).
    Kept,
    /// The bot had none; the template's is added.
    Added,
    /// The bot's version, as an earlier template gave it, becomes the template's.
    Replaced,
    /// Dropped (only with "reset").
    Removed,
}

/// One item of the settings and what happens to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub outcome: Outcome,
    /// What it is, as the settings page names it ("Welcome message", "Command !faq").
    pub item: String,
    /// The text the bot answers with afterwards (or, when removed, did); may be empty.
    pub detail: String,
}

/// The settings after applying, and every change on the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged {
    pub config: BotConfig,
    pub changes: Vec<Change>,
}

impl Merged {
    /// The changes with `outcome`, in settings order.
    pub fn with(&self, outcome: Outcome) -> Vec<&Change> {
        self.changes
            .iter()
            .filter(|c| c.outcome == outcome)
            .collect()
    }
}

/// Apply `template` over `current`. `base` is the template the bot's settings came from
/// (`None`: a plain bot, whose base is the default settings).
pub fn apply(
    current: &BotConfig,
    base: Option<&BotConfig>,
    template: &BotConfig,
    reset: bool,
) -> Merged {
    let plain = BotConfig::default();
    let base = base.unwrap_or(&plain);
    let mut merge = Merge {
        changes: Vec::new(),
        reset,
    };
    // First: the commands are named with the prefix the bot ends up with.
    let prefix = merge.setting(
        "Command prefix",
        &current.prefix,
        &base.prefix,
        &template.prefix,
        String::clone,
    );
    let config = BotConfig {
        language: merge.setting(
            "Language",
            &current.language,
            &base.language,
            &template.language,
            String::clone,
        ),
        welcome: merge.text(
            "Welcome message",
            &current.welcome,
            &base.welcome,
            &template.welcome,
        ),
        hours: merge.setting(
            "Business hours",
            &current.hours,
            &base.hours,
            &template.hours,
            describe_hours,
        ),
        away_message: merge.text(
            "Away message",
            &current.away_message,
            &base.away_message,
            &template.away_message,
        ),
        fallback: merge.text(
            "Reply when nothing matches",
            &current.fallback,
            &base.fallback,
            &template.fallback,
        ),
        anti_link: merge.setting(
            "Warn people who post links",
            &current.anti_link,
            &base.anti_link,
            &template.anti_link,
            |on| if *on { "On" } else { "Off" }.to_owned(),
        ),
        commands: merge.commands(
            &prefix,
            &current.commands,
            &base.commands,
            &template.commands,
        ),
        keywords: merge.keywords(&current.keywords, &base.keywords, &template.keywords),
        menu: merge.menu(&current.menu, &base.menu, &template.menu),
        flows: merge.flows(&current.flows, &base.flows, &template.flows),
        flood_limit: merge.setting(
            "Flood limit (messages a minute from one contact)",
            &current.flood_limit,
            &base.flood_limit,
            &template.flood_limit,
            u32::to_string,
        ),
        currency: merge.setting(
            "Currency",
            &current.currency,
            &base.currency,
            &template.currency,
            String::clone,
        ),
        handoff_words: merge.setting(
            "Words that ask for a person",
            &current.handoff_words,
            &base.handoff_words,
            &template.handoff_words,
            |words| words.join(", "),
        ),
        takeover_idle_minutes: merge.setting(
            "Minutes the bot stays silent after a takeover",
            &current.takeover_idle_minutes,
            &base.takeover_idle_minutes,
            &template.takeover_idle_minutes,
            u32::to_string,
        ),
        opt_out_words: merge.setting(
            "Words that stop broadcasts",
            &current.opt_out_words,
            &base.opt_out_words,
            &template.opt_out_words,
            |words| words.join(", "),
        ),
        opt_in_words: merge.setting(
            "Words that start broadcasts again",
            &current.opt_in_words,
            &base.opt_in_words,
            &template.opt_in_words,
            |words| words.join(", "),
        ),
        prefix,
    };
    Merged {
        config,
        changes: merge.changes,
    }
}

fn describe_hours(hours: &BusinessHours) -> String {
    if !hours.enabled {
        return "Answer at any time".to_owned();
    }
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let days: Vec<&str> = hours
        .days
        .iter()
        .filter_map(|d| DAYS.get(usize::from(*d).wrapping_sub(1)).copied())
        .collect();
    format!(
        "{} {}–{} (UTC{})",
        days.join(", "),
        hours.open,
        hours.close,
        hours.utc_offset
    )
}

fn describe_menu(menu: &Menu) -> String {
    let labels: Vec<&str> = menu.items.iter().map(|i| i.label.as_str()).collect();
    labels.join(" · ")
}

fn describe_command(command: &CommandDef) -> String {
    if command.action.is_some() {
        command.description.clone()
    } else {
        command.reply.clone()
    }
}

struct Merge {
    changes: Vec<Change>,
    reset: bool,
}

impl Merge {
    fn note(&mut self, outcome: Outcome, item: impl Into<String>, detail: String) {
        self.changes.push(Change {
            outcome,
            item: item.into(),
            detail,
        });
    }

    /// A setting that always has a value (prefix, language, hours, a switch).
    fn setting<T: Clone + PartialEq>(
        &mut self,
        item: &str,
        current: &T,
        base: &T,
        template: &T,
        describe: impl Fn(&T) -> String,
    ) -> T {
        if current == template {
            return current.clone();
        }
        // Hours that stay switched off differ in nothing a customer notices: not listed.
        let (ours, theirs) = (describe(current), describe(template));
        let noticed = ours != theirs;
        if self.reset || current == base {
            if noticed {
                self.note(Outcome::Replaced, item, theirs);
            }
            template.clone()
        } else {
            if noticed {
                self.note(Outcome::Kept, item, ours);
            }
            current.clone()
        }
    }

    /// A text the bot sends, where empty means "none".
    fn text(&mut self, item: &str, current: &str, base: &str, template: &str) -> String {
        if current == template {
            return current.to_owned();
        }
        if self.reset {
            let outcome = match (current.is_empty(), template.is_empty()) {
                (true, _) => Outcome::Added,
                (false, true) => Outcome::Removed,
                (false, false) => Outcome::Replaced,
            };
            let detail = if template.is_empty() {
                current
            } else {
                template
            };
            self.note(outcome, item, detail.to_owned());
            return template.to_owned();
        }
        if current.is_empty() {
            self.note(Outcome::Added, item, template.to_owned());
            template.to_owned()
        } else if current == base && !template.is_empty() {
            self.note(Outcome::Replaced, item, template.to_owned());
            template.to_owned()
        } else {
            self.note(Outcome::Kept, item, current.to_owned());
            current.to_owned()
        }
    }

    fn commands(
        &mut self,
        prefix: &str,
        current: &[CommandDef],
        base: &[CommandDef],
        template: &[CommandDef],
    ) -> Vec<CommandDef> {
        let item = |c: &CommandDef| format!("Command {prefix}{}", c.name);
        if self.reset {
            for gone in current
                .iter()
                .filter(|c| !template.iter().any(|t| t.name == c.name))
            {
                self.note(Outcome::Removed, item(gone), describe_command(gone));
            }
        }
        let mut commands: Vec<CommandDef> = if self.reset {
            Vec::new()
        } else {
            current.to_vec()
        };
        for offered in template {
            let ours = current.iter().find(|c| c.name == offered.name);
            match ours {
                Some(ours) if ours == offered => {
                    if self.reset {
                        commands.push(offered.clone());
                    }
                }
                None => {
                    self.note(Outcome::Added, item(offered), describe_command(offered));
                    commands.push(offered.clone());
                }
                Some(ours) => {
                    let untouched = !ours.custom && base.contains(ours);
                    if self.reset || untouched {
                        self.note(Outcome::Replaced, item(offered), describe_command(offered));
                        match commands.iter_mut().find(|c| c.name == offered.name) {
                            Some(slot) => *slot = offered.clone(),
                            None => commands.push(offered.clone()),
                        }
                    } else {
                        self.note(Outcome::Kept, item(ours), describe_command(ours));
                    }
                }
            }
        }
        if !self.reset {
            for own in current
                .iter()
                .filter(|c| !template.iter().any(|t| t.name == c.name))
            {
                self.note(Outcome::Kept, item(own), describe_command(own));
            }
        }
        commands
    }

    /// Keyword replies match when they share a keyword: two replies to "hours" would leave
    /// one of them unanswerable.
    fn keywords(
        &mut self,
        current: &[KeywordReply],
        base: &[KeywordReply],
        template: &[KeywordReply],
    ) -> Vec<KeywordReply> {
        let item = |k: &KeywordReply| format!("Keyword reply: {}", k.keywords.join(", "));
        let overlaps =
            |a: &KeywordReply, b: &KeywordReply| a.keywords.iter().any(|w| b.keywords.contains(w));
        if self.reset {
            for gone in current
                .iter()
                .filter(|c| !template.iter().any(|t| overlaps(t, c)))
            {
                self.note(Outcome::Removed, item(gone), gone.reply.clone());
            }
            for offered in template {
                match current.iter().find(|c| overlaps(offered, c)) {
                    None => self.note(Outcome::Added, item(offered), offered.reply.clone()),
                    Some(ours) if ours == offered => {}
                    Some(_) => self.note(Outcome::Replaced, item(offered), offered.reply.clone()),
                }
            }
            return template.to_vec();
        }
        let mut replies = current.to_vec();
        // Which of `replies` now hold the template's own (not the bot's earlier) version.
        let mut from_template = vec![false; replies.len()];
        let mut kept = vec![false; replies.len()];
        for offered in template {
            let matching = replies
                .iter()
                .enumerate()
                .find(|(i, ours)| !from_template[*i] && overlaps(offered, ours))
                .map(|(i, _)| i);
            match matching {
                None => {
                    self.note(Outcome::Added, item(offered), offered.reply.clone());
                    replies.push(offered.clone());
                    from_template.push(true);
                    kept.push(true);
                }
                Some(i) if replies[i] == *offered => {
                    from_template[i] = true;
                    kept[i] = true;
                }
                Some(i) if base.contains(&replies[i]) => {
                    self.note(Outcome::Replaced, item(offered), offered.reply.clone());
                    replies[i] = offered.clone();
                    from_template[i] = true;
                    kept[i] = true;
                }
                Some(_) => {}
            }
        }
        for (reply, _) in replies.iter().zip(&kept).filter(|(_, listed)| !**listed) {
            self.note(Outcome::Kept, item(reply), reply.reply.clone());
        }
        replies
    }

    /// The menu is one list a customer reads top to bottom, so it is kept or replaced whole.
    fn menu(&mut self, current: &Menu, base: &Menu, template: &Menu) -> Menu {
        if current == template {
            return current.clone();
        }
        let empty = |m: &Menu| m.items.is_empty();
        let outcome = match (empty(current), empty(template)) {
            (true, true) => None,
            (true, false) => Some(Outcome::Added),
            (false, true) if self.reset => Some(Outcome::Removed),
            (false, true) => Some(Outcome::Kept),
            (false, false) if self.reset || current == base => Some(Outcome::Replaced),
            (false, false) => Some(Outcome::Kept),
        };
        let take_template =
            self.reset || matches!(outcome, Some(Outcome::Added | Outcome::Replaced));
        let shown = if take_template && !empty(template) {
            template
        } else {
            current
        };
        if let Some(outcome) = outcome {
            self.note(outcome, "Menu", describe_menu(shown));
        }
        if take_template || empty(current) {
            template.clone()
        } else {
            current.clone()
        }
    }

    fn flows(&mut self, current: &[Flow], base: &[Flow], template: &[Flow]) -> Vec<Flow> {
        let item = |f: &Flow| format!("Conversation flow: {}", f.id);
        if self.reset {
            for gone in current
                .iter()
                .filter(|c| !template.iter().any(|t| t.id == c.id))
            {
                self.note(Outcome::Removed, item(gone), String::new());
            }
        }
        let mut flows: Vec<Flow> = if self.reset {
            Vec::new()
        } else {
            current.to_vec()
        };
        for offered in template {
            match current.iter().find(|f| f.id == offered.id) {
                Some(ours) if ours == offered => {
                    if self.reset {
                        flows.push(offered.clone());
                    }
                }
                None => {
                    self.note(Outcome::Added, item(offered), String::new());
                    flows.push(offered.clone());
                }
                Some(ours) if self.reset || base.contains(ours) => {
                    self.note(Outcome::Replaced, item(offered), String::new());
                    match flows.iter_mut().find(|f| f.id == offered.id) {
                        Some(slot) => *slot = offered.clone(),
                        None => flows.push(offered.clone()),
                    }
                }
                Some(ours) => self.note(Outcome::Kept, item(ours), String::new()),
            }
        }
        if !self.reset {
            for own in current
                .iter()
                .filter(|c| !template.iter().any(|t| t.id == c.id))
            {
                self.note(Outcome::Kept, item(own), String::new());
            }
        }
        flows
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bots::behaviour::CommandAction;
    use crate::bots::presets::find;

    fn config(id: &str) -> BotConfig {
        find(id).expect("a shipped template").config
    }

    fn items(merged: &Merged, outcome: Outcome) -> Vec<String> {
        merged
            .with(outcome)
            .into_iter()
            .map(|c| c.item.clone())
            .collect()
    }

    fn keyword<'a>(config: &'a BotConfig, word: &str) -> &'a KeywordReply {
        config
            .keywords
            .iter()
            .find(|k| k.keywords.iter().any(|w| w == word))
            .expect("a reply to the keyword")
    }

    fn custom_command() -> CommandDef {
        CommandDef {
            name: "offers".into(),
            description: "Your own command".into(),
            reply: "2 for 1 today".into(),
            action: None,
            owner_only: false,
            premium: None,
            enabled: true,
            custom: true,
        }
    }

    /// Customer Support, then edited by the workspace: a welcome, a keyword reply, its own
    /// command.
    fn edited_support() -> BotConfig {
        let mut edited = config("customer_support");
        edited.welcome = "Hi, this is Lima Bakery!".into();
        edited
            .keywords
            .iter_mut()
            .find(|k| k.keywords.contains(&"refund".to_owned()))
            .expect("the refund reply")
            .reply = "Bring it back within 14 days.".into();
        edited.commands.push(custom_command());
        edited
    }

    #[test]
    fn a_bot_without_settings_gets_exactly_the_template() {
        for template in crate::bots::presets::catalogue() {
            let merged = apply(&BotConfig::default(), None, &template.config, false);
            assert_eq!(merged.config, template.config, "{}", template.id);
            // Nothing is the workspace's own yet, so nothing is kept or lost.
            for outcome in [Outcome::Kept, Outcome::Removed] {
                assert_eq!(
                    items(&merged, outcome),
                    Vec::<String>::new(),
                    "{}",
                    template.id
                );
            }
        }
    }

    #[test]
    fn a_second_template_keeps_every_edit_and_adds_what_is_new() {
        let support = config("customer_support");
        let faq = config("faq_assistant");
        let merged = apply(&edited_support(), Some(&support), &faq, false);
        let result = &merged.config;

        // The edits stay.
        assert_eq!(result.welcome, "Hi, this is Lima Bakery!");
        assert_eq!(
            keyword(result, "refund").reply,
            "Bring it back within 14 days."
        );
        assert!(result.commands.contains(&custom_command()));
        // Texts the new template leaves empty are not emptied.
        assert_eq!(result.away_message, support.away_message);
        // Everything the bot had stays: its commands, flows and menu.
        for name in ["hours", "human", "offers", "faq"] {
            assert!(result.command(name).is_some(), "!{name}");
        }
        assert!(result.flow("ticket").is_some());
        assert_eq!(result.menu, support.menu);
        // What is new is added; a reply the bot had as Customer Support gave it becomes FAQ's.
        for word in ["hours", "price", "payment", "location"] {
            assert_eq!(keyword(result, word), keyword(&faq, word), "{word}");
        }
        assert_eq!(keyword(result, "shipping"), keyword(&faq, "shipping"));
        assert_eq!(result.fallback, faq.fallback);
        // One reply per keyword.
        let shipping = result
            .keywords
            .iter()
            .filter(|k| k.keywords.contains(&"shipping".to_owned()))
            .count();
        assert_eq!(shipping, 1);

        let kept = items(&merged, Outcome::Kept);
        for item in [
            "Welcome message",
            "Away message",
            "Keyword reply: refund, return",
            "Command !hours",
            "Command !human",
            "Command !offers",
            "Menu",
            "Conversation flow: ticket",
        ] {
            assert!(kept.iter().any(|k| k == item), "kept {item}: {kept:?}");
        }
        let added = items(&merged, Outcome::Added);
        assert!(added.iter().any(|a| a == "Command !faq"), "{added:?}");
        assert!(
            added
                .iter()
                .any(|a| a == "Keyword reply: price, cost, how much"),
            "{added:?}"
        );
        let replaced = items(&merged, Outcome::Replaced);
        assert_eq!(
            replaced,
            [
                "Reply when nothing matches",
                "Keyword reply: delivery, deliver, shipping"
            ]
        );
        assert_eq!(items(&merged, Outcome::Removed), Vec::<String>::new());
    }

    #[test]
    fn what_a_template_gave_and_nobody_edited_is_replaced() {
        let support = config("customer_support");
        let restaurant = config("restaurant_orders");
        let merged = apply(&support, Some(&support), &restaurant, false);
        assert_eq!(merged.config.welcome, restaurant.welcome);
        assert_eq!(merged.config.hours, restaurant.hours);
        assert_eq!(merged.config.menu, restaurant.menu);
        assert_eq!(
            merged.config.command("hours"),
            restaurant.command("hours"),
            "an untouched command takes the new template's reply"
        );
        assert!(merged.config.command("human").is_some(), "and none is lost");
        assert!(merged.config.commands.iter().any(|c| c.name == "order"
            && c.action
                == Some(CommandAction::Flow {
                    flow: "order".into()
                })));
        assert!(merged.config.flow("order").is_some());
        let replaced = items(&merged, Outcome::Replaced);
        // Switched-off hours are not listed: a customer notices no difference.
        for item in ["Welcome message", "Menu", "Command !hours"] {
            assert!(replaced.iter().any(|r| r == item), "{item}: {replaced:?}");
        }
    }

    #[test]
    fn an_edited_command_or_setting_is_kept() {
        let support = config("customer_support");
        let restaurant = config("restaurant_orders");
        let mut edited = support.clone();
        edited.prefix = "#".into();
        edited.commands[0].reply = "Open 8 to 8, every day.".into();
        let merged = apply(&edited, Some(&support), &restaurant, false);
        assert_eq!(merged.config.prefix, "#");
        assert_eq!(
            merged.config.command("hours").map(|c| c.reply.as_str()),
            Some("Open 8 to 8, every day.")
        );
        let kept = items(&merged, Outcome::Kept);
        assert!(kept.iter().any(|k| k == "Command #hours"), "{kept:?}");
        assert!(kept.iter().any(|k| k == "Command prefix"), "{kept:?}");
    }

    #[test]
    fn applying_the_same_template_again_changes_nothing_edited() {
        let support = config("customer_support");
        let edited = edited_support();
        let merged = apply(&edited, Some(&support), &support, false);
        assert_eq!(merged.config, edited);
        assert_eq!(items(&merged, Outcome::Replaced), Vec::<String>::new());
        assert_eq!(items(&merged, Outcome::Added), Vec::<String>::new());
    }

    #[test]
    fn reset_gives_the_template_and_lists_what_is_dropped() {
        let support = config("customer_support");
        let faq = config("faq_assistant");
        let merged = apply(&edited_support(), Some(&support), &faq, true);
        assert_eq!(merged.config, faq);
        let removed = items(&merged, Outcome::Removed);
        for item in [
            "Welcome message",
            "Command !offers",
            "Command !human",
            "Keyword reply: refund, return",
            "Menu",
            "Conversation flow: ticket",
        ] {
            assert!(removed.iter().any(|r| r == item), "{item}: {removed:?}");
        }
        assert_eq!(items(&merged, Outcome::Kept), Vec::<String>::new());
    }
}
