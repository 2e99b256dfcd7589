//! Bots: their records, the supervisor that runs one task per bot, the transports that connect
//! them to WhatsApp (or the sandbox), the pipeline every inbound message goes through, and
//! what decides the replies: templates, each bot's settings and the command router.

pub mod behaviour;
pub mod cloud_setup;
pub mod config_changes;
pub mod conversation;
pub mod dashboard;
pub mod failures;
pub mod lease;
pub mod media;
pub mod media_checks;
pub mod media_store;
pub mod messages;
pub mod model;
pub mod outbox;
pub mod picker;
pub mod pipeline;
pub mod presets;
pub mod recent_messages;
pub mod router;
pub mod sandbox_phones;
pub mod settings;
pub mod supervisor;
pub mod threads;
pub mod transport;
pub mod wording;

pub use self::model::{Bot, BotStatus};
pub use self::supervisor::BotSupervisor;
