//! Resource faults of a run: a [`ResourceSpec`] turned into a guard that
//! heals when dropped.

use std::time::Duration;

use super::{SuiteError, TargetHooks};
use crate::resource::DiskFaults;
use crate::scenario::ResourceSpec;

/// A resource fault that is on; healed when dropped.
#[derive(Debug)]
#[allow(dead_code)] // The guards are held only to be dropped.
pub(super) enum ResourceGuard {
    #[cfg(target_os = "linux")]
    Cpu(crate::resource::CpuHogGuard),
    #[cfg(target_os = "linux")]
    Memory(crate::resource::BalloonGuard),
    #[cfg(target_os = "linux")]
    Fds(crate::resource::FdExhaustionGuard),
    Lock(crate::resource::LockContentionGuard),
    #[cfg(target_os = "linux")]
    Starvation(crate::resource::StarvationGuard),
    Disk(DiskGuard),
}

/// Clears the knobs of a disk shim when dropped.
#[derive(Debug)]
pub(super) struct DiskGuard(DiskFaults);

impl Drop for DiskGuard {
    fn drop(&mut self) {
        self.0.clear();
    }
}

fn resource_err(e: &crate::resource::ResourceError) -> SuiteError {
    SuiteError::Injector {
        injector: "resource".into(),
        reason: e.to_string(),
    }
}

fn unsupported(fault: &str, reason: impl Into<String>) -> SuiteError {
    SuiteError::Unsupported {
        fault: fault.to_owned(),
        reason: reason.into(),
    }
}

impl ResourceGuard {
    /// Injects `spec` for fault `fault`, through `hooks` where it needs them.
    pub(super) fn inject(
        fault: &str,
        spec: &ResourceSpec,
        hooks: &TargetHooks,
    ) -> Result<Self, SuiteError> {
        match *spec {
            ResourceSpec::LockContention {
                threads,
                duty_percent,
                hold_ms,
            } => {
                let lock = hooks.lock.clone().ok_or_else(|| {
                    unsupported(
                        fault,
                        "lock_contention needs the target's TargetHooks::lock",
                    )
                })?;
                crate::resource::LockContention::new(
                    threads,
                    duty_percent,
                    Duration::from_millis(hold_ms),
                )
                .inject(lock)
                .map(Self::Lock)
                .map_err(|e| resource_err(&e))
            }
            ResourceSpec::DiskSlow { .. }
            | ResourceSpec::DiskFail { .. }
            | ResourceSpec::DiskFull => Self::disk(fault, spec, hooks),
            _ => Self::process(fault, spec, hooks),
        }
    }

    fn disk(fault: &str, spec: &ResourceSpec, hooks: &TargetHooks) -> Result<Self, SuiteError> {
        let disk = hooks
            .disk
            .clone()
            .ok_or_else(|| unsupported(fault, "disk faults need the target's TargetHooks::disk"))?;
        match *spec {
            ResourceSpec::DiskSlow { delay_ms } => {
                disk.set_write_delay(Duration::from_millis(delay_ms));
            }
            ResourceSpec::DiskFail { probability } => disk.set_failure_probability(probability),
            // No more room than what is already written.
            _ => disk.set_capacity(Some(disk.bytes_written())),
        }
        Ok(Self::Disk(DiskGuard(disk)))
    }

    /// The faults on the whole process (Linux).
    #[cfg(target_os = "linux")]
    fn process(fault: &str, spec: &ResourceSpec, hooks: &TargetHooks) -> Result<Self, SuiteError> {
        use crate::resource::{
            CpuHog, FdExhaustion, MemoryBalloon, ResourceError, ThreadStarvation,
        };
        let injected = match *spec {
            ResourceSpec::CpuHog {
                threads,
                duty_percent,
            } => CpuHog::new(threads, duty_percent).inject().map(Self::Cpu),
            ResourceSpec::MemoryBalloon {
                cap_mb,
                rate_mb_per_sec,
            } => MemoryBalloon::from_mib(cap_mb, rate_mb_per_sec)
                .inject()
                .map(Self::Memory),
            ResourceSpec::FdExhaustion { reserve } => {
                FdExhaustion::new(reserve).inject().map(Self::Fds)
            }
            ResourceSpec::ThreadStarvation { hogs } => {
                if hooks.threads.is_empty() {
                    return Err(unsupported(
                        fault,
                        "thread_starvation needs the target's TargetHooks::threads",
                    ));
                }
                match ThreadStarvation::new(hogs).inject(&hooks.threads) {
                    Err(ResourceError::Unavailable { reason }) => {
                        return Err(unsupported(fault, reason));
                    }
                    other => other.map(Self::Starvation),
                }
            }
            _ => {
                return Err(unsupported(
                    fault,
                    format!("{spec:?} is not a process fault"),
                ));
            }
        };
        injected.map_err(|e| resource_err(&e))
    }

    #[cfg(not(target_os = "linux"))]
    fn process(fault: &str, spec: &ResourceSpec, _hooks: &TargetHooks) -> Result<Self, SuiteError> {
        Err(unsupported(fault, format!("{spec:?} needs Linux")))
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::suite::LockHook;

    #[test]
    fn a_fault_needing_a_hook_the_target_lacks_is_unsupported() {
        let none = TargetHooks::default();
        for spec in [
            ResourceSpec::LockContention {
                threads: 1,
                duty_percent: 50,
                hold_ms: 1,
            },
            ResourceSpec::ThreadStarvation { hogs: 1 },
            ResourceSpec::DiskSlow { delay_ms: 1 },
            ResourceSpec::DiskFail { probability: 1.0 },
            ResourceSpec::DiskFull,
        ] {
            match ResourceGuard::inject("f", &spec, &none) {
                Err(SuiteError::Unsupported { fault, reason }) => {
                    assert_eq!(fault, "f");
                    assert!(!reason.is_empty());
                }
                other => panic!("{spec:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn disk_faults_turn_the_targets_shim_and_clear_it_on_heal() {
        let disk = DiskFaults::new();
        let path = std::env::temp_dir().join(format!("ballast-guard-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let mut file = disk.open(&path).unwrap();
        file.write_all(b"before").unwrap();
        let hooks = TargetHooks {
            disk: Some(disk.clone()),
            ..TargetHooks::default()
        };
        let full = ResourceGuard::inject("full", &ResourceSpec::DiskFull, &hooks).unwrap();
        assert!(file.write(b"x").is_err(), "no room left");
        drop(full);
        assert!(disk.is_clear());
        let fail =
            ResourceGuard::inject("fail", &ResourceSpec::DiskFail { probability: 1.0 }, &hooks)
                .unwrap();
        assert!(file.write(b"x").is_err());
        drop(fail);
        file.write_all(b"after").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"beforeafter");
        let _ = std::fs::remove_file(&path);
    }

    struct Counting(Mutex<u64>);

    impl LockHook for Counting {
        fn hold(&self, hold: Duration) {
            let mut n = self.0.lock().unwrap();
            std::thread::sleep(hold);
            *n += 1;
        }
    }

    #[test]
    fn lock_contention_holds_the_targets_lock_until_healed() {
        let lock = Arc::new(Counting(Mutex::new(0)));
        let hooks = TargetHooks {
            lock: Some(lock.clone()),
            ..TargetHooks::default()
        };
        let spec = ResourceSpec::LockContention {
            threads: 2,
            duty_percent: 50,
            hold_ms: 2,
        };
        let guard = ResourceGuard::inject("contend", &spec, &hooks).unwrap();
        for _ in 0..500 {
            if *lock.0.lock().unwrap() >= 4 {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        drop(guard);
        let held = *lock.0.lock().unwrap();
        assert!(held >= 4, "held {held} times");
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(*lock.0.lock().unwrap(), held, "no hold after the heal");
    }
}
