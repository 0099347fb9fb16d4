//! Failover and stress: work moves off a stopped endpoint and no
//! acknowledged record is lost; many callers complete every transaction.

use std::sync::{Barrier, Mutex};

use ballast_clock::SeedGuard;
use ballast_session::host::RecordStore;
use ballast_session::manager::{Balancing, LoginScript, ManagerError, SessionManager, Target};
use ballast_session::{Aid, Condition};

use super::{config, enter_record, host};

/// An acknowledged record: what the caller saw on the confirmation screen.
type Acked = (String, String, u64);

/// Runs `per_thread` transactions on each of `threads` threads; calls
/// `midway` once, after the first thread's `per_thread / 2`-th.
fn run_callers(
    m: &SessionManager,
    threads: usize,
    per_thread: usize,
    amount: impl Fn(usize, usize) -> u64 + Sync,
    midway: impl FnOnce() + Send,
) -> Vec<Acked> {
    let acked: Mutex<Vec<Acked>> = Mutex::new(Vec::new());
    let start = Barrier::new(threads);
    let midway = Mutex::new(Some(midway));
    std::thread::scope(|scope| {
        for t in 0..threads {
            let (m, acked, start, amount, midway) = (m.clone(), &acked, &start, &amount, &midway);
            scope.spawn(move || {
                start.wait();
                for k in 0..per_thread {
                    if t == 0 && k == per_thread / 2 {
                        let f = midway.lock().expect("midway").take();
                        if let Some(f) = f {
                            f();
                        }
                    }
                    let name = format!("T{t}K{k}");
                    let value = amount(t, k);
                    let txid = m
                        .run(Target::Any, |s| enter_record(s, &name, value))
                        .unwrap_or_else(|e| panic!("transaction {name} failed: {e}"));
                    acked.lock().expect("acked").push((txid, name, value));
                }
            });
        }
    });
    acked.into_inner().expect("acked")
}

/// Every acknowledged record is in the store with what was entered.
fn assert_all_stored(store: &RecordStore, acked: &[Acked]) {
    for (txid, name, amount) in acked {
        let r = store
            .get(txid)
            .unwrap_or_else(|| panic!("acknowledged record {txid} ({name}) is lost"));
        assert_eq!((&r.name, r.amount), (name, *amount), "record {txid}");
    }
}

#[test]
fn endpoint_stopped_mid_run_fails_over_without_losing_acknowledged_records() {
    let store = RecordStore::default();
    let a = host(&store);
    let b = host(&store);
    let mut cfg = config(&[&a, &b]);
    cfg.max_sessions = 4;
    let m = SessionManager::new(cfg).expect("valid config");
    let stopper = Mutex::new(Some(a));
    let acked = run_callers(
        &m,
        3,
        12,
        |t, k| (t * 100 + k) as u64 + 1,
        || {
            if let Some(a) = stopper.lock().expect("stopper").take() {
                a.stop();
            }
        },
    );
    assert_eq!(
        acked.len(),
        36,
        "every transaction completes, on the other endpoint if need be"
    );
    assert_all_stored(&store, &acked);
    let stats = m.stats();
    let down = &stats.endpoints[0];
    assert!(
        down.breaker != ballast_resilience::BreakerState::Closed,
        "the stopped endpoint's breaker opened: {down:?}"
    );
    assert_eq!(down.open, 0, "no session stays on the stopped endpoint");
    assert!(
        down.connects > 0,
        "host0 took work before it stopped: {down:?}"
    );
    assert!(down.retired > 0, "its sessions were retired: {down:?}");
    assert!(matches!(
        m.acquire(Target::Endpoint("host0")),
        Err(ManagerError::NoEndpointAvailable | ManagerError::Connect { .. })
    ));
}

#[test]
fn many_callers_complete_every_transaction_with_a_matching_checksum() {
    let seed = SeedGuard::from_env();
    println!("seed {}", seed.seed());
    let mut rng = seed.rng();
    let amounts: Vec<u64> = (0..8 * 10).map(|_| rng.next_u64() % 100_000).collect();
    let store = RecordStore::default();
    let a = host(&store);
    let b = host(&store);
    let mut cfg = config(&[&a, &b]);
    cfg.max_sessions = 4;
    cfg.balancing = Balancing::LeastLoaded;
    let m = SessionManager::new(cfg).expect("valid config");
    let acked = run_callers(&m, 8, 10, |t, k| amounts[t * 10 + k], || {});
    assert_eq!(acked.len(), 80);
    assert_all_stored(&store, &acked);
    let sent: u64 = amounts.iter().sum();
    let stored: u64 = acked
        .iter()
        .filter_map(|(txid, _, _)| store.get(txid).map(|r| r.amount))
        .sum();
    assert_eq!(
        stored,
        sent,
        "checksum of completed transactions (seed {})",
        seed.seed()
    );
    assert_eq!(store.all().len(), 80, "no transaction stored twice");
    assert!(m.stats().open() <= 4, "max_sessions holds under contention");
}

#[test]
fn weighted_balancing_spreads_sessions_by_weight() {
    let store = RecordStore::default();
    let a = host(&store);
    let b = host(&store);
    let mut cfg = config(&[&a, &b]);
    cfg.balancing = Balancing::Weighted;
    cfg.endpoints[0].weight = 3;
    let m = SessionManager::new(cfg).expect("valid config");
    let held: Vec<_> = (0..8)
        .map(|_| m.acquire(Target::Any).expect("a session"))
        .collect();
    let on_a = held.iter().filter(|s| s.endpoint() == "host0").count();
    assert_eq!(on_a, 6, "3:1 weights put 6 of 8 sessions on host0");
}

#[test]
fn a_logical_session_is_re_established_on_another_endpoint() {
    let store = RecordStore::default();
    let a = host(&store);
    let b = host(&store);
    let mut cfg = config(&[&a, &b]);
    cfg.navigation = LoginScript::new()
        .type_text("2")
        .key(Aid::Enter)
        .wait_text("RECORD QUERY");
    let m = SessionManager::new(cfg).expect("valid config");
    let first = m
        .acquire(Target::Endpoint("host0"))
        .expect("a session on host0");
    assert!(
        first.screen().contains("RECORD QUERY"),
        "login + navigation ran"
    );
    drop(first);
    a.stop();
    let at = m
        .run(Target::Any, |s| {
            s.wait_for(Condition::Text("RECORD QUERY".into()))?;
            Ok(s.endpoint().to_owned())
        })
        .expect("the work fails over");
    assert_eq!(
        at, "host1",
        "the replacement is at the same screen on host1"
    );
}
