//! Tenancy: who acts in which workspace, with which role. The scope every tenant query takes
//! lives on the ground floor because every domain filters on it; the rules that change
//! memberships live in `tenants`.

mod role;

pub use self::role::Role;

use crate::db::RowScope;
use crate::ids::{TenantId, UserId};

/// Proof that a signed-in person is a member of a workspace, with their role there.
///
/// Built only by the web layer's authentication, from a membership read from the database;
/// every service that touches tenant-owned rows takes one and filters on `tenant_id()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantScope {
    tenant_id: TenantId,
    user_id: UserId,
    role: Role,
}

impl TenantScope {
    /// For the authentication layer only: a membership that was just read.
    pub(crate) fn from_membership(tenant_id: TenantId, user_id: UserId, role: Role) -> Self {
        Self {
            tenant_id,
            user_id,
            role,
        }
    }

    /// The workspace.
    pub fn tenant_id(&self) -> &TenantId {
        &self.tenant_id
    }

    /// The signed-in person.
    pub fn user_id(&self) -> &UserId {
        &self.user_id
    }

    /// Their role in the workspace.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The row-level-security scope for this workspace.
    pub fn rows(&self) -> RowScope {
        RowScope::tenant(self.tenant_id.as_str())
    }
}
