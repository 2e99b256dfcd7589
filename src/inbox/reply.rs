//! A team member answers a customer from the inbox. The reply goes the way every bot reply
//! goes — the outbox, then the bot's transport — so it survives a restart and gets its ticks;
//! answering takes the conversation over (the bot stays silent while a person talks). What
//! cannot go out is refused before anything is queued, with the reason for the composer: a
//! bot that is not connected, a workspace over its plan's messages, a Cloud API customer whose
//! 24-hour window closed.

use chrono::Utc;
use diesel::prelude::*;

use super::threads::{self, ThreadRow};
use crate::billing::entitlements::{self, Action, Decision};
use crate::bots::model::{self, BotStatus, TransportKind};
use crate::bots::outbox;
use crate::bots::supervisor::BotSupervisor;
use crate::bots::transport::cloud_api::media_send::{self, OutgoingFile};
use crate::bots::transport::cloud_api::window;
use crate::context::Context;
use crate::db::schema::threads as threads_table;
use crate::error::{ServiceError, ServiceResult};
use crate::ids::UserId;
use crate::live::{self, LiveKind};
use crate::tenancy::TenantScope;
use crate::tenants::audit::{self, Action as Audit, ClientInfo};
use crate::validation::{FieldErrors, without_control_chars};

/// The longest text WhatsApp takes in one message.
pub const TEXT_MAX: usize = 4096;

/// What the member wrote, and the file they attached.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    pub text: String,
    pub file: Option<OutgoingFile>,
}

/// A reply on its way: the outbox entry (the bubble's id until it is sent, and after).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    pub id: String,
    pub thread: ThreadRow,
}

/// Queue the scope's member's reply in conversation `thread_id`. Refusals are `Invalid` on
/// `text` (or `file`), or `PlanLimit`.
pub async fn send(
    ctx: &Context,
    runtime: &BotSupervisor,
    scope: &TenantScope,
    thread_id: &str,
    draft: Draft,
    client: &ClientInfo,
) -> ServiceResult<Queued> {
    let thread = threads::find(ctx, scope, thread_id).await?;
    let bot = model::find(ctx, scope, &thread.bot_id).await?;
    let text = without_control_chars(draft.text.trim()).into_owned();
    let mut errors = FieldErrors::new();
    if text.is_empty() && draft.file.is_none() {
        errors.add("text", "Write a message, or attach a file.");
    } else if text.chars().count() > TEXT_MAX {
        errors.add(
            "text",
            format!("A message may have at most {TEXT_MAX} characters."),
        );
    }
    if draft.file.is_some() && bot.transport != TransportKind::Cloud {
        errors.add(
            "file",
            "Files can be sent from bots on the WhatsApp Cloud API; this bot sends text only.",
        );
    }
    errors.into_result()?;
    if bot.status() != BotStatus::Connected {
        return Err(ServiceError::invalid(
            "text",
            format!(
                "The bot is {}, so nothing can reach the customer now. Connect it again on its pairing page.",
                bot.status().label().to_lowercase()
            ),
        ));
    }
    // A workspace past its month's messages has a silent bot; its team is held to the same.
    if let Decision::Denied(denial) =
        entitlements::check(ctx, scope, Action::ReceiveMessage).await?
    {
        return Err(ServiceError::PlanLimit(Box::new(denial)));
    }
    if bot.transport == TransportKind::Cloud {
        let open = window::is_open(
            &ctx.db,
            scope.tenant_id(),
            &bot.id,
            &thread.number,
            Utc::now().naive_utc(),
        )
        .await?;
        if !open {
            return Err(ServiceError::invalid("text", window::CLOSED));
        }
    }
    let (body, content) = match draft.file {
        Some(mut file) => {
            file.caption = Some(text.clone()).filter(|t| !t.is_empty());
            let uploaded = media_send::upload(ctx, runtime, &bot, &thread.number, file).await?;
            (uploaded.text, Some(uploaded.content))
        }
        None => (text, None),
    };
    let (tenant, user, client, thread_id) = (
        scope.tenant_id().clone(),
        scope.user_id().clone(),
        client.clone(),
        thread.id.clone(),
    );
    let (bot_id, number) = (bot.id.clone(), thread.number.clone());
    let (id, thread, events) = ctx
        .db
        .transaction(scope.rows(), move |conn| -> ServiceResult<_> {
            let now = Utc::now().naive_utc();
            let id = outbox::enqueue_from_team_in(
                conn,
                &tenant,
                &bot_id,
                &number,
                &body,
                content.as_deref(),
                &user,
            )?;
            let before =
                threads::find_in(conn, &tenant, &thread_id)?.ok_or(ServiceError::NotFound)?;
            // Answering holds the conversation for the member (or keeps holding it), for as
            // long as the bot's idle time after this reply.
            let until = now + threads::idle_of_in(conn, &bot_id)?;
            let holder: UserId = match (&before.held_by, before.is_held(now)) {
                (Some(holder), true) => holder.clone(),
                _ => user.clone(),
            };
            diesel::update(threads_table::table.find(&thread_id))
                .set((
                    threads_table::held_by.eq(Some(&holder)),
                    threads_table::held_until.eq(Some(until)),
                    threads_table::assignee_id
                        .eq(before.assignee_id.clone().or(Some(user.clone()))),
                    threads_table::updated_at.eq(now),
                ))
                .execute(conn)?;
            if !before.is_held(now) {
                let detail = format!(
                    "{} ({}): by replying",
                    before.display_name(),
                    before.bot_name
                );
                audit::record(
                    conn,
                    Audit::ConversationTakenOver,
                    Some(tenant.as_str()),
                    Some(user.as_str()),
                    &detail,
                    &client,
                )?;
            }
            let events = vec![
                live::append_in(conn, &tenant, &thread_id, LiveKind::Message, &id)?,
                live::append_in(conn, &tenant, &thread_id, LiveKind::Thread, &thread_id)?,
            ];
            let after =
                threads::find_in(conn, &tenant, &thread_id)?.ok_or(ServiceError::NotFound)?;
            Ok((id, after, events))
        })
        .await?;
    ctx.live.publish(events).await;
    runtime.nudge_outbox(&bot.id);
    Ok(Queued { id, thread })
}
