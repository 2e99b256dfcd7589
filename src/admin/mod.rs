//! The platform admin, a pure consumer of the other domains (none imports it): the metrics
//! dashboard's numbers and charts, and what an operator does to a tenant (suspend, set a plan).

pub mod charts;
pub mod platform_metrics;
pub mod tenants;
