//! The crate's error type.

use std::io;

/// Everything that can go wrong in ballast-chaos.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A toxic's type is not one this crate knows.
    #[error("invalid toxic type: {kind}")]
    InvalidToxicType {
        /// The type name that was given.
        kind: String,
    },
    /// A toxic's stream is neither `upstream` nor `downstream`.
    #[error("stream was invalid, can be either upstream or downstream")]
    InvalidStream,
    /// An attribute is missing its value, has the wrong type or is out of range.
    #[error("invalid attribute {name}: {reason}")]
    InvalidAttribute {
        /// Attribute name, as in the Toxiproxy JSON.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A required field is missing.
    #[error("missing required field: {field}")]
    MissingField {
        /// The field's name.
        field: &'static str,
    },
    /// The request body is not valid JSON of the expected shape.
    #[error("bad request body: {reason}")]
    BadRequestBody {
        /// The parser's message.
        reason: String,
    },
    /// No proxy has this name.
    #[error("proxy not found")]
    ProxyNotFound,
    /// A proxy with this name exists already.
    #[error("proxy already exists")]
    ProxyAlreadyExists,
    /// No toxic of this proxy has this name.
    #[error("toxic not found")]
    ToxicNotFound,
    /// A toxic with this name exists already on this proxy.
    #[error("toxic already exists")]
    ToxicAlreadyExists,
    /// A configured limit was reached.
    #[error("limit exceeded: {what} (limit {limit})")]
    LimitExceeded {
        /// What was counted.
        what: &'static str,
        /// The limit.
        limit: usize,
    },
    /// A listen or upstream address could not be parsed or resolved.
    #[error("invalid address {addr}: {reason}")]
    InvalidAddress {
        /// The address as given.
        addr: String,
        /// Why it is invalid.
        reason: String,
    },
    /// Binding the listen address failed (for instance: already in use).
    #[error("listen {addr}: {source}")]
    Listen {
        /// The address.
        addr: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// Any other I/O failure.
    #[error("i/o: {0}")]
    Io(#[from] io::Error),
}

impl Error {
    /// The HTTP status Toxiproxy answers with for this error.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::ProxyNotFound | Self::ToxicNotFound => 404,
            Self::ProxyAlreadyExists | Self::ToxicAlreadyExists => 409,
            Self::Listen { source, .. } if source.kind() == io::ErrorKind::AddrInUse => 409,
            Self::Io(_) => 500,
            _ => 400,
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
