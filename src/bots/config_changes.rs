//! What a save changed in a bot's settings, in words, for the audit trail: "welcome message,
//! business hours" rather than two JSON documents.

use super::behaviour::BotConfig;

/// The parts of the settings that differ between `before` and `after`, in form order. Empty
/// when nothing changed; "other settings" for a difference in a part not named here.
pub fn changed_parts(before: &BotConfig, after: &BotConfig) -> Vec<&'static str> {
    let parts: [(&str, bool); 17] = [
        ("command prefix", before.prefix != after.prefix),
        ("language", before.language != after.language),
        ("welcome message", before.welcome != after.welcome),
        (
            "reply when nothing matches",
            before.fallback != after.fallback,
        ),
        ("link warning", before.anti_link != after.anti_link),
        ("flood limit", before.flood_limit != after.flood_limit),
        ("currency", before.currency != after.currency),
        ("business hours", before.hours != after.hours),
        ("away message", before.away_message != after.away_message),
        ("commands", before.commands != after.commands),
        ("keyword replies", before.keywords != after.keywords),
        ("menu", before.menu != after.menu),
        ("flows", before.flows != after.flows),
        ("handoff words", before.handoff_words != after.handoff_words),
        (
            "takeover silence",
            before.takeover_idle_minutes != after.takeover_idle_minutes,
        ),
        ("opt-out words", before.opt_out_words != after.opt_out_words),
        ("opt-in words", before.opt_in_words != after.opt_in_words),
    ];
    let mut changed: Vec<&str> = parts
        .into_iter()
        .filter_map(|(name, differs)| differs.then_some(name))
        .collect();
    if changed.is_empty() && before != after {
        changed.push("other settings");
    }
    changed
}

/// The audit detail for a save of `bot_name`'s settings that changed `parts`.
pub fn describe(bot_name: &str, parts: &[&str]) -> String {
    format!("{bot_name}: {}", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bots::presets;

    fn restaurant() -> BotConfig {
        presets::find("restaurant_orders")
            .expect("the restaurant template")
            .config
    }

    #[test]
    fn names_each_changed_part_in_form_order() {
        let before = restaurant();
        let mut after = before.clone();
        after.hours.open = "08:00".into();
        after.welcome = "Ciao!".into();
        assert_eq!(
            changed_parts(&before, &after),
            ["welcome message", "business hours"]
        );
        assert_eq!(
            describe("Pizza bot", &changed_parts(&before, &after)),
            "Pizza bot: welcome message, business hours"
        );
    }

    #[test]
    fn nothing_changed_is_an_empty_list() {
        assert!(changed_parts(&restaurant(), &restaurant()).is_empty());
    }
}
