//! The sandbox transport: a phone simulator inside this process.
//!
//! Its QR code encodes a link to `/sandbox/pair/{token}`; opening it (on a phone or in another
//! tab) pairs a simulated number, which then chats with the bot on a web page. Tokens rotate
//! like WhatsApp's QR references, and live in the cache.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{Delivery, SendError, TransportEvent};
use crate::cache::Cache;
use crate::ids::{new_id, new_token};

/// How long one QR code is shown before the next replaces it.
pub const QR_ROTATES_EVERY: Duration = Duration::from_secs(20);
/// A rotated-out code still works this much longer, for a scan in flight.
const QR_GRACE: Duration = Duration::from_secs(10);

fn pairing_key(token: &str) -> String {
    format!("sandbox:pair:{token}")
}

/// Routes events from simulated phones to the running bot tasks of this process.
#[derive(Clone, Default)]
pub struct SandboxHub {
    bots: Arc<Mutex<HashMap<String, mpsc::Sender<TransportEvent>>>>,
}

impl std::fmt::Debug for SandboxHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SandboxHub")
    }
}

/// The bot is not running in this process, so the simulated phone cannot reach it.
#[derive(Debug, thiserror::Error)]
#[error("the bot is not running")]
pub struct NotRunning;

impl SandboxHub {
    fn register(&self, bot_id: &str, events: mpsc::Sender<TransportEvent>) {
        self.bots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(bot_id.to_owned(), events);
    }

    fn unregister(&self, bot_id: &str) {
        self.bots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(bot_id);
    }

    /// Hand an event to the bot's task, as WhatsApp's servers would.
    pub async fn deliver(&self, bot_id: &str, event: TransportEvent) -> Result<(), NotRunning> {
        let sender = self
            .bots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(bot_id)
            .cloned()
            .ok_or(NotRunning)?;
        sender.send(event).await.map_err(|_| NotRunning)
    }

    /// The bot a pairing token (from a QR code) belongs to, if still valid.
    pub async fn bot_for_pairing(cache: &Cache, token: &str) -> Option<String> {
        cache.get(&pairing_key(token)).await.ok().flatten()
    }

    /// Spend a pairing token so it cannot pair a second phone.
    pub async fn consume_pairing(cache: &Cache, token: &str) -> bool {
        cache.delete(&pairing_key(token)).await.unwrap_or(false)
    }
}

/// One bot's sandbox connection.
pub struct SandboxTransport {
    bot_id: String,
    hub: SandboxHub,
    events: mpsc::Sender<TransportEvent>,
    stop: CancellationToken,
}

impl SandboxTransport {
    /// Connect: a paired bot is online at once; an unpaired one shows rotating QR codes
    /// encoding `{base_url}/sandbox/pair/{token}` until a phone pairs.
    pub fn connect(
        bot_id: &str,
        paired: bool,
        base_url: &str,
        hub: SandboxHub,
        cache: Cache,
        events: mpsc::Sender<TransportEvent>,
    ) -> Self {
        hub.register(bot_id, events.clone());
        let stop = CancellationToken::new();
        if paired {
            let events = events.clone();
            tokio::spawn(async move {
                let _ = events.send(TransportEvent::Connected).await;
            });
        } else {
            tokio::spawn(rotate_qr_codes(
                bot_id.to_owned(),
                base_url.trim_end_matches('/').to_owned(),
                cache,
                events.clone(),
                stop.clone(),
            ));
        }
        Self {
            bot_id: bot_id.to_owned(),
            hub,
            events,
            stop,
        }
    }

    /// Stop showing QR codes (a phone paired).
    pub fn paired(&self) {
        self.stop.cancel();
    }

    /// "Send" to the simulated phone: it is delivered at once, and a receipt follows.
    pub async fn send_text(&self, _to: &str, _text: &str) -> Result<String, SendError> {
        let id = format!("SANDBOX-{}", new_id());
        let events = self.events.clone();
        let message_id = id.clone();
        tokio::spawn(async move {
            let _ = events
                .send(TransportEvent::Receipt {
                    message_id,
                    delivery: Delivery::Delivered,
                    recipient_user_id: None,
                })
                .await;
        });
        Ok(id)
    }

    /// Disconnect from the hub.
    pub async fn close(&self) {
        self.stop.cancel();
        self.hub.unregister(&self.bot_id);
    }
}

async fn rotate_qr_codes(
    bot_id: String,
    base_url: String,
    cache: Cache,
    events: mpsc::Sender<TransportEvent>,
    stop: CancellationToken,
) {
    loop {
        let token = new_token();
        let stored = cache
            .set(
                &pairing_key(&token),
                &bot_id,
                Some(QR_ROTATES_EVERY + QR_GRACE),
            )
            .await;
        if let Err(e) = stored {
            tracing::warn!(bot_id = %bot_id, error = %e, "could not store a sandbox pairing token");
        }
        let event = TransportEvent::Qr {
            payload: format!("{base_url}/sandbox/pair/{token}"),
            valid_for: QR_ROTATES_EVERY,
        };
        if events.send(event).await.is_err() {
            return;
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(QR_ROTATES_EVERY) => {}
        }
    }
}
