//! What happens to every inbound message, in one transaction: store it (a redelivery stops
//! here), remember the contact, let the router decide the replies, queue them in the outbox.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;

use super::model::{self, Bot};
use super::outbox;
use super::router::{self, Inbound};
use super::threads;
use super::transport::{Delivery, InboundMessage};
use crate::analytics::rollups::{self, MessageEvent};
use crate::billing::entitlements::{self, Action};
use crate::billing::meter::{Meter, Tally};
use crate::bots::messages::{MessageDirection, MessageStatus};
use crate::db::schema::{contacts, messages};
use crate::db::{Db, DbConn, DbError, RowScope};
use crate::ids::{ContactId, MessageId};
use crate::live::{self, Live, LiveEvent, LiveKind};

/// What the pipeline did with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Already stored: a redelivery, ignored.
    Duplicate,
    /// Stored; no reply.
    Stored,
    /// Stored and replies queued (the first one's outbox id).
    Replied(String),
}

/// What the pipeline needs besides the database: how usage is counted (`meter`), where
/// committed changes are announced to open pages (`live`), and the site's address, which makes
/// links in replies (the upgrade page) absolute.
#[derive(Clone, Copy)]
pub struct Engine<'a> {
    pub db: &'a Db,
    pub meter: &'a Meter,
    pub live: &'a Live,
    pub base_url: &'a str,
}

/// Take one inbound message through the pipeline (counted and timed for `/metrics`).
pub async fn handle_inbound(
    engine: Engine<'_>,
    bot: &Bot,
    message: InboundMessage,
) -> Result<Outcome, DbError> {
    let started = std::time::Instant::now();
    let message = message.cleaned();
    let db = engine.db;
    let tally = engine.meter.open(&bot.tenant_id).await;
    let outcome = match store_and_route(db, tally, bot, message, engine.base_url).await {
        Ok((outcome, tally, events)) => {
            // Committed: only now do the units it took count, and pages hear of it.
            tally.commit(db).await;
            engine.live.publish(events).await;
            Ok(outcome)
        }
        Err(e) => Err(e),
    };
    if matches!(outcome, Ok(Outcome::Stored | Outcome::Replied(_))) {
        crate::telemetry::metrics::message_received();
        crate::telemetry::metrics::pipeline_took(started.elapsed());
    }
    outcome
}

/// The pipeline's one transaction; hands the tally back for [`Tally::commit`], and the live
/// events it wrote for [`Live::publish`].
async fn store_and_route(
    db: &Db,
    mut tally: Tally,
    bot: &Bot,
    message: InboundMessage,
    base_url: &str,
) -> Result<(Outcome, Tally, Vec<LiveEvent>), DbError> {
    let bot = bot.clone();
    let base_url = base_url.to_owned();
    db.run_in(RowScope::tenant(bot.tenant_id.clone()), move |conn| {
        let now = Utc::now().naive_utc();
        let message_id = MessageId::generate();
        let extras = &message.extras;
        let insert = diesel::insert_into(messages::table)
            .values((
                messages::id.eq(&message_id),
                messages::tenant_id.eq(&bot.tenant_id),
                messages::bot_id.eq(&bot.id),
                messages::direction.eq(MessageDirection::In),
                messages::wa_message_id.eq(&message.id),
                messages::contact_number.eq(&message.from),
                messages::body.eq(&message.text),
                messages::status.eq(MessageStatus::Received),
                messages::created_at.eq(now),
                messages::kind.eq(extras.kind),
                messages::details.eq(&extras.details),
                messages::reply_to.eq(&extras.reply_to),
                messages::contact_user_id.eq(&extras.user_id),
            ))
            .on_conflict((
                messages::bot_id,
                messages::direction,
                messages::wa_message_id,
            ))
            .do_nothing();
        if crate::on_backend!(conn, c => insert.execute(c))? == 0 {
            return Ok((Outcome::Duplicate, tally, Vec::new()));
        }
        if let Some(media) = &extras.media {
            super::media::expect_in(conn, &bot, &message_id, media, now)?;
        }
        let contact = remember_contact_in(conn, &bot, &message, now)?;
        if contact.address != message.from {
            // Sent with the user id alone by a contact whose number is known.
            diesel::update(messages::table.find(&message_id))
                .set(messages::contact_number.eq(&contact.address))
                .execute(conn)?;
        }
        // The inbox's thread, for every contact but the bot's owner (who talks to the bot,
        // not to the business).
        let mut events = Vec::new();
        let owner = model::is_owner_in(conn, &bot.id, &contact.address)?;
        let thread = if owner {
            None
        } else {
            let preview = threads::preview_of(extras.kind, &message.text);
            let landed =
                threads::on_inbound_in(conn, &bot.tenant_id, &bot.id, &contact.id, &preview, now)?;
            events.push(live::append_in(
                conn,
                &bot.tenant_id,
                &landed.thread_id,
                LiveKind::Message,
                &message_id,
            )?);
            Some(landed)
        };
        if !extras.answerable {
            return Ok((Outcome::Stored, tally, events));
        }
        // Counted only once it is stored: a redelivery never gets this far. Over the
        // month's quota the message is kept but not answered.
        let decision =
            entitlements::consume_in(conn, &mut tally, &bot.tenant_id, Action::ReceiveMessage)?;
        if !decision.is_allowed() {
            return Ok((Outcome::Stored, tally, events));
        }

        let inbound = Inbound {
            from: &contact.address,
            name: message.from_name.as_deref(),
            text: &message.text,
            first_contact: !contact.known,
            contact_id: &contact.id,
            thread: thread.as_ref(),
            owner,
        };
        let routed = router::route_in(conn, &mut tally, &bot, &inbound, Utc::now(), &base_url)?;
        let counted = MessageEvent {
            command: routed.command.as_deref().and_then(rollups::command_of),
            ..MessageEvent::inbound(&bot.tenant_id, &bot.id, now)
        };
        rollups::count_message(conn, &counted)?;
        let mut first = None;
        for reply in routed.replies {
            let at = now + reply.delay.unwrap_or_default();
            let id =
                outbox::schedule_in(conn, &bot.tenant_id, &bot.id, &reply.to, &reply.body, at)?;
            first.get_or_insert(id);
        }
        Ok((
            first.map_or(Outcome::Stored, Outcome::Replied),
            tally,
            events,
        ))
    })
    .await
}

/// The sender as the bot's contact: whether it was known, and the address it goes by.
struct Remembered {
    id: String,
    known: bool,
    /// The contact's number (its user id when no number is known yet): what the message is
    /// filed under and what replies go to, whichever of the two this message carried.
    address: String,
}

/// A contact row as the lookup reads it: id, number, user id.
type ContactRow = (String, String, Option<String>);

/// Upsert the sender as a contact of the bot, found by number or by the provider's user id
/// (whichever the message has), filling in the one the contact lacked: a contact is never
/// duplicated because one of the two was missing. A contact first known by its user id alone
/// (kept in `number`) is joined to the contact of its number once a message carries both.
fn remember_contact_in(
    conn: &mut DbConn,
    bot: &Bot,
    message: &InboundMessage,
    now: NaiveDateTime,
) -> QueryResult<Remembered> {
    let user_id = message.extras.user_id.as_deref();
    // `from` is the user id itself when Meta sent no number.
    let number = Some(message.from.as_str()).filter(|from| Some(*from) != user_id);
    let find =
        |conn: &mut DbConn, by_number: bool, value: &str| -> QueryResult<Option<ContactRow>> {
            let lookup = contacts::table
                .filter(contacts::bot_id.eq(&bot.id))
                .select((contacts::id, contacts::number, contacts::user_id))
                .into_boxed();
            let lookup = if by_number {
                lookup.filter(contacts::number.eq(value.to_owned()))
            } else {
                lookup.filter(contacts::user_id.eq(value.to_owned()))
            };
            lookup.first(conn).optional()
        };
    let by_number = match number {
        Some(number) => find(conn, true, number)?,
        None => None,
    };
    let by_user = match user_id {
        Some(user_id) => find(conn, false, user_id)?,
        // A user-id-only contact is stored with the user id as its number.
        None => None,
    };
    // Each case gives the contact to update, its address and the user id it keeps.
    let (id, address, kept_user_id) = match (by_number, by_user) {
        (None, None) => {
            let address = message.from.clone();
            let upsert = diesel::insert_into(contacts::table)
                .values((
                    contacts::id.eq(ContactId::generate()),
                    contacts::tenant_id.eq(&bot.tenant_id),
                    contacts::bot_id.eq(&bot.id),
                    contacts::number.eq(&address),
                    contacts::name.eq(&message.from_name),
                    contacts::user_id.eq(user_id),
                    contacts::first_seen_at.eq(now),
                    contacts::last_seen_at.eq(now),
                ))
                .on_conflict((contacts::bot_id, contacts::number))
                .do_update()
                .set(contacts::last_seen_at.eq(now))
                .returning(contacts::id);
            // The id of the row that stands, whichever of two racing inserts won.
            let id: String = crate::on_backend!(conn, c => upsert.get_result(c))?;
            return Ok(Remembered {
                id,
                known: false,
                address,
            });
        }
        // Nobody else has this user id: the contact may take it.
        (Some((id, number, stored_user_id)), None) => {
            let kept = stored_user_id.or(user_id.map(str::to_owned));
            (id, number, kept)
        }
        (None, Some((id, stored_number, stored_user_id))) => {
            // Known by its user id so far, and a number arrives: the one it had so far (the
            // user id standing in, or a number it no longer uses) gives way.
            let address = match number {
                Some(number) if number != stored_number => {
                    refile_in(conn, bot, &stored_number, number)?;
                    number.to_owned()
                }
                _ => stored_number,
            };
            (id, address, stored_user_id)
        }
        (Some(row), Some(other)) if row.0 == other.0 => row,
        (Some((id, stored_number, stored_user_id)), Some((other_id, other_number, other_user))) => {
            // The number's contact and a contact known by the user id alone are one person:
            // the latter joins the former.
            if other_user.as_deref() == Some(other_number.as_str()) && stored_user_id.is_none() {
                let first_seen: NaiveDateTime = contacts::table
                    .find(&other_id)
                    .select(contacts::first_seen_at)
                    .first(conn)?;
                diesel::delete(contacts::table.find(&other_id)).execute(conn)?;
                refile_in(conn, bot, &other_number, &stored_number)?;
                diesel::update(
                    contacts::table
                        .find(&id)
                        .filter(contacts::first_seen_at.gt(first_seen)),
                )
                .set(contacts::first_seen_at.eq(first_seen))
                .execute(conn)?;
                (id, stored_number, other_user)
            } else {
                // Two contacts Meta once told apart (a number that changed hands): both stay
                // as they are, the user id with the one that has it.
                (id, stored_number, stored_user_id)
            }
        }
    };
    diesel::update(contacts::table.find(&id))
        .set((
            contacts::last_seen_at.eq(now),
            contacts::number.eq(&address),
            contacts::user_id.eq(kept_user_id),
        ))
        .execute(conn)?;
    Ok(Remembered {
        id,
        known: true,
        address,
    })
}

/// File the bot's messages with `old` (a user id standing in for a number) under `number`.
fn refile_in(conn: &mut DbConn, bot: &Bot, old: &str, number: &str) -> QueryResult<()> {
    diesel::update(
        messages::table
            .filter(messages::bot_id.eq(&bot.id))
            .filter(messages::contact_number.eq(old)),
    )
    .set(messages::contact_number.eq(number))
    .execute(conn)
    .map(drop)
}

/// A status for an outbound message: it only moves forward, whatever order statuses
/// arrive in, and a failure keeps the provider's error.
pub async fn record_receipt(
    db: &Db,
    live: &Live,
    bot: &Bot,
    message_id: &str,
    delivery: Delivery,
    recipient_user_id: Option<String>,
) -> Result<(), DbError> {
    let (tenant_id, bot_id, wa_id) = (bot.tenant_id.clone(), bot.id.clone(), message_id.to_owned());
    let events = db
        .run_in(RowScope::tenant(tenant_id.clone()), move |conn| {
            let (code, title) = match &delivery {
                Delivery::Failed { code, title } => (*code, title.clone()),
                _ => (None, None),
            };
            let moved = diesel::update(
                messages::table
                    .filter(messages::bot_id.eq(&bot_id))
                    .filter(messages::direction.eq(MessageDirection::Out))
                    .filter(messages::wa_message_id.eq(&wa_id))
                    .filter(messages::status.eq_any(delivery.replaces())),
            )
            .set((
                messages::status.eq(delivery.status()),
                messages::error_code.eq(code),
                messages::error_title.eq(title),
            ))
            .execute(conn)?;
            if let Some(user_id) = recipient_user_id {
                // Whatever the status, the recipient's user id is kept beside their number.
                diesel::update(
                    messages::table
                        .filter(messages::bot_id.eq(&bot_id))
                        .filter(messages::direction.eq(MessageDirection::Out))
                        .filter(messages::wa_message_id.eq(&wa_id))
                        .filter(messages::contact_user_id.is_null()),
                )
                .set(messages::contact_user_id.eq(user_id))
                .execute(conn)?;
            }
            if moved == 0 {
                return Ok(Vec::new());
            }
            // The message's ticks changed: its thread's open pages show the new ones.
            let (id, number): (String, String) = messages::table
                .filter(messages::bot_id.eq(&bot_id))
                .filter(messages::direction.eq(MessageDirection::Out))
                .filter(messages::wa_message_id.eq(&wa_id))
                .select((messages::id, messages::contact_number))
                .first(conn)?;
            match threads::thread_of_number_in(conn, &bot_id, &number)? {
                Some(thread) => Ok(vec![live::append_in(
                    conn,
                    &tenant_id,
                    &thread,
                    LiveKind::Message,
                    &id,
                )?]),
                None => Ok(Vec::new()),
            }
        })
        .await?;
    live.publish(events).await;
    Ok(())
}
