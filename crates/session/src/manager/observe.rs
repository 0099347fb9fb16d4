//! Looking at a manager: stats, Prometheus text, registries, readiness.

use std::sync::{Arc, Weak};

use ballast_resilience::{BudgetStats, HealthRegistry, MetricsRegistry, RetryStats};

use super::connector::Connector;
use super::stats::{EndpointStats, ManagerStats, SessionStats};
use super::{Inner, SessionManager, endpoint_up};

impl<C: Connector> SessionManager<C> {
    /// Stats of every endpoint and open session.
    pub fn stats(&self) -> ManagerStats {
        let books = self.inner.books.lock();
        let endpoints = self
            .inner
            .endpoints
            .iter()
            .zip(&books.endpoints)
            .map(|(e, b)| {
                EndpointStats::from_counters(
                    &e.config.name,
                    e.breaker.state(),
                    (b.open, b.idle.len(), b.in_use),
                    &e.counters,
                )
            })
            .collect();
        let mut sessions: Vec<SessionStats> = books
            .sessions
            .iter()
            .map(|(id, s)| {
                let name = &self.inner.endpoints[s.endpoint].config.name;
                SessionStats::from_counters(*id, name, s.lu.as_deref(), s.lent, &s.counters)
            })
            .collect();
        sessions.sort_unstable_by_key(|s| s.id);
        ManagerStats {
            endpoints,
            sessions,
            waiting: books.waiting,
        }
    }

    /// The counters of [`SessionManager::run`]'s retry policy: runs,
    /// retries, and why runs stopped retrying (attempts, the budget).
    pub fn retry_stats(&self) -> RetryStats {
        self.inner.retry.stats()
    }

    /// The counters of the shared retry budget (retries granted, denied).
    pub fn retry_budget_stats(&self) -> BudgetStats {
        self.inner
            .retry
            .budget()
            .map(ballast_resilience::RetryBudget::stats)
            .unwrap_or_default()
    }

    /// Prometheus text: the manager's `ballast_session_*` families. After
    /// [`SessionManager::register`], the registry's own rendering includes
    /// them too, beside the breakers, throttles and retry policy.
    pub fn render_prometheus(&self) -> String {
        let mut out = String::with_capacity(4096);
        self.stats().render_prometheus(&mut out);
        out
    }

    /// Registers every endpoint's breaker and throttle, the retry policy
    /// and the manager's own `ballast_session_*` families (a collector that
    /// holds the manager weakly) with `metrics`, and with `health` the
    /// breakers plus a readiness check that is unhealthy while no endpoint
    /// is up.
    pub fn register(&self, metrics: &MetricsRegistry, health: &HealthRegistry)
    where
        C: 'static,
    {
        for e in &self.inner.endpoints {
            metrics.register_breaker(&e.breaker);
            health.register_breaker(&e.breaker);
            if let Some(l) = &e.limiter {
                metrics.register_limiter(Arc::clone(l));
            }
        }
        metrics.register_retry(&self.inner.retry);
        let collected = Arc::downgrade(&self.inner);
        metrics.register_collector(move |out| {
            if let Some(inner) = collected.upgrade() {
                SessionManager { inner }.stats().render_prometheus(out);
            }
        });
        let weak = Arc::downgrade(&self.inner);
        health.register(
            "session-manager",
            ballast_resilience::Probe::Readiness,
            move || readiness(&weak),
        );
    }
}

fn readiness<C: Connector>(weak: &Weak<Inner<C>>) -> ballast_resilience::Health {
    match weak.upgrade() {
        Some(inner) if inner.endpoints.iter().any(|e| endpoint_up(&e.breaker)) => {
            ballast_resilience::Health::healthy()
        }
        Some(_) => ballast_resilience::Health::unhealthy("every endpoint's circuit is open"),
        None => ballast_resilience::Health::unhealthy("session manager dropped"),
    }
}
