//! The error catalog is complete, its codes are stable, and
//! `docs/errors.md` is what the code says.
//!
//! - Every variant has a code (the `catalog!` macro makes a variant without
//!   one a compile error), a summary and recovery guidance.
//! - Codes are unique, `BLST-<AREA>-<NNN>`, and never change: every code in
//!   `crates/ballast/tests/error_codes.lock` must still name the same
//!   variant. `BALLAST_BLESS=1` appends new codes to the lock and rewrites
//!   `docs/errors.md`; it never rewrites a locked code.
#![cfg(all(
    feature = "alloc",
    feature = "codec",
    feature = "session",
    feature = "resilience",
    feature = "chaos"
))]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn bless() -> bool {
    std::env::var_os("BALLAST_BLESS").is_some()
}

const HEADER: &str = "# Error catalog

Every error a ballast crate returns has a stable code, a class and a
recovery step (`ballast::error::Coded`: `code()`, `class()`,
`is_retryable()`, `recovery()`). The classes:

- **transient**: may pass by itself (a timeout, a reset, a full queue, an
  open breaker): retry, later or elsewhere. `Retry::call_retryable` and the
  session manager retry these and only these.
- **permanent**: the peer or the data refuses it: the same request fails
  again; fix the peer, the data or the setup.
- **caller**: the call was wrong (a bad configuration, a protected field):
  fix the call.

Codes never change once released; new ones are added at the end of their
area. This file is generated from the code (`BALLAST_BLESS=1 cargo test -p
ballast --all-features --test error_catalog`) and a test fails when it
differs.
";

#[test]
fn every_entry_is_complete_and_every_code_unique() {
    let mut seen = BTreeSet::new();
    let mut variants = 0;
    for (ty, entries) in ballast::error_catalogs() {
        assert!(!entries.is_empty(), "{ty} has a catalog");
        for e in entries {
            variants += 1;
            let parts: Vec<&str> = e.code.split('-').collect();
            assert!(
                parts.len() == 3
                    && parts[0] == "BLST"
                    && parts[1].chars().all(|c| c.is_ascii_uppercase())
                    && parts[2].len() == 3
                    && parts[2].chars().all(|c| c.is_ascii_digit()),
                "{}: codes look like BLST-AREA-001",
                e.code
            );
            assert!(
                seen.insert(e.code) || e.name == "ConfigError",
                "{} is used twice",
                e.code
            );
            assert!(e.summary.len() > 10, "{}: a summary", e.code);
            assert!(
                e.recovery.len() > 10 && e.recovery.ends_with('.'),
                "{}: recovery guidance, a sentence",
                e.code
            );
        }
    }
    assert!(
        variants >= 80,
        "the catalog covers every error ({variants})"
    );
}

#[test]
fn codes_never_change_once_locked() {
    let lock_path = root().join("crates/ballast/tests/error_codes.lock");
    let lock = std::fs::read_to_string(&lock_path).unwrap_or_default();
    let locked: BTreeMap<&str, &str> = lock
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split_once(' '))
        .collect();
    let mut current = BTreeMap::new();
    for (_, entries) in ballast::error_catalogs() {
        for e in entries {
            current.entry(e.code).or_insert(e.name);
        }
    }
    for (code, name) in &locked {
        assert_eq!(
            current.get(code),
            Some(name),
            "{code} was released as {name}: a code never changes or disappears"
        );
    }
    let new: Vec<String> = current
        .iter()
        .filter(|(c, _)| !locked.contains_key(*c))
        .map(|(c, n)| format!("{c} {n}"))
        .collect();
    if new.is_empty() {
        return;
    }
    assert!(
        bless(),
        "new codes not in error_codes.lock (BALLAST_BLESS=1 adds them):\n{}",
        new.join("\n")
    );
    let mut text = if lock.is_empty() {
        "# code variant: released error codes; lines are only ever added\n".to_string()
    } else {
        lock.clone()
    };
    for line in new {
        text.push_str(&line);
        text.push('\n');
    }
    std::fs::write(lock_path, text).expect("write the lock");
}

#[test]
fn docs_errors_md_is_generated_from_the_catalog() {
    let sections: Vec<(String, &[ballast::error::CatalogEntry])> = ballast::error_catalogs()
        .into_iter()
        .map(|(ty, entries)| (format!("`{ty}`"), entries))
        .collect();
    let refs: Vec<(&str, &[ballast::error::CatalogEntry])> =
        sections.iter().map(|(t, e)| (t.as_str(), *e)).collect();
    let generated = format!("{HEADER}{}", ballast::error::markdown(&refs));
    let path = root().join("docs/errors.md");
    if bless() {
        std::fs::write(&path, &generated).expect("write docs/errors.md");
        return;
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == generated,
        "docs/errors.md is out of date: BALLAST_BLESS=1 cargo test -p ballast --all-features --test error_catalog"
    );
}
