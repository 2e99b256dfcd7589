//! Simulated phones of the sandbox: pairing one from a QR link, and chatting with the bot.
//! A phone is reached by the unguessable token in its link; the database keeps its SHA-256.

use std::time::Duration;

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;

use super::model::{self, Bot};
use super::supervisor::BotSupervisor;
use super::transport::sandbox::SandboxHub;
use super::transport::{InboundMessage, TransportEvent};
use crate::context::Context;
use crate::db::schema::{bots, messages, sandbox_phones};
use crate::db::{DbConn, RowScope};
use crate::error::{ServiceError, ServiceResult};
use crate::ids::{BotId, new_id, new_token, token_hash};
use crate::tenancy::TenantScope;
use crate::validation::{FieldErrors, normalize_name};

/// A simulated phone and the bot it talks to.
#[derive(Debug, Clone)]
pub struct Phone {
    pub number: String,
    pub name: String,
    pub bot: Bot,
}

/// A chat bubble.
#[derive(Debug, Clone, Queryable)]
pub struct Bubble {
    pub direction: String,
    pub body: String,
    pub status: String,
    pub created_at: NaiveDateTime,
}

/// Digits only, 8 to 15 of them with the country code (E.164), or a message.
pub fn normalize_number(raw: &str) -> Result<String, String> {
    let digits: String = raw
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '+'))
        .collect();
    if digits.chars().all(|c| c.is_ascii_digit()) && (8..=15).contains(&digits.len()) {
        Ok(digits)
    } else {
        Err("Enter a phone number with its country code, like +44 7700 900123.".into())
    }
}

fn validate(name: &str, number: &str) -> ServiceResult<(String, String)> {
    let mut errors = FieldErrors::new();
    let name = normalize_name(name, "name")
        .map_err(|m| errors.add("name", m))
        .ok();
    let number = normalize_number(number)
        .map_err(|m| errors.add("number", m))
        .ok();
    errors.into_result()?;
    Ok((name.unwrap_or_default(), number.unwrap_or_default()))
}

async fn create_phone(ctx: &Context, bot: &Bot, name: &str, number: &str) -> ServiceResult<String> {
    let token = new_token();
    let (hash, tenant_id, bot_id) = (token_hash(&token), bot.tenant_id.clone(), bot.id.clone());
    let (name, number) = (name.to_owned(), number.to_owned());
    ctx.db
        .run_in(RowScope::tenant(tenant_id.clone()), move |conn| {
            diesel::insert_into(sandbox_phones::table)
                .values((
                    sandbox_phones::id.eq(hash),
                    sandbox_phones::tenant_id.eq(tenant_id),
                    sandbox_phones::bot_id.eq(bot_id),
                    sandbox_phones::number.eq(number),
                    sandbox_phones::name.eq(name),
                    sandbox_phones::created_at.eq(Utc::now().naive_utc()),
                ))
                .execute(conn)
        })
        .await?;
    Ok(token)
}

/// Hand an event to the bot's task, starting the task if this process does not run it yet.
async fn deliver(bots: &BotSupervisor, bot_id: &BotId, event: TransportEvent) -> ServiceResult<()> {
    let hub: &SandboxHub = bots.sandbox();
    if hub.deliver(bot_id, event.clone()).await.is_ok() {
        return Ok(());
    }
    // The bot's task is not up (starting, or restarting after a crash): a message is taken
    // now and answered when it runs; only pairing needs the task itself.
    if let TransportEvent::Message(message) = event {
        return match bots.accept_while_starting(bot_id, message).await? {
            true => Ok(()),
            false => Err(ServiceError::NotFound),
        };
    }
    bots.ensure_running(bot_id);
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if hub.deliver(bot_id, event.clone()).await.is_ok() {
            return Ok(());
        }
    }
    Err(ServiceError::internal("the sandbox bot did not start"))
}

/// The bot a QR link pairs, if the link is still valid.
pub async fn bot_for_pairing(ctx: &Context, token: &str) -> ServiceResult<Bot> {
    let bot_id = SandboxHub::bot_for_pairing(&ctx.cache, token)
        .await
        .ok_or(ServiceError::NotFound)?;
    model::find_for_runtime(&ctx.db, &bot_id)
        .await?
        .filter(|bot| !bot.is_paired())
        .ok_or(ServiceError::NotFound)
}

/// Pair the bot behind a QR link to a simulated phone; returns the phone's link token.
pub async fn pair(
    ctx: &Context,
    bots: &BotSupervisor,
    qr_token: &str,
    name: &str,
    number: &str,
) -> ServiceResult<String> {
    let (name, number) = validate(name, number)?;
    let bot = bot_for_pairing(ctx, qr_token).await?;
    if !SandboxHub::consume_pairing(&ctx.cache, qr_token).await {
        return Err(ServiceError::NotFound);
    }
    let phone = create_phone(ctx, &bot, &name, &number).await?;
    deliver(
        bots,
        &bot.id,
        TransportEvent::Paired {
            owner_number: number,
        },
    )
    .await?;
    Ok(phone)
}

/// A further simulated phone (a customer) for one of the scope's bots.
pub async fn new_customer_phone(
    ctx: &Context,
    scope: &TenantScope,
    bot_id: &str,
    name: &str,
    number: &str,
) -> ServiceResult<String> {
    let bot = model::find(ctx, scope, bot_id).await?;
    let (name, number) = validate(name, number)?;
    if !bot.is_paired() {
        return Err(ServiceError::invalid("number", "Pair the bot first."));
    }
    create_phone(ctx, &bot, &name, &number).await
}

/// What a phone's link opens.
#[derive(Debug, Clone)]
pub enum PhoneLink {
    /// The chat with the bot.
    Live(Phone),
    /// Its bot was unpaired since: the chat is closed, and the page says so.
    Unpaired { bot_id: BotId, bot_name: String },
}

/// Close the bot's phones (the bot is being unpaired), within the caller's transaction.
pub fn close_all_in(conn: &mut DbConn, bot_id: &str) -> QueryResult<usize> {
    diesel::update(
        sandbox_phones::table
            .filter(sandbox_phones::bot_id.eq(bot_id))
            .filter(sandbox_phones::unpaired_at.is_null()),
    )
    .set(sandbox_phones::unpaired_at.eq(Utc::now().naive_utc()))
    .execute(conn)
}

/// What the phone behind a link token opens.
pub async fn open(ctx: &Context, token: &str) -> ServiceResult<PhoneLink> {
    let hash = token_hash(token);
    let found: Option<(String, String, String, Option<NaiveDateTime>, String)> = ctx
        .db
        .run_in(
            RowScope::across_tenants(
                "a phone link's token finds its bot before any workspace is known",
            ),
            move |conn| {
                sandbox_phones::table
                    .inner_join(bots::table)
                    .filter(sandbox_phones::id.eq(hash))
                    .select((
                        sandbox_phones::number,
                        sandbox_phones::name,
                        sandbox_phones::bot_id,
                        sandbox_phones::unpaired_at,
                        bots::name,
                    ))
                    .first(conn)
                    .optional()
            },
        )
        .await?;
    let (number, name, bot_id, unpaired_at, bot_name) = found.ok_or(ServiceError::NotFound)?;
    if unpaired_at.is_some() {
        return Ok(PhoneLink::Unpaired {
            bot_id: BotId::from(bot_id),
            bot_name,
        });
    }
    let bot = model::find_for_runtime(&ctx.db, &bot_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    Ok(PhoneLink::Live(Phone { number, name, bot }))
}

/// The phone's conversation with the bot, oldest first.
pub async fn conversation(ctx: &Context, phone: &Phone) -> ServiceResult<Vec<Bubble>> {
    let (tenant_id, bot_id, number) = (
        phone.bot.tenant_id.clone(),
        phone.bot.id.clone(),
        phone.number.clone(),
    );
    Ok(ctx
        .db
        .run_in(RowScope::tenant(tenant_id), move |conn| {
            messages::table
                .filter(messages::bot_id.eq(bot_id))
                .filter(messages::contact_number.eq(number))
                .order((messages::created_at.asc(), messages::id.asc()))
                .select((
                    messages::direction,
                    messages::body,
                    messages::status,
                    messages::created_at,
                ))
                .load(conn)
        })
        .await?)
}

/// Send `text` from the phone to the bot.
pub async fn send(bots: &BotSupervisor, phone: &Phone, text: &str) -> ServiceResult<()> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ServiceError::invalid("text", "Type a message."));
    }
    if text.chars().count() > 4096 {
        return Err(ServiceError::invalid(
            "text",
            "WhatsApp messages are at most 4096 characters.",
        ));
    }
    let id = format!("SANDBOX-{}", new_id());
    let message = InboundMessage::text(&id, &phone.number, Some(&phone.name), text);
    deliver(bots, &phone.bot.id, TransportEvent::Message(message)).await
}

#[cfg(test)]
mod tests {
    use super::normalize_number;

    #[test]
    fn numbers_are_digits_with_country_code() {
        assert_eq!(
            normalize_number("+44 7700 900-123").unwrap(),
            "447700900123"
        );
        assert!(normalize_number("12345").is_err());
        assert!(normalize_number("+44 7700 CALL ME").is_err());
    }
}
