//! Plans, and (later) entitlements, usage metering and Stripe billing.

pub mod plans;
