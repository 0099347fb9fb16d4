//! An object pool generic over a [`Manager`]: bounded size, min idle, acquire
//! timeout, idle timeout, max lifetime with jitter, health checks, broken
//! object eviction, stats and a graceful drain.
//!
//! One mutex guards the idle list and the size; checkout and return each
//! take it once. The clock is read only when a timeout or lifetime needs it.

mod config;
mod stats;

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

pub use config::{MAX_POOL_SIZE, Manager, PoolConfig};
pub use stats::{PoolStats, WAIT_BUCKETS};

use crate::backoff::SeededRng;
use crate::clock::{SharedClock, nanos, system_clock};
use crate::error::{CallError, ConfigError, Error};
use crate::sleep::{AsyncSleeper, SleepFuture};
use stats::Counters;

struct Entry<T> {
    object: T,
    expires_at: u64,
    idle_since: u64,
}

struct State<T> {
    idle: VecDeque<Entry<T>>,
    size: usize,
    closed: bool,
    /// A `min_idle` refill is creating an object (not counted in `size`).
    refilling: bool,
    rng: SeededRng,
    next_waiter: u64,
    wakers: VecDeque<(u64, Waker)>,
}

impl<T> State<T> {
    /// The size invariants, checked in debug builds wherever they change:
    /// every idle object counts in `size`, and `size` never passes
    /// `max_size` (a `min_idle` refill still creating is the one object
    /// outside it, so the pool holds at most `max_size + 1`).
    fn debug_check(&self, max_size: usize) {
        debug_assert!(
            self.idle.len() <= self.size,
            "{} idle objects but a size of {}",
            self.idle.len(),
            self.size
        );
        debug_assert!(
            self.size <= max_size,
            "pool size {} over max_size {max_size}",
            self.size
        );
    }
}

struct Inner<M: Manager> {
    manager: M,
    config: PoolConfig,
    clock: SharedClock,
    timed: bool,
    state: parking_lot::Mutex<State<M::Object>>,
    returned: parking_lot::Condvar,
    counters: Counters,
    sleeper: Option<Arc<dyn AsyncSleeper>>,
}

/// An object pool; cheap to clone (clones share the pool).
pub struct Pool<M: Manager> {
    inner: Arc<Inner<M>>,
}

impl<M: Manager> Clone for Pool<M> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<M: Manager> fmt::Debug for Pool<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("config", &self.inner.config)
            .field("stats", &self.stats())
            .finish()
    }
}

/// What [`Pool::drain`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DrainReport {
    /// Idle objects destroyed at once.
    pub idle_destroyed: usize,
    /// Lent objects that came back (and were destroyed) before the deadline.
    pub returned: usize,
    /// Lent objects still out at the deadline (destroyed when they return),
    /// counting a `min_idle` refill still creating (destroyed when ready).
    pub outstanding: usize,
}

/// A lent object; goes back to the pool on drop (or is destroyed if marked
/// broken, expired, or the pool is closed).
pub struct Pooled<M: Manager> {
    pool: Pool<M>,
    entry: Option<Entry<M::Object>>,
    broken: bool,
}

impl<M: Manager> fmt::Debug for Pooled<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pooled")
            .field("pool", &self.pool.inner.config.name)
            .field("broken", &self.broken)
            .finish()
    }
}

impl<M: Manager> Pooled<M> {
    /// Marks the object broken: it is destroyed instead of returned.
    pub fn mark_broken(&mut self) {
        self.broken = true;
    }
}

impl<M: Manager> Deref for Pooled<M> {
    type Target = M::Object;
    fn deref(&self) -> &M::Object {
        // Invariant: `entry` is only taken in `drop`.
        &self
            .entry
            .as_ref()
            .expect("entry present until drop")
            .object
    }
}

impl<M: Manager> DerefMut for Pooled<M> {
    fn deref_mut(&mut self) -> &mut M::Object {
        &mut self
            .entry
            .as_mut()
            .expect("entry present until drop")
            .object
    }
}

impl<M: Manager> Drop for Pooled<M> {
    fn drop(&mut self) {
        if let Some(entry) = self.entry.take() {
            self.pool.give_back(entry, self.broken);
        }
    }
}

/// What one non-blocking checkout attempt found.
enum Take<M: Manager> {
    Got(Pooled<M>),
    Reserved(Reservation<M>),
    MustWait,
}

/// Ends a `min_idle` refill if `Manager::create` unwinds, so a panicking
/// create neither stops refills for good nor keeps a drain waiting.
struct EndRefillOnUnwind<'p, M: Manager>(&'p Pool<M>);

impl<M: Manager> Drop for EndRefillOnUnwind<'_, M> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.end_refill();
        }
    }
}

/// A place in the pool reserved for an object being created; dropping it
/// unused (a failed or cancelled creation) gives the place back.
struct Reservation<M: Manager> {
    pool: Pool<M>,
    now: u64,
    expires_at: u64,
    armed: bool,
}

impl<M: Manager> Reservation<M> {
    fn fill(
        mut self,
        created: Result<M::Object, M::Error>,
    ) -> Result<Pooled<M>, CallError<M::Error>> {
        let counters = &self.pool.inner.counters;
        match created {
            Ok(object) => {
                self.armed = false;
                counters.created.fetch_add(1, Ordering::Relaxed);
                counters.checkouts.fetch_add(1, Ordering::Relaxed);
                let entry = Entry {
                    object,
                    expires_at: self.expires_at,
                    idle_since: self.now,
                };
                Ok(Pooled {
                    pool: self.pool.clone(),
                    entry: Some(entry),
                    broken: false,
                })
            }
            Err(e) => {
                counters.create_errors.fetch_add(1, Ordering::Relaxed);
                Err(CallError::Inner(e))
            }
        }
    }
}

impl<M: Manager> Drop for Reservation<M> {
    fn drop(&mut self) {
        if self.armed {
            self.pool.shrink();
        }
    }
}

impl<M: Manager> Pool<M> {
    /// Creates a pool on the system clock (no objects are created yet; call
    /// [`Pool::maintain`] to fill `min_idle`).
    pub fn new(manager: M, config: PoolConfig) -> Result<Self, ConfigError> {
        Self::with_clock(manager, config, system_clock(), None)
    }

    /// Creates a pool reading time from `clock`; `sleeper` enforces the
    /// acquire timeout for async callers.
    pub fn with_clock(
        manager: M,
        config: PoolConfig,
        clock: SharedClock,
        sleeper: Option<Arc<dyn AsyncSleeper>>,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        let timed = config.idle_timeout.is_some() || config.max_lifetime.is_some();
        let state = State {
            idle: VecDeque::with_capacity(config.max_size),
            size: 0,
            closed: false,
            refilling: false,
            rng: SeededRng::new(config.seed),
            next_waiter: 0,
            wakers: VecDeque::new(),
        };
        Ok(Self {
            inner: Arc::new(Inner {
                manager,
                config,
                clock,
                timed,
                state: parking_lot::Mutex::new(state),
                returned: parking_lot::Condvar::new(),
                counters: Counters::default(),
                sleeper,
            }),
        })
    }

    fn now(&self) -> u64 {
        if self.inner.timed {
            self.inner.clock.now_nanos()
        } else {
            0
        }
    }

    fn expires_at(&self, state: &mut State<M::Object>, now: u64) -> u64 {
        let Some(lifetime) = self.inner.config.max_lifetime else {
            return u64::MAX;
        };
        let jitter = state
            .rng
            .below_inclusive(nanos(self.inner.config.lifetime_jitter));
        now.saturating_add(nanos(lifetime)).saturating_sub(jitter)
    }

    fn is_stale(&self, entry: &Entry<M::Object>, now: u64) -> bool {
        entry.expires_at <= now
    }

    /// One checkout attempt without waiting.
    fn try_take(&self) -> Result<Take<M>, CallError<M::Error>> {
        loop {
            let now = self.now();
            let mut state = self.inner.state.lock();
            if state.closed {
                return Err(CallError::Rejected(Error::PoolClosed));
            }
            if let Some(entry) = state.idle.pop_front() {
                drop(state);
                if self.is_stale(&entry, now) {
                    self.destroy(entry.object, false);
                    continue;
                }
                if let Some(p) = self.checked(entry) {
                    return Ok(Take::Got(p));
                }
                continue;
            }
            if state.size < self.inner.config.max_size {
                state.size += 1;
                state.debug_check(self.inner.config.max_size);
                let expires_at = self.expires_at(&mut state, now);
                drop(state);
                let pool = self.clone();
                return Ok(Take::Reserved(Reservation {
                    pool,
                    now,
                    expires_at,
                    armed: true,
                }));
            }
            return Ok(Take::MustWait);
        }
    }

    fn checked(&self, mut entry: Entry<M::Object>) -> Option<Pooled<M>> {
        if self.inner.config.check_on_checkout
            && self.inner.manager.check(&mut entry.object).is_err()
        {
            self.destroy(entry.object, true);
            return None;
        }
        self.inner
            .counters
            .checkouts
            .fetch_add(1, Ordering::Relaxed);
        Some(Pooled {
            pool: self.clone(),
            entry: Some(entry),
            broken: false,
        })
    }

    /// Destroys an object that left the pool and frees its place.
    fn destroy(&self, object: M::Object, broken: bool) {
        self.inner.manager.destroy(object);
        self.inner
            .counters
            .destroyed
            .fetch_add(1, Ordering::Relaxed);
        if broken {
            self.inner.counters.broken.fetch_add(1, Ordering::Relaxed);
        }
        self.shrink();
    }

    fn shrink(&self) {
        let mut state = self.inner.state.lock();
        debug_assert!(state.size > 0, "an object left a pool of size 0");
        state.size -= 1;
        state.debug_check(self.inner.config.max_size);
        self.wake_one(&mut state);
    }

    fn wake_one(&self, state: &mut State<M::Object>) {
        if let Some((_, waker)) = state.wakers.pop_front() {
            waker.wake();
        }
        self.inner.returned.notify_one();
    }

    fn give_back(&self, mut entry: Entry<M::Object>, broken: bool) {
        let now = self.now();
        let mut state = self.inner.state.lock();
        if broken || state.closed || self.is_stale(&entry, now) {
            drop(state);
            self.destroy(entry.object, broken);
            return;
        }
        entry.idle_since = now;
        state.idle.push_front(entry);
        state.debug_check(self.inner.config.max_size);
        self.wake_one(&mut state);
    }

    /// One checkout attempt without waiting, creating synchronously.
    fn try_take_sync(&self) -> Result<Option<Pooled<M>>, CallError<M::Error>> {
        match self.try_take()? {
            Take::Got(p) => Ok(Some(p)),
            Take::Reserved(r) => r.fill(self.inner.manager.create()).map(Some),
            Take::MustWait => Ok(None),
        }
    }

    /// Borrows an object, blocking up to `acquire_timeout`.
    pub fn acquire(&self) -> Result<Pooled<M>, CallError<M::Error>> {
        if let Some(p) = self.try_take_sync()? {
            return Ok(p);
        }
        self.inner.counters.waits.fetch_add(1, Ordering::Relaxed);
        let start = self.inner.clock.now_nanos();
        let limit = self.inner.config.acquire_timeout;
        let deadline = std::time::Instant::now() + limit;
        loop {
            if let Some(p) = self.try_take_sync()? {
                self.record_wait(start);
                return Ok(p);
            }
            let mut state = self.inner.state.lock();
            let can_progress =
                !state.idle.is_empty() || state.size < self.inner.config.max_size || state.closed;
            if !can_progress
                && self
                    .inner
                    .returned
                    .wait_until(&mut state, deadline)
                    .timed_out()
            {
                drop(state);
                if let Some(p) = self.try_take_sync()? {
                    self.record_wait(start);
                    return Ok(p);
                }
                self.inner.counters.timeouts.fetch_add(1, Ordering::Relaxed);
                return Err(CallError::Rejected(Error::Timeout { limit }));
            }
        }
    }

    fn record_wait(&self, start: u64) {
        let waited = self.inner.clock.now_nanos().saturating_sub(start);
        self.inner
            .counters
            .record_wait(Duration::from_nanos(waited));
    }

    /// Borrows an object, waiting asynchronously up to `acquire_timeout`
    /// (enforced when the pool has an async sleeper); new objects come from
    /// [`Manager::create_async`]. Dropping the future gives back any place
    /// it reserved.
    pub async fn acquire_async(&self) -> Result<Pooled<M>, CallError<M::Error>> {
        let mut wait = WaitForObject {
            pool: self.clone(),
            waiter: None,
            timer: None,
            start: None,
        };
        loop {
            let take = self.try_take();
            if !matches!(take, Ok(Take::MustWait)) {
                wait.finish();
            }
            match take? {
                Take::Got(p) => return Ok(p),
                Take::Reserved(r) => return r.fill(self.inner.manager.create_async().await),
                Take::MustWait => (&mut wait).await.map_err(CallError::Rejected)?,
            }
        }
    }

    /// Destroys idle objects past `idle_timeout` (keeping `min_idle`) or past
    /// their lifetime, checks the remaining idle objects with
    /// `Manager::check`, and creates objects up to `min_idle`. Returns the
    /// number of objects destroyed. Call it periodically (see
    /// [`Pool::spawn_maintenance`]).
    pub fn maintain(&self) -> usize {
        let now = self.inner.clock.now_nanos();
        let mut evicted = Vec::new();
        let mut keep = VecDeque::new();
        {
            let mut state = self.inner.state.lock();
            let idle_timeout = self.inner.config.idle_timeout.map_or(u64::MAX, nanos);
            let min_idle = self.inner.config.min_idle;
            // Oldest idle objects are at the back.
            while let Some(entry) = state.idle.pop_back() {
                let idle_for = now.saturating_sub(entry.idle_since);
                let over_min = state.idle.len() + keep.len() >= min_idle;
                if self.is_stale(&entry, now) || (idle_for >= idle_timeout && over_min) {
                    evicted.push(entry);
                } else {
                    keep.push_front(entry);
                }
            }
        }
        let mut destroyed = evicted.len();
        for entry in evicted {
            self.destroy(entry.object, false);
        }
        destroyed += self.check_idle(keep);
        self.fill_min_idle();
        destroyed
    }

    fn check_idle(&self, entries: VecDeque<Entry<M::Object>>) -> usize {
        let mut broken = 0;
        for mut entry in entries {
            if self.inner.manager.check(&mut entry.object).is_err() {
                broken += 1;
                self.destroy(entry.object, true);
            } else {
                let mut state = self.inner.state.lock();
                if state.closed {
                    // A drain closed the pool while this object was out for
                    // its check; it counted the object as lent and waits
                    // for its place to be freed.
                    drop(state);
                    self.destroy(entry.object, false);
                    continue;
                }
                state.idle.push_back(entry);
                self.wake_one(&mut state);
            }
        }
        broken
    }

    /// Creates idle objects up to `min_idle`, one at a time and without
    /// holding a place: while the refill creates, acquirers still take free
    /// places (and create their own), so a slow create never keeps them
    /// waiting. A refilled object that finds the pool full (or closed) when
    /// it is ready is destroyed; so for the length of one create the pool
    /// may hold `max_size + 1` objects.
    fn fill_min_idle(&self) {
        loop {
            {
                let mut state = self.inner.state.lock();
                if state.closed
                    || state.refilling
                    || state.idle.len() >= self.inner.config.min_idle
                    || state.size >= self.inner.config.max_size
                {
                    return;
                }
                state.refilling = true;
            }
            let created = {
                let _unwind = EndRefillOnUnwind(self);
                self.inner.manager.create()
            };
            let counters = &self.inner.counters;
            let object = match created {
                Ok(object) => object,
                Err(_) => {
                    counters.create_errors.fetch_add(1, Ordering::Relaxed);
                    self.end_refill();
                    return;
                }
            };
            counters.created.fetch_add(1, Ordering::Relaxed);
            let mut state = self.inner.state.lock();
            if state.closed || state.size >= self.inner.config.max_size {
                drop(state);
                // Never counted in `size`, so no place to free.
                self.inner.manager.destroy(object);
                counters.destroyed.fetch_add(1, Ordering::Relaxed);
                self.end_refill();
                return;
            }
            state.refilling = false;
            state.size += 1;
            // Its lifetime and idle time start once it exists, not when the
            // refill began: a slow create must not make it look old.
            let now = self.inner.clock.now_nanos();
            let expires_at = self.expires_at(&mut state, now);
            state.idle.push_back(Entry {
                object,
                expires_at,
                idle_since: now,
            });
            state.debug_check(self.inner.config.max_size);
            self.wake_one(&mut state);
        }
    }

    /// Ends a refill that added nothing; a drain waits for refills too.
    fn end_refill(&self) {
        let mut state = self.inner.state.lock();
        state.refilling = false;
        drop(state);
        self.inner.returned.notify_all();
    }

    /// Runs [`Pool::maintain`] every `interval` on a background thread until
    /// the returned handle is dropped.
    pub fn spawn_maintenance(&self, interval: Duration) -> std::io::Result<MaintenanceHandle> {
        let pool = self.clone();
        let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("ballast-pool-maintenance".into())
            .spawn(move || {
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    stop_rx.recv_timeout(interval)
                {
                    pool.maintain();
                }
            })?;
        Ok(MaintenanceHandle {
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// Closes the pool: waiters and new checkouts get `Error::PoolClosed`,
    /// idle objects are destroyed, and lent objects are destroyed as they
    /// come back (as is an object a `min_idle` refill is still creating,
    /// once it is ready). Waits up to `deadline` for them and reports.
    pub fn drain(&self, deadline: Duration) -> DrainReport {
        let until = std::time::Instant::now() + deadline;
        let (idle, lent_at_start): (Vec<_>, usize) = {
            let mut state = self.inner.state.lock();
            state.closed = true;
            while let Some((_, waker)) = state.wakers.pop_front() {
                waker.wake();
            }
            self.inner.returned.notify_all();
            // Counted with the idle list taken, before any lent object can
            // come back. A refill still creating counts as lent: its object
            // is destroyed when it is ready.
            let lent = state.size - state.idle.len() + usize::from(state.refilling);
            (state.idle.drain(..).collect(), lent)
        };
        let idle_destroyed = idle.len();
        for entry in idle {
            self.destroy(entry.object, false);
        }
        let mut state = self.inner.state.lock();
        while (state.size > 0 || state.refilling)
            && !self
                .inner
                .returned
                .wait_until(&mut state, until)
                .timed_out()
        {}
        let outstanding = state.size + usize::from(state.refilling);
        DrainReport {
            idle_destroyed,
            returned: lent_at_start.saturating_sub(outstanding),
            outstanding,
        }
    }

    /// A snapshot of the pool's counters and gauges.
    pub fn stats(&self) -> PoolStats {
        let (idle, size) = {
            let state = self.inner.state.lock();
            (state.idle.len(), state.size)
        };
        let mut s = PoolStats {
            name: self.inner.config.name.clone(),
            in_use: size.saturating_sub(idle),
            idle,
            size,
            max_size: self.inner.config.max_size,
            ..PoolStats::default()
        };
        self.inner.counters.snapshot_into(&mut s);
        s
    }
}

/// Stops the maintenance thread when dropped.
#[derive(Debug)]
pub struct MaintenanceHandle {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for MaintenanceHandle {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Resolves when the pool may have an object (or place) for this waiter,
/// or with `Error::Timeout` when the acquire timeout passes.
struct WaitForObject<M: Manager> {
    pool: Pool<M>,
    waiter: Option<u64>,
    timer: Option<SleepFuture>,
    start: Option<u64>,
}

impl<M: Manager> Future for WaitForObject<M> {
    type Output = Result<(), Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let inner = Arc::clone(&this.pool.inner);
        if this.start.is_none() {
            this.start = Some(inner.clock.now_nanos());
            inner.counters.waits.fetch_add(1, Ordering::Relaxed);
            this.timer = inner
                .sleeper
                .as_ref()
                .map(|s| s.sleep(inner.config.acquire_timeout));
        }
        if !this.register(cx.waker()) {
            return Poll::Ready(Ok(()));
        }
        if let Some(timer) = this.timer.as_mut()
            && timer.as_mut().poll(cx).is_ready()
        {
            this.unregister();
            inner.counters.timeouts.fetch_add(1, Ordering::Relaxed);
            return Poll::Ready(Err(Error::Timeout {
                limit: inner.config.acquire_timeout,
            }));
        }
        Poll::Pending
    }
}

impl<M: Manager> WaitForObject<M> {
    /// Registers the waker; false if an object became available meanwhile.
    fn register(&mut self, waker: &Waker) -> bool {
        let mut state = self.pool.inner.state.lock();
        if !state.idle.is_empty() || state.size < self.pool.inner.config.max_size || state.closed {
            return false;
        }
        let id = *self.waiter.get_or_insert_with(|| {
            state.next_waiter += 1;
            state.next_waiter
        });
        match state.wakers.iter_mut().find(|(i, _)| *i == id) {
            Some(entry) => entry.1.clone_from(waker),
            None => state.wakers.push_back((id, waker.clone())),
        }
        true
    }

    /// Leaves the queue and records the wait, once the checkout is decided.
    fn finish(&mut self) {
        self.unregister();
        if let Some(start) = self.start.take() {
            self.pool.record_wait(start);
        }
    }

    fn unregister(&mut self) {
        let Some(id) = self.waiter.take() else { return };
        let mut state = self.pool.inner.state.lock();
        let before = state.wakers.len();
        state.wakers.retain(|(i, _)| *i != id);
        // Woken but leaving without an object: pass the wake-up on.
        if before == state.wakers.len()
            && (!state.idle.is_empty() || state.size < self.pool.inner.config.max_size)
            && let Some((_, waker)) = state.wakers.pop_front()
        {
            waker.wake();
        }
    }
}

impl<M: Manager> Drop for WaitForObject<M> {
    fn drop(&mut self) {
        self.unregister();
    }
}

#[cfg(all(test, not(loom)))]
mod tests;
