//! The crate-wide error type.

use std::time::Duration;

/// Everything a session, client or host simulator can report.
///
/// Protocol variants ([`Error::Codec`], [`Error::Protocol`], [`Error::Limit`])
/// close the session: the peer sent something a terminal cannot act on.
/// Input variants ([`Error::ProtectedField`], [`Error::NumericField`],
/// [`Error::KeyboardLocked`]) leave the session as it was.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The peer sent bytes the codec rejects (garbage, truncated records,
    /// out-of-range addresses, unknown orders).
    #[error("protocol error from peer: {0}")]
    Codec(#[from] ballast_codec::Error),
    /// The peer broke the TN3270/TN3270E protocol in a way the codec cannot see.
    #[error("protocol error from peer: {0}")]
    Protocol(&'static str),
    /// A named limit was exceeded.
    #[error("{what} over the limit of {limit} (got {value})")]
    Limit {
        /// Which limit, e.g. "buffered input bytes".
        what: &'static str,
        /// The configured limit.
        limit: u64,
        /// The value that exceeded it.
        value: u64,
    },
    /// The host refused our TN3270E device type or LU.
    #[error("host rejected the tn3270e device type (reason code {reason})")]
    DeviceTypeRejected {
        /// RFC 2355 reason code.
        reason: u8,
    },
    /// A configuration value is invalid.
    #[error("invalid config: {field} {reason}")]
    Config {
        /// The field at fault.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Typing into a protected field or a field attribute cell.
    #[error("cursor at row {row} column {col} is in a protected field")]
    ProtectedField {
        /// Cursor row (0-based).
        row: u16,
        /// Cursor column (0-based).
        col: u16,
    },
    /// A non-numeric character typed into a numeric field.
    #[error("character {ch:?} is not allowed in the numeric field at row {row} column {col}")]
    NumericField {
        /// The rejected character.
        ch: char,
        /// Cursor row.
        row: u16,
        /// Cursor column.
        col: u16,
    },
    /// A character the code page cannot hold.
    #[error("character {0:?} has no ebcdic code point in the session's code page")]
    Unencodable(char),
    /// The keyboard is locked (the host has not answered the last key yet).
    #[error("keyboard is locked until the host restores it")]
    KeyboardLocked,
    /// A row, column or field index outside the screen.
    #[error("{what} {value} is outside the screen")]
    OutOfScreen {
        /// "row", "column" or "field".
        what: &'static str,
        /// The value asked for.
        value: usize,
    },
    /// The session is not connected (negotiation unfinished or closed).
    #[error("session is not connected")]
    NotConnected,
    /// A deadline passed.
    #[error("timed out after {elapsed:?} waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long was waited.
        elapsed: Duration,
    },
    /// The peer closed the connection.
    #[error("connection closed by peer")]
    Closed,
    /// An I/O error on the socket.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// TLS setup or handshake failed.
    #[error("tls: {0}")]
    Tls(String),
    /// A record journal line is corrupt (see
    /// `host::RecordStore::read_journal`).
    #[error("record journal line {line}: {reason}")]
    Journal {
        /// The line number, from 1.
        line: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// A screen script could not be loaded.
    #[error("invalid screen script: {0}")]
    Script(String),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
