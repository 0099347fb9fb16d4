use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};

use super::*;
use crate::clock::ManualClock;

/// Hands out numbered objects and tracks which are lent, so tests can prove
/// no object is lent twice and none is lost.
#[derive(Debug, Default)]
struct Numbers {
    next: AtomicU64,
    destroyed: AtomicU64,
    fail_checks: AtomicBool,
    fail_create: AtomicBool,
}

impl Manager for Arc<Numbers> {
    type Object = u64;
    type Error = &'static str;

    fn create(&self) -> Result<u64, &'static str> {
        if self.fail_create.load(Ordering::SeqCst) {
            return Err("refused");
        }
        Ok(self.next.fetch_add(1, Ordering::SeqCst))
    }

    fn check(&self, _: &mut u64) -> Result<(), &'static str> {
        if self.fail_checks.load(Ordering::SeqCst) {
            Err("broken")
        } else {
            Ok(())
        }
    }

    fn destroy(&self, _: u64) {
        self.destroyed.fetch_add(1, Ordering::SeqCst);
    }
}

fn pool(config: PoolConfig) -> (Pool<Arc<Numbers>>, Arc<Numbers>, ManualClock) {
    let numbers = Arc::new(Numbers::default());
    let clock = ManualClock::new();
    let p = Pool::with_clock(Arc::clone(&numbers), config, Arc::new(clock.clone()), None).unwrap();
    (p, numbers, clock)
}

const SEC: Duration = Duration::from_secs(1);

#[test]
fn reuses_returned_objects_and_creates_up_to_max_size() {
    let (p, n, _) = pool(PoolConfig {
        max_size: 2,
        acquire_timeout: Duration::from_millis(10),
        ..Default::default()
    });
    let a = p.acquire().unwrap();
    assert_eq!(*a, 0);
    drop(a);
    let a = p.acquire().unwrap();
    assert_eq!(*a, 0, "the idle object is reused");
    let b = p.acquire().unwrap();
    assert_eq!(*b, 1);
    assert!(matches!(
        p.acquire(),
        Err(CallError::Rejected(Error::Timeout { .. }))
    ));
    let s = p.stats();
    assert_eq!(
        (s.in_use, s.idle, s.created, s.timeouts, s.waits),
        (2, 0, 2, 1, 1)
    );
    drop((a, b));
    assert_eq!(n.next.load(Ordering::SeqCst), 2);
}

#[test]
fn broken_objects_are_destroyed_not_returned() {
    let (p, n, _) = pool(PoolConfig::default());
    let mut a = p.acquire().unwrap();
    a.mark_broken();
    drop(a);
    assert_eq!(n.destroyed.load(Ordering::SeqCst), 1);
    assert_eq!(
        *p.acquire().unwrap(),
        1,
        "a fresh object replaces the broken one"
    );
    assert_eq!(p.stats().broken, 1);
}

#[test]
fn health_check_on_checkout_evicts_failing_objects() {
    let (p, n, _) = pool(PoolConfig {
        check_on_checkout: true,
        ..Default::default()
    });
    drop(p.acquire().unwrap());
    n.fail_checks.store(true, Ordering::SeqCst);
    let err = p.acquire();
    assert!(
        err.is_ok(),
        "the broken idle object is evicted and a new one created unchecked"
    );
    assert_eq!(p.stats().broken, 1);
}

#[test]
fn idle_timeout_evicts_down_to_min_idle() {
    let config = PoolConfig {
        min_idle: 1,
        idle_timeout: Some(SEC * 60),
        ..Default::default()
    };
    let (p, _, clock) = pool(config);
    let objs: Vec<_> = (0..3).map(|_| p.acquire().unwrap()).collect();
    drop(objs);
    assert_eq!(p.stats().idle, 3);
    clock.advance(SEC * 61);
    assert_eq!(p.maintain(), 2);
    assert_eq!(p.stats().idle, 1, "min_idle survives the idle timeout");
}

#[test]
fn maintain_fills_min_idle_and_checks_idle_objects() {
    let (p, n, _) = pool(PoolConfig {
        min_idle: 3,
        ..Default::default()
    });
    p.maintain();
    assert_eq!(p.stats().idle, 3);
    n.fail_checks.store(true, Ordering::SeqCst);
    assert_eq!(p.maintain(), 3, "background health check evicts all three");
    assert_eq!(p.stats().broken, 3);
}

#[test]
fn max_lifetime_with_jitter_expires_objects_within_the_jitter_range() {
    let config = PoolConfig {
        max_lifetime: Some(SEC * 100),
        lifetime_jitter: SEC * 10,
        ..Default::default()
    };
    let (p, n, clock) = pool(config);
    drop(p.acquire().unwrap());
    clock.advance(SEC * 89);
    assert_eq!(
        *p.acquire().unwrap(),
        0,
        "not expired before lifetime - jitter"
    );
    clock.advance(SEC * 11);
    assert_eq!(*p.acquire().unwrap(), 1, "expired by lifetime");
    assert_eq!(n.destroyed.load(Ordering::SeqCst), 1);
}

#[test]
fn creation_errors_free_the_slot() {
    let (p, n, _) = pool(PoolConfig {
        max_size: 1,
        ..Default::default()
    });
    n.fail_create.store(true, Ordering::SeqCst);
    assert!(matches!(p.acquire(), Err(CallError::Inner("refused"))));
    n.fail_create.store(false, Ordering::SeqCst);
    assert!(p.acquire().is_ok());
    assert_eq!(p.stats().create_errors, 1);
}

#[test]
fn drain_destroys_idle_waits_for_lent_and_reports() {
    let (p, n, _) = pool(PoolConfig::default());
    let lent = p.acquire().unwrap();
    let lent2 = p.acquire().unwrap();
    drop(p.acquire().unwrap());
    drop(lent2);
    let p2 = p.clone();
    let t = std::thread::spawn(move || p2.drain(Duration::from_secs(30)));
    while p.stats().idle > 0 {
        std::thread::yield_now();
    }
    drop(lent);
    let report = t.join().unwrap();
    assert_eq!(
        report,
        DrainReport {
            idle_destroyed: 2,
            returned: 1,
            outstanding: 0
        }
    );
    assert_eq!(n.destroyed.load(Ordering::SeqCst), 3);
    assert!(matches!(
        p.acquire(),
        Err(CallError::Rejected(Error::PoolClosed))
    ));
}

/// Parks the first caller of [`FirstCallGate::pass`] until the test opens
/// the gate, and says when it has parked; later callers pass at once.
#[derive(Debug)]
struct FirstCallGate {
    parked: std::sync::mpsc::SyncSender<()>,
    gate: std::sync::Mutex<Option<std::sync::mpsc::Receiver<()>>>,
}

impl FirstCallGate {
    /// The gate, the receiver told when a caller parked, and the sender
    /// that opens the gate.
    fn new() -> (
        Self,
        std::sync::mpsc::Receiver<()>,
        std::sync::mpsc::Sender<()>,
    ) {
        let (parked_tx, parked_rx) = std::sync::mpsc::sync_channel(1);
        let (open_tx, open_rx) = std::sync::mpsc::channel();
        let gate = Self {
            parked: parked_tx,
            gate: std::sync::Mutex::new(Some(open_rx)),
        };
        (gate, parked_rx, open_tx)
    }

    fn pass(&self) {
        let gate = self.gate.lock().unwrap().take();
        if let Some(gate) = gate {
            self.parked.send(()).unwrap();
            gate.recv().unwrap();
        }
    }
}

/// Numbers whose first `create` parks at a [`FirstCallGate`].
#[derive(Debug)]
struct GatedFirstCreate {
    numbers: Arc<Numbers>,
    gate: FirstCallGate,
}

impl Manager for GatedFirstCreate {
    type Object = u64;
    type Error = &'static str;

    fn create(&self) -> Result<u64, &'static str> {
        self.gate.pass();
        self.numbers.create()
    }

    fn destroy(&self, object: u64) {
        self.numbers.destroy(object);
    }
}

#[test]
fn acquire_is_not_kept_waiting_by_a_slow_min_idle_refill() {
    let (gate, parked_rx, open_tx) = FirstCallGate::new();
    let numbers = Arc::new(Numbers::default());
    let manager = GatedFirstCreate {
        numbers: Arc::clone(&numbers),
        gate,
    };
    let config = PoolConfig {
        max_size: 1,
        min_idle: 1,
        // Long enough that a blocked acquire shows up as a timeout, not a
        // hang, if the refill kept its place.
        acquire_timeout: Duration::from_secs(5),
        ..Default::default()
    };
    let p = Pool::with_clock(manager, config, Arc::new(ManualClock::new()), None).unwrap();
    let refill = {
        let p = p.clone();
        std::thread::spawn(move || p.maintain())
    };
    parked_rx.recv().unwrap();
    // The refill is inside its create and the pool is otherwise empty.
    let got = p.acquire().expect("the refill holds no place");
    assert_eq!(*got, 0, "the acquirer created its own object");
    open_tx.send(()).unwrap();
    refill.join().unwrap();
    let s = p.stats();
    assert_eq!(
        (s.size, s.in_use, s.idle),
        (1, 1, 0),
        "the surplus refill is gone"
    );
    assert_eq!((s.created, s.destroyed), (2, 1));
    assert_eq!(numbers.destroyed.load(Ordering::SeqCst), 1);
    drop(got);
    assert_eq!(p.stats().idle, 1);
}

#[test]
fn drain_counts_a_min_idle_refill_still_creating_as_outstanding() {
    let (gate, parked_rx, open_tx) = FirstCallGate::new();
    let numbers = Arc::new(Numbers::default());
    let manager = GatedFirstCreate {
        numbers: Arc::clone(&numbers),
        gate,
    };
    let config = PoolConfig {
        min_idle: 1,
        ..Default::default()
    };
    let p = Pool::with_clock(manager, config, Arc::new(ManualClock::new()), None).unwrap();
    let refill = {
        let p = p.clone();
        std::thread::spawn(move || p.maintain())
    };
    parked_rx.recv().unwrap();
    // The refill is inside Manager::create: an object exists (or will)
    // that the drain has not destroyed yet.
    let report = p.drain(Duration::ZERO);
    assert_eq!(
        report.outstanding, 1,
        "drain reported nothing outstanding while a refill was still creating"
    );
    open_tx.send(()).unwrap();
    refill.join().unwrap();
    assert_eq!(numbers.destroyed.load(Ordering::SeqCst), 1);
    let again = p.drain(Duration::ZERO);
    assert_eq!((again.outstanding, p.stats().size), (0, 0));
}

/// Numbers whose every `create` takes ten seconds of a manual clock.
#[derive(Debug)]
struct SlowCreate {
    numbers: Arc<Numbers>,
    clock: ManualClock,
}

impl Manager for SlowCreate {
    type Object = u64;
    type Error = &'static str;

    fn create(&self) -> Result<u64, &'static str> {
        self.clock.advance(Duration::from_secs(10));
        self.numbers.create()
    }

    fn destroy(&self, object: u64) {
        self.numbers.destroy(object);
    }
}

#[test]
fn a_refilled_object_lives_its_lifetime_from_when_it_was_created() {
    let clock = ManualClock::new();
    let numbers = Arc::new(Numbers::default());
    let config = PoolConfig {
        min_idle: 1,
        max_lifetime: Some(Duration::from_secs(5)),
        lifetime_jitter: Duration::ZERO,
        ..Default::default()
    };
    let manager = SlowCreate {
        numbers: Arc::clone(&numbers),
        clock: clock.clone(),
    };
    let p = Pool::with_clock(manager, config, Arc::new(clock), None).unwrap();
    p.maintain();
    assert_eq!(p.stats().idle, 1);
    assert_eq!(p.maintain(), 0, "the refilled object was expired at birth");
    assert_eq!(numbers.destroyed.load(Ordering::SeqCst), 0);
}

/// Numbers whose first `create` panics.
#[derive(Debug, Default)]
struct PanicsFirstCreate {
    panicked: AtomicBool,
    next: AtomicU64,
}

impl Manager for Arc<PanicsFirstCreate> {
    type Object = u64;
    type Error = &'static str;

    fn create(&self) -> Result<u64, &'static str> {
        assert!(
            self.panicked.swap(true, Ordering::SeqCst),
            "the first create panics"
        );
        Ok(self.next.fetch_add(1, Ordering::SeqCst))
    }

    fn check(&self, _: &mut u64) -> Result<(), &'static str> {
        Ok(())
    }

    fn destroy(&self, _: u64) {}
}

#[test]
fn a_panicking_refill_create_does_not_stop_later_refills() {
    let config = PoolConfig {
        min_idle: 2,
        ..Default::default()
    };
    let manager = Arc::new(PanicsFirstCreate::default());
    let p = Pool::with_clock(manager, config, Arc::new(ManualClock::new()), None).unwrap();
    let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| p.maintain()));
    assert!(
        unwound.is_err(),
        "the refill's create panicked through maintain"
    );
    p.maintain();
    assert_eq!(p.stats().idle, 2, "refills stopped after a create panicked");
    assert_eq!(p.drain(Duration::ZERO).outstanding, 0);
}

/// Numbers whose first `check` parks at a [`FirstCallGate`].
#[derive(Debug)]
struct GatedFirstCheck {
    numbers: Arc<Numbers>,
    gate: FirstCallGate,
}

impl Manager for GatedFirstCheck {
    type Object = u64;
    type Error = &'static str;

    fn create(&self) -> Result<u64, &'static str> {
        self.numbers.create()
    }

    fn check(&self, _: &mut u64) -> Result<(), &'static str> {
        self.gate.pass();
        Ok(())
    }

    fn destroy(&self, object: u64) {
        self.numbers.destroy(object);
    }
}

#[test]
fn drain_during_a_maintenance_health_check_still_destroys_the_checked_object() {
    let (gate, parked_rx, open_tx) = FirstCallGate::new();
    let numbers = Arc::new(Numbers::default());
    let manager = GatedFirstCheck {
        numbers: Arc::clone(&numbers),
        gate,
    };
    let p = Pool::with_clock(
        manager,
        PoolConfig::default(),
        Arc::new(ManualClock::new()),
        None,
    )
    .unwrap();
    drop(p.acquire().unwrap());
    let maintenance = {
        let p = p.clone();
        std::thread::spawn(move || p.maintain())
    };
    parked_rx.recv().unwrap();
    // maintain() holds the idle object outside the idle list while it
    // checks it; drain closes the pool meanwhile and counts it as out.
    let report = p.drain(Duration::ZERO);
    assert_eq!((report.idle_destroyed, report.outstanding), (0, 1));
    open_tx.send(()).unwrap();
    maintenance.join().unwrap();
    assert_eq!(
        numbers.destroyed.load(Ordering::SeqCst),
        1,
        "the checked object went back into a closed pool instead of being destroyed"
    );
    let s = p.stats();
    assert_eq!((s.size, s.idle), (0, 0));
    assert_eq!(p.drain(Duration::ZERO).outstanding, 0);
}

#[test]
fn drain_reports_objects_still_out_at_the_deadline() {
    let (p, _, _) = pool(PoolConfig::default());
    let _held = p.acquire().unwrap();
    let report = p.drain(Duration::from_millis(1));
    assert_eq!(report.outstanding, 1);
}

#[test]
fn stress_no_object_is_lent_twice_and_none_is_lost() {
    let seed: u64 = std::env::var("BALLAST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x9001);
    println!("pool stress seed: {seed} (replay with BALLAST_SEED={seed})");
    let (p, n, _) = pool(PoolConfig {
        max_size: 4,
        min_idle: 2,
        acquire_timeout: Duration::from_secs(60),
        ..Default::default()
    });
    // Refills race the workers for places; each maintain() creates at most
    // `min_idle` objects, so ids stay below 16 000 / 100 broken + 2 × 2 000.
    let lent: Arc<Vec<AtomicBool>> = Arc::new((0..8192).map(|_| AtomicBool::new(false)).collect());
    let maintainer = {
        let p = p.clone();
        std::thread::spawn(move || {
            for _ in 0..2_000 {
                p.maintain();
                std::thread::yield_now();
            }
        })
    };
    let checksum = Arc::new(AtomicU64::new(0));
    let uses = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..8u64)
        .map(|t| {
            let (p, lent, checksum, uses) = (
                p.clone(),
                Arc::clone(&lent),
                Arc::clone(&checksum),
                Arc::clone(&uses),
            );
            std::thread::spawn(move || {
                let mut rng = SeededRng::new(seed ^ t);
                for i in 0..2_000u64 {
                    let mut obj = p.acquire().expect("no timeout with a 60 s limit");
                    let id = *obj as usize;
                    assert!(
                        !lent[id].swap(true, Ordering::SeqCst),
                        "object {id} lent twice (seed {seed})"
                    );
                    checksum.fetch_add(i, Ordering::Relaxed);
                    uses.fetch_add(1, Ordering::Relaxed);
                    if rng.below_inclusive(99) == 0 {
                        obj.mark_broken();
                    }
                    lent[id].store(false, Ordering::SeqCst);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("stress thread panicked");
    }
    maintainer.join().expect("maintenance thread panicked");
    let s = p.stats();
    assert_eq!(uses.load(Ordering::Relaxed), 16_000);
    assert_eq!(
        checksum.load(Ordering::Relaxed),
        8 * (0..2_000u64).sum::<u64>(),
        "seed {seed}"
    );
    assert_eq!(s.in_use, 0, "every object came back (seed {seed})");
    assert_eq!(
        s.created - s.destroyed,
        s.idle as u64,
        "created = destroyed + idle (seed {seed})"
    );
    assert_eq!(n.next.load(Ordering::SeqCst), s.created);
    assert!(s.size <= 4);
    assert_eq!(s.checkouts, 16_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_acquire_shares_few_objects_among_many_tasks() {
    let (p, _, _) = pool(PoolConfig {
        max_size: 4,
        ..Default::default()
    });
    let lent: Arc<Vec<AtomicBool>> = Arc::new((0..8).map(|_| AtomicBool::new(false)).collect());
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (p, lent) = (p.clone(), Arc::clone(&lent));
            tokio::spawn(async move {
                for _ in 0..200 {
                    let obj = p.acquire_async().await.unwrap();
                    assert!(
                        !lent[*obj as usize].swap(true, Ordering::SeqCst),
                        "lent twice"
                    );
                    tokio::task::yield_now().await;
                    lent[*obj as usize].store(false, Ordering::SeqCst);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let s = p.stats();
    assert_eq!((s.in_use, s.created, s.checkouts), (0, 4, 3200));
}

#[test]
fn pool_types_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Pool<Arc<Numbers>>>();
    assert_send_sync::<Pooled<Arc<Numbers>>>();
    assert_send_sync::<PoolStats>();
}

/// Creates objects asynchronously, each waiting for a go-ahead.
#[derive(Debug, Default)]
struct Gated {
    go: tokio::sync::Notify,
}

impl Manager for Arc<Gated> {
    type Object = &'static str;
    type Error = ();

    fn create(&self) -> Result<&'static str, ()> {
        Ok("sync")
    }

    fn create_async(&self) -> impl Future<Output = Result<&'static str, ()>> + Send {
        let this = Arc::clone(self);
        async move {
            this.go.notified().await;
            Ok("async")
        }
    }
}

#[tokio::test]
async fn acquire_async_creates_through_create_async() {
    let gated = Arc::new(Gated::default());
    let p = Pool::new(Arc::clone(&gated), PoolConfig::default()).unwrap();
    let task = {
        let p = p.clone();
        tokio::spawn(async move { *p.acquire_async().await.unwrap() })
    };
    while p.stats().size == 0 {
        tokio::task::yield_now().await;
    }
    gated.go.notify_one();
    assert_eq!(task.await.unwrap(), "async");
    assert_eq!(
        *p.acquire().unwrap(),
        "async",
        "the async-made object is reused"
    );
}

#[tokio::test]
async fn cancelled_async_creation_gives_its_place_back() {
    let gated = Arc::new(Gated::default());
    let config = PoolConfig {
        max_size: 1,
        acquire_timeout: Duration::from_millis(1),
        ..Default::default()
    };
    let p = Pool::new(Arc::clone(&gated), config).unwrap();
    let cut = tokio::time::timeout(Duration::ZERO, p.acquire_async()).await;
    assert!(cut.is_err(), "creation was still waiting for the go-ahead");
    assert_eq!(p.stats().size, 0, "the reserved place came back");
    assert_eq!(*p.acquire().unwrap(), "sync");
}
