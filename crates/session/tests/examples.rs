//! The `screen` example works as its docs say, against the simulator.
#![cfg(feature = "host")]

mod common;

use std::process::Command;

use ballast_session::host::{DemoApp, HostConfig, HostSimulator};

fn screen_example() -> Command {
    let mut c = Command::new(env!("CARGO"));
    c.args([
        "run",
        "-q",
        "-p",
        "ballast-session",
        "--example",
        "screen",
        "--",
    ]);
    c
}

#[test]
fn screen_example_signs_on_and_prints_the_menu() {
    let host = HostSimulator::start(HostConfig::default(), DemoApp::default()).unwrap();
    let out = screen_example()
        .arg(host.local_addr().to_string())
        .args([
            "--tn3270e",
            "--wait-text",
            "PLEASE SIGN ON",
            "--type",
            "DEMO",
            "--type",
            "SECRET",
        ])
        .args([
            "--key",
            "enter",
            "--wait-text",
            "MAIN MENU",
            "--timeout-ms",
            "10000",
        ])
        .output()
        .expect("cargo runs the example");
    let stdout = succeeded(&out);
    assert!(stdout.contains("USER DEMO"), "{stdout}");
    assert_eq!(stdout.lines().count(), 24, "one line per row");
    host.stop();
}

#[test]
fn screen_example_fails_with_one_line_on_timeout() {
    let host = HostSimulator::start(HostConfig::default(), DemoApp::default()).unwrap();
    let out = screen_example()
        .arg(host.local_addr().to_string())
        .args(["--wait-text", "NEVER THERE", "--timeout-ms", "200"])
        .output()
        .expect("cargo runs the example");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Cargo may print build warnings first; the example's own output is
    // the last line.
    let last = stderr.trim_end().lines().last().unwrap_or_default();
    assert!(
        last.starts_with("screen: wait for \"NEVER THERE\": timed out"),
        "{stderr}"
    );
    assert_eq!(
        stderr.lines().filter(|l| l.starts_with("screen:")).count(),
        1
    );
    host.stop();
}

#[test]
fn host_sim_example_listens_and_serves_the_demo_app() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    use std::time::Duration;

    use ballast_session::{Client, SessionConfig};

    // Find a free port, then let the example bind it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(env!("CARGO"))
        .args([
            "run",
            "-q",
            "-p",
            "ballast-session",
            "--features",
            "host",
            "--example",
            "host-sim",
            "--",
        ])
        .args(["--listen", &format!("127.0.0.1:{port}"), "--tn3270e"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("cargo runs the example");
    let mut guard = common::ChildGuard(child);
    let stdout = guard.0.stdout.take().expect("piped stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("the example prints its address");
    assert!(
        line.starts_with(&format!("listening on 127.0.0.1:{port}")),
        "{line}"
    );
    let c = Client::connect(
        ("127.0.0.1", port),
        SessionConfig::default(),
        Duration::from_secs(10),
    )
    .unwrap();
    assert!(c.session().is_tn3270e());
    assert!(c.screen().contains("PLEASE SIGN ON"));
}

/// Runs the `audit` example with `args`.
fn audit_example(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO"))
        .args([
            "run",
            "-q",
            "-p",
            "ballast-session",
            "--example",
            "audit",
            "--",
        ])
        .args(args)
        .output()
        .expect("cargo runs the example")
}

/// Three entries a few milliseconds apart: two of session 1 (user OPS1),
/// one of session 2 (user OPS2).
fn write_three_entries(path: &std::path::Path) {
    use ballast_session::Aid;
    use ballast_session::audit::{AuditEvent, AuditLog};

    let log = AuditLog::create(path).expect("a new log");
    let connect = AuditEvent::Connect {
        address: "127.0.0.1:23",
        lu: None,
    };
    log.record_user(1, "mvs1", Some("OPS1"), &connect)
        .expect("append");
    // Entries a few milliseconds apart, so --from/--to can split them.
    std::thread::sleep(std::time::Duration::from_millis(5));
    let aid = AuditEvent::AidSent {
        aid: Aid::Enter,
        modified: &[(4, 15)],
    };
    log.record_user(1, "mvs1", Some("OPS1"), &aid)
        .expect("append");
    std::thread::sleep(std::time::Duration::from_millis(5));
    log.record_user(
        2,
        "mvs2",
        Some("OPS2"),
        &AuditEvent::Disconnect { reason: "drained" },
    )
    .expect("append");
}

#[test]
fn audit_example_verifies_queries_and_finds_a_modified_line() {
    let path = std::env::temp_dir().join(format!("ballast-audit-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&path);
    write_three_entries(&path);
    let file = path.to_string_lossy().into_owned();
    let out = audit_example(&["verify", &file]);
    let stdout = succeeded(&out);
    assert!(stdout.starts_with("ok: 3 entries, head "), "{stdout}");

    let query = |args: &[&str]| {
        let mut all = vec!["query", file.as_str()];
        all.extend_from_slice(args);
        succeeded(&audit_example(&all))
    };
    let stdout = query(&["--aid", "enter"]);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.contains("\"event\":\"aid_sent\""), "{stdout}");
    assert!(query(&["--session", "2"]).contains("drained"));

    let stdout = query(&["--user", "OPS1"]);
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    assert!(
        stdout.lines().all(|l| l.contains("\"user\":\"OPS1\"")),
        "{stdout}"
    );
    assert_eq!(query(&["--user", "NOBODY"]).lines().count(), 0);

    let ts: Vec<String> = std::fs::read_to_string(&path)
        .expect("read the log")
        .lines()
        .map(|l| {
            let e: serde_json::Value = serde_json::from_str(l).expect("an entry");
            e["ts_ms"].as_u64().expect("ts_ms").to_string()
        })
        .collect();
    let stdout = query(&["--from", &ts[1], "--to", &ts[1]]);
    assert_eq!(stdout.lines().count(), 1, "only the middle entry: {stdout}");
    assert!(stdout.contains("aid_sent"), "{stdout}");
    let stdout = query(&["--from", &ts[1]]);
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    let stdout = query(&["--to", &ts[0], "--user", "OPS1"]);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.contains("connect"), "{stdout}");

    let text = std::fs::read_to_string(&path).expect("read the log");
    std::fs::write(&path, text.replacen("mvs2", "mvs9", 1)).expect("tamper");
    let out = audit_example(&["verify", &file]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("line 3: entry 3 was modified"), "{stderr}");
    let _ = std::fs::remove_file(&path);
}

/// Runs example `name` with `args` and the demo password in its
/// environment.
/// The stdout of an example run that must have succeeded (its output is
/// the failure message otherwise).
fn succeeded(out: &std::process::Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn run_example(name: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO"))
        .args([
            "run",
            "-q",
            "-p",
            "ballast-session",
            "--example",
            name,
            "--",
        ])
        .args(args)
        .env("BALLAST_PASSWORD", "SECRET")
        .output()
        .expect("cargo runs the example")
}

#[test]
fn batch_example_enters_every_csv_line_and_reports_each() {
    let host = HostSimulator::start(HostConfig::default(), DemoApp::default()).unwrap();
    let dir = std::env::temp_dir();
    let input = dir.join(format!("ballast-batch-in-{}.csv", std::process::id()));
    let output = dir.join(format!("ballast-batch-out-{}.csv", std::process::id()));
    std::fs::write(
        &input,
        "name,amount\nACME,10\nGLOBEX,20\nBAD,x\nINITECH,30\n",
    )
    .unwrap();
    let addr = host.local_addr().to_string();
    let (i, o) = (input.to_string_lossy(), output.to_string_lossy());
    let out = run_example("batch", &[&addr, &i, &o, "--sessions", "2"]);
    assert!(
        !out.status.success(),
        "one line is bad, so the batch reports failure"
    );
    let result = std::fs::read_to_string(&output).expect("a result CSV");
    let lines: Vec<&str> = result.lines().collect();
    assert_eq!(lines.len(), 5, "{result}");
    assert!(lines[3].starts_with("4,BAD,,error,bad amount"), "{result}");
    for (line, name, amount) in [(1, "ACME", 10), (2, "GLOBEX", 20), (4, "INITECH", 30)] {
        let fields: Vec<&str> = lines[line].split(',').collect();
        assert_eq!(&fields[1..4], [name, &amount.to_string(), "ok"], "{result}");
        let stored = host.store().get(fields[4]).expect("the txid is stored");
        assert_eq!((stored.name.as_str(), stored.amount), (name, amount));
    }
    let _ = std::fs::remove_file(input);
    let _ = std::fs::remove_file(output);
}

#[test]
fn load_test_example_prints_rates_and_percentiles() {
    let host = HostSimulator::start(HostConfig::default(), DemoApp::default()).unwrap();
    let addr = host.local_addr().to_string();
    let out = run_example(
        "load-test",
        &[
            &addr,
            "--users",
            "3",
            "--sessions",
            "2",
            "--duration-ms",
            "300",
        ],
    );
    let stdout = succeeded(&out);
    for key in ["sessions/s", "transactions/s", "latency p50", "p99"] {
        assert!(stdout.contains(key), "{stdout}");
    }
    assert!(stdout.contains(", 0 failed)"), "{stdout}");
    assert!(!host.records().is_empty(), "transactions reached the host");
}

#[test]
fn monitor_example_draws_endpoints_and_sessions() {
    let host = HostSimulator::start(HostConfig::default(), DemoApp::default()).unwrap();
    let addr = host.local_addr().to_string();
    let out = run_example(
        "monitor",
        &[
            &addr,
            "--workers",
            "2",
            "--sessions",
            "2",
            "--interval-ms",
            "100",
            "--snapshot",
            "5",
        ],
    );
    let stdout = succeeded(&out);
    for text in ["endpoints", "host0", "Closed", "sessions", "open/idle/lent"] {
        assert!(stdout.contains(text), "no {text:?} in the view:\n{stdout}");
    }
    assert_eq!(stdout.lines().count(), 24, "one line per terminal row");
}
