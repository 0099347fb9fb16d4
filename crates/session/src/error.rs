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

ballast_error::catalog! {
    Error => pub(crate) CATALOG {
        Codec(_) => "BLST-SESSION-001", Permanent,
            "the host sent data the codecs reject",
            "The inner codec error (its own BLST-CODEC code is in the message) locates the bad bytes; reconnect, and report the record if it recurs.";
        Protocol(_) => "BLST-SESSION-002", Permanent,
            "the host broke the telnet or TN3270E negotiation rules",
            "Check the host's TN3270 server settings (TN3270E on or off, device types); capture a trace of the negotiation.";
        Limit { .. } => "BLST-SESSION-003", Permanent,
            "the host sent more than a configured limit allows",
            "Raise the limit the message names in `SessionConfig` if the host is trusted; otherwise disconnect it.";
        DeviceTypeRejected { .. } => "BLST-SESSION-004", Permanent,
            "the host rejected the TN3270E device type",
            "Ask for a device type (or LU name) the host's pool has; the reason code is RFC 2355's.";
        Config { .. } => "BLST-SESSION-005", Caller,
            "a session configuration value is invalid",
            "Fix the field the message names.";
        ProtectedField { .. } => "BLST-SESSION-006", Caller,
            "typing at a protected position",
            "Move the cursor to an unprotected field first (Tab, or by label); the screen layout may have changed.";
        NumericField { .. } => "BLST-SESSION-007", Caller,
            "a non-digit typed into a numeric field",
            "Type digits (and the separators the field allows) only.";
        Unencodable(_) => "BLST-SESSION-008", Caller,
            "a character with no code point in the session's EBCDIC code page",
            "Use the code page that has it (037, 1047) or transliterate the input.";
        KeyboardLocked => "BLST-SESSION-009", Transient,
            "the keyboard is locked until the host answers",
            "Wait for the host's reply (the clients' wait functions do), then send again.";
        OutOfScreen { .. } => "BLST-SESSION-010", Caller,
            "a row, column or address outside the screen",
            "Use coordinates within the negotiated screen size (24×80 for model 2).";
        NotConnected => "BLST-SESSION-011", Caller,
            "the session is not connected",
            "Connect (and sign on) before sending; after a disconnect, open a new session.";
        Timeout { .. } => "BLST-SESSION-012", Transient,
            "no answer within the deadline",
            "Retry; if it persists, the host or the network is slow: raise the timeout or check the host.";
        Closed => "BLST-SESSION-013", Transient,
            "the host closed the connection",
            "Reconnect and sign on again (the session manager does this for you).";
        Io(_) => "BLST-SESSION-014", Transient,
            "reading from or writing to the connection failed",
            "Reconnect; the I/O error in the message says why (refused, reset, unreachable).";
        Tls(_) => "BLST-SESSION-015", Permanent,
            "the TLS handshake or certificate check failed",
            "Fix the certificate (expired, wrong name, unknown CA) or the minimum TLS version; never turn verification off in production.";
        Journal { .. } => "BLST-SESSION-016", Permanent,
            "a line of the host simulator's record journal is corrupt",
            "Restore the journal from a copy, or remove the line the message names (records after it are kept).";
        Script(_) => "BLST-SESSION-017", Caller,
            "a screen script or login script is invalid",
            "Fix the step the message names.";
    }
}
