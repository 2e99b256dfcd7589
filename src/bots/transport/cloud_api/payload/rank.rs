//! Statuses only move forward: sent < delivered < read, and failed ends the story.
//!
//! Meta delivers statuses out of order (a `read` can arrive before its `delivered`, or the
//! `delivered` never comes), so whatever stores them asks [`StatusRank::supersedes`] first.

use super::DeliveryStatus;

/// How far a sent message got. Ordered: a higher rank replaces a lower one, never the reverse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StatusRank {
    /// A status we do not track: recorded only when nothing better is known.
    Other,
    Sent,
    Delivered,
    Read,
    /// Terminal: once failed, later statuses change nothing and the first failure's error stays.
    Failed,
}

impl StatusRank {
    /// The rank of a status.
    pub fn of(status: &DeliveryStatus) -> StatusRank {
        match status {
            DeliveryStatus::Other(_) => StatusRank::Other,
            DeliveryStatus::Sent => StatusRank::Sent,
            DeliveryStatus::Delivered => StatusRank::Delivered,
            DeliveryStatus::Read => StatusRank::Read,
            DeliveryStatus::Failed => StatusRank::Failed,
        }
    }

    /// Whether `incoming` should replace what is stored (`None`: nothing yet). A repeat of the
    /// stored status does not, so a redelivered `failed` keeps the first error.
    pub fn supersedes(incoming: &DeliveryStatus, stored: Option<&DeliveryStatus>) -> bool {
        stored.is_none_or(|stored| StatusRank::of(incoming) > StatusRank::of(stored))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Applies statuses in arrival order as a store would; returns where the message ends.
    fn settle(arrivals: &[DeliveryStatus]) -> Option<DeliveryStatus> {
        let mut stored: Option<DeliveryStatus> = None;
        for incoming in arrivals {
            if StatusRank::supersedes(incoming, stored.as_ref()) {
                stored = Some(incoming.clone());
            }
        }
        stored
    }

    /// Every order of three items.
    fn orders<T: Clone>(items: [T; 3]) -> Vec<Vec<T>> {
        const PERMUTATIONS: [[usize; 3]; 6] = [
            [0, 1, 2],
            [0, 2, 1],
            [1, 0, 2],
            [1, 2, 0],
            [2, 0, 1],
            [2, 1, 0],
        ];
        PERMUTATIONS
            .iter()
            .map(|order| order.iter().map(|&index| items[index].clone()).collect())
            .collect()
    }

    #[test]
    fn sent_delivered_and_read_in_every_order_end_at_read() {
        use DeliveryStatus::*;
        let all = orders([Sent, Delivered, Read]);
        assert_eq!(all.len(), 6);
        for arrivals in all {
            assert_eq!(settle(&arrivals), Some(Read), "{arrivals:?}");
        }
    }

    #[test]
    fn a_failure_in_any_position_ends_at_failed() {
        use DeliveryStatus::*;
        for arrivals in orders([Sent, Delivered, Failed]) {
            assert_eq!(settle(&arrivals), Some(Failed), "{arrivals:?}");
        }
        for arrivals in orders([Sent, Failed, Read]) {
            assert_eq!(settle(&arrivals), Some(Failed), "{arrivals:?}");
        }
    }

    #[test]
    fn the_ranks_are_ordered_forward() {
        assert!(StatusRank::Sent < StatusRank::Delivered);
        assert!(StatusRank::Delivered < StatusRank::Read);
        assert!(StatusRank::Read < StatusRank::Failed);
        assert!(StatusRank::Other < StatusRank::Sent);
    }

    #[test]
    fn a_repeat_or_a_step_back_does_not_replace() {
        use DeliveryStatus::*;
        assert!(!StatusRank::supersedes(&Failed, Some(&Failed)));
        assert!(!StatusRank::supersedes(&Delivered, Some(&Delivered)));
        assert!(!StatusRank::supersedes(&Sent, Some(&Read)));
        assert!(!StatusRank::supersedes(
            &Other("played".into()),
            Some(&Sent)
        ));
        assert!(StatusRank::supersedes(&Other("played".into()), None));
        assert!(StatusRank::supersedes(&Sent, Some(&Other("played".into()))));
    }
}
