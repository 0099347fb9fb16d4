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

/// The soft `RLIMIT_NOFILE` of process `pid` and its open descriptors.
fn descriptors(pid: u32) -> Option<(u64, usize)> {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).ok()?;
    let soft = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))?
        .split_whitespace()
        .nth(3)?
        .parse()
        .ok()?;
    let open = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count();
    Some((soft, open))
}

/// `before → after` of `what` in a scenario's summary line
/// (`…; fds 11 → 11, threads 4 → 4, rss …`).
fn baseline_figure(line: &str, what: &str) -> Option<(u64, u64)> {
    let rest = line.split(&format!("{what} ")).nth(1)?;
    let mut figures = rest.split(" → ");
    let before = figures.next()?.trim().parse().ok()?;
    let after = figures
        .next()?
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()?;
    Some((before, after))
}

#[cfg(target_os = "linux")]
#[test]
fn sigint_during_fd_exhaustion_releases_the_descriptors_and_exits_130() {
    let dir = std::env::temp_dir().join(format!("ballast-suite-sigint-fd-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_ballast-suite"))
            .args(["chaos", "--seed", "3", "--clients", "2"])
            .args(["--scenario", "fd-exhaustion", "--scenario", "latency-spike"])
            .arg("--out")
            .arg(&dir)
            .stdout(Stdio::piped())
            .spawn()
            .expect("the binary starts"),
    );
    let pid = child.0.id();
    let mut first = None;
    let mut squeezed = false;
    // Bounded: 15 s in 10 ms steps; the fault starts after a 1.5 s baseline.
    for _ in 0..1_500 {
        if let Some((soft, open)) = descriptors(pid) {
            let (soft0, open0) = *first.get_or_insert((soft, open));
            // Held duplicates, or a lowered soft limit when holding them
            // all would take too many (`Fidelity::LoweredSoftLimit`).
            if soft < soft0 || open > open0 + 500 {
                squeezed = true;
                break;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(squeezed, "the fd-exhaustion fault started: {first:?}");
    let killed = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let stdout = child.0.stdout.take().expect("piped stdout");
    let lines: Vec<String> = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .collect();
    let status = child.0.wait().expect("the binary exits");
    assert_eq!(status.code(), Some(130), "{lines:?}");
    let summary = lines
        .iter()
        .find(|l| l.contains("fd-exhaustion: ERROR: interrupted"))
        .unwrap_or_else(|| panic!("the interrupted scenario is reported: {lines:?}"));
    // The run's own resource baseline: every held descriptor closed (and
    // the soft limit restored, or the next open would fail), no hog left.
    let fds = baseline_figure(summary, "fds").expect("fds before → after");
    assert_eq!(fds.0, fds.1, "descriptors healed: {summary}");
    let threads = baseline_figure(summary, "threads").expect("threads before → after");
    assert_eq!(threads.0, threads.1, "threads healed: {summary}");
    assert!(
        !lines.iter().any(|l| l.contains("latency-spike:")),
        "the run stopped at the interrupt: {lines:?}"
    );
    let csv = std::fs::read_to_string(dir.join("results.csv")).expect("results.csv written");
    assert_eq!(csv.lines().count(), 2, "the partial report is kept: {csv}");
    let history = std::fs::read_to_string(dir.join("histories/fd-exhaustion.jsonl"))
        .expect("history written");
    let starts = history.matches("\"event\":\"start\"").count();
    assert!(starts >= 1, "a fault started: {history}");
    assert_eq!(
        starts,
        history.matches("\"event\":\"stop\"").count(),
        "every fault that started was healed"
    );
    let _ = std::fs::remove_dir_all(dir);
}
