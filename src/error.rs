//! The error every service returns; `web::error` maps it to a status and a page or JSON.

use std::time::Duration;

use crate::db::DbError;
use crate::validation::FieldErrors;

/// Why a service said no, or failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Nothing there, or not in the caller's workspace: the two look the same.
    #[error("not found")]
    NotFound,
    /// The caller's role does not allow this; the message says who may.
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// Input to fix, field by field.
    #[error("invalid input: {0:?}")]
    Invalid(FieldErrors),
    /// Too many attempts; try again after the given time.
    #[error("rate limited for {retry_after:?}")]
    RateLimited { retry_after: Duration },
    /// The workspace's plan does not allow it; the denial says which plan does.
    #[error("plan limit: {0:?}")]
    PlanLimit(Box<crate::billing::entitlements::Denial>),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] DbError),
    /// Something else of ours failed; the cause is for the log.
    #[error("internal: {0}")]
    Internal(String),
}

impl ServiceError {
    /// An internal failure with its cause.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }

    /// One invalid field.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid(FieldErrors::single(field, message))
    }
}

impl From<diesel::result::Error> for ServiceError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Database(DbError::Query(e))
    }
}

impl From<FieldErrors> for ServiceError {
    fn from(errors: FieldErrors) -> Self {
        Self::Invalid(errors)
    }
}

/// Shorthand for service results.
pub type ServiceResult<T> = Result<T, ServiceError>;
