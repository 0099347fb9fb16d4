//! Counters of sessions and endpoints, their snapshots, and their
//! Prometheus text.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ballast_resilience::BreakerState;

use super::connector::ByteCounters;

/// Upper bounds of the round-trip latency buckets, in microseconds (the
/// last bucket, past 1 s, has no bound).
pub const LATENCY_BUCKETS_US: [u64; 12] = [
    100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 1_000_000,
];

/// Kinds of command errors counted apart, as named in metrics labels.
pub const ERROR_KINDS: [&str; 7] = [
    "closed", "io", "timeout", "protocol", "limit", "tls", "input",
];

/// The [`ERROR_KINDS`] index of a session error.
pub(crate) fn error_kind(e: &crate::Error) -> usize {
    use crate::Error as E;
    match e {
        E::Closed | E::NotConnected => 0,
        E::Io(_) => 1,
        E::Timeout { .. } => 2,
        E::Codec(_) | E::Protocol(_) | E::DeviceTypeRejected { .. } => 3,
        E::Limit { .. } => 4,
        E::Tls(_) => 5,
        _ => 6,
    }
}

/// A lock-free latency histogram (ballast-resilience has none to share:
/// its metrics are counters and gauges rendered by their owners).
#[derive(Debug, Default)]
pub(crate) struct Latency {
    buckets: [AtomicU64; LATENCY_BUCKETS_US.len() + 1],
    sum_us: AtomicU64,
}

impl Latency {
    pub(crate) fn record(&self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        let i = LATENCY_BUCKETS_US
            .iter()
            .position(|&b| us <= b)
            .unwrap_or(LATENCY_BUCKETS_US.len());
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(us, Ordering::Relaxed);
    }

    fn snapshot(&self) -> LatencyStats {
        LatencyStats {
            buckets: std::array::from_fn(|i| self.buckets[i].load(Ordering::Relaxed)),
            sum: Duration::from_micros(self.sum_us.load(Ordering::Relaxed)),
        }
    }
}

/// A latency histogram at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LatencyStats {
    /// Counts per bucket of [`LATENCY_BUCKETS_US`], then the overflow.
    pub buckets: [u64; LATENCY_BUCKETS_US.len() + 1],
    /// Sum of every recorded latency.
    pub sum: Duration,
}

impl LatencyStats {
    /// Recorded round trips.
    pub fn count(&self) -> u64 {
        self.buckets.iter().sum()
    }

    /// The bucket bound at or under which `q` (0..=1) of the round trips
    /// fell; `None` when empty or in the overflow bucket.
    pub fn quantile_upper_bound(&self, q: f64) -> Option<Duration> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let want = ((total as f64) * q.clamp(0.0, 1.0)).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= want {
                return LATENCY_BUCKETS_US
                    .get(i)
                    .map(|&us| Duration::from_micros(us));
            }
        }
        None
    }
}

/// Counters of one session.
#[derive(Debug, Default)]
pub(crate) struct SessionCounters {
    pub(crate) commands: AtomicU64,
    pub(crate) errors: [AtomicU64; ERROR_KINDS.len()],
    pub(crate) latency: Latency,
    pub(crate) bytes: Arc<ByteCounters>,
}

impl SessionCounters {
    pub(crate) fn error(&self, e: &crate::Error) {
        self.errors[error_kind(e)].fetch_add(1, Ordering::Relaxed);
    }
}

/// Counters of one endpoint.
#[derive(Debug, Default)]
pub(crate) struct EndpointCounters {
    pub(crate) commands: AtomicU64,
    pub(crate) connects: AtomicU64,
    pub(crate) connect_failures: AtomicU64,
    pub(crate) retired: AtomicU64,
    pub(crate) dead: AtomicU64,
    /// Sessions lost to failures whose replacement has not opened yet.
    awaiting_replacement: AtomicU64,
    reconnects: AtomicU64,
    pub(crate) errors: [AtomicU64; ERROR_KINDS.len()],
    pub(crate) latency: Latency,
    pub(crate) bytes: Arc<ByteCounters>,
}

impl EndpointCounters {
    pub(crate) fn error(&self, e: &crate::Error) {
        self.errors[error_kind(e)].fetch_add(1, Ordering::Relaxed);
    }

    /// A session was lost to a failure (broken, dead, endpoint down).
    pub(crate) fn lost(&self) {
        self.awaiting_replacement.fetch_add(1, Ordering::Relaxed);
    }

    /// A session opened: a reconnect when it replaces a lost one.
    pub(crate) fn opened(&self) {
        self.connects.fetch_add(1, Ordering::Relaxed);
        let replaced =
            self.awaiting_replacement
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
        if replaced.is_ok() {
            self.reconnects.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// One endpoint at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointStats {
    /// The endpoint's name.
    pub name: String,
    /// Its circuit breaker's state.
    pub breaker: BreakerState,
    /// Sessions open (idle, lent or being opened).
    pub open: usize,
    /// Sessions idle in the pool.
    pub idle: usize,
    /// Sessions lent to callers.
    pub in_use: usize,
    /// Commands (keys and waits) run.
    pub commands: u64,
    /// Bytes received from the host.
    pub bytes_read: u64,
    /// Bytes sent to the host.
    pub bytes_written: u64,
    /// Sessions opened and signed on.
    pub connects: u64,
    /// Opens or sign-ons that failed.
    pub connect_failures: u64,
    /// Opens that replaced a session lost to a failure (a broken
    /// connection, a dead keepalive probe, an endpoint down); opens that
    /// grow the pool or replace sessions closed by policy (idle, lifetime)
    /// are not reconnects.
    pub reconnects: u64,
    /// Sessions retired (broken, expired, idle, drained).
    pub retired: u64,
    /// Sessions found dead by a keepalive probe.
    pub dead: u64,
    /// Command errors by [`ERROR_KINDS`] index.
    pub errors: [u64; ERROR_KINDS.len()],
    /// Round-trip latency of commands.
    pub latency: LatencyStats,
}

impl EndpointStats {
    pub(crate) fn from_counters(
        name: &str,
        breaker: BreakerState,
        (open, idle, in_use): (usize, usize, usize),
        c: &EndpointCounters,
    ) -> Self {
        Self {
            name: name.to_owned(),
            breaker,
            open,
            idle,
            in_use,
            commands: c.commands.load(Ordering::Relaxed),
            bytes_read: c.bytes.read.load(Ordering::Relaxed),
            bytes_written: c.bytes.written.load(Ordering::Relaxed),
            connects: c.connects.load(Ordering::Relaxed),
            connect_failures: c.connect_failures.load(Ordering::Relaxed),
            reconnects: c.reconnects.load(Ordering::Relaxed),
            retired: c.retired.load(Ordering::Relaxed),
            dead: c.dead.load(Ordering::Relaxed),
            errors: std::array::from_fn(|i| c.errors[i].load(Ordering::Relaxed)),
            latency: c.latency.snapshot(),
        }
    }
}

/// One open session at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionStats {
    /// The session id (as in the audit log).
    pub id: u64,
    /// Its endpoint's name.
    pub endpoint: String,
    /// The LU it asked for, if any.
    pub lu: Option<String>,
    /// True while lent to a caller.
    pub in_use: bool,
    /// Commands run.
    pub commands: u64,
    /// Commands that failed, by [`ERROR_KINDS`] index.
    pub errors: [u64; ERROR_KINDS.len()],
    /// Round-trip latency of its commands.
    pub latency: LatencyStats,
    /// Bytes received.
    pub bytes_read: u64,
    /// Bytes sent.
    pub bytes_written: u64,
}

impl SessionStats {
    /// Commands that failed, of every kind.
    pub fn error_count(&self) -> u64 {
        self.errors.iter().sum()
    }
}

impl SessionStats {
    pub(crate) fn from_counters(
        id: u64,
        endpoint: &str,
        lu: Option<&str>,
        in_use: bool,
        c: &SessionCounters,
    ) -> Self {
        Self {
            id,
            endpoint: endpoint.to_owned(),
            lu: lu.map(str::to_owned),
            in_use,
            commands: c.commands.load(Ordering::Relaxed),
            errors: std::array::from_fn(|i| c.errors[i].load(Ordering::Relaxed)),
            latency: c.latency.snapshot(),
            bytes_read: c.bytes.read.load(Ordering::Relaxed),
            bytes_written: c.bytes.written.load(Ordering::Relaxed),
        }
    }
}

/// The manager at one moment: [`SessionManager::stats`](super::SessionManager::stats).
#[derive(Debug, Clone, PartialEq)]
pub struct ManagerStats {
    /// Per endpoint, in configuration order.
    pub endpoints: Vec<EndpointStats>,
    /// Every open session, by id.
    pub sessions: Vec<SessionStats>,
    /// Callers waiting for a session.
    pub waiting: usize,
}

impl ManagerStats {
    /// Sessions open over all endpoints.
    pub fn open(&self) -> usize {
        self.endpoints.iter().map(|e| e.open).sum()
    }
}
