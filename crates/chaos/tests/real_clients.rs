//! The real Toxiproxy clients drive the `ballast-proxy` binary: the
//! `toxiproxy-python` (PyPI) and `toxiproxy-node-client` (npm) scripts in
//! `tests/clients/` create, list, disable/enable, add/update/remove every
//! toxic type, populate and reset, and check real effects on an echo server.
//!
//! The clients are installed by `.ci/run` into `target/chaos-clients/`
//! (override with `BALLAST_CHAOS_CLIENTS`). When they are missing the tests
//! are skipped, unless `CI` is set: then a missing client is a failure.
#![cfg(feature = "proxy")]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

use common::{Echo, ProxyBin};

fn clients_dir() -> PathBuf {
    match std::env::var_os("BALLAST_CHAOS_CLIENTS") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/chaos-clients"),
    }
}

fn scripts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

/// Skips (returns false) when a tool is missing, unless running under CI.
fn require(what: &str, present: bool) -> bool {
    if present {
        return true;
    }
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    assert!(
        !ci,
        "{what} is missing under CI=true: .ci/run must install it into {}",
        clients_dir().display()
    );
    eprintln!(
        "skipping: {what} is not installed in {} (run .ci/run)",
        clients_dir().display()
    );
    false
}

/// Kills the child if the test ends before it does.
struct ChildGuard(Child);

impl ChildGuard {
    fn wait(mut self, limit: Duration) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.0.try_wait().expect("wait for client script") {
                return status;
            }
            assert!(
                start.elapsed() < limit,
                "client script ran longer than {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn toxiproxy_python_client_passes_its_script() {
    let python = clients_dir().join("venv/bin/python");
    let installed = python.exists()
        && Command::new(&python)
            .args(["-c", "import toxiproxy"])
            .status()
            .is_ok_and(|s| s.success());
    if !require("toxiproxy-python", installed) {
        return;
    }
    let echo = Echo::start();
    let bin = ProxyBin::start(&["-seed", "11"]);
    let child = Command::new(&python)
        .arg(scripts_dir().join("toxiproxy_python.py"))
        .env("TOXIPROXY_HOST", bin.api.ip().to_string())
        .env("TOXIPROXY_PORT", bin.api.port().to_string())
        .env("ECHO_ADDR", echo.addr.to_string())
        .spawn()
        .expect("run python");
    let status = ChildGuard(child).wait(Duration::from_secs(120));
    assert!(status.success(), "toxiproxy-python script failed: {status}");
}

#[test]
fn toxiproxy_node_client_passes_its_script() {
    let modules = clients_dir().join("node/node_modules");
    let node_ok = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let installed = node_ok && modules.join("toxiproxy-node-client/package.json").exists();
    if !require("node + toxiproxy-node-client", installed) {
        return;
    }
    let echo = Echo::start();
    let bin = ProxyBin::start(&["-seed", "12"]);
    let child = Command::new("node")
        .arg(scripts_dir().join("toxiproxy_node.mjs"))
        .env("TOXIPROXY_URL", format!("http://{}", bin.api))
        .env("ECHO_ADDR", echo.addr.to_string())
        .env("NODE_PATH", &modules)
        .spawn()
        .expect("run node");
    let status = ChildGuard(child).wait(Duration::from_secs(120));
    assert!(
        status.success(),
        "toxiproxy-node-client script failed: {status}"
    );
}
