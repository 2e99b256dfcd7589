//! Bot templates: typed definitions shipped in the binary (`defs/*.json`), upserted into
//! `bot_templates` by `seed`, shown by the picker and copied into a bot's own settings.

use chrono::Utc;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

pub mod merge;

use super::behaviour::BotConfig;
use crate::billing::plans::Feature;
use crate::db::DbConn;
use crate::db::schema::bot_templates;

/// A ready-made bot: what the picker shows and what applying it copies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Template {
    /// Stable id, e.g. `restaurant_orders`.
    pub id: String,
    pub name: String,
    /// For the picker's filter.
    pub category: String,
    pub description: String,
    /// An emoji.
    pub icon: String,
    /// The plan feature the template needs (premium templates only).
    #[serde(default)]
    pub premium: Option<Feature>,
    /// A first conversation, shown as chat bubbles on the picker.
    pub preview: Vec<PreviewLine>,
    /// What a bot does once the template is applied.
    pub config: BotConfig,
}

/// One bubble of a preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviewLine {
    /// `customer`, `owner` or `bot`.
    pub from: String,
    pub text: String,
}

impl PreviewLine {
    /// Whether the bot says it (drawn on the other side).
    pub fn is_bot(&self) -> bool {
        self.from == "bot"
    }
}

/// The definitions, in the picker's order.
const SOURCES: [&str; 6] = [
    include_str!("defs/customer_support.json"),
    include_str!("defs/restaurant_orders.json"),
    include_str!("defs/appointment_booking.json"),
    include_str!("defs/faq_assistant.json"),
    include_str!("defs/group_moderator.json"),
    include_str!("defs/personal_assistant.json"),
];

/// Every shipped template, parsed. A definition that does not parse is a build mistake, caught
/// by this module's tests; at run time it is skipped with an error in the log.
pub fn catalogue() -> Vec<Template> {
    SOURCES
        .iter()
        .filter_map(|source| match serde_json::from_str::<Template>(source) {
            Ok(template) => Some(template),
            Err(e) => {
                tracing::error!(error = %e, "a shipped bot template does not parse");
                None
            }
        })
        .collect()
}

/// A shipped template by id.
pub fn find(id: &str) -> Option<Template> {
    catalogue().into_iter().find(|t| t.id == id)
}

/// The categories, in the order they first appear.
pub fn categories() -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for template in catalogue() {
        if !seen.contains(&template.category) {
            seen.push(template.category);
        }
    }
    seen
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = bot_templates)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct TemplateRow {
    id: String,
    name: String,
    category: String,
    position: i32,
    premium: bool,
    definition: String,
    updated_at: chrono::NaiveDateTime,
}

impl TemplateRow {
    fn same_terms(&self, other: &Self) -> bool {
        Self {
            updated_at: other.updated_at,
            ..self.clone()
        } == *other
    }
}

/// What a seed run changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SeedReport {
    pub inserted: usize,
    pub updated: usize,
    pub unchanged: usize,
}

/// Bring `bot_templates` in line with the shipped definitions; matching rows are left alone,
/// so seeding twice changes nothing.
pub fn seed(conn: &mut DbConn) -> QueryResult<SeedReport> {
    let mut report = SeedReport::default();
    for (position, template) in catalogue().into_iter().enumerate() {
        let wanted = TemplateRow {
            definition: serde_json::to_string(&template).unwrap_or_default(),
            id: template.id,
            name: template.name,
            category: template.category,
            position: i32::try_from(position).unwrap_or(i32::MAX),
            premium: template.premium.is_some(),
            updated_at: Utc::now().naive_utc(),
        };
        let stored = bot_templates::table
            .find(&wanted.id)
            .select(TemplateRow::as_select())
            .first(conn)
            .optional()?;
        match stored {
            Some(stored) if stored.same_terms(&wanted) => report.unchanged += 1,
            Some(_) => {
                diesel::update(bot_templates::table.find(&wanted.id))
                    .set(&wanted)
                    .execute(conn)?;
                report.updated += 1;
            }
            None => {
                // Another instance may be seeding at the same moment: first one wins.
                let insert = diesel::insert_into(bot_templates::table)
                    .values(&wanted)
                    .on_conflict(bot_templates::id)
                    .do_nothing();
                let rows = crate::on_backend!(conn, c => insert.execute(c))?;
                report.inserted += rows;
                report.unchanged += 1 - rows;
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bots::behaviour::StepKind;

    #[test]
    fn every_shipped_template_parses_and_is_consistent() {
        let all = catalogue();
        assert_eq!(all.len(), SOURCES.len(), "a definition failed to parse");
        let mut ids: Vec<_> = all.iter().map(|t| t.id.clone()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), all.len(), "ids are unique");
        for template in &all {
            assert!(
                !template.preview.is_empty(),
                "{} has a preview",
                template.id
            );
            let config = &template.config;
            // Every flow a command or menu item names exists, and every goto is a step.
            let named = config
                .commands
                .iter()
                .filter_map(|c| match &c.action {
                    Some(crate::bots::behaviour::CommandAction::Flow { flow }) => {
                        Some(flow.clone())
                    }
                    _ => None,
                })
                .chain(config.menu.items.iter().filter_map(|i| i.flow.clone()));
            for flow in named {
                assert!(config.flow(&flow).is_some(), "{}: flow {flow}", template.id);
            }
            for flow in &config.flows {
                for step in &flow.steps {
                    if let StepKind::Choice { options } = &step.kind {
                        for goto in options.iter().filter_map(|o| o.goto.as_ref()) {
                            assert!(
                                flow.steps.iter().any(|s| &s.id == goto),
                                "{}: goto {goto}",
                                template.id
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn the_six_templates_the_product_promises_ship() {
        let names: Vec<_> = catalogue().into_iter().map(|t| t.name).collect();
        for name in [
            "Customer Support",
            "Restaurant Orders",
            "Appointment Booking",
            "FAQ Assistant",
            "Group Moderator",
            "Personal Assistant",
        ] {
            assert!(names.iter().any(|n| n == name), "{name}");
        }
        assert!(categories().len() >= 4);
    }
}
