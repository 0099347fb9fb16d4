//! The crate-wide error type.

/// Everything a decoder or encoder in this crate can report.
///
/// Decoders distinguish two situations a streaming caller must tell apart:
/// [`Error::Incomplete`] means "keep the bytes and wait for more", every other
/// variant means the input is malformed or over a limit and the peer should be
/// dropped (or the record skipped). Offsets count from the start of the slice
/// handed to the decoder.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input ends before the item does; `needed` more bytes are the
    /// minimum required to make progress (more may be needed after that).
    #[error("incomplete input: at least {needed} more bytes needed")]
    Incomplete {
        /// Minimum number of additional bytes required.
        needed: usize,
    },
    /// A byte that is not allowed where it appears.
    #[error("invalid byte {byte:#04x} at offset {offset}: {reason}")]
    Invalid {
        /// Offset of the offending byte.
        offset: usize,
        /// The offending byte (0 when the input ended).
        byte: u8,
        /// What was expected, in a few lower-case words.
        reason: &'static str,
    },
    /// A 3270 command code this crate does not know.
    #[error("unknown 3270 command {byte:#04x} at offset {offset}")]
    UnknownCommand {
        /// Offset of the command byte.
        offset: usize,
        /// The command byte.
        byte: u8,
    },
    /// A 3270 order code this crate does not know.
    #[error("unknown 3270 order {byte:#04x} at offset {offset}")]
    UnknownOrder {
        /// Offset of the order byte.
        offset: usize,
        /// The order byte.
        byte: u8,
    },
    /// A 3270 buffer address outside the screen.
    #[error(
        "buffer address {address} at offset {offset} is outside a screen of {buffer_len} cells"
    )]
    AddressOutOfScreen {
        /// Offset of the address' first byte.
        offset: usize,
        /// The decoded address.
        address: u32,
        /// Cells on the screen (rows × columns).
        buffer_len: u32,
    },
    /// Something that must end (a telnet subnegotiation, an LPC string,
    /// array or mapping) does not.
    #[error("unterminated {what} starting at offset {offset}")]
    Unterminated {
        /// Offset where the item starts.
        offset: usize,
        /// What was left open, e.g. "telnet subnegotiation".
        what: &'static str,
    },
    /// A nesting depth limit was exceeded.
    #[error("nesting depth over the limit of {limit} at offset {offset}")]
    DepthExceeded {
        /// Offset of the opening that went too deep.
        offset: usize,
        /// The configured limit.
        limit: usize,
    },
    /// An element-count limit was exceeded.
    #[error("element count over the limit of {limit} at offset {offset}")]
    TooManyElements {
        /// Offset of the first element over the limit.
        offset: usize,
        /// The configured limit.
        limit: usize,
    },
    /// A frame declares (or an encoder was given) a length over the limit.
    #[error("frame length {len} exceeds the limit of {limit}")]
    FrameTooLong {
        /// The declared or requested length, after adjustment.
        len: u64,
        /// The configured limit.
        limit: u64,
    },
    /// A stream buffer would hold more unconsumed bytes than its limit: the
    /// peer sends faster than frames are taken, or sends a frame that never
    /// ends.
    #[error("buffered bytes {len} would exceed the limit of {limit}")]
    BufferFull {
        /// Bytes that would be buffered.
        len: usize,
        /// The configured limit.
        limit: usize,
    },
    /// A frame declares a length that cannot be valid (zero, or smaller than
    /// its own trailer after adjustment).
    #[error("invalid frame length {len} at offset {offset}: {reason}")]
    InvalidLength {
        /// Offset of the length field.
        offset: usize,
        /// The declared length as read, before adjustment.
        len: u64,
        /// Why it is invalid.
        reason: &'static str,
    },
    /// An I3 packet whose LPC value decoded but whose field `index`
    /// (counted from 0, the packet type) is missing or of the wrong kind.
    /// The tape keeps no byte offsets for values, so this names the field.
    #[error("i3 packet field {index}: {reason}")]
    I3Field {
        /// Index of the field in the packet array.
        index: usize,
        /// What was expected, in a few lower-case words.
        reason: &'static str,
    },
    /// A configuration value is out of range.
    #[error("invalid configuration: {field} {reason}")]
    Config {
        /// The field name.
        field: &'static str,
        /// Why it is invalid.
        reason: &'static str,
    },
}

impl Error {
    /// True for [`Error::Incomplete`]: wait for more bytes instead of failing.
    pub fn is_incomplete(&self) -> bool {
        matches!(self, Error::Incomplete { .. })
    }

    /// The input offset the error refers to, when it has one.
    pub fn offset(&self) -> Option<usize> {
        match *self {
            Error::Invalid { offset, .. }
            | Error::UnknownCommand { offset, .. }
            | Error::UnknownOrder { offset, .. }
            | Error::AddressOutOfScreen { offset, .. }
            | Error::Unterminated { offset, .. }
            | Error::DepthExceeded { offset, .. }
            | Error::TooManyElements { offset, .. }
            | Error::InvalidLength { offset, .. } => Some(offset),
            Error::Incomplete { .. }
            | Error::FrameTooLong { .. }
            | Error::BufferFull { .. }
            | Error::I3Field { .. }
            | Error::Config { .. } => None,
        }
    }

    /// Returns the same error with its offset moved forward by `base`, for
    /// errors found in a sub-slice that starts `base` bytes into the input.
    pub fn shifted(self, base: usize) -> Self {
        match self {
            Error::Invalid {
                offset,
                byte,
                reason,
            } => Error::Invalid {
                offset: offset + base,
                byte,
                reason,
            },
            Error::UnknownCommand { offset, byte } => Error::UnknownCommand {
                offset: offset + base,
                byte,
            },
            Error::UnknownOrder { offset, byte } => Error::UnknownOrder {
                offset: offset + base,
                byte,
            },
            Error::AddressOutOfScreen {
                offset,
                address,
                buffer_len,
            } => Error::AddressOutOfScreen {
                offset: offset + base,
                address,
                buffer_len,
            },
            Error::Unterminated { offset, what } => Error::Unterminated {
                offset: offset + base,
                what,
            },
            Error::DepthExceeded { offset, limit } => Error::DepthExceeded {
                offset: offset + base,
                limit,
            },
            Error::TooManyElements { offset, limit } => Error::TooManyElements {
                offset: offset + base,
                limit,
            },
            Error::InvalidLength {
                offset,
                len,
                reason,
            } => Error::InvalidLength {
                offset: offset + base,
                len,
                reason,
            },
            other => other,
        }
    }
}

/// Shorthand for `Result<T, ballast_codec::Error>`.
pub type Result<T, E = Error> = core::result::Result<T, E>;

// Decoders return `Result<Frame, Error>` on every call; keep the error small
// so the hot path moves few bytes.
const _: () = assert!(size_of::<Error>() <= 40, "Error grew past 40 bytes");

ballast_error::catalog! {
    Error => pub(crate) CATALOG {
        Incomplete { .. } => "BLST-CODEC-001", Transient,
            "the input ends before the item does",
            "Keep the bytes and decode again when more arrive (streaming decoders do this for you).";
        Invalid { .. } => "BLST-CODEC-002", Permanent,
            "a byte that is not allowed where it appears",
            "The peer sent malformed data: drop the connection or skip the record; the offset in the message locates it.";
        UnknownCommand { .. } => "BLST-CODEC-003", Permanent,
            "a 3270 command code this crate does not know",
            "The host uses a command outside the 3270 data stream this client speaks; capture the record (the byte is in the message) and report it.";
        UnknownOrder { .. } => "BLST-CODEC-004", Permanent,
            "a 3270 order code this crate does not know",
            "Capture the record and report it; the session cannot apply it.";
        AddressOutOfScreen { .. } => "BLST-CODEC-005", Permanent,
            "a 3270 buffer address outside the screen",
            "Host and terminal disagree on the screen size: check the model (2–5) or the TN3270E device type negotiated.";
        Unterminated { .. } => "BLST-CODEC-006", Permanent,
            "a subnegotiation, string, array or mapping that never ends",
            "The peer sent a truncated or corrupt item; drop the connection.";
        DepthExceeded { .. } => "BLST-CODEC-007", Permanent,
            "nesting deeper than the configured limit",
            "Raise the decoder's depth limit if the peer is trusted; otherwise drop it (deep nesting is a classic attack).";
        TooManyElements { .. } => "BLST-CODEC-008", Permanent,
            "more elements than the configured limit",
            "Raise the element limit if the peer is trusted; otherwise drop it.";
        FrameTooLong { .. } => "BLST-CODEC-009", Permanent,
            "a frame declares (or an encoder was given) a length over the limit",
            "Raise `max_frame_len` if such frames are legitimate; otherwise the peer is misframed or hostile: drop it.";
        BufferFull { .. } => "BLST-CODEC-010", Transient,
            "a stream buffer would hold more unconsumed bytes than its limit",
            "Take frames faster (the consumer is behind) or raise the buffer limit; a frame that never ends means a misframed peer.";
        InvalidLength { .. } => "BLST-CODEC-011", Permanent,
            "a frame length that cannot be valid",
            "Check that both sides use the same length width, endianness and adjustment; drop the peer otherwise.";
        I3Field { .. } => "BLST-CODEC-012", Permanent,
            "an I3 packet field is missing or of the wrong kind",
            "The mud speaks another I3 dialect or sent a corrupt packet; log it and skip the packet.";
        Config { .. } => "BLST-CODEC-013", Caller,
            "a codec configuration value is out of range",
            "Fix the field the message names.";
    }
}
