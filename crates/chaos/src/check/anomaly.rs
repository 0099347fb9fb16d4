//! Anomaly classes, the consistency models they rule out, and the report.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

/// An anomaly class, named as Elle names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum AnomalyKind {
    /// Write cycle: transactions overwrite each other in a cycle (ww only).
    G0,
    /// `G0` that needs a process-order edge.
    G0Process,
    /// `G0` that needs a real-time edge.
    G0Realtime,
    /// Aborted read: a read saw a write of a transaction that failed.
    G1a,
    /// Intermediate read: a read saw a value its writer later overwrote in
    /// the same transaction.
    G1b,
    /// Circular information flow: a cycle of ww and wr edges (≥ 1 wr).
    G1c,
    /// `G1c` that needs a process-order edge.
    G1cProcess,
    /// `G1c` that needs a real-time edge.
    G1cRealtime,
    /// Read skew: a dependency cycle with exactly one anti-dependency (rw).
    GSingle,
    /// `G-single` that needs a process-order edge.
    GSingleProcess,
    /// `G-single` that needs a real-time edge.
    GSingleRealtime,
    /// Write skew and friends: a cycle with two or more rw edges.
    G2Item,
    /// `G2-item` that needs a process-order edge.
    G2ItemProcess,
    /// `G2-item` that needs a real-time edge.
    G2ItemRealtime,
    /// Two committed transactions read the same version of a key and both
    /// wrote it: one overwrote the other's update unseen.
    LostUpdate,
    /// A transaction's reads disagree with its own earlier reads and writes.
    Internal,
    /// A read returned the same element twice.
    DuplicateElements,
    /// A read returned a value that no operation ever wrote.
    GarbageRead,
    /// Two reads of a key saw orders that cannot both be prefixes of one
    /// version order.
    IncompatibleOrder,
    /// Single-register operations with no linearization.
    NonLinearizable,
    /// Set: an acknowledged element was never (or no longer) read.
    LostElement,
    /// Set: a read after an element's acknowledgement missed it, though a
    /// later read found it.
    StaleRead,
    /// Set: a process saw an element, then a later read of its own did not.
    NonMonotonicRead,
    /// Set: a read returned an element whose add failed, or was never
    /// invoked before the read finished.
    PhantomElement,
}

impl AnomalyKind {
    /// Elle's name (`G-single-realtime`, `lost-update`, …).
    pub fn name(self) -> &'static str {
        use AnomalyKind::*;
        match self {
            G0 => "G0",
            G0Process => "G0-process",
            G0Realtime => "G0-realtime",
            G1a => "G1a",
            G1b => "G1b",
            G1c => "G1c",
            G1cProcess => "G1c-process",
            G1cRealtime => "G1c-realtime",
            GSingle => "G-single",
            GSingleProcess => "G-single-process",
            GSingleRealtime => "G-single-realtime",
            G2Item => "G2-item",
            G2ItemProcess => "G2-item-process",
            G2ItemRealtime => "G2-item-realtime",
            LostUpdate => "lost-update",
            Internal => "internal",
            DuplicateElements => "duplicate-elements",
            GarbageRead => "garbage-read",
            IncompatibleOrder => "incompatible-order",
            NonLinearizable => "non-linearizable",
            LostElement => "lost",
            StaleRead => "stale",
            NonMonotonicRead => "non-monotonic",
            PhantomElement => "phantom",
        }
    }

    /// Every class, in report order.
    pub const ALL: [AnomalyKind; 24] = {
        use AnomalyKind::*;
        [
            G0,
            G0Process,
            G0Realtime,
            G1a,
            G1b,
            G1c,
            G1cProcess,
            G1cRealtime,
            GSingle,
            GSingleProcess,
            GSingleRealtime,
            G2Item,
            G2ItemProcess,
            G2ItemRealtime,
            LostUpdate,
            Internal,
            DuplicateElements,
            GarbageRead,
            IncompatibleOrder,
            NonLinearizable,
            LostElement,
            StaleRead,
            NonMonotonicRead,
            PhantomElement,
        ]
    };

    /// Looks a class up by its name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The cycle class with `rw_edges` anti-dependencies and `wr` reads-from
    /// edges, in the variant that `process`/`realtime` edges make it.
    pub(crate) fn of_cycle(wr: bool, rw_edges: usize, process: bool, realtime: bool) -> Self {
        use AnomalyKind::*;
        let base = match (rw_edges, wr) {
            (0, false) => [G0, G0Process, G0Realtime],
            (0, true) => [G1c, G1cProcess, G1cRealtime],
            (1, _) => [GSingle, GSingleProcess, GSingleRealtime],
            _ => [G2Item, G2ItemProcess, G2ItemRealtime],
        };
        base[if realtime {
            2
        } else if process {
            1
        } else {
            0
        }]
    }
}

impl fmt::Display for AnomalyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A consistency model a history can be checked against, named as Elle
/// names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConsistencyModel {
    /// Adya's PL-2: no G0, G1a, G1b, G1c.
    ReadCommitted,
    /// Adya's PL-2.99: read committed, no G2-item (so no G-single) and no
    /// lost update.
    RepeatableRead,
    /// No G1, no G-single, no lost update (G2-item write skew is allowed).
    SnapshotIsolation,
    /// Adya's PL-3: no dependency cycle of any kind.
    Serializable,
    /// Serializable, and each process sees its own earlier transactions.
    StrongSessionSerializable,
    /// Serializable in an order that respects real time.
    StrictSerializable,
    /// Single-register operations are linearizable.
    Linearizable,
}

impl ConsistencyModel {
    /// Every model, weakest first.
    pub const ALL: [ConsistencyModel; 7] = [
        ConsistencyModel::ReadCommitted,
        ConsistencyModel::RepeatableRead,
        ConsistencyModel::SnapshotIsolation,
        ConsistencyModel::Serializable,
        ConsistencyModel::StrongSessionSerializable,
        ConsistencyModel::StrictSerializable,
        ConsistencyModel::Linearizable,
    ];

    /// Elle's name (`strict-serializable`, …).
    pub fn name(self) -> &'static str {
        match self {
            ConsistencyModel::ReadCommitted => "read-committed",
            ConsistencyModel::RepeatableRead => "repeatable-read",
            ConsistencyModel::SnapshotIsolation => "snapshot-isolation",
            ConsistencyModel::Serializable => "serializable",
            ConsistencyModel::StrongSessionSerializable => "strong-session-serializable",
            ConsistencyModel::StrictSerializable => "strict-serializable",
            ConsistencyModel::Linearizable => "linearizable",
        }
    }

    /// Looks a model up by its name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }

    /// Whether `kind` cannot happen under this model. Corruption
    /// (garbage, duplicates, incompatible orders, internal inconsistency)
    /// rules out every model.
    pub fn proscribes(self, kind: AnomalyKind) -> bool {
        use AnomalyKind::*;
        use ConsistencyModel::*;
        let always = matches!(
            kind,
            Internal | DuplicateElements | GarbageRead | IncompatibleOrder
        );
        let set = matches!(
            kind,
            LostElement | StaleRead | NonMonotonicRead | PhantomElement | NonLinearizable
        );
        let read_committed = matches!(kind, G0 | G1a | G1b | G1c);
        let process = matches!(
            kind,
            G0Process | G1cProcess | GSingleProcess | G2ItemProcess
        );
        let realtime = matches!(
            kind,
            G0Realtime | G1cRealtime | GSingleRealtime | G2ItemRealtime
        );
        always
            || match self {
                ReadCommitted => read_committed,
                RepeatableRead => read_committed || matches!(kind, GSingle | G2Item | LostUpdate),
                SnapshotIsolation => read_committed || matches!(kind, GSingle | LostUpdate),
                Serializable => read_committed || matches!(kind, GSingle | G2Item | LostUpdate),
                StrongSessionSerializable => {
                    read_committed || process || matches!(kind, GSingle | G2Item | LostUpdate)
                }
                StrictSerializable => {
                    read_committed
                        || process
                        || realtime
                        || matches!(kind, GSingle | G2Item | LostUpdate)
                }
                Linearizable => {
                    set || read_committed
                        || process
                        || realtime
                        || matches!(kind, GSingle | G2Item | LostUpdate)
                }
            }
    }

    /// The dependency-graph edge kinds this model orders transactions by.
    pub(crate) fn edge_mask(self) -> u8 {
        use super::graph::{DATA, PROCESS, REALTIME};
        match self {
            ConsistencyModel::StrongSessionSerializable => DATA | PROCESS,
            ConsistencyModel::StrictSerializable | ConsistencyModel::Linearizable => {
                DATA | PROCESS | REALTIME
            }
            _ => DATA,
        }
    }
}

impl fmt::Display for ConsistencyModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One anomaly with its witness, explained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Anomaly {
    /// The class.
    pub kind: AnomalyKind,
    /// History indices of the completions of the operations involved (the
    /// invocation's for an operation that never completed).
    pub ops: Vec<u64>,
    /// Plain words: the operations, each dependency and why it exists.
    pub explanation: String,
}

/// Most anomalies of one class kept with an explanation (all are counted).
pub const MAX_EXPLAINED_PER_KIND: usize = 8;

/// What a check found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// The model the history was checked against (`None`: the check's
    /// model has its own notion of valid, as the set check has).
    pub consistency_model: Option<ConsistencyModel>,
    /// Whether no anomaly the model proscribes was found.
    pub valid: bool,
    /// Operations (transactions) that completed `ok`.
    pub ok: u64,
    /// Operations that completed `fail`.
    pub failed: u64,
    /// Operations whose outcome is unknown (`info`, or never completed).
    pub indeterminate: u64,
    /// How many anomalies of each class were found.
    pub counts: BTreeMap<AnomalyKind, u64>,
    /// Up to [`MAX_EXPLAINED_PER_KIND`] explained anomalies per class.
    pub anomalies: Vec<Anomaly>,
    /// Models the anomalies found rule out.
    pub not: Vec<ConsistencyModel>,
    /// Assumptions the checker relies on that the history broke (duplicate
    /// writes of one value, say), reported rather than assumed.
    pub preconditions: Vec<String>,
    /// Figures of the analysis (graph size, components searched).
    pub stats: BTreeMap<&'static str, u64>,
}

impl Report {
    pub(crate) fn add(&mut self, anomaly: Anomaly) {
        let n = self.counts.entry(anomaly.kind).or_insert(0);
        *n += 1;
        if *n as usize <= MAX_EXPLAINED_PER_KIND {
            self.anomalies.push(anomaly);
        }
    }

    /// Fills in `valid` and `not` from the anomalies found.
    pub(crate) fn conclude(&mut self, model: Option<ConsistencyModel>) {
        self.consistency_model = model;
        self.anomalies.sort_by_key(|a| a.kind);
        self.not = ConsistencyModel::ALL
            .into_iter()
            .filter(|m| self.counts.keys().any(|&k| m.proscribes(k)))
            .collect();
        self.valid = match model {
            Some(m) => !self.counts.keys().any(|&k| m.proscribes(k)),
            None => self.counts.is_empty(),
        };
    }

    /// How many anomalies of `kind` were found.
    pub fn count(&self, kind: AnomalyKind) -> u64 {
        self.counts.get(&kind).copied().unwrap_or(0)
    }
}

/// Serialized under Elle's names (`G-single`, `lost-update`).
impl Serialize for AnomalyKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// Serialized under Elle's names (`strict-serializable`).
impl Serialize for ConsistencyModel {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl Report {
    /// The set check's figures, as Jepsen's set-full prints them.
    fn fmt_set(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stat = |k: &str| self.stats.get(k).copied().unwrap_or(0);
        if !self.stats.contains_key("attempt-count") {
            return Ok(());
        }
        writeln!(
            f,
            "elements: {} attempted, {} stable, {} lost, {} never read, {} stale",
            stat("attempt-count"),
            stat("stable-count"),
            stat("lost-count"),
            stat("never-read-count"),
            stat("stale-count")
        )?;
        for which in ["stable", "lost"] {
            let at: Vec<String> = ["p0", "p50", "p95", "p99", "p100"]
                .iter()
                .filter_map(|p| {
                    let key = format!("{which}-latency-{p}-ms");
                    self.stats.get(key.as_str()).map(|v| format!("{p} {v}"))
                })
                .collect();
            if !at.is_empty() {
                writeln!(f, "{which} latency (ms): {}", at.join(", "))?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for Report {
    /// The human report `ballast-check` prints.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let model = self
            .consistency_model
            .map_or("its model".to_string(), |m| m.name().to_string());
        writeln!(
            f,
            "{} operations: {} ok, {} failed, {} indeterminate",
            self.ok + self.failed + self.indeterminate,
            self.ok,
            self.failed,
            self.indeterminate
        )?;
        self.fmt_set(f)?;
        for p in &self.preconditions {
            writeln!(f, "precondition not met: {p}")?;
        }
        if self.counts.is_empty() {
            return writeln!(f, "valid: no anomalies; consistent with {model}");
        }
        let counts: Vec<String> = self
            .counts
            .iter()
            .map(|(k, n)| format!("{k} ×{n}"))
            .collect();
        writeln!(f, "anomalies: {}", counts.join(", "))?;
        let not: Vec<&str> = self.not.iter().map(|m| m.name()).collect();
        writeln!(
            f,
            "ruled out: {}",
            if not.is_empty() {
                "nothing".to_string()
            } else {
                not.join(", ")
            }
        )?;
        for a in &self.anomalies {
            writeln!(f, "\n{}:\n{}", a.kind, a.explanation.trim_end())?;
        }
        writeln!(f)?;
        if self.valid {
            writeln!(
                f,
                "valid for {model}: the anomalies found are allowed by it"
            )
        } else {
            writeln!(f, "INVALID for {model}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_rule_out_what_elle_says_they_do() {
        use AnomalyKind::*;
        use ConsistencyModel::*;
        assert!(
            !SnapshotIsolation.proscribes(G2Item),
            "write skew is allowed under SI"
        );
        assert!(SnapshotIsolation.proscribes(GSingle));
        assert!(!ReadCommitted.proscribes(LostUpdate));
        assert!(RepeatableRead.proscribes(LostUpdate));
        assert!(!Serializable.proscribes(G1cRealtime));
        assert!(StrictSerializable.proscribes(G1cRealtime));
        assert!(!Serializable.proscribes(GSingleProcess));
        assert!(StrongSessionSerializable.proscribes(GSingleProcess));
        assert!(!StrongSessionSerializable.proscribes(GSingleRealtime));
        for m in ConsistencyModel::ALL {
            assert!(m.proscribes(GarbageRead) && m.proscribes(Internal), "{m}");
            assert_eq!(ConsistencyModel::from_name(m.name()), Some(m));
        }
        for k in AnomalyKind::ALL {
            assert_eq!(AnomalyKind::from_name(k.name()), Some(k));
        }
    }
}
