//! Bots: their records, the supervisor that runs one task per bot, the transports that connect
//! them to WhatsApp (or the sandbox), and the pipeline every inbound message goes through.

pub mod commands;
pub mod lease;
pub mod model;
pub mod outbox;
pub mod pipeline;
pub mod sandbox_phones;
pub mod supervisor;
pub mod transport;

pub use self::model::{Bot, BotStatus};
pub use self::supervisor::BotSupervisor;
