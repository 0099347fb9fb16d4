//! Deadlines for futures and for blocking work.
//!
//! A future is cut off at its deadline and dropped, which cancels it. Blocking
//! work cannot be interrupted in Rust, so [`run_with_timeout`] runs it on a
//! worker thread and returns `Error::Timeout` at the deadline; the worker
//! finishes in the background and its result is discarded.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::mpsc;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::error::Error;
use crate::sleep::{AsyncSleeper, SleepFuture};

pin_project_lite::pin_project! {
    /// Future returned by [`timeout`].
    #[must_use = "futures do nothing unless awaited"]
    pub struct Timeout<F> {
        #[pin]
        inner: F,
        timer: SleepFuture,
        limit: Duration,
    }
}

impl<F> fmt::Debug for Timeout<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

/// Runs `fut` until it completes or `limit` passes (timed by `sleeper`).
pub fn timeout<F: Future>(sleeper: &dyn AsyncSleeper, limit: Duration, fut: F) -> Timeout<F> {
    Timeout {
        inner: fut,
        timer: sleeper.sleep(limit),
        limit,
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(v) = this.inner.poll(cx) {
            return Poll::Ready(Ok(v));
        }
        match this.timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Error::Timeout { limit: *this.limit })),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Runs blocking `work` on a new thread and waits at most `limit` for it.
///
/// On timeout the caller gets `Error::Timeout` at the deadline while the
/// thread runs on; make `work` observe its own cancellation (a flag, a
/// socket timeout) if it holds resources.
pub fn run_with_timeout<T, W>(limit: Duration, work: W) -> Result<T, Error>
where
    T: Send + 'static,
    W: FnOnce() -> T + Send + 'static,
{
    let (tx, rx) = mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("ballast-timeout".into())
        .spawn(move || {
            // The receiver may be gone after a timeout; the result is dropped.
            let _ = tx.send(work());
        })
        .map_err(|e| Error::WorkerFailed {
            reason: e.to_string(),
        })?;
    match rx.recv_timeout(limit) {
        Ok(v) => Ok(v),
        Err(mpsc::RecvTimeoutError::Timeout) => Err(Error::Timeout { limit }),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(Error::WorkerFailed {
            reason: "work panicked".into(),
        }),
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::sleep::ManualSleeper;

    #[derive(Debug)]
    struct NeverSleeper;
    impl AsyncSleeper for NeverSleeper {
        fn sleep(&self, _: Duration) -> SleepFuture {
            Box::pin(std::future::pending())
        }
    }

    #[tokio::test]
    async fn future_finishing_in_time_returns_its_value() {
        let out = timeout(&NeverSleeper, Duration::from_secs(1), async { 7 }).await;
        assert_eq!(out, Ok(7));
    }

    #[tokio::test]
    async fn future_past_its_deadline_is_cut_off() {
        let sleeper = ManualSleeper::new(ManualClock::new());
        let out = timeout(
            &sleeper,
            Duration::from_millis(5),
            std::future::pending::<()>(),
        )
        .await;
        assert_eq!(
            out,
            Err(Error::Timeout {
                limit: Duration::from_millis(5)
            })
        );
    }

    #[test]
    fn blocking_work_returns_its_value_or_times_out() {
        assert_eq!(run_with_timeout(Duration::from_secs(30), || 1 + 1), Ok(2));
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let out = run_with_timeout(Duration::from_millis(20), move || release_rx.recv().is_ok());
        assert_eq!(
            out,
            Err(Error::Timeout {
                limit: Duration::from_millis(20)
            })
        );
        drop(release_tx);
    }

    #[test]
    fn panicking_work_reports_worker_failure() {
        let out = run_with_timeout(Duration::from_secs(30), || -> u8 { panic!("boom") });
        assert!(matches!(out, Err(Error::WorkerFailed { .. })));
    }
}
