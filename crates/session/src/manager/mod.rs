//! [`SessionManager`]: pooled, balanced, failing-over TN3270 sessions for
//! gateways and robots that run many sessions against several endpoints.
//!
//! - **Endpoints** ([`EndpointConfig`]): address, TLS settings (feature
//!   `tls`), weight, LU name pool, session limit, connection throttle (a
//!   ballast-resilience `RateLimiter`) and a `CircuitBreaker` each.
//! - **Sessions** are opened by a [`Connector`] ([`NetConnector`]: TCP or
//!   TLS), negotiated, signed on by the [`LoginScript`], lent by
//!   [`SessionManager::acquire`] as a [`SessionGuard`], reused when the
//!   guard drops, and retired when broken, older than
//!   [`ManagerConfig::max_lifetime`], idle past
//!   [`ManagerConfig::idle_timeout`], dead to a keepalive probe, or on an
//!   endpoint whose breaker opened.
//! - **Limits**, each with a default and a typed error: sessions in all
//!   and per endpoint, callers waiting ([`ManagerError::Busy`]; a session
//!   runs one command at a time, so this bounds pending commands), the
//!   acquire deadline ([`ManagerError::AcquireTimeout`]), connections per
//!   second per endpoint ([`ManagerError::Throttled`]).
//! - **Balancing** ([`Balancing`]): round robin, least loaded, weighted.
//! - **Failover**: an endpoint whose breaker is open gets no new work; work
//!   in flight on it gets [`ManagerError::EndpointDown`], and a session
//!   that fails under a command [`ManagerError::SessionLost`], both
//!   [retryable](ballast_error::Coded::is_retryable). One `acquire` tries
//!   each usable endpoint at most once; [`SessionManager::run`] retries
//!   on another session with ballast-resilience's `Retry` (backoff with
//!   jitter), every retry charged to a `RetryBudget` shared by all callers
//!   ([`ManagerConfig::retry_budget`]).
//! - **Keepalive**: [`SessionManager::maintain`] (or the thread of
//!   [`SessionManager::spawn_maintenance`]) probes idle sessions with
//!   telnet TIMING-MARK every [`ManagerConfig::keepalive_interval`]; one
//!   not answered within [`ManagerConfig::keepalive_timeout`] is a
//!   half-open connection: it is retired and, below the endpoint's
//!   `min_idle`, replaced.
//! - **Drain** through ballast-resilience's `Shutdown`: once triggered,
//!   `acquire` answers [`ManagerError::Draining`]; [`SessionManager::drain`]
//!   waits for lent sessions up to a deadline, cancels the rest (their next
//!   command gets [`ManagerError::Cancelled`]) and reports them.
//! - **Audit** ([`crate::audit`]) and **stats** ([`SessionManager::stats`],
//!   Prometheus text, registration with ballast-resilience's registries).
//!
//! Time for lifetimes, idle timeouts, keepalive intervals, the retry
//! budget and the upkeep's refill backoff comes from a
//! `ballast_clock::Clock` ([`SessionManager::with_clock`]), and `run`'s
//! backoff sleeps through a `ballast_resilience::Sleeper`
//! ([`SessionManager::with_clock_and_sleeper`]), so tests drive them with
//! a `ManualClock` and a `ManualSleeper`; command and acquire deadlines
//! are wall time.
//!
//! ```
//! use std::time::Duration;
//! use ballast_session::host::{DemoApp, HostConfig, HostSimulator};
//! use ballast_session::manager::{EndpointConfig, LoginScript, ManagerConfig, SessionManager, Target};
//! use ballast_session::{Aid, Secret};
//!
//! let host = HostSimulator::start(HostConfig::default(), DemoApp::default())?;
//! let manager = SessionManager::new(ManagerConfig {
//!     endpoints: vec![EndpointConfig::new("demo", host.local_addr().to_string())],
//!     login: LoginScript::new()
//!         .wait_text("PLEASE SIGN ON")
//!         .type_text("DEMO")
//!         .type_secret(Secret::from("SECRET"))
//!         .key(Aid::Enter)
//!         .wait_text("MAIN MENU"),
//!     ..ManagerConfig::default()
//! })?;
//! let mut s = manager.acquire(Target::Any)?;
//! assert!(s.screen().contains("MAIN MENU"));
//! drop(s); // back to the pool, signed on
//! assert_eq!(manager.stats().open(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod acquire;
mod config;
mod connector;
mod drain;
pub(crate) mod error;
mod guard;
mod keepalive;
mod login;
mod observe;
mod open;
mod pool;
mod prometheus;
mod release;
mod stats;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use ballast_clock::SharedClock;
use ballast_resilience::{
    BreakerState, CircuitBreaker, RateLimiter, Retry, RetryBudget, Shutdown, Sleeper, ThreadSleeper,
};
use parking_lot::{Condvar, Mutex};

#[cfg(feature = "tls")]
pub use config::EndpointTls;
pub use config::{
    Balancing, DEFAULT_ACQUIRE_TIMEOUT, DEFAULT_COMMAND_TIMEOUT, DEFAULT_IDLE_TIMEOUT,
    DEFAULT_KEEPALIVE_INTERVAL, DEFAULT_KEEPALIVE_TIMEOUT, DEFAULT_MAX_LIFETIME,
    DEFAULT_MAX_PENDING, DEFAULT_MAX_SESSIONS, DEFAULT_MAX_SESSIONS_PER_ENDPOINT,
    DEFAULT_RETRY_BUDGET, EndpointConfig, MAX_LIMIT, MAX_WEIGHT, ManagerConfig,
};
pub use connector::{Connector, Metered, NetConnector, NetStream};
pub use drain::{CancelledWork, DrainReport};
pub use error::{ManagerError, ManagerResult};
pub use guard::SessionGuard;
pub use keepalive::{MAX_PARALLEL_PROBES, Maintenance, MaintenanceReport};
pub use login::{LoginScript, LoginStep};
pub use pool::MAX_ENDPOINTS;
pub use stats::{
    ERROR_KINDS, EndpointStats, LATENCY_BUCKETS_US, LatencyStats, ManagerStats, SessionStats,
};

use crate::audit::{AuditEvent, AuditLog};
use keepalive::RefillBackoff;
use pool::{Books, Slot};
use stats::EndpointCounters;

/// Which sessions a caller will take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    /// Any endpoint, as the balancing rule picks.
    Any,
    /// Only the endpoint with this name.
    Endpoint(&'a str),
}

/// An endpoint at run time.
pub(crate) struct Endpoint {
    pub(crate) config: EndpointConfig,
    pub(crate) breaker: CircuitBreaker,
    pub(crate) limiter: Option<Arc<RateLimiter>>,
    pub(crate) counters: Arc<EndpointCounters>,
    /// When the upkeep may next try to refill `min_idle` after failures.
    pub(crate) refill: Mutex<RefillBackoff>,
}

pub(crate) struct Inner<C: Connector> {
    pub(crate) config: ManagerConfig,
    pub(crate) connector: C,
    pub(crate) clock: SharedClock,
    pub(crate) endpoints: Vec<Endpoint>,
    pub(crate) books: Mutex<Books<C::Stream>>,
    /// Signalled when a session comes back or a place frees up.
    pub(crate) freed: Condvar,
    pub(crate) shutdown: Shutdown,
    pub(crate) retry: Retry,
    pub(crate) audit: Option<Arc<AuditLog>>,
    /// The login script's user id, recorded on audit entries.
    pub(crate) user: Option<String>,
    /// Set by a drain whose deadline passed: lent sessions refuse commands.
    pub(crate) cancelled: AtomicBool,
    next_id: AtomicU64,
    capacity: Vec<usize>,
    weight: Vec<u32>,
}

/// The session manager; cheap to clone (clones share it). See the
/// [module docs](self).
pub struct SessionManager<C: Connector = NetConnector> {
    inner: Arc<Inner<C>>,
}

impl<C: Connector> Clone for SessionManager<C> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<C: Connector> std::fmt::Debug for SessionManager<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self
            .inner
            .endpoints
            .iter()
            .map(|e| e.config.name.as_str())
            .collect();
        f.debug_struct("SessionManager")
            .field("endpoints", &names)
            .field("open", &self.inner.books.lock().open)
            .finish_non_exhaustive()
    }
}

impl SessionManager<NetConnector> {
    /// A manager over TCP/TLS ([`NetConnector`]) on the system clock.
    pub fn new(config: ManagerConfig) -> ManagerResult<Self> {
        Self::with_connector(config, NetConnector)
    }
}

impl<C: Connector> SessionManager<C> {
    /// A manager opening streams with `connector`, on the system clock.
    pub fn with_connector(config: ManagerConfig, connector: C) -> ManagerResult<Self> {
        Self::with_clock(config, connector, ballast_clock::system_clock(), None)
    }

    /// The full constructor: `clock` times lifetimes, idle timeouts,
    /// keepalives, breakers and throttles; `audit` records session events.
    pub fn with_clock(
        config: ManagerConfig,
        connector: C,
        clock: SharedClock,
        audit: Option<Arc<AuditLog>>,
    ) -> ManagerResult<Self> {
        Self::with_clock_and_sleeper(config, connector, clock, Arc::new(ThreadSleeper), audit)
    }

    /// [`SessionManager::with_clock`] whose [`SessionManager::run`] waits
    /// out its backoff through `sleeper` (a `ManualSleeper` in tests
    /// advances the manual clock instead of sleeping).
    pub fn with_clock_and_sleeper(
        config: ManagerConfig,
        connector: C,
        clock: SharedClock,
        sleeper: Arc<dyn Sleeper>,
        audit: Option<Arc<AuditLog>>,
    ) -> ManagerResult<Self> {
        config.validate()?;
        if config.endpoints.len() > MAX_ENDPOINTS {
            return Err(ManagerError::Config {
                field: "endpoints".into(),
                reason: "must name at most MAX_ENDPOINTS (64) endpoints",
            });
        }
        let endpoints = build_endpoints(&config, &clock)?;
        let budget = RetryBudget::with_clock(config.retry_budget, Arc::clone(&clock))
            .map_err(|_| config_error("retry_budget"))?;
        let retry = Retry::builder(config.retry.clone())
            .name("session-manager")
            .clock(Arc::clone(&clock))
            .sleeper(sleeper)
            .budget(budget)
            .build()
            .map_err(|_| config_error("retry"))?;
        let shutdown =
            Shutdown::new(config.shutdown, None).map_err(|_| config_error("shutdown"))?;
        let inner = Arc::new(Inner {
            capacity: config
                .endpoints
                .iter()
                .map(EndpointConfig::capacity)
                .collect(),
            weight: config.endpoints.iter().map(|e| e.weight).collect(),
            books: Mutex::new(Books::new(
                config.endpoints.iter().map(|e| e.lu_pool.clone()),
            )),
            user: config.login.user().map(str::to_owned),
            config,
            connector,
            clock,
            endpoints,
            freed: Condvar::new(),
            shutdown,
            retry,
            audit,
            cancelled: AtomicBool::new(false),
            next_id: AtomicU64::new(1),
        });
        drain::register_closing_hook(&inner);
        Ok(Self { inner })
    }

    /// The configuration.
    pub fn config(&self) -> &ManagerConfig {
        &self.inner.config
    }

    /// The shutdown coordinator: `trigger()` stops new work; `run()` drains
    /// in-flight work within its phases and then closes every session.
    pub fn shutdown(&self) -> &Shutdown {
        &self.inner.shutdown
    }

    /// The circuit breaker of endpoint `name`.
    pub fn breaker(&self, name: &str) -> Option<&CircuitBreaker> {
        self.inner
            .endpoints
            .iter()
            .find(|e| e.config.name == name)
            .map(|e| &e.breaker)
    }
}

impl<C: Connector> Inner<C> {
    pub(crate) fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Records an audit event (audit failures are logged, not returned:
    /// the session's work goes on).
    pub(crate) fn audit(&self, session: u64, endpoint: usize, event: &AuditEvent<'_>) {
        if let Some(log) = &self.audit {
            let name = &self.endpoints[endpoint].config.name;
            if let Err(e) = log.record_user(session, name, self.user.as_deref(), event) {
                tracing::error!(error = %e, "audit log write failed");
            }
        }
    }

    /// Closes a session already taken off the books.
    pub(crate) fn retire(&self, slot: Box<Slot<C::Stream>>, reason: &str) {
        let e = &self.endpoints[slot.endpoint];
        e.counters.retired.fetch_add(1, Ordering::Relaxed);
        if is_loss(reason) {
            e.counters.lost();
        }
        tracing::debug!(parent: &slot.span, reason, "session retired");
        self.audit(slot.id, slot.endpoint, &AuditEvent::Disconnect { reason });
        drop(slot);
        self.freed.notify_all();
    }
}

/// True when a session retired for `reason` was lost to a failure (its
/// replacement counts as a reconnect), not closed by policy.
fn is_loss(reason: &str) -> bool {
    matches!(
        reason,
        "broken" | "endpoint down" | "keepalive probe unanswered"
    )
}

/// True when `breaker` lets work through (closed, half-open probing,
/// disabled or metrics-only).
pub(crate) fn endpoint_up(breaker: &CircuitBreaker) -> bool {
    !matches!(
        breaker.state(),
        BreakerState::Open | BreakerState::ForcedOpen
    )
}

fn config_error(field: &str) -> ManagerError {
    ManagerError::Config {
        field: field.to_owned(),
        reason: "is invalid",
    }
}

fn build_endpoints(config: &ManagerConfig, clock: &SharedClock) -> ManagerResult<Vec<Endpoint>> {
    config
        .endpoints
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let mut breaker_config = e.breaker.clone();
            breaker_config.name.clone_from(&e.name);
            // An open breaker must turn half-open by itself: the manager
            // only reads its state to decide where work goes.
            breaker_config.automatic_half_open = true;
            let breaker = CircuitBreaker::with_clock(breaker_config, Arc::clone(clock))
                .map_err(|_| config_error(&format!("endpoints[{i}].breaker")))?;
            let limiter = e
                .connect_rate
                .as_ref()
                .map(|r| RateLimiter::with_clock(e.name.clone(), *r, Arc::clone(clock)))
                .transpose()
                .map_err(|_| config_error(&format!("endpoints[{i}].connect_rate")))?
                .map(Arc::new);
            Ok(Endpoint {
                config: e.clone(),
                breaker,
                limiter,
                counters: Arc::default(),
                refill: Mutex::new(RefillBackoff::default()),
            })
        })
        .collect()
}
