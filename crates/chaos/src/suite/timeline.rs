//! The timeline of a run: each fault's toxics, resource faults and target
//! actions switched on at its start and off at its end, with every action
//! undone when the timeline ends, however it ends.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::inject::Faults;
use super::{CertificateHook, SuiteError, Target};
use crate::scenario::{FaultSpec, Load, LoadSpec, TargetAction};

/// Starts one extra workload client: (process, think time, its stop flag).
pub(super) type SpawnClient<'f> = &'f dyn Fn(u64, Option<Duration>, &Arc<AtomicBool>);

/// A load fault that is on; dropping it stops it.
#[allow(dead_code)] // The guards are held only to be dropped.
enum LoadOn {
    /// Extra clients, told to stop through the flag.
    Clients(StopFlag),
    /// A reconnect storm, slowloris or SYN burst.
    Guard(crate::resource::LoadGuard),
}

/// Sets its flag when dropped.
struct StopFlag(Arc<AtomicBool>);

impl Drop for StopFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

/// How one target action is undone.
enum Undo {
    /// Start the killed target again.
    Start,
    /// Start what serves this link again (a `kill` that named its link).
    StartLink(String),
    /// Jump the clock back by this many ns.
    ClockJump(Arc<ballast_clock::SkewedClock>, i64),
    /// Reset the clock's rate and offset.
    ClockReset(Arc<ballast_clock::SkewedClock>),
    /// Serve the valid certificate again.
    Certificate(Arc<dyn CertificateHook>),
}

/// The faults of a run as they go on and off, with the target in hand.
/// Dropping it undoes every target action still in force (a killed target
/// is started again, so its final state can be read), newest first.
pub(super) struct Timeline<'f, 'a, T: Target> {
    target: &'f mut T,
    faults: &'f mut Faults<'a, T::Key, T::Value>,
    first_link: &'f str,
    undo: Vec<(String, Undo)>,
    spawn_client: SpawnClient<'f>,
    next_process: u64,
    loads: Vec<(String, LoadOn)>,
}

fn unsupported(fault: &str, reason: &str) -> SuiteError {
    SuiteError::Unsupported {
        fault: fault.to_owned(),
        reason: reason.to_owned(),
    }
}

impl<'f, 'a, T: Target> Timeline<'f, 'a, T> {
    pub(super) fn new(
        target: &'f mut T,
        faults: &'f mut Faults<'a, T::Key, T::Value>,
        first_link: &'f str,
        spawn_client: SpawnClient<'f>,
        next_process: u64,
    ) -> Self {
        Self {
            target,
            faults,
            first_link,
            undo: Vec::new(),
            spawn_client,
            next_process,
            loads: Vec::new(),
        }
    }

    /// Switches fault `f` on: toxics (recording its start), target actions,
    /// then resource faults (through the hooks as they are after a restart).
    pub(super) fn start(&mut self, f: &FaultSpec) -> Result<(), SuiteError> {
        let link = f.link.as_deref().unwrap_or(self.first_link).to_owned();
        self.faults.start(&f.name, &link, &f.toxics)?;
        // A kill or restart acts on the whole target, or only on what
        // serves the link when the fault names one.
        let only = f.link.as_deref();
        for action in &f.targets {
            self.act(&f.name, &link, only, action)?;
        }
        let hooks = self.target.hooks();
        self.faults.start_resources(&f.name, &f.resources, &hooks)?;
        for load in &f.loads {
            self.start_load(&f.name, &link, load)?;
        }
        Ok(())
    }

    fn start_load(&mut self, fault: &str, link: &str, spec: &LoadSpec) -> Result<(), SuiteError> {
        use crate::resource::{ReconnectStorm, ResourceError, Slowloris, SynBurst};
        let link = spec.link.as_deref().unwrap_or(link);
        let upstream = self
            .faults
            .upstream_of(link)
            .ok_or_else(|| SuiteError::UnknownLink {
                fault: fault.to_owned(),
                link: link.to_owned(),
            })?;
        let guard = match spec.load {
            Load::Clients {
                count,
                think_time_ms,
            } => {
                let flag = Arc::new(AtomicBool::new(false));
                // Held first, so the clients stop even if a spawn panics.
                self.loads.push((
                    fault.to_owned(),
                    LoadOn::Clients(StopFlag(Arc::clone(&flag))),
                ));
                let think = think_time_ms.map(Duration::from_millis);
                for _ in 0..count {
                    (self.spawn_client)(self.next_process, think, &flag);
                    self.next_process += 1;
                }
                return Ok(());
            }
            Load::ReconnectStorm {
                threads,
                max_connections,
            } => ReconnectStorm {
                threads,
                max_connections,
            }
            .inject(upstream),
            Load::Slowloris {
                connections,
                interval_ms,
            } => Slowloris {
                connections,
                interval: Duration::from_millis(interval_ms),
            }
            .inject(upstream),
            Load::SynBurst { connections } => SynBurst { connections }.inject(upstream),
            #[allow(unreachable_patterns)]
            ref other => return Err(unsupported(fault, &format!("{other:?}"))),
        };
        let guard = guard.map_err(|e| match e {
            ResourceError::Unavailable { reason } => unsupported(fault, &reason),
            e => SuiteError::Injector {
                injector: "load".into(),
                reason: e.to_string(),
            },
        })?;
        self.loads.push((fault.to_owned(), LoadOn::Guard(guard)));
        Ok(())
    }

    fn act(
        &mut self,
        fault: &str,
        link: &str,
        only: Option<&str>,
        action: &TargetAction,
    ) -> Result<(), SuiteError> {
        let name = fault.to_owned();
        match (action, only) {
            (TargetAction::Kill, None) => {
                self.target.kill();
                self.undo.push((name, Undo::Start));
            }
            (TargetAction::Kill, Some(only)) => {
                self.target.kill_link(only);
                self.undo.push((name, Undo::StartLink(only.to_owned())));
            }
            (TargetAction::Restart, None) => {
                let links = self.target.restart()?;
                self.faults.follow(&links)?;
            }
            (TargetAction::Restart, Some(only)) => {
                self.target.kill_link(only);
                let links = self.target.start_link(only)?;
                self.faults.follow(&links)?;
            }
            (TargetAction::Misroute { to }, _) => self.faults.misroute(fault, link, to)?,
            (
                TargetAction::ClockJump {
                    offset_ms,
                    permanent,
                },
                _,
            ) => {
                let clock = self.target.hooks().clock.ok_or_else(|| {
                    unsupported(fault, "clock_jump needs the target's TargetHooks::clock")
                })?;
                let by = offset_ms.saturating_mul(1_000_000);
                clock.jump(by);
                if !permanent {
                    self.undo.push((name, Undo::ClockJump(clock, -by)));
                }
            }
            (TargetAction::ClockSkew { rate }, _) => {
                let clock = self.target.hooks().clock.ok_or_else(|| {
                    unsupported(fault, "clock_skew needs the target's TargetHooks::clock")
                })?;
                clock.set_rate(*rate);
                self.undo.push((name, Undo::ClockReset(clock)));
            }
            (TargetAction::ExpiredCertificate, _) => {
                let cert = self.target.hooks().certificate.ok_or_else(|| {
                    unsupported(
                        fault,
                        "expired_certificate needs the target's TargetHooks::certificate",
                    )
                })?;
                cert.set_expired(true).map_err(SuiteError::Target)?;
                self.undo.push((name, Undo::Certificate(cert)));
            }
            // A new action this timeline does not know cannot be done.
            #[allow(unreachable_patterns)]
            (other, _) => return Err(unsupported(fault, &format!("{other:?}"))),
        }
        Ok(())
    }

    /// Switches fault `name` off: toxics and resources healed (recording
    /// its end), then its target actions undone, newest first.
    pub(super) fn stop(&mut self, name: &str) -> Result<(), SuiteError> {
        // Dropping a load stops it.
        self.loads.retain(|(f, _)| f != name);
        let stopped = self.faults.stop(name);
        let mut undone = Ok(());
        while let Some(pos) = self.undo.iter().rposition(|(f, _)| f == name) {
            let (_, u) = self.undo.remove(pos);
            let result = self.run_undo(u);
            if undone.is_ok() {
                undone = result;
            }
        }
        stopped.and(undone)
    }

    fn run_undo(&mut self, u: Undo) -> Result<(), SuiteError> {
        match u {
            Undo::Start => {
                let links = self.target.start()?;
                self.faults.follow(&links)
            }
            Undo::StartLink(link) => {
                let links = self.target.start_link(&link)?;
                self.faults.follow(&links)
            }
            Undo::ClockJump(clock, by) => {
                clock.jump(by);
                Ok(())
            }
            Undo::ClockReset(clock) => {
                clock.reset();
                Ok(())
            }
            Undo::Certificate(cert) => cert.set_expired(false).map_err(SuiteError::Target),
        }
    }
}

impl<T: Target> Drop for Timeline<'_, '_, T> {
    fn drop(&mut self) {
        self.loads.clear();
        while let Some((_, u)) = self.undo.pop() {
            if let Err(e) = self.run_undo(u) {
                self.faults.heal_error.get_or_insert(e);
            }
        }
    }
}
