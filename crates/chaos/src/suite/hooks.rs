//! What a target lets the harness reach inside it, for the faults that
//! act on the target rather than on its links: its clock, a shared lock,
//! its worker threads, its disk and its TLS certificate.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::resource::DiskFaults;

/// A shared structure of the target (a cache, a connection table) that a
/// `lock_contention` fault holds to make the target's own threads wait.
pub trait LockHook: Send + Sync {
    /// Takes the structure's lock, holds it for `hold`, releases it.
    fn hold(&self, hold: Duration);
}

/// The target's TLS certificate, for the `expired_certificate` fault.
pub trait CertificateHook: Send + Sync {
    /// Serves an expired certificate (`true`) or the valid one again
    /// (`false`) to connections made from now on.
    ///
    /// # Errors
    ///
    /// Why the certificate cannot be switched, in words.
    fn set_expired(&self, expired: bool) -> Result<(), String>;
}

/// The handles a target offers for in-process faults
/// ([`Target::hooks`](super::Target::hooks)); each is optional, and a fault
/// that needs one the target lacks ends the run with
/// [`SuiteError::Unsupported`](super::SuiteError::Unsupported).
#[derive(Clone, Default)]
pub struct TargetHooks {
    /// The clock the target and its clients read (`clock_jump`, `clock_skew`).
    pub clock: Option<Arc<ballast_clock::SkewedClock>>,
    /// A shared structure of the target (`lock_contention`).
    pub lock: Option<Arc<dyn LockHook>>,
    /// Linux thread ids of the target's worker threads (`thread_starvation`).
    pub threads: Vec<u32>,
    /// The disk shim the target writes through (`disk_slow`, `disk_fail`,
    /// `disk_full`).
    pub disk: Option<DiskFaults>,
    /// The target's TLS certificate (`expired_certificate`).
    pub certificate: Option<Arc<dyn CertificateHook>>,
}

impl fmt::Debug for TargetHooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TargetHooks")
            .field("clock", &self.clock)
            .field("lock", &self.lock.is_some())
            .field("threads", &self.threads)
            .field("disk", &self.disk)
            .field("certificate", &self.certificate.is_some())
            .finish()
    }
}
