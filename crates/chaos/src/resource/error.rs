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

ballast_error::catalog! {
    ResourceError => pub(crate) CATALOG {
        InvalidLimit { .. } => "BLST-RESOURCE-001", Caller,
            "a resource fault's limit is out of range",
            "Fix the value the message names (a duty cycle in 1–100 %, a cap above zero).";
        Probe { .. } => "BLST-RESOURCE-002", Transient,
            "the machine's resources could not be read",
            "The I/O error says why (/proc not mounted, permissions); the fault cannot be measured until it can.";
        Unavailable { .. } => "BLST-RESOURCE-003", Permanent,
            "this machine cannot inject the fault",
            "The reason names what is missing (cgroup v2, a file-descriptor limit to lower); run on a machine that has it, or skip the scenario.";
        Spawn(_) => "BLST-RESOURCE-004", Transient,
            "an injector thread could not start",
            "The process is out of threads or memory; free some and retry.";
    }
}
