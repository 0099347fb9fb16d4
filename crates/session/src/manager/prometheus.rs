//! The manager's stats as Prometheus text (`ballast_session_*`).

use std::fmt::Write as _;

use ballast_resilience::BreakerState;

use super::stats::{ERROR_KINDS, EndpointStats, LATENCY_BUCKETS_US, LatencyStats, ManagerStats};

impl ManagerStats {
    /// Appends the Prometheus text exposition (`ballast_session_*`
    /// families, one `endpoint` label each; the `ballast_session_session_*`
    /// families add a `session` label, one series per open session).
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
        self.render_breakers(out);
        self.render_errors(out);
        self.render_latency(out);
        self.render_sessions(out);
    }

    fn render_breakers(&self, out: &mut String) {
        out.push_str(
            "# HELP ballast_session_breaker_state endpoint circuit breaker state (1 for the current one)\n",
        );
        out.push_str("# TYPE ballast_session_breaker_state gauge\n");
        for e in &self.endpoints {
            for state in BreakerState::all() {
                let _ = writeln!(
                    out,
                    "ballast_session_breaker_state{{endpoint=\"{}\",state=\"{}\"}} {}",
                    label(&e.name),
                    state.as_str(),
                    u8::from(e.breaker == state)
                );
            }
        }
    }

    /// The per-session families: commands, errors by kind, latency.
    fn render_sessions(&self, out: &mut String) {
        out.push_str("# HELP ballast_session_session_commands_total commands run per session\n");
        out.push_str("# TYPE ballast_session_session_commands_total counter\n");
        for s in &self.sessions {
            let _ = writeln!(
                out,
                "ballast_session_session_commands_total{{endpoint=\"{}\",session=\"{}\"}} {}",
                label(&s.endpoint),
                s.id,
                s.commands
            );
        }
        out.push_str(
            "# HELP ballast_session_session_errors_total command errors per session by kind\n",
        );
        out.push_str("# TYPE ballast_session_session_errors_total counter\n");
        for s in &self.sessions {
            for (kind, n) in ERROR_KINDS.iter().zip(s.errors) {
                let _ = writeln!(
                    out,
                    "ballast_session_session_errors_total{{endpoint=\"{}\",session=\"{}\",kind=\"{kind}\"}} {n}",
                    label(&s.endpoint),
                    s.id
                );
            }
        }
        out.push_str(
            "# HELP ballast_session_session_latency_seconds command round-trip latency per session\n",
        );
        out.push_str("# TYPE ballast_session_session_latency_seconds histogram\n");
        for s in &self.sessions {
            let labels = format!("endpoint=\"{}\",session=\"{}\"", label(&s.endpoint), s.id);
            histogram(
                out,
                "ballast_session_session_latency_seconds",
                &labels,
                &s.latency,
            );
        }
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
            let labels = format!("endpoint=\"{}\"", label(&e.name));
            histogram(out, "ballast_session_latency_seconds", &labels, &e.latency);
        }
    }
}

/// One histogram's `_bucket`, `_sum` and `_count` lines under `labels`.
fn histogram(out: &mut String, name: &str, labels: &str, latency: &LatencyStats) {
    let mut cumulative = 0;
    for (i, n) in latency.buckets.iter().enumerate() {
        cumulative += n;
        let le = LATENCY_BUCKETS_US
            .get(i)
            .map_or("+Inf".to_owned(), |us| format!("{}", *us as f64 / 1e6));
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{le}\"}} {cumulative}");
    }
    let _ = writeln!(
        out,
        "{name}_sum{{{labels}}} {}\n{name}_count{{{labels}}} {cumulative}",
        latency.sum.as_secs_f64()
    );
}

/// `value` escaped as a Prometheus label value.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
