//! Realistic list-append histories from a seed: concurrent processes run
//! transactions against an in-memory store that applies each one atomically
//! at a moment between its invocation and completion, so every generated
//! history is strict-serializable. Used by the benchmarks, the proptests and
//! `ballast-check generate`.

use ballast_clock::SeededRng;

use super::op::{Mop, Op, OpType, ReadValue, Value};

/// The shape of a generated history.
#[derive(Debug, Clone)]
pub struct Workload {
    /// Transactions to generate.
    pub txns: u64,
    /// Concurrent processes.
    pub processes: u64,
    /// Keys being written at any time.
    pub active_keys: usize,
    /// Appends after which a key is retired and a fresh one takes its place.
    pub appends_per_key: u32,
    /// Most micro-operations per transaction (each has 1..=this, uniform).
    pub max_mops: u32,
    /// Chance, in percent, that a transaction fails (no effect).
    pub fail_percent: u32,
    /// Chance, in percent, that a transaction is indeterminate (it takes
    /// effect or not, at random; its process is then retired).
    pub info_percent: u32,
    /// The seed.
    pub seed: u64,
}

impl Default for Workload {
    /// About 4 micro-ops per transaction, 10 processes, 10 active keys
    /// retired after 100 appends: the workload of the 1 M-transaction
    /// benchmark.
    fn default() -> Self {
        Self {
            txns: 10_000,
            processes: 10,
            active_keys: 10,
            appends_per_key: 100,
            max_mops: 7,
            fail_percent: 1,
            info_percent: 1,
            seed: 1,
        }
    }
}

/// An iterator over the operations of a generated history.
#[derive(Debug)]
pub struct ListAppendGenerator {
    w: Workload,
    rng: SeededRng,
    store: Vec<Vec<i64>>,
    active: Vec<i64>,
    appends: Vec<u32>,
    next_key: i64,
    next_value: i64,
    /// Per slot: the process running in it and its transaction in flight.
    slots: Vec<(u64, Option<Vec<Mop>>)>,
    in_flight: usize,
    next_process: u64,
    invoked: u64,
    index: u64,
}

impl ListAppendGenerator {
    /// A generator for `w`.
    pub fn new(w: Workload) -> Self {
        let processes = w.processes.max(1);
        let active: Vec<i64> = (0..w.active_keys.max(1) as i64).collect();
        Self {
            rng: SeededRng::new(w.seed),
            store: Vec::new(),
            appends: vec![0; active.len()],
            next_key: active.len() as i64,
            active,
            next_value: 1,
            slots: (0..processes).map(|p| (p, None)).collect(),
            in_flight: 0,
            next_process: processes,
            invoked: 0,
            index: 0,
            w,
        }
    }

    fn below(&mut self, n: u64) -> u64 {
        self.rng.next_u64() % n.max(1)
    }

    fn invoke(&mut self, slot: usize) -> Op {
        let n = 1 + self.below(u64::from(self.w.max_mops.max(1))) as usize;
        let mut mops = Vec::with_capacity(n);
        for _ in 0..n {
            let k = self.below(self.active.len() as u64) as usize;
            let key = self.active[k];
            if self.below(2) == 0 {
                mops.push(Mop::Read {
                    key,
                    value: ReadValue::Nil,
                });
                continue;
            }
            mops.push(Mop::Append {
                key,
                value: self.next_value,
            });
            self.next_value += 1;
            self.appends[k] += 1;
            if self.appends[k] >= self.w.appends_per_key {
                self.active[k] = self.next_key;
                self.next_key += 1;
                self.appends[k] = 0;
            }
        }
        let process = self.slots[slot].0;
        self.slots[slot].1 = Some(mops.clone());
        self.in_flight += 1;
        self.invoked += 1;
        self.op(OpType::Invoke, process, mops)
    }

    fn op(&mut self, kind: OpType, process: u64, mops: Vec<Mop>) -> Op {
        let op = Op {
            index: self.index,
            kind,
            process,
            value: Value::Txn(mops),
            time: Some(self.index as i64 * 1000),
        };
        self.index += 1;
        op
    }

    /// Applies the transaction to the store and returns what it read.
    fn apply(&mut self, mops: &[Mop]) -> Vec<Mop> {
        mops.iter()
            .map(|m| match *m {
                Mop::Append { key, value } => {
                    self.list(key).push(value);
                    m.clone()
                }
                Mop::Read { key, .. } => Mop::Read {
                    key,
                    value: ReadValue::List(self.list(key).clone()),
                },
                Mop::Write { .. } => m.clone(),
            })
            .collect()
    }

    fn list(&mut self, key: i64) -> &mut Vec<i64> {
        let k = key as usize;
        if self.store.len() <= k {
            self.store.resize_with(k + 1, Vec::new);
        }
        &mut self.store[k]
    }

    fn complete(&mut self, slot: usize) -> Op {
        let process = self.slots[slot].0;
        let mops = self.slots[slot].1.take().unwrap_or_default();
        self.in_flight -= 1;
        let roll = self.below(100) as u32;
        if roll < self.w.fail_percent {
            return self.op(OpType::Fail, process, mops);
        }
        if roll < self.w.fail_percent + self.w.info_percent {
            if self.below(2) == 0 {
                self.apply(&mops);
            }
            // An indeterminate process is retired; a new one takes its slot.
            self.slots[slot].0 = self.next_process;
            self.next_process += 1;
            return self.op(OpType::Info, process, mops);
        }
        let done = self.apply(&mops);
        self.op(OpType::Ok, process, done)
    }
}

impl Iterator for ListAppendGenerator {
    type Item = Op;

    fn next(&mut self) -> Option<Op> {
        if self.invoked == self.w.txns && self.in_flight == 0 {
            return None;
        }
        let slot = self.below(self.slots.len() as u64) as usize;
        if self.slots[slot].1.is_some() {
            return Some(self.complete(slot));
        }
        if self.invoked < self.w.txns {
            return Some(self.invoke(slot));
        }
        let busy = self.slots.iter().position(|s| s.1.is_some())?;
        Some(self.complete(busy))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{self, ConsistencyModel, Model};

    #[test]
    fn generated_histories_are_strict_serializable_and_replay_from_their_seed() {
        let w = Workload {
            txns: 3_000,
            seed: 9,
            ..Workload::default()
        };
        let ops: Vec<Op> = ListAppendGenerator::new(w.clone()).collect();
        assert_eq!(
            ops.len(),
            6_000,
            "one invocation and one completion per transaction"
        );
        assert_eq!(ops, ListAppendGenerator::new(w).collect::<Vec<_>>());
        let report =
            check::check(Model::ListAppend, ConsistencyModel::StrictSerializable, ops).unwrap();
        assert!(report.valid && report.counts.is_empty(), "{report}");
        assert!(report.failed > 0 && report.indeterminate > 0, "{report}");
        assert!(report.stats["graph-edges"] > 10_000, "{:?}", report.stats);
    }
}
