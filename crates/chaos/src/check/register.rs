//! Single-register linearizability: Wing & Gong's search with Lowe's
//! memoization of (linearized set, state), P-compositional (each register
//! checked alone, as jepsen.independent splits them).
//!
//! Operations are `read`, `write` and `cas` on registers that start nil.
//! A `fail` did not happen. An indeterminate write or cas may take effect at
//! any moment after its invocation, or never; an indeterminate read tells
//! nothing and is dropped.

use std::collections::HashSet;
use std::fmt::Write as _;

use super::FastMap;
use super::anomaly::{Anomaly, AnomalyKind, ConsistencyModel, Report};
use super::op::{Op, OpType, RegisterOp, Value};
use super::txn::HistoryError;

/// Most (linearized set, state) configurations remembered per register
/// before its check gives up as undecided.
pub const MAX_CONFIGURATIONS: usize = 2_000_000;

#[derive(Debug, Clone, Copy)]
struct RegOp {
    op: RegisterOp,
    invoke_index: u64,
    /// `None`: indeterminate (may return at any time, or never).
    complete_index: Option<u64>,
    process: u64,
}

/// A streaming register-linearizability checker.
#[derive(Debug, Default)]
pub struct Registers {
    pending: FastMap<u64, (Option<i64>, RegisterOp, u64)>,
    /// Per register (`None`: the history's single register).
    keys: FastMap<Option<i64>, Vec<RegOp>>,
    order: Vec<Option<i64>>,
    ok: u64,
    failed: u64,
    indeterminate: u64,
}

impl Registers {
    /// An empty checker.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next operation.
    pub fn push(&mut self, op: Op) -> Result<(), HistoryError> {
        let Value::Register { key, op: rop } = op.value else {
            return Err(HistoryError {
                index: op.index,
                message: "not a register operation (:f :read, :write or :cas expected)".into(),
            });
        };
        if op.kind == OpType::Invoke {
            if self
                .pending
                .insert(op.process, (key, rop, op.index))
                .is_some()
            {
                return Err(HistoryError {
                    index: op.index,
                    message: format!(
                        "process {} invoked again before its last operation completed",
                        op.process
                    ),
                });
            }
            return Ok(());
        }
        let Some((ikey, iop, invoke_index)) = self.pending.remove(&op.process) else {
            return Err(HistoryError {
                index: op.index,
                message: format!(
                    "a completion on process {} with no invocation before it",
                    op.process
                ),
            });
        };
        match op.kind {
            OpType::Fail => self.failed += 1,
            OpType::Ok => {
                self.ok += 1;
                self.add(
                    key.or(ikey),
                    RegOp {
                        op: rop,
                        invoke_index,
                        complete_index: Some(op.index),
                        process: op.process,
                    },
                );
            }
            _ => {
                self.indeterminate += 1;
                if !matches!(iop, RegisterOp::Read(_)) {
                    self.add(
                        ikey,
                        RegOp {
                            op: iop,
                            invoke_index,
                            complete_index: None,
                            process: op.process,
                        },
                    );
                }
            }
        }
        Ok(())
    }

    fn add(&mut self, key: Option<i64>, op: RegOp) {
        let ops = self.keys.entry(key).or_insert_with(|| {
            self.order.push(key);
            Vec::new()
        });
        ops.push(op);
    }

    /// Finishes the history and checks every register.
    pub fn check(mut self) -> Report {
        let mut pending: Vec<_> = self.pending.drain().collect();
        pending.sort_by_key(|(_, (_, _, i))| *i);
        for (process, (key, op, invoke_index)) in pending {
            self.indeterminate += 1;
            if !matches!(op, RegisterOp::Read(_)) {
                self.add(
                    key,
                    RegOp {
                        op,
                        invoke_index,
                        complete_index: None,
                        process,
                    },
                );
            }
        }
        let mut report = Report {
            ok: self.ok,
            failed: self.failed,
            indeterminate: self.indeterminate,
            ..Report::default()
        };
        let mut undecided = 0;
        for key in &self.order {
            let ops = &self.keys[key];
            match linearize(ops) {
                Outcome::Linearizable => {}
                Outcome::Undecided => {
                    undecided += 1;
                    report.preconditions.push(format!(
                        "register {} not decided within {MAX_CONFIGURATIONS} configurations",
                        key.map_or("(single)".to_string(), |k| k.to_string())
                    ));
                }
                Outcome::Violation { stuck, states } => {
                    report.add(explain(*key, ops, stuck, &states))
                }
            }
        }
        report.stats.insert("registers", self.order.len() as u64);
        report.stats.insert("undecided", undecided);
        report.conclude(Some(ConsistencyModel::Linearizable));
        report
    }
}

enum Outcome {
    Linearizable,
    Undecided,
    /// No linearization: `stuck` is the operation that could not take
    /// effect before it returned, `states` what the register could hold.
    Violation {
        stuck: usize,
        states: Vec<Option<i64>>,
    },
}

/// One event of the search list: a call or a return of operation `op`.
#[derive(Clone, Copy)]
struct Event {
    op: usize,
    call: bool,
    /// For a call, the position of its return event.
    partner: usize,
    prev: usize,
    next: usize,
}

fn step(state: Option<i64>, op: RegisterOp) -> Option<Option<i64>> {
    match op {
        RegisterOp::Read(v) => (state == v).then_some(state),
        RegisterOp::Write(v) => Some(Some(v)),
        RegisterOp::Cas { from, to } => (state == Some(from)).then_some(Some(to)),
    }
}

fn events(ops: &[RegOp]) -> Vec<Event> {
    // (time, is-return, op): returns sort after calls at the same index.
    let mut times: Vec<(u64, bool, usize)> = Vec::with_capacity(ops.len() * 2);
    for (i, op) in ops.iter().enumerate() {
        times.push((op.invoke_index, false, i));
        times.push((op.complete_index.unwrap_or(u64::MAX), true, i));
    }
    times.sort_unstable();
    // Position 0 is the head sentinel; events are 1..=n.
    let n = times.len();
    let mut list = vec![
        Event {
            op: usize::MAX,
            call: false,
            partner: 0,
            prev: 0,
            next: 1
        };
        n + 1
    ];
    let mut ret_pos = vec![0usize; ops.len()];
    for (pos, &(_, is_return, op)) in times.iter().enumerate() {
        if is_return {
            ret_pos[op] = pos + 1;
        }
    }
    for (pos, &(_, is_return, op)) in times.iter().enumerate() {
        let p = pos + 1;
        list[p] = Event {
            op,
            call: !is_return,
            partner: ret_pos[op],
            prev: p - 1,
            next: if p == n { usize::MAX } else { p + 1 },
        };
    }
    if n == 0 {
        list[0].next = usize::MAX;
    }
    list
}

fn lift(list: &mut [Event], call: usize) {
    for p in [call, list[call].partner] {
        let (prev, next) = (list[p].prev, list[p].next);
        list[prev].next = next;
        if next != usize::MAX {
            list[next].prev = prev;
        }
    }
}

fn unlift(list: &mut [Event], call: usize) {
    for p in [list[call].partner, call] {
        let (prev, next) = (list[p].prev, list[p].next);
        list[prev].next = p;
        if next != usize::MAX {
            list[next].prev = p;
        }
    }
}

fn linearize(ops: &[RegOp]) -> Outcome {
    let mut list = events(ops);
    let words = ops.len().div_ceil(64);
    let mut done = vec![0u64; words];
    let mut remaining_ok = ops.iter().filter(|o| o.complete_index.is_some()).count();
    let mut seen: HashSet<(Vec<u64>, Option<i64>)> = HashSet::new();
    let mut stack: Vec<(usize, Option<i64>)> = Vec::new();
    let mut state: Option<i64> = None;
    let mut entry = list[0].next;
    let mut deepest = (0usize, usize::MAX, Vec::new());
    while remaining_ok > 0 {
        if entry == usize::MAX {
            return Outcome::Linearizable; // only indeterminate returns at infinity remain
        }
        let e = list[entry];
        if e.call {
            let op = ops[e.op];
            if let Some(next) = step(state, op.op) {
                done[e.op / 64] |= 1 << (e.op % 64);
                if seen.insert((done.clone(), next)) {
                    if seen.len() > MAX_CONFIGURATIONS {
                        return Outcome::Undecided;
                    }
                    stack.push((entry, state));
                    state = next;
                    if op.complete_index.is_some() {
                        remaining_ok -= 1;
                    }
                    lift(&mut list, entry);
                    entry = list[0].next;
                    continue;
                }
                done[e.op / 64] &= !(1 << (e.op % 64));
            }
            entry = e.next;
            continue;
        }
        // A return reached before its call was linearized: backtrack.
        if ops[e.op].complete_index.is_none() {
            return Outcome::Linearizable;
        }
        if stack.len() >= deepest.0 {
            if stack.len() > deepest.0 || deepest.1 != e.op {
                deepest.2.clear();
            }
            deepest.0 = stack.len();
            deepest.1 = e.op;
            if !deepest.2.contains(&state) {
                deepest.2.push(state);
            }
        }
        let Some((call, prior)) = stack.pop() else {
            return Outcome::Violation {
                stuck: deepest.1,
                states: deepest.2,
            };
        };
        let op = list[call].op;
        done[op / 64] &= !(1 << (op % 64));
        if ops[op].complete_index.is_some() {
            remaining_ok += 1;
        }
        state = prior;
        unlift(&mut list, call);
        entry = list[call].next;
    }
    Outcome::Linearizable
}

fn show_op(op: &RegOp) -> String {
    let what = match op.op {
        RegisterOp::Read(v) => format!("read {}", v.map_or("nil".into(), |v| v.to_string())),
        RegisterOp::Write(v) => format!("write {v}"),
        RegisterOp::Cas { from, to } => format!("cas {from} → {to}"),
    };
    let done = op
        .complete_index
        .map_or("never completed (indeterminate)".to_string(), |c| {
            format!("returned at {c}")
        });
    format!(
        "{what} by process {} (invoked at {}, {done})",
        op.process, op.invoke_index
    )
}

fn explain(key: Option<i64>, ops: &[RegOp], stuck: usize, states: &[Option<i64>]) -> Anomaly {
    let name = key.map_or("the register".to_string(), |k| format!("register {k}"));
    let op = &ops[stuck];
    let held: Vec<String> = states
        .iter()
        .map(|s| s.map_or("nil".into(), |v| v.to_string()))
        .collect();
    let mut text = format!("  No order of the operations on {name} fits every result.\n");
    let _ = writeln!(
        text,
        "  T{}: {}",
        op.complete_index.unwrap_or(op.invoke_index),
        show_op(op)
    );
    let _ = writeln!(
        text,
        "  must take effect before it returned, but every order of the operations before it leaves {name} holding {} there, and {} is not possible then.",
        if held.is_empty() {
            "nothing".to_string()
        } else {
            held.join(" or ")
        },
        match op.op {
            RegisterOp::Read(_) => "that read",
            RegisterOp::Write(_) => "that write",
            RegisterOp::Cas { .. } => "that cas",
        }
    );
    let concurrent: Vec<String> = ops
        .iter()
        .filter(|o| {
            o.invoke_index < op.complete_index.unwrap_or(u64::MAX)
                && o.complete_index.is_none_or(|c| c > op.invoke_index)
        })
        .filter(|o| o.invoke_index != op.invoke_index)
        .take(6)
        .map(show_op)
        .collect();
    if !concurrent.is_empty() {
        let _ = writeln!(text, "  Concurrent with it: {}.", concurrent.join("; "));
    }
    Anomaly {
        kind: AnomalyKind::NonLinearizable,
        ops: vec![op.complete_index.unwrap_or(op.invoke_index)],
        explanation: text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(kind: OpType, process: u64, key: i64, rop: RegisterOp) -> Op {
        Op {
            index: 0,
            kind,
            process,
            value: Value::Register {
                key: Some(key),
                op: rop,
            },
            time: None,
        }
    }

    fn run(events: Vec<Op>) -> Report {
        let mut r = Registers::new();
        for (i, mut e) in events.into_iter().enumerate() {
            e.index = i as u64;
            r.push(e).unwrap();
        }
        r.check()
    }

    use OpType::*;
    use RegisterOp::*;

    #[test]
    fn concurrent_write_and_reads_linearize() {
        let r = run(vec![
            op(Invoke, 0, 1, Write(1)),
            op(Invoke, 1, 1, Read(None)),
            op(Ok, 1, 1, Read(Some(1))),
            op(Invoke, 1, 1, Read(None)),
            op(Ok, 1, 1, Read(Some(1))),
            op(Ok, 0, 1, Write(1)),
        ]);
        assert!(r.valid, "{r}");
    }

    #[test]
    fn a_stale_read_is_not_linearizable_and_is_explained() {
        let r = run(vec![
            op(Invoke, 0, 1, Write(1)),
            op(Ok, 0, 1, Write(1)),
            op(Invoke, 0, 1, Write(2)),
            op(Ok, 0, 1, Write(2)),
            op(Invoke, 1, 1, Read(None)),
            op(Ok, 1, 1, Read(Some(1))),
        ]);
        assert!(!r.valid);
        assert_eq!(r.count(AnomalyKind::NonLinearizable), 1);
        let text = &r.anomalies[0].explanation;
        assert!(
            text.contains("T5: read 1 by process 1") && text.contains("holding 2"),
            "{text}"
        );
    }

    #[test]
    fn an_indeterminate_write_may_or_may_not_have_happened() {
        for seen in [None, Some(5)] {
            let r = run(vec![
                op(Invoke, 0, 1, Write(5)),
                op(Info, 0, 1, Write(5)),
                op(Invoke, 1, 1, Read(None)),
                op(Ok, 1, 1, Read(seen)),
            ]);
            assert!(r.valid, "{seen:?}: {r}");
        }
        // A failed write did not happen.
        let r = run(vec![
            op(Invoke, 0, 1, Write(5)),
            op(Fail, 0, 1, Write(5)),
            op(Invoke, 1, 1, Read(None)),
            op(Ok, 1, 1, Read(Some(5))),
        ]);
        assert!(!r.valid, "{r}");
    }

    #[test]
    fn cas_must_find_its_expected_value_and_keys_are_checked_alone() {
        let r = run(vec![
            op(Invoke, 0, 1, Write(1)),
            op(Ok, 0, 1, Write(1)),
            op(Invoke, 0, 1, Cas { from: 1, to: 2 }),
            op(Ok, 0, 1, Cas { from: 1, to: 2 }),
            op(Invoke, 0, 2, Cas { from: 1, to: 2 }),
            op(Ok, 0, 2, Cas { from: 1, to: 2 }),
        ]);
        assert_eq!(
            r.count(AnomalyKind::NonLinearizable),
            1,
            "only register 2 fails: {r}"
        );
        assert!(r.anomalies[0].explanation.contains("register 2"));
    }

    #[test]
    fn many_concurrent_processes_stay_tractable() {
        // 8 processes, 400 operations on one register: reads see the last write.
        let mut events = Vec::new();
        for round in 0..50 {
            for p in 0..8u64 {
                events.push(op(
                    Invoke,
                    p,
                    1,
                    if p == 0 { Write(round) } else { Read(None) },
                ));
            }
            for p in 0..8u64 {
                events.push(op(
                    Ok,
                    p,
                    1,
                    if p == 0 {
                        Write(round)
                    } else {
                        Read(Some(round))
                    },
                ));
            }
        }
        let r = run(events);
        assert!(r.valid, "{r}");
    }
}
