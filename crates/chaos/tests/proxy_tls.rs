//! TLS through the proxy: terminated from clients (optionally requiring
//! client certificates), originated to the upstream (verified, with a
//! client certificate), toxics acting on the plaintext between.
#![cfg(feature = "proxy")]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ballast_chaos::{ChaosProxy, Error, ProxyConfig, Toxic, ToxicKind};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls")
        .join(name)
}

fn path(name: &str) -> String {
    fixture(name).display().to_string()
}

fn pem(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).expect("fixture")
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn certs(name: &str) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_slice_iter(&pem(name))
        .collect::<Result<_, _>>()
        .expect("certs")
}

fn key(name: &str) -> PrivateKeyDer<'static> {
    PrivateKeyDer::from_pem_slice(&pem(name)).expect("key")
}

fn roots() -> rustls::RootCertStore {
    let mut r = rustls::RootCertStore::empty();
    for c in certs("ca.pem") {
        r.add(c).expect("root");
    }
    r
}

/// A TLS echo server that requires a client certificate from ca.pem.
async fn tls_echo() -> SocketAddr {
    let verifier =
        rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots()), provider())
            .build()
            .expect("verifier");
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs("server.pem"), key("server-key.pem"))
        .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut s) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut buf = [0u8; 4096];
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

/// A TLS client of the proxy, trusting ca.pem, with an optional client cert.
async fn tls_client(
    addr: SocketAddr,
    client_cert: Option<(&str, &str)>,
) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots());
    let config = match client_cert {
        Some((cert, k)) => builder
            .with_client_auth_cert(certs(cert), key(k))
            .expect("client cert"),
        None => builder.with_no_client_auth(),
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::try_from("localhost").expect("name");
    let mut s = connector.connect(name, tcp).await?;
    // TLS 1.3 reports a refused client certificate only on the first read.
    s.write_all(b"hello").await?;
    let mut back = [0u8; 5];
    s.read_exact(&mut back).await?;
    assert_eq!(&back, b"hello");
    Ok(s)
}

fn terminate_and_originate() -> Value {
    json!({
        "cert": path("server.pem"), "key": path("server-key.pem"),
        "upstream": {"ca": path("ca.pem"), "server_name": "localhost",
                     "cert": path("client.pem"), "key": path("client-key.pem")}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_is_terminated_and_originated_with_toxics_on_the_plaintext() {
    let chaos = ChaosProxy::new(1);
    let upstream = tls_echo().await;
    let info = chaos
        .create(
            ProxyConfig::new("tls", upstream.to_string())
                .tls(terminate_and_originate())
                .toxic(Toxic::new(ToxicKind::Latency {
                    latency_ms: 150,
                    jitter_ms: 0,
                })),
        )
        .await
        .expect("a TLS proxy");
    assert_eq!(
        info.to_json()["tls"],
        terminate_and_originate(),
        "shown as given"
    );
    let addr = info.listen_addr().expect("listen");
    let started = Instant::now();
    let mut s = tls_client(addr, None).await.expect("TLS through the proxy");
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "the latency toxic acted on the plaintext"
    );
    s.write_all(b"0123456789").await.expect("write");
    let mut back = [0u8; 10];
    s.read_exact(&mut back).await.expect("read");
    assert_eq!(&back, b"0123456789");
    let conns = chaos.connections("tls").await.expect("listed");
    assert_eq!(conns.len(), 1);
    assert_eq!(
        conns[0].upstream.bytes_received, 15,
        "plaintext bytes are counted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_ca_makes_client_certificates_required_and_checked() {
    let chaos = ChaosProxy::new(2);
    let upstream = tls_echo().await;
    let mut tls = terminate_and_originate();
    tls["client_ca"] = json!(path("ca.pem"));
    let info = chaos
        .create(ProxyConfig::new("mtls", upstream.to_string()).tls(tls))
        .await
        .expect("proxy");
    let addr = info.listen_addr().expect("listen");
    tls_client(addr, Some(("client.pem", "client-key.pem")))
        .await
        .expect("a trusted client certificate is accepted");
    assert!(
        tls_client(addr, None).await.is_err(),
        "no certificate: refused"
    );
    assert!(
        tls_client(addr, Some(("stranger.pem", "stranger-key.pem")))
            .await
            .is_err(),
        "a certificate from an untrusted root: refused"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_that_fails_verification_closes_the_client() {
    let chaos = ChaosProxy::new(3);
    let upstream = tls_echo().await;
    let mut tls = terminate_and_originate();
    // A root that did not sign the upstream's certificate.
    tls["upstream"]["ca"] = json!(path("stranger.pem"));
    let info = chaos
        .create(ProxyConfig::new("distrust", upstream.to_string()).tls(tls))
        .await
        .expect("proxy");
    let addr = info.listen_addr().expect("listen");
    assert!(tls_client(addr, None).await.is_err());
    // The proxy lets the connection go as soon as the handshake fails.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !chaos
        .connections("distrust")
        .await
        .expect("listed")
        .is_empty()
    {
        assert!(
            Instant::now() < deadline,
            "the failed connection is still listed"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tls_settings_are_refused_naming_what_is_wrong() {
    let chaos = ChaosProxy::new(4);
    for (tls, says) in [
        (
            json!({"cert": path("server.pem")}),
            "cert and key go together",
        ),
        (
            json!({"cert": path("nope.pem"), "key": path("server-key.pem")}),
            "cannot read",
        ),
        (
            json!({"cert": path("server-key.pem"), "key": path("server-key.pem")}),
            "no certificate",
        ),
        (json!({"upstream": {}}), "upstream.ca is required"),
        (json!({}), "give cert and key"),
        (json!("yes"), "must be an object"),
    ] {
        let err = chaos
            .create(ProxyConfig::new("bad", "127.0.0.1:9").tls(tls.clone()))
            .await
            .expect_err("refused");
        assert!(
            matches!(err, Error::InvalidAttribute { name: "tls", .. }),
            "{err}"
        );
        assert!(err.to_string().contains(says), "{tls}: {err}");
    }
    assert!(chaos.list().await.is_empty(), "nothing created");
}
