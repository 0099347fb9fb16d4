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
//!   [retryable](ManagerError::is_retryable). [`SessionManager::run`]
//!   retries them on another session with ballast-resilience's `Retry`
//!   (backoff with jitter).
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
//! Time for lifetimes, idle timeouts and keepalive intervals comes from a
//! `ballast_clock::Clock` ([`SessionManager::with_clock`]), so tests drive
//! them with a `ManualClock`; command and acquire deadlines are wall time.
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

mod config;
mod connector;
mod error;
mod guard;
mod keepalive;
mod login;
mod open;
mod pool;
mod prometheus;
mod release;
mod stats;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use ballast_clock::SharedClock;
use ballast_resilience::{
    BreakerState, CircuitBreaker, HealthRegistry, MetricsRegistry, RateLimiter, Retry,
    RetryDecision, Shutdown,
};
use parking_lot::{Condvar, Mutex};

#[cfg(feature = "tls")]
pub use config::EndpointTls;
pub use config::{
    Balancing, DEFAULT_ACQUIRE_TIMEOUT, DEFAULT_COMMAND_TIMEOUT, DEFAULT_IDLE_TIMEOUT,
    DEFAULT_KEEPALIVE_INTERVAL, DEFAULT_KEEPALIVE_TIMEOUT, DEFAULT_MAX_LIFETIME,
    DEFAULT_MAX_PENDING, DEFAULT_MAX_SESSIONS, DEFAULT_MAX_SESSIONS_PER_ENDPOINT, EndpointConfig,
    MAX_LIMIT, MAX_WEIGHT, ManagerConfig,
};
pub use connector::{Connector, Metered, NetConnector, NetStream};
pub use error::{ManagerError, ManagerResult};
pub use guard::SessionGuard;
pub use keepalive::{Maintenance, MaintenanceReport};
pub use login::{LoginScript, LoginStep};
pub use pool::MAX_ENDPOINTS;
pub use stats::{
    ERROR_KINDS, EndpointStats, LATENCY_BUCKETS_US, LatencyStats, ManagerStats, SessionStats,
};

use crate::audit::{AuditEvent, AuditLog};
use pool::{Books, Pick, PickLimits, Slot};
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

/// What [`SessionManager::drain`] did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DrainReport {
    /// Sessions lent when the drain began.
    pub in_flight_at_start: usize,
    /// Lent sessions that came back before the deadline.
    pub finished: usize,
    /// Sessions still lent at the deadline: their work was cancelled.
    pub cancelled: Vec<CancelledWork>,
    /// Idle sessions closed.
    pub closed_idle: usize,
}

/// A lent session whose work a drain cancelled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelledWork {
    /// The session id.
    pub session: u64,
    /// Its endpoint's name.
    pub endpoint: String,
    /// Its LU, if it asked for one.
    pub lu: Option<String>,
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
        config.validate()?;
        if config.endpoints.len() > MAX_ENDPOINTS {
            return Err(ManagerError::Config {
                field: "endpoints".into(),
                reason: "must name at most MAX_ENDPOINTS (64) endpoints",
            });
        }
        let endpoints = build_endpoints(&config, &clock)?;
        let retry = Retry::builder(config.retry.clone())
            .name("session-manager")
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
        register_closing_hook(&inner);
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

    /// Lends a session, waiting at most [`ManagerConfig::acquire_timeout`].
    pub fn acquire(&self, target: Target<'_>) -> ManagerResult<SessionGuard<C>> {
        self.acquire_within(target, self.inner.config.acquire_timeout)
    }

    /// Lends a session of `target`, waiting at most `timeout` for one to
    /// come back or to open.
    pub fn acquire_within(
        &self,
        target: Target<'_>,
        timeout: Duration,
    ) -> ManagerResult<SessionGuard<C>> {
        let in_flight = self.inner.shutdown.enter().ok_or(ManagerError::Draining)?;
        let allowed = self.allowed(target)?;
        let deadline = Instant::now() + timeout;
        let mut last_error = None;
        // Failed opens before giving up: enough to try every endpoint
        // twice, so a refusing endpoint cannot spin the loop.
        let mut opens_left = 2 * self.inner.endpoints.len() + 2;
        loop {
            let pick = self.pick(allowed, deadline, &mut last_error)?;
            match pick {
                Pick::Idle(slot) => {
                    if let Some(slot) = self.check_out(slot) {
                        return Ok(SessionGuard::new(Arc::clone(&self.inner), slot, in_flight));
                    }
                }
                Pick::Open(ep, lu) => {
                    match open::open_session(&self.inner, ep, lu, self.open_deadline(deadline)) {
                        Ok(slot) => {
                            return Ok(SessionGuard::new(Arc::clone(&self.inner), slot, in_flight));
                        }
                        Err(e) => {
                            opens_left -= 1;
                            let last = matches!(target, Target::Endpoint(_))
                                || matches!(e, ManagerError::Throttled { .. })
                                || opens_left == 0
                                || Instant::now() >= deadline;
                            if last {
                                return Err(e);
                            }
                            last_error = Some(e);
                        }
                    }
                }
                Pick::Wait | Pick::NoEndpoint => {
                    return Err(last_error.unwrap_or(ManagerError::NoEndpointAvailable));
                }
            }
        }
    }

    /// When an open started now must be done: the connect timeout, or the
    /// acquire deadline if that comes first.
    fn open_deadline(&self, acquire_deadline: Instant) -> Instant {
        (Instant::now() + self.inner.config.connect_timeout).min(acquire_deadline)
    }

    /// The endpoints `target` allows, as a bit mask.
    fn allowed(&self, target: Target<'_>) -> ManagerResult<u64> {
        match target {
            Target::Any => Ok(mask(self.inner.endpoints.len())),
            Target::Endpoint(name) => self
                .inner
                .endpoints
                .iter()
                .position(|e| e.config.name == name)
                .map(|i| 1u64 << i)
                .ok_or_else(|| ManagerError::UnknownEndpoint(name.to_owned())),
        }
    }

    /// Picks under the lock, waiting for a session to come back while the
    /// endpoints are full. Returns `Wait`/`NoEndpoint` only when giving up.
    fn pick(
        &self,
        allowed: u64,
        deadline: Instant,
        last_error: &mut Option<ManagerError>,
    ) -> ManagerResult<Pick<C::Stream>> {
        let inner = &*self.inner;
        let limits = PickLimits {
            max_sessions: inner.config.max_sessions,
            capacity: &inner.capacity,
            weight: &inner.weight,
            balancing: inner.config.balancing,
        };
        let started = Instant::now();
        let mut books = inner.books.lock();
        loop {
            if inner.shutdown.is_triggered() {
                return Err(ManagerError::Draining);
            }
            match books.pick(allowed, self.up(), &limits) {
                Pick::Wait => {}
                Pick::NoEndpoint if last_error.is_none() => {
                    return Err(ManagerError::NoEndpointAvailable);
                }
                p => return Ok(p),
            }
            if books.waiting >= inner.config.max_pending {
                return Err(ManagerError::Busy {
                    waiting: books.waiting,
                    limit: inner.config.max_pending,
                });
            }
            books.waiting += 1;
            let timed_out = inner.freed.wait_until(&mut books, deadline).timed_out();
            books.waiting -= 1;
            if timed_out {
                let limit = inner.config.max_sessions.min(limits.capacity.iter().sum());
                return Err(last_error.take().unwrap_or(ManagerError::AcquireTimeout {
                    waited: started.elapsed(),
                    open: books.open,
                    limit,
                }));
            }
        }
    }

    /// Endpoints whose breaker lets work through, as a bit mask.
    fn up(&self) -> u64 {
        self.inner
            .endpoints
            .iter()
            .enumerate()
            .filter(|(_, e)| endpoint_up(&e.breaker))
            .fold(0, |m, (i, _)| m | (1 << i))
    }

    /// An idle session about to be lent: still young enough? Retires it
    /// otherwise (`None`).
    fn check_out(&self, mut slot: Box<Slot<C::Stream>>) -> Option<Box<Slot<C::Stream>>> {
        let now = self.inner.clock.now();
        if now.saturating_sub(slot.created) < self.inner.config.max_lifetime {
            return Some(slot);
        }
        self.inner.books.lock().retire(&mut slot, true);
        self.inner.retire(slot, "max lifetime reached");
        None
    }

    /// Runs `work` on a session of `target`, retrying retryable failures
    /// (a lost session, an endpoint down, a failed open) on another
    /// session with [`ManagerConfig::retry`]. `work` may run more than
    /// once: make it safe to repeat, or check before redoing it.
    pub fn run<T>(
        &self,
        target: Target<'_>,
        mut work: impl FnMut(&mut SessionGuard<C>) -> ManagerResult<T>,
    ) -> ManagerResult<T> {
        self.inner
            .retry
            .run(
                |_attempt| {
                    let mut guard = self.acquire(target)?;
                    work(&mut guard)
                },
                |r| match r {
                    Err(e) if e.is_retryable() => RetryDecision::Retry,
                    _ => RetryDecision::Done,
                },
            )
            .result
    }

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

    /// Prometheus text: the manager's `ballast_session_*` families.
    /// Breakers, throttles and the retry policy are exported by the
    /// `MetricsRegistry` given to [`SessionManager::register`].
    pub fn render_prometheus(&self) -> String {
        let mut out = String::with_capacity(4096);
        self.stats().render_prometheus(&mut out);
        out
    }

    /// Registers every endpoint's breaker and throttle and the retry policy
    /// with `metrics`, and with `health` the breakers plus a readiness
    /// check that is unhealthy while no endpoint is up.
    pub fn register(&self, metrics: &MetricsRegistry, health: &HealthRegistry) {
        for e in &self.inner.endpoints {
            metrics.register_breaker(&e.breaker);
            health.register_breaker(&e.breaker);
            if let Some(l) = &e.limiter {
                metrics.register_limiter(Arc::clone(l));
            }
        }
        metrics.register_retry(&self.inner.retry);
        let weak = Arc::downgrade(&self.inner);
        health.register(
            "session-manager",
            ballast_resilience::Probe::Readiness,
            move || readiness(&weak),
        );
    }

    /// Stops new work, waits up to `timeout` for lent sessions to come
    /// back, cancels what is still lent (its next command gets
    /// [`ManagerError::Cancelled`]) and closes every idle session.
    pub fn drain(&self, timeout: Duration) -> DrainReport {
        let inner = &*self.inner;
        inner.shutdown.trigger();
        let deadline = Instant::now() + timeout;
        let mut books = inner.books.lock();
        inner.freed.notify_all();
        let at_start = books.lent().len();
        while !books.lent().is_empty() {
            if inner.freed.wait_until(&mut books, deadline).timed_out() {
                break;
            }
        }
        let still = books.lent();
        drop(books);
        inner.cancelled.store(true, Ordering::Release);
        let cancelled: Vec<CancelledWork> = still
            .into_iter()
            .map(|(session, ep, lu)| CancelledWork {
                session,
                endpoint: inner.endpoints[ep].config.name.clone(),
                lu,
            })
            .collect();
        let closed_idle = inner.close_idle("drained");
        DrainReport {
            in_flight_at_start: at_start,
            finished: at_start.saturating_sub(cancelled.len()),
            cancelled,
            closed_idle,
        }
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
            if let Err(e) = log.record(session, name, event) {
                tracing::error!(error = %e, "audit log write failed");
            }
        }
    }

    /// Closes a session already taken off the books.
    pub(crate) fn retire(&self, slot: Box<Slot<C::Stream>>, reason: &str) {
        let e = &self.endpoints[slot.endpoint];
        e.counters.retired.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(session = slot.id, endpoint = %e.config.name, reason, "session retired");
        self.audit(slot.id, slot.endpoint, &AuditEvent::Disconnect { reason });
        drop(slot);
        self.freed.notify_all();
    }

    /// Closes every idle session; returns how many.
    pub(crate) fn close_idle(&self, reason: &str) -> usize {
        let mut closing = Vec::new();
        {
            let mut books = self.books.lock();
            for i in 0..books.endpoints.len() {
                while let Some(mut slot) = books.endpoints[i].idle.pop() {
                    books.retire(&mut slot, false);
                    closing.push(slot);
                }
            }
        }
        let n = closing.len();
        for slot in closing {
            self.retire(slot, reason);
        }
        n
    }
}

/// True when `breaker` lets work through (closed, half-open probing,
/// disabled or metrics-only).
pub(crate) fn endpoint_up(breaker: &CircuitBreaker) -> bool {
    !matches!(
        breaker.state(),
        BreakerState::Open | BreakerState::ForcedOpen
    )
}

fn mask(n: usize) -> u64 {
    if n >= 64 { u64::MAX } else { (1u64 << n) - 1 }
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
            })
        })
        .collect()
}

/// Closes the manager's sessions in the closing phase of a
/// `Shutdown::run` (the draining phase has waited for in-flight work).
fn register_closing_hook<C: Connector>(inner: &Arc<Inner<C>>) {
    let weak: Weak<Inner<C>> = Arc::downgrade(inner);
    inner.shutdown.on_closing("session-manager", move || {
        if let Some(inner) = weak.upgrade() {
            inner.cancelled.store(true, Ordering::Release);
            inner.close_idle("shutdown");
        }
    });
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
