//! What each role in a workspace may do. The README's table says the same in words.

use std::fmt;
use std::str::FromStr;

/// A member's role. Exactly one owner per workspace.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, diesel::AsExpression, diesel::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum Role {
    Member,
    Admin,
    Owner,
}

impl Role {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Admin => "admin",
            Self::Member => "member",
        }
    }

    /// How the role is shown.
    pub fn label(self) -> &'static str {
        match self {
            Self::Owner => "Owner",
            Self::Admin => "Admin",
            Self::Member => "Member",
        }
    }

    /// Invite people, revoke invitations, remove members (admins: members only).
    pub fn can_manage_members(self) -> bool {
        self >= Self::Admin
    }

    /// Rename the workspace; manage its bots and settings.
    pub fn can_edit_workspace(self) -> bool {
        self >= Self::Admin
    }

    /// Change roles, transfer ownership, delete the workspace, read the audit log, billing.
    pub fn is_owner(self) -> bool {
        self == Self::Owner
    }

    /// Whether this role may remove someone who holds `other`.
    pub fn can_remove(self, other: Role) -> bool {
        match self {
            Self::Owner => other != Self::Owner,
            Self::Admin => other == Self::Member,
            Self::Member => false,
        }
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "owner" => Ok(Self::Owner),
            "admin" => Ok(Self::Admin),
            "member" => Ok(Self::Member),
            other => Err(format!("unknown role `{other}`")),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

crate::stored_as_text!(Role);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip() {
        for role in [Role::Owner, Role::Admin, Role::Member] {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
        assert!("superuser".parse::<Role>().is_err());
    }

    #[test]
    fn who_may_remove_whom() {
        assert!(Role::Owner.can_remove(Role::Admin));
        assert!(Role::Owner.can_remove(Role::Member));
        assert!(!Role::Owner.can_remove(Role::Owner));
        assert!(Role::Admin.can_remove(Role::Member));
        assert!(!Role::Admin.can_remove(Role::Admin));
        assert!(!Role::Member.can_remove(Role::Member));
    }

    #[test]
    fn permissions_follow_rank() {
        assert!(Role::Admin.can_manage_members() && !Role::Member.can_manage_members());
        assert!(Role::Owner.is_owner() && !Role::Admin.is_owner());
    }
}
