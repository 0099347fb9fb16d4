//! The resource baseline of a run with resource faults: open descriptors,
//! threads and anonymous RSS before the target starts and after it stops,
//! so a fault that was not healed completely (or a target that leaks under
//! it) shows.
//!
//! RSS here is `RssAnon` (heap, stacks, anonymous mappings), sampled after
//! glibc's `malloc_trim`: file-backed pages (code faulted in the first time
//! a path runs) and free memory the allocator kept are not leaks, and left
//! in they would swamp a 5 % bound on a small process.

use std::time::{Duration, Instant};

/// Longest wait, after the target stopped, for descriptors and threads to
/// come back to the baseline (threads end and sockets close asynchronously).
pub const SETTLE: Duration = Duration::from_secs(3);

/// Allowed RSS growth as a share of the baseline.
pub const RSS_GROWTH_SHARE: f64 = 0.05;

/// Allowed RSS growth in bytes when that is more than
/// [`RSS_GROWTH_SHARE`]: 1 MiB. A run keeps its history (about 250 bytes
/// an operation, a few thousand operations) for the report, so a suite's
/// anonymous RSS grows by a few hundred KiB a scenario by design; on a
/// process of a few MiB that is more than 5 %. Measured on the resource
/// category: +0.7 MiB for the first scenario (first use of the runtime),
/// +0.2 to +0.4 MiB for each one after.
pub const RSS_GROWTH_FLOOR: u64 = 1 << 20;

/// What the process held before the target started and after it stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceBaseline {
    /// Open file descriptors before the target started.
    pub fds_before: u64,
    /// Open file descriptors after it stopped (settled).
    pub fds_after: u64,
    /// Threads before the target started.
    pub threads_before: u64,
    /// Threads after it stopped (settled).
    pub threads_after: u64,
    /// Resident set size before, in bytes.
    pub rss_before: u64,
    /// Resident set size after, in bytes.
    pub rss_after: u64,
}

/// One figure of the process.
#[derive(Debug, Clone, Copy)]
pub(super) struct Sample {
    fds: u64,
    threads: u64,
    rss: u64,
}

impl Sample {
    /// Reads the process's figures; `None` off Linux or when `/proc` fails.
    pub(super) fn take() -> Option<Self> {
        #[cfg(target_os = "linux")]
        {
            use crate::resource::{anon_rss_bytes, open_fd_count, thread_count};
            // Hand freed heap pages back first, so RSS counts what is live
            // rather than what the allocator kept for later.
            #[cfg(target_env = "gnu")]
            // SAFETY: malloc_trim only walks glibc's own arenas; it takes
            // no pointer and is safe to call from any thread.
            unsafe {
                libc::malloc_trim(0);
            }
            Some(Self {
                fds: open_fd_count().ok()?,
                threads: thread_count().ok()?,
                rss: anon_rss_bytes().ok()?,
            })
        }
        #[cfg(not(target_os = "linux"))]
        {
            None
        }
    }

    /// Samples until descriptors and threads are back to `before` (or
    /// fewer), at most [`SETTLE`].
    pub(super) fn settled(before: &Self) -> Option<Self> {
        let deadline = Instant::now() + SETTLE;
        let mut now = Self::take()?;
        for _ in 0..SETTLE.as_millis() / 20 {
            if (now.fds <= before.fds && now.threads <= before.threads)
                || Instant::now() >= deadline
            {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
            now = Self::take()?;
        }
        Some(now)
    }
}

impl ResourceBaseline {
    pub(super) fn new(before: &Sample, after: &Sample) -> Self {
        Self {
            fds_before: before.fds,
            fds_after: after.fds,
            threads_before: before.threads,
            threads_after: after.threads,
            rss_before: before.rss,
            rss_after: after.rss,
        }
    }

    /// Largest RSS after that is not a leak: the baseline plus
    /// max([`RSS_GROWTH_SHARE`], [`RSS_GROWTH_FLOOR`]).
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    pub fn rss_limit(&self) -> u64 {
        let share = (self.rss_before as f64 * RSS_GROWTH_SHARE) as u64;
        self.rss_before.saturating_add(share.max(RSS_GROWTH_FLOOR))
    }

    /// What leaked: `(what, before, after)` for descriptors or threads that
    /// differ from the baseline and RSS over [`rss_limit`](Self::rss_limit).
    pub fn leaks(&self) -> Vec<(&'static str, u64, u64)> {
        let mut out = Vec::new();
        if self.fds_after != self.fds_before {
            out.push(("file descriptors", self.fds_before, self.fds_after));
        }
        if self.threads_after != self.threads_before {
            out.push(("threads", self.threads_before, self.threads_after));
        }
        if self.rss_after > self.rss_limit() {
            out.push(("rss bytes", self.rss_before, self.rss_after));
        }
        out
    }

    /// One line: `fds 12 → 12, threads 5 → 5, rss 10.2 → 11.0 MiB`.
    #[allow(clippy::cast_precision_loss)]
    pub fn summary(&self) -> String {
        let mib = |b: u64| b as f64 / f64::from(1u32 << 20);
        format!(
            "fds {} → {}, threads {} → {}, rss {:.1} → {:.1} MiB",
            self.fds_before,
            self.fds_after,
            self.threads_before,
            self.threads_after,
            mib(self.rss_before),
            mib(self.rss_after)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn baseline(fds: (u64, u64), threads: (u64, u64), rss: (u64, u64)) -> ResourceBaseline {
        ResourceBaseline {
            fds_before: fds.0,
            fds_after: fds.1,
            threads_before: threads.0,
            threads_after: threads.1,
            rss_before: rss.0,
            rss_after: rss.1,
        }
    }

    #[test]
    fn equal_figures_and_small_growth_are_no_leak() {
        let mib = 1 << 20;
        // The floor: 1 MiB on a small process; 5 % on a large one.
        assert!(
            baseline((10, 10), (4, 4), (4 * mib, 5 * mib))
                .leaks()
                .is_empty()
        );
        assert!(
            baseline((10, 10), (4, 4), (100 * mib, 105 * mib))
                .leaks()
                .is_empty()
        );
        assert!(
            baseline((10, 10), (4, 4), (1000 * mib, 1049 * mib))
                .leaks()
                .is_empty()
        );
    }

    #[test]
    fn a_descriptor_a_thread_or_much_memory_more_is_a_leak() {
        let mib = 1 << 20;
        let b = baseline((10, 11), (4, 5), (100 * mib, 106 * mib));
        let what: Vec<&str> = b.leaks().iter().map(|l| l.0).collect();
        assert_eq!(what, ["file descriptors", "threads", "rss bytes"]);
        let small = baseline((10, 10), (4, 4), (4 * mib, 5 * mib + 1));
        assert_eq!(small.leaks().len(), 1, "over the 1 MiB floor");
        let big = baseline((10, 10), (4, 4), (1000 * mib, 1051 * mib));
        assert_eq!(big.leaks().len(), 1, "5 % of a large process");
    }
}
