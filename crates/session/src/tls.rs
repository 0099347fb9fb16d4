//! TLS helpers (feature `tls`): rustls configs from PEM, and handshakes
//! bounded by a deadline.
//!
//! Certificates are always verified (there is no switch to turn that off),
//! and the oldest protocol version a config accepts is explicit:
//! [`MinTlsVersion::Tls12`] by default, [`MinTlsVersion::Tls13`] on request.
//! A certificate the client refuses comes back as [`Error::Tls`] saying why
//! in words: expired, not valid for the name asked, not signed by a trusted
//! root.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::error::{Error, Result};

/// The oldest TLS protocol version a config accepts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MinTlsVersion {
    /// TLS 1.2 and 1.3 (the default).
    #[default]
    Tls12,
    /// TLS 1.3 only.
    Tls13,
}

impl MinTlsVersion {
    /// The rustls versions this minimum allows, newest first.
    fn versions(self) -> &'static [&'static rustls::SupportedProtocolVersion] {
        static FROM_TLS12: [&rustls::SupportedProtocolVersion; 2] =
            [&rustls::version::TLS13, &rustls::version::TLS12];
        static TLS13_ONLY: [&rustls::SupportedProtocolVersion; 1] = [&rustls::version::TLS13];
        match self {
            MinTlsVersion::Tls12 => &FROM_TLS12,
            MinTlsVersion::Tls13 => &TLS13_ONLY,
        }
    }
}

/// A client config trusting the certificates in `roots_pem` (PEM),
/// accepting TLS 1.2 and newer.
pub fn client_config(roots_pem: &[u8]) -> Result<Arc<rustls::ClientConfig>> {
    client_config_with(roots_pem, MinTlsVersion::default())
}

/// A client config trusting the certificates in `roots_pem` (PEM),
/// accepting `min` and newer.
pub fn client_config_with(
    roots_pem: &[u8],
    min: MinTlsVersion,
) -> Result<Arc<rustls::ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(roots_pem) {
        let cert = cert.map_err(|e| Error::Tls(format!("root certificate: {e}")))?;
        roots
            .add(cert)
            .map_err(|e| Error::Tls(format!("root certificate: {e}")))?;
    }
    if roots.is_empty() {
        return Err(Error::Tls("no root certificate in the pem".into()));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(min.versions())
        .map_err(|e| Error::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A server config from a PEM certificate chain and a PEM private key,
/// accepting TLS 1.2 and newer.
pub fn server_config(cert_pem: &[u8], key_pem: &[u8]) -> Result<Arc<rustls::ServerConfig>> {
    server_config_with(cert_pem, key_pem, MinTlsVersion::default())
}

/// A server config from a PEM certificate chain and a PEM private key,
/// accepting `min` and newer.
pub fn server_config_with(
    cert_pem: &[u8],
    key_pem: &[u8],
    min: MinTlsVersion,
) -> Result<Arc<rustls::ServerConfig>> {
    let chain = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::Tls(format!("certificate: {e}")))?;
    let key = PrivateKeyDer::from_pem_slice(key_pem)
        .map_err(|e| Error::Tls(format!("private key: {e}")))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(min.versions())
        .map_err(|e| Error::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| Error::Tls(e.to_string()))?;
    Ok(Arc::new(config))
}

/// Drives a handshake to completion before `deadline`.
pub(crate) fn handshake<C, D>(
    conn: &mut C,
    tcp: &mut std::net::TcpStream,
    deadline: Instant,
) -> Result<()>
where
    C: std::ops::DerefMut<Target = rustls::ConnectionCommon<D>>,
    D: rustls::SideData,
{
    let start = Instant::now();
    while conn.is_handshaking() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Error::Timeout {
                what: "tls handshake".into(),
                elapsed: start.elapsed(),
            });
        }
        tcp.set_read_timeout(Some(left.max(Duration::from_millis(1))))?;
        conn.complete_io(tcp).map_err(|e| match e.kind() {
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => Error::Timeout {
                what: "tls handshake".into(),
                elapsed: start.elapsed(),
            },
            _ => Error::Tls(describe_handshake_error(&e)),
        })?;
    }
    Ok(())
}

/// A failed handshake in words: what was wrong with the peer's
/// certificate, or what else rustls refused.
pub(crate) fn describe_handshake_error(e: &std::io::Error) -> String {
    match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        Some(rustls::Error::InvalidCertificate(c)) => {
            format!(
                "the peer's certificate was refused: {}",
                certificate_problem(c)
            )
        }
        Some(rustls::Error::PeerIncompatible(p)) => {
            format!("tls handshake failed: no protocol version or cipher in common ({p:?})")
        }
        Some(other) => format!("tls handshake failed: {other}"),
        None => format!("tls handshake failed: {e}"),
    }
}

fn certificate_problem(c: &rustls::CertificateError) -> String {
    use rustls::CertificateError as C;
    match c {
        C::Expired | C::ExpiredContext { .. } => format!("it has expired ({c})"),
        C::NotValidYet | C::NotValidYetContext { .. } => format!("it is not valid yet ({c})"),
        C::NotValidForName | C::NotValidForNameContext { .. } => {
            format!("it is not valid for the name asked ({c})")
        }
        C::UnknownIssuer => "it is not signed by a trusted root".to_owned(),
        other => other.to_string(),
    }
}
