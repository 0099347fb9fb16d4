//! [`ManagerConfig`], [`EndpointConfig`] and their validation.

use std::time::Duration;

use ballast_resilience::{
    Backoff, BreakerConfig, BudgetConfig, Jitter, RateLimiterConfig, RetryConfig, ShutdownConfig,
};

use super::error::{ManagerError, ManagerResult};
use super::login::LoginScript;
use crate::config::SessionConfig;

/// Default [`ManagerConfig::max_sessions`]: 256 sessions in all.
pub const DEFAULT_MAX_SESSIONS: usize = 256;
/// Default [`EndpointConfig::max_sessions`]: 64 sessions per endpoint.
pub const DEFAULT_MAX_SESSIONS_PER_ENDPOINT: usize = 64;
/// Default [`ManagerConfig::max_pending`]: 1024 callers waiting at once.
pub const DEFAULT_MAX_PENDING: usize = 1024;
/// Largest [`ManagerConfig::max_sessions`] and [`ManagerConfig::max_pending`].
pub const MAX_LIMIT: usize = 1 << 20;
/// Default [`ManagerConfig::acquire_timeout`]: 5 s.
pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// Default [`ManagerConfig::max_lifetime`]: 8 hours (a working shift).
pub const DEFAULT_MAX_LIFETIME: Duration = Duration::from_secs(8 * 3600);
/// Default [`ManagerConfig::idle_timeout`]: 10 minutes.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(600);
/// Default [`ManagerConfig::keepalive_interval`]: 30 s.
pub const DEFAULT_KEEPALIVE_INTERVAL: Duration = Duration::from_secs(30);
/// Default [`ManagerConfig::keepalive_timeout`]: 10 s.
pub const DEFAULT_KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(10);
/// Default [`ManagerConfig::command_timeout`]: 30 s.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest [`EndpointConfig::weight`].
pub const MAX_WEIGHT: u32 = 1000;
/// Default [`ManagerConfig::retry_budget`]: retries may be 20 % of the
/// [`SessionManager::run`](super::SessionManager::run) calls of the last
/// 10 s, plus 2 a second, so a fleet of callers cannot turn an outage into
/// a reconnect storm.
pub const DEFAULT_RETRY_BUDGET: BudgetConfig = BudgetConfig::Ratio {
    ratio: 0.2,
    min_retries_per_sec: 2,
    window: Duration::from_secs(10),
};

/// How [`SessionManager::acquire`](super::SessionManager::acquire) with
/// [`Target::Any`](super::Target::Any) picks an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Balancing {
    /// Each endpoint in turn.
    #[default]
    RoundRobin,
    /// The endpoint with the fewest sessions in use (ties: the first).
    LeastLoaded,
    /// Endpoints in proportion to [`EndpointConfig::weight`] (smooth
    /// weighted round robin, as nginx does).
    Weighted,
}

/// TLS for an endpoint (feature `tls`).
#[cfg(feature = "tls")]
#[derive(Clone)]
pub struct EndpointTls {
    /// Name checked against the host's certificate.
    pub server_name: String,
    /// The rustls config (see [`crate::tls::client_config`]).
    pub config: std::sync::Arc<rustls::ClientConfig>,
}

#[cfg(feature = "tls")]
impl std::fmt::Debug for EndpointTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EndpointTls")
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

/// One mainframe endpoint (a TN3270 server).
#[derive(Debug, Clone)]
pub struct EndpointConfig {
    /// Name in errors, stats, metrics and the audit log.
    pub name: String,
    /// `host:port`.
    pub address: String,
    /// TLS settings; `None` is plain TCP (feature `tls`).
    #[cfg(feature = "tls")]
    pub tls: Option<EndpointTls>,
    /// Share of new work under [`Balancing::Weighted`] (1..=1000).
    pub weight: u32,
    /// LU names to ask for, one per session, taken in turn and given back
    /// when a session closes; empty lets the host assign one. With LU
    /// names, an endpoint never holds more sessions than it has names.
    pub lu_pool: Vec<String>,
    /// Most sessions open on this endpoint.
    pub max_sessions: usize,
    /// Idle sessions kept open and signed on (refilled by
    /// [`SessionManager::maintain`](super::SessionManager::maintain)).
    pub min_idle: usize,
    /// New connections per second allowed (token bucket; `None`: no limit).
    pub connect_rate: Option<RateLimiterConfig>,
    /// The endpoint's circuit breaker (its `name` is set to the endpoint's).
    pub breaker: BreakerConfig,
}

impl EndpointConfig {
    /// An endpoint at `address` with the defaults: weight 1, no LU pool,
    /// [`DEFAULT_MAX_SESSIONS_PER_ENDPOINT`], no connection throttle, a
    /// breaker that opens after 5 failures in a row for 5 s.
    pub fn new(name: impl Into<String>, address: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            address: address.into(),
            #[cfg(feature = "tls")]
            tls: None,
            weight: 1,
            lu_pool: Vec::new(),
            max_sessions: DEFAULT_MAX_SESSIONS_PER_ENDPOINT,
            min_idle: 0,
            connect_rate: None,
            breaker: BreakerConfig {
                consecutive_failures: Some(5),
                open_backoff: Backoff::fixed(Duration::from_secs(5)),
                ..BreakerConfig::default()
            },
        }
    }

    /// Sessions this endpoint may hold: `max_sessions`, capped by the LU
    /// pool when there is one.
    pub fn capacity(&self) -> usize {
        if self.lu_pool.is_empty() {
            self.max_sessions
        } else {
            self.max_sessions.min(self.lu_pool.len())
        }
    }
}

/// Session manager settings. Every limit has a default and is checked by
/// [`ManagerConfig::validate`].
#[derive(Debug, Clone)]
pub struct ManagerConfig {
    /// The endpoints (at least one, names unique).
    pub endpoints: Vec<EndpointConfig>,
    /// How `Target::Any` picks an endpoint.
    pub balancing: Balancing,
    /// The terminal every session opens with (its `lu` is overridden by the
    /// endpoint's LU pool).
    pub session: SessionConfig,
    /// Signs a new session on before it is lent.
    pub login: LoginScript,
    /// Runs after `login` on every new session: brings it to the place in
    /// the application where work starts (a menu, a transaction screen).
    /// Login plus navigation make the logical session, which any endpoint
    /// re-establishes: a session that replaces one lost in a failover
    /// starts where the lost one did.
    pub navigation: LoginScript,
    /// Most sessions open over all endpoints.
    pub max_sessions: usize,
    /// Most callers waiting for a session at once; more get
    /// [`ManagerError::Busy`]. A session runs one command at a time (3270
    /// is half-duplex), so this bounds the commands pending for sessions.
    pub max_pending: usize,
    /// How long `acquire` waits by default.
    pub acquire_timeout: Duration,
    /// Connect + negotiate + login deadline for a new session.
    pub connect_timeout: Duration,
    /// Deadline of each command (key and wait) on a lent session.
    pub command_timeout: Duration,
    /// A session older than this is retired when it comes back or is checked.
    pub max_lifetime: Duration,
    /// A session idle this long is retired by `maintain`.
    pub idle_timeout: Duration,
    /// An idle session is probed (telnet TIMING-MARK) this often.
    pub keepalive_interval: Duration,
    /// A probe not answered within this is a dead (half-open) connection.
    pub keepalive_timeout: Duration,
    /// Retries of [`SessionManager::run`](super::SessionManager::run) on
    /// retryable errors (backoff with jitter). Its `backoff` also spaces
    /// the upkeep's attempts to refill `min_idle` on an endpoint whose
    /// opens fail.
    pub retry: RetryConfig,
    /// The budget every retry of [`SessionManager::run`](super::SessionManager::run)
    /// is charged to, shared by all callers of the manager (see
    /// [`DEFAULT_RETRY_BUDGET`]): when it is spent, `run` returns the last
    /// error instead of retrying.
    pub retry_budget: BudgetConfig,
    /// Phase budgets of the manager's
    /// [`Shutdown`](super::SessionManager::shutdown) coordinator.
    pub shutdown: ShutdownConfig,
}

impl Default for ManagerConfig {
    fn default() -> Self {
        Self {
            endpoints: Vec::new(),
            balancing: Balancing::default(),
            session: SessionConfig::default(),
            login: LoginScript::default(),
            navigation: LoginScript::default(),
            max_sessions: DEFAULT_MAX_SESSIONS,
            max_pending: DEFAULT_MAX_PENDING,
            acquire_timeout: DEFAULT_ACQUIRE_TIMEOUT,
            connect_timeout: Duration::from_secs(10),
            command_timeout: DEFAULT_COMMAND_TIMEOUT,
            max_lifetime: DEFAULT_MAX_LIFETIME,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            keepalive_interval: DEFAULT_KEEPALIVE_INTERVAL,
            keepalive_timeout: DEFAULT_KEEPALIVE_TIMEOUT,
            retry: RetryConfig {
                max_attempts: 3,
                backoff: Backoff::exponential(Duration::from_millis(50), Duration::from_secs(2))
                    .with_jitter(Jitter::Full),
                ..RetryConfig::default()
            },
            retry_budget: DEFAULT_RETRY_BUDGET,
            shutdown: ShutdownConfig::default(),
        }
    }
}

fn bad<T>(field: impl Into<String>, reason: &'static str) -> ManagerResult<T> {
    Err(ManagerError::Config {
        field: field.into(),
        reason,
    })
}

impl ManagerConfig {
    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> ManagerResult<()> {
        if self.endpoints.is_empty() {
            return bad("endpoints", "must name at least one endpoint");
        }
        if !(1..=MAX_LIMIT).contains(&self.max_sessions) {
            return bad("max_sessions", "must be in 1..=MAX_LIMIT");
        }
        if self.max_pending > MAX_LIMIT {
            return bad("max_pending", "must be at most MAX_LIMIT");
        }
        for (field, d) in [
            ("connect_timeout", self.connect_timeout),
            ("command_timeout", self.command_timeout),
            ("max_lifetime", self.max_lifetime),
            ("idle_timeout", self.idle_timeout),
            ("keepalive_interval", self.keepalive_interval),
            ("keepalive_timeout", self.keepalive_timeout),
        ] {
            if d.is_zero() {
                return bad(field, "must be above zero");
            }
        }
        if self.retry.validate().is_err() {
            return bad("retry", "is not a valid RetryConfig");
        }
        if self.retry_budget.validate().is_err() {
            return bad("retry_budget", "is not a valid BudgetConfig");
        }
        if self.shutdown.validate().is_err() {
            return bad("shutdown", "is not a valid ShutdownConfig");
        }
        self.session.validate().map_err(|_| ManagerError::Config {
            field: "session".into(),
            reason: "is not a valid SessionConfig",
        })?;
        for (i, e) in self.endpoints.iter().enumerate() {
            validate_endpoint(i, e)?;
            if self.endpoints[..i].iter().any(|o| o.name == e.name) {
                return bad(format!("endpoints[{i}].name"), "must be unique");
            }
        }
        Ok(())
    }
}

fn validate_endpoint(i: usize, e: &EndpointConfig) -> ManagerResult<()> {
    let field = |name: &str| format!("endpoints[{i}].{name}");
    if e.name.is_empty() {
        return bad(field("name"), "must not be empty");
    }
    if e.address.is_empty() {
        return bad(field("address"), "must not be empty");
    }
    if !(1..=MAX_WEIGHT).contains(&e.weight) {
        return bad(field("weight"), "must be in 1..=MAX_WEIGHT");
    }
    if !(1..=MAX_LIMIT).contains(&e.max_sessions) {
        return bad(field("max_sessions"), "must be in 1..=MAX_LIMIT");
    }
    if e.min_idle > e.capacity() {
        return bad(field("min_idle"), "must not exceed the endpoint's capacity");
    }
    if e.lu_pool.iter().any(String::is_empty) {
        return bad(field("lu_pool"), "must not hold an empty LU name");
    }
    if let Some(rate) = &e.connect_rate
        && rate.validate().is_err()
    {
        return bad(field("connect_rate"), "is not a valid RateLimiterConfig");
    }
    if e.breaker.validate().is_err() {
        return bad(field("breaker"), "is not a valid BreakerConfig");
    }
    Ok(())
}
