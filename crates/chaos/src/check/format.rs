//! Reading and writing histories: Jepsen's EDN (`history.edn`, one
//! operation map per line) and JSON lines with the same fields
//! (`{"type":"ok","f":"txn","value":[["append",1,2],["r",1,[1,2]]],
//! "process":0,"time":12,"index":0}`).

use std::fmt;
use std::io::{BufRead, Write};

use super::edn::{self, Edn};
use super::op::{Mop, Op, OpType, ReadValue, RegisterOp, Value};

/// Longest line accepted (a read of a huge list is still far below this).
pub const MAX_LINE_BYTES: usize = 64 << 20;

/// A history file's syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Jepsen's EDN, one map per line.
    Edn,
    /// JSON lines.
    Jsonl,
}

/// How `:f :read` is to be understood (it is a register read in a register
/// history and a set read in a set history).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadAs {
    /// `:read` returns a register value (or `[k v]`).
    Register,
    /// `:read` returns a collection of elements.
    Set,
}

/// A line that is not a valid operation: where, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line number.
    pub line: u64,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

/// Guesses the format from a line: EDN maps use keywords (`{:type`).
pub fn detect(line: &str) -> Format {
    let t = line.trim_start();
    if t.starts_with("{:") || t.starts_with("{ :") {
        Format::Edn
    } else {
        Format::Jsonl
    }
}

/// Reads a whole history. Operations from non-integer processes (Jepsen's
/// `:nemesis`) and of other functions are skipped; `:index` defaults to the
/// operation's position.
pub fn read_history(
    input: impl BufRead,
    format: Option<Format>,
    read_as: ReadAs,
) -> Result<Vec<Op>, ParseError> {
    HistoryReader::new(input, format, read_as).collect()
}

/// Reads a history operation by operation (for streaming checks).
pub struct HistoryReader<R> {
    input: R,
    format: Option<Format>,
    read_as: ReadAs,
    line: u64,
    next_index: u64,
    buf: String,
}

impl<R: BufRead> HistoryReader<R> {
    /// Reads `input`; `format` `None` detects it from the first line.
    pub fn new(input: R, format: Option<Format>, read_as: ReadAs) -> Self {
        Self {
            input,
            format,
            read_as,
            line: 0,
            next_index: 0,
            buf: String::new(),
        }
    }

    fn next_line(&mut self) -> Option<Result<(), ParseError>> {
        self.buf.clear();
        self.line += 1;
        let mut limited = std::io::Read::take(&mut self.input, MAX_LINE_BYTES as u64 + 1);
        match limited.read_line(&mut self.buf) {
            Ok(0) => None,
            Ok(n) if n > MAX_LINE_BYTES => Some(Err(
                self.error(format!("line longer than {MAX_LINE_BYTES} bytes"))
            )),
            Ok(_) => Some(Ok(())),
            Err(e) => Some(Err(self.error(format!("cannot read: {e}")))),
        }
    }

    fn error(&self, message: String) -> ParseError {
        ParseError {
            line: self.line,
            message,
        }
    }
}

impl<R: BufRead> Iterator for HistoryReader<R> {
    type Item = Result<Op, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Err(e) = self.next_line()? {
                return Some(Err(e));
            }
            let text = self.buf.trim();
            if text.is_empty() || text.starts_with(';') {
                continue;
            }
            let format = *self.format.get_or_insert_with(|| detect(text));
            let value = match format {
                Format::Edn => edn::parse(text).map_err(|e| e.to_string()),
                Format::Jsonl => serde_json::from_str::<serde_json::Value>(text)
                    .map(from_json)
                    .map_err(|e| format!("not JSON: {e}")),
            };
            let parsed = value.and_then(|v| op_from_edn(&v, self.next_index, self.read_as));
            match parsed {
                Ok(Some(op)) => {
                    self.next_index = op.index + 1;
                    return Some(Ok(op));
                }
                Ok(None) => self.next_index += 1,
                Err(message) => return Some(Err(self.error(message))),
            }
        }
    }
}

/// JSON as EDN: object keys and strings in operation position become
/// keywords by name (both are matched by name).
fn from_json(v: serde_json::Value) -> Edn {
    use serde_json::Value as J;
    match v {
        J::Null => Edn::Nil,
        J::Bool(b) => Edn::Bool(b),
        J::Number(n) => n
            .as_i64()
            .map_or_else(|| Edn::Float(n.as_f64().unwrap_or(f64::NAN)), Edn::Int),
        J::String(s) => Edn::Str(s),
        J::Array(a) => Edn::Vector(a.into_iter().map(from_json).collect()),
        J::Object(o) => Edn::Map(
            o.into_iter()
                .map(|(k, v)| (Edn::Keyword(k), from_json(v)))
                .collect(),
        ),
    }
}

fn int(v: &Edn, what: &str) -> Result<i64, String> {
    match v {
        Edn::Int(i) => Ok(*i),
        other => Err(format!("{what} must be an integer, not {}", other.kind())),
    }
}

fn ints(items: &[Edn], what: &str) -> Result<Vec<i64>, String> {
    items.iter().map(|v| int(v, what)).collect()
}

/// One operation map → an [`Op`]; `Ok(None)` for operations the checkers
/// ignore (nemesis, unknown functions).
fn op_from_edn(v: &Edn, default_index: u64, read_as: ReadAs) -> Result<Option<Op>, String> {
    if !matches!(v, Edn::Map(_)) {
        return Err(format!("an operation must be a map, not {}", v.kind()));
    }
    let kind_name = v.get("type").and_then(Edn::name).ok_or("missing :type")?;
    let kind = OpType::from_name(kind_name)
        .ok_or_else(|| format!(":type must be invoke, ok, fail or info, not {kind_name}"))?;
    let process = match v.get("process") {
        Some(Edn::Int(p)) if *p >= 0 => *p as u64,
        Some(Edn::Int(p)) => return Err(format!(":process must not be negative ({p})")),
        Some(Edn::Keyword(_) | Edn::Str(_) | Edn::Symbol(_)) => return Ok(None),
        Some(other) => return Err(format!(":process must be an integer, not {}", other.kind())),
        None => return Err("missing :process".into()),
    };
    let index = match v.get("index") {
        Some(Edn::Int(i)) if *i >= 0 => *i as u64,
        Some(other) => {
            return Err(format!(
                ":index must be a non-negative integer, not {}",
                other.kind()
            ));
        }
        None => default_index,
    };
    let time = match v.get("time") {
        Some(Edn::Int(t)) => Some(*t),
        Some(Edn::Nil) | None => None,
        Some(other) => return Err(format!(":time must be an integer, not {}", other.kind())),
    };
    let f = v.get("f").and_then(Edn::name).ok_or("missing :f")?;
    let raw = v.get("value").unwrap_or(&Edn::Nil);
    let value = match f {
        "txn" => Value::Txn(txn(raw)?),
        "add" => Value::Add(int(raw, ":value of :add")?),
        "read" if read_as == ReadAs::Set => Value::ReadSet(match raw {
            Edn::Nil => None,
            Edn::Set(s) | Edn::Vector(s) => Some(ints(s, "a set element")?),
            other => return Err(format!("a set read returns a set, not {}", other.kind())),
        }),
        "read" | "write" | "cas" => register(f, raw)?,
        _ => return Ok(None),
    };
    Ok(Some(Op {
        index,
        kind,
        process,
        value,
        time,
    }))
}

fn txn(raw: &Edn) -> Result<Vec<Mop>, String> {
    let Edn::Vector(mops) = raw else {
        return Err(format!(
            "a :txn value must be a vector of micro-ops, not {}",
            raw.kind()
        ));
    };
    mops.iter()
        .enumerate()
        .map(|(i, m)| mop(m).map_err(|e| format!("micro-op {}: {e}", i + 1)))
        .collect()
}

fn mop(m: &Edn) -> Result<Mop, String> {
    let Edn::Vector(parts) = m else {
        return Err(format!("must be a vector [f k v], not {}", m.kind()));
    };
    let [f, k, v] = parts.as_slice() else {
        return Err(format!(
            "must have three elements [f k v], not {}",
            parts.len()
        ));
    };
    let key = int(k, "the key")?;
    match f.name() {
        Some("append") => Ok(Mop::Append {
            key,
            value: int(v, "an appended value")?,
        }),
        Some("w" | "write") => Ok(Mop::Write {
            key,
            value: int(v, "a written value")?,
        }),
        Some("r" | "read") => Ok(Mop::Read {
            key,
            value: match v {
                Edn::Nil => ReadValue::Nil,
                Edn::Int(i) => ReadValue::Int(*i),
                Edn::Vector(l) => ReadValue::List(ints(l, "a list element")?),
                other => {
                    return Err(format!(
                        "a read returns nil, an integer or a list, not {}",
                        other.kind()
                    ));
                }
            },
        }),
        _ => Err(format!("unknown function {f:?} (append, r or w expected)")),
    }
}

fn register(f: &str, raw: &Edn) -> Result<Value, String> {
    // jepsen.independent wraps values as [key value].
    let (key, v) = match raw {
        Edn::Vector(kv) if kv.len() == 2 && (f != "cas" || matches!(kv[1], Edn::Vector(_))) => {
            (Some(int(&kv[0], "the register key")?), &kv[1])
        }
        other => (None, other),
    };
    let op = match f {
        "read" => RegisterOp::Read(match v {
            Edn::Nil => None,
            other => Some(int(other, "a read value")?),
        }),
        "write" => RegisterOp::Write(int(v, "a written value")?),
        _ => match v {
            Edn::Vector(ft) if ft.len() == 2 => RegisterOp::Cas {
                from: int(&ft[0], "cas from")?,
                to: int(&ft[1], "cas to")?,
            },
            other => return Err(format!("a cas value is [from to], not {}", other.kind())),
        },
    };
    Ok(Value::Register { key, op })
}

/// Writes `ops` in `format`, one per line.
pub fn write_history<'a>(
    ops: impl IntoIterator<Item = &'a Op>,
    format: Format,
    mut out: impl Write,
) -> std::io::Result<()> {
    for op in ops {
        match format {
            Format::Edn => writeln!(out, "{op}")?,
            Format::Jsonl => {
                serde_json::to_writer(&mut out, &to_json(op))?;
                out.write_all(b"\n")?;
            }
        }
    }
    Ok(())
}

fn to_json(op: &Op) -> serde_json::Value {
    use serde_json::json;
    let (f, value) = match &op.value {
        Value::Txn(mops) => (
            "txn",
            serde_json::Value::Array(mops.iter().map(mop_json).collect()),
        ),
        Value::Register { key, op } => {
            let (f, v) = match op {
                RegisterOp::Read(v) => ("read", json!(v)),
                RegisterOp::Write(v) => ("write", json!(v)),
                RegisterOp::Cas { from, to } => ("cas", json!([from, to])),
            };
            (f, key.map_or(v.clone(), |k| json!([k, v])))
        }
        Value::Add(v) => ("add", json!(v)),
        Value::ReadSet(s) => ("read", json!(s)),
    };
    let mut m = json!({"index": op.index, "type": op.kind.name(), "f": f, "value": value, "process": op.process});
    if let Some(t) = op.time {
        m["time"] = json!(t);
    }
    m
}

fn mop_json(m: &Mop) -> serde_json::Value {
    use serde_json::json;
    match m {
        Mop::Append { key, value } => json!(["append", key, value]),
        Mop::Write { key, value } => json!(["w", key, value]),
        Mop::Read { key, value } => match value {
            ReadValue::Nil => json!(["r", key, null]),
            ReadValue::Int(v) => json!(["r", key, v]),
            ReadValue::List(l) => json!(["r", key, l]),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EDN: &str = "{:type :invoke, :f :txn, :value [[:append 1 2] [:r 1 nil]], :process 0, :time 5, :index 0}\n\
{:type :info, :f :start-partition, :value nil, :process :nemesis, :index 1}\n\
{:type :ok, :f :txn, :value [[:append 1 2] [:r 1 [1 2]]], :process 0, :time 12, :index 2}\n";

    #[test]
    fn edn_and_jsonl_round_trip_to_the_same_operations() {
        let ops = read_history(EDN.as_bytes(), None, ReadAs::Register).unwrap();
        assert_eq!(ops.len(), 2, "the nemesis operation is skipped");
        assert_eq!(ops[1].index, 2);
        for format in [Format::Edn, Format::Jsonl] {
            let mut out = Vec::new();
            write_history(&ops, format, &mut out).unwrap();
            let back = read_history(out.as_slice(), None, ReadAs::Register).unwrap();
            assert_eq!(back, ops, "{format:?}: {}", String::from_utf8_lossy(&out));
        }
    }

    #[test]
    fn a_bad_line_is_reported_with_its_number_and_what_is_wrong() {
        let text = format!("{EDN}{{:type :ok, :f :txn, :value [[:append 1 :x]], :process 1}}\n");
        let err = read_history(text.as_bytes(), None, ReadAs::Register).unwrap_err();
        assert_eq!(err.line, 4);
        assert!(
            err.message
                .contains("micro-op 1: an appended value must be an integer"),
            "{err}"
        );
        let err = read_history(
            "{\"type\":\"ok\",\"f\":\"txn\"".as_bytes(),
            None,
            ReadAs::Register,
        )
        .unwrap_err();
        assert!(err.message.starts_with("not JSON"), "{err}");
        let err = read_history(
            "{:type :done, :f :txn, :process 0}".as_bytes(),
            None,
            ReadAs::Register,
        )
        .unwrap_err();
        assert!(err.message.contains(":type must be"), "{err}");
    }

    #[test]
    fn register_and_set_values_are_read_by_function() {
        let text = "{:type :ok, :f :read, :value [3 7], :process 0}\n{:type :ok, :f :cas, :value [3 [7 8]], :process 0}\n";
        let ops = read_history(text.as_bytes(), None, ReadAs::Register).unwrap();
        assert_eq!(
            ops[0].value,
            Value::Register {
                key: Some(3),
                op: RegisterOp::Read(Some(7))
            }
        );
        assert_eq!(
            ops[1].value,
            Value::Register {
                key: Some(3),
                op: RegisterOp::Cas { from: 7, to: 8 }
            }
        );
        let ops = read_history(
            "{:type :ok, :f :read, :value #{1 2}, :process 0}".as_bytes(),
            None,
            ReadAs::Set,
        )
        .unwrap();
        assert_eq!(ops[0].value, Value::ReadSet(Some(vec![1, 2])));
    }

    #[test]
    fn a_line_longer_than_the_limit_is_an_error_not_an_allocation_without_end() {
        use std::io::Read as _;
        let endless = std::io::repeat(b'[').take(MAX_LINE_BYTES as u64 + 10);
        let first = HistoryReader::new(
            std::io::BufReader::new(endless),
            Some(Format::Edn),
            ReadAs::Register,
        )
        .next()
        .expect("an item");
        let e = first.expect_err("too long");
        assert_eq!(e.line, 1);
        assert!(e.message.contains("longer than"), "{e}");
    }
}
