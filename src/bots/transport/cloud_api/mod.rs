//! The WhatsApp Cloud API transport: Meta's official, hosted API. Meta calls our webhook with
//! messages and statuses; we send through the Graph API.
//!
//! - `connection`: a bot's number at Meta and its sealed secrets; `connect` checks and saves it;
//! - `signature`: the `X-Hub-Signature-256` check over the raw body and the verify handshake;
//! - `webhook`: a delivery checked and stored before Meta is answered;
//! - `payload`: Meta's webhook bodies, read leniently into events; `inbound` turns a
//!   customer's message into the pipeline's `InboundMessage`;
//! - `graph`: the Graph API client (phone number details, sending, templates, media);
//! - `transport`: a running bot's side: stored deliveries in, the outbox out;
//! - `window`: the 24-hour customer service window, checked before a free-form message;
//! - `templates`: the approved templates listed (cached), filled in and queued by hand, and a
//!   free-form text refused before queueing when the window is closed.

pub mod connect;
pub mod connection;
pub mod graph;
pub mod inbound;
pub mod media_fetch;
pub mod media_send;
pub mod payload;
pub mod signature;
pub mod templates;
pub mod transport;
pub mod webhook;
pub mod window;

pub use transport::CloudTransport;
