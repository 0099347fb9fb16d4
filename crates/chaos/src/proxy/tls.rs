//! TLS on either side of a proxy, so a TLS service can be faulted without
//! turning TLS off: the proxy terminates the client's TLS (with its own
//! certificate, optionally requiring client certificates), applies toxics
//! to the plaintext, and originates TLS to the upstream (verifying it, and
//! optionally presenting a client certificate).
//!
//! In the API a proxy takes a `tls` object:
//!
//! ```json
//! {"cert": "server.pem", "key": "server-key.pem", "client_ca": "ca.pem",
//!  "upstream": {"ca": "ca.pem", "server_name": "db.internal",
//!               "cert": "client.pem", "key": "client-key.pem"}}
//! ```
//!
//! `cert` + `key` terminate; `client_ca` makes client certificates
//! required and checked against it; `upstream` originates (`ca` is the
//! trust root, required unless `"verify": false`; `server_name` defaults to
//! the upstream's host). Files are PEM, read when the proxy is created; the
//! object is shown back as given (paths only).

use std::net::IpAddr;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde_json::{Map, Value};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::error::{Error, Result};

/// A proxy's TLS: what it terminates and what it originates.
#[derive(Clone)]
pub(crate) struct TlsSettings {
    /// The `tls` object as given.
    pub(crate) json: Value,
    pub(crate) acceptor: Option<tokio_rustls::TlsAcceptor>,
    pub(crate) connector: Option<(tokio_rustls::TlsConnector, ServerName<'static>)>,
}

impl std::fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSettings")
            .field("json", &self.json)
            .field("terminates", &self.acceptor.is_some())
            .field("originates", &self.connector.is_some())
            .finish()
    }
}

impl PartialEq for TlsSettings {
    fn eq(&self, other: &Self) -> bool {
        self.json == other.json
    }
}

fn bad(reason: impl Into<String>) -> Error {
    Error::InvalidAttribute {
        name: "tls",
        reason: reason.into(),
    }
}

fn read(obj: &Map<String, Value>, key: &str) -> Result<Option<Vec<u8>>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(path)) => std::fs::read(path)
            .map(Some)
            .map_err(|e| bad(format!("{key}: cannot read {path:?}: {e}"))),
        Some(_) => Err(bad(format!("{key} must be a file path"))),
    }
}

fn certs(pem: &[u8], key: &str) -> Result<Vec<CertificateDer<'static>>> {
    let chain: Vec<_> = CertificateDer::pem_slice_iter(pem)
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| bad(format!("{key}: {e}")))?;
    if chain.is_empty() {
        return Err(bad(format!("{key}: no certificate in the file")));
    }
    Ok(chain)
}

fn private_key(pem: &[u8]) -> Result<PrivateKeyDer<'static>> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| bad(format!("key: {e}")))
}

fn roots(pem: &[u8], key: &str) -> Result<rustls::RootCertStore> {
    let mut store = rustls::RootCertStore::empty();
    for cert in certs(pem, key)? {
        store.add(cert).map_err(|e| bad(format!("{key}: {e}")))?;
    }
    Ok(store)
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl TlsSettings {
    /// Reads a `tls` object; `upstream` is the proxy's upstream `host:port`
    /// (its host is the default server name).
    pub(crate) fn from_json(v: &Value, upstream: &str) -> Result<Self> {
        let obj = v.as_object().ok_or_else(|| bad("must be an object"))?;
        let acceptor = match (read(obj, "cert")?, read(obj, "key")?) {
            (Some(cert), Some(key)) => Some(acceptor(obj, &cert, &key)?),
            (None, None) => None,
            _ => return Err(bad("cert and key go together")),
        };
        let connector = match obj.get("upstream") {
            None | Some(Value::Null) => None,
            Some(Value::Object(up)) => Some(connector(up, upstream)?),
            Some(_) => return Err(bad("upstream must be an object")),
        };
        if acceptor.is_none() && connector.is_none() {
            return Err(bad(
                "give cert and key (terminate), upstream (originate), or both",
            ));
        }
        Ok(Self {
            json: v.clone(),
            acceptor,
            connector,
        })
    }
}

fn acceptor(
    obj: &Map<String, Value>,
    cert: &[u8],
    key: &[u8],
) -> Result<tokio_rustls::TlsAcceptor> {
    let builder = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(e.to_string()))?;
    let builder = match read(obj, "client_ca")? {
        Some(ca) => {
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots(&ca, "client_ca")?),
                provider(),
            )
            .build()
            .map_err(|e| bad(format!("client_ca: {e}")))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let config = builder
        .with_single_cert(certs(cert, "cert")?, private_key(key)?)
        .map_err(|e| bad(format!("cert/key: {e}")))?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

fn connector(
    up: &Map<String, Value>,
    upstream: &str,
) -> Result<(tokio_rustls::TlsConnector, ServerName<'static>)> {
    let verify = match up.get("verify") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(bad("upstream.verify must be a boolean")),
    };
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(e.to_string()))?;
    let builder = match (read(up, "ca")?, verify) {
        (Some(ca), true) => builder.with_root_certificates(roots(&ca, "upstream.ca")?),
        (None, true) => {
            return Err(bad(
                "upstream.ca is required unless upstream.verify is false",
            ));
        }
        (_, false) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAny(provider()))),
    };
    let config = match (read(up, "cert")?, read(up, "key")?) {
        (Some(cert), Some(key)) => builder
            .with_client_auth_cert(certs(&cert, "upstream.cert")?, private_key(&key)?)
            .map_err(|e| bad(format!("upstream cert/key: {e}")))?,
        (None, None) => builder.with_no_client_auth(),
        _ => return Err(bad("upstream.cert and upstream.key go together")),
    };
    let host = match up.get("server_name") {
        Some(Value::String(s)) => s.clone(),
        None | Some(Value::Null) => upstream
            .rsplit_once(':')
            .map_or(upstream, |(h, _)| h)
            .trim_matches(['[', ']'])
            .to_owned(),
        Some(_) => return Err(bad("upstream.server_name must be a string")),
    };
    let name = match host.parse::<IpAddr>() {
        Ok(ip) => ServerName::IpAddress(ip.into()),
        Err(_) => ServerName::try_from(host.clone())
            .map_err(|_| bad(format!("upstream.server_name {host:?} is not a DNS name")))?,
    };
    Ok((tokio_rustls::TlsConnector::from(Arc::new(config)), name))
}

/// `"verify": false`: any upstream certificate is accepted (signatures are
/// still checked, so the handshake is real).
#[derive(Debug)]
struct AcceptAny(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> std::result::Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// One side of a proxied connection: plain TCP, or TLS over it.
pub(super) enum Side {
    /// The client's TLS, terminated here.
    Server(Box<tokio_rustls::server::TlsStream<TcpStream>>),
    /// TLS to the upstream, originated here.
    Client(Box<tokio_rustls::client::TlsStream<TcpStream>>),
    /// No TLS on this side.
    Plain(TcpStream),
}

impl Side {
    /// The socket under the TLS.
    pub(super) fn tcp(&self) -> &TcpStream {
        match self {
            Self::Server(s) => s.get_ref().0,
            Self::Client(s) => s.get_ref().0,
            Self::Plain(s) => s,
        }
    }
}

macro_rules! each_side {
    ($self:ident, $method:ident($($arg:expr),*)) => {
        match $self.get_mut() {
            Side::Server(s) => std::pin::Pin::new(s.as_mut()).$method($($arg),*),
            Side::Client(s) => std::pin::Pin::new(s.as_mut()).$method($($arg),*),
            Side::Plain(s) => std::pin::Pin::new(s).$method($($arg),*),
        }
    };
}

impl AsyncRead for Side {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        each_side!(self, poll_read(cx, buf))
    }
}

impl AsyncWrite for Side {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        each_side!(self, poll_write(cx, buf))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        each_side!(self, poll_flush(cx))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        each_side!(self, poll_shutdown(cx))
    }
}
