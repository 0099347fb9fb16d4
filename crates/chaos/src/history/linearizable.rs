//! The keyed-store history as one register per key, checked for
//! linearizability by [`crate::check::register`] (Wing & Gong's search with
//! Lowe's memo, each key alone), with the final state as a last read of
//! every key after everything else.
//!
//! The direct checks of [`super::keyed`] name the usual faults (a lost
//! write, a stale read); this one catches what no single pair of operations
//! shows, such as two readers that see two overlapping writes land in
//! opposite orders. A key the direct checks already faulted is not reported
//! again.

use std::collections::HashMap;
use std::fmt::Display;
use std::hash::BuildHasher;
use std::hash::Hash;
use std::time::Duration;

use super::single_write::SingleWrite;
use super::{Entry, Op, Outcome, Violation};
use crate::check::FastMap;
use crate::check::register::Registers;
use crate::check::{Op as RegisterEvent, OpType, RegisterOp, Value};

/// Keys and values as the register checker's integers: themselves when
/// they are integers, otherwise numbered in order of first appearance.
struct Numbering<T> {
    ids: rustc_hash::FxHashMap<T, i64>,
    names: rustc_hash::FxHashMap<i64, T>,
    as_is: bool,
}

impl<T: Clone + Eq + Hash + Display> Numbering<T> {
    fn new<'a>(all: impl Iterator<Item = &'a T>) -> Self
    where
        T: 'a,
    {
        let items: Vec<&T> = all.collect();
        let as_is = items.iter().all(|t| t.to_string().parse::<i64>().is_ok());
        let mut n = Self {
            ids: rustc_hash::FxHashMap::default(),
            names: rustc_hash::FxHashMap::default(),
            as_is,
        };
        for t in items {
            let next = n.ids.len() as i64;
            let id = *n.ids.entry(t.clone()).or_insert_with(|| {
                if as_is {
                    t.to_string().parse().unwrap_or(next)
                } else {
                    next
                }
            });
            n.names.entry(id).or_insert_with(|| t.clone());
        }
        n
    }

    fn id(&self, t: &T) -> i64 {
        self.ids.get(t).copied().unwrap_or(-1)
    }
}

/// When something happened, and whether it is an operation's return
/// (returns sort after calls at the same instant: such operations overlap).
type At = (Duration, bool, u64);

/// The history as register events: one call and one return per operation,
/// then a read of each key's final value. Operations that never returned
/// are returned as indeterminate at the very end.
fn events<K, V, S: BuildHasher>(
    entries: &[Entry<K, V>],
    final_state: &HashMap<K, V, S>,
    keys: &Numbering<K>,
    values: &Numbering<V>,
) -> (Vec<RegisterEvent>, Vec<Option<u64>>)
where
    K: Clone + Eq + Hash + Display,
    V: Clone + Eq + Hash + Display,
{
    let value = |v: &Option<V>| v.as_ref().map(|v| values.id(v));
    let mut timeline: Vec<(At, OpType, usize)> = Vec::with_capacity(entries.len() * 2);
    for (i, e) in entries.iter().enumerate() {
        timeline.push(((e.invoked, false, e.id), OpType::Invoke, i));
        let (at, kind) = match &e.completed {
            Some((at, Outcome::Ok(_))) => (*at, OpType::Ok),
            Some((at, Outcome::Fail(_))) => (*at, OpType::Fail),
            Some((at, Outcome::Info(_))) => (*at, OpType::Info),
            None => (Duration::MAX, OpType::Info),
        };
        timeline.push(((at, true, e.id), kind, i));
    }
    timeline.sort_unstable_by_key(|(at, _, _)| *at);
    let mut out = Vec::with_capacity(timeline.len() + 2 * final_state.len());
    let mut ids = Vec::with_capacity(out.capacity());
    for ((_, _, id), kind, i) in timeline {
        let e = &entries[i];
        let op = match (&e.op, &e.completed) {
            (Op::Write { value: v, .. }, _) => RegisterOp::Write(values.id(v)),
            (Op::Read { .. }, Some((_, Outcome::Ok(v)))) if kind == OpType::Ok => {
                RegisterOp::Read(value(v))
            }
            (Op::Read { .. }, _) => RegisterOp::Read(None),
        };
        out.push(event(out.len(), kind, id, keys.id(e.op.key()), op));
        ids.push(Some(id));
    }
    // The final state, read after everything, each key by its own process.
    let reader = entries.iter().map(|e| e.id + 1).max().unwrap_or(0);
    let mut finals: Vec<(i64, &K)> = keys.ids.iter().map(|(k, id)| (*id, k)).collect();
    finals.sort_unstable_by_key(|(id, _)| *id);
    for (n, (key, k)) in finals.into_iter().enumerate() {
        let process = reader + n as u64;
        let read = RegisterOp::Read(value(&final_state.get(k).cloned()));
        out.push(event(
            out.len(),
            OpType::Invoke,
            process,
            key,
            RegisterOp::Read(None),
        ));
        out.push(event(out.len(), OpType::Ok, process, key, read));
        ids.extend([None, None]);
    }
    (out, ids)
}

/// Each operation is its own process: the harness's clients may leave an
/// operation unfinished and go on (an indeterminate one never returns).
fn event(index: usize, kind: OpType, process: u64, key: i64, op: RegisterOp) -> RegisterEvent {
    RegisterEvent {
        index: index as u64,
        kind,
        process,
        value: Value::Register { key: Some(key), op },
        time: None,
    }
}

/// The history as register events, with what is needed to name its keys.
pub(super) struct RegisterHistory<K> {
    /// Calls and returns, then the final reads.
    pub(super) events: Vec<RegisterEvent>,
    /// Per event, the harness operation it came from (`None`: a final read).
    ids: Vec<Option<u64>>,
    keys: Numbering<K>,
    renumbered: bool,
}

/// Builds the register history of `entries` with `final_state` read last.
pub(super) fn build<K, V, S: BuildHasher>(
    entries: &[Entry<K, V>],
    final_state: &HashMap<K, V, S>,
) -> RegisterHistory<K>
where
    K: Clone + Eq + Hash + Display,
    V: Clone + Eq + Hash + Display,
{
    let keys = Numbering::new(entries.iter().map(|e| e.op.key()));
    let values = Numbering::new(
        entries
            .iter()
            .filter_map(|e| match (&e.op, &e.completed) {
                (Op::Write { value, .. }, _) => Some(value),
                (_, Some((_, Outcome::Ok(Some(v))))) => Some(v),
                _ => None,
            })
            .chain(final_state.values()),
    );
    let (events, ids) = events(entries, final_state, &keys, &values);
    let renumbered = !(keys.as_is && values.as_is);
    RegisterHistory {
        events,
        ids,
        keys,
        renumbered,
    }
}

/// Checks every key not already in `faulted` for linearizability and adds
/// a [`Violation::NonLinearizable`] for each key that has none: keys
/// written at most once directly ([`SingleWrite`]), the others through the
/// register search.
pub(super) fn check<K, V, S: BuildHasher>(
    entries: &[Entry<K, V>],
    final_state: &HashMap<K, V, S>,
    faulted: &rustc_hash::FxHashSet<K>,
    violations: &mut Vec<Violation<K, V>>,
) where
    K: Clone + Eq + Hash + Display,
    V: Clone + Eq + Hash + Display,
{
    // Keys written at most once are decided directly; the others go
    // through the register search. Operations grouped by key, each key's in
    // history order, with one sort (no allocation per key).
    let mut ids: FastMap<&K, u32> = FastMap::default();
    let mut keyed: Vec<(u32, &Entry<K, V>)> = entries
        .iter()
        .filter(|e| !faulted.contains(e.op.key()))
        .map(|e| {
            let next = ids.len() as u32;
            (*ids.entry(e.op.key()).or_insert(next), e)
        })
        .collect();
    keyed.sort_by_key(|(id, _)| *id);
    let ops: Vec<&Entry<K, V>> = keyed.iter().map(|(_, e)| *e).collect();
    let mut searched = Vec::new();
    let mut start = 0;
    for run in keyed.chunk_by(|a, b| a.0 == b.0) {
        let ops = &ops[start..start + run.len()];
        start += run.len();
        let key = ops[0].op.key();
        match SingleWrite::gather(key, ops) {
            Some(single) => violations.extend(single.check(final_state.get(key))),
            None => searched.extend(ops.iter().map(|e| (*e).clone())),
        }
    }
    if !searched.is_empty() {
        search(&searched, final_state, violations);
    }
}

/// The register search over `entries` (whole keys), adding a violation per
/// key that has no linearization.
pub(super) fn search<K, V, S: BuildHasher>(
    entries: &[Entry<K, V>],
    final_state: &HashMap<K, V, S>,
    violations: &mut Vec<Violation<K, V>>,
) where
    K: Clone + Eq + Hash + Display,
    V: Clone + Eq + Hash + Display,
{
    let RegisterHistory {
        events,
        ids,
        keys,
        renumbered,
    } = build(entries, final_state);
    let mut registers = Registers::new();
    for e in &events {
        if registers.push(e.clone()).is_err() {
            // Each operation has its own process, so pairing cannot fail.
            return;
        }
    }
    let report = registers.check();
    for a in report.anomalies {
        // The operation that could not take effect, and its key.
        let Some(&at) = a.ops.first() else { continue };
        let Some(RegisterEvent {
            value: Value::Register { key: Some(id), .. },
            ..
        }) = events.get(at as usize)
        else {
            continue;
        };
        let Some(key) = keys.names.get(id) else {
            continue;
        };
        let renamed = if !renumbered {
            String::new()
        } else {
            format!(
                "  (register {id} is key {key}; values are numbered in order of first appearance)\n"
            )
        };
        violations.push(Violation::NonLinearizable {
            key: key.clone(),
            op: ids.get(at as usize).copied().flatten(),
            explanation: format!("{renamed}{}", a.explanation),
        });
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::Duration;

    use crate::ManualClock;
    use crate::history::{History, Op, Violation};

    fn tick(clock: &ManualClock) {
        clock.advance(Duration::from_millis(1));
    }

    /// Two overlapping writes of `key`; two readers each read twice while
    /// both are in flight and see them land in opposite orders. No pair
    /// of operations is wrong on its own.
    fn opposite_orders<K: Clone>(h: &History<K, u64>, clock: &ManualClock, key: &K) {
        let w10 = h.invoke(
            0,
            Op::Write {
                key: key.clone(),
                value: 10,
            },
        );
        let w20 = h.invoke(
            1,
            Op::Write {
                key: key.clone(),
                value: 20,
            },
        );
        for (process, seen) in [(2, [20, 10]), (3, [10, 20])] {
            for v in seen {
                let r = h.invoke(process, Op::Read { key: key.clone() });
                tick(clock);
                r.ok(Some(v));
                tick(clock);
            }
        }
        w10.ok(None);
        w20.ok(None);
    }

    #[test]
    fn readers_that_see_two_writes_land_in_opposite_orders_are_not_linearizable() {
        let clock = ManualClock::new();
        let h = History::<u32, u64>::with_clock(100, clock.clone());
        opposite_orders(&h, &clock, &7);
        let report = h.check(&HashMap::from([(7, 20)]));
        assert_eq!(report.violations.len(), 1, "{report:?}");
        let Violation::NonLinearizable {
            key, explanation, ..
        } = &report.violations[0]
        else {
            panic!("{report:?}");
        };
        assert_eq!(*key, 7);
        assert!(explanation.contains("register 7"), "{explanation}");
        assert!(!explanation.contains("numbered"), "{explanation}");
    }

    #[test]
    fn named_keys_are_numbered_and_the_explanation_says_which() {
        let clock = ManualClock::new();
        let h = History::<String, u64>::with_clock(100, clock.clone());
        opposite_orders(&h, &clock, &"acct-7".to_string());
        let report = h.check(&HashMap::from([("acct-7".to_string(), 20)]));
        let Some(Violation::NonLinearizable { explanation, .. }) = report.violations.first() else {
            panic!("{report:?}");
        };
        assert!(explanation.contains("is key acct-7"), "{explanation}");
    }

    #[test]
    fn a_key_another_check_faulted_is_not_reported_twice() {
        let clock = ManualClock::new();
        let h = History::<u32, u64>::with_clock(100, clock.clone());
        let w = h.invoke(0, Op::Write { key: 1, value: 10 });
        tick(&clock);
        w.ok(None);
        let report = h.check(&HashMap::new());
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
    fn a_serial_history_of_updates_is_linearizable() {
        let clock = ManualClock::new();
        let h = History::<u32, u64>::with_clock(1_000, clock.clone());
        for v in 0..50u64 {
            let w = h.invoke(
                v % 3,
                Op::Write {
                    key: (v % 4) as u32,
                    value: v,
                },
            );
            tick(&clock);
            w.ok(None);
            let r = h.invoke(
                3,
                Op::Read {
                    key: (v % 4) as u32,
                },
            );
            tick(&clock);
            r.ok(Some(v));
        }
        let last: HashMap<u32, u64> = (46..50u64).map(|v| ((v % 4) as u32, v)).collect();
        let report = h.check(&last);
        assert!(report.is_valid(), "{report:?}");
    }
}
