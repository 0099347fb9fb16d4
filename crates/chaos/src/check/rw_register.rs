//! The rw-register model: transactions of `[:w k v]` and `[:r k v]` over
//! registers that start nil, each value written at most once per key.
//!
//! Registers hide their history, so the version order is only partly
//! inferable. Sound inferences only: nil comes before every write; a
//! transaction that read `x` and then wrote `y` puts `x` before `y`. From
//! them: wr (`T` read what `W` wrote), ww (`W` wrote `x`, `T` read `x` then
//! overwrote it), rw (`R` read `x`, `T` overwrote `x`; a read of nil
//! precedes every committed write). The preconditions (unique writes,
//! initial nil) are checked and reported, not assumed.

use std::fmt::Write as _;

use super::FastMap;
use super::anomaly::{Anomaly, AnomalyKind, ConsistencyModel, Report};
use super::graph::{EdgeList, RW, WR, WW};
use super::op::{Mop, Op, ReadValue};
use super::txn::{self, Completed, Explain, HistoryError, NONE, Status, Txns};

/// Most rw edges drawn from reads of nil to the writers of one key.
const MAX_NIL_EDGES_PER_KEY: usize = 4096;

/// Most precondition problems described one by one.
const MAX_PRECONDITIONS: usize = 8;

#[derive(Debug, Clone, Copy)]
enum Step {
    Write {
        key: u32,
        value: i64,
    },
    /// `value` `None`: nil.
    Read {
        key: u32,
        value: Option<i64>,
        external: bool,
    },
    ReadUnknown {
        key: u32,
    },
}

#[derive(Debug, Clone, Copy)]
struct Version {
    writer: u32,
    last_of_writer: bool,
    observed: bool,
}

/// A streaming rw-register checker.
#[derive(Debug)]
pub struct RwRegister {
    model: ConsistencyModel,
    txns: Txns,
    keys: FastMap<i64, u32>,
    names: Vec<i64>,
    versions: FastMap<(u32, i64), Version>,
    steps: Vec<Step>,
    starts: Vec<u32>,
    report: Report,
    duplicate_writes: u64,
}

impl RwRegister {
    /// A checker for histories that must satisfy `model`.
    pub fn new(model: ConsistencyModel) -> Self {
        Self {
            model,
            txns: Txns::new(model.edge_mask()),
            keys: FastMap::default(),
            names: Vec::new(),
            versions: FastMap::default(),
            steps: Vec::new(),
            starts: vec![0],
            report: Report::default(),
            duplicate_writes: 0,
        }
    }

    /// Feeds the next operation of the history.
    pub fn push(&mut self, op: Op) -> Result<(), HistoryError> {
        if let Some(done) = self.txns.push(op)? {
            self.complete(done);
        }
        Ok(())
    }

    fn key_id(&mut self, key: i64) -> u32 {
        let next = self.names.len() as u32;
        let id = *self.keys.entry(key).or_insert(next);
        if id == next {
            self.names.push(key);
        }
        id
    }

    fn name(&self, id: u32) -> String {
        format!("T{}", self.txns.meta[id as usize].index())
    }

    fn complete(&mut self, done: Completed) {
        let Completed { id, status, mops } = done;
        // Per key in this transaction: what it must read next, if known.
        let mut state: Vec<(u32, Option<i64>, bool)> = Vec::new();
        let mut internal = Vec::new();
        let mut last_write: Vec<(u32, i64)> = Vec::new();
        for mop in &mops {
            let key = self.key_id(mop.key());
            let slot = match state.iter().position(|s| s.0 == key) {
                Some(i) => i,
                None => {
                    state.push((key, None, false));
                    state.len() - 1
                }
            };
            match *mop {
                Mop::Write { value, .. } | Mop::Append { value, .. } => {
                    self.write(id, key, value);
                    state[slot] = (key, Some(value), true);
                    match last_write.iter_mut().find(|w| w.0 == key) {
                        Some(w) => w.1 = value,
                        None => last_write.push((key, value)),
                    }
                }
                Mop::Read { ref value, .. } => {
                    let seen = match value {
                        _ if status != Status::Ok => {
                            self.steps.push(Step::ReadUnknown { key });
                            continue;
                        }
                        ReadValue::Nil => None,
                        ReadValue::Int(v) => Some(*v),
                        ReadValue::List(l) => l.last().copied(),
                    };
                    let (_, known, touched) = state[slot];
                    if touched && known != seen {
                        internal.push((key, seen, known));
                    }
                    self.steps.push(Step::Read {
                        key,
                        value: seen,
                        external: !touched,
                    });
                    state[slot] = (key, seen, true);
                    if let Some(v) = seen {
                        self.versions
                            .entry((key, v))
                            .or_insert(Version {
                                writer: NONE,
                                last_of_writer: false,
                                observed: false,
                            })
                            .observed = true;
                    }
                }
            }
        }
        for (key, v) in last_write {
            if let Some(ver) = self.versions.get_mut(&(key, v))
                && ver.writer == id
            {
                ver.last_of_writer = true;
            }
        }
        self.starts.push(self.steps.len() as u32);
        for (key, seen, known) in internal {
            self.internal(id, key, seen, known);
        }
    }

    fn internal(&mut self, id: u32, key: u32, seen: Option<i64>, known: Option<i64>) {
        let show = |v: Option<i64>| v.map_or("nil".to_string(), |v| v.to_string());
        let explanation = format!(
            "  {} = {}\n  reads key {} = {}, but after its own earlier reads and writes it must read {}.\n",
            self.name(id),
            self.txn_value(id),
            self.names[key as usize],
            show(seen),
            show(known)
        );
        let ops = vec![self.txns.meta[id as usize].index()];
        self.report.add(Anomaly {
            kind: AnomalyKind::Internal,
            ops,
            explanation,
        });
    }

    fn write(&mut self, id: u32, key: u32, value: i64) {
        let v = self.versions.entry((key, value)).or_insert(Version {
            writer: NONE,
            last_of_writer: false,
            observed: false,
        });
        if v.writer != NONE && v.writer != id {
            let first = v.writer;
            self.duplicate_writes += 1;
            if self.report.preconditions.len() < MAX_PRECONDITIONS {
                let (a, b) = (self.name(first), self.name(id));
                self.report.preconditions.push(format!(
                    "{value} was written to key {} twice ({a} and {b}); rw-register needs unique writes per key",
                    self.names[key as usize]
                ));
            }
            return;
        }
        v.writer = id;
        self.steps.push(Step::Write { key, value });
    }

    fn steps_of(&self, id: u32) -> &[Step] {
        &self.steps[self.starts[id as usize] as usize..self.starts[id as usize + 1] as usize]
    }

    /// The committed writer of `value`: ok, or indeterminate but read.
    fn writer(&self, key: u32, value: i64) -> Option<u32> {
        let v = self.versions.get(&(key, value))?;
        if v.writer == NONE {
            return None;
        }
        match self.txns.meta[v.writer as usize].status {
            Status::Ok => Some(v.writer),
            Status::Info if v.observed => Some(v.writer),
            _ => None,
        }
    }

    /// Finishes the history and checks it.
    pub fn check(mut self) -> Report {
        for done in self.txns.finish() {
            self.complete(done);
        }
        let mut report = std::mem::take(&mut self.report);
        let mut edges = EdgeList::default();
        // (key, value read or nil) → ok transactions that read it and then wrote the key.
        let mut overwrote: FastMap<(u32, Option<i64>), Vec<u32>> = FastMap::default();
        let mut writers: Vec<Vec<u32>> = vec![Vec::new(); self.names.len()];
        for id in 0..self.txns.meta.len() as u32 {
            let steps = self.steps_of(id);
            for (i, step) in steps.iter().enumerate() {
                match *step {
                    Step::Write { key, value }
                        if self.writer(key, value) == Some(id)
                            && writers[key as usize].last() != Some(&id) =>
                    {
                        writers[key as usize].push(id);
                    }
                    Step::Read {
                        key,
                        value,
                        external: true,
                    } => {
                        let writes = steps[i + 1..]
                            .iter()
                            .any(|s| matches!(*s, Step::Write { key: k, .. } if k == key));
                        if writes && self.txns.meta[id as usize].status == Status::Ok {
                            overwrote.entry((key, value)).or_default().push(id);
                        }
                    }
                    _ => {}
                }
            }
        }
        self.read_edges(&overwrote, &writers, &mut edges, &mut report);
        for (&(key, x), ts) in &overwrote {
            if let Some(x) = x
                && let Some(w) = self.writer(key, x)
            {
                for &t in ts {
                    edges.add(w, t, WW);
                }
            }
            if ts.len() > 1 {
                self.lost_update(key, x, ts, &mut report);
            }
        }
        let end = txn::Ending {
            txns: &self.txns,
            edges: &edges,
            model: self.model,
            keys: self.names.len(),
            duplicates: self.duplicate_writes,
            shown: MAX_PRECONDITIONS,
            what: "writes",
        };
        txn::conclude(end, &self, report)
    }

    fn read_edges(
        &self,
        overwrote: &FastMap<(u32, Option<i64>), Vec<u32>>,
        writers: &[Vec<u32>],
        edges: &mut EdgeList,
        report: &mut Report,
    ) {
        let mut nil_edges = vec![0usize; self.names.len()];
        let mut garbage_noted = false;
        for id in 0..self.txns.meta.len() as u32 {
            if self.txns.meta[id as usize].status != Status::Ok {
                continue;
            }
            for step in self.steps_of(id) {
                let Step::Read {
                    key,
                    value,
                    external,
                } = *step
                else {
                    continue;
                };
                if let Some(v) = value {
                    self.read_anomalies(id, key, v, report, &mut garbage_noted);
                }
                if !external {
                    continue;
                }
                if let Some(v) = value
                    && let Some(w) = self.writer(key, v)
                {
                    edges.add(w, id, WR);
                }
                if value.is_none() {
                    for &w in &writers[key as usize] {
                        if nil_edges[key as usize] < MAX_NIL_EDGES_PER_KEY {
                            edges.add(id, w, RW);
                            nil_edges[key as usize] += 1;
                        }
                    }
                } else if let Some(ts) = overwrote.get(&(key, value)) {
                    for &t in ts {
                        edges.add(id, t, RW);
                    }
                }
            }
        }
    }

    fn read_anomalies(
        &self,
        id: u32,
        key: u32,
        v: i64,
        report: &mut Report,
        garbage_noted: &mut bool,
    ) {
        let ver = self.versions.get(&(key, v));
        let k = self.names[key as usize];
        let reader = self.name(id);
        let (kind, why, writer) = match ver {
            Some(ver) if ver.writer != NONE => {
                let w = ver.writer;
                if self.txns.meta[w as usize].status == Status::Fail {
                    (
                        AnomalyKind::G1a,
                        format!("written by {}, which failed", self.name(w)),
                        Some(w),
                    )
                } else if !ver.last_of_writer && w != id {
                    (
                        AnomalyKind::G1b,
                        format!(
                            "an intermediate write of {}, which wrote key {k} again",
                            self.name(w)
                        ),
                        Some(w),
                    )
                } else {
                    return;
                }
            }
            _ => {
                if !*garbage_noted {
                    *garbage_noted = true;
                    report.preconditions.push(format!(
                        "{reader} read key {k} = {v}, which no transaction wrote: rw-register assumes every register starts nil and every write is in the history"
                    ));
                }
                (
                    AnomalyKind::GarbageRead,
                    "which no transaction wrote (registers are assumed to start nil)".to_string(),
                    None,
                )
            }
        };
        let mut text = format!("  {reader} = {}\n", self.txn_value(id));
        if let Some(w) = writer {
            let _ = writeln!(text, "  {} = {}", self.name(w), self.txn_value(w));
        }
        let _ = writeln!(text, "  {reader} read key {k} = {v}, {why}.");
        let mut ops = vec![self.txns.meta[id as usize].index()];
        ops.extend(writer.map(|w| self.txns.meta[w as usize].index()));
        report.add(Anomaly {
            kind,
            ops,
            explanation: text,
        });
    }

    fn lost_update(&self, key: u32, x: Option<i64>, ts: &[u32], report: &mut Report) {
        let mut text = String::new();
        for &t in ts.iter().take(4) {
            let _ = writeln!(text, "  {} = {}", self.name(t), self.txn_value(t));
        }
        let x = x.map_or("nil".to_string(), |v| v.to_string());
        let _ = writeln!(
            text,
            "  All read key {} = {x} (the same version) and then wrote it: each write after the first overwrote an update it never saw.",
            self.names[key as usize]
        );
        let ops = ts
            .iter()
            .map(|&t| self.txns.meta[t as usize].index())
            .collect();
        report.add(Anomaly {
            kind: AnomalyKind::LostUpdate,
            ops,
            explanation: text,
        });
    }

    fn read_of(&self, id: u32, key: u32) -> Option<Option<i64>> {
        self.steps_of(id).iter().find_map(|s| match *s {
            Step::Read {
                key: k,
                value,
                external: true,
            } if k == key => Some(value),
            _ => None,
        })
    }

    fn wrote(&self, id: u32, key: u32) -> Option<i64> {
        self.steps_of(id).iter().find_map(|s| match *s {
            Step::Write { key: k, value } if k == key => Some(value),
            _ => None,
        })
    }
}

impl Explain for RwRegister {
    fn txn_value(&self, id: u32) -> String {
        let mut s = String::from("[");
        for (i, step) in self.steps_of(id).iter().enumerate() {
            if i > 0 {
                s.push(' ');
            }
            let _ = match *step {
                Step::Write { key, value } => {
                    write!(s, "[:w {} {value}]", self.names[key as usize])
                }
                Step::Read {
                    key,
                    value: Some(v),
                    ..
                } => write!(s, "[:r {} {v}]", self.names[key as usize]),
                Step::Read {
                    key, value: None, ..
                }
                | Step::ReadUnknown { key } => {
                    write!(s, "[:r {} nil]", self.names[key as usize])
                }
            };
        }
        s.push(']');
        s
    }

    fn data_edge(&self, from: u32, to: u32, kind: u8) -> String {
        let (a, b) = (self.name(from), self.name(to));
        for key in 0..self.names.len() as u32 {
            let k = self.names[key as usize];
            let why = match kind {
                WR => self
                    .read_of(to, key)
                    .flatten()
                    .filter(|&v| self.writer(key, v) == Some(from))
                    .map(|v| format!("{b} read key {k} = {v}, which {a} wrote")),
                WW => self
                    .read_of(to, key)
                    .flatten()
                    .filter(|&x| self.writer(key, x) == Some(from))
                    .and_then(|x| {
                        let y = self.wrote(to, key)?;
                        Some(format!(
                            "{a} wrote key {k} = {x}, and {b} read {x} before writing {y} over it"
                        ))
                    }),
                RW => match (self.read_of(from, key), self.wrote(to, key)) {
                    (Some(None), Some(y)) => Some(format!(
                        "{a} read key {k} = nil, the initial state, which {b}'s write of {y} replaced"
                    )),
                    (Some(Some(x)), Some(y)) if self.read_of(to, key) == Some(Some(x)) => {
                        Some(format!(
                            "{a} read key {k} = {x}, which {b} read and then overwrote with {y}"
                        ))
                    }
                    _ => None,
                },
                _ => None,
            };
            if let Some(why) = why {
                return why;
            }
        }
        format!("of a {} dependency", super::graph::kind_name(kind))
    }
}
