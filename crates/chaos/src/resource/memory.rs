//! The memory balloon: anonymous pages mapped and touched at a rate.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::probe::page_size;
use super::{Fidelity, ResourceError, Result};

/// The largest balloon one [`MemoryBalloon`] inflates: 16 GiB.
pub const MAX_BALLOON_BYTES: u64 = 16 << 30;

/// Bytes mapped per step of inflation.
const CHUNK_BYTES: usize = 1 << 20;

/// A balloon that grows to `cap_bytes` at `rate_bytes_per_sec`, touching
/// every page so the resident set really grows, and gives all of it back to
/// the system (`munmap`) when healed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryBalloon {
    /// Size to grow to, in bytes (1 MiB ..= [`MAX_BALLOON_BYTES`]).
    pub cap_bytes: u64,
    /// Growth rate in bytes per second (at least 1 MiB/s).
    pub rate_bytes_per_sec: u64,
}

impl MemoryBalloon {
    /// A balloon of `cap_mb` MiB growing at `rate_mb_per_sec` MiB/s.
    #[must_use]
    pub fn from_mib(cap_mb: u64, rate_mb_per_sec: u64) -> Self {
        Self {
            cap_bytes: cap_mb.saturating_mul(1 << 20),
            rate_bytes_per_sec: rate_mb_per_sec.saturating_mul(1 << 20),
        }
    }

    fn validate(&self) -> Result<()> {
        if !((1 << 20)..=MAX_BALLOON_BYTES).contains(&self.cap_bytes) {
            return Err(ResourceError::InvalidLimit {
                name: "cap_bytes",
                value: self.cap_bytes,
                reason: "must be 1 MiB ..= 16 GiB",
            });
        }
        if self.rate_bytes_per_sec < (1 << 20) {
            return Err(ResourceError::InvalidLimit {
                name: "rate_bytes_per_sec",
                value: self.rate_bytes_per_sec,
                reason: "must be at least 1 MiB/s",
            });
        }
        Ok(())
    }

    /// Starts inflating in a background thread.
    ///
    /// # Errors
    ///
    /// [`ResourceError::InvalidLimit`] for a limit out of range,
    /// [`ResourceError::Spawn`] if the thread cannot start.
    pub fn inject(&self) -> Result<BalloonGuard> {
        self.validate()?;
        let state = Arc::new(BalloonState::default());
        let worker = Arc::clone(&state);
        let plan = *self;
        let handle = std::thread::Builder::new()
            .name("ballast-balloon".into())
            .spawn(move || inflate(&worker, plan))
            .map_err(ResourceError::Spawn)?;
        Ok(BalloonGuard {
            state,
            handle: Some(handle),
            cap_bytes: self.cap_bytes,
        })
    }
}

#[derive(Debug, Default)]
struct BalloonState {
    stop: AtomicBool,
    /// Set when the worker stops growing (cap reached, refused or stopped).
    done: AtomicBool,
    refused: AtomicBool,
    inflated: AtomicU64,
    chunks: Mutex<Vec<Mapping>>,
}

/// Grows the balloon chunk by chunk, pacing to the rate.
fn inflate(state: &BalloonState, plan: MemoryBalloon) {
    let start = Instant::now();
    let chunks = plan.cap_bytes.div_ceil(CHUNK_BYTES as u64);
    for i in 0..chunks {
        if state.stop.load(Ordering::Relaxed) {
            break;
        }
        let Some(mapping) = Mapping::touched(CHUNK_BYTES) else {
            state.refused.store(true, Ordering::Relaxed);
            break;
        };
        state
            .chunks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(mapping);
        let grown = (i + 1) * CHUNK_BYTES as u64;
        state.inflated.store(grown, Ordering::Relaxed);
        let due = Duration::from_secs_f64(grown as f64 / plan.rate_bytes_per_sec as f64);
        let ahead = due.saturating_sub(start.elapsed());
        pause(&state.stop, ahead);
    }
    state.done.store(true, Ordering::Release);
}

/// Sleeps for `ahead` in short steps, returning early once `stop` is set.
fn pause(stop: &AtomicBool, ahead: Duration) {
    let step = Duration::from_millis(5);
    let deadline = Instant::now() + ahead;
    for _ in 0..=ahead.as_millis() / step.as_millis() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stop.load(Ordering::Relaxed) {
            return;
        }
        std::thread::sleep(left.min(step));
    }
}

/// One anonymous private mapping, unmapped on drop.
#[derive(Debug)]
struct Mapping {
    addr: usize,
    len: usize,
}

impl Mapping {
    /// Maps `len` bytes and writes one byte per page so each is resident.
    fn touched(len: usize) -> Option<Self> {
        // SAFETY: an anonymous private mapping at an address the kernel
        // chooses aliases no Rust object; the result is checked below.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return None;
        }
        let mapping = Self {
            addr: ptr as usize,
            len,
        };
        let base = ptr.cast::<u8>();
        for offset in (0..len).step_by(page_size()) {
            // SAFETY: `offset < len`, inside the writable mapping just made,
            // which nothing else references.
            unsafe { base.add(offset).write_volatile(1) };
        }
        Some(mapping)
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `addr`/`len` are exactly one mapping made by `touched`,
        // unmapped only here, once; no reference into it outlives it.
        let _ = unsafe { libc::munmap(self.addr as *mut libc::c_void, self.len) };
    }
}

/// An inflating or inflated [`MemoryBalloon`]; unmaps every page when dropped.
#[derive(Debug)]
pub struct BalloonGuard {
    state: Arc<BalloonState>,
    handle: Option<JoinHandle<()>>,
    cap_bytes: u64,
}

impl BalloonGuard {
    /// Bytes mapped and touched so far.
    #[must_use]
    pub fn inflated_bytes(&self) -> u64 {
        self.state.inflated.load(Ordering::Relaxed)
    }

    /// Whether the balloon has stopped growing (cap reached or refused).
    #[must_use]
    pub fn is_done(&self) -> bool {
        self.state.done.load(Ordering::Acquire)
    }

    /// Waits, up to `limit`, for the balloon to stop growing; returns the
    /// bytes it holds.
    pub fn wait_inflated(&self, limit: Duration) -> u64 {
        let step = Duration::from_millis(5);
        let steps = limit.as_millis() / step.as_millis() + 1;
        for _ in 0..steps {
            if self.is_done() {
                break;
            }
            std::thread::sleep(step);
        }
        self.inflated_bytes()
    }

    /// [`Fidelity::Partial`] if the system refused a mapping before the
    /// cap, else [`Fidelity::Exact`].
    #[must_use]
    pub fn fidelity(&self) -> Fidelity {
        if self.state.refused.load(Ordering::Relaxed) && self.inflated_bytes() < self.cap_bytes {
            Fidelity::Partial
        } else {
            Fidelity::Exact
        }
    }

    /// Stops growing and returns every page to the system now.
    pub fn heal(mut self) {
        self.release();
    }

    fn release(&mut self) {
        self.state.stop.store(true, Ordering::Relaxed);
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
        self.state
            .chunks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        self.state.inflated.store(0, Ordering::Relaxed);
    }
}

impl Drop for BalloonGuard {
    fn drop(&mut self) {
        self.release();
    }
}
