//! Graceful shutdown of a real child process receiving real signals.
#![cfg(all(not(loom), unix))]

use std::io::{BufRead, BufReader, Lines};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Kills the child if the test ends early, so no process outlives it.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn example_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target profile dir");
    let path = dir.join("examples").join("shutdown_demo");
    if !path.exists() {
        let status = Command::new(env!("CARGO"))
            .args([
                "build",
                "-p",
                "ballast-resilience",
                "--example",
                "shutdown_demo",
            ])
            .status()
            .expect("run cargo");
        assert!(status.success(), "building the example failed");
    }
    path
}

fn spawn(args: &[&str]) -> (ChildGuard, Lines<BufReader<ChildStdout>>) {
    let mut child = Command::new(example_binary())
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn demo");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().expect("a line").expect("utf-8");
    assert_eq!(first, "ready");
    (ChildGuard(child), lines)
}

fn signal(child: &ChildGuard, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.0.id().to_string()])
        .status();
    assert!(status.expect("run kill").success(), "kill -{name} failed");
}

/// Waits for exit, bounded so a wedged child fails the test instead of hanging it.
fn wait_exit(child: &mut ChildGuard) -> ExitStatus {
    let give_up = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.0.try_wait().expect("try_wait") {
            return status;
        }
        assert!(Instant::now() < give_up, "child did not exit within 60 s");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn sigterm_drains_in_flight_work_and_reports_cut_off_hooks() {
    let (mut child, mut lines) = spawn(&[]);
    signal(&child, "TERM");
    assert_eq!(
        lines.next().expect("line").expect("utf-8"),
        "draining ready=503"
    );
    let report: serde_json::Value =
        serde_json::from_str(&lines.next().expect("report line").expect("utf-8"))
            .expect("json report");
    let status = wait_exit(&mut child);
    assert_eq!(status.code(), Some(0));
    assert_eq!(report["in_flight_at_start"], 1);
    assert_eq!(
        report["in_flight_cut_off"], 0,
        "the request finished while draining"
    );
    let phases = report["phases"].as_array().expect("phases");
    let names: Vec<&str> = phases
        .iter()
        .map(|p| p["phase"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(names, ["draining", "closing", "cleanup"]);
    assert_eq!(phases[1]["tasks"][0]["name"], "close-listener");
    assert_eq!(phases[1]["tasks"][0]["outcome"], "finished");
    assert_eq!(phases[2]["tasks"][0]["name"], "hung-flush");
    assert_eq!(phases[2]["tasks"][0]["outcome"], "cut_off");
}

#[test]
fn second_signal_forces_exit_while_draining_is_stuck() {
    let (mut child, mut lines) = spawn(&["stuck"]);
    signal(&child, "INT");
    assert_eq!(
        lines.next().expect("line").expect("utf-8"),
        "draining ready=503"
    );
    signal(&child, "HUP");
    let status = wait_exit(&mut child);
    assert_eq!(status.code(), Some(130), "forced exit code");
}
