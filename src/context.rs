//! The handles every domain service works with: database, cache, live bus, mailer, settings
//! and key.
//!
//! Ground floor: it holds no domain. The edge's `AppState` adds the bot supervisor on top and
//! dereferences to this, so a handler passes `&state` where a service asks for a `&Context`.

use std::sync::Arc;
use std::time::Instant;

use crate::cache::Cache;
use crate::config::Config;
use crate::db::Db;
use crate::encryption::EncryptionKey;
use crate::live::Live;
use crate::mail::Mailer;

/// Shared handles; cheap to clone (everything inside is a handle).
#[derive(Clone, Debug)]
pub struct Context {
    pub config: Arc<Config>,
    pub db: Db,
    pub cache: Cache,
    /// Announces committed changes to the open pages of every instance.
    pub live: Live,
    pub mailer: Mailer,
    pub encryption_key: Arc<EncryptionKey>,
    pub started_at: Instant,
}

impl Context {
    /// An absolute link to `path` on this site, for emails.
    pub fn link(&self, path: &str) -> String {
        let base = self.config.app_base_url.as_str().trim_end_matches('/');
        format!("{base}{path}")
    }
}
