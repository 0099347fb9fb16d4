//! Where faults go: the [`FaultInjector`] trait and the guard that heals.

use std::net::SocketAddr;

use super::resources::ResourceGuard;
use super::{SuiteError, TargetHooks};
use crate::history::History;
use crate::scenario::ResourceSpec;
use crate::toxic::Toxic;

/// Something that fronts a target's links with proxies and switches toxics
/// on them: the embedded proxy, or a Toxiproxy-API server.
///
/// Calls block; the coordinator makes them from its own thread.
pub trait FaultInjector: Send + Sync {
    /// Who it is, for errors and reports (`embedded`, a URL).
    fn describe(&self) -> String;

    /// Creates (or replaces) a proxy called `proxy` in front of `upstream`
    /// and returns the address clients connect to.
    ///
    /// # Errors
    ///
    /// [`SuiteError::Injector`] when the proxy cannot be created.
    fn front(&self, proxy: &str, upstream: SocketAddr) -> Result<SocketAddr, SuiteError>;

    /// Adds `toxics` (uniquely named) to proxy `proxy`.
    ///
    /// # Errors
    ///
    /// [`SuiteError::Injector`] when one is refused.
    fn apply(&self, proxy: &str, toxics: &[Toxic]) -> Result<(), SuiteError>;

    /// Removes `toxics` (by name) from proxy `proxy`; ones already gone
    /// are not an error.
    ///
    /// # Errors
    ///
    /// [`SuiteError::Injector`] when the proxy cannot be reached.
    fn heal(&self, proxy: &str, toxics: &[Toxic]) -> Result<(), SuiteError>;

    /// Points proxy `proxy` at another `upstream`: new connections go
    /// there (connections open may be closed, as Toxiproxy does). By
    /// default unsupported.
    ///
    /// # Errors
    ///
    /// [`SuiteError::Injector`] when the proxy cannot be re-pointed.
    fn repoint(&self, proxy: &str, upstream: SocketAddr) -> Result<(), SuiteError> {
        Err(SuiteError::Injector {
            injector: self.describe(),
            reason: format!("cannot re-point proxy {proxy} to {upstream}"),
        })
    }

    /// Deletes proxy `proxy`; one already gone is not an error.
    ///
    /// # Errors
    ///
    /// [`SuiteError::Injector`] when the proxy cannot be reached.
    fn remove(&self, proxy: &str) -> Result<(), SuiteError>;
}

/// A proxy of the run, fronting one link.
struct Proxy {
    injector: usize,
    link: String,
    /// The link's own upstream, as the target last said.
    upstream: SocketAddr,
    /// Where the proxy forwards now (another link's upstream if misrouted).
    pointed: SocketAddr,
}

/// A fault that is on.
struct Active {
    fault: String,
    link: String,
    injector: usize,
    toxics: Vec<Toxic>,
}

/// The proxies and faults of one run. Dropping it heals every fault still
/// on (recording the stop in the history) and deletes every proxy, so a
/// run heals on every way out, panics included.
pub(super) struct Faults<'a, K, V> {
    injectors: &'a [&'a dyn FaultInjector],
    history: History<K, V>,
    proxies: Vec<Proxy>,
    active: Vec<Active>,
    /// Links misrouted by a fault: (fault, link, the link it points to).
    misroutes: Vec<(String, String, String)>,
    /// Resource faults on, by fault name; dropping one heals it.
    resources: Vec<(String, ResourceGuard)>,
    /// The first error met while healing, for the report.
    pub(super) heal_error: Option<SuiteError>,
}

impl<'a, K, V> Faults<'a, K, V> {
    pub(super) fn new(injectors: &'a [&'a dyn FaultInjector], history: History<K, V>) -> Self {
        Self {
            injectors,
            history,
            proxies: Vec::new(),
            active: Vec::new(),
            misroutes: Vec::new(),
            resources: Vec::new(),
            heal_error: None,
        }
    }

    /// Fronts link number `index` with a proxy on injector `index % n`.
    pub(super) fn front(
        &mut self,
        index: usize,
        link: &str,
        upstream: SocketAddr,
    ) -> Result<SocketAddr, SuiteError> {
        let injector = index % self.injectors.len().max(1);
        let inj = self.injectors.get(injector).ok_or(SuiteError::NoInjector)?;
        let addr = inj.front(link, upstream)?;
        self.proxies.push(Proxy {
            injector,
            link: link.to_owned(),
            upstream,
            pointed: upstream,
        });
        Ok(addr)
    }

    /// The upstream of link `link`, as the target last said.
    pub(super) fn upstream_of(&self, link: &str) -> Option<SocketAddr> {
        self.proxies
            .iter()
            .find(|p| p.link == link)
            .map(|p| p.upstream)
    }

    fn point(&mut self, link: &str, to: SocketAddr) -> Result<(), SuiteError> {
        let Some(p) = self.proxies.iter_mut().find(|p| p.link == link) else {
            return Ok(());
        };
        if p.pointed == to {
            return Ok(());
        }
        let inj = self
            .injectors
            .get(p.injector)
            .ok_or(SuiteError::NoInjector)?;
        inj.repoint(link, to)?;
        p.pointed = to;
        Ok(())
    }

    /// Where link `link` should point: its own upstream, or the upstream
    /// of the link a fault misroutes it to.
    fn destination(&self, link: &str) -> Option<SocketAddr> {
        let to = self
            .misroutes
            .iter()
            .rev()
            .find(|(_, l, _)| l == link)
            .map_or(link, |(_, _, to)| to.as_str());
        self.upstream_of(to)
    }

    /// Misroutes link `link` to link `to`'s upstream for fault `fault`.
    pub(super) fn misroute(&mut self, fault: &str, link: &str, to: &str) -> Result<(), SuiteError> {
        let unknown = |l: &str| SuiteError::UnknownLink {
            fault: fault.to_owned(),
            link: l.to_owned(),
        };
        self.upstream_of(link).ok_or_else(|| unknown(link))?;
        let dest = self.upstream_of(to).ok_or_else(|| unknown(to))?;
        self.misroutes
            .push((fault.to_owned(), link.to_owned(), to.to_owned()));
        self.point(link, dest)
    }

    /// The target's links after a start or restart: proxies whose
    /// destination moved are re-pointed.
    pub(super) fn follow(&mut self, links: &[super::Link]) -> Result<(), SuiteError> {
        for link in links {
            if let Some(p) = self.proxies.iter_mut().find(|p| p.link == link.name) {
                p.upstream = link.upstream;
            }
        }
        self.repoint_all()
    }

    fn repoint_all(&mut self) -> Result<(), SuiteError> {
        let names: Vec<String> = self.proxies.iter().map(|p| p.link.clone()).collect();
        let mut first = Ok(());
        for name in names {
            if let Some(dest) = self.destination(&name)
                && let Err(e) = self.point(&name, dest)
                && first.is_ok()
            {
                first = Err(e);
            }
        }
        first
    }

    /// Switches fault `fault` on at `link` and records it.
    pub(super) fn start(
        &mut self,
        fault: &str,
        link: &str,
        toxics: &[Toxic],
    ) -> Result<(), SuiteError> {
        let injector = self
            .proxies
            .iter()
            .find(|p| p.link == link)
            .map(|p| p.injector)
            .ok_or_else(|| SuiteError::UnknownLink {
                fault: fault.to_owned(),
                link: link.to_owned(),
            })?;
        let inj = self.injectors.get(injector).ok_or(SuiteError::NoInjector)?;
        // Recorded as active first, so a half-applied fault is healed too.
        self.active.push(Active {
            fault: fault.to_owned(),
            link: link.to_owned(),
            injector,
            toxics: toxics.to_vec(),
        });
        inj.apply(link, toxics)?;
        self.history.record_fault(fault, link, true);
        tracing::info!(fault, link, toxics = toxics.len(), "fault on");
        Ok(())
    }

    /// Switches on the resource faults of fault `fault` (already started).
    pub(super) fn start_resources(
        &mut self,
        fault: &str,
        specs: &[ResourceSpec],
        hooks: &TargetHooks,
    ) -> Result<(), SuiteError> {
        for spec in specs {
            let guard = ResourceGuard::inject(fault, spec, hooks)?;
            self.resources.push((fault.to_owned(), guard));
        }
        Ok(())
    }

    /// Heals fault `fault` and records it.
    pub(super) fn stop(&mut self, fault: &str) -> Result<(), SuiteError> {
        // Dropping a resource guard heals it.
        self.resources.retain(|(name, _)| name != fault);
        let misrouted = self.misroutes.len();
        self.misroutes.retain(|(name, _, _)| name != fault);
        let rerouted = if self.misroutes.len() == misrouted {
            Ok(())
        } else {
            self.repoint_all()
        };
        let Some(pos) = self.active.iter().position(|a| a.fault == fault) else {
            return rerouted;
        };
        let a = self.active.remove(pos);
        let inj = self
            .injectors
            .get(a.injector)
            .ok_or(SuiteError::NoInjector)?;
        let healed = inj.heal(&a.link, &a.toxics);
        self.history.record_fault(&a.fault, &a.link, false);
        tracing::info!(fault = %a.fault, link = %a.link, healed = healed.is_ok(), "fault off");
        healed.and(rerouted)
    }

    /// Heals every fault still on, then deletes every proxy.
    pub(super) fn heal_all(&mut self) {
        self.resources.clear();
        let names: Vec<String> = self.active.iter().map(|a| a.fault.clone()).collect();
        for name in names {
            if let Err(e) = self.stop(&name) {
                self.heal_error.get_or_insert(e);
            }
        }
        self.misroutes.clear();
        for p in std::mem::take(&mut self.proxies) {
            if let Some(inj) = self.injectors.get(p.injector)
                && let Err(e) = inj.remove(&p.link)
            {
                self.heal_error.get_or_insert(e);
            }
        }
    }
}

impl<K, V> Drop for Faults<'_, K, V> {
    fn drop(&mut self) {
        self.heal_all();
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// Live threads of this process started by a CPU hog.
    fn hog_threads() -> usize {
        std::fs::read_dir("/proc/self/task")
            .map(|tasks| {
                tasks
                    .filter_map(std::result::Result::ok)
                    .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
                    .filter(|comm| comm.starts_with("ballast-cpu-hog"))
                    .count()
            })
            .unwrap_or(0)
    }

    /// Waits (bounded) until the hog threads have named themselves.
    fn wait_for_hog_threads(n: usize) -> usize {
        for _ in 0..400 {
            if hog_threads() >= n {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        hog_threads()
    }

    const HOG: ResourceSpec = ResourceSpec::CpuHog {
        threads: 2,
        duty_percent: 10,
    };

    #[test]
    fn a_resource_fault_runs_until_its_fault_stops_and_heals_on_drop() {
        let mut faults: Faults<'_, u64, u64> = Faults::new(&[], History::new(16));
        faults
            .start_resources("squeeze", &[HOG], &TargetHooks::default())
            .unwrap();
        assert!(wait_for_hog_threads(2) >= 2, "the hog runs");
        faults.stop("squeeze").unwrap();
        assert_eq!(hog_threads(), 0, "stopping the fault joined the hog");

        faults
            .start_resources("again", &[HOG], &TargetHooks::default())
            .unwrap();
        assert!(wait_for_hog_threads(2) >= 2);
        drop(faults);
        assert_eq!(hog_threads(), 0, "dropping the guard healed it");
    }

    #[test]
    fn a_resource_fault_out_of_range_is_an_injector_error() {
        let mut faults: Faults<'_, u64, u64> = Faults::new(&[], History::new(16));
        let bad = ResourceSpec::FdExhaustion { reserve: u64::MAX };
        match faults.start_resources("fds", &[bad], &TargetHooks::default()) {
            Err(SuiteError::Injector { injector, .. }) => assert_eq!(injector, "resource"),
            other => panic!("expected an injector error, got {other:?}"),
        }
    }
}
