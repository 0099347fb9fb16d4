//! The manager's stats as Prometheus text (`ballast_session_*`).

use std::fmt::Write as _;

use super::stats::{ERROR_KINDS, EndpointStats, LATENCY_BUCKETS_US, ManagerStats};

impl ManagerStats {
    /// Appends the Prometheus text exposition (`ballast_session_*`
    /// families, one `endpoint` label each).
    pub fn render_prometheus(&self, out: &mut String) {
        type Get = fn(&EndpointStats) -> u64;
        let families: [(&str, &str, &str, Get); 11] = [
            ("open", "gauge", "sessions open", |e| e.open as u64),
            ("idle", "gauge", "sessions idle", |e| e.idle as u64),
            ("in_use", "gauge", "sessions lent", |e| e.in_use as u64),
            ("commands_total", "counter", "commands run", |e| e.commands),
            ("read_bytes_total", "counter", "bytes received", |e| {
                e.bytes_read
            }),
            ("written_bytes_total", "counter", "bytes sent", |e| {
                e.bytes_written
            }),
            ("connects_total", "counter", "sessions opened", |e| {
                e.connects
            }),
            ("connect_failures_total", "counter", "failed opens", |e| {
                e.connect_failures
            }),
            ("reconnects_total", "counter", "replacement opens", |e| {
                e.reconnects
            }),
            ("retired_total", "counter", "sessions retired", |e| {
                e.retired
            }),
            (
                "dead_total",
                "counter",
                "sessions found dead by keepalive",
                |e| e.dead,
            ),
        ];
        for (name, kind, help, get) in families {
            let _ = writeln!(
                out,
                "# HELP ballast_session_{name} {help}\n# TYPE ballast_session_{name} {kind}"
            );
            for e in &self.endpoints {
                let _ = writeln!(
                    out,
                    "ballast_session_{name}{{endpoint=\"{}\"}} {}",
                    label(&e.name),
                    get(e)
                );
            }
        }
        self.render_errors(out);
        self.render_latency(out);
    }

    fn render_errors(&self, out: &mut String) {
        out.push_str("# HELP ballast_session_errors_total command errors by kind\n");
        out.push_str("# TYPE ballast_session_errors_total counter\n");
        for e in &self.endpoints {
            for (kind, n) in ERROR_KINDS.iter().zip(e.errors) {
                let _ = writeln!(
                    out,
                    "ballast_session_errors_total{{endpoint=\"{}\",kind=\"{kind}\"}} {n}",
                    label(&e.name)
                );
            }
        }
    }

    fn render_latency(&self, out: &mut String) {
        out.push_str("# HELP ballast_session_latency_seconds command round-trip latency\n");
        out.push_str("# TYPE ballast_session_latency_seconds histogram\n");
        for e in &self.endpoints {
            let name = label(&e.name);
            let mut cumulative = 0;
            for (i, n) in e.latency.buckets.iter().enumerate() {
                cumulative += n;
                let le = LATENCY_BUCKETS_US
                    .get(i)
                    .map_or("+Inf".to_owned(), |us| format!("{}", *us as f64 / 1e6));
                let _ = writeln!(
                    out,
                    "ballast_session_latency_seconds_bucket{{endpoint=\"{name}\",le=\"{le}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "ballast_session_latency_seconds_sum{{endpoint=\"{name}\"}} {}\nballast_session_latency_seconds_count{{endpoint=\"{name}\"}} {cumulative}",
                e.latency.sum.as_secs_f64()
            );
        }
    }
}

/// `value` escaped as a Prometheus label value.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
