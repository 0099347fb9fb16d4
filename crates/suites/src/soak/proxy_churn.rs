//! The proxy-churn soak: TN3270 sessions through the embedded
//! `ChaosProxy` on loopback, with toxics added before and removed after
//! every iteration.

use std::net::SocketAddr;
use std::time::Duration;

use ballast_chaos::suite::{EmbeddedProxy, FaultInjector};
use ballast_chaos::{Stream, Toxic, ToxicKind};
use ballast_session::host::{DemoApp, HostConfig, HostSimulator};

use super::workloads::budget;
use super::{Budget, Soak};
use crate::tn3270::{query, sign_on};

/// The proxy's name.
const PROXY: &str = "soak-tn3270";

/// Every iteration adds a 1 ms latency toxic downstream, a bandwidth cap
/// and a slicer upstream, signs a user on through the proxy, asks one
/// query, disconnects and removes the toxics: each connection and each
/// toxic comes and goes, and the proxy must hold nothing afterwards.
pub(super) struct ProxyChurn {
    proxy: EmbeddedProxy,
    front: SocketAddr,
    toxics: Vec<Toxic>,
    host: HostSimulator,
}

impl ProxyChurn {
    pub(super) fn make(quick: bool) -> Result<(Box<dyn Soak>, Budget), String> {
        let host = HostSimulator::start(HostConfig::default(), DemoApp::default())
            .map_err(|e| format!("host simulator: {e}"))?;
        let proxy = EmbeddedProxy::new(15).map_err(|e| format!("chaos proxy runtime: {e}"))?;
        let front = proxy
            .front(PROXY, host.local_addr())
            .map_err(|e| format!("chaos proxy: {e}"))?;
        let toxics = vec![
            Toxic::new(ToxicKind::Latency {
                latency_ms: 1,
                jitter_ms: 0,
            }),
            Toxic::new(ToxicKind::Bandwidth {
                rate_kb_per_sec: 100_000,
            })
            .stream(Stream::Upstream),
            Toxic::new(ToxicKind::Slicer {
                average_size: 64,
                size_variation: 16,
                delay_us: 0,
            })
            .stream(Stream::Upstream),
        ];
        let soak = Self {
            proxy,
            front,
            toxics,
            host,
        };
        Ok((Box::new(soak), budget(quick, 10, 400, 10_000_000)))
    }
}

impl Soak for ProxyChurn {
    fn name(&self) -> &'static str {
        "proxy-churn"
    }

    fn iterate(&mut self) -> Result<u64, String> {
        self.proxy
            .apply(PROXY, &self.toxics)
            .map_err(|e| format!("add toxics: {e}"))?;
        let session = sign_on(self.front).and_then(|mut c| {
            query(&mut c, "T9999999")?;
            c.disconnect().map_err(|e| format!("disconnect: {e}"))
        });
        self.proxy
            .heal(PROXY, &self.toxics)
            .map_err(|e| format!("remove toxics: {e}"))?;
        self.settle();
        session.map(|()| 1 + 2 * self.toxics.len() as u64)
    }
}

impl Drop for ProxyChurn {
    /// Deletes the proxy (its listener and connections) before its
    /// runtime goes.
    fn drop(&mut self) {
        let _ = self.proxy.remove(PROXY);
    }
}

impl ProxyChurn {
    /// Waits (at most 2 s) until the host has seen the proxied session
    /// close, so the proxy's side of it (a read buffer of up to 256 KiB per
    /// direction) is gone too: otherwise the baseline, taken right after
    /// the warm-up, would hold one connection's buffers and hide a leak of
    /// that size.
    fn settle(&self) {
        for _ in 0..2_000 {
            if self.host.active_sessions() == 0 {
                return;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}
