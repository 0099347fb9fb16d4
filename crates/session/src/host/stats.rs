//! What the host simulator has served, as counters and as Prometheus text
//! (`ballast_host_*`).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// The counters the event loop keeps (relaxed atomics: each is its own
/// figure; a scrape may see one a moment ahead of another).
#[derive(Debug, Default)]
pub(super) struct Counters {
    pub(super) refused: AtomicU64,
    pub(super) closed_normal: AtomicU64,
    pub(super) closed_error: AtomicU64,
    pub(super) closed_idle: AtomicU64,
    pub(super) negotiation_failures: AtomicU64,
    pub(super) panics: AtomicU64,
    pub(super) bytes_in: AtomicU64,
    pub(super) bytes_out: AtomicU64,
}

impl Counters {
    pub(super) fn add(counter: &AtomicU64, n: u64) {
        if n > 0 {
            counter.fetch_add(n, Ordering::Relaxed);
        }
    }
}

/// The host simulator's figures at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HostStats {
    /// Connections accepted as sessions.
    pub accepted: u64,
    /// Sessions open now.
    pub active: u64,
    /// Connections refused at the session limit.
    pub refused: u64,
    /// Sessions ended by the client or the application.
    pub closed_normal: u64,
    /// Sessions ended by an error (protocol, limit, I/O, TLS).
    pub closed_error: u64,
    /// Sessions closed after the idle timeout.
    pub closed_idle: u64,
    /// Sessions that ended with an error before negotiation finished.
    pub negotiation_failures: u64,
    /// Application panics (each ended its session).
    pub panics: u64,
    /// Plaintext bytes received from terminals.
    pub bytes_in: u64,
    /// Plaintext bytes sent to terminals.
    pub bytes_out: u64,
    /// Records in the store.
    pub records: u64,
}

impl Counters {
    pub(super) fn snapshot(&self, accepted: u64, active: u64, records: u64) -> HostStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        HostStats {
            accepted,
            active,
            refused: get(&self.refused),
            closed_normal: get(&self.closed_normal),
            closed_error: get(&self.closed_error),
            closed_idle: get(&self.closed_idle),
            negotiation_failures: get(&self.negotiation_failures),
            panics: get(&self.panics),
            bytes_in: get(&self.bytes_in),
            bytes_out: get(&self.bytes_out),
            records,
        }
    }
}

impl HostStats {
    /// Appends the figures as Prometheus text, each family labelled with
    /// `host="{name}"`.
    pub fn render_prometheus(&self, name: &str, out: &mut String) {
        let name = name.replace(['\\', '"', '\n'], "_");
        let mut family = |metric: &str, kind: &str, help: &str, samples: &[(&str, u64)]| {
            let _ = writeln!(
                out,
                "# HELP ballast_host_{metric} {help}\n# TYPE ballast_host_{metric} {kind}"
            );
            for (extra, v) in samples {
                let _ = writeln!(out, "ballast_host_{metric}{{host=\"{name}\"{extra}}} {v}");
            }
        };
        family(
            "sessions_accepted_total",
            "counter",
            "Connections accepted as sessions.",
            &[("", self.accepted)],
        );
        family(
            "sessions_active",
            "gauge",
            "Sessions open now.",
            &[("", self.active)],
        );
        family(
            "sessions_refused_total",
            "counter",
            "Connections refused at the session limit.",
            &[("", self.refused)],
        );
        family(
            "sessions_closed_total",
            "counter",
            "Sessions ended, by reason.",
            &[
                (",reason=\"normal\"", self.closed_normal),
                (",reason=\"error\"", self.closed_error),
                (",reason=\"idle\"", self.closed_idle),
            ],
        );
        family(
            "negotiation_failures_total",
            "counter",
            "Sessions that failed before negotiation finished.",
            &[("", self.negotiation_failures)],
        );
        family(
            "application_panics_total",
            "counter",
            "Application panics (each ended its session).",
            &[("", self.panics)],
        );
        family(
            "bytes_total",
            "counter",
            "Plaintext bytes exchanged with terminals.",
            &[
                (",direction=\"in\"", self.bytes_in),
                (",direction=\"out\"", self.bytes_out),
            ],
        );
        family(
            "records",
            "gauge",
            "Records in the store.",
            &[("", self.records)],
        );
    }
}
