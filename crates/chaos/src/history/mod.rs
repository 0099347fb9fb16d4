//! Operation histories: record what clients asked and were told during a
//! chaos run, then check them against what the system holds afterwards.
//!
//! The model is a keyed store: records with transaction ids, idempotency
//! keys, events, each written once, or keys updated many times, last writer
//! wins (a key's writes are ordered by real time: one acknowledged before
//! another was invoked comes first; overlapping writes may land in either
//! order). Every operation is recorded when it is invoked and again when it
//! completes, as one of:
//!
//! - `Ok`: the system acknowledged it (a write committed, a read answered);
//! - `Fail`: the system said it did **not** happen (a typed refusal);
//! - `Info`: unknown (a timeout, a reset mid-request): it may have happened.
//!
//! [`History::check`] then reports, against the final state read from the
//! system:
//!
//! - [`Violation::LostWrite`]: an acknowledged write is missing or changed
//!   (for a key written many times: the final value is not one the last
//!   acknowledged write, or a write overlapping it, could have left);
//! - [`Violation::FailedWriteVisible`]: a write reported as failed took effect;
//! - [`Violation::PhantomRead`]: a read saw a value nobody had (yet) written,
//!   or one whose write failed (an uncommitted value);
//! - [`Violation::StaleRead`]: a read began after a write was acknowledged and
//!   did not see it (saw nothing, or a value that write overwrote);
//! - [`Violation::NonMonotonicRead`]: a client saw a key, then (later) did
//!   not, or saw a value and later one that value had overwritten.
//!
//! ```
//! use std::collections::HashMap;
//! use ballast_chaos::history::{History, Op, Outcome};
//!
//! let history = History::<u32, String>::new(10_000);
//! let w = history.invoke(1, Op::Write { key: 7, value: "a".into() });
//! w.ok(None);
//! let r = history.invoke(2, Op::Read { key: 7 });
//! r.ok(Some("a".into()));
//! let final_state = HashMap::from([(7, "a".to_string())]);
//! let report = history.check(&final_state);
//! assert!(report.is_valid(), "{report:?}");
//! assert_eq!(report.acknowledged_writes, 1);
//! ```

use std::collections::HashMap;
use std::fmt::{self, Debug};
use std::hash::Hash;
use std::io::Write;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::clock::{Clock, SharedClock, SystemClock};

mod keyed;
mod linearizable;
mod single_write;

/// What a client asked the system to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op<K, V> {
    /// Store `value` under `key` (once, or over an earlier value).
    Write {
        /// The key.
        key: K,
        /// The value written.
        value: V,
    },
    /// Look `key` up.
    Read {
        /// The key read.
        key: K,
    },
}

impl<K, V> Op<K, V> {
    /// The key the operation is about.
    pub fn key(&self) -> &K {
        match self {
            Op::Write { key, .. } | Op::Read { key } => key,
        }
    }
}

/// How an operation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<V> {
    /// Acknowledged; for a read, what it returned (`None`: not found).
    Ok(Option<V>),
    /// Definitely did not happen, with the reason the system gave.
    Fail(String),
    /// Unknown whether it happened (timeout, reset), with what was seen.
    Info(String),
}

/// One operation with its timing, as recorded.
#[derive(Debug, Clone)]
pub struct Entry<K, V> {
    /// Which client (logical process) issued it.
    pub process: u64,
    /// Sequence number in invocation order.
    pub id: u64,
    /// What was asked.
    pub op: Op<K, V>,
    /// When it was invoked, from the history's start.
    pub invoked: Duration,
    /// When it completed, and how; `None` while in flight.
    pub completed: Option<(Duration, Outcome<V>)>,
}

/// A fault switched on or off during a run, as recorded in its history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultEvent {
    /// The fault's name in its scenario.
    pub fault: String,
    /// The link (proxy) it acts on.
    pub link: String,
    /// When it happened, from the history's start.
    pub at: Duration,
    /// `true` when the fault was switched on, `false` when it was healed.
    pub started: bool,
}

/// Most fault events a history keeps (a scenario has a handful).
pub const MAX_FAULT_EVENTS: usize = 4096;

struct Inner<K, V> {
    entries: Vec<Entry<K, V>>,
    faults: Vec<FaultEvent>,
    dropped: u64,
}

/// A bounded, thread-safe operation history.
///
/// Times are read from a [`Clock`] (wall time by default; a
/// [`ManualClock`](crate::ManualClock) through [`History::with_clock`]) and
/// counted from the clock's reading when the history was made.
/// Cloning gives another handle to the same history.
pub struct History<K, V> {
    inner: Arc<Mutex<Inner<K, V>>>,
    clock: SharedClock,
    origin: Duration,
    start: Instant,
    max_entries: usize,
}

impl<K, V> Clone for History<K, V> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            clock: Arc::clone(&self.clock),
            origin: self.origin,
            start: self.start,
            max_entries: self.max_entries,
        }
    }
}

impl<K, V> Debug for History<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = lock(&self.inner);
        f.debug_struct("History")
            .field("entries", &inner.entries.len())
            .field("dropped", &inner.dropped)
            .field("max_entries", &self.max_entries)
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking recorder leaves the history readable; the entries are
    // plain data and stay consistent.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// An operation in flight; complete it with [`ok`](Self::ok),
/// [`fail`](Self::fail) or [`info`](Self::info). Dropped without either, it
/// is recorded as `Info("abandoned")`: an operation whose fate is unknown.
pub struct Pending<K, V> {
    history: History<K, V>,
    index: Option<usize>,
}

impl<K, V> Debug for Pending<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pending")
            .field("index", &self.index)
            .finish()
    }
}

impl<K, V> Pending<K, V> {
    fn complete(mut self, outcome: Outcome<V>) {
        self.finish(outcome);
    }

    fn finish(&mut self, outcome: Outcome<V>) {
        let Some(index) = self.index.take() else {
            return;
        };
        let at = self.history.elapsed();
        let mut inner = lock(&self.history.inner);
        if let Some(entry) = inner.entries.get_mut(index) {
            entry.completed = Some((at, outcome));
        }
    }

    /// The system acknowledged the operation; a read returned `value`.
    pub fn ok(self, value: Option<V>) {
        self.complete(Outcome::Ok(value));
    }

    /// The system said the operation did not happen.
    pub fn fail(self, reason: impl Into<String>) {
        self.complete(Outcome::Fail(reason.into()));
    }

    /// It is unknown whether the operation happened.
    pub fn info(self, reason: impl Into<String>) {
        self.complete(Outcome::Info(reason.into()));
    }
}

impl<K, V> Drop for Pending<K, V> {
    fn drop(&mut self) {
        self.finish(Outcome::Info("abandoned".into()));
    }
}

impl<K, V> History<K, V> {
    /// An empty history keeping at most `max_entries` operations; later
    /// ones are counted in [`CheckReport::dropped`] and make the check
    /// incomplete, never unbounded memory.
    pub fn new(max_entries: usize) -> Self {
        let clock = SystemClock::new();
        // Times count from the clock's epoch, exactly `start`.
        let start = clock.epoch();
        Self::on_clock(max_entries, Arc::new(clock), start, Duration::ZERO)
    }

    /// An empty history like [`History::new`] whose times come from
    /// `clock`, counted from its reading now: with a
    /// [`ManualClock`](crate::ManualClock) an operation's times are the
    /// virtual times it was invoked and completed at.
    pub fn with_clock(max_entries: usize, clock: impl Clock + 'static) -> Self {
        let origin = clock.now();
        Self::on_clock(max_entries, Arc::new(clock), Instant::now(), origin)
    }

    fn on_clock(max_entries: usize, clock: SharedClock, start: Instant, origin: Duration) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner {
                entries: Vec::new(),
                faults: Vec::new(),
                dropped: 0,
            })),
            clock,
            origin,
            start,
            max_entries,
        }
    }

    /// The wall-clock instant the history was made at; on the default
    /// clock, the instant its times count from.
    pub fn start(&self) -> Instant {
        self.start
    }

    /// Time since the history was made, on its clock.
    pub fn elapsed(&self) -> Duration {
        self.clock.now().saturating_sub(self.origin)
    }

    /// Records that `process` invoked `op`, now.
    pub fn invoke(&self, process: u64, op: Op<K, V>) -> Pending<K, V> {
        let invoked = self.elapsed();
        let mut inner = lock(&self.inner);
        let index = if inner.entries.len() < self.max_entries {
            let id = inner.entries.len() as u64;
            inner.entries.push(Entry {
                process,
                id,
                op,
                invoked,
                completed: None,
            });
            Some(inner.entries.len() - 1)
        } else {
            inner.dropped += 1;
            None
        };
        drop(inner);
        Pending {
            history: self.clone(),
            index,
        }
    }

    /// Records that fault `fault` on `link` was switched on (`started`) or
    /// healed, now; beyond [`MAX_FAULT_EVENTS`] events are counted as
    /// dropped.
    pub fn record_fault(&self, fault: &str, link: &str, started: bool) {
        let at = self.elapsed();
        let mut inner = lock(&self.inner);
        if inner.faults.len() < MAX_FAULT_EVENTS {
            inner.faults.push(FaultEvent {
                fault: fault.to_owned(),
                link: link.to_owned(),
                at,
                started,
            });
        } else {
            inner.dropped += 1;
        }
    }

    /// A copy of the recorded fault events, in the order they happened.
    pub fn fault_events(&self) -> Vec<FaultEvent> {
        lock(&self.inner).faults.clone()
    }

    /// A copy of the recorded entries, in invocation order.
    pub fn entries(&self) -> Vec<Entry<K, V>>
    where
        K: Clone,
        V: Clone,
    {
        lock(&self.inner).entries.clone()
    }

    /// Writes the history as CSV: `process,id,op,key,value,invoked_us,
    /// completed_us,outcome,detail`.
    ///
    /// # Errors
    ///
    /// What the writer returns.
    pub fn write_csv(&self, mut out: impl Write) -> std::io::Result<()>
    where
        K: Debug,
        V: Debug,
    {
        writeln!(
            out,
            "process,id,op,key,value,invoked_us,completed_us,outcome,detail"
        )?;
        let inner = lock(&self.inner);
        for e in &inner.entries {
            let (op, key, value) = match &e.op {
                Op::Write { key, value } => ("write", format!("{key:?}"), format!("{value:?}")),
                Op::Read { key } => ("read", format!("{key:?}"), String::new()),
            };
            let (done, outcome, detail) = match &e.completed {
                None => (String::new(), "pending", String::new()),
                Some((at, Outcome::Ok(v))) => (
                    at.as_micros().to_string(),
                    "ok",
                    v.as_ref().map(|v| format!("{v:?}")).unwrap_or_default(),
                ),
                Some((at, Outcome::Fail(r))) => (at.as_micros().to_string(), "fail", r.clone()),
                Some((at, Outcome::Info(r))) => (at.as_micros().to_string(), "info", r.clone()),
            };
            writeln!(
                out,
                "{},{},{op},{},{},{},{done},{outcome},{}",
                e.process,
                e.id,
                csv_field(&key),
                csv_field(&value),
                e.invoked.as_micros(),
                csv_field(&detail)
            )?;
        }
        Ok(())
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Something a history shows that must not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Violation<K, V> {
    /// An acknowledged write is missing from the final state, or changed.
    LostWrite {
        /// The key written.
        key: K,
        /// The value that was acknowledged.
        expected: V,
        /// What the final state holds instead.
        found: Option<V>,
    },
    /// A write the system reported as failed is in the final state.
    FailedWriteVisible {
        /// The key written.
        key: K,
        /// The value that was refused.
        value: V,
    },
    /// A read returned a value no write had put there before the read ended,
    /// or one whose write failed.
    PhantomRead {
        /// The reading operation's id.
        op: u64,
        /// The key read.
        key: K,
        /// The value seen.
        value: V,
    },
    /// A read invoked after a write's acknowledgement did not see it (it
    /// saw nothing, or a value that write had overwritten).
    StaleRead {
        /// The reading operation's id.
        op: u64,
        /// The key read.
        key: K,
    },
    /// A process saw a key and later did not, or saw a value and later an
    /// older one.
    NonMonotonicRead {
        /// The process.
        process: u64,
        /// The later read's id.
        op: u64,
        /// The key.
        key: K,
    },
    /// No order of the operations on a key, each taking effect at one
    /// instant between its invocation and its return, gives every read its
    /// result and leaves the final value: the key is not linearizable.
    /// Reported only for a key no other violation names.
    NonLinearizable {
        /// The key.
        key: K,
        /// The operation that could not take effect (`None`: the final
        /// state, read after everything).
        op: Option<u64>,
        /// Why, in the register checker's words.
        explanation: String,
    },
}

/// What [`History::check`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport<K, V> {
    /// Operations recorded.
    pub operations: u64,
    /// Writes the system acknowledged.
    pub acknowledged_writes: u64,
    /// Operations that failed definitely.
    pub failed: u64,
    /// Operations whose outcome is unknown (or that never completed).
    pub indeterminate: u64,
    /// Operations not recorded because the history was full.
    pub dropped: u64,
    /// Everything that must not happen and did.
    pub violations: Vec<Violation<K, V>>,
}

impl<K, V> CheckReport<K, V> {
    /// Whether the history is complete and shows no violation.
    pub fn is_valid(&self) -> bool {
        self.violations.is_empty() && self.dropped == 0
    }
}

impl<K, V> Violation<K, V> {
    /// The key the violation is about.
    pub fn key(&self) -> &K {
        match self {
            Violation::LostWrite { key, .. }
            | Violation::FailedWriteVisible { key, .. }
            | Violation::PhantomRead { key, .. }
            | Violation::StaleRead { key, .. }
            | Violation::NonMonotonicRead { key, .. }
            | Violation::NonLinearizable { key, .. } => key,
        }
    }
}

impl<K, V> History<K, V>
where
    K: Clone + Eq + Hash + fmt::Display,
    V: Clone + Eq + Hash + fmt::Display,
{
    /// The history as Jepsen's independent-register history (`:f :read` /
    /// `:write`, `:value [key value]`), with `final_state` read after
    /// everything, as the linearizability part of [`History::check`] sees
    /// it: keys and values that are not integers are numbered in order of
    /// first appearance. Every operation is its own process (a client may
    /// leave one unfinished and go on). Write it with
    /// [`check::format::write_history`](crate::check::format::write_history)
    /// and check it with `ballast-check --model register`.
    pub fn register_history<S: std::hash::BuildHasher>(
        &self,
        final_state: &HashMap<K, V, S>,
    ) -> Vec<crate::check::Op> {
        let inner = lock(&self.inner);
        linearizable::build(&inner.entries, final_state).events
    }

    /// Checks the history against `final_state`, what the system holds once
    /// the run is over (read directly, not through the faulty path): the
    /// direct checks of each write and read, then each key's operations for
    /// linearizability (see [`Violation::NonLinearizable`]).
    pub fn check<S: std::hash::BuildHasher>(
        &self,
        final_state: &HashMap<K, V, S>,
    ) -> CheckReport<K, V> {
        let inner = lock(&self.inner);
        let entries = &inner.entries;
        let mut report = CheckReport {
            operations: entries.len() as u64,
            acknowledged_writes: 0,
            failed: 0,
            indeterminate: 0,
            dropped: inner.dropped,
            violations: Vec::new(),
        };
        for e in entries {
            match &e.completed {
                Some((_, Outcome::Ok(_))) => {}
                Some((_, Outcome::Fail(_))) => report.failed += 1,
                Some((_, Outcome::Info(_))) | None => report.indeterminate += 1,
            }
        }
        let writes = keyed::writes(entries, &mut report);
        keyed::check_final(&writes, final_state, &mut report.violations);
        keyed::check_reads(entries, &writes, &mut report.violations);
        let faulted: rustc_hash::FxHashSet<K> = report
            .violations
            .iter()
            .map(Violation::key)
            .cloned()
            .collect();
        linearizable::check(entries, final_state, &faulted, &mut report.violations);
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type H = History<u32, u32>;
    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn times_come_from_the_history_clock_and_decide_staleness() {
        let clock = crate::ManualClock::new();
        clock.advance(Duration::from_secs(100));
        let h = H::with_clock(100, clock.clone());
        let w = h.invoke(1, Op::Write { key: 1, value: 10 });
        clock.advance(Duration::from_millis(5));
        w.ok(None);
        // Begun 1 ms after the write was acknowledged, on the history's
        // clock: a read that misses it is stale.
        clock.advance(Duration::from_millis(1));
        h.invoke(2, Op::Read { key: 1 }).ok(None);
        let e = h.entries();
        assert_eq!(e[0].invoked, Duration::ZERO, "times count from creation");
        assert_eq!(e[0].completed.as_ref().map(|c| c.0), Some(MS * 5));
        assert_eq!(e[1].invoked, MS * 6);
        assert_eq!(h.elapsed(), MS * 6);
        let report = h.check(&state(&[(1, 10)]));
        assert_eq!(
            report.violations,
            vec![Violation::StaleRead { op: 1, key: 1 }],
            "{report:?}"
        );
    }

    fn state(pairs: &[(u32, u32)]) -> HashMap<u32, u32> {
        pairs.iter().copied().collect()
    }

    #[test]
    fn an_acknowledged_write_missing_from_the_final_state_is_lost() {
        let h = H::new(100);
        h.invoke(1, Op::Write { key: 1, value: 10 }).ok(None);
        let report = h.check(&state(&[]));
        assert_eq!(
            report.violations,
            vec![Violation::LostWrite {
                key: 1,
                expected: 10,
                found: None
            }]
        );
    }

    #[test]
    fn an_indeterminate_write_may_or_may_not_be_there() {
        let h = H::new(100);
        h.invoke(1, Op::Write { key: 1, value: 10 }).info("timeout");
        h.invoke(1, Op::Write { key: 2, value: 20 }).info("reset");
        let report = h.check(&state(&[(1, 10)]));
        assert!(report.is_valid(), "{report:?}");
        assert_eq!(report.indeterminate, 2);
    }

    #[test]
    fn a_failed_write_that_took_effect_is_a_violation() {
        let h = H::new(100);
        h.invoke(1, Op::Write { key: 1, value: 10 }).fail("refused");
        let report = h.check(&state(&[(1, 10)]));
        assert_eq!(
            report.violations,
            vec![Violation::FailedWriteVisible { key: 1, value: 10 }]
        );
    }

    #[test]
    fn reading_a_value_never_written_is_a_phantom_read() {
        let h = H::new(100);
        h.invoke(2, Op::Read { key: 5 }).ok(Some(50));
        let report = h.check(&state(&[]));
        assert_eq!(
            report.violations,
            vec![Violation::PhantomRead {
                op: 0,
                key: 5,
                value: 50
            }]
        );
    }

    #[test]
    fn reading_a_failed_writes_value_is_a_phantom_read() {
        let h = H::new(100);
        h.invoke(1, Op::Write { key: 5, value: 50 })
            .fail("rolled back");
        h.invoke(2, Op::Read { key: 5 }).ok(Some(50));
        let report = h.check(&state(&[]));
        assert!(report.violations.contains(&Violation::PhantomRead {
            op: 1,
            key: 5,
            value: 50
        }));
    }

    #[test]
    fn a_read_concurrent_with_an_indeterminate_write_may_see_it() {
        let h = H::new(100);
        let w = h.invoke(1, Op::Write { key: 5, value: 50 });
        h.invoke(2, Op::Read { key: 5 }).ok(Some(50));
        w.info("timeout");
        assert!(h.check(&state(&[(5, 50)])).is_valid());
    }

    #[test]
    fn missing_an_acknowledged_write_later_is_a_stale_read() {
        let h = H::new(100);
        h.invoke(1, Op::Write { key: 5, value: 50 }).ok(None);
        std::thread::sleep(Duration::from_millis(2));
        h.invoke(2, Op::Read { key: 5 }).ok(None);
        let report = h.check(&state(&[(5, 50)]));
        assert_eq!(
            report.violations,
            vec![Violation::StaleRead { op: 1, key: 5 }]
        );
    }

    #[test]
    fn seeing_a_key_then_not_is_a_non_monotonic_read() {
        let h = H::new(100);
        let w = h.invoke(1, Op::Write { key: 5, value: 50 });
        h.invoke(2, Op::Read { key: 5 }).ok(Some(50));
        std::thread::sleep(Duration::from_millis(2));
        h.invoke(2, Op::Read { key: 5 }).ok(None);
        w.info("timeout");
        let report = h.check(&state(&[(5, 50)]));
        assert_eq!(
            report.violations,
            vec![Violation::NonMonotonicRead {
                process: 2,
                op: 2,
                key: 5
            }]
        );
    }

    #[test]
    fn a_dropped_pending_operation_is_indeterminate() {
        let h = H::new(100);
        drop(h.invoke(1, Op::Write { key: 1, value: 1 }));
        let e = h.entries();
        assert_eq!(
            e[0].completed.as_ref().map(|c| &c.1),
            Some(&Outcome::Info("abandoned".into()))
        );
    }

    #[test]
    fn the_history_is_bounded_and_says_when_it_dropped_entries() {
        let h = H::new(2);
        for k in 0..5 {
            h.invoke(1, Op::Write { key: k, value: k }).ok(None);
        }
        let report = h.check(&state(&[(0, 0), (1, 1)]));
        assert_eq!((report.operations, report.dropped), (2, 3));
        assert!(
            !report.is_valid(),
            "an incomplete history cannot be called valid"
        );
    }

    #[test]
    fn csv_has_one_row_per_operation_with_its_outcome() {
        let h = History::<u32, String>::new(10);
        h.invoke(
            3,
            Op::Write {
                key: 1,
                value: "a,b".into(),
            },
        )
        .ok(None);
        h.invoke(3, Op::Read { key: 1 }).fail("refused");
        let mut out = Vec::new();
        h.write_csv(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(
            lines[1].starts_with("3,0,write,1,\"\"\"a,b\"\"\","),
            "{}",
            lines[1]
        );
        assert!(lines[2].ends_with(",fail,refused"), "{}", lines[2]);
    }
}
