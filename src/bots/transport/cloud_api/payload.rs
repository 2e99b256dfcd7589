//! Placeholder: filled in by the Cloud API transport work (issue 14).
