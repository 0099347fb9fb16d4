//! Health registry: components register checks; liveness and readiness
//! answers (200/503) and a detailed JSON report. Readiness turns false as
//! soon as shutdown begins, so load balancers stop sending work.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;

use crate::breaker::{BreakerState, CircuitBreaker};
use crate::pool::{Manager, Pool};

/// A component's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum HealthStatus {
    /// Working normally.
    Healthy,
    /// Working, but impaired (still ready).
    Degraded,
    /// Not working.
    Unhealthy,
}

/// What a check returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Health {
    /// The status.
    pub status: HealthStatus,
    /// Free text for operators (no secrets).
    pub details: String,
}

impl Health {
    /// Healthy with no details.
    pub fn healthy() -> Self {
        Self {
            status: HealthStatus::Healthy,
            details: String::new(),
        }
    }

    /// Degraded, with details.
    pub fn degraded(details: impl Into<String>) -> Self {
        Self {
            status: HealthStatus::Degraded,
            details: details.into(),
        }
    }

    /// Unhealthy, with details.
    pub fn unhealthy(details: impl Into<String>) -> Self {
        Self {
            status: HealthStatus::Unhealthy,
            details: details.into(),
        }
    }
}

/// Which answers a check feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Probe {
    /// Readiness only: unhealthy means "send no traffic".
    Readiness,
    /// Liveness and readiness: unhealthy means "restart me".
    Liveness,
}

type CheckFn = Arc<dyn Fn() -> Health + Send + Sync>;

struct Check {
    name: String,
    probe: Probe,
    check: CheckFn,
}

/// One component in a [`HealthReport`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ComponentReport {
    /// The component's name.
    pub name: String,
    /// Which answers it feeds.
    pub probe: Probe,
    /// Its health.
    #[serde(flatten)]
    pub health: Health,
}

/// Every component's health plus the overall answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthReport {
    /// The worst component status.
    pub status: HealthStatus,
    /// The liveness answer.
    pub live: bool,
    /// The readiness answer.
    pub ready: bool,
    /// True once shutdown has begun.
    pub shutting_down: bool,
    /// Per-component results, in registration order.
    pub components: Vec<ComponentReport>,
}

impl HealthReport {
    /// The report as JSON.
    pub fn to_json(&self) -> String {
        // Serializing plain strings, enums and bools cannot fail.
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{}"))
    }
}

/// The registry of health checks; share it in an `Arc`.
#[derive(Default)]
pub struct HealthRegistry {
    checks: parking_lot::RwLock<Vec<Check>>,
    shutting_down: AtomicBool,
}

impl fmt::Debug for HealthRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self.checks.read().iter().map(|c| c.name.clone()).collect();
        f.debug_struct("HealthRegistry")
            .field("checks", &names)
            .field("shutting_down", &self.shutting_down.load(Ordering::Relaxed))
            .finish()
    }
}

impl HealthRegistry {
    /// An empty registry (live and ready).
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a check feeding `probe`.
    pub fn register(
        &self,
        name: impl Into<String>,
        probe: Probe,
        check: impl Fn() -> Health + Send + Sync + 'static,
    ) {
        self.checks.write().push(Check {
            name: name.into(),
            probe,
            check: Arc::new(check),
        });
    }

    /// Registers a breaker as a readiness check: open or half-open is degraded.
    pub fn register_breaker(&self, breaker: &CircuitBreaker) {
        let breaker = breaker.clone();
        self.register(
            breaker.name().to_owned(),
            Probe::Readiness,
            move || match breaker.state() {
                BreakerState::Open | BreakerState::ForcedOpen | BreakerState::HalfOpen => {
                    Health::degraded(format!("circuit {}", breaker.state()))
                }
                _ => Health::healthy(),
            },
        );
    }

    /// Registers a pool as a readiness check: exhausted is degraded.
    pub fn register_pool<M: Manager>(&self, name: impl Into<String>, pool: &Pool<M>) {
        let pool = pool.clone();
        self.register(name, Probe::Readiness, move || {
            let s = pool.stats();
            if s.in_use >= s.max_size {
                Health::degraded(format!("all {} objects in use", s.max_size))
            } else {
                Health::healthy()
            }
        });
    }

    /// Registers the process's resources as a readiness check: degraded
    /// when open file descriptors reach `fd_ratio` of their limit (0.9 is a
    /// good start) or resident memory passes `rss_budget` bytes, with the
    /// figures in the detail.
    pub fn register_process(&self, fd_ratio: f64, rss_budget: Option<u64>) {
        self.register("process", Probe::Readiness, move || {
            crate::process::resource_health(
                &crate::process::ProcessStats::sample(),
                fd_ratio,
                rss_budget,
            )
        });
    }

    /// Marks shutdown as begun: readiness answers false from now on.
    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
    }

    /// True once [`HealthRegistry::begin_shutdown`] was called.
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }

    /// Runs every check (outside the registry lock) and reports.
    pub fn report(&self) -> HealthReport {
        let checks: Vec<(String, Probe, CheckFn)> = self
            .checks
            .read()
            .iter()
            .map(|c| (c.name.clone(), c.probe, Arc::clone(&c.check)))
            .collect();
        let components: Vec<ComponentReport> = checks
            .into_iter()
            .map(|(name, probe, check)| ComponentReport {
                name,
                probe,
                health: check(),
            })
            .collect();
        let unhealthy = |live_only: bool| {
            components.iter().any(|c| {
                c.health.status == HealthStatus::Unhealthy
                    && (!live_only || c.probe == Probe::Liveness)
            })
        };
        let shutting_down = self.is_shutting_down();
        HealthReport {
            status: components
                .iter()
                .map(|c| c.health.status)
                .max()
                .unwrap_or(HealthStatus::Healthy),
            live: !unhealthy(true),
            ready: !shutting_down && !unhealthy(false),
            shutting_down,
            components,
        }
    }

    /// HTTP status for a liveness probe: 200 or 503.
    pub fn liveness_status(&self) -> u16 {
        if self.report().live { 200 } else { 503 }
    }

    /// HTTP status for a readiness probe: 200 or 503.
    pub fn readiness_status(&self) -> u16 {
        if self.report().ready { 200 } else { 503 }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::breaker::BreakerConfig;

    #[test]
    fn unhealthy_readiness_check_fails_readiness_but_not_liveness() {
        let h = HealthRegistry::new();
        h.register("db", Probe::Readiness, || {
            Health::unhealthy("connection refused")
        });
        assert_eq!((h.liveness_status(), h.readiness_status()), (200, 503));
        h.register("deadlock", Probe::Liveness, || {
            Health::unhealthy("worker stuck")
        });
        assert_eq!(h.liveness_status(), 503);
    }

    #[test]
    fn degraded_is_still_ready() {
        let h = HealthRegistry::new();
        let b = CircuitBreaker::new(BreakerConfig {
            name: "search".into(),
            ..Default::default()
        })
        .unwrap();
        h.register_breaker(&b);
        b.force_open();
        let r = h.report();
        assert_eq!((r.status, r.ready), (HealthStatus::Degraded, true));
        assert_eq!(r.components[0].health.details, "circuit forced_open");
    }

    #[test]
    fn readiness_turns_false_once_shutdown_begins() {
        let h = HealthRegistry::new();
        assert_eq!(h.readiness_status(), 200);
        h.begin_shutdown();
        assert_eq!(h.readiness_status(), 503);
        assert_eq!(h.liveness_status(), 200, "still alive while draining");
    }

    #[test]
    fn json_report_lists_components_with_status_and_details() {
        let h = HealthRegistry::new();
        h.register("cache", Probe::Readiness, || {
            Health::degraded("hit rate 3%")
        });
        let json: serde_json::Value = serde_json::from_str(&h.report().to_json()).unwrap();
        assert_eq!(json["status"], "degraded");
        assert_eq!(json["ready"], true);
        assert_eq!(json["components"][0]["name"], "cache");
        assert_eq!(json["components"][0]["status"], "degraded");
        assert_eq!(json["components"][0]["details"], "hit rate 3%");
    }
}
