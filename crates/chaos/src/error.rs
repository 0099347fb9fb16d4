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
    /// The proxy has no live connection with this id.
    #[error("connection not found")]
    ConnectionNotFound,
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
            Self::ProxyNotFound | Self::ToxicNotFound | Self::ConnectionNotFound => 404,
            Self::ProxyAlreadyExists | Self::ToxicAlreadyExists => 409,
            // Toxiproxy answers a failed bind (a port in use included) with
            // 500: net.Listen's error carries no API status.
            Self::Listen { .. } | Self::Io(_) => 500,
            _ => 400,
        }
    }

    /// The `error` text Toxiproxy's API answers with for this error.
    ///
    /// Where Toxiproxy has a fixed message (`invalid toxic type`) it is that
    /// message; a failed bind reads as Go's `net.Listen` error (`listen tcp
    /// 127.0.0.1:8474: bind: address already in use`); everything else is
    /// this error's `Display`.
    pub fn toxiproxy_message(&self) -> String {
        match self {
            Self::InvalidToxicType { .. } => "invalid toxic type".to_owned(),
            Self::Listen { addr, source } => {
                format!("listen tcp {addr}: bind: {}", os_message(source))
            }
            other => other.to_string(),
        }
    }
}

/// An OS error as Go prints it: strerror in lower case, no `(os error N)`.
fn os_message(e: &io::Error) -> String {
    let text = e.to_string();
    let text = text.split(" (os error").next().unwrap_or(&text);
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

ballast_error::catalog! {
    Error => pub(crate) CATALOG {
        InvalidToxicType { .. } => "BLST-CHAOS-001", Caller,
            "no toxic has that type",
            "Use a type from docs/chaos.md#toxics (Toxiproxy's names plus ballast's extensions).";
        InvalidStream => "BLST-CHAOS-002", Caller,
            "a toxic's stream is neither upstream nor downstream",
            "Set `stream` to `upstream` or `downstream` (the default).";
        InvalidAttribute { .. } => "BLST-CHAOS-003", Caller,
            "a toxic attribute has a bad value",
            "Fix the attribute the message names (units are Toxiproxy's: ms, KB/s, bytes).";
        MissingField { .. } => "BLST-CHAOS-004", Caller,
            "a required field is missing from the request",
            "Add the field the message names.";
        BadRequestBody { .. } => "BLST-CHAOS-005", Caller,
            "the request body is not the JSON the API expects",
            "Send the body Toxiproxy's API documents for that endpoint.";
        ProxyNotFound => "BLST-CHAOS-006", Caller,
            "no proxy has that name",
            "List proxies with GET /proxies; create it first, or check the name.";
        ProxyAlreadyExists => "BLST-CHAOS-007", Caller,
            "a proxy with that name exists",
            "Use another name, delete the old proxy, or use POST /populate, which keeps identical proxies.";
        ToxicNotFound => "BLST-CHAOS-008", Caller,
            "the proxy has no toxic of that name",
            "List the proxy's toxics with GET /proxies/{name}/toxics.";
        ToxicAlreadyExists => "BLST-CHAOS-009", Caller,
            "the proxy has a toxic of that name",
            "Name the toxic differently, or update the existing one with POST /proxies/{name}/toxics/{toxic}.";
        LimitExceeded { .. } => "BLST-CHAOS-010", Transient,
            "a proxy, toxic or connection limit was reached",
            "Remove what is no longer needed (or wait for connections to close), or raise the limit the message names.";
        InvalidAddress { .. } => "BLST-CHAOS-011", Caller,
            "a listen or upstream address does not parse or resolve",
            "Use host:port (loopback or a name that resolves).";
        Listen { .. } => "BLST-CHAOS-012", Transient,
            "the proxy cannot listen on its address",
            "Another process holds the port (the message says); pick another port or stop it.";
        ConnectionNotFound => "BLST-CHAOS-014", Caller,
            "the proxy has no live connection with that id",
            "List live connections with GET /proxies/{name}/connections; the connection may have ended.";
        Io(_) => "BLST-CHAOS-013", Transient,
            "an I/O error in the proxy",
            "The I/O error in the message says why; retry, and check the host's limits (open files) if it recurs.";
    }
}
