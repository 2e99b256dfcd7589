//! One instance per bot: a lease that its holder renews and anyone may take once it expires.
//! In Redis (`SET NX PX`, renewed by a check-and-extend script) when configured, else a row in
//! `bot_leases`. When an instance dies, its leases expire and another instance takes its bots.

use std::time::Duration;

use chrono::Utc;
use diesel::RunQueryDsl;
use diesel::sql_types::{Text, Timestamp};

use crate::cache::{Cache, CacheError};
use crate::db::{Db, DbError, RowScope};

/// How long a lease lasts without renewal.
pub const TTL: Duration = Duration::from_secs(15);
/// How often a holder renews, and a waiting instance retries.
pub const RENEW_EVERY: Duration = Duration::from_secs(5);

/// Why a lease operation failed (not "someone else holds it": that is `Ok(false)`).
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error(transparent)]
    Database(#[from] DbError),
}

/// Where leases are kept.
#[derive(Clone, Debug)]
pub enum Leases {
    Redis(Cache),
    Database(Db),
}

/// Take the lease row if free, expired or already ours; `$4` is now.
const ACQUIRE_ROW: &str = "INSERT INTO bot_leases (bot_id, holder, expires_at) VALUES ($1, $2, $3) \
     ON CONFLICT (bot_id) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
     WHERE bot_leases.holder = excluded.holder OR bot_leases.expires_at < $4";

fn key(bot_id: &str) -> String {
    format!("lease:bot:{bot_id}")
}

impl Leases {
    /// Redis when the cache is Redis, else the database.
    pub fn for_deployment(cache: &Cache, db: &Db) -> Self {
        if cache.is_redis() {
            Self::Redis(cache.clone())
        } else {
            Self::Database(db.clone())
        }
    }

    /// Take (or extend) the lease of `bot_id` for `holder`; false when another holds it.
    pub async fn acquire(&self, bot_id: &str, holder: &str) -> Result<bool, LeaseError> {
        match self {
            Self::Redis(cache) => {
                if cache.set_if_absent(&key(bot_id), holder, Some(TTL)).await? {
                    return Ok(true);
                }
                Ok(cache.extend_if_holder(&key(bot_id), holder, TTL).await?)
            }
            Self::Database(db) => {
                let (bot_id, holder) = (bot_id.to_owned(), holder.to_owned());
                let now = Utc::now().naive_utc();
                let expires = now + chrono::Duration::from_std(TTL).unwrap_or_default();
                let taken = db
                    .run_in(
                        RowScope::across_tenants("bot leases are per instance, not per workspace"),
                        move |conn| {
                            diesel::sql_query(ACQUIRE_ROW)
                                .bind::<Text, _>(bot_id)
                                .bind::<Text, _>(holder)
                                .bind::<Timestamp, _>(expires)
                                .bind::<Timestamp, _>(now)
                                .execute(conn)
                        },
                    )
                    .await?;
                Ok(taken == 1)
            }
        }
    }

    /// Give the lease up, if ours.
    pub async fn release(&self, bot_id: &str, holder: &str) -> Result<(), LeaseError> {
        match self {
            Self::Redis(cache) => {
                cache.delete_if_holder(&key(bot_id), holder).await?;
            }
            Self::Database(db) => {
                let (bot_id, holder) = (bot_id.to_owned(), holder.to_owned());
                db.run_in(
                    RowScope::across_tenants("bot leases are per instance, not per workspace"),
                    move |conn| {
                        diesel::sql_query(
                            "DELETE FROM bot_leases WHERE bot_id = $1 AND holder = $2",
                        )
                        .bind::<Text, _>(bot_id)
                        .bind::<Text, _>(holder)
                        .execute(conn)
                    },
                )
                .await?;
            }
        }
        Ok(())
    }
}
