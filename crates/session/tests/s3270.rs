//! s3270 (the scripted x3270) drives the host simulator through the whole
//! demo app, in TN3270E and in plain TN3270 (`N:` prefix); the test
//! checks s3270's `Ascii()` text and the records the simulator stored.
#![cfg(feature = "host")]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{ChildStdin, ChildStdout, Command, Stdio};

use ballast_session::host::{DemoApp, HostConfig, HostSimulator};
use common::{ChildGuard, missing, which};

/// Most lines read for one action's answer.
const MAX_ANSWER_LINES: usize = 200;

struct S3270 {
    _guard: ChildGuard,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl S3270 {
    fn spawn() -> Option<Self> {
        let Some(exe) = which("s3270") else {
            missing("s3270", "install the Debian package s3270");
            return None;
        };
        let mut child = Command::new(exe)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("s3270 starts");
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        Some(Self {
            _guard: ChildGuard(child),
            stdin,
            stdout,
        })
    }

    /// Runs one action; returns its data lines; panics on `error`.
    fn run(&mut self, action: &str) -> Vec<String> {
        writeln!(self.stdin, "{action}").expect("s3270 reads actions");
        self.stdin.flush().expect("flush");
        let mut data = Vec::new();
        for _ in 0..MAX_ANSWER_LINES {
            let mut line = String::new();
            let n = self.stdout.read_line(&mut line).expect("s3270 answers");
            assert!(n > 0, "s3270 exited during {action}");
            let line = line.trim_end_matches('\n');
            if let Some(d) = line.strip_prefix("data: ") {
                data.push(d.to_owned());
            } else if line == "ok" {
                return data;
            } else if line == "error" {
                panic!("s3270 action {action} failed: {data:?}");
            }
        }
        panic!("s3270 answered more than {MAX_ANSWER_LINES} lines to {action}");
    }

    fn screen(&mut self) -> String {
        self.run("Ascii()").join("\n")
    }
}

fn walk_demo(tn3270e_host: bool, host_prefix: &str) {
    let config = HostConfig {
        tn3270e: tn3270e_host,
        ..HostConfig::default()
    };
    let host = HostSimulator::start(config, DemoApp::default()).unwrap();
    let Some(mut s) = S3270::spawn() else { return };
    let port = host.local_addr().port();
    s.run(&format!("Connect({host_prefix}127.0.0.1:{port})"));
    s.run("Wait(10,InputField)");
    assert!(s.screen().contains("PLEASE SIGN ON"));

    s.run("String(\"DEMO\")");
    s.run("Tab()");
    s.run("String(\"SECRET\")");
    s.run("Enter()");
    s.run("Wait(10,InputField)");
    let menu = s.screen();
    assert!(
        menu.contains("MAIN MENU") && menu.contains("USER DEMO"),
        "{menu}"
    );

    s.run("String(\"1\")");
    s.run("Enter()");
    s.run("Wait(10,InputField)");
    assert!(s.screen().contains("RECORD ENTRY"));
    s.run("String(\"WIDGETS\")");
    s.run("Tab()");
    s.run("String(\"250\")");
    s.run("Enter()");
    s.run("Wait(10,Unlock)");
    let confirm = s.screen();
    let txid = confirm
        .split("TRANSACTION ID: ")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .unwrap_or_else(|| panic!("no transaction id on {confirm}"))
        .to_owned();
    let stored = host
        .store()
        .get(&txid)
        .expect("acknowledged record is stored");
    assert_eq!((stored.name.as_str(), stored.amount), ("WIDGETS", 250));

    s.run("Enter()");
    s.run("Wait(10,InputField)");
    s.run("String(\"2\")");
    s.run("Enter()");
    s.run("Wait(10,InputField)");
    s.run(&format!("String(\"{txid}\")"));
    s.run("Enter()");
    s.run("Wait(10,InputField)");
    let found = s.screen();
    assert!(
        found.contains(&format!("FOUND {txid} NAME: WIDGETS AMOUNT: 250")),
        "{found}"
    );
    s.run("PF(3)");
    s.run("Wait(10,InputField)");
    assert!(s.screen().contains("MAIN MENU"));
    s.run("Disconnect()");
    assert_eq!(host.records().len(), 1);
    host.stop();
}

#[test]
fn s3270_walks_the_demo_app_over_tn3270e() {
    walk_demo(true, "");
}

#[test]
fn s3270_walks_the_demo_app_over_plain_tn3270_when_it_refuses_tn3270e() {
    walk_demo(true, "N:");
}

#[test]
fn s3270_walks_the_demo_app_against_a_plain_tn3270_host() {
    walk_demo(false, "");
}
