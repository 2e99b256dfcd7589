//! What the base layout needs from every page.

use super::assets;
use crate::tenants::members::WorkspaceChoice;

/// The signed-in person, as the header shows them.
#[derive(Debug, Clone)]
pub struct HeaderUser {
    pub name: String,
    pub verified: bool,
    pub is_platform_admin: bool,
}

/// The parts of `base.html` that every page fills in.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    /// The page title, before " · WhatsDeX".
    pub title: String,
    /// The CSRF token every form and htmx request carries.
    pub csrf: String,
    /// The signed-in person, if any.
    pub user: Option<HeaderUser>,
    /// The workspace in view.
    pub current_workspace: Option<WorkspaceChoice>,
    /// Every workspace the person belongs to, for the switcher.
    pub workspaces: Vec<WorkspaceChoice>,
    /// A one-line notice at the top of the page.
    pub notice: Option<&'static str>,
}

impl Layout {
    /// A layout with this page title.
    pub fn new(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            ..Self::default()
        }
    }

    /// The fingerprinted URL of a static file.
    pub fn asset(&self, name: &str) -> String {
        assets::url(name)
    }

    /// The htmx headers attribute value that carries the CSRF token.
    pub fn htmx_headers(&self) -> String {
        serde_json::json!({ "X-CSRF-Token": self.csrf }).to_string()
    }

    /// Whether `tenant_id` is the workspace in view.
    pub fn is_current(&self, tenant_id: &str) -> bool {
        self.current_workspace
            .as_ref()
            .is_some_and(|w| w.tenant_id == tenant_id)
    }

    /// Set the notice shown for `?notice=key`; unknown keys show nothing.
    pub fn with_notice(mut self, key: Option<&str>) -> Self {
        self.notice = key.and_then(notice_text);
        self
    }
}

/// The fixed notices a redirect can ask for; nothing from the URL is echoed.
fn notice_text(key: &str) -> Option<&'static str> {
    Some(match key {
        "signed_out" => "You are signed out.",
        "welcome" => {
            "Welcome! Your workspace is ready. We sent you a link to confirm your email address."
        }
        "invited" => "Invitation sent.",
        "revoked" => "Invitation withdrawn.",
        "member_removed" => "Member removed.",
        "role_changed" => "Role updated.",
        "transferred" => "Ownership transferred. You are now an admin.",
        "left" => "You left the workspace.",
        "renamed" => "Workspace renamed.",
        "workspace_deleted" => "The workspace and its data were deleted.",
        "joined" => "You joined the workspace.",
        "switched" => "Switched workspace.",
        "profile_saved" => "Your name is saved.",
        "email_sent" => {
            "We sent a confirmation link to the new address. Your email changes when you click it."
        }
        "password_changed" => "Password changed. Your other sessions were signed out.",
        "verification_sent" => "We sent you a new confirmation link.",
        "email_verified" => "Thank you: your email address is confirmed.",
        "reset_sent" => {
            "If that address has an account, a reset link is on its way. It works for one hour."
        }
        "password_reset" => "Your password is changed. Sign in with it now.",
        "account_deleted" => "Your account was deleted.",
        "signed_out_everywhere" => "You are signed out on every device.",
        "bot_renamed" => "Bot renamed.",
        "bot_unpaired" => "Bot unpaired. Scan a new QR code to pair it again.",
        "bot_deleted" => "Bot deleted.",
        "template_queued" => "Template queued: it goes out through the Cloud API now.",
        "message_queued" => "Message queued: it goes out through the Cloud API now.",
        "tenant_suspended" => "Tenant suspended: its bots are stopped and sign-in is blocked.",
        "tenant_unsuspended" => "Suspension lifted: sign-in works and paired bots restart.",
        "plan_changed" => "Plan changed.",
        "verification_resent" => "A new confirmation link went to the unverified owners.",
        "owners_verified" => "Every owner has already confirmed their address.",
        "template_applied" => "Template applied. Tune its replies below.",
        "command_added" => "Command added.",
        "tag_added" => "Tag added.",
        "tag_removed" => "Tag removed.",
        "note_added" => "Note added.",
        "opted_out" => "Broadcasts stopped for this contact.",
        "opted_in" => "This contact gets broadcasts again.",
        "contact_deleted" => "Contact deleted with its messages.",
        _ => return None,
    })
}
