//! A tamper-evident audit log of session events: JSON lines, each
//! carrying the SHA-256 of the previous one (a hash chain), and
//! [`verify`], which reports the first tampered, dropped or reordered
//! entry.
//!
//! ```
//! use ballast_session::audit::{AuditEvent, AuditLog, verify};
//!
//! let log = AuditLog::in_memory();
//! log.record(7, "mvs1", &AuditEvent::Connect { address: "10.0.0.1:23", lu: None })?;
//! log.record(7, "mvs1", &AuditEvent::Disconnect { reason: "closed by manager" })?;
//! let bytes = log.into_inner().expect("a Vec<u8> sink");
//! let report = verify(&bytes[..])?;
//! assert_eq!(report.entries, 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Entry format
//!
//! One JSON object per line, keys in this order:
//! `{"seq":1,"ts_ms":…,"session":7,"endpoint":"mvs1","user":"OPS1","event":"connect",`
//! *event fields*`,"prev":"<64 hex>","hash":"<64 hex>"}`. `user` (the
//! user id the session signed on as, never a password) is present when
//! known: the session manager writes its login script's user id on every
//! entry of the session, so the log can be queried by user. `seq` counts
//! from 1; `prev` is the `hash` of the entry before (64 zeros for the
//! first); `hash` is the SHA-256 of the line's bytes up to (not including)
//! `,"hash":`, leaving out the bytes of a screen's `text` value (the
//! escaped text between its quotes, as if the entry read `"text":""`):
//! the entry's `sha256`, which the hash covers, binds the text, so the
//! text is hashed once. [`verify`] checks both: a `text` that does not
//! match its `sha256` is a tampered entry, as is any other edited byte
//! (the text's bytes must be this log's escaping of it). Screen entries
//! of logs written before this rule, whose `hash` covers the whole line,
//! verify too. Events and their fields:
//!
//! | `event` | fields |
//! |---|---|
//! | `connect` | `address`, `lu` |
//! | `negotiated` | `tn3270e`, `lu` |
//! | `aid_sent` | `aid`, `modified` (row/column of each modified field, never its content) |
//! | `screen` | `sha256` (of `text`), `text` (the screen with non-display fields blank and each row's trailing spaces cut) |
//! | `error` | `kind`, `message` (connection errors only) |
//! | `disconnect` | `reason` |
//!
//! Non-display field contents never reach an entry: screens are recorded
//! with the text [`Screen::text`](crate::Screen::text) shows, which blanks
//! them, and an AID entry names fields by position. The screen hash covers
//! only that redacted text: a hash of hidden content would let anyone holding the
//! log test password guesses offline.
//!
//! A screen's `text` is [`Screen::text`](crate::Screen::text) with each
//! row's trailing spaces cut (rows still joined by `\n`, so row numbers
//! hold): nothing visible is lost, and a typical screen, mostly blank,
//! takes a quarter of the bytes to store and to hash.
//!
//! # Cost
//!
//! An append takes one lock and builds the line in a reused buffer: a
//! screen's cells are decoded and escaped straight into it (no
//! intermediate `String`), its `sha256` is computed on the way, and the
//! chain hash covers the rest of the line (a few hundred bytes), so each
//! byte of the text goes through SHA-256 once. Bench: `cargo bench -p
//! ballast-benches --bench session_manager -- audit` (figures in
//! `docs/performance.md`).

mod entry;
pub(crate) mod verify;

use std::io::{self, Write};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use ballast_codec::tn3270::Aid;
use sha2::{Digest, Sha256};

use entry::{decimal, hex, json_str, write_event};

use crate::screen::Screen;

pub use verify::{VerifyError, VerifyReport, verify};

/// The `prev` of the first entry: 32 zero bytes.
pub const GENESIS: [u8; 32] = [0; 32];

/// One session event to record.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum AuditEvent<'a> {
    /// A connection was opened.
    Connect {
        /// The endpoint's address.
        address: &'a str,
        /// The LU asked for, if any.
        lu: Option<&'a str>,
    },
    /// Negotiation finished.
    Negotiated {
        /// True in TN3270E mode.
        tn3270e: bool,
        /// The LU the host assigned (TN3270E).
        lu: Option<&'a str>,
    },
    /// An AID key was sent with these modified fields (row, column of
    /// their first cell).
    AidSent {
        /// The key.
        aid: Aid,
        /// Positions of the modified fields.
        modified: &'a [(u16, u16)],
    },
    /// A screen arrived (recorded with non-display fields blank).
    ScreenReceived {
        /// The screen.
        screen: &'a Screen,
    },
    /// A command or connection failed.
    Error {
        /// Error kind (see `manager::ERROR_KINDS`).
        kind: &'a str,
        /// The message, for connection errors only (operator errors may
        /// quote typed characters).
        message: Option<&'a str>,
    },
    /// The session was closed.
    Disconnect {
        /// Why.
        reason: &'a str,
    },
}

enum Sink {
    Memory(Vec<u8>),
    Writer(Box<dyn Write + Send>),
}

struct Chain {
    sink: Sink,
    seq: u64,
    prev: [u8; 32],
    /// The entry being built, reused so an append allocates nothing once
    /// it has grown to the largest entry.
    line: Vec<u8>,
    /// A screen's raw (unescaped) text, gathered to be hashed whole;
    /// reused like `line`.
    text: Vec<u8>,
}

/// An append-only, hash-chained audit log; share it with an `Arc`.
///
/// Each [`AuditLog::record`] writes one whole line with one `write_all`
/// to the sink: give it a `File` opened for append (as
/// [`AuditLog::create`] does) for an entry that is in the kernel when
/// `record` returns, or a `BufWriter` for speed (then call
/// [`AuditLog::flush`]); [`AuditLog::in_memory`] keeps the lines in memory.
pub struct AuditLog {
    chain: Mutex<Chain>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let seq = self.chain.lock().map(|c| c.seq).unwrap_or_default();
        f.debug_struct("AuditLog").field("entries", &seq).finish()
    }
}

impl AuditLog {
    /// A log writing to `sink`, starting a new chain.
    pub fn new<W: Write + Send + 'static>(sink: W) -> Self {
        Self::resume(Sink::Writer(Box::new(sink)), 0, GENESIS)
    }

    /// A log kept in memory (read it with [`AuditLog::snapshot`] or
    /// [`AuditLog::into_inner`]), starting a new chain.
    pub fn in_memory() -> Self {
        Self::resume(Sink::Memory(Vec::new()), 0, GENESIS)
    }

    fn resume(sink: Sink, seq: u64, prev: [u8; 32]) -> Self {
        Self {
            chain: Mutex::new(Chain {
                sink,
                seq,
                prev,
                line: Vec::with_capacity(512),
                text: Vec::new(),
            }),
        }
    }

    /// Opens `path` for append, continuing the chain of the entries it
    /// holds (which are verified first), or starts one.
    pub fn create(path: impl AsRef<std::path::Path>) -> Result<Self, VerifyError> {
        let path = path.as_ref();
        let (seq, prev) = match std::fs::File::open(path) {
            Ok(f) => {
                let r = verify(io::BufReader::new(f))?;
                (r.entries, r.head)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => (0, GENESIS),
            Err(e) => return Err(e.into()),
        };
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(Self::resume(Sink::Writer(Box::new(file)), seq, prev))
    }

    /// Appends one entry for `session` on `endpoint`; returns its `seq`.
    pub fn record(&self, session: u64, endpoint: &str, event: &AuditEvent<'_>) -> io::Result<u64> {
        self.record_user(session, endpoint, None, event)
    }

    /// [`AuditLog::record`] naming the `user` the session signed on as
    /// (the session manager passes its login script's
    /// [`user`](crate::manager::LoginScript::user)); `None` writes no
    /// `user` key.
    pub fn record_user(
        &self,
        session: u64,
        endpoint: &str,
        user: Option<&str>,
        event: &AuditEvent<'_>,
    ) -> io::Result<u64> {
        let ts_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let mut guard = self
            .chain
            .lock()
            .map_err(|_| io::Error::other("audit log poisoned by a panic"))?;
        let c = &mut *guard;
        let seq = c.seq + 1;
        let line = &mut c.line;
        line.clear();
        line.extend_from_slice(b"{\"seq\":");
        decimal(line, seq);
        line.extend_from_slice(b",\"ts_ms\":");
        decimal(line, ts_ms);
        line.extend_from_slice(b",\"session\":");
        decimal(line, session);
        line.extend_from_slice(b",\"endpoint\":");
        json_str(line, endpoint);
        if let Some(user) = user {
            line.extend_from_slice(b",\"user\":");
            json_str(line, user);
        }
        let text = write_event(line, &mut c.text, event).unwrap_or(line.len()..line.len());
        line.extend_from_slice(b",\"prev\":\"");
        hex(line, &c.prev);
        line.push(b'"');
        // The chain hash: the entry's bytes so far but a screen's text,
        // which its `sha256` (hashed here) already binds.
        let mut hasher = Sha256::new();
        hasher.update(&line[..text.start]);
        hasher.update(&line[text.end..]);
        let hash: [u8; 32] = hasher.finalize().into();
        line.extend_from_slice(b",\"hash\":\"");
        hex(line, &hash);
        line.extend_from_slice(b"\"}\n");
        match &mut c.sink {
            Sink::Memory(m) => m.extend_from_slice(line),
            Sink::Writer(w) => w.write_all(line)?,
        }
        c.seq = seq;
        c.prev = hash;
        Ok(seq)
    }

    /// Entries written so far (this chain's last `seq`).
    pub fn entries(&self) -> u64 {
        self.chain.lock().map(|c| c.seq).unwrap_or_default()
    }

    /// The last entry's hash (the chain's head): keep it somewhere else
    /// too, so that cutting entries off the end shows.
    pub fn head(&self) -> [u8; 32] {
        self.chain.lock().map(|c| c.prev).unwrap_or(GENESIS)
    }

    /// Flushes the sink.
    pub fn flush(&self) -> io::Result<()> {
        match self.chain.lock() {
            Ok(mut c) => match &mut c.sink {
                Sink::Memory(_) => Ok(()),
                Sink::Writer(w) => w.flush(),
            },
            Err(_) => Err(io::Error::other("audit log poisoned by a panic")),
        }
    }

    /// The bytes written, for an [`AuditLog::in_memory`] log.
    pub fn into_inner(self) -> Option<Vec<u8>> {
        match self.chain.into_inner().ok()?.sink {
            Sink::Memory(m) => Some(m),
            Sink::Writer(_) => None,
        }
    }

    /// A copy of the bytes written so far, for an [`AuditLog::in_memory`] log.
    pub fn snapshot(&self) -> Option<Vec<u8>> {
        match &self.chain.lock().ok()?.sink {
            Sink::Memory(m) => Some(m.clone()),
            Sink::Writer(_) => None,
        }
    }
}
