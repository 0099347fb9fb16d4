//! Prometheus text exposition rendered from stats snapshots, and optional
//! emission through the `metrics` facade (feature `metrics`).

use std::fmt::Write as _;
use std::sync::Arc;

use crate::breaker::{BreakerState, BreakerStats, CircuitBreaker, LATENCY_BUCKETS};
use crate::bulkhead::{Bulkhead, BulkheadStats};
use crate::pool::{Manager, Pool, PoolStats, WAIT_BUCKETS};
use crate::rate_limit::{RateLimiter, RateLimiterStats};
use crate::retry::{Retry, RetryStats};

/// Stats of every registered primitive at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricsSnapshot {
    /// Circuit breakers.
    pub breakers: Vec<BreakerStats>,
    /// Retry policies.
    pub retries: Vec<RetryStats>,
    /// Pools.
    pub pools: Vec<PoolStats>,
    /// Rate limiters.
    pub limiters: Vec<RateLimiterStats>,
    /// Bulkheads.
    pub bulkheads: Vec<BulkheadStats>,
}

type PoolSource = Box<dyn Fn() -> PoolStats + Send + Sync>;

/// Writes whole metric families (`# HELP`, `# TYPE`, samples) in the
/// Prometheus text format; see [`MetricsRegistry::register_collector`].
type Collector = Box<dyn Fn(&mut String) + Send + Sync>;

/// Holds handles to primitives and renders their metrics.
#[derive(Default)]
pub struct MetricsRegistry {
    breakers: parking_lot::RwLock<Vec<CircuitBreaker>>,
    retries: parking_lot::RwLock<Vec<Retry>>,
    pools: parking_lot::RwLock<Vec<PoolSource>>,
    limiters: parking_lot::RwLock<Vec<Arc<RateLimiter>>>,
    bulkheads: parking_lot::RwLock<Vec<Bulkhead>>,
    collectors: parking_lot::RwLock<Vec<Collector>>,
}

impl std::fmt::Debug for MetricsRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsRegistry")
            .field("breakers", &self.breakers.read().len())
            .field("retries", &self.retries.read().len())
            .field("pools", &self.pools.read().len())
            .field("limiters", &self.limiters.read().len())
            .field("bulkheads", &self.bulkheads.read().len())
            .field("collectors", &self.collectors.read().len())
            .finish()
    }
}

impl MetricsRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a breaker.
    pub fn register_breaker(&self, breaker: &CircuitBreaker) {
        self.breakers.write().push(breaker.clone());
    }

    /// Adds a retry policy.
    pub fn register_retry(&self, retry: &Retry) {
        self.retries.write().push(retry.clone());
    }

    /// Adds a pool.
    pub fn register_pool<M: Manager>(&self, pool: &Pool<M>) {
        let pool = pool.clone();
        self.pools.write().push(Box::new(move || pool.stats()));
    }

    /// Adds a rate limiter.
    pub fn register_limiter(&self, limiter: Arc<RateLimiter>) {
        self.limiters.write().push(limiter);
    }

    /// Adds a bulkhead.
    pub fn register_bulkhead(&self, bulkhead: &Bulkhead) {
        self.bulkheads.write().push(bulkhead.clone());
    }

    /// Adds a collector: a function that appends whole metric families of
    /// its own (`# HELP`, `# TYPE` and samples, Prometheus text) to every
    /// [`render_prometheus`](Self::render_prometheus), after the
    /// registry's. A library with its own counters (a session manager, a
    /// cache) joins the one `/metrics` page this way. It runs on every
    /// scrape, so it should be quick and must not call back into the
    /// registry.
    pub fn register_collector(&self, collect: impl Fn(&mut String) + Send + Sync + 'static) {
        self.collectors.write().push(Box::new(collect));
    }

    /// Adds the process's own figures (CPU time, resident memory, open and
    /// maximum file descriptors, threads, uptime) under the standard
    /// `process_*` names, sampled on every render.
    pub fn register_process(&self) {
        self.register_collector(|out| {
            crate::process::render_process(&crate::process::ProcessStats::sample(), out);
        });
    }

    /// Everything registered (collectors included) as one JSON document:
    /// `{"timestamp_ms", "samples": [{"name", "labels", "value"}]}`.
    pub fn render_json(&self) -> String {
        crate::process::to_json(&self.render_prometheus())
    }

    /// Stats of everything registered.
    pub fn snapshot(&self) -> MetricsSnapshot {
        MetricsSnapshot {
            breakers: self
                .breakers
                .read()
                .iter()
                .map(CircuitBreaker::stats)
                .collect(),
            retries: self.retries.read().iter().map(Retry::stats).collect(),
            pools: self.pools.read().iter().map(|f| f()).collect(),
            limiters: self.limiters.read().iter().map(|l| l.stats()).collect(),
            bulkheads: self.bulkheads.read().iter().map(Bulkhead::stats).collect(),
        }
    }

    /// Prometheus text exposition of everything registered.
    pub fn render_prometheus(&self) -> String {
        let mut out = String::with_capacity(4096);
        render_prometheus(&self.snapshot(), &mut out);
        for collect in self.collectors.read().iter() {
            collect(&mut out);
        }
        out
    }
}

/// Writes `value` as a Prometheus label value (escaping `\`, `"`, newline).
fn label(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// One sample line: `name{name="…"[,key="…"]} value`.
fn sample(
    out: &mut String,
    metric: &str,
    name: &str,
    extra: Option<(&str, &str)>,
    value: impl std::fmt::Display,
) {
    out.push_str(metric);
    out.push_str("{name=\"");
    label(out, name);
    out.push('"');
    if let Some((k, v)) = extra {
        let _ = write!(out, ",{k}=\"");
        label(out, v);
        out.push('"');
    }
    let _ = writeln!(out, "}} {value}");
}

/// Renders `snapshot` in the Prometheus text format (version 0.0.4).
pub fn render_prometheus(snapshot: &MetricsSnapshot, out: &mut String) {
    render_breakers(&snapshot.breakers, out);
    render_retries(&snapshot.retries, out);
    render_pools(&snapshot.pools, out);
    render_limiters(&snapshot.limiters, out);
    render_bulkheads(&snapshot.bulkheads, out);
}

fn render_breakers(all: &[BreakerStats], out: &mut String) {
    if all.is_empty() {
        return;
    }
    let m = "ballast_breaker_state";
    header(
        out,
        m,
        "gauge",
        "1 for the breaker's current state, 0 for the others.",
    );
    for b in all {
        for s in BreakerState::all() {
            sample(
                out,
                m,
                &b.name,
                Some(("state", s.as_str())),
                u8::from(b.state == s),
            );
        }
    }
    let m = "ballast_breaker_calls_total";
    header(out, m, "counter", "Calls by outcome.");
    for b in all {
        let outcomes = [
            ("success", b.successes_total()),
            ("failure", b.failures_total),
            ("ignored", b.ignored_total),
            ("rejected", b.rejected_total),
        ];
        for (outcome, v) in outcomes {
            sample(out, m, &b.name, Some(("outcome", outcome)), v);
        }
    }
    let m = "ballast_breaker_slow_calls_total";
    header(
        out,
        m,
        "counter",
        "Calls slower than the slow-call threshold.",
    );
    for b in all {
        sample(out, m, &b.name, None, b.slow_calls_total);
    }
    let m = "ballast_breaker_opens_total";
    header(out, m, "counter", "Times the breaker opened.");
    for b in all {
        sample(out, m, &b.name, None, b.opens_total);
    }
    render_breaker_latency(all, out);
    let m = "ballast_breaker_failure_rate";
    header(
        out,
        m,
        "gauge",
        "Failure rate in the window, percent (-1 below minimum calls).",
    );
    for b in all {
        sample(out, m, &b.name, None, b.failure_rate.unwrap_or(-1.0));
    }
}

fn render_breaker_latency(all: &[BreakerStats], out: &mut String) {
    if !all.iter().any(|b| b.latency_enabled) {
        return;
    }
    let m = "ballast_breaker_call_duration_seconds";
    header(
        out,
        m,
        "histogram",
        "Duration of recorded calls (breakers with record_latency).",
    );
    for b in all.iter().filter(|b| b.latency_enabled) {
        let mut cumulative = 0;
        for (bound, count) in LATENCY_BUCKETS.iter().zip(&b.latency_histogram) {
            cumulative += count;
            let le = bound.as_secs_f64().to_string();
            sample(
                out,
                "ballast_breaker_call_duration_seconds_bucket",
                &b.name,
                Some(("le", &le)),
                cumulative,
            );
        }
        cumulative += b.latency_histogram[LATENCY_BUCKETS.len()];
        sample(
            out,
            "ballast_breaker_call_duration_seconds_bucket",
            &b.name,
            Some(("le", "+Inf")),
            cumulative,
        );
        sample(
            out,
            "ballast_breaker_call_duration_seconds_sum",
            &b.name,
            None,
            b.latency_total.as_secs_f64(),
        );
        sample(
            out,
            "ballast_breaker_call_duration_seconds_count",
            &b.name,
            None,
            cumulative,
        );
    }
}

fn render_retries(all: &[RetryStats], out: &mut String) {
    if all.is_empty() {
        return;
    }
    header(
        out,
        "ballast_retry_calls_total",
        "counter",
        "Calls by how they ended.",
    );
    for r in all {
        let m = "ballast_retry_calls_total";
        sample(
            out,
            m,
            &r.name,
            Some(("outcome", "done_first_attempt")),
            r.done_first_attempt,
        );
        sample(
            out,
            m,
            &r.name,
            Some(("outcome", "done_after_retry")),
            r.done_after_retry,
        );
        sample(
            out,
            m,
            &r.name,
            Some(("outcome", "max_attempts")),
            r.stopped_max_attempts,
        );
        sample(
            out,
            m,
            &r.name,
            Some(("outcome", "max_elapsed")),
            r.stopped_max_elapsed,
        );
        sample(
            out,
            m,
            &r.name,
            Some(("outcome", "budget")),
            r.stopped_budget,
        );
        sample(
            out,
            m,
            &r.name,
            Some(("outcome", "retry_after_too_long")),
            r.stopped_retry_after,
        );
    }
    header(
        out,
        "ballast_retry_retries_total",
        "counter",
        "Retries made (attempts after the first).",
    );
    for r in all {
        sample(out, "ballast_retry_retries_total", &r.name, None, r.retries);
    }
}

fn render_pools(all: &[PoolStats], out: &mut String) {
    if all.is_empty() {
        return;
    }
    header(out, "ballast_pool_objects", "gauge", "Objects by state.");
    for p in all {
        sample(
            out,
            "ballast_pool_objects",
            &p.name,
            Some(("state", "in_use")),
            p.in_use,
        );
        sample(
            out,
            "ballast_pool_objects",
            &p.name,
            Some(("state", "idle")),
            p.idle,
        );
    }
    header(
        out,
        "ballast_pool_max_size",
        "gauge",
        "Configured maximum size.",
    );
    for p in all {
        sample(out, "ballast_pool_max_size", &p.name, None, p.max_size);
    }
    header(
        out,
        "ballast_pool_events_total",
        "counter",
        "Pool events by kind.",
    );
    for p in all {
        let m = "ballast_pool_events_total";
        for (kind, v) in [
            ("checkout", p.checkouts),
            ("wait", p.waits),
            ("timeout", p.timeouts),
            ("created", p.created),
            ("destroyed", p.destroyed),
            ("broken", p.broken),
            ("create_error", p.create_errors),
        ] {
            sample(out, m, &p.name, Some(("event", kind)), v);
        }
    }
    render_wait_histograms(all, out);
}

fn render_wait_histograms(all: &[PoolStats], out: &mut String) {
    header(
        out,
        "ballast_pool_wait_seconds",
        "histogram",
        "Time checkouts waited for an object.",
    );
    for p in all {
        let mut cumulative = 0;
        for (bound, count) in WAIT_BUCKETS.iter().zip(&p.wait_histogram) {
            cumulative += count;
            let le = format!("{}", bound.as_secs_f64());
            sample(
                out,
                "ballast_pool_wait_seconds_bucket",
                &p.name,
                Some(("le", &le)),
                cumulative,
            );
        }
        cumulative += p.wait_histogram[WAIT_BUCKETS.len()];
        sample(
            out,
            "ballast_pool_wait_seconds_bucket",
            &p.name,
            Some(("le", "+Inf")),
            cumulative,
        );
        sample(
            out,
            "ballast_pool_wait_seconds_sum",
            &p.name,
            None,
            p.wait_total.as_secs_f64(),
        );
        sample(
            out,
            "ballast_pool_wait_seconds_count",
            &p.name,
            None,
            cumulative,
        );
    }
}

fn render_limiters(all: &[RateLimiterStats], out: &mut String) {
    if all.is_empty() {
        return;
    }
    header(
        out,
        "ballast_rate_limiter_requests_total",
        "counter",
        "Requests by outcome.",
    );
    for l in all {
        let m = "ballast_rate_limiter_requests_total";
        sample(out, m, &l.name, Some(("outcome", "allowed")), l.allowed);
        sample(out, m, &l.name, Some(("outcome", "limited")), l.limited);
    }
}

fn render_bulkheads(all: &[BulkheadStats], out: &mut String) {
    if all.is_empty() {
        return;
    }
    header(
        out,
        "ballast_bulkhead_in_flight",
        "gauge",
        "Calls in flight.",
    );
    for b in all {
        sample(
            out,
            "ballast_bulkhead_in_flight",
            &b.name,
            None,
            b.in_flight,
        );
    }
    header(
        out,
        "ballast_bulkhead_max_concurrent",
        "gauge",
        "Configured concurrency limit.",
    );
    for b in all {
        sample(
            out,
            "ballast_bulkhead_max_concurrent",
            &b.name,
            None,
            b.max_concurrent,
        );
    }
    header(
        out,
        "ballast_bulkhead_calls_total",
        "counter",
        "Calls by outcome.",
    );
    for b in all {
        let m = "ballast_bulkhead_calls_total";
        sample(out, m, &b.name, Some(("outcome", "admitted")), b.admitted);
        sample(out, m, &b.name, Some(("outcome", "rejected")), b.rejected);
        sample(out, m, &b.name, Some(("outcome", "waited")), b.waited);
    }
}

/// Emits `snapshot` through the `metrics` facade (counters as absolute
/// values, gauges set), under the same names as the Prometheus rendering.
#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub fn emit_metrics(snapshot: &MetricsSnapshot) {
    for b in &snapshot.breakers {
        let name = b.name.clone();
        for s in BreakerState::all() {
            metrics::gauge!("ballast_breaker_state", "name" => name.clone(), "state" => s.as_str())
                .set(f64::from(u8::from(b.state == s)));
        }
        for (outcome, v) in [
            ("success", b.successes_total()),
            ("failure", b.failures_total),
            ("ignored", b.ignored_total),
            ("rejected", b.rejected_total),
        ] {
            metrics::counter!("ballast_breaker_calls_total", "name" => name.clone(), "outcome" => outcome).absolute(v);
        }
        metrics::counter!("ballast_breaker_opens_total", "name" => name).absolute(b.opens_total);
    }
    for r in &snapshot.retries {
        metrics::counter!("ballast_retry_retries_total", "name" => r.name.clone())
            .absolute(r.retries);
    }
    for p in &snapshot.pools {
        metrics::gauge!("ballast_pool_objects", "name" => p.name.clone(), "state" => "in_use")
            .set(p.in_use as f64);
        metrics::gauge!("ballast_pool_objects", "name" => p.name.clone(), "state" => "idle")
            .set(p.idle as f64);
        metrics::counter!("ballast_pool_events_total", "name" => p.name.clone(), "event" => "timeout").absolute(p.timeouts);
    }
    for l in &snapshot.limiters {
        metrics::counter!("ballast_rate_limiter_requests_total", "name" => l.name.clone(), "outcome" => "limited")
            .absolute(l.limited);
    }
    for b in &snapshot.bulkheads {
        metrics::gauge!("ballast_bulkhead_in_flight", "name" => b.name.clone())
            .set(b.in_flight as f64);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::breaker::BreakerConfig;

    #[test]
    fn renders_breaker_state_and_outcomes_in_prometheus_text() {
        let registry = MetricsRegistry::new();
        let b = CircuitBreaker::new(BreakerConfig {
            name: "inv\"entory".into(),
            ..BreakerConfig::default()
        })
        .unwrap();
        registry.register_breaker(&b);
        let _ = b.call(|| Ok::<_, ()>(()));
        let _ = b.call(|| Err::<(), _>(()));
        b.force_open();
        let _ = b.call(|| Ok::<_, ()>(()));
        let text = registry.render_prometheus();
        assert!(text.contains("# TYPE ballast_breaker_state gauge\n"));
        assert!(
            text.contains(
                "ballast_breaker_state{name=\"inv\\\"entory\",state=\"forced_open\"} 1\n"
            )
        );
        assert!(
            text.contains("ballast_breaker_state{name=\"inv\\\"entory\",state=\"closed\"} 0\n")
        );
        assert!(text.contains(
            "ballast_breaker_calls_total{name=\"inv\\\"entory\",outcome=\"success\"} 1\n"
        ));
        assert!(text.contains(
            "ballast_breaker_calls_total{name=\"inv\\\"entory\",outcome=\"failure\"} 1\n"
        ));
        assert!(text.contains(
            "ballast_breaker_calls_total{name=\"inv\\\"entory\",outcome=\"rejected\"} 1\n"
        ));
    }

    #[test]
    fn collectors_append_their_families_after_the_registrys_on_every_render() {
        let registry = MetricsRegistry::new();
        registry.register_breaker(&CircuitBreaker::new(BreakerConfig::default()).unwrap());
        let scrapes = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let seen = Arc::clone(&scrapes);
        registry.register_collector(move |out| {
            let n = seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            let _ = writeln!(out, "# HELP app_scrapes_total Renders seen.");
            let _ = writeln!(
                out,
                "# TYPE app_scrapes_total counter\napp_scrapes_total {n}"
            );
        });
        let first = registry.render_prometheus();
        let ours = first.find("# TYPE ballast_breaker_state").unwrap();
        let theirs = first.find("# TYPE app_scrapes_total counter").unwrap();
        assert!(ours < theirs, "the registry's families come first");
        assert!(first.ends_with("app_scrapes_total 1\n"), "{first}");
        assert!(
            registry
                .render_prometheus()
                .ends_with("app_scrapes_total 2\n")
        );
    }

    #[test]
    fn renders_breaker_latency_histogram_only_when_enabled() {
        let registry = MetricsRegistry::new();
        let plain = CircuitBreaker::new(BreakerConfig::default()).unwrap();
        registry.register_breaker(&plain);
        assert!(!registry.render_prometheus().contains("call_duration"));
        let config = BreakerConfig {
            name: "db".into(),
            record_latency: true,
            ..BreakerConfig::default()
        };
        let b = CircuitBreaker::new(config).unwrap();
        registry.register_breaker(&b);
        let _ = b.call(|| Ok::<_, ()>(()));
        let text = registry.render_prometheus();
        assert!(text.contains("# TYPE ballast_breaker_call_duration_seconds histogram\n"));
        assert!(
            text.contains(
                "ballast_breaker_call_duration_seconds_bucket{name=\"db\",le=\"+Inf\"} 1\n"
            )
        );
        assert!(text.contains("ballast_breaker_call_duration_seconds_count{name=\"db\"} 1\n"));
        assert!(!text.contains("call_duration_seconds_count{name=\"default\"}"));
    }

    #[test]
    fn pool_wait_histogram_is_cumulative_and_counts_match() {
        let mut stats = PoolStats {
            name: "db".into(),
            ..PoolStats::default()
        };
        stats.wait_histogram[0] = 2;
        stats.wait_histogram[3] = 1;
        stats.wait_histogram[WAIT_BUCKETS.len()] = 4;
        let mut out = String::new();
        render_prometheus(
            &MetricsSnapshot {
                pools: vec![stats],
                ..Default::default()
            },
            &mut out,
        );
        assert!(out.contains("ballast_pool_wait_seconds_bucket{name=\"db\",le=\"0.0001\"} 2\n"));
        assert!(out.contains("ballast_pool_wait_seconds_bucket{name=\"db\",le=\"0.01\"} 3\n"));
        assert!(out.contains("ballast_pool_wait_seconds_bucket{name=\"db\",le=\"+Inf\"} 7\n"));
        assert!(out.contains("ballast_pool_wait_seconds_count{name=\"db\"} 7\n"));
    }

    #[test]
    fn every_sample_line_is_well_formed() {
        let registry = MetricsRegistry::new();
        registry.register_breaker(&CircuitBreaker::new(BreakerConfig::default()).unwrap());
        registry.register_retry(&Retry::new(crate::retry::RetryConfig::default()).unwrap());
        let limiter =
            RateLimiter::new("api", crate::rate_limit::RateLimiterConfig::default()).unwrap();
        registry.register_limiter(Arc::new(limiter));
        let bulkhead =
            Bulkhead::new("io", crate::bulkhead::BulkheadConfig::default(), None).unwrap();
        registry.register_bulkhead(&bulkhead);
        for line in registry
            .render_prometheus()
            .lines()
            .filter(|l| !l.starts_with('#'))
        {
            let (series, value) = line.rsplit_once(' ').expect("sample has a value");
            assert!(
                series.starts_with("ballast_") && series.ends_with('}'),
                "{line}"
            );
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
    }
}

#[cfg(all(test, feature = "metrics", not(loom)))]
mod facade_tests {
    use std::collections::BTreeMap;

    use metrics::{
        Counter, CounterFn, Gauge, GaugeFn, Histogram, Key, KeyName, Metadata, Recorder,
        SharedString, Unit,
    };

    use super::*;
    use crate::breaker::BreakerConfig;

    type Store = Arc<parking_lot::Mutex<BTreeMap<String, f64>>>;

    /// Records the last value written to each series, keyed `name{k=v,…}`.
    #[derive(Default)]
    struct Capture(Store);

    struct Series {
        key: String,
        store: Store,
    }

    impl CounterFn for Series {
        fn increment(&self, value: u64) {
            *self.store.lock().entry(self.key.clone()).or_default() += value as f64;
        }
        fn absolute(&self, value: u64) {
            self.store.lock().insert(self.key.clone(), value as f64);
        }
    }

    impl GaugeFn for Series {
        fn increment(&self, value: f64) {
            *self.store.lock().entry(self.key.clone()).or_default() += value;
        }
        fn decrement(&self, value: f64) {
            *self.store.lock().entry(self.key.clone()).or_default() -= value;
        }
        fn set(&self, value: f64) {
            self.store.lock().insert(self.key.clone(), value);
        }
    }

    impl Capture {
        fn series(&self, key: &Key) -> Arc<Series> {
            let labels: Vec<String> = key
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect();
            Arc::new(Series {
                key: format!("{}{{{}}}", key.name(), labels.join(",")),
                store: Arc::clone(&self.0),
            })
        }
    }

    impl Recorder for Capture {
        fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
            Counter::from_arc(self.series(key))
        }
        fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
            Gauge::from_arc(self.series(key))
        }
        fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
            Histogram::noop()
        }
    }

    #[test]
    fn emit_metrics_sends_breaker_figures_through_the_facade() {
        let registry = MetricsRegistry::new();
        let b = CircuitBreaker::new(BreakerConfig {
            name: "db".into(),
            ..BreakerConfig::default()
        })
        .unwrap();
        registry.register_breaker(&b);
        let _ = b.call(|| Ok::<_, ()>(()));
        let _ = b.call(|| Err::<(), _>(()));
        let capture = Capture::default();
        let store = Arc::clone(&capture.0);
        metrics::with_local_recorder(&capture, || emit_metrics(&registry.snapshot()));
        let seen = store.lock();
        assert_eq!(
            seen.get("ballast_breaker_calls_total{name=db,outcome=success}"),
            Some(&1.0)
        );
        assert_eq!(
            seen.get("ballast_breaker_calls_total{name=db,outcome=failure}"),
            Some(&1.0)
        );
        assert_eq!(
            seen.get("ballast_breaker_state{name=db,state=closed}"),
            Some(&1.0)
        );
    }
}
