//! Sessions: stored in the database (they survive restarts in every mode), read through the
//! cache, with idle and absolute expiry. The cookie carries a random token; the database
//! keeps only its SHA-256.

use std::time::Duration as StdDuration;

use chrono::{Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::context::Context;
use crate::db::RowScope;
use crate::db::schema::sessions;
use crate::error::{ServiceError, ServiceResult};
use crate::ids::{TenantId, UserId, new_token, token_hash};
use crate::tenants::audit::{self, Action, ClientInfo};

/// How long a session lives, by whether "keep me signed in" was ticked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetime {
    /// Ends after this long without a request.
    pub idle: Duration,
    /// Ends this long after sign-in, however busy.
    pub absolute: Duration,
}

impl Lifetime {
    /// The lifetime for a session.
    pub fn for_session(remember: bool) -> Self {
        if remember {
            Self {
                idle: Duration::days(14),
                absolute: Duration::days(30),
            }
        } else {
            Self {
                idle: Duration::hours(2),
                absolute: Duration::hours(12),
            }
        }
    }
}

/// `last_seen_at` is written at most this often, not on every request.
const TOUCH_EVERY: Duration = Duration::seconds(60);
/// How long a session stays in the cache before the database is asked again.
const CACHE_FOR: StdDuration = StdDuration::from_secs(60);

/// A signed-in browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Queryable, Selectable)]
#[diesel(table_name = sessions)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct Session {
    /// SHA-256 of the cookie token.
    pub id: String,
    pub user_id: UserId,
    /// The workspace in view.
    pub tenant_id: Option<TenantId>,
    pub remember: bool,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

impl Session {
    /// Whether the session has ended by age or idleness at `now`.
    pub fn is_expired(&self, now: NaiveDateTime) -> bool {
        now >= self.expires_at
            || now >= self.last_seen_at + Lifetime::for_session(self.remember).idle
    }
}

fn cache_key(id: &str) -> String {
    format!("session:{id}")
}

/// Start a session for `user_id`; returns the cookie token and the session.
pub async fn start(
    ctx: &Context,
    user_id: &UserId,
    tenant_id: Option<TenantId>,
    remember: bool,
    client: &ClientInfo,
) -> ServiceResult<(String, Session)> {
    let token = new_token();
    let now = Utc::now().naive_utc();
    let session = Session {
        id: token_hash(&token),
        user_id: user_id.to_owned(),
        tenant_id,
        remember,
        created_at: now,
        last_seen_at: now,
        expires_at: now + Lifetime::for_session(remember).absolute,
    };
    let (row, client) = (session.clone(), client.clone());
    ctx.db
        .run(move |conn| {
            diesel::insert_into(sessions::table)
                .values((
                    sessions::id.eq(&row.id),
                    sessions::user_id.eq(&row.user_id),
                    sessions::tenant_id.eq(&row.tenant_id),
                    sessions::remember.eq(row.remember),
                    sessions::created_at.eq(row.created_at),
                    sessions::last_seen_at.eq(row.last_seen_at),
                    sessions::expires_at.eq(row.expires_at),
                    sessions::ip.eq(&client.ip),
                    sessions::user_agent.eq(client
                        .user_agent
                        .as_ref()
                        .map(|ua| ua.chars().take(300).collect::<String>())),
                ))
                .execute(conn)
        })
        .await?;
    Ok((token, session))
}

/// The live session behind a cookie token, if any. Expired sessions are deleted on sight.
pub async fn resolve(ctx: &Context, token: &str) -> ServiceResult<Option<Session>> {
    let id = token_hash(token);
    let cached = match ctx.cache.get(&cache_key(&id)).await {
        Ok(value) => value.and_then(|json| serde_json::from_str::<Session>(&json).ok()),
        Err(e) => {
            tracing::warn!(error = %e, "session cache unavailable; reading the database");
            None
        }
    };
    let session = match cached {
        Some(session) => Some(session),
        None => {
            let id = id.clone();
            ctx.db
                .run(move |conn| {
                    sessions::table
                        .find(id)
                        .select(Session::as_select())
                        .first(conn)
                        .optional()
                })
                .await?
        }
    };
    let Some(mut session) = session else {
        return Ok(None);
    };
    let now = Utc::now().naive_utc();
    if session.is_expired(now) {
        end_by_id(ctx, &session.id).await?;
        return Ok(None);
    }
    if now - session.last_seen_at >= TOUCH_EVERY {
        session.last_seen_at = now;
        let id = session.id.clone();
        ctx.db
            .run(move |conn| {
                diesel::update(sessions::table.find(id))
                    .set(sessions::last_seen_at.eq(now))
                    .execute(conn)
            })
            .await?;
    }
    remember_in_cache(ctx, &session).await;
    Ok(Some(session))
}

async fn remember_in_cache(ctx: &Context, session: &Session) {
    let Ok(json) = serde_json::to_string(session) else {
        return;
    };
    if let Err(e) = ctx
        .cache
        .set(&cache_key(&session.id), &json, Some(CACHE_FOR))
        .await
    {
        tracing::warn!(error = %e, "could not cache a session");
    }
}

async fn forget_in_cache(ctx: &Context, ids: &[String]) {
    for id in ids {
        if let Err(e) = ctx.cache.delete(&cache_key(id)).await {
            tracing::warn!(error = %e, "could not drop a cached session");
        }
    }
}

async fn end_by_id(ctx: &Context, id: &str) -> ServiceResult<()> {
    let owned = id.to_owned();
    ctx.db
        .run(move |conn| diesel::delete(sessions::table.find(owned)).execute(conn))
        .await?;
    forget_in_cache(ctx, &[id.to_owned()]).await;
    Ok(())
}

/// Sign out the browser holding `token`.
pub async fn end(ctx: &Context, token: &str) -> ServiceResult<()> {
    end_by_id(ctx, &token_hash(token)).await
}

/// End every session of `user_id` except `keep` (the caller's own, when changing a password).
pub async fn end_all_for_user(
    ctx: &Context,
    user_id: &str,
    keep: Option<&str>,
) -> ServiceResult<usize> {
    let (user_id, keep) = (user_id.to_owned(), keep.map(str::to_owned));
    let ended = ctx
        .db
        .run(move |conn| {
            let ids: Vec<String> = sessions::table
                .filter(sessions::user_id.eq(&user_id))
                .filter(sessions::id.ne(keep.unwrap_or_default()))
                .select(sessions::id)
                .load(conn)?;
            diesel::delete(sessions::table.filter(sessions::id.eq_any(&ids))).execute(conn)?;
            Ok(ids)
        })
        .await?;
    forget_in_cache(ctx, &ended).await;
    Ok(ended.len())
}

/// "Sign out everywhere": end every session of the person, this one included.
pub async fn sign_out_everywhere(
    ctx: &Context,
    session: &Session,
    client: &ClientInfo,
) -> ServiceResult<()> {
    let (user_id, tenant_id, client) = (
        session.user_id.clone(),
        session.tenant_id.clone(),
        client.clone(),
    );
    ctx.db
        .transaction(
            RowScope::across_tenants("a person's sessions span all their workspaces"),
            move |conn| -> ServiceResult<()> {
                Ok(audit::record(
                    conn,
                    Action::SignedOutEverywhere,
                    tenant_id.as_deref(),
                    Some(&user_id),
                    "ended every session",
                    &client,
                )?)
            },
        )
        .await?;
    end_all_for_user(ctx, &session.user_id, None).await?;
    Ok(())
}

/// Put `tenant_id` in view for this session (the caller has checked membership).
pub async fn switch_tenant(ctx: &Context, session: &Session, tenant_id: &str) -> ServiceResult<()> {
    let (id, tenant) = (session.id.clone(), tenant_id.to_owned());
    let updated = ctx
        .db
        .run(move |conn| {
            diesel::update(sessions::table.find(id))
                .set(sessions::tenant_id.eq(Some(tenant)))
                .execute(conn)
        })
        .await?;
    if updated == 0 {
        return Err(ServiceError::NotFound);
    }
    forget_in_cache(ctx, std::slice::from_ref(&session.id)).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(remember: bool, age: Duration, idle: Duration) -> (Session, NaiveDateTime) {
        let now = Utc::now().naive_utc();
        let created = now - age;
        (
            Session {
                id: "x".into(),
                user_id: "u".into(),
                tenant_id: None,
                remember,
                created_at: created,
                last_seen_at: now - idle,
                expires_at: created + Lifetime::for_session(remember).absolute,
            },
            now,
        )
    }

    #[test]
    fn short_sessions_end_after_two_idle_hours() {
        let (s, now) = session(false, Duration::hours(3), Duration::minutes(119));
        assert!(!s.is_expired(now));
        let (s, now) = session(false, Duration::hours(3), Duration::minutes(121));
        assert!(s.is_expired(now));
    }

    #[test]
    fn busy_sessions_still_end_at_the_absolute_limit() {
        let (s, now) = session(false, Duration::hours(13), Duration::zero());
        assert!(s.is_expired(now));
        let (s, now) = session(true, Duration::days(29), Duration::days(1));
        assert!(!s.is_expired(now));
        let (s, now) = session(true, Duration::days(31), Duration::zero());
        assert!(s.is_expired(now));
    }
}
