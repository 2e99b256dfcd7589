//! Field-level validation errors: what a form shows next to each field.

use std::collections::BTreeMap;

/// Messages keyed by form field name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(BTreeMap<&'static str, String>);

impl FieldErrors {
    /// No errors yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// One error on one field.
    pub fn single(field: &'static str, message: impl Into<String>) -> Self {
        let mut errors = Self::new();
        errors.add(field, message);
        errors
    }

    /// Record `message` for `field`, keeping the first message a field got.
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.entry(field).or_insert_with(|| message.into());
    }

    /// The message for `field`, if any.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }

    /// The first message of any field.
    pub fn first_message(&self) -> Option<&str> {
        self.0.values().next().map(String::as_str)
    }

    /// Whether every field passed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(())` when empty, else `Err(self)`.
    pub fn into_result(self) -> Result<(), Self> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }
}

/// Trim and lowercase an email address, or say what is wrong with it.
pub fn normalize_email(raw: &str) -> Result<String, String> {
    let email = raw.trim().to_lowercase();
    if email.is_empty() {
        return Err("Enter your email address.".into());
    }
    if email.len() > 254 || !email_address::EmailAddress::is_valid(&email) || !email.contains('.') {
        return Err("Enter a valid email address, like name@example.com.".into());
    }
    Ok(email)
}

/// Trim a display name (a person's or a workspace's), or say what is wrong with it.
pub fn normalize_name(raw: &str, what: &str) -> Result<String, String> {
    let name = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    match name.chars().count() {
        0 => Err(format!("Enter a {what}.")),
        n if n > 80 => Err(format!("Keep the {what} under 80 characters.")),
        _ => Ok(name),
    }
}

/// Text without control characters, the same on both backends (PostgreSQL refuses NUL in
/// text; SQLite would store it): tabs and line breaks stay, every other C0 character and
/// DEL is dropped.
pub fn without_control_chars(text: &str) -> std::borrow::Cow<'_, str> {
    let unwanted =
        |c: char| c.is_control() && !matches!(c, '\t' | '\n' | '\r') && (c as u32) < 0x80;
    if text.contains(unwanted) {
        std::borrow::Cow::Owned(text.chars().filter(|c| !unwanted(*c)).collect())
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_go_line_breaks_stay() {
        assert_eq!(without_control_chars("plain"), "plain");
        assert!(matches!(
            without_control_chars("plain"),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(without_control_chars("a\0b\u{7}c\u{7f}"), "abc");
        assert_eq!(
            without_control_chars("line\r\nnext\tcol"),
            "line\r\nnext\tcol"
        );
        assert_eq!(
            without_control_chars("caf\u{e9} \u{1f600}"),
            "caf\u{e9} \u{1f600}"
        );
    }

    #[test]
    fn emails_are_normalized_or_refused() {
        assert_eq!(
            normalize_email("  Ana@Example.COM ").unwrap(),
            "ana@example.com"
        );
        assert!(normalize_email("").is_err());
        assert!(normalize_email("ana").is_err());
        assert!(normalize_email("ana@").is_err());
        assert!(normalize_email("ana@localhost").is_err());
        assert!(normalize_email("a b@example.com").is_err());
    }

    #[test]
    fn names_are_tidied() {
        assert_eq!(
            normalize_name("  Acme   Corp ", "name").unwrap(),
            "Acme Corp"
        );
        assert!(
            normalize_name("   ", "workspace name")
                .unwrap_err()
                .contains("workspace name")
        );
        assert!(normalize_name(&"x".repeat(81), "name").is_err());
    }

    #[test]
    fn first_error_per_field_wins() {
        let mut errors = FieldErrors::new();
        errors.add("email", "first");
        errors.add("email", "second");
        assert_eq!(errors.get("email"), Some("first"));
        assert!(errors.into_result().is_err());
    }
}
