//! The WhatsApp Cloud API transport: Meta's official, hosted API. Meta calls our webhook with
//! messages and statuses; we send through the Graph API.
//!
//! - `payload`: Meta's webhook bodies, read leniently into the events a bot task handles;
//! - `signature`: the `X-Hub-Signature-256` check over the raw body and the verify handshake;
//! - `graph`: the Graph API client (phone number details, sending, templates, media).

pub mod graph;
pub mod payload;
pub mod signature;
