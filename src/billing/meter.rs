//! Where metered usage is counted: in Redis when it is configured, flushed to the database
//! every few seconds; in the database itself otherwise.
//!
//! With Redis, one inbound message costs an `MGET` before its transaction and one atomic
//! `SET NX` + `INCRBY` script after the commit, instead of an `UPDATE` of the workspace's
//! counter row inside every transaction (a hot row that serialises all of a busy workspace's
//! messages on PostgreSQL). The count stays exact:
//! - units are added only after the transaction that used them committed, so a redelivered
//!   message (refused by the unique message key) or a rolled-back transaction adds nothing;
//! - Redis holds the period's running total, seeded from the database's value when the key
//!   is missing, and `INCRBY` is atomic, so concurrent writers never lose a unit;
//! - the flush writes `max(stored, total)`: idempotent, so every instance may flush, twice
//!   if it likes, and a flush that fails is simply retried.
//!
//! What Redis can lose: units counted after the last flush when Redis itself loses its data
//! (a restart without persistence), and a unit whose process died between its commit and
//! the `INCRBY`. Both under-count, never over-bill.

use std::collections::HashMap;
use std::time::Duration;

use diesel::QueryResult;

use super::usage::{self, Metric};
use crate::cache::{Cache, RedisCache};
use crate::db::{Db, DbConn, DbError, RowScope};

/// The set of counters changed since the last flush.
const DIRTY: &str = "usage:dirty";
/// How many counters one flush round takes from the set.
const FLUSH_BATCH: usize = 500;
/// How often the counters are written to the database.
pub const FLUSH_EVERY: Duration = Duration::from_secs(5);

/// Counts usage for one deployment; cheap to clone.
#[derive(Clone, Debug)]
pub struct Meter {
    redis: Option<RedisCache>,
}

impl Meter {
    /// Count in Redis when the cache is Redis, else in the database.
    pub fn for_cache(cache: &Cache) -> Self {
        match cache {
            Cache::Redis(redis) => Self {
                redis: Some(redis.clone()),
            },
            Cache::Memory(_) => Self::database(),
        }
    }

    /// Count in the database, in the caller's transaction.
    pub fn database() -> Self {
        Self { redis: None }
    }

    /// Start a tally for one transaction of a workspace. With Redis, this reads the live
    /// totals of the workspace's counters; if Redis does not answer, the tally falls back to
    /// counting in the database.
    pub async fn open(&self, tenant_id: &str) -> Tally {
        let Some(redis) = &self.redis else {
            return Tally::database(tenant_id);
        };
        let counters: Vec<Counter> = Metric::ALL
            .iter()
            .map(|&metric| Counter::current(tenant_id, metric))
            .collect();
        let keys: Vec<String> = counters.iter().map(Counter::key).collect();
        match crate::cache::counted("mget", redis.get_many(&keys).await) {
            Ok(values) => {
                let live = counters
                    .into_iter()
                    .zip(values)
                    .map(|(counter, value)| {
                        (
                            counter.metric,
                            (counter, value.and_then(|v| v.parse().ok())),
                        )
                    })
                    .collect();
                Tally {
                    tenant_id: tenant_id.to_owned(),
                    redis: Some(redis.clone()),
                    live,
                    pending: Vec::new(),
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "usage counters unreadable in Redis; counting in the database");
                Tally::database(tenant_id)
            }
        }
    }

    /// Write every counter changed since the last flush to the database; returns how many.
    pub async fn flush(&self, db: &Db) -> Result<usize, FlushError> {
        let Some(redis) = &self.redis else {
            return Ok(0);
        };
        let mut flushed = 0;
        loop {
            let members = crate::cache::counted("spop", redis.set_pop(DIRTY, FLUSH_BATCH).await)?;
            if members.is_empty() {
                return Ok(flushed);
            }
            if let Err(e) = write_counters(redis, db, &members).await {
                // Put them back: the next flush writes them (the write is idempotent).
                let _ = redis.set_add(DIRTY, &members).await;
                return Err(e);
            }
            flushed += members.len();
        }
    }

    /// Flush every [`FLUSH_EVERY`] until the process stops (nothing to do without Redis).
    pub fn spawn_flusher(self, db: Db) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            if self.redis.is_none() {
                return;
            }
            let mut tick = tokio::time::interval(FLUSH_EVERY);
            loop {
                tick.tick().await;
                if let Err(e) = self.flush(&db).await {
                    tracing::warn!(error = %e, "usage flush failed; retrying at the next tick");
                }
            }
        })
    }
}

async fn write_counters(redis: &RedisCache, db: &Db, members: &[String]) -> Result<(), FlushError> {
    let counters: Vec<Counter> = members.iter().filter_map(|m| Counter::parse(m)).collect();
    let keys: Vec<String> = counters.iter().map(Counter::key).collect();
    let values = crate::cache::counted("mget", redis.get_many(&keys).await)?;
    for (counter, value) in counters.into_iter().zip(values) {
        // An expired key has nothing left to write.
        let Some(total) = value.and_then(|v| v.parse::<i64>().ok()) else {
            continue;
        };
        let tenant = counter.tenant_id.clone();
        db.run_in(RowScope::tenant(tenant), move |conn| {
            usage::raise_to_in(
                conn,
                &counter.tenant_id,
                counter.metric,
                &counter.period,
                total,
            )
        })
        .await?;
    }
    Ok(())
}

/// Why a flush stopped.
#[derive(Debug, thiserror::Error)]
pub enum FlushError {
    #[error(transparent)]
    Cache(#[from] crate::cache::CacheError),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// One workspace's counter for one metric and period.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Counter {
    tenant_id: String,
    metric: Metric,
    period: String,
}

impl Counter {
    fn current(tenant_id: &str, metric: Metric) -> Self {
        Self {
            tenant_id: tenant_id.to_owned(),
            metric,
            period: metric.current_period(),
        }
    }

    /// Its name in the set of changed counters: `tenant:metric:period`.
    fn member(&self) -> String {
        format!(
            "{}:{}:{}",
            self.tenant_id,
            self.metric.as_str(),
            self.period
        )
    }

    fn parse(member: &str) -> Option<Self> {
        let mut parts = member.splitn(3, ':');
        let (tenant_id, metric, period) = (parts.next()?, parts.next()?, parts.next()?);
        Some(Self {
            tenant_id: tenant_id.to_owned(),
            metric: Metric::parse(metric)?,
            period: period.to_owned(),
        })
    }

    fn key(&self) -> String {
        counter_key(&self.tenant_id, self.metric, &self.period)
    }

    /// Long enough to outlive its period and the flush after it.
    fn ttl(&self) -> Duration {
        let days = if self.metric.is_daily() { 2 } else { 35 };
        Duration::from_secs(days * 24 * 3600)
    }
}

/// The Redis key of a counter (tests reset counters through it).
pub fn counter_key(tenant_id: &str, metric: Metric, period: &str) -> String {
    format!("usage:{tenant_id}:{}:{period}", metric.as_str())
}

/// The units one transaction of a workspace takes; added to Redis by [`Tally::commit`]
/// once that transaction committed. A database tally counts in the transaction instead.
#[derive(Debug)]
pub struct Tally {
    tenant_id: String,
    redis: Option<RedisCache>,
    /// Per metric: its counter and the total Redis held when the tally was opened.
    live: HashMap<Metric, (Counter, Option<i64>)>,
    /// Units taken: metric, units, and the total to start the Redis counter from if it has none.
    pending: Vec<(Metric, i64, i64)>,
}

impl Tally {
    /// A tally that counts in the database, in the caller's transaction.
    pub fn database(tenant_id: &str) -> Self {
        Self {
            tenant_id: tenant_id.to_owned(),
            redis: None,
            live: HashMap::new(),
            pending: Vec::new(),
        }
    }

    /// Whether units are counted in the transaction itself.
    pub fn counts_in_database(&self) -> bool {
        self.redis.is_none()
    }

    /// The workspace this tally counts for.
    pub fn tenant_id(&self) -> &str {
        &self.tenant_id
    }

    /// The workspace's use of `metric` before this tally: Redis's total when the tally was
    /// opened, else the database's (Redis has no counter yet).
    pub(crate) fn baseline_in(&self, conn: &mut DbConn, metric: Metric) -> QueryResult<i64> {
        match self.live.get(&metric).and_then(|(_, value)| *value) {
            Some(total) => Ok(total),
            None => usage::used_in(conn, &self.tenant_id, metric),
        }
    }

    /// The units of `metric` this tally has taken so far.
    pub(crate) fn taken(&self, metric: Metric) -> i64 {
        self.pending
            .iter()
            .filter(|(m, _, _)| *m == metric)
            .map(|(_, units, _)| units)
            .sum()
    }

    /// Take `units` of `metric`, to be added on commit; `baseline` (from
    /// [`Tally::baseline_in`]) starts the Redis counter if it has none by then.
    pub(crate) fn take(&mut self, metric: Metric, units: i64, baseline: i64) {
        self.pending.push((metric, units, baseline));
    }

    /// Add the units taken to the live counters; call once the transaction committed.
    /// If Redis fails now, the units go to the database directly (logged): they are never
    /// dropped silently.
    pub async fn commit(self, db: &Db) {
        let Some(redis) = self.redis else { return };
        for (metric, units, seed) in self.pending {
            let counter = self
                .live
                .get(&metric)
                .map(|(c, _)| c.clone())
                .unwrap_or_else(|| Counter::current(&self.tenant_id, metric));
            let added = redis
                .incr_seeded(
                    &counter.key(),
                    seed,
                    units,
                    counter.ttl(),
                    (DIRTY, &counter.member()),
                )
                .await;
            if let Err(e) = crate::cache::counted("incr_seeded", added) {
                tracing::warn!(error = %e, metric = metric.as_str(), "Redis missed a usage count; writing it to the database");
                let result = db
                    .run_in(RowScope::tenant(counter.tenant_id.clone()), move |conn| {
                        usage::add_at_in(conn, &counter.tenant_id, metric, &counter.period, units)
                    })
                    .await;
                if let Err(e) = result {
                    tracing::error!(error = %e, metric = metric.as_str(), "a usage count was lost");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_counter_round_trips_through_its_member_name() {
        let counter = Counter {
            tenant_id: "01a2-b3".into(),
            metric: Metric::AiReplies,
            period: "2026-11-24".into(),
        };
        assert_eq!(counter.member(), "01a2-b3:ai_replies:2026-11-24");
        assert_eq!(Counter::parse(&counter.member()), Some(counter.clone()));
        assert_eq!(counter.key(), "usage:01a2-b3:ai_replies:2026-11-24");
        assert_eq!(Counter::parse("t:unknown:2026-11"), None);
        assert_eq!(Counter::parse("no-colons"), None);
    }
}
