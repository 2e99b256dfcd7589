ALTER TABLE bots DROP COLUMN paused_for_plan;
DROP TABLE job_leases;
DROP TABLE stripe_events;
DROP TABLE usage_counters;
DROP TABLE subscriptions;
