//! Password hashing (argon2id) and the strength rules for new passwords.

use std::sync::OnceLock;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

/// Shortest password we accept.
pub const MIN_LENGTH: usize = 10;
/// Longest: hashing is deliberately slow, so unbounded input would be a denial of service.
pub const MAX_LENGTH: usize = 128;

/// argon2id with OWASP's recommended minimum: 19 MiB of memory, 2 passes, 1 lane.
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hash a password for storage (PHC string with algorithm, parameters and salt).
/// Slow on purpose: call it off the async executor.
pub fn hash(password: &str) -> Result<String, String> {
    let mut salt = [0u8; 16];
    rand::fill(&mut salt);
    hasher()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Whether `password` matches the stored `hash`. Slow on purpose.
pub fn verify(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            hasher()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Spend the same time as a real check, for an email that has no account, so response
/// times do not tell which emails are registered.
pub fn verify_against_nothing(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash("no account has this password").unwrap_or_default());
    let _ = verify(password, dummy);
}

/// Why a new password is refused, in words for the person choosing it; `None` if fine.
/// `context` holds words the password must not lean on (email, names).
pub fn weakness(password: &str, context: &[&str]) -> Option<String> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Some(format!("Use at least {MIN_LENGTH} characters."));
    }
    if length > MAX_LENGTH {
        return Some(format!("Use at most {MAX_LENGTH} characters."));
    }
    let estimate = zxcvbn::zxcvbn(password, context);
    if estimate.score() < zxcvbn::Score::Three {
        let hint = estimate
            .feedback()
            .and_then(|f| f.warning().map(|w| w.to_string()))
            .unwrap_or_else(|| "It is too easy to guess.".to_owned());
        return Some(format!(
            "Choose a stronger password. {hint} A few unrelated words make a good one."
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_argon2id_and_verifies() {
        let stored = hash("correct horse battery staple").unwrap();
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert!(verify("correct horse battery staple", &stored));
        assert!(!verify("correct horse battery stapler", &stored));
        assert!(!verify("anything", "not a hash"));
    }

    #[test]
    fn salts_differ() {
        assert_ne!(
            hash("same password 123").unwrap(),
            hash("same password 123").unwrap()
        );
    }

    #[test]
    fn weak_passwords_are_refused_with_a_reason() {
        assert!(weakness("short", &[]).unwrap().contains("at least 10"));
        assert!(weakness("password123", &[]).is_some(), "a common password");
        assert!(weakness("qwertyuiop", &[]).is_some(), "a keyboard row");
        assert!(weakness("ana@example.com1", &["ana@example.com"]).is_some());
        assert!(weakness(&"x".repeat(129), &[]).unwrap().contains("at most"));
        assert_eq!(weakness("tangerine orbit velvet 42", &[]), None);
    }
}
