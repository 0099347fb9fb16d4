//! The list-append model: transactions of `[:append k v]` and `[:r k l]`
//! over lists, each value appended once per key.
//!
//! Reads of a key are prefixes of one version order, so the longest read is
//! that order and every other read is stored as a length into it: memory is
//! a few words per micro-op, not the lists the history repeats. Operations
//! are consumed as they arrive ([`ListAppend::push`]); direct anomalies
//! (internal, duplicate, incompatible order) are known at once, cycles when
//! [`ListAppend::check`] builds the graph.

use std::fmt::Write as _;

use super::FastMap;
use super::anomaly::{Anomaly, AnomalyKind, ConsistencyModel, Report};
use super::graph::{EdgeList, RW, WR, WW};
use super::op::{Mop, Op, ReadValue};
use super::txn::{self, Completed, Explain, HistoryError, NONE, Status, Txns};

/// Most unobserved appends per key given order edges (each gets one rw
/// edge per reader of the whole list).
const MAX_UNOBSERVED_PER_KEY: usize = 64;

/// Most precondition problems described one by one.
const MAX_PRECONDITIONS: usize = 8;

#[derive(Debug)]
struct KeyOrder {
    key: i64,
    /// The longest read: the version order of the key, as far as observed.
    longest: Vec<i64>,
    /// Who read it.
    reader: u32,
}

#[derive(Debug, Clone, Copy)]
struct Version {
    /// The transaction that appended it (`NONE`: no one).
    writer: u32,
    /// Its position in the key's version order (`NONE`: never read).
    pos: u32,
    /// Whether it is the writer's last append to the key.
    last_of_writer: bool,
}

const UNSEEN: Version = Version {
    writer: NONE,
    pos: NONE,
    last_of_writer: false,
};

#[derive(Debug, Clone, Copy)]
enum Step {
    Append {
        key: u32,
        value: i64,
    },
    /// A read whose list is the first `len` versions of the key; `external`
    /// when it came before the transaction's own appends to the key.
    Read {
        key: u32,
        len: u32,
        external: bool,
    },
    /// A read whose result is not known (indeterminate transactions).
    ReadUnknown {
        key: u32,
    },
    /// A read that fits no version order (kept whole for explanations).
    ReadOdd {
        key: u32,
        list: u32,
    },
}

/// A streaming list-append checker.
#[derive(Debug)]
pub struct ListAppend {
    model: ConsistencyModel,
    txns: Txns,
    keys: FastMap<i64, u32>,
    orders: Vec<KeyOrder>,
    versions: FastMap<(u32, i64), Version>,
    steps: Vec<Step>,
    /// `steps[starts[t]..starts[t + 1]]` are transaction t's.
    starts: Vec<u32>,
    odd: Vec<Vec<i64>>,
    report: Report,
    duplicate_appends: u64,
}

/// Per-key state inside one transaction (its internal consistency).
struct Local {
    key: u32,
    known: Option<Vec<i64>>,
    appended: Vec<i64>,
    last_append: Option<i64>,
}

impl ListAppend {
    /// A checker for histories that must satisfy `model`.
    pub fn new(model: ConsistencyModel) -> Self {
        Self {
            model,
            txns: Txns::new(model.edge_mask()),
            keys: FastMap::default(),
            orders: Vec::new(),
            versions: FastMap::default(),
            steps: Vec::new(),
            starts: vec![0],
            odd: Vec::new(),
            report: Report::default(),
            duplicate_appends: 0,
        }
    }

    /// Feeds the next operation of the history.
    pub fn push(&mut self, op: Op) -> Result<(), HistoryError> {
        if let Some(done) = self.txns.push(op)? {
            self.complete(done);
        }
        Ok(())
    }

    /// Anomalies found so far without building the graph (internal,
    /// duplicate elements, incompatible orders): what a streaming check
    /// can report while the history is still being written.
    pub fn direct_anomalies(&self) -> &Report {
        &self.report
    }

    fn key_id(&mut self, key: i64) -> u32 {
        let next = self.orders.len() as u32;
        let id = *self.keys.entry(key).or_insert(next);
        if id == next {
            self.orders.push(KeyOrder {
                key,
                longest: Vec::new(),
                reader: NONE,
            });
        }
        id
    }

    fn complete(&mut self, done: Completed) {
        let Completed { id, status, mops } = done;
        let mut locals: Vec<Local> = Vec::new();
        let mut internal: Vec<(u32, Vec<i64>, String)> = Vec::new();
        for (i, mop) in mops.iter().enumerate() {
            let key = self.key_id(mop.key());
            let later = mops[i + 1..].iter().any(|m| m.key() == mop.key());
            match mop {
                Mop::Append { value, .. } | Mop::Write { value, .. } => {
                    self.append(id, key, *value);
                    let local = local(&mut locals, key);
                    local.last_append = Some(*value);
                    match &mut local.known {
                        Some(k) => k.push(*value),
                        None => local.appended.push(*value),
                    }
                }
                Mop::Read { value, .. } => {
                    let list = match value {
                        ReadValue::Nil if status == Status::Ok => Some(Vec::new()),
                        ReadValue::List(l) if status == Status::Ok => Some(l.clone()),
                        ReadValue::Int(v) if status == Status::Ok => Some(vec![*v]),
                        _ => None,
                    };
                    let Some(list) = list else {
                        self.steps.push(Step::ReadUnknown { key });
                        continue;
                    };
                    let local = local(&mut locals, key);
                    let external = local.known.is_none() && local.appended.is_empty();
                    let expected = match &local.known {
                        Some(k) if *k != list => Some(txn::short_list(k)),
                        None if !list.ends_with(&local.appended) => Some(format!(
                            "a list ending in {}",
                            txn::short_list(&local.appended)
                        )),
                        _ => None,
                    };
                    if later {
                        local.known = Some(list.clone());
                    }
                    if let Some(expected) = expected {
                        internal.push((key, list.clone(), expected));
                    }
                    self.read(id, key, list, external);
                }
            }
        }
        for local in &locals {
            if let Some(v) = local.last_append
                && let Some(ver) = self.versions.get_mut(&(local.key, v))
                && ver.writer == id
            {
                ver.last_of_writer = true;
            }
        }
        self.starts.push(self.steps.len() as u32);
        for (key, list, expected) in internal {
            self.internal(id, key, &list, &expected);
        }
    }

    fn append(&mut self, id: u32, key: u32, value: i64) {
        let v = self.versions.entry((key, value)).or_insert(UNSEEN);
        if v.writer != NONE && v.writer != id {
            let first = v.writer;
            self.duplicate_appends += 1;
            if self.report.preconditions.len() < MAX_PRECONDITIONS {
                let k = self.orders[key as usize].key;
                let (a, b) = (self.name(first), self.name(id));
                self.report.preconditions.push(format!(
                    "{value} was appended to key {k} twice ({a} and {b}); list-append needs unique values per key"
                ));
            }
            return;
        }
        v.writer = id;
        self.steps.push(Step::Append { key, value });
    }

    fn name(&self, id: u32) -> String {
        format!("T{}", self.txns.meta[id as usize].index())
    }

    fn internal(&mut self, id: u32, key: u32, list: &[i64], expected: &str) {
        let k = self.orders[key as usize].key;
        let explanation = format!(
            "  {} = {}\n  reads key {k} = {}, but after its own earlier reads and appends it must read {expected}.\n",
            self.name(id),
            self.txn_value(id),
            txn::short_list(list)
        );
        let index = self.txns.meta[id as usize].index();
        self.report.add(Anomaly {
            kind: AnomalyKind::Internal,
            ops: vec![index],
            explanation,
        });
    }

    /// Merges a read into the key's version order.
    fn read(&mut self, id: u32, key: u32, list: Vec<i64>, external: bool) {
        let order = &mut self.orders[key as usize];
        let n = order.longest.len();
        let fits = if list.len() <= n {
            order.longest[..list.len()] == list[..]
        } else {
            list[..n] == order.longest[..]
        };
        if !fits {
            let other = order.reader;
            self.odd_read(id, key, list, other);
            return;
        }
        if list.len() > n {
            order.reader = id;
            for (i, &v) in list[n..].iter().enumerate() {
                let ver = self.versions.entry((key, v)).or_insert(UNSEEN);
                if ver.pos == NONE {
                    ver.pos = (n + i) as u32;
                } else {
                    let k = order.key;
                    let index = self.txns.meta[id as usize].index();
                    let explanation = format!(
                        "  T{index} read key {k} = {}, which holds {v} twice: each value is appended once.\n",
                        txn::short_list(&list)
                    );
                    self.report.add(Anomaly {
                        kind: AnomalyKind::DuplicateElements,
                        ops: vec![index],
                        explanation,
                    });
                }
            }
            order.longest.extend_from_slice(&list[n..]);
        }
        self.steps.push(Step::Read {
            key,
            len: list.len() as u32,
            external,
        });
    }

    fn odd_read(&mut self, id: u32, key: u32, list: Vec<i64>, other: u32) {
        let order = &self.orders[key as usize];
        let index = self.txns.meta[id as usize].index();
        let mut explanation = format!(
            "  T{index} read key {} = {}\n  {} read it as {}\n  Neither is a prefix of the other, so no one order of appends to key {} gives both.\n",
            order.key,
            txn::short_list(&list),
            self.name(other),
            txn::short_list(&order.longest),
            order.key
        );
        let mut ops = vec![index, self.txns.meta[other as usize].index()];
        if let Some(d) = txn::first_duplicate(&list) {
            let _ = writeln!(explanation, "  It also holds {d} twice.");
            self.report.add(Anomaly {
                kind: AnomalyKind::DuplicateElements,
                ops: vec![index],
                explanation: format!(
                    "  T{index} read key {} = {}, which holds {d} twice.\n",
                    order.key,
                    txn::short_list(&list)
                ),
            });
        }
        ops.dedup();
        self.report.add(Anomaly {
            kind: AnomalyKind::IncompatibleOrder,
            ops,
            explanation,
        });
        self.steps.push(Step::ReadOdd {
            key,
            list: self.odd.len() as u32,
        });
        self.odd.push(list);
    }

    fn steps_of(&self, id: u32) -> &[Step] {
        &self.steps[self.starts[id as usize] as usize..self.starts[id as usize + 1] as usize]
    }

    fn writer(&self, key: u32, pos: usize) -> Option<(i64, u32)> {
        let v = *self.orders[key as usize].longest.get(pos)?;
        let w = self.versions.get(&(key, v))?.writer;
        let ok = w != NONE && self.txns.meta[w as usize].status != Status::Fail;
        ok.then_some((v, w))
    }

    /// Finishes the history and checks it.
    pub fn check(mut self) -> Report {
        for done in self.txns.finish() {
            self.complete(done);
        }
        self.analyze(&FastMap::default())
    }

    /// Checks the history so far, cycles included, without ending it:
    /// the streaming check. Transactions still in flight are left out; a
    /// read of one of their appends is not garbage (it may have committed
    /// before its client heard so).
    pub fn checkpoint(&self) -> Report {
        let in_flight: FastMap<(u32, i64), ()> = self
            .txns
            .in_flight()
            .flat_map(|mops| mops.iter())
            .filter_map(|m| match m {
                Mop::Append { key, value } => self.keys.get(key).map(|&k| ((k, *value), ())),
                _ => None,
            })
            .collect();
        self.analyze(&in_flight)
    }

    fn analyze(&self, in_flight: &FastMap<(u32, i64), ()>) -> Report {
        let mut report = self.report.clone();
        let mut edges = EdgeList::default();
        self.version_anomalies(in_flight, &mut report);
        let unobserved = self.unobserved_edges(&mut edges);
        self.read_edges(&unobserved, &mut edges, &mut report);
        for key in 0..self.orders.len() as u32 {
            for pos in 1..self.orders[key as usize].longest.len() {
                if let (Some((_, a)), Some((_, b))) =
                    (self.writer(key, pos - 1), self.writer(key, pos))
                {
                    edges.add(a, b, WW);
                }
            }
        }
        let end = txn::Ending {
            txns: &self.txns,
            edges: &edges,
            model: self.model,
            keys: self.orders.len(),
            duplicates: self.duplicate_appends,
            shown: MAX_PRECONDITIONS,
            what: "appends",
        };
        txn::conclude(end, self, report)
    }

    /// Garbage (never appended) and aborted (G1a) elements in the version
    /// orders, each shown through the transaction that read them.
    fn version_anomalies(&self, in_flight: &FastMap<(u32, i64), ()>, report: &mut Report) {
        for key in 0..self.orders.len() {
            let order = &self.orders[key];
            for &v in &order.longest {
                let ver = self
                    .versions
                    .get(&(key as u32, v))
                    .copied()
                    .unwrap_or(UNSEEN);
                let (kind, why) = if ver.writer == NONE && in_flight.contains_key(&(key as u32, v))
                {
                    continue;
                } else if ver.writer == NONE {
                    (
                        AnomalyKind::GarbageRead,
                        "which no operation in the history appended".to_string(),
                    )
                } else if self.txns.meta[ver.writer as usize].status == Status::Fail {
                    (
                        AnomalyKind::G1a,
                        format!("appended by {}, which failed", self.name(ver.writer)),
                    )
                } else {
                    continue;
                };
                let reader = self.name(order.reader);
                let explanation = format!(
                    "  {reader} read key {} = {}, which holds {v}, {why}.\n",
                    order.key,
                    txn::short_list(&order.longest)
                );
                let mut ops = vec![self.txns.meta[order.reader as usize].index()];
                if ver.writer != NONE {
                    ops.push(self.txns.meta[ver.writer as usize].index());
                }
                report.add(Anomaly {
                    kind,
                    ops,
                    explanation,
                });
            }
        }
    }

    /// wr and rw edges from external reads; G1b and lost updates.
    fn read_edges(&self, unobserved: &[Vec<u32>], edges: &mut EdgeList, report: &mut Report) {
        let mut read_then_wrote: FastMap<(u32, u32), u32> = FastMap::default();
        for id in 0..self.txns.meta.len() as u32 {
            if self.txns.meta[id as usize].status != Status::Ok {
                continue;
            }
            let (start, end) = (
                self.starts[id as usize] as usize,
                self.starts[id as usize + 1] as usize,
            );
            for i in start..end {
                let Step::Read {
                    key,
                    len,
                    external: true,
                } = self.steps[i]
                else {
                    continue;
                };
                let appends = self.steps[i + 1..end]
                    .iter()
                    .any(|s| matches!(s, Step::Append { key: k, .. } if *k == key));
                if len > 0
                    && let Some((v, w)) = self.writer(key, len as usize - 1)
                {
                    edges.add(w, id, WR);
                    let last = self
                        .versions
                        .get(&(key, v))
                        .is_some_and(|ver| ver.last_of_writer);
                    if !last && w != id {
                        self.intermediate(id, w, key, len, v, report);
                    }
                }
                if let Some((_, w)) = self.writer(key, len as usize) {
                    edges.add(id, w, RW);
                } else if len as usize == self.orders[key as usize].longest.len() {
                    for &w in &unobserved[key as usize] {
                        edges.add(id, w, RW);
                    }
                }
                if appends {
                    if let Some(&first) = read_then_wrote.get(&(key, len)) {
                        self.lost_update(first, id, key, len, report);
                    } else {
                        read_then_wrote.insert((key, len), id);
                    }
                }
            }
        }
    }

    /// A committed append that no read saw comes after every element read
    /// so far (lists only grow): its writer follows the writer of the last
    /// element read (ww) and every transaction that read the whole list (rw).
    fn unobserved_edges(&self, edges: &mut EdgeList) -> Vec<Vec<u32>> {
        let mut unobserved: Vec<Vec<u32>> = vec![Vec::new(); self.orders.len()];
        for (&(key, _), ver) in &self.versions {
            if ver.pos == NONE
                && ver.writer != NONE
                && self.txns.meta[ver.writer as usize].status == Status::Ok
            {
                let list = &mut unobserved[key as usize];
                if list.len() < MAX_UNOBSERVED_PER_KEY {
                    list.push(ver.writer);
                }
            }
        }
        for (key, writers) in unobserved.iter_mut().enumerate() {
            if writers.is_empty() {
                continue;
            }
            writers.sort_unstable();
            writers.dedup();
            let n = self.orders[key].longest.len();
            if let Some((_, last)) = n.checked_sub(1).and_then(|p| self.writer(key as u32, p)) {
                for &w in writers.iter() {
                    edges.add(last, w, WW);
                }
            }
        }
        unobserved
    }

    fn intermediate(
        &self,
        reader: u32,
        writer: u32,
        key: u32,
        len: u32,
        v: i64,
        report: &mut Report,
    ) {
        let order = &self.orders[key as usize];
        let explanation = format!(
            "  {} = {}\n  {} = {}\n  {} read key {} = {}, ending in {v}; {} appended {v} and then appended again to key {} in the same transaction, so {v} was never a committed last element.\n",
            self.name(reader),
            self.txn_value(reader),
            self.name(writer),
            self.txn_value(writer),
            self.name(reader),
            order.key,
            txn::short_list(&order.longest[..len as usize]),
            self.name(writer),
            order.key
        );
        let ops = vec![
            self.txns.meta[reader as usize].index(),
            self.txns.meta[writer as usize].index(),
        ];
        report.add(Anomaly {
            kind: AnomalyKind::G1b,
            ops,
            explanation,
        });
    }

    fn lost_update(&self, a: u32, b: u32, key: u32, len: u32, report: &mut Report) {
        let order = &self.orders[key as usize];
        let explanation = format!(
            "  {} = {}\n  {} = {}\n  Both read key {} = {} (the same version) and both appended to it: whichever committed second did so without seeing the other's append.\n",
            self.name(a),
            self.txn_value(a),
            self.name(b),
            self.txn_value(b),
            order.key,
            txn::short_list(&order.longest[..len as usize])
        );
        let ops = vec![
            self.txns.meta[a as usize].index(),
            self.txns.meta[b as usize].index(),
        ];
        report.add(Anomaly {
            kind: AnomalyKind::LostUpdate,
            ops,
            explanation,
        });
    }

    fn why_ww(&self, from: u32, to: u32) -> Option<String> {
        for step in self.steps_of(from) {
            let Step::Append { key, value } = *step else {
                continue;
            };
            let order = &self.orders[key as usize];
            let pos = self.versions.get(&(key, value)).map_or(NONE, |v| v.pos);
            let next = if pos == NONE {
                None
            } else {
                self.writer(key, pos as usize + 1)
            };
            if let Some((next, w)) = next
                && w == to
            {
                return Some(format!(
                    "{} appended {value} to key {} and {} appended {next} right after it ({} read key {} = {})",
                    self.name(from),
                    order.key,
                    self.name(to),
                    self.name(order.reader),
                    order.key,
                    txn::short_list(&order.longest)
                ));
            }
        }
        // An append nobody read follows the last element read.
        for step in self.steps_of(to) {
            let Step::Append { key, value } = *step else {
                continue;
            };
            let order = &self.orders[key as usize];
            let unread = self
                .versions
                .get(&(key, value))
                .is_some_and(|v| v.pos == NONE);
            let last = order
                .longest
                .len()
                .checked_sub(1)
                .and_then(|p| self.writer(key, p));
            if let (true, Some((v, w))) = (unread, last)
                && w == from
            {
                return Some(format!(
                    "{} appended {v}, the last element of key {} anyone read ({}), and {} appended {value}, which no read saw: lists only grow, so it came later",
                    self.name(from),
                    order.key,
                    txn::short_list(&order.longest),
                    self.name(to)
                ));
            }
        }
        None
    }

    fn why_wr(&self, from: u32, to: u32) -> Option<String> {
        self.steps_of(to).iter().find_map(|step| {
            let Step::Read {
                key,
                len,
                external: true,
            } = *step
            else {
                return None;
            };
            let (v, w) = self.writer(key, (len as usize).checked_sub(1)?)?;
            (w == from).then(|| {
                let k = self.orders[key as usize].key;
                format!(
                    "{} read key {k} = {}, whose last element {v} {} appended",
                    self.name(to),
                    self.read_text(key, len),
                    self.name(from)
                )
            })
        })
    }

    fn why_rw(&self, from: u32, to: u32) -> Option<String> {
        self.steps_of(from).iter().find_map(|step| {
            let Step::Read { key, len, external: true } = *step else { return None };
            let k = self.orders[key as usize].key;
            let read = self.read_text(key, len);
            match self.writer(key, len as usize) {
                Some((v, w)) if w == to => Some(format!(
                    "{} read key {k} = {read}, which does not hold {v}, appended next by {}",
                    self.name(from),
                    self.name(to)
                )),
                None if len as usize == self.orders[key as usize].longest.len() => {
                    let v = self.steps_of(to).iter().find_map(|s| match *s {
                        Step::Append { key: kk, value } if kk == key => Some(value),
                        _ => None,
                    })?;
                    Some(format!(
                        "{} read key {k} = {read}, the longest read of it, without {v}, which {} appended and no read saw",
                        self.name(from),
                        self.name(to)
                    ))
                }
                _ => None,
            }
        })
    }

    fn read_text(&self, key: u32, len: u32) -> String {
        txn::short_list(&self.orders[key as usize].longest[..len as usize])
    }
}

fn local(locals: &mut Vec<Local>, key: u32) -> &mut Local {
    let i = match locals.iter().position(|l| l.key == key) {
        Some(i) => i,
        None => {
            locals.push(Local {
                key,
                known: None,
                appended: Vec::new(),
                last_append: None,
            });
            locals.len() - 1
        }
    };
    &mut locals[i]
}

impl Explain for ListAppend {
    fn txn_value(&self, id: u32) -> String {
        let mut s = String::from("[");
        for (i, step) in self.steps_of(id).iter().enumerate() {
            if i > 0 {
                s.push(' ');
            }
            let _ = match *step {
                Step::Append { key, value } => {
                    write!(s, "[:append {} {value}]", self.orders[key as usize].key)
                }
                Step::Read { key, len, .. } => write!(
                    s,
                    "[:r {} {}]",
                    self.orders[key as usize].key,
                    self.read_text(key, len)
                ),
                Step::ReadUnknown { key } => {
                    write!(s, "[:r {} nil]", self.orders[key as usize].key)
                }
                Step::ReadOdd { key, list } => {
                    write!(
                        s,
                        "[:r {} {}]",
                        self.orders[key as usize].key,
                        txn::short_list(&self.odd[list as usize])
                    )
                }
            };
        }
        s.push(']');
        s
    }

    fn data_edge(&self, from: u32, to: u32, kind: u8) -> String {
        let why = match kind {
            WW => self.why_ww(from, to),
            WR => self.why_wr(from, to),
            _ => self.why_rw(from, to),
        };
        why.unwrap_or_else(|| format!("of a {} dependency", super::graph::kind_name(kind)))
    }
}
