//! [`ManagerError`]: what the session manager reports.

use std::time::Duration;

/// Why the [`SessionManager`](super::SessionManager) refused or lost work.
///
/// [`Coded::is_retryable`](ballast_error::Coded::is_retryable) (class transient) tells which errors a caller (or
/// [`SessionManager::run`](super::SessionManager::run)) may retry on another
/// session: the work did not complete, and another endpoint may take it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManagerError {
    /// A configuration value is invalid.
    #[error("invalid manager config: {field} {reason}")]
    Config {
        /// The field at fault, e.g. `"endpoints[1].weight"`.
        field: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// No endpoint has that name.
    #[error("no endpoint named {0:?}")]
    UnknownEndpoint(String),
    /// No session became free (and none could be opened) before the acquire
    /// deadline.
    #[error("no session available within {waited:?} ({open} open, limit {limit})")]
    AcquireTimeout {
        /// How long the caller waited.
        waited: Duration,
        /// Sessions open when it gave up.
        open: usize,
        /// The session limit that applied (total or per endpoint).
        limit: usize,
    },
    /// Too many callers are already waiting for a session.
    #[error("busy: {waiting} callers already waiting (limit {limit})")]
    Busy {
        /// Callers waiting when this one was refused.
        waiting: usize,
        /// `ManagerConfig::max_pending`.
        limit: usize,
    },
    /// Every endpoint that could take the work has an open circuit breaker.
    #[error("no endpoint available: every circuit breaker is open")]
    NoEndpointAvailable,
    /// The endpoint's breaker opened while the work was in flight: the
    /// session was retired. Retryable.
    #[error("endpoint {endpoint} is down (circuit open)")]
    EndpointDown {
        /// The endpoint's name.
        endpoint: String,
    },
    /// The session failed under the work (connection closed, I/O error,
    /// timeout): it was retired. Retryable.
    #[error("session {session} on endpoint {endpoint} lost: {source}")]
    SessionLost {
        /// The endpoint's name.
        endpoint: String,
        /// The session id.
        session: u64,
        /// What failed.
        #[source]
        source: crate::Error,
    },
    /// Opening or signing on a new session failed. Retryable.
    #[error("connecting to endpoint {endpoint} failed: {source}")]
    Connect {
        /// The endpoint's name.
        endpoint: String,
        /// What failed.
        #[source]
        source: crate::Error,
    },
    /// The endpoint's connection rate limit has no permit now. Retryable.
    #[error("endpoint {endpoint} throttles new connections, next in {retry_after:?}")]
    Throttled {
        /// The endpoint's name.
        endpoint: String,
        /// How long until a connection permit is free.
        retry_after: Duration,
    },
    /// The manager is draining or stopped: it takes no new work.
    #[error("session manager is draining")]
    Draining,
    /// The drain deadline passed while this work was in flight.
    #[error("work cancelled by the manager's drain")]
    Cancelled,
    /// The work itself failed on a healthy session (a protected field, a
    /// locked keyboard, a wrong screen): not retried.
    #[error(transparent)]
    Session(crate::Error),
}

impl ManagerError {
    /// A short stable name for metrics labels and audit entries.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Config { .. } => "config",
            Self::UnknownEndpoint(_) => "unknown_endpoint",
            Self::AcquireTimeout { .. } => "acquire_timeout",
            Self::Busy { .. } => "busy",
            Self::NoEndpointAvailable => "no_endpoint",
            Self::EndpointDown { .. } => "endpoint_down",
            Self::SessionLost { .. } => "session_lost",
            Self::Connect { .. } => "connect",
            Self::Throttled { .. } => "throttled",
            Self::Draining => "draining",
            Self::Cancelled => "cancelled",
            Self::Session(_) => "session",
        }
    }
}

/// True when a session error means the connection is unusable (retire
/// the session and count a failure against the endpoint); false for
/// operator errors that leave the session as it was.
pub(crate) fn is_connection_error(e: &crate::Error) -> bool {
    use crate::Error as E;
    matches!(
        e,
        E::Closed
            | E::Io(_)
            | E::Timeout { .. }
            | E::Codec(_)
            | E::Protocol(_)
            | E::Limit { .. }
            | E::NotConnected
            | E::Tls(_)
            | E::DeviceTypeRejected { .. }
    )
}

/// The `Result` of manager operations.
pub type ManagerResult<T> = std::result::Result<T, ManagerError>;

ballast_error::catalog! {
    ManagerError => pub(crate) CATALOG {
        Config { .. } => "BLST-MANAGER-001", Caller,
            "a session manager configuration value is invalid",
            "Fix the field the message names (`endpoints[1].weight`, …).";
        UnknownEndpoint(_) => "BLST-MANAGER-002", Caller,
            "no endpoint has that name",
            "Use a name from `ManagerConfig::endpoints`.";
        AcquireTimeout { .. } => "BLST-MANAGER-003", Transient,
            "no session became free before the acquire deadline",
            "Retry later; if it persists, raise the session limits or the deadline, or add endpoints.";
        Busy { .. } => "BLST-MANAGER-004", Transient,
            "too many callers are already waiting for a session",
            "Back off and retry; sustained, it means more demand than sessions: raise `max_sessions` or shed load upstream.";
        NoEndpointAvailable => "BLST-MANAGER-005", Transient,
            "every endpoint's circuit breaker is open",
            "Wait for a breaker's half-open probe to succeed; check the hosts (the audit log names each failure).";
        EndpointDown { .. } => "BLST-MANAGER-006", Transient,
            "the endpoint's breaker opened while the work was in flight",
            "Retry: new work goes to the other endpoints; the session was retired.";
        SessionLost { .. } => "BLST-MANAGER-007", Transient,
            "the session failed under the work and was retired",
            "Retry on another session; the inner error says what failed.";
        Connect { .. } => "BLST-MANAGER-008", Transient,
            "opening or signing on a new session failed",
            "Retry; if every attempt fails, check the endpoint's address, TLS settings and the login script's credentials.";
        Throttled { .. } => "BLST-MANAGER-009", Transient,
            "the endpoint's connection rate limit has no permit now",
            "Retry after the delay in the message; raise the endpoint's connect rate if the host allows.";
        Draining => "BLST-MANAGER-010", Permanent,
            "the manager is draining and takes no new work",
            "Send the work to another instance; this one is shutting down.";
        Cancelled => "BLST-MANAGER-011", Permanent,
            "the drain deadline passed while the work was in flight",
            "The drain report lists the work; resubmit it elsewhere if it is safe to repeat.";
        Session(_) => "BLST-MANAGER-012", Caller,
            "the work itself failed on a healthy session",
            "The inner BLST-SESSION code says what (a protected field, a locked keyboard, a wrong screen); fix the work, not the session.";
    }
}
