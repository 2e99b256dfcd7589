//! Everything a request (or a background job) can reach: database, cache, mailer, settings.
//! Services take it by reference; it holds no HTTP types.

use std::sync::Arc;
use std::time::Instant;

use crate::bots::BotSupervisor;
use crate::cache::Cache;
use crate::config::Config;
use crate::db::Db;
use crate::encryption::EncryptionKey;
use crate::mail::Mailer;

/// Shared application state; cheap to clone (everything inside is a handle).
#[derive(Clone, Debug)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub cache: Cache,
    pub mailer: Mailer,
    pub bots: BotSupervisor,
    pub encryption_key: Arc<EncryptionKey>,
    pub started_at: Instant,
}

impl AppState {
    /// An absolute link to `path` on this site, for emails.
    pub fn link(&self, path: &str) -> String {
        let base = self.config.app_base_url.as_str().trim_end_matches('/');
        format!("{base}{path}")
    }
}
