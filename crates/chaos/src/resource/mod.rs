//! Resource fault injectors: CPU, memory and file-descriptor pressure,
//! lock contention, thread starvation and a faulty disk.
//!
//! Each injector is a plain description ([`CpuHog`], [`MemoryBalloon`],
//! [`FdExhaustion`], [`LockContention`], [`ThreadStarvation`]) whose
//! `inject` starts the fault and returns a guard; the
//! fault lasts as long as the guard and is healed when it drops — also while
//! unwinding from a panic — or earlier through the guard's `heal`. Healing is
//! complete: the hog's threads are joined, the balloon's pages are unmapped
//! (RSS returns to where it was) and every held descriptor is closed (the
//! open-descriptor count returns to its exact baseline).
//!
//! The injectors act on the current process (the process that runs the
//! target under test). They need no root and no cgroup: what the machine
//! allows is probed from `/proc/self` and `getrlimit`, and every guard reports
//! the [`Fidelity`] it achieved, so a report can say how faithful the fault
//! was (for example, an fd hog whose soft limit was lowered because holding
//! a million descriptors is not reasonable).
//!
//! The probes [`open_fd_count`], [`free_fds`], [`rss_bytes`] and
//! [`thread_count`] are public so a harness can check, after a scenario, that
//! nothing leaked.
//!
//! [`LockContention`] holds a lock the target offers (a
//! [`LockHook`](crate::suite::LockHook)); [`ThreadStarvation`] pins the
//! target's worker threads and busy hogs onto one CPU and restores each
//! thread's own affinity mask on heal; [`DiskFaults`] is a shim the target
//! writes through, whose knobs slow writes, fail them with `EIO` or refuse
//! them with `ENOSPC`.
//!
//! Linux only (`/proc`, `mmap`, `RLIMIT_NOFILE`, `sched_setaffinity`),
//! except [`DiskFaults`] and [`LockContention`].
//!
//! # Example: the code under test with 4 descriptors left
//!
//! ```
//! use std::fs::File;
//! use ballast_chaos::resource::{FdExhaustion, open_fd_count};
//!
//! let baseline = open_fd_count()?;
//! {
//!     let fds = FdExhaustion::new(4).inject()?;
//!     println!("holding {} fds ({:?})", fds.held(), fds.fidelity());
//!     let kept: Vec<File> = (0..4).filter_map(|_| File::open("/dev/null").ok()).collect();
//!     assert_eq!(kept.len(), 4);
//!     assert!(File::open("/dev/null").is_err(), "EMFILE: the reserve is used up");
//! } // healed here, also on panic
//! assert_eq!(open_fd_count()?, baseline);
//! # Ok::<(), ballast_chaos::resource::ResourceError>(())
//! ```

#[cfg(target_os = "linux")]
mod cpu;
mod disk;
pub(crate) mod error;
#[cfg(target_os = "linux")]
mod fd;
mod load;
mod lock;
#[cfg(target_os = "linux")]
mod memory;
#[cfg(target_os = "linux")]
pub(crate) mod probe;
#[cfg(target_os = "linux")]
mod starve;
mod workers;

#[cfg(target_os = "linux")]
pub use cpu::{CpuHog, CpuHogGuard, DEFAULT_SLICE, MAX_HOG_THREADS};
pub use disk::{DEFAULT_DISK_SEED, DiskFaults, FaultyFile, MAX_DISK_DELAY};
pub use error::ResourceError;
#[cfg(target_os = "linux")]
pub use fd::{FdExhaustion, FdExhaustionGuard, MAX_HELD_FDS};
pub use load::{
    LOAD_CONNECT_TIMEOUT, LoadGuard, MAX_SLOWLORIS_CONNECTIONS, MAX_STORM_CONNECTIONS,
    MAX_STORM_THREADS, MAX_SYN_BURST, ReconnectStorm, Slowloris, SynBurst,
};
pub use lock::{LockContention, LockContentionGuard, MAX_LOCK_HOLD, MAX_LOCK_THREADS};
#[cfg(target_os = "linux")]
pub use memory::{BalloonGuard, MAX_BALLOON_BYTES, MemoryBalloon};
#[cfg(target_os = "linux")]
pub use probe::{
    anon_rss_bytes, free_fds, nofile_limit, open_fd_count, page_size, rss_bytes, thread_count,
};
#[cfg(target_os = "linux")]
pub use starve::{MAX_STARVE_HOGS, StarvationGuard, ThreadStarvation, current_tid};

/// How faithfully an injector reproduced the fault it was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fidelity {
    /// Exactly what was asked, in this process.
    Exact,
    /// The fd hog lowered the process's soft `RLIMIT_NOFILE` (restored on
    /// heal) because reaching the original limit would mean holding more
    /// than [`MAX_HELD_FDS`] descriptors; the reserve left is still exact.
    LoweredSoftLimit {
        /// The soft limit before the fault.
        original: u64,
        /// The soft limit while the fault is active.
        lowered: u64,
    },
    /// Fewer resources were taken than asked because the machine refused
    /// more (an `mmap` or `dup` failed); the guard reports what it holds.
    Partial,
}

/// The result type of the resource injectors.
pub type Result<T> = std::result::Result<T, ResourceError>;
