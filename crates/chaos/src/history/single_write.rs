//! Linearizability of a key written at most once, decided directly in one
//! pass over its operations (the register search is for keys written many
//! times).
//!
//! With one write `w` of `v`, the register holds nothing until `w` takes
//! effect at some moment `t` and `v` from then on. A read that returned
//! nothing must have begun before `t`; a read that returned `v` must have
//! ended after it; `t` lies within `w`'s own invocation and return (or any
//! time after its invocation, for an indeterminate write). The history is
//! linearizable exactly when such a `t` exists and the final state agrees:
//! `v`, or nothing when `w` may not have happened and no read saw it. As in
//! the register search, operations that begin and end at the same instant
//! overlap.

use std::fmt::Display;
use std::time::Duration;

use super::{Entry, Op, Outcome, Violation};

/// A read that bounds the write's moment, for the explanation.
#[derive(Clone, Copy)]
struct Bound {
    at: Duration,
    id: u64,
    process: u64,
}

/// What one key's operations say, gathered in one pass.
pub(super) struct SingleWrite<'a, K, V> {
    key: &'a K,
    write: Option<&'a Entry<K, V>>,
    /// The latest invocation of a read that returned nothing.
    missed: Option<Bound>,
    /// The earliest return of a read that returned the value.
    saw: Option<Bound>,
}

impl<'a, K: Eq + Display + Clone, V: Eq + Display + Clone> SingleWrite<'a, K, V> {
    /// Gathers `ops`, the operations of `key`; `None` when the key has more
    /// than one write that did not fail, or a read of another value (the
    /// direct checks name that one).
    pub(super) fn gather(key: &'a K, ops: &[&'a Entry<K, V>]) -> Option<Self> {
        let mut s = Self {
            key,
            write: None,
            missed: None,
            saw: None,
        };
        for e in ops {
            match (&e.op, &e.completed) {
                (Op::Write { .. }, Some((_, Outcome::Fail(_)))) => {}
                (Op::Write { .. }, _) => {
                    if s.write.replace(e).is_some() {
                        return None;
                    }
                }
                (Op::Read { .. }, Some((done, Outcome::Ok(result)))) => {
                    // The latest start of a read that missed the write,
                    // the earliest end of one that saw it.
                    let (at, slot, latest) = match result {
                        None => (e.invoked, &mut s.missed, true),
                        Some(_) => (*done, &mut s.saw, false),
                    };
                    if slot.is_none_or(|b| if latest { at > b.at } else { at < b.at }) {
                        *slot = Some(Bound {
                            at,
                            id: e.id,
                            process: e.process,
                        });
                    }
                }
                (Op::Read { .. }, _) => {}
            }
        }
        // Every read that returned something returned the write's value.
        let value = match s.write.map(|w| &w.op) {
            Some(Op::Write { value, .. }) => Some(value),
            _ => None,
        };
        let foreign = ops.iter().any(|e| match (&e.completed, value) {
            (Some((_, Outcome::Ok(Some(v)))), Some(w)) => matches!(e.op, Op::Read { .. }) && v != w,
            (Some((_, Outcome::Ok(Some(_)))), None) => matches!(e.op, Op::Read { .. }),
            _ => false,
        });
        (!foreign).then_some(s)
    }

    /// The violation, if no moment for the write fits every read and the
    /// final value `last`.
    pub(super) fn check(&self, last: Option<&V>) -> Option<Violation<K, V>> {
        let w = self.write?;
        let Op::Write { value, .. } = &w.op else {
            return None;
        };
        let acked = match &w.completed {
            Some((at, Outcome::Ok(_))) => Some(*at),
            _ => None,
        };
        let why = match last {
            Some(l) if l != value => Some(format!(
                "  The store ends holding {l}, which no write of key {} put there.\n",
                self.key
            )),
            None if acked.is_some() => Some(format!(
                "  The write of {value} to key {} (op #{}) was acknowledged, yet the store ends without it.\n",
                self.key, w.id
            )),
            None => self.saw.map(|saw| {
                format!(
                    "  Op #{} (process {}) read {value}, written by op #{} (outcome unknown), yet the store ends without it.\n",
                    saw.id, saw.process, w.id
                )
            }),
            _ => self.no_moment(w, value, acked),
        };
        why.map(|explanation| Violation::NonLinearizable {
            key: self.key.clone(),
            op: Some(self.missed.map_or(w.id, |m| m.id)),
            explanation,
        })
    }

    /// Why no moment fits between the latest event the write must follow
    /// and the earliest it must precede, if none does (words only then).
    fn no_moment(&self, w: &Entry<K, V>, value: &V, acked: Option<Duration>) -> Option<String> {
        let missed = self.missed.filter(|m| m.at > w.invoked);
        let after = missed.map_or(w.invoked, |m| m.at);
        let saw = self.saw.filter(|s| acked.is_none_or(|a| s.at < a));
        let before = saw.map(|s| s.at).or(acked)?;
        if after <= before {
            return None;
        }
        let after_what = missed.map_or("the write began".to_string(), |m| {
            format!(
                "op #{} (process {}) began (it found the key empty)",
                m.id, m.process
            )
        });
        let before_what = saw.map_or("the write was acknowledged".to_string(), |s| {
            format!("op #{} (process {}) returned {value}", s.id, s.process)
        });
        Some(format!(
            "  The write of {value} to key {} (op #{}) must take effect after {after_what} ({:.3} ms) and before {before_what} ({:.3} ms): no moment fits.\n",
            self.key,
            w.id,
            after.as_secs_f64() * 1e3,
            before.as_secs_f64() * 1e3
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::Duration;

    use proptest::prelude::*;

    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn entry(
        id: u64,
        op: Op<u32, u32>,
        from: u64,
        to: Option<(u64, Outcome<u32>)>,
    ) -> Entry<u32, u32> {
        Entry {
            process: id,
            id,
            op,
            invoked: MS * from as u32,
            completed: to.map(|(t, o)| (MS * t as u32, o)),
        }
    }

    fn verdict(entries: &[Entry<u32, u32>], last: Option<u32>) -> Option<Violation<u32, u32>> {
        let ops: Vec<&Entry<u32, u32>> = entries.iter().collect();
        SingleWrite::gather(&1, &ops)
            .expect("one write")
            .check(last.as_ref())
    }

    #[test]
    fn a_read_begun_after_another_saw_the_write_cannot_miss_it() {
        // The write is still in flight, so no direct check applies.
        let entries = [
            entry(
                0,
                Op::Write { key: 1, value: 7 },
                0,
                Some((10, Outcome::Ok(None))),
            ),
            entry(1, Op::Read { key: 1 }, 1, Some((2, Outcome::Ok(Some(7))))),
            entry(2, Op::Read { key: 1 }, 3, Some((4, Outcome::Ok(None)))),
        ];
        let v = verdict(&entries, Some(7)).expect("not linearizable");
        let Violation::NonLinearizable {
            op, explanation, ..
        } = v
        else {
            panic!("{v:?}")
        };
        assert_eq!(op, Some(2));
        assert!(
            explanation.contains("op #2 (process 2) began"),
            "{explanation}"
        );
        assert!(
            explanation.contains("op #1 (process 1) returned 7"),
            "{explanation}"
        );
    }

    #[test]
    fn a_value_read_from_an_unfinished_write_must_stay() {
        let entries = [
            entry(
                0,
                Op::Write { key: 1, value: 7 },
                0,
                Some((10, Outcome::Info("timeout".into()))),
            ),
            entry(1, Op::Read { key: 1 }, 1, Some((2, Outcome::Ok(Some(7))))),
        ];
        assert!(verdict(&entries, None).is_some());
        assert!(verdict(&entries, Some(7)).is_none());
    }

    /// Times 0..8 in ms; a write that may be acknowledged, unknown or
    /// failed; reads of nothing or of its value; a final value.
    fn history() -> impl Strategy<Value = (Vec<Entry<u32, u32>>, Option<u32>)> {
        let span = (0u64..8, 0u64..4);
        let write = (span.clone(), 0u8..3);
        let reads = prop::collection::vec((span, any::<bool>()), 0..5);
        let last = prop_oneof![Just(None), Just(Some(7)), Just(Some(8))];
        (write, reads, last).prop_map(|(((from, len), fate), reads, last)| {
            let outcome = match fate {
                0 => Outcome::Ok(None),
                1 => Outcome::Info("timeout".into()),
                _ => Outcome::Fail("refused".into()),
            };
            let mut entries = vec![entry(
                0,
                Op::Write { key: 1, value: 7 },
                from,
                Some((from + len, outcome)),
            )];
            // A failed write's value, read or left behind, is the direct
            // checks' business: with one, reads see nothing.
            let refused = fate == 2;
            let last = last.filter(|_| !refused);
            for (i, ((from, len), saw)) in reads.into_iter().enumerate() {
                let result = Outcome::Ok((saw && !refused).then_some(7));
                entries.push(entry(
                    i as u64 + 1,
                    Op::Read { key: 1 },
                    from,
                    Some((from + len, result)),
                ));
            }
            (entries, last)
        })
    }

    proptest! {
        /// The direct decision agrees with the register search on every
        /// small history of one write.
        #[test]
        fn agrees_with_the_register_search((entries, last) in history()) {
            let ops: Vec<&Entry<u32, u32>> = entries.iter().collect();
            let direct = SingleWrite::gather(&1, &ops).and_then(|s| s.check(last.as_ref()));
            let mut searched = Vec::new();
            let state: HashMap<u32, u32> = last.map(|v| (1, v)).into_iter().collect();
            super::super::linearizable::search(&entries, &state, &mut searched);
            prop_assert_eq!(direct.is_some(), !searched.is_empty(), "{:?} {:?} {:?}", entries, direct, searched);
        }
    }
}
