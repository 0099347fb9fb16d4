//! The embedded [`ChaosProxy`] as a [`FaultInjector`].

use std::net::SocketAddr;

use super::{FaultInjector, SuiteError};
use crate::toxic::Toxic;
use crate::{ChaosProxy, ProxyConfig};

/// A [`ChaosProxy`] on its own small tokio runtime, driven from blocking
/// code: the injector a suite uses when no `--proxy-api` is given.
#[derive(Debug)]
pub struct EmbeddedProxy {
    proxy: ChaosProxy,
    runtime: tokio::runtime::Runtime,
}

impl EmbeddedProxy {
    /// A proxy seeded with `seed`, on a two-thread runtime.
    ///
    /// # Errors
    ///
    /// The OS error when the runtime cannot start.
    pub fn new(seed: u64) -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("ballast-chaos-proxy")
            .enable_all()
            .build()?;
        Ok(Self {
            proxy: ChaosProxy::new(seed),
            runtime,
        })
    }

    /// The proxy itself (for inspection).
    pub fn proxy(&self) -> &ChaosProxy {
        &self.proxy
    }

    fn err(e: impl std::fmt::Display) -> SuiteError {
        SuiteError::Injector {
            injector: "embedded".into(),
            reason: e.to_string(),
        }
    }
}

impl FaultInjector for EmbeddedProxy {
    fn describe(&self) -> String {
        "embedded".into()
    }

    fn front(&self, proxy: &str, upstream: SocketAddr) -> Result<SocketAddr, SuiteError> {
        let rt = &self.runtime;
        // A stale proxy of the same name (an earlier run) goes first.
        let _ = rt.block_on(self.proxy.delete(proxy));
        let cfg = ProxyConfig::new(proxy, upstream.to_string()).listen("127.0.0.1:0");
        let info = rt.block_on(self.proxy.create(cfg)).map_err(Self::err)?;
        info.listen_addr()
            .ok_or_else(|| Self::err("the proxy reported no listen address"))
    }

    fn apply(&self, proxy: &str, toxics: &[Toxic]) -> Result<(), SuiteError> {
        for t in toxics {
            self.runtime
                .block_on(self.proxy.add_toxic(proxy, t.clone()))
                .map_err(Self::err)?;
        }
        Ok(())
    }

    fn heal(&self, proxy: &str, toxics: &[Toxic]) -> Result<(), SuiteError> {
        for t in toxics {
            match self
                .runtime
                .block_on(self.proxy.remove_toxic(proxy, &t.name))
            {
                Ok(()) | Err(crate::Error::ToxicNotFound) => {}
                Err(e) => return Err(Self::err(e)),
            }
        }
        Ok(())
    }

    fn repoint(&self, proxy: &str, upstream: SocketAddr) -> Result<(), SuiteError> {
        let update = crate::ProxyUpdate {
            upstream: Some(upstream.to_string()),
            ..crate::ProxyUpdate::default()
        };
        self.runtime
            .block_on(self.proxy.update(proxy, update))
            .map(drop)
            .map_err(Self::err)
    }

    fn remove(&self, proxy: &str) -> Result<(), SuiteError> {
        match self.runtime.block_on(self.proxy.delete(proxy)) {
            Ok(()) | Err(crate::Error::ProxyNotFound) => Ok(()),
            Err(e) => Err(Self::err(e)),
        }
    }
}
