//! Draining: stop new work, wait for lent sessions up to a deadline,
//! cancel the rest and report them, close every session.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use super::connector::Connector;
use super::{Inner, SessionManager};

/// What [`SessionManager::drain`] did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DrainReport {
    /// Sessions lent when the drain began.
    pub in_flight_at_start: usize,
    /// Lent sessions that came back before the deadline.
    pub finished: usize,
    /// Sessions still lent at the deadline: their work was cancelled.
    pub cancelled: Vec<CancelledWork>,
    /// Idle sessions closed.
    pub closed_idle: usize,
}

/// A lent session whose work a drain cancelled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelledWork {
    /// The session id.
    pub session: u64,
    /// Its endpoint's name.
    pub endpoint: String,
    /// Its LU, if it asked for one.
    pub lu: Option<String>,
}

impl<C: Connector> SessionManager<C> {
    /// Stops new work, waits up to `timeout` for lent sessions to come
    /// back, cancels what is still lent (its next command gets
    /// [`ManagerError::Cancelled`](super::ManagerError::Cancelled)) and closes every idle session.
    pub fn drain(&self, timeout: Duration) -> DrainReport {
        let inner = &*self.inner;
        inner.shutdown.trigger();
        let deadline = Instant::now() + timeout;
        let mut books = inner.books.lock();
        inner.freed.notify_all();
        let at_start = books.lent().len();
        while !books.lent().is_empty() {
            if inner.freed.wait_until(&mut books, deadline).timed_out() {
                break;
            }
        }
        let still = books.lent();
        drop(books);
        inner.cancelled.store(true, Ordering::Release);
        let cancelled: Vec<CancelledWork> = still
            .into_iter()
            .map(|(session, ep, lu)| CancelledWork {
                session,
                endpoint: inner.endpoints[ep].config.name.clone(),
                lu,
            })
            .collect();
        let closed_idle = inner.close_idle("drained");
        DrainReport {
            in_flight_at_start: at_start,
            finished: at_start.saturating_sub(cancelled.len()),
            cancelled,
            closed_idle,
        }
    }
}

impl<C: Connector> Inner<C> {
    /// Closes every idle session; returns how many.
    pub(crate) fn close_idle(&self, reason: &str) -> usize {
        let mut closing = Vec::new();
        {
            let mut books = self.books.lock();
            for i in 0..books.endpoints.len() {
                while let Some(mut slot) = books.endpoints[i].idle.pop() {
                    books.retire(&mut slot, false);
                    closing.push(slot);
                }
            }
        }
        let n = closing.len();
        for slot in closing {
            self.retire(slot, reason);
        }
        n
    }
}

/// Closes the manager's sessions in the closing phase of a
/// `Shutdown::run` (the draining phase has waited for in-flight work).
pub(crate) fn register_closing_hook<C: Connector>(inner: &Arc<Inner<C>>) {
    let weak: Weak<Inner<C>> = Arc::downgrade(inner);
    inner.shutdown.on_closing("session-manager", move || {
        if let Some(inner) = weak.upgrade() {
            inner.cancelled.store(true, Ordering::Release);
            inner.close_idle("shutdown");
        }
    });
}
