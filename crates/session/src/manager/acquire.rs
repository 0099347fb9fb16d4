//! Lending sessions: balancing under the lock, waiting with a deadline,
//! opening on a reserved place, and retrying work elsewhere.

use ballast_error::Coded;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ballast_resilience::RetryDecision;

use super::connector::Connector;
use super::error::{ManagerError, ManagerResult};
use super::guard::SessionGuard;
use super::pool::{Pick, PickLimits, Slot};
use super::{SessionManager, Target, endpoint_up, open};

impl<C: Connector> SessionManager<C> {
    /// Lends a session, waiting at most [`ManagerConfig::acquire_timeout`](super::ManagerConfig::acquire_timeout).
    pub fn acquire(&self, target: Target<'_>) -> ManagerResult<SessionGuard<C>> {
        self.acquire_within(target, self.inner.config.acquire_timeout)
    }

    /// Lends a session of `target`, waiting at most `timeout` for one to
    /// come back or to open.
    pub fn acquire_within(
        &self,
        target: Target<'_>,
        timeout: Duration,
    ) -> ManagerResult<SessionGuard<C>> {
        let in_flight = self.inner.shutdown.enter().ok_or(ManagerError::Draining)?;
        let allowed = self.allowed(target)?;
        let deadline = Instant::now() + timeout;
        let mut last_error = None;
        // Endpoints whose open failed in this call: each is tried at most
        // once, so a refusing endpoint cannot spin the loop, and trying
        // again later is `run`'s job (backoff, jitter, the retry budget).
        let mut failed = 0u64;
        // Bounded: every turn lends a session, returns, or (a failed open,
        // an expired idle session) shrinks what is left to try.
        loop {
            let pick = self.pick(allowed & !failed, deadline, &mut last_error)?;
            match pick {
                Pick::Idle(slot) => {
                    if let Some(slot) = self.check_out(slot) {
                        return Ok(SessionGuard::new(Arc::clone(&self.inner), slot, in_flight));
                    }
                }
                Pick::Open(ep, lu) => {
                    match open::open_session(&self.inner, ep, lu, self.open_deadline(deadline)) {
                        Ok(slot) => {
                            return Ok(SessionGuard::new(Arc::clone(&self.inner), slot, in_flight));
                        }
                        Err(e) => {
                            failed |= 1u64 << ep;
                            if allowed & !failed == 0 || Instant::now() >= deadline {
                                return Err(e);
                            }
                            last_error = Some(e);
                        }
                    }
                }
                Pick::Wait | Pick::NoEndpoint => {
                    return Err(last_error.unwrap_or(ManagerError::NoEndpointAvailable));
                }
            }
        }
    }

    /// When an open started now must be done: the connect timeout, or the
    /// acquire deadline if that comes first.
    fn open_deadline(&self, acquire_deadline: Instant) -> Instant {
        (Instant::now() + self.inner.config.connect_timeout).min(acquire_deadline)
    }

    /// The endpoints `target` allows, as a bit mask.
    fn allowed(&self, target: Target<'_>) -> ManagerResult<u64> {
        match target {
            Target::Any => Ok(mask(self.inner.endpoints.len())),
            Target::Endpoint(name) => self
                .inner
                .endpoints
                .iter()
                .position(|e| e.config.name == name)
                .map(|i| 1u64 << i)
                .ok_or_else(|| ManagerError::UnknownEndpoint(name.to_owned())),
        }
    }

    /// Picks under the lock, waiting for a session to come back while the
    /// endpoints are full. Returns `Wait`/`NoEndpoint` only when giving up.
    fn pick(
        &self,
        allowed: u64,
        deadline: Instant,
        last_error: &mut Option<ManagerError>,
    ) -> ManagerResult<Pick<C::Stream>> {
        let inner = &*self.inner;
        let limits = PickLimits {
            max_sessions: inner.config.max_sessions,
            capacity: &inner.capacity,
            weight: &inner.weight,
            balancing: inner.config.balancing,
        };
        let started = Instant::now();
        let mut books = inner.books.lock();
        loop {
            if inner.shutdown.is_triggered() {
                return Err(ManagerError::Draining);
            }
            match books.pick(allowed, self.up(), &limits) {
                Pick::Wait => {}
                Pick::NoEndpoint if last_error.is_none() => {
                    return Err(ManagerError::NoEndpointAvailable);
                }
                p => return Ok(p),
            }
            if books.waiting >= inner.config.max_pending {
                return Err(ManagerError::Busy {
                    waiting: books.waiting,
                    limit: inner.config.max_pending,
                });
            }
            books.waiting += 1;
            let timed_out = inner.freed.wait_until(&mut books, deadline).timed_out();
            books.waiting -= 1;
            if timed_out {
                let limit = inner.config.max_sessions.min(limits.capacity.iter().sum());
                return Err(last_error.take().unwrap_or(ManagerError::AcquireTimeout {
                    waited: started.elapsed(),
                    open: books.open,
                    limit,
                }));
            }
        }
    }

    /// Endpoints whose breaker lets work through, as a bit mask.
    fn up(&self) -> u64 {
        self.inner
            .endpoints
            .iter()
            .enumerate()
            .filter(|(_, e)| endpoint_up(&e.breaker))
            .fold(0, |m, (i, _)| m | (1 << i))
    }

    /// An idle session about to be lent: still young enough? Retires it
    /// otherwise (`None`).
    fn check_out(&self, mut slot: Box<Slot<C::Stream>>) -> Option<Box<Slot<C::Stream>>> {
        let now = self.inner.clock.now();
        if now.saturating_sub(slot.created) < self.inner.config.max_lifetime {
            return Some(slot);
        }
        self.inner.books.lock().retire(&mut slot, true);
        self.inner.retire(slot, "max lifetime reached");
        None
    }

    /// Runs `work` on a session of `target`, retrying retryable failures
    /// (a lost session, an endpoint down, a failed open) on another
    /// session with [`ManagerConfig::retry`](super::ManagerConfig::retry):
    /// backoff with jitter between attempts, each retry charged to the
    /// manager's shared [`ManagerConfig::retry_budget`](super::ManagerConfig::retry_budget)
    /// (spent, `run` returns the last error). `work` may run more than
    /// once: make it safe to repeat, or check before redoing it.
    pub fn run<T>(
        &self,
        target: Target<'_>,
        mut work: impl FnMut(&mut SessionGuard<C>) -> ManagerResult<T>,
    ) -> ManagerResult<T> {
        self.inner
            .retry
            .run(
                |_attempt| {
                    let mut guard = self.acquire(target)?;
                    work(&mut guard)
                },
                |r| match r {
                    Err(e) if e.is_retryable() => RetryDecision::Retry,
                    _ => RetryDecision::Done,
                },
            )
            .result
    }
}

fn mask(n: usize) -> u64 {
    if n >= 64 { u64::MAX } else { (1u64 << n) - 1 }
}
