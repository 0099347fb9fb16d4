//! Helpers shared by the peer tests: skip-or-fail for missing tools, a
//! guard that kills child processes, and the Python venv of the tnz tests.

#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;
use std::process::Child;

pub mod venv;

/// True when running under CI (`CI` set and not "false").
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false")
}

/// Reports a missing peer: a failure under CI, a skip (returns) otherwise.
pub fn missing(tool: &str, how: &str) {
    assert!(!under_ci(), "{tool} is not installed but CI=true: {how}");
    eprintln!("skipping: {tool} is not installed ({how})");
}

/// Kills and reaps the child when dropped.
pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Path of an executable found on `PATH`.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// The Python of the peers' venv, created on first use: see [`venv`].
pub fn tnz_python() -> Result<PathBuf, String> {
    venv::python()
}
