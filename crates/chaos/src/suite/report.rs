//! Machine-readable reports of a run: one CSV row per scenario and the
//! history as JSON lines, fault events included.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::time::Duration;

use serde_json::{Value, json};

use super::Datum;
use super::run::ScenarioRun;
use crate::history::{Entry, Op, Outcome};

/// The header of `results.csv`; [`ScenarioRun::csv_row`] writes a row.
pub const CSV_HEADER: &str = "scenario,category,seed,passed,error,operations,acknowledged_writes,failed,indeterminate,\
history_violations,sla_breaches,final_records,baseline_ops_per_sec,during_ops_per_sec,after_ops_per_sec,\
baseline_p50_ms,baseline_p95_ms,baseline_p99_ms,during_p99_ms,after_p99_ms,baseline_error_pct,during_error_pct,\
after_error_pct,time_to_detect_ms,first_success_ms,recovery_ms,throughput_recovered_ms,max_recovery_ms,availability_pct";

fn ms(d: Option<Duration>) -> String {
    d.map_or(String::new(), |d| format!("{:.1}", d.as_secs_f64() * 1e3))
}

fn pct(x: Option<f64>) -> String {
    x.map_or(String::new(), |x| format!("{:.2}", x * 100.0))
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

impl<K, V> ScenarioRun<K, V> {
    /// This run as one row under [`CSV_HEADER`].
    pub fn csv_row(&self) -> String {
        let p = &self.performance;
        let c = self.check.as_ref();
        let n = |f: fn(&crate::history::CheckReport<K, V>) -> u64| {
            c.map_or(String::new(), |c| f(c).to_string())
        };
        let mut row = String::new();
        let _ = write!(
            row,
            "{},{},{},{},{},{},{},{},{},{},{},{},{:.1},{:.1},{:.1},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            csv_field(&self.scenario.name),
            csv_field(&self.scenario.category),
            self.seed,
            self.passed(),
            csv_field(
                &self
                    .error
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default()
            ),
            n(|c| c.operations),
            n(|c| c.acknowledged_writes),
            n(|c| c.failed),
            n(|c| c.indeterminate),
            self.anomalies.len(),
            self.breaches.len(),
            self.final_records,
            p.baseline.throughput_per_sec,
            p.during.throughput_per_sec,
            p.after.throughput_per_sec,
            ms(p.baseline.p50),
            ms(p.baseline.p95),
            ms(p.baseline.p99),
            ms(p.during.p99),
            ms(p.after.p99),
            pct(p.baseline.error_rate),
            pct(p.during.error_rate),
            pct(p.after.error_rate),
            ms(p.time_to_detect),
            ms(p.first_success),
            ms(p.recovered),
            ms(p.throughput_recovered),
            self.scenario.sla.max_recovery.as_millis(),
            pct(p.availability),
        );
        row
    }
}

fn op_line<K: Datum, V: Datum>(e: &Entry<K, V>) -> Value {
    let (op, key, value) = match &e.op {
        Op::Write { key, value } => ("write", key.to_string(), Some(value.to_string())),
        Op::Read { key } => ("read", key.to_string(), None),
    };
    let (completed, outcome, detail) = match &e.completed {
        None => (None, "pending", Value::Null),
        Some((at, Outcome::Ok(v))) => (
            Some(at),
            "ok",
            v.as_ref().map_or(Value::Null, |v| v.to_string().into()),
        ),
        Some((at, Outcome::Fail(r))) => (Some(at), "fail", r.as_str().into()),
        Some((at, Outcome::Info(r))) => (Some(at), "info", r.as_str().into()),
    };
    json!({
        "type": "op", "process": e.process, "id": e.id, "op": op, "key": key, "value": value,
        "invoked_us": e.invoked.as_micros() as u64,
        "completed_us": completed.map(|d| d.as_micros() as u64),
        "outcome": outcome, "detail": detail,
    })
}

/// Writes the run's history as JSON lines in time order: one
/// `{"type":"op",…}` per operation (at its invocation) and one
/// `{"type":"fault","event":"start"|"stop",…}` per fault event.
///
/// # Errors
///
/// What the writer returns.
pub fn write_jsonl<K: Datum, V: Datum>(
    run: &ScenarioRun<K, V>,
    mut out: impl Write,
) -> io::Result<()> {
    let entries = run.history.entries();
    let events = run.history.fault_events();
    let (mut ops, mut evs) = (entries.iter().peekable(), events.iter().peekable());
    loop {
        let next_op = ops.peek().map(|e| e.invoked);
        let next_ev = evs.peek().map(|e| e.at);
        let line = match (next_op, next_ev) {
            (None, None) => break,
            (Some(o), Some(f)) if o < f => ops.next().map(op_line),
            (Some(_), None) => ops.next().map(op_line),
            _ => evs.next().map(|e| {
                json!({"type": "fault", "event": if e.started { "start" } else { "stop" }, "fault": e.fault, "link": e.link, "at_us": e.at.as_micros() as u64})
            }),
        };
        if let Some(line) = line {
            writeln!(out, "{line}")?;
        }
    }
    Ok(())
}

/// Writes the run's operations as Jepsen's independent-register history in
/// EDN ([`History::register_history`](crate::history::History::register_history)),
/// the final state read last, for `ballast-check --model register` or
/// Knossos. Nothing is written for a run whose final state was not read.
///
/// # Errors
///
/// What the writer returns.
pub fn write_register_edn<K: Datum, V: Datum>(
    run: &ScenarioRun<K, V>,
    out: impl Write,
) -> io::Result<()> {
    let Some(state) = &run.final_state else {
        return Ok(());
    };
    let ops = run.history.register_history(state);
    crate::check::format::write_history(&ops, crate::check::Format::Edn, out)
}
