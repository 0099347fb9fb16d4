//! IBM's tnz (Python) drives the host simulator through the whole demo
//! app, in TN3270E and plain TN3270 hosts; the test checks the record the
//! simulator stored under the transaction id tnz read off the screen.
//!
//! The tnz venv is created on first use (`common/venv.rs`): in
//! `$BALLAST_SESSION_PEERS` when set, else in `<target>/session-peers`.
#![cfg(feature = "host")]

mod common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ballast_session::host::{DemoApp, HostConfig, HostSimulator};
use common::{ChildGuard, missing, tnz_python};

/// Longest a tnz run may take before it is killed.
const TNZ_DEADLINE: Duration = Duration::from_secs(60);

fn walk_demo(tn3270e: bool) {
    let python = match tnz_python() {
        Ok(python) => python,
        Err(why) => return missing("tnz", &why),
    };
    let config = HostConfig {
        tn3270e,
        ..HostConfig::default()
    };
    let host = HostSimulator::start(config, DemoApp::default()).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/tnz_demo.py");
    let child = Command::new(&python)
        .arg(script)
        .arg(host.local_addr().port().to_string())
        // tnz writes tnz.log into its working directory.
        .current_dir(std::env::temp_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python starts");
    let mut guard = ChildGuard(child);
    let start = Instant::now();
    let status = loop {
        if let Some(status) = guard.0.try_wait().expect("wait on tnz") {
            break status;
        }
        assert!(
            start.elapsed() < TNZ_DEADLINE,
            "tnz did not finish in {TNZ_DEADLINE:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut out = String::new();
    let mut err = String::new();
    if let Some(mut o) = guard.0.stdout.take() {
        o.read_to_string(&mut out).expect("tnz stdout");
    }
    if let Some(mut e) = guard.0.stderr.take() {
        e.read_to_string(&mut err).expect("tnz stderr");
    }
    assert!(status.success(), "tnz failed: {out}\n{err}");
    let txid = out
        .lines()
        .find_map(|l| l.strip_prefix("TXID "))
        .expect("tnz prints the transaction id");
    let stored = host
        .store()
        .get(txid)
        .expect("acknowledged record is stored");
    assert_eq!(
        (stored.name.as_str(), stored.amount, stored.user.as_str()),
        ("GADGETS", 77, "DEMO")
    );
    host.stop();
}

#[test]
fn tnz_walks_the_demo_app_on_a_tn3270e_host() {
    walk_demo(true);
}

#[test]
fn tnz_walks_the_demo_app_on_a_plain_tn3270_host() {
    walk_demo(false);
}
