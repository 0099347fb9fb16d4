//! Running commands and finding the workspace.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// What went wrong in an xtask step, said in one line.
pub(crate) type Result<T = ()> = std::result::Result<T, String>;

/// The workspace root (the parent of xtask's manifest directory).
pub(crate) fn root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// Cargo's target directory: `CARGO_TARGET_DIR` when set (relative paths
/// are taken from the workspace root, as cargo does), else `<root>/target`.
pub(crate) fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root().join(dir),
        _ => root().join("target"),
    }
}

/// `cargo` as the caller invoked it (respects `CARGO`).
pub(crate) fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root());
    cmd
}

/// Runs `cmd`, streaming its output, and fails with `what` if it fails.
pub(crate) fn run_step(what: &str, cmd: &mut Command) -> Result {
    eprintln!("xtask: {what}: {cmd:?}");
    let status = cmd
        .status()
        .map_err(|e| format!("{what}: cannot start: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status})"))
    }
}

/// Totals of `cargo test` result lines.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TestCounts {
    pub(crate) passed: u64,
    pub(crate) failed: u64,
    pub(crate) ignored: u64,
}

impl TestCounts {
    /// Adds one `test result: ok. 3 passed; 0 failed; 1 ignored; ...` line.
    pub(crate) fn add_line(&mut self, line: &str) {
        let Some(rest) = line.trim().strip_prefix("test result: ") else {
            return;
        };
        for part in rest.split(';') {
            let mut words = part.split_whitespace().rev();
            let (Some(kind), Some(n)) = (words.next(), words.next()) else {
                continue;
            };
            let Ok(n) = n.parse::<u64>() else { continue };
            match kind {
                "passed" => self.passed += n,
                "failed" => self.failed += n,
                "ignored" => self.ignored += n,
                _ => {}
            }
        }
    }
}

/// Runs a `cargo test` command, echoing its output and counting results.
pub(crate) fn run_tests(what: &str, cmd: &mut Command, counts: &mut TestCounts) -> Result {
    eprintln!("xtask: {what}: {cmd:?}");
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{what}: cannot start: {e}"))?;
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out)
            .lines()
            .map_while(std::result::Result::ok)
        {
            println!("{line}");
            counts.add_line(&line);
        }
    }
    let status = child.wait().map_err(|e| format!("{what}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status})"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_result_lines_are_summed() {
        let mut c = TestCounts::default();
        c.add_line("test result: ok. 33 passed; 0 failed; 2 ignored; 0 measured; 0 filtered out");
        c.add_line("test result: FAILED. 1 passed; 3 failed; 0 ignored; 0 measured");
        c.add_line("running 3 tests");
        assert_eq!(
            c,
            TestCounts {
                passed: 34,
                failed: 3,
                ignored: 2
            }
        );
    }
}
