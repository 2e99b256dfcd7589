//! What the base layout needs from every page.

use super::assets;

/// The parts of `base.html` that every page fills in.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The page title, before " · WhatsDeX".
    pub title: String,
}

impl Layout {
    /// A layout with this page title.
    pub fn new(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
        }
    }

    /// The fingerprinted URL of a static file.
    pub fn asset(&self, name: &str) -> String {
        assets::url(name)
    }
}
