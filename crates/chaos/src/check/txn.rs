//! What the transactional checkers share: pairing invocations with their
//! completions, process and real-time order edges, and the search for
//! dependency cycles with their explanations.

use std::collections::HashMap;
use std::fmt::{self, Write as _};

use super::FastMap;
use super::anomaly::{Anomaly, AnomalyKind, Report};
use super::graph::{self, DATA, EdgeList, Graph, PROCESS, REALTIME, RW, Scratch, WR, WW};
use super::op::{Mop, Op, OpType, Value};

/// No transaction.
pub(crate) const NONE: u32 = u32::MAX;

/// Most nodes all witness searches for one cycle class in one component
/// may visit: small components try every candidate edge, huge ones stop
/// early with the shortest cycle found so far.
const MAX_VISITS: u64 = 4_000_000;

/// How a transaction ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Ok,
    Info,
    Fail,
}

/// A history that cannot be a sequence of invocations and completions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryError {
    /// `:index` of the offending operation.
    pub index: u64,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for HistoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "operation {}: {}", self.index, self.message)
    }
}

impl std::error::Error for HistoryError {}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Meta {
    pub(crate) process: u64,
    pub(crate) invoke_index: u64,
    /// `u64::MAX` when it never completed.
    pub(crate) complete_index: u64,
    pub(crate) status: Status,
}

impl Meta {
    /// The index that names the transaction in reports.
    pub(crate) fn index(&self) -> u64 {
        if self.complete_index == u64::MAX {
            self.invoke_index
        } else {
            self.complete_index
        }
    }
}

#[derive(Debug)]
struct Pending {
    invoke_index: u64,
    mops: Vec<Mop>,
    preds: Vec<u32>,
}

/// A transaction that just completed: its id, how, and its micro-ops (the
/// completion's when ok, the invocation's otherwise).
pub(crate) struct Completed {
    pub(crate) id: u32,
    pub(crate) status: Status,
    pub(crate) mops: Vec<Mop>,
}

/// Transactions in completion order with their order edges.
#[derive(Debug, Default)]
pub(crate) struct Txns {
    pub(crate) meta: Vec<Meta>,
    pub(crate) edges: EdgeList,
    pending: FastMap<u64, Pending>,
    frontier: Vec<u32>,
    in_frontier: Vec<bool>,
    last_ok: FastMap<u64, u32>,
    realtime: bool,
    process: bool,
}

impl Txns {
    /// Records process edges when `mask` has [`PROCESS`], real-time edges
    /// when it has [`REALTIME`].
    pub(crate) fn new(mask: u8) -> Self {
        Self {
            realtime: mask & REALTIME != 0,
            process: mask & PROCESS != 0,
            ..Self::default()
        }
    }

    /// Feeds one operation; returns the transaction it completes, if any.
    pub(crate) fn push(&mut self, op: Op) -> Result<Option<Completed>, HistoryError> {
        let Value::Txn(mops) = op.value else {
            return Err(HistoryError {
                index: op.index,
                message: "not a transaction (:f :txn expected)".into(),
            });
        };
        if op.kind == OpType::Invoke {
            let preds = if self.realtime {
                self.frontier.clone()
            } else {
                Vec::new()
            };
            let pending = Pending {
                invoke_index: op.index,
                mops,
                preds,
            };
            if self.pending.insert(op.process, pending).is_some() {
                return Err(HistoryError {
                    index: op.index,
                    message: format!(
                        "process {} invoked again before its last operation completed",
                        op.process
                    ),
                });
            }
            return Ok(None);
        }
        let Some(pending) = self.pending.remove(&op.process) else {
            return Err(HistoryError {
                index: op.index,
                message: format!(
                    "a completion on process {} with no invocation before it",
                    op.process
                ),
            });
        };
        let status = match op.kind {
            OpType::Ok => Status::Ok,
            OpType::Fail => Status::Fail,
            _ => Status::Info,
        };
        let complete_index = if status == Status::Info {
            u64::MAX
        } else {
            op.index
        };
        let mops = if status == Status::Ok {
            mops
        } else {
            pending.mops.clone()
        };
        Ok(Some(self.complete(
            op.process,
            pending,
            status,
            complete_index,
            mops,
        )))
    }

    /// The micro-ops of the transactions in flight.
    pub(crate) fn in_flight(&self) -> impl Iterator<Item = &[Mop]> + '_ {
        self.pending.values().map(|p| &p.mops[..])
    }

    /// Operations still in flight at the end are indeterminate.
    pub(crate) fn finish(&mut self) -> Vec<Completed> {
        let mut pending: Vec<(u64, Pending)> = self.pending.drain().collect();
        pending.sort_by_key(|(_, p)| p.invoke_index);
        pending
            .into_iter()
            .map(|(process, p)| {
                let mops = p.mops.clone();
                self.complete(process, p, Status::Info, u64::MAX, mops)
            })
            .collect()
    }

    fn complete(
        &mut self,
        process: u64,
        p: Pending,
        status: Status,
        complete_index: u64,
        mops: Vec<Mop>,
    ) -> Completed {
        let id = self.meta.len() as u32;
        self.meta.push(Meta {
            process,
            invoke_index: p.invoke_index,
            complete_index,
            status,
        });
        self.in_frontier.push(false);
        if status != Status::Fail {
            if self.process
                && let Some(&prev) = self.last_ok.get(&process)
            {
                self.edges.add(prev, id, PROCESS);
            }
            for &pred in &p.preds {
                self.edges.add(pred, id, REALTIME);
            }
        }
        if status == Status::Ok {
            if self.process {
                self.last_ok.insert(process, id);
            }
            if self.realtime {
                self.enter_frontier(id, &p.preds);
            }
        }
        Completed { id, status, mops }
    }

    /// `id` completed after its `preds`: they are now implied through it.
    fn enter_frontier(&mut self, id: u32, preds: &[u32]) {
        let mut removed = 0;
        for &pred in preds {
            if std::mem::replace(&mut self.in_frontier[pred as usize], false) {
                removed += 1;
            }
        }
        if removed > 0 {
            let in_frontier = &self.in_frontier;
            self.frontier.retain(|&f| in_frontier[f as usize]);
        }
        self.in_frontier[id as usize] = true;
        self.frontier.push(id);
    }

    pub(crate) fn count(&self, report: &mut Report) {
        for m in &self.meta {
            match m.status {
                Status::Ok => report.ok += 1,
                Status::Fail => report.failed += 1,
                Status::Info => report.indeterminate += 1,
            }
        }
    }
}

/// What a model tells the cycle search about its transactions and edges.
pub(crate) trait Explain {
    /// The transaction as Jepsen would print its value.
    fn txn_value(&self, id: u32) -> String;
    /// Why the data edge `from → to` of `kind` exists.
    fn data_edge(&self, from: u32, to: u32, kind: u8) -> String;
}

/// Finds dependency cycles over `edges` of kinds in `mask` and reports a
/// shortest witness of each class in each strongly connected component.
pub(crate) fn find_cycles(
    txns: &Txns,
    data: &EdgeList,
    mask: u8,
    model: &dyn Explain,
    report: &mut Report,
) {
    let graph = Graph::build(
        txns.meta.len(),
        [&txns.edges.edges[..], &data.edges[..]],
        mask,
    );
    report.stats.insert("graph-nodes", graph.nodes() as u64);
    report.stats.insert("graph-edges", graph.edges() as u64);
    let mut scratch = Scratch::new(graph.nodes());
    let components = graph.sccs(None, mask, &mut scratch);
    report
        .stats
        .insert("cyclic-components", components.len() as u64);
    let extras: Vec<u8> = [0, PROCESS, PROCESS | REALTIME]
        .into_iter()
        .filter(|e| e & !mask == 0)
        .collect();
    // (kind every witness starts from, kinds its path may use)
    let shapes = [(WW, WW), (WR, WW | WR), (RW, WW | WR), (RW, DATA)];
    for component in &components {
        let mut found: Vec<AnomalyKind> = Vec::new();
        for &extra in &extras {
            for (start, path) in shapes {
                let Some(cycle) = witness(&graph, component, start, path | extra, &mut scratch)
                else {
                    continue;
                };
                let (kind, edges) = classify(&graph, &cycle, start, path | extra);
                if !found.contains(&kind) {
                    found.push(kind);
                    report.add(explain_cycle(txns, model, kind, &cycle, &edges));
                }
            }
        }
    }
}

/// What every transactional check ends with: the duplicate-write count
/// (beyond the `shown` described one by one), outcome counts, the cycle
/// search and the verdict against `model`.
pub(crate) struct Ending<'a> {
    pub(crate) txns: &'a Txns,
    pub(crate) edges: &'a EdgeList,
    pub(crate) model: super::anomaly::ConsistencyModel,
    pub(crate) keys: usize,
    pub(crate) duplicates: u64,
    pub(crate) shown: usize,
    pub(crate) what: &'static str,
}

pub(crate) fn conclude(end: Ending<'_>, explain: &dyn Explain, mut report: Report) -> Report {
    if end.duplicates as usize > end.shown {
        report.preconditions.push(format!(
            "… {} duplicate {} in all",
            end.duplicates, end.what
        ));
    }
    end.txns.count(&mut report);
    report.stats.insert("keys", end.keys as u64);
    find_cycles(
        end.txns,
        end.edges,
        end.model.edge_mask(),
        explain,
        &mut report,
    );
    report.conclude(Some(end.model));
    report
}

/// A shortest cycle in `component` that starts with an edge of kind
/// `start` and continues over edges of kinds in `path`.
fn witness(
    graph: &Graph,
    component: &[u32],
    start: u8,
    path: u8,
    scratch: &mut Scratch,
) -> Option<Vec<u32>> {
    // Only edges inside one component of the allowed subgraph can close a cycle.
    let subs = graph.sccs(Some(component), start | path, scratch);
    let mut best: Option<Vec<u32>> = None;
    let budget_end = scratch.bfs.visits + MAX_VISITS;
    for sub in &subs {
        scratch.member.stamp(Some(sub));
        for (from, to) in graph.edges_within(sub, start, &scratch.member) {
            if scratch.bfs.visits >= budget_end {
                return best;
            }
            let Scratch { member, bfs, .. } = scratch;
            if let Some(mut p) = graph.shortest_path(to, from, path, member, bfs) {
                // p runs to → … → from; the cycle is from → to → … .
                p.pop();
                p.insert(0, from);
                if best.as_ref().is_none_or(|b| p.len() < b.len()) {
                    best = Some(p);
                }
                if best.as_ref().is_some_and(|b| b.len() == 2) {
                    return best;
                }
            }
        }
    }
    best
}

/// Names the cycle and picks, for each step, the kind that explains it best
/// (data edges before order edges, ww before wr before rw).
/// The first step is the witness's start edge (of kind `first`); the others
/// were found over `rest`.
fn classify(graph: &Graph, cycle: &[u32], first: u8, rest: u8) -> (AnomalyKind, Vec<u8>) {
    let mut kinds = Vec::with_capacity(cycle.len());
    for (i, &from) in cycle.iter().enumerate() {
        let to = cycle[(i + 1) % cycle.len()];
        let have = graph.kinds_between(from, to) & if i == 0 { first | rest } else { rest };
        debug_assert!(
            have != 0,
            "a witness cycle uses only edges of the searched kinds"
        );
        let pick = [WW, WR, RW, PROCESS, REALTIME]
            .into_iter()
            .find(|k| have & k != 0)
            .unwrap_or(REALTIME);
        kinds.push(pick);
    }
    let rw = kinds.iter().filter(|&&k| k == RW).count();
    let wr = kinds.contains(&WR);
    let kind = AnomalyKind::of_cycle(wr, rw, kinds.contains(&PROCESS), kinds.contains(&REALTIME));
    (kind, kinds)
}

fn name(txns: &Txns, id: u32) -> String {
    format!("T{}", txns.meta[id as usize].index())
}

fn explain_cycle(
    txns: &Txns,
    model: &dyn Explain,
    kind: AnomalyKind,
    cycle: &[u32],
    kinds: &[u8],
) -> Anomaly {
    let mut text = String::from("Let:\n");
    for &id in cycle {
        let m = &txns.meta[id as usize];
        let status = if m.status == Status::Info {
            ", indeterminate"
        } else {
            ""
        };
        let _ = writeln!(
            text,
            "  {} (process {}{status}) = {}",
            name(txns, id),
            m.process,
            model.txn_value(id)
        );
    }
    text.push_str("Then:\n");
    for (i, &from) in cycle.iter().enumerate() {
        let to = cycle[(i + 1) % cycle.len()];
        let why = match kinds[i] {
            PROCESS => format!(
                "both ran on process {}, {} first",
                txns.meta[from as usize].process,
                name(txns, from)
            ),
            REALTIME => format!(
                "{} completed (index {}) before {} was invoked (index {})",
                name(txns, from),
                txns.meta[from as usize].complete_index,
                name(txns, to),
                txns.meta[to as usize].invoke_index
            ),
            k => model.data_edge(from, to, k),
        };
        let lead = if i + 1 == cycle.len() {
            "  - However, "
        } else {
            "  - "
        };
        let _ = writeln!(
            text,
            "{lead}{} < {} ({}), because {why}.",
            name(txns, from),
            name(txns, to),
            graph::kind_name(kinds[i])
        );
    }
    let _ = writeln!(
        text,
        "  So {} must come before itself: a {} cycle, and no order of these transactions explains what they saw.",
        name(txns, cycle[0]),
        kind
    );
    Anomaly {
        kind,
        ops: cycle
            .iter()
            .map(|&id| txns.meta[id as usize].index())
            .collect(),
        explanation: text,
    }
}

/// Groups values by key in first-seen order (explanations print small
/// lists whole and long ones by their ends).
pub(crate) fn short_list(list: &[i64]) -> String {
    const SHOWN: usize = 6;
    let mut s = String::from("[");
    if list.len() <= 2 * SHOWN {
        for (i, v) in list.iter().enumerate() {
            if i > 0 {
                s.push(' ');
            }
            let _ = write!(s, "{v}");
        }
    } else {
        for v in &list[..SHOWN] {
            let _ = write!(s, "{v} ");
        }
        let _ = write!(s, "… ({} more) …", list.len() - 2 * SHOWN);
        for v in &list[list.len() - SHOWN..] {
            let _ = write!(s, " {v}");
        }
    }
    s.push(']');
    s
}

/// Counts how often each value occurs (duplicates in a read).
pub(crate) fn first_duplicate(list: &[i64]) -> Option<i64> {
    let mut seen: HashMap<i64, ()> = HashMap::with_capacity(list.len());
    list.iter().copied().find(|v| seen.insert(*v, ()).is_some())
}
