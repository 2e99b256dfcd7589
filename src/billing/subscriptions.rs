//! Which plan each workspace is on: one row per workspace in `subscriptions`, written by the
//! trial at sign-up, by Stripe's webhooks and by the expiry job. No row means the free plan.
//!
//! Changing the plan also applies its bot limit: bots beyond it are paused (never deleted),
//! and paused bots within it are resumed.

use chrono::{Duration, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::plans::Plan;
use crate::config::BillingConfig;
use crate::db::DbConn;
use crate::db::schema::{bots, plans, subscriptions, tenants};
use crate::ids::BotId;

/// The plan of a workspace without a subscription.
pub const FREE_PLAN_ID: &str = "free";

/// What Stripe (or the trial) says about a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// In a trial (ours at sign-up, or Stripe's).
    Trialing,
    /// Paid and current.
    Active,
    /// A payment failed: paid features last until the grace period ends.
    PastDue,
    /// Ended (cancelled, or unpaid after the grace period).
    Canceled,
    /// Our own trial ran out without a subscription.
    Expired,
}

impl Status {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Trialing => "trialing",
            Self::Active => "active",
            Self::PastDue => "past_due",
            Self::Canceled => "canceled",
            Self::Expired => "expired",
        }
    }

    /// Read a stored or Stripe status; Stripe's `unpaid`, `incomplete_expired` and `paused`
    /// give no paid features, `incomplete` none yet.
    pub fn parse(raw: &str) -> Self {
        match raw {
            "trialing" => Self::Trialing,
            "active" => Self::Active,
            "past_due" => Self::PastDue,
            "expired" => Self::Expired,
            _ => Self::Canceled,
        }
    }

    /// Whether the subscription's plan applies.
    pub fn grants_plan(self) -> bool {
        matches!(self, Self::Trialing | Self::Active | Self::PastDue)
    }

    /// How it reads on a page.
    pub fn label(self) -> &'static str {
        match self {
            Self::Trialing => "Trial",
            Self::Active => "Active",
            Self::PastDue => "Payment failed",
            Self::Canceled => "Cancelled",
            Self::Expired => "Trial ended",
        }
    }
}

/// A workspace's subscription as stored.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = subscriptions)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct Subscription {
    pub tenant_id: String,
    pub plan_id: String,
    pub status: String,
    pub stripe_customer_id: Option<String>,
    pub stripe_subscription_id: Option<String>,
    pub current_period_end: Option<NaiveDateTime>,
    pub trial_ends_at: Option<NaiveDateTime>,
    pub grace_ends_at: Option<NaiveDateTime>,
    pub state_at: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Subscription {
    /// The status, read leniently.
    pub fn status(&self) -> Status {
        Status::parse(&self.status)
    }

    /// The plan this subscription gives now.
    pub fn effective_plan_id(&self) -> &str {
        if self.status().grants_plan() {
            &self.plan_id
        } else {
            FREE_PLAN_ID
        }
    }
}

/// A workspace's subscription row, if any.
pub fn find_in(conn: &mut DbConn, tenant_id: &str) -> QueryResult<Option<Subscription>> {
    subscriptions::table
        .find(tenant_id)
        .select(Subscription::as_select())
        .first(conn)
        .optional()
}

/// The workspace whose Stripe customer this is.
pub fn tenant_of_customer_in(conn: &mut DbConn, customer_id: &str) -> QueryResult<Option<String>> {
    subscriptions::table
        .filter(subscriptions::stripe_customer_id.eq(customer_id))
        .select(subscriptions::tenant_id)
        .first(conn)
        .optional()
}

/// The plan a workspace is on now: a plan a platform admin set by hand wins; else its
/// subscription's plan while that grants it; else free. Every page, the entitlement check,
/// the bot limit and the admin area read it here, so they cannot disagree.
pub fn current_plan_in(conn: &mut DbConn, tenant_id: &str) -> QueryResult<Plan> {
    let plan_id = match plan_override_in(conn, tenant_id)? {
        Some(chosen) => chosen,
        None => find_in(conn, tenant_id)?
            .map(|s| s.effective_plan_id().to_owned())
            .unwrap_or_else(|| FREE_PLAN_ID.to_owned()),
    };
    plans::table
        .find(plan_id)
        .select(Plan::as_select())
        .first(conn)
}

/// The plan a platform admin set for `tenant_id` by hand, if any.
pub fn plan_override_in(conn: &mut DbConn, tenant_id: &str) -> QueryResult<Option<String>> {
    Ok(tenants::table
        .find(tenant_id)
        .select(tenants::plan_override)
        .first::<Option<String>>(conn)
        .optional()?
        .flatten())
}

/// The trial a new workspace gets, from configuration.
#[derive(Debug, Clone)]
pub struct TrialTerms {
    pub plan_id: String,
    pub days: u32,
}

impl From<&BillingConfig> for TrialTerms {
    fn from(config: &BillingConfig) -> Self {
        Self {
            plan_id: config.trial_plan.clone(),
            days: config.trial_days,
        }
    }
}

/// Start a new workspace's trial (nothing when trials are off).
pub fn start_trial_in(conn: &mut DbConn, tenant_id: &str, terms: &TrialTerms) -> QueryResult<()> {
    if terms.days == 0 {
        return Ok(());
    }
    let now = Utc::now().naive_utc();
    diesel::insert_into(subscriptions::table)
        .values((
            subscriptions::tenant_id.eq(tenant_id),
            subscriptions::plan_id.eq(&terms.plan_id),
            subscriptions::status.eq(Status::Trialing.as_str()),
            subscriptions::trial_ends_at.eq(now + Duration::days(i64::from(terms.days))),
            subscriptions::created_at.eq(now),
            subscriptions::updated_at.eq(now),
        ))
        .execute(conn)
        .map(drop)
}

/// The workspace chose the free plan (the onboarding wizard): end the trial it is on. A paid
/// subscription is left alone. Returns whether a trial ended.
pub fn decline_trial_in(conn: &mut DbConn, tenant_id: &str) -> QueryResult<bool> {
    let ended = diesel::delete(
        subscriptions::table
            .filter(subscriptions::tenant_id.eq(tenant_id))
            .filter(subscriptions::status.eq(Status::Trialing.as_str()))
            .filter(subscriptions::stripe_subscription_id.is_null()),
    )
    .execute(conn)?;
    Ok(ended > 0)
}

/// A subscription's state as a Stripe object carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripeState {
    pub customer_id: String,
    pub subscription_id: String,
    pub plan_id: String,
    pub status: Status,
    pub current_period_end: Option<NaiveDateTime>,
    pub trial_ends_at: Option<NaiveDateTime>,
    /// How long paid features last once a payment has failed (`past_due`).
    pub grace_days: i64,
}

/// Remember which Stripe customer pays for a workspace (from a completed checkout), so that
/// later events about that customer find the workspace.
pub fn link_customer_in(conn: &mut DbConn, tenant_id: &str, customer_id: &str) -> QueryResult<()> {
    let now = Utc::now().naive_utc();
    if find_in(conn, tenant_id)?.is_some() {
        diesel::update(subscriptions::table.find(tenant_id))
            .set((
                subscriptions::stripe_customer_id.eq(customer_id),
                subscriptions::updated_at.eq(now),
            ))
            .execute(conn)
            .map(drop)
    } else {
        diesel::insert_into(subscriptions::table)
            .values((
                subscriptions::tenant_id.eq(tenant_id),
                subscriptions::plan_id.eq(FREE_PLAN_ID),
                subscriptions::status.eq(Status::Canceled.as_str()),
                subscriptions::stripe_customer_id.eq(customer_id),
                subscriptions::created_at.eq(now),
                subscriptions::updated_at.eq(now),
            ))
            .execute(conn)
            .map(drop)
    }
}

/// Apply a subscription's state as read from Stripe at `observed_at` (Unix milliseconds). A
/// state read before the one stored is ignored, so two deliveries racing end in the newer
/// read. A failed payment starts the grace period once; a paid one ends it. Returns whether
/// anything changed.
pub fn apply_stripe_state_in(
    conn: &mut DbConn,
    tenant_id: &str,
    state: &StripeState,
    observed_at: i64,
) -> QueryResult<bool> {
    let now = Utc::now().naive_utc();
    let stored = find_in(conn, tenant_id)?;
    if let Some(stored) = &stored {
        let same_subscription =
            stored.stripe_subscription_id.as_deref() == Some(state.subscription_id.as_str());
        if same_subscription && stored.state_at > observed_at {
            return Ok(false);
        }
        // A workspace has one live subscription: an old one's late cancellation must not
        // end the new one.
        if !same_subscription
            && stored.stripe_subscription_id.is_some()
            && stored.status().grants_plan()
            && !state.status.grants_plan()
        {
            return Ok(false);
        }
    }
    let grace_ends_at = match state.status {
        Status::PastDue => stored
            .as_ref()
            .and_then(|s| s.grace_ends_at)
            .or(Some(now + Duration::days(state.grace_days))),
        _ => None,
    };
    let values = (
        subscriptions::plan_id.eq(&state.plan_id),
        subscriptions::status.eq(state.status.as_str()),
        subscriptions::stripe_customer_id.eq(Some(&state.customer_id)),
        subscriptions::stripe_subscription_id.eq(Some(&state.subscription_id)),
        subscriptions::current_period_end.eq(state.current_period_end),
        subscriptions::trial_ends_at.eq(state.trial_ends_at),
        subscriptions::grace_ends_at.eq(grace_ends_at),
        subscriptions::state_at.eq(observed_at),
        subscriptions::updated_at.eq(now),
    );
    if stored.is_some() {
        diesel::update(subscriptions::table.find(tenant_id))
            .set(values)
            .execute(conn)?;
    } else {
        diesel::insert_into(subscriptions::table)
            .values((
                subscriptions::tenant_id.eq(tenant_id),
                subscriptions::created_at.eq(now),
                values,
            ))
            .execute(conn)?;
    }
    Ok(true)
}

/// Workspaces whose own trial or grace period is over at `now`: they fall to free.
/// Returns each with the plan it had.
pub fn end_lapsed_in(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<Vec<(String, String)>> {
    let trials: Vec<(String, String)> = subscriptions::table
        .filter(subscriptions::status.eq(Status::Trialing.as_str()))
        .filter(subscriptions::stripe_subscription_id.is_null())
        .filter(subscriptions::trial_ends_at.lt(now))
        .select((subscriptions::tenant_id, subscriptions::plan_id))
        .load(conn)?;
    let graces: Vec<(String, String)> = subscriptions::table
        .filter(subscriptions::status.eq(Status::PastDue.as_str()))
        .filter(subscriptions::grace_ends_at.lt(now))
        .select((subscriptions::tenant_id, subscriptions::plan_id))
        .load(conn)?;
    for (tenant_id, _) in &trials {
        set_status_in(conn, tenant_id, Status::Expired)?;
    }
    for (tenant_id, _) in &graces {
        set_status_in(conn, tenant_id, Status::Canceled)?;
    }
    Ok(trials.into_iter().chain(graces).collect())
}

fn set_status_in(conn: &mut DbConn, tenant_id: &str, status: Status) -> QueryResult<()> {
    diesel::update(subscriptions::table.find(tenant_id))
        .set((
            subscriptions::status.eq(status.as_str()),
            subscriptions::updated_at.eq(Utc::now().naive_utc()),
        ))
        .execute(conn)
        .map(drop)
}

/// Bots paused and resumed by [`apply_bot_limit_in`].
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BotChanges {
    pub paused: Vec<BotId>,
    pub resumed: Vec<BotId>,
    /// The resumed bots that are paired: their tasks start again.
    pub to_start: Vec<BotId>,
}

impl BotChanges {
    /// Add another workspace's changes to these.
    pub fn extend(&mut self, other: BotChanges) {
        self.paused.extend(other.paused);
        self.resumed.extend(other.resumed);
        self.to_start.extend(other.to_start);
    }
}

/// Make the workspace's bots fit its plan: the oldest `max_bots` run, the others are paused.
pub fn apply_bot_limit_in(conn: &mut DbConn, tenant_id: &str) -> QueryResult<BotChanges> {
    let plan = current_plan_in(conn, tenant_id)?;
    let all: Vec<(BotId, bool, bool)> = bots::table
        .filter(bots::tenant_id.eq(tenant_id))
        .order((bots::created_at.asc(), bots::id.asc()))
        .select((
            bots::id,
            bots::paused_for_plan,
            bots::owner_number.is_not_null(),
        ))
        .load(conn)?;
    let keep = plan
        .max_bots
        .map_or(all.len(), |m| usize::try_from(m).unwrap_or(0));
    let mut changes = BotChanges::default();
    for (index, (id, paused, paired)) in all.into_iter().enumerate() {
        let should_pause = index >= keep;
        if should_pause != paused {
            diesel::update(bots::table.find(&id))
                .set(bots::paused_for_plan.eq(should_pause))
                .execute(conn)?;
            if should_pause {
                changes.paused.push(id);
            } else {
                if paired {
                    changes.to_start.push(id.clone());
                }
                changes.resumed.push(id);
            }
        }
    }
    Ok(changes)
}

/// Whether a bot is paused by its plan.
pub fn is_paused_in(conn: &mut DbConn, bot_id: &str) -> QueryResult<bool> {
    Ok(bots::table
        .find(bot_id)
        .select(bots::paused_for_plan)
        .first::<bool>(conn)
        .optional()?
        .unwrap_or(false))
}
