//! The audit log of a managed session: what it records, what it never
//! records, and how the verifier finds tampering.

use std::sync::Arc;

use ballast_clock::ManualClock;
use ballast_session::audit::{AuditLog, VerifyError, verify};
use ballast_session::host::RecordStore;
use ballast_session::manager::Target;

use super::{config, enter_record, host, manager_on};

/// A log of one signed-on session entering one record.
fn recorded_session() -> Vec<u8> {
    let store = RecordStore::default();
    let h = host(&store);
    let log = Arc::new(AuditLog::in_memory());
    let clock = Arc::new(ManualClock::new());
    let m = manager_on(config(&[&h]), &clock, Some(Arc::clone(&log)));
    let mut s = m.acquire(Target::Any).expect("a session");
    enter_record(&mut s, "ACME", 42).expect("record stored");
    drop(s);
    m.drain(std::time::Duration::from_secs(1));
    log.snapshot().expect("an in-memory log")
}

fn lines(bytes: &[u8]) -> Vec<String> {
    String::from_utf8(bytes.to_vec())
        .expect("utf-8")
        .lines()
        .map(str::to_owned)
        .collect()
}

fn join(lines: &[String]) -> Vec<u8> {
    let mut s = lines.join("\n");
    s.push('\n');
    s.into_bytes()
}

#[test]
fn audit_log_records_the_session_and_never_the_password() {
    let bytes = recorded_session();
    let text = String::from_utf8(bytes.clone()).expect("utf-8");
    for event in ["connect", "negotiated", "aid_sent", "screen", "disconnect"] {
        assert!(
            text.contains(&format!("\"event\":\"{event}\"")),
            "no {event} entry:\n{text}"
        );
    }
    assert!(
        text.contains("TRANSACTION ID"),
        "screens are recorded as text"
    );
    assert!(
        !text.contains("SECRET"),
        "the password never reaches the audit log"
    );
    // The logon AID names the password field by position only.
    assert!(
        text.contains("\"aid\":\"Enter\",\"modified\":[[4,15],[5,15]]"),
        "{text}"
    );
    let report = verify(&bytes[..]).expect("an untouched log verifies");
    assert_eq!(report.entries as usize, text.lines().count());
}

#[test]
fn verifier_reports_a_modified_line() {
    let mut l = lines(&recorded_session());
    l[3] = l[3].replacen("\"session\":", "\"session\":9", 1);
    let err = verify(&join(&l)[..]).expect_err("tampered");
    assert!(
        matches!(err, VerifyError::Tampered { line: 4, seq: 4 }),
        "{err}"
    );
}

#[test]
fn verifier_reports_a_deleted_line() {
    let mut l = lines(&recorded_session());
    l.remove(2);
    let err = verify(&join(&l)[..]).expect_err("dropped");
    assert!(
        matches!(
            err,
            VerifyError::Dropped {
                line: 3,
                expected: 3,
                found: 4
            }
        ),
        "{err}"
    );
}

#[test]
fn verifier_reports_swapped_lines() {
    let mut l = lines(&recorded_session());
    l.swap(4, 5);
    let err = verify(&join(&l)[..]).expect_err("reordered");
    assert!(
        matches!(
            err,
            VerifyError::Reordered {
                line: 5,
                expected: 5,
                found: 6
            }
        ),
        "{err}"
    );
}

#[test]
fn screen_entries_hash_their_text_and_cut_trailing_blanks() {
    use sha2::{Digest, Sha256};
    let bytes = recorded_session();
    let mut screens = 0;
    for line in lines(&bytes) {
        let entry: serde_json::Value = serde_json::from_str(&line).expect("a JSON entry");
        if entry["event"] != "screen" {
            continue;
        }
        screens += 1;
        let text = entry["text"].as_str().expect("a text field");
        let digest: String = Sha256::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(entry["sha256"], digest.as_str(), "{line}");
        assert_eq!(text.split('\n').count(), 24, "one line per row: {text:?}");
        assert!(text.lines().all(|row| !row.ends_with(' ')), "{text:?}");
    }
    assert!(screens > 2, "{screens} screen entries");
}

#[test]
fn every_entry_of_a_managed_session_names_the_login_user() {
    let bytes = recorded_session();
    let entries: Vec<serde_json::Value> = lines(&bytes)
        .iter()
        .map(|l| serde_json::from_str(l).expect("a JSON entry"))
        .collect();
    assert!(entries.len() > 5);
    for e in &entries {
        assert_eq!(e["user"], "DEMO", "the login script's user id: {e}");
    }
    let text = String::from_utf8(bytes).expect("utf-8");
    assert!(!text.contains("SECRET"));
    verify(text.as_bytes()).expect("entries with a user still chain");
}
