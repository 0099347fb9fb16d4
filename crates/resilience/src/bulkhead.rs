//! Bulkhead: at most `max_concurrent` calls in flight, callers wait at most
//! `max_wait` for a slot. The uncontended path is one compare-and-swap; the
//! waiting path parks threads on a condvar and async tasks on a waker queue.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::error::{CallError, ConfigError, Error};
use crate::loom::{AtomicU64, AtomicUsize, Ordering};
use crate::sleep::{AsyncSleeper, SleepFuture};

/// Bulkhead settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BulkheadConfig {
    /// Calls allowed in flight at once.
    pub max_concurrent: usize,
    /// How long a caller may wait for a slot; zero means fail fast.
    #[serde(with = "crate::serde_config::duration")]
    pub max_wait: Duration,
}

impl Default for BulkheadConfig {
    /// 25 concurrent calls, no waiting (as resilience4j).
    fn default() -> Self {
        Self {
            max_concurrent: 25,
            max_wait: Duration::ZERO,
        }
    }
}

impl BulkheadConfig {
    /// Checks every field, naming the first bad one.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.max_concurrent == 0 {
            return Err(ConfigError::new("max_concurrent", "must be at least 1"));
        }
        Ok(())
    }
}

/// Bulkhead counters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BulkheadStats {
    /// Name used in metrics.
    pub name: String,
    /// Calls in flight now.
    pub in_flight: usize,
    /// The limit.
    pub max_concurrent: usize,
    /// Calls admitted.
    pub admitted: u64,
    /// Calls refused (full, or the wait ran out).
    pub rejected: u64,
    /// Calls that had to wait.
    pub waited: u64,
}

#[derive(Default)]
struct Waiters {
    next_id: u64,
    queue: VecDeque<(u64, Waker)>,
}

struct Inner {
    name: String,
    config: BulkheadConfig,
    in_flight: AtomicUsize,
    waiting: AtomicUsize,
    admitted: AtomicU64,
    rejected: AtomicU64,
    waited: AtomicU64,
    lock: parking_lot::Mutex<Waiters>,
    freed: parking_lot::Condvar,
    sleeper: Option<Arc<dyn AsyncSleeper>>,
}

/// A bulkhead; cheap to clone (clones share the limit).
#[derive(Clone)]
pub struct Bulkhead {
    inner: Arc<Inner>,
}

impl fmt::Debug for Bulkhead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bulkhead")
            .field("name", &self.inner.name)
            .field("config", &self.inner.config)
            .field("in_flight", &self.inner.in_flight.load(Ordering::Relaxed))
            .finish()
    }
}

/// A slot in the bulkhead, released on drop.
#[must_use = "the slot is released as soon as the permit is dropped"]
pub struct BulkheadPermit<'a> {
    bulkhead: &'a Bulkhead,
}

impl fmt::Debug for BulkheadPermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BulkheadPermit")
            .field("bulkhead", &self.bulkhead.inner.name)
            .finish()
    }
}

impl Drop for BulkheadPermit<'_> {
    #[inline]
    fn drop(&mut self) {
        self.bulkhead.release();
    }
}

impl Bulkhead {
    /// Creates a bulkhead. `sleeper` enforces `max_wait` for async callers;
    /// without one, async callers wait without a time limit.
    pub fn new(
        name: impl Into<String>,
        config: BulkheadConfig,
        sleeper: Option<Arc<dyn AsyncSleeper>>,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self {
            inner: Arc::new(Inner {
                name: name.into(),
                config,
                in_flight: AtomicUsize::new(0),
                waiting: AtomicUsize::new(0),
                admitted: AtomicU64::new(0),
                rejected: AtomicU64::new(0),
                waited: AtomicU64::new(0),
                lock: parking_lot::Mutex::new(Waiters::default()),
                freed: parking_lot::Condvar::new(),
                sleeper,
            }),
        })
    }

    /// Takes a slot if one is free now.
    #[inline]
    pub fn try_acquire(&self) -> Option<BulkheadPermit<'_>> {
        let inflight = &self.inner.in_flight;
        let mut cur = inflight.load(Ordering::Relaxed);
        while cur < self.inner.config.max_concurrent {
            match inflight.compare_exchange_weak(cur, cur + 1, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) => return Some(BulkheadPermit { bulkhead: self }),
                Err(seen) => cur = seen,
            }
        }
        None
    }

    #[inline]
    fn release(&self) {
        self.inner.in_flight.fetch_sub(1, Ordering::Release);
        if self.inner.waiting.load(Ordering::SeqCst) > 0 {
            self.wake_one();
        }
    }

    #[cold]
    fn wake_one(&self) {
        let mut waiters = self.inner.lock.lock();
        if let Some((_, waker)) = waiters.queue.pop_front() {
            waker.wake();
        }
        drop(waiters);
        self.inner.freed.notify_one();
    }

    fn full(&self, waited: Duration) -> Error {
        self.inner.rejected.fetch_add(1, Ordering::Relaxed);
        Error::BulkheadFull {
            max_concurrent: self.inner.config.max_concurrent,
            waited,
        }
    }

    /// Takes a slot, blocking up to `max_wait`.
    pub fn acquire_blocking(&self) -> Result<BulkheadPermit<'_>, Error> {
        if let Some(p) = self.try_acquire() {
            self.inner.admitted.fetch_add(1, Ordering::Relaxed);
            return Ok(p);
        }
        let max_wait = self.inner.config.max_wait;
        if max_wait.is_zero() {
            return Err(self.full(Duration::ZERO));
        }
        self.inner.waited.fetch_add(1, Ordering::Relaxed);
        let start = Instant::now();
        let deadline = start + max_wait;
        let mut guard = self.inner.lock.lock();
        self.inner.waiting.fetch_add(1, Ordering::SeqCst);
        let result = loop {
            if let Some(p) = self.try_acquire() {
                break Ok(p);
            }
            if self
                .inner
                .freed
                .wait_until(&mut guard, deadline)
                .timed_out()
            {
                break self.try_acquire().ok_or(());
            }
        };
        self.inner.waiting.fetch_sub(1, Ordering::SeqCst);
        drop(guard);
        match result {
            Ok(p) => {
                self.inner.admitted.fetch_add(1, Ordering::Relaxed);
                Ok(p)
            }
            Err(()) => Err(self.full(start.elapsed())),
        }
    }

    /// Runs `f` in a slot (waiting up to `max_wait`).
    pub fn call<T, E>(&self, f: impl FnOnce() -> Result<T, E>) -> Result<T, CallError<E>> {
        let _permit = self.acquire_blocking().map_err(CallError::Rejected)?;
        f().map_err(CallError::Inner)
    }

    /// Takes a slot, waiting asynchronously up to `max_wait`.
    pub fn acquire_async(&self) -> AcquireSlot<'_> {
        AcquireSlot {
            bulkhead: self,
            id: None,
            timer: None,
            started: None,
        }
    }

    /// Awaits `fut` in a slot (waiting up to `max_wait`).
    pub async fn call_async<T, E, F>(&self, fut: F) -> Result<T, CallError<E>>
    where
        F: Future<Output = Result<T, E>>,
    {
        let _permit = self.acquire_async().await.map_err(CallError::Rejected)?;
        fut.await.map_err(CallError::Inner)
    }

    /// Counters so far.
    pub fn stats(&self) -> BulkheadStats {
        let i = &self.inner;
        BulkheadStats {
            name: i.name.clone(),
            in_flight: i.in_flight.load(Ordering::Relaxed),
            max_concurrent: i.config.max_concurrent,
            admitted: i.admitted.load(Ordering::Relaxed),
            rejected: i.rejected.load(Ordering::Relaxed),
            waited: i.waited.load(Ordering::Relaxed),
        }
    }
}

/// Future returned by [`Bulkhead::acquire_async`].
#[must_use = "futures do nothing unless awaited"]
pub struct AcquireSlot<'a> {
    bulkhead: &'a Bulkhead,
    id: Option<u64>,
    timer: Option<SleepFuture>,
    started: Option<Instant>,
}

impl fmt::Debug for AcquireSlot<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AcquireSlot")
            .field("bulkhead", &self.bulkhead.inner.name)
            .finish_non_exhaustive()
    }
}

impl<'a> Future for AcquireSlot<'a> {
    type Output = Result<BulkheadPermit<'a>, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let bulkhead = this.bulkhead;
        let inner = &bulkhead.inner;
        if let Some(p) = bulkhead.try_acquire() {
            this.unregister();
            inner.admitted.fetch_add(1, Ordering::Relaxed);
            return Poll::Ready(Ok(p));
        }
        if inner.config.max_wait.is_zero() {
            return Poll::Ready(Err(bulkhead.full(Duration::ZERO)));
        }
        if this.started.is_none() {
            this.started = Some(Instant::now());
            inner.waited.fetch_add(1, Ordering::Relaxed);
            this.timer = inner
                .sleeper
                .as_ref()
                .map(|s| s.sleep(inner.config.max_wait));
        }
        this.register(cx.waker());
        // A slot may have been freed between the first try and registering.
        if let Some(p) = bulkhead.try_acquire() {
            this.unregister();
            inner.admitted.fetch_add(1, Ordering::Relaxed);
            return Poll::Ready(Ok(p));
        }
        if let Some(timer) = this.timer.as_mut()
            && timer.as_mut().poll(cx).is_ready()
        {
            this.unregister();
            let waited = this.started.map_or(Duration::ZERO, |s| s.elapsed());
            return Poll::Ready(Err(bulkhead.full(waited)));
        }
        Poll::Pending
    }
}

impl AcquireSlot<'_> {
    fn register(&mut self, waker: &Waker) {
        let inner = &self.bulkhead.inner;
        let mut waiters = inner.lock.lock();
        let id = match self.id {
            Some(id) => id,
            None => {
                inner.waiting.fetch_add(1, Ordering::SeqCst);
                waiters.next_id += 1;
                waiters.next_id
            }
        };
        self.id = Some(id);
        match waiters.queue.iter_mut().find(|(i, _)| *i == id) {
            Some(entry) => entry.1.clone_from(waker),
            None => waiters.queue.push_back((id, waker.clone())),
        }
    }

    fn unregister(&mut self) {
        let Some(id) = self.id.take() else { return };
        let inner = &self.bulkhead.inner;
        let mut waiters = inner.lock.lock();
        let before = waiters.queue.len();
        waiters.queue.retain(|(i, _)| *i != id);
        let was_woken = before == waiters.queue.len();
        inner.waiting.fetch_sub(1, Ordering::SeqCst);
        drop(waiters);
        // If this waiter was woken but does not take the slot, pass it on.
        if was_woken && inner.in_flight.load(Ordering::Acquire) < inner.config.max_concurrent {
            self.bulkhead.wake_one();
        }
    }
}

impl Drop for AcquireSlot<'_> {
    fn drop(&mut self) {
        self.unregister();
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn bulkhead(max: usize, wait_ms: u64) -> Bulkhead {
        let config = BulkheadConfig {
            max_concurrent: max,
            max_wait: Duration::from_millis(wait_ms),
        };
        Bulkhead::new("test", config, None).unwrap()
    }

    #[test]
    fn refuses_calls_beyond_the_limit_and_frees_slots_on_drop() {
        let b = bulkhead(2, 0);
        let p1 = b.try_acquire().unwrap();
        let _p2 = b.acquire_blocking().unwrap();
        assert!(matches!(
            b.acquire_blocking(),
            Err(Error::BulkheadFull {
                max_concurrent: 2,
                ..
            })
        ));
        drop(p1);
        assert!(b.call(|| Ok::<_, ()>(1)).is_ok());
        assert_eq!(b.stats().rejected, 1);
    }

    #[test]
    fn blocked_caller_gets_the_slot_when_it_is_released() {
        let b = bulkhead(1, 10_000);
        let permit = b.try_acquire().unwrap();
        std::thread::scope(|s| {
            let waiter = s.spawn(|| b.call(|| Ok::<_, ()>("ran")));
            while b.inner.waiting.load(Ordering::SeqCst) == 0 {
                std::thread::yield_now();
            }
            drop(permit);
            assert_eq!(waiter.join().unwrap(), Ok("ran"));
        });
        assert_eq!(b.stats().waited, 1);
    }

    #[test]
    fn concurrency_never_exceeds_the_limit_under_stress() {
        let b = bulkhead(3, 60_000);
        let peak = AtomicUsize::new(0);
        let current = AtomicUsize::new(0);
        let done = AtomicU64::new(0);
        std::thread::scope(|s| {
            for _ in 0..6 {
                s.spawn(|| {
                    for _ in 0..2000 {
                        b.call(|| {
                            let now = current.fetch_add(1, Ordering::SeqCst) + 1;
                            peak.fetch_max(now, Ordering::SeqCst);
                            current.fetch_sub(1, Ordering::SeqCst);
                            done.fetch_add(1, Ordering::SeqCst);
                            Ok::<_, ()>(())
                        })
                        .unwrap();
                    }
                });
            }
        });
        assert!(peak.load(Ordering::SeqCst) <= 3);
        assert_eq!(
            done.load(Ordering::SeqCst),
            12_000,
            "every call ran exactly once"
        );
        assert_eq!(b.stats().in_flight, 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn async_waiters_are_woken_and_all_complete() {
        let b = bulkhead(2, 60_000);
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let b = b.clone();
                tokio::spawn(async move {
                    b.call_async(async move {
                        tokio::task::yield_now().await;
                        Ok::<_, ()>(i)
                    })
                    .await
                })
            })
            .collect();
        let mut sum = 0;
        for t in tasks {
            sum += t.await.unwrap().unwrap();
        }
        assert_eq!(sum, (0..16).sum::<i32>());
        assert_eq!(b.stats().in_flight, 0);
    }

    #[tokio::test]
    async fn async_wait_times_out_with_a_sleeper() {
        let clock = crate::clock::ManualClock::new();
        let sleeper: Arc<dyn AsyncSleeper> = Arc::new(crate::sleep::ManualSleeper::new(clock));
        let config = BulkheadConfig {
            max_concurrent: 1,
            max_wait: Duration::from_millis(50),
        };
        let b = Bulkhead::new("t", config, Some(sleeper)).unwrap();
        let _held = b.try_acquire().unwrap();
        assert!(matches!(
            b.acquire_async().await,
            Err(Error::BulkheadFull { .. })
        ));
        assert_eq!(b.inner.waiting.load(Ordering::SeqCst), 0);
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;

    #[test]
    fn loom_bulkhead_never_exceeds_its_limit_and_releases_every_slot() {
        loom::model(|| {
            let config = BulkheadConfig {
                max_concurrent: 1,
                max_wait: Duration::ZERO,
            };
            let b = Bulkhead::new("b", config, None).unwrap();
            let held = Arc::new(AtomicUsize::new(0));
            let handles: Vec<_> = (0..2)
                .map(|_| {
                    let (b, held) = (b.clone(), Arc::clone(&held));
                    loom::thread::spawn(move || {
                        if let Some(permit) = b.try_acquire() {
                            assert_eq!(
                                held.fetch_add(1, Ordering::SeqCst),
                                0,
                                "two calls inside a bulkhead of one"
                            );
                            held.fetch_sub(1, Ordering::SeqCst);
                            drop(permit);
                        }
                    })
                })
                .collect();
            for h in handles {
                h.join().unwrap();
            }
            assert_eq!(b.inner.in_flight.load(Ordering::SeqCst), 0);
        });
    }
}
