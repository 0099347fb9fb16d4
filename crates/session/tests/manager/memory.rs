//! The manager over a custom `Connector`: in-memory hosts, no socket.

use std::sync::Arc;

use ballast_session::host::{DemoApp, HostConfig, InMemoryHost, RecordStore};
use ballast_session::manager::{Connector, EndpointConfig, SessionManager, Target};

use super::{config, enter_record, host};

/// Connects `mem*` endpoints to an in-memory demo host sharing `store`;
/// every other address refuses.
struct MemoryConnector {
    store: RecordStore,
}

impl Connector for MemoryConnector {
    type Stream = InMemoryHost;

    fn connect(
        &self,
        endpoint: &EndpointConfig,
        _deadline: std::time::Instant,
    ) -> ballast_session::Result<InMemoryHost> {
        if !endpoint.address.starts_with("mem") {
            return Err(std::io::Error::from(std::io::ErrorKind::ConnectionRefused).into());
        }
        InMemoryHost::with_store(
            &HostConfig::default(),
            Arc::new(DemoApp::default()),
            self.store.clone(),
        )
    }
}

#[test]
fn a_custom_connector_serves_sessions_and_a_refusing_endpoint_is_skipped() {
    let store = RecordStore::default();
    let unused = host(&RecordStore::default());
    let mut cfg = config(&[&unused, &unused]);
    cfg.endpoints[0].address = "mem-a".into();
    cfg.endpoints[1].address = "refuses".into();
    let m = SessionManager::with_connector(
        cfg,
        MemoryConnector {
            store: store.clone(),
        },
    )
    .expect("valid config");
    let mut acked = Vec::new();
    for k in 0..6u64 {
        let name = format!("MEM{k}");
        let txid = m
            .run(Target::Any, |s| enter_record(s, &name, k))
            .expect("the work lands on the in-memory endpoint");
        acked.push((txid, k));
    }
    for (txid, k) in &acked {
        assert_eq!(store.get(txid).map(|r| r.amount), Some(*k));
    }
    let stats = m.stats();
    assert!(
        stats.endpoints[1].connect_failures >= 1,
        "{:?}",
        stats.endpoints[1]
    );
    assert_eq!(stats.endpoints[1].open, 0);
    assert!(stats.endpoints[0].connects >= 1);
}
