//! The last messages of one bot, for the "Latest messages" panel of its pairing page: enough
//! to see a newly connected number work. The inbox will replace it with conversations.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::media::MessageMedia;
use super::messages::{MessageDirection, MessageStatus};
use super::model;
use crate::context::Context;
use crate::db::schema::{contacts, messages};
use crate::error::ServiceResult;
use crate::tenancy::TenantScope;

/// One message as the panel lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecentMessage {
    pub direction: MessageDirection,
    pub contact_number: String,
    /// The name the contact gave WhatsApp, when known.
    pub contact_name: Option<String>,
    /// The text, or the kind in brackets (`[image]`, `[location]`) for anything else.
    pub summary: String,
    pub status: MessageStatus,
    /// Meta's reason for a failed outbound message.
    pub error_title: Option<String>,
    pub created_at: NaiveDateTime,
    /// The file the message brought, when it brought one.
    pub media: Option<MessageMedia>,
}

impl RecentMessage {
    /// Whether the bot sent it.
    pub fn is_outbound(&self) -> bool {
        self.direction == MessageDirection::Out
    }

    /// The file to show inline (`/media/{id}`), once it is stored.
    pub fn stored_media(&self) -> Option<&MessageMedia> {
        self.media.as_ref().filter(|m| m.status == "stored")
    }

    /// The time of day it was stored (UTC), as `14:05`.
    pub fn time(&self) -> String {
        self.created_at.format("%H:%M").to_string()
    }
}

/// What a message says in one line: its text, else its kind, with a caption if it has one.
fn summary_of(kind: &str, body: &str) -> String {
    let body = body.trim();
    match (kind, body.is_empty()) {
        ("text", _) => body.to_owned(),
        (kind, true) => format!("[{kind}]"),
        (kind, false) => format!("[{kind}] {body}"),
    }
}

type Row = (
    String,
    MessageDirection,
    String,
    String,
    String,
    MessageStatus,
    Option<String>,
    NaiveDateTime,
);

/// The newest `limit` messages of one of the scope's bots, oldest first (a foreign bot is
/// NotFound).
pub async fn latest(
    ctx: &Context,
    scope: &TenantScope,
    bot_id: &str,
    limit: i64,
) -> ServiceResult<Vec<RecentMessage>> {
    let bot = model::find(ctx, scope, bot_id).await?;
    let tenant_id = scope.tenant_id().to_owned();
    let recent = ctx
        .db
        .run_in(scope.rows(), move |conn| {
            let rows: Vec<Row> = messages::table
                .filter(messages::tenant_id.eq(&tenant_id))
                .filter(messages::bot_id.eq(&bot.id))
                .order((messages::created_at.desc(), messages::id.desc()))
                .limit(limit)
                .select((
                    messages::id,
                    messages::direction,
                    messages::contact_number,
                    messages::kind,
                    messages::body,
                    messages::status,
                    messages::error_title,
                    messages::created_at,
                ))
                .load(conn)?;
            let numbers: Vec<String> = rows.iter().map(|row| row.2.clone()).collect();
            let ids: Vec<String> = rows.iter().map(|row| row.0.clone()).collect();
            let mut files = super::media::for_messages(conn, &bot.tenant_id, &ids)?;
            let names: Vec<(String, Option<String>)> = contacts::table
                .filter(contacts::tenant_id.eq(&tenant_id))
                .filter(contacts::bot_id.eq(&bot.id))
                .filter(contacts::number.eq_any(&numbers))
                .select((contacts::number, contacts::name))
                .load(conn)?;
            Ok(rows
                .into_iter()
                .rev()
                .map(
                    |(
                        id,
                        direction,
                        contact_number,
                        kind,
                        body,
                        status,
                        error_title,
                        created_at,
                    )| {
                        let contact_name = names
                            .iter()
                            .find(|(number, _)| *number == contact_number)
                            .and_then(|(_, name)| name.clone());
                        RecentMessage {
                            direction,
                            contact_name,
                            summary: summary_of(&kind, &body),
                            status,
                            error_title,
                            created_at,
                            contact_number,
                            media: files
                                .iter()
                                .position(|file| file.message_id == id)
                                .map(|at| files.swap_remove(at)),
                        }
                    },
                )
                .collect())
        })
        .await?;
    Ok(recent)
}

#[cfg(test)]
mod tests {
    use super::summary_of;

    #[test]
    fn a_message_is_summed_up_by_its_text_or_its_kind() {
        assert_eq!(summary_of("text", " Hello "), "Hello");
        assert_eq!(summary_of("image", ""), "[image]");
        assert_eq!(summary_of("image", "Our menu"), "[image] Our menu");
        assert_eq!(summary_of("location", "  "), "[location]");
    }
}
