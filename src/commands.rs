//! The one-shot subcommands: `migrate`, `seed` (plans and bot templates) and `admin create`.

use anyhow::Context;
use diesel::Connection;

use crate::billing::plans;
use crate::bots::presets;
use crate::config::Config;
use crate::db::{self, DbConn, migrations};

/// `whatsdex migrate`: apply pending migrations as the migration role, then give the app role
/// read/write (not DDL) rights. Prints what it did; a second run prints "up to date".
pub fn migrate(config: &Config) -> anyhow::Result<()> {
    if config.database_url.is_postgres() && config.migration_database_url.is_none() {
        tracing::warn!(
            "MIGRATION_DATABASE_URL is not set: migrating as the DATABASE_URL user, \
             which then keeps the right to change the schema"
        );
    }
    let url = config.migration_url();
    let mut conn =
        db::establish(url).with_context(|| format!("cannot connect to {}", db::describe(url)))?;
    let applied = apply_migrations(&mut conn)?;
    if applied.is_empty() {
        println!("database is up to date");
    }
    for name in &applied {
        println!("applied {name}");
    }
    if let DbConn::Pg(pg) = &mut conn {
        let migrator = url.postgres_user();
        match config.database_url.postgres_user() {
            Some(app) if Some(&app) != migrator.as_ref() => {
                migrations::grant_app_role(pg, &app)
                    .with_context(|| format!("cannot grant rights to the app role `{app}`"))?;
                println!("granted read/write (no DDL) to role {app}");
            }
            _ => tracing::info!("app and migration roles are the same; no grants needed"),
        }
    }
    Ok(())
}

/// Apply pending migrations, logging each one.
pub fn apply_migrations(conn: &mut DbConn) -> anyhow::Result<Vec<String>> {
    let applied =
        migrations::run_pending(conn).map_err(|e| anyhow::anyhow!("migration failed: {e}"))?;
    for name in &applied {
        tracing::info!(migration = %name, "applied migration");
    }
    Ok(applied)
}

/// `whatsdex seed`: upsert the plan catalogue and the bot templates.
pub fn seed(config: &Config) -> anyhow::Result<()> {
    let url = &config.database_url;
    let mut conn =
        db::establish(url).with_context(|| format!("cannot connect to {}", db::describe(url)))?;
    let (plans, templates) = seed_all(&mut conn)?;
    println!(
        "plans: {} inserted, {} updated, {} unchanged",
        plans.inserted, plans.updated, plans.unchanged
    );
    println!(
        "bot templates: {} inserted, {} updated, {} unchanged",
        templates.inserted, templates.updated, templates.unchanged
    );
    Ok(())
}

/// Upsert everything the binary ships as data; the plans' report.
pub fn seed_catalogue(conn: &mut DbConn) -> anyhow::Result<plans::SeedReport> {
    seed_all(conn).map(|(plans, _)| plans)
}

/// Upsert the plan catalogue and the bot templates, in one transaction.
pub fn seed_all(conn: &mut DbConn) -> anyhow::Result<(plans::SeedReport, presets::SeedReport)> {
    conn.transaction(|conn| Ok((plans::seed(conn)?, presets::seed(conn)?)))
        .map_err(|e: diesel::result::Error| anyhow::anyhow!(e))
        .context(
            "cannot seed the plan catalogue and bot templates (has the database been migrated?)",
        )
}

/// `whatsdex admin create --email …`: promote the account, or create it with a password read
/// from a prompt (terminal) or one line of standard input (scripts). Never from the
/// environment.
pub fn admin_create(config: &Config, email: &str) -> anyhow::Result<()> {
    use std::io::IsTerminal;

    use crate::accounts::platform_admins::{self, AdminOutcome};

    let url = &config.database_url;
    let mut conn =
        db::establish(url).with_context(|| format!("cannot connect to {}", db::describe(url)))?;
    let password = if platform_admins::needs_password(&mut conn, email)? {
        let password = if std::io::stdin().is_terminal() {
            let first = rpassword::prompt_password("New admin's password: ")?;
            let again = rpassword::prompt_password("Repeat it: ")?;
            anyhow::ensure!(first == again, "the two passwords differ");
            first
        } else {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        };
        anyhow::ensure!(
            !password.is_empty(),
            "no password given (prompt or standard input)"
        );
        Some(password)
    } else {
        None
    };
    let outcome = platform_admins::create_or_promote(&mut conn, email, password.as_deref())?;
    println!(
        "{}",
        match outcome {
            AdminOutcome::Created => "created a platform admin",
            AdminOutcome::Promoted => "promoted the account to platform admin",
            AdminOutcome::AlreadyAdmin => "the account is already a platform admin",
        }
    );
    Ok(())
}
