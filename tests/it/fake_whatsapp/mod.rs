//! An offline stand-in for WhatsApp's servers and the owner's phone, for tests.
//!
//! The real whatsapp-rust client connects to it over a real websocket on
//! 127.0.0.1 through the crate's own transport, so the production connection
//! code is what gets exercised. Everything the server knows (issued QR refs,
//! the paired device's keys, Signal sessions of fake contacts) lives here, so a
//! client process can be restarted mid-test and reconnect to the same account.

mod noise;
mod phone;
mod server;
mod signal;
mod wire;

#[allow(unused_imports)]
pub use phone::Phone;
pub use server::FakeWhatsApp;
