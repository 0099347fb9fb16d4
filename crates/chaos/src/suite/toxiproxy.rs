//! A small blocking client of the Toxiproxy HTTP API, as a [`FaultInjector`]:
//! drives `ballast-proxy` or Shopify's `toxiproxy-server` on any host.

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use serde_json::{Value, json};

use super::{FaultInjector, SuiteError};
use crate::toxic::Toxic;

/// Longest one API request may take.
pub const API_TIMEOUT: Duration = Duration::from_secs(10);

/// A Toxiproxy-API server at a base URL (`http://10.0.0.5:8474`).
///
/// Proxies it creates listen on the URL's host, on a port the server
/// picks (`listen = "HOST:0"`), so clients reach them there.
#[derive(Debug)]
pub struct ToxiproxyApi {
    base: String,
    host: String,
    agent: ureq::Agent,
}

impl ToxiproxyApi {
    /// A client of the API at `url` (`http://host:port`); checks that the
    /// server answers `GET /version`.
    ///
    /// # Errors
    ///
    /// [`SuiteError::Injector`] when the URL is not `http://host:port` or
    /// the server does not answer.
    pub fn connect(url: &str) -> Result<Self, SuiteError> {
        let base = url.trim_end_matches('/').to_owned();
        let err = |reason: String| SuiteError::Injector {
            injector: base.clone(),
            reason,
        };
        let authority = base
            .strip_prefix("http://")
            .ok_or_else(|| err("the proxy API URL must start with http://".into()))?;
        let host = authority
            .rsplit_once(':')
            .map_or(authority, |(h, _)| h)
            .trim_matches(['[', ']'])
            .to_owned();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(API_TIMEOUT))
            .build()
            .into();
        let api = Self {
            base: base.clone(),
            host,
            agent,
        };
        let (status, body) = api.call("GET", "/version", None)?;
        if status != 200 {
            return Err(err(format!("GET /version answered {status}: {body}")));
        }
        Ok(api)
    }

    fn err(&self, reason: impl Into<String>) -> SuiteError {
        SuiteError::Injector {
            injector: self.base.clone(),
            reason: reason.into(),
        }
    }

    fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value), SuiteError> {
        let url = format!("{}{path}", self.base);
        let resp = match (method, body) {
            ("GET", _) => self.agent.get(&url).call(),
            ("DELETE", _) => self.agent.delete(&url).call(),
            (_, Some(b)) => self
                .agent
                .post(&url)
                .header("content-type", "application/json")
                .send(b.to_string()),
            (_, None) => self.agent.post(&url).send_empty(),
        };
        let mut resp = resp.map_err(|e| self.err(format!("{method} {path}: {e}")))?;
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok((status, value))
    }

    /// The proxy's listen address, with an unspecified IP replaced by the
    /// API's host.
    fn listen_addr(&self, listen: &str) -> Result<SocketAddr, SuiteError> {
        let mut addr: SocketAddr = listen
            .parse()
            .map_err(|e| self.err(format!("listen address {listen:?}: {e}")))?;
        if addr.ip().is_unspecified() {
            let host = (self.host.as_str(), addr.port())
                .to_socket_addrs()
                .ok()
                .and_then(|mut a| a.next())
                .ok_or_else(|| self.err(format!("cannot resolve {}", self.host)))?;
            addr.set_ip(host.ip());
        }
        Ok(addr)
    }
}

impl FaultInjector for ToxiproxyApi {
    fn describe(&self) -> String {
        self.base.clone()
    }

    fn front(&self, proxy: &str, upstream: SocketAddr) -> Result<SocketAddr, SuiteError> {
        self.remove(proxy)?;
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let body = json!({"name": proxy, "listen": format!("{host}:0"), "upstream": upstream.to_string(), "enabled": true});
        let (status, v) = self.call("POST", "/proxies", Some(&body))?;
        if status != 201 {
            return Err(self.err(format!("creating proxy {proxy} answered {status}: {v}")));
        }
        let listen = v["listen"]
            .as_str()
            .ok_or_else(|| self.err(format!("no listen address in {v}")))?;
        self.listen_addr(listen)
    }

    fn apply(&self, proxy: &str, toxics: &[Toxic]) -> Result<(), SuiteError> {
        for t in toxics {
            let (status, v) = self.call(
                "POST",
                &format!("/proxies/{proxy}/toxics"),
                Some(&t.to_json()),
            )?;
            if status != 200 {
                return Err(self.err(format!("adding toxic {} answered {status}: {v}", t.name)));
            }
        }
        Ok(())
    }

    fn heal(&self, proxy: &str, toxics: &[Toxic]) -> Result<(), SuiteError> {
        for t in toxics {
            let (status, v) = self.call(
                "DELETE",
                &format!("/proxies/{proxy}/toxics/{}", t.name),
                None,
            )?;
            if status != 204 && status != 404 {
                return Err(self.err(format!("removing toxic {} answered {status}: {v}", t.name)));
            }
        }
        Ok(())
    }

    /// `POST /proxies/{proxy}` with `{"upstream": "..."}`, as Toxiproxy's
    /// clients do.
    fn repoint(&self, proxy: &str, upstream: SocketAddr) -> Result<(), SuiteError> {
        let body = json!({"upstream": upstream.to_string()});
        let (status, v) = self.call("POST", &format!("/proxies/{proxy}"), Some(&body))?;
        if status != 200 {
            return Err(self.err(format!("re-pointing proxy {proxy} answered {status}: {v}")));
        }
        Ok(())
    }

    fn remove(&self, proxy: &str) -> Result<(), SuiteError> {
        let (status, v) = self.call("DELETE", &format!("/proxies/{proxy}"), None)?;
        if status != 204 && status != 404 {
            return Err(self.err(format!("deleting proxy {proxy} answered {status}: {v}")));
        }
        Ok(())
    }
}
