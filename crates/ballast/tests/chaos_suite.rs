//! The main job works: `cargo xtask chaos` runs the suite in
//! `examples/chaos`; here two of its scenarios run end to end (host
//! simulator, chaos proxy, resilient clients, history and SLA checks,
//! reports) and must pass.

use std::process::Command;

#[test]
fn chaos_suite_runs_scenarios_and_writes_passing_reports() {
    let dir = std::env::temp_dir().join(format!("ballast-chaos-suite-{}", std::process::id()));
    let status = Command::new(env!("CARGO"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "run",
            "--quiet",
            "--all-features",
            "-p",
            "ballast",
            "--example",
            "chaos",
            "--",
        ])
        .args(["--seed", "42", "--clients", "2"])
        .args(["--scenario", "connection-reset", "--scenario", "black-hole"])
        .arg("--report-dir")
        .arg(&dir)
        .status()
        .expect("cargo runs the chaos example");
    assert!(status.success(), "the chaos suite failed: {status}");
    let summary = std::fs::read_to_string(dir.join("summary.csv")).expect("summary.csv written");
    let rows: Vec<&str> = summary.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{summary}");
    for row in rows {
        assert!(row.ends_with(",true"), "scenario did not pass: {row}");
        assert!(
            row.split(',').nth(2).is_some_and(|n| n != "0"),
            "nothing was stored: {row}"
        );
    }
    let html = std::fs::read_to_string(dir.join("report.html")).expect("report.html written");
    assert_eq!(
        html.matches("<svg").count(),
        3,
        "one recovery chart + one timeline each"
    );
    let _ = std::fs::remove_dir_all(dir);
}
