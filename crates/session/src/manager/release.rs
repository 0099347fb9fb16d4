//! A lent session coming back: to the idle list, or retired.

use super::connector::Connector;
use super::pool::Slot;
use super::{Inner, endpoint_up};

impl<C: Connector> Inner<C> {
    /// Takes back a lent session: idle again, or retired when it broke,
    /// its endpoint is down, it is past its lifetime or the manager drains.
    /// Retiring because the endpoint is down takes that endpoint's idle
    /// sessions with it.
    pub(crate) fn release(&self, mut slot: Box<Slot<C::Stream>>, broken: bool) {
        let now = self.clock.now();
        let ep = slot.endpoint;
        let down = !endpoint_up(&self.endpoints[ep].breaker);
        let retire = if broken {
            Some("broken")
        } else if down {
            Some("endpoint down")
        } else if now.saturating_sub(slot.created) >= self.config.max_lifetime {
            Some("max lifetime reached")
        } else if self.shutdown.is_triggered() {
            Some("drained")
        } else {
            None
        };
        let mut books = self.books.lock();
        let Some(reason) = retire else {
            slot.last_used = now;
            books.give_back(slot);
            let waiting = books.waiting > 0 || self.shutdown.is_triggered();
            drop(books);
            if waiting {
                self.freed.notify_all();
            }
            return;
        };
        books.retire(&mut slot, true);
        let mut doomed = Vec::new();
        if down {
            while let Some(mut idle) = books.endpoints[ep].idle.pop() {
                books.retire(&mut idle, false);
                doomed.push(idle);
            }
        }
        drop(books);
        self.retire(slot, reason);
        for idle in doomed {
            self.retire(idle, "endpoint down");
        }
    }
}
