//! How the bot writes numbers for people: a count with its noun in the right number
//! ("1 contact", "3 contacts") and an amount of money with its currency sign and thousands
//! separators ("$1,234.50").

use crate::numbers::thousands;

/// `n` followed by `one` or `many`, whichever fits.
pub fn counted(n: i64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The sign written before amounts in `currency` (an ISO 4217 code); a code without a
/// well-known sign is written out ("CHF 12.00").
fn sign_of(currency: &str) -> String {
    match currency.to_ascii_uppercase().as_str() {
        "USD" => "$".into(),
        "EUR" => "€".into(),
        "GBP" => "£".into(),
        "BRL" => "R$".into(),
        "INR" => "₹".into(),
        "NGN" => "₦".into(),
        other => format!("{other} "),
    }
}

/// `cents` hundredths of `currency` for a customer: "$1,234.50", "-€3.00".
pub fn money(cents: i64, currency: &str) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!(
        "{sign}{}{}.{:02}",
        sign_of(currency),
        thousands(i64::try_from(abs / 100).unwrap_or(i64::MAX)),
        abs % 100
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_take_the_right_noun() {
        assert_eq!(counted(0, "contact", "contacts"), "0 contacts");
        assert_eq!(counted(1, "contact", "contacts"), "1 contact");
        assert_eq!(counted(2, "contact", "contacts"), "2 contacts");
    }

    #[test]
    fn money_has_its_sign_and_thousands_separators() {
        assert_eq!(money(0, "USD"), "$0.00");
        assert_eq!(money(950, "USD"), "$9.50");
        assert_eq!(money(100_000, "eur"), "€1,000.00");
        assert_eq!(money(123_456_789, "GBP"), "£1,234,567.89");
        assert_eq!(money(-305, "USD"), "-$3.05");
        assert_eq!(money(1_200, "CHF"), "CHF 12.00");
    }
}
