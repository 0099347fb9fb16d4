//! Idle timers for every session in one structure.
//!
//! Every session has the same idle timeout, so the session that has been
//! quiet longest is always the first to expire: an intrusive list in order
//! of last input (least recent first) is a complete timer structure. Input
//! moves a session to the tail, closing unlinks it, and the event loop
//! sleeps until the head's deadline; all three are O(1) and nothing is
//! allocated per event.

use std::time::Instant;

/// End of the list.
const NIL: u32 = u32::MAX;

#[derive(Debug, Clone, Copy)]
struct Link {
    prev: u32,
    next: u32,
    /// Time of the last input; `None` while the slot is not in the list.
    since: Option<Instant>,
}

const UNLINKED: Link = Link {
    prev: NIL,
    next: NIL,
    since: None,
};

/// Sessions (by slot index) in order of last input, least recent first.
#[derive(Debug)]
pub(super) struct IdleList {
    links: Vec<Link>,
    head: u32,
    tail: u32,
}

impl IdleList {
    /// An empty list.
    pub(super) fn new() -> Self {
        Self {
            links: Vec::new(),
            head: NIL,
            tail: NIL,
        }
    }

    /// Records input on slot `i` at `now` (which never goes backwards):
    /// the slot moves to the tail, linked if it was not.
    pub(super) fn touch(&mut self, i: usize, now: Instant) {
        self.unlink(i);
        if self.links.len() <= i {
            self.links.resize(i + 1, UNLINKED);
        }
        let idx =
            u32::try_from(i).expect("slot indices stay below max_sessions, a usize < u32::MAX");
        self.links[i] = Link {
            prev: self.tail,
            next: NIL,
            since: Some(now),
        };
        match self.tail {
            NIL => self.head = idx,
            t => self.links[t as usize].next = idx,
        }
        self.tail = idx;
    }

    /// Removes slot `i` (no-op when it is not in the list).
    pub(super) fn unlink(&mut self, i: usize) {
        let Some(link) = self.links.get(i).copied() else {
            return;
        };
        if link.since.is_none() {
            return;
        }
        match link.prev {
            NIL => self.head = link.next,
            p => self.links[p as usize].next = link.next,
        }
        match link.next {
            NIL => self.tail = link.prev,
            n => self.links[n as usize].prev = link.prev,
        }
        self.links[i] = UNLINKED;
    }

    /// The slot quiet the longest and the time of its last input.
    pub(super) fn oldest(&self) -> Option<(usize, Instant)> {
        let head = self.head;
        if head == NIL {
            return None;
        }
        let since = self.links[head as usize].since?;
        Some((head as usize, since))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn drain(list: &mut IdleList) -> Vec<usize> {
        let mut order = Vec::new();
        while let Some((i, _)) = list.oldest() {
            order.push(i);
            list.unlink(i);
        }
        order
    }

    #[test]
    fn sessions_expire_in_order_of_last_input() {
        let t = Instant::now();
        let mut list = IdleList::new();
        for (n, i) in [3, 0, 7, 1].into_iter().enumerate() {
            list.touch(i, t + Duration::from_millis(n as u64));
        }
        list.touch(0, t + Duration::from_millis(9));
        assert_eq!(list.oldest(), Some((3, t)));
        assert_eq!(drain(&mut list), vec![3, 7, 1, 0]);
    }

    #[test]
    fn unlinked_sessions_never_expire() {
        let t = Instant::now();
        let mut list = IdleList::new();
        for i in 0..4 {
            list.touch(i, t);
        }
        list.unlink(2);
        list.unlink(2);
        list.unlink(40);
        list.unlink(0);
        list.unlink(3);
        assert_eq!(drain(&mut list), vec![1]);
        list.touch(5, t);
        assert_eq!(list.oldest(), Some((5, t)));
    }
}
