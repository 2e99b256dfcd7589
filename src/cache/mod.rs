//! One cache interface with two backends: Redis when configured, a map in this process
//! otherwise. Sessions, rate limits, QR codes and counters live here.
//!
//! Both backends keep the same semantics (TTL in milliseconds, `incr` that keeps an existing
//! expiry), and one test suite runs against both.

mod memory;
mod redis;

use std::sync::Arc;
use std::time::Duration;

pub use self::memory::MemoryCache;
pub use self::redis::RedisCache;

/// Why a cache call failed.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("redis unavailable: {0}")]
    Unavailable(String),
    #[error("redis command failed: {0}")]
    Command(#[from] deadpool_redis::redis::RedisError),
    #[error("value under `{0}` is not an integer")]
    NotAnInteger(String),
    #[error("cache call timed out")]
    Timeout,
}

/// A cache handle; cheap to clone.
#[derive(Clone, Debug)]
pub enum Cache {
    Redis(RedisCache),
    Memory(Arc<MemoryCache>),
}

impl Cache {
    /// An in-process cache.
    pub fn memory() -> Self {
        Self::Memory(Arc::new(MemoryCache::default()))
    }

    /// A Redis cache; `prefix` is put before every key so several apps (or tests) can share
    /// one server.
    pub fn redis(url: &str, prefix: &str) -> Result<Self, CacheError> {
        Ok(Self::Redis(RedisCache::connect(url, prefix)?))
    }

    /// Whether this cache is backed by Redis.
    pub fn is_redis(&self) -> bool {
        matches!(self, Self::Redis(_))
    }

    /// The value under `key`, if present and not expired.
    pub async fn get(&self, key: &str) -> Result<Option<String>, CacheError> {
        match self {
            Self::Redis(r) => counted("get", r.get(key).await),
            Self::Memory(m) => Ok(m.get(key)),
        }
    }

    /// Store `value` under `key`, replacing any value, expiring after `ttl` if given.
    pub async fn set(
        &self,
        key: &str,
        value: &str,
        ttl: Option<Duration>,
    ) -> Result<(), CacheError> {
        match self {
            Self::Redis(r) => counted("set", r.set(key, value, ttl).await),
            Self::Memory(m) => {
                m.set(key, value, ttl);
                Ok(())
            }
        }
    }

    /// Store `value` only if `key` holds nothing; true when it was stored.
    pub async fn set_if_absent(
        &self,
        key: &str,
        value: &str,
        ttl: Option<Duration>,
    ) -> Result<bool, CacheError> {
        match self {
            Self::Redis(r) => counted("set_if_absent", r.set_if_absent(key, value, ttl).await),
            Self::Memory(m) => Ok(m.set_if_absent(key, value, ttl)),
        }
    }

    /// Atomically add `by` to the integer under `key` (0 when absent) and return the result.
    /// `ttl` is applied when the key has no expiry yet, so a window counter keeps its window.
    pub async fn incr(&self, key: &str, by: i64, ttl: Option<Duration>) -> Result<i64, CacheError> {
        match self {
            Self::Redis(r) => counted("incr", r.incr(key, by, ttl).await),
            Self::Memory(m) => m.incr(key, by, ttl),
        }
    }

    /// Time left before `key` expires; `None` when absent or without expiry.
    pub async fn ttl(&self, key: &str) -> Result<Option<Duration>, CacheError> {
        match self {
            Self::Redis(r) => counted("ttl", r.ttl(key).await),
            Self::Memory(m) => Ok(m.ttl(key)),
        }
    }

    /// Remove `key`; true when something was removed.
    pub async fn delete(&self, key: &str) -> Result<bool, CacheError> {
        match self {
            Self::Redis(r) => counted("delete", r.delete(key).await),
            Self::Memory(m) => Ok(m.delete(key)),
        }
    }

    /// Extend `key`'s expiry to `ttl` if it holds `value`; true when extended.
    pub async fn extend_if_holder(
        &self,
        key: &str,
        value: &str,
        ttl: Duration,
    ) -> Result<bool, CacheError> {
        match self {
            Self::Redis(r) => counted(
                "extend_if_holder",
                r.extend_if_holder(key, value, ttl).await,
            ),
            Self::Memory(m) => Ok(m.extend_if_holder(key, value, ttl)),
        }
    }

    /// Delete `key` if it holds `value`; true when deleted.
    pub async fn delete_if_holder(&self, key: &str, value: &str) -> Result<bool, CacheError> {
        match self {
            Self::Redis(r) => counted("delete_if_holder", r.delete_if_holder(key, value).await),
            Self::Memory(m) => Ok(m.delete_if_holder(key, value)),
        }
    }

    /// Check the backend answers within `timeout`.
    pub async fn ping(&self, timeout: Duration) -> Result<(), CacheError> {
        match self {
            Self::Redis(r) => tokio::time::timeout(timeout, r.ping())
                .await
                .map_err(|_| CacheError::Timeout)?,
            Self::Memory(_) => Ok(()),
        }
    }
}

/// Count a failed Redis operation in the metrics, passing the result on.
pub(crate) fn counted<T>(
    operation: &'static str,
    result: Result<T, CacheError>,
) -> Result<T, CacheError> {
    if result.is_err() {
        crate::telemetry::metrics::cache_error(operation);
    }
    result
}

/// A TTL in whole milliseconds, at least 1 (0 would mean "no expiry" to Redis).
fn ttl_millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}
