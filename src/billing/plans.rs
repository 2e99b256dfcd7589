//! The plan catalogue: what each plan costs, its quotas and its features.
//!
//! The catalogue ships in the binary and `seed` keeps the database in step with it, so every
//! instance agrees on the limits and the pages can join against it.

use chrono::Utc;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::DbConn;
use crate::db::schema::plans;
use crate::numbers::thousands;

/// A premium capability a plan may include.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Feature {
    AiReplies,
    Broadcasts,
    Flows,
    CustomCommands,
    ApiAccess,
    RemoveBranding,
}

impl Feature {
    /// How the feature is named to a customer.
    pub fn label(self) -> &'static str {
        match self {
            Self::AiReplies => "AI replies",
            Self::Broadcasts => "Broadcasts",
            Self::Flows => "Multi-step flows",
            Self::CustomCommands => "Custom commands",
            Self::ApiAccess => "REST API",
            Self::RemoveBranding => "No WhatsDeX branding",
        }
    }

    /// Whether this server has the feature: a plan only advertises what a customer can use.
    /// Each feature joins the list when the product grows it.
    pub fn is_available(self) -> bool {
        match self {
            // The owner's `!broadcast` and the bot's own commands.
            Self::Broadcasts | Self::CustomCommands => true,
            // Not built yet: AI replies, the REST API and the flow builder (template flows
            // work on every plan); the bot adds no branding to remove.
            Self::AiReplies | Self::ApiAccess | Self::Flows | Self::RemoveBranding => false,
        }
    }
}

/// A plan as the binary ships it. `None` quotas are unlimited.
#[derive(Debug, Clone, Copy)]
struct PlanSpec {
    id: &'static str,
    name: &'static str,
    monthly_price_cents: i32,
    max_bots: Option<i32>,
    max_messages_per_month: Option<i32>,
    max_ai_replies_per_day: Option<i32>,
    max_broadcast_recipients_per_month: Option<i32>,
    max_members: Option<i32>,
    features: &'static [Feature],
}

/// The catalogue, cheapest first.
const CATALOGUE: [PlanSpec; 4] = [
    PlanSpec {
        id: "free",
        name: "Free",
        monthly_price_cents: 0,
        max_bots: Some(1),
        max_messages_per_month: Some(1_000),
        max_ai_replies_per_day: Some(0),
        max_broadcast_recipients_per_month: Some(0),
        max_members: Some(1),
        features: &[],
    },
    PlanSpec {
        id: "starter",
        name: "Starter",
        monthly_price_cents: 1_900,
        max_bots: Some(3),
        max_messages_per_month: Some(10_000),
        max_ai_replies_per_day: Some(100),
        max_broadcast_recipients_per_month: Some(1_000),
        max_members: Some(3),
        features: &[
            Feature::AiReplies,
            Feature::Broadcasts,
            Feature::CustomCommands,
        ],
    },
    PlanSpec {
        id: "pro",
        name: "Pro",
        monthly_price_cents: 4_900,
        max_bots: Some(10),
        max_messages_per_month: Some(100_000),
        max_ai_replies_per_day: Some(1_000),
        max_broadcast_recipients_per_month: Some(10_000),
        max_members: Some(10),
        features: &[
            Feature::AiReplies,
            Feature::Broadcasts,
            Feature::CustomCommands,
            Feature::Flows,
            Feature::ApiAccess,
        ],
    },
    PlanSpec {
        id: "business",
        name: "Business",
        monthly_price_cents: 14_900,
        max_bots: Some(50),
        max_messages_per_month: Some(1_000_000),
        max_ai_replies_per_day: Some(10_000),
        max_broadcast_recipients_per_month: Some(100_000),
        max_members: None,
        features: &[
            Feature::AiReplies,
            Feature::Broadcasts,
            Feature::CustomCommands,
            Feature::Flows,
            Feature::ApiAccess,
            Feature::RemoveBranding,
        ],
    },
];

/// A plan as stored.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = plans)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
#[diesel(treat_none_as_null = true)]
pub struct Plan {
    pub id: String,
    pub name: String,
    pub position: i32,
    pub monthly_price_cents: i32,
    pub max_bots: Option<i32>,
    pub max_messages_per_month: Option<i32>,
    pub max_ai_replies_per_day: Option<i32>,
    pub max_broadcast_recipients_per_month: Option<i32>,
    pub max_members: Option<i32>,
    /// JSON array of [`Feature`] names.
    pub features: String,
    pub updated_at: chrono::NaiveDateTime,
}

impl Plan {
    /// The features this plan includes; unknown names (from a newer binary) are skipped.
    pub fn feature_list(&self) -> Vec<Feature> {
        serde_json::from_str::<Vec<serde_json::Value>>(&self.features)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|v| serde_json::from_value(v).ok())
            .collect()
    }

    /// The monthly price in whole currency units, for display.
    pub fn monthly_price(&self) -> i32 {
        self.monthly_price_cents / 100
    }

    /// The price as a customer reads it: "$1,490" (always with "/month" beside it).
    pub fn price_label(&self) -> String {
        format!("${}", thousands(i64::from(self.monthly_price())))
    }

    /// The features it includes that this server has.
    pub fn available_features(&self) -> Vec<Feature> {
        self.feature_list()
            .into_iter()
            .filter(|f| f.is_available())
            .collect()
    }

    /// What the plan includes, one line each, for every page that compares plans: its
    /// quotas (a zero quota, or one for a feature this server lacks, is left out) and the
    /// features this server has.
    pub fn includes(&self) -> Vec<String> {
        let quota = |n: Option<i32>, one: &str, many: &str| match n {
            Some(1) => Some(format!("1 {one}")),
            Some(n) if n > 0 => Some(format!("{} {many}", thousands(i64::from(n)))),
            Some(_) => None,
            None => Some(format!("Unlimited {many}")),
        };
        let has =
            |feature: Feature| feature.is_available() && self.feature_list().contains(&feature);
        [
            quota(self.max_bots, "bot", "bots"),
            quota(
                self.max_messages_per_month,
                "message a month",
                "messages a month",
            ),
            quota(self.max_members, "team member", "team members"),
            quota(
                self.max_ai_replies_per_day,
                "AI reply a day",
                "AI replies a day",
            )
            .filter(|_| has(Feature::AiReplies)),
            quota(
                self.max_broadcast_recipients_per_month,
                "broadcast recipient a month",
                "broadcast recipients a month",
            )
            .filter(|_| has(Feature::Broadcasts)),
        ]
        .into_iter()
        .flatten()
        .chain(
            self.available_features()
                .into_iter()
                // Broadcasts read better as their quota line above.
                .filter(|f| *f != Feature::Broadcasts)
                .map(|f| f.label().to_owned()),
        )
        .collect()
    }

    /// Whether two rows say the same thing, whenever they were written.
    fn same_terms(&self, other: &Self) -> bool {
        Self {
            updated_at: other.updated_at,
            ..self.clone()
        } == *other
    }
}

impl PlanSpec {
    fn to_plan(self, position: usize) -> Plan {
        Plan {
            id: self.id.to_owned(),
            name: self.name.to_owned(),
            position: i32::try_from(position).unwrap_or(i32::MAX),
            monthly_price_cents: self.monthly_price_cents,
            max_bots: self.max_bots,
            max_messages_per_month: self.max_messages_per_month,
            max_ai_replies_per_day: self.max_ai_replies_per_day,
            max_broadcast_recipients_per_month: self.max_broadcast_recipients_per_month,
            max_members: self.max_members,
            features: serde_json::to_string(self.features).unwrap_or_else(|_| "[]".to_owned()),
            updated_at: Utc::now().naive_utc(),
        }
    }
}

/// What a seed run changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SeedReport {
    pub inserted: usize,
    pub updated: usize,
    pub unchanged: usize,
}

/// Bring the stored catalogue in line with the shipped one; rows that already match are left
/// untouched, so seeding twice changes nothing.
pub fn seed(conn: &mut DbConn) -> QueryResult<SeedReport> {
    conn.transaction(|conn| {
        let mut report = SeedReport::default();
        for (position, spec) in CATALOGUE.iter().enumerate() {
            let wanted = spec.to_plan(position);
            let stored = plans::table
                .find(&wanted.id)
                .select(Plan::as_select())
                .first(conn)
                .optional()?;
            match stored {
                Some(stored) if stored.same_terms(&wanted) => report.unchanged += 1,
                Some(_) => {
                    diesel::update(plans::table.find(&wanted.id))
                        .set(&wanted)
                        .execute(conn)?;
                    report.updated += 1;
                }
                None => {
                    // Another instance may be seeding at the same moment: first one wins.
                    let insert = diesel::insert_into(plans::table)
                        .values(&wanted)
                        .on_conflict(plans::id)
                        .do_nothing();
                    let rows = crate::on_backend!(conn, c => insert.execute(c))?;
                    report.inserted += rows;
                    report.unchanged += 1 - rows;
                }
            }
        }
        Ok(report)
    })
}

/// Every plan, cheapest first.
pub fn list(conn: &mut DbConn) -> QueryResult<Vec<Plan>> {
    plans::table
        .order(plans::position.asc())
        .select(Plan::as_select())
        .load(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_ids_are_unique_and_prices_rise() {
        let mut ids: Vec<_> = CATALOGUE.iter().map(|p| p.id).collect();
        ids.dedup();
        assert_eq!(ids.len(), CATALOGUE.len());
        assert!(
            CATALOGUE
                .windows(2)
                .all(|w| w[0].monthly_price_cents < w[1].monthly_price_cents)
        );
    }

    #[test]
    fn features_round_trip_through_json() {
        let plan = CATALOGUE[3].to_plan(3);
        assert_eq!(plan.feature_list(), CATALOGUE[3].features);
        assert!(plan.features.contains("remove_branding"));
    }

    #[test]
    fn a_plan_lists_no_zero_quota_and_no_feature_this_server_lacks() {
        let free = CATALOGUE[0].to_plan(0);
        assert_eq!(
            free.includes(),
            ["1 bot", "1,000 messages a month", "1 team member"]
        );
        let pro = CATALOGUE[2].to_plan(2);
        let lines = pro.includes();
        assert!(lines.contains(&"10,000 broadcast recipients a month".to_owned()));
        assert!(lines.contains(&"Custom commands".to_owned()));
        for missing in [Feature::AiReplies, Feature::ApiAccess, Feature::Flows] {
            assert!(!missing.is_available());
            assert!(
                !lines
                    .iter()
                    .any(|l| l.contains(missing.label()) || l.contains("AI")),
                "{lines:?} advertises {missing:?}"
            );
        }
        assert_eq!(pro.price_label(), "$49");
        assert_eq!(CATALOGUE[3].to_plan(3).price_label(), "$149");
    }

    #[test]
    fn unknown_features_are_skipped() {
        let mut plan = CATALOGUE[0].to_plan(0);
        plan.features = r#"["broadcasts","teleportation"]"#.to_owned();
        assert_eq!(plan.feature_list(), vec![Feature::Broadcasts]);
    }
}
