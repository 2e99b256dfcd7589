//! Integration tests: the real app factory, the real binary and real databases.
//! `scripts/test` runs them on SQLite and again on PostgreSQL + Redis.

mod accounts;
mod admin_cli;
mod bot_leases;
mod bots;
mod cache;
mod common;
mod deploy_files;
mod health;
mod isolation;
mod migrations;
mod process;
mod role_split;
mod web;
