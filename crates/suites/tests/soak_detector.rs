//! The soak detector fails on a leak of each kind: a soak that keeps heap
//! bytes, one that keeps file descriptors open and one that keeps threads
//! alive are each reported as a breach naming the soak and the figure,
//! while the same soak without the leak passes.
//!
//! One test function: descriptors and threads are process-wide, so the
//! variants run one after the other, never beside another test.

use std::sync::mpsc;

use ballast_alloc::CountingAlloc;
use ballast_suites::soak::{AllocProbe, Budget, Soak, SoakReport, run};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::system();

#[derive(Clone, Copy, PartialEq, Debug)]
enum Leak {
    None,
    Heap,
    Fd,
    Thread,
}

/// Busy work that allocates and frees, plus the chosen leak.
struct Leaky {
    leak: Leak,
    heap: Vec<Vec<u8>>,
    files: Vec<std::fs::File>,
    /// Keeping the senders keeps the parked threads alive until the end.
    parked: Vec<mpsc::Sender<()>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Soak for Leaky {
    fn name(&self) -> &'static str {
        "leaky"
    }

    fn iterate(&mut self) -> Result<u64, String> {
        let scratch: Vec<u64> = (0..256).collect();
        std::hint::black_box(&scratch);
        match self.leak {
            Leak::None => {}
            Leak::Heap => self.heap.push(vec![7; 1_024]),
            Leak::Fd => self
                .files
                .push(std::fs::File::open("/proc/self/stat").map_err(|e| e.to_string())?),
            Leak::Thread => {
                let (tx, rx) = mpsc::channel::<()>();
                self.threads.push(std::thread::spawn(move || {
                    let _ = rx.recv();
                }));
                self.parked.push(tx);
            }
        }
        Ok(1)
    }
}

impl Leaky {
    fn release(&mut self) {
        self.heap.clear();
        self.files.clear();
        self.parked.clear();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn soak(leak: Leak) -> SoakReport {
    let mut work = Leaky {
        leak,
        heap: Vec::new(),
        files: Vec::new(),
        parked: Vec::new(),
        threads: Vec::new(),
    };
    let budget = Budget {
        warmup: 10,
        iterations: if leak == Leak::Thread { 50 } else { 200 },
        seconds: 60.0,
        min_operations: 0,
    };
    let report = run(&mut work, budget, &AllocProbe(|| ALLOC.snapshot()));
    work.release();
    report
}

fn breach_of(report: &SoakReport, figure: &str) -> bool {
    report
        .breaches
        .iter()
        .any(|b| b.starts_with("leaky: ") && b.contains(figure))
}

#[test]
fn each_kind_of_leak_fails_the_soak_and_no_leak_passes() {
    let clean = soak(Leak::None);
    assert!(clean.breaches.is_empty(), "{:?}", clean.breaches);
    assert_eq!(clean.iterations, 200);

    let heap = soak(Leak::Heap);
    assert!(breach_of(&heap, "live heap grew"), "{:?}", heap.breaches);
    assert!(heap.end.0 >= heap.baseline.0 + 200 * 1_024);

    let fd = soak(Leak::Fd);
    assert!(breach_of(&fd, "file descriptors grew"), "{:?}", fd.breaches);
    assert_eq!(fd.end.1, fd.baseline.1 + 200);

    let thread = soak(Leak::Thread);
    assert!(breach_of(&thread, "threads grew"), "{:?}", thread.breaches);
    assert_eq!(thread.end.2, thread.baseline.2 + 50);

    samples_do_not_grow_the_heap();
    a_time_cap_below_the_operation_floor_is_a_breach();
}

/// Sleeps a millisecond per iteration and allocates nothing.
struct Quiet;

impl Soak for Quiet {
    fn name(&self) -> &'static str {
        "quiet"
    }

    fn iterate(&mut self) -> Result<u64, String> {
        std::thread::sleep(std::time::Duration::from_millis(1));
        Ok(1)
    }
}

/// The detector's own samples do not grow the heap it measures.
fn samples_do_not_grow_the_heap() {
    // Half a second sampled about 50 times: a sample vector growing during
    // the run would add 96, 192, 384… bytes (the "creep in doubling
    // steps" once blamed on the resilience primitives).
    let budget = Budget {
        warmup: 1,
        iterations: 100_000,
        seconds: 0.5,
        min_operations: 0,
    };
    let report = run(&mut Quiet, budget, &AllocProbe(|| ALLOC.snapshot()));
    assert!(
        report.samples.len() >= 20,
        "{} samples",
        report.samples.len()
    );
    assert!(
        report.end.0 < report.baseline.0 + 96,
        "live bytes moved from {} to {} over a run that allocates nothing",
        report.baseline.0,
        report.end.0
    );
}

/// A run stopped by its time cap below its floor of operations breaches,
/// naming the figure; the same floor reached, or a run ended by its
/// iteration count, does not.
fn a_time_cap_below_the_operation_floor_is_a_breach() {
    let probe = AllocProbe(|| ALLOC.snapshot());
    let capped = Budget {
        warmup: 0,
        iterations: 100_000,
        seconds: 0.1,
        min_operations: 10_000,
    };
    let report = run(&mut Quiet, capped, &probe);
    assert!(
        report
            .breaches
            .iter()
            .any(|b| b.starts_with("quiet: only ") && b.contains("fewer than the 10000 required")),
        "{:?}",
        report.breaches
    );
    let counted = Budget {
        iterations: 20,
        seconds: 60.0,
        ..capped
    };
    let report = run(&mut Quiet, counted, &probe);
    assert!(report.breaches.is_empty(), "{:?}", report.breaches);
}
