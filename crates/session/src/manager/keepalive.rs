//! Keepalive and upkeep: retire idle and old sessions, probe idle ones
//! with telnet TIMING-MARK, replace dead ones, keep `min_idle` open.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ballast_resilience::{Backoff, SeededRng};

use super::connector::Connector;
use super::pool::Slot;
use super::{SessionManager, endpoint_up, open};

/// Sessions [`SessionManager::maintain`] probes at once (one scoped
/// thread each).
pub const MAX_PARALLEL_PROBES: usize = 16;

/// What one [`SessionManager::maintain`] pass did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MaintenanceReport {
    /// Idle sessions retired for [`ManagerConfig::idle_timeout`](super::ManagerConfig::idle_timeout).
    pub idle_retired: usize,
    /// Sessions retired for [`ManagerConfig::max_lifetime`](super::ManagerConfig::max_lifetime).
    pub expired: usize,
    /// Idle sessions closed because their endpoint's breaker is open.
    pub endpoint_down: usize,
    /// Sessions probed with TIMING-MARK.
    pub probed: usize,
    /// Probed sessions that did not answer in time: retired as dead.
    pub dead: usize,
    /// Sessions opened to bring endpoints back to `min_idle`.
    pub opened: usize,
    /// Endpoints whose refill open failed in this pass: each waits out
    /// a backoff ([`ManagerConfig::retry`](super::ManagerConfig::retry)'s,
    /// on the manager's clock) before the next attempt.
    pub refill_failed: usize,
    /// Endpoints below `min_idle` skipped because their backoff after a
    /// failed refill has not passed yet.
    pub refill_deferred: usize,
}

/// An endpoint's backoff between failed `min_idle` refills.
#[derive(Debug, Default)]
pub(crate) struct RefillBackoff {
    failures: u32,
    previous: Duration,
    /// Clock time before which no refill is tried.
    not_before: Duration,
    rng: Option<SeededRng>,
}

impl RefillBackoff {
    /// Records a failed refill at `now`; returns the wait before the next.
    fn failed(&mut self, now: Duration, backoff: &Backoff, seed: u64) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let rng = self.rng.get_or_insert_with(|| SeededRng::new(seed));
        let delay = backoff.delay(self.failures, self.previous, rng);
        self.previous = delay;
        self.not_before = now.saturating_add(delay);
        delay
    }

    fn succeeded(&mut self) {
        self.failures = 0;
        self.previous = Duration::ZERO;
        self.not_before = Duration::ZERO;
    }
}

/// Why an idle session leaves the pool in a pass.
enum Due {
    IdleTimeout,
    Lifetime,
    EndpointDown,
    Probe,
}

impl<C: Connector> SessionManager<C> {
    /// One upkeep pass: retires idle sessions past the idle timeout or
    /// lifetime and those of endpoints whose breaker is open, probes the
    /// others that were quiet for a keepalive interval (a session that does
    /// not answer within the keepalive timeout is dead: retired and
    /// counted), then opens sessions up to each endpoint's `min_idle`.
    /// Probes run [`MAX_PARALLEL_PROBES`] at a time on scoped threads: a
    /// pass waits about one keepalive timeout per that many dead sessions.
    pub fn maintain(&self) -> MaintenanceReport {
        let inner = &*self.inner;
        let mut report = MaintenanceReport::default();
        let (leaving, probing) = self.sort_idle();
        for (slot, why) in leaving {
            let reason = match why {
                Due::IdleTimeout => {
                    report.idle_retired += 1;
                    "idle timeout"
                }
                Due::Lifetime => {
                    report.expired += 1;
                    "max lifetime reached"
                }
                _ => {
                    report.endpoint_down += 1;
                    "endpoint down"
                }
            };
            inner.retire(slot, reason);
        }
        report.probed = probing.len();
        report.dead = self.probe_all(probing);
        if !inner.shutdown.is_triggered() {
            self.refill(&mut report);
        }
        if let Some(log) = &inner.audit
            && let Err(e) = log.flush()
        {
            tracing::error!(error = %e, "audit log flush failed");
        }
        report
    }

    /// Takes the idle sessions that need something done out of the pool:
    /// those leaving (already off the books) and those to probe (still
    /// counted open, and in use while probed).
    #[allow(clippy::type_complexity)]
    fn sort_idle(&self) -> (Vec<(Box<Slot<C::Stream>>, Due)>, Vec<Box<Slot<C::Stream>>>) {
        let inner = &*self.inner;
        let now = inner.clock.now();
        let cfg = &inner.config;
        let mut leaving = Vec::new();
        let mut probing = Vec::new();
        let mut books = inner.books.lock();
        for i in 0..books.endpoints.len() {
            let up = endpoint_up(&inner.endpoints[i].breaker);
            let idle = std::mem::take(&mut books.endpoints[i].idle);
            for mut slot in idle {
                let due = if !up {
                    Some(Due::EndpointDown)
                } else if now.saturating_sub(slot.created) >= cfg.max_lifetime {
                    Some(Due::Lifetime)
                } else if now.saturating_sub(slot.last_used) >= cfg.idle_timeout {
                    Some(Due::IdleTimeout)
                } else if now.saturating_sub(slot.last_alive) >= cfg.keepalive_interval {
                    Some(Due::Probe)
                } else {
                    None
                };
                match due {
                    None => books.endpoints[i].idle.push(slot),
                    Some(Due::Probe) => {
                        books.endpoints[i].in_use += 1;
                        probing.push(slot);
                    }
                    Some(why) => {
                        books.retire(&mut slot, false);
                        leaving.push((slot, why));
                    }
                }
            }
        }
        (leaving, probing)
    }

    /// Probes `slots`, [`MAX_PARALLEL_PROBES`] at a time; returns how many
    /// were dead.
    fn probe_all(&self, mut slots: Vec<Box<Slot<C::Stream>>>) -> usize {
        let mut dead = 0;
        while !slots.is_empty() {
            let batch: Vec<_> = slots
                .drain(..slots.len().min(MAX_PARALLEL_PROBES))
                .collect();
            dead += std::thread::scope(|scope| {
                let probes: Vec<_> = batch
                    .into_iter()
                    .map(|slot| scope.spawn(move || self.probe(slot)))
                    .collect();
                // A probe that panicked lost its session: count it dead.
                probes
                    .into_iter()
                    .map(std::thread::ScopedJoinHandle::join)
                    .filter(|alive| !matches!(alive, Ok(true)))
                    .count()
            });
        }
        dead
    }

    /// Probes one session; true when it answered (it goes back idle).
    fn probe(&self, mut slot: Box<Slot<C::Stream>>) -> bool {
        let inner = &*self.inner;
        let timeout = inner.config.keepalive_timeout;
        let ep = &inner.endpoints[slot.endpoint];
        let span = tracing::debug_span!(parent: &slot.span, "tn3270_probe");
        let _entered = span.enter();
        let alive = slot.client.probe(timeout);
        let i = slot.endpoint;
        let mut books = inner.books.lock();
        books.endpoints[i].in_use -= 1;
        match alive {
            Ok(()) => {
                slot.last_alive = inner.clock.now();
                books.endpoints[i].idle.push(slot);
                drop(books);
                inner.freed.notify_all();
                true
            }
            Err(e) => {
                books.retire(&mut slot, false);
                drop(books);
                ep.counters.dead.fetch_add(1, Ordering::Relaxed);
                ep.counters.error(&e);
                if let Ok(p) = ep.breaker.try_acquire() {
                    p.failure();
                }
                tracing::warn!(error = %e, "keepalive probe failed: session dead");
                inner.retire(slot, "keepalive probe unanswered");
                false
            }
        }
    }

    /// Opens sessions up to each endpoint's `min_idle`, skipping endpoints
    /// still in their backoff after a failed refill.
    fn refill(&self, report: &mut MaintenanceReport) {
        let inner = &self.inner;
        for (i, e) in inner.endpoints.iter().enumerate() {
            if e.config.min_idle == 0 || !endpoint_up(&e.breaker) {
                continue;
            }
            let now = inner.clock.now();
            if now < e.refill.lock().not_before {
                if self.below_min_idle(i) {
                    report.refill_deferred += 1;
                }
                continue;
            }
            for _ in 0..e.config.min_idle {
                let Some(lu) = self.reserve_for_min_idle(i) else {
                    break;
                };
                let deadline = Instant::now() + inner.config.connect_timeout;
                match open::open_session(inner, i, lu, deadline) {
                    Ok(slot) => {
                        e.refill.lock().succeeded();
                        self.park_new(slot);
                        report.opened += 1;
                    }
                    Err(err) => {
                        let seed = inner.config.retry.seed ^ i as u64;
                        let wait = e
                            .refill
                            .lock()
                            .failed(now, &inner.config.retry.backoff, seed);
                        tracing::debug!(endpoint = %e.config.name, error = %err, wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX), "min_idle refill failed: backing off");
                        report.refill_failed += 1;
                        break;
                    }
                }
                if !endpoint_up(&e.breaker) {
                    break;
                }
            }
        }
    }

    /// A session opened by the upkeep goes idle into the pool.
    fn park_new(&self, mut slot: Box<Slot<C::Stream>>) {
        let inner = &self.inner;
        let mut books = inner.books.lock();
        if let Some(info) = books.sessions.get_mut(&slot.id) {
            info.lent = false;
        }
        slot.last_used = inner.clock.now();
        books.give_back(slot);
        drop(books);
        inner.freed.notify_all();
    }

    /// True when endpoint `i` holds fewer sessions than its `min_idle`.
    fn below_min_idle(&self, i: usize) -> bool {
        self.inner.books.lock().endpoints[i].open < self.inner.endpoints[i].config.min_idle
    }

    /// Reserves a place on endpoint `i` when it holds fewer than `min_idle`
    /// sessions open and the limits allow one more; `Some(lu)` if so.
    fn reserve_for_min_idle(&self, i: usize) -> Option<Option<String>> {
        let inner = &self.inner;
        let mut books = inner.books.lock();
        let cap = inner.endpoints[i].config.capacity();
        let e = &books.endpoints[i];
        if e.open >= inner.endpoints[i].config.min_idle
            || e.open >= cap
            || books.open >= inner.config.max_sessions
        {
            return None;
        }
        Some(books.reserve(i))
    }

    /// Runs [`SessionManager::maintain`] every `every` on a thread until
    /// the returned handle is dropped (or [`Maintenance::stop`]ped).
    pub fn spawn_maintenance(&self, every: Duration) -> std::io::Result<Maintenance> {
        let manager = self.clone();
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("session-manager-upkeep".into())
            .spawn(move || {
                let (lock, cv) = &*flag;
                let mut stopped = lock.lock().unwrap_or_else(|p| p.into_inner());
                while !*stopped {
                    drop(stopped);
                    manager.maintain();
                    stopped = lock.lock().unwrap_or_else(|p| p.into_inner());
                    if *stopped {
                        break;
                    }
                    stopped = cv
                        .wait_timeout(stopped, every)
                        .map(|(g, _)| g)
                        .unwrap_or_else(|p| p.into_inner().0);
                }
            })?;
        Ok(Maintenance {
            stop,
            thread: Some(thread),
        })
    }
}

/// The upkeep thread of [`SessionManager::spawn_maintenance`]; dropping it
/// stops the thread (after the pass under way) and joins it.
#[derive(Debug)]
pub struct Maintenance {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Maintenance {
    /// Stops and joins the thread.
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        let (lock, cv) = &*self.stop;
        *lock.lock().unwrap_or_else(|p| p.into_inner()) = true;
        cv.notify_all();
        if let Some(t) = self.thread.take()
            && t.join().is_err()
        {
            tracing::error!("session manager upkeep thread panicked");
        }
    }
}

impl Drop for Maintenance {
    fn drop(&mut self) {
        self.halt();
    }
}
