//! A running Cloud API bot: its stored webhook deliveries go to the bot's task in the order
//! they arrived, one batch per delivery, and are marked processed only once the task has
//! stored everything in them; its outbox goes out through the Graph API, with Meta's errors
//! turned into what the sender should do.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use diesel::prelude::*;
use tokio::sync::{Notify, Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

use super::connection::OpenConnection;
use super::graph::{CloudBody, GraphClient, GraphError, OutgoingCloudMessage};
use super::inbound::to_inbound;
use super::media_fetch::MediaFetcher;
use super::payload::{self, CloudEvent, DeliveryStatus};
use super::window;
use crate::bots::media_store::MediaStore;
use crate::bots::transport::{
    Delivery, OutgoingMessage, SendAction, SendError, StoredAnswer, TransportEvent,
};
use crate::db::schema::webhook_deliveries;
use crate::db::{Db, DbError, RowScope};
use crate::ids::{BotId, TenantId};

/// Stored deliveries are looked for at least this often (a delivery stored by another
/// instance wakes nobody here).
const LOOK_EVERY: Duration = Duration::from_secs(2);
/// After a delivery could not be processed, wait this long before the next try.
const RETRY_AFTER: Duration = Duration::from_secs(5);
/// A delivery that failed this often is set aside (kept, with its error) so that it cannot
/// stop the deliveries behind it forever.
const MAX_DELIVERY_ATTEMPTS: i32 = 5;
/// Processed deliveries are kept this many days (to look into), then deleted.
const KEEP_PROCESSED_DAYS: i64 = 3;
/// How often a bot's old deliveries are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);
/// Deliveries read at a time.
const BATCH: i64 = 32;
/// Meta says the number sends too fast (130429): pause all sending this long.
const THROUGHPUT_PAUSE: Duration = Duration::from_secs(10);
/// Meta says we write to one person too often (131056): wait this long for them.
const PAIR_RATE_PAUSE: Duration = Duration::from_secs(15);

/// One bot's Cloud API side.
pub struct CloudTransport {
    tenant_id: TenantId,
    bot_id: BotId,
    db: Db,
    graph: GraphClient,
    phone_number_id: String,
    access_token: String,
    stop: CancellationToken,
}

impl CloudTransport {
    /// Start reading the bot's stored deliveries; `nudge` wakes the reader when the webhook
    /// stores one. Says `Connected` at once when Meta has already reached the webhook.
    pub fn connect(
        db: Db,
        graph: GraphClient,
        open: OpenConnection,
        events: mpsc::Sender<TransportEvent>,
        nudge: Arc<Notify>,
        media: MediaStore,
        processing: Arc<Semaphore>,
    ) -> Self {
        let stop = CancellationToken::new();
        let connection = open.connection;
        let fetcher = MediaFetcher {
            db: db.clone(),
            graph: graph.clone(),
            store: media,
            tenant_id: connection.tenant_id.clone(),
            bot_id: connection.bot_id.clone(),
            access_token: open.secrets.access_token.clone(),
        };
        tokio::spawn(fetcher.run(stop.clone()));
        let reader = Reader {
            db: db.clone(),
            tenant_id: connection.tenant_id.clone(),
            bot_id: connection.bot_id.clone(),
            phone_number_id: connection.phone_number_id.clone(),
            events,
            announced: false,
            processing,
        };
        tokio::spawn(reader.run(connection.verified_at.is_some(), nudge, stop.clone()));
        Self {
            tenant_id: connection.tenant_id,
            bot_id: connection.bot_id,
            db,
            graph,
            phone_number_id: connection.phone_number_id,
            access_token: open.secrets.access_token,
            stop,
        }
    }

    /// Send a queued message through the Graph API; answers Meta's id for it. A free-form
    /// message to a customer whose 24-hour window is closed is refused before sending.
    pub async fn send(&self, message: &OutgoingMessage<'_>) -> Result<String, SendError> {
        let body = match message.content {
            Some(json) => serde_json::from_str::<CloudBody>(json).map_err(|e| SendError {
                reason: format!("the queued message cannot be read: {e}"),
                action: SendAction::GiveUp {
                    code: None,
                    title: "The queued message could not be read.".into(),
                },
            })?,
            None => CloudBody::Text {
                body: message.body.to_owned(),
                preview_url: false,
            },
        };
        if !matches!(body, CloudBody::Template { .. }) {
            let now = Utc::now().naive_utc();
            let open = window::is_open(&self.db, &self.tenant_id, &self.bot_id, message.to, now)
                .await
                .map_err(|e| SendError::retry(e.to_string()))?;
            if !open {
                return Err(SendError {
                    reason: window::CLOSED.into(),
                    action: SendAction::GiveUp {
                        code: None,
                        title: window::CLOSED.into(),
                    },
                });
            }
        }
        let outgoing = OutgoingCloudMessage {
            to: message.to.to_owned(),
            body,
        };
        self.graph
            .send(&self.phone_number_id, &self.access_token, &outgoing)
            .await
            .map_err(send_error)
    }

    /// Stop reading deliveries (the bot is stopping); they stay stored for the next run.
    pub fn close(&self) {
        self.stop.cancel();
    }
}

/// What the sender does about a Graph API error.
fn send_error(error: GraphError) -> SendError {
    let reason = error.to_string();
    let action = match &error {
        GraphError::Throughput(_) => SendAction::Wait {
            after: THROUGHPUT_PAUSE,
            whole_number: true,
        },
        GraphError::PairRateLimit(_) => SendAction::Wait {
            after: PAIR_RATE_PAUSE,
            whole_number: false,
        },
        GraphError::WindowClosed(_) => SendAction::GiveUp {
            code: error.code(),
            title: window::CLOSED.into(),
        },
        GraphError::TokenInvalid(_) => SendAction::StopBot,
        GraphError::Invalid { title, .. } => SendAction::GiveUp {
            code: error.code(),
            title: title.clone(),
        },
        GraphError::NotSent(why) => SendAction::GiveUp {
            code: None,
            title: why.clone(),
        },
        GraphError::TooLarge { .. } => SendAction::GiveUp {
            code: None,
            title: reason.clone(),
        },
        GraphError::Unavailable(_) => SendAction::Retry,
    };
    SendError { reason, action }
}

/// Reads the bot's stored deliveries and hands them to its task.
struct Reader {
    db: Db,
    tenant_id: TenantId,
    bot_id: BotId,
    phone_number_id: String,
    events: mpsc::Sender<TransportEvent>,
    /// Whether `Connected` was said.
    announced: bool,
    /// Shared by every Cloud API bot of this process: how many deliveries are processed at
    /// once, so that a backlog never takes all the CPU and connections the webhook needs to
    /// acknowledge the next delivery in time.
    processing: Arc<Semaphore>,
}

/// A stored delivery not yet processed.
struct Pending {
    id: String,
    body: Vec<u8>,
    attempts: i32,
}

impl Reader {
    async fn run(mut self, verified: bool, nudge: Arc<Notify>, stop: CancellationToken) {
        if verified && !self.announce().await {
            return;
        }
        let mut next_prune = tokio::time::Instant::now();
        loop {
            if tokio::time::Instant::now() >= next_prune {
                next_prune += PRUNE_EVERY;
                if let Err(e) = self.prune().await {
                    tracing::warn!(bot_id = %self.bot_id, error = %e, "could not prune webhook deliveries");
                }
            }
            let wait = match self.process_pending(&stop).await {
                Ok(()) => LOOK_EVERY,
                Err(Stop) => return,
                Err(Later) => RETRY_AFTER,
            };
            tokio::select! {
                () = stop.cancelled() => return,
                () = nudge.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Say `Connected` once; false when the task is gone.
    async fn announce(&mut self) -> bool {
        if self.announced {
            return true;
        }
        self.announced = true;
        self.events.send(TransportEvent::Connected).await.is_ok()
    }

    async fn process_pending(&mut self, stop: &CancellationToken) -> Result<(), Halt> {
        loop {
            let pending = self.pending().await.map_err(|e| {
                tracing::warn!(bot_id = %self.bot_id, error = %e, "could not read webhook deliveries");
                Later
            })?;
            if pending.is_empty() {
                return Ok(());
            }
            // Stored deliveries are marked processed together, in one write per batch: one
            // marked late is only read again, and its messages are stored once by their ids.
            let mut processed = Vec::with_capacity(pending.len());
            let mut halted = None;
            for delivery in pending {
                if stop.is_cancelled() {
                    halted = Some(Stop);
                    break;
                }
                let id = delivery.id.clone();
                match self.process(delivery).await {
                    Ok(()) => processed.push(id),
                    Err(halt) => {
                        halted = Some(halt);
                        break;
                    }
                }
            }
            if let Err(e) = self.finish(processed, None).await {
                tracing::warn!(bot_id = %self.bot_id, error = %e, "could not mark webhook deliveries processed");
                return Err(Later);
            }
            if let Some(halt) = halted {
                return Err(halt);
            }
        }
    }

    /// Hand one delivery to the task and wait until it is stored.
    async fn process(&mut self, delivery: Pending) -> Result<(), Halt> {
        if !self.announce().await {
            return Err(Stop);
        }
        let events = events_for(&delivery.body, &self.phone_number_id);
        let stored = if events.is_empty() {
            true
        } else {
            let Ok(_permit) = self.processing.clone().acquire_owned().await else {
                return Err(Stop);
            };
            let (done, answer) = StoredAnswer::new();
            let batch = TransportEvent::Batch { events, done };
            if self.events.send(batch).await.is_err() {
                return Err(Stop);
            }
            answer.await.unwrap_or(false)
        };
        if stored {
            return Ok(());
        }
        let result = if delivery.attempts + 1 >= MAX_DELIVERY_ATTEMPTS {
            tracing::error!(bot_id = %self.bot_id, delivery = %delivery.id, "a webhook delivery failed too often; set aside");
            self.finish(vec![delivery.id], Some("set aside after repeated failures"))
                .await
        } else {
            self.count_attempt(&delivery.id).await
        };
        if let Err(e) = result {
            tracing::warn!(bot_id = %self.bot_id, error = %e, "could not update a webhook delivery");
        }
        Err(Later)
    }

    async fn pending(&self) -> Result<Vec<Pending>, DbError> {
        let bot_id = self.bot_id.clone();
        let rows: Vec<(String, Vec<u8>, i32)> = self
            .db
            .run_in(RowScope::tenant(self.tenant_id.clone()), move |conn| {
                webhook_deliveries::table
                    .filter(webhook_deliveries::bot_id.eq(&bot_id))
                    .filter(webhook_deliveries::processed_at.is_null())
                    .order((
                        webhook_deliveries::received_at.asc(),
                        webhook_deliveries::id.asc(),
                    ))
                    .limit(BATCH)
                    .select((
                        webhook_deliveries::id,
                        webhook_deliveries::body,
                        webhook_deliveries::attempts,
                    ))
                    .load(conn)
            })
            .await?;
        Ok(rows
            .into_iter()
            .map(|(id, body, attempts)| Pending { id, body, attempts })
            .collect())
    }

    /// Mark the deliveries `ids` processed, in one write; `error` says why when they were set
    /// aside instead.
    async fn finish(&self, ids: Vec<String>, error: Option<&str>) -> Result<(), DbError> {
        if ids.is_empty() {
            return Ok(());
        }
        let error = error.map(str::to_owned);
        self.db
            .run_in(RowScope::tenant(self.tenant_id.clone()), move |conn| {
                diesel::update(
                    webhook_deliveries::table.filter(webhook_deliveries::id.eq_any(&ids)),
                )
                .set((
                    webhook_deliveries::processed_at.eq(Some(Utc::now().naive_utc())),
                    webhook_deliveries::last_error.eq(error),
                ))
                .execute(conn)
                .map(drop)
            })
            .await
    }

    /// Forget deliveries processed long ago: their messages are stored; the raw bodies were
    /// only kept until then.
    async fn prune(&self) -> Result<usize, DbError> {
        let bot_id = self.bot_id.clone();
        let before = Utc::now().naive_utc() - chrono::Duration::days(KEEP_PROCESSED_DAYS);
        self.db
            .run_in(RowScope::tenant(self.tenant_id.clone()), move |conn| {
                diesel::delete(
                    webhook_deliveries::table
                        .filter(webhook_deliveries::bot_id.eq(&bot_id))
                        .filter(webhook_deliveries::processed_at.lt(before)),
                )
                .execute(conn)
            })
            .await
    }

    async fn count_attempt(&self, id: &str) -> Result<(), DbError> {
        let id = id.to_owned();
        self.db
            .run_in(RowScope::tenant(self.tenant_id.clone()), move |conn| {
                diesel::update(webhook_deliveries::table.find(&id))
                    .set(webhook_deliveries::attempts.eq(webhook_deliveries::attempts + 1))
                    .execute(conn)
                    .map(drop)
            })
            .await
    }
}

/// Why the reader stopped processing for now.
enum Halt {
    /// The bot's task is gone or stopping.
    Stop,
    /// Something failed; try again a little later.
    Later,
}

use Halt::{Later, Stop};

/// The events of a stored delivery that concern `phone_number_id`, in Meta's order, as the
/// bot's task handles them.
fn events_for(body: &[u8], phone_number_id: &str) -> Vec<TransportEvent> {
    let delivery = match payload::events(body) {
        Ok(delivery) => delivery,
        Err(e) => {
            tracing::warn!(error = %e, "a stored Meta delivery is not a WhatsApp delivery");
            return Vec::new();
        }
    };
    delivery
        .events
        .into_iter()
        .filter_map(|event| match event {
            CloudEvent::Message(m) if m.phone_number_id == phone_number_id => {
                Some(TransportEvent::Message(to_inbound(m)))
            }
            CloudEvent::Status(s) if s.phone_number_id == phone_number_id => {
                let delivery = match s.status {
                    DeliveryStatus::Sent => Delivery::Sent,
                    DeliveryStatus::Delivered => Delivery::Delivered,
                    DeliveryStatus::Read => Delivery::Read,
                    DeliveryStatus::Failed => {
                        let error = s.errors.first();
                        Delivery::Failed {
                            code: error.and_then(|e| e.code),
                            title: error.and_then(|e| e.title.clone().or(e.message.clone())),
                        }
                    }
                    DeliveryStatus::Other(_) => return None,
                };
                Some(TransportEvent::Receipt {
                    message_id: s.wamid,
                    delivery,
                    recipient_user_id: s.recipient_user_id,
                })
            }
            CloudEvent::Error(e) if e.phone_number_id == phone_number_id => {
                let detail = [e.title, e.message, e.details]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(": ");
                Some(TransportEvent::ProviderError {
                    code: e.code,
                    detail,
                })
            }
            _ => None,
        })
        .collect()
}
