//! Multi-threaded stress tests with checksums: nothing lost, nothing
//! duplicated, order kept. Bounded in count; the seed is printed and can be
//! replayed with `BALLAST_SEED=<seed>`.
// Under `--cfg loom` the lock-free types run on loom's atomics, which only
// work inside `loom::model`; these tests run in the ordinary build.
#![cfg(not(loom))]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use ballast_alloc::{SpscRing, SyncPool};
use ballast_clock::{SeedGuard, SeededRng};

/// The run's seed from `BALLAST_SEED` (else the time), printed now and
/// again by the guard if the test fails.
fn seed() -> SeedGuard {
    let guard = SeedGuard::from_env();
    eprintln!(
        "stress seed: {} (replay with BALLAST_SEED={})",
        guard.seed(),
        guard.seed()
    );
    guard
}

/// Batch sizes and pauses: `0..n`.
fn below(rng: &mut SeededRng, n: u64) -> u64 {
    rng.below_inclusive(n - 1)
}

const SPSC_ITEMS: u64 = 2_000_000;

#[test]
fn spsc_ring_delivers_every_item_once_in_order_across_threads() {
    let guard = seed();
    let seed = guard.seed();
    for capacity in [1usize, 7, 64, 1024] {
        let (mut tx, mut rx) = SpscRing::<u64>::new(capacity).unwrap();
        let producer = std::thread::spawn(move || {
            let mut rng = SeededRng::new(seed);
            let mut next = 0u64;
            let mut sum = 0u64;
            while next < SPSC_ITEMS {
                if below(&mut rng, 4) == 0 {
                    let n = 1 + below(&mut rng, 32);
                    let end = (next + n).min(SPSC_ITEMS);
                    let mut items = next..end;
                    let pushed = tx.push_iter(&mut items) as u64;
                    for v in next..next + pushed {
                        sum = sum.wrapping_add(v.wrapping_mul(0x9E37));
                    }
                    next += pushed;
                } else if tx.push(next).is_ok() {
                    sum = sum.wrapping_add(next.wrapping_mul(0x9E37));
                    next += 1;
                } else {
                    std::hint::spin_loop();
                }
            }
            sum
        });
        let mut rng = SeededRng::new(seed ^ 0xC0FFEE);
        let mut expected = 0u64;
        let mut sum = 0u64;
        while expected < SPSC_ITEMS {
            if below(&mut rng, 4) == 0 {
                rx.pop_batch(1 + below(&mut rng, 64) as usize, |v| {
                    assert_eq!(v, expected, "seed {seed} capacity {capacity}: order broken");
                    sum = sum.wrapping_add(v.wrapping_mul(0x9E37));
                    expected += 1;
                });
            } else if let Some(v) = rx.pop() {
                assert_eq!(v, expected, "seed {seed} capacity {capacity}: order broken");
                sum = sum.wrapping_add(v.wrapping_mul(0x9E37));
                expected += 1;
            } else {
                std::hint::spin_loop();
            }
        }
        assert_eq!(rx.pop(), None, "seed {seed}: an item was duplicated");
        let sent = producer.join().expect("producer thread");
        assert_eq!(
            sent, sum,
            "seed {seed} capacity {capacity}: checksum mismatch"
        );
    }
}

const POOL_OPS_PER_THREAD: u64 = 200_000;

#[test]
fn sync_pool_never_lends_a_slot_twice_and_loses_none() {
    let guard = seed();
    let seed = guard.seed();
    for threads in [2u64, 4, 8] {
        let pool = Arc::new(SyncPool::<[u64; 4]>::new(16).unwrap());
        let allocated = Arc::new(AtomicU64::new(0));
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let pool = pool.clone();
                let allocated = allocated.clone();
                std::thread::spawn(move || {
                    let mut rng = SeededRng::new(seed ^ t);
                    let mut held = Vec::new();
                    let mut checksum = 0u64;
                    for i in 0..POOL_OPS_PER_THREAD {
                        let stamp = (t << 48) | i;
                        if held.len() < 4 && below(&mut rng, 2) == 0 {
                            if let Ok(h) = pool.alloc([stamp, !stamp, stamp, t]) {
                                allocated.fetch_add(1, Ordering::Relaxed);
                                checksum = checksum.wrapping_add(stamp);
                                held.push(h);
                            }
                        } else if let Some(h) = held.pop() {
                            // Another thread writing into a lent slot would
                            // break the stamp pattern.
                            let v = *h;
                            assert_eq!(
                                [v[1], v[2], v[3]],
                                [!v[0], v[0], t],
                                "seed {seed}: slot shared"
                            );
                            checksum = checksum.wrapping_sub(v[0]);
                        }
                    }
                    for h in held.drain(..) {
                        checksum = checksum.wrapping_sub(h[0]);
                    }
                    checksum
                })
            })
            .collect();
        for h in handles {
            assert_eq!(
                h.join().expect("worker thread"),
                0,
                "seed {seed}: a value changed"
            );
        }
        let stats = pool.stats();
        assert_eq!(stats.in_use, 0, "seed {seed}: a slot was lost");
        assert_eq!(
            stats.allocations,
            allocated.load(Ordering::Relaxed),
            "seed {seed}"
        );
        // Every slot is usable again: no slot was lost from the free list.
        let all: Vec<_> = (0..16)
            .map(|i| pool.alloc([i; 4]).expect("slot lost"))
            .collect();
        assert!(pool.alloc([0; 4]).is_err());
        drop(all);
    }
}
