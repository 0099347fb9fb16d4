//! The keyed-store checks: each key's writes against the final state, each
//! read against the writes of its key.
//!
//! A key may be written many times. Its writes are ordered by real time,
//! last writer wins: write `a` precedes write `b` when `a` was acknowledged
//! before `b` was invoked; writes that overlap are unordered and either may
//! end up last. A value is identified with the writes that wrote it (a
//! store that writes one value twice makes the checks more lenient, never
//! stricter).

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::hash::Hash;
use std::time::Duration;

use super::{CheckReport, Entry, Op, Outcome, Violation};
use crate::check::FastMap;

/// What the writes of one value of one key tell.
#[derive(Debug, Clone, Copy)]
struct ValueFacts {
    /// A write of it that did not fail exists.
    written: bool,
    /// Earliest invocation of such a write.
    first_invoked: Duration,
    /// Latest acknowledgement of such a write; `None` when one of them is
    /// indeterminate (it may take effect at any time).
    settled: Option<Duration>,
    /// A write of it was refused.
    refused: bool,
}

impl ValueFacts {
    const NONE: Self = Self {
        written: false,
        first_invoked: Duration::MAX,
        settled: Some(Duration::ZERO),
        refused: false,
    };

    /// Every write of this value was acknowledged before `t`.
    fn settled_before(&self, t: Duration) -> bool {
        self.written && self.settled.is_some_and(|s| s < t)
    }
}

/// Every key's writes, summarized for the checks in a few flat tables
/// (no allocation per key: a history of 100 000 write-once keys costs a
/// handful).
#[derive(Debug)]
pub(super) struct Writes<K, V> {
    ids: FastMap<K, u32>,
    /// Keys by id, in the order they were first written.
    order: Vec<K>,
    values: FastMap<(u32, V), ValueFacts>,
    /// Acknowledged writes as (key, acknowledged, invoked), sorted.
    acked: Vec<(u32, Duration, Duration)>,
    /// `superseded[i]`: the latest invocation among the key's acknowledged
    /// writes up to `acked[i]`: a value all of whose writes were
    /// acknowledged before it is overwritten for a read invoked after
    /// `acked[i]` was acknowledged.
    superseded: Vec<Duration>,
    /// Per key: its run in `acked`, and the write acknowledged last (its
    /// value).
    runs: Vec<(usize, usize)>,
    last_acked: Vec<Option<(Duration, V)>>,
}

impl<K: Eq + Hash, V: Clone + Eq + Hash> Writes<K, V> {
    fn value(&self, key: u32, v: &V) -> ValueFacts {
        self.values
            .get(&(key, v.clone()))
            .copied()
            .unwrap_or(ValueFacts::NONE)
    }

    /// The latest invocation of a write of `key` acknowledged before `t`.
    fn overwritten_by(&self, key: u32, t: Duration) -> Option<Duration> {
        let (start, end) = self.runs[key as usize];
        let n = self.acked[start..end].partition_point(|(_, acked, _)| *acked < t);
        n.checked_sub(1).map(|i| self.superseded[start + i])
    }
}

/// Summarizes the writes of `entries`, counting the acknowledged ones.
pub(super) fn writes<K: Clone + Eq + Hash, V: Clone + Eq + Hash>(
    entries: &[Entry<K, V>],
    report: &mut CheckReport<K, V>,
) -> Writes<K, V> {
    let mut all = Writes {
        ids: FastMap::default(),
        order: Vec::new(),
        values: FastMap::default(),
        acked: Vec::new(),
        superseded: Vec::new(),
        runs: Vec::new(),
        last_acked: Vec::new(),
    };
    for e in entries {
        let Op::Write { key, value } = &e.op else {
            continue;
        };
        let id = *all.ids.entry(key.clone()).or_insert_with(|| {
            all.order.push(key.clone());
            all.last_acked.push(None);
            (all.order.len() - 1) as u32
        });
        let v = all
            .values
            .entry((id, value.clone()))
            .or_insert(ValueFacts::NONE);
        match &e.completed {
            Some((_, Outcome::Fail(_))) => v.refused = true,
            completed => {
                v.written = true;
                v.first_invoked = v.first_invoked.min(e.invoked);
                let acked = match completed {
                    Some((at, Outcome::Ok(_))) => Some(*at),
                    _ => None,
                };
                v.settled = v.settled.zip(acked).map(|(a, b)| a.max(b));
                if let Some(at) = acked {
                    report.acknowledged_writes += 1;
                    all.acked.push((id, at, e.invoked));
                    let last = &mut all.last_acked[id as usize];
                    if last.as_ref().is_none_or(|(t, _)| *t <= at) {
                        *last = Some((at, value.clone()));
                    }
                }
            }
        }
    }
    all.acked.sort_unstable();
    all.runs = vec![(0, 0); all.order.len()];
    let mut latest = (u32::MAX, Duration::ZERO);
    for (i, &(key, _, invoked)) in all.acked.iter().enumerate() {
        if key != latest.0 {
            latest = (key, Duration::ZERO);
            all.runs[key as usize].0 = i;
        }
        latest.1 = latest.1.max(invoked);
        all.runs[key as usize].1 = i + 1;
        all.superseded.push(latest.1);
    }
    all
}

/// Each key's final value against its writes: it must be the value of a
/// write no acknowledged write followed (a lost write otherwise), and not
/// one only a refused write wrote.
pub(super) fn check_final<K: Clone + Eq + Hash, V: Clone + Eq + Hash, S: BuildHasher>(
    writes: &Writes<K, V>,
    final_state: &HashMap<K, V, S>,
    violations: &mut Vec<Violation<K, V>>,
) {
    for (id, key) in writes.order.iter().enumerate() {
        let id = id as u32;
        let found = final_state.get(key);
        if let Some((_, expected)) = &writes.last_acked[id as usize] {
            let (_, end) = writes.runs[id as usize];
            let last = writes.superseded[end - 1];
            let current = found
                .map(|f| writes.value(id, f))
                .is_some_and(|v| v.written && !v.settled_before(last));
            if !current {
                violations.push(Violation::LostWrite {
                    key: key.clone(),
                    expected: expected.clone(),
                    found: found.cloned(),
                });
            }
        }
        if let Some(f) = found {
            let v = writes.value(id, f);
            if v.refused && !v.written {
                violations.push(Violation::FailedWriteVisible {
                    key: key.clone(),
                    value: f.clone(),
                });
            }
        }
    }
}

/// Each acknowledged read against its key's writes, in invocation order.
pub(super) fn check_reads<K: Clone + Eq + Hash, V: Clone + Eq + Hash>(
    entries: &[Entry<K, V>],
    writes: &Writes<K, V>,
    violations: &mut Vec<Violation<K, V>>,
) {
    // (process, key) → when its latest read ended, and what it saw.
    let mut seen: FastMap<(u64, K), (Duration, Option<V>)> = FastMap::default();
    let mut reads: Vec<&Entry<K, V>> = entries
        .iter()
        .filter(|e| matches!(e.op, Op::Read { .. }))
        .collect();
    reads.sort_by_key(|e| e.invoked);
    for e in reads {
        let Op::Read { key } = &e.op else { continue };
        let Some((done, Outcome::Ok(result))) = &e.completed else {
            continue;
        };
        let id = writes.ids.get(key).copied();
        let facts = |v: &V| id.map_or(ValueFacts::NONE, |id| writes.value(id, v));
        let overwritten = id.and_then(|id| writes.overwritten_by(id, e.invoked));
        let saw = result.as_ref().map(|v| (v, facts(v)));
        let stale = match saw {
            Some((value, v)) if !v.written || v.first_invoked > *done => {
                violations.push(Violation::PhantomRead {
                    op: e.id,
                    key: key.clone(),
                    value: value.clone(),
                });
                false
            }
            Some((_, v)) => overwritten.is_some_and(|t| v.settled_before(t)),
            None => overwritten.is_some(),
        };
        if stale {
            violations.push(Violation::StaleRead {
                op: e.id,
                key: key.clone(),
            });
        }
        let slot = (e.process, key.clone());
        if let Some((before, earlier)) = seen.get(&slot)
            && *before < e.invoked
            && went_back(earlier.as_ref().map(facts), saw.map(|(_, v)| v))
        {
            violations.push(Violation::NonMonotonicRead {
                process: e.process,
                op: e.id,
                key: key.clone(),
            });
        }
        seen.insert(slot, (*done, result.clone()));
    }
}

/// Whether a process that saw `earlier` and then `now` saw its key go back
/// in time: from a value to nothing, or to a value every write of which
/// was acknowledged before any write of the earlier one began.
fn went_back(earlier: Option<ValueFacts>, now: Option<ValueFacts>) -> bool {
    match (earlier, now) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(e), Some(now)) => e.written && now.settled_before(e.first_invoked),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::Duration;

    use crate::ManualClock;
    use crate::history::{History, Op, Violation};

    /// A history on a manual clock, so "before" and "overlapping" are exact.
    fn history() -> (History<u32, u32>, ManualClock) {
        let clock = ManualClock::new();
        (History::with_clock(100, clock.clone()), clock)
    }

    fn tick(clock: &ManualClock) {
        clock.advance(Duration::from_millis(1));
    }

    /// Writes `value` to key 1 and acknowledges it a tick later.
    fn write(h: &History<u32, u32>, clock: &ManualClock, value: u32) {
        let w = h.invoke(0, Op::Write { key: 1, value });
        tick(clock);
        w.ok(None);
        tick(clock);
    }

    fn last_wins(value: u32) -> HashMap<u32, u32> {
        HashMap::from([(1, value)])
    }

    #[test]
    fn a_key_written_many_times_keeps_its_last_write() {
        let (h, clock) = history();
        for v in [10, 20, 30] {
            write(&h, &clock, v);
        }
        let r = h.invoke(1, Op::Read { key: 1 });
        r.ok(Some(30));
        let report = h.check(&last_wins(30));
        assert!(report.is_valid(), "{report:?}");
        assert_eq!(report.acknowledged_writes, 3);
    }

    #[test]
    fn a_final_value_an_acknowledged_write_overwrote_is_a_lost_write() {
        let (h, clock) = history();
        for v in [10, 20, 30] {
            write(&h, &clock, v);
        }
        let report = h.check(&last_wins(20));
        assert_eq!(
            report.violations,
            vec![Violation::LostWrite {
                key: 1,
                expected: 30,
                found: Some(20)
            }]
        );
    }

    #[test]
    fn either_of_two_overlapping_writes_may_win() {
        for winner in [10, 20] {
            let (h, clock) = history();
            let a = h.invoke(0, Op::Write { key: 1, value: 10 });
            let b = h.invoke(1, Op::Write { key: 1, value: 20 });
            tick(&clock);
            b.ok(None);
            a.ok(None);
            let report = h.check(&last_wins(winner));
            assert!(report.is_valid(), "{winner}: {report:?}");
        }
    }

    #[test]
    fn an_indeterminate_write_after_the_last_acknowledged_one_may_win() {
        let (h, clock) = history();
        write(&h, &clock, 10);
        h.invoke(0, Op::Write { key: 1, value: 20 }).info("timeout");
        assert!(h.check(&last_wins(20)).is_valid());
        assert!(h.check(&last_wins(10)).is_valid());
    }

    #[test]
    fn reading_an_overwritten_value_after_the_overwrite_is_a_stale_read() {
        let (h, clock) = history();
        write(&h, &clock, 10);
        write(&h, &clock, 20);
        h.invoke(1, Op::Read { key: 1 }).ok(Some(10));
        let report = h.check(&last_wins(20));
        assert_eq!(
            report.violations,
            vec![Violation::StaleRead { op: 2, key: 1 }]
        );
    }

    #[test]
    fn a_read_overlapping_the_overwrite_may_see_the_old_value() {
        let (h, clock) = history();
        write(&h, &clock, 10);
        let w = h.invoke(0, Op::Write { key: 1, value: 20 });
        let r = h.invoke(1, Op::Read { key: 1 });
        tick(&clock);
        w.ok(None);
        r.ok(Some(10));
        let report = h.check(&last_wins(20));
        assert!(report.is_valid(), "{report:?}");
    }

    #[test]
    fn a_process_that_sees_a_newer_value_then_an_older_one_reads_non_monotonically() {
        let (h, clock) = history();
        write(&h, &clock, 10);
        // Overlaps both reads, so neither read alone is stale.
        let w = h.invoke(0, Op::Write { key: 1, value: 20 });
        h.invoke(1, Op::Read { key: 1 }).ok(Some(20));
        tick(&clock);
        h.invoke(1, Op::Read { key: 1 }).ok(Some(10));
        tick(&clock);
        w.ok(None);
        let report = h.check(&last_wins(20));
        assert_eq!(
            report.violations,
            vec![Violation::NonMonotonicRead {
                process: 1,
                op: 3,
                key: 1
            }]
        );
    }

    #[test]
    fn a_value_only_a_refused_write_wrote_must_not_be_final() {
        let (h, clock) = history();
        write(&h, &clock, 10);
        h.invoke(0, Op::Write { key: 1, value: 20 })
            .fail("rolled back");
        let report = h.check(&last_wins(20));
        assert_eq!(
            report.violations,
            vec![
                Violation::LostWrite {
                    key: 1,
                    expected: 10,
                    found: Some(20)
                },
                Violation::FailedWriteVisible { key: 1, value: 20 }
            ]
        );
    }
}
