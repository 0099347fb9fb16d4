//! Ctrl-C: the binary heals every fault, writes what it measured and
//! exits 130.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// Kills the child on drop, so a failing test leaves no process behind.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn sigint_heals_writes_partial_reports_and_exits_130() {
    let dir = std::env::temp_dir().join(format!("ballast-suite-sigint-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_ballast-suite"))
            .args([
                "chaos",
                "--seed",
                "1",
                "--clients",
                "1",
                "--scenario",
                "latency-spike",
                "--scenario",
                "black-hole",
                "--out",
            ])
            .arg(&dir)
            .stdout(Stdio::piped())
            .spawn()
            .expect("the binary starts"),
    );
    let stdout = child.0.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
    // Wait until the first scenario is done, so there is something to keep.
    lines
        .by_ref()
        .find(|l| l.contains("latency-spike:"))
        .expect("the first scenario ran");
    let pid = child.0.id().to_string();
    let killed = Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let rest: Vec<String> = lines.collect();
    let status = child.0.wait().expect("the binary exits");
    assert_eq!(status.code(), Some(130), "{rest:?}");
    assert!(
        rest.iter()
            .any(|l| l.contains("black-hole: ERROR: interrupted")),
        "{rest:?}"
    );
    assert!(
        rest.iter()
            .any(|l| l.starts_with("interrupted: every fault healed")),
        "{rest:?}"
    );
    let csv = std::fs::read_to_string(dir.join("results.csv")).expect("results.csv written");
    assert_eq!(csv.lines().count(), 3, "both scenarios reported: {csv}");
    let history =
        std::fs::read_to_string(dir.join("histories/black-hole.jsonl")).expect("history written");
    let starts = history.matches("\"event\":\"start\"").count();
    let stops = history.matches("\"event\":\"stop\"").count();
    assert_eq!(
        starts, stops,
        "every fault that started was healed: {history}"
    );
    let _ = std::fs::remove_dir_all(dir);
}
