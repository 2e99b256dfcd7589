//! A Cloud API bot's media fetcher: the pending media rows the pipeline recorded are fetched
//! from the Graph API (media id → short-lived URL → bytes, with the bot's token), checked
//! (Meta's size limit for the kind, the allowed types, the first bytes, the SHA-256) and kept
//! in the media store. It runs beside the bot's task, so a slow download never holds up a
//! message. A refused file is refused for good; an unavailable Graph API is tried again with
//! growing pauses, up to `MAX_ATTEMPTS`.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::graph::{GraphClient, GraphError};
use crate::bots::media::{self, MediaStatus, PendingMedia};
use crate::bots::media_checks::{self, Kind};
use crate::bots::media_store::MediaStore;
use crate::db::Db;
use crate::ids::{BotId, TenantId};

/// Pending media are looked for this often (the pipeline records them on any instance).
const LOOK_EVERY: Duration = Duration::from_secs(2);
/// Media read at a time.
const BATCH: i64 = 16;
/// Tries before a file that could not be fetched is marked failed.
pub const MAX_ATTEMPTS: i32 = 5;
/// The pause after the first failed try; it doubles with each one.
const FIRST_PAUSE: Duration = Duration::from_secs(1);

/// What the fetcher needs to know about its bot.
pub struct MediaFetcher {
    pub db: Db,
    pub graph: GraphClient,
    pub store: MediaStore,
    pub tenant_id: TenantId,
    pub bot_id: BotId,
    pub access_token: String,
}

/// How one fetch ended.
enum Outcome {
    Stored,
    /// Not kept, for good (the reason is recorded).
    Refused(String),
    /// Not fetched this time; `retry` says whether another try may succeed.
    NotFetched {
        reason: String,
        retry: bool,
    },
}

impl MediaFetcher {
    /// Fetch pending media until `stop`.
    pub async fn run(self, stop: CancellationToken) {
        // Files waiting for their next try, in memory: after a restart they are tried at once.
        let mut not_before: HashMap<String, Instant> = HashMap::new();
        loop {
            if let Err(e) = self.fetch_pending(&mut not_before, &stop).await {
                tracing::warn!(bot_id = %self.bot_id, error = %e, "could not read pending media");
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(LOOK_EVERY) => {}
            }
        }
    }

    async fn fetch_pending(
        &self,
        not_before: &mut HashMap<String, Instant>,
        stop: &CancellationToken,
    ) -> Result<(), crate::db::DbError> {
        let pending =
            media::pending_for_bot(&self.db, &self.tenant_id, &self.bot_id, BATCH).await?;
        not_before.retain(|id, _| pending.iter().any(|p| &p.id == id));
        for file in pending {
            if stop.is_cancelled() {
                return Ok(());
            }
            if not_before
                .get(&file.id)
                .is_some_and(|at| Instant::now() < *at)
            {
                continue;
            }
            let outcome = self.fetch(&file).await;
            let written = match outcome {
                Outcome::Stored => Ok(()),
                Outcome::Refused(reason) => {
                    tracing::info!(bot_id = %self.bot_id, media = %file.id, %reason, "media refused");
                    media::mark_not_stored(
                        &self.db,
                        &self.tenant_id,
                        &file.id,
                        MediaStatus::Refused,
                        &reason,
                    )
                    .await
                }
                Outcome::NotFetched { reason, retry } => {
                    let status = match next_try(file.attempts, retry) {
                        Some(pause) => {
                            not_before.insert(file.id.clone(), Instant::now() + pause);
                            MediaStatus::Pending
                        }
                        None => {
                            tracing::warn!(bot_id = %self.bot_id, media = %file.id, %reason, "media could not be fetched");
                            MediaStatus::Failed
                        }
                    };
                    media::mark_not_stored(&self.db, &self.tenant_id, &file.id, status, &reason)
                        .await
                }
            };
            written?;
        }
        Ok(())
    }

    async fn fetch(&self, file: &PendingMedia) -> Outcome {
        let Some(kind) = Kind::parse(&file.kind) else {
            return Outcome::Refused(format!("{} messages carry no media we keep", file.kind));
        };
        let max_bytes = kind.max_bytes();
        let info = match self
            .graph
            .media_url(&file.provider_media_id, &self.access_token)
            .await
        {
            Ok(info) => info,
            Err(e) => return not_fetched(e),
        };
        let mime_type = match media_checks::allowed_type(kind, &info.mime_type) {
            Ok(mime) => mime,
            Err(reason) => return Outcome::Refused(reason),
        };
        if info.file_size > max_bytes {
            return Outcome::Refused(too_large(max_bytes));
        }
        let bytes = match self
            .graph
            .download(&info.url, &self.access_token, max_bytes)
            .await
        {
            Ok(bytes) => bytes,
            Err(GraphError::TooLarge { max_bytes }) => {
                return Outcome::Refused(too_large(max_bytes));
            }
            Err(e) => return not_fetched(e),
        };
        if !media_checks::looks_like(mime_type, &bytes) {
            return Outcome::Refused(format!("the bytes are not {mime_type}"));
        }
        // Meta gives the hash in the webhook and again with the URL; each one given must match.
        let announced = [file.sha256.as_deref(), Some(info.sha256.as_str())];
        if announced
            .into_iter()
            .flatten()
            .filter(|sha| !sha.trim().is_empty())
            .any(|sha| !media_checks::sha256_matches(sha, &bytes))
        {
            return Outcome::Refused("the SHA-256 does not match the one Meta gave".into());
        }
        let stored = self
            .store
            .put(
                self.tenant_id.as_str(),
                self.bot_id.as_str(),
                &file.id,
                &bytes,
            )
            .await;
        let path = match stored {
            Ok(path) => path,
            Err(e) => {
                return Outcome::NotFetched {
                    reason: format!("could not keep the file: {e}"),
                    retry: true,
                };
            }
        };
        let size = bytes.len() as u64;
        match media::mark_stored(
            &self.db,
            &self.tenant_id,
            &file.id,
            path.clone(),
            size,
            mime_type,
        )
        .await
        {
            Ok(true) => Outcome::Stored,
            Ok(false) => {
                // The bot or workspace was deleted while the file came in: it goes too.
                if let Err(e) = self.store.remove(&path).await {
                    tracing::warn!(bot_id = %self.bot_id, error = %e, "an orphan media file was not removed");
                }
                Outcome::Stored
            }
            Err(e) => Outcome::NotFetched {
                reason: format!("could not record the file: {e}"),
                retry: true,
            },
        }
    }
}

/// After a failed try (`attempts` made before it): the pause before the next one, or `None`
/// when the file is given up (a failure retrying cannot fix, or the last attempt).
fn next_try(attempts: i32, retry: bool) -> Option<Duration> {
    let made = attempts.max(0) + 1;
    if !retry || made >= MAX_ATTEMPTS {
        return None;
    }
    Some(FIRST_PAUSE * 2u32.saturating_pow((made - 1) as u32))
}

fn too_large(max_bytes: u64) -> String {
    format!("larger than the {max_bytes} bytes allowed")
}

/// A Graph API failure: worth another try when Meta or the network failed.
fn not_fetched(error: GraphError) -> Outcome {
    Outcome::NotFetched {
        retry: error.is_retryable(),
        reason: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_until_the_last_attempt_and_refusals_are_not_retried() {
        let pauses: Vec<_> = (0..MAX_ATTEMPTS).map(|a| next_try(a, true)).collect();
        assert_eq!(
            pauses,
            vec![
                Some(Duration::from_secs(1)),
                Some(Duration::from_secs(2)),
                Some(Duration::from_secs(4)),
                Some(Duration::from_secs(8)),
                None,
            ]
        );
        assert_eq!(next_try(0, false), None);
    }
}
