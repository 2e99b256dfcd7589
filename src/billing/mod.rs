//! Plans, entitlements, usage metering, Stripe checkout/portal/webhooks and trials.
//!
//! - `plans`: the catalogue; `subscriptions`: which plan each workspace is on
//!   (`subscriptions::current_plan_in`);
//! - `entitlements`: the one check every entry point asks;
//! - `usage`: atomic counters per workspace, metric and period;
//! - `checkout`: Stripe Checkout and Billing Portal sessions; `webhooks`: Stripe's events;
//! - `trials`: the job that ends lapsed trials and grace periods;
//! - `plan_usage`: what the billing pages show (plan, quota use, history, catalogue).

pub mod checkout;
pub mod entitlements;
pub mod meter;
pub mod plan_usage;
pub mod plans;
pub mod subscriptions;
pub mod trials;
pub mod usage;
pub mod webhooks;
