//! The words of the `messages` table: which way a message went and how far it got. Stored as
//! text; a CHECK in the migrations keeps each column to these names.

use std::str::FromStr;

/// Which way a message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum MessageDirection {
    /// From a contact to the bot.
    In,
    /// From the bot to a contact.
    Out,
}

impl MessageDirection {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::In => "in",
            Self::Out => "out",
        }
    }
}

impl FromStr for MessageDirection {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        match raw {
            "in" => Ok(Self::In),
            "out" => Ok(Self::Out),
            other => Err(format!("unknown message direction `{other}`")),
        }
    }
}

crate::stored_as_text!(MessageDirection);

/// How far a message got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum MessageStatus {
    /// An inbound message, stored.
    Received,
    /// An outbound message the transport took.
    Sent,
    /// The contact's phone has it.
    Delivered,
    /// The contact has read it.
    Read,
    /// It could not be delivered (the provider's error is kept with it).
    Failed,
}

impl MessageStatus {
    /// Every status, in the order a message goes through them.
    pub const ALL: [MessageStatus; 5] = [
        Self::Received,
        Self::Sent,
        Self::Delivered,
        Self::Read,
        Self::Failed,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Read => "read",
            Self::Failed => "failed",
        }
    }
}

impl FromStr for MessageStatus {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == raw)
            .ok_or_else(|| format!("unknown message status `{raw}`"))
    }
}

crate::stored_as_text!(MessageStatus);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for status in MessageStatus::ALL {
            assert_eq!(status.as_str().parse::<MessageStatus>(), Ok(status));
        }
        for direction in [MessageDirection::In, MessageDirection::Out] {
            assert_eq!(
                direction.as_str().parse::<MessageDirection>(),
                Ok(direction)
            );
        }
        assert!("lost".parse::<MessageStatus>().is_err());
        assert!("sideways".parse::<MessageDirection>().is_err());
    }
}
