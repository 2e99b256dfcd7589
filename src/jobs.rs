//! Background jobs of `serve`: the edge that runs a domain's periodic work and applies its
//! effects on bots, as an HTTP handler does for a request.

use tokio::task::JoinHandle;

use crate::billing::trials::{self, Lapsed};
use crate::db::DbError;
use crate::live;
use crate::state::AppState;

/// End lapsed trials and grace periods now, and stop the bots that the free plan pauses.
pub async fn lapse_trials(state: &AppState) -> Result<Vec<Lapsed>, DbError> {
    let (lapsed, changes) = trials::run_once(state).await?;
    state.bots.apply_plan_changes(&changes).await;
    Ok(lapsed)
}

/// How often the live event log loses what reconnecting pages no longer need.
pub const PRUNE_LIVE_EVENTS_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// Run [`lapse_trials`] every [`trials::EVERY`] until the process stops, and prune the live
/// event log every [`PRUNE_LIVE_EVENTS_EVERY`] (first at start); on several instances only the
/// holder of the job's lease works.
pub fn spawn_trial_lapses(state: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        let holder = state.bots.instance().to_owned();
        let mut tick = tokio::time::interval(trials::EVERY);
        let mut pruned_at: Option<std::time::Instant> = None;
        loop {
            tick.tick().await;
            match trials::acquire_lease(&state, &holder).await {
                Ok(true) => {
                    match lapse_trials(&state).await {
                        Ok(lapsed) if !lapsed.is_empty() => {
                            tracing::info!(
                                workspaces = lapsed.len(),
                                "trials and grace periods ended"
                            );
                        }
                        Ok(_) => {}
                        Err(e) => tracing::error!(error = %e, "lapse job failed"),
                    }
                    if pruned_at.is_none_or(|at| at.elapsed() >= PRUNE_LIVE_EVENTS_EVERY) {
                        pruned_at = Some(std::time::Instant::now());
                        match live::prune(&state.db).await {
                            Ok(0) => {}
                            Ok(gone) => tracing::info!(events = gone, "old live events pruned"),
                            Err(e) => tracing::error!(error = %e, "pruning live events failed"),
                        }
                    }
                }
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "could not take the lapse job's lease"),
            }
        }
    })
}
