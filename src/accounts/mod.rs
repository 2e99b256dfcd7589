//! People: sign-up, sign-in, sessions, passwords, emailed links, account settings, admins.

pub mod email_links;
pub mod password;
pub mod platform_admins;
pub mod sessions;
pub mod settings;
pub mod signin;
pub mod signup;
mod throttle;
pub mod users;

pub use self::users::User;

/// Hash a password on a blocking thread: argon2id is slow on purpose.
pub(crate) async fn hash_password(password: String) -> crate::error::ServiceResult<String> {
    tokio::task::spawn_blocking(move || password::hash(&password))
        .await
        .map_err(crate::error::ServiceError::internal)?
        .map_err(crate::error::ServiceError::internal)
}

/// Check a password on a blocking thread; `None` spends the same time and answers false.
pub(crate) async fn password_matches(password: String, hash: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || match hash {
        Some(hash) => password::verify(&password, &hash),
        None => {
            password::verify_against_nothing(&password);
            false
        }
    })
    .await
    .unwrap_or(false)
}
