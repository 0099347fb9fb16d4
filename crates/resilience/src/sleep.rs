//! Pluggable sleeping for retries: real threads, tokio, or a manual clock.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::ManualClock;

/// Blocks the current thread for a duration.
pub trait Sleeper: Send + Sync + fmt::Debug {
    /// Sleeps for `duration`.
    fn sleep(&self, duration: Duration);
}

/// A boxed sleep future.
pub type SleepFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Returns a future that completes after a duration.
pub trait AsyncSleeper: Send + Sync + fmt::Debug {
    /// A future completing after `duration`.
    fn sleep(&self, duration: Duration) -> SleepFuture;
}

/// `std::thread::sleep`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ThreadSleeper;

impl Sleeper for ThreadSleeper {
    fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration);
    }
}

/// tokio's timer (`tokio::time::sleep`); needs a tokio runtime with time.
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioSleeper;

#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
impl AsyncSleeper for TokioSleeper {
    fn sleep(&self, duration: Duration) -> SleepFuture {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// Advances a [`ManualClock`] instead of sleeping and records every sleep,
/// for tests (sync and async).
#[derive(Debug, Clone, Default)]
pub struct ManualSleeper {
    clock: ManualClock,
    slept: Arc<parking_lot::Mutex<Vec<Duration>>>,
}

impl ManualSleeper {
    /// A sleeper advancing `clock`.
    pub fn new(clock: ManualClock) -> Self {
        Self {
            clock,
            slept: Arc::default(),
        }
    }

    /// Every duration slept so far, in order.
    pub fn slept(&self) -> Vec<Duration> {
        self.slept.lock().clone()
    }
}

impl Sleeper for ManualSleeper {
    fn sleep(&self, duration: Duration) {
        self.slept.lock().push(duration);
        self.clock.advance(duration);
    }
}

impl AsyncSleeper for ManualSleeper {
    fn sleep(&self, duration: Duration) -> SleepFuture {
        Sleeper::sleep(self, duration);
        Box::pin(std::future::ready(()))
    }
}
