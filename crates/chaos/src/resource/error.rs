//! The resource injectors' error type.

use std::io;

/// What can go wrong while starting a resource fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResourceError {
    /// A limit of the injector is out of its allowed range.
    #[error("invalid {name} = {value}: {reason}")]
    InvalidLimit {
        /// The limit's name, as in the scenario files.
        name: &'static str,
        /// The value that was given.
        value: u64,
        /// The allowed range.
        reason: &'static str,
    },
    /// Probing what the machine allows failed (`/proc/self`, `getrlimit`).
    #[error("cannot probe {what}: {source}")]
    Probe {
        /// What was being probed.
        what: &'static str,
        /// The operating system's error.
        source: io::Error,
    },
    /// The fault cannot be applied in this process as asked.
    #[error("cannot inject: {reason}")]
    Unavailable {
        /// Why, in words.
        reason: String,
    },
    /// Starting an injector thread failed.
    #[error("cannot start an injector thread: {0}")]
    Spawn(#[source] io::Error),
}
