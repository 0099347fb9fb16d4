//! The crate's error types.

use std::time::Duration;

/// A configuration value that failed validation, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
#[error("invalid config field `{field}`: {reason}")]
pub struct ConfigError {
    /// The field name, e.g. `"failure_rate_threshold"`.
    pub field: &'static str,
    /// Why the value is not accepted.
    pub reason: &'static str,
}

impl ConfigError {
    pub(crate) const fn new(field: &'static str, reason: &'static str) -> Self {
        Self { field, reason }
    }
}

/// Why a resilience primitive refused or cut off a call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The circuit breaker is open (or forced open, or out of half-open probes).
    #[error("circuit breaker rejected the call in state {state}")]
    CircuitOpen {
        /// The state that rejected the call.
        state: crate::breaker::BreakerState,
        /// How long until the breaker admits probes again, when known.
        retry_after: Option<Duration>,
    },
    /// The rate limiter has no capacity now.
    #[error("rate limit exceeded, next permit in {retry_after:?}")]
    RateLimited {
        /// How long until a permit is available.
        retry_after: Duration,
    },
    /// The bulkhead is full and the wait (if any) ran out.
    #[error("bulkhead full: {max_concurrent} calls in flight, waited {waited:?}")]
    BulkheadFull {
        /// The configured concurrency limit.
        max_concurrent: usize,
        /// How long the caller waited before giving up.
        waited: Duration,
    },
    /// The work did not finish within its deadline.
    #[error("timed out after {limit:?}")]
    Timeout {
        /// The deadline that was exceeded.
        limit: Duration,
    },
    /// The pool is draining or drained and hands out no more objects.
    #[error("pool is closed")]
    PoolClosed,
    /// The sync work panicked or its worker thread could not be started.
    #[error("worker failed: {reason}")]
    WorkerFailed {
        /// What went wrong.
        reason: String,
    },
    /// A configuration failed validation.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// The outcome of wrapping a fallible call: either this crate refused or cut
/// off the call, or the call itself returned an error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError<E> {
    /// The resilience layer refused or cut off the call.
    #[error(transparent)]
    Rejected(Error),
    /// The wrapped call ran and returned this error.
    #[error("call failed: {0}")]
    Inner(E),
}

impl<E> CallError<E> {
    /// Returns the wrapped call's error, if the call ran and failed.
    pub fn into_inner(self) -> Option<E> {
        match self {
            Self::Inner(e) => Some(e),
            Self::Rejected(_) => None,
        }
    }

    /// Returns the resilience error, if the call was refused or cut off.
    pub fn rejection(&self) -> Option<&Error> {
        match self {
            Self::Rejected(e) => Some(e),
            Self::Inner(_) => None,
        }
    }
}

ballast_error::catalog! {
    Error => pub(crate) CATALOG {
        CircuitOpen { .. } => "BLST-RESIL-001", Transient,
            "the circuit breaker refused the call",
            "Do not retry at once: the breaker lets a probe through after its open interval; meanwhile serve a fallback or fail fast.";
        RateLimited { .. } => "BLST-RESIL-002", Transient,
            "the rate limiter has no permit now",
            "Retry after the delay in the message, or raise the rate if the dependency can take it.";
        BulkheadFull { .. } => "BLST-RESIL-003", Transient,
            "the bulkhead's concurrent calls are all taken",
            "Back off and retry; sustained, raise `max_concurrent` or shed load.";
        Timeout { .. } => "BLST-RESIL-004", Transient,
            "the call did not finish within its deadline",
            "Retry if the call is safe to repeat; if it persists, the dependency is slow: raise the limit or check it.";
        PoolClosed => "BLST-RESIL-005", Permanent,
            "the pool is closed",
            "The pool was shut down; build a new one or stop sending work.";
        WorkerFailed { .. } => "BLST-RESIL-006", Permanent,
            "a pool worker failed while making or checking an object",
            "The reason in the message comes from the object manager; fix it (bad address, credentials).";
        Config(_) => "BLST-RESIL-007", Caller,
            "a resilience configuration value is invalid",
            "Fix the field the message names.";
    }
}

/// The one entry of [`ConfigError`]'s catalog (the same code as
/// [`Error::Config`]).
pub(crate) const CONFIG_CATALOG: &[ballast_error::CatalogEntry] = &[ballast_error::CatalogEntry {
    code: "BLST-RESIL-007",
    name: "ConfigError",
    class: ballast_error::ErrorClass::Caller,
    summary: "a resilience configuration value is invalid",
    recovery: "Fix the field the message names.",
}];

impl ballast_error::Coded for ConfigError {
    fn code(&self) -> &'static str {
        CONFIG_CATALOG[0].code
    }

    fn catalog() -> &'static [ballast_error::CatalogEntry] {
        CONFIG_CATALOG
    }

    fn entry(&self) -> &'static ballast_error::CatalogEntry {
        &CONFIG_CATALOG[0]
    }
}
