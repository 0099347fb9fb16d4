//! Thread starvation: the target's worker threads and a few busy hogs
//! pinned onto one CPU together, so the workers get a fraction of it.

use std::io;
use std::sync::atomic::Ordering;

use super::workers::Workers;
use super::{ResourceError, Result};

/// The most hog threads one [`ThreadStarvation`] starts.
pub const MAX_STARVE_HOGS: u32 = 64;

/// A CPU affinity mask (`cpu_set_t`).
#[derive(Clone, Copy)]
struct CpuSet(libc::cpu_set_t);

impl CpuSet {
    fn only(cpu: usize) -> Self {
        // SAFETY: cpu_set_t is a plain bit array; all-zero is the empty set.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        // SAFETY: CPU_SET bounds-checks `cpu` against the set's size.
        unsafe { libc::CPU_SET(cpu, &mut set) };
        Self(set)
    }

    fn first(&self) -> Option<usize> {
        let bits = 8 * std::mem::size_of::<libc::cpu_set_t>();
        // SAFETY: CPU_ISSET only reads the set, bounds-checked.
        (0..bits).find(|&cpu| unsafe { libc::CPU_ISSET(cpu, &self.0) })
    }

    #[cfg(test)]
    fn same(&self, other: &Self) -> bool {
        // SAFETY: CPU_EQUAL only reads both sets.
        unsafe { libc::CPU_EQUAL(&self.0, &other.0) }
    }
}

/// The affinity of thread `tid` (0: the calling thread).
fn affinity(tid: u32) -> io::Result<CpuSet> {
    let pid = libc::pid_t::try_from(tid).map_err(|_| io::Error::from_raw_os_error(libc::ESRCH))?;
    // SAFETY: all-zero is a valid (empty) cpu_set_t.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is writable and its size is passed.
    let rc = unsafe {
        libc::sched_getaffinity(pid, std::mem::size_of::<libc::cpu_set_t>(), &raw mut set)
    };
    if rc == 0 {
        Ok(CpuSet(set))
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Sets the affinity of thread `tid` (0: the calling thread).
fn set_affinity(tid: u32, set: &CpuSet) -> io::Result<()> {
    let pid = libc::pid_t::try_from(tid).map_err(|_| io::Error::from_raw_os_error(libc::ESRCH))?;
    // SAFETY: `set` is a valid cpu_set_t, read-only for the call.
    let rc = unsafe {
        libc::sched_setaffinity(
            pid,
            std::mem::size_of::<libc::cpu_set_t>(),
            &raw const set.0,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The Linux thread id of the calling thread, from `/proc/thread-self`.
///
/// # Errors
///
/// [`ResourceError::Probe`] if the link cannot be read.
pub fn current_tid() -> Result<u32> {
    let link = std::fs::read_link("/proc/thread-self").map_err(|source| ResourceError::Probe {
        what: "/proc/thread-self",
        source,
    })?;
    link.file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| ResourceError::Probe {
            what: "/proc/thread-self",
            source: io::Error::new(io::ErrorKind::InvalidData, "not PID/task/TID"),
        })
}

/// Pins the given threads and `hogs` busy threads onto one CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadStarvation {
    /// Busy threads sharing the CPU with the starved ones (0 ..= [`MAX_STARVE_HOGS`]).
    pub hogs: u32,
}

impl ThreadStarvation {
    /// Starvation by `hogs` busy threads.
    #[must_use]
    pub fn new(hogs: u32) -> Self {
        Self { hogs }
    }

    /// Pins `tids` (Linux thread ids of this process) and the hogs onto the
    /// first CPU this process may use; healing restores each thread's own
    /// mask. A thread that ended meanwhile is skipped.
    ///
    /// # Errors
    ///
    /// [`ResourceError::InvalidLimit`] for too many hogs,
    /// [`ResourceError::Unavailable`] when affinity cannot be set here (not
    /// permitted, say in a restricted container) — nothing is left pinned,
    /// [`ResourceError::Spawn`] if a hog cannot start.
    pub fn inject(&self, tids: &[u32]) -> Result<StarvationGuard> {
        if self.hogs > MAX_STARVE_HOGS {
            return Err(ResourceError::InvalidLimit {
                name: "hogs",
                value: u64::from(self.hogs),
                reason: "must be 0 ..= 64",
            });
        }
        let unavailable = |e: io::Error| ResourceError::Unavailable {
            reason: format!("sched_setaffinity: {e}"),
        };
        let cpu = affinity(0).map_err(unavailable)?.first().ok_or_else(|| {
            ResourceError::Unavailable {
                reason: "no CPU in this process's mask".into(),
            }
        })?;
        let one = CpuSet::only(cpu);
        let mut guard = StarvationGuard {
            cpu,
            restore: Vec::with_capacity(tids.len()),
            hogs: Workers::default(),
        };
        for &tid in tids {
            let original = match affinity(tid) {
                Ok(set) => set,
                Err(e) if e.raw_os_error() == Some(libc::ESRCH) => continue,
                Err(e) => return Err(unavailable(e)),
            };
            set_affinity(tid, &one).map_err(unavailable)?;
            guard.restore.push((tid, original));
        }
        for i in 0..self.hogs {
            guard
                .hogs
                .spawn(format!("ballast-starve-{i}"), move |stop| {
                    // Pinned or not, it spins; not pinned it only starves less.
                    let _ = set_affinity(0, &one);
                    while !stop.load(Ordering::Relaxed) {
                        std::hint::spin_loop();
                    }
                })?;
        }
        Ok(guard)
    }
}

/// A running [`ThreadStarvation`]; stops the hogs and restores every
/// pinned thread's affinity when dropped.
pub struct StarvationGuard {
    cpu: usize,
    restore: Vec<(u32, CpuSet)>,
    hogs: Workers,
}

impl std::fmt::Debug for StarvationGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tids: Vec<u32> = self.restore.iter().map(|(t, _)| *t).collect();
        f.debug_struct("StarvationGuard")
            .field("cpu", &self.cpu)
            .field("pinned", &tids)
            .field("hogs", &self.hogs.len())
            .finish()
    }
}

impl StarvationGuard {
    /// The CPU everything is pinned onto.
    #[must_use]
    pub fn cpu(&self) -> usize {
        self.cpu
    }

    /// The threads pinned (ended ones skipped).
    #[must_use]
    pub fn pinned(&self) -> Vec<u32> {
        self.restore.iter().map(|(t, _)| *t).collect()
    }

    /// Heals now.
    pub fn heal(mut self) {
        self.release();
    }

    fn release(&mut self) {
        self.hogs.stop();
        for (tid, original) in self.restore.drain(..) {
            // A thread that ended meanwhile has nothing to restore.
            let _ = set_affinity(tid, &original);
        }
    }
}

impl Drop for StarvationGuard {
    fn drop(&mut self) {
        self.release();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU64};
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    use super::*;

    /// The tests count hog threads by name: one at a time.
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

    /// Busy-loop iterations of the worker over `d`.
    fn progress(counter: &AtomicU64, d: Duration) -> u64 {
        let before = counter.load(Ordering::Relaxed);
        std::thread::sleep(d);
        counter.load(Ordering::Relaxed) - before
    }

    #[test]
    fn starved_threads_progress_less_and_get_their_affinity_back() {
        let _serial = SERIAL
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let counter = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel();
        let worker = {
            let (counter, stop) = (Arc::clone(&counter), Arc::clone(&stop));
            std::thread::spawn(move || {
                tx.send(current_tid().unwrap()).unwrap();
                let deadline = Instant::now() + Duration::from_secs(30);
                while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            })
        };
        let tid = rx.recv().unwrap();
        let original = affinity(tid).unwrap();
        let free = progress(&counter, Duration::from_millis(300));
        let guard = match ThreadStarvation::new(3).inject(&[tid]) {
            Ok(g) => g,
            Err(ResourceError::Unavailable { reason }) => {
                stop.store(true, Ordering::Relaxed);
                worker.join().unwrap();
                assert!(
                    std::env::var_os("CI").is_none(),
                    "affinity unavailable: {reason}"
                );
                eprintln!("skipped: {reason}");
                return;
            }
            Err(e) => panic!("{e}"),
        };
        assert_eq!(guard.pinned(), [tid]);
        assert!(affinity(tid).unwrap().same(&CpuSet::only(guard.cpu())));
        let starved = progress(&counter, Duration::from_millis(300));
        drop(guard);
        stop.store(true, Ordering::Relaxed);
        worker.join().unwrap();
        eprintln!("busy-loop counts in 300 ms: free {free}, starved {starved}");
        // Sharing one CPU with three spinning hogs it gets about a quarter
        // of that CPU; the bound only asks for clearly less.
        assert!(starved * 10 < free * 8, "free {free}, starved {starved}");
        let restored = affinity(tid);
        // The worker ended; if its tid is still readable the mask must match.
        if let Ok(mask) = restored {
            assert!(mask.same(&original));
        }
    }

    #[test]
    fn healing_restores_the_exact_mask_and_joins_the_hogs() {
        let _serial = SERIAL
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let tid = current_tid().unwrap();
        let original = affinity(tid).unwrap();
        let Ok(guard) = ThreadStarvation::new(1).inject(&[tid]) else {
            assert!(std::env::var_os("CI").is_none(), "affinity unavailable");
            return;
        };
        assert!(affinity(tid).unwrap().same(&CpuSet::only(guard.cpu())));
        guard.heal();
        assert!(
            affinity(tid).unwrap().same(&original),
            "mask restored exactly"
        );
        let hogs = std::fs::read_dir("/proc/self/task")
            .unwrap()
            .filter_map(std::result::Result::ok)
            .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
            .filter(|c| c.starts_with("ballast-starve"))
            .count();
        assert_eq!(hogs, 0);
    }

    #[test]
    fn a_vanished_thread_is_skipped_and_too_many_hogs_refused() {
        let guard = ThreadStarvation::new(0).inject(&[u32::MAX - 1]);
        if let Ok(g) = guard {
            assert!(g.pinned().is_empty());
        }
        assert!(matches!(
            ThreadStarvation::new(65).inject(&[]),
            Err(ResourceError::InvalidLimit { .. })
        ));
    }
}
