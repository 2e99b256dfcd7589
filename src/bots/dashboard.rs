//! The dashboard's bots (status, messages today) and latest conversations. Read-only; the
//! plan and its usage come from `billing::plan_usage`, as on every other page.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;

use super::model::Bot;
use crate::bots::messages::MessageDirection;
use crate::context::Context;
use crate::db::schema::{bots, contacts, messages};
use crate::error::ServiceResult;
use crate::tenancy::TenantScope;

/// A bot on the dashboard.
#[derive(Debug, Clone)]
pub struct BotSummary {
    pub bot: Bot,
    /// Messages received and sent today (the plan counts only those received).
    pub messages_today: i64,
}

/// A recent conversation with a customer: who, with which bot, what they said last.
#[derive(Debug, Clone)]
pub struct RecentConversation {
    pub bot_name: String,
    pub number: String,
    pub name: Option<String>,
    pub last_message: String,
    pub at: NaiveDateTime,
}

/// Everything the dashboard shows.
#[derive(Debug, Clone)]
pub struct Dashboard {
    pub bots: Vec<BotSummary>,
    pub recent: Vec<RecentConversation>,
}

/// The scope's workspace at a glance.
pub async fn load(ctx: &Context, scope: &TenantScope) -> ServiceResult<Dashboard> {
    let tenant_id = scope.tenant_id().to_owned();
    Ok(ctx
        .db
        .run_in(scope.rows(), move |conn| {
            let now = Utc::now();
            let today = now.date_naive().and_hms_opt(0, 0, 0).unwrap_or_default();
            let all: Vec<Bot> = bots::table
                .filter(bots::tenant_id.eq(&tenant_id))
                .order(bots::created_at.desc())
                .select(Bot::as_select())
                .load(conn)?;
            let mut summaries = Vec::with_capacity(all.len());
            for bot in all {
                let messages_today = messages::table
                    .filter(messages::bot_id.eq(&bot.id))
                    .filter(messages::created_at.ge(today))
                    .count()
                    .get_result(conn)?;
                summaries.push(BotSummary {
                    bot,
                    messages_today,
                });
            }
            // Conversations are with customers: the owner (who gets the bot's order
            // notifications and tries its commands) is not one.
            let recent_contacts: Vec<(String, String, Option<String>, NaiveDateTime, String)> =
                contacts::table
                    .inner_join(bots::table.on(bots::id.eq(contacts::bot_id)))
                    .filter(contacts::tenant_id.eq(&tenant_id))
                    .filter(
                        bots::owner_number
                            .is_null()
                            .or(bots::owner_number.ne(contacts::number.nullable())),
                    )
                    .order(contacts::last_seen_at.desc())
                    .limit(5)
                    .select((
                        contacts::bot_id,
                        contacts::number,
                        contacts::name,
                        contacts::last_seen_at,
                        bots::name,
                    ))
                    .load(conn)?;
            let mut recent = Vec::with_capacity(recent_contacts.len());
            for (bot_id, number, name, at, bot_name) in recent_contacts {
                // What the customer said, not the bot's notices to them (a flood pause).
                let last_message: String = messages::table
                    .filter(messages::bot_id.eq(&bot_id))
                    .filter(messages::contact_number.eq(&number))
                    .filter(messages::direction.eq(MessageDirection::In))
                    .order((messages::created_at.desc(), messages::id.desc()))
                    .select(messages::body)
                    .first(conn)
                    .optional()?
                    .unwrap_or_default();
                recent.push(RecentConversation {
                    bot_name,
                    number,
                    name,
                    last_message,
                    at,
                });
            }
            Ok(Dashboard {
                bots: summaries,
                recent,
            })
        })
        .await?)
}
