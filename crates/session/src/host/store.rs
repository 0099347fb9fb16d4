//! [`RecordStore`]: the records the demo application acknowledged, kept
//! in memory and, when [`journaled`](RecordStore::journaled), in a journal
//! written before each acknowledgement so a restarted host loses none.
//!
//! # Journal format
//!
//! One line per record, in insertion order: the record as a JSON object
//! with exactly the keys `txid`, `user`, `name` (strings, JSON-escaped, so
//! any character, a newline or a quote included, stays on its line) and
//! `amount` (an unsigned integer), then `\n`:
//!
//! ```text
//! {"txid":"T0000001","user":"DEMO","name":"ACME \"EAST\"","amount":42}
//! ```
//!
//! A last line without its `\n` is a write torn by a crash: that insert
//! never returned, so [`RecordStore::read_journal`] drops the line. Any
//! other line that is not such an object is an error naming its number.

use std::io::{self, BufRead, Read as _, Write};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A record the demo application stored, keyed by transaction id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredRecord {
    /// Transaction id shown on the confirmation screen (`T0000001`, …).
    pub txid: String,
    /// Signed-on user who entered it.
    pub user: String,
    /// The NAME field.
    pub name: String,
    /// The AMOUNT field.
    pub amount: u64,
}

/// Most records one store keeps: 1 000 000.
pub const MAX_STORED_RECORDS: usize = 1_000_000;

/// Longest journal line, its `\n` included: 64 KiB. An insert whose line
/// would be longer fails with [`Error::Limit`]; a longer line in a journal
/// is an [`Error::Journal`].
pub const MAX_JOURNAL_LINE: usize = 64 << 10;

/// Retries of a write the OS interrupted before an insert gives up.
const MAX_INTERRUPTED_WRITES: u32 = 64;

/// Records stored by the simulator, shared by every session (clones share
/// one store).
#[derive(Debug, Clone, Default)]
pub struct RecordStore {
    inner: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    /// The number of the last transaction id handed out (or lost to a
    /// failed journal write: numbers are never reused).
    last: u64,
    records: Vec<StoredRecord>,
    journal: Option<Journal>,
}

/// The journal sink and its state.
struct Journal {
    sink: Box<dyn Write + Send>,
    /// The line being written, reused.
    line: Vec<u8>,
    /// Set when a write failed after part of a line went out: the journal
    /// may end in a fragment, and a line written after it would turn that
    /// fragment into a corrupt line in the middle, so the store takes no
    /// more records.
    torn: Option<String>,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal")
            .field("torn", &self.torn)
            .finish_non_exhaustive()
    }
}

impl RecordStore {
    /// A store holding `recovered` (read back with
    /// [`RecordStore::read_journal`]) that appends every new record to
    /// `sink`: [`RecordStore::insert`] writes the record's line and calls
    /// `flush` before it returns the transaction id, so an acknowledged
    /// record is in the journal (in the kernel for a `File`; call
    /// `sync_data` in the sink's `flush` for power loss). Transaction ids
    /// continue after the highest recovered one.
    ///
    /// When a write or flush fails, the insert fails and the record is not
    /// kept; whether its line reached the journal is unknown (as for any
    /// write whose answer was lost), so it may reappear after a restart
    /// under its never-acknowledged id, which is not reused. After a write
    /// that failed part-way (a fragment may end the journal) every later
    /// insert fails too, until the host restarts from the journal.
    pub fn journaled(recovered: Vec<StoredRecord>, sink: Box<dyn Write + Send>) -> RecordStore {
        let last = recovered
            .iter()
            .filter_map(|r| txid_number(&r.txid))
            .max()
            .unwrap_or(0);
        RecordStore {
            inner: Arc::new(Mutex::new(State {
                last,
                records: recovered,
                journal: Some(Journal {
                    sink,
                    line: Vec::with_capacity(256),
                    torn: None,
                }),
            })),
        }
    }

    /// Reads a journal written by a [`RecordStore::journaled`] store, in
    /// order. A torn last line (no `\n`) is dropped; a corrupt line, or
    /// one longer than [`MAX_JOURNAL_LINE`], is [`Error::Journal`] with
    /// its line number (from 1); more than [`MAX_STORED_RECORDS`] records
    /// is [`Error::Limit`].
    pub fn read_journal(mut reader: impl BufRead) -> Result<Vec<StoredRecord>> {
        let mut records = Vec::new();
        let mut buf = Vec::with_capacity(256);
        for line in 1u64.. {
            buf.clear();
            let limit = MAX_JOURNAL_LINE as u64 + 1;
            let n = (&mut reader).take(limit).read_until(b'\n', &mut buf)?;
            if n == 0 {
                break;
            }
            if buf.last() != Some(&b'\n') {
                if n < MAX_JOURNAL_LINE + 1 {
                    // End of input inside a line: a torn write.
                    break;
                }
                return Err(journal_error(line, "line longer than MAX_JOURNAL_LINE"));
            }
            if records.len() == MAX_STORED_RECORDS {
                return Err(Error::Limit {
                    what: "journal records",
                    limit: MAX_STORED_RECORDS as u64,
                    value: MAX_STORED_RECORDS as u64 + 1,
                });
            }
            let record: StoredRecord = serde_json::from_slice(&buf)
                .map_err(|e| journal_error(line, &format!("not a record: {e}")))?;
            if txid_number(&record.txid).is_none() {
                return Err(journal_error(line, "txid is not T followed by digits"));
            }
            records.push(record);
        }
        Ok(records)
    }

    /// Stores a record and returns its transaction id. For a journaled
    /// store the record's line is written and flushed first; an I/O error
    /// there is [`Error::Io`] and the record is not kept.
    pub fn insert(&self, user: &str, name: &str, amount: u64) -> Result<String> {
        let mut state = self.lock();
        if state.records.len() >= MAX_STORED_RECORDS {
            return Err(Error::Limit {
                what: "stored records",
                limit: MAX_STORED_RECORDS as u64,
                value: state.records.len() as u64 + 1,
            });
        }
        let record = StoredRecord {
            txid: format!("T{:07}", state.last + 1),
            user: user.to_owned(),
            name: name.to_owned(),
            amount,
        };
        if let Some(journal) = &mut state.journal {
            let written = journal.append(&record);
            if !matches!(written, Err(Error::Limit { .. })) {
                // Written or maybe written: the number is spent.
                state.last += 1;
            }
            written?;
        } else {
            state.last += 1;
        }
        let txid = record.txid.clone();
        state.records.push(record);
        Ok(txid)
    }

    /// The record with `txid`.
    pub fn get(&self, txid: &str) -> Option<StoredRecord> {
        self.lock().records.iter().find(|r| r.txid == txid).cloned()
    }

    /// Every record, in insertion order.
    pub fn all(&self) -> Vec<StoredRecord> {
        self.lock().records.clone()
    }

    /// Fault injection: takes the store's lock and holds it for `hold`
    /// (sleeping on this thread), so every session's insert and query
    /// waits behind it, as behind a stalled disk. Returns when the lock is
    /// released. Not for production use: it exists for chaos tests.
    ///
    /// Applications run on their host's poller thread, so a host whose
    /// session inserts or queries while the lock is held stalls as a whole
    /// (every session of it) until the hold ends.
    pub fn hold_lock(&self, hold: Duration) {
        let _state = self.lock();
        std::thread::sleep(hold);
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves the records consistent
        // (a push is the last step of an insert).
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Journal {
    /// Writes and flushes `record`'s line.
    fn append(&mut self, record: &StoredRecord) -> Result<()> {
        if let Some(why) = &self.torn {
            return Err(Error::Io(io::Error::other(format!(
                "record journal ends in a torn line since an earlier write failed ({why}); \
                 restart from the journal"
            ))));
        }
        self.line.clear();
        serde_json::to_writer(&mut self.line, record).map_err(io::Error::from)?;
        self.line.push(b'\n');
        if self.line.len() > MAX_JOURNAL_LINE {
            return Err(Error::Limit {
                what: "journal line bytes",
                limit: MAX_JOURNAL_LINE as u64,
                value: self.line.len() as u64,
            });
        }
        let mut sent = 0;
        let mut interrupted = 0;
        while sent < self.line.len() {
            match self.sink.write(&self.line[sent..]) {
                Ok(0) => return Err(self.failed(sent, io::ErrorKind::WriteZero.into())),
                Ok(n) => sent += n,
                Err(e)
                    if e.kind() == io::ErrorKind::Interrupted
                        && interrupted < MAX_INTERRUPTED_WRITES =>
                {
                    interrupted += 1;
                }
                Err(e) => return Err(self.failed(sent, e)),
            }
        }
        // The whole line is with the sink: a failed flush leaves no
        // fragment of ours behind, so later inserts may go on.
        self.sink.flush()?;
        Ok(())
    }

    /// Records a failed write; `sent` bytes of the line went out.
    fn failed(&mut self, sent: usize, e: io::Error) -> Error {
        if sent > 0 {
            self.torn = Some(e.to_string());
        }
        Error::Io(e)
    }
}

/// The number in a transaction id `T0000042`.
fn txid_number(txid: &str) -> Option<u64> {
    let digits = txid.strip_prefix('T')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn journal_error(line: u64, reason: &str) -> Error {
    Error::Journal {
        line,
        reason: reason.to_owned(),
    }
}
