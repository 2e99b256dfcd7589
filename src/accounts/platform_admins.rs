//! Platform admins: made only from the command line, never from an environment variable.

use chrono::Utc;
use diesel::prelude::*;

use super::password;
use super::users::{self, NewUser};
use crate::db::DbConn;
use crate::db::schema::users as users_table;
use crate::ids::new_id;
use crate::validation::normalize_email;

/// What `admin create` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminOutcome {
    Created,
    Promoted,
    AlreadyAdmin,
}

/// Whether `admin create` needs a password: only for an address without an account.
pub fn needs_password(conn: &mut DbConn, raw_email: &str) -> anyhow::Result<bool> {
    let email = normalize_email(raw_email).map_err(anyhow::Error::msg)?;
    Ok(users::find_by_email(conn, &email)?.is_none())
}

/// Make `raw_email` a platform admin: promote the account, or create it with `password`.
pub fn create_or_promote(
    conn: &mut DbConn,
    raw_email: &str,
    password: Option<&str>,
) -> anyhow::Result<AdminOutcome> {
    let email = normalize_email(raw_email).map_err(anyhow::Error::msg)?;
    let now = Utc::now().naive_utc();
    if let Some(user) = users::find_by_email(conn, &email)? {
        if user.is_platform_admin {
            return Ok(AdminOutcome::AlreadyAdmin);
        }
        diesel::update(users_table::table.find(&user.id))
            .set((
                users_table::is_platform_admin.eq(true),
                users_table::updated_at.eq(now),
            ))
            .execute(conn)?;
        return Ok(AdminOutcome::Promoted);
    }
    let password = password.ok_or_else(|| anyhow::anyhow!("a new admin needs a password"))?;
    if let Some(why) = password::weakness(password, &[&email]) {
        anyhow::bail!("password refused: {why}");
    }
    let hash = password::hash(password).map_err(anyhow::Error::msg)?;
    let name = email.split('@').next().unwrap_or("admin").to_owned();
    diesel::insert_into(users_table::table)
        .values(NewUser {
            id: &new_id(),
            email: &email,
            name: &name,
            password_hash: &hash,
            email_verified_at: Some(now),
            is_platform_admin: true,
            created_at: now,
            updated_at: now,
        })
        .execute(conn)?;
    Ok(AdminOutcome::Created)
}
