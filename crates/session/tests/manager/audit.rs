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

/// The index of the first `screen` entry showing "TRANSACTION ID".
fn screen_line(l: &[String]) -> usize {
    l.iter()
        .position(|line| line.contains("\"event\":\"screen\"") && line.contains("TRANSACTION ID"))
        .expect("a screen entry showing the word")
}

/// Changes one letter of the first screen entry's text, and nothing
/// else; returns its line number (its `seq`).
fn change_one_letter(l: &mut [String]) -> u64 {
    let i = screen_line(l);
    let text = l[i].find("\"text\":\"").expect("a text field");
    let at = text + l[i][text..].find("TRANSACTION ID").expect("in the text");
    l[i].replace_range(at..=at, "X");
    i as u64 + 1
}

/// The SHA-256 of `text`, in hex.
fn sha256_hex(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The verifier reports the entry on line `n` (its `seq` too) as tampered.
fn assert_tampered_at(l: &[String], n: u64) {
    let err = verify(&join(l)[..]).expect_err("tampered");
    assert!(
        matches!(err, VerifyError::Tampered { line, seq } if line == n && seq == n),
        "{err}"
    );
}

#[test]
fn verifier_reports_one_character_changed_in_a_screen_text() {
    let mut l = lines(&recorded_session());
    // One letter, nothing else: the `sha256` no longer matches the text.
    let n = change_one_letter(&mut l);
    assert_tampered_at(&l, n);
}

#[test]
fn verifier_reports_a_screen_text_rewritten_with_a_matching_sha256() {
    let mut l = lines(&recorded_session());
    let i = screen_line(&l);
    let entry: serde_json::Value = serde_json::from_str(&l[i]).expect("a JSON entry");
    let forged =
        entry["text"]
            .as_str()
            .expect("a text")
            .replacen("TRANSACTION ID", "TRANSACTION XX", 1);
    let old_text = serde_json::to_string(&entry["text"]).expect("a string");
    let old_sha = entry["sha256"].as_str().expect("a sha256");
    // Text and `sha256` agree again; the chain hash covers the `sha256`.
    l[i] = l[i]
        .replacen(
            &old_text,
            &serde_json::to_string(&forged).expect("a string"),
            1,
        )
        .replacen(old_sha, &sha256_hex(&forged), 1);
    let rewritten: serde_json::Value = serde_json::from_str(&l[i]).expect("a JSON entry");
    assert_eq!(rewritten["text"], forged.as_str());
    assert_eq!(rewritten["sha256"], sha256_hex(&forged).as_str());
    assert_tampered_at(&l, i as u64 + 1);
}

/// Rewrites each line's `prev` and `hash` as earlier versions wrote them:
/// the hash of the whole line up to `,"hash":`, a screen's text included.
fn rechain_whole_lines(l: &mut [String]) {
    let mut prev = "0".repeat(64);
    for line in l {
        let entry: serde_json::Value = serde_json::from_str(line).expect("a JSON entry");
        let old_prev = entry["prev"].as_str().expect("a prev").to_owned();
        let at = line.rfind(",\"hash\":\"").expect("a hash");
        let body = line[..at].replacen(
            &format!("\"prev\":\"{old_prev}\""),
            &format!("\"prev\":\"{prev}\""),
            1,
        );
        prev = sha256_hex(&body);
        *line = format!("{body},\"hash\":\"{prev}\"}}");
    }
}

#[test]
fn verifier_accepts_a_log_whose_screen_entries_hash_their_whole_line() {
    let mut l = lines(&recorded_session());
    rechain_whole_lines(&mut l);
    let report = verify(&join(&l)[..]).expect("a log from before the text left the chain hash");
    assert_eq!(report.entries as usize, l.len());
    let n = change_one_letter(&mut l);
    assert_tampered_at(&l, n);
}

#[test]
fn screen_entries_hash_their_text_and_cut_trailing_blanks() {
    let bytes = recorded_session();
    let mut screens = 0;
    for line in lines(&bytes) {
        let entry: serde_json::Value = serde_json::from_str(&line).expect("a JSON entry");
        if entry["event"] != "screen" {
            continue;
        }
        screens += 1;
        let text = entry["text"].as_str().expect("a text field");
        assert_eq!(entry["sha256"], sha256_hex(text).as_str(), "{line}");
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
