//! Tidy checks that hold `docs/ARCHITECTURE.md` true by machine: every
//! file it names exists, every long library source file is named, the
//! dependency picture is the one `cargo tree` reports, crates without
//! `unsafe` forbid it, and client-only builds pull no server crates.
//!
//! Run as ordinary tests (`cargo test -p xtask`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::root;

/// A library source file longer than this must be named in the map.
const NAMED_FILE_LINES: usize = 300;

/// The workspace's ballast packages by the short name the map uses.
const CRATES: [(&str, &str); 8] = [
    ("ballast", "ballast"),
    ("alloc", "ballast-alloc"),
    ("clock", "ballast-clock"),
    ("codec", "ballast-codec"),
    ("session", "ballast-session"),
    ("resilience", "ballast-resilience"),
    ("chaos", "ballast-chaos"),
    ("suites", "ballast-suites"),
];

/// Crates that servers need and a client-only build must not compile.
const SERVER_CRATES: [&str; 6] = ["mio", "socket2", "toml", "axum", "hyper", "clap"];

fn architecture() -> String {
    std::fs::read_to_string(root().join("docs/ARCHITECTURE.md")).expect("docs/ARCHITECTURE.md")
}

/// The map's sections (`### `…) that describe one folder, keyed by that
/// folder relative to the root: `crates/alloc`, `benches`, `xtask`.
fn sections(doc: &str) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut current: Option<PathBuf> = None;
    for line in doc.lines() {
        if let Some(title) = line.strip_prefix("### ") {
            current = backticked(title)
                .into_iter()
                .next()
                .map(|t| PathBuf::from(t.trim_end_matches('/')));
            continue;
        }
        if line.starts_with("## ") {
            current = None;
        }
        if let Some(dir) = &current {
            let text: &mut String = out.entry(dir.clone()).or_default();
            text.push_str(line);
            text.push('\n');
        }
    }
    out
}

/// The map's text that belongs to no folder's section: the overview, the
/// layout, the dependency rule and its invariants.
fn text_outside_sections(doc: &str) -> String {
    let mut out = String::new();
    let mut in_section = false;
    for line in doc.lines() {
        if line.starts_with("### ") {
            in_section = true;
        } else if line.starts_with("## ") {
            in_section = false;
        }
        if !in_section {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// Every `code span` in `text`.
fn backticked(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

/// Code spans that look like a source file or folder path: `ring.rs`,
/// `host/`, `src/bin/scenarios/`, `examples/chaos/`, `Cargo.toml`. (Files a
/// program writes, such as a report's `summary.csv`, are not checked.)
fn named_paths(section: &str) -> Vec<&str> {
    backticked(section)
        .into_iter()
        .filter(|t| !t.is_empty() && !t.contains(' ') && !t.contains("::"))
        .filter(|t| t.ends_with('/') || [".rs", ".toml"].iter().any(|ext| t.ends_with(ext)))
        .filter(|t| {
            t.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-./{},".contains(c))
        })
        .collect()
}

/// `{a,b}.rs` style spans expanded to `a.rs`, `b.rs`.
fn expand_braces(token: &str) -> Vec<String> {
    let (Some(open), Some(close)) = (token.find('{'), token.find('}')) else {
        return vec![token.to_owned()];
    };
    let (head, tail) = (&token[..open], &token[close + 1..]);
    token[open + 1..close]
        .split(',')
        .map(|part| format!("{head}{part}{tail}"))
        .collect()
}

/// Every file and folder below `dir` (not `target/`, not hidden ones).
pub(crate) fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if name == "target" || name.to_string_lossy().starts_with('.') {
            continue;
        }
        out.push(path.clone());
        if path.is_dir() {
            walk(&path, out);
        }
    }
}

/// Whether some file or folder under `base` has a path ending in `token`,
/// or `token` is a path from the root (`crates/alloc/tests/…`, `fuzz/`).
fn names_something(base: &Path, all: &[PathBuf], token: &str) -> bool {
    let want = token.trim_end_matches('/');
    if want.contains('/') || token.ends_with('/') {
        let from_root = root().join(want);
        if from_root.exists() && (!token.ends_with('/') || from_root.is_dir()) {
            return true;
        }
    }
    all.iter().any(|p| {
        let rel = p.strip_prefix(base).unwrap_or(p);
        (rel.ends_with(want)) && (!token.ends_with('/') || p.is_dir())
    })
}

#[test]
fn every_path_the_map_names_exists() {
    let doc = architecture();
    let mut missing = Vec::new();
    for (dir, text) in sections(&doc) {
        let base = root().join(&dir);
        assert!(
            base.is_dir(),
            "the map has a section for missing {}",
            dir.display()
        );
        let mut all = Vec::new();
        walk(&base, &mut all);
        for token in named_paths(&text).into_iter().flat_map(expand_braces) {
            if !names_something(&base, &all, &token) {
                missing.push(format!("{}: `{token}`", dir.display()));
            }
        }
    }
    // Outside the crate sections, a path is named from the root.
    let outside = text_outside_sections(&doc);
    for token in named_paths(&outside).into_iter().flat_map(expand_braces) {
        let path = root().join(token.trim_end_matches('/'));
        if !path.exists() || (token.ends_with('/') && !path.is_dir()) {
            missing.push(format!("(from the root): `{token}`"));
        }
    }
    assert!(
        missing.is_empty(),
        "docs/ARCHITECTURE.md names files that do not exist:\n{}",
        missing.join("\n")
    );
}

/// Library sources: `src/` and `examples/` of each crate, `benches/src`,
/// `xtask/src`; unit-test modules (`tests.rs`, `*_tests.rs`) excluded.
fn library_sources(base: &Path) -> Vec<PathBuf> {
    let mut all = Vec::new();
    for sub in ["src", "examples"] {
        walk(&base.join(sub), &mut all);
    }
    all.retain(|p| {
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
        let name = name.unwrap_or_default();
        name.ends_with(".rs") && name != "tests.rs" && !name.ends_with("_tests.rs")
    });
    all
}

#[test]
fn every_long_library_file_is_named_in_the_map() {
    let doc = architecture();
    let sections = sections(&doc);
    let mut unnamed = Vec::new();
    for (dir, text) in &sections {
        let base = root().join(dir);
        let tokens: Vec<String> = named_paths(text)
            .into_iter()
            .flat_map(expand_braces)
            .collect();
        for file in library_sources(&base) {
            let lines = std::fs::read_to_string(&file).map_or(0, |t| t.lines().count());
            let rel = file.strip_prefix(&base).unwrap_or(&file);
            // A bare `mod.rs` would name every module root: a folder's
            // `mod.rs` is named by the folder (`host/`).
            let named = tokens.iter().filter(|t| *t != "mod.rs").any(|t| {
                let t = t.trim_end_matches('/');
                rel.ends_with(t)
                    || rel.ends_with(format!("{t}/mod.rs"))
                    || (t.contains('/') && rel.starts_with(t))
            });
            if lines > NAMED_FILE_LINES && !named {
                unnamed.push(format!(
                    "{}/{} ({lines} lines)",
                    dir.display(),
                    rel.display()
                ));
            }
        }
    }
    let crates = root().join("crates");
    for entry in std::fs::read_dir(&crates).expect("crates/").flatten() {
        let rel = Path::new("crates").join(entry.file_name());
        if !sections.contains_key(&rel) {
            unnamed.push(format!("{} has no section", rel.display()));
        }
    }
    assert!(
        unnamed.is_empty(),
        "docs/ARCHITECTURE.md does not name these (over {NAMED_FILE_LINES} lines):\n{}",
        unnamed.join("\n")
    );
}

/// The map's dependency picture: `short ──► a, b (comment)` lines in the
/// code block under `## Dependency rule`.
fn drawn_dependencies(doc: &str) -> BTreeMap<String, BTreeSet<String>> {
    let block = doc
        .split("## Dependency rule")
        .nth(1)
        .and_then(|rest| rest.split("```").nth(1))
        .expect("a ```-block under ## Dependency rule");
    let known: BTreeSet<&str> = CRATES.iter().map(|(short, _)| *short).collect();
    let mut out = BTreeMap::new();
    for line in block.lines() {
        let Some((lhs, rhs)) = line.split_once("──►") else {
            continue;
        };
        let name = lhs.split_whitespace().next().unwrap_or_default();
        let rhs = strip_parentheses(rhs);
        let deps = rhs
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|w| known.contains(w))
            .map(str::to_owned)
            .collect();
        out.insert(name.to_owned(), deps);
    }
    out
}

fn strip_parentheses(text: &str) -> String {
    let mut depth = 0usize;
    text.chars()
        .filter(|&c| {
            match c {
                '(' => depth += 1,
                ')' => depth = depth.saturating_sub(1),
                _ => return depth == 0,
            }
            false
        })
        .collect()
}

/// `cargo tree` lines for `package`'s normal dependencies.
fn cargo_tree(package: &str, extra: &[&str]) -> String {
    let out = Command::new(env!("CARGO"))
        .current_dir(root())
        .args([
            "tree",
            "--offline",
            "-e",
            "normal",
            "--prefix",
            "none",
            "-p",
            package,
        ])
        .args(extra)
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree -p {package} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The ballast crates `package` depends on (normal, every feature on).
fn actual_dependencies(package: &str) -> BTreeSet<String> {
    let tree = cargo_tree(package, &["--all-features", "--depth", "1"]);
    tree.lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .filter_map(|dep| CRATES.iter().find(|(_, pkg)| *pkg == dep))
        .map(|(short, _)| (*short).to_owned())
        .collect()
}

#[test]
fn dependency_picture_matches_cargo() {
    let drawn = drawn_dependencies(&architecture());
    let mut wrong = Vec::new();
    for (short, package) in CRATES {
        if !root().join("crates").join(short).is_dir() {
            continue;
        }
        let actual = actual_dependencies(package);
        match drawn.get(short) {
            Some(d) if *d == actual => {}
            Some(d) => wrong.push(format!("{short}: drawn {d:?}, cargo says {actual:?}")),
            None => wrong.push(format!("{short}: not drawn, cargo says {actual:?}")),
        }
    }
    assert!(
        wrong.is_empty(),
        "docs/ARCHITECTURE.md's dependency picture is wrong:\n{}",
        wrong.join("\n")
    );
}

/// Whether a line of Rust (comments stripped) uses `unsafe` as a keyword.
fn uses_unsafe(line: &str) -> bool {
    let code = line.split("//").next().unwrap_or_default();
    code.match_indices("unsafe").any(|(i, _)| {
        let after = code[i + "unsafe".len()..].chars().next();
        let before = code[..i].chars().next_back();
        matches!(after, Some(' ' | '{'))
            && !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '"')
    })
}

#[test]
fn crates_without_unsafe_forbid_it() {
    let mut wrong = Vec::new();
    for entry in std::fs::read_dir(root().join("crates"))
        .expect("crates/")
        .flatten()
    {
        let mut files = Vec::new();
        walk(&entry.path().join("src"), &mut files);
        let has_unsafe = files
            .iter()
            .filter(|f| f.extension().is_some_and(|e| e == "rs"))
            .any(|f| std::fs::read_to_string(f).is_ok_and(|t| t.lines().any(uses_unsafe)));
        let lib = std::fs::read_to_string(entry.path().join("src/lib.rs")).unwrap_or_default();
        if !has_unsafe && !lib.contains("#![forbid(unsafe_code)]") {
            wrong.push(entry.path().display().to_string());
        }
    }
    assert!(
        wrong.is_empty(),
        "crates with no unsafe must #![forbid(unsafe_code)]:\n{}",
        wrong.join("\n")
    );
}

/// The packages in a `cargo tree` listing.
fn packages(tree: &str) -> BTreeSet<String> {
    tree.lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn client_only_builds_pull_no_server_crates() {
    // With `tokio`, tokio's own reactor is mio (and socket2): only the
    // crate's direct dependencies are checked there.
    for (package, args) in [
        ("ballast-session", &[][..]),
        (
            "ballast-session",
            &["--features", "tokio,tls", "--depth", "1"][..],
        ),
        ("ballast", &[][..]),
    ] {
        let tree = packages(&cargo_tree(package, args));
        let servers: Vec<&str> = SERVER_CRATES
            .iter()
            .copied()
            .filter(|s| tree.contains(*s))
            .collect();
        assert!(
            servers.is_empty(),
            "`cargo tree -p {package} {args:?}` pulls server crates {servers:?}"
        );
    }
}

#[test]
fn named_paths_are_found_in_code_spans() {
    let text = "- `ring.rs`: `RingBuffer`; `host/` and `{a,b}.rs`, not `a b.rs`";
    let found: Vec<String> = named_paths(text)
        .into_iter()
        .flat_map(expand_braces)
        .collect();
    assert_eq!(found, ["ring.rs", "host/", "a.rs", "b.rs"]);
    assert!(uses_unsafe("    unsafe { x }"));
    assert!(uses_unsafe("unsafe fn f() {}"));
    assert!(!uses_unsafe("#![forbid(unsafe_code)]"));
    assert!(!uses_unsafe("// unsafe { }"));
    assert_eq!(strip_parentheses("a, b (c, d) e"), "a, b  e");
}
