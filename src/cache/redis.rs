//! The Redis cache backend, shared by every instance of a deployment.

use std::fmt;
use std::time::Duration;

use deadpool_redis::{Connection, Pool, PoolConfig, Runtime, Timeouts};
use redis::{AsyncCommands, Script};

use super::{CacheError, ttl_millis};

/// INCRBY and, if the key has no expiry yet, PEXPIRE, in one atomic step.
const INCR_WITH_TTL: &str = r"
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
local ttl = tonumber(ARGV[2])
if ttl > 0 and redis.call('PTTL', KEYS[1]) == -1 then
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return value
";

/// PEXPIRE only if the key still holds our value (a lease we own).
const EXTEND_IF_HOLDER: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
";

/// DEL only if the key still holds our value.
const DELETE_IF_HOLDER: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// Seed a counter (SET NX, with expiry) and then INCRBY it, in one atomic step; the key is
/// also remembered in a set of counters to flush (KEYS[2], member ARGV[4]).
const INCR_SEEDED: &str = r"
redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[3])
local value = redis.call('INCRBY', KEYS[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[4])
return value
";

/// A pool of Redis connections and the key prefix of this deployment.
#[derive(Clone)]
pub struct RedisCache {
    pool: Pool,
    prefix: String,
    incr_script: Script,
}

impl fmt::Debug for RedisCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The pool's config holds the URL and its password: leave it out.
        f.debug_struct("RedisCache")
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl RedisCache {
    /// Build the pool; connections are made on first use.
    pub fn connect(url: &str, prefix: &str) -> Result<Self, CacheError> {
        let mut config = deadpool_redis::Config::from_url(url);
        let timeout = Some(Duration::from_secs(2));
        config.pool = Some(PoolConfig {
            max_size: 32,
            timeouts: Timeouts {
                wait: timeout,
                create: timeout,
                recycle: timeout,
            },
            ..PoolConfig::default()
        });
        let pool = config
            .create_pool(Some(Runtime::Tokio1))
            .map_err(|e| CacheError::Unavailable(e.to_string()))?;
        Ok(Self {
            pool,
            prefix: prefix.to_owned(),
            incr_script: Script::new(INCR_WITH_TTL),
        })
    }

    async fn connection(&self) -> Result<Connection, CacheError> {
        self.pool
            .get()
            .await
            .map_err(|e| CacheError::Unavailable(e.to_string()))
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    pub(super) async fn get(&self, key: &str) -> Result<Option<String>, CacheError> {
        Ok(self.connection().await?.get(self.key(key)).await?)
    }

    pub(super) async fn set(
        &self,
        key: &str,
        value: &str,
        ttl: Option<Duration>,
    ) -> Result<(), CacheError> {
        let mut conn = self.connection().await?;
        match ttl {
            Some(ttl) => {
                conn.pset_ex::<_, _, ()>(self.key(key), value, ttl_millis(ttl))
                    .await?
            }
            None => conn.set::<_, _, ()>(self.key(key), value).await?,
        }
        Ok(())
    }

    pub(super) async fn set_if_absent(
        &self,
        key: &str,
        value: &str,
        ttl: Option<Duration>,
    ) -> Result<bool, CacheError> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key(key)).arg(value).arg("NX");
        if let Some(ttl) = ttl {
            cmd.arg("PX").arg(ttl_millis(ttl));
        }
        let reply: Option<String> = cmd.query_async(&mut self.connection().await?).await?;
        Ok(reply.is_some())
    }

    pub(super) async fn incr(
        &self,
        key: &str,
        by: i64,
        ttl: Option<Duration>,
    ) -> Result<i64, CacheError> {
        let mut conn = self.connection().await?;
        let result = self
            .incr_script
            .key(self.key(key))
            .arg(by)
            .arg(ttl.map_or(0, ttl_millis))
            .invoke_async(&mut conn)
            .await;
        result.map_err(|e| {
            // Redis answers "value is not an integer" for INCRBY on text.
            if e.to_string().contains("not an integer") {
                CacheError::NotAnInteger(key.to_owned())
            } else {
                CacheError::Command(e)
            }
        })
    }

    pub(super) async fn extend_if_holder(
        &self,
        key: &str,
        value: &str,
        ttl: Duration,
    ) -> Result<bool, CacheError> {
        let done: i64 = Script::new(EXTEND_IF_HOLDER)
            .key(self.key(key))
            .arg(value)
            .arg(ttl_millis(ttl))
            .invoke_async(&mut self.connection().await?)
            .await?;
        Ok(done == 1)
    }

    pub(super) async fn delete_if_holder(
        &self,
        key: &str,
        value: &str,
    ) -> Result<bool, CacheError> {
        let done: i64 = Script::new(DELETE_IF_HOLDER)
            .key(self.key(key))
            .arg(value)
            .invoke_async(&mut self.connection().await?)
            .await?;
        Ok(done == 1)
    }

    pub(super) async fn ttl(&self, key: &str) -> Result<Option<Duration>, CacheError> {
        let millis: i64 = self.connection().await?.pttl(self.key(key)).await?;
        // -2: no such key; -1: no expiry.
        Ok(u64::try_from(millis).ok().map(Duration::from_millis))
    }

    pub(super) async fn delete(&self, key: &str) -> Result<bool, CacheError> {
        let removed: i64 = self.connection().await?.del(self.key(key)).await?;
        Ok(removed > 0)
    }

    /// Add `by` to the counter under `key`, starting it at `seed` if it does not exist yet
    /// (expiring after `ttl`), and put `member` in the set `dirty`; returns the new value.
    pub(crate) async fn incr_seeded(
        &self,
        key: &str,
        seed: i64,
        by: i64,
        ttl: Duration,
        (dirty, member): (&str, &str),
    ) -> Result<i64, CacheError> {
        Ok(Script::new(INCR_SEEDED)
            .key(self.key(key))
            .key(self.key(dirty))
            .arg(seed)
            .arg(by)
            .arg(ttl_millis(ttl))
            .arg(member)
            .invoke_async(&mut self.connection().await?)
            .await?)
    }

    /// The values of several keys at once.
    pub(crate) async fn get_many(
        &self,
        keys: &[String],
    ) -> Result<Vec<Option<String>>, CacheError> {
        let keys: Vec<String> = keys.iter().map(|k| self.key(k)).collect();
        let mut conn = self.connection().await?;
        Ok(redis::cmd("MGET").arg(&keys).query_async(&mut conn).await?)
    }

    /// Take up to `count` members out of the set `key`.
    pub(crate) async fn set_pop(&self, key: &str, count: usize) -> Result<Vec<String>, CacheError> {
        let mut conn = self.connection().await?;
        Ok(redis::cmd("SPOP")
            .arg(self.key(key))
            .arg(count)
            .query_async(&mut conn)
            .await?)
    }

    /// Put `members` (back) in the set `key`.
    pub(crate) async fn set_add(&self, key: &str, members: &[String]) -> Result<(), CacheError> {
        if members.is_empty() {
            return Ok(());
        }
        let mut conn = self.connection().await?;
        conn.sadd::<_, _, ()>(self.key(key), members).await?;
        Ok(())
    }

    pub(super) async fn ping(&self) -> Result<(), CacheError> {
        let mut conn = self.connection().await?;
        let _: String = redis::cmd("PING").query_async(&mut conn).await?;
        Ok(())
    }
}
