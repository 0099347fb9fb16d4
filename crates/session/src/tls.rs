//! TLS helpers (feature `tls`): rustls configs from PEM, and handshakes
//! bounded by a deadline.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::error::{Error, Result};

/// A client config trusting the certificates in `roots_pem` (PEM).
pub fn client_config(roots_pem: &[u8]) -> Result<Arc<rustls::ClientConfig>> {
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
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A server config from a PEM certificate chain and a PEM private key.
pub fn server_config(cert_pem: &[u8], key_pem: &[u8]) -> Result<Arc<rustls::ServerConfig>> {
    let chain = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::Tls(format!("certificate: {e}")))?;
    let key = PrivateKeyDer::from_pem_slice(key_pem)
        .map_err(|e| Error::Tls(format!("private key: {e}")))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
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
            _ => Error::Tls(e.to_string()),
        })?;
    }
    Ok(())
}
