//! WhatsDeX: a multi-tenant WhatsApp bot platform in one binary.
//!
//! The map is `docs/ARCHITECTURE.md`: three floors (ground → domains → edges), the modules on
//! each, and how a message, a Stripe event and a page request travel. `floors` keeps the rule
//! that imports only go down.

pub mod accounts;
pub mod admin;
pub mod analytics;
pub mod billing;
pub mod bots;
pub mod cache;
pub mod cli;
pub mod commands;
pub mod config;
pub mod context;
pub mod db;
pub mod encryption;
pub mod error;
#[cfg(test)]
mod floors;
pub mod ids;
pub mod inbox;
pub mod instance;
pub mod jobs;
pub mod live;
pub mod mail;
pub mod numbers;
pub mod onboarding;
pub mod server;
pub mod state;
pub mod telemetry;
pub mod tenancy;
pub mod tenants;
pub mod validation;
pub mod web;
