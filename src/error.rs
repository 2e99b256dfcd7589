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
    PlanLimit(Box<Denial>),
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

/// Why the plan refused an action: a plain record that billing fills and every edge renders
/// (a sentence on a page, a 403 with `upgrade_url` from the API).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// Stable code for APIs, e.g. `plan_limit_reached` or `feature_not_in_plan`.
    pub code: &'static str,
    /// What was refused, for a person: "Custom commands", "Bots".
    pub what: String,
    /// The quota, when the refusal is a quota (None for a feature).
    pub limit: Option<i64>,
    /// How much of the quota is used.
    pub used: i64,
    /// Id of the cheapest plan that allows it, if any does.
    pub plan_needed: Option<String>,
    /// That plan's name, for messages.
    pub plan_needed_name: Option<String>,
    /// Relative URL of the upgrade page.
    pub upgrade_url: String,
}

impl Denial {
    /// One sentence a customer can act on.
    pub fn message(&self) -> String {
        let need = match &self.plan_needed_name {
            Some(plan) => format!(" Upgrade to {plan} to unlock it."),
            None => String::new(),
        };
        match self.limit {
            Some(limit) => format!(
                "{} limit reached ({} of {limit}).{need}",
                self.what, self.used
            ),
            None => format!("{} is not included in your plan.{need}", self.what),
        }
    }

    /// The JSON body the API answers with (403), stable for clients.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "error": {
                "code": self.code,
                "message": self.message(),
                "limit": self.limit,
                "used": self.used,
                "plan_needed": self.plan_needed,
                "upgrade_url": self.upgrade_url,
            }
        })
    }
}

/// Shorthand for service results.
pub type ServiceResult<T> = Result<T, ServiceError>;
