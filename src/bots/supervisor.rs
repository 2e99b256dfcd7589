//! The bot supervisor: one tokio task per running bot. A task that fails is restarted with
//! exponential backoff and jitter; on shutdown every task is told to stop and given time to
//! send what its outbox holds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::lease::{self, Leases};
use super::media_store::MediaStore;
use super::model::{self, Bot, BotStatus, TransportKind};
use super::outbox;
use super::pipeline::{self, Engine, Outcome};
use super::transport::cloud_api::graph::GraphClient;
use super::transport::cloud_api::{CloudTransport, connection};
use super::transport::sandbox::{SandboxHub, SandboxTransport};
use super::transport::whatsapp_web::{SessionStore, WebSettings, WebTransport};
use super::transport::{InboundMessage, SendAction, Transport, TransportEvent};
use crate::billing::meter::Meter;
use crate::billing::subscriptions::BotChanges;
use crate::cache::Cache;
use crate::context::Context;
use crate::db::{Db, RowScope};
use crate::encryption::EncryptionKey;
use crate::ids::BotId;
use crate::instance::Instance;
use crate::live::Live;

/// The longest wait between restarts of a failing bot.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Cloud API deliveries processed at once across this process's bots: enough to keep the
/// database busy, few enough that a backlog leaves room to acknowledge new deliveries fast.
const CLOUD_DELIVERIES_AT_ONCE: usize = 4;

/// After a failed outbox read, look again this much later.
const OUTBOX_READ_RETRY: Duration = Duration::from_secs(5);

/// How long the current QR code of a bot is kept in the cache.
fn qr_key(bot_id: &str) -> String {
    format!("bot:{bot_id}:qr")
}

/// Where the code for linking by phone number is kept while it is valid.
fn pair_code_key(bot_id: &str) -> String {
    format!("bot:{bot_id}:pair_code")
}

/// What a web page can ask of a running bot task.
enum BotCommand {
    /// Unlink from the phone and end the run.
    Logout,
    /// Ask WhatsApp for a code to link by phone number.
    PairCode {
        phone_number: String,
        reply: oneshot::Sender<Result<String, String>>,
    },
}

/// Why a pair code could not be had.
#[derive(Debug, thiserror::Error)]
pub enum PairCodeError {
    #[error("the bot is not running on this server yet; try again in a moment")]
    NotRunningHere,
    #[error("{0}")]
    Refused(String),
}

struct RunningBot {
    cancel: CancellationToken,
    handle: JoinHandle<()>,
}

struct Inner {
    /// This process, as lease holder: host, process id and a random tag.
    instance: Instance,
    leases: Leases,
    /// Where bot tasks run: the main runtime, not an HTTP worker's (those stop first on
    /// shutdown). Unset until `start_all`; until then the caller's runtime is used.
    runtime: std::sync::OnceLock<tokio::runtime::Handle>,
    db: Db,
    cache: Cache,
    /// Counts the messages the bots take.
    meter: Meter,
    /// Where committed changes are announced to open pages.
    live: Live,
    base_url: String,
    encryption_key: Arc<EncryptionKey>,
    web: WebSettings,
    /// The Graph API, for Cloud API bots.
    graph: GraphClient,
    /// Where Cloud API bots keep the media people send.
    media: MediaStore,
    sandbox: SandboxHub,
    tasks: Mutex<HashMap<BotId, RunningBot>>,
    /// Command channels of the bot runs in progress on this instance.
    commands: Mutex<HashMap<BotId, mpsc::Sender<BotCommand>>>,
    /// Nudges a bot's task to look at its outbox now.
    outbox_nudges: Mutex<HashMap<BotId, Arc<Notify>>>,
    /// Nudges a Cloud API bot to read the webhook deliveries just stored.
    delivery_nudges: Mutex<HashMap<BotId, Arc<Notify>>>,
    /// Permits for processing Cloud API deliveries, shared by all Cloud API bots here.
    cloud_processing: Arc<tokio::sync::Semaphore>,
}

/// What Cloud API bots need from the process.
pub struct CloudSettings {
    /// The Graph API client (`META_GRAPH_URL`).
    pub graph: GraphClient,
    /// Where the media people send is kept (`DATA_DIR/media`).
    pub media: MediaStore,
}

/// Runs the bots of this process; cheap to clone.
#[derive(Clone)]
pub struct BotSupervisor {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for BotSupervisor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BotSupervisor")
            .field("running", &self.running_count())
            .finish()
    }
}

impl BotSupervisor {
    /// A supervisor with no bots running yet, working with the handles of `context`.
    pub fn new(
        instance: Instance,
        context: &Context,
        web: WebSettings,
        cloud: CloudSettings,
    ) -> Self {
        let cache = &context.cache;
        let db = &context.db;
        Self {
            inner: Arc::new(Inner {
                instance,
                leases: Leases::for_deployment(cache, db),
                runtime: std::sync::OnceLock::new(),
                db: db.clone(),
                meter: Meter::for_cache(cache),
                cache: cache.clone(),
                live: context.live.clone(),
                base_url: context
                    .config
                    .app_base_url
                    .as_str()
                    .trim_end_matches('/')
                    .to_owned(),
                encryption_key: context.encryption_key.clone(),
                web,
                graph: cloud.graph,
                media: cloud.media,
                sandbox: SandboxHub::default(),
                tasks: Mutex::new(HashMap::new()),
                commands: Mutex::new(HashMap::new()),
                outbox_nudges: Mutex::new(HashMap::new()),
                delivery_nudges: Mutex::new(HashMap::new()),
                cloud_processing: Arc::new(tokio::sync::Semaphore::new(CLOUD_DELIVERIES_AT_ONCE)),
            }),
        }
    }

    /// The handles the pipeline works with, as this supervisor's bots use them.
    pub fn engine(&self) -> Engine<'_> {
        let inner = &self.inner;
        Engine {
            db: &inner.db,
            meter: &inner.meter,
            live: &inner.live,
            base_url: &inner.base_url,
        }
    }

    /// How the bots' usage is counted.
    pub fn meter(&self) -> &Meter {
        &self.inner.meter
    }

    /// This process's name as a lease holder.
    pub fn instance(&self) -> &str {
        self.inner.instance.name()
    }

    /// The Graph API client Cloud API bots use.
    pub fn graph(&self) -> &GraphClient {
        &self.inner.graph
    }

    /// Where media files are kept.
    pub fn media_store(&self) -> &MediaStore {
        &self.inner.media
    }

    /// The sandbox's phone-to-bot routes.
    pub fn sandbox(&self) -> &SandboxHub {
        &self.inner.sandbox
    }

    /// How many bot tasks are running.
    pub fn running_count(&self) -> usize {
        self.inner
            .tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    /// Whether `bot_id` has a running task.
    pub fn is_running(&self, bot_id: &BotId) -> bool {
        self.inner
            .tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(bot_id)
            .is_some_and(|t| !t.handle.is_finished())
    }

    /// Start every paired bot (at boot), on the calling runtime.
    pub async fn start_all(&self) -> Result<usize, crate::db::DbError> {
        let _ = self.inner.runtime.set(tokio::runtime::Handle::current());
        let bots = self
            .inner
            .db
            .run_in(
                RowScope::across_tenants("at boot every workspace's paired bots start"),
                model::runnable_in,
            )
            .await?;
        for bot in &bots {
            self.ensure_running(&bot.id);
        }
        Ok(bots.len())
    }

    /// Start the bot's task unless it runs already (pairing an unpaired bot starts it too).
    pub fn ensure_running(&self, bot_id: &BotId) {
        let mut tasks = self.inner.tasks.lock().unwrap_or_else(|e| e.into_inner());
        if tasks.get(bot_id).is_some_and(|t| !t.handle.is_finished()) {
            return;
        }
        let cancel = CancellationToken::new();
        let task = supervise(self.clone(), bot_id.to_owned(), cancel.clone());
        let handle = match self.inner.runtime.get() {
            Some(runtime) => runtime.spawn(task),
            None => tokio::spawn(task),
        };
        tasks.insert(bot_id.to_owned(), RunningBot { cancel, handle });
    }

    /// Stop the bot's task and wait for it.
    pub async fn stop(&self, bot_id: &BotId) {
        let running = self
            .inner
            .tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(bot_id);
        if let Some(running) = running {
            running.cancel.cancel();
            let _ = running.handle.await;
        }
    }

    /// Carry out what another domain decided about bots (a plan change pauses some and
    /// resumes others, a suspension stops them all): stop `stop`, then start `start`.
    pub async fn apply(&self, stop: &[BotId], start: &[BotId]) {
        for bot_id in stop {
            self.stop(bot_id).await;
        }
        for bot_id in start {
            self.ensure_running(bot_id);
        }
    }

    /// Stop the bots a plan change paused and start the paired ones it resumed.
    pub async fn apply_plan_changes(&self, changes: &BotChanges) {
        self.apply(&changes.paused, &changes.to_start).await;
    }

    /// Store and route a message for a bot whose task is not up yet, exactly as the task
    /// would: the reply waits in the outbox, which the task sends as soon as it runs. False
    /// when the bot does not run at all (deleted, or paused by its plan).
    pub async fn accept_while_starting(
        &self,
        bot_id: &BotId,
        message: InboundMessage,
    ) -> Result<bool, crate::db::DbError> {
        let inner = &self.inner;
        let Some(bot) = model::find_for_runtime(&inner.db, bot_id).await? else {
            return Ok(false);
        };
        pipeline::handle_inbound(self.engine(), &bot, message).await?;
        self.ensure_running(bot_id);
        self.nudge_outbox(bot_id);
        Ok(true)
    }

    /// Unlink the bot from its phone (when it runs here) and stop its task.
    pub async fn logout_and_stop(&self, bot_id: &BotId) {
        if let Some(commands) = self.command_channel(bot_id) {
            let _ = commands.send(BotCommand::Logout).await;
        }
        self.stop(bot_id).await;
    }

    /// Ask the running bot for a code to link by phone number.
    pub async fn request_pair_code(
        &self,
        bot_id: &BotId,
        phone_number: &str,
    ) -> Result<String, PairCodeError> {
        let commands = self
            .command_channel(bot_id)
            .ok_or(PairCodeError::NotRunningHere)?;
        let (reply, answer) = oneshot::channel();
        let command = BotCommand::PairCode {
            phone_number: phone_number.to_owned(),
            reply,
        };
        commands
            .send(command)
            .await
            .map_err(|_| PairCodeError::NotRunningHere)?;
        answer
            .await
            .map_err(|_| PairCodeError::NotRunningHere)?
            .map_err(PairCodeError::Refused)
    }

    /// The code to type on the phone, while one is valid, and how long it stays valid.
    pub async fn current_pair_code(&self, bot_id: &BotId) -> Option<(String, Duration)> {
        self.cached_with_ttl(&pair_code_key(bot_id)).await
    }

    fn command_channel(&self, bot_id: &BotId) -> Option<mpsc::Sender<BotCommand>> {
        self.inner
            .commands
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(bot_id)
            .cloned()
    }

    /// Stop every task, giving them `grace` in all to flush their outboxes.
    pub async fn shutdown(&self, grace: Duration) {
        let running: Vec<RunningBot> = self
            .inner
            .tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
            .map(|(_, r)| r)
            .collect();
        for bot in &running {
            bot.cancel.cancel();
        }
        let all = futures_join_all(running.into_iter().map(|r| r.handle));
        if tokio::time::timeout(grace, all).await.is_err() {
            tracing::warn!("some bots did not stop within the grace period");
        }
    }

    /// Wake the bot's task to send its outbox now.
    pub fn nudge_outbox(&self, bot_id: &BotId) {
        self.nudge(bot_id).notify_one();
    }

    fn nudge(&self, bot_id: &BotId) -> Arc<Notify> {
        nudge_of(&self.inner.outbox_nudges, bot_id)
    }

    /// Wake a Cloud API bot to read the webhook deliveries just stored for it.
    pub fn nudge_deliveries(&self, bot_id: &BotId) {
        nudge_of(&self.inner.delivery_nudges, bot_id).notify_one();
    }

    /// The QR payload the bot shows now, if pairing, and how long until it is replaced.
    pub async fn current_qr(&self, bot_id: &BotId) -> Option<(String, Duration)> {
        self.cached_with_ttl(&qr_key(bot_id)).await
    }

    async fn cached_with_ttl(&self, key: &str) -> Option<(String, Duration)> {
        let value = self.inner.cache.get(key).await.ok().flatten()?;
        let left = self
            .inner
            .cache
            .ttl(key)
            .await
            .ok()
            .flatten()
            .unwrap_or_default();
        Some((value, left))
    }
}

fn nudge_of(nudges: &Mutex<HashMap<BotId, Arc<Notify>>>, bot_id: &BotId) -> Arc<Notify> {
    nudges
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(bot_id.to_owned())
        .or_default()
        .clone()
}

async fn futures_join_all(handles: impl Iterator<Item = JoinHandle<()>>) {
    for handle in handles {
        let _ = handle.await;
    }
}

/// Exponential backoff with jitter: 1, 2, 4 … seconds up to a minute, ±25 %.
pub fn backoff(failures: u32) -> Duration {
    let base = Duration::from_secs(1u64 << failures.min(6)).min(MAX_BACKOFF);
    let jitter: f64 = rand::random::<f64>() * 0.5 + 0.75;
    base.mul_f64(jitter)
}

/// Why one run of a bot ended.
enum RunEnd {
    /// Told to stop, or the bot is gone or logged out: do not restart.
    Stop,
    /// Another instance holds the bot now: wait for the lease again.
    LeaseLost,
    /// Failed: restart after a backoff.
    Failed(String),
}

async fn supervise(supervisor: BotSupervisor, bot_id: BotId, cancel: CancellationToken) {
    // A bot this instance ran before it stopped (or crashed) does not answer until its
    // transport is up again, lease wait included: its status says so from now.
    mark_starting(&supervisor, &bot_id, Some(supervisor.instance())).await;
    let mut failures = 0u32;
    loop {
        if !wait_for_lease(&supervisor, &bot_id, &cancel).await {
            return;
        }
        set_running_on(&supervisor, &bot_id, Some(supervisor.instance())).await;
        let end = run_while_leased(&supervisor, &bot_id, &cancel).await;
        match end {
            RunEnd::Stop => {
                release(&supervisor, &bot_id).await;
                return;
            }
            RunEnd::LeaseLost => {
                tracing::warn!(bot_id = %bot_id, "lost the bot's lease to another instance");
                failures = 0;
            }
            RunEnd::Failed(reason) => {
                failures += 1;
                tracing::warn!(bot_id = %bot_id, failures, %reason, "bot task failed; restarting");
                crate::telemetry::metrics::bot_task_failed();
                crate::bots::failures::record_bot_failure(&supervisor.inner.db, &bot_id, &reason)
                    .await;
                set_status(&supervisor, &bot_id, BotStatus::Reconnecting, Some(&reason)).await;
                tokio::select! {
                    () = cancel.cancelled() => {
                        release(&supervisor, &bot_id).await;
                        return;
                    }
                    () = tokio::time::sleep(backoff(failures)) => {}
                }
            }
        }
    }
}

/// Wait until this instance holds the bot's lease; false when told to stop first.
async fn wait_for_lease(
    supervisor: &BotSupervisor,
    bot_id: &BotId,
    cancel: &CancellationToken,
) -> bool {
    loop {
        match supervisor
            .inner
            .leases
            .acquire(bot_id, supervisor.instance())
            .await
        {
            Ok(true) => return true,
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(bot_id = %bot_id, error = %e, "could not take the bot's lease")
            }
        }
        tokio::select! {
            () = cancel.cancelled() => return false,
            () = tokio::time::sleep(lease::RENEW_EVERY) => {}
        }
    }
}

/// Run the bot, renewing its lease; stop the run if the lease is lost.
async fn run_while_leased(
    supervisor: &BotSupervisor,
    bot_id: &BotId,
    cancel: &CancellationToken,
) -> RunEnd {
    let run_cancel = cancel.child_token();
    // The run is its own task so that a panic in it is caught here, not in the supervisor.
    let mut run = tokio::spawn(run_bot(
        supervisor.clone(),
        bot_id.to_owned(),
        run_cancel.clone(),
    ));
    let mut renew = tokio::time::interval(lease::RENEW_EVERY);
    renew.tick().await;
    loop {
        tokio::select! {
            result = &mut run => {
                return match result {
                    Ok(end) => end,
                    Err(e) => RunEnd::Failed(format!("bot task panicked: {e}")),
                };
            }
            _ = renew.tick() => {
                let kept = supervisor.inner.leases.acquire(bot_id, supervisor.instance()).await;
                if matches!(kept, Ok(false)) {
                    run_cancel.cancel();
                    let _ = run.await;
                    return RunEnd::LeaseLost;
                }
                if let Err(e) = kept {
                    // Keep running: the lease lasts a few renewals; a lasting failure lets it lapse.
                    tracing::warn!(bot_id = %bot_id, error = %e, "could not renew the bot's lease");
                }
            }
        }
    }
}

async fn release(supervisor: &BotSupervisor, bot_id: &BotId) {
    set_running_on(supervisor, bot_id, None).await;
    if let Err(e) = supervisor
        .inner
        .leases
        .release(bot_id, supervisor.instance())
        .await
    {
        tracing::warn!(bot_id = %bot_id, error = %e, "could not release the bot's lease");
    }
}

/// Write what the runtime learnt about a bot; a failure is logged, never raised (the bot runs
/// on, and the next event writes again).
async fn record<F>(supervisor: &BotSupervisor, bot_id: &BotId, what: &'static str, write: F)
where
    F: FnOnce(&mut crate::db::DbConn, &str) -> diesel::QueryResult<()> + Send + 'static,
{
    let id = bot_id.to_owned();
    let result = supervisor
        .inner
        .db
        .run_in(
            RowScope::across_tenants("the runtime records what it learnt about a bot"),
            move |conn| write(conn, &id),
        )
        .await;
    if let Err(e) = result {
        tracing::error!(bot_id = %bot_id, error = %e, "could not record {what}");
    }
}

async fn mark_starting(supervisor: &BotSupervisor, bot_id: &BotId, last_run_by: Option<&str>) {
    let last_run_by = last_run_by.map(str::to_owned);
    record(supervisor, bot_id, "bot status", move |conn, id| {
        model::mark_starting_in(conn, id, last_run_by.as_deref())
    })
    .await;
}

async fn set_running_on(supervisor: &BotSupervisor, bot_id: &BotId, instance: Option<&str>) {
    let instance = instance.map(str::to_owned);
    record(supervisor, bot_id, "where the bot runs", move |conn, id| {
        model::set_running_on_in(conn, id, instance.as_deref())
    })
    .await;
}

async fn set_status(
    supervisor: &BotSupervisor,
    bot_id: &BotId,
    status: BotStatus,
    reason: Option<&str>,
) {
    let reason = reason.map(str::to_owned);
    record(supervisor, bot_id, "bot status", move |conn, id| {
        model::set_status_in(conn, id, status, reason.as_deref())
    })
    .await;
}

async fn run_bot(supervisor: BotSupervisor, bot_id: BotId, cancel: CancellationToken) -> RunEnd {
    let inner = &supervisor.inner;
    let mut bot = match model::find_for_runtime(&inner.db, &bot_id).await {
        Ok(Some(bot)) => bot,
        Ok(None) => return RunEnd::Stop,
        Err(e) => return RunEnd::Failed(e.to_string()),
    };
    // A suspended workspace's bots do not run, here or on any other instance.
    match crate::tenants::suspension::is_suspended(&inner.db, &bot.tenant_id).await {
        Ok(false) => {}
        Ok(true) => return RunEnd::Stop,
        Err(e) => return RunEnd::Failed(e.to_string()),
    }
    // Until the transport says it is connected, the bot does not answer: the page says so
    // (after a crash, or a takeover from an instance that died, it still reads "connected").
    if bot.status == BotStatus::Connected {
        mark_starting(&supervisor, &bot.id, None).await;
        bot.status = BotStatus::Reconnecting;
    }
    let (events_tx, mut events) = mpsc::channel(256);
    let transport = match bot.transport {
        TransportKind::Sandbox => Transport::Sandbox(SandboxTransport::connect(
            &bot.id,
            bot.is_paired(),
            &inner.base_url,
            inner.sandbox.clone(),
            inner.cache.clone(),
            events_tx,
        )),
        TransportKind::WhatsappWeb => {
            let store = SessionStore::new(
                inner.db.clone(),
                inner.encryption_key.clone(),
                &bot.tenant_id,
                &bot.id,
            );
            match WebTransport::connect(store, &inner.web, events_tx).await {
                Ok(web) => Transport::WhatsappWeb(web),
                Err(reason) => return RunEnd::Failed(reason),
            }
        }
        // Meta refused its token (or its secrets could not be read): it stays in `error`, its
        // outbox and deliveries kept, until the business connects the number again.
        TransportKind::Cloud if bot.status == BotStatus::Error => return RunEnd::Stop,
        TransportKind::Cloud => {
            match connection::for_runtime(&inner.db, &inner.encryption_key, &bot.id).await {
                Ok(Some(Ok(open))) => Transport::Cloud(CloudTransport::connect(
                    inner.db.clone(),
                    inner.graph.clone(),
                    open,
                    events_tx,
                    nudge_of(&inner.delivery_nudges, &bot.id),
                    inner.media.clone(),
                    inner.cloud_processing.clone(),
                )),
                // Nothing to run until the business connects the number (again).
                Ok(None) => return RunEnd::Stop,
                Ok(Some(Err(unreadable))) => {
                    let reason = unreadable.to_string();
                    set_status(&supervisor, &bot.id, BotStatus::Error, Some(&reason)).await;
                    return RunEnd::Stop;
                }
                Err(e) => return RunEnd::Failed(e.to_string()),
            }
        }
    };
    let (commands_tx, mut commands) = mpsc::channel(8);
    inner
        .commands
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(bot.id.clone(), commands_tx);
    let end = run_transport(
        &supervisor,
        &mut bot,
        &transport,
        &mut events,
        &mut commands,
        &cancel,
    )
    .await;
    inner
        .commands
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&bot.id);
    end
}

/// Drive a connected transport until the run ends.
async fn run_transport(
    supervisor: &BotSupervisor,
    bot: &mut Bot,
    transport: &Transport,
    events: &mut mpsc::Receiver<TransportEvent>,
    commands: &mut mpsc::Receiver<BotCommand>,
    cancel: &CancellationToken,
) -> RunEnd {
    let nudge = supervisor.nudge(&bot.id);
    // No polling: the outbox is looked at when nudged, at start, and when a retry comes due.
    let mut next_retry = Some(tokio::time::Instant::now());
    // The provider asked the whole number to slow down: nothing is sent before then, even a
    // reply queued meanwhile.
    let mut paused = Pause::default();
    loop {
        tokio::select! {
            () = cancel.cancelled() => {
                // Shutting down: send what is queued before letting go.
                let _ = flush_outbox(supervisor, bot, transport, &mut paused).await;
                transport.close().await;
                break RunEnd::Stop;
            }
            event = events.recv() => {
                let Some(event) = event else {
                    transport.close().await;
                    break RunEnd::Failed("transport closed".into());
                };
                match handle_event(supervisor, bot, transport, event).await {
                    Ok(true) => {}
                    Ok(false) => {
                        transport.close().await;
                        break RunEnd::Stop;
                    }
                    Err(reason) => {
                        transport.close().await;
                        break RunEnd::Failed(reason);
                    }
                }
            }
            Some(command) = commands.recv() => match command {
                BotCommand::Logout => {
                    transport.logout().await;
                    break RunEnd::Stop;
                }
                BotCommand::PairCode { phone_number, reply } => {
                    let _ = reply.send(transport.request_pair_code(&phone_number).await);
                }
            },
            () = nudge.notified() => match flush_outbox(supervisor, bot, transport, &mut paused).await {
                Ok(next) => next_retry = next,
                Err(refused) => break stop_for_credentials(supervisor, bot, transport, &refused).await,
            },
            () = sleep_until(next_retry) => match flush_outbox(supervisor, bot, transport, &mut paused).await {
                Ok(next) => next_retry = next,
                Err(refused) => break stop_for_credentials(supervisor, bot, transport, &refused).await,
            },
        }
    }
}

/// The provider refused the bot's credentials: the bot shows `error` with the reason and
/// stops sending (its outbox waits) until the business connects it again.
async fn stop_for_credentials(
    supervisor: &BotSupervisor,
    bot: &mut Bot,
    transport: &Transport,
    reason: &str,
) -> RunEnd {
    tracing::warn!(bot_id = %bot.id, %reason, "the provider refused the bot's credentials");
    let shown = format!(
        "Meta refused the access token ({reason}). Sending is paused: connect the number again with a valid token."
    );
    set_status(supervisor, &bot.id, BotStatus::Error, Some(&shown)).await;
    bot.status = BotStatus::Error;
    transport.close().await;
    RunEnd::Stop
}

/// Act on one transport event; `Ok(false)` ends the bot's run for good.
async fn handle_event(
    supervisor: &BotSupervisor,
    bot: &mut Bot,
    transport: &Transport,
    event: TransportEvent,
) -> Result<bool, String> {
    let inner = &supervisor.inner;
    match event {
        TransportEvent::Qr { payload, valid_for } => {
            let stored = inner
                .cache
                .set(&qr_key(&bot.id), &payload, Some(valid_for))
                .await;
            if let Err(e) = stored {
                tracing::warn!(bot_id = %bot.id, error = %e, "could not store the QR code");
            }
            if bot.status() != BotStatus::Pairing {
                set_status(supervisor, &bot.id, BotStatus::Pairing, None).await;
                bot.status = BotStatus::Pairing;
            }
        }
        TransportEvent::PairCode { code, valid_for } => {
            let stored = inner
                .cache
                .set(&pair_code_key(&bot.id), &code, Some(valid_for))
                .await;
            if let Err(e) = stored {
                tracing::warn!(bot_id = %bot.id, error = %e, "could not store the pair code");
            }
        }
        TransportEvent::Paired { owner_number } => {
            let (id, owner) = (bot.id.clone(), owner_number.clone());
            inner
                .db
                .run_in(
                    RowScope::across_tenants("the runtime stores a pairing for the bot it runs"),
                    move |conn| model::set_owner_in(conn, &id, &owner),
                )
                .await
                .map_err(|e| e.to_string())?;
            let _ = inner.cache.delete(&qr_key(&bot.id)).await;
            let _ = inner.cache.delete(&pair_code_key(&bot.id)).await;
            transport.paired();
            bot.owner_number = Some(owner_number);
            bot.status = BotStatus::Connected;
            tracing::info!(bot_id = %bot.id, "bot paired");
        }
        TransportEvent::Connected => {
            set_status(supervisor, &bot.id, BotStatus::Connected, None).await;
            bot.status = BotStatus::Connected;
        }
        TransportEvent::Message(message) => store_message(supervisor, bot, message).await?,
        TransportEvent::MessageToStore { message, stored } => {
            let result = store_message(supervisor, bot, message).await;
            // Not acknowledged on failure: WhatsApp delivers it again after the restart.
            stored.send(result.is_ok());
            result?;
        }
        TransportEvent::Batch { events, done } => {
            for event in events {
                let handled = match event {
                    // A stored delivery is read again if a receipt in it could not be written
                    // (receipts only move forward, so reading it twice is harmless).
                    TransportEvent::Receipt {
                        message_id,
                        delivery,
                        recipient_user_id,
                    } => pipeline::record_receipt(
                        &inner.db,
                        &inner.live,
                        bot,
                        &message_id,
                        delivery,
                        recipient_user_id,
                    )
                    .await
                    .map(|()| true)
                    .map_err(|e| format!("could not record a receipt: {e}")),
                    event => Box::pin(handle_event(supervisor, bot, transport, event)).await,
                };
                match handled {
                    Ok(true) => {}
                    other => {
                        // The delivery stays stored and is read again after the restart.
                        done.send(false);
                        return other;
                    }
                }
            }
            done.send(true);
        }
        TransportEvent::ProviderError { code, detail } => {
            tracing::warn!(bot_id = %bot.id, ?code, %detail, "the provider reported an error");
            crate::bots::failures::record(
                &inner.db,
                crate::bots::failures::ErrorKind::ProviderError,
                Some(bot.tenant_id.to_string()),
                Some(bot.id.to_string()),
                format!("Meta reported error {}: {detail}", code.unwrap_or_default()),
            )
            .await;
        }
        TransportEvent::Receipt {
            message_id,
            delivery,
            recipient_user_id,
        } => {
            let recorded = pipeline::record_receipt(
                &inner.db,
                &inner.live,
                bot,
                &message_id,
                delivery,
                recipient_user_id,
            )
            .await;
            if let Err(e) = recorded {
                tracing::warn!(bot_id = %bot.id, error = %e, "could not record a receipt");
            }
        }
        TransportEvent::Disconnected { reason } => {
            return Err(reason);
        }
        TransportEvent::Reconnecting { reason } => {
            if bot.status() == BotStatus::Connected {
                set_status(supervisor, &bot.id, BotStatus::Reconnecting, Some(&reason)).await;
                bot.status = BotStatus::Reconnecting;
            }
        }
        TransportEvent::LoggedOut => {
            transport.forget_session().await;
            record(supervisor, &bot.id, "the cleared owner", |conn, id| {
                model::clear_owner_in(conn, id)
            })
            .await;
            set_status(
                supervisor,
                &bot.id,
                BotStatus::LoggedOut,
                Some("the phone removed this linked device"),
            )
            .await;
            return Ok(false);
        }
    }
    Ok(true)
}

/// Take an inbound message through the pipeline; an error means it was not stored (and the
/// run ends, so that it is delivered again).
async fn store_message(
    supervisor: &BotSupervisor,
    bot: &Bot,
    message: InboundMessage,
) -> Result<(), String> {
    match pipeline::handle_inbound(supervisor.engine(), bot, message).await {
        Ok(Outcome::Replied(_)) => {
            supervisor.nudge_outbox(&bot.id);
            Ok(())
        }
        Ok(Outcome::Stored | Outcome::Duplicate) => Ok(()),
        Err(e) => Err(format!("could not store an inbound message: {e}")),
    }
}

/// Wait until `deadline`, or forever without one.
async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Until when the provider asked the bot to stop sending: from the whole number, or to one
/// recipient. Kept across flushes, so a reply queued meanwhile waits too.
#[derive(Debug, Default)]
struct Pause {
    number: Option<tokio::time::Instant>,
    recipients: HashMap<String, tokio::time::Instant>,
}

/// Send every due outbox entry of the bot; returns when the next retry comes due, if any, or
/// `Err` with the reason when the provider refused the bot's credentials.
async fn flush_outbox(
    supervisor: &BotSupervisor,
    bot: &Bot,
    transport: &Transport,
    paused: &mut Pause,
) -> Result<Option<tokio::time::Instant>, String> {
    let now = tokio::time::Instant::now();
    if let Some(until) = paused.number {
        if until > now {
            return Ok(Some(until));
        }
        paused.number = None;
    }
    paused.recipients.retain(|_, until| *until > now);
    let (db, live) = (&supervisor.inner.db, &supervisor.inner.live);
    let entries = match outbox::due(db, &bot.tenant_id, &bot.id, 50).await {
        Ok(entries) => entries,
        Err(e) => {
            tracing::warn!(bot_id = %bot.id, error = %e, "could not read the outbox");
            return Ok(Some(tokio::time::Instant::now() + OUTBOX_READ_RETRY));
        }
    };
    let full_batch = entries.len() == 50;
    for entry in entries {
        // A recipient the provider asked us to leave alone for a while.
        if let Some(until) = paused.recipients.get(&entry.to_number) {
            let after = until.saturating_duration_since(tokio::time::Instant::now());
            if let Err(e) = outbox::wait(db, &entry, "waiting for this recipient", after).await {
                tracing::error!(bot_id = %bot.id, error = %e, "could not update the outbox");
            }
            continue;
        }
        let result = match transport.send(&entry.outgoing()).await {
            Ok(wa_id) => outbox::mark_sent(db, live, &entry, &wa_id).await,
            Err(failure) => match failure.action {
                SendAction::Retry => outbox::mark_failed(db, live, &entry, &failure.reason).await,
                SendAction::Wait {
                    after,
                    whole_number: true,
                } => {
                    // The whole number must slow down: nothing more now, this entry first later.
                    if let Err(e) = outbox::wait(db, &entry, &failure.reason, after).await {
                        tracing::error!(bot_id = %bot.id, error = %e, "could not update the outbox");
                    }
                    let until = tokio::time::Instant::now() + after;
                    paused.number = Some(until);
                    return Ok(Some(until));
                }
                SendAction::Wait { after, .. } => {
                    paused
                        .recipients
                        .insert(entry.to_number.clone(), tokio::time::Instant::now() + after);
                    outbox::wait(db, &entry, &failure.reason, after).await
                }
                SendAction::GiveUp { code, title } => {
                    tracing::warn!(bot_id = %bot.id, reason = %failure.reason, "a message was refused for good");
                    outbox::give_up(db, live, &entry, code, &title).await
                }
                SendAction::StopBot => return Err(failure.reason),
            },
        };
        if let Err(e) = result {
            tracing::error!(bot_id = %bot.id, error = %e, "could not update the outbox");
        }
    }
    if full_batch {
        // More may be due right away.
        return Ok(Some(tokio::time::Instant::now()));
    }
    match outbox::next_retry_in(db, &bot.tenant_id, &bot.id).await {
        Ok(wait) => Ok(wait.map(|wait| tokio::time::Instant::now() + wait)),
        Err(e) => {
            tracing::warn!(bot_id = %bot.id, error = %e, "could not read the outbox");
            Ok(Some(tokio::time::Instant::now() + OUTBOX_READ_RETRY))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_a_minute_with_jitter() {
        for _ in 0..50 {
            let first = backoff(1);
            assert!(first >= Duration::from_millis(1500) && first <= Duration::from_millis(2500));
            let late = backoff(20);
            assert!(late >= Duration::from_secs(45) && late <= Duration::from_secs(75));
        }
    }
}
