//! Managed sessions over TLS: the endpoint's certificate is verified.

use ballast_session::host::{DemoApp, HostConfig, HostSimulator, RecordStore};
use ballast_session::manager::{EndpointTls, ManagerError, SessionManager, Target};
use ballast_session::tls;

use super::{config, host};

const CA: &[u8] = include_bytes!("../fixtures/tls/ca.pem");
const CERT: &[u8] = include_bytes!("../fixtures/tls/cert.pem");
const KEY: &[u8] = include_bytes!("../fixtures/tls/key.pem");

fn tls_host() -> HostSimulator {
    let config = HostConfig {
        tls: Some(tls::server_config(CERT, KEY).expect("server config")),
        ..HostConfig::default()
    };
    HostSimulator::start(config, DemoApp::default()).expect("tls host")
}

fn manager_for(h: &HostSimulator, server_name: &str) -> SessionManager {
    let store = RecordStore::default();
    let plain = host(&store);
    let mut cfg = config(&[&plain]);
    cfg.endpoints[0].address = h.local_addr().to_string();
    cfg.endpoints[0].tls = Some(EndpointTls {
        server_name: server_name.into(),
        config: tls::client_config(CA).expect("client config"),
    });
    SessionManager::new(cfg).expect("valid config")
}

#[test]
fn managed_sessions_sign_on_over_tls() {
    let h = tls_host();
    let m = manager_for(&h, "localhost");
    let s = m.acquire(Target::Any).expect("a TLS session");
    assert!(s.screen().contains("MAIN MENU"));
}

#[test]
fn a_certificate_for_another_name_fails_the_open_with_a_tls_error() {
    let h = tls_host();
    let m = manager_for(&h, "mainframe.example");
    let err = m.acquire(Target::Any).expect_err("name mismatch");
    assert!(
        matches!(
            &err,
            ManagerError::Connect {
                source: ballast_session::Error::Tls(_),
                ..
            }
        ),
        "{err}"
    );
}
