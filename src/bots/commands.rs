//! The command router's first commands: a public `ping` and an owner-only `!status`. The full
//! command system (templates, menus, flows) builds on this.

/// What the router decided to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Text(String),
}

/// Facts the router may need, gathered by the pipeline.
pub trait BotFacts {
    /// Whether the sender is the bot's owner (asked of the database).
    fn sender_is_owner(&mut self) -> bool;
    /// A one-line status for the owner.
    fn status_line(&mut self) -> String;
}

/// The reply to `text`, if any.
pub fn route(text: &str, facts: &mut impl BotFacts) -> Option<Reply> {
    let command = text.trim().to_lowercase();
    match command.as_str() {
        "ping" | "!ping" => Some(Reply::Text("pong".into())),
        "!status" if facts.sender_is_owner() => Some(Reply::Text(facts.status_line())),
        "!status" => Some(Reply::Text("Only this bot's owner can use !status.".into())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Facts {
        owner: bool,
    }

    impl BotFacts for Facts {
        fn sender_is_owner(&mut self) -> bool {
            self.owner
        }
        fn status_line(&mut self) -> String {
            "all good".into()
        }
    }

    #[test]
    fn ping_is_public() {
        for text in ["ping", " PING ", "!ping"] {
            assert_eq!(
                route(text, &mut Facts { owner: false }),
                Some(Reply::Text("pong".into()))
            );
        }
    }

    #[test]
    fn status_is_for_the_owner_only() {
        assert_eq!(
            route("!status", &mut Facts { owner: true }),
            Some(Reply::Text("all good".into()))
        );
        let refused = route("!status", &mut Facts { owner: false });
        assert_eq!(
            refused,
            Some(Reply::Text("Only this bot's owner can use !status.".into()))
        );
    }

    #[test]
    fn other_text_gets_no_reply_yet() {
        assert_eq!(route("hello there", &mut Facts { owner: true }), None);
    }
}
