//! A short summary of a `User-Agent` header for people reading the audit log: "Chrome on
//! Linux", not the 120 characters the browser sends. Only the common families are named; the
//! full header is still stored.

/// "Browser on System" for a user agent, naming what is known of the two.
pub fn summary(user_agent: &str) -> String {
    let user_agent = user_agent.trim();
    match (browser(user_agent), system(user_agent)) {
        (Some(browser), Some(system)) => format!("{browser} on {system}"),
        (Some(browser), None) => browser.to_owned(),
        (None, Some(system)) => format!("Unknown browser on {system}"),
        (None, None) if user_agent.is_empty() => String::new(),
        (None, None) => "Unknown browser".to_owned(),
    }
}

/// The browser family, or the program for a non-browser client (`curl/8.5.0` is "curl").
fn browser(ua: &str) -> Option<&str> {
    // Order matters: Edge, Opera and Samsung Internet also say "Chrome", Chrome says "Safari".
    const FAMILIES: [(&str, &str); 12] = [
        ("Edg/", "Edge"),
        ("EdgA/", "Edge"),
        ("EdgiOS/", "Edge"),
        ("Edge/", "Edge"),
        ("OPR/", "Opera"),
        ("SamsungBrowser/", "Samsung Internet"),
        ("Firefox/", "Firefox"),
        ("FxiOS/", "Firefox"),
        ("CriOS/", "Chrome"),
        ("Chromium/", "Chromium"),
        ("Chrome/", "Chrome"),
        ("Version/", "Safari"),
    ];
    if let Some((_, name)) = FAMILIES.iter().find(|(token, _)| ua.contains(token)) {
        return Some(name);
    }
    if ua.starts_with("Mozilla/") {
        return None;
    }
    // A program that names itself first: "curl/8.5.0", "okhttp/4.12".
    ua.split(['/', ' '])
        .next()
        .filter(|name| !name.is_empty() && name.len() <= 30)
}

/// The operating system, from the parenthesised platform part.
fn system(ua: &str) -> Option<&'static str> {
    // iOS says "like Mac OS X", Android and ChromeOS say "Linux": the specific ones first.
    const SYSTEMS: [(&str, &str); 8] = [
        ("iPhone", "iOS"),
        ("iPod", "iOS"),
        ("iPad", "iPadOS"),
        ("Android", "Android"),
        ("CrOS", "ChromeOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ];
    SYSTEMS
        .iter()
        .find(|(token, _)| ua.contains(token))
        .map(|(_, name)| *name)
}

#[cfg(test)]
mod tests {
    use super::summary;

    #[test]
    fn common_browsers_are_named_with_their_system() {
        let cases = [
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
                 Chrome/131.0.0.0 Safari/537.36",
                "Chrome on Linux",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like \
                 Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86",
                "Edge on Windows",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7_1) AppleWebKit/605.1.15 (KHTML, \
                 like Gecko) Version/18.1 Safari/605.1.15",
                "Safari on macOS",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 \
                 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
                "Safari on iOS",
            ),
            (
                "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, \
                 like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
                "Chrome on iPadOS",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 \
                 Firefox/133.0",
                "Firefox on Windows",
            ),
            (
                "Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0",
                "Firefox on Android",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like \
                 Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
                "Samsung Internet on Android",
            ),
            (
                "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like \
                 Gecko) Chrome/131.0.0.0 Safari/537.36",
                "Chrome on ChromeOS",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like \
                 Gecko) Chrome/131.0.0.0 Safari/537.36 OPR/115.0.0.0",
                "Opera on Windows",
            ),
        ];
        for (ua, expected) in cases {
            assert_eq!(summary(ua), expected, "{ua}");
        }
    }

    #[test]
    fn programs_and_unknowns_are_said_plainly() {
        assert_eq!(summary("curl/8.5.0"), "curl");
        assert_eq!(summary("python-requests/2.32.3"), "python-requests");
        assert_eq!(
            summary("Mozilla/5.0 (X11; Linux x86_64)"),
            "Unknown browser on Linux"
        );
        assert_eq!(summary("Mozilla/5.0"), "Unknown browser");
        assert_eq!(summary("   "), "");
        assert_eq!(summary(&"x".repeat(300)), "Unknown browser");
    }
}
