//! `ballast-check` as a user runs it: exit 0 valid, 1 anomalies, 2 a bad
//! file (with the line and what is wrong); EDN and JSONL alike.

use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ballast-check"))
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/histories")
        .join(name)
}

fn run(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd.output().expect("ballast-check runs");
    (
        out.status.code().expect("exits with a code"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_valid_history_exits_0() {
    let (code, out, _) = run(bin().arg(fixture("valid-serial.edn")));
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("valid: no anomalies; consistent with strict-serializable"),
        "{out}"
    );
}

#[test]
fn anomalies_exit_1_with_their_explanation() {
    let (code, out, _) = run(bin().arg(fixture("G2-item.edn")));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("G2-item:"), "{out}");
    assert!(
        out.contains("T2 < T3 (rw), because T2 read key 7 = [], which does not hold 2"),
        "{out}"
    );
    assert!(
        out.contains("ruled out: repeatable-read, serializable"),
        "{out}"
    );
    // Write skew is allowed by snapshot isolation: reported, yet valid.
    let (code, out, _) = run(bin()
        .args(["--consistency-model", "snapshot-isolation"])
        .arg(fixture("G2-item.edn")));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("valid for snapshot-isolation"), "{out}");
}

#[test]
fn a_bad_file_exits_2_naming_the_line() {
    let dir = std::env::temp_dir().join(format!("ballast-check-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.edn");
    std::fs::write(&bad, "{:type :invoke, :f :txn, :value [[:append 1 1]], :process 0}\n{:type :ok, :f :txn, :value [[:append 1]], :process 0}\n").unwrap();
    let (code, _, err) = run(bin().arg(&bad));
    assert_eq!(code, 2);
    assert!(
        err.contains("line 2: micro-op 1: must have three elements [f k v], not 2"),
        "{err}"
    );
    let (code, _, err) = run(bin().arg(dir.join("missing.edn")));
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = run(bin().args(["--consistency-model", "sequential"]).arg(&bad));
    assert_eq!(code, 2);
    assert!(err.contains("unknown consistency model"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn generated_jsonl_checks_valid_in_both_modes_and_json_output_parses() {
    let dir = std::env::temp_dir().join(format!("ballast-check-gen-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("h.jsonl");
    let out = bin()
        .args(["generate", "--txns", "2000", "--seed", "3"])
        .output()
        .unwrap();
    assert!(out.status.success());
    std::fs::write(&file, &out.stdout).unwrap();
    let (code, out, err) = run(bin().arg("--json").arg(&file));
    assert_eq!(code, 0, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("--json prints JSON");
    assert_eq!(v["valid"], true);
    let (code, _, err) = run(bin().args(["--stream", "--checkpoint", "500"]).arg(&file));
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("500 operations read, 0 anomalies so far"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn streaming_stops_at_the_first_checkpoint_with_an_anomaly() {
    let dir = std::env::temp_dir().join(format!("ballast-check-stream-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("h.edn");
    let mut text = std::fs::read_to_string(fixture("G1c.edn")).unwrap();
    for i in 0..1000 {
        text.push_str(&format!(
            "{{:type :invoke, :f :txn, :value [[:append 99 {i}]], :process 5}}\n{{:type :ok, :f :txn, :value [[:append 99 {i}]], :process 5}}\n"
        ));
    }
    std::fs::write(&file, text).unwrap();
    let (code, out, err) = run(bin().args(["--stream", "--checkpoint", "100"]).arg(&file));
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("G1c"), "{out}");
    assert!(
        err.contains("stopped early") && err.contains("100 operations read"),
        "{err}"
    );
    assert!(!err.contains("200 operations read"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_set_history_reports_outcomes_latencies_and_its_verdict() {
    let (code, out, _) = run(bin().args(["--model", "set"]).arg(fixture("set-stale.edn")));
    assert_eq!(code, 1, "stale under the default (strict) model: {out}");
    assert!(
        out.contains("elements: 2 attempted, 2 stable, 0 lost, 0 never read, 1 stale"),
        "{out}"
    );
    assert!(out.contains("stable latency (ms): p0 0"), "{out}");
    let (code, out, _) = run(bin()
        .args(["--model", "set", "--consistency-model", "serializable"])
        .arg(fixture("set-stale.edn")));
    assert_eq!(code, 0, "an eventually consistent set may be stale: {out}");
    let (code, out, _) = run(bin()
        .args(["--model", "set", "--json"])
        .arg(fixture("set-lost.edn")));
    assert_eq!(code, 1, "{out}");
    let report: serde_json::Value = serde_json::from_str(&out).expect("JSON report");
    assert_eq!(report["counts"]["lost"], 1, "{report}");
    assert_eq!(report["stats"]["lost-count"], 1, "{report}");
}
