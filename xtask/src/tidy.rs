//! Tidy checks, run as ordinary tests (`cargo test -p xtask`), after
//! rust-analyzer's `xtask/src/tidy.rs`.

use std::path::{Path, PathBuf};

use crate::util::root;

/// Longest a source file may grow before it should be split.
const MAX_FILE_LINES: usize = 1_000;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut all = Vec::new();
    crate::map::walk(dir, &mut all);
    out.extend(
        all.into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "rs")),
    );
}

fn library_sources() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["crates", "xtask/src", "benches"] {
        rust_files(&root().join(dir), &mut files);
    }
    files
}

fn is_test_file(path: &Path) -> bool {
    path.components().any(|c| c.as_os_str() == "tests")
}

fn crate_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root().join("crates"))
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs
}

#[test]
fn no_stubs_or_debug_macros_in_library_code() {
    // Spelled in pieces so this file does not match itself.
    let banned = [
        concat!("todo", "!("),
        concat!("unimplemented", "!("),
        concat!("dbg", "!("),
    ];
    let mut hits = Vec::new();
    for file in library_sources().into_iter().filter(|f| !is_test_file(f)) {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        for (n, line) in text.lines().enumerate() {
            if banned.iter().any(|b| line.contains(b)) {
                hits.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        hits.is_empty(),
        "stubs or debug macros in library code:\n{}",
        hits.join("\n")
    );
}

#[test]
fn every_crate_has_crate_docs_and_denies_missing_docs() {
    for dir in crate_dirs() {
        let lib = dir.join("src/lib.rs");
        let text = std::fs::read_to_string(&lib)
            .unwrap_or_else(|e| panic!("{} has no lib.rs: {e}", dir.display()));
        assert!(
            text.starts_with("//!"),
            "{} must open with //! crate docs",
            lib.display()
        );
        assert!(
            text.contains("#![deny(missing_docs)]"),
            "{} must #![deny(missing_docs)]",
            lib.display()
        );
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap_or_default();
        assert!(
            manifest.contains("[lints]") && manifest.contains("workspace = true"),
            "{} must inherit the workspace lints",
            dir.display()
        );
    }
}

#[test]
fn readme_opens_with_the_main_job_and_the_test_command() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md exists");
    let head: String = readme.lines().take(30).collect::<Vec<_>>().join("\n");
    assert!(
        head.contains("cargo xtask chaos"),
        "README must open with the main job"
    );
    assert!(
        head.contains("cargo xtask ci"),
        "README must open with the test command"
    );
    let ci = std::fs::read_to_string(root().join(".ci/run")).expect(".ci/run exists");
    assert!(
        ci.contains("cargo xtask ci"),
        ".ci/run must run the README's test command"
    );
}

#[test]
fn ci_script_is_executable_and_strict() {
    use std::os::unix::fs::PermissionsExt;
    let path = root().join(".ci/run");
    let mode = std::fs::metadata(&path)
        .expect(".ci/run exists")
        .permissions()
        .mode();
    assert!(mode & 0o111 != 0, ".ci/run must be executable");
    let text = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        text.contains("set -euo pipefail"),
        ".ci/run must fail on the first error"
    );
}

#[test]
fn source_files_stay_within_the_length_budget() {
    let long: Vec<String> = library_sources()
        .into_iter()
        .filter_map(|f| {
            let n = std::fs::read_to_string(&f).ok()?.lines().count();
            (n > MAX_FILE_LINES).then(|| format!("{}: {n} lines", f.display()))
        })
        .collect();
    assert!(
        long.is_empty(),
        "files over {MAX_FILE_LINES} lines:\n{}",
        long.join("\n")
    );
}

#[test]
fn taskfile_forwards_to_xtask() {
    let text = std::fs::read_to_string(root().join("Taskfile.yml")).expect("Taskfile.yml exists");
    for task in [
        "test:",
        "test:stability:",
        "regress:",
        "chaos:",
        "bench:",
        "fuzz:",
    ] {
        assert!(text.contains(task), "Taskfile.yml lacks task {task}");
    }
}
