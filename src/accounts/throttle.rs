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

async fn refuse_if_over(cache: &Cache, key: &str, limit: i64) -> ServiceResult<()> {
    let used = cache
        .get(key)
        .await
        .map_err(ServiceError::internal)?
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(0);
    if used >= limit {
        let retry_after = cache
            .ttl(key)
            .await
            .map_err(ServiceError::internal)?
            .unwrap_or(WINDOW);
        return Err(ServiceError::RateLimited { retry_after });
    }
    Ok(())
}

/// Count an attempt from `ip` and refuse when either limit is already reached.
pub async fn before_attempt(cache: &Cache, ip: Option<&str>, email: &str) -> ServiceResult<()> {
    refuse_if_over(cache, &account_key(email), PER_ACCOUNT).await?;
    if let Some(ip) = ip {
        let key = address_key(ip);
        refuse_if_over(cache, &key, PER_ADDRESS).await?;
        cache
            .incr(&key, 1, Some(WINDOW))
            .await
            .map_err(ServiceError::internal)?;
    }
    Ok(())
}

/// Count a failed attempt on `email`.
pub async fn after_failure(cache: &Cache, email: &str) -> ServiceResult<()> {
    cache
        .incr(&account_key(email), 1, Some(WINDOW))
        .await
        .map_err(ServiceError::internal)
        .map(drop)
}

/// A successful sign-in clears the account's failures.
pub async fn after_success(cache: &Cache, email: &str) {
    if let Err(e) = cache.delete(&account_key(email)).await {
        tracing::warn!(error = %e, "could not clear sign-in failures");
    }
}
