//! What every request handler can reach.

use std::sync::Arc;
use std::time::Instant;

use crate::cache::Cache;
use crate::config::Config;
use crate::db::Db;
use crate::encryption::EncryptionKey;

/// Shared application state; cheap to clone (everything inside is a handle).
#[derive(Clone, Debug)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub cache: Cache,
    pub encryption_key: Arc<EncryptionKey>,
    pub started_at: Instant,
}
