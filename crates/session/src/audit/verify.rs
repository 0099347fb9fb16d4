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
    computed: [u8; 32],
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
    Ok(Parsed {
        seq,
        prev,
        hash,
        computed: Sha256::digest(body.as_bytes()).into(),
    })
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

/// Checks every entry of a log: each line's hash, its `seq` (one more than
/// the line before) and its `prev` (the hash of the line before). Reading
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
        if p.computed != p.hash {
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
