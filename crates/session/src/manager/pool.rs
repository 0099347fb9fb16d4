//! The manager's books, under one mutex: idle sessions per endpoint, what
//! is open and lent, LU names free, and the balancing choice.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::config::Balancing;
use super::connector::Metered;
use super::stats::SessionCounters;
use crate::client::Client;

/// Most endpoints a manager takes (the balancer tracks them in a `u64`).
pub const MAX_ENDPOINTS: usize = 64;

/// A session the manager owns: its client and bookkeeping.
pub(crate) struct Slot<S> {
    pub(crate) client: Client<Metered<S>>,
    pub(crate) id: u64,
    pub(crate) endpoint: usize,
    pub(crate) lu: Option<String>,
    /// Clock time it was opened.
    pub(crate) created: Duration,
    /// Clock time it was last returned (or opened).
    pub(crate) last_used: Duration,
    /// Clock time it last proved alive (opened, used or probed).
    pub(crate) last_alive: Duration,
    pub(crate) counters: Arc<SessionCounters>,
    /// The `tn3270_session` span: the parent of its open and command spans.
    pub(crate) span: tracing::Span,
}

/// What the books know of an open session.
pub(crate) struct SessionInfo {
    pub(crate) endpoint: usize,
    pub(crate) lu: Option<String>,
    pub(crate) lent: bool,
    pub(crate) counters: Arc<SessionCounters>,
}

/// One endpoint's books.
pub(crate) struct EndpointBooks<S> {
    pub(crate) idle: Vec<Box<Slot<S>>>,
    /// Open sessions, counting those being opened (reserved).
    pub(crate) open: usize,
    pub(crate) in_use: usize,
    pub(crate) free_lus: Vec<String>,
    /// Smooth weighted round robin's current weight.
    current_weight: i64,
}

/// The manager's books.
pub(crate) struct Books<S> {
    pub(crate) endpoints: Vec<EndpointBooks<S>>,
    pub(crate) open: usize,
    pub(crate) waiting: usize,
    pub(crate) sessions: HashMap<u64, SessionInfo>,
    next_rr: usize,
}

/// What [`Books::pick`] found for a caller.
pub(crate) enum Pick<S> {
    /// An idle session, now lent.
    Idle(Box<Slot<S>>),
    /// Room to open a session on this endpoint (reserved), with this LU.
    Open(usize, Option<String>),
    /// Endpoints are up but full: wait for a session to come back.
    Wait,
    /// No endpoint the caller may use is up.
    NoEndpoint,
}

/// Limits [`Books::pick`] applies.
pub(crate) struct PickLimits<'a> {
    pub(crate) max_sessions: usize,
    /// Per endpoint: capacity (max sessions, capped by its LU pool).
    pub(crate) capacity: &'a [usize],
    /// Per endpoint: weight.
    pub(crate) weight: &'a [u32],
    pub(crate) balancing: Balancing,
}

impl<S> Books<S> {
    /// Books for endpoints with these LU pools.
    pub(crate) fn new(lu_pools: impl Iterator<Item = Vec<String>>) -> Self {
        Self {
            endpoints: lu_pools
                .map(|mut lus| {
                    // Hand names out in configuration order (pop takes the last).
                    lus.reverse();
                    EndpointBooks {
                        idle: Vec::new(),
                        open: 0,
                        in_use: 0,
                        free_lus: lus,
                        current_weight: 0,
                    }
                })
                .collect(),
            open: 0,
            waiting: 0,
            sessions: HashMap::new(),
            next_rr: 0,
        }
    }

    /// Picks for a caller allowed on the endpoints of `allowed` (a bit
    /// mask) of which `up` are usable (breaker not open).
    pub(crate) fn pick(&mut self, allowed: u64, up: u64, limits: &PickLimits<'_>) -> Pick<S> {
        let usable = allowed & up;
        if usable == 0 {
            return Pick::NoEndpoint;
        }
        let mut tried = 0u64;
        for _ in 0..self.endpoints.len() {
            let Some(i) = self.next_choice(usable & !tried, limits) else {
                break;
            };
            tried |= 1u64 << i;
            if let Some(p) = self.take_or_reserve(i, limits) {
                return p;
            }
        }
        Pick::Wait
    }

    /// The next endpoint to try among `candidates`, per the balancing rule.
    fn next_choice(&mut self, candidates: u64, limits: &PickLimits<'_>) -> Option<usize> {
        if candidates == 0 {
            return None;
        }
        let n = self.endpoints.len();
        match limits.balancing {
            Balancing::LeastLoaded => (0..n)
                .filter(|&i| candidates & (1u64 << i) != 0)
                .min_by_key(|&i| self.endpoints[i].in_use),
            Balancing::Weighted => self.smooth_weighted(candidates, limits.weight),
            Balancing::RoundRobin => {
                let start = self.next_rr;
                let i = (0..n)
                    .map(|k| (start + k) % n)
                    .find(|&i| candidates & (1u64 << i) != 0)?;
                self.next_rr = (i + 1) % n;
                Some(i)
            }
        }
    }

    /// nginx's smooth weighted round robin over `candidates`.
    fn smooth_weighted(&mut self, candidates: u64, weight: &[u32]) -> Option<usize> {
        let mut total = 0i64;
        let mut best: Option<(usize, i64)> = None;
        for (i, e) in self.endpoints.iter_mut().enumerate() {
            if candidates & (1u64 << i) == 0 {
                continue;
            }
            let w = i64::from(weight[i]);
            e.current_weight += w;
            total += w;
            if best.is_none_or(|(_, bw)| e.current_weight > bw) {
                best = Some((i, e.current_weight));
            }
        }
        let (b, _) = best?;
        self.endpoints[b].current_weight -= total;
        Some(b)
    }

    /// Lends an idle session of endpoint `i`, or reserves room for a new
    /// one; `None` when it is full.
    fn take_or_reserve(&mut self, i: usize, limits: &PickLimits<'_>) -> Option<Pick<S>> {
        let e = &mut self.endpoints[i];
        if let Some(slot) = e.idle.pop() {
            e.in_use += 1;
            if let Some(info) = self.sessions.get_mut(&slot.id) {
                info.lent = true;
            }
            return Some(Pick::Idle(slot));
        }
        if e.open >= limits.capacity[i] || self.open >= limits.max_sessions {
            return None;
        }
        // With an LU pool, `capacity` keeps `open` below its size, so a
        // name is free; without one, the host assigns the LU.
        Some(Pick::Open(i, self.reserve(i)))
    }

    /// Reserves a place on endpoint `i` (the caller checked the limits);
    /// returns the LU name taken, if the endpoint has a pool.
    pub(crate) fn reserve(&mut self, i: usize) -> Option<String> {
        let e = &mut self.endpoints[i];
        e.open += 1;
        e.in_use += 1;
        self.open += 1;
        e.free_lus.pop()
    }

    /// Gives back a reservation whose open failed.
    pub(crate) fn unreserve(&mut self, i: usize, lu: Option<String>) {
        let e = &mut self.endpoints[i];
        e.open -= 1;
        e.in_use -= 1;
        self.open -= 1;
        if let Some(lu) = lu {
            e.free_lus.push(lu);
        }
    }

    /// Records a newly opened session (its reservation becomes it).
    pub(crate) fn opened(&mut self, slot: &Slot<S>, lent: bool) {
        self.sessions.insert(
            slot.id,
            SessionInfo {
                endpoint: slot.endpoint,
                lu: slot.lu.clone(),
                lent,
                counters: Arc::clone(&slot.counters),
            },
        );
    }

    /// A lent session comes back to the idle list.
    pub(crate) fn give_back(&mut self, slot: Box<Slot<S>>) {
        if let Some(info) = self.sessions.get_mut(&slot.id) {
            info.lent = false;
        }
        let e = &mut self.endpoints[slot.endpoint];
        e.in_use -= 1;
        e.idle.push(slot);
    }

    /// A session leaves the books for good (`lent`: it was lent, not idle).
    pub(crate) fn retire(&mut self, slot: &mut Slot<S>, lent: bool) {
        self.sessions.remove(&slot.id);
        let e = &mut self.endpoints[slot.endpoint];
        e.open -= 1;
        if lent {
            e.in_use -= 1;
        }
        self.open -= 1;
        if let Some(lu) = slot.lu.take() {
            e.free_lus.push(lu);
        }
    }

    /// The lent sessions' ids and endpoints.
    pub(crate) fn lent(&self) -> Vec<(u64, usize, Option<String>)> {
        let mut v: Vec<_> = self
            .sessions
            .iter()
            .filter(|(_, s)| s.lent)
            .map(|(id, s)| (*id, s.endpoint, s.lu.clone()))
            .collect();
        v.sort_unstable_by_key(|s| s.0);
        v
    }
}

#[cfg(test)]
#[path = "pool_tests.rs"]
mod tests;
