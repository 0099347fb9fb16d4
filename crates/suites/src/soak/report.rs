//! The soak report as JSON and Markdown.

use std::fmt::Write as _;

use super::SoakReport;

/// The reports as a JSON array, one object per soak.
pub fn to_json(reports: &[SoakReport]) -> serde_json::Value {
    serde_json::Value::Array(reports.iter().map(one).collect())
}

fn one(r: &SoakReport) -> serde_json::Value {
    let samples: Vec<serde_json::Value> = r
        .samples
        .iter()
        .map(|s| serde_json::json!({"seconds": s.seconds, "live_bytes": s.live_bytes, "peak_bytes": s.peak_bytes}))
        .collect();
    serde_json::json!({
        "name": r.name,
        "iterations": r.iterations,
        "operations": r.operations,
        "seconds": r.seconds,
        "ops_per_second": r.ops_per_second(),
        "baseline": {"live_bytes": r.baseline.0, "fds": r.baseline.1, "threads": r.baseline.2},
        "end": {"live_bytes": r.end.0, "fds": r.end.1, "threads": r.end.2},
        "growth_percent": r.growth_percent(),
        "bound_bytes": r.bound_bytes,
        "before": {"live_bytes": r.before.0, "fds": r.before.1, "threads": r.before.2},
        "after_drop": r.after_drop.map(|a| serde_json::json!({"live_bytes": a.0, "fds": a.1, "threads": a.2})),
        "peak_bytes": r.peak_bytes,
        "samples": samples,
        "breaches": r.breaches,
        "passed": r.breaches.is_empty(),
    })
}

/// The reports as a Markdown table, then every breach.
pub fn markdown(reports: &[SoakReport]) -> String {
    let mut md = String::from(
        "# Soak report\n\n| soak | iterations | ops/s | live after warm-up | live at end | growth | bound | peak | fds | threads | after drop (live, fds, threads vs before) | result |\n|---|---:|---:|---:|---:|---:|---:|---:|---|---|---|---|\n",
    );
    for r in reports {
        let _ = writeln!(
            md,
            "| {} | {} | {:.0} | {} | {} | {:+.2} % | {} | {} | {}→{} | {}→{} | {} | {} |",
            r.name,
            r.iterations,
            r.ops_per_second(),
            r.baseline.0,
            r.end.0,
            r.growth_percent(),
            r.bound_bytes,
            r.peak_bytes,
            r.baseline.1,
            r.end.1,
            r.baseline.2,
            r.end.2,
            after_drop(r),
            if r.breaches.is_empty() {
                "pass"
            } else {
                "FAIL"
            }
        );
    }
    let breaches: Vec<&String> = reports.iter().flat_map(|r| &r.breaches).collect();
    if !breaches.is_empty() {
        md.push_str("\n## Breaches\n\n");
        for b in breaches {
            let _ = writeln!(md, "- {b}");
        }
    }
    md
}

/// `+N B, a→b fds, c→d threads` from before the soak to after its drop.
fn after_drop(r: &SoakReport) -> String {
    match r.after_drop {
        Some((live, fds, threads)) => format!(
            "{:+} B, {}→{fds}, {}→{threads}",
            live as i64 - r.before.0 as i64,
            r.before.1,
            r.before.2
        ),
        None => "-".into(),
    }
}
