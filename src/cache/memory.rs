//! The in-process cache backend, for the embedded single-instance mode.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::CacheError;

/// Expired entries are swept after this many writes, so the map cannot grow without bound.
const SWEEP_EVERY_WRITES: u64 = 1024;

#[derive(Debug)]
struct Entry {
    value: String,
    expires_at: Option<Instant>,
}

impl Entry {
    fn is_live(&self, now: Instant) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }
}

/// A map guarded by one mutex; each call holds it for a few hash-map operations only.
#[derive(Debug, Default)]
pub struct MemoryCache {
    entries: Mutex<HashMap<String, Entry>>,
    writes: AtomicU64,
}

impl MemoryCache {
    fn with_entries<T>(&self, f: impl FnOnce(&mut HashMap<String, Entry>, Instant) -> T) -> T {
        // A panic while holding the lock cannot leave a half-written entry, so a poisoned
        // lock is still safe to use.
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut entries, Instant::now())
    }

    fn after_write(&self) {
        if self
            .writes
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(SWEEP_EVERY_WRITES)
        {
            self.with_entries(|entries, now| entries.retain(|_, e| e.is_live(now)));
        }
    }

    pub(super) fn get(&self, key: &str) -> Option<String> {
        self.with_entries(|entries, now| {
            entries
                .get(key)
                .filter(|e| e.is_live(now))
                .map(|e| e.value.clone())
        })
    }

    pub(super) fn set(&self, key: &str, value: &str, ttl: Option<Duration>) {
        self.with_entries(|entries, now| {
            entries.insert(
                key.to_owned(),
                Entry {
                    value: value.to_owned(),
                    expires_at: ttl.map(|t| now + t),
                },
            );
        });
        self.after_write();
    }

    pub(super) fn set_if_absent(&self, key: &str, value: &str, ttl: Option<Duration>) -> bool {
        let stored = self.with_entries(|entries, now| {
            if entries.get(key).is_some_and(|e| e.is_live(now)) {
                return false;
            }
            entries.insert(
                key.to_owned(),
                Entry {
                    value: value.to_owned(),
                    expires_at: ttl.map(|t| now + t),
                },
            );
            true
        });
        self.after_write();
        stored
    }

    pub(super) fn incr(
        &self,
        key: &str,
        by: i64,
        ttl: Option<Duration>,
    ) -> Result<i64, CacheError> {
        let result = self.with_entries(|entries, now| {
            let entry = entries
                .entry(key.to_owned())
                .and_modify(|e| {
                    if !e.is_live(now) {
                        *e = Entry {
                            value: "0".to_owned(),
                            expires_at: None,
                        };
                    }
                })
                .or_insert_with(|| Entry {
                    value: "0".to_owned(),
                    expires_at: None,
                });
            let current: i64 = entry
                .value
                .parse()
                .map_err(|_| CacheError::NotAnInteger(key.to_owned()))?;
            let next = current
                .checked_add(by)
                .ok_or_else(|| CacheError::NotAnInteger(key.to_owned()))?;
            entry.value = next.to_string();
            if entry.expires_at.is_none() {
                entry.expires_at = ttl.map(|t| now + t);
            }
            Ok(next)
        });
        self.after_write();
        result
    }

    pub(super) fn ttl(&self, key: &str) -> Option<Duration> {
        self.with_entries(|entries, now| {
            entries
                .get(key)
                .filter(|e| e.is_live(now))
                .and_then(|e| e.expires_at)
                .map(|at| at.saturating_duration_since(now))
        })
    }

    pub(super) fn delete(&self, key: &str) -> bool {
        self.with_entries(|entries, now| entries.remove(key).is_some_and(|e| e.is_live(now)))
    }

    pub(super) fn extend_if_holder(&self, key: &str, value: &str, ttl: Duration) -> bool {
        self.with_entries(|entries, now| match entries.get_mut(key) {
            Some(entry) if entry.is_live(now) && entry.value == value => {
                entry.expires_at = Some(now + ttl);
                true
            }
            _ => false,
        })
    }

    pub(super) fn delete_if_holder(&self, key: &str, value: &str) -> bool {
        self.with_entries(|entries, now| {
            let ours = entries
                .get(key)
                .is_some_and(|e| e.is_live(now) && e.value == value);
            if ours {
                entries.remove(key);
            }
            ours
        })
    }

    /// Entries held, live or expired but not yet swept.
    pub fn len(&self) -> usize {
        self.with_entries(|entries, _| entries.len())
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expired_entries_are_swept_by_later_writes() {
        let cache = MemoryCache::default();
        for i in 0..10 {
            cache.set(&format!("old{i}"), "x", Some(Duration::from_nanos(1)));
        }
        std::thread::sleep(Duration::from_millis(2));
        for i in 0..SWEEP_EVERY_WRITES {
            cache.set(&format!("new{i}"), "x", None);
        }
        assert!(cache.get("old0").is_none());
        assert_eq!(cache.len() as u64, SWEEP_EVERY_WRITES);
    }

    #[test]
    fn incr_on_text_is_an_error() {
        let cache = MemoryCache::default();
        cache.set("k", "abc", None);
        assert!(matches!(
            cache.incr("k", 1, None),
            Err(CacheError::NotAnInteger(_))
        ));
    }
}
