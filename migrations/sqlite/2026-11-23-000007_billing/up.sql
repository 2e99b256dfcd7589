-- Billing: each workspace's subscription (Stripe is the source of truth; this is its latest
-- known state), usage counters per metric and period, and the Stripe events already handled.
CREATE TABLE subscriptions (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    plan_id TEXT NOT NULL REFERENCES plans (id),
    -- trialing | active | past_due | canceled | expired
    status TEXT NOT NULL,
    stripe_customer_id TEXT UNIQUE,
    stripe_subscription_id TEXT,
    current_period_end TIMESTAMP,
    trial_ends_at TIMESTAMP,
    -- After a failed payment: paid features last until then, then the plan falls to free.
    grace_ends_at TIMESTAMP,
    -- Stripe's `created` (Unix seconds) of the event that set this state: older events that
    -- arrive late do not overwrite it.
    state_at BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE usage_counters (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    metric TEXT NOT NULL,
    -- 2026-11 for monthly metrics, 2026-11-23 for daily ones.
    period TEXT NOT NULL,
    used BIGINT NOT NULL DEFAULT 0,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, metric, period)
);

-- One row per Stripe event handled: a redelivered or concurrent duplicate hits the key.
CREATE TABLE stripe_events (
    id TEXT PRIMARY KEY,
    event_type TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL
);

-- Background jobs that must run on one instance at a time (the trial-expiry job), when
-- Redis is not there to hold the lease.
CREATE TABLE job_leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL
);

-- Bots over the plan's limit after a downgrade are paused, never deleted.
ALTER TABLE bots ADD COLUMN paused_for_plan BOOLEAN NOT NULL DEFAULT FALSE;

