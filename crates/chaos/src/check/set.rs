//! Set histories (`:f :add` of one element, `:f :read` of the whole set),
//! checked as Jepsen's `set-full` checks them, plus per-process monotonic
//! reads.
//!
//! For each element: the *known* point is the earlier of its add's `ok` and
//! the first read that returned it; the *last present* read is the latest
//! invoked read that returned it, the *last absent* the latest invoked read
//! that could have seen it (it ended after the add was invoked) and did
//! not. An element is
//!
//! - **stable** when it was last present after it was last absent; its
//!   *stable latency* runs from the known point to the last absent read's
//!   invocation (0 when no read after the known point missed it). A stable
//!   element with a positive latency is **stale**: a read begun after the
//!   element was known missed it, though later reads found it.
//! - **lost** when it was known and last absent after it was last present
//!   (and after the known point); its *lost latency* runs from the known
//!   point to the last present read's invocation.
//! - **never read** otherwise (no read began after it was known).
//!
//! Lost elements, phantom elements (read but never added, or added by a
//! failed add) and elements a read returned twice are always anomalies;
//! stale elements and non-monotonic reads (a process saw an element, then
//! a later read of its own did not) only when the set is meant to be
//! linearizable.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::FastMap;
use super::anomaly::{Anomaly, AnomalyKind, ConsistencyModel, Report};
use super::op::{Op, OpType, Value};
use super::txn::HistoryError;

/// One completed read, as the analysis needs it.
#[derive(Debug)]
struct SetRead {
    invoke: u64,
    invoke_time: Option<i64>,
    complete: u64,
    complete_time: Option<i64>,
    process: u64,
    /// Sorted, without duplicates.
    elements: Box<[i64]>,
}

impl SetRead {
    fn contains(&self, e: i64) -> bool {
        self.elements.binary_search(&e).is_ok()
    }
}

#[derive(Debug, Clone, Copy)]
enum Pending {
    Add(i64),
    Read(u64, Option<i64>),
}

/// What is known about one element's add.
#[derive(Debug, Clone, Copy)]
struct Add {
    invoke: u64,
    /// The add's completion: `ok`/`fail`/`info`, index, time.
    done: Option<(OpType, u64, Option<i64>)>,
}

/// A streaming set-full checker.
#[derive(Debug)]
pub struct SetFull {
    linearizable: bool,
    pending: FastMap<u64, Pending>,
    adds: FastMap<i64, Add>,
    reads: Vec<SetRead>,
    /// Adds of an element added before (the analysis follows the last).
    repeated_adds: u64,
    report: Report,
}

/// An element's fate, from the analysis. Latencies are in the history's
/// time unit (`None` without `:time`); reads are positions in invocation
/// order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Stable {
        latency: Option<i64>,
        /// The last read that missed it after it was known.
        stale: Option<usize>,
    },
    Lost {
        latency: Option<i64>,
        present: Option<usize>,
        absent: usize,
    },
    NeverRead,
}

/// Where an element was seen: its known point, and the last read that
/// returned it.
#[derive(Debug, Clone, Copy)]
struct Seen {
    first: u64,
    first_time: Option<i64>,
    /// The first and last reads (by invocation) that returned it, and how
    /// many did.
    earliest: usize,
    last: usize,
    reads: usize,
}

impl Seen {
    /// Where to start looking back for a read that missed the element:
    /// every read between the first and the last that returned it did, in
    /// the usual case, so the search starts before the first.
    fn look_back_from(&self) -> usize {
        if self.reads == self.last - self.earliest + 1 {
            self.earliest
        } else {
            self.last
        }
    }
}

impl SetFull {
    /// A checker against `model`: [`ConsistencyModel::Linearizable`] and
    /// [`ConsistencyModel::StrictSerializable`] make stale and
    /// non-monotonic reads anomalies; any other model tolerates them (a
    /// store that promises only that acknowledged elements are eventually
    /// visible).
    pub fn new(model: ConsistencyModel) -> Self {
        Self {
            linearizable: matches!(
                model,
                ConsistencyModel::Linearizable | ConsistencyModel::StrictSerializable
            ),
            pending: FastMap::default(),
            adds: FastMap::default(),
            reads: Vec::new(),
            repeated_adds: 0,
            report: Report::default(),
        }
    }

    /// Feeds the next operation.
    pub fn push(&mut self, op: Op) -> Result<(), HistoryError> {
        let error = |message: String| HistoryError {
            index: op.index,
            message,
        };
        if op.kind == OpType::Invoke {
            let pending = match op.value {
                Value::Add(e) => {
                    if self.adds.contains_key(&e) {
                        self.repeated_adds += 1;
                    }
                    self.adds.insert(
                        e,
                        Add {
                            invoke: op.index,
                            done: None,
                        },
                    );
                    Pending::Add(e)
                }
                Value::ReadSet(_) => Pending::Read(op.index, op.time),
                _ => return Err(error("not a set operation (:f :add or :read)".into())),
            };
            if self.pending.insert(op.process, pending).is_some() {
                return Err(error(format!(
                    "process {} invoked again before its last operation completed",
                    op.process
                )));
            }
            return Ok(());
        }
        let Some(pending) = self.pending.remove(&op.process) else {
            return Err(error(format!(
                "a completion on process {} with no invocation before it",
                op.process
            )));
        };
        match op.kind {
            OpType::Ok => self.report.ok += 1,
            OpType::Fail => self.report.failed += 1,
            _ => self.report.indeterminate += 1,
        }
        match pending {
            Pending::Add(e) => {
                if let Some(add) = self.adds.get_mut(&e) {
                    add.done = Some((op.kind, op.index, op.time));
                }
            }
            Pending::Read(invoke, invoke_time) => self.read(invoke, invoke_time, op),
        }
        Ok(())
    }

    /// Records a completed read (an `ok` one; others tell nothing).
    fn read(&mut self, invoke: u64, invoke_time: Option<i64>, op: Op) {
        if let (OpType::Ok, Value::ReadSet(Some(mut elements))) = (op.kind, op.value) {
            elements.sort_unstable();
            let before = elements.len();
            let duplicated = duplicates(&elements);
            elements.dedup();
            if before != elements.len() {
                self.report.add(Anomaly {
                    kind: AnomalyKind::DuplicateElements,
                    ops: vec![op.index],
                    explanation: format!(
                        "  T{} (process {}) returned {} more than once; a set holds each element once.\n",
                        op.index, op.process, list(&duplicated)
                    ),
                });
            }
            self.reads.push(SetRead {
                invoke,
                invoke_time,
                complete: op.index,
                complete_time: op.time,
                process: op.process,
                elements: elements.into_boxed_slice(),
            });
        }
    }

    /// Finishes the history and checks it.
    pub fn check(mut self) -> Report {
        self.report.indeterminate += self.pending.len() as u64;
        if self.repeated_adds > 0 {
            self.report.preconditions.push(format!(
                "{} adds repeat an element added before (each element is assumed added once; the last add of each is followed)",
                self.repeated_adds
            ));
        }
        self.reads.sort_unstable_by_key(|r| r.invoke);
        self.phantoms();
        self.non_monotonic();
        let outcomes = self.outcomes();
        let mut report = std::mem::take(&mut self.report);
        summarize(&outcomes, &mut report);
        if self.linearizable {
            report.conclude(Some(ConsistencyModel::Linearizable));
        } else {
            report.conclude(None);
            report.valid = !report
                .counts
                .keys()
                .any(|k| !matches!(k, AnomalyKind::StaleRead | AnomalyKind::NonMonotonicRead));
        }
        report
    }

    /// Elements a read returned that no add could have put there.
    fn phantoms(&mut self) {
        for r in &self.reads {
            for &e in r.elements.iter() {
                let why = match self.adds.get(&e) {
                    None => "was never added",
                    Some(a) if a.invoke > r.complete => "was added only after that read ended",
                    Some(Add {
                        done: Some((OpType::Fail, ..)),
                        ..
                    }) => "was added by an add that failed",
                    Some(_) => continue,
                };
                self.report.add(Anomaly {
                    kind: AnomalyKind::PhantomElement,
                    ops: vec![r.complete],
                    explanation: format!(
                        "  T{} (process {}) returned {e}, which {why}.\n",
                        r.complete, r.process
                    ),
                });
            }
        }
    }

    /// A process's read that misses an element its previous read returned.
    fn non_monotonic(&mut self) {
        let mut last: FastMap<u64, usize> = FastMap::default();
        for (i, r) in self.reads.iter().enumerate() {
            if let Some(&p) = last.get(&r.process) {
                let before = &self.reads[p];
                let gone: Vec<i64> = before
                    .elements
                    .iter()
                    .copied()
                    .filter(|&e| !r.contains(e))
                    .collect();
                if !gone.is_empty() && before.complete < r.invoke {
                    self.report.add(Anomaly {
                        kind: AnomalyKind::NonMonotonicRead,
                        ops: vec![before.complete, r.complete],
                        explanation: format!(
                            "  Process {} read {} in T{}, then its next read, T{}, did not return {}.\n",
                            r.process,
                            list(&gone),
                            before.complete,
                            r.complete,
                            if gone.len() == 1 { "it" } else { "them" }
                        ),
                    });
                }
            }
            last.insert(r.process, i);
        }
    }
}

impl SetFull {
    /// Every added element's outcome, by element; lost and stale elements
    /// are reported as they are found.
    fn outcomes(&mut self) -> BTreeMap<i64, Outcome> {
        let mut seen: FastMap<i64, Seen> = FastMap::default();
        for (pos, r) in self.reads.iter().enumerate() {
            for &e in r.elements.iter() {
                let s = seen.entry(e).or_insert(Seen {
                    first: r.complete,
                    first_time: r.complete_time,
                    earliest: pos,
                    last: pos,
                    reads: 0,
                });
                if r.complete < s.first {
                    (s.first, s.first_time) = (r.complete, r.complete_time);
                }
                s.last = pos;
                s.reads += 1;
            }
        }
        // Reads by completion, with the latest-invoked read among those
        // completing at or after each: the last read that could miss an
        // element whose add was invoked before that completion.
        let mut by_completion: Vec<(u64, usize)> = self
            .reads
            .iter()
            .enumerate()
            .map(|(pos, r)| (r.complete, pos))
            .collect();
        by_completion.sort_unstable();
        let mut latest = vec![0usize; by_completion.len()];
        for i in (0..by_completion.len()).rev() {
            let next = latest.get(i + 1).copied().unwrap_or(0);
            latest[i] = by_completion[i].1.max(next);
        }
        // The latest completion among the reads invoked at or before each.
        let mut ended: Vec<u64> = Vec::with_capacity(self.reads.len());
        for r in &self.reads {
            ended.push(ended.last().copied().unwrap_or(0).max(r.complete));
        }
        let mut adds: Vec<(i64, Add)> = self.adds.iter().map(|(e, a)| (*e, *a)).collect();
        adds.sort_unstable_by_key(|(e, _)| *e);
        let mut out = BTreeMap::new();
        for (e, add) in adds {
            let first = by_completion.partition_point(|(c, _)| *c <= add.invoke);
            let last_read = latest.get(first).copied();
            let seen = seen.get(&e).copied();
            let known = known(add, seen);
            let outcome = known.map_or(Outcome::NeverRead, |k| {
                self.outcome(e, add, k, seen, last_read, &ended)
            });
            if let Some(k) = known
                && let Some(anomaly) = self.explain(e, k, outcome)
            {
                self.report.add(anomaly);
            }
            out.insert(e, outcome);
        }
        out
    }

    fn outcome(
        &self,
        e: i64,
        add: Add,
        (known, known_time): (u64, Option<i64>),
        seen: Option<Seen>,
        last_read: Option<usize>,
        ended: &[u64],
    ) -> Outcome {
        let latency = |t: Option<i64>| known_time.zip(t).map(|(k, t)| (t + 1 - k).max(0));
        let present = seen.map(|s| s.last);
        match (present, last_read) {
            (_, Some(absent))
                if present.is_none_or(|p| absent > p) && known < self.reads[absent].invoke =>
            {
                Outcome::Lost {
                    latency: present.map_or(known_time.map(|_| 0), |p| {
                        latency(self.reads[p].invoke_time)
                    }),
                    present,
                    absent,
                }
            }
            (Some(p), last) if last.is_none_or(|a| a <= p) => {
                // The latest read before `p` that could have seen `e` and
                // did not.
                let from = seen.map_or(p, |s| s.look_back_from());
                let absent = (0..from)
                    .rev()
                    .take_while(|&i| ended[i] > add.invoke)
                    .find(|&i| self.reads[i].complete > add.invoke && !self.reads[i].contains(e));
                match absent {
                    Some(i) => Outcome::Stable {
                        latency: latency(self.reads[i].invoke_time),
                        stale: Some(i).filter(|&i| self.reads[i].invoke > known),
                    },
                    None => Outcome::Stable {
                        latency: known_time.map(|_| 0),
                        stale: None,
                    },
                }
            }
            _ => Outcome::NeverRead,
        }
    }

    /// The anomaly an element's outcome is, explained.
    fn explain(&self, e: i64, (known, _): (u64, Option<i64>), outcome: Outcome) -> Option<Anomaly> {
        let read = |pos: usize| {
            let r = &self.reads[pos];
            format!("T{} (process {})", r.complete, r.process)
        };
        match outcome {
            Outcome::Lost {
                present, absent, ..
            } => {
                let mut text = format!("  Element {e} was known to be in the set from T{known}");
                match present {
                    Some(p) => {
                        let _ = write!(text, "; the last read to return it was {}", read(p));
                    }
                    None => text.push_str("; no read ever returned it"),
                }
                let _ = writeln!(
                    text,
                    ", and {}, invoked after that, did not: it was lost.",
                    read(absent)
                );
                Some(Anomaly {
                    kind: AnomalyKind::LostElement,
                    ops: vec![known, self.reads[absent].complete],
                    explanation: text,
                })
            }
            Outcome::Stable {
                stale: Some(i),
                latency,
            } => Some(Anomaly {
                kind: AnomalyKind::StaleRead,
                ops: vec![known, self.reads[i].complete],
                explanation: format!(
                    "  Element {e} was known to be in the set from T{known}, but {}, invoked after that, did not return it; every read invoked after that one did{}.\n",
                    read(i),
                    latency.map_or(String::new(), |l| format!(
                        " (visible to all after {:.1} ms)",
                        l as f64 / 1e6
                    ))
                ),
            }),
            _ => None,
        }
    }
}

/// The known point of an element: its add's `ok`, or the first read that
/// returned it, whichever came first; `None` when neither happened.
fn known(add: Add, seen: Option<Seen>) -> Option<(u64, Option<i64>)> {
    let acked = match add.done {
        Some((OpType::Ok, index, time)) => Some((index, time)),
        _ => None,
    };
    let seen = seen.map(|s| (s.first, s.first_time));
    match (acked, seen) {
        (Some(a), Some(s)) if s.0 < a.0 => Some(s),
        (Some(a), _) => Some(a),
        (None, s) => s,
    }
}

/// Outcome counts and latency distributions, as set-full reports them
/// (latencies in milliseconds at the 0, 50, 95, 99 and 100th percentiles).
fn summarize(outcomes: &BTreeMap<i64, Outcome>, report: &mut Report) {
    let (mut stable, mut lost, mut never, mut stale) = (0, 0, 0, 0);
    let (mut stable_ms, mut lost_ms) = (Vec::new(), Vec::new());
    for o in outcomes.values() {
        match *o {
            Outcome::Stable { latency, stale: s } => {
                stable += 1;
                stale += u64::from(s.is_some());
                stable_ms.extend(latency.map(|l| (l / 1_000_000) as u64));
            }
            Outcome::Lost { latency, .. } => {
                lost += 1;
                lost_ms.extend(latency.map(|l| (l / 1_000_000) as u64));
            }
            Outcome::NeverRead => never += 1,
        }
    }
    let s = &mut report.stats;
    s.insert("attempt-count", outcomes.len() as u64);
    s.insert("stable-count", stable);
    s.insert("lost-count", lost);
    s.insert("never-read-count", never);
    s.insert("stale-count", stale);
    for (name, mut ms) in [
        (
            [
                "stable-latency-p0-ms",
                "stable-latency-p50-ms",
                "stable-latency-p95-ms",
                "stable-latency-p99-ms",
                "stable-latency-p100-ms",
            ],
            stable_ms,
        ),
        (
            [
                "lost-latency-p0-ms",
                "lost-latency-p50-ms",
                "lost-latency-p95-ms",
                "lost-latency-p99-ms",
                "lost-latency-p100-ms",
            ],
            lost_ms,
        ),
    ] {
        if ms.is_empty() {
            continue;
        }
        ms.sort_unstable();
        for (key, q) in name.into_iter().zip([0.0, 0.5, 0.95, 0.99, 1.0]) {
            let i = ((ms.len() as f64 * q) as usize).min(ms.len() - 1);
            s.insert(key, ms[i]);
        }
    }
}

/// Elements that occur more than once in a sorted list.
fn duplicates(sorted: &[i64]) -> Vec<i64> {
    let mut out: Vec<i64> = sorted
        .windows(2)
        .filter(|w| w[0] == w[1])
        .map(|w| w[0])
        .collect();
    out.dedup();
    out
}

/// `1`, `1 and 2`, `1, 2 and 3` (at most 8 shown).
fn list(elements: &[i64]) -> String {
    let shown: Vec<String> = elements.iter().take(8).map(i64::to_string).collect();
    let more = elements.len().saturating_sub(8);
    let mut text = match shown.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    };
    if more > 0 {
        let _ = write!(text, " (and {more} more)");
    }
    text
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Builds a history from `(kind, process, value, time-ms)` rows.
    fn history(rows: &[(OpType, u64, Value, i64)]) -> Vec<Op> {
        rows.iter()
            .enumerate()
            .map(|(i, (kind, process, value, ms))| Op {
                index: i as u64,
                kind: *kind,
                process: *process,
                value: value.clone(),
                time: Some(ms * 1_000_000),
            })
            .collect()
    }

    fn check(ops: Vec<Op>, model: ConsistencyModel) -> Report {
        let mut c = SetFull::new(model);
        for op in ops {
            c.push(op).expect("a well-formed history");
        }
        c.check()
    }

    use OpType::{Invoke, Ok as Done};

    fn add(e: i64) -> Value {
        Value::Add(e)
    }

    fn read(elements: &[i64]) -> Value {
        Value::ReadSet(Some(elements.to_vec()))
    }

    #[test]
    fn latencies_and_counts_are_reported_as_set_full_does() {
        let report = check(
            history(&[
                (Invoke, 0, add(1), 0),
                (Done, 0, add(1), 1),
                (Invoke, 0, add(2), 2),
                (Done, 0, add(2), 3),
                // Misses 2, begun 7 ms after it was acknowledged.
                (Invoke, 1, Value::ReadSet(None), 10),
                (Done, 1, read(&[1]), 11),
                (Invoke, 1, Value::ReadSet(None), 20),
                (Done, 1, read(&[1, 2]), 21),
                // Acknowledged after the last read began: never read.
                (Invoke, 0, add(3), 20),
                (Done, 0, add(3), 30),
            ]),
            ConsistencyModel::Linearizable,
        );
        let stat = |k: &str| report.stats.get(k).copied();
        assert_eq!(stat("attempt-count"), Some(3));
        assert_eq!(stat("stable-count"), Some(2));
        assert_eq!(stat("stale-count"), Some(1));
        assert_eq!(stat("never-read-count"), Some(1));
        assert_eq!(stat("lost-count"), Some(0));
        assert_eq!(stat("stable-latency-p0-ms"), Some(0));
        assert_eq!(stat("stable-latency-p100-ms"), Some(7));
        assert_eq!(report.count(AnomalyKind::StaleRead), 1);
        assert!(!report.valid);
    }

    #[test]
    fn lost_latency_runs_from_the_known_point_to_the_last_read_that_saw_it() {
        let report = check(
            history(&[
                (Invoke, 0, add(1), 0),
                (Done, 0, add(1), 2),
                (Invoke, 1, Value::ReadSet(None), 50),
                (Done, 1, read(&[1]), 51),
                (Invoke, 2, Value::ReadSet(None), 60),
                (Done, 2, read(&[]), 61),
            ]),
            ConsistencyModel::Serializable,
        );
        assert_eq!(report.stats.get("lost-count"), Some(&1));
        assert_eq!(report.stats.get("lost-latency-p50-ms"), Some(&48));
        assert_eq!(report.count(AnomalyKind::LostElement), 1);
        assert!(!report.valid, "a lost element is invalid under any model");
    }

    #[test]
    fn a_malformed_history_is_a_typed_error() {
        let mut c = SetFull::new(ConsistencyModel::Linearizable);
        let done = history(&[(Done, 4, read(&[1]), 0)]).remove(0);
        let e = c.push(done).expect_err("no invocation");
        assert!(e.message.contains("no invocation"), "{e}");
        let mut c = SetFull::new(ConsistencyModel::Linearizable);
        let ops = history(&[(Invoke, 1, add(1), 0), (Invoke, 1, add(2), 1)]);
        c.push(ops[0].clone()).unwrap();
        assert!(c.push(ops[1].clone()).is_err(), "two at once on a process");
        let txn = Op {
            value: Value::Txn(Vec::new()),
            ..ops[0].clone()
        };
        assert!(
            SetFull::new(ConsistencyModel::Linearizable)
                .push(txn)
                .is_err()
        );
    }

    /// A serial set history: each step adds the next element or reads the
    /// whole set (every operation alone, on a rotating process).
    fn serial(steps: &[bool]) -> Vec<Op> {
        let (mut rows, mut set) = (Vec::new(), Vec::new());
        for (i, &is_add) in steps.iter().enumerate() {
            let (p, t) = (i as u64 % 5, i as i64 * 2);
            if is_add {
                let e = set.len() as i64;
                rows.push((Invoke, p, add(e), t));
                rows.push((Done, p, add(e), t + 1));
                set.push(e);
            } else {
                rows.push((Invoke, p, Value::ReadSet(None), t));
                rows.push((Done, p, read(&set), t + 1));
            }
        }
        history(&rows)
    }

    proptest! {
        #[test]
        fn serial_histories_are_linearizable(steps in prop::collection::vec(any::<bool>(), 1..200)) {
            let report = check(serial(&steps), ConsistencyModel::Linearizable);
            prop_assert!(report.valid, "{report}");
            prop_assert_eq!(report.stats.get("stale-count"), Some(&0));
        }

        #[test]
        fn an_element_dropped_from_every_read_after_one_is_lost(
            steps in prop::collection::vec(any::<bool>(), 1..200),
            pick in any::<prop::sample::Index>(),
        ) {
            let mut ops = serial(&steps);
            // An element acknowledged before some read, and the reads
            // after that read: remove it from them.
            let reads: Vec<usize> = (0..ops.len())
                .filter(|&i| matches!(&ops[i].value, Value::ReadSet(Some(s)) if !s.is_empty()))
                .collect();
            prop_assume!(reads.len() >= 2);
            let at = reads[pick.index(reads.len() - 1)];
            let Value::ReadSet(Some(s)) = &ops[at].value else { unreachable!() };
            let victim = s[s.len() - 1];
            for op in &mut ops[at + 1..] {
                if let Value::ReadSet(Some(s)) = &mut op.value {
                    s.retain(|&e| e != victim);
                }
            }
            let report = check(ops, ConsistencyModel::Serializable);
            prop_assert_eq!(report.count(AnomalyKind::LostElement), 1, "{}", report);
            prop_assert!(!report.valid);
        }
    }
}
