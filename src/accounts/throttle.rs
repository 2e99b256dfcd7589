//! Sign-in throttling through the cache: per client address and per account.

use std::time::Duration;

use crate::cache::Cache;
use crate::error::{ServiceError, ServiceResult};

/// The window attempts are counted in.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Attempts one address may make in a window (a shared office stays well under it).
pub const PER_ADDRESS: i64 = 20;
/// Failed attempts on one account in a window before it is locked for the rest of it.
pub const PER_ACCOUNT: i64 = 5;

fn address_key(ip: &str) -> String {
    format!("signin:ip:{ip}")
}

fn account_key(email: &str) -> String {
    format!("signin:account:{email}")
}

/// Take one unit of the window's `limit` under `key`, atomically, or refuse with the time
/// left. A refused attempt takes a unit too, which changes nothing: the window is used up.
async fn take(cache: &Cache, key: &str, limit: i64) -> ServiceResult<()> {
    let used = cache
        .incr(key, 1, Some(WINDOW))
        .await
        .map_err(ServiceError::internal)?;
    if used > limit {
        let retry_after = cache
            .ttl(key)
            .await
            .map_err(ServiceError::internal)?
            .unwrap_or(WINDOW);
        return Err(ServiceError::RateLimited { retry_after });
    }
    Ok(())
}

/// Take an attempt from `ip`'s budget and a failure from `email`'s before the password is
/// checked, or refuse. Counting first is what makes the limits hold when many attempts
/// arrive at once: the sixth concurrent attempt is refused, its password never checked. A
/// successful sign-in gives the account's failures back ([`after_success`]).
pub async fn before_attempt(cache: &Cache, ip: Option<&str>, email: &str) -> ServiceResult<()> {
    if let Some(ip) = ip {
        take(cache, &address_key(ip), PER_ADDRESS).await?;
    }
    take(cache, &account_key(email), PER_ACCOUNT).await
}

/// A successful sign-in clears the account's failures.
pub async fn after_success(cache: &Cache, email: &str) {
    if let Err(e) = cache.delete(&account_key(email)).await {
        tracing::warn!(error = %e, "could not clear sign-in failures");
    }
}
