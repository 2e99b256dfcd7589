//! The platform admin: the metrics dashboard's numbers and charts, the daily roll-ups they
//! read, recent platform errors, and what an operator does to a tenant (suspend, set a plan).

pub mod charts;
pub mod platform_metrics;
pub mod tenants;
