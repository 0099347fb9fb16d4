//! [`Tn3270Target`]: one to three demo hosts sharing a record store (and a
//! decoy of another system), in this process or as a child process, with
//! the hooks the fault catalog reaches them through.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use ballast_chaos::resource::DiskFaults;
use ballast_chaos::suite::{CertificateHook, Link, LockHook, SuiteError, Target, TargetHooks};
use ballast_clock::SkewedClock;
use ballast_session::host::{
    DemoApp, HostConfig, HostSimulator, RecordStore, ScriptApp, StoredRecord,
};

use super::child::ChildHost;
use super::{DECOY_LINK, HOST_LINKS, HostProcess, Setup};

/// The decoy: another system's logon screen, which no user signs on to.
const DECOY_SCRIPT: &str = r#"
start = "welcome"

[[screens]]
name = "welcome"
items = [
  { kind = "text", row = 0, col = 0, text = "CICS REGION B - WRONG SYSTEM" },
  { kind = "input", name = "anything", row = 2, col = 0, len = 8 },
]
"#;

/// A fresh set of demo hosts per scenario; their shared records are the
/// final state.
#[derive(Debug)]
pub struct Tn3270Target {
    setup: Setup,
    clock: Arc<SkewedClock>,
    disk: DiskFaults,
    dir: PathBuf,
    host_exe: Option<PathBuf>,
    /// By endpoint, in [`HOST_LINKS`] order; `None` while that endpoint
    /// alone is killed (`kill_link`).
    hosts: Vec<Option<Host>>,
    decoy: Option<HostSimulator>,
    store: Option<RecordStore>,
    /// Where each host listened first: a restarted host listens there again.
    addrs: Vec<SocketAddr>,
}

#[derive(Debug)]
enum Host {
    Thread(Arc<HostSimulator>),
    Child(ChildHost),
}

impl Host {
    fn addr(&self) -> SocketAddr {
        match self {
            Self::Thread(h) => h.local_addr(),
            Self::Child(c) => c.addr(),
        }
    }
}

static TARGETS: AtomicU64 = AtomicU64::new(0);

impl Tn3270Target {
    /// A target with one in-process host and no journal that starts
    /// nothing until [`Target::start`].
    pub fn new() -> Self {
        Self::with_setup(Setup::default(), super::target_clock())
    }

    /// A target shaped by `setup`, whose hooks hand faults `clock` (share
    /// it with the workload's breakers).
    pub fn with_setup(setup: Setup, clock: Arc<SkewedClock>) -> Self {
        let n = TARGETS.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("ballast-tn3270-{}-{n}", std::process::id()));
        Self {
            setup,
            clock,
            disk: DiskFaults::new(),
            dir,
            host_exe: None,
            hosts: Vec::new(),
            decoy: None,
            store: None,
            addrs: Vec::new(),
        }
    }

    /// The `ballast-suite` executable a child host runs as
    /// (`host_process = "child"`).
    #[must_use]
    pub fn host_exe(mut self, exe: PathBuf) -> Self {
        self.host_exe = Some(exe);
        self
    }

    fn journal_path(&self) -> PathBuf {
        self.dir.join("records.journal")
    }

    /// The store the in-process hosts share: recovered from the journal
    /// when there is one (after a kill), else empty.
    fn open_store(&self) -> Result<RecordStore, SuiteError> {
        if !self.setup.journal {
            return Ok(RecordStore::default());
        }
        let path = self.journal_path();
        let recovered = read_journal(&path)?;
        let file = self
            .disk
            .open(&path)
            .map_err(|e| target_err(&format!("journal {}", path.display()), &e))?;
        Ok(RecordStore::journaled(recovered, Box::new(file)))
    }

    fn listen_addr(&self, i: usize) -> SocketAddr {
        self.addrs
            .get(i)
            .copied()
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    fn start_thread_hosts(&mut self) -> Result<(), SuiteError> {
        let store = self.open_store()?;
        for i in 0..self.setup.hosts {
            let host = self.start_thread_host(i, &store)?;
            self.hosts.push(Some(host));
        }
        self.store = Some(store);
        Ok(())
    }

    /// Endpoint `i` in this process, serving `store`.
    fn start_thread_host(&self, i: usize, store: &RecordStore) -> Result<Host, SuiteError> {
        let config = HostConfig {
            listen: self.listen_addr(i),
            tls: if self.setup.tls {
                Some(super::tls::server_config(false).map_err(SuiteError::Target)?)
            } else {
                None
            },
            ..HostConfig::default()
        };
        let app: Arc<dyn ballast_session::host::Application> = Arc::new(DemoApp::default());
        let host = HostSimulator::start_shared(config, app, store.clone())
            .map_err(|e| target_err("host simulator", &e))?;
        Ok(Host::Thread(Arc::new(host)))
    }

    /// The links: every endpoint (where it listens, or listened before it
    /// was killed alone), then the decoy.
    fn links(&self) -> Vec<Link> {
        let mut links: Vec<Link> = self
            .addrs
            .iter()
            .zip(HOST_LINKS)
            .map(|(addr, name)| Link::new(name, *addr))
            .collect();
        if let Some(decoy) = &self.decoy {
            links.push(Link::new(DECOY_LINK, decoy.local_addr()));
        }
        links
    }

    fn start_child_host(&mut self) -> Result<(), SuiteError> {
        let exe = self.host_exe.clone().ok_or_else(|| {
            SuiteError::Target(
                "host_process = \"child\" needs the ballast-suite executable (run it through `ballast-suite chaos`)".into(),
            )
        })?;
        let tls = if self.setup.tls {
            Some(super::tls::pem_files(&self.dir).map_err(|e| target_err("tls files", &e))?)
        } else {
            None
        };
        let child = ChildHost::spawn(
            &exe,
            self.listen_addr(0),
            &self.journal_path(),
            tls.as_ref(),
        )
        .map_err(SuiteError::Target)?;
        self.hosts.push(Some(Host::Child(child)));
        Ok(())
    }
}

impl Default for Tn3270Target {
    fn default() -> Self {
        Self::new()
    }
}

fn target_err(what: &str, e: &dyn std::fmt::Display) -> SuiteError {
    SuiteError::Target(format!("{what}: {e}"))
}

/// The records of the journal at `path` (none when it does not exist).
fn read_journal(path: &Path) -> Result<Vec<StoredRecord>, SuiteError> {
    match std::fs::File::open(path) {
        Ok(f) => RecordStore::read_journal(std::io::BufReader::new(f))
            .map_err(|e| target_err(&format!("journal {}", path.display()), &e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(target_err(&format!("journal {}", path.display()), &e)),
    }
}

impl Target for Tn3270Target {
    type Key = String;
    type Value = u64;

    fn start(&mut self) -> Result<Vec<Link>, SuiteError> {
        self.kill();
        if self.addrs.is_empty() {
            // A fresh scenario: no journal from an earlier one.
            let _ = std::fs::remove_dir_all(&self.dir);
        }
        std::fs::create_dir_all(&self.dir).map_err(|e| target_err("journal directory", &e))?;
        match self.setup.host_process {
            HostProcess::Thread => self.start_thread_hosts()?,
            HostProcess::Child => self.start_child_host()?,
        }
        if self.setup.hosts > 1 && self.decoy.is_none() {
            let app = ScriptApp::from_toml(DECOY_SCRIPT).map_err(|e| target_err("decoy", &e))?;
            let decoy = HostSimulator::start(HostConfig::default(), app)
                .map_err(|e| target_err("decoy host", &e))?;
            self.decoy = Some(decoy);
        }
        self.addrs = self.hosts.iter().flatten().map(Host::addr).collect();
        Ok(self.links())
    }

    fn stop(&mut self) {
        self.kill();
        if let Some(decoy) = self.decoy.take() {
            decoy.stop();
        }
    }

    /// A crash: in-process hosts stop and their in-memory store is lost
    /// (what was journaled survives); a child host gets SIGKILL.
    fn kill(&mut self) {
        for host in self.hosts.drain(..).flatten() {
            match host {
                Host::Thread(h) => drop(h),
                Host::Child(mut c) => c.kill(),
            }
        }
        self.store = None;
    }

    /// One endpoint crashes alone: its listener and sessions are gone, the
    /// store it shares with the others stays. A child host is the only
    /// endpoint, so killing it is killing the target.
    fn kill_link(&mut self, link: &str) {
        let slot = HOST_LINKS
            .iter()
            .position(|l| *l == link)
            .and_then(|i| self.hosts.get_mut(i));
        match slot {
            Some(slot) if self.setup.host_process == HostProcess::Thread => drop(slot.take()),
            _ => self.kill(),
        }
    }

    /// The killed endpoint listens again where it did, on the shared store.
    fn start_link(&mut self, link: &str) -> Result<Vec<Link>, SuiteError> {
        let i = HOST_LINKS.iter().position(|l| *l == link);
        let (Some(i), Some(store)) = (i, self.store.clone()) else {
            return self.start();
        };
        if self.hosts.get(i).is_some_and(Option::is_none) {
            let host = self.start_thread_host(i, &store)?;
            self.hosts[i] = Some(host);
        }
        Ok(self.links())
    }

    fn hooks(&self) -> TargetHooks {
        let mut hooks = TargetHooks {
            clock: Some(Arc::clone(&self.clock)),
            ..TargetHooks::default()
        };
        if self.setup.journal {
            hooks.disk = Some(self.disk.clone());
        }
        if let Some(store) = &self.store {
            hooks.lock = Some(Arc::new(StoreLock(store.clone())));
        }
        let in_process: Vec<Weak<HostSimulator>> = self
            .hosts
            .iter()
            .flatten()
            .filter_map(|h| match h {
                Host::Thread(h) => Some(Arc::downgrade(h)),
                Host::Child(_) => None,
            })
            .collect();
        hooks.threads = in_process
            .iter()
            .filter_map(|h| h.upgrade()?.poller_thread_id())
            .collect();
        if self.setup.tls && !in_process.is_empty() {
            hooks.certificate = Some(Arc::new(Certificate { hosts: in_process }));
        }
        hooks
    }

    fn final_state(&mut self) -> Result<HashMap<String, u64>, SuiteError> {
        let records = match (&self.store, self.setup.host_process) {
            (Some(store), HostProcess::Thread) => store.all(),
            // A child host's durable state is its journal, read directly.
            (_, HostProcess::Child) => read_journal(&self.journal_path())?,
            (None, HostProcess::Thread) => {
                return Err(SuiteError::Target("host not running".into()));
            }
        };
        Ok(records.into_iter().map(|r| (r.name, r.amount)).collect())
    }
}

impl Drop for Tn3270Target {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The record store's lock, for `lock_contention` faults.
struct StoreLock(RecordStore);

impl LockHook for StoreLock {
    fn hold(&self, hold: Duration) {
        self.0.hold_lock(hold);
    }
}

/// The hosts' certificate, for `expired_certificate` faults: new
/// connections get the expired one while it is on.
struct Certificate {
    hosts: Vec<Weak<HostSimulator>>,
}

impl CertificateHook for Certificate {
    fn set_expired(&self, expired: bool) -> Result<(), String> {
        let config = super::tls::server_config(expired)?;
        for host in self.hosts.iter().filter_map(Weak::upgrade) {
            host.set_tls_config(Arc::clone(&config))
                .map_err(|e| format!("swap certificate: {e}"))?;
        }
        Ok(())
    }
}
