//! What happens to every inbound message, in one transaction: store it (a redelivery stops
//! here), remember the contact, decide a reply, queue the reply in the outbox.

use chrono::Utc;
use diesel::prelude::*;

use super::commands::{self, BotFacts, Reply};
use super::model::{self, Bot};
use super::outbox;
use super::transport::{Delivery, InboundMessage};
use crate::db::schema::{contacts, messages};
use crate::db::{Db, DbConn, DbError, RowScope};
use crate::ids::new_id;

/// What the pipeline did with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Already stored: a redelivery, ignored.
    Duplicate,
    /// Stored; no reply.
    Stored,
    /// Stored and a reply queued (outbox id).
    Replied(String),
}

struct Facts<'a> {
    conn: &'a mut DbConn,
    bot: &'a Bot,
    sender: &'a str,
}

impl BotFacts for Facts<'_> {
    fn sender_is_owner(&mut self) -> bool {
        model::is_owner_in(self.conn, &self.bot.id, self.sender).unwrap_or(false)
    }

    fn status_line(&mut self) -> String {
        let today = Utc::now()
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .unwrap_or_default();
        let received: i64 = messages::table
            .filter(messages::bot_id.eq(&self.bot.id))
            .filter(messages::direction.eq("in"))
            .filter(messages::created_at.ge(today))
            .count()
            .get_result(self.conn)
            .unwrap_or(0);
        format!(
            "{} is {}. Messages received today: {received}.",
            self.bot.name,
            self.bot.status().label().to_lowercase()
        )
    }
}

/// Take one inbound message through the pipeline.
pub async fn handle_inbound(
    db: &Db,
    bot: &Bot,
    message: InboundMessage,
) -> Result<Outcome, DbError> {
    let bot = bot.clone();
    db.run_in(RowScope::Tenant(bot.tenant_id.clone()), move |conn| {
        let now = Utc::now().naive_utc();
        let insert = diesel::insert_into(messages::table)
            .values((
                messages::id.eq(new_id()),
                messages::tenant_id.eq(&bot.tenant_id),
                messages::bot_id.eq(&bot.id),
                messages::direction.eq("in"),
                messages::wa_message_id.eq(&message.id),
                messages::contact_number.eq(&message.from),
                messages::body.eq(&message.text),
                messages::status.eq("received"),
                messages::created_at.eq(now),
            ))
            .on_conflict((
                messages::bot_id,
                messages::direction,
                messages::wa_message_id,
            ))
            .do_nothing();
        if crate::on_backend!(conn, c => insert.execute(c))? == 0 {
            return Ok(Outcome::Duplicate);
        }
        let contact = diesel::insert_into(contacts::table)
            .values((
                contacts::id.eq(new_id()),
                contacts::tenant_id.eq(&bot.tenant_id),
                contacts::bot_id.eq(&bot.id),
                contacts::number.eq(&message.from),
                contacts::name.eq(&message.from_name),
                contacts::first_seen_at.eq(now),
                contacts::last_seen_at.eq(now),
            ))
            .on_conflict((contacts::bot_id, contacts::number))
            .do_update()
            .set(contacts::last_seen_at.eq(now));
        crate::on_backend!(conn, c => contact.execute(c))?;

        let mut facts = Facts {
            conn,
            bot: &bot,
            sender: &message.from,
        };
        match commands::route(&message.text, &mut facts) {
            Some(Reply::Text(text)) => {
                let id = outbox::enqueue_in(conn, &bot.tenant_id, &bot.id, &message.from, &text)?;
                Ok(Outcome::Replied(id))
            }
            None => Ok(Outcome::Stored),
        }
    })
    .await
}

/// A delivery or read receipt for an outbound message.
pub async fn record_receipt(
    db: &Db,
    bot: &Bot,
    message_id: &str,
    delivery: Delivery,
) -> Result<(), DbError> {
    let (tenant_id, bot_id, wa_id) = (bot.tenant_id.clone(), bot.id.clone(), message_id.to_owned());
    db.run_in(RowScope::Tenant(tenant_id), move |conn| {
        // A read receipt never goes back to "delivered".
        diesel::update(
            messages::table
                .filter(messages::bot_id.eq(&bot_id))
                .filter(messages::direction.eq("out"))
                .filter(messages::wa_message_id.eq(&wa_id))
                .filter(messages::status.ne("read")),
        )
        .set(messages::status.eq(delivery.as_str()))
        .execute(conn)
        .map(drop)
    })
    .await
}
