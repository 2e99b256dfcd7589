//! Workspaces (tenants): creating and deleting them, members and invitations, suspension, and
//! the audit trail their owners read. The scope and roles themselves are in `tenancy`.

pub mod audit;
pub mod invitations;
pub mod members;
pub mod suspension;
pub mod user_agent;
pub mod workspaces;
