//! The TLS material of the TN3270 target: the session crate's test
//! certificates (a valid one and an expired one, each under its own root)
//! and the configs built from them. Test material only: never use it to
//! protect anything.

use std::sync::Arc;

/// The root the valid host certificate chains to.
const CA: &[u8] = include_bytes!("../../../session/tests/fixtures/tls/ca.pem");
/// A certificate for `localhost` / 127.0.0.1, valid for years.
const CERT: &[u8] = include_bytes!("../../../session/tests/fixtures/tls/cert.pem");
const KEY: &[u8] = include_bytes!("../../../session/tests/fixtures/tls/key.pem");
/// The root of the expired certificate.
const EXPIRED_CA: &[u8] = include_bytes!("../../../session/tests/fixtures/tls/expired/ca.pem");
/// A certificate for `localhost` / 127.0.0.1 that expired on 2021-01-01.
const EXPIRED_CERT: &[u8] = include_bytes!("../../../session/tests/fixtures/tls/expired/cert.pem");
const EXPIRED_KEY: &[u8] = include_bytes!("../../../session/tests/fixtures/tls/expired/key.pem");

/// A client config trusting both roots, so the only thing wrong with the
/// expired certificate is its validity period.
pub(super) fn client_config() -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = CA.to_vec();
    roots.extend_from_slice(EXPIRED_CA);
    ballast_session::tls::client_config(&roots).map_err(|e| format!("tls client: {e}"))
}

/// The host's config with the valid certificate, or the expired one.
pub(super) fn server_config(expired: bool) -> Result<Arc<rustls::ServerConfig>, String> {
    let (cert, key) = if expired {
        (EXPIRED_CERT, EXPIRED_KEY)
    } else {
        (CERT, KEY)
    };
    ballast_session::tls::server_config(cert, key).map_err(|e| format!("tls server: {e}"))
}

/// The certificate and key files a child host is started with.
pub(super) fn pem_files(
    dir: &std::path::Path,
) -> std::io::Result<(std::path::PathBuf, std::path::PathBuf)> {
    let cert = dir.join("host-cert.pem");
    let key = dir.join("host-key.pem");
    std::fs::write(&cert, CERT)?;
    std::fs::write(&key, KEY)?;
    Ok((cert, key))
}
