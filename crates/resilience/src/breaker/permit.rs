//! The permit handed out by `CircuitBreaker::try_acquire`.

use std::fmt;

use super::{CircuitBreaker, Outcome};

#[derive(Debug, Clone, Copy)]
pub(super) enum PermitKind {
    Recorded,
    Probe { slot: usize, word: u64 },
    Passthrough,
}

/// Permission to make one call. Complete it with [`Permit::success`],
/// [`Permit::failure`] or [`Permit::record`]; dropping it records nothing and
/// returns a half-open probe slot, so a lost probe cannot wedge the breaker.
#[must_use = "a permit records nothing unless completed with success() or failure()"]
pub struct Permit<'a> {
    breaker: &'a CircuitBreaker,
    kind: PermitKind,
    started_nanos: u64,
    done: bool,
}

impl fmt::Debug for Permit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit")
            .field("breaker", &self.breaker.name())
            .field("kind", &self.kind)
            .finish()
    }
}

impl<'a> Permit<'a> {
    #[inline]
    pub(super) fn new(breaker: &'a CircuitBreaker, kind: PermitKind, started_nanos: u64) -> Self {
        Self {
            breaker,
            kind,
            started_nanos,
            done: false,
        }
    }

    /// True if this permit is one of the limited half-open probes.
    pub fn is_probe(&self) -> bool {
        matches!(self.kind, PermitKind::Probe { .. })
    }

    /// Records a success.
    #[inline]
    pub fn success(self) {
        self.record(Outcome::Success);
    }

    /// Records a failure.
    #[inline]
    pub fn failure(self) {
        self.record(Outcome::Failure);
    }

    /// Records `outcome`.
    #[inline]
    pub fn record(mut self, outcome: Outcome) {
        self.done = true;
        match self.kind {
            PermitKind::Recorded => self.breaker.record_closed(outcome, self.started_nanos),
            PermitKind::Probe { slot, word } => {
                self.breaker
                    .record_probe(outcome, slot, word, self.started_nanos)
            }
            PermitKind::Passthrough => {}
        }
    }
}

impl Drop for Permit<'_> {
    #[inline]
    fn drop(&mut self) {
        if !self.done
            && let PermitKind::Probe { slot, word } = self.kind
        {
            self.breaker.release_probe(slot, word);
        }
    }
}
