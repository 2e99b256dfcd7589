//! The `users` table.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::users;
use crate::ids::UserId;

/// A person who can sign in. `Debug` leaves out the password hash.
#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub email_verified_at: Option<NaiveDateTime>,
    pub is_platform_admin: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("is_platform_admin", &self.is_platform_admin)
            .finish_non_exhaustive()
    }
}

impl User {
    /// Whether the email address has been confirmed.
    pub fn is_verified(&self) -> bool {
        self.email_verified_at.is_some()
    }
}

/// A new account.
#[derive(Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub id: &'a str,
    pub email: &'a str,
    pub name: &'a str,
    pub password_hash: &'a str,
    pub email_verified_at: Option<NaiveDateTime>,
    pub is_platform_admin: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// The account with this (normalized) email.
pub fn find_by_email(conn: &mut DbConn, email: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::email.eq(email))
        .select(User::as_select())
        .first(conn)
        .optional()
}

/// The account with this id.
pub fn find_by_id(conn: &mut DbConn, id: &str) -> QueryResult<Option<User>> {
    users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .optional()
}

/// Store a new password hash for `user_id`; its outstanding reset links stop working.
pub fn set_password_hash_in(conn: &mut DbConn, user_id: &str, hash: &str) -> QueryResult<()> {
    diesel::update(users::table.find(user_id))
        .set((
            users::password_hash.eq(hash),
            users::updated_at.eq(chrono::Utc::now().naive_utc()),
        ))
        .execute(conn)?;
    // A new password, by a reset link or by the person, makes every older reset link void.
    super::email_links::withdraw_reset_links_in(conn, user_id)
}

/// Whether a database error is the unique index on email refusing a duplicate.
pub fn is_duplicate_email(e: &diesel::result::Error) -> bool {
    matches!(
        e,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}
