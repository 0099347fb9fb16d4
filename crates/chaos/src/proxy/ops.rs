//! The operations of [`ChaosProxy`], one per Toxiproxy API route.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::watch;

use super::{
    ChaosProxy, DEFAULT_LISTEN, Entry, ListenCtx, ProxyConfig, ProxyInfo, ProxyState, accept_loop,
    bind,
};
use crate::engine::ToxicEntry;
use crate::error::{Error, Result};
use crate::toxic::Toxic;

/// What [`ChaosProxy::populate_each`] did.
#[derive(Debug)]
pub struct Populated {
    /// The proxies created, kept or replaced, in input order.
    pub proxies: Vec<ProxyInfo>,
    /// The 0-based index of the proxy that failed, and why; the proxies
    /// after it were not applied.
    pub failed: Option<(usize, Error)>,
}

impl Populated {
    fn failed(proxies: Vec<ProxyInfo>, index: usize, e: Error) -> Self {
        Self {
            proxies,
            failed: Some((index, e)),
        }
    }
}

/// Partial update of a proxy (Toxiproxy `POST`/`PATCH /proxies/{name}`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProxyUpdate {
    /// New listen address.
    pub listen: Option<String>,
    /// New upstream.
    pub upstream: Option<String>,
    /// Enable or disable.
    pub enabled: Option<bool>,
}

impl ProxyUpdate {
    /// Parses `{"listen"?, "upstream"?, "enabled"?}`.
    pub fn from_json_value(v: &Value) -> Result<Self> {
        let obj = v.as_object().ok_or(Error::BadRequestBody {
            reason: "proxy must be a json object".into(),
        })?;
        let bad = |k: &str, t: &str| Error::BadRequestBody {
            reason: format!("{k} must be a {t}"),
        };
        let string = |k: &'static str| match obj.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(bad(k, "string")),
        };
        let enabled = match obj.get("enabled") {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => return Err(bad("enabled", "boolean")),
        };
        Ok(Self {
            listen: string("listen")?,
            upstream: string("upstream")?,
            enabled,
        })
    }
}

impl ChaosProxy {
    fn entries(&self, toxics: &[Toxic]) -> Result<Vec<ToxicEntry>> {
        let mut out: Vec<ToxicEntry> = Vec::with_capacity(toxics.len());
        for t in toxics {
            t.validate()?;
            if out.iter().any(|e| e.toxic.name == t.name) {
                return Err(Error::ToxicAlreadyExists);
            }
            out.push(ToxicEntry {
                id: self.next_id(),
                toxic: Arc::new(t.clone()),
            });
        }
        if out.len() > self.shared.limits.max_toxics {
            return Err(Error::LimitExceeded {
                what: "toxics per proxy",
                limit: self.shared.limits.max_toxics,
            });
        }
        Ok(out)
    }

    /// Binds and starts accepting; the resolved address becomes `listen`.
    async fn start(&self, e: &mut Entry) -> Result<()> {
        let listener = bind(&e.listen).await?;
        e.listen = listener.local_addr()?.to_string();
        let ctx = ListenCtx {
            name: Arc::clone(&e.name),
            listen: Arc::from(e.listen.as_str()),
            upstream: Arc::from(e.upstream.as_str()),
            bytes: Arc::clone(&self.shared.bytes),
            seed: self.shared.seed,
            epoch: e.epoch,
            state: Arc::clone(&e.state),
            ordinal: Arc::clone(&e.ordinal),
            conns: Arc::clone(&e.conns),
            tls: e.tls.clone(),
            limits: self.shared.limits.clone(),
        };
        e.listener = Some(tokio::spawn(accept_loop(listener, Arc::new(ctx))));
        for t in &e.toxics {
            self.schedule_removal(&e.name, t);
        }
        Ok(())
    }

    fn schedule_removal(&self, proxy: &str, t: &ToxicEntry) {
        let Some(ms) = t.toxic.condition.remove_after_ms else {
            return;
        };
        let (weak, proxy, name, id) = (self.weak(), proxy.to_owned(), t.toxic.name.clone(), t.id);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            let Some(shared) = weak.upgrade() else { return };
            let mut map = shared.proxies.lock().await;
            if let Some(e) = map.get_mut(&proxy) {
                e.toxics.retain(|t| !(t.id == id && t.toxic.name == name));
                e.publish();
            }
        });
    }

    /// Creates a proxy (Toxiproxy `POST /proxies`).
    pub async fn create(&self, cfg: ProxyConfig) -> Result<ProxyInfo> {
        let toxics = self.entries(&cfg.toxics)?;
        let tls = cfg
            .tls
            .as_ref()
            .map(|t| super::tls::TlsSettings::from_json(t, &cfg.upstream))
            .transpose()?;
        let mut map = self.shared.proxies.lock().await;
        if map.contains_key(&cfg.name) {
            return Err(Error::ProxyAlreadyExists);
        }
        if map.len() >= self.shared.limits.max_proxies {
            return Err(Error::LimitExceeded {
                what: "proxies",
                limit: self.shared.limits.max_proxies,
            });
        }
        let state = ProxyState {
            toxics: Arc::from(toxics.clone()),
            epoch: 0,
        };
        let mut e = Entry {
            name: Arc::from(cfg.name.as_str()),
            listen: cfg.listen.unwrap_or_else(|| DEFAULT_LISTEN.to_owned()),
            upstream: cfg.upstream,
            toxics,
            state: Arc::new(watch::channel(state).0),
            epoch: 0,
            listener: None,
            ordinal: Arc::new(AtomicU64::new(0)),
            conns: Arc::default(),
            tls,
        };
        if cfg.enabled {
            self.start(&mut e).await?;
        }
        let info = e.info();
        map.insert(cfg.name, e);
        Ok(info)
    }

    /// One proxy (Toxiproxy `GET /proxies/{name}`).
    pub async fn get(&self, name: &str) -> Result<ProxyInfo> {
        let map = self.shared.proxies.lock().await;
        map.get(name).map(Entry::info).ok_or(Error::ProxyNotFound)
    }

    /// Every proxy by name (Toxiproxy `GET /proxies`).
    pub async fn list(&self) -> Vec<ProxyInfo> {
        self.shared
            .proxies
            .lock()
            .await
            .values()
            .map(Entry::info)
            .collect()
    }

    /// Enables, disables, moves or re-targets a proxy. Disabling closes the
    /// listener and every connection; enabling listens on the same address.
    pub async fn update(&self, name: &str, upd: ProxyUpdate) -> Result<ProxyInfo> {
        let mut map = self.shared.proxies.lock().await;
        let e = map.get_mut(name).ok_or(Error::ProxyNotFound)?;
        let moved = upd.listen.as_ref().is_some_and(|l| *l != e.listen)
            || upd.upstream.as_ref().is_some_and(|u| *u != e.upstream);
        let was_enabled = e.listener.is_some();
        let enable = upd.enabled.unwrap_or(was_enabled);
        if moved || !enable {
            e.stop().await;
        }
        let (old_listen, old_upstream) = (e.listen.clone(), e.upstream.clone());
        if let Some(l) = upd.listen {
            e.listen = l;
        }
        if let Some(u) = upd.upstream {
            e.upstream = u;
        }
        if enable
            && e.listener.is_none()
            && let Err(err) = self.start(e).await
        {
            // Bad input must not take a running proxy down: restore it.
            e.listen = old_listen;
            e.upstream = old_upstream;
            if was_enabled && e.listener.is_none() {
                let _ = self.start(e).await;
            }
            return Err(err);
        }
        Ok(e.info())
    }

    /// Deletes a proxy, closing its listener and connections.
    pub async fn delete(&self, name: &str) -> Result<()> {
        let mut map = self.shared.proxies.lock().await;
        let mut e = map.remove(name).ok_or(Error::ProxyNotFound)?;
        e.stop().await;
        Ok(())
    }

    /// Re-enables every proxy and removes every toxic (Toxiproxy `POST /reset`).
    pub async fn reset(&self) -> Result<()> {
        let mut map = self.shared.proxies.lock().await;
        for e in map.values_mut() {
            e.toxics.clear();
            e.publish();
            if e.listener.is_none() {
                self.start(e).await?;
            }
        }
        Ok(())
    }

    /// Creates or replaces many proxies (Toxiproxy `POST /populate`); the
    /// first failure is the error. See [`ChaosProxy::populate_each`].
    pub async fn populate(&self, cfgs: Vec<ProxyConfig>) -> Result<Vec<ProxyInfo>> {
        let done = self.populate_each(cfgs).await;
        match done.failed {
            Some((_, e)) => Err(e),
            None => Ok(done.proxies),
        }
    }

    /// Creates or replaces many proxies, as Toxiproxy's `POST /populate`.
    ///
    /// All input is checked first (duplicate names, toxics), so bad input
    /// changes nothing. Then each proxy in order: one with the same listen
    /// and upstream as an existing proxy (`localhost` read as `127.0.0.1`)
    /// is kept with its toxics (replaced when the input gives some); a
    /// changed one is replaced. A failure there (a listen address in use)
    /// stops the run: the proxies applied before it stay, and are returned
    /// with the 0-based index of the failing one.
    pub async fn populate_each(&self, cfgs: Vec<ProxyConfig>) -> Populated {
        let mut proxies = Vec::with_capacity(cfgs.len());
        for (i, c) in cfgs.iter().enumerate() {
            if cfgs[..i].iter().any(|p| p.name == c.name) {
                let e = Error::BadRequestBody {
                    reason: format!("duplicate proxy name {:?}", c.name),
                };
                return Populated::failed(proxies, i, e);
            }
            if let Err(e) = self.entries(&c.toxics) {
                return Populated::failed(proxies, i, e);
            }
        }
        for (i, cfg) in cfgs.into_iter().enumerate() {
            match self.populate_one(cfg).await {
                Ok(info) => proxies.push(info),
                Err(e) => return Populated::failed(proxies, i, e),
            }
        }
        Populated {
            proxies,
            failed: None,
        }
    }

    async fn populate_one(&self, cfg: ProxyConfig) -> Result<ProxyInfo> {
        let keep = {
            let map = self.shared.proxies.lock().await;
            map.get(&cfg.name).map(|e| {
                // As Toxiproxy compares them: `localhost` is 127.0.0.1.
                let listen = loopback(cfg.listen.as_deref().unwrap_or(DEFAULT_LISTEN));
                loopback(&e.upstream) == loopback(&cfg.upstream)
                    && (loopback(&e.listen) == listen || listen.ends_with(":0"))
                    && e.tls.as_ref().map(|t| &t.json) == cfg.tls.as_ref()
            })
        };
        match keep {
            Some(true) => {
                if !cfg.toxics.is_empty() {
                    self.set_toxics(&cfg.name, &cfg.toxics).await?;
                }
                self.get(&cfg.name).await
            }
            Some(false) => {
                self.delete(&cfg.name).await?;
                self.create(cfg).await
            }
            None => self.create(cfg).await,
        }
    }

    /// Replaces a proxy's whole toxic chain atomically.
    pub async fn set_toxics(&self, proxy: &str, toxics: &[Toxic]) -> Result<()> {
        let entries = self.entries(toxics)?;
        let mut map = self.shared.proxies.lock().await;
        let e = map.get_mut(proxy).ok_or(Error::ProxyNotFound)?;
        e.toxics = entries;
        e.publish();
        for t in &e.toxics {
            self.schedule_removal(proxy, t);
        }
        Ok(())
    }

    /// The toxics of a proxy, in chain order.
    pub async fn toxics(&self, proxy: &str) -> Result<Vec<Toxic>> {
        self.get(proxy).await.map(|p| p.toxics)
    }

    /// One toxic.
    pub async fn toxic(&self, proxy: &str, name: &str) -> Result<Toxic> {
        self.toxics(proxy)
            .await?
            .into_iter()
            .find(|t| t.name == name)
            .ok_or(Error::ToxicNotFound)
    }

    /// The live connections of a proxy, oldest first, with their bytes and
    /// the toxics acting on each (a ballast extension:
    /// `GET /proxies/{proxy}/connections`).
    pub async fn connections(&self, proxy: &str) -> Result<Vec<super::ConnectionInfo>> {
        let conns = {
            let map = self.shared.proxies.lock().await;
            Arc::clone(&map.get(proxy).ok_or(Error::ProxyNotFound)?.conns)
        };
        Ok(conns.list())
    }

    /// Ends one live connection of a proxy: FIN both ways, or RST both ways
    /// with `reset` (`DELETE /proxies/{proxy}/connections/{id}`).
    pub async fn end_connection(&self, proxy: &str, id: u64, reset: bool) -> Result<()> {
        let conns = {
            let map = self.shared.proxies.lock().await;
            Arc::clone(&map.get(proxy).ok_or(Error::ProxyNotFound)?.conns)
        };
        if conns.end(id, reset) {
            Ok(())
        } else {
            Err(Error::ConnectionNotFound)
        }
    }

    /// Adds a toxic at the end of the chain; live connections pick it up.
    pub async fn add_toxic(&self, proxy: &str, toxic: Toxic) -> Result<Toxic> {
        toxic.validate()?;
        let mut map = self.shared.proxies.lock().await;
        let e = map.get_mut(proxy).ok_or(Error::ProxyNotFound)?;
        if e.toxics.iter().any(|t| t.toxic.name == toxic.name) {
            return Err(Error::ToxicAlreadyExists);
        }
        if e.toxics.len() >= self.shared.limits.max_toxics {
            return Err(Error::LimitExceeded {
                what: "toxics per proxy",
                limit: self.shared.limits.max_toxics,
            });
        }
        let entry = ToxicEntry {
            id: self.next_id(),
            toxic: Arc::new(toxic.clone()),
        };
        self.schedule_removal(proxy, &entry);
        e.toxics.push(entry);
        e.publish();
        Ok(toxic)
    }

    /// Applies a Toxiproxy toxic update body (`toxicity`, `attributes`).
    pub async fn update_toxic(&self, proxy: &str, name: &str, body: &Value) -> Result<Toxic> {
        let mut map = self.shared.proxies.lock().await;
        let e = map.get_mut(proxy).ok_or(Error::ProxyNotFound)?;
        let slot = e
            .toxics
            .iter_mut()
            .find(|t| t.toxic.name == name)
            .ok_or(Error::ToxicNotFound)?;
        let updated = slot.toxic.updated(body)?;
        *slot = ToxicEntry {
            id: self.next_id(),
            toxic: Arc::new(updated.clone()),
        };
        let entry = slot.clone();
        e.publish();
        self.schedule_removal(proxy, &entry);
        Ok(updated)
    }

    /// Removes a toxic; live connections drop it at their next chunk boundary.
    pub async fn remove_toxic(&self, proxy: &str, name: &str) -> Result<()> {
        let mut map = self.shared.proxies.lock().await;
        let e = map.get_mut(proxy).ok_or(Error::ProxyNotFound)?;
        let before = e.toxics.len();
        e.toxics.retain(|t| t.toxic.name != name);
        if e.toxics.len() == before {
            return Err(Error::ToxicNotFound);
        }
        e.publish();
        Ok(())
    }
}

/// `localhost:P` as `127.0.0.1:P`, for comparing addresses as Toxiproxy
/// does (it reports and compares the resolved listen address).
fn loopback(addr: &str) -> String {
    match addr.strip_prefix("localhost:") {
        Some(port) => format!("127.0.0.1:{port}"),
        None => addr.to_string(),
    }
}
