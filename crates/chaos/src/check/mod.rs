//! Checking histories for consistency anomalies, as Jepsen's Elle does.
//!
//! A history is what clients asked and were told: one invocation and one
//! completion (`ok`, `fail`, or indeterminate `info`) per operation, in
//! Jepsen's EDN or as JSON lines ([`format`](mod@format)). The checkers infer the order
//! in which the system must have applied the writes, build the dependency
//! graph between transactions (ww, wr, rw, plus process and real-time
//! order), find its cycles and name each anomaly as Elle does: G0, G1a,
//! G1b, G1c, G-single, G2-item and their `-process` / `-realtime` forms,
//! lost update, internal inconsistency, duplicate elements, garbage reads
//! and incompatible orders. Each anomaly comes with its witness in plain
//! words; the [`Report`] says which [`ConsistencyModel`]s they rule out.
//!
//! Indeterminate operations are never a false positive: their writes count
//! only where a read observed them, their reads not at all.
//!
//! The models: [`ListAppend`] and [`RwRegister`] transactions; single-key
//! registers checked for linearizability ([`Registers`], Wing & Gong with
//! Lowe's memo, each key alone); sets of added elements ([`SetFull`], lost,
//! stale, phantom, duplicated and non-monotonic, with stable- and
//! lost-latency percentiles as Jepsen's `set-full` reports them).
//!
//! ```
//! use ballast_chaos::check::{self, AnomalyKind, ConsistencyModel, Format, Model, ReadAs};
//!
//! // T1 appends 1 to key x; T2 reads x empty and appends 2; T1 read x = [2].
//! let history = "\
//! {:type :invoke, :f :txn, :value [[:r 7 nil] [:append 8 1]], :process 0}
//! {:type :invoke, :f :txn, :value [[:r 8 nil] [:append 7 2]], :process 1}
//! {:type :ok, :f :txn, :value [[:r 7 []] [:append 8 1]], :process 0}
//! {:type :ok, :f :txn, :value [[:r 8 []] [:append 7 2]], :process 1}
//! {:type :invoke, :f :txn, :value [[:r 7 nil] [:r 8 nil]], :process 0}
//! {:type :ok, :f :txn, :value [[:r 7 [2]] [:r 8 [1]]], :process 0}";
//! let ops = check::format::read_history(history.as_bytes(), Some(Format::Edn), ReadAs::Register)?;
//! let report = check::check(Model::ListAppend, ConsistencyModel::SnapshotIsolation, ops)?;
//! // Write skew: allowed under snapshot isolation, not under serializability.
//! assert_eq!(report.count(AnomalyKind::G2Item), 1);
//! assert!(report.valid);
//! assert!(report.not.contains(&ConsistencyModel::Serializable));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod anomaly;
pub mod edn;
pub mod format;
pub mod generate;
mod graph;
pub mod list_append;
pub mod op;
pub mod register;
pub mod rw_register;
pub mod set;
mod txn;

use std::collections::HashMap;
use std::fmt;
use std::hash::BuildHasherDefault;

pub use anomaly::{Anomaly, AnomalyKind, ConsistencyModel, Report};
pub use format::{Format, ParseError, ReadAs};
pub use list_append::ListAppend;
pub use op::{Mop, Op, OpType, ReadValue, RegisterOp, Value};
pub use register::Registers;
pub use rw_register::RwRegister;
pub use set::SetFull;
pub use txn::HistoryError;

/// A hash map keyed by small integers (Fx hashing: the checkers hash
/// millions of (key, value) pairs; SipHash's DoS resistance buys nothing for
/// a file the user chose to check).
pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<rustc_hash::FxHasher>>;

/// What kind of history it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    /// Transactions of `[:append k v]` and `[:r k list]`.
    ListAppend,
    /// Transactions of `[:w k v]` and `[:r k v]` over registers.
    RwRegister,
    /// Single-register `read`, `write` and `cas` (optionally `[k v]` per
    /// register), checked for linearizability.
    Register,
    /// `:add` of one element and `:read` of the whole set, checked as
    /// Jepsen's set-full checks it.
    Set,
}

impl Model {
    /// The name `ballast-check --model` takes.
    pub fn name(self) -> &'static str {
        match self {
            Model::ListAppend => "list-append",
            Model::RwRegister => "rw-register",
            Model::Register => "register",
            Model::Set => "set",
        }
    }

    /// Looks a model up by name.
    pub fn from_name(name: &str) -> Option<Self> {
        [
            Model::ListAppend,
            Model::RwRegister,
            Model::Register,
            Model::Set,
        ]
        .into_iter()
        .find(|m| m.name() == name)
    }

    /// How `:f :read` is read in this model's histories.
    pub fn read_as(self) -> ReadAs {
        match self {
            Model::Set => ReadAs::Set,
            _ => ReadAs::Register,
        }
    }
}

/// Why a history could not be checked.
#[derive(Debug)]
pub enum CheckError {
    /// A line is not an operation.
    Parse(ParseError),
    /// The operations do not form a history.
    History(HistoryError),
}

ballast_error::catalog! {
    CheckError => pub(crate) CATALOG {
        Parse(_) => "BLST-CHECK-001", Caller,
            "a line of the history is not an operation",
            "Fix the line the message names (Jepsen's EDN map or the JSON-lines equivalent; see docs/chaos.md#checking-a-history).";
        History(_) => "BLST-CHECK-002", Caller,
            "the operations do not form a history",
            "Each process must complete an operation before invoking the next, and every completion needs its invocation; the message names the index.";
    }
}

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckError::Parse(e) => e.fmt(f),
            CheckError::History(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for CheckError {}

impl From<ParseError> for CheckError {
    fn from(e: ParseError) -> Self {
        CheckError::Parse(e)
    }
}

impl From<HistoryError> for CheckError {
    fn from(e: HistoryError) -> Self {
        CheckError::History(e)
    }
}

/// Checks `ops` (in history order) as a `model` history against
/// `consistency`.
pub fn check(
    model: Model,
    consistency: ConsistencyModel,
    ops: impl IntoIterator<Item = Op>,
) -> Result<Report, CheckError> {
    check_results(model, consistency, ops.into_iter().map(Ok))
}

/// Like [`check`], over operations as a reader yields them (the first
/// parse error stops the check).
pub fn check_results(
    model: Model,
    consistency: ConsistencyModel,
    ops: impl IntoIterator<Item = Result<Op, ParseError>>,
) -> Result<Report, CheckError> {
    match model {
        Model::ListAppend => {
            let mut c = ListAppend::new(consistency);
            for op in ops {
                c.push(op?)?;
            }
            Ok(c.check())
        }
        Model::RwRegister => {
            let mut c = RwRegister::new(consistency);
            for op in ops {
                c.push(op?)?;
            }
            Ok(c.check())
        }
        Model::Register => {
            let mut c = Registers::new();
            for op in ops {
                c.push(op?)?;
            }
            Ok(c.check())
        }
        Model::Set => {
            let mut c = SetFull::new(consistency);
            for op in ops {
                c.push(op?)?;
            }
            Ok(c.check())
        }
    }
}
