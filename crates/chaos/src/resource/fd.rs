//! File-descriptor exhaustion: hold descriptors until only a reserve is left.

use std::fs::File;

use super::probe::{nofile_limit, open_fd_count, set_nofile_soft};
use super::{Fidelity, ResourceError, Result};

/// The most descriptors one [`FdExhaustion`] holds; above this the soft
/// `RLIMIT_NOFILE` is lowered instead (see [`Fidelity::LoweredSoftLimit`]).
pub const MAX_HELD_FDS: u64 = 16_384;

/// Holds duplicates of `/dev/null` until only `reserve` descriptors can
/// still be opened below the soft `RLIMIT_NOFILE`; the next open after those
/// fails with `EMFILE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdExhaustion {
    /// Descriptors left free while the fault is active.
    pub reserve: u64,
}

impl FdExhaustion {
    /// Exhaustion that leaves `reserve` descriptors free.
    #[must_use]
    pub fn new(reserve: u64) -> Self {
        Self { reserve }
    }

    /// Takes the descriptors now.
    ///
    /// Descriptors opened or closed by other threads meanwhile shift the
    /// reserve by as many; check [`FdExhaustionGuard::free`] when it matters.
    ///
    /// # Errors
    ///
    /// [`ResourceError::Probe`] if the limits or open descriptors cannot be
    /// read, [`ResourceError::Unavailable`] if fewer than `reserve`
    /// descriptors are free already or `/dev/null` cannot be opened.
    pub fn inject(&self) -> Result<FdExhaustionGuard> {
        let (soft, hard) = nofile_limit()?;
        let open = open_fd_count()?;
        let free = soft.saturating_sub(open);
        if free < self.reserve {
            return Err(ResourceError::Unavailable {
                reason: format!(
                    "only {free} descriptors free, reserve {} asked",
                    self.reserve
                ),
            });
        }
        let mut guard = FdExhaustionGuard {
            held: Vec::new(),
            restore_soft: None,
            fidelity: Fidelity::Exact,
        };
        let mut to_hold = free - self.reserve;
        if to_hold > MAX_HELD_FDS {
            let lowered = open + MAX_HELD_FDS + self.reserve;
            set_nofile_soft(lowered, hard)?;
            guard.restore_soft = Some((soft, hard));
            guard.fidelity = Fidelity::LoweredSoftLimit {
                original: soft,
                lowered,
            };
            to_hold = MAX_HELD_FDS;
        }
        guard.hold(to_hold)?;
        Ok(guard)
    }
}

/// Held descriptors of an [`FdExhaustion`]; all closed (and the soft limit
/// restored, if it was lowered) when dropped.
#[derive(Debug)]
pub struct FdExhaustionGuard {
    held: Vec<File>,
    restore_soft: Option<(u64, u64)>,
    fidelity: Fidelity,
}

impl FdExhaustionGuard {
    fn hold(&mut self, count: u64) -> Result<()> {
        let null = File::open("/dev/null").map_err(|e| ResourceError::Unavailable {
            reason: format!("cannot open /dev/null: {e}"),
        })?;
        // `null` itself counts as one of the held descriptors.
        let mut remaining = count.saturating_sub(1);
        self.held.reserve(usize::try_from(count).unwrap_or(0));
        while remaining > 0 {
            match null.try_clone() {
                Ok(dup) => self.held.push(dup),
                Err(_) => {
                    self.fidelity = Fidelity::Partial;
                    break;
                }
            }
            remaining -= 1;
        }
        if count > 0 {
            self.held.push(null);
        }
        Ok(())
    }

    /// Number of descriptors held.
    #[must_use]
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// Descriptors that can still be opened right now.
    ///
    /// # Errors
    ///
    /// [`ResourceError::Probe`] if the probes fail.
    pub fn free(&self) -> Result<u64> {
        super::probe::free_fds()
    }

    /// How the reserve was reached.
    #[must_use]
    pub fn fidelity(&self) -> Fidelity {
        self.fidelity
    }

    /// Closes every held descriptor now.
    pub fn heal(mut self) {
        self.release();
    }

    fn release(&mut self) {
        self.held.clear();
        if let Some((soft, hard)) = self.restore_soft.take() {
            // Raising the soft limit back up to its old value, at most the
            // unchanged hard limit, is always allowed.
            let _ = set_nofile_soft(soft, hard);
        }
    }
}

impl Drop for FdExhaustionGuard {
    fn drop(&mut self) {
        self.release();
    }
}
