//! `ballast-suite soak` run as a process: a soak that breaches exits 1 and
//! the output names the soak and the figure, both for a leak during the
//! run and for one left behind once the soak is dropped. The leaking soak
//! is selectable only with the hidden `--selftest-leak` flag.

use std::process::Command;

fn soak_selftest(kind: &str) -> (Option<i32>, String) {
    let dir = std::env::temp_dir().join(format!(
        "ballast-soak-selftest-{kind}-{}",
        std::process::id()
    ));
    let out = Command::new(env!("CARGO_BIN_EXE_ballast-suite"))
        .args(["soak", "--selftest-leak", kind, "--out"])
        .arg(&dir)
        .output()
        .expect("the ballast-suite binary runs");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let json = std::fs::read_to_string(dir.join("soak.json")).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(json.contains("\"selftest-leak\""), "no JSON report: {text}");
    (out.status.code(), text)
}

#[test]
fn a_leak_during_the_run_exits_1_naming_the_soak_and_the_figure() {
    let (code, out) = soak_selftest("run");
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("selftest-leak: live heap grew"), "{out}");
    assert!(
        !out.contains("selftest-leak: live heap after drop"),
        "{out}"
    );
}

#[test]
fn a_leak_left_after_the_drop_exits_1_naming_each_figure() {
    let (code, out) = soak_selftest("drop");
    assert_eq!(code, Some(1), "{out}");
    for figure in [
        "selftest-leak: live heap after drop",
        "selftest-leak: file descriptors after drop",
        "selftest-leak: threads after drop",
    ] {
        assert!(out.contains(figure), "{figure} missing: {out}");
    }
    assert!(!out.contains("live heap grew"), "{out}");
}
