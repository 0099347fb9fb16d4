//! A soak that leaks on purpose, run only by `ballast-suite soak
//! --selftest-leak KIND` (a hidden flag): `tests/soak_cli.rs` runs it
//! through the binary to prove a breach exits 1 naming the soak and the
//! figure. Never in the catalog, so no ordinary run can pick it.

use std::sync::Mutex;

use super::{Budget, Soak};

/// What the self-test soak leaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum LeakKind {
    /// 1 KiB per iteration, held by the soak: the in-run bound breaks.
    Run,
    /// 64 KiB, a descriptor and a parked thread kept by the process when
    /// the soak is built, after the soak is dropped: the teardown check
    /// breaks, the in-run bounds hold.
    Drop,
}

/// Where the `Drop` kind's leak lives: the process, not the soak.
static KEPT: Mutex<Vec<Box<[u8]>>> = Mutex::new(Vec::new());

pub(super) struct LeakSoak {
    kind: LeakKind,
    held: Vec<Vec<u8>>,
}

/// Iterations of the self-test soak.
const ITERATIONS: u64 = 200;

impl LeakSoak {
    pub(super) fn make(kind: LeakKind) -> Result<(Box<dyn Soak>, Budget), String> {
        if kind == LeakKind::Drop {
            KEPT.lock()
                .map_err(|_| "the leak lock is poisoned")?
                .push(vec![7u8; 64 * 1024].into_boxed_slice());
            std::mem::forget(std::fs::File::open("/proc/self/stat").map_err(|e| e.to_string())?);
            let (tx, rx) = std::sync::mpsc::channel::<()>();
            std::mem::forget(tx);
            std::thread::spawn(move || {
                let _ = rx.recv();
            });
        }
        let soak = Self {
            kind,
            held: Vec::with_capacity(ITERATIONS as usize + 10),
        };
        let budget = Budget {
            warmup: 10,
            iterations: ITERATIONS,
            seconds: 10.0,
            min_operations: 0,
        };
        Ok((Box::new(soak), budget))
    }
}

impl Soak for LeakSoak {
    fn name(&self) -> &'static str {
        "selftest-leak"
    }

    fn iterate(&mut self) -> Result<u64, String> {
        if self.kind == LeakKind::Run {
            self.held.push(vec![7u8; 1_024]);
        }
        Ok(1)
    }
}
