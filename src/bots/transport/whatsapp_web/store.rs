//! A bot's WhatsApp Web session in our database: items addressed by (kind, key), each value
//! sealed with `ENCRYPTION_KEY` and bound to its bot, kind and key, so a copied row opens
//! nowhere else. Every call runs in the bot's tenant scope.

use std::sync::Arc;

use diesel::prelude::*;

use crate::db::schema::whatsapp_store::dsl as ws;
use crate::db::{Db, DbConn, DbError, RowScope};
use crate::encryption::EncryptionKey;

/// One stored item: its key, opened value and stamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub key: String,
    pub value: Vec<u8>,
    pub stamp: i64,
}

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreFailure {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("a stored session item does not decrypt (kind {kind}); was ENCRYPTION_KEY changed?")]
    Sealed { kind: String },
}

/// The session items of one bot; cheap to clone.
#[derive(Clone)]
pub struct SessionStore {
    db: Db,
    key: Arc<EncryptionKey>,
    bot_id: Arc<str>,
    tenant_id: Arc<str>,
    /// True once the session is forgotten: the client may still write as it winds down
    /// (prekeys, a fresh device), and those writes must not bring a session back. Writes
    /// hold the read side while they run, so `clear` waits for any write in flight.
    forgotten: Arc<tokio::sync::RwLock<bool>>,
}

impl SessionStore {
    /// The store of `bot_id` (owned by `tenant_id`).
    pub fn new(db: Db, key: Arc<EncryptionKey>, tenant_id: &str, bot_id: &str) -> Self {
        Self {
            db,
            key,
            bot_id: bot_id.into(),
            tenant_id: tenant_id.into(),
            forgotten: Arc::default(),
        }
    }

    fn context(&self, kind: &str, key: &str) -> Vec<u8> {
        format!("whatsapp-store\0{}\0{kind}\0{key}", self.bot_id).into_bytes()
    }

    fn open(&self, kind: &str, key: &str, sealed: &[u8]) -> Result<Vec<u8>, StoreFailure> {
        self.key
            .open(sealed, &self.context(kind, key))
            .map_err(|_| StoreFailure::Sealed { kind: kind.into() })
    }

    async fn run<T, F>(&self, work: F) -> Result<T, StoreFailure>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn, &str, &str) -> QueryResult<T> + Send + 'static,
    {
        let (bot, tenant) = (self.bot_id.clone(), self.tenant_id.clone());
        let scope = RowScope::tenant(tenant.to_string());
        Ok(self
            .db
            .run_in(scope, move |conn| work(conn, &bot, &tenant))
            .await?)
    }

    /// The item `kind`/`key`, if stored.
    pub async fn get(&self, kind: &str, key: &str) -> Result<Option<Vec<u8>>, StoreFailure> {
        let (k, i) = (kind.to_owned(), key.to_owned());
        let sealed: Option<Vec<u8>> = self
            .run(move |conn, bot, tenant| {
                session(bot, tenant)
                    .filter(ws::kind.eq(&k))
                    .filter(ws::item_key.eq(&i))
                    .select(ws::sealed)
                    .first(conn)
                    .optional()
            })
            .await?;
        sealed.map(|s| self.open(kind, key, &s)).transpose()
    }

    /// The stored items of `kind` among `keys`.
    pub async fn get_many(&self, kind: &str, keys: Vec<String>) -> Result<Vec<Item>, StoreFailure> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let k = kind.to_owned();
        let rows: Vec<(String, Vec<u8>, i64)> = self
            .run(move |conn, bot, tenant| {
                session(bot, tenant)
                    .filter(ws::kind.eq(&k))
                    .filter(ws::item_key.eq_any(&keys))
                    .select((ws::item_key, ws::sealed, ws::stamp))
                    .load(conn)
            })
            .await?;
        self.open_rows(kind, rows)
    }

    /// Every item of `kind`.
    pub async fn list(&self, kind: &str) -> Result<Vec<Item>, StoreFailure> {
        let k = kind.to_owned();
        let rows: Vec<(String, Vec<u8>, i64)> = self
            .run(move |conn, bot, tenant| {
                session(bot, tenant)
                    .filter(ws::kind.eq(&k))
                    .select((ws::item_key, ws::sealed, ws::stamp))
                    .load(conn)
            })
            .await?;
        self.open_rows(kind, rows)
    }

    /// The keys of `kind`, without opening values.
    pub async fn keys(&self, kind: &str) -> Result<Vec<String>, StoreFailure> {
        let k = kind.to_owned();
        self.run(move |conn, bot, tenant| {
            session(bot, tenant)
                .filter(ws::kind.eq(&k))
                .select(ws::item_key)
                .load(conn)
        })
        .await
    }

    fn open_rows(
        &self,
        kind: &str,
        rows: Vec<(String, Vec<u8>, i64)>,
    ) -> Result<Vec<Item>, StoreFailure> {
        rows.into_iter()
            .map(|(key, sealed, stamp)| {
                let value = self.open(kind, &key, &sealed)?;
                Ok(Item { key, value, stamp })
            })
            .collect()
    }

    /// Store one item (replacing it).
    pub async fn put(
        &self,
        kind: &str,
        key: &str,
        value: &[u8],
        stamp: i64,
    ) -> Result<(), StoreFailure> {
        self.put_many(kind, vec![(key.to_owned(), value.to_vec(), stamp)])
            .await
    }

    /// Store several items of one kind in one transaction.
    pub async fn put_many(
        &self,
        kind: &str,
        items: Vec<(String, Vec<u8>, i64)>,
    ) -> Result<(), StoreFailure> {
        let forgotten = self.forgotten.read().await;
        if items.is_empty() || *forgotten {
            return Ok(());
        }
        let sealed: Vec<(String, Vec<u8>, i64)> = items
            .into_iter()
            .map(|(key, value, stamp)| {
                let s = self.key.seal(&value, &self.context(kind, &key));
                (key, s, stamp)
            })
            .collect();
        let k = kind.to_owned();
        self.run(move |conn, bot, tenant| {
            for (key, value, stamp) in &sealed {
                upsert(conn, bot, tenant, &k, key, value, *stamp)?;
            }
            Ok(())
        })
        .await
    }

    /// Remove one item.
    pub async fn delete(&self, kind: &str, key: &str) -> Result<(), StoreFailure> {
        self.delete_many(kind, vec![key.to_owned()]).await.map(drop)
    }

    /// Remove the items of `kind` among `keys`; returns how many went.
    pub async fn delete_many(&self, kind: &str, keys: Vec<String>) -> Result<usize, StoreFailure> {
        let k = kind.to_owned();
        self.run(move |conn, bot, tenant| {
            diesel::delete(
                session(bot, tenant)
                    .filter(ws::kind.eq(&k))
                    .filter(ws::item_key.eq_any(&keys)),
            )
            .execute(conn)
        })
        .await
    }

    /// Remove every item of `kind`.
    pub async fn clear_kind(&self, kind: &str) -> Result<usize, StoreFailure> {
        let k = kind.to_owned();
        self.run(move |conn, bot, tenant| {
            diesel::delete(session(bot, tenant).filter(ws::kind.eq(&k))).execute(conn)
        })
        .await
    }

    /// Remove the items whose kind starts with `prefix` (a family of kinds, e.g. one per group).
    pub async fn clear_kinds_starting(&self, prefix: &str) -> Result<usize, StoreFailure> {
        let pattern = format!("{}%", escape_like(prefix));
        self.run(move |conn, bot, tenant| {
            diesel::delete(session(bot, tenant).filter(ws::kind.like(&pattern).escape('\\')))
                .execute(conn)
        })
        .await
    }

    /// Remove, in every kind starting with `prefix`, the items keyed by one of `keys`.
    pub async fn delete_in_kinds_starting(
        &self,
        prefix: &str,
        keys: Vec<String>,
    ) -> Result<usize, StoreFailure> {
        let pattern = format!("{}%", escape_like(prefix));
        self.run(move |conn, bot, tenant| {
            diesel::delete(
                session(bot, tenant)
                    .filter(ws::kind.like(&pattern).escape('\\'))
                    .filter(ws::item_key.eq_any(&keys)),
            )
            .execute(conn)
        })
        .await
    }

    /// Remove the items of `kind` stamped before `cutoff` (and, with `keep_zero`, keep
    /// those stamped 0, meaning "never expires"); returns how many went.
    pub async fn delete_stamped_before(
        &self,
        kind: &str,
        cutoff: i64,
        keep_zero: bool,
    ) -> Result<usize, StoreFailure> {
        let k = kind.to_owned();
        self.run(move |conn, bot, tenant| {
            let rows = session(bot, tenant)
                .filter(ws::kind.eq(&k))
                .filter(ws::stamp.lt(cutoff));
            if keep_zero {
                diesel::delete(rows.filter(ws::stamp.ne(0))).execute(conn)
            } else {
                diesel::delete(rows).execute(conn)
            }
        })
        .await
    }

    /// The highest stamp among items of `kind` (0 when there are none).
    pub async fn max_stamp(&self, kind: &str) -> Result<i64, StoreFailure> {
        let k = kind.to_owned();
        let max: Option<i64> = self
            .run(move |conn, bot, tenant| {
                session(bot, tenant)
                    .filter(ws::kind.eq(&k))
                    .select(diesel::dsl::max(ws::stamp))
                    .first(conn)
            })
            .await?;
        Ok(max.unwrap_or(0))
    }

    /// Forget the whole session (unpair, logout). From then on this store takes no writes;
    /// a new pairing starts with a new store.
    pub async fn clear(&self) -> Result<usize, StoreFailure> {
        let mut forgotten = self.forgotten.write().await;
        *forgotten = true;
        self.run(move |conn, bot, tenant| diesel::delete(session(bot, tenant)).execute(conn))
            .await
    }
}

type Session<'a> = diesel::dsl::Filter<
    diesel::dsl::Filter<ws::whatsapp_store, diesel::dsl::Eq<ws::bot_id, &'a str>>,
    diesel::dsl::Eq<ws::tenant_id, &'a str>,
>;

/// The rows of one bot, within its tenant.
fn session<'a>(bot: &'a str, tenant: &'a str) -> Session<'a> {
    ws::whatsapp_store
        .filter(ws::bot_id.eq(bot))
        .filter(ws::tenant_id.eq(tenant))
}

/// Forget the session of `bot_id` on a connection (inside the caller's transaction).
pub fn clear_in(conn: &mut DbConn, bot_id: &str) -> QueryResult<usize> {
    diesel::delete(ws::whatsapp_store.filter(ws::bot_id.eq(bot_id))).execute(conn)
}

fn upsert(
    conn: &mut DbConn,
    bot: &str,
    tenant: &str,
    kind: &str,
    key: &str,
    sealed: &[u8],
    stamp: i64,
) -> QueryResult<()> {
    let insert = diesel::insert_into(ws::whatsapp_store)
        .values((
            ws::bot_id.eq(bot),
            ws::tenant_id.eq(tenant),
            ws::kind.eq(kind),
            ws::item_key.eq(key),
            ws::sealed.eq(sealed),
            ws::stamp.eq(stamp),
        ))
        .on_conflict((ws::bot_id, ws::kind, ws::item_key))
        .do_update()
        .set((ws::sealed.eq(sealed), ws::stamp.eq(stamp)));
    crate::on_backend!(conn, c => insert.execute(c)).map(drop)
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
