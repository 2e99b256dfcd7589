//! Command-line interface: the subcommands of the one binary.

use clap::{Parser, Subcommand};

const ENVIRONMENT_HELP: &str = "\
Environment (all optional; with none set, everything runs embedded under ./data):
  PORT                    HTTP port (default 8080; Render and Railway set it)
  HOST                    address to bind (default 0.0.0.0)
  DATA_DIR                SQLite database, generated key and media files (default ./data)
  DATABASE_URL            sqlite://PATH or postgres://USER:PASSWORD@HOST/DB (the app role: DML only)
  MIGRATION_DATABASE_URL  postgres://… as the role that owns the schema (used by `migrate`)
  REDIS_URL               redis://… for cache, sessions and rate limits (default: in process)
  REDIS_KEY_PREFIX        put before every Redis key (default whatsdex:)
  APP_BASE_URL            public URL of the site, e.g. https://bots.example.com
  ENCRYPTION_KEY          32 bytes, base64 or 64 hex digits; required with PostgreSQL
  SMTP_URL                smtps://user:password@host for email (default: links go to the log)
  EMAIL_FROM              sender of email, e.g. \"WhatsDeX <no-reply@example.com>\"
  BEHIND_PROXY            true when a trusted proxy sets X-Forwarded-For (Render, Railway)
  WHATSAPP_WS_URL         WhatsApp Web chat server, ws:// or wss:// (default: the real service)
  WHATSAPP_VERSION        WhatsApp Web version to announce, e.g. 2.3000.1023456789 (default: looked up)
  META_GRAPH_URL          Meta's Graph API for Cloud API bots (default https://graph.facebook.com)
  METRICS_TOKEN           bearer token for /metrics (Prometheus); unset: /metrics is off (404)
  STRIPE_SECRET_KEY       sk_live_… / sk_test_…: lets customers buy plans (unset: plans shown, not sold)
  STRIPE_WEBHOOK_SECRET   whsec_… of the /webhooks/stripe endpoint (unset: webhooks refused)
  STRIPE_PRICE_STARTER    Stripe price id of the Starter plan (likewise STRIPE_PRICE_PRO,
                          STRIPE_PRICE_BUSINESS)
  STRIPE_API_BASE         Stripe API URL (default https://api.stripe.com/; a stand-in for tests)
  TRIAL_PLAN              plan a new workspace tries: starter, pro or business (default pro)
  TRIAL_DAYS              length of that trial in days, 0 for none (default 14)
  LOG_FORMAT              pretty or json (default pretty)
  RUST_LOG                log filter, e.g. info or whatsdex=debug";

/// `whatsdex`: a multi-tenant WhatsApp bot platform in one binary.
#[derive(Debug, Parser)]
#[command(name = "whatsdex", version, about, after_help = ENVIRONMENT_HELP)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What the binary does; a bare `whatsdex` serves.
#[derive(Debug, Subcommand, PartialEq, Eq)]
pub enum Command {
    /// Serve the web app and run the bots (the default).
    ///
    /// On SQLite it migrates and seeds its own database. On PostgreSQL it runs no DDL: it
    /// refuses to start while migrations are pending, unless started with --migrate.
    Serve {
        /// Apply pending migrations first, as MIGRATION_DATABASE_URL (PostgreSQL only).
        #[arg(long)]
        migrate: bool,
    },
    /// Apply pending migrations as MIGRATION_DATABASE_URL, then grant the app role
    /// (the user of DATABASE_URL) the right to read and write, but not to change the schema.
    Migrate,
    /// Upsert the plan catalogue into the database (idempotent).
    Seed,
    /// Platform administration.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

/// `whatsdex admin …`.
#[derive(Debug, Subcommand, PartialEq, Eq, Clone)]
pub enum AdminCommand {
    /// Make a platform admin: promote an existing account, or create one. A new account's
    /// password is read from a prompt, or from standard input when it is not a terminal.
    Create {
        /// The admin's email address.
        #[arg(long)]
        email: String,
    },
}

impl Cli {
    /// The command to run, `serve` when none was given.
    pub fn subcommand(&self) -> Command {
        match &self.command {
            Some(Command::Serve { migrate }) => Command::Serve { migrate: *migrate },
            Some(Command::Migrate) => Command::Migrate,
            Some(Command::Seed) => Command::Seed,
            Some(Command::Admin { command }) => Command::Admin {
                command: command.clone(),
            },
            None => Command::Serve { migrate: false },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn bare_binary_serves() {
        let cli = Cli::try_parse_from(["whatsdex"]).unwrap();
        assert_eq!(cli.subcommand(), Command::Serve { migrate: false });
    }

    #[test]
    fn serve_takes_migrate_flag() {
        let cli = Cli::try_parse_from(["whatsdex", "serve", "--migrate"]).unwrap();
        assert_eq!(cli.subcommand(), Command::Serve { migrate: true });
    }

    #[test]
    fn admin_create_takes_an_email() {
        let cli =
            Cli::try_parse_from(["whatsdex", "admin", "create", "--email", "a@b.co"]).unwrap();
        assert_eq!(
            cli.subcommand(),
            Command::Admin {
                command: AdminCommand::Create {
                    email: "a@b.co".into()
                }
            }
        );
        assert!(Cli::try_parse_from(["whatsdex", "admin", "create"]).is_err());
    }

    #[test]
    fn unknown_subcommand_is_refused() {
        assert!(Cli::try_parse_from(["whatsdex", "explode"]).is_err());
    }

    #[test]
    fn help_names_every_environment_variable() {
        let help = Cli::command().render_long_help().to_string();
        for var in [
            "PORT",
            "HOST",
            "DATA_DIR",
            "DATABASE_URL",
            "MIGRATION_DATABASE_URL",
            "REDIS_URL",
            "APP_BASE_URL",
            "ENCRYPTION_KEY",
            "LOG_FORMAT",
            "RUST_LOG",
            "METRICS_TOKEN",
            "META_GRAPH_URL",
        ] {
            assert!(help.contains(var), "--help does not mention {var}");
        }
    }

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
