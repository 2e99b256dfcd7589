//! The bus that carries committed [`LiveEvent`]s to every open page: a broadcast channel in
//! this process, and with Redis a pub/sub channel that joins the instances of a deployment.
//! Events of this instance reach its own pages at once; Redis carries them to the others, and
//! each instance ignores its own echo.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures_util::StreamExt;
use redis::AsyncCommands;
use tokio::sync::{Mutex, broadcast};

use super::LiveEvent;

/// Events a slow page may fall behind by before it resumes from the log instead.
const CHANNEL_CAPACITY: usize = 4096;

/// Wait before subscribing again after Redis went away.
const RESUBSCRIBE_AFTER: Duration = Duration::from_secs(1);

/// What a listener hears.
#[derive(Debug, Clone)]
pub enum Heard {
    /// A committed event (of any tenant: the listener filters).
    Event(Arc<LiveEvent>),
    /// The link to the other instances was (re)made: events may have passed unheard, so read
    /// the log from the last one seen.
    Resync,
}

/// The live bus; cheap to clone.
#[derive(Clone)]
pub struct Live {
    inner: Arc<Inner>,
}

struct Inner {
    local: broadcast::Sender<Heard>,
    redis: Option<RedisLink>,
    /// Tells this instance's messages from the others' on the shared channel.
    origin: String,
}

struct RedisLink {
    client: redis::Client,
    channel: String,
    publisher: Mutex<Option<redis::aio::MultiplexedConnection>>,
    /// The subscription task, started by the first page that listens.
    listening: OnceLock<()>,
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The Redis client holds the URL and its password: leave it out.
        f.debug_struct("Live")
            .field("redis", &self.inner.redis.is_some())
            .finish()
    }
}

/// What goes over Redis: the event and the instance it came from.
#[derive(serde::Serialize, serde::Deserialize)]
struct Wire {
    origin: String,
    event: LiveEvent,
}

impl Live {
    /// A bus within this process only.
    pub fn in_process() -> Self {
        Self::with(None)
    }

    /// A bus joined to the other instances through Redis at `url`; `prefix` names the channel
    /// (as it prefixes the cache's keys), so deployments sharing a server stay apart.
    pub fn over_redis(url: &str, prefix: &str) -> Result<Self, redis::RedisError> {
        let client = redis::Client::open(url)?;
        Ok(Self::with(Some(RedisLink {
            client,
            channel: format!("{prefix}live"),
            publisher: Mutex::new(None),
            listening: OnceLock::new(),
        })))
    }

    fn with(redis: Option<RedisLink>) -> Self {
        let (local, _) = broadcast::channel(CHANNEL_CAPACITY);
        Self {
            inner: Arc::new(Inner {
                local,
                redis,
                origin: crate::ids::new_id(),
            }),
        }
    }

    /// Whether the bus reaches other instances.
    pub fn is_shared(&self) -> bool {
        self.inner.redis.is_some()
    }

    /// Hear every event from now on (of every tenant: the listener filters). The first
    /// listener starts the Redis subscription, and hears [`Heard::Resync`] once it stands.
    pub fn subscribe(&self) -> broadcast::Receiver<Heard> {
        if let Some(redis) = &self.inner.redis {
            redis.listening.get_or_init(|| {
                tokio::spawn(listen(self.clone()));
            });
        }
        self.inner.local.subscribe()
    }

    /// Send committed events to every listener here and, with Redis, to the other instances.
    /// Never fails: an event Redis did not take is still in the log, and a page that reconnects
    /// gets it.
    pub async fn publish(&self, events: Vec<LiveEvent>) {
        if events.is_empty() {
            return;
        }
        if let Some(redis) = &self.inner.redis {
            for event in &events {
                let wire = Wire {
                    origin: self.inner.origin.clone(),
                    event: event.clone(),
                };
                if let Ok(payload) = serde_json::to_string(&wire) {
                    self.publish_to_redis(redis, payload).await;
                }
            }
        }
        for event in events {
            // No listener is fine: no page is open.
            let _ = self.inner.local.send(Heard::Event(Arc::new(event)));
        }
    }

    async fn publish_to_redis(&self, redis: &RedisLink, payload: String) {
        let mut publisher = redis.publisher.lock().await;
        if publisher.is_none() {
            match redis.client.get_multiplexed_async_connection().await {
                Ok(conn) => *publisher = Some(conn),
                Err(e) => {
                    tracing::warn!(error = %e, "live events: cannot reach Redis to publish");
                    return;
                }
            }
        }
        let Some(conn) = publisher.as_mut() else {
            return;
        };
        let sent: Result<i64, _> = conn.publish(&redis.channel, payload).await;
        if let Err(e) = sent {
            tracing::warn!(error = %e, "live events: Redis refused a publish");
            *publisher = None;
        }
    }
}

/// Forward the other instances' events from Redis to this instance's listeners, subscribing
/// again whenever the connection drops.
async fn listen(live: Live) {
    let Some(redis) = &live.inner.redis else {
        return;
    };
    loop {
        match redis.client.get_async_pubsub().await {
            Ok(mut pubsub) => match pubsub.subscribe(&redis.channel).await {
                Ok(()) => {
                    let _ = live.inner.local.send(Heard::Resync);
                    let mut messages = pubsub.on_message();
                    while let Some(message) = messages.next().await {
                        let Ok(payload) = message.get_payload::<String>() else {
                            continue;
                        };
                        match serde_json::from_str::<Wire>(&payload) {
                            Ok(wire) if wire.origin != live.inner.origin => {
                                let _ = live.inner.local.send(Heard::Event(Arc::new(wire.event)));
                            }
                            Ok(_) => {}
                            Err(e) => tracing::warn!(error = %e, "live events: unreadable message"),
                        }
                    }
                    tracing::warn!("live events: the Redis subscription ended; subscribing again");
                }
                Err(e) => tracing::warn!(error = %e, "live events: cannot subscribe"),
            },
            Err(e) => tracing::warn!(error = %e, "live events: cannot reach Redis to subscribe"),
        }
        tokio::time::sleep(RESUBSCRIBE_AFTER).await;
    }
}
