//! Integration tests: the real app factory, the real binary and real databases.
//! `scripts/test` runs them on SQLite and again on PostgreSQL + Redis.

mod accounts;
mod admin;
mod admin_cli;
mod audit;
mod billing;
mod bot_actions;
mod bot_behaviour;
mod bot_leases;
mod bots;
mod cache;
mod cloud_connect;
mod cloud_contacts;
mod cloud_graph;
mod cloud_media;
mod cloud_media_s3;
mod cloud_sending;
mod cloud_templates;
mod cloud_webhooks;
mod common;
mod contacts;
mod deploy_files;
mod fake_whatsapp;
mod hardening;
mod health;
mod isolation;
mod metrics;
mod migrations;
mod plans_shown;
mod process;
mod restarts;
mod role_split;
mod templates;
mod web;
mod web_transport;
mod whatsapp_store;
