//! The Python venv holding the pinned Python peers (tnz), created by the
//! tests themselves on first use.
//!
//! Directory: `$BALLAST_SESSION_PEERS` when set, otherwise
//! `session-peers/` in the cargo target directory. It holds `venv/`, a
//! `requirements.txt` copy written once `pip install` succeeded (so a
//! changed pin reinstalls), and a `.lock` file: every test binary and
//! thread takes the lock before looking, so one installs while the others
//! wait.

use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The peers' pins, committed beside the tests.
const REQUIREMENTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/requirements.txt");

/// The directory holding `venv/`.
fn peers_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("BALLAST_SESSION_PEERS") {
        return PathBuf::from(dir);
    }
    // Test binaries live in <target>/<profile>/deps/.
    let target = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().nth(3).map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("session-peers")
}

/// `venv/bin/python` with the pinned peers installed, creating the venv
/// when missing; the error says what failed, for `missing`.
pub fn python() -> Result<PathBuf, String> {
    let dir = peers_dir();
    fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(".lock"))
        .map_err(|e| format!("cannot open the venv lock: {e}"))?;
    lock.lock()
        .map_err(|e| format!("cannot lock the venv: {e}"))?;
    let result = install(&dir);
    drop(lock); // also unlocks
    result
}

/// Creates the venv and installs the pins unless already done; the caller
/// holds the lock.
fn install(dir: &Path) -> Result<PathBuf, String> {
    let pins = fs::read_to_string(REQUIREMENTS).map_err(|e| format!("{REQUIREMENTS}: {e}"))?;
    let venv = dir.join("venv");
    let python = venv.join("bin/python");
    let installed = dir.join("requirements.txt");
    if python.is_file() && fs::read_to_string(&installed).is_ok_and(|p| p == pins) {
        return Ok(python);
    }
    if !python.is_file() {
        let python3 = super::which("python3").ok_or("python3 is not on PATH")?;
        run(
            Command::new(python3).arg("-m").arg("venv").arg(&venv),
            "python3 -m venv (Debian: apt-get install python3-venv)",
        )?;
    }
    run(
        Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
            .arg(REQUIREMENTS),
        "pip install -r crates/session/tests/peers/requirements.txt",
    )?;
    fs::write(&installed, pins).map_err(|e| format!("{}: {e}", installed.display()))?;
    Ok(python)
}

fn run(cmd: &mut Command, what: &str) -> Result<(), String> {
    eprintln!("setting up the python peers: {what}");
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{what}: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr.lines().last().unwrap_or("").trim();
    Err(format!("{what} failed ({}): {last}", out.status))
}
