//! Full-text queries on both backends: what a person typed, turned into a PostgreSQL
//! `tsquery` or an SQLite FTS5 `MATCH` expression with the same meaning — every word must
//! appear, each as a prefix ("ord" finds "order"). Only letters and digits count, so nothing
//! typed can reach either query language's syntax.

/// At most this many words are searched for; the rest is ignored.
pub const MAX_WORDS: usize = 8;

/// The words of `typed`, lowercased: runs of letters and digits, at most [`MAX_WORDS`].
pub fn words(typed: &str) -> Vec<String> {
    typed
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(MAX_WORDS)
        .map(str::to_lowercase)
        .collect()
}

/// The PostgreSQL `to_tsquery('simple', …)` text: `word:* & word:*`; `None` when nothing
/// searchable was typed.
pub fn postgres_query(typed: &str) -> Option<String> {
    let words = words(typed);
    (!words.is_empty()).then(|| {
        words
            .iter()
            .map(|w| format!("{w}:*"))
            .collect::<Vec<_>>()
            .join(" & ")
    })
}

/// The SQLite FTS5 `MATCH` text: `"word"* "word"*`; `None` when nothing searchable was typed.
pub fn sqlite_query(typed: &str) -> Option<String> {
    let words = words(typed);
    (!words.is_empty()).then(|| {
        words
            .iter()
            .map(|w| format!("\"{w}\"*"))
            .collect::<Vec<_>>()
            .join(" ")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_is_a_prefix_and_syntax_is_dropped() {
        assert_eq!(
            postgres_query("Order  #42!"),
            Some("order:* & 42:*".to_owned())
        );
        assert_eq!(
            sqlite_query("Order  #42!"),
            Some("\"order\"* \"42\"*".to_owned())
        );
        assert_eq!(
            postgres_query("' OR 1=1 --"),
            Some("or:* & 1:* & 1:*".to_owned())
        );
        assert_eq!(
            sqlite_query("\"NEAR(a b)\""),
            Some("\"near\"* \"a\"* \"b\"*".to_owned())
        );
        assert_eq!(postgres_query("  !!  "), None);
        assert_eq!(sqlite_query(""), None);
        assert_eq!(words("café Ünïcode"), vec!["café", "ünïcode"]);
        assert_eq!(words(&"a ".repeat(20)).len(), MAX_WORDS);
    }
}
