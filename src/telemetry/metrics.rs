//! Prometheus metrics: one registry for the process, counters that other modules move through
//! the functions below, and gauges read from the database when `/metrics` is scraped.
//!
//! Names follow Prometheus conventions (`whatsdex_` prefix, base units, `_total` counters).

use std::sync::LazyLock;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// An HTTP request, by route pattern (never the raw path: ids would explode the series).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DirectionLabel {
    direction: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabel {
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceLabel {
    source: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StripeLabels {
    event_type: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabel {
    operation: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabel {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
}

fn latency_histogram() -> Histogram {
    // 5 ms … about 10 s.
    Histogram::new(exponential_buckets(0.005, 2.0, 12))
}

struct Metrics {
    registry: Registry,
    http_requests: Family<HttpLabels, Counter>,
    http_duration: Family<HttpLabels, Histogram>,
    messages: Family<DirectionLabel, Counter>,
    pipeline_duration: Histogram,
    bots: Family<StatusLabel, Gauge>,
    bots_running: Gauge,
    bot_failures: Counter,
    webhook_failures: Family<SourceLabel, Counter>,
    stripe_events: Family<StripeLabels, Counter>,
    cache_errors: Family<OperationLabel, Counter>,
    db_pool: Family<PoolLabel, Gauge>,
    db_pool_max: Gauge,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let mut registry = Registry::with_prefix("whatsdex");
    let http_requests = Family::<HttpLabels, Counter>::default();
    registry.register(
        "http_requests",
        "HTTP requests answered, by route pattern and status",
        http_requests.clone(),
    );
    let http_duration =
        Family::<HttpLabels, Histogram>::new_with_constructor(latency_histogram as fn() -> _);
    registry.register(
        "http_request_duration_seconds",
        "Time to answer an HTTP request, by route pattern and status",
        http_duration.clone(),
    );
    let messages = Family::<DirectionLabel, Counter>::default();
    registry.register(
        "messages",
        "WhatsApp messages stored, by direction (in: received, out: sent)",
        messages.clone(),
    );
    let pipeline_duration = latency_histogram();
    registry.register(
        "pipeline_duration_seconds",
        "Time to take an inbound message through the pipeline (store, route, queue reply)",
        pipeline_duration.clone(),
    );
    let bots = Family::<StatusLabel, Gauge>::default();
    registry.register("bots", "Bots by status, platform-wide", bots.clone());
    let bots_running = Gauge::default();
    registry.register(
        "bots_running",
        "Bot tasks running in this process",
        bots_running.clone(),
    );
    let bot_failures = Counter::default();
    registry.register(
        "bot_task_failures",
        "Bot tasks that failed and were restarted",
        bot_failures.clone(),
    );
    let webhook_failures = Family::<SourceLabel, Counter>::default();
    registry.register(
        "webhook_verification_failures",
        "Webhooks refused for a missing or bad signature, by source",
        webhook_failures.clone(),
    );
    let stripe_events = Family::<StripeLabels, Counter>::default();
    registry.register(
        "stripe_events",
        "Stripe webhook events handled, by type and outcome",
        stripe_events.clone(),
    );
    let cache_errors = Family::<OperationLabel, Counter>::default();
    registry.register(
        "cache_errors",
        "Failed cache (Redis) operations, by operation",
        cache_errors.clone(),
    );
    let db_pool = Family::<PoolLabel, Gauge>::default();
    registry.register(
        "db_pool_connections",
        "Database pool connections, by state (idle, in_use)",
        db_pool.clone(),
    );
    let db_pool_max = Gauge::default();
    registry.register(
        "db_pool_max_connections",
        "Largest number of connections the database pool opens",
        db_pool_max.clone(),
    );
    let build = Family::<BuildLabels, Gauge>::default();
    build
        .get_or_create(&BuildLabels {
            version: env!("CARGO_PKG_VERSION"),
        })
        .set(1);
    registry.register("build_info", "The running build (always 1)", build);
    Metrics {
        registry,
        http_requests,
        http_duration,
        messages,
        pipeline_duration,
        bots,
        bots_running,
        bot_failures,
        webhook_failures,
        stripe_events,
        cache_errors,
        db_pool,
        db_pool_max,
    }
});

/// Count an answered HTTP request. `route` is the matched pattern, e.g. `/bots/{id}/pair`.
pub fn http_request(method: &str, route: &str, status: u16, took: Duration) {
    let labels = HttpLabels {
        method: method.to_owned(),
        route: route.to_owned(),
        status,
    };
    METRICS.http_requests.get_or_create(&labels).inc();
    METRICS
        .http_duration
        .get_or_create(&labels)
        .observe(took.as_secs_f64());
}

/// Count a message received (stored by the pipeline).
pub fn message_received() {
    METRICS
        .messages
        .get_or_create(&DirectionLabel { direction: "in" })
        .inc();
}

/// Count a message sent (marked sent in the outbox).
pub fn message_sent() {
    METRICS
        .messages
        .get_or_create(&DirectionLabel { direction: "out" })
        .inc();
}

/// Time one inbound message spent in the pipeline.
pub fn pipeline_took(took: Duration) {
    METRICS.pipeline_duration.observe(took.as_secs_f64());
}

/// A bot task failed and will be restarted.
pub fn bot_task_failed() {
    METRICS.bot_failures.inc();
}

/// A webhook from `source` (`stripe`, `meta`) was refused for its signature.
pub fn webhook_verification_failed(source: &str) {
    METRICS
        .webhook_failures
        .get_or_create(&SourceLabel {
            source: source.to_owned(),
        })
        .inc();
}

/// A Stripe event of `event_type` was handled with `outcome` (`applied`, `duplicate`,
/// `ignored`, `failed`).
pub fn stripe_event_handled(event_type: &str, outcome: &str) {
    METRICS
        .stripe_events
        .get_or_create(&StripeLabels {
            event_type: event_type.to_owned(),
            outcome: outcome.to_owned(),
        })
        .inc();
}

/// A cache (Redis) operation failed.
pub fn cache_error(operation: &'static str) {
    METRICS
        .cache_errors
        .get_or_create(&OperationLabel { operation })
        .inc();
}

/// What the scrape reads fresh: bots by status (platform-wide), bot tasks here, the pool.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Every status a bot can have: those no bot has read 0.
    pub bot_statuses: Vec<&'static str>,
    /// Bots by status, as counted.
    pub bots_by_status: Vec<(String, i64)>,
    pub bots_running: i64,
    pub pool_open: u32,
    pub pool_idle: u32,
    pub pool_max: u32,
}

/// The metrics in the OpenMetrics text format (which Prometheus reads), after setting the
/// gauges from `snapshot`.
pub fn render(snapshot: &Snapshot) -> Result<String, std::fmt::Error> {
    let metrics = &*METRICS;
    // Statuses that no bot has any more read 0, not their last value.
    metrics.bots.clear();
    for status in &snapshot.bot_statuses {
        metrics
            .bots
            .get_or_create(&StatusLabel {
                status: (*status).to_owned(),
            })
            .set(0);
    }
    for (status, count) in &snapshot.bots_by_status {
        metrics
            .bots
            .get_or_create(&StatusLabel {
                status: status.clone(),
            })
            .set(*count);
    }
    metrics.bots_running.set(snapshot.bots_running);
    let idle = i64::from(snapshot.pool_idle);
    let in_use = i64::from(snapshot.pool_open.saturating_sub(snapshot.pool_idle));
    metrics
        .db_pool
        .get_or_create(&PoolLabel { state: "idle" })
        .set(idle);
    metrics
        .db_pool
        .get_or_create(&PoolLabel { state: "in_use" })
        .set(in_use);
    metrics.db_pool_max.set(i64::from(snapshot.pool_max));
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &metrics.registry)?;
    Ok(text)
}

/// The content type of [`render`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_gauges_appear_in_the_text() {
        webhook_verification_failed("unit_test_source");
        let text = render(&Snapshot {
            bot_statuses: vec!["connected", "error"],
            bots_by_status: vec![("connected".into(), 3)],
            pool_open: 4,
            pool_idle: 1,
            pool_max: 10,
            ..Snapshot::default()
        })
        .unwrap();
        assert!(text.contains(
            "whatsdex_webhook_verification_failures_total{source=\"unit_test_source\"} 1"
        ));
        assert!(text.contains("whatsdex_bots{status=\"connected\"} 3"));
        assert!(text.contains("whatsdex_bots{status=\"error\"} 0"));
        assert!(text.contains("whatsdex_db_pool_connections{state=\"in_use\"} 3"));
        assert!(text.contains("whatsdex_build_info{version=\""));
        assert!(text.ends_with("# EOF\n"));
    }
}
