//! The lapse job: ends trials (and grace periods after a failed payment) that are over,
//! pauses the bots the free plan does not allow, and tells each workspace owner by email.
//!
//! `jobs` runs it inside `serve` every minute; on several instances only the holder of the
//! job's lease (Redis `SET NX PX`, else a `job_leases` row) does the work.

use std::time::Duration;

use chrono::Utc;
use diesel::prelude::*;
use diesel::sql_types::{Text, Timestamp};

use super::subscriptions::{self, BotChanges};
use crate::context::Context;
use crate::db::schema::{memberships, tenants, users};
use crate::db::{DbError, RowScope};
use crate::mail::Email;
use crate::tenancy::Role;

/// How often the job looks.
pub const EVERY: Duration = Duration::from_secs(60);
/// How long one instance holds the job (longer than a run, shorter than a restart).
const LEASE_TTL: Duration = Duration::from_secs(120);
const LEASE_NAME: &str = "billing:lapse";

/// Take the job's lease row if free, expired or already ours; `$4` is now.
const ACQUIRE_ROW: &str = "INSERT INTO job_leases (name, holder, expires_at) VALUES ($1, $2, $3) \
     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
     WHERE job_leases.holder = excluded.holder OR job_leases.expires_at < $4";

/// Take (or keep) the job's lease for `holder`; false when another instance has it.
pub async fn acquire_lease(ctx: &Context, holder: &str) -> Result<bool, DbError> {
    if ctx.cache.is_redis() {
        let key = format!("lease:job:{LEASE_NAME}");
        let taken = match ctx.cache.set_if_absent(&key, holder, Some(LEASE_TTL)).await {
            Ok(true) => true,
            Ok(false) => ctx
                .cache
                .extend_if_holder(&key, holder, LEASE_TTL)
                .await
                .unwrap_or(false),
            Err(e) => {
                tracing::warn!(error = %e, "could not take the lapse job's lease");
                false
            }
        };
        return Ok(taken);
    }
    let holder = holder.to_owned();
    let now = Utc::now().naive_utc();
    let expires = now + chrono::Duration::from_std(LEASE_TTL).unwrap_or_default();
    let rows = ctx
        .db
        .run_in(
            RowScope::across_tenants("the lapse job's lease belongs to no workspace"),
            move |conn| {
                diesel::sql_query(ACQUIRE_ROW)
                    .bind::<Text, _>(LEASE_NAME)
                    .bind::<Text, _>(holder)
                    .bind::<Timestamp, _>(expires)
                    .bind::<Timestamp, _>(now)
                    .execute(conn)
            },
        )
        .await?;
    Ok(rows == 1)
}

/// One lapsed workspace, as the job handled it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lapsed {
    pub tenant_id: String,
    pub plan_id: String,
    pub bots_paused: usize,
}

/// End whatever has lapsed now, pause bots over the free plan's limit and email the owners.
/// Returns the lapsed workspaces and the bots paused, for the caller to stop.
pub async fn run_once(ctx: &Context) -> Result<(Vec<Lapsed>, BotChanges), DbError> {
    let now = Utc::now().naive_utc();
    let (lapsed, emails, paused) = ctx
        .db
        .run_in(
            RowScope::across_tenants("the lapse job ends trials in every workspace"),
            move |conn| {
                let mut lapsed = Vec::new();
                let mut emails = Vec::new();
                let mut paused = BotChanges::default();
                for (tenant_id, plan_id) in subscriptions::end_lapsed_in(conn, now)? {
                    let changes = subscriptions::apply_bot_limit_in(conn, &tenant_id)?;
                    let owner: Option<(String, String)> = memberships::table
                        .inner_join(users::table)
                        .inner_join(tenants::table)
                        .filter(memberships::tenant_id.eq(&tenant_id))
                        .filter(memberships::role.eq(Role::Owner))
                        .select((users::email, tenants::name))
                        .first(conn)
                        .optional()?;
                    if let Some((to, workspace)) = owner {
                        emails.push(lapse_email(to, &workspace, changes.paused.len()));
                    }
                    lapsed.push(Lapsed {
                        tenant_id,
                        plan_id,
                        bots_paused: changes.paused.len(),
                    });
                    paused.extend(changes);
                }
                Ok((lapsed, emails, paused))
            },
        )
        .await?;
    for email in emails {
        ctx.mailer.send_later(email);
    }
    Ok((lapsed, paused))
}

fn lapse_email(to: String, workspace: &str, bots_paused: usize) -> Email {
    let paused = match bots_paused {
        0 => String::new(),
        1 => "\n\nOne bot is over the free plan's limit: it is paused, not deleted.".to_owned(),
        n => format!("\n\n{n} bots are over the free plan's limit: they are paused, not deleted."),
    };
    Email {
        to,
        subject: format!("{workspace} is now on the Free plan"),
        body: format!(
            "The trial (or the grace period after a failed payment) of your workspace \
             \"{workspace}\" on WhatsDeX has ended, so it is now on the Free plan.{paused}\n\n\
             Choose a plan to get everything back: {}",
            super::entitlements::UPGRADE_PATH
        ),
    }
}
