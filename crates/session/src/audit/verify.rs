//! [`verify`]: walks an audit log's hash chain and reports the first
//! entry that was modified, dropped or moved.

use std::io::{self, BufRead};

use sha2::{Digest, Sha256};

use super::GENESIS;
use super::entry::hex;

/// What a clean log holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyReport {
    /// Entries checked (the last `seq`).
    pub entries: u64,
    /// The last entry's hash (compare it with one kept elsewhere to see
    /// entries cut off the end).
    pub head: [u8; 32],
}

/// The first fault [`verify`] found. `line` counts from 1.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The line is not an audit entry (not JSON, fields missing, no hash).
    #[error("line {line}: not an audit entry: {reason}")]
    Malformed {
        /// The line number.
        line: u64,
        /// What is wrong.
        reason: &'static str,
    },
    /// The entry's content does not match its hash: it was modified.
    #[error("line {line}: entry {seq} was modified (its hash does not match)")]
    Tampered {
        /// The line number.
        line: u64,
        /// The entry's `seq`.
        seq: u64,
    },
    /// Entries are missing before this line.
    #[error("line {line}: entries {expected}..{found} are missing")]
    Dropped {
        /// The line number.
        line: u64,
        /// The `seq` that should be here.
        expected: u64,
        /// The `seq` found.
        found: u64,
    },
    /// Entries are out of order: entry `expected` comes later in the file.
    #[error("line {line}: entry {found} is out of order (expected {expected})")]
    Reordered {
        /// The line number.
        line: u64,
        /// The `seq` that should be here.
        expected: u64,
        /// The `seq` found.
        found: u64,
    },
    /// The entry's `prev` is not the previous entry's hash (the entry
    /// before was replaced by a forged one with a valid hash of its own).
    #[error("line {line}: entry {seq} does not chain to the entry before")]
    BrokenChain {
        /// The line number.
        line: u64,
        /// The entry's `seq`.
        seq: u64,
    },
    /// The log could not be read.
    #[error("reading the audit log: {0}")]
    Io(#[from] io::Error),
}

ballast_error::catalog! {
    VerifyError => pub(crate) CATALOG {
        Malformed { .. } => "BLST-AUDIT-001", Permanent,
            "a line of the audit log is not an audit entry",
            "Treat the log as tampered from that line on; compare with a replica or a backup.";
        Tampered { .. } => "BLST-AUDIT-002", Permanent,
            "an entry was modified after it was written",
            "Treat the log as tampered: preserve it as evidence and restore the entry from a replica.";
        Dropped { .. } => "BLST-AUDIT-003", Permanent,
            "entries are missing before this line",
            "Entries were deleted or a write was lost: restore them from a replica, and check the disk and the writer's errors.";
        Reordered { .. } => "BLST-AUDIT-004", Permanent,
            "entries are out of order",
            "The file was edited or two writers interleaved: keep one writer per log.";
        BrokenChain { .. } => "BLST-AUDIT-005", Permanent,
            "an entry does not chain to the one before (a forged entry with its own valid hash)",
            "Treat the log as tampered from the entry before.";
        Io(_) => "BLST-AUDIT-006", Transient,
            "the audit log could not be read",
            "Check the path and permissions; the I/O error in the message says why.";
    }
}

/// One entry's chain fields.
struct Parsed {
    seq: u64,
    prev: String,
    hash: [u8; 32],
    /// True when the line's bytes give its `hash`.
    intact: bool,
}

fn parse(line: &str, n: u64) -> Result<Parsed, VerifyError> {
    let bad = |reason| VerifyError::Malformed { line: n, reason };
    let at = line.rfind(",\"hash\":\"").ok_or(bad("no hash"))?;
    let (body, tail) = line.split_at(at);
    let hash_hex = tail
        .strip_prefix(",\"hash\":\"")
        .and_then(|t| t.strip_suffix("\"}"))
        .ok_or(bad("hash is not the last field"))?;
    let hash = unhex(hash_hex).ok_or(bad("hash is not 64 hex digits"))?;
    let value: serde_json::Value =
        serde_json::from_str(&format!("{body}}}")).map_err(|_| bad("not a JSON object"))?;
    let seq = value["seq"].as_u64().ok_or(bad("no seq"))?;
    let prev = value["prev"].as_str().ok_or(bad("no prev"))?.to_owned();
    // A screen entry written before the chain hash left its text out
    // (the whole line hashed) verifies too: a log keeps working across
    // the upgrade, and no edit passes either rule.
    let intact = chain_hash(body, &value) == Some(hash)
        || (value.get("text").is_some()
            && <[u8; 32]>::from(Sha256::digest(body.as_bytes())) == hash);
    Ok(Parsed {
        seq,
        prev,
        hash,
        intact,
    })
}

/// The chain hash of an entry whose line up to `,"hash":` is `body` and
/// whose fields are `entry`: the SHA-256 of `body` without the bytes of
/// its `text` value (between the quotes). `None` when the entry has a
/// `text` that is not the one its `sha256` names, or that is not written
/// as the log writes it (`serde_json`'s escaping, right after the first
/// `"text":` key): the hash leaves those bytes out, so they must be
/// exactly the text the `sha256` field binds.
fn chain_hash(body: &str, entry: &serde_json::Value) -> Option<[u8; 32]> {
    const KEY: &str = "\"text\":";
    let Some(text) = entry.get("text") else {
        return Some(Sha256::digest(body.as_bytes()).into());
    };
    let text = text.as_str()?;
    let mut digest = Vec::with_capacity(64);
    hex(&mut digest, &Sha256::digest(text.as_bytes()).into());
    if entry["sha256"].as_str()?.as_bytes() != digest {
        return None;
    }
    // A JSON string holds no unescaped quote, so `"text":` in a line the
    // log wrote is its `text` key; the `hash` check catches any other.
    let start = body.find(KEY)? + KEY.len();
    let written = serde_json::to_string(text).ok()?;
    if !body[start..].starts_with(&written) {
        return None;
    }
    let (before, after) = (start + 1, start + written.len() - 1);
    let mut hasher = Sha256::new();
    hasher.update(&body.as_bytes()[..before]);
    hasher.update(&body.as_bytes()[after..]);
    Some(hasher.finalize().into())
}

fn unhex(s: &str) -> Option<[u8; 32]> {
    let b = s.as_bytes();
    if b.len() != 64 {
        return None;
    }
    let digit = |c: u8| {
        char::from(c)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = (digit(b[2 * i])? << 4) | digit(b[2 * i + 1])?;
    }
    Some(out)
}

/// Checks every entry of a log: each line's hash (and a screen entry's
/// text against its `sha256`), its `seq` (one more than the line before)
/// and its `prev` (the hash of the line before). Reading
/// stops at the first fault. Memory stays bounded by one line.
///
/// A swapped pair shows as [`VerifyError::Reordered`], a deleted line as
/// [`VerifyError::Dropped`], an edited line as [`VerifyError::Tampered`].
/// Lines cut off the end leave a valid shorter chain: compare
/// [`VerifyReport::head`] with a head kept elsewhere.
pub fn verify(reader: impl BufRead) -> Result<VerifyReport, VerifyError> {
    let mut lines = reader.lines();
    let mut expected = 1u64;
    let mut head = GENESIS;
    let mut n = 0u64;
    while let Some(line) = lines.next() {
        let line = line?;
        n += 1;
        let p = parse(&line, n)?;
        if !p.intact {
            return Err(VerifyError::Tampered {
                line: n,
                seq: p.seq,
            });
        }
        if p.seq != expected {
            return Err(misplaced(&mut lines, n, expected, p.seq));
        }
        let mut prev_hex = Vec::with_capacity(64);
        hex(&mut prev_hex, &head);
        if p.prev.as_bytes() != prev_hex {
            return Err(VerifyError::BrokenChain {
                line: n,
                seq: p.seq,
            });
        }
        head = p.hash;
        expected += 1;
    }
    Ok(VerifyReport {
        entries: expected - 1,
        head,
    })
}

/// Tells a moved entry from a dropped one: reordered when entry
/// `expected` appears later in the log (`found` is then out of place).
fn misplaced(
    rest: &mut impl Iterator<Item = io::Result<String>>,
    line: u64,
    expected: u64,
    found: u64,
) -> VerifyError {
    let later = rest.map_while(Result::ok).any(|l| {
        serde_json::from_str::<serde_json::Value>(&l)
            .ok()
            .and_then(|v| v["seq"].as_u64())
            == Some(expected)
    });
    if later || found < expected {
        VerifyError::Reordered {
            line,
            expected,
            found,
        }
    } else {
        VerifyError::Dropped {
            line,
            expected,
            found,
        }
    }
}

#[cfg(test)]
mod tests {
    use ballast_codec::tn3270::{
        CodePage, Command, FieldAttribute, Outbound, OutboundParser, RecordBuilder, ScreenSize, Wcc,
    };

    use super::{VerifyError, verify};
    use crate::audit::{AuditEvent, AuditLog};
    use crate::screen::Screen;

    /// A log of one screen entry showing quotes, a backslash and Latin-1
    /// letters (each written escaped or as two UTF-8 bytes).
    fn log_of_a_screen_to_escape() -> String {
        let record = RecordBuilder::new(
            Command::EraseWrite,
            Wcc::from_flags(Wcc::KEYBOARD_RESTORE),
            ScreenSize::MODEL_2,
        )
        .start_field(FieldAttribute::new().protect())
        .text_str("say \"hi\" \\ café ¢ ¬ PLAIN")
        .finish()
        .expect("a record");
        let Ok(Outbound::Write {
            command,
            wcc,
            orders,
        }) = OutboundParser::default().parse(&record)
        else {
            panic!("a write")
        };
        let size = ScreenSize::MODEL_2;
        let mut screen = Screen::new(size, size, CodePage::Cp037);
        crate::apply::apply_write(&mut screen, command, wcc, orders).expect("applied");
        let log = AuditLog::in_memory();
        let event = AuditEvent::ScreenReceived { screen: &screen };
        log.record(1, "mvs1", &event).expect("append");
        log.record(1, "mvs1", &event).expect("append");
        String::from_utf8(log.into_inner().expect("in memory")).expect("utf-8")
    }

    #[test]
    fn screen_text_written_escaped_verifies() {
        let log = log_of_a_screen_to_escape();
        assert!(log.contains(r#"say \"hi\" \\ café"#), "{log}");
        assert_eq!(verify(log.as_bytes()).expect("verifies").entries, 2);
    }

    #[test]
    fn screen_text_escaped_another_way_is_tampered() {
        // The same text, one letter written as a `\u` escape: the bytes
        // the chain hash leaves out must be the log's own escaping.
        let log = log_of_a_screen_to_escape().replacen("PLAIN", r"\u0050LAIN", 1);
        let err = verify(log.as_bytes()).expect_err("tampered");
        assert!(
            matches!(err, VerifyError::Tampered { line: 1, seq: 1 }),
            "{err}"
        );
    }
}
