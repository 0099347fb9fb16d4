//! The operations of a history, as Jepsen records them: one invocation and
//! one completion per operation, each a map of `:type`, `:f`, `:value`,
//! `:process`, `:time` and `:index`.

use std::fmt;

/// Where an operation is in its life (Jepsen's `:type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpType {
    /// The client sent it.
    Invoke,
    /// It happened, and this is what it returned.
    Ok,
    /// It definitely did not happen.
    Fail,
    /// Indeterminate: it may or may not have happened (a timeout, a reset).
    Info,
}

impl OpType {
    /// Jepsen's name for it (`invoke`, `ok`, `fail`, `info`).
    pub fn name(self) -> &'static str {
        match self {
            OpType::Invoke => "invoke",
            OpType::Ok => "ok",
            OpType::Fail => "fail",
            OpType::Info => "info",
        }
    }

    /// Parses Jepsen's name.
    pub fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "invoke" => OpType::Invoke,
            "ok" => OpType::Ok,
            "fail" => OpType::Fail,
            "info" => OpType::Info,
            _ => return None,
        })
    }
}

/// A micro-operation inside a transaction (`[:append k v]`, `[:r k v]`,
/// `[:w k v]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mop {
    /// Append `value` to the list under `key` (list-append).
    Append {
        /// The key.
        key: i64,
        /// The element appended (unique per key).
        value: i64,
    },
    /// Set the register `key` to `value` (rw-register).
    Write {
        /// The key.
        key: i64,
        /// The value written (unique per key).
        value: i64,
    },
    /// Read `key`; what it returned, if known.
    Read {
        /// The key.
        key: i64,
        /// What the read returned; `nil` ([`ReadValue::Nil`]) in an invocation.
        value: ReadValue,
    },
}

impl Mop {
    /// The key this micro-operation touches.
    pub fn key(&self) -> i64 {
        match self {
            Mop::Append { key, .. } | Mop::Write { key, .. } | Mop::Read { key, .. } => *key,
        }
    }
}

/// What a read returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadValue {
    /// `nil`: not known (in an invocation), or the initial state (a
    /// register that was never written, in a completion).
    Nil,
    /// A register's value.
    Int(i64),
    /// A list's elements, oldest first.
    List(Vec<i64>),
}

/// What a non-transactional operation carries (`:f :read|:write|:cas|:add`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A transaction (`:f :txn`).
    Txn(Vec<Mop>),
    /// A single-key register operation, on `key` (jepsen.independent's
    /// `[k v]` tuples; `None` for a history of one register).
    Register {
        /// The register, when the history holds several.
        key: Option<i64>,
        /// What was done.
        op: RegisterOp,
    },
    /// Add an element to a set (`:f :add`).
    Add(i64),
    /// Read the whole set (`:f :read` with a set or vector); `None` in an
    /// invocation.
    ReadSet(Option<Vec<i64>>),
}

/// One single-register operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegisterOp {
    /// Read; the value seen (`None`: nil, or unknown in an invocation).
    Read(Option<i64>),
    /// Write a value.
    Write(i64),
    /// Compare-and-set: if the register holds `from`, set it to `to`.
    Cas {
        /// The expected value.
        from: i64,
        /// The new value.
        to: i64,
    },
}

/// One event of a history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Op {
    /// Position in the history (`:index`).
    pub index: u64,
    /// Invocation or completion, and how it completed.
    pub kind: OpType,
    /// The logical process (client thread) that ran it.
    pub process: u64,
    /// What was asked or returned.
    pub value: Value,
    /// When, in nanoseconds since the history began (`:time`), if recorded.
    pub time: Option<i64>,
}

impl fmt::Display for ReadValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadValue::Nil => f.write_str("nil"),
            ReadValue::Int(v) => write!(f, "{v}"),
            ReadValue::List(l) => write_list(f, l, '[', ']'),
        }
    }
}

fn write_list(f: &mut fmt::Formatter<'_>, l: &[i64], open: char, close: char) -> fmt::Result {
    write!(f, "{open}")?;
    for (i, v) in l.iter().enumerate() {
        if i > 0 {
            f.write_str(" ")?;
        }
        write!(f, "{v}")?;
    }
    write!(f, "{close}")
}

impl fmt::Display for Mop {
    /// In Jepsen's EDN: `[:append 1 2]`, `[:w 1 2]`, `[:r 1 [1 2]]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mop::Append { key, value } => write!(f, "[:append {key} {value}]"),
            Mop::Write { key, value } => write!(f, "[:w {key} {value}]"),
            Mop::Read { key, value } => write!(f, "[:r {key} {value}]"),
        }
    }
}

/// A transaction in Jepsen's EDN: `[[:append 1 2] [:r 1 [1 2]]]`.
pub struct TxnDisplay<'a>(pub &'a [Mop]);

impl fmt::Display for TxnDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, m) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{m}")?;
        }
        f.write_str("]")
    }
}

impl fmt::Display for Op {
    /// One line of Jepsen's EDN history format.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{:type :{}, ", self.kind.name())?;
        match &self.value {
            Value::Txn(mops) => write!(f, ":f :txn, :value {}", TxnDisplay(mops))?,
            Value::Register { key, op } => {
                let (name, v) = match op {
                    RegisterOp::Read(v) => ("read", v.map_or("nil".to_string(), |v| v.to_string())),
                    RegisterOp::Write(v) => ("write", v.to_string()),
                    RegisterOp::Cas { from, to } => ("cas", format!("[{from} {to}]")),
                };
                match key {
                    Some(k) => write!(f, ":f :{name}, :value [{k} {v}]")?,
                    None => write!(f, ":f :{name}, :value {v}")?,
                }
            }
            Value::Add(v) => write!(f, ":f :add, :value {v}")?,
            Value::ReadSet(None) => f.write_str(":f :read, :value nil")?,
            Value::ReadSet(Some(s)) => {
                f.write_str(":f :read, :value ")?;
                f.write_str("#")?;
                write_list(f, s, '{', '}')?;
            }
        }
        write!(f, ", :process {}", self.process)?;
        if let Some(t) = self.time {
            write!(f, ", :time {t}")?;
        }
        write!(f, ", :index {}}}", self.index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn op_prints_as_jepsen_edn() {
        let op = Op {
            index: 3,
            kind: OpType::Ok,
            process: 0,
            value: Value::Txn(vec![
                Mop::Append { key: 1, value: 2 },
                Mop::Read {
                    key: 1,
                    value: ReadValue::List(vec![1, 2]),
                },
            ]),
            time: Some(12),
        };
        assert_eq!(
            op.to_string(),
            "{:type :ok, :f :txn, :value [[:append 1 2] [:r 1 [1 2]]], :process 0, :time 12, :index 3}"
        );
    }
}
