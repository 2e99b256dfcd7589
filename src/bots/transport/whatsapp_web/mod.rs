//! The WhatsApp Web transport: a linked device through the whatsapp-rust client, its session
//! kept in our database (see [`backend`]) so a restart or another instance resumes without a
//! new scan. Inbound messages are acknowledged to WhatsApp only after the bot task has stored
//! them: the client's durability hook waits for that answer.

pub mod backend;
pub mod store;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, mpsc};
use whatsapp_rust::async_trait;
use whatsapp_rust::types::events::Event;
use whatsapp_rust::wacore::proto_helpers::MessageExt;
use whatsapp_rust::wacore::types::events::InboundMessage as WaInbound;
use whatsapp_rust::wacore::types::presence::ReceiptType;
use whatsapp_rust::{Client, InboundDurabilityHook, Jid};
use whatsapp_rust_tokio_transport::TokioWebSocketTransportFactory;

use super::{Delivery, InboundMessage, SendError, StoredAnswer, TransportEvent};
use backend::DbBackend;
pub use store::SessionStore;

/// How to reach WhatsApp; the defaults are the real service.
#[derive(Debug, Clone, Default)]
pub struct WebSettings {
    /// WebSocket URL of the chat server (`WHATSAPP_WS_URL`), for a relay or a test server.
    pub server_url: Option<String>,
    /// WhatsApp Web version to announce (`WHATSAPP_VERSION`); looked up online when unset.
    pub version: Option<(u32, u32, u32)>,
}

/// A running linked device.
pub struct WebTransport {
    client: Arc<Client>,
    handle: Mutex<Option<whatsapp_rust::bot::BotHandle>>,
    store: SessionStore,
}

impl WebTransport {
    /// Start the client for a bot: it resumes its stored session, or asks for a QR scan.
    pub async fn connect(
        store: SessionStore,
        settings: &WebSettings,
        events: mpsc::Sender<TransportEvent>,
    ) -> Result<Self, String> {
        let mut factory = TokioWebSocketTransportFactory::new();
        if let Some(url) = &settings.server_url {
            factory = factory.with_url(url);
        }
        let mut builder = whatsapp_rust::bot::Bot::builder()
            .with_backend(DbBackend::new(store.clone()))
            .with_transport_factory(factory)
            .skip_history_sync()
            .with_push_name("WhatsDeX")
            .with_inbound_durability_hook(StoreBeforeAck {
                events: events.clone(),
            })
            .on_event(move |event, _client| {
                let events = events.clone();
                async move {
                    for event in translate(&event) {
                        // A closed channel means the bot task is stopping.
                        let _ = events.send(event).await;
                    }
                }
            });
        if let Some(version) = settings.version {
            builder = builder.with_version(version);
        }
        let bot = builder
            .build()
            .await
            .map_err(|e| format!("could not start the WhatsApp client: {e}"))?;
        let client = bot.client();
        let handle = bot.spawn();
        Ok(Self {
            client,
            handle: Mutex::new(Some(handle)),
            store,
        })
    }

    /// Send a text to `to` (digits); returns WhatsApp's id for it.
    pub async fn send_text(&self, to: &str, text: &str) -> Result<String, SendError> {
        let jid: Jid = format!("{to}@s.whatsapp.net")
            .parse()
            .map_err(|e| SendError::retry(format!("not a WhatsApp number: {e}")))?;
        self.client
            .send_text(jid, text)
            .await
            .map(|sent| sent.message_id)
            .map_err(|e| SendError::retry(e.to_string()))
    }

    /// Ask WhatsApp for an 8-character code to link by phone number instead of a QR scan.
    pub async fn request_pair_code(&self, phone_number: &str) -> Result<String, String> {
        let options = whatsapp_rust::pair_code::PairCodeOptions {
            phone_number: phone_number.to_owned(),
            show_push_notification: true,
            ..Default::default()
        };
        self.client
            .pair_with_code(options)
            .await
            .map_err(|e| e.to_string())
    }

    /// Disconnect, keeping the session for the next start.
    pub async fn close(&self) {
        if let Some(handle) = self.handle.lock().await.take() {
            // The client flushes its state on a graceful stop; don't wait forever for it.
            let _ = tokio::time::timeout(Duration::from_secs(5), handle.shutdown()).await;
        }
    }

    /// Remove this linked device from the phone and forget the session.
    pub async fn logout(&self) {
        let _ = tokio::time::timeout(Duration::from_secs(5), self.client.logout()).await;
        self.close().await;
        if let Err(e) = self.store.clear().await {
            tracing::error!(error = %e, "could not clear a logged-out WhatsApp session");
        }
    }

    /// Forget the stored session after the phone removed the device. The client stops
    /// first: it writes its state as it stops, which would otherwise land after the clear.
    pub async fn forget_session(&self) {
        self.close().await;
        if let Err(e) = self.store.clear().await {
            tracing::error!(error = %e, "could not clear a logged-out WhatsApp session");
        }
    }
}

/// The client's events that a bot task cares about, as transport events.
fn translate(event: &Event) -> Vec<TransportEvent> {
    match event {
        Event::PairingQrCode(qr) => vec![TransportEvent::Qr {
            payload: qr.code.clone(),
            valid_for: qr.timeout,
        }],
        Event::PairingCode(code) => vec![TransportEvent::PairCode {
            code: code.code.clone(),
            valid_for: code.timeout,
        }],
        Event::PairSuccess(success) => vec![TransportEvent::Paired {
            owner_number: success.id.user.to_string(),
        }],
        Event::Connected(_) => vec![TransportEvent::Connected],
        Event::Disconnected(d) => vec![TransportEvent::Reconnecting {
            reason: format!("{:?}", d.reason),
        }],
        Event::LoggedOut(_) => vec![TransportEvent::LoggedOut],
        Event::Receipt(receipt) => {
            let delivery = match receipt.r#type {
                ReceiptType::Delivered => Delivery::Delivered,
                ReceiptType::Read | ReceiptType::ReadSelf => Delivery::Read,
                _ => return Vec::new(),
            };
            receipt
                .message_ids
                .iter()
                .map(|id| TransportEvent::Receipt {
                    message_id: id.to_string(),
                    delivery: delivery.clone(),
                    recipient_user_id: None,
                })
                .collect()
        }
        _ => Vec::new(),
    }
}

/// The durability hook: hand each message to the bot task and let WhatsApp have its
/// acknowledgement only once the task says it is stored. A failure leaves the message in
/// WhatsApp's queue, to be delivered again.
struct StoreBeforeAck {
    events: mpsc::Sender<TransportEvent>,
}

#[async_trait]
impl InboundDurabilityHook for StoreBeforeAck {
    async fn on_messages(&self, _client: Arc<Client>, batch: &[WaInbound]) -> anyhow::Result<()> {
        for message in batch.iter().filter_map(inbound_text) {
            let (stored, answer) = StoredAnswer::new();
            self.events
                .send(TransportEvent::MessageToStore { message, stored })
                .await
                .map_err(|_| anyhow::anyhow!("the bot is stopping"))?;
            match answer.await {
                Ok(true) => {}
                _ => anyhow::bail!("the message was not stored"),
            }
        }
        Ok(())
    }
}

/// A direct text message from someone else, as the pipeline takes it; None for the rest
/// (our own echoes, groups, media), which are acknowledged without being stored.
fn inbound_text(message: &WaInbound) -> Option<InboundMessage> {
    let source = &message.info.source;
    if source.is_from_me || source.is_group {
        return None;
    }
    let text = message.message.text_content()?.to_owned();
    // Prefer the phone number when WhatsApp addresses the sender by its LID.
    let sender = std::iter::once(&source.sender)
        .chain(source.sender_alt.as_ref())
        .find(|jid| jid.is_pn())
        .unwrap_or(&source.sender);
    let push_name = message.info.push_name.trim();
    // Ids are unique per sender only.
    let id = format!("{}:{}", sender.user, message.info.id);
    let name = (!push_name.is_empty()).then_some(push_name);
    Some(InboundMessage::text(&id, &sender.user, name, &text))
}
